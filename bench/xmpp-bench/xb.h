/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xmpp-bench: a load generator for XMPP client-to-server ports. One process
 * drives many client streams through libevent; each stream does what a
 * client does (STARTTLS, SASL PLAIN or SCRAM-SHA-1, bind, session, initial
 * presence, roster get) and then serves a scenario (scenario.c).
 *
 * The pieces, each in its own file:
 *   args.c     command line into struct xb_opts (pure, unit tested)
 *   stats.c    latency samples and percentiles (pure, unit tested)
 *   scram.c    the client side of SCRAM-SHA-1 (pure, unit tested)
 *   conn.c     one client stream: XML in, state machine, XML out; no I/O,
 *              so tests can feed it what a misbehaving server sends
 *   net.c      libevent and OpenSSL under conn.c: connect, TLS, reaping
 *   proc.c     what /proc says about the server's processes
 *   scenario.c login storm, idle sessions, message pairs, presence fan-out,
 *              group chat in one room
 *   report.c   the table and the JSON
 * A new scenario (say a cluster one, with senders and receivers on
 * different nodes) is a new entry in scenario.c, not a new tool.
 */
#ifndef XB_H
#define XB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <expat.h>

#define XB_MAX_PIDS 32
#define XB_HOST_MAX 64

enum xb_scenario {
	XB_LOGIN,
	XB_IDLE,
	XB_MESSAGES,
	XB_FANOUT,
	XB_MUC,
};

enum xb_mech {
	XB_MECH_PLAIN,
	XB_MECH_SCRAM_SHA1,
};

struct xb_addr {
	char host[XB_HOST_MAX]; /* a dotted IPv4 address */
	int port;
};

struct xb_opts {
	enum xb_scenario scenario;
	struct xb_addr server;  /* where every stream goes... */
	struct xb_addr server2; /* ...but the receivers of "messages" */
	char domain[256];
	char user_prefix[64];   /* users are <prefix><n>@domain */
	char password[128];
	long user_first;        /* n of the first user */
	long users;             /* how many users exist from there */
	enum xb_mech mech;
	bool tls;               /* STARTTLS (on by default) */
	uint32_t src_base;      /* first source address, host order */
	int src_count;          /* source addresses rotated over */
	long count;             /* logins, sessions or messages */
	int concurrency;        /* streams logging in at once */
	int pairs;              /* "messages": sender/receiver pairs */
	int window;             /* "messages": in flight per pair */
	int body_size;          /* "messages": bytes of body text */
	int contacts;           /* "fanout": roster size R */
	int rounds;             /* "fanout": presence updates per user */
	int occupants;          /* "muc": streams that join the room */
	int senders;            /* "muc": occupants that also talk */
	char room[320];         /* "muc": the room's bare JID */
	double duration;        /* hard bound on the whole run, seconds */
	double settle;          /* pause before measuring, seconds */
	double hold;            /* "idle": keep the sessions this long */
	bool login_close;       /* "login": close each session when in */
	pid_t pids[XB_MAX_PIDS];
	int npids;
	const char *json_path;  /* NULL: none; "-": stdout */
	const char *label;      /* names the server in the output */
	int progress;           /* -1 auto (a tty), 0 off, 1 on */
};

/*
 * Fills *o from argv (after the program name). Returns 0, or -1 with a
 * message in *error_r (static or in a buffer that lives until the next
 * call). Checks ranges and combinations, e.g. that "fanout" users split
 * into whole rosters.
 */
int xb_opts_parse(struct xb_opts *o, int argc, char **argv,
		  const char **error_r);
const char *xb_scenario_name(enum xb_scenario s);
const char *xb_usage(void);

/* ---- stats.c ---- */

/* Latency samples in microseconds; percentiles by nearest rank. */
struct xb_lat {
	uint32_t *v;
	size_t n, cap;
	bool sorted;
};
void xb_lat_add(struct xb_lat *l, uint32_t usec);
/* p in [0, 100]; 0 when there are no samples. Sorts the samples. */
uint32_t xb_lat_pct(struct xb_lat *l, double p);
void xb_lat_free(struct xb_lat *l);
double xb_now(void); /* monotonic seconds */

/* ---- scram.c ---- */

struct xb_scram {
	char client_first_bare[400];
	char nonce[64];
	unsigned char server_key[20];
	char auth_message[1200];
};
/*
 * Writes the client-first-message (gs2 header "n,,", no channel binding)
 * for `user` with client nonce `cnonce` into out. Returns 0, or -1 if it
 * does not fit.
 */
int xb_scram_first(struct xb_scram *s, const char *user, const char *cnonce,
		   char *out, size_t outlen);
/*
 * From the server-first-message, writes the client-final-message into
 * out. Returns 0, or -1 with *error_r naming what is wrong with the
 * server's message (nonce not extending ours, bad salt, iterations out of
 * 1..1000000). Salted passwords are cached per (salt, iterations), as a
 * real client would keep them.
 */
int xb_scram_final(struct xb_scram *s, const char *password,
		   const char *server_first, char *out, size_t outlen,
		   const char **error_r);
/* Checks the server's "v=" signature. 0 when it proves the server. */
int xb_scram_verify(struct xb_scram *s, const char *server_final,
		    const char **error_r);
/* Standard base64 helpers; -1 when out is too small or input is bad. */
int xb_b64_encode(const unsigned char *in, size_t len, char *out,
		  size_t outlen);
int xb_b64_decode(const char *in, unsigned char *out, size_t outlen,
		  size_t *len_r);

/* ---- conn.c ---- */

enum xb_state {
	XS_CONNECTING,
	XS_FEATURES,  /* stream open, waiting for features */
	XS_STARTTLS,  /* sent <starttls/> */
	XS_TLS,       /* TLS handshake under way */
	XS_AUTH,      /* SASL exchange */
	XS_BIND,
	XS_SESSION,
	XS_ROSTER,    /* presence sent, roster get outstanding */
	XS_READY,
	XS_CLOSING,
	XS_DONE,      /* closed as planned */
	XS_FAILED,
};

#define XB_TEXT_MAX 2048

/* What the parser keeps of the stanza being read. */
struct xb_stanza {
	char name[32];
	char type[16];
	char id[16];
	char from[320];
	char body[XB_TEXT_MAX];
	char status[64];
	unsigned features;
};

struct xb_conn;

/* What the I/O layer (net.c, or a test) does for a stream. */
struct xb_io {
	void (*write)(struct xb_conn *c, const char *data, size_t len);
	/* Start TLS on the stream; conn gets xb_conn_tls_up() when done. */
	void (*starttls)(struct xb_conn *c);
};

/* What the scenario hears from a stream. */
struct xb_events {
	void (*ready)(struct xb_conn *c);
	void (*stanza)(struct xb_conn *c, const struct xb_stanza *st);
	/* The stream ended: failed (c->error says why) or closed as
	 * planned (state XS_DONE). Called once per stream. */
	void (*failed)(struct xb_conn *c);
	/* net.c has freed the socket; the scenario may reuse c. */
	void (*released)(struct xb_conn *c);
};

struct xb_conn {
	const struct xb_opts *opts;
	const struct xb_io *io;
	const struct xb_events *ev;
	void *ctx;               /* the scenario's */
	void *net;               /* net.c's */
	long index;              /* per scenario, for source and resource */
	long user;               /* the user number */
	char jid[400];           /* user@domain */
	enum xb_state state;
	const char *error;       /* why it failed: static or errbuf */
	char errbuf[160];
	XML_Parser xp;
	int depth;
	bool restart;            /* reset the parser after this chunk */
	bool tls_up;
	bool authed;
	bool session_needed;
	struct xb_stanza st;
	char text[XB_TEXT_MAX];  /* text of the innermost element */
	size_t textlen;
	struct xb_scram scram;
	double t_start, t_ready;
	long sent, received;     /* scenario counters */
};

/* Sets up a stream for user `user`; the caller then connects it. */
void xb_conn_init(struct xb_conn *c, const struct xb_opts *o,
		  const struct xb_io *io, const struct xb_events *ev,
		  long index, long user);
void xb_conn_cleanup(struct xb_conn *c);
/* The socket is connected: send the stream header. */
void xb_conn_connected(struct xb_conn *c);
void xb_conn_tls_up(struct xb_conn *c);
/* Bytes from the server. Returns -1 once the stream has failed. */
int xb_conn_input(struct xb_conn *c, const char *data, size_t len);
/* Marks the stream failed (once) and tells the scenario. */
void xb_conn_fail(struct xb_conn *c, const char *why);
/* A closing stream is finished (its tag written, or the server's seen). */
void xb_conn_done(struct xb_conn *c);
/* Sends raw XML (a stanza) on a ready stream. */
void xb_conn_send(struct xb_conn *c, const char *xml, size_t len);
/* Sends the closing tag; net.c closes once it is written. */
void xb_conn_close(struct xb_conn *c);

/* stanza feature bits */
#define XF_STARTTLS 0x01u
#define XF_PLAIN 0x02u
#define XF_SCRAM1 0x04u
#define XF_BIND 0x08u
#define XF_SESSION 0x10u
#define XF_SESSION_OPT 0x20u

/* ---- net.c ---- */

struct event_base;
/* Creates the TLS context and the reaper; -1 with *error_r on failure. */
int xb_net_init(struct event_base *base, const char **error_r);
void xb_net_done(void);
extern const struct xb_io xb_net_io;
/*
 * Connects c to addr from source address number c->index % src_count.
 * Failure is reported through c's failed event, not here.
 */
void xb_net_connect(struct xb_conn *c, const struct xb_addr *addr);
/* Drops c's socket (after the scenario is done with it). */
void xb_net_drop(struct xb_conn *c);
/* Raises RLIMIT_NOFILE to fit n streams; -1 with *error_r if it cannot. */
int xb_net_fd_limit(long n, const char **error_r);

/* ---- proc.c ---- */

/* VmRSS in KiB, or -1. */
long xb_proc_rss_kib(pid_t pid);
/* utime + stime in seconds, or -1. */
double xb_proc_cpu_s(pid_t pid);
/* This process's user + system CPU seconds. */
double xb_self_cpu_s(void);

/* ---- report.c ---- */

#define XB_MAX_RESULTS 96

struct xb_result {
	char key[48];
	double value;
	const char *unit;
};

struct xb_report {
	const struct xb_opts *opts;
	bool complete;
	char error[128];    /* the first stream failure, if any */
	struct xb_result r[XB_MAX_RESULTS];
	int n;
};
void xb_report_add(struct xb_report *rep, const char *key, double value,
		   const char *unit);
/* Writes the table to stdout and the JSON where opts say. 0 or -1. */
int xb_report_write(const struct xb_report *rep);

/* ---- scenario.c ---- */

/* Runs o->scenario to completion or its time bound. */
int xb_run(const struct xb_opts *o, struct xb_report *rep,
	   const char **error_r);

#endif
