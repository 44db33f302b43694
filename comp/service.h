/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * service: the router link of a daemon that serves names (sm, muc,
 * pubsub), on comp.h, with what those daemons do the same way:
 *   - a refused bind is logged ("<name>: cannot bind 'X' at the router
 *     (error N); exiting"), exit_code becomes 1 and the loop stops;
 *   - when every name bound with comp_service_bind() has been accepted,
 *     after each (re)connect, "<name>: <id> <ready>" is logged, systemd
 *     is told <ready>, and all_bound() runs;
 *   - on every loss of the link lost() runs; when no attempt is left the
 *     loop stops, with "<name>: giving up on the router (reason); shutting
 *     down" unless comp_service_close() asked for it;
 *   - everything else the router sends goes to element().
 * The daemon keeps what only it does in those hooks.
 *
 *	static struct comp_service svc = { .name = "muc", .ready = "ready for rooms",
 *					   .element = to_muc };
 *	svc.id = id; svc.mio = mio; svc.ctx = muc;
 *	if (comp_service_link(&svc, cfg, &error) < 0) ...
 *	comp_service_bind(&svc, domain, NULL);  ... for each name
 *	comp_start(svc.comp);
 *	... SIGTERM: comp_service_close(&svc);
 *	rc = ... ? ... : svc.exit_code;  comp_free(&svc.comp);
 */
#ifndef COMP_SERVICE_H
#define COMP_SERVICE_H

#include <stddef.h>

struct config;
struct mio;
struct nad;
struct comp;

struct comp_service {
	/* Set by the daemon. */
	const char *name;               /* "sm": log prefix and router.* ident */
	const char *id;                 /* named in the ready line */
	const char *ready;              /* "ready for sessions": log and systemd */
	struct mio *mio;
	void *ctx;                      /* the hooks' argument */
	/* What the router sent (taken). Required. */
	void (*element)(void *ctx, struct nad *nad);
	/* The link is open and the binds are sent. May be NULL. */
	void (*opened)(void *ctx);
	/* Every name is bound. May be NULL. */
	void (*all_bound)(void *ctx);
	/* The link went down (before giving up, if it does). May be NULL. */
	void (*lost)(void *ctx);
	/* Kept by the functions below. */
	struct comp *comp;
	int exit_code;                  /* 1 after a refused bind, else 0 */
	int closing;                    /* comp_service_close() was called */
	size_t nbinds, pending;
};

/* The link (not started): the router.* settings of cfg, comp_new(). 0, or
 * -1 with *error_r set. */
int comp_service_link(struct comp_service *s, const struct config *cfg,
		      const char **error_r);

/* Bind `name` (multi as comp_bind's) now and after every reconnect; it
 * counts among the names that must be bound before the service is ready. */
void comp_service_bind(struct comp_service *s, const char *name, const char *multi);

/* Shutting down: close the link; the loop stops when it is closed. */
void comp_service_close(struct comp_service *s);

#endif
