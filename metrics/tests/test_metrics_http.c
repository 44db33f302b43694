/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_metrics_http: the metrics port's request reader: what a scraper
 * (Prometheus, curl) sends is accepted in one piece or byte by byte;
 * everything else gets the status an operator would expect (400, 405,
 * 431, 505); and the text helpers escape label values.
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

static long parse(const char *s, struct metrics_req *req)
{
	return metrics_http_parse(s, strlen(s), req);
}

static void test_scrapers(void **state)
{
	static const char prom[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9210\r\n"
				   "User-Agent: Prometheus/2.45.3\r\nAccept: text/plain;"
				   "version=0.0.4;q=1,*/*;q=0.1\r\nAccept-Encoding: gzip\r\n"
				   "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";
	struct metrics_req req;

	(void)state;
	assert_int_equal(parse(prom, &req), (long)strlen(prom));
	assert_int_equal(req.method, METRICS_GET);
	assert_int_equal(req.minor, 1);
	assert_true(req.is_metrics);
	assert_int_equal(parse("HEAD /metrics?x=1 HTTP/1.0\n\n", &req), 28);
	assert_int_equal(req.method, METRICS_HEAD);
	assert_int_equal(req.minor, 0);
	assert_true(req.is_metrics);
	assert_true(parse("GET / HTTP/1.1\r\n\r\n", &req) > 0);
	assert_false(req.is_metrics);
	assert_true(parse("GET /metricsx HTTP/1.1\r\n\r\n", &req) > 0);
	assert_false(req.is_metrics);
	/* Empty lines before the request line are skipped (RFC 9112 2.2). */
	assert_true(parse("\r\nGET /metrics HTTP/1.1\r\n\r\n", &req) > 0);
	assert_true(req.is_metrics);
}

/* Every prefix of a request needs more; the whole is complete. */
static void test_byte_by_byte(void **state)
{
	static const char r[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct metrics_req req;

	(void)state;
	for (size_t i = 0; i < strlen(r); i++)
		assert_int_equal(metrics_http_parse(r, i, &req), 0);
	assert_int_equal(metrics_http_parse(r, strlen(r), &req), (long)strlen(r));
}

static void test_refused(void **state)
{
	static const struct {
		const char *req;
		long want;
	} cases[] = {
		{ "POST /metrics HTTP/1.1\r\n\r\n", -405 },
		{ "DELETE /metrics HTTP/1.1\r\n\r\n", -405 },
		{ "GET /metrics HTTP/2.0\r\n\r\n", -505 },
		{ "GET /metrics HTTP/1.2\r\n\r\n", -505 },
		{ "GET /metrics\r\n\r\n", -400 },
		{ "GET /metrics HTTP/1.1 extra\r\n\r\n", -400 },
		{ "GET  /metrics HTTP/1.1\r\n\r\n", -400 },
		{ "G(T /metrics HTTP/1.1\r\n\r\n", -400 },
		{ "GET /met\x01rics HTTP/1.1\r\n\r\n", -400 },
		{ "GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n", -400 },
		{ "GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n", -400 },
		{ "GET /metrics HTTP/1.1\r\nBad name: x\r\n\r\n", -400 },
		{ "GET /metrics HTTP/1.1\r\nX: a\x1b b\r\n\r\n", -400 },
		{ "GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n", -400 },
		{ "HTTP/1.1\r\n\r\n", -400 },
		{ "\r\n\r\n\r\n\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n", -400 },
	};
	struct metrics_req req;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long rc = parse(cases[i].req, &req);

		if (rc != cases[i].want)
			fail_msg("case %zu: %ld, want %ld", i, rc, cases[i].want);
	}
	/* A NUL in the request; after it (a body) is not the reader's business. */
	assert_int_equal(metrics_http_parse("GET /metrics\0 HTTP/1.1\r\n\r\n", 26, &req), -400);
	assert_int_equal(metrics_http_parse("GET /metrics HTTP/1.1\r\nX: \0", 28, &req), -400);
	assert_int_equal(metrics_http_parse("GET /metrics HTTP/1.1\r\n\r\n\0x", 27, &req), 25);
}

static void test_too_large(void **state)
{
	static char big[METRICS_REQ_MAX + 64];
	struct metrics_req req;
	size_t n;

	(void)state;
	n = (size_t)snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\nX: ");
	memset(big + n, 'a', sizeof(big) - n);
	assert_int_equal(metrics_http_parse(big, METRICS_REQ_MAX - 1, &req), 0);
	assert_int_equal(metrics_http_parse(big, METRICS_REQ_MAX, &req), -431);
	/* Complete, but its end beyond the limit. */
	memcpy(big + METRICS_REQ_MAX, "\r\n\r\n", 4);
	assert_int_equal(metrics_http_parse(big, METRICS_REQ_MAX + 4, &req), -431);
}

static void test_text(void **state)
{
	struct buf b = { 0 };

	(void)state;
	metrics_one(&b, "jabberd_x_total", "counter", "Things.", 42);
	metrics_head(&b, "jabberd_y", "gauge", "Ys by kind.");
	metrics_sample_label(&b, "jabberd_y", "kind", "a\"b\\c\nd", 7);
	assert_string_equal(b.data, "# HELP jabberd_x_total Things.\n"
				    "# TYPE jabberd_x_total counter\n"
				    "jabberd_x_total 42\n"
				    "# HELP jabberd_y Ys by kind.\n"
				    "# TYPE jabberd_y gauge\n"
				    "jabberd_y{kind=\"a\\\"b\\\\c\\nd\"} 7\n");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scrapers),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
