# SPDX-License-Identifier: GPL-2.0-or-later
# metrics/: the daemons' Prometheus text on an HTTP port of their own
# (metrics/metrics.h): the request reader, the text helpers, the server
# on mio.
noinst_LIBRARIES += metrics/libmetrics.a
metrics_libmetrics_a_SOURCES = \
	metrics/metrics.h \
	metrics/http.c \
	metrics/server.c
METRICS_LIBS = metrics/libmetrics.a

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
