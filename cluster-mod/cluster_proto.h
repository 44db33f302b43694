/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_proto: the binary frames routers exchange over a cluster link
 * (DESIGN.md section 3, docs/cluster-protocol.md). Pure code, no I/O: the
 * link feeds whatever bytes TLS gave to cluster_frame_scan(), which says
 * "need more", "one frame of N bytes" or "reject", without allocating;
 * cluster_frame_decode() then turns exactly those N bytes into a struct
 * cluster_frame, or rejects them. cluster_frame_encode() is the inverse,
 * and the encoding is canonical: decode followed by encode gives back the
 * same bytes.
 *
 * Every frame is an 8-byte header (magic, version, type, payload length;
 * all integers big-endian) and a payload whose layout depends on the type.
 * A payload decodes completely or the frame is rejected: every length,
 * count, enum and flag is checked, and trailing bytes are an error.
 *
 * Strings and byte strings in a decoded frame are views into the buffer
 * that was decoded (struct cluster_bytes): they stay valid as long as
 * that buffer does, and are NOT NUL-terminated. Names, JIDs and other
 * text fields are guaranteed to contain no NUL byte and to respect their
 * maximum length. Arrays (domains, deltas, targets, members) are
 * allocated by the decoder; cluster_frame_clear() frees them.
 */
#ifndef CLUSTER_PROTO_H
#define CLUSTER_PROTO_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* Protocol versions this build speaks. A node always also speaks the
 * previous version (when there is one), so MIN is MAX - 1 once version 2
 * exists; see cluster_proto_negotiate(). */
#define CLUSTER_PROTO_VERSION_MIN 1
#define CLUSTER_PROTO_VERSION_MAX 2
/* The first version with TAKEN (version 2 is version 1 plus TAKEN). */
#define CLUSTER_PROTO_VERSION_TAKEN 2

/* The header's magic: "JC". */
#define CLUSTER_PROTO_MAGIC 0x4a43u
#define CLUSTER_FRAME_HEADER_LEN 8
/* Largest frame, header included. */
#define CLUSTER_FRAME_MAX (1024u * 1024u)

/* Limits on what a peer controls (bytes, not characters). */
#define CLUSTER_NAME_MAX 255            /* node names, bound names, domains */
#define CLUSTER_JID_MAX 3071            /* as util/jid.h JID_MAX */
#define CLUSTER_IP_MAX 45               /* textual IPv6 with IPv4 tail */
#define CLUSTER_SID_MAX 64              /* the sm's session id */
#define CLUSTER_TEXT_MAX 255            /* BYE's human-readable text */
#define CLUSTER_DOMAINS_MAX 64
#define CLUSTER_ENTRIES_MAX 4096        /* per STATE_DELTA / STATE_SNAPSHOT */
#define CLUSTER_TARGETS_MAX 1024        /* full JIDs per STANZA */
#define CLUSTER_MEMBERS_MAX 1024

/* The fixed header, as it is on the wire (all fields big-endian). The
 * codec reads and writes it byte by byte; the struct documents the layout
 * and lets static_assert check it. */
struct cluster_frame_header {
	uint8_t magic[2];       /* 'J' 'C' */
	uint8_t version;        /* 0 for HELLO/HELLO_ACK (and BYE before negotiation) */
	uint8_t type;           /* enum cluster_frame_type */
	uint8_t length[4];      /* payload bytes after the header */
};

enum cluster_frame_type {
	CLUSTER_FRAME_HELLO = 1,
	CLUSTER_FRAME_HELLO_ACK = 2,
	CLUSTER_FRAME_PING = 3,
	CLUSTER_FRAME_PONG = 4,
	CLUSTER_FRAME_BYE = 5,
	CLUSTER_FRAME_STATE_DELTA = 6,
	CLUSTER_FRAME_STATE_REQUEST = 7,
	CLUSTER_FRAME_STATE_SNAPSHOT = 8,
	CLUSTER_FRAME_STANZA = 9,
	CLUSTER_FRAME_ACK = 10,
	CLUSTER_FRAME_MEMBERS = 11,
	CLUSTER_FRAME_TAKEN = 12,       /* version 2 and later */
};
#define CLUSTER_FRAME_TYPE_LAST CLUSTER_FRAME_TAKEN

/* A run of bytes inside a decoded (or to-be-encoded) frame. */
struct cluster_bytes {
	const uint8_t *ptr;
	size_t len;
};

/* HELLO_ACK result: 0 accepts, anything else refuses the link. */
enum cluster_hello_result {
	CLUSTER_HELLO_OK = 0,
	CLUSTER_HELLO_REFUSE_VERSION = 1,       /* no common version */
	CLUSTER_HELLO_REFUSE_NAME = 2,          /* name differs from the certificate's */
	CLUSTER_HELLO_REFUSE_DOMAINS = 3,       /* clustered domains differ */
	CLUSTER_HELLO_REFUSE_DUPLICATE = 4,     /* a link with this node already exists */
	CLUSTER_HELLO_REFUSE_SHUTDOWN = 5,      /* this node is stopping */
};
#define CLUSTER_HELLO_RESULT_LAST CLUSTER_HELLO_REFUSE_SHUTDOWN

enum cluster_bye_reason {
	CLUSTER_BYE_SHUTDOWN = 1,
	CLUSTER_BYE_REFUSED = 2,
	CLUSTER_BYE_PROTOCOL_ERROR = 3,
	CLUSTER_BYE_NEW_INCARNATION = 4,        /* closing to open again at once */
};
#define CLUSTER_BYE_REASON_LAST CLUSTER_BYE_NEW_INCARNATION

/* One routing-state change (STATE_DELTA) or entry (STATE_SNAPSHOT). */
enum cluster_entry_op {
	CLUSTER_OP_SESSION_ADD = 1,
	CLUSTER_OP_SESSION_UPDATE = 2,
	CLUSTER_OP_SESSION_REMOVE = 3,
	CLUSTER_OP_NAME_BIND = 4,
	CLUSTER_OP_NAME_UNBIND = 5,
};
#define CLUSTER_OP_LAST CLUSTER_OP_NAME_UNBIND

#define CLUSTER_SESSION_AVAILABLE 0x01u  /* cluster_entry.flags */

struct cluster_entry {
	uint8_t op;                     /* enum cluster_entry_op */
	/* SESSION_*: the full JID. NAME_*: the bound name. */
	struct cluster_bytes name;
	/* SESSION_ADD and SESSION_UPDATE only (zero otherwise). */
	int8_t priority;
	uint8_t flags;                  /* CLUSTER_SESSION_AVAILABLE */
	uint64_t started_ms;            /* session start, Unix ms: newer wins */
	struct cluster_bytes sid;       /* the sm's session id, may be empty */
};

struct cluster_hello {
	uint8_t version_min, version_max;
	uint64_t incarnation;
	struct cluster_bytes node;      /* must equal the certificate's name */
	struct cluster_bytes ip;        /* where this node listens */
	uint16_t port;
	size_t ndomains;
	struct cluster_bytes *domains;  /* clustered domains, for a sanity check */
};

struct cluster_hello_ack {
	uint8_t result;                 /* enum cluster_hello_result */
	uint8_t version;                /* chosen; 0 when refused */
	uint64_t incarnation;
	struct cluster_bytes node;
};

struct cluster_ping {                   /* PING and PONG */
	uint64_t seq;
	uint64_t timestamp_us;          /* the PING sender's clock, echoed */
};

struct cluster_bye {
	uint8_t reason;                 /* enum cluster_bye_reason */
	struct cluster_bytes text;      /* for the log; may be empty */
};

/* Changes to `origin`'s entries; entry i has sequence first_seq + i. */
struct cluster_state_delta {
	struct cluster_bytes origin;
	uint64_t incarnation;
	uint64_t first_seq;
	size_t nentries;
	struct cluster_entry *entries;
};

enum cluster_state_request_mode {
	CLUSTER_REQUEST_SINCE = 0,      /* deltas after from_seq */
	CLUSTER_REQUEST_SNAPSHOT = 1,   /* everything (from_seq is 0) */
};

struct cluster_state_request {
	struct cluster_bytes origin;    /* whose entries */
	uint64_t incarnation;           /* the incarnation from_seq belongs to */
	uint8_t mode;
	uint64_t from_seq;
};

#define CLUSTER_SNAPSHOT_BEGIN 0x01u
#define CLUSTER_SNAPSHOT_END 0x02u

/* One chunk of origin's entries as of sequence `seq`; the first chunk has
 * BEGIN, the last END (a one-chunk snapshot has both). Only SESSION_ADD
 * and NAME_BIND entries. */
struct cluster_state_snapshot {
	struct cluster_bytes origin;
	uint64_t incarnation;
	uint64_t seq;
	uint8_t flags;
	size_t nentries;
	struct cluster_entry *entries;
};

/* A route for the peer; targets lists the full JIDs it is for when one
 * stanza fans out to several users on that node (may be empty). */
struct cluster_stanza {
	uint64_t seq;                   /* per link, from 1 */
	struct cluster_bytes route;     /* the route's bytes, opaque */
	size_t ntargets;
	struct cluster_bytes *targets;
};

struct cluster_ack {
	uint64_t seq;                   /* every STANZA up to seq arrived */
};

/* What the sender last took from the receiver, named by the pair of
 * incarnations it was numbered under, so that it survives a new
 * incarnation of either end (docs/cluster-protocol.md "TAKEN (12)").
 * seq 0 says "nothing" and then both incarnations are 0. */
struct cluster_taken {
	uint64_t incarnation;           /* the sender's, in that pair */
	uint64_t peer_incarnation;      /* the receiver's, in that pair */
	uint64_t seq;                   /* the last STANZA taken under it */
};

enum cluster_member_state {
	CLUSTER_MEMBER_ALIVE = 1,
	CLUSTER_MEMBER_SUSPECT = 2,
	CLUSTER_MEMBER_DEAD = 3,
	CLUSTER_MEMBER_LEFT = 4,
};
#define CLUSTER_MEMBER_STATE_LAST CLUSTER_MEMBER_LEFT

struct cluster_member {
	struct cluster_bytes name;
	struct cluster_bytes ip;
	uint16_t port;
	uint64_t incarnation;
	uint8_t state;                  /* enum cluster_member_state */
};

struct cluster_members {
	size_t nmembers;
	struct cluster_member *members;
};

struct cluster_frame {
	uint8_t version;                /* header version */
	uint8_t type;                   /* enum cluster_frame_type */
	union {
		struct cluster_hello hello;
		struct cluster_hello_ack hello_ack;
		struct cluster_ping ping;       /* PING and PONG */
		struct cluster_bye bye;
		struct cluster_state_delta delta;
		struct cluster_state_request request;
		struct cluster_state_snapshot snapshot;
		struct cluster_stanza stanza;
		struct cluster_ack ack;
		struct cluster_members members;
		struct cluster_taken taken;
	} u;
};

enum cluster_scan {
	CLUSTER_SCAN_NEED_MORE = 0,
	CLUSTER_SCAN_FRAME = 1,
	CLUSTER_SCAN_REJECT = -1,
};

/*
 * Look at the start of `buf` (len bytes, any amount) without allocating.
 * Returns CLUSTER_SCAN_FRAME with *frame_len_r = header + payload when a
 * whole frame is there (more bytes may follow), NEED_MORE when the bytes
 * are a valid prefix, or REJECT with *error_r (static string) when the
 * magic is wrong, the type is unknown or the length exceeds
 * CLUSTER_FRAME_MAX — as soon as the offending byte has arrived.
 */
enum cluster_scan cluster_frame_scan(const void *buf, size_t len,
				     size_t *frame_len_r, const char **error_r);

/*
 * Decode exactly one frame of `len` bytes (as measured by scan) into
 * *frame. `version` is the version negotiated on this link, or 0 before
 * negotiation: HELLO and HELLO_ACK must carry version 0; BYE carries 0 or
 * `version`; any other frame must carry `version` (so none is accepted
 * before negotiation). Returns 0, or -1 with *error_r (static string) and
 * *frame cleared. On success the frame's views point into buf; release its
 * arrays with cluster_frame_clear().
 */
int cluster_frame_decode(const void *buf, size_t len, uint8_t version,
			 struct cluster_frame *frame, const char **error_r);

/* Free the arrays a decode allocated and zero the frame. Safe on a
 * zeroed frame. Never frees the bytes the views point into. */
void cluster_frame_clear(struct cluster_frame *frame);

/*
 * Append the encoding of *frame to out. Checks everything the decoder
 * checks (so we never send what a peer must reject); on failure returns
 * -1 with *error_r and leaves out unchanged. Returns 0.
 */
int cluster_frame_encode(const struct cluster_frame *frame, struct buf *out,
			 const char **error_r);

/* A view of a NUL-terminated string, for filling frames to encode. */
struct cluster_bytes cluster_bytes_str(const char *s);

/*
 * Choose the version for a link: the highest version both ranges hold.
 * Returns it, or 0 when the ranges are disjoint or malformed (min > max,
 * min 0). Symmetric: both ends compute the same answer. A range is what a
 * node speaks: its own version and the one before it, so two nodes one
 * version apart agree on the older, and two versions apart are refused.
 */
uint8_t cluster_proto_negotiate(uint8_t local_min, uint8_t local_max,
				uint8_t peer_min, uint8_t peer_max);

/* "HELLO", "STANZA"...; "unknown" for anything else. */
const char *cluster_frame_type_name(uint8_t type);

#endif
