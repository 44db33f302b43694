# SPDX-License-Identifier: GPL-2.0-or-later
# bench/: the load generator xmpp-bench (bench/xmpp-bench/) and the
# scripts that run it against several servers (bench/run). Built, not
# installed: tools/xmpp-bench runs the copy in a build tree.
noinst_LIBRARIES += bench/xmpp-bench/libxb.a
bench_xmpp_bench_libxb_a_CPPFLAGS = $(AM_CPPFLAGS) $(EXPAT_CFLAGS) \
	$(OPENSSL_CFLAGS) $(LIBEVENT_CFLAGS)
bench_xmpp_bench_libxb_a_SOURCES = \
	bench/xmpp-bench/xb.h \
	bench/xmpp-bench/args.c \
	bench/xmpp-bench/stats.c \
	bench/xmpp-bench/scram.c \
	bench/xmpp-bench/conn.c \
	bench/xmpp-bench/net.c \
	bench/xmpp-bench/proc.c \
	bench/xmpp-bench/report.c \
	bench/xmpp-bench/scenario.c
XB_LIBS = bench/xmpp-bench/libxb.a $(LIBEVENT_OPENSSL_LIBS) \
	$(LIBEVENT_LIBS) $(EXPAT_LIBS) $(OPENSSL_LIBS) -lm

noinst_PROGRAMS += bench/xmpp-bench/xmpp-bench
bench_xmpp_bench_xmpp_bench_SOURCES = bench/xmpp-bench/main.c
bench_xmpp_bench_xmpp_bench_LDADD = $(XB_LIBS)

if HAVE_CMOCKA
XB_TESTS = bench/xmpp-bench/tests/test_xb
check_PROGRAMS += $(XB_TESTS)
TESTS += $(XB_TESTS)
endif
bench_xmpp_bench_tests_test_xb_SOURCES = bench/xmpp-bench/tests/test_xb.c
bench_xmpp_bench_tests_test_xb_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS) \
	$(EXPAT_CFLAGS)
bench_xmpp_bench_tests_test_xb_LDADD = $(XB_LIBS) $(CMOCKA_LIBS)

EXTRA_DIST += bench/README.md bench/run bench/servers.py bench/bench.py \
	tools/xmpp-bench

# Fuzz target: what the generator reads from a server (stream and SCRAM).
if ENABLE_FUZZING
noinst_PROGRAMS += bench/xmpp-bench/fuzz/fuzz_stream
endif
bench_xmpp_bench_fuzz_fuzz_stream_SOURCES = bench/xmpp-bench/fuzz/fuzz_stream.c
bench_xmpp_bench_fuzz_fuzz_stream_CPPFLAGS = $(AM_CPPFLAGS) $(EXPAT_CFLAGS)
bench_xmpp_bench_fuzz_fuzz_stream_LDADD = $(XB_LIBS)
bench_xmpp_bench_fuzz_fuzz_stream_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += bench/xmpp-bench/fuzz/stream.dict \
	bench/xmpp-bench/fuzz/corpus/stream

# trim-cost: CPU per stanza on a stream that was trimmed before it, against
# one that was not (what a client talking just slower than c2s's trim sweep
# costs). A benchmark, not a test: run it by hand.
noinst_PROGRAMS += bench/trim/trim-cost
bench_trim_trim_cost_SOURCES = bench/trim/trim-cost.c
bench_trim_trim_cost_LDADD = $(SX_LIBS)
