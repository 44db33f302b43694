/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_metrics_report: the status socket's side of metrics/: its request
 * lines, the text and JSON reports made from what the daemons render
 * (label escapes, doubles, a value JSON has no number for), what is
 * refused as not text format, and where the socket is for a config.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"
#include "util/buf.h"
#include "util/config_file.h"

static enum metrics_ctl_req req(const char *s)
{
	return metrics_ctl_parse(s, strlen(s));
}

static void test_requests(void **state)
{
	(void)state;
	assert_int_equal(req("status"), METRICS_CTL_STATUS);
	assert_int_equal(req(" status\r"), METRICS_CTL_STATUS);
	assert_int_equal(req("status text"), METRICS_CTL_STATUS);
	assert_int_equal(req("status json"), METRICS_CTL_JSON);
	assert_int_equal(req("status \t json "), METRICS_CTL_JSON);
	assert_int_equal(req("metrics"), METRICS_CTL_METRICS);
	assert_int_equal(req(""), METRICS_CTL_INVALID);
	assert_int_equal(req("statusjson"), METRICS_CTL_INVALID);
	assert_int_equal(req("status xml"), METRICS_CTL_INVALID);
	assert_int_equal(req("status json x"), METRICS_CTL_INVALID);
	assert_int_equal(req("STATUS"), METRICS_CTL_INVALID);
	assert_int_equal(req("metric"), METRICS_CTL_INVALID);
}

/* What a daemon's render callback writes, with the helpers it uses. */
static void render(struct buf *b)
{
	metrics_one(b, "jabberd_sm_sessions", "gauge", "Client sessions open here.", 3);
	metrics_head(b, "jabberd_sm_dropped_total", "counter", "Routes dropped, by cause.");
	metrics_sample_label(b, "jabberd_sm_dropped_total", "cause", "held-queue-full", 0);
	metrics_sample_label(b, "jabberd_sm_dropped_total", "cause", "a\"b\\c\nd", 7);
	metrics_head(b, "jabberd_sm_storage_seconds_total", "counter", "Time waited.");
	metrics_sample_double(b, "jabberd_sm_storage_seconds_total", 0.25);
}

static void test_text(void **state)
{
	struct buf prom = { 0 }, out = { 0 };
	const char *error = NULL;

	(void)state;
	render(&prom);
	assert_int_equal(metrics_report_text(prom.data, prom.len, "sm", 42, &out, &error), 0);
	assert_string_equal(out.data,
			    "daemon sm pid 42\n"
			    "  sessions                             3\n"
			    "  dropped_total{cause=\"held-queue-full\"} 0\n"
			    "  dropped_total{cause=\"a\\\"b\\\\c\\nd\"}    7\n"
			    "  storage_seconds_total                0.250000\n");
	buf_free(&out);
	/* Another daemon's prefix is not cut. */
	assert_int_equal(metrics_report_text(prom.data, prom.len, "c2s", 1, &out, &error), 0);
	assert_non_null(strstr(out.data, "\n  jabberd_sm_sessions "));
	buf_free(&out);
	buf_free(&prom);
}

static void test_json(void **state)
{
	static const char nan[] = "# TYPE x gauge\nx NaN\ny{a=\"1\",b=\"2\"} -1.5e3 1700000000\n";
	struct buf prom = { 0 }, out = { 0 };
	const char *error = NULL;

	(void)state;
	render(&prom);
	assert_int_equal(metrics_report_json(prom.data, prom.len, "sm", 42, &out, &error), 0);
	assert_string_equal(out.data,
			    "{\"daemon\":\"sm\",\"pid\":42,\"metrics\":{"
			    "\"jabberd_sm_sessions\":{\"type\":\"gauge\",\"help\":"
			    "\"Client sessions open here.\",\"samples\":[{\"labels\":{},"
			    "\"value\":3}]},"
			    "\"jabberd_sm_dropped_total\":{\"type\":\"counter\",\"help\":"
			    "\"Routes dropped, by cause.\",\"samples\":["
			    "{\"labels\":{\"cause\":\"held-queue-full\"},\"value\":0},"
			    "{\"labels\":{\"cause\":\"a\\\"b\\\\c\\u000ad\"},\"value\":7}]},"
			    "\"jabberd_sm_storage_seconds_total\":{\"type\":\"counter\",\"help\":"
			    "\"Time waited.\",\"samples\":[{\"labels\":{},\"value\":0.250000}]}"
			    "}}\n");
	buf_free(&out);
	/* No HELP; a value JSON cannot hold as a number; a timestamp. */
	assert_int_equal(metrics_report_json(nan, strlen(nan), "x", 1, &out, &error), 0);
	assert_string_equal(out.data,
			    "{\"daemon\":\"x\",\"pid\":1,\"metrics\":{"
			    "\"x\":{\"type\":\"gauge\",\"help\":\"\",\"samples\":[{\"labels\":{},"
			    "\"value\":\"NaN\"}]},"
			    "\"y\":{\"type\":\"untyped\",\"help\":\"\",\"samples\":[{\"labels\":"
			    "{\"a\":\"1\",\"b\":\"2\"},\"value\":-1.5e3}]}}}\n");
	buf_free(&out);
	buf_free(&prom);
}

static void refused(const char *text, size_t len)
{
	struct buf out = { 0 };
	const char *error = NULL;

	assert_int_equal(metrics_report_text(text, len, "x", 1, &out, &error), -1);
	assert_non_null(error);
	buf_free(&out);
	error = NULL;
	assert_int_equal(metrics_report_json(text, len, "x", 1, &out, &error), -1);
	assert_non_null(error);
	buf_free(&out);
}

static void test_refused(void **state)
{
	char big[METRICS_LINE_MAX + 16], labels[1024];
	size_t n = 0;

	(void)state;
	refused("x\n", 2);                      /* no value */
	refused("x{a=\"1\" 2\n", 10);           /* label not closed */
	refused("x{a=\"1\\t\"} 2\n", 13);       /* an escape the format has not */
	refused("x{a=1} 2\n", 9);               /* value not quoted */
	refused("9x 2\n", 5);                   /* a name starting with a digit */
	refused("x 2\0\n", 5);                  /* a NUL */
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 3, " 1\n", 3);
	refused(big, sizeof(big));              /* a line over the bound */
	n += (size_t)snprintf(labels + n, sizeof(labels) - n, "x{");
	for (int i = 0; i <= METRICS_LABELS_MAX; i++)
		n += (size_t)snprintf(labels + n, sizeof(labels) - n, "l%d=\"v\",", i);
	n += (size_t)snprintf(labels + n, sizeof(labels) - n, "} 1\n");
	refused(labels, n);                     /* one label too many */
}

static int socket_path(const char *xml, char *out, size_t size, int *is_default)
{
	const char *error = NULL;
	struct config *cfg = config_load_mem("t.xml", xml, strlen(xml), NULL, &error);
	int rc;

	assert_non_null(cfg);
	rc = metrics_socket_path(cfg, out, size, is_default, &error);
	if (rc < 0)
		assert_non_null(error);
	config_free(&cfg);
	return rc;
}

static void test_socket_path(void **state)
{
	char path[256], xml[512], longer[200];
	int d;

	(void)state;
	assert_int_equal(socket_path("<sm><pidfile>/run/j/sm.pid</pidfile></sm>", path,
				     sizeof(path), &d), 1);
	assert_string_equal(path, "/run/j/sm-status.sock");
	assert_int_equal(d, 1);
	assert_int_equal(socket_path("<sm><pidfile>/run/j/sm</pidfile></sm>", path, sizeof(path),
				     &d), 1);
	assert_string_equal(path, "/run/j/sm-status.sock");
	assert_int_equal(socket_path("<sm><pidfile>/run/sm.pid</pidfile><metrics><socket>/s/x"
				     "</socket></metrics></sm>", path, sizeof(path), &d), 1);
	assert_string_equal(path, "/s/x");
	assert_int_equal(d, 0);
	assert_int_equal(socket_path("<sm><pidfile>/run/sm.pid</pidfile><metrics><socket>off"
				     "</socket></metrics></sm>", path, sizeof(path), &d), 0);
	assert_int_equal(socket_path("<sm/>", path, sizeof(path), &d), 0);
	assert_int_equal(socket_path("<sm><pidfile>sm.pid</pidfile></sm>", path, sizeof(path),
				     &d), 0);
	assert_int_equal(socket_path("<sm><metrics><socket>s.sock</socket></metrics></sm>", path,
				     sizeof(path), &d), -1);
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	snprintf(xml, sizeof(xml), "<sm><pidfile>/%s.pid</pidfile></sm>", longer + 100);
	assert_int_equal(socket_path(xml, path, sizeof(path), &d), -1);   /* 112 bytes */
	assert_int_equal(d, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_socket_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
