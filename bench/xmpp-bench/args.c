/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command line of xmpp-bench. Pure: no I/O, so the unit tests can
 * check every option and every refusal.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/xmpp-bench/xb.h"

static char errbuf[512];

const char *xb_usage(void)
{
	return "usage: xmpp-bench SCENARIO [options]\n"
	       "scenarios: login | idle | messages | fanout | muc\n"
	       "  --server IP:PORT      c2s to connect to (default 127.0.0.1:5222)\n"
	       "  --server2 IP:PORT     receivers' c2s for messages (default --server)\n"
	       "  --domain D            XMPP domain (localhost)\n"
	       "  --user-prefix P       users are P<n>@D (u)\n"
	       "  --password PW         every user's password (pw)\n"
	       "  --first N             number of the first user (0)\n"
	       "  --users N             users that exist from --first (count)\n"
	       "  --mech PLAIN|SCRAM-SHA-1   SASL mechanism (SCRAM-SHA-1)\n"
	       "  --no-tls              skip STARTTLS\n"
	       "  --src IP[/N]          N source addresses from IP (127.0.1.1/16)\n"
	       "  -n, --count N         logins (login), sessions (idle),\n"
	       "                        messages (messages) (1000)\n"
	       "  -c, --concurrency N   streams logging in at once (50)\n"
	       "  --pairs N             messages: sender/receiver pairs (50)\n"
	       "  --window N            messages: in flight per pair (4)\n"
	       "  --body-size N         messages: body bytes (64)\n"
	       "  --contacts R          fanout: roster size; users form groups\n"
	       "                        of R+1 that all see each other (50)\n"
	       "  --rounds N            fanout: presence updates per user (5)\n"
	       "  --occupants N         muc: streams joining the room (100)\n"
	       "  --senders N           muc: occupants that talk (10); -n is\n"
	       "                        the groupchat messages sent in all\n"
	       "  --room JID            muc: the room (bench@conference.D)\n"
	       "  --duration S          bound on the whole run (120)\n"
	       "  --settle S            pause before measuring (1)\n"
	       "  --hold S              idle: keep sessions this long (0)\n"
	       "  --close               login: close each session once it is\n"
	       "                        in (default: all stay open to the end)\n"
	       "  --pids P,P,...        server processes for RSS and CPU\n"
	       "  --json FILE|-         also write the results as JSON\n"
	       "  --label NAME          name of the server in the output\n"
	       "  --progress|--no-progress   progress line on stderr (tty)\n";
}

const char *xb_scenario_name(enum xb_scenario s)
{
	switch (s) {
	case XB_LOGIN:
		return "login";
	case XB_IDLE:
		return "idle";
	case XB_MESSAGES:
		return "messages";
	case XB_FANOUT:
		return "fanout";
	case XB_MUC:
		return "muc";
	}
	return "?";
}

static int fail(const char **error_r, const char *fmt, const char *arg)
{
	snprintf(errbuf, sizeof errbuf, fmt, arg);
	*error_r = errbuf;
	return -1;
}

/* A whole decimal number in [min, max]. */
static int num(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int seconds(const char *s, double max, double *out)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0) || v > max)
		return -1;
	*out = v;
	return 0;
}

static int addr(const char *s, struct xb_addr *a)
{
	const char *colon = strrchr(s, ':');
	struct in_addr in;
	long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof a->host)
		return -1;
	memcpy(a->host, s, (size_t)(colon - s));
	a->host[colon - s] = '\0';
	if (inet_pton(AF_INET, a->host, &in) != 1 ||
	    num(colon + 1, 1, 65535, &port) < 0)
		return -1;
	a->port = (int)port;
	return 0;
}

static int sources(const char *s, struct xb_opts *o)
{
	char ip[XB_HOST_MAX];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	struct in_addr in;
	long n = 1;

	if (len >= sizeof ip)
		return -1;
	memcpy(ip, s, len);
	ip[len] = '\0';
	if (inet_pton(AF_INET, ip, &in) != 1 ||
	    (slash && num(slash + 1, 1, 250, &n) < 0))
		return -1;
	o->src_base = ntohl(in.s_addr);
	o->src_count = (int)n;
	/* Only loopback: this tool never loads anything off the machine. */
	if ((o->src_base >> 24) != 127 ||
	    ((o->src_base + (uint32_t)n - 1) >> 24) != 127)
		return -1;
	return 0;
}

static int pids(const char *s, struct xb_opts *o)
{
	char buf[256];
	char *save = NULL;
	long v;

	if (strlen(s) >= sizeof buf)
		return -1;
	strcpy(buf, s);
	o->npids = 0;
	for (char *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		if (o->npids == XB_MAX_PIDS || num(t, 1, 4194304, &v) < 0)
			return -1;
		o->pids[o->npids++] = (pid_t)v;
	}
	return o->npids > 0 ? 0 : -1;
}

static int copy(char *dst, size_t size, const char *src)
{
	if (strlen(src) >= size || src[0] == '\0')
		return -1;
	strcpy(dst, src);
	return 0;
}

static void defaults(struct xb_opts *o)
{
	memset(o, 0, sizeof *o);
	strcpy(o->server.host, "127.0.0.1");
	o->server.port = 5222;
	strcpy(o->domain, "localhost");
	strcpy(o->user_prefix, "u");
	strcpy(o->password, "pw");
	o->users = -1;
	o->mech = XB_MECH_SCRAM_SHA1;
	o->tls = true;
	o->src_base = (127u << 24) | (1u << 8) | 1u;
	o->src_count = 16;
	o->count = 1000;
	o->concurrency = 50;
	o->pairs = 50;
	o->window = 4;
	o->body_size = 64;
	o->contacts = 50;
	o->rounds = 5;
	o->occupants = 100;
	o->senders = 10;
	o->duration = 120;
	o->settle = 1;
	o->progress = -1;
	o->label = "server";
}

/* Needed by the scenario's users: fewer existing users is an error. */
static long users_needed(const struct xb_opts *o)
{
	switch (o->scenario) {
	case XB_MESSAGES:
		return 2L * o->pairs;
	case XB_FANOUT:
	case XB_IDLE:
		return o->count;
	case XB_MUC:
		return o->occupants;
	case XB_LOGIN:
		return 1;
	}
	return 1;
}

static int check(struct xb_opts *o, const char **error_r)
{
	if (o->server2.port == 0)
		o->server2 = o->server;
	if (o->scenario == XB_FANOUT && o->count % (o->contacts + 1) != 0)
		return fail(error_r, "fanout: --count (users online) must be a "
			    "multiple of --contacts + 1%s", "");
	if (o->scenario == XB_FANOUT && o->count < o->contacts + 1)
		return fail(error_r, "fanout: --count must be at least "
			    "--contacts + 1%s", "");
	if (o->users < 0)
		o->users = users_needed(o) > o->count ? users_needed(o) :
							o->count;
	if (o->users < users_needed(o))
		return fail(error_r, "%s needs more users than --users gives",
			    xb_scenario_name(o->scenario));
	if (o->scenario == XB_MESSAGES && o->count < o->pairs)
		return fail(error_r, "messages: --count must be at least "
			    "--pairs%s", "");
	if (o->scenario == XB_MUC && o->senders > o->occupants)
		return fail(error_r, "muc: --senders must be at most "
			    "--occupants%s", "");
	if (o->scenario == XB_MUC && o->count < o->senders)
		return fail(error_r, "muc: --count must be at least "
			    "--senders%s", "");
	if (o->room[0] == '\0' &&
	    snprintf(o->room, sizeof o->room, "bench@conference.%s",
		     o->domain) >= (int)sizeof o->room)
		return fail(error_r, "--domain too long for the room JID%s", "");
	if (strchr(o->room, '@') == NULL || strchr(o->room, '/') ||
	    strpbrk(o->room, "<>&'\""))
		return fail(error_r, "--room must be a bare room JID%s", "");
	return 0;
}

int xb_opts_parse(struct xb_opts *o, int argc, char **argv,
		  const char **error_r)
{
	static const char *const names[] = {"login", "idle", "messages",
					    "fanout", "muc"};
	long v;
	int i;

	defaults(o);
	if (argc < 1)
		return fail(error_r, "no scenario given%s", "");
	for (i = 0; i < 5; i++)
		if (strcmp(argv[0], names[i]) == 0)
			break;
	if (i == 5)
		return fail(error_r, "unknown scenario '%s'", argv[0]);
	o->scenario = (enum xb_scenario)i;

	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		int r = 0;
		bool takes = true;

		if (strcmp(opt, "--no-tls") == 0) {
			o->tls = false;
			takes = false;
		} else if (strcmp(opt, "--progress") == 0) {
			o->progress = 1;
			takes = false;
		} else if (strcmp(opt, "--close") == 0) {
			o->login_close = true;
			takes = false;
		} else if (strcmp(opt, "--no-progress") == 0) {
			o->progress = 0;
			takes = false;
		}
		if (!takes)
			continue;
		if (val == NULL)
			return fail(error_r, "%s needs a value (or is unknown)",
				    opt);
		i++;
		if (strcmp(opt, "--server") == 0)
			r = addr(val, &o->server);
		else if (strcmp(opt, "--server2") == 0)
			r = addr(val, &o->server2);
		else if (strcmp(opt, "--domain") == 0)
			r = copy(o->domain, sizeof o->domain, val);
		else if (strcmp(opt, "--user-prefix") == 0)
			r = copy(o->user_prefix, sizeof o->user_prefix, val);
		else if (strcmp(opt, "--password") == 0)
			r = copy(o->password, sizeof o->password, val);
		else if (strcmp(opt, "--first") == 0)
			r = num(val, 0, 100000000, &o->user_first);
		else if (strcmp(opt, "--users") == 0)
			r = num(val, 1, 100000000, &o->users);
		else if (strcmp(opt, "--mech") == 0) {
			if (strcmp(val, "PLAIN") == 0)
				o->mech = XB_MECH_PLAIN;
			else if (strcmp(val, "SCRAM-SHA-1") == 0)
				o->mech = XB_MECH_SCRAM_SHA1;
			else
				r = -1;
		} else if (strcmp(opt, "--src") == 0)
			r = sources(val, o);
		else if (strcmp(opt, "-n") == 0 || strcmp(opt, "--count") == 0)
			r = num(val, 1, 1000000000, &o->count);
		else if (strcmp(opt, "-c") == 0 ||
			 strcmp(opt, "--concurrency") == 0) {
			r = num(val, 1, 100000, &v);
			o->concurrency = (int)v;
		} else if (strcmp(opt, "--pairs") == 0) {
			r = num(val, 1, 100000, &v);
			o->pairs = (int)v;
		} else if (strcmp(opt, "--window") == 0) {
			r = num(val, 1, 10000, &v);
			o->window = (int)v;
		} else if (strcmp(opt, "--body-size") == 0) {
			r = num(val, 1, 65536, &v);
			o->body_size = (int)v;
		} else if (strcmp(opt, "--contacts") == 0) {
			r = num(val, 1, 10000, &v);
			o->contacts = (int)v;
		} else if (strcmp(opt, "--rounds") == 0) {
			r = num(val, 1, 100000, &v);
			o->rounds = (int)v;
		} else if (strcmp(opt, "--occupants") == 0) {
			r = num(val, 1, 100000, &v);
			o->occupants = (int)v;
		} else if (strcmp(opt, "--senders") == 0) {
			r = num(val, 1, 100000, &v);
			o->senders = (int)v;
		} else if (strcmp(opt, "--room") == 0)
			r = copy(o->room, sizeof o->room, val);
		else if (strcmp(opt, "--duration") == 0)
			r = seconds(val, 86400, &o->duration);
		else if (strcmp(opt, "--settle") == 0)
			r = seconds(val, 3600, &o->settle);
		else if (strcmp(opt, "--hold") == 0)
			r = seconds(val, 86400, &o->hold);
		else if (strcmp(opt, "--pids") == 0)
			r = pids(val, o);
		else if (strcmp(opt, "--json") == 0)
			o->json_path = val;
		else if (strcmp(opt, "--label") == 0)
			o->label = val;
		else
			return fail(error_r, "unknown option '%s'", opt);
		if (r < 0)
			return fail(error_r, "bad value for %s", opt);
	}
	if (o->duration <= 0)
		return fail(error_r, "--duration must be above 0%s", "");
	return check(o, error_r);
}
