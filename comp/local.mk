# SPDX-License-Identifier: GPL-2.0-or-later
# comp/: a daemon's link to the router as a jabberd2 component (see
# comp/comp.h). Used by sm and c2s; service.[ch] (the link of a daemon
# that serves names) by sm, muc and pubsub; stanza.[ch] and daemon.[ch]
# (the process around a service) by the muc and pubsub daemons.
noinst_LIBRARIES += comp/libcomp.a
comp_libcomp_a_CPPFLAGS = $(AM_CPPFLAGS)
comp_libcomp_a_SOURCES = \
	comp/comp.h \
	comp/comp.c \
	comp/comp_route.c \
	comp/stanza.h \
	comp/stanza.c \
	comp/daemon.h \
	comp/daemon.c \
	comp/service.h \
	comp/service.c

# What a daemon using comp links (after its own objects); daemon.c runs on
# util/daemon.c.
COMP_LIBS = comp/libcomp.a util/libdaemon.a $(LINK_LIBS)

if HAVE_CMOCKA
COMP_TESTS = comp/tests/test_comp
check_PROGRAMS += $(COMP_TESTS)
TESTS += $(COMP_TESTS)
endif
comp_tests_test_comp_SOURCES = comp/tests/test_comp.c mio/tests/mio_test.c mio/tests/mio_test.h
comp_tests_test_comp_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
comp_tests_test_comp_LDADD = $(COMP_LIBS) $(UTIL_LIBS) $(CMOCKA_LIBS)
EXTRA_DIST += comp/README.md
