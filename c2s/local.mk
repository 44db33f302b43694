# SPDX-License-Identifier: GPL-2.0-or-later
# c2s/: the client-to-server daemon. Everything but main.c forms a static
# library that the daemon, the unit tests and the fuzz target link.
noinst_LIBRARIES += c2s/libc2s.a
c2s_libc2s_a_SOURCES = \
	c2s/authreg.h \
	c2s/authreg.c \
	c2s/authreg_password.c \
	c2s/authreg_sqlite.c \
	c2s/c2s.h \
	c2s/config.c \
	c2s/conn.c \
	c2s/auth.c \
	c2s/stanza.c \
	c2s/ws.c \
	c2s/sess.c \
	c2s/register.c \
	c2s/iqauth.c \
	c2s/smq.h \
	c2s/smq.c \
	c2s/sm198.c
C2S_LIBS = c2s/libc2s.a $(COMP_LIBS) $(UTIL_LIBS) $(LIBEVENT_LIBS) $(SQLITE_LIBS) -lcrypt

if HAVE_CMOCKA
C2S_TESTS = c2s/tests/test_authreg c2s/tests/test_config c2s/tests/test_smq
check_PROGRAMS += $(C2S_TESTS)
TESTS += $(C2S_TESTS)
endif

c2s_tests_test_authreg_SOURCES = c2s/tests/test_authreg.c
c2s_tests_test_authreg_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
c2s_tests_test_authreg_LDADD = $(C2S_LIBS) $(CMOCKA_LIBS)
c2s_tests_test_smq_SOURCES = c2s/tests/test_smq.c
c2s_tests_test_smq_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
c2s_tests_test_smq_LDADD = $(C2S_LIBS) $(CMOCKA_LIBS)
c2s_tests_test_config_SOURCES = c2s/tests/test_config.c $(SX_TLSLIB)
c2s_tests_test_config_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
c2s_tests_test_config_LDADD = $(C2S_LIBS) $(CMOCKA_LIBS)

# The daemon.
bin_PROGRAMS += c2s/c2s
c2s_c2s_SOURCES = c2s/main.c
c2s_c2s_CPPFLAGS = $(AM_CPPFLAGS) -DSYSCONFDIR='"$(sysconfdir)"'
c2s_c2s_LDADD = $(C2S_LIBS)

# Fuzz target: the "$scram$" parser on whatever a password column holds.
if ENABLE_FUZZING
noinst_PROGRAMS += c2s/fuzz/fuzz_password c2s/fuzz/fuzz_smq
endif
c2s_fuzz_fuzz_password_SOURCES = c2s/fuzz/fuzz_password.c
c2s_fuzz_fuzz_password_LDADD = $(C2S_LIBS)
c2s_fuzz_fuzz_password_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += c2s/fuzz/password.dict c2s/fuzz/corpus/password

# Fuzz target: the XEP-0198 h parser and unacknowledged-stanza queue.
c2s_fuzz_fuzz_smq_SOURCES = c2s/fuzz/fuzz_smq.c
c2s_fuzz_fuzz_smq_LDADD = $(C2S_LIBS)
c2s_fuzz_fuzz_smq_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += c2s/fuzz/smq.dict c2s/fuzz/corpus/smq
EXTRA_DIST += etc/c2s.xml.dist.in
