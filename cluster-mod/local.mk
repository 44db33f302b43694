# SPDX-License-Identifier: GPL-2.0-or-later
# cluster-mod/: the cluster module the router loads for router.xml's
# <cluster> section (cluster-mod/README.md).

# ---- module skeleton, config and TLS links (branch i13-link) ----
# cluster.so: built -shared against our headers; its util/mio symbols bind
# to the router at dlopen (router_module.h), OpenSSL it links itself.
clustermoddir = $(pkglibdir)
clustermod_PROGRAMS = cluster-mod/cluster.so
cluster_mod_cluster_so_SOURCES = \
	cluster-mod/cluster.c \
	cluster-mod/cluster_config.c cluster-mod/cluster_config.h \
	cluster-mod/cluster_tls.c cluster-mod/cluster_tls.h \
	cluster-mod/cluster_link.c cluster-mod/cluster_link.h
cluster_mod_cluster_so_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
cluster_mod_cluster_so_CFLAGS = $(AM_CFLAGS) -fPIC
cluster_mod_cluster_so_LDFLAGS = $(AM_LDFLAGS) -shared
cluster_mod_cluster_so_LDADD = $(OPENSSL_LIBS)

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
	cluster-mod/cluster_tls.c cluster-mod/cluster_tls.h \
	cluster-mod/cluster_config.c cluster-mod/cluster_config.h \
	mio/tests/mio_test.c mio/tests/mio_test.h
cluster_mod_tests_test_cluster_link_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS) $(OPENSSL_CFLAGS)
cluster_mod_tests_test_cluster_link_LDADD = $(MIO_LIBS) $(UTIL_LIBS) $(CMOCKA_LIBS)
EXTRA_DIST += cluster-mod/README.md
# ---- end of i13-link ----
