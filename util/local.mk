# SPDX-License-Identifier: GPL-2.0-or-later
# util/: the library under everything else (allocation and buffers, logging,
# JIDs, the element tree, hash tables, config loading, hashes). Included by
# the top Makefile.am. One source or test per line, so others can append.

noinst_LIBRARIES += util/libutil.a
util_libutil_a_CPPFLAGS = $(AM_CPPFLAGS) $(EXPAT_CFLAGS) $(IDN_CFLAGS) $(OPENSSL_CFLAGS) \
	$(SYSTEMD_CFLAGS)
util_libutil_a_SOURCES = \
	util/buf.c \
	util/log.c \
	util/jid.c \
	util/xhash.c \
	util/hash.c \
	util/config_file.c \
	util/pidfile.c \
	util/sdnotify.c \
	util/signals.c \
	util/xdata.c \
	util/nad.c

# The daemons' shared main() (util/daemon.h): its own library, since it
# runs the mio loop and libutil.a sits under mio/.
noinst_LIBRARIES += util/libdaemon.a
util_libdaemon_a_CPPFLAGS = $(AM_CPPFLAGS)
util_libdaemon_a_SOURCES = util/daemon.c
DAEMON_LIBS = util/libdaemon.a $(MIO_LIBS) $(UTIL_LIBS)

UTIL_HDRS = \
	util/daemon.h \
	util/buf.h \
	util/log.h \
	util/jid.h \
	util/xhash.h \
	util/hash.h \
	util/config_file.h \
	util/pidfile.h \
	util/sdnotify.h \
	util/signals.h \
	util/xdata.h \
	util/list.h \
	util/nad.h
EXTRA_DIST += $(UTIL_HDRS)

# Unit tests (cmocka). Each links the static library; the flags are shared.
UTIL_TEST_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS) \
	-DJABBERD2_DATA_DIR='"$(abs_top_srcdir)/tests/data/jabberd2"'
UTIL_TEST_LDADD = $(UTIL_LIBS) $(CMOCKA_LIBS)

if HAVE_CMOCKA
UTIL_TESTS = \
	util/tests/test_buf \
	util/tests/test_log \
	util/tests/test_jid \
	util/tests/test_xhash \
	util/tests/test_hash \
	util/tests/test_config \
	util/tests/test_config_jabberd2 \
	util/tests/test_list \
	util/tests/test_pidfile \
	util/tests/test_signals \
	util/tests/test_daemon \
	util/tests/test_xdata
check_PROGRAMS += $(UTIL_TESTS)
TESTS += $(UTIL_TESTS)
endif

util_tests_test_buf_CPPFLAGS = $(UTIL_TEST_CPPFLAGS)
util_tests_test_buf_LDADD = $(UTIL_TEST_LDADD)
util_tests_test_log_CPPFLAGS = $(UTIL_TEST_CPPFLAGS)
util_tests_test_log_LDADD = $(UTIL_TEST_LDADD)
util_tests_test_pidfile_CPPFLAGS = $(UTIL_TEST_CPPFLAGS)
util_tests_test_pidfile_LDADD = $(UTIL_TEST_LDADD)
util_tests_test_signals_CPPFLAGS = $(UTIL_TEST_CPPFLAGS)
util_tests_test_signals_LDADD = $(UTIL_TEST_LDADD)
util_tests_test_daemon_CPPFLAGS = $(UTIL_TEST_CPPFLAGS)
util_tests_test_daemon_LDADD = $(DAEMON_LIBS) $(CMOCKA_LIBS)
util_tests_test_jid_CPPFLAGS = $(UTIL_TEST_CPPFLAGS)
util_tests_test_jid_LDADD = $(UTIL_TEST_LDADD)
util_tests_test_xhash_CPPFLAGS = $(UTIL_TEST_CPPFLAGS)
util_tests_test_xhash_LDADD = $(UTIL_TEST_LDADD)
util_tests_test_hash_CPPFLAGS = $(UTIL_TEST_CPPFLAGS)
util_tests_test_hash_LDADD = $(UTIL_TEST_LDADD)
util_tests_test_config_CPPFLAGS = $(UTIL_TEST_CPPFLAGS)
util_tests_test_config_LDADD = $(UTIL_TEST_LDADD)
util_tests_test_config_jabberd2_CPPFLAGS = $(UTIL_TEST_CPPFLAGS)
util_tests_test_config_jabberd2_LDADD = $(UTIL_TEST_LDADD)
util_tests_test_list_CPPFLAGS = $(UTIL_TEST_CPPFLAGS)
util_tests_test_list_LDADD = $(UTIL_TEST_LDADD)
util_tests_test_xdata_CPPFLAGS = $(UTIL_TEST_CPPFLAGS)
util_tests_test_xdata_LDADD = $(UTIL_TEST_LDADD)
EXTRA_DIST += tests/data/jabberd2

# Fuzz targets (libFuzzer) for the JID and config parsers, each with a
# .dict and a small seed corpus.
if ENABLE_FUZZING
noinst_PROGRAMS += util/fuzz/fuzz_jid util/fuzz/fuzz_config
endif
util_fuzz_fuzz_jid_SOURCES = util/fuzz/fuzz_jid.c
util_fuzz_fuzz_jid_LDADD = $(UTIL_LIBS)
util_fuzz_fuzz_jid_LDFLAGS = $(LIB_FUZZING_ENGINE)
util_fuzz_fuzz_config_SOURCES = util/fuzz/fuzz_config.c
util_fuzz_fuzz_config_LDADD = $(UTIL_LIBS)
util_fuzz_fuzz_config_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += util/fuzz/jid.dict util/fuzz/corpus/jid \
	util/fuzz/config.dict util/fuzz/corpus/config

# The element tree (util/nad.c) and its document parser: unit test and
# parser fuzz target.
util_libutil_a_SOURCES += util/nad_parse.c
if HAVE_CMOCKA
check_PROGRAMS += util/tests/test_nad
TESTS += util/tests/test_nad
endif
util_tests_test_nad_CPPFLAGS = $(UTIL_TEST_CPPFLAGS)
util_tests_test_nad_LDADD = $(UTIL_TEST_LDADD)

if ENABLE_FUZZING
noinst_PROGRAMS += util/fuzz/fuzz_nad_parse
endif
util_fuzz_fuzz_nad_parse_SOURCES = util/fuzz/fuzz_nad_parse.c
util_fuzz_fuzz_nad_parse_LDADD = $(UTIL_LIBS)
util_fuzz_fuzz_nad_parse_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += util/fuzz/nad_parse.dict util/fuzz/corpus/nad_parse

# The input loop of the fuzz targets that drive a whole component service
# (util/fuzz/stanzas.h; muc, pubsub). Built in every build, so that the
# compilers' warnings see it without --enable-fuzzing too.
noinst_LIBRARIES += util/libfuzzstanzas.a
util_libfuzzstanzas_a_SOURCES = util/fuzz/stanzas.c util/fuzz/stanzas.h
FUZZ_STANZAS_LIBS = util/libfuzzstanzas.a
