/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tls_testlib: helpers shared by the TLS and SASL unit tests.
 *
 * Certificates: a throwaway CA, server and client certificates are made
 * with the OpenSSL API into a fresh temporary directory at test start and
 * removed at the end, so no private key is ever committed.
 *
 * Pairs: a client sx and a server sx wired back to back in memory. The
 * pump moves each side's output into the other's input (optionally one
 * byte at a time) until nothing moves; the callbacks record what each side
 * saw. The server answers every stream header with its own and features;
 * the client re-sends its header after STARTTLS and SASL success, as an
 * owner must.
 */
#ifndef SX_TESTS_TLS_TESTLIB_H
#define SX_TESTS_TLS_TESTLIB_H

#include <stddef.h>

#include "sx/sx.h"
#include "util/buf.h"

struct test_certs {
	char dir[128];
	char ca[192];             /* CA certificate */
	char other_ca[192];       /* an unrelated CA */
	char server[192];         /* localhost / example.org: chain + key */
	char server2[192];        /* other.example.net: chain + key (SNI) */
	char server_enc[192];     /* as server, key encrypted with "sekrit" */
	char client[192];         /* xmppAddr alice@example.org, DNS
				   * client.example.org: chain + key */
	char rogue_client[192];   /* same names, signed by other_ca */
};

/* Make the files; aborts the test program on failure. */
void test_certs_make(struct test_certs *c);
void test_certs_remove(struct test_certs *c);

/* A TLS context from a few settings; aborts on failure. */
struct sx_tls_ctx *test_tls_ctx(enum sx_type role, const char *pemfile, const char *cachain,
				int verify_mode, int max_version);

struct test_peer {
	struct sx *sx;
	struct test_pair *pair;
	int opened;               /* stream headers received */
	int closed;
	char close_cond[64];
	char close_text[256];
	int tls_done;
	int auth_ok;
	int auth_fail;
	char fail_cond[64];
	int elements;             /* elements that reached the owner */
	char last_elem[64];       /* name of the last one */
	int features_seen;        /* client: features that reached the owner */
	struct buf features_xml;  /* server: every features element sent,
				   * one a line */
	struct buf received;      /* every byte fed to this side */
	int reopen;               /* client: sx_open again on TLS/AUTH done */
};

struct test_pair {
	struct test_peer c, s;
	size_t chunk;             /* bytes per sx_input; 0 = all at once */
	/* Rewrite bytes flowing server -> client (tests of a lying server);
	 * may be NULL. */
	void (*tamper)(struct buf *server_to_client, void *arg);
	void *tamper_arg;
};

/* Create both streams (not yet opened). */
void test_pair_init(struct test_pair *p);
void test_pair_free(struct test_pair *p);
/* The client sends its header. */
void test_pair_open(struct test_pair *p);
/* Move bytes until quiet; returns the number of rounds, fails the test if
 * it never settles. */
int test_pair_pump(struct test_pair *p);
/* Feed raw text to a side as if the peer sent it. */
int test_feed(struct test_peer *peer, const char *text);
/* Take everything a side wants to send, as a string (free() it). */
char *test_drain(struct test_peer *peer);

/* The header a raw client sends to open a jabber:client stream. */
#define TEST_CLIENT_HEADER \
	"<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>"

#endif
