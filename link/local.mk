# SPDX-License-Identifier: GPL-2.0-or-later
# link/: one XMPP stream on one socket, between mio and sx (see
# link/link.h). Used by c2s, the router, comp and s2s.
noinst_LIBRARIES += link/liblink.a
link_liblink_a_CPPFLAGS = $(AM_CPPFLAGS)
link_liblink_a_SOURCES = \
	link/link.h \
	link/link.c

if HAVE_CMOCKA
LINK_TESTS = link/tests/test_link
check_PROGRAMS += $(LINK_TESTS)
TESTS += $(LINK_TESTS)
endif
link_tests_test_link_SOURCES = link/tests/test_link.c mio/tests/mio_test.c mio/tests/mio_test.h
link_tests_test_link_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
link_tests_test_link_LDADD = $(LINK_LIBS) $(UTIL_LIBS) $(CMOCKA_LIBS)
EXTRA_DIST += link/README.md
