/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for cluster-mod/cluster_proto.c: every frame type survives a
 * round trip field for field and re-encodes to the same bytes; a stream of
 * frames fed one byte at a time comes out whole and in order; every
 * truncation is "need more" or a rejection, never another frame; hand-built
 * payloads over each limit, with bad enums, flags or versions are rejected;
 * version negotiation in both directions.
 */
#include "config.h"
#include "cluster-mod/cluster_proto.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster-mod/tests/proto_samples.h"
#include "util/buf.h"

#define V CLUSTER_PROTO_VERSION_MAX

static void encode_ok(const struct cluster_frame *f, struct buf *b)
{
	const char *error = NULL;

	buf_reset(b);
	if (cluster_frame_encode(f, b, &error) < 0)
		fail_msg("encode %s: %s", cluster_frame_type_name(f->type), error);
}

static void assert_bytes_equal(const struct cluster_bytes *a, const struct cluster_bytes *b)
{
	assert_int_equal(a->len, b->len);
	if (a->len > 0)
		assert_memory_equal(a->ptr, b->ptr, a->len);
}

static void assert_entries_equal(const struct cluster_entry *a, const struct cluster_entry *b,
				 size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		assert_int_equal(a[i].op, b[i].op);
		assert_bytes_equal(&a[i].name, &b[i].name);
		assert_int_equal(a[i].priority, b[i].priority);
		assert_int_equal(a[i].flags, b[i].flags);
		assert_int_equal(a[i].started_ms, b[i].started_ms);
		assert_bytes_equal(&a[i].sid, &b[i].sid);
	}
}

static void assert_strs_equal(const struct cluster_bytes *a, const struct cluster_bytes *b,
			      size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_bytes_equal(&a[i], &b[i]);
}

/* Field-by-field equality, so a field both directions forgot is caught. */
static void assert_frame_equal(const struct cluster_frame *a, const struct cluster_frame *b)
{
	size_t i;

	assert_int_equal(a->version, b->version);
	assert_int_equal(a->type, b->type);
	switch (a->type) {
	case CLUSTER_FRAME_HELLO:
		assert_int_equal(a->u.hello.version_min, b->u.hello.version_min);
		assert_int_equal(a->u.hello.version_max, b->u.hello.version_max);
		assert_int_equal(a->u.hello.incarnation, b->u.hello.incarnation);
		assert_bytes_equal(&a->u.hello.node, &b->u.hello.node);
		assert_bytes_equal(&a->u.hello.ip, &b->u.hello.ip);
		assert_int_equal(a->u.hello.port, b->u.hello.port);
		assert_int_equal(a->u.hello.ndomains, b->u.hello.ndomains);
		assert_strs_equal(a->u.hello.domains, b->u.hello.domains, a->u.hello.ndomains);
		break;
	case CLUSTER_FRAME_HELLO_ACK:
		assert_int_equal(a->u.hello_ack.result, b->u.hello_ack.result);
		assert_int_equal(a->u.hello_ack.version, b->u.hello_ack.version);
		assert_int_equal(a->u.hello_ack.incarnation, b->u.hello_ack.incarnation);
		assert_bytes_equal(&a->u.hello_ack.node, &b->u.hello_ack.node);
		break;
	case CLUSTER_FRAME_PING:
	case CLUSTER_FRAME_PONG:
		assert_int_equal(a->u.ping.seq, b->u.ping.seq);
		assert_int_equal(a->u.ping.timestamp_us, b->u.ping.timestamp_us);
		break;
	case CLUSTER_FRAME_BYE:
		assert_int_equal(a->u.bye.reason, b->u.bye.reason);
		assert_bytes_equal(&a->u.bye.text, &b->u.bye.text);
		break;
	case CLUSTER_FRAME_STATE_DELTA:
		assert_bytes_equal(&a->u.delta.origin, &b->u.delta.origin);
		assert_int_equal(a->u.delta.incarnation, b->u.delta.incarnation);
		assert_int_equal(a->u.delta.first_seq, b->u.delta.first_seq);
		assert_int_equal(a->u.delta.nentries, b->u.delta.nentries);
		assert_entries_equal(a->u.delta.entries, b->u.delta.entries, a->u.delta.nentries);
		break;
	case CLUSTER_FRAME_STATE_REQUEST:
		assert_bytes_equal(&a->u.request.origin, &b->u.request.origin);
		assert_int_equal(a->u.request.incarnation, b->u.request.incarnation);
		assert_int_equal(a->u.request.mode, b->u.request.mode);
		assert_int_equal(a->u.request.from_seq, b->u.request.from_seq);
		break;
	case CLUSTER_FRAME_STATE_SNAPSHOT:
		assert_bytes_equal(&a->u.snapshot.origin, &b->u.snapshot.origin);
		assert_int_equal(a->u.snapshot.incarnation, b->u.snapshot.incarnation);
		assert_int_equal(a->u.snapshot.seq, b->u.snapshot.seq);
		assert_int_equal(a->u.snapshot.flags, b->u.snapshot.flags);
		assert_int_equal(a->u.snapshot.nentries, b->u.snapshot.nentries);
		assert_entries_equal(a->u.snapshot.entries, b->u.snapshot.entries,
				     a->u.snapshot.nentries);
		break;
	case CLUSTER_FRAME_STANZA:
		assert_int_equal(a->u.stanza.seq, b->u.stanza.seq);
		assert_bytes_equal(&a->u.stanza.route, &b->u.stanza.route);
		assert_int_equal(a->u.stanza.ntargets, b->u.stanza.ntargets);
		assert_strs_equal(a->u.stanza.targets, b->u.stanza.targets, a->u.stanza.ntargets);
		break;
	case CLUSTER_FRAME_ACK:
		assert_int_equal(a->u.ack.seq, b->u.ack.seq);
		break;
	case CLUSTER_FRAME_TAKEN:
		assert_int_equal(a->u.taken.incarnation, b->u.taken.incarnation);
		assert_int_equal(a->u.taken.peer_incarnation, b->u.taken.peer_incarnation);
		assert_int_equal(a->u.taken.seq, b->u.taken.seq);
		break;
	case CLUSTER_FRAME_MEMBERS:
		assert_int_equal(a->u.members.nmembers, b->u.members.nmembers);
		for (i = 0; i < a->u.members.nmembers; i++) {
			const struct cluster_member *x = &a->u.members.members[i];
			const struct cluster_member *y = &b->u.members.members[i];

			assert_bytes_equal(&x->name, &y->name);
			assert_bytes_equal(&x->ip, &y->ip);
			assert_int_equal(x->port, y->port);
			assert_int_equal(x->incarnation, y->incarnation);
			assert_int_equal(x->state, y->state);
		}
		break;
	default:
		fail_msg("unexpected type %u", a->type);
	}
}

/* Every type the header can name has a sample. */
static void test_samples_cover_every_type(void **state)
{
	const struct proto_sample *s;
	int seen[CLUSTER_FRAME_TYPE_LAST + 1] = { 0 };
	size_t n, i;
	int t;

	(void)state;
	s = proto_samples(&n);
	for (i = 0; i < n; i++)
		seen[s[i].frame.type] = 1;
	for (t = 1; t <= CLUSTER_FRAME_TYPE_LAST; t++)
		if (!seen[t])
			fail_msg("no sample of %s", cluster_frame_type_name((uint8_t)t));
}

static void test_roundtrip(void **state)
{
	const struct proto_sample *s;
	struct buf b = { 0 }, again = { 0 };
	struct cluster_frame f;
	const char *error = NULL;
	size_t n, i, flen = 0;

	(void)state;
	s = proto_samples(&n);
	for (i = 0; i < n; i++) {
		encode_ok(&s[i].frame, &b);
		assert_int_equal(cluster_frame_scan(b.data, b.len, &flen, &error),
				 CLUSTER_SCAN_FRAME);
		assert_int_equal(flen, b.len);
		if (cluster_frame_decode(b.data, b.len, V, &f, &error) < 0)
			fail_msg("%s: %s", s[i].name, error);
		assert_frame_equal(&s[i].frame, &f);
		encode_ok(&f, &again);
		assert_int_equal(again.len, b.len);
		assert_memory_equal(again.data, b.data, b.len);
		cluster_frame_clear(&f);
	}
	buf_free(&b);
	buf_free(&again);
}

/* The byte layout itself, as docs/cluster-protocol.md gives it. */
static void test_known_bytes(void **state)
{
	static const uint8_t ping[] = {
		0x4a, 0x43, V, 3, 0, 0, 0, 16,
		0, 0, 0, 0, 0, 0, 0, 17,
		1, 2, 3, 4, 5, 6, 7, 8,
	};
	static const uint8_t bye[] = {
		0x4a, 0x43, 0, 5, 0, 0, 0, 5, 1, 0, 2, 'h', 'i',
	};
	struct cluster_frame f = { .version = V, .type = CLUSTER_FRAME_PING,
		.u.ping = { .seq = 17, .timestamp_us = 0x0102030405060708ULL } };
	struct buf b = { 0 };
	const char *error = NULL;

	(void)state;
	encode_ok(&f, &b);
	assert_int_equal(b.len, sizeof(ping));
	assert_memory_equal(b.data, ping, sizeof(ping));
	assert_int_equal(cluster_frame_decode(bye, sizeof(bye), 0, &f, &error), 0);
	assert_int_equal(f.type, CLUSTER_FRAME_BYE);
	assert_int_equal(f.u.bye.reason, CLUSTER_BYE_SHUTDOWN);
	assert_int_equal(f.u.bye.text.len, 2);
	assert_memory_equal(f.u.bye.text.ptr, "hi", 2);
	cluster_frame_clear(&f);
	buf_free(&b);
}

/* All samples back to back, fed to a reader one byte at a time as a link
 * would: each frame comes out exactly once, whole, in order. */
static void test_byte_at_a_time(void **state)
{
	const struct proto_sample *s;
	struct buf stream = { 0 }, one = { 0 }, in = { 0 };
	struct cluster_frame f;
	const char *error = NULL;
	size_t n, i, flen, got = 0;
	enum cluster_scan r;

	(void)state;
	s = proto_samples(&n);
	for (i = 0; i < n; i++) {
		encode_ok(&s[i].frame, &one);
		buf_append(&stream, one.data, one.len);
	}
	for (i = 0; i < stream.len; i++) {
		buf_append(&in, stream.data + i, 1);
		r = cluster_frame_scan(in.data, in.len, &flen, &error);
		assert_int_not_equal(r, CLUSTER_SCAN_REJECT);
		if (r == CLUSTER_SCAN_NEED_MORE)
			continue;
		assert_true(got < n);
		assert_int_equal(flen, in.len);
		if (cluster_frame_decode(in.data, flen, V, &f, &error) < 0)
			fail_msg("%s: %s", s[got].name, error);
		assert_frame_equal(&s[got].frame, &f);
		cluster_frame_clear(&f);
		buf_consume(&in, flen);
		got++;
	}
	assert_int_equal(got, n);
	assert_int_equal(in.len, 0);
	buf_free(&stream);
	buf_free(&one);
	buf_free(&in);
}

/* Every prefix of every frame: scan says "need more", decode refuses; and
 * the payload cut short with the header's length fixed up to match is
 * rejected too (never read as some other, shorter frame). */
static void test_truncations(void **state)
{
	const struct proto_sample *s;
	struct buf b = { 0 }, cut = { 0 };
	struct cluster_frame f;
	const char *error = NULL;
	size_t n, i, k, flen;

	(void)state;
	s = proto_samples(&n);
	for (i = 0; i < n; i++) {
		encode_ok(&s[i].frame, &b);
		for (k = 0; k < b.len; k++) {
			assert_int_equal(cluster_frame_scan(b.data, k, &flen, &error),
					 CLUSTER_SCAN_NEED_MORE);
			assert_int_equal(cluster_frame_decode(b.data, k, V, &f, &error), -1);
			if (k < CLUSTER_FRAME_HEADER_LEN)
				continue;
			buf_reset(&cut);
			buf_append(&cut, b.data, k);
			cut.data[7] = (char)(k - CLUSTER_FRAME_HEADER_LEN);
			cut.data[6] = (char)((k - CLUSTER_FRAME_HEADER_LEN) >> 8);
			cut.data[5] = (char)((k - CLUSTER_FRAME_HEADER_LEN) >> 16);
			if (cluster_frame_decode(cut.data, cut.len, V, &f, &error) == 0)
				fail_msg("%s cut to %zu bytes was accepted", s[i].name, k);
		}
		/* One byte more than the payload needs: rejected as well. */
		buf_reset(&cut);
		buf_append(&cut, b.data, b.len);
		buf_append_char(&cut, 0);
		cut.data[7] = (char)(cut.data[7] + 1);
		if (cut.data[7] == 0)
			cut.data[6] = (char)(cut.data[6] + 1);
		assert_int_equal(cluster_frame_decode(cut.data, cut.len, V, &f, &error), -1);
		assert_non_null(strstr(error, "left over"));
	}
	buf_free(&b);
	buf_free(&cut);
}

/* ---- hand-built payloads ---- */

static void put_uint(struct buf *b, uint64_t v, size_t n)
{
	while (n-- > 0)
		buf_append_char(b, (char)(v >> (8 * n)));
}

static void put_str(struct buf *b, const char *s, size_t len)
{
	put_uint(b, len, 2);
	buf_append(b, s, len);
}

/* A string of `len` copies of `c`. */
static void put_fill(struct buf *b, char c, size_t len)
{
	put_uint(b, len, 2);
	while (len-- > 0)
		buf_append_char(b, c);
}

/* Wrap a payload in a header. */
static void frame_of(struct buf *out, uint8_t version, uint8_t type, const struct buf *payload)
{
	buf_reset(out);
	buf_append(out, "JC", 2);
	put_uint(out, version, 1);
	put_uint(out, type, 1);
	put_uint(out, payload->len, 4);
	buf_append(out, payload->data, payload->len);
}

enum build {
	B_NAME_MAX, B_NAME_TOO_LONG, B_NAME_NUL, B_NAME_SPACE, B_NAME_EMPTY,
	B_JID_MAX, B_JID_TOO_LONG, B_JID_NUL, B_SID_TOO_LONG,
	B_TARGETS_MAX, B_TARGETS_TOO_MANY, B_ENTRIES_TOO_MANY, B_COUNT_PAST_END,
	B_DOMAINS_TOO_MANY, B_BAD_OP, B_BAD_FLAGS, B_SNAPSHOT_REMOVE,
	B_SNAPSHOT_BAD_FLAGS, B_REQUEST_BAD_MODE, B_REQUEST_SNAPSHOT_SEQ,
	B_ACK_OK_NO_VERSION, B_ACK_REFUSED_VERSION, B_ACK_BAD_RESULT, B_HELLO_BAD_RANGE,
	B_HELLO_BAD_IP, B_HELLO_PORT0, B_BYE_BAD_REASON, B_MEMBER_BAD_STATE,
	B_STANZA_SEQ0, B_STANZA_EMPTY, B_STANZA_LEN_PAST_END, B_DELTA_EMPTY,
	B_DELTA_SEQ_WRAP, B_DELTA_SEQ_LAST,
};

static void build_hello(struct buf *p, uint8_t vmin, uint8_t vmax, const char *ip,
			uint16_t port, size_t ndomains)
{
	size_t i;

	put_uint(p, vmin, 1);
	put_uint(p, vmax, 1);
	put_uint(p, 9, 8);
	put_str(p, "n1", 2);
	put_str(p, ip, strlen(ip));
	put_uint(p, port, 2);
	put_uint(p, ndomains, 2);
	for (i = 0; i < ndomains; i++)
		put_str(p, "example.org", 11);
}

/* A STATE_DELTA of `count` entries of `op`, each with a JID (or name) of
 * jidlen bytes and, for sessions, a session id of sidlen bytes. */
static void build_delta(struct buf *p, uint64_t first, size_t count, uint8_t op, uint8_t flags,
			size_t jidlen, size_t sidlen)
{
	size_t i;

	put_str(p, "n1", 2);
	put_uint(p, 3, 8);
	put_uint(p, first, 8);
	put_uint(p, count, 2);
	for (i = 0; i < count; i++) {
		put_uint(p, op, 1);
		put_fill(p, 'j', jidlen);
		if (op != CLUSTER_OP_SESSION_ADD && op != CLUSTER_OP_SESSION_UPDATE)
			continue;
		put_uint(p, 0xfb, 1);           /* priority -5 */
		put_uint(p, flags, 1);
		put_uint(p, 1000, 8);
		put_fill(p, 's', sidlen);
	}
}

static void build_stanza(struct buf *p, uint64_t seq, size_t routelen, size_t ntargets,
			 size_t jidlen)
{
	size_t i;

	put_uint(p, seq, 8);
	put_uint(p, routelen, 4);
	for (i = 0; i < routelen; i++)
		buf_append_char(p, '<');
	put_uint(p, ntargets, 2);
	for (i = 0; i < ntargets; i++)
		put_fill(p, 'j', jidlen);
}

struct bad_case {
	enum build which;
	int accept;             /* 1: boundary case that must be accepted */
	const char *error;      /* substring of the rejection */
};

static const struct bad_case bad_cases[] = {
	{ B_NAME_MAX, 1, NULL },
	{ B_NAME_TOO_LONG, 0, "name" },
	{ B_NAME_NUL, 0, "name" },
	{ B_NAME_SPACE, 0, "name" },
	{ B_NAME_EMPTY, 0, "name" },
	{ B_JID_MAX, 1, NULL },
	{ B_JID_TOO_LONG, 0, "JID" },
	{ B_JID_NUL, 0, "JID" },
	{ B_SID_TOO_LONG, 0, "session id" },
	{ B_TARGETS_MAX, 1, NULL },
	{ B_TARGETS_TOO_MANY, 0, "too many" },
	{ B_ENTRIES_TOO_MANY, 0, "too many" },
	{ B_COUNT_PAST_END, 0, "exceeds the frame" },
	{ B_DOMAINS_TOO_MANY, 0, "too many" },
	{ B_BAD_OP, 0, "unknown state entry" },
	{ B_BAD_FLAGS, 0, "flags" },
	{ B_SNAPSHOT_REMOVE, 0, "snapshot holds only" },
	{ B_SNAPSHOT_BAD_FLAGS, 0, "snapshot flags" },
	{ B_REQUEST_BAD_MODE, 0, "mode" },
	{ B_REQUEST_SNAPSHOT_SEQ, 0, "sequence 0" },
	{ B_ACK_OK_NO_VERSION, 0, "exactly when accepted" },
	{ B_ACK_REFUSED_VERSION, 0, "exactly when accepted" },
	{ B_ACK_BAD_RESULT, 0, "result" },
	{ B_HELLO_BAD_RANGE, 0, "version range" },
	{ B_HELLO_BAD_IP, 0, "address" },
	{ B_HELLO_PORT0, 0, "address" },
	{ B_BYE_BAD_REASON, 0, "reason" },
	{ B_MEMBER_BAD_STATE, 0, "member state" },
	{ B_STANZA_SEQ0, 0, "sequence" },
	{ B_STANZA_EMPTY, 0, "empty" },
	{ B_STANZA_LEN_PAST_END, 0, "past the end" },
	{ B_DELTA_EMPTY, 0, "not empty" },
	{ B_DELTA_SEQ_WRAP, 0, "overflows" },
	{ B_DELTA_SEQ_LAST, 1, NULL },
};

/* Payload and type of each case. HELLO_ACK carries names; a delta, JIDs. */
static uint8_t build_bad(enum build which, struct buf *p, uint8_t *version_r)
{
	*version_r = V;
	switch (which) {
	case B_NAME_MAX:
	case B_NAME_TOO_LONG:
	case B_NAME_NUL:
	case B_NAME_SPACE:
	case B_NAME_EMPTY:
		put_uint(p, 0, 1);
		put_uint(p, V, 1);
		put_uint(p, 1, 8);
		put_fill(p, 'a', which == B_NAME_MAX ? CLUSTER_NAME_MAX :
			 which == B_NAME_TOO_LONG ? CLUSTER_NAME_MAX + 1 :
			 which == B_NAME_EMPTY ? 0 : 3);
		if (which == B_NAME_NUL || which == B_NAME_SPACE)
			p->data[p->len - 2] = which == B_NAME_NUL ? '\0' : ' ';
		*version_r = 0;
		return CLUSTER_FRAME_HELLO_ACK;
	case B_JID_MAX:
		build_delta(p, 1, 1, CLUSTER_OP_SESSION_ADD, 1, CLUSTER_JID_MAX, 64);
		return CLUSTER_FRAME_STATE_DELTA;
	case B_JID_TOO_LONG:
		build_delta(p, 1, 1, CLUSTER_OP_SESSION_REMOVE, 0, CLUSTER_JID_MAX + 1, 0);
		return CLUSTER_FRAME_STATE_DELTA;
	case B_JID_NUL:
		build_stanza(p, 1, 5, 1, 4);
		p->data[p->len - 1] = '\0';
		return CLUSTER_FRAME_STANZA;
	case B_SID_TOO_LONG:
		build_delta(p, 1, 1, CLUSTER_OP_SESSION_UPDATE, 1, 10, CLUSTER_SID_MAX + 1);
		return CLUSTER_FRAME_STATE_DELTA;
	case B_TARGETS_MAX:
	case B_TARGETS_TOO_MANY:
		build_stanza(p, 1, 5, which == B_TARGETS_MAX ? CLUSTER_TARGETS_MAX :
			     CLUSTER_TARGETS_MAX + 1, 20);
		return CLUSTER_FRAME_STANZA;
	case B_ENTRIES_TOO_MANY:
		build_delta(p, 1, CLUSTER_ENTRIES_MAX + 1, CLUSTER_OP_NAME_BIND, 0, 8, 0);
		return CLUSTER_FRAME_STATE_DELTA;
	case B_COUNT_PAST_END:
		put_uint(p, CLUSTER_MEMBERS_MAX, 2);    /* and no members */
		return CLUSTER_FRAME_MEMBERS;
	case B_DOMAINS_TOO_MANY:
		build_hello(p, 1, V, "127.0.0.2", 5348, CLUSTER_DOMAINS_MAX + 1);
		*version_r = 0;
		return CLUSTER_FRAME_HELLO;
	case B_BAD_OP:
		build_delta(p, 1, 1, 6, 0, 8, 0);
		return CLUSTER_FRAME_STATE_DELTA;
	case B_BAD_FLAGS:
		build_delta(p, 1, 1, CLUSTER_OP_SESSION_ADD, 0x81, 8, 0);
		return CLUSTER_FRAME_STATE_DELTA;
	case B_SNAPSHOT_REMOVE:
	case B_SNAPSHOT_BAD_FLAGS:
		put_str(p, "n1", 2);
		put_uint(p, 3, 8);
		put_uint(p, 7, 8);
		put_uint(p, which == B_SNAPSHOT_BAD_FLAGS ? 4 : 3, 1);
		put_uint(p, 1, 2);
		put_uint(p, which == B_SNAPSHOT_REMOVE ? CLUSTER_OP_SESSION_REMOVE :
			 CLUSTER_OP_NAME_BIND, 1);
		put_str(p, "muc.example.org", 15);
		return CLUSTER_FRAME_STATE_SNAPSHOT;
	case B_REQUEST_BAD_MODE:
	case B_REQUEST_SNAPSHOT_SEQ:
		put_str(p, "n1", 2);
		put_uint(p, 3, 8);
		put_uint(p, which == B_REQUEST_BAD_MODE ? 2 : CLUSTER_REQUEST_SNAPSHOT, 1);
		put_uint(p, 5, 8);
		return CLUSTER_FRAME_STATE_REQUEST;
	case B_ACK_OK_NO_VERSION:
	case B_ACK_REFUSED_VERSION:
	case B_ACK_BAD_RESULT:
		put_uint(p, which == B_ACK_OK_NO_VERSION ? 0 :
			 which == B_ACK_REFUSED_VERSION ? 1 : CLUSTER_HELLO_RESULT_LAST + 1, 1);
		put_uint(p, which == B_ACK_OK_NO_VERSION ? 0 : V, 1);
		put_uint(p, 1, 8);
		put_str(p, "n2", 2);
		*version_r = 0;
		return CLUSTER_FRAME_HELLO_ACK;
	case B_HELLO_BAD_RANGE:
	case B_HELLO_BAD_IP:
	case B_HELLO_PORT0:
		build_hello(p, which == B_HELLO_BAD_RANGE ? 2 : 1, 1,
			    which == B_HELLO_BAD_IP ? "127.0.0.256" : "::1",
			    which == B_HELLO_PORT0 ? 0 : 5348, 1);
		*version_r = 0;
		return CLUSTER_FRAME_HELLO;
	case B_BYE_BAD_REASON:
		put_uint(p, CLUSTER_BYE_REASON_LAST + 1, 1);
		put_str(p, "", 0);
		return CLUSTER_FRAME_BYE;
	case B_MEMBER_BAD_STATE:
		put_uint(p, 1, 2);
		put_str(p, "n1", 2);
		put_str(p, "127.0.0.2", 9);
		put_uint(p, 5348, 2);
		put_uint(p, 1, 8);
		put_uint(p, CLUSTER_MEMBER_STATE_LAST + 1, 1);
		return CLUSTER_FRAME_MEMBERS;
	case B_STANZA_SEQ0:
		build_stanza(p, 0, 5, 0, 0);
		return CLUSTER_FRAME_STANZA;
	case B_STANZA_EMPTY:
		build_stanza(p, 1, 0, 0, 0);
		return CLUSTER_FRAME_STANZA;
	case B_STANZA_LEN_PAST_END:
		put_uint(p, 1, 8);
		put_uint(p, 1000, 4);
		buf_append(p, "<x/>", 4);
		return CLUSTER_FRAME_STANZA;
	case B_DELTA_EMPTY:
		build_delta(p, 1, 0, 0, 0, 0, 0);
		return CLUSTER_FRAME_STATE_DELTA;
	case B_DELTA_SEQ_WRAP:
	case B_DELTA_SEQ_LAST:
		build_delta(p, which == B_DELTA_SEQ_WRAP ? UINT64_MAX : UINT64_MAX - 1, 2,
			    CLUSTER_OP_NAME_UNBIND, 0, 8, 0);
		return CLUSTER_FRAME_STATE_DELTA;
	}
	return 0;
}

static void test_bad_payloads(void **state)
{
	struct buf p = { 0 }, fr = { 0 }, re = { 0 };
	struct cluster_frame f;
	const char *error = NULL;
	size_t i, flen;
	uint8_t type, version;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		buf_reset(&p);
		type = build_bad(bad_cases[i].which, &p, &version);
		frame_of(&fr, version, type, &p);
		assert_int_equal(cluster_frame_scan(fr.data, fr.len, &flen, &error),
				 CLUSTER_SCAN_FRAME);
		if (bad_cases[i].accept) {
			if (cluster_frame_decode(fr.data, fr.len, V, &f, &error) < 0)
				fail_msg("case %zu: %s", i, error);
			/* A boundary frame must also be one we can send. */
			encode_ok(&f, &re);
			assert_int_equal(re.len, fr.len);
			assert_memory_equal(re.data, fr.data, fr.len);
			cluster_frame_clear(&f);
			continue;
		}
		error = NULL;
		if (cluster_frame_decode(fr.data, fr.len, V, &f, &error) == 0)
			fail_msg("case %zu accepted", i);
		if (strstr(error, bad_cases[i].error) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, error, bad_cases[i].error);
		assert_int_equal(f.type, 0);    /* cleared */
	}
	buf_free(&p);
	buf_free(&fr);
	buf_free(&re);
}

/* What scan refuses from the header alone, as soon as the byte arrives. */
static void test_scan_rejects(void **state)
{
	static const struct {
		uint8_t bytes[8];
		size_t len;
		const char *error;
	} cases[] = {
		{ { 'X' }, 1, "magic" },
		{ { 'J', 'D' }, 2, "magic" },
		{ { 'J', 'C', 1, 0 }, 4, "type" },
		{ { 'J', 'C', 1, CLUSTER_FRAME_TYPE_LAST + 1 }, 4, "type" },
		{ { 'J', 'C', 1, 255 }, 4, "type" },
		{ { 'J', 'C', 1, 9, 1 }, 5, "too large" },
		{ { 'J', 'C', 1, 9, 0xff, 0xff, 0xff, 0xff }, 8, "too large" },
		/* One byte over the maximum: 1 MiB - 8 + 1 of payload. */
		{ { 'J', 'C', 1, 9, 0, 0x0f, 0xff, 0xf9 }, 8, "too large" },
	};
	const char *error = NULL;
	size_t i, flen;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(cluster_frame_scan(cases[i].bytes, cases[i].len, &flen, &error),
				 CLUSTER_SCAN_REJECT);
		assert_non_null(strstr(error, cases[i].error));
	}
	/* Exactly the maximum is a frame size we wait for. */
	assert_int_equal(cluster_frame_scan((const uint8_t[]){ 'J', 'C', 1, 9, 0, 0x0f, 0xff, 0xf8 },
					    8, &flen, &error), CLUSTER_SCAN_NEED_MORE);
}

/* The largest stanza fits exactly; one byte more is refused by the
 * encoder, so we never send what the peer must reject. */
static void test_max_frame(void **state)
{
	struct cluster_frame f = { .version = V, .type = CLUSTER_FRAME_STANZA };
	struct cluster_frame d;
	size_t routelen = CLUSTER_FRAME_MAX - CLUSTER_FRAME_HEADER_LEN - 8 - 4 - 2;
	uint8_t *route = malloc(routelen + 1);
	struct buf b = { 0 };
	const char *error = NULL;

	(void)state;
	assert_non_null(route);
	memset(route, '<', routelen + 1);
	f.u.stanza.seq = 1;
	f.u.stanza.route.ptr = route;
	f.u.stanza.route.len = routelen;
	encode_ok(&f, &b);
	assert_int_equal(b.len, CLUSTER_FRAME_MAX);
	assert_int_equal(cluster_frame_decode(b.data, b.len, V, &d, &error), 0);
	assert_int_equal(d.u.stanza.route.len, routelen);
	cluster_frame_clear(&d);
	f.u.stanza.route.len = routelen + 1;
	buf_reset(&b);
	buf_append(&b, "keep", 4);
	assert_int_equal(cluster_frame_encode(&f, &b, &error), -1);
	assert_non_null(strstr(error, "too large"));
	assert_int_equal(b.len, 4);     /* left as it was */
	free(route);
	buf_free(&b);
}

/* Which header versions a link accepts, before and after negotiation. */
/* TAKEN (rule 15): version 2 only; it names a pair exactly when its seq
 * is not 0; three u64 and nothing else. */
static void test_taken(void **state)
{
	static const struct {
		uint8_t hv, link;
		uint64_t inc, peer_inc, seq;
		size_t extra;
		const char *error;       /* NULL: accepted */
	} cases[] = {
		{ 2, 2, 7, 9, 30, 0, NULL },
		{ 2, 2, 0, 0, 0, 0, NULL },
		{ 1, 1, 7, 9, 30, 0, "version" },       /* not in version 1 */
		{ 2, 1, 7, 9, 30, 0, "version" },
		{ 1, 2, 7, 9, 30, 0, "version" },
		{ 2, 2, 7, 9, 0, 0, "pair" },
		{ 2, 2, 0, 9, 30, 0, "pair" },
		{ 2, 2, 7, 0, 30, 0, "pair" },
		{ 2, 2, 7, 9, 30, 1, "left over" },
	};
	struct buf p = { 0 }, fr = { 0 }, out = { 0 };
	struct cluster_frame f;
	const char *error = NULL;

	(void)state;
	assert_true(CLUSTER_PROTO_VERSION_TAKEN == 2 && CLUSTER_PROTO_VERSION_MAX >= 2);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&p);
		put_uint(&p, cases[i].inc, 8);
		put_uint(&p, cases[i].peer_inc, 8);
		put_uint(&p, cases[i].seq, 8);
		if (cases[i].extra)
			put_uint(&p, 0, cases[i].extra);
		frame_of(&fr, cases[i].hv, CLUSTER_FRAME_TAKEN, &p);
		error = NULL;
		if (cluster_frame_decode(fr.data, fr.len, cases[i].link, &f, &error) == 0) {
			if (cases[i].error != NULL)
				fail_msg("case %zu accepted", i);
			assert_int_equal(f.u.taken.seq, cases[i].seq);
			assert_int_equal(f.u.taken.peer_incarnation, cases[i].peer_inc);
			buf_reset(&out);
			assert_int_equal(cluster_frame_encode(&f, &out, &error), 0);
			assert_memory_equal(out.data, fr.data, fr.len);
			cluster_frame_clear(&f);
			continue;
		}
		if (cases[i].error == NULL || strstr(error, cases[i].error) == NULL)
			fail_msg("case %zu: \"%s\"", i, error != NULL ? error : "(none)");
	}
	/* The encoder refuses what the decoder would. */
	f = (struct cluster_frame){ .version = 1, .type = CLUSTER_FRAME_TAKEN };
	assert_int_equal(cluster_frame_encode(&f, &out, &error), -1);
	f = (struct cluster_frame){ .version = 2, .type = CLUSTER_FRAME_TAKEN,
				    .u.taken = { .incarnation = 1, .seq = 1 } };
	assert_int_equal(cluster_frame_encode(&f, &out, &error), -1);
	buf_free(&p);
	buf_free(&fr);
	buf_free(&out);
}

static void test_frame_versions(void **state)
{
	static const struct {
		uint8_t hv, type, link;
		int ok;
	} cases[] = {
		{ 0, CLUSTER_FRAME_HELLO, 0, 1 },
		{ 0, CLUSTER_FRAME_HELLO, V, 1 },
		{ V, CLUSTER_FRAME_HELLO, 0, 0 },
		{ V, CLUSTER_FRAME_HELLO, V, 0 },       /* fuzz_frame's first finding */
		{ 0, CLUSTER_FRAME_ACK, 0, 0 },         /* nothing else before negotiation */
		{ V, CLUSTER_FRAME_ACK, 0, 0 },
		{ 0, CLUSTER_FRAME_ACK, V, 0 },
		{ V, CLUSTER_FRAME_ACK, V, 1 },
		{ V + 1, CLUSTER_FRAME_ACK, V, 0 },
		{ V + 1, CLUSTER_FRAME_ACK, V + 1, 0 }, /* a version this build lacks */
		{ 0, CLUSTER_FRAME_BYE, 0, 1 },
		{ 0, CLUSTER_FRAME_BYE, V, 1 },
		{ V, CLUSTER_FRAME_BYE, V, 1 },
		{ V, CLUSTER_FRAME_BYE, 0, 0 },
	};
	struct buf p = { 0 }, fr = { 0 };
	struct cluster_frame f;
	const char *error = NULL;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&p);
		if (cases[i].type == CLUSTER_FRAME_HELLO)
			build_hello(&p, 1, V, "127.0.0.2", 5348, 1);
		else if (cases[i].type == CLUSTER_FRAME_BYE) {
			put_uint(&p, 1, 1);
			put_str(&p, "", 0);
		} else
			put_uint(&p, 5, 8);
		frame_of(&fr, cases[i].hv, cases[i].type, &p);
		r = cluster_frame_decode(fr.data, fr.len, cases[i].link, &f, &error);
		if ((r == 0) != cases[i].ok)
			fail_msg("case %zu: decode returned %d", i, r);
		if (r < 0)      /* a refused frame leaves nothing to free or misread */
			assert_int_equal(f.type, 0);
		cluster_frame_clear(&f);
	}
	/* The encoder holds to the same rule. */
	f = (struct cluster_frame){ .version = 0, .type = CLUSTER_FRAME_ACK, .u.ack.seq = 1 };
	assert_int_equal(cluster_frame_encode(&f, &p, &error), -1);
	f.version = V + 1;
	assert_int_equal(cluster_frame_encode(&f, &p, &error), -1);
	buf_free(&p);
	buf_free(&fr);
}

/* Frames a caller must not be able to send. */
static void test_encode_refuses(void **state)
{
	struct cluster_bytes bad_name = cluster_bytes_str("n 1");
	struct cluster_frame f = { .version = 0, .type = CLUSTER_FRAME_HELLO_ACK,
		.u.hello_ack = { .result = 0, .version = V, .node = bad_name } };
	struct cluster_entry e = { .op = CLUSTER_OP_NAME_BIND,
		.name = cluster_bytes_str("muc.example.org"), .priority = 3 };
	struct buf b = { 0 };
	const char *error = NULL;

	(void)state;
	assert_int_equal(cluster_frame_encode(&f, &b, &error), -1);
	assert_non_null(strstr(error, "node name"));
	/* Session fields on an entry whose op does not carry them would be
	 * silently dropped on the wire: refused instead. */
	f = (struct cluster_frame){ .version = V, .type = CLUSTER_FRAME_STATE_DELTA,
		.u.delta = { .origin = cluster_bytes_str("n1"), .first_seq = 1,
			     .nentries = 1, .entries = &e } };
	assert_int_equal(cluster_frame_encode(&f, &b, &error), -1);
	assert_non_null(strstr(error, "session fields"));
	f.type = 0;
	assert_int_equal(cluster_frame_encode(&f, &b, &error), -1);
	f.type = CLUSTER_FRAME_TYPE_LAST + 1;
	assert_int_equal(cluster_frame_encode(&f, &b, &error), -1);
	assert_int_equal(b.len, 0);
	assert_string_equal(cluster_frame_type_name(CLUSTER_FRAME_STANZA), "STANZA");
	assert_string_equal(cluster_frame_type_name(200), "unknown");
	buf_free(&b);
}

static void test_negotiate(void **state)
{
	static const struct {
		uint8_t lmin, lmax, pmin, pmax, want;
	} cases[] = {
		{ 1, 1, 1, 1, 1 },
		{ 1, 2, 1, 2, 2 },
		{ 2, 3, 1, 2, 2 },      /* peer one version older: its version */
		{ 2, 3, 2, 3, 3 },
		{ 2, 3, 1, 1, 0 },      /* two versions older: refused */
		{ 3, 4, 1, 2, 0 },      /* disjoint */
		{ 1, 1, 2, 2, 0 },
		{ 0, 1, 1, 1, 0 },      /* malformed ranges */
		{ 2, 1, 1, 2, 0 },
		{ 1, 1, 0, 0, 0 },
		{ 1, 255, 200, 255, 255 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(cluster_proto_negotiate(cases[i].lmin, cases[i].lmax,
							 cases[i].pmin, cases[i].pmax),
				 cases[i].want);
		/* Both ends of a link reach the same answer. */
		assert_int_equal(cluster_proto_negotiate(cases[i].pmin, cases[i].pmax,
							 cases[i].lmin, cases[i].lmax),
				 cases[i].want);
	}
	/* This build talks to itself. */
	assert_int_equal(cluster_proto_negotiate(CLUSTER_PROTO_VERSION_MIN,
						 CLUSTER_PROTO_VERSION_MAX,
						 CLUSTER_PROTO_VERSION_MIN,
						 CLUSTER_PROTO_VERSION_MAX), V);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples_cover_every_type),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_known_bytes),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_bad_payloads),
		cmocka_unit_test(test_scan_rejects),
		cmocka_unit_test(test_max_frame),
		cmocka_unit_test(test_frame_versions),
		cmocka_unit_test(test_taken),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_negotiate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
