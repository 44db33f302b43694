/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_cluster_status: the control socket's request parser and its three
 * report formats (cluster_status.h), and where the socket is
 * (cluster_control_path), without any socket.
 */
#include "config.h"
#include "cluster-mod/cluster_status.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster-mod/cluster_config.h"
#include "util/buf.h"
#include "util/config_file.h"

static enum cluster_control_request parse(const char *s)
{
	return cluster_control_parse(s, strlen(s));
}

static void test_parse(void **state)
{
	(void)state;
	assert_int_equal(parse("status"), CLUSTER_REQ_STATUS);
	assert_int_equal(parse(" status \r"), CLUSTER_REQ_STATUS);
	assert_int_equal(parse("status json"), CLUSTER_REQ_JSON);
	assert_int_equal(parse("status \t json\r"), CLUSTER_REQ_JSON);
	assert_int_equal(parse("metrics"), CLUSTER_REQ_METRICS);
	assert_int_equal(parse(""), CLUSTER_REQ_INVALID);
	assert_int_equal(parse("statusjson"), CLUSTER_REQ_INVALID);
	assert_int_equal(parse("status xml"), CLUSTER_REQ_INVALID);
	assert_int_equal(parse("status json x"), CLUSTER_REQ_INVALID);
	assert_int_equal(parse("STATUS"), CLUSTER_REQ_INVALID);
	assert_int_equal(parse("metric"), CLUSTER_REQ_INVALID);
	/* a NUL inside the line is not the end of it */
	assert_int_equal(cluster_control_parse("status\0json", 11), CLUSTER_REQ_INVALID);
}

/* The members: n1 itself, n2 alive (back 3 times, held down 20 s ago),
 * n3 declared dead 10 s ago. */
static const struct cluster_status_member members3[3] = {
	{ .name = "n1", .ip = "127.0.0.2", .port = 5348, .incarnation = 7, .state = "alive",
	  .since = 900, .self = 1 },
	{ .name = "n2", .ip = "127.0.0.3", .port = 5348, .incarnation = 42, .state = "alive",
	  .since = 1000, .penalty = 2300, .held = 1, .held_since = 1040, .returns = 3 },
	{ .name = "n3", .ip = "127.0.0.4", .port = 5348, .incarnation = 43, .state = "dead",
	  .since = 1050 },
};

/* n1 with n2 open (rtt 250 us) and n3 down after a refused dial. */
static void fill(struct cluster_status *st, struct cluster_status_peer p[2])
{
	memset(p, 0, 2 * sizeof(*p));
	p[0].link = (struct cluster_peer_status){
		.name = "n2", .ip = "127.0.0.3", .port = 5348, .state = CLUSTER_LINK_UP,
		.outgoing = 1, .remote = "127.0.0.3:5348", .up_since = 1000,
		.bytes_in = 1234, .bytes_out = 5678, .ups = 1, .last_error = "",
	};
	p[0].open = 1;
	p[0].version = 1;
	p[0].incarnation = 42;
	p[0].rtt_us = 250;
	p[0].sessions = 12;
	p[0].queue_frames = 3;
	p[0].queue_bytes = 456;
	p[0].queue_max_frames = 200;            /* i14 */
	p[0].queue_max_bytes = 1048576;
	p[0].queue_oldest_ms = 1500;
	p[0].queue_in_doubt = 5;                /* i14 rule 15 */
	p[0].queue_doubt_taken = 3;
	p[0].link.out_queued = 789;
	p[0].undelivered[CLUSTER_FWD_QUEUE_FULL] = 11;
	p[0].undelivered[CLUSTER_FWD_NODE_DEAD] = 2;
	p[1].link = (struct cluster_peer_status){
		.name = "n3", .ip = "127.0.0.4", .port = 5348, .state = CLUSTER_LINK_DOWN,
		.remote = "", .bytes_in = 10, .bytes_out = 20, .ups = 2, .backoff_ms = 400,
		.last_error = "connect: \"Connection refused\"",
	};
	*st = (struct cluster_status){
		.node = "n1", .profile = "lan", .incarnation = 7, .version_min = 1,
		.version_max = 1, .now = 1060, .npeers = 2, .peers = p,
		.router = { .routed = 11, .bounced = 3, .redirect_hits = 5,
			    .redirect_misses = 2, .redirects = 4 },
		.tables = { .local_sessions = 2, .remote_sessions = 12, .stubs_pushed = 30,
			    .redirect_entries = 3, .handed = 17, .forwarded_out = 8,
			    .forwarded_in = 9, .undelivered = 1, .sm_held_now = 4,
			    .sm_held = 11, .sm_returned = 2, .sm_dropped = 3, .names_announced = 1,
			    .names_held = 2, .component_out = 5, .component_in = 6,
			    .component_bounced = 1, .undelivered_by = { 1, 0, 0, 0, 0, 0 },
			    .input_held = 1, .input_holds = 4, .direct = 41,
			    .direct_waited = 5, .direct_sessions = 2 },
		.nmembers = 3, .members = members3,
		.member_events = { .suspected = 5, .declared_dead = 4, .left = 1,
				   .partitions = 2, .merges = 3, .held_down = 1,
				   .pauses = 1 },
	};
	st->refusals[CLUSTER_REFUSE_WRONG_CA] = 9;
}

static void test_text(void **state)
{
	struct cluster_status st;
	struct cluster_status_peer p[2];
	struct buf b = { 0 };

	(void)state;
	fill(&st, p);
	cluster_status_text(&st, &b);
	assert_non_null(strstr(b.data, "node n1\n"));
	assert_non_null(strstr(b.data, "incarnation  7\n"));
	assert_non_null(strstr(b.data, "peers        2 known, 1 up\n"));
	assert_non_null(strstr(b.data, "peer n2\n"));
	assert_non_null(strstr(b.data, "link         up since 1970-01-01T00:16:40Z (60 s), "
				       "dialled to 127.0.0.3:5348\n"));
	assert_non_null(strstr(b.data, "rtt          0.250 ms\n"));
	assert_non_null(strstr(b.data, "bytes        in 1234, out 5678\n"));
	assert_non_null(strstr(b.data, "peer n3\n"));
	assert_non_null(strstr(b.data, "link         down, next dial in 400 ms\n"));
	assert_non_null(strstr(b.data, "last error   connect: \"Connection refused\"\n"));
	assert_non_null(strstr(b.data, "wrong CA"));
	assert_non_null(strstr(b.data, "redirects    4 entries, 5 hits, 2 misses\n"));
	/* i13-fwd: per-peer table and queue, and the tables block */
	assert_non_null(strstr(b.data, "sessions     12\n  queue        3 unacked, 456 bytes "
				       "(bound 200, 1048576 bytes), oldest 1500 ms; link output "
				       "789 bytes\n  undelivered  node-dead 2, queue-full 11, "
				       "no-such-node 0, too-big 0, hop-limit 0\n  in doubt     5 "
				       "(after a new incarnation; taken by the peer after all since "
				       "start: 3)\n"));
	assert_non_null(strstr(b.data, "tables\n  local        2 sessions\n"
				       "  remote       12 sessions\n  stubs        30 pushed\n"
				       "  redirects    3 installed\n  handed       17\n"
				       "  forwarded    out 8, in 9, undelivered 1\n"
				       "  for the sm   4 held now; 11 held, 2 handed back, 3 dropped\n"
				       "  direct       41 to c2s, 5 through the sm after an earlier "
				       "stanza; 2 sessions\n"
				       "  undelivered  node-dead 1, queue-full 0, no-such-node 0, "
				       "too-big 0, hop-limit 0, sm-gone 0\n"
				       "  components   1 announced, 2 held for peers; routes out 5, "
				       "in 6, bounced 1\n"
				       "  peer input   held, held 4 times (local sm congested)\n"));
	/* n3 is down: no rtt line for it */
	assert_null(strstr(strstr(b.data, "peer n3\n"), "rtt"));
	/* the members, with their state and since when */
	assert_non_null(strstr(b.data, "member n1\n  state        alive since "
				       "1970-01-01T00:15:00Z (160 s), this node\n"
				       "  incarnation  7\n  address      127.0.0.2 port 5348\n"));
	assert_non_null(strstr(b.data, "member n3\n  state        dead since "
				       "1970-01-01T00:17:30Z (10 s)\n  incarnation  43\n"));
	/* i14: flap damping per member, and the membership summary */
	assert_non_null(strstr(b.data, "  flap         penalty 2300, back 3 times, held down "
				       "since 1970-01-01T00:17:20Z (20 s)\n"));
	assert_non_null(strstr(b.data, "  flap         penalty 0, back 0 times\n"));
	/* none for this node itself (member n1 comes before member n2) */
	assert_true(strstr(strstr(b.data, "member n1\n"), "  flap") >
		    strstr(b.data, "member n2\n"));
	assert_non_null(strstr(b.data, "membership\n  suspect      -\n  dead         n3\n"
				       "  held down    n2\n  events       suspected 5, declared dead "
				       "4, left 1, partitions seen 2, merges 3, held down 1, "
				       "own pauses 1\n"));
	buf_free(&b);
}

static void test_json(void **state)
{
	struct cluster_status st;
	struct cluster_status_peer p[2];
	struct buf b = { 0 };

	(void)state;
	fill(&st, p);
	cluster_status_json(&st, &b);
	assert_non_null(strstr(b.data, "{\"node\":\"n1\",\"incarnation\":7,"));
	assert_non_null(strstr(b.data, "\"name\":\"n2\""));
	assert_non_null(strstr(b.data, "\"state\":\"up\",\"open\":true"));
	assert_non_null(strstr(b.data, "\"rtt_us\":250"));
	assert_non_null(strstr(b.data, "\"state\":\"down\",\"open\":false"));
	assert_non_null(strstr(b.data, "\"rtt_us\":null"));
	/* the quotes of the error text are escaped */
	assert_non_null(strstr(b.data, "\"last_error\":\"connect: \\\"Connection refused\\\"\""));
	assert_non_null(strstr(b.data, "\"wrong CA\":9"));
	assert_non_null(strstr(b.data, "\"members\":[{\"name\":\"n1\",\"ip\":\"127.0.0.2\","
				       "\"port\":5348,\"incarnation\":7,\"state\":\"alive\","
				       "\"since\":900,\"self\":true,\"penalty\":0,\"returns\":0,"
				       "\"held\":false,\"held_since\":null},{\"name\":\"n2\""));
	assert_non_null(strstr(b.data, "\"since\":1000,\"self\":false,\"penalty\":2300,"
				       "\"returns\":3,\"held\":true,\"held_since\":1040}"));
	assert_non_null(strstr(b.data, "\"state\":\"dead\",\"since\":1050,\"self\":false,"
				       "\"penalty\":0,\"returns\":0,\"held\":false,"
				       "\"held_since\":null}],\"membership\":{\"suspected\":5,"
				       "\"declared_dead\":4,\"left\":1,\"partitions\":2,\"merges\":3,"
				       "\"held_down\":1,\"pauses\":1,\"suspect\":[],\"dead\":[\"n3\"],"
				       "\"held\":[\"n2\"]},\"refusals\":{"));
	assert_non_null(strstr(b.data, "\"redirect_misses\":2,\"redirect_entries\":4},"));
	assert_non_null(strstr(b.data, "\"sessions\":12,\"queue\":{\"frames\":3,\"bytes\":456,"
				       "\"max_frames\":200,\"max_bytes\":1048576,\"oldest_ms\":1500,"
				       "\"out_bytes\":789,\"in_doubt\":5,\"doubt_taken\":3},"
				       "\"undelivered\":{\"node-dead\":2,"
				       "\"queue-full\":11,\"no-such-node\":0,\"too-big\":0,"
				       "\"hop-limit\":0}}"));
	assert_non_null(strstr(b.data, ",\"tables\":{\"local_sessions\":2,\"remote_sessions\":12,"
				       "\"stubs_pushed\":30,\"redirect_entries\":3,\"handed\":17,"
				       "\"forwarded_out\":8,\"forwarded_in\":9,\"undelivered\":1,"
				       "\"sm_held_now\":4,\"sm_held\":11,\"sm_returned\":2,\"sm_dropped\":3,"
				       "\"direct\":41,\"direct_waited\":5,\"direct_sessions\":2,"
				       "\"undelivered_by\":{\"node-dead\":1,\"queue-full\":0,"
				       "\"no-such-node\":0,\"too-big\":0,\"hop-limit\":0,"
				       "\"sm-gone\":0},"
				       "\"names_announced\":1,\"names_held\":2,\"component_out\":5,"
				       "\"component_in\":6,\"component_bounced\":1,"
				       "\"input_held\":true,\"input_holds\":4}}\n"));
	/* one line, no raw control byte */
	for (size_t i = 0; i + 1 < b.len; i++)
		assert_true((unsigned char)b.data[i] >= 0x20);
	buf_free(&b);
}

/* One line of the Prometheus text format: `# HELP name text`,
 * `# TYPE name counter|gauge`, or `name{l="v",...} value`; a sample's
 * name must have had its TYPE. Returns 0 if the line is good. */
static int prom_line(const char *line, char *typed, size_t typed_size)
{
	char name[128], type[32];
	const char *p;
	char *end;
	size_t n;

	if (strncmp(line, "# HELP ", 7) == 0)
		return sscanf(line + 7, "%127[a-zA-Z0-9_:] %*s", name) == 1 ? 0 : -1;
	if (strncmp(line, "# TYPE ", 7) == 0) {
		if (sscanf(line + 7, "%127[a-zA-Z0-9_:] %31s", name, type) != 2)
			return -1;
		if (strcmp(type, "counter") != 0 && strcmp(type, "gauge") != 0)
			return -1;
		snprintf(typed, typed_size, "%s", name);
		return 0;
	}
	n = strspn(line, "abcdefghijklmnopqrstuvwxyz_:0123456789");
	if (n == 0 || strncmp(line, typed, n) != 0 || typed[n] != '\0')
		return -1;
	p = line + n;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
			if (n == 0 || p[n] != '=' || p[n + 1] != '"')
				return -1;
			p += n + 2;
			while (*p != '"') {
				if (*p == '\0' || *p == '\n')
					return -1;
				p += *p == '\\' ? 2 : 1;
			}
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return -1;
		}
		p++;
	}
	if (*p != ' ')
		return -1;
	strtod(p + 1, &end);
	return end != p + 1 && *end == '\0' ? 0 : -1;
}

/* i14: flap damping, membership events, undelivered by cause. */
static const char *const i14_samples[] = {
	"jabberd_cluster_member_flap_penalty{node=\"n1\",member=\"n2\"} 2300\n",
	"jabberd_cluster_member_held_down{node=\"n1\",member=\"n2\"} 1\n",
	"jabberd_cluster_member_held_down{node=\"n1\",member=\"n3\"} 0\n",
	"jabberd_cluster_member_returns_total{node=\"n1\",member=\"n2\"} 3\n",
	"jabberd_cluster_membership_events_total{node=\"n1\",event=\"partition\"} 2\n",
	"jabberd_cluster_membership_events_total{node=\"n1\",event=\"merge\"} 3\n",
	"jabberd_cluster_undelivered_by_cause_total{node=\"n1\",cause=\"node-dead\"} 1\n",
};

static void test_metrics(void **state)
{
	struct cluster_status st;
	struct cluster_status_peer p[2];
	struct buf b = { 0 };
	char typed[128] = "", *line, *save = NULL;
	int samples = 0;

	(void)state;
	fill(&st, p);
	p[1].link.name = "n\"3";        /* escaped in the label */
	cluster_status_metrics(&st, &b);
	assert_non_null(strstr(b.data, "jabberd_cluster_peer_up{node=\"n1\",peer=\"n2\"} 1\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_peer_up{node=\"n1\",peer=\"n\\\"3\"} 0\n"));
	assert_non_null(strstr(b.data,
			       "jabberd_cluster_peer_rtt_seconds{node=\"n1\",peer=\"n2\"} 0.00025"));
	assert_null(strstr(b.data, "jabberd_cluster_peer_rtt_seconds{node=\"n1\",peer=\"n\\\"3\"}"));
	assert_non_null(strstr(b.data, "jabberd_cluster_refusals_total{node=\"n1\","
				       "reason=\"wrong CA\"} 9\n"));
	assert_non_null(strstr(b.data, "jabberd_router_redirect_hits_total{node=\"n1\"} 5\n"));
	assert_non_null(strstr(b.data, "jabberd_router_redirect_misses_total{node=\"n1\"} 2\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_names_held{node=\"n1\"} 2\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_component_bounced_total{node=\"n1\"} 1\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_peer_input_holds_total{node=\"n1\"} 4\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_peer_queue_frames{node=\"n1\",peer=\"n2\"} 3\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_peer_queue_max_frames{node=\"n1\","
				       "peer=\"n2\"} 200\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_peer_queue_oldest_seconds{node=\"n1\","
				       "peer=\"n2\"} 1.5\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_peer_link_output_bytes{node=\"n1\","
				       "peer=\"n2\"} 789\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_peer_queue_in_doubt{node=\"n1\","
				       "peer=\"n2\"} 5\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_peer_taken_after_incarnation_total{"
				       "node=\"n1\",peer=\"n2\"} 3\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_peer_undelivered_total{node=\"n1\","
				       "peer=\"n2\",reason=\"queue-full\"} 11\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_remote_sessions{node=\"n1\"} 12\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_member_state{node=\"n1\",member=\"n3\","
				       "state=\"dead\"} 1\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_member_state{node=\"n1\",member=\"n3\","
				       "state=\"alive\"} 0\n"));
	assert_non_null(strstr(b.data, "jabberd_cluster_member_state_since_seconds{node=\"n1\","
				       "member=\"n3\"} 1050\n"));
	/* i14 */
	for (size_t i = 0; i < sizeof(i14_samples) / sizeof(i14_samples[0]); i++)
		if (strstr(b.data, i14_samples[i]) == NULL)
			fail_msg("no sample: %s", i14_samples[i]);
	assert_null(strstr(b.data, "jabberd_cluster_member_held_down{node=\"n1\","
				   "member=\"n1\"}"));
	assert_int_equal(b.data[b.len - 1], '\n');
	for (line = strtok_r(b.data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (prom_line(line, typed, sizeof(typed)) != 0)
			fail_msg("not Prometheus text format: %s", line);
		samples += line[0] != '#';
	}
	/* 2 peers x (13 per-peer metrics + the undelivered causes) + rtt of n2
	 * + refusal reasons + 5 router + 9 tables + 5 components + 3 members x
	 * (4 states + since) + 2 other members x 3 flap metrics + 7 membership
	 * events + 6 causes + 2 input holds */
	assert_int_equal(samples, 2 * (13 + CLUSTER_FWD_REASONS) + 1 + CLUSTER_REFUSE_COUNT + 5 +
			 9 + 5 + 3 * 5 + 2 * 3 + 7 + 6 + 2);
	buf_free(&b);
}

static void test_prom_checker_catches(void **state)
{
	char typed[128] = "x_total";

	(void)state;
	/* the checker above must be able to fail */
	assert_int_equal(prom_line("x_total 1", typed, sizeof(typed)), 0);
	assert_int_equal(prom_line("x_total{a=\"b\"} 1", typed, sizeof(typed)), 0);
	assert_int_equal(prom_line("y_total 1", typed, sizeof(typed)), -1);
	assert_int_equal(prom_line("x_total{a=b} 1", typed, sizeof(typed)), -1);
	assert_int_equal(prom_line("x_total{a=\"b} 1", typed, sizeof(typed)), -1);
	assert_int_equal(prom_line("x_total one", typed, sizeof(typed)), -1);
	assert_int_equal(prom_line("# TYPE x_total histogramm", typed, sizeof(typed)), -1);
}

static const char *path_of(const char *xml)
{
	static char path[CLUSTER_CONTROL_PATH_MAX + 1];
	const char *error;
	struct config *cfg = config_load_mem("router.xml", xml, strlen(xml), "r1", &error);

	assert_non_null(cfg);
	assert_int_equal(cluster_control_path(cfg, path, sizeof(path)), 0);
	config_free(&cfg);
	return path;
}

static void test_path(void **state)
{
	(void)state;
	assert_string_equal(path_of("<router><pidfile>/run/j/${id}.pid</pidfile>"
				    "<cluster><control>/tmp/c.sock</control></cluster></router>"),
			    "/tmp/c.sock");
	assert_string_equal(path_of("<router><pidfile>/run/j/${id}.pid</pidfile>"
				    "<cluster/></router>"),
			    "/run/j/r1-cluster.sock");
	assert_string_equal(path_of("<router><pidfile>/run/j/router</pidfile>"
				    "<cluster/></router>"),
			    "/run/j/router-cluster.sock");
	assert_string_equal(path_of("<router><cluster/></router>"),
			    LOCALSTATEDIR "/jabberd/cluster.sock");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_prom_checker_catches),
		cmocka_unit_test(test_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
