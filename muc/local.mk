# SPDX-License-Identifier: GPL-2.0-or-later
# muc/: the multi-user chat daemon (XEP-0045), see muc/muc.h and
# muc/README.md. Everything but main.c is a library, so the unit tests and
# the fuzzer drive the service without a router.
noinst_LIBRARIES += muc/libmuc.a
muc_libmuc_a_CPPFLAGS = $(AM_CPPFLAGS) $(SQLITE_CFLAGS) $(PQ_CFLAGS)
muc_libmuc_a_SOURCES = \
	muc/muc.h \
	muc/muc_private.h \
	muc/room.h \
	muc/room.c \
	muc/occupants.h \
	muc/occupants.c \
	muc/form.h \
	muc/form.c \
	muc/muc.c \
	muc/muc_message.c \
	muc/muc_mam.c \
	muc/muc_iq.c \
	muc/store.c \
	sm/datetime.c

bin_PROGRAMS += muc/muc
muc_muc_CPPFLAGS = $(AM_CPPFLAGS) -DSYSCONFDIR='"$(sysconfdir)"'
muc_muc_SOURCES = muc/main.c
MUC_LIBS = muc/libmuc.a $(STORAGE_LIBS) $(COMP_LIBS) $(UTIL_LIBS)
muc_muc_LDADD = $(METRICS_LIBS) $(MUC_LIBS)

if HAVE_CMOCKA
MUC_TESTS = muc/tests/test_room muc/tests/test_muc muc/tests/test_store
check_PROGRAMS += $(MUC_TESTS)
TESTS += $(MUC_TESTS)
# Run by hand (muc/tests/bench_muc.c says how).
check_PROGRAMS += muc/tests/bench_muc
endif
muc_tests_bench_muc_SOURCES = muc/tests/bench_muc.c comp/tests/bench_service.c \
	comp/tests/bench_service.h
muc_tests_bench_muc_LDADD = $(MUC_LIBS)
muc_tests_test_room_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
muc_tests_test_room_LDADD = $(MUC_LIBS) $(CMOCKA_LIBS)
muc_tests_test_muc_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
muc_tests_test_muc_LDADD = $(MUC_LIBS) $(CMOCKA_LIBS)
muc_tests_test_store_SOURCES = muc/tests/test_store.c
muc_tests_test_store_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
muc_tests_test_store_LDADD = $(MUC_LIBS) $(CMOCKA_LIBS)
# The same cases on a private MariaDB where it is built in.
if HAVE_MYSQL
muc_tests_test_store_SOURCES += storage/tests/my_harness.c storage/tests/my_harness.h
muc_tests_test_store_CPPFLAGS += $(MYSQL_CFLAGS)
endif

# Fuzz target for the parsers of client input (room JID and nick, the
# configuration form, the history request).
# fuzz_muc_stanza drives the whole service with sequences of stanzas.
if ENABLE_FUZZING
noinst_PROGRAMS += muc/fuzz/fuzz_muc_input muc/fuzz/fuzz_muc_stanza
endif
muc_fuzz_fuzz_muc_input_SOURCES = muc/fuzz/fuzz_muc_input.c
muc_fuzz_fuzz_muc_input_LDADD = $(MUC_LIBS)
muc_fuzz_fuzz_muc_input_LDFLAGS = $(LIB_FUZZING_ENGINE)
muc_fuzz_fuzz_muc_stanza_SOURCES = muc/fuzz/fuzz_muc_stanza.c
muc_fuzz_fuzz_muc_stanza_LDADD = $(FUZZ_STANZAS_LIBS) $(MUC_LIBS)
muc_fuzz_fuzz_muc_stanza_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += muc/README.md muc/fuzz/muc_input.dict muc/fuzz/muc_stanza.dict \
	muc/fuzz/corpus
