/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sample frames of every type: see proto_samples.h. */
#include "config.h"
#include "cluster-mod/tests/proto_samples.h"

#define S(s) { (const uint8_t *)(s), sizeof(s) - 1 }
#define V CLUSTER_PROTO_VERSION_MAX

static struct cluster_bytes domains[] = { S("example.org"), S("conference.example.org") };
static struct cluster_entry delta_entries[] = {
	{ .op = CLUSTER_OP_SESSION_ADD, .name = S("alice@example.org/phone"), .priority = 5,
	  .flags = CLUSTER_SESSION_AVAILABLE, .started_ms = 1796600000123ULL, .sid = S("s1a2b3") },
	{ .op = CLUSTER_OP_SESSION_UPDATE, .name = S("alice@example.org/phone"), .priority = -1,
	  .flags = 0, .started_ms = 1796600000123ULL, .sid = S("s1a2b3") },
	{ .op = CLUSTER_OP_SESSION_REMOVE, .name = S("bob@example.org/laptop") },
	{ .op = CLUSTER_OP_NAME_BIND, .name = S("muc.example.org") },
	{ .op = CLUSTER_OP_NAME_UNBIND, .name = S("pubsub.example.org") },
};
static struct cluster_entry snapshot_entries[] = {
	{ .op = CLUSTER_OP_SESSION_ADD, .name = S("carol@example.org/desk"), .priority = 0,
	  .flags = CLUSTER_SESSION_AVAILABLE, .started_ms = 1796600000999ULL, .sid = S("") },
	{ .op = CLUSTER_OP_NAME_BIND, .name = S("muc.example.org") },
};
static struct cluster_bytes targets[] = {
	S("alice@example.org/phone"), S("bob@example.org/laptop"), S("dave@example.org/x"),
};
static struct cluster_member members[] = {
	{ S("n1"), S("127.0.0.2"), 5348, 1, CLUSTER_MEMBER_ALIVE },
	{ S("n2"), S("::1"), 5349, 7, CLUSTER_MEMBER_SUSPECT },
	{ S("n3"), S("127.0.0.4"), 5348, 2, CLUSTER_MEMBER_DEAD },
	{ S("n4"), S("127.0.0.5"), 5348, 3, CLUSTER_MEMBER_LEFT },
};
static const char route[] =
	"<route xmlns='jabber:component:accept' to='sm-n2' from='c2s'>"
	"<message to='alice@example.org/phone'><body>hi</body></message></route>";

static struct proto_sample samples[] = {
	{ "hello", { .version = 0, .type = CLUSTER_FRAME_HELLO, .u.hello = {
		.version_min = CLUSTER_PROTO_VERSION_MIN, .version_max = V,
		.incarnation = 1796600000, .node = S("n1"), .ip = S("127.0.0.2"),
		.port = 5348, .ndomains = 2, .domains = domains } } },
	{ "hello_ack", { .version = 0, .type = CLUSTER_FRAME_HELLO_ACK, .u.hello_ack = {
		.result = CLUSTER_HELLO_OK, .version = V, .incarnation = 42, .node = S("n2") } } },
	{ "hello_ack_refused", { .version = 0, .type = CLUSTER_FRAME_HELLO_ACK, .u.hello_ack = {
		.result = CLUSTER_HELLO_REFUSE_VERSION, .version = 0, .incarnation = 42,
		.node = S("n2") } } },
	{ "ping", { .version = V, .type = CLUSTER_FRAME_PING, .u.ping = {
		.seq = 17, .timestamp_us = 1796600000123456ULL } } },
	{ "pong", { .version = V, .type = CLUSTER_FRAME_PONG, .u.ping = {
		.seq = 17, .timestamp_us = 1796600000123456ULL } } },
	{ "bye", { .version = V, .type = CLUSTER_FRAME_BYE, .u.bye = {
		.reason = CLUSTER_BYE_SHUTDOWN, .text = S("SIGTERM") } } },
	{ "bye_early", { .version = 0, .type = CLUSTER_FRAME_BYE, .u.bye = {
		.reason = CLUSTER_BYE_PROTOCOL_ERROR, .text = S("") } } },
	{ "state_delta", { .version = V, .type = CLUSTER_FRAME_STATE_DELTA, .u.delta = {
		.origin = S("n1"), .incarnation = 1796600000, .first_seq = 100,
		.nentries = 5, .entries = delta_entries } } },
	{ "state_request", { .version = V, .type = CLUSTER_FRAME_STATE_REQUEST, .u.request = {
		.origin = S("n1"), .incarnation = 1796600000, .mode = CLUSTER_REQUEST_SINCE,
		.from_seq = 99 } } },
	{ "state_request_snapshot", { .version = V, .type = CLUSTER_FRAME_STATE_REQUEST,
		.u.request = { .origin = S("n3"), .incarnation = 5,
		.mode = CLUSTER_REQUEST_SNAPSHOT, .from_seq = 0 } } },
	{ "state_snapshot", { .version = V, .type = CLUSTER_FRAME_STATE_SNAPSHOT, .u.snapshot = {
		.origin = S("n3"), .incarnation = 5, .seq = 1234,
		.flags = CLUSTER_SNAPSHOT_BEGIN | CLUSTER_SNAPSHOT_END,
		.nentries = 2, .entries = snapshot_entries } } },
	{ "stanza", { .version = V, .type = CLUSTER_FRAME_STANZA, .u.stanza = {
		.seq = 1, .route = S(route), .ntargets = 3, .targets = targets } } },
	{ "stanza_single", { .version = V, .type = CLUSTER_FRAME_STANZA, .u.stanza = {
		.seq = 2, .route = S(route), .ntargets = 0, .targets = NULL } } },
	{ "ack", { .version = V, .type = CLUSTER_FRAME_ACK, .u.ack = { .seq = 2 } } },
	{ "members", { .version = V, .type = CLUSTER_FRAME_MEMBERS, .u.members = {
		.nmembers = 4, .members = members } } },
	{ "taken", { .version = V, .type = CLUSTER_FRAME_TAKEN, .u.taken = {
		.incarnation = 1796653871687, .peer_incarnation = 1796653871156,
		.seq = 30 } } },
	{ "taken_nothing", { .version = V, .type = CLUSTER_FRAME_TAKEN, .u.taken = {
		.incarnation = 0, .peer_incarnation = 0, .seq = 0 } } },
};

const struct proto_sample *proto_samples(size_t *n_r)
{
	*n_r = sizeof(samples) / sizeof(samples[0]);
	return samples;
}
