/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_status.c: the control socket's request parser and report
 * formatters (cluster_status.h). No I/O here.
 */
#include "config.h"
#include "cluster-mod/cluster_status.h"

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

enum cluster_control_request cluster_control_parse(const char *line, size_t len)
{
	while (len > 0 && is_blank(line[0])) {
		line++;
		len--;
	}
	while (len > 0 && is_blank(line[len - 1]))
		len--;
	if (len == 6 && memcmp(line, "status", 6) == 0)
		return CLUSTER_REQ_STATUS;
	if (len == 7 && memcmp(line, "metrics", 7) == 0)
		return CLUSTER_REQ_METRICS;
	if (len > 6 && memcmp(line, "status", 6) == 0 && is_blank(line[6])) {
		size_t i = 6;

		while (i < len && is_blank(line[i]))
			i++;
		if (len - i == 4 && memcmp(line + i, "json", 4) == 0)
			return CLUSTER_REQ_JSON;
	}
	return CLUSTER_REQ_INVALID;
}

static void utc(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "%lld", (long long)t);
}

static const char *peer_state(const struct cluster_status_peer *p)
{
	if (p->link.state == CLUSTER_LINK_UP && !p->open)
		return "opening";       /* TLS up, HELLO not done */
	return cluster_link_state_name(p->link.state);
}

/* i14: the causes of tables.undelivered_by, as jc:undelivered names them. */
static const char *const undelivered_causes[] = {
	"node-dead", "queue-full", "no-such-node", "too-big", "hop-limit", "sm-gone",
};
static_assert(sizeof(undelivered_causes) / sizeof(undelivered_causes[0]) ==
	      sizeof(((struct cluster_status_tables *)0)->undelivered_by) / sizeof(uint64_t),
	      "one name per cause");

/* i14: the members in `state` (NULL: held down), "-" when none. */
static void members_in(const struct cluster_status *st, const char *state, struct buf *out)
{
	int n = 0;

	for (int i = 0; i < st->nmembers; i++) {
		const struct cluster_status_member *m = &st->members[i];

		if (state != NULL ? strcmp(m->state, state) != 0 : !m->held)
			continue;
		buf_printf(out, "%s%s", n++ > 0 ? " " : "", m->name);
	}
	if (n == 0)
		buf_append_str(out, "-");
}

static void text_membership(const struct cluster_status *st, struct buf *out)
{
	const struct cluster_members_counters *e = &st->member_events;

	buf_printf(out, "membership\n  suspect      ");
	members_in(st, "suspect", out);
	buf_printf(out, "\n  dead         ");
	members_in(st, "dead", out);
	buf_printf(out, "\n  held down    ");
	members_in(st, NULL, out);
	buf_printf(out, "\n  events       suspected %" PRIu64 ", declared dead %" PRIu64
		   ", left %" PRIu64 ", partitions seen %" PRIu64 ", merges %" PRIu64
		   ", held down %" PRIu64 ", own pauses %" PRIu64 "\n", e->suspected,
		   e->declared_dead, e->left, e->partitions, e->merges, e->held_down, e->pauses);
}

void cluster_status_text(const struct cluster_status *st, struct buf *out)
{
	char since[32];
	int open = 0;

	for (int i = 0; i < st->npeers; i++)
		open += st->peers[i].open;
	buf_printf(out, "node %s\n", st->node);
	buf_printf(out, "  incarnation  %" PRIu64 "\n", st->incarnation);
	buf_printf(out, "  protocol     versions %u-%u\n", st->version_min, st->version_max);
	buf_printf(out, "  profile      %s\n", st->profile);
	buf_printf(out, "  peers        %d known, %d up\n", st->npeers, open);
	for (int i = 0; i < st->npeers; i++) {
		const struct cluster_status_peer *p = &st->peers[i];
		const struct cluster_peer_status *l = &p->link;

		buf_printf(out, "peer %s\n", l->name);
		if (l->ip[0] != '\0')
			buf_printf(out, "  address      %s port %d\n", l->ip, l->port);
		else
			buf_printf(out, "  address      (not configured; it dialled us)\n");
		buf_printf(out, "  link         %s", peer_state(p));
		if (l->state == CLUSTER_LINK_UP) {
			utc(l->up_since, since, sizeof(since));
			buf_printf(out, " since %s (%lld s), %s %s", since,
				   (long long)(st->now - l->up_since),
				   l->outgoing ? "dialled to" : "accepted from", l->remote);
		} else if (l->state == CLUSTER_LINK_DOWN) {
			buf_printf(out, ", next dial in %u ms", l->backoff_ms);
		}
		buf_printf(out, "\n");
		if (p->open) {
			buf_printf(out, "  protocol     version %u, peer incarnation %" PRIu64 "\n",
				   p->version, p->incarnation);
			buf_printf(out, "  rtt          %.3f ms\n", (double)p->rtt_us / 1000.0);
		}
		buf_printf(out, "  bytes        in %" PRIu64 ", out %" PRIu64 "\n", l->bytes_in,
			   l->bytes_out);
		buf_printf(out, "  links up     %" PRIu64 " (duplicates closed %" PRIu64 ")\n",
			   l->ups, l->duplicates);
		buf_printf(out, "  last error   %s\n", l->last_error[0] != '\0' ? l->last_error : "-");
		buf_printf(out, "  sessions     %" PRIu64 "\n", p->sessions);
		buf_printf(out, "  queue        %" PRIu64 " unacked, %" PRIu64 " bytes (bound %"
			   PRIu64 ", %" PRIu64 " bytes), oldest %" PRIu64 " ms; link output %"
			   PRIu64 " bytes\n", p->queue_frames, p->queue_bytes, p->queue_max_frames,
			   p->queue_max_bytes, p->queue_oldest_ms, l->out_queued);
		buf_printf(out, "  undelivered ");
		for (int r = 0; r < CLUSTER_FWD_REASONS; r++)
			buf_printf(out, "%s %s %" PRIu64, r > 0 ? "," : "",
				   cluster_fwd_reason_name((enum cluster_fwd_reason)r),
				   p->undelivered[r]);
		buf_printf(out, "\n  in doubt     %" PRIu64 " (after a new incarnation; taken by "
			   "the peer after all since start: %" PRIu64 ")\n", p->queue_in_doubt,
			   p->queue_doubt_taken);
	}
	for (int i = 0; i < st->nmembers; i++) {
		const struct cluster_status_member *m = &st->members[i];

		utc(m->since, since, sizeof(since));
		buf_printf(out, "member %s\n", m->name);
		buf_printf(out, "  state        %s since %s (%lld s)%s\n", m->state, since,
			   (long long)(st->now - m->since), m->self ? ", this node" : "");
		buf_printf(out, "  incarnation  %" PRIu64 "\n", m->incarnation);
		if (m->ip[0] != '\0')
			buf_printf(out, "  address      %s port %d\n", m->ip, m->port);
		if (m->self)
			continue;
		buf_printf(out, "  flap         penalty %u, back %" PRIu64 " times", m->penalty,
			   m->returns);
		if (m->held) {
			utc(m->held_since, since, sizeof(since));
			buf_printf(out, ", held down since %s (%lld s)", since,
				   (long long)(st->now - m->held_since));
		}
		buf_printf(out, "\n");
	}
	text_membership(st, out);
	buf_printf(out, "refusals\n");
	for (int r = 0; r < CLUSTER_REFUSE_COUNT; r++)
		buf_printf(out, "  %-22s %" PRIu64 "\n", cluster_refusal_name((enum cluster_refusal)r),
			   st->refusals[r]);
	buf_printf(out, "router\n");
	buf_printf(out, "  routed       %" PRIu64 "\n", st->router.routed);
	buf_printf(out, "  bounced      %" PRIu64 "\n", st->router.bounced);
	buf_printf(out, "  redirects    %" PRIu64 " entries, %" PRIu64 " hits, %" PRIu64 " misses\n",
		   st->router.redirects, st->router.redirect_hits, st->router.redirect_misses);
	buf_printf(out, "tables\n");
	buf_printf(out, "  local        %" PRIu64 " sessions\n", st->tables.local_sessions);
	buf_printf(out, "  remote       %" PRIu64 " sessions\n", st->tables.remote_sessions);
	buf_printf(out, "  stubs        %" PRIu64 " pushed\n", st->tables.stubs_pushed);
	buf_printf(out, "  redirects    %" PRIu64 " installed\n", st->tables.redirect_entries);
	buf_printf(out, "  handed       %" PRIu64 "\n", st->tables.handed);
	buf_printf(out, "  forwarded    out %" PRIu64 ", in %" PRIu64 ", undelivered %" PRIu64 "\n",
		   st->tables.forwarded_out, st->tables.forwarded_in, st->tables.undelivered);
	buf_printf(out, "  for the sm   %" PRIu64 " held now; %" PRIu64 " held, %" PRIu64
		   " handed back, %" PRIu64 " dropped\n", st->tables.sm_held_now,
		   st->tables.sm_held, st->tables.sm_returned, st->tables.sm_dropped);
	buf_printf(out, "  direct       %" PRIu64 " to c2s, %" PRIu64 " through the sm after "
		   "an earlier stanza; %" PRIu64 " sessions\n", st->tables.direct,
		   st->tables.direct_waited, st->tables.direct_sessions);
	buf_printf(out, "  undelivered ");
	for (size_t k = 0; k < sizeof(undelivered_causes) / sizeof(undelivered_causes[0]); k++)
		buf_printf(out, "%s %s %" PRIu64, k > 0 ? "," : "", undelivered_causes[k],
			   st->tables.undelivered_by[k]);
	buf_printf(out, "\n");
	buf_printf(out, "  components   %" PRIu64 " announced, %" PRIu64 " held for peers; routes "
		   "out %" PRIu64 ", in %" PRIu64 ", bounced %" PRIu64 "\n",
		   st->tables.names_announced, st->tables.names_held, st->tables.component_out,
		   st->tables.component_in, st->tables.component_bounced);
	buf_printf(out, "  peer input   %s, held %" PRIu64 " times (local sm congested)\n",
		   st->tables.input_held ? "held" : "read", st->tables.input_holds);
}

/* A JSON string: quotes, backslashes and control bytes escaped; other
 * bytes as they are (our strings are node names, addresses and error
 * texts in ASCII). */
static void json_str(struct buf *out, const char *s)
{
	buf_append_char(out, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf_printf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			buf_printf(out, "\\u%04x", c);
		else
			buf_append_char(out, (char)c);
	}
	buf_append_char(out, '"');
}

void cluster_status_json(const struct cluster_status *st, struct buf *out)
{
	buf_append_str(out, "{\"node\":");
	json_str(out, st->node);
	buf_printf(out, ",\"incarnation\":%" PRIu64 ",\"protocol\":{\"min\":%u,\"max\":%u}",
		   st->incarnation, st->version_min, st->version_max);
	buf_append_str(out, ",\"profile\":");
	json_str(out, st->profile);
	buf_printf(out, ",\"now\":%lld,\"peers\":[", (long long)st->now);
	for (int i = 0; i < st->npeers; i++) {
		const struct cluster_status_peer *p = &st->peers[i];
		const struct cluster_peer_status *l = &p->link;

		buf_append_str(out, i > 0 ? ",{\"name\":" : "{\"name\":");
		json_str(out, l->name);
		buf_append_str(out, ",\"ip\":");
		json_str(out, l->ip);
		buf_printf(out, ",\"port\":%d,\"state\":", l->port);
		json_str(out, peer_state(p));
		buf_printf(out, ",\"open\":%s,\"outgoing\":%s,\"remote\":",
			   p->open ? "true" : "false", l->outgoing ? "true" : "false");
		json_str(out, l->remote);
		buf_printf(out, ",\"up_since\":%lld", (long long)l->up_since);
		if (p->open)
			buf_printf(out, ",\"version\":%u,\"peer_incarnation\":%" PRIu64
				   ",\"rtt_us\":%" PRIu64, p->version, p->incarnation, p->rtt_us);
		else
			buf_append_str(out, ",\"version\":null,\"peer_incarnation\":null,\"rtt_us\":null");
		buf_printf(out, ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
			   ",\"ups\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"backoff_ms\":%u"
			   ",\"last_error\":", l->bytes_in, l->bytes_out, l->ups, l->duplicates,
			   l->backoff_ms);
		json_str(out, l->last_error);
		buf_printf(out, ",\"sessions\":%" PRIu64 ",\"queue\":{\"frames\":%" PRIu64
			   ",\"bytes\":%" PRIu64 ",\"max_frames\":%" PRIu64 ",\"max_bytes\":%"
			   PRIu64 ",\"oldest_ms\":%" PRIu64 ",\"out_bytes\":%" PRIu64
			   ",\"in_doubt\":%" PRIu64 ",\"doubt_taken\":%" PRIu64
			   "},\"undelivered\":{", p->sessions, p->queue_frames, p->queue_bytes,
			   p->queue_max_frames, p->queue_max_bytes, p->queue_oldest_ms,
			   l->out_queued, p->queue_in_doubt, p->queue_doubt_taken);
		for (int r = 0; r < CLUSTER_FWD_REASONS; r++) {
			if (r > 0)
				buf_append_char(out, ',');
			json_str(out, cluster_fwd_reason_name((enum cluster_fwd_reason)r));
			buf_printf(out, ":%" PRIu64, p->undelivered[r]);
		}
		buf_append_str(out, "}}");
	}
	buf_append_str(out, "],\"members\":[");
	for (int i = 0; i < st->nmembers; i++) {
		const struct cluster_status_member *m = &st->members[i];

		buf_append_str(out, i > 0 ? ",{\"name\":" : "{\"name\":");
		json_str(out, m->name);
		buf_append_str(out, ",\"ip\":");
		json_str(out, m->ip);
		buf_printf(out, ",\"port\":%d,\"incarnation\":%" PRIu64 ",\"state\":", m->port,
			   m->incarnation);
		json_str(out, m->state);
		buf_printf(out, ",\"since\":%lld,\"self\":%s", (long long)m->since,
			   m->self ? "true" : "false");
		buf_printf(out, ",\"penalty\":%u,\"returns\":%" PRIu64 ",\"held\":%s", m->penalty,
			   m->returns, m->held ? "true" : "false");
		if (m->held)
			buf_printf(out, ",\"held_since\":%lld}", (long long)m->held_since);
		else
			buf_append_str(out, ",\"held_since\":null}");
	}
	{       /* i14 */
		const struct cluster_members_counters *e = &st->member_events;
		static const char *const lists[] = { "suspect", "dead", NULL };

		buf_printf(out, "],\"membership\":{\"suspected\":%" PRIu64
			   ",\"declared_dead\":%" PRIu64 ",\"left\":%" PRIu64
			   ",\"partitions\":%" PRIu64 ",\"merges\":%" PRIu64
			   ",\"held_down\":%" PRIu64 ",\"pauses\":%" PRIu64, e->suspected,
			   e->declared_dead, e->left, e->partitions, e->merges, e->held_down,
			   e->pauses);
		for (int k = 0; k < 3; k++) {
			int n = 0;

			buf_printf(out, ",\"%s\":[", lists[k] != NULL ? lists[k] : "held");
			for (int i = 0; i < st->nmembers; i++) {
				const struct cluster_status_member *m = &st->members[i];

				if (lists[k] != NULL ? strcmp(m->state, lists[k]) != 0 : !m->held)
					continue;
				if (n++ > 0)
					buf_append_char(out, ',');
				json_str(out, m->name);
			}
			buf_append_char(out, ']');
		}
		buf_append_char(out, '}');
	}
	buf_append_str(out, ",\"refusals\":{");
	for (int r = 0; r < CLUSTER_REFUSE_COUNT; r++) {
		if (r > 0)
			buf_append_char(out, ',');
		json_str(out, cluster_refusal_name((enum cluster_refusal)r));
		buf_printf(out, ":%" PRIu64, st->refusals[r]);
	}
	buf_printf(out, "},\"router\":{\"routed\":%" PRIu64 ",\"bounced\":%" PRIu64
		   ",\"redirect_hits\":%" PRIu64 ",\"redirect_misses\":%" PRIu64
		   ",\"redirect_entries\":%" PRIu64 "}", st->router.routed,
		   st->router.bounced, st->router.redirect_hits, st->router.redirect_misses,
		   st->router.redirects);
	buf_printf(out, ",\"tables\":{\"local_sessions\":%" PRIu64 ",\"remote_sessions\":%"
		   PRIu64 ",\"stubs_pushed\":%" PRIu64 ",\"redirect_entries\":%" PRIu64
		   ",\"handed\":%" PRIu64 ",\"forwarded_out\":%" PRIu64 ",\"forwarded_in\":%"
		   PRIu64 ",\"undelivered\":%" PRIu64, st->tables.local_sessions,
		   st->tables.remote_sessions, st->tables.stubs_pushed,
		   st->tables.redirect_entries, st->tables.handed, st->tables.forwarded_out,
		   st->tables.forwarded_in, st->tables.undelivered);
	buf_printf(out, ",\"sm_held_now\":%" PRIu64 ",\"sm_held\":%" PRIu64
		   ",\"sm_returned\":%" PRIu64 ",\"sm_dropped\":%" PRIu64,
		   st->tables.sm_held_now, st->tables.sm_held, st->tables.sm_returned,
		   st->tables.sm_dropped);
	buf_printf(out, ",\"direct\":%" PRIu64 ",\"direct_waited\":%" PRIu64
		   ",\"direct_sessions\":%" PRIu64, st->tables.direct, st->tables.direct_waited,
		   st->tables.direct_sessions);
	buf_append_str(out, ",\"undelivered_by\":{");
	for (size_t k = 0; k < sizeof(undelivered_causes) / sizeof(undelivered_causes[0]); k++)
		buf_printf(out, "%s\"%s\":%" PRIu64, k > 0 ? "," : "", undelivered_causes[k],
			   st->tables.undelivered_by[k]);
	buf_append_char(out, '}');
	buf_printf(out, ",\"names_announced\":%" PRIu64 ",\"names_held\":%" PRIu64
		   ",\"component_out\":%" PRIu64 ",\"component_in\":%" PRIu64
		   ",\"component_bounced\":%" PRIu64 ",\"input_held\":%s,\"input_holds\":%"
		   PRIu64 "}}\n", st->tables.names_announced,
		   st->tables.names_held, st->tables.component_out, st->tables.component_in,
		   st->tables.component_bounced, st->tables.input_held ? "true" : "false",
		   st->tables.input_holds);
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void prom_label(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_printf(out, "\\%c", *s);
		else if (*s == '\n')
			buf_append_str(out, "\\n");
		else
			buf_append_char(out, *s);
	}
}

static void prom_head(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A peer's value: from `get` (0: no sample), or the uint64_t at `off`. */
static int peer_value(const struct cluster_status_peer *p,
		      int (*get)(const struct cluster_status_peer *p, double *v), size_t off,
		      double *v)
{
	uint64_t u;

	if (get != NULL)
		return get(p, v);
	memcpy(&u, (const char *)p + off, sizeof(u));
	*v = (double)u;
	return 1;
}

/* One line per peer of metric `name`, value from `get` or at `off`. */
static void prom_peers(const struct cluster_status *st, struct buf *out, const char *name,
		       const char *type, const char *help,
		       int (*get)(const struct cluster_status_peer *p, double *v), size_t off)
{
	double v;

	prom_head(out, name, type, help);
	for (int i = 0; i < st->npeers; i++) {
		if (!peer_value(&st->peers[i], get, off, &v))
			continue;
		buf_printf(out, "%s{node=\"", name);
		prom_label(out, st->node);
		buf_append_str(out, "\",peer=\"");
		prom_label(out, st->peers[i].link.name);
		buf_printf(out, "\"} %.9g\n", v);
	}
}

static int get_up(const struct cluster_status_peer *p, double *v)
{
	*v = p->open ? 1 : 0;
	return 1;
}

static int get_rtt(const struct cluster_status_peer *p, double *v)
{
	*v = (double)p->rtt_us / 1e6;
	return p->open;
}

static int get_oldest(const struct cluster_status_peer *p, double *v)
{
	*v = (double)p->queue_oldest_ms / 1e3;
	return 1;
}

/* A peer's uint64_t field, read by peer_value(). */
#define PEER_U64(field) NULL, offsetof(struct cluster_status_peer, field)
#define PEER_FIELD_IS_U64(field) \
	static_assert(sizeof(((struct cluster_status_peer *)0)->field) == sizeof(uint64_t), \
		      #field " is read as a uint64_t")
PEER_FIELD_IS_U64(link.bytes_in);
PEER_FIELD_IS_U64(link.bytes_out);
PEER_FIELD_IS_U64(link.ups);
PEER_FIELD_IS_U64(sessions);
PEER_FIELD_IS_U64(queue_frames);
PEER_FIELD_IS_U64(queue_bytes);
PEER_FIELD_IS_U64(queue_max_frames);
PEER_FIELD_IS_U64(queue_max_bytes);
PEER_FIELD_IS_U64(queue_oldest_ms);
PEER_FIELD_IS_U64(queue_in_doubt);
PEER_FIELD_IS_U64(queue_doubt_taken);
PEER_FIELD_IS_U64(link.out_queued);

static void prom_router(const struct cluster_status *st, struct buf *out, const char *name,
			const char *type, const char *help, uint64_t v)
{
	prom_head(out, name, type, help);
	buf_printf(out, "%s{node=\"", name);
	prom_label(out, st->node);
	buf_printf(out, "\"} %" PRIu64 "\n", v);
}

/* i14: one sample per other member: 0 penalty, 1 held, 2 returns. */
static void prom_member_values(const struct cluster_status *st, struct buf *out,
			       const char *name, const char *type, const char *help, int which)
{
	prom_head(out, name, type, help);
	for (int i = 0; i < st->nmembers; i++) {
		const struct cluster_status_member *m = &st->members[i];
		uint64_t v = which == 0 ? m->penalty : which == 1 ? (uint64_t)m->held : m->returns;

		if (m->self)
			continue;
		buf_printf(out, "%s{node=\"", name);
		prom_label(out, st->node);
		buf_append_str(out, "\",member=\"");
		prom_label(out, m->name);
		buf_printf(out, "\"} %" PRIu64 "\n", v);
	}
}

/* The members' states, one sample per member and state (1 for the
 * member's state, 0 for the others), and when each entered it. */
static void prom_members(const struct cluster_status *st, struct buf *out)
{
	static const char *const states[] = { "alive", "suspect", "dead", "left" };

	prom_head(out, "jabberd_cluster_member_state", "gauge",
		  "1 for the state this node sees the member in (alive, suspect, dead, left), "
		  "else 0.");
	for (int i = 0; i < st->nmembers; i++)
		for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
			buf_append_str(out, "jabberd_cluster_member_state{node=\"");
			prom_label(out, st->node);
			buf_append_str(out, "\",member=\"");
			prom_label(out, st->members[i].name);
			buf_printf(out, "\",state=\"%s\"} %d\n", states[k],
				   strcmp(st->members[i].state, states[k]) == 0);
		}
	prom_head(out, "jabberd_cluster_member_state_since_seconds", "gauge",
		  "Unix time the member entered its current state.");
	for (int i = 0; i < st->nmembers; i++) {
		buf_append_str(out, "jabberd_cluster_member_state_since_seconds{node=\"");
		prom_label(out, st->node);
		buf_append_str(out, "\",member=\"");
		prom_label(out, st->members[i].name);
		buf_printf(out, "\"} %lld\n", (long long)st->members[i].since);
	}
	/* i14: flap damping and membership events */
	prom_member_values(st, out, "jabberd_cluster_member_flap_penalty", "gauge",
			   "The member's flap penalty now (1000 per return after being declared "
			   "dead, half-life by profile).", 0);
	prom_member_values(st, out, "jabberd_cluster_member_held_down", "gauge",
			   "1 while the member is held down (its users' presence not shown here), "
			   "else 0.", 1);
	prom_member_values(st, out, "jabberd_cluster_member_returns_total", "counter",
			   "Times the member came back after this node declared it dead.", 2);
	{
		const struct cluster_members_counters *e = &st->member_events;
		const struct {
			const char *name;
			uint64_t v;
		} ev[] = {
			{ "suspected", e->suspected }, { "declared_dead", e->declared_dead },
			{ "left", e->left }, { "partition", e->partitions },
			{ "merge", e->merges }, { "held_down", e->held_down },
			{ "pause", e->pauses },
		};

		prom_head(out, "jabberd_cluster_membership_events_total", "counter",
			  "Membership events since start: a member suspected, declared dead, left; "
			  "a partition seen; a merge done; a member held down; this node paused.");
		for (size_t k = 0; k < sizeof(ev) / sizeof(ev[0]); k++) {
			buf_append_str(out, "jabberd_cluster_membership_events_total{node=\"");
			prom_label(out, st->node);
			buf_printf(out, "\",event=\"%s\"} %" PRIu64 "\n", ev[k].name, ev[k].v);
		}
	}
}

void cluster_status_metrics(const struct cluster_status *st, struct buf *out)
{
	prom_peers(st, out, "jabberd_cluster_peer_up", "gauge",
		   "1 if the link to the peer is up and its protocol opened, else 0.", get_up, 0);
	prom_peers(st, out, "jabberd_cluster_peer_rtt_seconds", "gauge",
		   "Last PING round-trip time to the peer (open peers only).", get_rtt, 0);
	prom_peers(st, out, "jabberd_cluster_peer_received_bytes_total", "counter",
		   "Application bytes received from the peer since start.", PEER_U64(link.bytes_in));
	prom_peers(st, out, "jabberd_cluster_peer_sent_bytes_total", "counter",
		   "Application bytes sent to the peer since start.", PEER_U64(link.bytes_out));
	prom_peers(st, out, "jabberd_cluster_peer_link_ups_total", "counter",
		   "Times the link to the peer came up since start.", PEER_U64(link.ups));
	prom_peers(st, out, "jabberd_cluster_peer_sessions", "gauge",
		   "The peer's sessions in this node's session table.", PEER_U64(sessions));
	prom_peers(st, out, "jabberd_cluster_peer_queue_frames", "gauge",
		   "Stanzas sent to the peer and not acknowledged yet.", PEER_U64(queue_frames));
	prom_peers(st, out, "jabberd_cluster_peer_queue_bytes", "gauge",
		   "Route bytes sent to the peer and not acknowledged yet.", PEER_U64(queue_bytes));
	prom_peers(st, out, "jabberd_cluster_peer_queue_max_frames", "gauge",
		   "Stanzas that may wait for the peer's acknowledgement (<queue frames>).",
		   PEER_U64(queue_max_frames));
	prom_peers(st, out, "jabberd_cluster_peer_queue_max_bytes", "gauge",
		   "Route bytes that may wait for the peer's acknowledgement (<queue bytes>).",
		   PEER_U64(queue_max_bytes));
	prom_peers(st, out, "jabberd_cluster_peer_queue_oldest_seconds", "gauge",
		   "How long the oldest stanza not acknowledged by the peer has waited.",
		   get_oldest, 0);
	prom_peers(st, out, "jabberd_cluster_peer_queue_in_doubt", "gauge",
		   "Stanzas not acknowledged when a new incarnation ended their pair, waiting "
		   "for the peer's TAKEN.", PEER_U64(queue_in_doubt));
	prom_peers(st, out, "jabberd_cluster_peer_taken_after_incarnation_total", "counter",
		   "Stanzas in doubt the peer said it had taken (not handed back), since start.",
		   PEER_U64(queue_doubt_taken));
	prom_peers(st, out, "jabberd_cluster_peer_link_output_bytes", "gauge",
		   "Bytes waiting to be written to the peer's link.", PEER_U64(link.out_queued));
	prom_head(out, "jabberd_cluster_peer_undelivered_total", "counter",
		  "Stanzas for the peer handed back to the local sm, by cause, since start.");
	for (int i = 0; i < st->npeers; i++)
		for (int r = 0; r < CLUSTER_FWD_REASONS; r++) {
			buf_append_str(out, "jabberd_cluster_peer_undelivered_total{node=\"");
			prom_label(out, st->node);
			buf_append_str(out, "\",peer=\"");
			prom_label(out, st->peers[i].link.name);
			buf_printf(out, "\",reason=\"%s\"} %" PRIu64 "\n",
				   cluster_fwd_reason_name((enum cluster_fwd_reason)r),
				   st->peers[i].undelivered[r]);
		}
	prom_head(out, "jabberd_cluster_refusals_total", "counter",
		  "Peers refused before authentication, by reason, since start.");
	for (int r = 0; r < CLUSTER_REFUSE_COUNT; r++) {
		buf_append_str(out, "jabberd_cluster_refusals_total{node=\"");
		prom_label(out, st->node);
		buf_append_str(out, "\",reason=\"");
		prom_label(out, cluster_refusal_name((enum cluster_refusal)r));
		buf_printf(out, "\"} %" PRIu64 "\n", st->refusals[r]);
	}
	prom_members(st, out);
	prom_router(st, out, "jabberd_router_routed_total", "counter",
		    "Unicast routes delivered since start.", st->router.routed);
	prom_router(st, out, "jabberd_router_bounced_total", "counter",
		    "Routes sent back with an error since start.", st->router.bounced);
	prom_router(st, out, "jabberd_router_redirect_hits_total", "counter",
		    "Routes a per-JID redirect sent since start.", st->router.redirect_hits);
	prom_router(st, out, "jabberd_router_redirect_misses_total", "counter",
		    "Routes to the module's names without a usable redirect since start.",
		    st->router.redirect_misses);
	prom_router(st, out, "jabberd_router_redirect_entries", "gauge",
		    "Per-JID redirect entries now.", st->router.redirects);
	prom_router(st, out, "jabberd_cluster_local_sessions", "gauge",
		    "Sessions of this node's sm in the session table.",
		    st->tables.local_sessions);
	prom_router(st, out, "jabberd_cluster_remote_sessions", "gauge",
		    "Sessions of other nodes in the session table.", st->tables.remote_sessions);
	prom_router(st, out, "jabberd_cluster_stubs_pushed_total", "counter",
		    "Remote session changes sent to the local sm since start.",
		    st->tables.stubs_pushed);
	prom_router(st, out, "jabberd_cluster_redirects_installed", "gauge",
		    "Redirects the module holds for local sessions (full and bare JIDs).",
		    st->tables.redirect_entries);
	prom_router(st, out, "jabberd_cluster_handed_total", "counter",
		    "Routes for the clustered domains the module handed to the local sm.",
		    st->tables.handed);
	prom_router(st, out, "jabberd_cluster_forwarded_out_total", "counter",
		    "Stanzas the local sm sent to other nodes since start.",
		    st->tables.forwarded_out);
	prom_router(st, out, "jabberd_cluster_forwarded_in_total", "counter",
		    "Stanzas from other nodes handed to the local sm since start.",
		    st->tables.forwarded_in);
	prom_router(st, out, "jabberd_cluster_direct_total", "counter",
		    "Messages from other nodes handed to a local c2s without the sm since start.",
		    st->tables.direct);
	prom_router(st, out, "jabberd_cluster_undelivered_total", "counter",
		    "Stanzas handed back to the local sm as undelivered since start.",
		    st->tables.undelivered);
	prom_head(out, "jabberd_cluster_undelivered_by_cause_total", "counter",
		  "Stanzas handed back to the local sm since start, by cause (jc:undelivered).");
	for (size_t k = 0; k < sizeof(undelivered_causes) / sizeof(undelivered_causes[0]); k++) {
		buf_append_str(out, "jabberd_cluster_undelivered_by_cause_total{node=\"");
		prom_label(out, st->node);
		buf_printf(out, "\",cause=\"%s\"} %" PRIu64 "\n", undelivered_causes[k],
			   st->tables.undelivered_by[k]);
	}
	prom_router(st, out, "jabberd_cluster_names_announced", "gauge",
		    "Names this node's components bind, announced to the peers.",
		    st->tables.names_announced);
	prom_router(st, out, "jabberd_cluster_names_held", "gauge",
		    "Names of other nodes' components bound here for them.",
		    st->tables.names_held);
	prom_router(st, out, "jabberd_cluster_component_out_total", "counter",
		    "Routes for other nodes' components carried there since start.",
		    st->tables.component_out);
	prom_router(st, out, "jabberd_cluster_component_in_total", "counter",
		    "Routes from other nodes handed to local components since start.",
		    st->tables.component_in);
	prom_router(st, out, "jabberd_cluster_component_bounced_total", "counter",
		    "Routes for other nodes' components bounced to their sender since start.",
		    st->tables.component_bounced);
	prom_router(st, out, "jabberd_cluster_peer_input_held", "gauge",
		    "1 while reading the peers' links is held for the congested local sm.",
		    st->tables.input_held);
	prom_router(st, out, "jabberd_cluster_peer_input_holds_total", "counter",
		    "Times reading the peers' links was held for the local sm since start.",
		    st->tables.input_holds);
}

/* A line of the family jabberd_router_*: a sample, or its # HELP/# TYPE. */
static int is_router_line(const char *line, size_t n)
{
	static const char prefix[] = "jabberd_router_";
	const size_t plen = sizeof(prefix) - 1;

	if (n >= 7 && (memcmp(line, "# HELP ", 7) == 0 || memcmp(line, "# TYPE ", 7) == 0)) {
		line += 7;
		n -= 7;
	}
	return n >= plen && memcmp(line, prefix, plen) == 0;
}

void cluster_status_metrics_for_router(const char *prom, size_t len, struct buf *out)
{
	size_t pos = 0;

	while (pos < len) {
		const char *line = prom + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;

		if (!is_router_line(line, n)) {
			buf_append(out, line, n);
			buf_append_char(out, '\n');
		}
		pos += n + 1;
	}
}
