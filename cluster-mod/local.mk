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
	cluster-mod/cluster_place.c \
	cluster-mod/cluster_route.h \
	cluster-mod/cluster_route.c
CLUSTERPROTO_LIBS = cluster-mod/libclusterproto.a $(UTIL_LIBS)

if HAVE_CMOCKA
CLUSTERPROTO_TESTS = \
	cluster-mod/tests/test_proto \
	cluster-mod/tests/test_place \
	cluster-mod/tests/test_cluster_route \
	cluster-mod/tests/test_cluster_names
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
cluster_mod_tests_test_cluster_route_SOURCES = cluster-mod/tests/test_cluster_route.c \
	util/tests/nad_same.c util/tests/nad_same.h
cluster_mod_tests_test_cluster_route_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
cluster_mod_tests_test_cluster_route_LDADD = $(CLUSTERPROTO_LIBS) $(CMOCKA_LIBS)
# cluster_names.c alone, the router and the state table stubbed in the test.
cluster_mod_tests_test_cluster_names_SOURCES = cluster-mod/tests/test_cluster_names.c \
	cluster-mod/cluster_names.c cluster-mod/cluster_names.h
cluster_mod_tests_test_cluster_names_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
cluster_mod_tests_test_cluster_names_LDADD = $(CLUSTERPROTO_LIBS) $(CMOCKA_LIBS)

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

# Fuzz target for the bytes written for the sm in place of a peer's route
# serialized again (seeds: fuzz/corpus/route/: a byte, then a route).
if ENABLE_FUZZING
noinst_PROGRAMS += cluster-mod/fuzz/fuzz_route
endif
cluster_mod_fuzz_fuzz_route_SOURCES = cluster-mod/fuzz/fuzz_route.c \
	util/tests/nad_same.c util/tests/nad_same.h
cluster_mod_fuzz_fuzz_route_LDADD = $(CLUSTERPROTO_LIBS)
cluster_mod_fuzz_fuzz_route_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += cluster-mod/fuzz/corpus/route
# --- end i13-proto ---

# ---- module skeleton, config and TLS links (branch i13-link) ----
# cluster.so: built -shared against our headers; its util/mio symbols bind
# to the router at dlopen (router_module.h); OpenSSL and the codec
# (libclusterproto.a, position-independent) it links itself.
clustermoddir = $(pkglibdir)
clustermod_PROGRAMS = cluster-mod/cluster.so
cluster_mod_cluster_so_SOURCES = \
	cluster-mod/cluster.c \
	cluster-mod/cluster_config.c cluster-mod/cluster_config.h \
	cluster-mod/cluster_tls.c cluster-mod/cluster_tls.h \
	cluster-mod/cluster_link.c cluster-mod/cluster_link.h \
	cluster-mod/cluster_peer.c cluster-mod/cluster_peer.h \
	cluster-mod/cluster_state.c cluster-mod/cluster_state.h \
	cluster-mod/cluster_local.c cluster-mod/cluster_local.h \
	cluster-mod/cluster_names.c cluster-mod/cluster_names.h \
	cluster-mod/cluster_members.c cluster-mod/cluster_members.h
cluster_mod_cluster_so_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
cluster_mod_cluster_so_CFLAGS = $(AM_CFLAGS) -fPIC
cluster_mod_cluster_so_LDFLAGS = $(AM_LDFLAGS) -shared
cluster_mod_cluster_so_LDADD = cluster-mod/libclusterproto.a $(OPENSSL_LIBS)

if HAVE_CMOCKA
CLUSTER_LINK_TESTS = cluster-mod/tests/test_cluster_config \
	cluster-mod/tests/test_cluster_link
check_PROGRAMS += $(CLUSTER_LINK_TESTS)
TESTS += $(CLUSTER_LINK_TESTS)
endif
cluster_mod_tests_test_cluster_config_SOURCES = cluster-mod/tests/test_cluster_config.c \
	cluster-mod/cluster_config.c cluster-mod/cluster_config.h
cluster_mod_tests_test_cluster_config_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
cluster_mod_tests_test_cluster_config_LDADD = $(UTIL_LIBS) $(CMOCKA_LIBS)
cluster_mod_tests_test_cluster_link_SOURCES = cluster-mod/tests/test_cluster_link.c \
	cluster-mod/cluster_link.c cluster-mod/cluster_link.h \
	cluster-mod/cluster_peer.c cluster-mod/cluster_peer.h \
	cluster-mod/cluster_tls.c cluster-mod/cluster_tls.h \
	cluster-mod/cluster_config.c cluster-mod/cluster_config.h \
	mio/tests/mio_test.c mio/tests/mio_test.h
cluster_mod_tests_test_cluster_link_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS) $(OPENSSL_CFLAGS)
cluster_mod_tests_test_cluster_link_LDADD = cluster-mod/libclusterproto.a $(MIO_LIBS) \
	$(UTIL_LIBS) $(CMOCKA_LIBS)
# Fuzz target for the <cluster> section (seeds: fuzz/corpus/cluster_config/).
if ENABLE_FUZZING
noinst_PROGRAMS += cluster-mod/fuzz/fuzz_cluster_config
endif
cluster_mod_fuzz_fuzz_cluster_config_SOURCES = cluster-mod/fuzz/fuzz_cluster_config.c \
	cluster-mod/cluster_config.c cluster-mod/cluster_config.h
cluster_mod_fuzz_fuzz_cluster_config_LDADD = $(UTIL_LIBS)
cluster_mod_fuzz_fuzz_cluster_config_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += cluster-mod/README.md cluster-mod/fuzz/cluster_config.dict \
	cluster-mod/fuzz/corpus/cluster_config
# ---- end of i13-link ----

# ---- status: control socket and the jabberd-cluster command (i13-status) ----
# The control socket's default path is under $(localstatedir)
# (cluster_control_path in cluster_config.c); module and command agree.
CLUSTER_DIRS_CPPFLAGS = -DLOCALSTATEDIR='"$(localstatedir)"' -DSYSCONFDIR='"$(sysconfdir)"'
cluster_mod_cluster_so_SOURCES += \
	cluster-mod/cluster_status.c cluster-mod/cluster_status.h \
	cluster-mod/cluster_control.c cluster-mod/cluster_control.h
cluster_mod_cluster_so_CPPFLAGS += $(CLUSTER_DIRS_CPPFLAGS)

bin_PROGRAMS += cluster-mod/jabberd-cluster
cluster_mod_jabberd_cluster_SOURCES = cluster-mod/jabberd-cluster.c \
	cluster-mod/cluster_config.c cluster-mod/cluster_config.h
cluster_mod_jabberd_cluster_CPPFLAGS = $(AM_CPPFLAGS) $(CLUSTER_DIRS_CPPFLAGS)
cluster_mod_jabberd_cluster_LDADD = $(UTIL_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += cluster-mod/tests/test_cluster_status
TESTS += cluster-mod/tests/test_cluster_status
endif
# The reports and what they name (state and refusal names), for the
# unit test and the fuzz target.
CLUSTER_STATUS_SOURCES = \
	cluster-mod/cluster_status.c cluster-mod/cluster_status.h \
	cluster-mod/cluster_fwd.c cluster-mod/cluster_fwd.h \
	cluster-mod/cluster_link.c cluster-mod/cluster_link.h \
	cluster-mod/cluster_tls.c cluster-mod/cluster_tls.h \
	cluster-mod/cluster_config.c cluster-mod/cluster_config.h
CLUSTER_STATUS_LIBS = cluster-mod/libclusterproto.a $(MIO_LIBS) $(UTIL_LIBS) $(OPENSSL_LIBS)
cluster_mod_tests_test_cluster_status_SOURCES = cluster-mod/tests/test_cluster_status.c \
	$(CLUSTER_STATUS_SOURCES)
cluster_mod_tests_test_cluster_status_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS) \
	$(OPENSSL_CFLAGS) $(CLUSTER_DIRS_CPPFLAGS)
cluster_mod_tests_test_cluster_status_LDADD = $(CLUSTER_STATUS_LIBS) $(CMOCKA_LIBS)
# Fuzz target for the control socket's parser and reports (seeds:
# fuzz/corpus/control/).
if ENABLE_FUZZING
noinst_PROGRAMS += cluster-mod/fuzz/fuzz_control
endif
cluster_mod_fuzz_fuzz_control_SOURCES = cluster-mod/fuzz/fuzz_control.c \
	$(CLUSTER_STATUS_SOURCES)
cluster_mod_fuzz_fuzz_control_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
cluster_mod_fuzz_fuzz_control_LDADD = $(CLUSTER_STATUS_LIBS)
cluster_mod_fuzz_fuzz_control_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += cluster-mod/fuzz/corpus/control
# ---- end of i13-status ----
# ---- replicated session table (branch i13-state) ----
if HAVE_CMOCKA
check_PROGRAMS += cluster-mod/tests/test_cluster_state
TESTS += cluster-mod/tests/test_cluster_state
endif
CLUSTER_STATE_NET = cluster-mod/cluster_state.c cluster-mod/cluster_state.h \
	cluster-mod/tests/state_net.c cluster-mod/tests/state_net.h
cluster_mod_tests_test_cluster_state_SOURCES = cluster-mod/tests/test_cluster_state.c \
	$(CLUSTER_STATE_NET)
cluster_mod_tests_test_cluster_state_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
cluster_mod_tests_test_cluster_state_LDADD = $(CLUSTERPROTO_LIBS) $(CMOCKA_LIBS)
# Memory per remote session and snapshot resync time of 100,000 sessions:
# build/cluster-mod/tests/bench_cluster_state [N]
noinst_PROGRAMS += cluster-mod/tests/bench_cluster_state
cluster_mod_tests_bench_cluster_state_SOURCES = cluster-mod/tests/bench_cluster_state.c \
	$(CLUSTER_STATE_NET)
cluster_mod_tests_bench_cluster_state_LDADD = $(CLUSTERPROTO_LIBS)
# Fuzz target for the table fed by a peer (seeds: fuzz/corpus/state/).
if ENABLE_FUZZING
noinst_PROGRAMS += cluster-mod/fuzz/fuzz_state
endif
cluster_mod_fuzz_fuzz_state_SOURCES = cluster-mod/fuzz/fuzz_state.c cluster-mod/fuzz/fuzz_frames.h \
	cluster-mod/cluster_state.c cluster-mod/cluster_state.h
cluster_mod_fuzz_fuzz_state_LDADD = $(CLUSTERPROTO_LIBS)
cluster_mod_fuzz_fuzz_state_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += cluster-mod/fuzz/corpus/state
# ---- end of i13-state ----
# ---- stanza forwarding between nodes (branch i13-fwd) ----
cluster_mod_cluster_so_SOURCES += \
	cluster-mod/cluster_fwd.c cluster-mod/cluster_fwd.h
if HAVE_CMOCKA
check_PROGRAMS += cluster-mod/tests/test_cluster_fwd
TESTS += cluster-mod/tests/test_cluster_fwd
endif
cluster_mod_tests_test_cluster_fwd_SOURCES = cluster-mod/tests/test_cluster_fwd.c \
	cluster-mod/cluster_fwd.c cluster-mod/cluster_fwd.h
cluster_mod_tests_test_cluster_fwd_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
cluster_mod_tests_test_cluster_fwd_LDADD = $(CLUSTERPROTO_LIBS) $(CMOCKA_LIBS)
# ---- end of i13-fwd ----
# Fuzz target for the stanza transport fed by a peer (seeds: fuzz/corpus/fwd/:
# a configuration byte, then STANZA and ACK frames).
if ENABLE_FUZZING
noinst_PROGRAMS += cluster-mod/fuzz/fuzz_fwd
endif
cluster_mod_fuzz_fuzz_fwd_SOURCES = cluster-mod/fuzz/fuzz_fwd.c cluster-mod/fuzz/fuzz_frames.h \
	cluster-mod/cluster_fwd.c cluster-mod/cluster_fwd.h
cluster_mod_fuzz_fuzz_fwd_LDADD = $(CLUSTERPROTO_LIBS)
cluster_mod_fuzz_fuzz_fwd_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += cluster-mod/fuzz/corpus/fwd
# ---- membership and failure detection (branch i13-memb) ----
if HAVE_CMOCKA
check_PROGRAMS += cluster-mod/tests/test_cluster_members
TESTS += cluster-mod/tests/test_cluster_members
endif
cluster_mod_tests_test_cluster_members_SOURCES = cluster-mod/tests/test_cluster_members.c \
	cluster-mod/cluster_members.c cluster-mod/cluster_members.h \
	cluster-mod/cluster_config.c cluster-mod/cluster_config.h
cluster_mod_tests_test_cluster_members_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
cluster_mod_tests_test_cluster_members_LDADD = $(CLUSTERPROTO_LIBS) $(CMOCKA_LIBS)
# Fuzz target for the member table fed by peers (seeds: fuzz/corpus/members/).
if ENABLE_FUZZING
noinst_PROGRAMS += cluster-mod/fuzz/fuzz_members
endif
cluster_mod_fuzz_fuzz_members_SOURCES = cluster-mod/fuzz/fuzz_members.c cluster-mod/fuzz/fuzz_frames.h \
	cluster-mod/cluster_members.c cluster-mod/cluster_members.h \
	cluster-mod/cluster_config.c cluster-mod/cluster_config.h
cluster_mod_fuzz_fuzz_members_LDADD = $(CLUSTERPROTO_LIBS)
cluster_mod_fuzz_fuzz_members_LDFLAGS = $(LIB_FUZZING_ENGINE)
EXTRA_DIST += cluster-mod/fuzz/corpus/members
# ---- end of i13-memb ----
