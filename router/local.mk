# SPDX-License-Identifier: GPL-2.0-or-later
# router/: the jabberd2-compatible component router. The routing core
# (routes.c), the filter (filter.c) and module loading (module.c) form a
# static library that the daemon and the unit tests link.
noinst_LIBRARIES += router/librouter.a
router_librouter_a_CPPFLAGS = $(AM_CPPFLAGS) $(LIBEVENT_CFLAGS)
router_librouter_a_SOURCES = \
	router/router.h \
	router/router_module.h \
	router/routes.c \
	router/filter.c \
	router/msglog.c \
	router/users.c \
	router/module.c
ROUTER_LIBS = router/librouter.a $(MIO_LIBS) $(UTIL_LIBS) -ldl

# The linking contract of router_module.h: every public function of util,
# sx, mio and link works from a module. Those static libraries are linked whole
# (every object, not only what the router calls) and exported with
# -rdynamic, so a module binds to them at dlopen. Both the daemon and the
# module unit test link them this way (in LDFLAGS, as automake wants
# linker flags there; whole archives do not depend on link order).
ROUTER_EXPORT_LIBS = -Wl,--whole-archive util/libutil.a sx/libsx.a mio/libmio.a \
	link/liblink.a -Wl,--no-whole-archive
ROUTER_EXPORT_DEPS = util/libutil.a sx/libsx.a mio/libmio.a link/liblink.a

# Unit tests (cmocka): the core driven with nads, no sockets; the module
# loader with a tiny module built as a shared object (and one with a wrong
# ABI number). The test programs export their symbols (-rdynamic) so the
# module can call back, as the daemon does.
ROUTER_TEST_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS) \
	-DROUTER_TEST_MODULE='"$(abs_top_builddir)/router/tests/test_module.so"' \
	-DROUTER_TEST_MODULE_TLS='"$(abs_top_builddir)/router/tests/test_module_tls.so"' \
	-DROUTER_TEST_MODULE_BADABI='"$(abs_top_builddir)/router/tests/test_module_badabi.so"'
ROUTER_TEST_LDADD = $(ROUTER_LIBS) $(CMOCKA_LIBS)

if HAVE_CMOCKA
ROUTER_TESTS = \
	router/tests/test_routes \
	router/tests/test_filter \
	router/tests/test_users \
	router/tests/test_module
check_PROGRAMS += $(ROUTER_TESTS) \
	router/tests/test_module.so \
	router/tests/test_module_badabi.so \
	router/tests/test_module_tls.so
TESTS += $(ROUTER_TESTS)
endif

router_tests_test_routes_SOURCES = router/tests/test_routes.c \
	router/tests/router_test.c router/tests/router_test.h
router_tests_test_routes_CPPFLAGS = $(ROUTER_TEST_CPPFLAGS)
router_tests_test_routes_LDADD = $(ROUTER_TEST_LDADD)
router_tests_test_filter_SOURCES = router/tests/test_filter.c \
	router/tests/router_test.c router/tests/router_test.h
router_tests_test_filter_CPPFLAGS = $(ROUTER_TEST_CPPFLAGS)
router_tests_test_filter_LDADD = $(ROUTER_TEST_LDADD)
router_tests_test_users_SOURCES = router/tests/test_users.c
router_tests_test_users_CPPFLAGS = $(ROUTER_TEST_CPPFLAGS)
router_tests_test_users_LDADD = $(ROUTER_TEST_LDADD)
router_tests_test_module_SOURCES = router/tests/test_module.c \
	router/tests/router_test.c router/tests/router_test.h
router_tests_test_module_CPPFLAGS = $(ROUTER_TEST_CPPFLAGS)
router_tests_test_module_LDADD = $(ROUTER_TEST_LDADD) $(SX_LIBS) $(LIBEVENT_LIBS)
EXTRA_router_tests_test_module_DEPENDENCIES = $(ROUTER_EXPORT_DEPS)
router_tests_test_module_LDFLAGS = $(AM_LDFLAGS) -rdynamic $(ROUTER_EXPORT_LIBS)
# Our modules: plain programs linked as shared objects (no libtool).
router_tests_test_module_so_SOURCES = router/tests/module_test_so.c
router_tests_test_module_so_CFLAGS = $(AM_CFLAGS) -fPIC
router_tests_test_module_so_LDFLAGS = $(AM_LDFLAGS) -shared
router_tests_test_module_badabi_so_SOURCES = router/tests/module_test_so.c
router_tests_test_module_badabi_so_CPPFLAGS = $(AM_CPPFLAGS) -DROUTER_TEST_BAD_ABI
router_tests_test_module_badabi_so_CFLAGS = $(AM_CFLAGS) -fPIC
router_tests_test_module_badabi_so_LDFLAGS = $(AM_LDFLAGS) -shared
# The module the integration tests load into the daemon: a TLS listener,
# a bound name, a redirect, and a goodbye to its peer at SIGTERM.
router_tests_test_module_tls_so_SOURCES = router/tests/module_tls_so.c
router_tests_test_module_tls_so_CFLAGS = $(AM_CFLAGS) -fPIC
router_tests_test_module_tls_so_LDFLAGS = $(AM_LDFLAGS) -shared

# The daemon. -rdynamic exports its symbols to the module it loads.
bin_PROGRAMS += router/router
router_router_SOURCES = router/main.c router/conn.c
router_router_CPPFLAGS = $(AM_CPPFLAGS) -DSYSCONFDIR='"$(sysconfdir)"' \
	-DROUTER_MODULE_DIR='"$(pkglibdir)"'
router_router_LDADD = $(METRICS_LIBS) util/libdaemon.a $(ROUTER_LIBS) $(SX_LIBS) $(LIBEVENT_LIBS)
EXTRA_router_router_DEPENDENCIES = $(ROUTER_EXPORT_DEPS)
router_router_LDFLAGS = $(AM_LDFLAGS) -rdynamic $(ROUTER_EXPORT_LIBS)

# Fuzz targets (libFuzzer): component elements through the routing core,
# and router-filter.xml files applied to routes.
if ENABLE_FUZZING
noinst_PROGRAMS += router/fuzz/fuzz_route router/fuzz/fuzz_filter
endif
router_fuzz_fuzz_route_SOURCES = router/fuzz/fuzz_route.c
router_fuzz_fuzz_route_LDADD = $(ROUTER_LIBS)
router_fuzz_fuzz_route_LDFLAGS = $(LIB_FUZZING_ENGINE)
router_fuzz_fuzz_filter_SOURCES = router/fuzz/fuzz_filter.c
router_fuzz_fuzz_filter_LDADD = $(ROUTER_LIBS)
router_fuzz_fuzz_filter_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += router/fuzz/route.dict router/fuzz/corpus/route \
	router/fuzz/filter.dict router/fuzz/corpus/filter
EXTRA_DIST += router/README.md
