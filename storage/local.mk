# SPDX-License-Identifier: GPL-2.0-or-later
# storage/: the storage API (object sets, filters, driver routing) and its
# drivers. Included by the top Makefile.am. One source or test per line.

noinst_LIBRARIES += storage/libstorage.a
storage_libstorage_a_CPPFLAGS = $(AM_CPPFLAGS) $(SQLITE_CFLAGS)
storage_libstorage_a_SOURCES = \
	storage/filter.c \
	storage/os.c \
	storage/schema_sqlite.c \
	storage/sql.c \
	storage/storage.c \
	storage/storage_sqlite.c

if HAVE_PGSQL
storage_libstorage_a_CPPFLAGS += $(PQ_CFLAGS)
storage_libstorage_a_SOURCES += \
	storage/schema_pgsql.c \
	storage/sql_pgsql.c \
	storage/storage_pgsql.c
endif

if HAVE_MYSQL
storage_libstorage_a_CPPFLAGS += $(MYSQL_CFLAGS)
storage_libstorage_a_SOURCES += \
	storage/schema_mysql.c \
	storage/sql_mysql.c \
	storage/storage_mysql.c
endif

STORAGE_HDRS = \
	storage/sql.h \
	storage/sql_private.h \
	storage/storage.h \
	storage/storage_private.h
EXTRA_DIST += $(STORAGE_HDRS)

# Unit tests (cmocka), linked against the static libraries. The jabberd2
# compatibility test reads jabberd2's own db-setup.sqlite at run time from
# $JABBERD2_DB_SETUP or one of the places listed here, and skips if none.
STORAGE_TEST_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS) $(SQLITE_CFLAGS) \
	-DJABBERD2_DB_SETUP_PATHS='"$(abs_top_srcdir)/tests/data/jabberd2/db-setup.sqlite:/usr/share/doc/jabberd2/db-setup.sqlite.gz:/usr/share/doc/jabberd2/db-setup.sqlite:/usr/share/jabberd2/db-setup.sqlite:/tmp/storage-ref/pkg/usr/share/doc/jabberd2/db-setup.sqlite.gz"'
STORAGE_TEST_LDADD = $(STORAGE_LIBS) $(UTIL_LIBS) $(CMOCKA_LIBS)

if HAVE_CMOCKA
STORAGE_TESTS = \
	storage/tests/test_filter \
	storage/tests/test_os \
	storage/tests/test_sqlite \
	storage/tests/test_backends \
	storage/tests/test_jabberd2_db
check_PROGRAMS += $(STORAGE_TESTS)
TESTS += $(STORAGE_TESTS)
endif

storage_tests_test_filter_CPPFLAGS = $(STORAGE_TEST_CPPFLAGS)
storage_tests_test_filter_LDADD = $(STORAGE_TEST_LDADD)
storage_tests_test_os_CPPFLAGS = $(STORAGE_TEST_CPPFLAGS)
storage_tests_test_os_LDADD = $(STORAGE_TEST_LDADD)
storage_tests_test_sqlite_SOURCES = \
	storage/tests/test_sqlite.c \
	storage/tests/storage_test.c \
	storage/tests/storage_test.h
storage_tests_test_sqlite_CPPFLAGS = $(STORAGE_TEST_CPPFLAGS)
storage_tests_test_sqlite_LDADD = $(STORAGE_TEST_LDADD)
# The cases every driver passes, over every driver built in (the servers
# each needs started by the test: skipped, per backend, when not installed).
storage_tests_test_backends_SOURCES = \
	storage/tests/test_backends.c \
	storage/tests/storage_test.c \
	storage/tests/storage_test.h
storage_tests_test_backends_CPPFLAGS = $(STORAGE_TEST_CPPFLAGS)
storage_tests_test_backends_LDADD = $(STORAGE_TEST_LDADD)
if HAVE_PGSQL
storage_tests_test_backends_SOURCES += storage/tests/pg_harness.c storage/tests/pg_harness.h
storage_tests_test_backends_CPPFLAGS += $(PQ_CFLAGS)
endif
if HAVE_MYSQL
storage_tests_test_backends_SOURCES += storage/tests/my_harness.c storage/tests/my_harness.h
storage_tests_test_backends_CPPFLAGS += $(MYSQL_CFLAGS)
endif
storage_tests_test_jabberd2_db_CPPFLAGS = $(STORAGE_TEST_CPPFLAGS)
storage_tests_test_jabberd2_db_LDADD = $(STORAGE_TEST_LDADD)

# Fuzz target for the filter parser.
if ENABLE_FUZZING
noinst_PROGRAMS += storage/fuzz/fuzz_filter
endif
storage_fuzz_fuzz_filter_SOURCES = storage/fuzz/fuzz_filter.c
storage_fuzz_fuzz_filter_LDADD = $(STORAGE_LIBS) $(UTIL_LIBS)
storage_fuzz_fuzz_filter_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += storage/fuzz/filter.dict storage/fuzz/corpus

# The pgsql driver's tests start their own PostgreSQL server (Debian's
# postgresql package; skipped without it) and read jabberd2's
# db-setup.pgsql from $JABBERD2_PGSQL_SETUP or these places.
if HAVE_PGSQL
if HAVE_CMOCKA
check_PROGRAMS += storage/tests/test_pgsql
TESTS += storage/tests/test_pgsql
endif
endif
storage_tests_test_pgsql_SOURCES = \
	storage/tests/test_pgsql.c \
	storage/tests/pg_harness.c \
	storage/tests/pg_harness.h \
	storage/tests/storage_test.c \
	storage/tests/storage_test.h
storage_tests_test_pgsql_CPPFLAGS = $(STORAGE_TEST_CPPFLAGS) $(PQ_CFLAGS) \
	-DJABBERD2_PGSQL_SETUP_PATHS='"$(abs_top_srcdir)/tests/data/jabberd2/db-setup.pgsql:/usr/share/doc/jabberd2/db-setup.pgsql.gz:/usr/share/doc/jabberd2/db-setup.pgsql"'
storage_tests_test_pgsql_LDADD = $(STORAGE_TEST_LDADD)

# The mysql driver's own tests start a private MariaDB (Debian's
# mariadb-server; skipped without it) and read jabberd2's db-setup.mysql
# from $JABBERD2_MYSQL_SETUP or /usr/share/doc/jabberd2.
if HAVE_MYSQL
if HAVE_CMOCKA
check_PROGRAMS += storage/tests/test_mysql
TESTS += storage/tests/test_mysql
endif
endif
storage_tests_test_mysql_SOURCES = \
	storage/tests/test_mysql.c \
	storage/tests/my_harness.c \
	storage/tests/my_harness.h \
	storage/tests/storage_test.c \
	storage/tests/storage_test.h
storage_tests_test_mysql_CPPFLAGS = $(STORAGE_TEST_CPPFLAGS) $(MYSQL_CFLAGS)
storage_tests_test_mysql_LDADD = $(STORAGE_TEST_LDADD)
EXTRA_DIST += storage/README.md
