/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_config: router.xml's <cluster> section, read once at start by
 * the cluster module (cluster.c) into a struct cluster_config. The names
 * are those of issue 13, which operators and their tooling rely on:
 *
 *	<cluster>
 *	  <node>n1</node>
 *	  <ip>127.0.0.2</ip> <port>5348</port>
 *	  <pemfile>/etc/jabberd2/cluster/n1.pem</pemfile>
 *	  <cachain>/etc/jabberd2/cluster/ca.pem</cachain>
 *	  <peer name='n2' ip='127.0.0.3' port='5348'/>     repeatable
 *	  <domain>example.org</domain>                    repeatable
 *	  <profile>lan</profile>                          lan | wan
 *	  <control>/var/lib/jabberd/pid/cluster.sock</control>   optional
 *	  <sm>sm-n1</sm>          the local sm's <router_id> (optional)
 *	  <queue frames='65536' bytes='33554432'/>   per-peer bound (optional)
 *	</cluster>
 *
 * Every error names the file, the line and the element, and says what is
 * wrong ("router.xml:7: <cluster><peer>: name 'n1' is this node's own
 * name"). Unknown child elements are logged as warnings, not errors, so a
 * newer router.xml still starts an older module.
 */
#ifndef CLUSTER_MOD_CLUSTER_CONFIG_H
#define CLUSTER_MOD_CLUSTER_CONFIG_H

#include <stddef.h>

struct config;

#define CLUSTER_DEFAULT_PORT 5348
/* A node name: 1..63 of [A-Za-z0-9.-_], so that it fits a certificate's
 * CN or DNS subjectAltName and a log line. */
#define CLUSTER_NODE_NAME_MAX 63
/* Peers and domains one section may list. */
#define CLUSTER_MAX_PEERS 64
#define CLUSTER_MAX_DOMAINS 64
/* <queue>: stanzas and route bytes that may wait for a peer's ACK, per
 * peer (docs/cluster-protocol.md "How STANZA and ACK are used"). 0 in
 * the config: cluster_fwd.h's defaults. */
#define CLUSTER_QUEUE_FRAMES_MAX (1024u * 1024u)
#define CLUSTER_QUEUE_BYTES_MIN (1024u * 1024u)         /* one whole frame */
#define CLUSTER_QUEUE_BYTES_MAX (1024u * 1024u * 1024u)
/* <control>: an absolute path that fits sockaddr_un's sun_path. */
#define CLUSTER_CONTROL_PATH_MAX 107

enum cluster_profile {
	CLUSTER_PROFILE_LAN = 0,
	CLUSTER_PROFILE_WAN = 1,
};

struct cluster_peer_config {
	char *name;
	char *ip;               /* numeric IPv4 or IPv6 */
	int port;
	unsigned line;          /* in router.xml, for later messages */
};

struct cluster_config {
	char *file;             /* router.xml's path, for messages */
	char *node;
	char *ip;
	int port;
	char *pemfile;
	char *cachain;
	unsigned pemfile_line;  /* where <pemfile> is, for the certificate check */
	struct cluster_peer_config *peers;
	int npeers;
	char **domains;
	int ndomains;
	enum cluster_profile profile;
	char *control;          /* <control>, or NULL: the default path */
	char *sm;               /* <sm>: the local sm's router name, or NULL */
	size_t queue_frames;    /* <queue frames=''>, or 0: the default */
	size_t queue_bytes;     /* <queue bytes=''>, or 0: the default */
};

/*
 * Read the <cluster> section of `cfg` (a router.xml as loaded by
 * config_load). Returns the settings (free with cluster_config_free), or
 * NULL with *error_r: "<file>:<line>: <cluster><elem>: what is wrong",
 * valid until the next config call. Files are not opened here.
 */
struct cluster_config *cluster_config_read(const struct config *cfg, const char **error_r);

void cluster_config_free(struct cluster_config **ccp);

/* 1 if `name` is a valid node name (see CLUSTER_NODE_NAME_MAX). */
int cluster_node_name_valid(const char *name);

const char *cluster_profile_name(enum cluster_profile p);

/*
 * The control socket's path (cluster_control.h) for router.xml `cfg`:
 * <cluster><control>; or beside the router's <pidfile>, named after it
 * (.../pid/router.pid gives .../pid/router-cluster.sock, one per router
 * on the host); or LOCALSTATEDIR/jabberd/cluster.sock without a
 * <pidfile>. Shared by the module
 * and the jabberd-cluster command. Returns 0, or -1 if it does not fit
 * `size`.
 */
#define CLUSTER_CONTROL_DEFAULT_NAME "cluster.sock"
int cluster_control_path(const struct config *cfg, char *out, size_t size);

#endif
