# SPDX-License-Identifier: GPL-2.0-or-later
# s2s/: the federation daemon (see s2s/s2s.h). The engine is a static
# library so the unit tests can drive it without sockets.
noinst_LIBRARIES += s2s/libs2s.a
s2s_libs2s_a_CPPFLAGS = $(AM_CPPFLAGS) $(CARES_CFLAGS) $(LIBEVENT_CFLAGS)
s2s_libs2s_a_SOURCES = \
	s2s/s2s.h \
	s2s/dialback.c \
	s2s/core.c \
	s2s/out.c \
	s2s/in.c \
	s2s/config.c \
	s2s/resolve.c

S2S_LIBS = s2s/libs2s.a $(LINK_LIBS) $(CARES_LIBS)

# The daemon.
bin_PROGRAMS += s2s/s2s
s2s_s2s_SOURCES = s2s/main.c
s2s_s2s_CPPFLAGS = $(AM_CPPFLAGS) -DSYSCONFDIR='"$(sysconfdir)"'
s2s_s2s_LDADD = s2s/libs2s.a $(METRICS_LIBS) $(DAEMON_LIBS) $(COMP_LIBS) $(CARES_LIBS) $(UTIL_LIBS)

# Unit tests (cmocka), linked against the static library.
S2S_TEST_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
S2S_TEST_LDADD = $(S2S_LIBS) $(UTIL_LIBS) $(CMOCKA_LIBS)

if HAVE_CMOCKA
S2S_TESTS = \
	s2s/tests/test_dialback \
	s2s/tests/test_resolve \
	s2s/tests/test_s2s_streams \
	s2s/tests/test_s2s_limits
check_PROGRAMS += $(S2S_TESTS)
TESTS += $(S2S_TESTS)
endif

s2s_tests_test_dialback_SOURCES = s2s/tests/test_dialback.c
s2s_tests_test_dialback_CPPFLAGS = $(S2S_TEST_CPPFLAGS)
s2s_tests_test_dialback_LDADD = $(S2S_TEST_LDADD)
S2S_TESTHOST = s2s/tests/s2s_testhost.c s2s/tests/s2s_testhost.h \
	sx/tests/tls_testlib.c sx/tests/tls_testlib.h
s2s_tests_test_s2s_streams_SOURCES = s2s/tests/test_s2s_streams.c $(S2S_TESTHOST)
s2s_tests_test_s2s_streams_CPPFLAGS = $(S2S_TEST_CPPFLAGS) $(OPENSSL_CFLAGS)
s2s_tests_test_s2s_streams_LDADD = $(S2S_TEST_LDADD)
s2s_tests_test_s2s_limits_SOURCES = s2s/tests/test_s2s_limits.c $(S2S_TESTHOST)
s2s_tests_test_s2s_limits_CPPFLAGS = $(S2S_TEST_CPPFLAGS) $(OPENSSL_CFLAGS)
s2s_tests_test_s2s_limits_LDADD = $(S2S_TEST_LDADD)
s2s_tests_test_resolve_SOURCES = s2s/tests/test_resolve.c
s2s_tests_test_resolve_CPPFLAGS = $(S2S_TEST_CPPFLAGS)
s2s_tests_test_resolve_LDADD = $(S2S_TEST_LDADD)

# Fuzz target: bytes from a remote server into an incoming stream.
if ENABLE_FUZZING
noinst_PROGRAMS += s2s/fuzz/fuzz_s2s_in
endif
s2s_fuzz_fuzz_s2s_in_SOURCES = s2s/fuzz/fuzz_s2s_in.c
s2s_fuzz_fuzz_s2s_in_LDADD = $(S2S_LIBS) $(UTIL_LIBS)
s2s_fuzz_fuzz_s2s_in_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += s2s/fuzz/s2s_in.dict s2s/fuzz/corpus/s2s_in
EXTRA_DIST += s2s/README.md
