/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_tls.c: the TLS context of the cluster's links and the judgement
 * of a peer's certificate (see cluster_tls.h).
 */
#include "config.h"
#include "cluster-mod/cluster_tls.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cluster-mod/cluster_config.h"

static char tls_errbuf[512];

static const char *const refusal_names[CLUSTER_REFUSE_COUNT] = {
	[CLUSTER_REFUSE_NOT_TLS] = "not TLS",
	[CLUSTER_REFUSE_HANDSHAKE] = "TLS handshake failed",
	[CLUSTER_REFUSE_NO_CERT] = "no certificate",
	[CLUSTER_REFUSE_WRONG_CA] = "wrong CA",
	[CLUSTER_REFUSE_NAME] = "name mismatch",
	[CLUSTER_REFUSE_TIMEOUT] = "handshake timeout",
};

const char *cluster_refusal_name(enum cluster_refusal r)
{
	return (unsigned)r < CLUSTER_REFUSE_COUNT ? refusal_names[r] : "unknown";
}

void cluster_tls_last_error(char *buf, size_t size, const char *what)
{
	unsigned long e = ERR_peek_last_error();

	if (e != 0)
		ERR_error_string_n(e, buf, size);
	else
		snprintf(buf, size, "%s", what);
	ERR_clear_error();
}

/* "what file: OpenSSL's last reason", into the static buffer. */
static const char *tls_errorf(const char *what, const char *file)
{
	char reason[256];

	cluster_tls_last_error(reason, sizeof(reason), "unknown error");
	snprintf(tls_errbuf, sizeof(tls_errbuf), "%s %s: %s", what, file, reason);
	return tls_errbuf;
}

/* Keep the handshake going whatever the chain says: cluster_tls_judge()
 * reads SSL_get_verify_result() afterwards and names the reason. */
static int tls_verify_keep_going(int preverify_ok, X509_STORE_CTX *store)
{
	(void)preverify_ok;
	(void)store;
	return 1;
}

/* The subject's CN into buf ("" if none or unusable). */
static void cert_cn(X509 *cert, char *buf, size_t size)
{
	X509_NAME *subj = X509_get_subject_name(cert);
	int len;

	buf[0] = '\0';
	if (subj == NULL)
		return;
	len = X509_NAME_get_text_by_NID(subj, NID_commonName, buf, (int)size);
	if (len < 0 || (size_t)len >= size || strlen(buf) != (size_t)len)
		buf[0] = '\0';
}

/* Calls fn for each DNS subjectAltName (NUL-free ones only); stops when
 * fn returns nonzero and returns that. */
static int cert_dns_each(X509 *cert, int (*fn)(const char *dns, void *arg), void *arg)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	char name[CLUSTER_NODE_NAME_MAX + 1];
	int rc = 0;

	for (int i = 0; gens != NULL && rc == 0 && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		int len;

		if (g->type != GEN_DNS)
			continue;
		len = ASN1_STRING_length(g->d.dNSName);
		if (len <= 0 || (size_t)len >= sizeof(name))
			continue;
		memcpy(name, ASN1_STRING_get0_data(g->d.dNSName), (size_t)len);
		name[len] = '\0';
		if (strlen(name) != (size_t)len)
			continue;
		rc = fn(name, arg);
	}
	GENERAL_NAMES_free(gens);
	return rc;
}

static int dns_equals(const char *dns, void *arg)
{
	return strcasecmp(dns, arg) == 0;
}

static int dns_first(const char *dns, void *arg)
{
	char *out = arg;

	snprintf(out, CLUSTER_NODE_NAME_MAX + 1, "%s", dns);
	return 1;
}

int cluster_tls_cert_has_name(X509 *cert, const char *name)
{
	char cn[256];

	cert_cn(cert, cn, sizeof(cn));
	if (cn[0] != '\0' && strcasecmp(cn, name) == 0)
		return 1;
	return cert_dns_each(cert, dns_equals, (void *)name);
}

/* The names a certificate carries, for a refusal's detail. */
static void cert_names(X509 *cert, char *buf, size_t size)
{
	char cn[256], dns[CLUSTER_NODE_NAME_MAX + 1] = "";

	cert_cn(cert, cn, sizeof(cn));
	cert_dns_each(cert, dns_first, dns);
	snprintf(buf, size, "CN '%s'%s%s%s", cn, dns[0] ? ", DNS '" : "", dns,
		 dns[0] ? "'" : "");
}

static int ctx_check_own_name(SSL_CTX *ctx, const char *pemfile, const char *node,
			      const char **error_r)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	char names[400];

	if (cert == NULL) {
		snprintf(tls_errbuf, sizeof(tls_errbuf), "%s: no certificate", pemfile);
		*error_r = tls_errbuf;
		return -1;
	}
	if (cluster_tls_cert_has_name(cert, node))
		return 0;
	cert_names(cert, names, sizeof(names));
	snprintf(tls_errbuf, sizeof(tls_errbuf), "the certificate in %s does not carry "
		 "this node's name '%s' as its CN or a DNS subjectAltName (it has %s)",
		 pemfile, node, names);
	*error_r = tls_errbuf;
	return -1;
}

SSL_CTX *cluster_tls_ctx_new(const char *pemfile, const char *cachain, const char *node,
			     const char **element_r, const char **error_r)
{
	static const unsigned char sid_ctx[] = "jabberd-cluster-link";
	SSL_CTX *ctx;

	*element_r = "pemfile";
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_method());
	if (ctx == NULL) {
		*error_r = tls_errorf("cannot create a TLS context for", pemfile);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_NO_TICKET);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		*error_r = tls_errorf("TLS 1.3 is not available for", pemfile);
		goto err;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, pemfile) != 1) {
		*error_r = tls_errorf("cannot load the certificate chain from", pemfile);
		goto err;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, pemfile, SSL_FILETYPE_PEM) != 1) {
		*error_r = tls_errorf("cannot load the private key from", pemfile);
		goto err;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = tls_errorf("the key does not match the certificate in", pemfile);
		goto err;
	}
	if (ctx_check_own_name(ctx, pemfile, node, error_r) < 0)
		goto err;
	*element_r = "cachain";
	if (SSL_CTX_load_verify_locations(ctx, cachain, NULL) != 1) {
		*error_r = tls_errorf("cannot load the CA certificates from", cachain);
		goto err;
	}
	SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(cachain));
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	/* Links are long-lived: no session tickets (one less message in the
	 * handshake, no resumption state to protect). */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, tls_verify_keep_going);
	SSL_CTX_set_verify_depth(ctx, 8);
	return ctx;
err:
	SSL_CTX_free(ctx);
	return NULL;
}

int cluster_tls_judge(SSL *ssl, const char *expected, char *name_r, size_t name_size,
		      enum cluster_refusal *reason_r, char *detail_r, size_t detail_size)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	long vr = SSL_get_verify_result(ssl);
	char names[400], cn[256], dns[CLUSTER_NODE_NAME_MAX + 1] = "";

	detail_r[0] = '\0';
	if (cert == NULL) {
		*reason_r = CLUSTER_REFUSE_NO_CERT;
		snprintf(detail_r, detail_size, "the peer sent no certificate");
		return -1;
	}
	cert_names(cert, names, sizeof(names));
	if (vr != X509_V_OK) {
		*reason_r = CLUSTER_REFUSE_WRONG_CA;
		snprintf(detail_r, detail_size, "certificate %s does not verify against "
			 "<cachain>: %s", names, X509_verify_cert_error_string(vr));
		return -1;
	}
	if (expected != NULL) {
		if (!cluster_tls_cert_has_name(cert, expected)) {
			*reason_r = CLUSTER_REFUSE_NAME;
			snprintf(detail_r, detail_size, "dialled node '%s', certificate has %s",
				 expected, names);
			return -1;
		}
		snprintf(name_r, name_size, "%s", expected);
		return 0;
	}
	cert_cn(cert, cn, sizeof(cn));
	if (!cluster_node_name_valid(cn)) {
		cert_dns_each(cert, dns_first, dns);
		snprintf(cn, sizeof(cn), "%s", dns);
	}
	if (!cluster_node_name_valid(cn)) {
		*reason_r = CLUSTER_REFUSE_NAME;
		snprintf(detail_r, detail_size, "certificate has no node name (%s)", names);
		return -1;
	}
	snprintf(name_r, name_size, "%s", cn);
	return 0;
}
