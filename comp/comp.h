/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * comp: a daemon's link to the router, as a jabberd2 component (the client
 * side of the component protocol, compat spec section 3). sm and c2s (and
 * later s2s) each hold one struct comp.
 *
 * What it does, in order, on every (re)connect:
 *   1. connects with mio to router.ip:router.port (TCP_NODELAY is set by
 *      mio on every socket it opens);
 *   2. sends the stream header: no default namespace, no to/from,
 *      version='1.0';
 *   3. with router.pemfile set: STARTTLS when the router offers it (the
 *      pemfile is our client certificate), then a new header; the SASL
 *      exchange then starts from the router's mechanism list. Without a
 *      pemfile it sends <auth mechanism='DIGEST-MD5'/> at once, as jabberd2's
 *      components do;
 *   4. DIGEST-MD5 with username router.user, password router.pass, realm
 *      "jabberd-router" (taken from the router's challenge), digest-uri
 *      "jabberd-router/<our hostname>";
 *   5. sends the header again; the router answers with empty features;
 *   6. the link is open: every name registered with comp_bind() is bound
 *      again (in registration order), then the ready callback runs.
 *
 * Bind replies carry no name (the router drops it except for 400); they
 * are matched to requests in order. A refused bind is logged as an error
 * naming the name and the code, and reported through the bound callback:
 * jabberd2's daemons treat it as fatal and exit(1), and ours should too.
 *
 * Losing the link (or failing before it opens) closes the stream; the link
 * is tried again after router.retry.sleep seconds, up to router.retry.init
 * attempts at start and router.retry.lost attempts after a link that was
 * open went away (-1 = for ever). When the attempts are used up, the down
 * callback runs with `final` set; jabberd2's daemons then exit 0.
 *
 * Presence advertisements from the router (<presence from='X'/> when X is
 * bound somewhere, type='unavailable' when its last holder left) are
 * tracked, so comp_name_available() answers "may I use X now?" (c2s
 * accepts a domain's clients only then), and then passed on to the element
 * callback like everything else the router sends in the COMP namespace.
 *
 * Everything runs from the mio loop; callbacks may call any comp function,
 * comp_free() excepted. Free the comp before its mio (mio_free closes the
 * connection and would call back into a comp already gone).
 *
 * A daemon's use, in short (comp/service.c does this for sm, muc and
 * pubsub):
 *	comp_settings_load(cfg, &set, &err);     set.ident = "sm"
 *	comp = comp_new(mio, &set, &callbacks, ctx, &err);
 *	comp_bind(comp, id, NULL, 0);            before or after comp_start
 *	comp_start(comp);
 *	... element callback: routes in; comp_send / comp_route out ...
 *	SIGTERM: comp_close(comp); down(final=1) -> mio_stop
 */
#ifndef COMP_COMP_H
#define COMP_COMP_H

#include <stddef.h>

struct config;
struct mio;
struct nad;
struct comp;

#define COMP_NS "http://jabberd.jabberstudio.org/ns/component/1.0"
#define COMP_NS_SESSION "http://jabberd.jabberstudio.org/ns/session/1.0"

/* The router.* options of sm.xml, c2s.xml and s2s.xml. */
struct comp_settings {
	const char *ip;                 /* router.ip, default 127.0.0.1 */
	int port;                       /* router.port, default 5347 */
	const char *user;               /* router.user, default "jabberd" */
	const char *pass;               /* router.pass, default "secret" */
	const char *pemfile;            /* router.pemfile: STARTTLS if offered */
	const char *key_password;       /* router.private_key_password */
	const char *ciphers;            /* router.ciphers */
	const char *ciphersuites;       /* router.ciphersuites (TLS 1.3) */
	int retry_init;                 /* router.retry.init, default 3 */
	int retry_lost;                 /* router.retry.lost, default 3 */
	int retry_sleep;                /* router.retry.sleep in s, default 2,
					 * at least 1 */
	const char *ident;              /* log prefix ("sm", "c2s") */
};

/*
 * Fill `set` from the router.* keys of a daemon's config, with jabberd2's
 * defaults. Strings point into cfg. Returns 0, or -1 with *error_r
 * naming the file, line and key of a bad value. The daemon should list
 * "router" among the known prefixes it gives config_unknown().
 */
int comp_settings_load(const struct config *cfg, struct comp_settings *set,
		       const char **error_r);

struct comp_callbacks {
	/* The link is open and every registered name has been asked for
	 * (replies follow through `bound`). After each reconnect too. May be
	 * NULL. */
	void (*ready)(struct comp *comp, void *ctx);
	/* The router's answer to a bind: error 0 = bound, else the router's
	 * code (400, 403, 409...), already logged as an error. May be NULL. */
	void (*bound)(struct comp *comp, const char *name, int error, void *ctx);
	/* Any other element the router sent in the COMP namespace: <route>
	 * (unicast, broadcast, or bounced with error='NNN'), <presence>
	 * advertisements, <throttle/> echoes, <unbind/> replies. Ownership
	 * passes to the callee, which must nad_free() it. Elements in other
	 * namespaces are dropped. Required. */
	void (*element)(struct comp *comp, struct nad *nad, void *ctx);
	/* The link went down (reason for the log) or could not be made.
	 * final == 0: another attempt is scheduled. final == 1: no attempts
	 * are left (retry limit reached, or comp_close() completed); jabberd2
	 * daemons then shut down with exit code 0. May be NULL. */
	void (*down)(struct comp *comp, const char *reason, int final, void *ctx);
};

/*
 * A link, not yet connecting. Copies the settings. Returns NULL with
 * *error_r set if the TLS context cannot be made (unreadable pemfile...)
 * or GNU SASL cannot start.
 */
struct comp *comp_new(struct mio *mio, const struct comp_settings *set,
		      const struct comp_callbacks *cb, void *ctx, const char **error_r);
/* Close at once (no reconnect, no callbacks) and free. NULLs *compp.
 * Not from inside a comp callback. */
void comp_free(struct comp **compp);

/* Start connecting, with router.retry.init attempts. */
void comp_start(struct comp *comp);
/* Orderly close for shutdown: </stream:stream>, the socket shut down once
 * written, no reconnect; `down` then runs with final = 1. */
void comp_close(struct comp *comp);

/* 1 while the link is open (authenticated, binds may be sent). */
int comp_is_open(const struct comp *comp);

/* Bind flags. */
#define COMP_BIND_DEFAULT 0x01          /* <default/>: the default route (s2s) */
#define COMP_BIND_LOG     0x02          /* <log/>: a log sink */

/*
 * Register `name` to be bound now (if open) and after every reconnect.
 * `multi` is the multi attribute ("to" for sm's served domains) or NULL.
 * Registering a name twice just binds it again.
 */
void comp_bind(struct comp *comp, const char *name, const char *multi, unsigned flags);
/* Forget `name` and, if open, send <unbind name='name'/>. */
void comp_unbind(struct comp *comp, const char *name);

/* 1 if the router currently advertises `name` as bound by some component
 * other than us, else 0. Cleared when the link goes down. */
int comp_name_available(const struct comp *comp, const char *name);

/*
 * Building and sending routes. A route is a COMP <route to from [type]>
 * with one stanza (or session control element) inside.
 *
 * comp_route_new() starts one (to / type may be NULL) for the caller to
 * add the payload to as a child of the root (element 0), without a copy:
 *	nad = comp_route_new("c2s", "sm", NULL);
 *	msg = nad_elem_add(nad, 0, SX_NS_CLIENT, "message");
 *	comp_send(comp, nad);
 */
struct nad *comp_route_new(const char *to, const char *from, const char *type);
/* The payload of a route (its first child element), or NAD_NONE. */
int comp_route_payload(const struct nad *route);

/*
 * Send any element (a route, a throttle...). Takes ownership of `nad`.
 * Returns 0, or -1 if the link is not open (the nad is freed: routers do
 * not queue for absent components, and neither do we).
 */
int comp_send(struct comp *comp, struct nad *nad);
/* Wrap a copy of `payload`'s element `elem` in a unicast route and send
 * it. The caller keeps payload. Returns as comp_send. */
int comp_route(struct comp *comp, const char *to, const char *from,
	       const struct nad *payload, int elem);
/* The same as a type='broadcast' route from `from` (no to). */
int comp_route_broadcast(struct comp *comp, const char *from,
			 const struct nad *payload, int elem);
/* Bounce a route we received: error='code' added, to/from kept (the
 * router's convention). Takes ownership. A route that already carries
 * an error is dropped instead (loop guard). Returns as comp_send. */
int comp_bounce(struct comp *comp, struct nad *route, int code);
/* Send <throttle/> (the router toggles queueing of our traffic). */
int comp_throttle(struct comp *comp);

#endif
