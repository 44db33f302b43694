# SPDX-License-Identifier: GPL-2.0-or-later
# mio: sockets, timers and signals on libevent (see mio/mio.h).
noinst_LIBRARIES += mio/libmio.a
mio_libmio_a_CPPFLAGS = $(AM_CPPFLAGS) $(LIBEVENT_CFLAGS)
mio_libmio_a_SOURCES = \
	mio/mio.h \
	mio/mio_private.h \
	mio/mio.c \
	mio/mio_access.c \
	mio/mio_conn.c \
	mio/mio_connect.c \
	mio/mio_listen.c \
	mio/mio_rate.c

if HAVE_CMOCKA
MIO_TEST_CPPFLAGS = $(AM_CPPFLAGS) $(LIBEVENT_CFLAGS) $(CMOCKA_CFLAGS)
MIO_TEST_LDADD = $(MIO_LIBS) $(UTIL_LIBS) $(CMOCKA_LIBS)
MIO_TESTS = \
	mio/tests/test_access \
	mio/tests/test_rate \
	mio/tests/test_loop \
	mio/tests/test_conn \
	mio/tests/test_listen \
	mio/tests/test_connect
check_PROGRAMS += $(MIO_TESTS)
TESTS += $(MIO_TESTS)

mio_tests_test_access_SOURCES = mio/tests/test_access.c
mio_tests_test_access_CPPFLAGS = $(MIO_TEST_CPPFLAGS)
mio_tests_test_access_LDADD = $(MIO_TEST_LDADD)
mio_tests_test_rate_SOURCES = mio/tests/test_rate.c
mio_tests_test_rate_CPPFLAGS = $(MIO_TEST_CPPFLAGS)
mio_tests_test_rate_LDADD = $(MIO_TEST_LDADD)
mio_tests_test_loop_SOURCES = mio/tests/test_loop.c
mio_tests_test_loop_CPPFLAGS = $(MIO_TEST_CPPFLAGS)
mio_tests_test_loop_LDADD = $(MIO_TEST_LDADD)
mio_tests_test_conn_SOURCES = mio/tests/test_conn.c mio/tests/mio_test.c mio/tests/mio_test.h
mio_tests_test_conn_CPPFLAGS = $(MIO_TEST_CPPFLAGS)
mio_tests_test_conn_LDADD = $(MIO_TEST_LDADD)
mio_tests_test_listen_SOURCES = mio/tests/test_listen.c mio/tests/mio_test.c mio/tests/mio_test.h
mio_tests_test_listen_CPPFLAGS = $(MIO_TEST_CPPFLAGS)
mio_tests_test_listen_LDADD = $(MIO_TEST_LDADD)
mio_tests_test_connect_SOURCES = mio/tests/test_connect.c mio/tests/mio_test.c mio/tests/mio_test.h
mio_tests_test_connect_CPPFLAGS = $(MIO_TEST_CPPFLAGS)
mio_tests_test_connect_LDADD = $(MIO_TEST_LDADD)
endif
