# SPDX-License-Identifier: GPL-2.0-or-later
# pubsub/: the publish-subscribe daemon (XEP-0060), see pubsub/pubsub.h and
# pubsub/README.md. Everything but main.c is a library, so the unit tests
# and the fuzzer drive the service without a router.
noinst_LIBRARIES += pubsub/libpubsub.a
pubsub_libpubsub_a_CPPFLAGS = $(AM_CPPFLAGS) $(SQLITE_CFLAGS) $(PQ_CFLAGS)
pubsub_libpubsub_a_SOURCES = \
	pubsub/pubsub.h \
	pubsub/node.h \
	pubsub/node.c \
	pubsub/subs.h \
	pubsub/subs.c \
	pubsub/form.h \
	pubsub/form.c \
	pubsub/pubsub_private.h \
	pubsub/pubsub.c \
	pubsub/pubsub_owner.c \
	pubsub/pubsub_disco.c \
	pubsub/store.c

bin_PROGRAMS += pubsub/pubsub
pubsub_pubsub_CPPFLAGS = $(AM_CPPFLAGS) -DSYSCONFDIR='"$(sysconfdir)"'
pubsub_pubsub_SOURCES = pubsub/main.c
PUBSUB_LIBS = pubsub/libpubsub.a $(STORAGE_LIBS) $(COMP_LIBS) $(UTIL_LIBS)
pubsub_pubsub_LDADD = $(METRICS_LIBS) $(PUBSUB_LIBS)

if HAVE_CMOCKA
PUBSUB_TESTS = pubsub/tests/test_node pubsub/tests/test_pubsub
check_PROGRAMS += $(PUBSUB_TESTS)
TESTS += $(PUBSUB_TESTS)
# Run by hand (pubsub/tests/bench_pubsub.c says how).
check_PROGRAMS += pubsub/tests/bench_pubsub
endif
pubsub_tests_bench_pubsub_SOURCES = pubsub/tests/bench_pubsub.c comp/tests/bench_service.c \
	comp/tests/bench_service.h
pubsub_tests_bench_pubsub_LDADD = $(PUBSUB_LIBS)
pubsub_tests_test_node_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
pubsub_tests_test_node_LDADD = $(PUBSUB_LIBS) $(CMOCKA_LIBS)
pubsub_tests_test_pubsub_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS) $(SQLITE_CFLAGS)
pubsub_tests_test_pubsub_LDADD = $(PUBSUB_LIBS) $(CMOCKA_LIBS)

# Fuzz target for the parsers of client input (the request, the forms),
# driving the whole service with one stanza at a time.
if ENABLE_FUZZING
noinst_PROGRAMS += pubsub/fuzz/fuzz_pubsub_input
endif
pubsub_fuzz_fuzz_pubsub_input_SOURCES = pubsub/fuzz/fuzz_pubsub_input.c
pubsub_fuzz_fuzz_pubsub_input_LDADD = $(FUZZ_STANZAS_LIBS) $(PUBSUB_LIBS)
pubsub_fuzz_fuzz_pubsub_input_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += pubsub/README.md pubsub/fuzz/pubsub_input.dict pubsub/fuzz/corpus
