/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sm.h: the session manager's shared structures and internal interfaces.
 * The sm keeps users (loaded while they have sessions or while a packet
 * for them is handled), their sessions (one per resource a c2s started),
 * and runs every packet through the module chains named in sm.xml, as
 * jabberd2's sm does (compat spec sections 5 and 6).
 *
 * A packet (struct pkt) is one stanza in its own nad, with its addresses
 * parsed; routes are unwrapped on input (sm.c) and wrapped again on output
 * (pkt.c). Prototypes are grouped by the file that defines them.
 */
#ifndef SM_SM_H
#define SM_SM_H

#include <assert.h>
#include <stdint.h>
#include <time.h>

#include "util/list.h"

struct comp;
struct config;
struct jid;
struct mio;
struct nad;
struct storage;
struct xhash;

#define SM_MODULE_ABI 1
#define SM_NS_SESSION "http://jabberd.jabberstudio.org/ns/session/1.0"
#define SM_NS_ROSTER "jabber:iq:roster"
#define SM_NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define SM_NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"

/* What a module returns from a chain hook. */
enum mod_ret {
	MOD_PASS = 0,           /* not mine: the caller still owns the packet */
	MOD_HANDLED = 1,        /* taken: the module sent or freed it */
};

/* The chains, as sm.xml names them. */
enum chain_id {
	CHAIN_SESS_START,
	CHAIN_SESS_END,
	CHAIN_IN_SESS,
	CHAIN_OUT_SESS,
	CHAIN_IN_ROUTER,
	CHAIN_OUT_ROUTER,
	CHAIN_PKT_SM,
	CHAIN_PKT_USER,
	CHAIN_PKT_ROUTER,
	CHAIN_USER_LOAD,
	CHAIN_USER_UNLOAD,
	CHAIN_USER_CREATE,
	CHAIN_USER_DELETE,
	CHAIN_DISCO_EXTEND,
	CHAIN_COUNT,
};

/* A user's data an sm may keep in memory and another node's sm may
 * write: the `what` of the cluster's `changed` broadcast
 * (sm/cluster_data.c, patches/03-sm-notifies-cluster.md). */
enum sm_user_data {
	SM_DATA_ROSTER,         /* roster items, groups, version, roster-state */
	SM_DATA_PRIVACY,        /* privacy lists, default list, block list */
	SM_DATA_VCARD,
	SM_DATA_PRIVATE,        /* private XML storage, vacation settings */
	SM_DATA_PEP,
	SM_DATA_STATUS,         /* the status table (online/offline) */
	SM_DATA_ACCOUNT,        /* the user was deleted */
	SM_DATA_COUNT,
};

/* Packet kinds (bits, so modules can test groups). */
enum pkt_type {
	PKT_NONE = 0,
	PKT_MESSAGE = 0x0001,
	PKT_PRESENCE = 0x0010,          /* available */
	PKT_PRESENCE_UN = 0x0020,       /* unavailable */
	PKT_PRESENCE_PROBE = 0x0040,
	PKT_PRESENCE_ERROR = 0x0080,
	PKT_S10N = 0x0100,              /* subscribe */
	PKT_S10N_ED = 0x0200,           /* subscribed */
	PKT_S10N_UN = 0x0400,           /* unsubscribe */
	PKT_S10N_UNED = 0x0800,         /* unsubscribed */
	PKT_IQ = 0x1000,                /* get */
	PKT_IQ_SET = 0x2000,
	PKT_IQ_RESULT = 0x4000,
	PKT_IQ_ERROR = 0x8000,
	PKT_MESSAGE_ERROR = 0x10000,
	PKT_SESS = 0x100000,            /* session control element */
};
#define PKT_PRESENCE_ANY (PKT_PRESENCE | PKT_PRESENCE_UN | PKT_PRESENCE_PROBE | \
			  PKT_PRESENCE_ERROR | PKT_S10N_ANY)
#define PKT_S10N_ANY (PKT_S10N | PKT_S10N_ED | PKT_S10N_UN | PKT_S10N_UNED)
#define PKT_IQ_ANY (PKT_IQ | PKT_IQ_SET | PKT_IQ_RESULT | PKT_IQ_ERROR)

/* A stanza (or session control element) being handled. */
struct pkt {
	struct sm *sm;
	struct nad *nad;                /* root 0 is the stanza */
	enum pkt_type type;
	struct jid *from, *to;          /* stanza addresses, NULL if absent */
	char *rto, *rfrom;              /* route addresses it came with */
	char *iq_ns;                    /* iq: namespace of its child (a copy:
					 * the nad's strings move when it is
					 * changed), or NULL */
	char *exclude_node;             /* cluster: sessions on this node are
					 * gone for this stanza (it came from
					 * there, or was not delivered there) */
	int hops;                       /* cluster: forwards it has made to
					 * reach this node (jc:hops; 0: it did
					 * not come through the cluster) */
};

/*
 * Module data. The core structs below carry no module's state: a module
 * that keeps some per user, per session or per sm names a slot in its
 * descriptor (`.slot`, a static int of its own), and sm_modules_init()
 * numbers the slots. user->mod, sess->mod and sm->mod are arrays of
 * sm->nslots pointers, NULL until the module puts its data there; the
 * module reads its own with an array index (user->mod[its slot]) through
 * typed accessors of its own, and frees it in its user_free, sess_free
 * and fini hooks, which the core calls for every loaded module. Where one
 * module needs another, it includes that module's service header
 * (privacy.h, presence.h, roster.h, offline.h, amp.h, echo.h); each
 * service answers sensibly when its module is not loaded.
 */

struct user {
	struct sm *sm;
	struct jid *jid;                /* bare */
	struct list_node sessions;      /* struct sess.link */
	void **mod;                     /* module data, by slot */
	int refs;                       /* held by packets being handled */
	struct rsess *remote;           /* cluster: its sessions on other nodes
					 * (the head of its stubs, kept by
					 * sm/cluster.c), NULL: none */
};

struct sess {
	struct user *user;
	struct jid *jid;                /* full */
	char sm_id[41];                 /* our id: 160 random bits, hex */
	char *c2s;                      /* c2s component (route address) */
	char *c2s_id;                   /* c2s's key for the connection */
	int available;                  /* sent available presence */
	int priority;
	struct nad *pres;               /* last broadcast presence */
	uint64_t started_ms;            /* Unix time in ms (rule 5 across nodes) */
	uint32_t avail_seq;             /* cluster: when its initial presence went (i14) */
	int direct;                     /* cluster: the module was told direct='1' */
	void **mod;                     /* module data, by slot */
	int ended;
	struct list_node link;
	struct list_node c2s_link;      /* in sm->by_c2s, the sessions of c2s */
};

struct sm_module {
	const char *name;
	int abi;
	/* Once at start, per chain the module is listed in (arg from sm.xml
	 * module@arg). Returns 0, or -1 to skip the module in that chain. */
	int (*init)(struct sm *sm, const char *arg);
	void (*fini)(struct sm *sm);
	enum mod_ret (*sess_start)(struct sess *sess);
	void (*sess_end)(struct sess *sess);
	enum mod_ret (*in_sess)(struct sess *sess, struct pkt *pkt);
	enum mod_ret (*out_sess)(struct sess *sess, struct pkt *pkt);
	enum mod_ret (*in_router)(struct pkt *pkt);
	enum mod_ret (*out_router)(struct pkt *pkt);
	enum mod_ret (*pkt_sm)(struct pkt *pkt);
	enum mod_ret (*pkt_user)(struct user *user, struct pkt *pkt);
	enum mod_ret (*pkt_router)(struct pkt *pkt);
	/* user-load: 0, or -1 if the user cannot be loaded (active). */
	int (*user_load)(struct user *user);
	void (*user_unload)(struct user *user);
	int (*user_create)(struct sm *sm, const struct jid *jid);
	void (*user_delete)(struct sm *sm, const struct jid *jid);
	/* disco-extend: add XEP-0128 forms to the server's disco#info. */
	void (*disco_extend)(struct sm *sm, struct nad *nad, int query);
	/* Data slots (see "Module data" above). slot: the module's own
	 * static int, numbered by sm_modules_init() (NULL: no data). The
	 * free hooks get the module's non-NULL data as the user or session
	 * leaves memory (after user-unload / sess-end), and the core clears
	 * the slot; per-sm data is the module's to free in fini. */
	int *slot;
	void (*user_free)(struct user *user, void *data);
	void (*sess_free)(struct sess *sess, void *data);
	/* Another node's sm wrote this user's `what` (the `changed`
	 * broadcast, received by sm/cluster_data.c): drop what the module
	 * keeps of it so that the next use reads storage again. Called for every loaded module,
	 * only for users in memory. */
	void (*user_changed)(struct user *user, enum sm_user_data what);
};

struct sm {
	struct config *cfg;
	const char *id;                 /* our name at the router (nameprep'd):
					 * <router_id> if set, else <id> */
	const char *router_id;          /* <router_id> (then == id), or NULL:
					 * bind only that name, and send every
					 * route from it (patch 1) */
	const char *cluster_notify;     /* <cluster><notify>: where session
					 * changes go (patch 3), or NULL */
	char *id_buf;
	struct xhash *hosts;            /* served domains */
	struct mio *mio;
	struct comp *comp;
	struct storage *st;
	struct xhash *users;            /* bare jid -> struct user */
	struct xhash *sessions;         /* sm id -> struct sess */
	struct xhash *by_c2s;           /* component -> its sessions (sess.c) */
	struct xhash *features;         /* disco features (namespaces) */
	const struct sm_module **chains[CHAIN_COUNT];
	int nchain[CHAIN_COUNT];
	const struct sm_module **loaded; /* modules whose init ran */
	int nloaded;
	int nslots;                     /* length of every ->mod array */
	void **mod;                     /* per-sm module data, by slot */
	time_t started;
	int auto_create;
	int shutting_down;
	/* Routes for outside sent while the router link is down, sent when it
	 * is back (sm_send, sm_send_held). */
	struct nad **held;
	size_t nheld;
	unsigned long held_dropped;
	/* Tests and fuzzers: where sm_send() hands elements instead of the
	 * router link. Takes the nad. */
	void (*send_hook)(struct sm *sm, struct nad *nad);
	void *hook_ctx;
	/* The sm in a cluster (cluster.c): NULL without <router_id> and
	 * <cluster><notify>. */
	struct sm_cluster *cluster;
};

/* ---- sm_life.c: setting up and tearing down ---- */
/* An sm from a loaded sm.xml (taken: freed by sm_free): options, served
 * domains (nameprep'd), storage drivers, module chains. No router link
 * yet (main.c makes it). NULL with *error_r on failure. */
struct sm *sm_new(struct config *cfg, struct mio *mio, const char **error_r);
void sm_free(struct sm **smp);
/* 1 if jid (full or bare) is listed in an aci.acl of `type` or 'all'. */
int sm_acl(struct sm *sm, const char *type, const struct jid *jid);
/* Send an element to the router (or the send hook). Takes the nad.
 * While the link is down, routes for outside (not for a client session,
 * not session control: those sessions are gone) are held, at most
 * SM_HELD_MAX, and sent by sm_send_held() when it is back. */
#define SM_HELD_MAX 65536
void sm_send(struct sm *sm, struct nad *nad);

/* Patch 3 (sm/cluster_notify.c): with <router_id> and <cluster><notify>,
 * tell the cluster module that a session started, changed availability or
 * priority, or ended. No-op without that configuration. */
#define SM_CLUSTER_NS "urn:jabberd-cluster:session"
void sm_cluster_notify(struct sess *sess, const char *action);
/* Direct delivery (sm/cluster.c): 1 if messages other nodes forward to
 * this session need nothing of this sm but the wrapping for its c2s (no
 * privacy rule of the user's, an in-router chain of modules that do
 * nothing to messages), so the module may hand them to the c2s itself.
 * sm_cluster_direct_recheck(): tell the module of each local session of
 * `user` whose answer changed. */
int sm_cluster_direct_ok(const struct sess *sess);
void sm_cluster_direct_recheck(struct user *user);
void sm_send_held(struct sm *sm);

/* ---- cluster.c: the sm in a cluster (sm/README.md "In a cluster") ---- */
/* A session on another node, as the cluster module reported it (rule 1):
 * what delivery decisions need, nothing more, in one allocation. The
 * stubs of a bare JID are a list (sm_remote_first); they never sit in
 * user->sessions. */
struct rsess {
	struct rsess *next;             /* the same user's next stub */
	const char *node;               /* one copy per node name (cluster.c) */
	uint64_t started;               /* ms since the epoch */
	int8_t priority;                /* -128..127 */
	uint8_t available;
	uint16_t res;                   /* offset of the resource in full */
	uint32_t avail_seq;             /* when it became available here (i14) */
	char full[];                    /* the full JID */
};
static_assert(sizeof(struct rsess) == 32, "a stub's fixed part stays 32 bytes");
#define SM_CLUSTER_TARGETS_MAX 1024     /* jc:targets per route (rules 3, 7) */
#define SM_CLUSTER_ALSO_MAX 16          /* jc:also per route (rule 7) */
#define SM_CLUSTER_REMOTE_MAX 256       /* <s/> per <remote/> (rule 1) */
#define SM_CLUSTER_NODE_MAX 64          /* a node name's length */
#define SM_CLUSTER_NODES_MAX 1024       /* distinct node names kept */
#define SM_CLUSTER_MERGE_MAX 256        /* nodes in one <merged/> (i14) */
#define SM_CLUSTER_HOLD_MAX 10000       /* stanzas held until synced (rule 2) */
#define SM_CLUSTER_HOLD_SECS 10         /* ... or this long */
/* A stanza makes at most this many forwards in all: one that arrived
 * forwarded is forwarded at most once more (jc:hops, docs/cluster-protocol.md
 * "The module and its sm" rule 9); past it, other nodes' sessions do not
 * count for it and the RFC 6121 rules apply over the local ones. */
#define SM_CLUSTER_HOPS_MAX 2
void sm_cluster_init(struct sm *sm);
void sm_cluster_free(struct sm *sm);
int sm_clustered(const struct sm *sm);
/* Ask the module for the remote table (<sync/>): when the router link is
 * up. Until it says synced, stanzas for users with no session anywhere
 * are held. */
void sm_cluster_sync(struct sm *sm);
/* Give up waiting for `synced` once SM_CLUSTER_HOLD_SECS passed (a
 * one-second timer calls it; tests call it with their own clock). */
void sm_cluster_tick(struct sm *sm, time_t now);
int sm_cluster_synced(const struct sm *sm);
/* Stop waiting for `synced`: the held stanzas are decided now, with what
 * is known (at shutdown, so that none is lost). */
void sm_cluster_proceed(struct sm *sm, const char *why);
size_t sm_cluster_held(const struct sm *sm);
/* A route from the module (rules 1, 3, 4, 5): 1 if it was one (it was
 * handled), 0 if it is an ordinary route. After sm_cluster_route(), which
 * takes the broadcasts between sms (rules 6, 8: sm/cluster_data.c). */
int sm_cluster_in(struct sm *sm, struct nad *route, int payload);
/* Seed patch 2: 1 if pkt was held (taken) because the cluster has not
 * said synced yet and the user has no available session known anywhere
 * (nor the session a full JID names). */
int sm_cluster_hold(struct sm *sm, struct user *user, struct pkt *pkt);
/* The stubs of jid's bare JID (NULL: none, or no cluster). */
struct rsess *sm_remote_first(const struct sm *sm, const struct jid *jid);
/* 1 unless the stub is on the node pkt excludes. */
int rsess_usable(const struct rsess *r, const struct pkt *pkt);
/* The usable stub of this full JID, or NULL. */
struct rsess *sm_remote_get(const struct sm *sm, const struct jid *full, const struct pkt *pkt);
/* The same for a loaded user's full JID, from user->remote (no lookup). */
struct rsess *user_remote_get(const struct user *user, const struct jid *full,
			      const struct pkt *pkt);
/* The highest priority among the user's usable available stubs, or -1. */
int user_remote_top(const struct user *user, const struct pkt *pkt);
size_t sm_remote_count(const struct sm *sm);
/* Stanzas for remote sessions, gathered per node (rule 7). */
struct sm_fwd_node;
struct sm_fwd {
	struct sm_fwd_node *v;
	size_t n;
};
void sm_fwd_add(struct sm_fwd *f, const struct rsess *r);
/* One route per node (at most SM_CLUSTER_TARGETS_MAX targets each) with
 * a copy of pkt, without its `to` unless keep_to; clears f. */
void sm_fwd_send(struct sm *sm, struct sm_fwd *f, const struct pkt *pkt, int keep_to);
/* The same, for a message to a bare JID that also went to the local
 * sessions local[0..nlocal) (also: 1): each route names the other
 * sessions in jc:also, so that a copy handed back undelivered is not
 * given a second time to one of them (rule 7). */
void sm_fwd_send_also(struct sm *sm, struct sm_fwd *f, const struct pkt *pkt, int keep_to,
		      char *const *local, size_t nlocal, int also);
void sm_fwd_clear(struct sm_fwd *f);
/* Forward pkt (taken, `to` kept) to one remote session. */
void sm_forward_one(struct sm *sm, struct pkt *pkt, const struct rsess *r);
/* A presence broadcast from pkt's sender: between begin and end, the
 * copies sm_cluster_fan_out() makes for remote sessions are gathered and
 * sent at the end as one route per node. */
void sm_cluster_batch_begin(struct sm *sm, const struct pkt *pkt);
void sm_cluster_batch_end(struct sm *sm, const struct pkt *pkt);
/* Send f's stanza (as sm_fwd_send), or, for presence (probes included)
 * from the sender of the broadcast under way, add f's targets to it. */
void sm_cluster_send(struct sm *sm, struct sm_fwd *f, const struct pkt *pkt, int keep_to);
/* Presence for user's available remote sessions (no `to`). */
void sm_cluster_fan_out(struct sm *sm, const struct user *user, const struct pkt *pkt);
/* pkt (no `to`: each target gets its own) to every available session of
 * `domain` on other nodes: an announcement (mod_announce). */
void sm_cluster_fan_out_domain(struct sm *sm, const char *domain, const struct pkt *pkt);
/* i14, two contacts logging in at once on two nodes (docs/cluster-protocol.md
 * "The module and its sm", rule 14). sm_cluster_initial(): sess is sending
 * its initial presence now (before the broadcast). sm_cluster_probe_unseen():
 * sess's initial probe of `contact` (a user of ours with no available
 * session known on another node) also goes to every node as a broadcast,
 * answered by the sessions there that had not shown themselves to it. */
void sm_cluster_initial(struct sess *sess);
void sm_cluster_probe_unseen(struct sess *sess, const struct jid *contact);

/* sm/cluster_data.c: one user's data, one truth across nodes sharing a
 * database. sm_cluster_changed(): after writing `what` of user `bare`,
 * tell every other node's sm (with <router_id> and <cluster><notify>;
 * no-op without). sm_cluster_route(): a route from the cluster module
 * whose payload is a `<user action='changed'/>`: the loaded user's
 * modules drop that data (user_changed hooks; account: the local
 * sessions end). Returns 1 if the route was such a broadcast (taken,
 * valid or not), 0 if it is something else. */
void sm_cluster_changed(struct sm *sm, const char *bare, enum sm_user_data what);
int sm_cluster_route(struct sm *sm, const struct nad *route, int payload);
/* Every loaded user's data read again (roster, privacy, private, PEP):
 * for when `changed` broadcasts may have been lost, e.g. the cluster's
 * view was reset (<remote reset='1'/>) after a peer was unreachable. */
void sm_cluster_reload_all(struct sm *sm);
/* The name of `what` on the wire ("roster", ...). */
const char *sm_user_data_name(enum sm_user_data what);

/* ---- sm.c: input from the router, dispatch ---- */
void sm_router_element(struct sm *sm, struct nad *nad);
/* Deliver a packet addressed to one of our domains or users, as if it
 * came from the router (pkt-sm / pkt-user). Takes the packet. */
void sm_dispatch(struct sm *sm, struct pkt *pkt);
int sm_serves(const struct sm *sm, const char *domain);
/* Register a disco#info feature of the server. */
void sm_feature(struct sm *sm, const char *ns);

/* ---- modules.c: the module table and the chains ---- */
int sm_modules_init(struct sm *sm, const char **error_r);
void sm_modules_fini(struct sm *sm);
enum mod_ret mm_sess_start(struct sm *sm, struct sess *sess);
void mm_sess_end(struct sm *sm, struct sess *sess);
enum mod_ret mm_in_sess(struct sm *sm, struct sess *sess, struct pkt *pkt);
enum mod_ret mm_in_router(struct sm *sm, struct pkt *pkt);
enum mod_ret mm_out_router(struct sm *sm, struct pkt *pkt);
enum mod_ret mm_pkt_sm(struct sm *sm, struct pkt *pkt);
enum mod_ret mm_pkt_user(struct sm *sm, struct user *user, struct pkt *pkt);
enum mod_ret mm_pkt_router(struct sm *sm, struct pkt *pkt);
int mm_user_load(struct sm *sm, struct user *user);
void mm_user_unload(struct sm *sm, struct user *user);
int mm_user_create(struct sm *sm, const struct jid *jid);
void mm_user_delete(struct sm *sm, const struct jid *jid);
void mm_disco_extend(struct sm *sm, struct nad *nad, int query);
/* A zeroed module data array (sm->nslots pointers) for a new user or
 * session. */
void **mm_data_new(const struct sm *sm);
/* The user (session) leaves memory: each loaded module's user_free
 * (sess_free) hook gets its data, then the array is freed. */
void mm_user_free(struct sm *sm, struct user *user);
void mm_sess_free(struct sm *sm, struct sess *sess);
/* Each loaded module's user_changed hook (sm/cluster_data.c). */
void mm_user_changed(struct sm *sm, struct user *user, enum sm_user_data what);
/* The loaded module named `name`, or NULL (tests, config checks: not for
 * the stanza path). */
const struct sm_module *mm_loaded(const struct sm *sm, const char *name);

/* ---- pkt.c: packets ---- */
/* A packet from a stanza nad (taken). NULL if the stanza's addresses are
 * unparsable (the nad is freed). */
struct pkt *pkt_new(struct sm *sm, struct nad *nad);
void pkt_free(struct pkt **pktp);
/* A new stanza: name "message"/"presence"/"iq", type may be NULL. */
struct pkt *pkt_create(struct sm *sm, const char *name, const char *type,
		       const char *to, const char *from);
struct pkt *pkt_dup(const struct pkt *pkt, const char *to, const char *from);
/* Set / replace the to or from address (NULL removes it). */
void pkt_set_to(struct pkt *pkt, const char *to);
void pkt_set_from(struct pkt *pkt, const char *from);
/* Turn pkt into an error reply (addresses swapped) with the RFC 6120
 * condition and its legacy code; returns pkt. */
struct pkt *pkt_error(struct pkt *pkt, const char *cond);
/* Turn an iq into an empty result (addresses swapped, children gone). */
struct pkt *pkt_result(struct pkt *pkt);
/* Send to a session's client; takes pkt. */
void pkt_sess(struct pkt *pkt, struct sess *sess);
/* Send out: the out-router chain, then to a served domain locally
 * (in-router chain and sm_dispatch), else through the router (route from
 * our id to the domain of `to`). Takes pkt. */
void pkt_router(struct pkt *pkt);
/* Delayed-delivery stamp (XEP-0203). */
void pkt_delay(struct pkt *pkt, time_t t, const char *from);
/* Condition for a route error code (compat spec section 10). */
const char *pkt_error_cond(int code);

/* ---- user.c: users ---- */
/* The loaded user, loading it (user-load chain) if needed. NULL if the
 * user does not exist. */
struct user *user_load(struct sm *sm, const struct jid *jid);
/* The packet (or session) that held it is done: the user leaves memory
 * when nothing holds it, it has no local session and no session of it on
 * another node is known. user_drop(): the same, stubs or not (the
 * account is gone). user_release_idle(): every user kept only for stubs
 * that are gone now (after a resync). */
void user_release(struct user *user);
void user_drop(struct user *user);
void user_release_idle(struct sm *sm);
void user_free_all(struct sm *sm);
int user_create(struct sm *sm, const struct jid *jid);
void user_delete(struct sm *sm, const struct jid *jid);
/* The session with this full JID's resource, or NULL. */
struct sess *user_sess(struct user *user, const char *resource);
/* The available session with the highest (non-negative) priority, or
 * NULL. */
struct sess *user_top_sess(struct user *user);
/* The same among the sessions whose privacy list in force lets `pkt` in
 * (mod_privacy): where delivery to the bare JID goes. */
struct sess *user_top_sess_for(struct user *user, const struct pkt *pkt);
/* In a cluster, over the local sessions (those whose privacy list lets
 * pkt in; pkt NULL: all) and the remote ones (not on pkt->exclude_node):
 * the highest non-negative priority of an available session, or -1. */
int user_top_priority(struct user *user, const struct pkt *pkt);
/* 1 if the user has an available session with a non-negative priority
 * here or (usable for pkt, which may be NULL) on another node. */
int user_available_anywhere(struct user *user, const struct pkt *pkt);

/* ---- sess.c: sessions ---- */
struct sess *sess_start(struct sm *sm, struct user *user, const struct jid *jid,
			const char *c2s, const char *c2s_id);
/* End the session: sess-end chain, tell c2s `action` ("ended",
 * "replaced", or NULL for nothing), free it. */
void sess_end(struct sess *sess, const char *action);
/* End (sess_end, no notice to the c2s) every session the component c2s
 * started, or every session; `why` is for the log. Return how many. */
int sess_end_c2s(struct sm *sm, const char *c2s, const char *why);
int sess_end_all(struct sm *sm, const char *why);
/* At exit: free every session without telling anyone. */
void sess_free_all(struct sm *sm);
/* Send a session control reply. */
void sess_control(struct sm *sm, const char *to, const char *c2s_id, const char *sm_id,
		  const char *action, const char *target, const char *id, int failed);

/* Every module built in, NULL-terminated (modules.c). sm_registry is the
 * table sm_modules_init() reads: sm_modules, unless a unit test points it
 * at a table of its own before sm_new() (and back after sm_free(): slot
 * numbers follow the table, so no sm made from another may be alive). */
extern const struct sm_module *const sm_modules[];
extern const struct sm_module *const *sm_registry;

#endif
