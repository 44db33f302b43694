# SPDX-License-Identifier: GPL-2.0-or-later
# cluster-mod/: the cluster module the router loads (see cluster-mod/README.md).

# --- i13-proto: the wire format and placement (pure code, no I/O) ---
# libclusterproto.a holds the frame codec (cluster_proto.[ch]) and the
# rendezvous placement (cluster_place.[ch]); the module links it. It goes
# into cluster.so, so it is built position-independent whatever the
# compiler's default.
noinst_LIBRARIES += cluster-mod/libclusterproto.a
cluster_mod_libclusterproto_a_CPPFLAGS = $(AM_CPPFLAGS)
cluster_mod_libclusterproto_a_CFLAGS = $(AM_CFLAGS) -fPIC
cluster_mod_libclusterproto_a_SOURCES = \
	cluster-mod/cluster_proto.h \
	cluster-mod/cluster_proto.c \
	cluster-mod/cluster_place.h \
	cluster-mod/cluster_place.c
CLUSTERPROTO_LIBS = cluster-mod/libclusterproto.a $(UTIL_LIBS)

if HAVE_CMOCKA
CLUSTERPROTO_TESTS = \
	cluster-mod/tests/test_proto \
	cluster-mod/tests/test_place
check_PROGRAMS += $(CLUSTERPROTO_TESTS)
TESTS += $(CLUSTERPROTO_TESTS)
endif
# A second implementation written from docs/cluster-protocol.md decodes the
# seed corpus and recomputes placement weights: the document stays exact.
TESTS += cluster-mod/tests/test_proto_doc.py
EXTRA_DIST += cluster-mod/tests/test_proto_doc.py
cluster_mod_tests_test_proto_SOURCES = cluster-mod/tests/test_proto.c \
	cluster-mod/tests/proto_samples.c cluster-mod/tests/proto_samples.h
cluster_mod_tests_test_proto_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
cluster_mod_tests_test_proto_LDADD = $(CLUSTERPROTO_LIBS) $(CMOCKA_LIBS)
cluster_mod_tests_test_place_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
cluster_mod_tests_test_place_LDADD = $(CLUSTERPROTO_LIBS) $(CMOCKA_LIBS)

# Writes one valid frame of each type as the fuzz target's seed corpus:
# cluster-mod/tests/gen_proto_corpus DIR (the seeds in the tree came from it).
noinst_PROGRAMS += cluster-mod/tests/gen_proto_corpus
cluster_mod_tests_gen_proto_corpus_SOURCES = cluster-mod/tests/gen_proto_corpus.c \
	cluster-mod/tests/proto_samples.c cluster-mod/tests/proto_samples.h
cluster_mod_tests_gen_proto_corpus_LDADD = $(CLUSTERPROTO_LIBS)

# Fuzz target for the frame decoder (seeds: fuzz/corpus/frame/, frame.dict).
if ENABLE_FUZZING
noinst_PROGRAMS += cluster-mod/fuzz/fuzz_frame
endif
cluster_mod_fuzz_fuzz_frame_SOURCES = cluster-mod/fuzz/fuzz_frame.c
cluster_mod_fuzz_fuzz_frame_LDADD = $(CLUSTERPROTO_LIBS)
cluster_mod_fuzz_fuzz_frame_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += cluster-mod/fuzz/frame.dict cluster-mod/fuzz/corpus/frame
# --- end i13-proto ---
