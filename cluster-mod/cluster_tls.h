/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_tls: the OpenSSL side of the cluster's links (cluster_link.c):
 * one SSL_CTX per node, TLS 1.3 only, this node's certificate and key from
 * <pemfile>, peers verified against <cachain>, and the checks that decide
 * whether a peer is admitted: a certificate was presented, it chains to
 * the cluster's CA, and it carries the expected node name as its CN or
 * a DNS subjectAltName. The chain is verified by OpenSSL during the
 * handshake but judged here afterwards, so that a refusal names its
 * reason precisely; nothing the peer sends past the handshake is read
 * before that judgement.
 */
#ifndef CLUSTER_MOD_CLUSTER_TLS_H
#define CLUSTER_MOD_CLUSTER_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

/* Why a peer was refused (the order is that of the counters and logs). */
enum cluster_refusal {
	CLUSTER_REFUSE_NOT_TLS = 0,     /* the first bytes are no TLS record */
	CLUSTER_REFUSE_HANDSHAKE,       /* TLS failed (version, alert, ...) */
	CLUSTER_REFUSE_NO_CERT,         /* the peer presented no certificate */
	CLUSTER_REFUSE_WRONG_CA,        /* it does not verify against <cachain> */
	CLUSTER_REFUSE_NAME,            /* it lacks the name dialled / claimed */
	CLUSTER_REFUSE_TIMEOUT,         /* no complete handshake in time */
	CLUSTER_REFUSE_COUNT
};

/* "not TLS", "TLS handshake failed", "no certificate", "wrong CA",
 * "name mismatch", "handshake timeout". */
const char *cluster_refusal_name(enum cluster_refusal r);

/*
 * The node's context: TLS 1.3 only, both roles (SSL_set_connect_state /
 * SSL_set_accept_state per link), a certificate always requested from
 * the peer. Checks that the certificate in `pemfile` carries `node` (CN or
 * DNS subjectAltName): a node that cannot prove its own name to its peers
 * refuses to start. Returns NULL with *error_r (a static buffer naming
 * the file and what is wrong; never key material) and *element_r, the
 * element at fault ("pemfile" or "cachain").
 */
SSL_CTX *cluster_tls_ctx_new(const char *pemfile, const char *cachain, const char *node,
			     const char **element_r, const char **error_r);

/* OpenSSL's last error reason into buf ("what" if the queue is empty),
 * and empty the thread's error queue. */
void cluster_tls_last_error(char *buf, size_t size, const char *what);

/* 1 if `cert` carries `name` as its subject CN or a DNS subjectAltName
 * (exact, case-insensitive, no wildcards), else 0. */
int cluster_tls_cert_has_name(X509 *cert, const char *name);

/*
 * Judge the peer of a completed handshake. `expected` is the node name
 * dialled (outgoing) or NULL (incoming: the certificate's name is the
 * peer's identity, its CN or else its first DNS subjectAltName, which
 * must be a valid node name). On success returns 0 and copies the peer's
 * node name into name_r. On refusal returns -1 with *reason_r and a
 * detail (the verification error, the names found) in detail_r.
 */
int cluster_tls_judge(SSL *ssl, const char *expected, char *name_r, size_t name_size,
		      enum cluster_refusal *reason_r, char *detail_r, size_t detail_size);

#endif
