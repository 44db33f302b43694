/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws.c: WebSocket clients (RFC 7395) in c2s. The framing is the sx plugin
 * sx/ws.c; this file holds its configuration and the few decisions that
 * belong to c2s.
 *
 * c2s.xml: jabberd2 2.7's <io><websocket/></io> switches WebSocket on for
 * the client ports it already has (local.port, and local.ssl-port for
 * wss): a connection whose first bytes are an HTTP request is a WebSocket
 * client, anything else a plain XMPP client. jabberd2's local.httpforward
 * is where a plain HTTP GET is redirected. Ours adds, all optional,
 * inside <websocket>:
 *   <port>5290</port>       one more plain listener (on local.ip), for
 *                           WebSocket behind a proxy or ws:// on its own
 *   <origin>https://chat.example.org</origin>   (repeated) the only
 *                           Origin values accepted; none = any
 *   <trusted-proxy>127.0.0.1</trusted-proxy>    (repeated, ip with an
 *                           optional mask attribute) proxies that end TLS:
 *                           their X-Forwarded-For is logged as the client,
 *                           and their plaintext WebSocket streams count as
 *                           encrypted for require-starttls
 *
 * WebSocket streams never offer STARTTLS (RFC 7395 3.6: TLS is the
 * WebSocket's, wss). On a plain port, for a host that requires TLS, a
 * WebSocket stream not from a trusted proxy is refused with
 * policy-violation ("use wss").
 */
#include "config.h"
#include "c2s/c2s.h"

#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

struct c2s_ws {
	struct sx_ws_config sx;
	char **origins;
	struct mio_access *proxies;     /* allow rules only; NULL = none */
	int port;
};

static void ws_cfg_free(struct c2s_ws *w)
{
	char **o;

	if (w == NULL)
		return;
	for (o = w->origins; o != NULL && *o != NULL; o++)
		free(*o);
	free(w->origins);
	free((char *)w->sx.redirect);
	mio_access_free(&w->proxies);
	free(w);
}

void c2s_ws_free(struct c2s *c2s)
{
	ws_cfg_free(c2s->ws);
	c2s->ws = NULL;
}

int c2s_ws_read(struct c2s *c2s, const char **error_r)
{
	const struct config *cfg = c2s->cfg;
	struct c2s_ws *w;
	const char *v;
	int n, i;

	if (config_get(cfg, "io.websocket") == NULL)
		return 0;
	w = xcalloc(1, sizeof(*w));
	if ((v = config_get(cfg, "io.websocket.port")) != NULL) {
		char *end;
		long p = strtol(v, &end, 10);

		if (*v == '\0' || *end != '\0' || p < 1 || p > 65535) {
			*error_r = config_errorf(cfg, config_node(cfg, "io.websocket.port", 0),
						 "not a port number: %s", v);
			ws_cfg_free(w);
			return -1;
		}
		w->port = (int)p;
	}
	if ((n = config_count(cfg, "io.websocket.origin")) > 0) {
		w->origins = xcalloc((size_t)n + 1, sizeof(char *));
		for (i = 0; i < n; i++)
			w->origins[i] = xstrdup(config_get_n(cfg, "io.websocket.origin", i));
		w->sx.origins = (const char *const *)w->origins;
	}
	if ((n = config_count(cfg, "io.websocket.trusted-proxy")) > 0) {
		w->proxies = mio_access_new(MIO_ACCESS_DENY_ALLOW);
		for (i = 0; i < n; i++) {
			const char *ip = config_get_n(cfg, "io.websocket.trusted-proxy", i);

			if (mio_access_add(w->proxies, 1, ip,
					   config_attr(cfg, "io.websocket.trusted-proxy", i, "mask"),
					   error_r) < 0) {
				*error_r = config_errorf(cfg, config_node(cfg, "io.websocket.trusted-proxy", i),
							 "%s", *error_r);
				ws_cfg_free(w);
				return -1;
			}
		}
	}
	w->sx.redirect = xstrdup_opt(config_get(cfg, "local.httpforward"));
	w->sx.max_message = c2s->limits.max_stanza;
	c2s->ws = w;
	return 0;
}

int c2s_ws_port(const struct c2s *c2s)
{
	return c2s->ws != NULL ? c2s->ws->port : 0;
}

void c2s_ws_attach(struct c2s_conn *c, const char *ip)
{
	const struct c2s_ws *w = c->c2s->ws;

	if (w == NULL)
		return;
	sx_ws_server(c->sx, &w->sx);
	c->ws_proxy = w->proxies != NULL && mio_access_check_ip(w->proxies, ip);
}

/* X-Forwarded-For lists the addresses a request passed through, each
 * proxy appending the one it saw. Only the entries our trusted proxies
 * appended can be believed: walk from the right past trusted proxies and
 * take the first other address. Anything that is not an IP address ends
 * the walk with the socket's peer. */
const char *c2s_client_ip(const struct c2s_conn *c, char *buf, size_t size)
{
	const char *peer = mio_conn_peer_ip(c->mc);
	const char *xff, *end, *start;
	const struct c2s_ws *w = c->c2s->ws;
	unsigned char addr[sizeof(struct in6_addr)];

	if (!c->ws_proxy || w == NULL || (xff = sx_ws_forwarded_for(c->sx)) == NULL)
		return peer;
	end = xff + strlen(xff);
	while (end > xff) {
		size_t n;

		start = end;
		while (start > xff && start[-1] != ',')
			start--;
		n = (size_t)(end - start);
		while (n > 0 && (*start == ' ' || *start == '\t')) {
			start++;
			n--;
		}
		while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= size)
			return peer;
		memcpy(buf, start, n);
		buf[n] = '\0';
		if (inet_pton(AF_INET, buf, addr) != 1 && inet_pton(AF_INET6, buf, addr) != 1)
			return peer;
		if (!mio_access_check_ip(w->proxies, buf))
			return buf;
		end = start > xff ? start - 1 : xff;
		while (end > xff && end[-1] == ',')
			end--;
	}
	return peer;
}

int c2s_ws_first_header(struct c2s_conn *c)
{
	const char *xff;

	if (!sx_ws_active(c->sx))
		return 0;
	xff = sx_ws_forwarded_for(c->sx);
	if (c->ws_proxy && xff != NULL)
		log_info("c2s: conn %s: WebSocket client %.100s (via proxy)", c->id, xff);
	else
		log_info("c2s: conn %s: WebSocket client", c->id);
	if (c->host->require_starttls && !(sx_flags(c->sx) & SX_F_ENCRYPTED) && !c->ws_proxy) {
		c2s_conn_error(c, "policy-violation", "TLS is required here: use wss");
		return -1;
	}
	return 1;
}
