# SPDX-License-Identifier: GPL-2.0-or-later
# metrics/: the daemons' Prometheus text on an HTTP port of their own and
# through a status socket (metrics/metrics.h): the request reader, the
# text helpers, the reports, the registry on mio, the jabberd-status
# command.
noinst_LIBRARIES += metrics/libmetrics.a
metrics_libmetrics_a_SOURCES = \
	metrics/metrics.h \
	metrics/http.c \
	metrics/report.c \
	metrics/path.c \
	metrics/server.c
METRICS_LIBS = metrics/libmetrics.a

# The command that asks a daemon's status socket (jabberd status runs it).
bin_PROGRAMS += metrics/jabberd-status
metrics_jabberd_status_SOURCES = metrics/jabberd-status.c
metrics_jabberd_status_LDADD = $(METRICS_LIBS) $(UTIL_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += metrics/tests/test_metrics_http
TESTS += metrics/tests/test_metrics_http
endif
metrics_tests_test_metrics_http_SOURCES = metrics/tests/test_metrics_http.c
metrics_tests_test_metrics_http_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
metrics_tests_test_metrics_http_LDADD = $(METRICS_LIBS) $(MIO_LIBS) $(UTIL_LIBS) $(CMOCKA_LIBS)

# Fuzz target: the request reader on whatever a client sends.
if ENABLE_FUZZING
noinst_PROGRAMS += metrics/fuzz/fuzz_metrics_http
endif
metrics_fuzz_fuzz_metrics_http_SOURCES = metrics/fuzz/fuzz_metrics_http.c
metrics_fuzz_fuzz_metrics_http_LDADD = $(METRICS_LIBS) $(UTIL_LIBS)
metrics_fuzz_fuzz_metrics_http_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += metrics/README.md metrics/fuzz/metrics_http.dict metrics/fuzz/corpus/metrics_http

if HAVE_CMOCKA
check_PROGRAMS += metrics/tests/test_metrics_report
TESTS += metrics/tests/test_metrics_report
endif
metrics_tests_test_metrics_report_SOURCES = metrics/tests/test_metrics_report.c
metrics_tests_test_metrics_report_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
metrics_tests_test_metrics_report_LDADD = $(METRICS_LIBS) $(MIO_LIBS) $(UTIL_LIBS) $(CMOCKA_LIBS)

# Fuzz target: the reports on any text a renderer could write.
if ENABLE_FUZZING
noinst_PROGRAMS += metrics/fuzz/fuzz_metrics_report
endif
metrics_fuzz_fuzz_metrics_report_SOURCES = metrics/fuzz/fuzz_metrics_report.c
metrics_fuzz_fuzz_metrics_report_LDADD = $(METRICS_LIBS) $(UTIL_LIBS)
metrics_fuzz_fuzz_metrics_report_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += metrics/fuzz/metrics_report.dict metrics/fuzz/corpus/metrics_report
