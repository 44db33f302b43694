/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_proto: encode, decode and scan the frames of the cluster
 * protocol (see cluster_proto.h and docs/cluster-protocol.md).
 *
 * Each frame type's payload is described once, by a function that walks
 * its fields through a `struct codec` which either reads them from bytes
 * (decode) or writes them to a buffer (encode). The same walk serves both
 * directions, so the two cannot drift apart and the encoding is canonical.
 * After a decode, and before an encode, frame_validate() checks what the
 * layout alone does not: enums, flags, string lengths and contents, counts.
 */
#include "config.h"
#include "cluster-mod/cluster_proto.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static_assert(sizeof(struct cluster_frame_header) == CLUSTER_FRAME_HEADER_LEN,
	      "the frame header is 8 bytes on the wire");
static_assert(offsetof(struct cluster_frame_header, version) == 2, "version at 2");
static_assert(offsetof(struct cluster_frame_header, type) == 3, "type at 3");
static_assert(offsetof(struct cluster_frame_header, length) == 4, "length at 4");
static_assert(sizeof(((struct cluster_taken *)0)->seq) == 8 &&
	      sizeof(((struct cluster_taken *)0)->incarnation) == 8,
	      "TAKEN is three u64 on the wire");
static_assert(CLUSTER_FRAME_MAX <= UINT32_MAX, "the length field is 32 bits");
static_assert(CLUSTER_JID_MAX <= UINT16_MAX && CLUSTER_NAME_MAX <= UINT16_MAX,
	      "strings carry a 16-bit length");
static_assert(CLUSTER_ENTRIES_MAX <= UINT16_MAX && CLUSTER_TARGETS_MAX <= UINT16_MAX &&
	      CLUSTER_MEMBERS_MAX <= UINT16_MAX && CLUSTER_DOMAINS_MAX <= UINT16_MAX,
	      "counts are 16 bits");

/* One direction of one payload: reading `in` or appending to `out`. The
 * first error sticks; later calls do nothing. */
struct codec {
	int decoding;
	const uint8_t *in;
	size_t inlen, off;
	struct buf *out;
	const char *error;
};

static int codec_fail(struct codec *c, const char *error)
{
	if (c->error == NULL)
		c->error = error;
	return -1;
}

/* Move `n` bytes of a big-endian integer between *v and the wire. */
static void xfer_uint(struct codec *c, uint64_t *v, size_t n)
{
	uint8_t b[8];
	size_t i;

	if (c->error != NULL)
		return;
	if (!c->decoding) {
		for (i = 0; i < n; i++)
			b[i] = (uint8_t)(*v >> (8 * (n - 1 - i)));
		buf_append(c->out, b, n);
		return;
	}
	if (c->inlen - c->off < n) {
		codec_fail(c, "frame truncated inside a field");
		return;
	}
	*v = 0;
	for (i = 0; i < n; i++)
		*v = (*v << 8) | c->in[c->off + i];
	c->off += n;
}

static void xfer_u8(struct codec *c, uint8_t *v)
{
	uint64_t x = *v;

	xfer_uint(c, &x, 1);
	*v = (uint8_t)x;
}

static void xfer_u16(struct codec *c, uint16_t *v)
{
	uint64_t x = *v;

	xfer_uint(c, &x, 2);
	*v = (uint16_t)x;
}

static void xfer_u64(struct codec *c, uint64_t *v)
{
	xfer_uint(c, v, 8);
}

/* A byte string with a length prefix of `lenbytes` (2 or 4). Decoding
 * makes *v a view into the input. */
static void xfer_bytes(struct codec *c, struct cluster_bytes *v, size_t lenbytes)
{
	uint64_t len = v->len;

	if (!c->decoding && len >> (8 * lenbytes) != 0) {
		codec_fail(c, "string too long for its length field");
		return;
	}
	xfer_uint(c, &len, lenbytes);
	if (c->error != NULL)
		return;
	if (!c->decoding) {
		buf_append(c->out, v->ptr, v->len);
		return;
	}
	if (c->inlen - c->off < len) {
		codec_fail(c, "string runs past the end of the frame");
		return;
	}
	v->ptr = c->in + c->off;
	v->len = (size_t)len;
	c->off += (size_t)len;
}

static void xfer_str(struct codec *c, struct cluster_bytes *v)
{
	xfer_bytes(c, v, 2);
}

/*
 * An array's 16-bit count. Decoding checks it against `max` and against
 * the bytes left (each element takes at least `min_size`) and returns a
 * zeroed array for the elements (NULL for none), so a peer cannot make us
 * allocate more than its frame justifies. Encoding returns NULL.
 */
static void *xfer_count(struct codec *c, size_t *n, size_t elsize, size_t max,
			size_t min_size)
{
	uint16_t count = (uint16_t)*n;

	if (!c->decoding && *n > max) {
		codec_fail(c, "too many elements");
		return NULL;
	}
	xfer_u16(c, &count);
	if (c->error != NULL || !c->decoding)
		return NULL;
	if (count > max) {
		codec_fail(c, "too many elements");
		return NULL;
	}
	if ((size_t)count * min_size > c->inlen - c->off) {
		codec_fail(c, "element count exceeds the frame");
		return NULL;
	}
	*n = count;
	return count > 0 ? xcalloc(count, elsize) : NULL;
}

/* Fields of SESSION_ADD / SESSION_UPDATE, after the JID. */
static int op_has_session_fields(uint8_t op)
{
	return op == CLUSTER_OP_SESSION_ADD || op == CLUSTER_OP_SESSION_UPDATE;
}

static void xfer_entry(struct codec *c, struct cluster_entry *e)
{
	xfer_u8(c, &e->op);
	if (c->error == NULL && (e->op == 0 || e->op > CLUSTER_OP_LAST)) {
		codec_fail(c, "unknown state entry operation");
		return;
	}
	xfer_str(c, &e->name);
	if (!op_has_session_fields(e->op))
		return;
	xfer_u8(c, (uint8_t *)&e->priority);
	xfer_u8(c, &e->flags);
	xfer_u64(c, &e->started_ms);
	xfer_str(c, &e->sid);
}

#define ENTRY_MIN_SIZE 4        /* op, empty-length string... at least a byte */
#define STR_MIN_SIZE 3          /* length and one byte */
#define MEMBER_MIN_SIZE 18

static void xfer_entries(struct codec *c, size_t *n, struct cluster_entry **entries)
{
	struct cluster_entry *arr;
	size_t i;

	arr = xfer_count(c, n, sizeof(*arr), CLUSTER_ENTRIES_MAX, ENTRY_MIN_SIZE);
	if (c->decoding)
		*entries = arr;
	for (i = 0; i < *n && c->error == NULL; i++)
		xfer_entry(c, &(*entries)[i]);
}

static void xfer_strs(struct codec *c, size_t *n, struct cluster_bytes **v, size_t max)
{
	struct cluster_bytes *arr;
	size_t i;

	arr = xfer_count(c, n, sizeof(*arr), max, STR_MIN_SIZE);
	if (c->decoding)
		*v = arr;
	for (i = 0; i < *n && c->error == NULL; i++)
		xfer_str(c, &(*v)[i]);
}

static void xfer_hello(struct codec *c, struct cluster_hello *h)
{
	xfer_u8(c, &h->version_min);
	xfer_u8(c, &h->version_max);
	xfer_u64(c, &h->incarnation);
	xfer_str(c, &h->node);
	xfer_str(c, &h->ip);
	xfer_u16(c, &h->port);
	xfer_strs(c, &h->ndomains, &h->domains, CLUSTER_DOMAINS_MAX);
}

static void xfer_hello_ack(struct codec *c, struct cluster_hello_ack *a)
{
	xfer_u8(c, &a->result);
	xfer_u8(c, &a->version);
	xfer_u64(c, &a->incarnation);
	xfer_str(c, &a->node);
}

static void xfer_ping(struct codec *c, struct cluster_ping *p)
{
	xfer_u64(c, &p->seq);
	xfer_u64(c, &p->timestamp_us);
}

static void xfer_bye(struct codec *c, struct cluster_bye *b)
{
	xfer_u8(c, &b->reason);
	xfer_str(c, &b->text);
}

static void xfer_delta(struct codec *c, struct cluster_state_delta *d)
{
	xfer_str(c, &d->origin);
	xfer_u64(c, &d->incarnation);
	xfer_u64(c, &d->first_seq);
	xfer_entries(c, &d->nentries, &d->entries);
}

static void xfer_request(struct codec *c, struct cluster_state_request *r)
{
	xfer_str(c, &r->origin);
	xfer_u64(c, &r->incarnation);
	xfer_u8(c, &r->mode);
	xfer_u64(c, &r->from_seq);
}

static void xfer_snapshot(struct codec *c, struct cluster_state_snapshot *s)
{
	xfer_str(c, &s->origin);
	xfer_u64(c, &s->incarnation);
	xfer_u64(c, &s->seq);
	xfer_u8(c, &s->flags);
	xfer_entries(c, &s->nentries, &s->entries);
}

static void xfer_stanza(struct codec *c, struct cluster_stanza *s)
{
	xfer_u64(c, &s->seq);
	xfer_bytes(c, &s->route, 4);
	xfer_strs(c, &s->ntargets, &s->targets, CLUSTER_TARGETS_MAX);
}

static void xfer_members(struct codec *c, struct cluster_members *m)
{
	size_t i;
	struct cluster_member *e;

	e = xfer_count(c, &m->nmembers, sizeof(*e), CLUSTER_MEMBERS_MAX, MEMBER_MIN_SIZE);
	if (c->decoding)
		m->members = e;
	for (i = 0; i < m->nmembers && c->error == NULL; i++) {
		e = &m->members[i];
		xfer_str(c, &e->name);
		xfer_str(c, &e->ip);
		xfer_u16(c, &e->port);
		xfer_u64(c, &e->incarnation);
		xfer_u8(c, &e->state);
	}
}

/* The payload of *f, in either direction. A dispatch on the type. */
static void xfer_payload(struct codec *c, struct cluster_frame *f)
{
	switch (f->type) {
	case CLUSTER_FRAME_HELLO:
		xfer_hello(c, &f->u.hello);
		break;
	case CLUSTER_FRAME_HELLO_ACK:
		xfer_hello_ack(c, &f->u.hello_ack);
		break;
	case CLUSTER_FRAME_PING:
	case CLUSTER_FRAME_PONG:
		xfer_ping(c, &f->u.ping);
		break;
	case CLUSTER_FRAME_BYE:
		xfer_bye(c, &f->u.bye);
		break;
	case CLUSTER_FRAME_STATE_DELTA:
		xfer_delta(c, &f->u.delta);
		break;
	case CLUSTER_FRAME_STATE_REQUEST:
		xfer_request(c, &f->u.request);
		break;
	case CLUSTER_FRAME_STATE_SNAPSHOT:
		xfer_snapshot(c, &f->u.snapshot);
		break;
	case CLUSTER_FRAME_STANZA:
		xfer_stanza(c, &f->u.stanza);
		break;
	case CLUSTER_FRAME_ACK:
		xfer_u64(c, &f->u.ack.seq);
		break;
	case CLUSTER_FRAME_MEMBERS:
		xfer_members(c, &f->u.members);
		break;
	case CLUSTER_FRAME_TAKEN:
		xfer_u64(c, &f->u.taken.incarnation);
		xfer_u64(c, &f->u.taken.peer_incarnation);
		xfer_u64(c, &f->u.taken.seq);
		break;
	default:
		codec_fail(c, "unknown frame type");
		break;
	}
}

/* ---- validation, shared by decode and encode ---- */

/* Text of 1..max bytes (0..max if allow_empty) with no NUL; `names` also
 * refuses control characters and spaces, since node and bound names end up
 * in logs and certificate comparisons. */
static int check_text(const struct cluster_bytes *v, size_t max, int allow_empty,
		      int names)
{
	size_t i;

	if (v->len > max || (v->len == 0 && !allow_empty))
		return -1;
	for (i = 0; i < v->len; i++)
		if (v->ptr[i] == 0 || (names && (v->ptr[i] <= 0x20 || v->ptr[i] == 0x7f)))
			return -1;
	return 0;
}

static int check_name(const struct cluster_bytes *v)
{
	return check_text(v, CLUSTER_NAME_MAX, 0, 1);
}

static int check_jid(const struct cluster_bytes *v)
{
	return check_text(v, CLUSTER_JID_MAX, 0, 0);
}

/* A textual IPv4 or IPv6 address. */
static int check_ip(const struct cluster_bytes *v)
{
	char s[CLUSTER_IP_MAX + 1];
	unsigned char addr[16];

	if (check_text(v, CLUSTER_IP_MAX, 0, 1) < 0)
		return -1;
	memcpy(s, v->ptr, v->len);
	s[v->len] = '\0';
	if (inet_pton(AF_INET, s, addr) != 1 && inet_pton(AF_INET6, s, addr) != 1)
		return -1;
	return 0;
}

static const char *validate_entry(const struct cluster_entry *e, int snapshot)
{
	if (e->op == 0 || e->op > CLUSTER_OP_LAST)
		return "unknown state entry operation";
	if (snapshot && e->op != CLUSTER_OP_SESSION_ADD && e->op != CLUSTER_OP_NAME_BIND)
		return "a snapshot holds only SESSION_ADD and NAME_BIND entries";
	if (!op_has_session_fields(e->op)) {
		if (e->priority != 0 || e->flags != 0 || e->started_ms != 0 || e->sid.len != 0)
			return "session fields on an entry that does not carry them";
		if (e->op == CLUSTER_OP_SESSION_REMOVE)
			return check_jid(&e->name) < 0 ? "bad JID in state entry" : NULL;
		return check_name(&e->name) < 0 ? "bad name in state entry" : NULL;
	}
	if (check_jid(&e->name) < 0)
		return "bad JID in state entry";
	if ((e->flags & ~CLUSTER_SESSION_AVAILABLE) != 0)
		return "unknown session flags";
	if (check_text(&e->sid, CLUSTER_SID_MAX, 1, 1) < 0)
		return "bad session id";
	return NULL;
}

static const char *validate_entries(const struct cluster_entry *e, size_t n, int snapshot)
{
	const char *error;
	size_t i;

	if (n > CLUSTER_ENTRIES_MAX)
		return "too many elements";
	for (i = 0; i < n; i++)
		if ((error = validate_entry(&e[i], snapshot)) != NULL)
			return error;
	return NULL;
}

static const char *validate_hello(const struct cluster_hello *h)
{
	size_t i;

	if (h->version_min == 0 || h->version_min > h->version_max)
		return "bad version range in HELLO";
	if (check_name(&h->node) < 0)
		return "bad node name in HELLO";
	if (check_ip(&h->ip) < 0 || h->port == 0)
		return "bad address in HELLO";
	if (h->ndomains > CLUSTER_DOMAINS_MAX)
		return "too many elements";
	for (i = 0; i < h->ndomains; i++)
		if (check_name(&h->domains[i]) < 0)
			return "bad domain in HELLO";
	return NULL;
}

static const char *validate_hello_ack(const struct cluster_hello_ack *a)
{
	if (a->result > CLUSTER_HELLO_RESULT_LAST)
		return "unknown HELLO_ACK result";
	if ((a->result == CLUSTER_HELLO_OK) != (a->version != 0))
		return "HELLO_ACK version must be set exactly when accepted";
	return check_name(&a->node) < 0 ? "bad node name in HELLO_ACK" : NULL;
}

static const char *validate_delta(const struct cluster_state_delta *d)
{
	if (check_name(&d->origin) < 0)
		return "bad origin node";
	if (d->first_seq == 0 || d->nentries == 0)
		return "a delta starts at sequence 1 or later and is not empty";
	if (d->first_seq - 1 > UINT64_MAX - d->nentries)
		return "delta sequence overflows";
	return validate_entries(d->entries, d->nentries, 0);
}

static const char *validate_request(const struct cluster_state_request *r)
{
	if (check_name(&r->origin) < 0)
		return "bad origin node";
	if (r->mode == CLUSTER_REQUEST_SNAPSHOT)
		return r->from_seq != 0 ? "a snapshot request has sequence 0" : NULL;
	return r->mode != CLUSTER_REQUEST_SINCE ? "unknown state request mode" : NULL;
}

static const char *validate_snapshot(const struct cluster_state_snapshot *s)
{
	if (check_name(&s->origin) < 0)
		return "bad origin node";
	if ((s->flags & ~(CLUSTER_SNAPSHOT_BEGIN | CLUSTER_SNAPSHOT_END)) != 0)
		return "unknown snapshot flags";
	return validate_entries(s->entries, s->nentries, 1);
}

static const char *validate_stanza(const struct cluster_stanza *s)
{
	size_t i;

	if (s->seq == 0)
		return "stanza sequence starts at 1";
	if (s->route.len == 0)
		return "empty stanza";
	if (s->ntargets > CLUSTER_TARGETS_MAX)
		return "too many elements";
	for (i = 0; i < s->ntargets; i++)
		if (check_jid(&s->targets[i]) < 0)
			return "bad target JID";
	return NULL;
}

static const char *validate_members(const struct cluster_members *m)
{
	const struct cluster_member *e;
	size_t i;

	if (m->nmembers > CLUSTER_MEMBERS_MAX)
		return "too many elements";
	for (i = 0; i < m->nmembers; i++) {
		e = &m->members[i];
		if (check_name(&e->name) < 0)
			return "bad member name";
		if (check_ip(&e->ip) < 0 || e->port == 0)
			return "bad member address";
		if (e->state == 0 || e->state > CLUSTER_MEMBER_STATE_LAST)
			return "unknown member state";
	}
	return NULL;
}

static const char *validate_payload(const struct cluster_frame *f)
{
	switch (f->type) {
	case CLUSTER_FRAME_HELLO:
		return validate_hello(&f->u.hello);
	case CLUSTER_FRAME_HELLO_ACK:
		return validate_hello_ack(&f->u.hello_ack);
	case CLUSTER_FRAME_BYE:
		if (f->u.bye.reason == 0 || f->u.bye.reason > CLUSTER_BYE_REASON_LAST)
			return "unknown BYE reason";
		return check_text(&f->u.bye.text, CLUSTER_TEXT_MAX, 1, 0) < 0 ?
		       "bad BYE text" : NULL;
	case CLUSTER_FRAME_STATE_DELTA:
		return validate_delta(&f->u.delta);
	case CLUSTER_FRAME_STATE_REQUEST:
		return validate_request(&f->u.request);
	case CLUSTER_FRAME_STATE_SNAPSHOT:
		return validate_snapshot(&f->u.snapshot);
	case CLUSTER_FRAME_STANZA:
		return validate_stanza(&f->u.stanza);
	case CLUSTER_FRAME_MEMBERS:
		return validate_members(&f->u.members);
	case CLUSTER_FRAME_TAKEN:
		/* seq 0 ("nothing") exactly when no pair is named */
		if ((f->u.taken.seq == 0) != (f->u.taken.incarnation == 0) ||
		    (f->u.taken.seq == 0) != (f->u.taken.peer_incarnation == 0))
			return "TAKEN names a pair exactly when its seq is not 0";
		return NULL;
	case CLUSTER_FRAME_PING:
	case CLUSTER_FRAME_PONG:
	case CLUSTER_FRAME_ACK:
		return NULL;
	default:
		return "unknown frame type";
	}
}

/* Whether a frame of `type` may carry header version `hv` on a link that
 * negotiated `version` (0: not yet). */
static int version_allowed(uint8_t type, uint8_t hv, uint8_t version)
{
	if (type == CLUSTER_FRAME_HELLO || type == CLUSTER_FRAME_HELLO_ACK)
		return hv == 0;
	if (type == CLUSTER_FRAME_BYE && hv == 0)
		return 1;
	if (type == CLUSTER_FRAME_TAKEN && hv < CLUSTER_PROTO_VERSION_TAKEN)
		return 0;
	return version != 0 && hv == version;
}

/* ---- public functions ---- */

enum cluster_scan cluster_frame_scan(const void *buf, size_t len,
				     size_t *frame_len_r, const char **error_r)
{
	const uint8_t *p = buf;
	uint32_t plen;

	if ((len >= 1 && p[0] != (CLUSTER_PROTO_MAGIC >> 8)) ||
	    (len >= 2 && p[1] != (CLUSTER_PROTO_MAGIC & 0xff))) {
		*error_r = "bad frame magic";
		return CLUSTER_SCAN_REJECT;
	}
	if (len >= 4 && (p[3] == 0 || p[3] > CLUSTER_FRAME_TYPE_LAST)) {
		*error_r = "unknown frame type";
		return CLUSTER_SCAN_REJECT;
	}
	if (len >= 5 && p[4] != 0) {    /* 2^24 bytes and more: always too big */
		*error_r = "frame too large";
		return CLUSTER_SCAN_REJECT;
	}
	if (len < CLUSTER_FRAME_HEADER_LEN)
		return CLUSTER_SCAN_NEED_MORE;
	plen = (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	if (plen > CLUSTER_FRAME_MAX - CLUSTER_FRAME_HEADER_LEN) {
		*error_r = "frame too large";
		return CLUSTER_SCAN_REJECT;
	}
	if (len - CLUSTER_FRAME_HEADER_LEN < plen)
		return CLUSTER_SCAN_NEED_MORE;
	*frame_len_r = CLUSTER_FRAME_HEADER_LEN + plen;
	return CLUSTER_SCAN_FRAME;
}

int cluster_frame_decode(const void *buf, size_t len, uint8_t version,
			 struct cluster_frame *frame, const char **error_r)
{
	struct codec c = { .decoding = 1, .in = buf };
	size_t flen = 0;
	const char *error = NULL;

	memset(frame, 0, sizeof(*frame));
	if (version != 0 && (version < CLUSTER_PROTO_VERSION_MIN ||
			     version > CLUSTER_PROTO_VERSION_MAX)) {
		*error_r = "link version not spoken by this build";
		return -1;
	}
	if (cluster_frame_scan(buf, len, &flen, &error) != CLUSTER_SCAN_FRAME) {
		*error_r = error != NULL ? error : "frame truncated";
		return -1;
	}
	if (flen != len) {
		*error_r = "bytes after the frame";
		return -1;
	}
	if (!version_allowed(c.in[3], c.in[2], version)) {
		*error_r = "frame version does not match the link's";
		return -1;
	}
	frame->version = c.in[2];
	frame->type = c.in[3];
	c.in += CLUSTER_FRAME_HEADER_LEN;
	c.inlen = len - CLUSTER_FRAME_HEADER_LEN;
	xfer_payload(&c, frame);
	if (c.error == NULL && c.off != c.inlen)
		codec_fail(&c, "bytes left over after the payload");
	if (c.error == NULL)
		c.error = validate_payload(frame);
	if (c.error != NULL) {
		cluster_frame_clear(frame);
		*error_r = c.error;
		return -1;
	}
	return 0;
}

void cluster_frame_clear(struct cluster_frame *frame)
{
	switch (frame->type) {
	case CLUSTER_FRAME_HELLO:
		free(frame->u.hello.domains);
		break;
	case CLUSTER_FRAME_STATE_DELTA:
		free(frame->u.delta.entries);
		break;
	case CLUSTER_FRAME_STATE_SNAPSHOT:
		free(frame->u.snapshot.entries);
		break;
	case CLUSTER_FRAME_STANZA:
		free(frame->u.stanza.targets);
		break;
	case CLUSTER_FRAME_MEMBERS:
		free(frame->u.members.members);
		break;
	default:
		break;
	}
	memset(frame, 0, sizeof(*frame));
}

int cluster_frame_encode(const struct cluster_frame *frame, struct buf *out,
			 const char **error_r)
{
	struct codec c = { .decoding = 0, .out = out };
	size_t start = out->len, plen;
	uint8_t hdr[CLUSTER_FRAME_HEADER_LEN];
	int ok_version;

	if (frame->type == CLUSTER_FRAME_HELLO || frame->type == CLUSTER_FRAME_HELLO_ACK ||
	    (frame->type == CLUSTER_FRAME_BYE && frame->version == 0))
		ok_version = version_allowed(frame->type, frame->version, 0);
	else
		ok_version = frame->version >= CLUSTER_PROTO_VERSION_MIN &&
			     frame->version <= CLUSTER_PROTO_VERSION_MAX &&
			     version_allowed(frame->type, frame->version, frame->version);
	if (!ok_version) {
		*error_r = "frame version not allowed for its type";
		return -1;
	}
	if ((c.error = validate_payload(frame)) != NULL) {
		*error_r = c.error;
		return -1;
	}
	memset(hdr, 0, sizeof(hdr));
	buf_append(out, hdr, sizeof(hdr));
	/* The walk only reads the frame when encoding. */
	xfer_payload(&c, (struct cluster_frame *)frame);
	plen = out->len - start - CLUSTER_FRAME_HEADER_LEN;
	if (c.error == NULL && plen > CLUSTER_FRAME_MAX - CLUSTER_FRAME_HEADER_LEN)
		c.error = "frame too large";
	if (c.error != NULL) {
		out->len = start;
		out->data[start] = '\0';
		*error_r = c.error;
		return -1;
	}
	hdr[0] = CLUSTER_PROTO_MAGIC >> 8;
	hdr[1] = CLUSTER_PROTO_MAGIC & 0xff;
	hdr[2] = frame->version;
	hdr[3] = frame->type;
	hdr[4] = (uint8_t)(plen >> 24);
	hdr[5] = (uint8_t)(plen >> 16);
	hdr[6] = (uint8_t)(plen >> 8);
	hdr[7] = (uint8_t)plen;
	memcpy(out->data + start, hdr, sizeof(hdr));
	return 0;
}

struct cluster_bytes cluster_bytes_str(const char *s)
{
	struct cluster_bytes b = { (const uint8_t *)s, s != NULL ? strlen(s) : 0 };

	return b;
}

uint8_t cluster_proto_negotiate(uint8_t local_min, uint8_t local_max,
				uint8_t peer_min, uint8_t peer_max)
{
	uint8_t lo = local_min > peer_min ? local_min : peer_min;
	uint8_t hi = local_max < peer_max ? local_max : peer_max;

	if (local_min == 0 || peer_min == 0 || local_min > local_max || peer_min > peer_max)
		return 0;
	return lo <= hi ? hi : 0;
}

const char *cluster_frame_type_name(uint8_t type)
{
	static const char *const names[] = {
		[CLUSTER_FRAME_HELLO] = "HELLO",
		[CLUSTER_FRAME_HELLO_ACK] = "HELLO_ACK",
		[CLUSTER_FRAME_PING] = "PING",
		[CLUSTER_FRAME_PONG] = "PONG",
		[CLUSTER_FRAME_BYE] = "BYE",
		[CLUSTER_FRAME_STATE_DELTA] = "STATE_DELTA",
		[CLUSTER_FRAME_STATE_REQUEST] = "STATE_REQUEST",
		[CLUSTER_FRAME_STATE_SNAPSHOT] = "STATE_SNAPSHOT",
		[CLUSTER_FRAME_STANZA] = "STANZA",
		[CLUSTER_FRAME_ACK] = "ACK",
		[CLUSTER_FRAME_MEMBERS] = "MEMBERS",
		[CLUSTER_FRAME_TAKEN] = "TAKEN",
	};

	if (type == 0 || type > CLUSTER_FRAME_TYPE_LAST)
		return "unknown";
	return names[type];
}
