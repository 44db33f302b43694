/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scenarios. Each logs streams in through the same pump (at most
 * --concurrency logins under way, failures counted; more than 1% of them
 * abort a login or idle run, any one a messages or fanout run, which
 * cannot finish without every member), then does its own measurement:
 *
 *   login     sessions stay open until all are in (with --close each one
 *             closes as soon as it is available); logins/s over the whole
 *             run, with each login's latency;
 *   idle      --count sessions stay open; the server's resident memory is
 *             read after a warm-up batch and after all are in, and the
 *             difference divided by the sessions added;
 *   messages  --pairs senders (on --server) each keep --window chat
 *             messages in flight to their own receiver (on --server2);
 *             msgs/s from the first send to the last arrival, and each
 *             message's latency;
 *   fanout    --count users in groups of --contacts + 1 whose rosters hold
 *             each other (pre-created); every user sends --rounds presence
 *             updates, each round waited for in full, and the presences
 *             delivered per second are counted;
 *   muc       --occupants streams join one room (the first creates it and
 *             submits the empty owner form: an instant room), at most
 *             --concurrency joins under way; then --senders of them each
 *             keep --window groupchat messages in flight, a message being
 *             in flight until every occupant (the sender too: the room
 *             reflects it) has it. Deliveries/s, each delivery's latency,
 *             and CPU per 1,000 deliveries.
 *
 * The whole run is bounded by --duration; a run cut short still reports
 * what it measured, marked incomplete.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bench/xmpp-bench/xb.h"

struct run {
	const struct xb_opts *o;
	struct event_base *base;
	struct xb_report *rep;
	struct xb_conn *conns;
	long nslots;
	long target;     /* streams to log in during this phase */
	long started, inflight, ready, failed, closed;
	double t0, deadline;
	struct xb_lat login_lat;
	bool finished;
	/* server and generator CPU at the start of the measurement */
	double cpu0[XB_MAX_PIDS], self0, tm0;
	/* idle */
	long warm;
	long rss0[XB_MAX_PIDS];
	/* messages */
	double *sendt;   /* pairs x window send times */
	long *pair_sent, *pair_recv;
	long msent, mrecv;
	struct xb_lat lat;
	char *pad;
	/* muc: occupant i's nick is "o<i>" */
	long joined, joins_sent;
	bool *in_room;
	long *next_seq;     /* occupants x senders: the next seq expected */
	long *got;          /* senders x window: deliveries of that message */
	long mdone;         /* messages every occupant has */
	bool measuring;
	double join_t0;
	/* fanout */
	int round;
	long round_recv, fan_recv;
	double round_t0;
};

static struct run R;

static void finish(bool complete)
{
	if (R.finished)
		return;
	R.finished = true;
	R.rep->complete = complete;
	event_base_loopbreak(R.base);
}

static void add(const char *key, double v, const char *unit)
{
	xb_report_add(R.rep, key, v, unit);
}

/* Server CPU and ours from here on count as the measurement's. */
static void measure_start(void)
{
	for (int i = 0; i < R.o->npids; i++)
		R.cpu0[i] = xb_proc_cpu_s(R.o->pids[i]);
	R.self0 = xb_self_cpu_s();
	R.tm0 = xb_now();
}

/* Adds seconds, server and generator CPU; returns the elapsed time. */
static double measure_end(double units, const char *per)
{
	double secs = xb_now() - R.tm0, cpu = 0;
	char key[64];

	double each[XB_MAX_PIDS];

	for (int i = 0; i < R.o->npids; i++) {
		double c1 = xb_proc_cpu_s(R.o->pids[i]);
		each[i] = c1 >= 0 && R.cpu0[i] >= 0 ? c1 - R.cpu0[i] : -1;
		if (each[i] >= 0)
			cpu += each[i];
	}
	add("seconds", secs, "s");      /* first: the login scenario reads it */
	/* Each process's own share, e.g. the router's. */
	for (int i = 0; i < R.o->npids; i++) {
		if (each[i] < 0)
			continue;
		snprintf(key, sizeof key, "server_cpu_s_per_1000_%s_pid%ld", per,
			 (long)R.o->pids[i]);
		add(key, units > 0 ? each[i] * 1000 / units : 0, "s");
	}
	if (R.o->npids > 0) {
		add("server_cpu_s", cpu, "s");
		snprintf(key, sizeof key, "server_cpu_s_per_1000_%s", per);
		add(key, units > 0 ? cpu * 1000 / units : 0, "s");
		add("server_cpu_util", secs > 0 ? cpu / secs : 0, "cores");
	}
	double self = xb_self_cpu_s() - R.self0;
	add("generator_cpu_s", self, "s");
	snprintf(key, sizeof key, "generator_cpu_s_per_1000_%s", per);
	add(key, units > 0 ? self * 1000 / units : 0, "s");
	add("generator_cpu_util", secs > 0 ? self / secs : 0, "cores");
	return secs;
}

static long user_of(long index)
{
	return R.o->user_first + index % R.o->users;
}

static void start_slot(long slot, long index, const struct xb_addr *addr);

/* Starts logins while fewer than --concurrency are under way. */
static void pump(void)
{
	const struct xb_opts *o = R.o;

	while (!R.finished && R.inflight < o->concurrency &&
	       R.started < R.target) {
		long i = R.started;
		long slot = o->scenario == XB_LOGIN && o->login_close ? -1 : i;
		if (slot < 0) {
			for (long s = 0; s < R.nslots; s++)
				if (R.conns[s].state == XS_DONE &&
				    R.conns[s].xp == NULL) {
					slot = s;
					break;
				}
			if (slot < 0)
				return; /* wait for a slot to be released */
		}
		const struct xb_addr *addr =
			o->scenario == XB_MESSAGES && i >= o->pairs ?
				&o->server2 : &o->server;
		start_slot(slot, i, addr);
	}
}

static void ev_ready(struct xb_conn *c);
static void ev_stanza(struct xb_conn *c, const struct xb_stanza *st);
static void ev_failed(struct xb_conn *c);
static void ev_released(struct xb_conn *c);
static void login_check_done(void);

static const struct xb_events events = {
	.ready = ev_ready,
	.stanza = ev_stanza,
	.failed = ev_failed,
	.released = ev_released,
};

static void start_slot(long slot, long index, const struct xb_addr *addr)
{
	struct xb_conn *c = &R.conns[slot];

	xb_conn_init(c, R.o, &xb_net_io, &events, index, user_of(index));
	c->ctx = &R;
	R.started++;
	R.inflight++;
	xb_net_connect(c, addr);
}

static void ev_failed(struct xb_conn *c)
{
	if (c->state == XS_DONE) {
		R.closed++;
	} else {
		if (c->t_ready == 0)
			R.inflight--;
		R.failed++;
		if (R.rep->error[0] == '\0')
			snprintf(R.rep->error, sizeof R.rep->error, "%s",
				 c->error);
		/* A pair or a roster group missing a member cannot finish;
		 * logins and idle sessions tolerate 1% of failures. */
		if (R.o->scenario == XB_MESSAGES ||
		    R.o->scenario == XB_FANOUT || R.o->scenario == XB_MUC ||
		    R.failed > R.o->count / 100)
			finish(false);
		else if (R.o->scenario == XB_LOGIN && !R.o->login_close)
			login_check_done();
	}
	xb_net_drop(c);
}

/* Without --close, every login stays in until all are. */
static void login_check_done(void)
{
	if (R.ready + R.failed < R.o->count)
		return;
	R.closed = R.ready;
	measure_end((double)R.ready, "logins");
	finish(R.failed == 0);
}

static void ev_released(struct xb_conn *c)
{
	xb_conn_cleanup(c);
	c->state = XS_DONE; /* the slot is free */
	if (R.o->scenario == XB_LOGIN && R.o->login_close) {
		if (R.closed + R.failed >= R.o->count) {
			measure_end((double)R.closed, "logins");
			finish(R.failed == 0);
			return;
		}
		pump();
	} else if (!R.finished) {
		pump();
	}
}

static struct timeval settle_tv(void);

/* ---- messages ---- */

static void send_message(long pair)
{
	char buf[600 + 65536];
	const struct xb_conn *rc = &R.conns[R.o->pairs + pair];
	long seq = R.pair_sent[pair]++;

	R.sendt[pair * R.o->window + seq % R.o->window] = xb_now();
	R.msent++;
	int n = snprintf(buf, sizeof buf, "<message to='%s' type='chat'>"
			 "<body>%ld %s</body></message>", rc->jid, seq, R.pad);
	xb_conn_send(&R.conns[pair], buf, (size_t)n);
}

static void messages_go(evutil_socket_t fd, short what, void *arg)
{
	measure_start();
	for (long p = 0; p < R.o->pairs; p++)
		for (int w = 0; w < R.o->window && R.msent < R.o->count; w++)
			send_message(p);
}

static void messages_done(void)
{
	double secs = measure_end((double)R.mrecv, "msgs");

	add("msgs", (double)R.mrecv, "");
	add("msgs_per_s", secs > 0 ? R.mrecv / secs : 0, "/s");
	add("latency_p50_ms", xb_lat_pct(&R.lat, 50) / 1000.0, "ms");
	add("latency_p99_ms", xb_lat_pct(&R.lat, 99) / 1000.0, "ms");
	add("latency_p999_ms", xb_lat_pct(&R.lat, 99.9) / 1000.0, "ms");
	add("latency_max_ms", xb_lat_pct(&R.lat, 100) / 1000.0, "ms");
}

static void messages_stanza(struct xb_conn *c, const struct xb_stanza *st)
{
	long pair = c->index - R.o->pairs;
	char *end;

	if (strcmp(st->name, "message") != 0)
		return;
	if (strcmp(st->type, "error") == 0 || pair < 0) {
		xb_conn_fail(c, "a message bounced or came back to a sender");
		return;
	}
	long seq = strtol(st->body, &end, 10);
	if (end == st->body || seq != R.pair_recv[pair]) {
		xb_conn_fail(c, "a message arrived out of order or mangled");
		return;
	}
	R.pair_recv[pair]++;
	R.mrecv++;
	double dt = xb_now() - R.sendt[pair * R.o->window + seq % R.o->window];
	xb_lat_add(&R.lat, (uint32_t)(dt * 1e6));
	if (R.msent < R.o->count)
		send_message(pair);
	else if (R.mrecv == R.o->count) {
		messages_done();
		finish(true);
	}
}

/* ---- fanout ---- */

static void fanout_round(void)
{
	char buf[128];

	R.round++;
	R.round_recv = 0;
	int n = snprintf(buf, sizeof buf,
			 "<presence><status>r%d</status></presence>", R.round);
	for (long i = 0; i < R.nslots; i++)
		xb_conn_send(&R.conns[i], buf, (size_t)n);
}

static void fanout_go(evutil_socket_t fd, short what, void *arg)
{
	measure_start();
	fanout_round();
}

static void fanout_done(void)
{
	long expected = R.o->count * R.o->contacts * (long)R.o->rounds;
	double secs = measure_end((double)R.fan_recv, "presences");

	add("presences", (double)R.fan_recv, "");
	add("presences_expected", (double)expected, "");
	add("presences_per_s", secs > 0 ? R.fan_recv / secs : 0, "/s");
}

static void fanout_stanza(struct xb_conn *c, const struct xb_stanza *st)
{
	char want[32];
	size_t blen = strlen(c->jid);

	if (strcmp(st->name, "presence") != 0 || st->type[0] != '\0')
		return;
	snprintf(want, sizeof want, "r%d", R.round);
	if (R.round == 0 || strcmp(st->status, want) != 0)
		return;
	/* The user's own presence echoed back is not fan-out. */
	if (strncmp(st->from, c->jid, blen) == 0 &&
	    (st->from[blen] == '\0' || st->from[blen] == '/'))
		return;
	R.round_recv++;
	R.fan_recv++;
	if (R.round_recv < R.o->count * (long)R.o->contacts)
		return;
	if (R.round < R.o->rounds)
		fanout_round();
	else {
		fanout_done();
		finish(true);
	}
}

/* ---- muc ---- */

static void muc_send(long sender)
{
	char buf[700 + 65536];
	long seq = R.pair_sent[sender]++;
	long slot = sender * R.o->window + seq % R.o->window;

	R.sendt[slot] = xb_now();
	R.got[slot] = 0;
	R.msent++;
	int n = snprintf(buf, sizeof buf, "<message to='%s' type='groupchat'>"
			 "<body>xb %ld %ld %s</body></message>", R.o->room,
			 sender, seq, R.pad);
	xb_conn_send(&R.conns[sender], buf, (size_t)n);
}

static void muc_join(long i)
{
	char buf[700];
	int n = snprintf(buf, sizeof buf, "<presence to='%s/o%ld'><x xmlns="
			 "'http://jabber.org/protocol/muc'><history "
			 "maxstanzas='0'/></x></presence>", R.o->room, i);

	R.joins_sent++;
	xb_conn_send(&R.conns[i], buf, (size_t)n);
}

/* Joins while fewer than --concurrency are unanswered; the first alone
 * until the room is configured. */
static void muc_join_more(void)
{
	if (R.joins_sent == 0) {
		R.join_t0 = xb_now();
		muc_join(0);
		return;
	}
	if (R.joined == 0)
		return;
	while (R.joins_sent < R.o->occupants &&
	       R.joins_sent - R.joined < R.o->concurrency)
		muc_join(R.joins_sent);
}

static void muc_go(evutil_socket_t fd, short what, void *arg)
{
	measure_start();
	R.measuring = true;
	for (long s = 0; s < R.o->senders; s++)
		for (int w = 0; w < R.o->window && R.msent < R.o->count; w++)
			muc_send(s);
}

static void muc_done(void)
{
	double secs = measure_end((double)R.mrecv, "deliveries");

	add("msgs", (double)R.mdone, "");
	add("deliveries", (double)R.mrecv, "");
	add("deliveries_per_s", secs > 0 ? R.mrecv / secs : 0, "/s");
	add("msgs_per_s", secs > 0 ? R.mdone / secs : 0, "/s");
	add("latency_p50_ms", xb_lat_pct(&R.lat, 50) / 1000.0, "ms");
	add("latency_p99_ms", xb_lat_pct(&R.lat, 99) / 1000.0, "ms");
	add("latency_p999_ms", xb_lat_pct(&R.lat, 99.9) / 1000.0, "ms");
	add("latency_max_ms", xb_lat_pct(&R.lat, 100) / 1000.0, "ms");
}

/* "ROOM/o<i>": the occupant's own presence, with its nick. */
static long muc_nick_of(const char *from)
{
	size_t rl = strlen(R.o->room);
	char *end;

	if (strncmp(from, R.o->room, rl) != 0 || from[rl] != '/' ||
	    from[rl + 1] != 'o')
		return -1;
	long i = strtol(from + rl + 2, &end, 10);
	return end == from + rl + 2 || *end != '\0' ? -1 : i;
}

static void muc_presence(struct xb_conn *c, const struct xb_stanza *st)
{
	if (muc_nick_of(st->from) != c->index)
		return;
	if (st->type[0] != '\0') {
		xb_conn_fail(c, strcmp(st->type, "error") == 0 ?
			     "the room refused a join" :
			     "an occupant was removed from the room");
		return;
	}
	if (R.in_room[c->index])
		return; /* e.g. the presence again after configuration */
	R.in_room[c->index] = true;
	if (c->index == 0) {
		char buf[600];
		int n = snprintf(buf, sizeof buf, "<iq type='set' to='%s' "
				 "id='xbcfg'><query xmlns='http://jabber.org"
				 "/protocol/muc#owner'><x xmlns='jabber:x:data'"
				 " type='submit'/></query></iq>", R.o->room);
		xb_conn_send(c, buf, (size_t)n);
		return;
	}
	if (++R.joined < R.o->occupants) {
		muc_join_more();
		return;
	}
	struct timeval tv = settle_tv();
	add("join_seconds", xb_now() - R.join_t0, "s");
	event_base_once(R.base, -1, EV_TIMEOUT, muc_go, NULL, &tv);
}

static void muc_message(struct xb_conn *c, const struct xb_stanza *st)
{
	long sender, seq;
	char *end;

	if (strcmp(st->type, "error") == 0) {
		xb_conn_fail(c, "a groupchat message bounced");
		return;
	}
	if (strncmp(st->body, "xb ", 3) != 0)
		return; /* the subject, a status message */
	sender = strtol(st->body + 3, &end, 10);
	if (end == st->body + 3 || *end != ' ' || sender < 0 ||
	    sender >= R.o->senders)
		goto mangled;
	const char *p = end + 1;
	seq = strtol(p, &end, 10);
	long *next = &R.next_seq[c->index * R.o->senders + sender];
	if (end == p || seq != *next || seq >= R.pair_sent[sender])
		goto mangled;
	(*next)++;
	R.mrecv++;
	long slot = sender * R.o->window + seq % R.o->window;
	xb_lat_add(&R.lat, (uint32_t)((xb_now() - R.sendt[slot]) * 1e6));
	if (++R.got[slot] < R.o->occupants)
		return;
	R.mdone++;
	if (R.msent < R.o->count)
		muc_send(sender);
	else if (R.mdone == R.o->count) {
		muc_done();
		finish(true);
	}
	return;
mangled:
	xb_conn_fail(c, "a groupchat message arrived out of order or mangled");
}

static void muc_stanza(struct xb_conn *c, const struct xb_stanza *st)
{
	if (strcmp(st->name, "presence") == 0)
		muc_presence(c, st);
	else if (strcmp(st->name, "message") == 0 && R.measuring)
		muc_message(c, st);
	else if (strcmp(st->name, "iq") == 0 && c->index == 0 &&
		 strcmp(st->id, "xbcfg") == 0) {
		if (strcmp(st->type, "result") != 0) {
			xb_conn_fail(c, "the room's configuration was refused");
			return;
		}
		if (R.joined == 0) {
			R.joined = 1;
			if (R.o->occupants == 1) {
				struct timeval tv = settle_tv();
				event_base_once(R.base, -1, EV_TIMEOUT, muc_go,
						NULL, &tv);
			}
			muc_join_more();
		}
	}
}

/* ---- idle ---- */

static void rss_sample(long *out)
{
	for (int i = 0; i < R.o->npids; i++)
		out[i] = xb_proc_rss_kib(R.o->pids[i]);
}

static void idle_done(evutil_socket_t fd, short what, void *arg)
{
	finish(true);
}

static void idle_measured(evutil_socket_t fd, short what, void *arg)
{
	long rss1[XB_MAX_PIDS];
	long added = R.target - R.warm, sum0 = 0, sum1 = 0;
	char key[64];
	struct timeval tv = {(time_t)R.o->hold, 0};

	rss_sample(rss1);
	add("sessions", (double)R.ready, "");
	for (int i = 0; i < R.o->npids; i++) {
		sum0 += R.rss0[i];
		sum1 += rss1[i];
		snprintf(key, sizeof key, "kib_per_session_pid%ld",
			 (long)R.o->pids[i]);
		add(key, (double)(rss1[i] - R.rss0[i]) / (double)added, "KiB");
	}
	if (R.o->npids > 0) {
		add("rss_before_kib", (double)sum0, "KiB");
		add("rss_after_kib", (double)sum1, "KiB");
		add("kib_per_session", (double)(sum1 - sum0) / (double)added,
		    "KiB");
	}
	add("generator_rss_kib", (double)xb_proc_rss_kib(getpid()), "KiB");
	event_base_once(R.base, -1, EV_TIMEOUT, idle_done, NULL, &tv);
}

static void idle_continue(evutil_socket_t fd, short what, void *arg)
{
	rss_sample(R.rss0);
	R.target = R.o->count;
	measure_start();
	pump();
}

/* ---- shared ---- */

static struct timeval settle_tv(void)
{
	struct timeval tv;
	tv.tv_sec = (time_t)R.o->settle;
	tv.tv_usec = (suseconds_t)((R.o->settle - (double)tv.tv_sec) * 1e6);
	return tv;
}

/* Every stream the phase asked for is available. */
static void all_ready(void)
{
	struct timeval tv = settle_tv();

	switch (R.o->scenario) {
	case XB_LOGIN:
		break;
	case XB_IDLE:
		if (R.target == R.warm && R.warm < R.o->count) {
			event_base_once(R.base, -1, EV_TIMEOUT, idle_continue,
					NULL, &tv);
		} else {
			double secs = measure_end((double)R.ready - R.warm,
						  "logins");
			add("logins_per_s", (R.ready - R.warm) / secs, "/s");
			event_base_once(R.base, -1, EV_TIMEOUT, idle_measured,
					NULL, &tv);
		}
		break;
	case XB_MESSAGES:
		event_base_once(R.base, -1, EV_TIMEOUT, messages_go, NULL, &tv);
		break;
	case XB_FANOUT:
		event_base_once(R.base, -1, EV_TIMEOUT, fanout_go, NULL, &tv);
		break;
	case XB_MUC:
		muc_join_more();
		break;
	}
}

static void ev_ready(struct xb_conn *c)
{
	c->t_ready = xb_now();
	R.inflight--;
	R.ready++;
	xb_lat_add(&R.login_lat, (uint32_t)((c->t_ready - c->t_start) * 1e6));
	if (R.o->scenario == XB_LOGIN && R.o->login_close)
		xb_conn_close(c);
	else if (R.o->scenario == XB_LOGIN)
		login_check_done();
	else if (R.ready == R.target)
		all_ready();
	pump();
}

static void ev_stanza(struct xb_conn *c, const struct xb_stanza *st)
{
	if (R.o->scenario == XB_MESSAGES)
		messages_stanza(c, st);
	else if (R.o->scenario == XB_FANOUT)
		fanout_stanza(c, st);
	else if (R.o->scenario == XB_MUC)
		muc_stanza(c, st);
}

/* Says where the logins still under way are stuck, by login state. */
static void stuck_report(void)
{
	static const char *const names[] = {
		"connect", "features", "starttls", "tls", "sasl", "bind",
		"session", "roster"};
	long n[8] = {0};
	int len;

	for (long s = 0; s < R.nslots; s++)
		if (R.conns[s].xp && R.conns[s].state < XS_READY)
			n[R.conns[s].state]++;
	len = snprintf(R.rep->error, sizeof R.rep->error, "%s",
		       R.ready < R.target ?
			       "hit the --duration bound; logins stuck in:" :
			       "hit the --duration bound, all logged in");
	for (int i = 0; i < 8 && len > 0 && (size_t)len < sizeof R.rep->error;
	     i++)
		if (n[i])
			len += snprintf(R.rep->error + len,
					sizeof R.rep->error - (size_t)len,
					" %s %ld", names[i], n[i]);
	if (R.o->scenario == XB_MUC && len > 0 &&
	    (size_t)len < sizeof R.rep->error)
		snprintf(R.rep->error + len, sizeof R.rep->error - (size_t)len,
			 "; muc: %ld of %d in the room, %ld messages complete",
			 R.joined, R.o->occupants, R.mdone);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	double now = xb_now();

	if (R.o->progress)
		fprintf(stderr, "\r%s %s: %.0fs up %ld/%ld failed %ld msgs %ld "
			"presences %ld   ", R.o->label,
			xb_scenario_name(R.o->scenario), now - R.t0, R.ready,
			R.target, R.failed, R.mrecv, R.fan_recv);
	if (now > R.deadline) {
		if (R.rep->error[0] == '\0')
			stuck_report();
		finish(false);
	}
}

static void setup(const struct xb_opts *o)
{
	switch (o->scenario) {
	case XB_LOGIN:
		R.nslots = o->login_close ? o->concurrency : o->count;
		R.target = o->count;
		break;
	case XB_IDLE:
		R.nslots = o->count;
		R.warm = o->count / 20 > 50 ? 50 : o->count / 20;
		if (R.warm < 1)
			R.warm = o->count > 1 ? 1 : 0;
		R.target = R.warm ? R.warm : o->count;
		break;
	case XB_MESSAGES:
		R.nslots = 2L * o->pairs;
		R.target = R.nslots;
		R.sendt = calloc((size_t)o->pairs * (size_t)o->window,
				 sizeof *R.sendt);
		R.pair_sent = calloc((size_t)o->pairs, sizeof *R.pair_sent);
		R.pair_recv = calloc((size_t)o->pairs, sizeof *R.pair_recv);
		R.pad = malloc((size_t)o->body_size + 1);
		if (!R.sendt || !R.pair_sent || !R.pair_recv || !R.pad)
			abort();
		memset(R.pad, 'x', (size_t)o->body_size);
		R.pad[o->body_size] = '\0';
		break;
	case XB_FANOUT:
		R.nslots = o->count;
		R.target = o->count;
		break;
	case XB_MUC:
		R.nslots = o->occupants;
		R.target = o->occupants;
		R.sendt = calloc((size_t)o->senders * (size_t)o->window,
				 sizeof *R.sendt);
		R.got = calloc((size_t)o->senders * (size_t)o->window,
			       sizeof *R.got);
		R.pair_sent = calloc((size_t)o->senders, sizeof *R.pair_sent);
		R.next_seq = calloc((size_t)o->occupants * (size_t)o->senders,
				    sizeof *R.next_seq);
		R.in_room = calloc((size_t)o->occupants, sizeof *R.in_room);
		R.pad = malloc((size_t)o->body_size + 1);
		if (!R.sendt || !R.got || !R.pair_sent || !R.next_seq ||
		    !R.in_room || !R.pad)
			abort();
		memset(R.pad, 'x', (size_t)o->body_size);
		R.pad[o->body_size] = '\0';
		break;
	}
	R.conns = calloc((size_t)R.nslots, sizeof *R.conns);
	if (R.conns == NULL)
		abort();
	for (long s = 0; s < R.nslots; s++)
		R.conns[s].state = XS_DONE; /* free */
}

static void teardown(void)
{
	for (long s = 0; s < R.nslots; s++)
		xb_net_drop(&R.conns[s]);
	xb_net_done();
	for (long s = 0; s < R.nslots; s++)
		xb_conn_cleanup(&R.conns[s]);
	free(R.conns);
	free(R.sendt);
	free(R.pair_sent);
	free(R.pair_recv);
	free(R.pad);
	free(R.got);
	free(R.next_seq);
	free(R.in_room);
	xb_lat_free(&R.lat);
	xb_lat_free(&R.login_lat);
}

int xb_run(const struct xb_opts *o, struct xb_report *rep,
	   const char **error_r)
{
	struct timeval sec = {1, 0};
	struct event *t;

	memset(&R, 0, sizeof R);
	R.o = o;
	R.rep = rep;
	rep->opts = o;
	if (xb_net_fd_limit(o->scenario == XB_LOGIN && o->login_close ?
				    o->concurrency :
			    o->scenario == XB_MESSAGES ? 2L * o->pairs :
			    o->scenario == XB_MUC ? o->occupants :
						     o->count, error_r) < 0)
		return -1;
	R.base = event_base_new();
	if (R.base == NULL || xb_net_init(R.base, error_r) < 0)
		return -1;
	setup(o);
	rss_sample(R.rss0);
	t = event_new(R.base, -1, EV_PERSIST, tick, NULL);
	event_add(t, &sec);
	R.t0 = xb_now();
	R.deadline = R.t0 + o->duration;
	measure_start();
	pump();
	event_base_dispatch(R.base);
	if (o->progress)
		fputc('\n', stderr);
	if (!rep->complete && o->scenario == XB_MESSAGES && R.msent > 0)
		messages_done();
	if (!rep->complete && o->scenario == XB_FANOUT && R.round > 0)
		fanout_done();
	if (!rep->complete && o->scenario == XB_MUC && R.measuring)
		muc_done();
	if (o->scenario == XB_LOGIN && R.rep->n == 0)
		measure_end((double)R.closed, "logins");
	if (o->scenario == XB_LOGIN) {
		add("logins", (double)R.closed, "");
		double secs = rep->n > 0 ? rep->r[0].value : 0;
		add("logins_per_s", secs > 0 ? R.closed / secs : 0, "/s");
	}
	add("failed_streams", (double)R.failed, "");
	add("login_p50_ms", xb_lat_pct(&R.login_lat, 50) / 1000.0, "ms");
	add("login_p99_ms", xb_lat_pct(&R.login_lat, 99) / 1000.0, "ms");
	event_free(t);
	teardown();
	event_base_free(R.base);
	return 0;
}
