/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sx_private.h: what the stream core (sx/sx.c) offers its plugins, and
 * nothing for the daemons. A plugin is a const descriptor plus per-stream
 * state, attached to a stream with sx_plugin_attach(). Plugins run in
 * attach order.
 *
 * The byte pipeline:
 *   input:  network bytes -> each plugin's rio (TLS decrypts) -> XML parser
 *   output: serialized XML -> each plugin's wio, in reverse (TLS encrypts)
 *           -> the output buffer the owner drains with sx_output()
 * A plugin that must write bytes of its own that no other plugin may see
 * (TLS handshake records) appends them with sx_raw_write().
 */
#ifndef SX_SX_PRIVATE_H
#define SX_SX_PRIVATE_H

#include "sx/sx.h"
#include "util/buf.h"

struct sx_plugin {
	const char *name;
	/* Transform bytes from the peer in place: `in` holds what arrived
	 * (appended to anything left from before); on return it holds the
	 * plaintext for the next stage, and the plugin keeps any partial
	 * record itself. Return 0, or -1 after calling sx_error(). */
	int (*rio)(struct sx *sx, void *pdata, struct buf *in);
	/* Transform bytes going to the peer in place. Return 0 or -1. */
	int (*wio)(struct sx *sx, void *pdata, struct buf *out);
	/* A complete top-level element. Return 1 if the plugin took it (and
	 * freed it), 0 to pass it on to the next plugin or the owner. */
	int (*element)(struct sx *sx, void *pdata, struct nad *nad);
	/* Add this plugin's children to <stream:features> (server side). */
	void (*features)(struct sx *sx, void *pdata, struct nad *nad, int features);
	/* Both stream headers have been exchanged (SX_F_OPEN was just set):
	 * once per stream and again after each restart. `hdr` is the peer's
	 * header. */
	void (*stream_open)(struct sx *sx, void *pdata, const struct sx_header *hdr);
	void (*free)(struct sx *sx, void *pdata);
	/* The stream is idle (sx_trim): release what can be rebuilt. */
	void (*trim)(struct sx *sx, void *pdata);
};

#define SX_MAX_PLUGINS 4

/* Attach a plugin with its per-stream state; returns 0, or -1 if the
 * plugin is already attached or there is no room. */
int sx_plugin_attach(struct sx *sx, const struct sx_plugin *plugin, void *pdata);
/* The state of an attached plugin, or NULL. */
void *sx_plugin_data(struct sx *sx, const struct sx_plugin *plugin);
/* Replace an attached plugin's state (NULL: the plugin keeps none; its
 * hooks are still called, with NULL). */
void sx_plugin_set_data(struct sx *sx, const struct sx_plugin *plugin, void *pdata);

/* Append bytes straight to the output buffer, after the wio stage. */
void sx_raw_write(struct sx *sx, const void *data, size_t len);
/* Run bytes through the output pipeline (wio) to the output buffer. */
void sx_write(struct sx *sx, const void *data, size_t len);
/* Bytes were decoded by a rio stage outside sx_input (e.g. TLS records
 * that arrived with the handshake): parse them now. Returns as sx_input. */
int sx_input_plain(struct sx *sx, const void *data, size_t len);
/* Throw away parser state: the next thing from the peer is a new stream
 * header (after STARTTLS or SASL success, RFC 6120 4.3.3). */
void sx_restart(struct sx *sx);
void sx_set_flags(struct sx *sx, unsigned flags);
void sx_clear_flags(struct sx *sx, unsigned flags);
/* Record the SASL identity; copies the strings. */
void sx_set_auth(struct sx *sx, const struct sx_auth *auth);
/* Tell the owner about a plugin event. */
void sx_event(struct sx *sx, enum sx_event ev, const void *data);

#endif
