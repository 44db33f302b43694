# SPDX-License-Identifier: GPL-2.0-or-later
# sm/: the session manager daemon (see sm/sm.h). Modules are mod_<name>.c,
# listed in sm/modules.c and chained by sm.xml.
# Everything but main.c is a library, so unit tests and the fuzzer can
# drive an sm without a router.
noinst_LIBRARIES += sm/libsm.a
sm_libsm_a_CPPFLAGS = $(AM_CPPFLAGS)
sm_libsm_a_SOURCES = \
	sm/sm.h \
	sm/sm_life.c \
	sm/sm.c \
	sm/pkt.c \
	sm/user.c \
	sm/sess.c \
	sm/cluster_notify.c \
	sm/cluster.c \
	sm/cluster_data.c \
	sm/modules.c \
	sm/mod_session.c \
	sm/mod_active.c \
	sm/mod_validate.c \
	sm/mod_deliver.c \
	sm/mod_presence.c \
	sm/mod_roster.c \
	sm/mod_offline.c \
	sm/mod_iq_ping.c \
	sm/mod_iq_time.c \
	sm/mod_iq_version.c \
	sm/mod_iq_last.c \
	sm/mod_disco.c \
	sm/mod_iq_private.c \
	sm/mod_iq_vcard.c \
	sm/mod_privacy.c \
	sm/mod_carbons.c \
	sm/mod_template_roster.c \
	sm/mod_status.c \
	sm/mod_announce.c \
	sm/mod_pep.c \
	sm/pep_caps.c sm/pep_caps.h sm/pep.h \
	sm/mod_echo.c \
	sm/mod_help.c \
	sm/mod_vacation.c \
	sm/mod_amp.c \
	sm/mod_roster_publish.c \
	sm/datetime.c sm/datetime.h \
	sm/amp.h sm/carbons.h sm/echo.h sm/offline.h sm/presence.h sm/privacy.h sm/roster.h

bin_PROGRAMS += sm/sm
sm_sm_CPPFLAGS = $(AM_CPPFLAGS) -DSYSCONFDIR='"$(sysconfdir)"'
sm_sm_SOURCES = sm/main.c
SM_LIBS = sm/libsm.a pubsub/libpubsub.a $(STORAGE_LIBS) $(COMP_LIBS) $(UTIL_LIBS)
sm_sm_LDADD = $(METRICS_LIBS) $(DAEMON_LIBS) $(SM_LIBS)

if HAVE_CMOCKA
SM_TESTS = sm/tests/test_sm sm/tests/test_amp sm/tests/test_roster_publish \
	sm/tests/test_modules sm/tests/test_cluster_data sm/tests/test_pep
check_PROGRAMS += $(SM_TESTS)
TESTS += $(SM_TESTS)
# Run by hand (sm/tests/bench_c2s_gone.c, bench_remote_stubs.c say how).
check_PROGRAMS += sm/tests/bench_c2s_gone sm/tests/bench_remote_stubs
endif
sm_tests_bench_c2s_gone_SOURCES = sm/tests/bench_c2s_gone.c sm/tests/sm_testlib.c sm/tests/sm_testlib.h
sm_tests_bench_c2s_gone_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
sm_tests_bench_c2s_gone_LDADD = $(SM_LIBS) $(CMOCKA_LIBS)
sm_tests_bench_remote_stubs_SOURCES = sm/tests/bench_remote_stubs.c sm/tests/sm_testlib.c \
	sm/tests/sm_testlib.h
sm_tests_bench_remote_stubs_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
sm_tests_bench_remote_stubs_LDADD = $(SM_LIBS) $(CMOCKA_LIBS)
sm_tests_test_sm_SOURCES = sm/tests/test_sm.c sm/tests/sm_testlib.c sm/tests/sm_testlib.h
sm_tests_test_sm_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
sm_tests_test_sm_LDADD = $(SM_LIBS) $(CMOCKA_LIBS)
sm_tests_test_amp_SOURCES = sm/tests/test_amp.c sm/tests/sm_testlib.c sm/tests/sm_testlib.h
sm_tests_test_amp_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
sm_tests_test_amp_LDADD = $(SM_LIBS) $(CMOCKA_LIBS)
sm_tests_test_roster_publish_SOURCES = sm/tests/test_roster_publish.c sm/tests/sm_testlib.c sm/tests/sm_testlib.h
sm_tests_test_roster_publish_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
sm_tests_test_roster_publish_LDADD = $(SM_LIBS) $(CMOCKA_LIBS)
sm_tests_test_modules_SOURCES = sm/tests/test_modules.c sm/tests/sm_testlib.c sm/tests/sm_testlib.h
sm_tests_test_modules_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
sm_tests_test_modules_LDADD = $(SM_LIBS) $(CMOCKA_LIBS)
sm_tests_test_cluster_data_SOURCES = sm/tests/test_cluster_data.c sm/tests/sm_testlib.c sm/tests/sm_testlib.h
sm_tests_test_cluster_data_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
sm_tests_test_cluster_data_LDADD = $(SM_LIBS) $(CMOCKA_LIBS)
sm_tests_test_pep_SOURCES = sm/tests/test_pep.c sm/tests/sm_testlib.c sm/tests/sm_testlib.h
sm_tests_test_pep_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
sm_tests_test_pep_LDADD = $(SM_LIBS) $(CMOCKA_LIBS)

# A router module standing in for the cluster module in
# tests/integration/test_sm_router_id.py (seed patch 1): binds a domain and
# relays its routes to the sm's <router_id>. Built with the daemons so the
# integration test never lacks it.
noinst_PROGRAMS += sm/tests/relay_module.so
sm_tests_relay_module_so_SOURCES = sm/tests/relay_module_so.c
sm_tests_relay_module_so_CFLAGS = $(AM_CFLAGS) -fPIC
sm_tests_relay_module_so_LDFLAGS = $(AM_LDFLAGS) -shared

# Fuzz targets: router input to the sm; what mod_pep reads of entity
# capabilities (sm/pep_caps.c).
if ENABLE_FUZZING
noinst_PROGRAMS += sm/fuzz/fuzz_sm sm/fuzz/fuzz_pep_caps
endif
sm_fuzz_fuzz_pep_caps_SOURCES = sm/fuzz/fuzz_pep_caps.c
sm_fuzz_fuzz_pep_caps_LDADD = $(SM_LIBS)
sm_fuzz_fuzz_pep_caps_LDFLAGS = $(LIB_FUZZING_ENGINE)
sm_fuzz_fuzz_sm_SOURCES = sm/fuzz/fuzz_sm.c
sm_fuzz_fuzz_sm_LDADD = $(SM_LIBS)
sm_fuzz_fuzz_sm_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += sm/fuzz/sm.dict sm/fuzz/pep_caps.dict sm/fuzz/corpus
EXTRA_DIST += sm/README.md
