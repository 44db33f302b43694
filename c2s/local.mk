# SPDX-License-Identifier: GPL-2.0-or-later
# c2s/: the client-to-server daemon. Everything but main.c forms a static
# library that the daemon, the unit tests and the fuzz target link.
noinst_LIBRARIES += c2s/libc2s.a
c2s_libc2s_a_SOURCES = \
	c2s/authreg.h \
	c2s/authreg.c \
	c2s/authreg_password.c \
	c2s/authreg_sqlite.c \
	c2s/authreg_pipe.c \
	c2s/authreg_sql.h \
	c2s/authreg_sql.c \
	c2s/authreg_anon.c \
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
C2S_LIBS = c2s/libc2s.a $(METRICS_LIBS) $(COMP_LIBS) storage/libstorage.a $(UTIL_LIBS) $(LIBEVENT_LIBS) $(SQLITE_LIBS) -lcrypt
if HAVE_PGSQL
c2s_libc2s_a_CPPFLAGS = $(AM_CPPFLAGS) $(PQ_CFLAGS)
c2s_libc2s_a_SOURCES += c2s/authreg_pgsql.c
C2S_LIBS += $(PQ_LIBS)
endif
# The mysql backend, in its own conditional (libmariadb).
if HAVE_MYSQL
c2s_libc2s_a_SOURCES += c2s/authreg_mysql.c
C2S_LIBS += $(MYSQL_LIBS)
endif

# The pam and ldap authreg backends, each when configure found its library.
if HAVE_PAM
c2s_libc2s_a_SOURCES += c2s/authreg_pam.c
C2S_LIBS += $(PAM_LIBS)
endif
if HAVE_LDAP
c2s_libc2s_a_SOURCES += c2s/authreg_ldap.c
C2S_LIBS += $(LDAP_LIBS)
endif

if HAVE_CMOCKA
C2S_TESTS = c2s/tests/test_authreg c2s/tests/test_authreg_backends c2s/tests/test_authreg_pipe c2s/tests/test_config c2s/tests/test_smq
C2S_TESTS += c2s/tests/test_authreg_anon
if HAVE_PAM
C2S_TESTS += c2s/tests/test_authreg_pam
endif
check_PROGRAMS += $(C2S_TESTS)
TESTS += $(C2S_TESTS)
endif

c2s_tests_test_authreg_SOURCES = c2s/tests/test_authreg.c
c2s_tests_test_authreg_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
c2s_tests_test_authreg_LDADD = $(C2S_LIBS) $(CMOCKA_LIBS)
# What every SQL authreg backend does, over every backend built in (each
# one's server started by the test; skipped per backend when missing).
c2s_tests_test_authreg_backends_SOURCES = c2s/tests/test_authreg_backends.c
c2s_tests_test_authreg_backends_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS) $(SQLITE_CFLAGS)
c2s_tests_test_authreg_backends_LDADD = $(C2S_LIBS) $(STORAGE_LIBS) $(UTIL_LIBS) $(CMOCKA_LIBS)
if HAVE_PGSQL
c2s_tests_test_authreg_backends_SOURCES += storage/tests/pg_harness.c \
	storage/tests/storage_test.c
c2s_tests_test_authreg_backends_CPPFLAGS += $(PQ_CFLAGS)
endif
if HAVE_MYSQL
c2s_tests_test_authreg_backends_SOURCES += storage/tests/my_harness.c
c2s_tests_test_authreg_backends_CPPFLAGS += $(MYSQL_CFLAGS)
endif
c2s_tests_test_smq_SOURCES = c2s/tests/test_smq.c
c2s_tests_test_smq_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
c2s_tests_test_smq_LDADD = $(C2S_LIBS) $(CMOCKA_LIBS)
c2s_tests_test_authreg_pipe_SOURCES = c2s/tests/test_authreg_pipe.c
c2s_tests_test_authreg_pipe_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
c2s_tests_test_authreg_pipe_LDADD = $(C2S_LIBS) $(CMOCKA_LIBS)
c2s_tests_test_authreg_anon_SOURCES = c2s/tests/test_authreg_anon.c
c2s_tests_test_authreg_anon_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
c2s_tests_test_authreg_anon_LDADD = $(C2S_LIBS) $(CMOCKA_LIBS)
c2s_tests_test_authreg_pam_SOURCES = c2s/tests/test_authreg_pam.c
c2s_tests_test_authreg_pam_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
c2s_tests_test_authreg_pam_LDADD = $(C2S_LIBS) $(CMOCKA_LIBS)
c2s_tests_test_config_SOURCES = c2s/tests/test_config.c $(SX_TLSLIB)
c2s_tests_test_config_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
c2s_tests_test_config_LDADD = $(C2S_LIBS) $(CMOCKA_LIBS)

# The daemon.
bin_PROGRAMS += c2s/c2s
c2s_c2s_SOURCES = c2s/main.c
c2s_c2s_CPPFLAGS = $(AM_CPPFLAGS) -DSYSCONFDIR='"$(sysconfdir)"'
c2s_c2s_LDADD = $(DAEMON_LIBS) $(C2S_LIBS)

# Fuzz target: the "$scram$" parser on whatever a password column holds.
if ENABLE_FUZZING
noinst_PROGRAMS += c2s/fuzz/fuzz_password c2s/fuzz/fuzz_smq c2s/fuzz/fuzz_authpipe
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

# Fuzz target: what the pipe authreg reads from the site's program.
c2s_fuzz_fuzz_authpipe_SOURCES = c2s/fuzz/fuzz_authpipe.c
c2s_fuzz_fuzz_authpipe_LDADD = $(C2S_LIBS)
c2s_fuzz_fuzz_authpipe_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += c2s/fuzz/authpipe.dict c2s/fuzz/corpus/authpipe

# The pgsql backend's tests run a private PostgreSQL server with the
# storage tests' harness (skipped without Debian's postgresql).
if HAVE_PGSQL
if HAVE_CMOCKA
check_PROGRAMS += c2s/tests/test_authreg_pgsql
TESTS += c2s/tests/test_authreg_pgsql
endif
endif
c2s_tests_test_authreg_pgsql_SOURCES = \
	c2s/tests/test_authreg_pgsql.c \
	storage/tests/pg_harness.c \
	storage/tests/pg_harness.h \
	storage/tests/storage_test.c \
	storage/tests/storage_test.h
c2s_tests_test_authreg_pgsql_CPPFLAGS = $(STORAGE_TEST_CPPFLAGS) $(PQ_CFLAGS) \
	-DJABBERD2_PGSQL_SETUP_PATHS='"$(abs_top_srcdir)/tests/data/jabberd2/db-setup.pgsql:/usr/share/doc/jabberd2/db-setup.pgsql.gz:/usr/share/doc/jabberd2/db-setup.pgsql"'
c2s_tests_test_authreg_pgsql_LDADD = $(C2S_LIBS) $(STORAGE_LIBS) $(UTIL_LIBS) $(CMOCKA_LIBS)

# The mysql backend's own tests run a private MariaDB with the storage
# tests' harness (skipped without Debian's mariadb-server).
if HAVE_MYSQL
if HAVE_CMOCKA
check_PROGRAMS += c2s/tests/test_authreg_mysql
TESTS += c2s/tests/test_authreg_mysql
endif
endif
c2s_tests_test_authreg_mysql_SOURCES = \
	c2s/tests/test_authreg_mysql.c \
	storage/tests/my_harness.c \
	storage/tests/my_harness.h
c2s_tests_test_authreg_mysql_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS) $(MYSQL_CFLAGS)
c2s_tests_test_authreg_mysql_LDADD = $(C2S_LIBS) $(STORAGE_LIBS) $(UTIL_LIBS) $(CMOCKA_LIBS)
EXTRA_DIST += c2s/README.md
