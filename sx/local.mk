# SPDX-License-Identifier: GPL-2.0-or-later
# sx/: the XMPP stream layer without I/O (see sx/sx.h). The core is sx.c and
# parse.c; tls.c and sasl.c are plugins written against sx_private.h.
noinst_LIBRARIES += sx/libsx.a
sx_libsx_a_CPPFLAGS = $(AM_CPPFLAGS) $(EXPAT_CFLAGS) $(OPENSSL_CFLAGS) $(GSASL_CFLAGS)
sx_libsx_a_SOURCES = \
	sx/sx.h \
	sx/sx_private.h \
	sx/sx_core.h \
	sx/sx.c \
	sx/parse.c \
	sx/tls.c \
	sx/sasl.c \
	sx/ws.c

# Unit tests (cmocka), linked against the static library.
SX_TEST_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
SX_TEST_LDADD = $(SX_LIBS) $(CMOCKA_LIBS)

if HAVE_CMOCKA
SX_CORE_TESTS = \
	sx/tests/test_sx \
	sx/tests/test_sx_limits \
	sx/tests/test_sx_trim \
	sx/tests/test_sx_raw
check_PROGRAMS += $(SX_CORE_TESTS)
TESTS += $(SX_CORE_TESTS)
endif

sx_tests_test_sx_SOURCES = sx/tests/test_sx.c sx/tests/sx_test.c sx/tests/sx_test.h
sx_tests_test_sx_CPPFLAGS = $(SX_TEST_CPPFLAGS)
sx_tests_test_sx_LDADD = $(SX_TEST_LDADD)
sx_tests_test_sx_limits_SOURCES = sx/tests/test_sx_limits.c sx/tests/sx_test.c sx/tests/sx_test.h
sx_tests_test_sx_limits_CPPFLAGS = $(SX_TEST_CPPFLAGS)
sx_tests_test_sx_limits_LDADD = $(SX_TEST_LDADD)
sx_tests_test_sx_trim_SOURCES = sx/tests/test_sx_trim.c sx/tests/sx_test.c sx/tests/sx_test.h
sx_tests_test_sx_trim_CPPFLAGS = $(SX_TEST_CPPFLAGS)
sx_tests_test_sx_trim_LDADD = $(SX_TEST_LDADD)
sx_tests_test_sx_raw_SOURCES = sx/tests/test_sx_raw.c sx/tests/sx_test.c sx/tests/sx_test.h
sx_tests_test_sx_raw_CPPFLAGS = $(SX_TEST_CPPFLAGS)
sx_tests_test_sx_raw_LDADD = $(SX_TEST_LDADD)

# Fuzz target for the stream parser.
if ENABLE_FUZZING
noinst_PROGRAMS += sx/fuzz/fuzz_stream
endif
sx_fuzz_fuzz_stream_SOURCES = sx/fuzz/fuzz_stream.c
sx_fuzz_fuzz_stream_LDADD = $(SX_LIBS)
sx_fuzz_fuzz_stream_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += sx/fuzz/stream.dict sx/fuzz/corpus/stream

# TLS and SASL plugins (sx/tls.c, sx/sasl.c): unit tests over an in-memory
# client/server pair with throwaway certificates, and the SASL fuzz target.
if HAVE_CMOCKA
SX_PLUGIN_TESTS = \
	sx/tests/test_tls \
	sx/tests/test_sasl \
	sx/tests/test_ws
check_PROGRAMS += $(SX_PLUGIN_TESTS)
TESTS += $(SX_PLUGIN_TESTS)
endif

SX_TLSLIB = sx/tests/tls_testlib.c sx/tests/tls_testlib.h
sx_tests_test_tls_SOURCES = sx/tests/test_tls.c $(SX_TLSLIB)
sx_tests_test_tls_CPPFLAGS = $(SX_TEST_CPPFLAGS) $(OPENSSL_CFLAGS)
sx_tests_test_tls_LDADD = $(SX_TEST_LDADD)
sx_tests_test_sasl_SOURCES = sx/tests/test_sasl.c $(SX_TLSLIB)
sx_tests_test_sasl_CPPFLAGS = $(SX_TEST_CPPFLAGS) $(OPENSSL_CFLAGS) $(GSASL_CFLAGS)
sx_tests_test_sasl_LDADD = $(SX_TEST_LDADD)

sx_tests_test_ws_SOURCES = sx/tests/test_ws.c sx/tests/sx_test.c sx/tests/sx_test.h
sx_tests_test_ws_CPPFLAGS = $(SX_TEST_CPPFLAGS)
sx_tests_test_ws_LDADD = $(SX_TEST_LDADD)

if ENABLE_FUZZING
noinst_PROGRAMS += sx/fuzz/fuzz_sasl
endif
sx_fuzz_fuzz_sasl_SOURCES = sx/fuzz/fuzz_sasl.c
sx_fuzz_fuzz_sasl_CPPFLAGS = $(AM_CPPFLAGS) $(GSASL_CFLAGS)
sx_fuzz_fuzz_sasl_LDADD = $(SX_LIBS)
sx_fuzz_fuzz_sasl_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += sx/fuzz/sasl.dict sx/fuzz/corpus/sasl

# WebSocket plugin (sx/ws.c): the HTTP upgrade and the frames.
if ENABLE_FUZZING
noinst_PROGRAMS += sx/fuzz/fuzz_ws
endif
sx_fuzz_fuzz_ws_SOURCES = sx/fuzz/fuzz_ws.c
sx_fuzz_fuzz_ws_LDADD = $(SX_LIBS)
sx_fuzz_fuzz_ws_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += sx/fuzz/ws.dict sx/fuzz/corpus/ws
