/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cluster_fwd.c: see cluster_fwd.h. */
#include "config.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster-mod/cluster_fwd.h"
#include "cluster-mod/cluster_proto.h"
#include "util/buf.h"
#include "util/log.h"

/* One stanza waiting for its ACK: the route's bytes and its targets,
 * in one allocation. */
struct fwd_item {
	struct fwd_item *next;
	uint64_t seq;
	uint64_t queued_ms;     /* when it was queued (monotonic) */
	size_t len;             /* route bytes */
	size_t cost;            /* counted against max_bytes */
	size_t ntargets;
	char **targets;         /* into data */
	uint8_t *route;         /* into data */
	char data[];
};
static_assert(sizeof(struct fwd_item) % sizeof(char *) == 0,
	      "the targets array at data is aligned");

struct fwd_peer {
	char *name;
	uint64_t incarnation;   /* the peer's, from its HELLO */
	uint8_t known;          /* incarnation seen */
	uint8_t open;
	uint8_t ack_due;        /* delivered stanzas not yet acknowledged */
	uint8_t gone;           /* declared gone, not open since */
	uint8_t taken_link;     /* the open link speaks TAKEN (version 2) */
	uint8_t doubt_wait;     /* the doubt waits for this link's TAKEN */
	uint8_t sent_in_pair;   /* a link had a STANZA of the current pair */
	/* out: seq next_seq - 1 is the last given a number */
	struct fwd_item *head, *tail;
	struct fwd_item *cursor; /* first item not yet handed to this link */
	uint64_t next_seq, acked;
	size_t frames, bytes;
	/* in */
	uint64_t delivered;
	unsigned since_ack;
	uint64_t sent, received, resent, duplicates, undelivered;
	uint64_t undelivered_by[CLUSTER_FWD_REASONS];
	/* In doubt: what had not been acknowledged when a pair of
	 * incarnations ended (the peer's new one in its HELLO, or ours),
	 * kept with its old numbers until the peer's TAKEN says how much of
	 * it the peer took (rule 15). */
	struct fwd_item *doubt;
	size_t ndoubt, doubt_bytes;
	uint64_t doubt_mine, doubt_peer;        /* the pair it was numbered in */
	uint64_t doubt_taken;   /* stanzas the peer had taken after all */
	/* What we last took from the peer, and in which pair (our TAKEN). */
	uint64_t took_mine, took_peer, took_seq;
};

struct cluster_fwd {
	struct fwd_peer peers[CLUSTER_FWD_PEERS_MAX];
	int npeers;
	uint64_t incarnation;   /* ours */
	size_t max_frames, max_bytes;
	struct cluster_fwd_hooks hooks;
	void *ctx;
};

/* What a STANZA adds to its route and targets on the wire: header, seq,
 * the blob's length, the targets' count; and per target its length. */
#define STANZA_OVERHEAD (CLUSTER_FRAME_HEADER_LEN + 8 + 4 + 2)
#define TARGET_OVERHEAD 2

static const char *const reason_names[] = {
	[CLUSTER_FWD_NODE_DEAD] = "node-dead",
	[CLUSTER_FWD_QUEUE_FULL] = "queue-full",
	[CLUSTER_FWD_NO_SUCH_NODE] = "no-such-node",
	[CLUSTER_FWD_TOO_BIG] = "too-big",
	[CLUSTER_FWD_HOP_LIMIT] = "hop-limit",
};
static_assert(sizeof(reason_names) / sizeof(reason_names[0]) == CLUSTER_FWD_REASONS,
	      "a name for every reason");

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *cluster_fwd_reason_name(enum cluster_fwd_reason reason)
{
	if ((unsigned)reason < sizeof(reason_names) / sizeof(reason_names[0]))
		return reason_names[reason];
	return "unknown";
}

static struct fwd_peer *peer_find(const struct cluster_fwd *fwd, const char *name)
{
	for (int i = 0; i < fwd->npeers; i++)
		if (strcmp(fwd->peers[i].name, name) == 0)
			return (struct fwd_peer *)&fwd->peers[i];
	return NULL;
}

/* Hand a stanza back to the sm, counted against peer `p` (NULL: not a
 * configured node). */
static void undelivered(struct cluster_fwd *fwd, struct fwd_peer *p, const char *node,
			enum cluster_fwd_reason reason, const uint8_t *route, size_t len,
			const char *const *targets, size_t ntargets)
{
	if (ntargets == 0)
		return;         /* a broadcast: nothing to hand back */
	if (p != NULL) {
		p->undelivered++;
		p->undelivered_by[reason]++;
	}
	fwd->hooks.undelivered(fwd->ctx, node, reason, route, len, targets, ntargets);
}

/* Hand one stored stanza to the link. Returns the hook's answer. */
static int send_item(struct cluster_fwd *fwd, struct fwd_peer *p, const struct fwd_item *it)
{
	struct cluster_bytes tb[CLUSTER_TARGETS_MAX];
	struct cluster_frame f = { .version = CLUSTER_PROTO_VERSION_MAX,
				   .type = CLUSTER_FRAME_STANZA };

	for (size_t i = 0; i < it->ntargets; i++)
		tb[i] = cluster_bytes_str(it->targets[i]);
	f.u.stanza.seq = it->seq;
	f.u.stanza.route = (struct cluster_bytes){ it->route, it->len };
	f.u.stanza.ntargets = it->ntargets;
	f.u.stanza.targets = tb;
	return fwd->hooks.send(fwd->ctx, p->name, &f);
}

/* Send what this link has not had yet, as far as it takes it. */
static void pump(struct cluster_fwd *fwd, struct fwd_peer *p)
{
	/* What is in doubt goes first, once the peer's TAKEN settles it. */
	while (p->open && p->doubt == NULL && p->cursor != NULL) {
		if (send_item(fwd, p, p->cursor) == 0)
			return;
		p->sent_in_pair = 1;
		p->cursor = p->cursor->next;
	}
}

static void send_ack(struct cluster_fwd *fwd, struct fwd_peer *p)
{
	struct cluster_frame f = { .version = CLUSTER_PROTO_VERSION_MAX,
				   .type = CLUSTER_FRAME_ACK };

	if (!p->open || !p->ack_due)
		return;
	f.u.ack.seq = p->delivered;
	if (fwd->hooks.send(fwd->ctx, p->name, &f) != 0) {
		p->ack_due = 0;
		p->since_ack = 0;
	}
}

/* Drop the items up to and including seq. */
static void release(struct fwd_peer *p, uint64_t seq)
{
	while (p->head != NULL && p->head->seq <= seq) {
		struct fwd_item *it = p->head;

		p->head = it->next;
		if (p->cursor == it)
			p->cursor = it->next;
		p->frames--;
		p->bytes -= it->cost;
		free(it);
	}
	if (p->head == NULL)
		p->tail = NULL;
	if (seq > p->acked)
		p->acked = seq;
}

/* Every queued stanza back to the sm. */
static void drain(struct cluster_fwd *fwd, struct fwd_peer *p, enum cluster_fwd_reason reason)
{
	while (p->head != NULL) {
		struct fwd_item *it = p->head;

		p->head = it->next;
		undelivered(fwd, p, p->name, reason, it->route, it->len,
			    (const char *const *)it->targets, it->ntargets);
		free(it);
	}
	p->tail = p->cursor = NULL;
	p->frames = p->bytes = 0;
	p->acked = p->next_seq - 1;
}

/* Both directions' numbering starts again (the peer is, or will be, a
 * new incarnation, or this node is). */
static void renumber(struct fwd_peer *p)
{
	p->next_seq = 1;
	p->acked = 0;
	p->delivered = 0;
	p->ack_due = 0;
	p->since_ack = 0;
	p->sent_in_pair = 0;
}

/* What waits in the queue, numbered from 1 for a new pair of
 * incarnations, oldest first; the next new STANZA follows it. */
static void number_queue(struct fwd_peer *p)
{
	p->next_seq = 1;
	for (struct fwd_item *it = p->head; it != NULL; it = it->next)
		it->seq = p->next_seq++;
}

/* The doubt is settled: the peer took every stanza of it up to `taken`
 * (0: none, or it cannot say); the others go to the peer again, before
 * anything queued since, all numbered anew in the current pair (none of
 * which a link has had: pump() waits while a doubt is held). */
static void settle(struct cluster_fwd *fwd, struct fwd_peer *p, uint64_t taken)
{
	struct fwd_item *again = NULL, *last = NULL;
	size_t n = p->ndoubt, kept = 0, bytes = 0;

	if (p->doubt == NULL)
		return;
	while (p->doubt != NULL) {
		struct fwd_item *it = p->doubt;

		p->doubt = it->next;
		if (it->seq <= taken) {
			kept++;
			free(it);
			continue;
		}
		bytes += it->cost;
		it->next = NULL;
		if (last != NULL)
			last->next = it;
		else
			again = it;
		last = it;
	}
	if (again != NULL) {
		last->next = p->head;
		if (p->head == NULL)
			p->tail = last;
		p->head = again;
	}
	p->frames += n - kept;
	p->bytes += bytes;
	p->ndoubt = p->doubt_bytes = 0;
	p->doubt_wait = 0;
	p->doubt_taken += kept;
	p->acked = 0;
	number_queue(p);
	p->cursor = p->open ? p->head : NULL;
	log_info("cluster: fwd: %s had taken %zu of the %zu stanzas not acknowledged "
		 "when a pair of incarnations ended; %zu sent again", p->name, kept, n,
		 n - kept);
	pump(fwd, p);
}

/* The pair of incarnations (ours, the peer's) ends: what waits for an ACK
 * is set aside, numbered as it was, until the peer says what it took
 * (settle). What no link ever had cannot have been taken: it stays queued,
 * to be numbered anew. An older doubt is settled first with nothing
 * taken: the peer's TAKEN would have settled it on a link of this pair
 * (never reached while pump() waits for a doubt). */
static void set_aside(struct cluster_fwd *fwd, struct fwd_peer *p)
{
	if (!p->sent_in_pair)
		return;
	settle(fwd, p, 0);
	p->doubt = p->head;
	p->ndoubt = p->frames;
	p->doubt_bytes = p->bytes;
	p->doubt_mine = fwd->incarnation;
	p->doubt_peer = p->incarnation;
	p->head = p->tail = p->cursor = NULL;
	p->frames = p->bytes = 0;
	p->acked = p->next_seq - 1;
}

/* Our TAKEN for a link that opened: what we last took from the peer. */
static void send_taken(struct cluster_fwd *fwd, struct fwd_peer *p)
{
	struct cluster_frame f = { .version = CLUSTER_PROTO_VERSION_TAKEN,
				   .type = CLUSTER_FRAME_TAKEN };

	if (p->took_seq > 0) {
		f.u.taken.incarnation = p->took_mine;
		f.u.taken.peer_incarnation = p->took_peer;
		f.u.taken.seq = p->took_seq;
	}
	fwd->hooks.send(fwd->ctx, p->name, &f);
}

/* The peer's TAKEN: settles the doubt (the pair it names is the doubt's,
 * or the doubt's stanzas were not taken), and acknowledges in the current
 * pair when it names that one (a link reopened between the same two). */
static void on_taken(struct cluster_fwd *fwd, struct fwd_peer *p, const struct cluster_taken *t)
{
	int names_doubt = t->seq > 0 && t->incarnation == p->doubt_peer &&
			  t->peer_incarnation == p->doubt_mine;

	settle(fwd, p, names_doubt ? t->seq : 0);
	if (t->seq > 0 && t->incarnation == p->incarnation &&
	    t->peer_incarnation == fwd->incarnation && t->seq < p->next_seq &&
	    t->seq > p->acked)
		release(p, t->seq);
}

int cluster_fwd_send(struct cluster_fwd *fwd, const char *node, const uint8_t *route,
		     size_t len, const char *const *targets, size_t ntargets)
{
	struct fwd_peer *p = peer_find(fwd, node);
	size_t wire = STANZA_OVERHEAD + len, tlen = 0;
	struct fwd_item *it;
	char *at;

	if (p == NULL) {
		undelivered(fwd, NULL, node, CLUSTER_FWD_NO_SUCH_NODE, route, len, targets, ntargets);
		return -1;
	}
	for (size_t i = 0; i < ntargets; i++)
		tlen += strlen(targets[i]) + 1;
	wire += tlen + ntargets * TARGET_OVERHEAD;
	if (len == 0 || ntargets > CLUSTER_TARGETS_MAX || wire > CLUSTER_FRAME_MAX) {
		undelivered(fwd, p, node, CLUSTER_FWD_TOO_BIG, route, len, targets, ntargets);
		return -1;
	}
	if (p->gone) {
		undelivered(fwd, p, node, CLUSTER_FWD_NODE_DEAD, route, len, targets, ntargets);
		return -1;
	}
	if (p->frames + p->ndoubt >= fwd->max_frames ||
	    p->bytes + p->doubt_bytes + len + tlen > fwd->max_bytes) {
		undelivered(fwd, p, node, CLUSTER_FWD_QUEUE_FULL, route, len, targets, ntargets);
		return -1;
	}
	it = xmalloc(sizeof(*it) + ntargets * sizeof(char *) + tlen + len);
	it->next = NULL;
	it->seq = p->next_seq++;
	it->queued_ms = mono_ms();
	it->len = len;
	it->cost = len + tlen;
	it->ntargets = ntargets;
	it->targets = (char **)(void *)it->data;
	at = it->data + ntargets * sizeof(char *);
	for (size_t i = 0; i < ntargets; i++) {
		size_t n = strlen(targets[i]) + 1;

		memcpy(at, targets[i], n);
		it->targets[i] = at;
		at += n;
	}
	it->route = (uint8_t *)at;
	memcpy(it->route, route, len);
	if (p->tail != NULL)
		p->tail->next = it;
	else
		p->head = it;
	p->tail = it;
	if (p->cursor == NULL)
		p->cursor = it;
	p->frames++;
	p->bytes += it->cost;
	p->sent++;
	pump(fwd, p);
	return 0;
}

void cluster_fwd_peer_open(struct cluster_fwd *fwd, const char *peer, uint64_t incarnation,
			   unsigned version)
{
	struct fwd_peer *p = peer_find(fwd, peer);
	int taken = version >= CLUSTER_PROTO_VERSION_TAKEN;

	if (p == NULL)
		return;
	if (!taken)
		settle(fwd, p, 0);      /* a peer that cannot say: all go again */
	if (p->known && p->incarnation != incarnation) {
		/* Not taken by the old incarnation as far as we know (no ACK):
		 * the same node answers, so they go to it again, numbered
		 * under the new pair, rather than back to the sm, which would
		 * store them offline for a user who is online there. What a
		 * link had waits for the peer's TAKEN first (rule 15). */
		if (taken)
			set_aside(fwd, p);
		log_info("cluster: fwd: %s is a new incarnation (%llu, was %llu): %zu "
			 "unacknowledged stanzas sent again, %zu wait for its TAKEN", peer,
			 (unsigned long long)incarnation, (unsigned long long)p->incarnation,
			 p->frames, p->ndoubt);
		p->resent += p->frames;
	} else if (p->known) {
		p->resent += p->frames;
	}
	if (!p->known || p->incarnation != incarnation) {
		/* Both directions start again for this pair of incarnations. */
		renumber(p);
		number_queue(p);        /* queued before the first link */
	}
	p->known = 1;
	p->incarnation = incarnation;
	p->open = 1;
	p->gone = 0;
	p->since_ack = 0;
	p->taken_link = (uint8_t)taken;
	p->doubt_wait = p->doubt != NULL;
	/* Tell the peer at once what arrived, in case our last ACK was lost
	 * with the link (or a new incarnation ended the pair: TAKEN); then
	 * everything it has not acknowledged, in order. */
	if (taken)
		send_taken(fwd, p);
	p->ack_due = p->delivered > 0;
	send_ack(fwd, p);
	p->cursor = p->head;
	pump(fwd, p);
}

void cluster_fwd_peer_closed(struct cluster_fwd *fwd, const char *peer)
{
	struct fwd_peer *p = peer_find(fwd, peer);

	if (p == NULL)
		return;
	p->open = 0;
	p->cursor = NULL;
	p->ack_due = 0;
	p->doubt_wait = 0;      /* the doubt waits for the next link's TAKEN */
}

void cluster_fwd_node_gone(struct cluster_fwd *fwd, const char *node,
			   enum cluster_fwd_reason reason)
{
	struct fwd_peer *p = peer_find(fwd, node);

	if (p == NULL)
		return;
	settle(fwd, p, 0);      /* what was in doubt goes back too */
	if (p->frames > 0)
		log_notice("cluster: fwd: %s gone (%s): %zu unacknowledged stanzas handed "
			   "back to the sm", node, cluster_fwd_reason_name(reason), p->frames);
	drain(fwd, p, reason);
	/* A node declared dead or gone comes back only as a new incarnation
	 * (membership), possibly over a link that stayed open: both
	 * directions start from 1 again. Until its link opens again, what is
	 * sent to it comes back at once. */
	renumber(p);
	p->gone = !p->open;
}

void cluster_fwd_set_incarnation(struct cluster_fwd *fwd, uint64_t incarnation)
{
	fwd->incarnation = incarnation;
}

void cluster_fwd_ack_now(struct cluster_fwd *fwd)
{
	for (int i = 0; i < fwd->npeers; i++)
		send_ack(fwd, &fwd->peers[i]);
}

void cluster_fwd_reincarnated(struct cluster_fwd *fwd, uint64_t incarnation)
{
	for (int i = 0; i < fwd->npeers; i++) {
		struct fwd_peer *p = &fwd->peers[i];

		/* The links close (cluster_peers_set_incarnation). What was
		 * not acknowledged, and what the sm sends meanwhile, waits for
		 * the next HELLO and goes again numbered from 1: a peer that
		 * declared this node dead refused it ("not from the dead"), and
		 * one that did not would see it stored offline here for a
		 * user online there (no merge on its side hands that over).
		 * What a version-2 link had waits for the peer's TAKEN on the
		 * next link, which says what of it was taken (rule 15). */
		if (p->known && p->taken_link)
			set_aside(fwd, p);
		renumber(p);
		number_queue(p);
		p->cursor = NULL;
		p->open = 0;
		p->doubt_wait = 0;
	}
	fwd->incarnation = incarnation;
}

static int on_stanza(struct cluster_fwd *fwd, struct fwd_peer *p,
		     const struct cluster_stanza *s)
{
	const char *tv[CLUSTER_TARGETS_MAX];
	char *copy;
	size_t total = 0;

	if (s->seq <= p->delivered) {
		p->duplicates++;
		p->ack_due = 1;         /* the sender missed our ACK */
		return 0;
	}
	if (s->seq != p->delivered + 1)
		log_info("cluster: fwd: %s: stanza %llu after %llu (the ones between were "
			 "handed back by the sender)", p->name, (unsigned long long)s->seq,
			 (unsigned long long)p->delivered);
	for (size_t i = 0; i < s->ntargets; i++)
		total += s->targets[i].len + 1;
	copy = xmalloc(total + 1);
	for (size_t i = 0, off = 0; i < s->ntargets; i++) {
		memcpy(copy + off, s->targets[i].ptr, s->targets[i].len);
		copy[off + s->targets[i].len] = '\0';
		tv[i] = copy + off;
		off += s->targets[i].len + 1;
	}
	p->delivered = s->seq;
	p->took_mine = fwd->incarnation;
	p->took_peer = p->incarnation;
	p->took_seq = s->seq;
	p->received++;
	p->ack_due = 1;
	fwd->hooks.deliver(fwd->ctx, p->name, s->route.ptr, s->route.len, tv, s->ntargets);
	free(copy);
	if (++p->since_ack >= CLUSTER_FWD_ACK_EVERY)
		send_ack(fwd, p);
	return 0;
}

int cluster_fwd_frame(struct cluster_fwd *fwd, const char *peer,
		      const struct cluster_frame *frame, const char **error_r)
{
	struct fwd_peer *p = peer_find(fwd, peer);

	if (frame->type != CLUSTER_FRAME_STANZA && frame->type != CLUSTER_FRAME_ACK &&
	    frame->type != CLUSTER_FRAME_TAKEN)
		return 0;
	if (p == NULL || !p->known) {
		*error_r = "from a peer not open";
		return -1;
	}
	if (frame->type == CLUSTER_FRAME_TAKEN) {
		on_taken(fwd, p, &frame->u.taken);
		return 0;
	}
	if (p->doubt_wait)
		settle(fwd, p, 0);      /* TAKEN comes first, or not at all */
	if (frame->type == CLUSTER_FRAME_STANZA)
		return on_stanza(fwd, p, &frame->u.stanza);
	if (frame->u.ack.seq >= p->next_seq) {
		*error_r = "ACK: for stanzas never sent";
		return -1;
	}
	if (frame->u.ack.seq > p->acked)
		release(p, frame->u.ack.seq);
	return 0;
}

int cluster_fwd_flush(struct cluster_fwd *fwd)
{
	int left = 0;

	for (int i = 0; i < fwd->npeers; i++) {
		struct fwd_peer *p = &fwd->peers[i];

		send_ack(fwd, p);
		pump(fwd, p);
		left |= p->open && (p->ack_due || (p->cursor != NULL && p->doubt == NULL));
	}
	return left;
}

int cluster_fwd_queue_info(const struct cluster_fwd *fwd, const char *peer,
			   struct cluster_fwd_queue *q)
{
	const struct fwd_peer *p = peer_find(fwd, peer);

	if (p == NULL)
		return -1;
	*q = (struct cluster_fwd_queue){
		.next_seq = p->next_seq, .acked = p->acked, .frames = p->frames,
		.bytes = p->bytes, .delivered_in = p->delivered, .sent = p->sent,
		.received = p->received, .resent = p->resent,
		.duplicates = p->duplicates, .undelivered = p->undelivered,
		.in_doubt = p->ndoubt, .doubt_taken = p->doubt_taken,
		.max_frames = fwd->max_frames, .max_bytes = fwd->max_bytes,
	};
	memcpy(q->undelivered_by, p->undelivered_by, sizeof(q->undelivered_by));
	if (p->head != NULL) {
		uint64_t now = mono_ms();

		q->oldest_ms = now > p->head->queued_ms ? now - p->head->queued_ms : 0;
		if (q->oldest_ms == 0)
			q->oldest_ms = 1;       /* something waits */
	}
	return 0;
}

struct cluster_fwd *cluster_fwd_new(const char *const *peers, int npeers, size_t max_frames,
				    size_t max_bytes, const struct cluster_fwd_hooks *hooks,
				    void *ctx)
{
	struct cluster_fwd *fwd = xcalloc(1, sizeof(*fwd));

	if (npeers > CLUSTER_FWD_PEERS_MAX)
		npeers = CLUSTER_FWD_PEERS_MAX;
	for (int i = 0; i < npeers; i++) {
		fwd->peers[i].name = xstrdup(peers[i]);
		fwd->peers[i].next_seq = 1;
	}
	fwd->npeers = npeers;
	fwd->max_frames = max_frames > 0 ? max_frames : CLUSTER_FWD_MAX_FRAMES;
	fwd->max_bytes = max_bytes > 0 ? max_bytes : CLUSTER_FWD_MAX_BYTES;
	fwd->hooks = *hooks;
	fwd->ctx = ctx;
	return fwd;
}

void cluster_fwd_free(struct cluster_fwd **fwdp)
{
	struct cluster_fwd *fwd = *fwdp;

	if (fwd == NULL)
		return;
	for (int i = 0; i < fwd->npeers; i++) {
		struct fwd_peer *p = &fwd->peers[i];

		for (struct fwd_item **l = &p->head; l != NULL; l = l == &p->head ? &p->doubt : NULL)
			while (*l != NULL) {
				struct fwd_item *it = *l;

				*l = it->next;
				free(it);
			}
		free(p->name);
	}
	free(fwd);
	*fwdp = NULL;
}
