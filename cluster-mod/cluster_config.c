/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_config.c: reading and checking router.xml's <cluster> section
 * (see cluster_config.h). One pass over the section's children; each
 * element has a reader that stores its value or names what is wrong.
 */
#include "config.h"
#include "cluster-mod/cluster_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"    /* configure's --localstatedir in a build */
#endif

int cluster_node_name_valid(const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0;

	if (len == 0 || len > CLUSTER_NODE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '.' && c != '-' && c != '_')
			return 0;
	}
	return 1;
}

const char *cluster_profile_name(enum cluster_profile p)
{
	return p == CLUSTER_PROFILE_WAN ? "wan" : "lan";
}

static int ip_valid(const char *ip)
{
	unsigned char buf[16];

	return ip != NULL && (inet_pton(AF_INET, ip, buf) == 1 ||
			      inet_pton(AF_INET6, ip, buf) == 1);
}

/* A port: decimal 1..65535, nothing else. -1 if invalid. */
static int port_parse(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

/* The element's text without surrounding blanks (config keeps values as
 * written), newly allocated. */
static char *text_of(const struct config_node *n)
{
	const char *v = config_node_value(n), *end;

	if (v == NULL)
		v = "";
	while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
		v++;
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
			   end[-1] == '\r'))
		end--;
	return xstrndup(v, (size_t)(end - v));
}

struct reader {
	const struct config *cfg;
	struct cluster_config *cc;
	const char *error;
	int seen_node, seen_ip, seen_port, seen_pemfile, seen_cachain, seen_profile;
	int seen_control, seen_sm, seen_queue;
};

/* Record the first error (later ones are consequences). */
#define READ_FAIL(rd, n, ...) do { \
		if ((rd)->error == NULL) \
			(rd)->error = config_errorf((rd)->cfg, (n), __VA_ARGS__); \
		return -1; \
	} while (0)

static int once(struct reader *rd, const struct config_node *n, int *seen)
{
	if (*seen)
		READ_FAIL(rd, n, "given more than once");
	*seen = 1;
	return 0;
}

/* A single text element that `valid` must accept; `what` completes
 * "'<value>' ..." in the error. */
static int read_checked(struct reader *rd, const struct config_node *n, int *seen,
			int (*valid)(const char *), const char *what, char **out)
{
	char *v;

	if (once(rd, n, seen) < 0)
		return -1;
	v = text_of(n);
	if (!valid(v)) {
		rd->error = config_errorf(rd->cfg, n, "'%s' %s", v, what);
		free(v);
		return -1;
	}
	*out = v;
	return 0;
}

#define STR_(x) #x
#define STR(x) STR_(x)

static int read_node(struct reader *rd, const struct config_node *n)
{
	return read_checked(rd, n, &rd->seen_node, cluster_node_name_valid,
			    "is not a node name (1 to " STR(CLUSTER_NODE_NAME_MAX)
			    " letters, digits, '.', '-', '_')",
			    &rd->cc->node);
}

static int read_ip(struct reader *rd, const struct config_node *n)
{
	return read_checked(rd, n, &rd->seen_ip, ip_valid,
			    "is not a numeric IPv4 or IPv6 address", &rd->cc->ip);
}

static int read_port(struct reader *rd, const struct config_node *n)
{
	char *v;

	if (once(rd, n, &rd->seen_port) < 0)
		return -1;
	v = text_of(n);
	rd->cc->port = port_parse(v);
	if (rd->cc->port < 0) {
		rd->error = config_errorf(rd->cfg, n, "'%s' is not a port (1 to 65535)", v);
		free(v);
		return -1;
	}
	free(v);
	return 0;
}

static int read_file(struct reader *rd, const struct config_node *n, int *seen, char **out)
{
	if (once(rd, n, seen) < 0)
		return -1;
	*out = text_of(n);
	if (**out == '\0')
		READ_FAIL(rd, n, "empty: the path of a PEM file is needed");
	return 0;
}

/* <control>: the status socket's path (cluster_control.h). */
static int read_control(struct reader *rd, const struct config_node *n)
{
	if (once(rd, n, &rd->seen_control) < 0)
		return -1;
	rd->cc->control = text_of(n);
	if (rd->cc->control[0] != '/')
		READ_FAIL(rd, n, "'%s' is not an absolute path", rd->cc->control);
	if (strlen(rd->cc->control) > CLUSTER_CONTROL_PATH_MAX)
		READ_FAIL(rd, n, "path longer than %d bytes (a unix socket's limit)",
			  CLUSTER_CONTROL_PATH_MAX);
	return 0;
}

static int read_peer(struct reader *rd, const struct config_node *n)
{
	struct cluster_config *cc = rd->cc;
	const char *name = config_node_attr(n, "name"), *ip = config_node_attr(n, "ip");
	const char *port = config_node_attr(n, "port");
	struct cluster_peer_config *p;

	if (cc->npeers >= CLUSTER_MAX_PEERS)
		READ_FAIL(rd, n, "more than %d peers", CLUSTER_MAX_PEERS);
	if (name == NULL)
		READ_FAIL(rd, n, "no name='...' attribute (the peer's node name)");
	if (!cluster_node_name_valid(name))
		READ_FAIL(rd, n, "name '%s' is not a node name (1 to %d letters, digits, "
			  "'.', '-', '_')", name, CLUSTER_NODE_NAME_MAX);
	if (ip == NULL)
		READ_FAIL(rd, n, "peer '%s' has no ip='...' attribute", name);
	if (!ip_valid(ip))
		READ_FAIL(rd, n, "peer '%s': ip '%s' is not a numeric IPv4 or IPv6 address",
			  name, ip);
	if (port != NULL && port_parse(port) < 0)
		READ_FAIL(rd, n, "peer '%s': port '%s' is not a port (1 to 65535)", name, port);
	for (int i = 0; i < cc->npeers; i++)
		if (strcmp(cc->peers[i].name, name) == 0)
			READ_FAIL(rd, n, "peer '%s' is listed twice (first at line %u)",
				  name, cc->peers[i].line);
	cc->peers = xrealloc(cc->peers, (size_t)(cc->npeers + 1) * sizeof(*cc->peers));
	p = &cc->peers[cc->npeers++];
	p->name = xstrdup(name);
	p->ip = xstrdup(ip);
	p->port = port != NULL ? port_parse(port) : CLUSTER_DEFAULT_PORT;
	p->line = config_node_line(n);
	return 0;
}

static int read_domain(struct reader *rd, const struct config_node *n)
{
	struct cluster_config *cc = rd->cc;
	char *v;

	if (cc->ndomains >= CLUSTER_MAX_DOMAINS)
		READ_FAIL(rd, n, "more than %d domains", CLUSTER_MAX_DOMAINS);
	v = text_of(n);
	if (*v == '\0' || strchr(v, '@') != NULL || strchr(v, '/') != NULL ||
	    strchr(v, ' ') != NULL) {
		rd->error = config_errorf(rd->cfg, n, "'%s' is not a domain name", v);
		free(v);
		return -1;
	}
	for (int i = 0; i < cc->ndomains; i++) {
		if (strcmp(cc->domains[i], v) == 0) {
			rd->error = config_errorf(rd->cfg, n, "domain '%s' is listed twice", v);
			free(v);
			return -1;
		}
	}
	cc->domains = xrealloc(cc->domains, (size_t)(cc->ndomains + 1) * sizeof(*cc->domains));
	cc->domains[cc->ndomains++] = v;
	return 0;
}

static int read_profile(struct reader *rd, const struct config_node *n)
{
	char *v;

	if (once(rd, n, &rd->seen_profile) < 0)
		return -1;
	v = text_of(n);
	if (strcmp(v, "lan") == 0) {
		rd->cc->profile = CLUSTER_PROFILE_LAN;
	} else if (strcmp(v, "wan") == 0) {
		rd->cc->profile = CLUSTER_PROFILE_WAN;
	} else {
		rd->error = config_errorf(rd->cfg, n, "'%s' is not a profile (lan or wan)", v);
		free(v);
		return -1;
	}
	free(v);
	return 0;
}

/* <sm>: the router name of this node's sm (its <router_id>), where
 * routes for the clustered domains are handed while no other node is
 * involved. */
static int read_sm(struct reader *rd, const struct config_node *n)
{
	char *v;

	if (once(rd, n, &rd->seen_sm) < 0)
		return -1;
	v = text_of(n);
	if (*v == '\0' || strlen(v) > 1023 || strpbrk(v, "@/ ") != NULL) {
		rd->error = config_errorf(rd->cfg, n, "'%s' is not a component name", v);
		free(v);
		return -1;
	}
	rd->cc->sm = v;
	return 0;
}

/* A decimal count in [min, max], or 0 when it is not one. */
static size_t count_parse(const char *v, size_t min, size_t max)
{
	size_t n = 0;

	if (*v == '\0' || strlen(v) > 10)
		return 0;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return 0;
		n = n * 10 + (size_t)(*v - '0');
	}
	return n >= min && n <= max ? n : 0;
}

/* <queue frames='N' bytes='N'/>: the bound of what waits for a peer's
 * ACK; either attribute may be left out (the default). */
static int read_queue(struct reader *rd, const struct config_node *n)
{
	const char *frames = config_node_attr(n, "frames");
	const char *bytes = config_node_attr(n, "bytes");

	if (once(rd, n, &rd->seen_queue) < 0)
		return -1;
	if (frames != NULL &&
	    (rd->cc->queue_frames = count_parse(frames, 1, CLUSTER_QUEUE_FRAMES_MAX)) == 0)
		READ_FAIL(rd, n, "frames '%s' is not a count of stanzas (1 to %u)", frames,
			  CLUSTER_QUEUE_FRAMES_MAX);
	if (bytes != NULL &&
	    (rd->cc->queue_bytes = count_parse(bytes, CLUSTER_QUEUE_BYTES_MIN,
					       CLUSTER_QUEUE_BYTES_MAX)) == 0)
		READ_FAIL(rd, n, "bytes '%s' is not a size in bytes (%u to %u: at least one "
			  "whole frame)", bytes, CLUSTER_QUEUE_BYTES_MIN, CLUSTER_QUEUE_BYTES_MAX);
	return 0;
}

static int read_child(struct reader *rd, const struct config_node *n)
{
	const char *name = config_node_name(n);

	if (strcmp(name, "node") == 0)
		return read_node(rd, n);
	if (strcmp(name, "ip") == 0)
		return read_ip(rd, n);
	if (strcmp(name, "port") == 0)
		return read_port(rd, n);
	if (strcmp(name, "pemfile") == 0) {
		rd->cc->pemfile_line = config_node_line(n);
		return read_file(rd, n, &rd->seen_pemfile, &rd->cc->pemfile);
	}
	if (strcmp(name, "cachain") == 0)
		return read_file(rd, n, &rd->seen_cachain, &rd->cc->cachain);
	if (strcmp(name, "peer") == 0)
		return read_peer(rd, n);
	if (strcmp(name, "domain") == 0)
		return read_domain(rd, n);
	if (strcmp(name, "profile") == 0)
		return read_profile(rd, n);
	if (strcmp(name, "control") == 0)
		return read_control(rd, n);
	if (strcmp(name, "sm") == 0)
		return read_sm(rd, n);
	if (strcmp(name, "queue") == 0)
		return read_queue(rd, n);
	if (strcmp(name, "module") == 0)
		return 0;       /* the router's: which file to load */
	log_warnx("%s", config_errorf(rd->cfg, n, "unknown element, ignored"));
	return 0;
}

/* What must be there once every child has been read. */
static int check_required(struct reader *rd, const struct config_node *section)
{
	struct cluster_config *cc = rd->cc;

	if (cc->node == NULL)
		READ_FAIL(rd, section, "no <node> (this node's name)");
	if (cc->ip == NULL)
		READ_FAIL(rd, section, "no <ip> (the address peers connect to, and "
			  "outgoing links leave from)");
	if (cc->pemfile == NULL)
		READ_FAIL(rd, section, "no <pemfile> (this node's certificate and key)");
	if (cc->cachain == NULL)
		READ_FAIL(rd, section, "no <cachain> (the cluster's CA certificate)");
	if (cc->ndomains == 0)
		READ_FAIL(rd, section, "no <domain> (a domain the cluster serves)");
	for (int i = 0; i < cc->npeers; i++) {
		const struct cluster_peer_config *p = &cc->peers[i];

		if (strcmp(p->name, cc->node) == 0)
			READ_FAIL(rd, config_node(rd->cfg, "cluster.peer", i),
				  "peer '%s' is this node's own <node>", p->name);
		if (strcmp(p->ip, cc->ip) == 0 && p->port == cc->port)
			READ_FAIL(rd, config_node(rd->cfg, "cluster.peer", i),
				  "peer '%s' has this node's own address %s port %d",
				  p->name, p->ip, p->port);
	}
	return 0;
}

struct cluster_config *cluster_config_read(const struct config *cfg, const char **error_r)
{
	const struct config_node *section = config_node(cfg, "cluster", 0);
	struct reader rd = { .cfg = cfg };
	const struct config_node *n;

	if (section == NULL) {
		*error_r = config_errorf(cfg, NULL, "<cluster>: no such section");
		return NULL;
	}
	if (config_count(cfg, "cluster") > 1) {
		*error_r = config_errorf(cfg, config_node(cfg, "cluster", 1),
					 "given more than once");
		return NULL;
	}
	rd.cc = xcalloc(1, sizeof(*rd.cc));
	rd.cc->file = xstrdup(config_file(cfg) != NULL ? config_file(cfg) : "router.xml");
	rd.cc->port = CLUSTER_DEFAULT_PORT;
	for (n = config_node_child(section, NULL); n != NULL; n = config_node_next(n, NULL))
		if (read_child(&rd, n) < 0)
			break;
	if (rd.error == NULL)
		check_required(&rd, section);
	if (rd.error != NULL) {
		*error_r = rd.error;
		cluster_config_free(&rd.cc);
		return NULL;
	}
	return rd.cc;
}

void cluster_config_free(struct cluster_config **ccp)
{
	struct cluster_config *cc = *ccp;

	if (cc == NULL)
		return;
	for (int i = 0; i < cc->npeers; i++) {
		free(cc->peers[i].name);
		free(cc->peers[i].ip);
	}
	free(cc->peers);
	for (int i = 0; i < cc->ndomains; i++)
		free(cc->domains[i]);
	free(cc->domains);
	free(cc->file);
	free(cc->node);
	free(cc->ip);
	free(cc->pemfile);
	free(cc->cachain);
	free(cc->control);
	free(cc->sm);
	free(cc);
	*ccp = NULL;
}

int cluster_control_path(const struct config *cfg, char *out, size_t size)
{
	const char *control = config_get(cfg, "cluster.control");
	const char *pidfile = config_get(cfg, "pidfile");
	size_t stem;
	int n;

	if (control != NULL && control[0] != '\0') {
		n = snprintf(out, size, "%s", control);
	} else if (pidfile != NULL && pidfile[0] == '/') {
		/* beside the pid file, named after it: one per router */
		stem = strlen(pidfile);
		if (stem > 4 && strcmp(pidfile + stem - 4, ".pid") == 0)
			stem -= 4;
		n = snprintf(out, size, "%.*s-%s", (int)stem, pidfile,
			     CLUSTER_CONTROL_DEFAULT_NAME);
	} else {
		n = snprintf(out, size, "%s/jabberd/%s", LOCALSTATEDIR,
			     CLUSTER_CONTROL_DEFAULT_NAME);
	}
	return n < 0 || (size_t)n >= size ? -1 : 0;
}
