/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * muc.h: the muc daemon, a multi-user chat service (XEP-0045) that links
 * to the router as a jabberd2 component (comp/) and serves one or more
 * service domains (conference.localhost...).
 *
 * A room is two things kept apart: what it IS (struct room, room.c:
 * configuration, affiliations, subject, history; saved by store.c) and
 * WHO IS HERE (struct occupants, occupants.c). muc.c ties them together
 * and speaks the protocol; main.c is the process.
 */
#ifndef MUC_MUC_H
#define MUC_MUC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "muc/occupants.h"
#include "muc/room.h"

struct comp;
struct config;
struct jid;
struct mio;
struct nad;
struct xhash;
struct muc_store;

/* The limits an operator sets (muc.xml <limits>); every one, when hit,
 * gives an error whose text names it. */
struct muc_limits {
	int rooms;                  /* rooms in the service */
	int rooms_per_user;         /* rooms one bare JID may create and own */
	int occupants;              /* occupants per room (maxusers at most) */
	int history;                /* messages a join may be sent */
	int archive;                /* messages kept per room (MAM); 0: history */
	int message_size;           /* bytes of one message as XML */
};

/* One served domain. */
struct muc_service {
	char *domain;
	struct xhash *rooms;        /* bare room JID -> struct muc_room */
};

struct muc_room {
	struct room *room;
	struct occupants *occ;
	struct muc_service *svc;
	char *creator;              /* bare JID that created it, for the limit */
};

struct muc {
	struct config *cfg;
	struct mio *mio;
	struct comp *comp;
	const char *id;             /* our router name (the first service) */
	struct muc_service *svcs;
	size_t nsvcs;
	struct muc_limits limits;
	int lock_new_rooms;         /* XEP-0045 10.1: created rooms locked */
	struct muc_store *store;    /* NULL: nothing persists */
	/* Stanzas out (taken), to the router (main.c) or a test's capture. */
	void (*send)(struct muc *muc, struct nad *stanza);
	void *send_ctx;
	time_t (*now)(void);
	/* Counts for the metrics (main.c's render_metrics). */
	uint64_t n_groupchat;       /* groupchat messages sent to a room's occupants */
};

/* ---- muc.c ---- */

/* A service over the config's services and limits (no router, no
 * storage: main.c attaches those). NULL with *error_r on a bad config. */
struct muc *muc_new(struct config *cfg, const char **error_r);
void muc_free(struct muc **mucp);
/* A stanza addressed to one of our domains (taken). */
void muc_stanza(struct muc *muc, struct nad *stanza);
/* The routes the router sends (taken). */
void muc_router_element(struct muc *muc, struct nad *nad);
/* Load persistent rooms from storage (after muc->store is set). */
int muc_load_rooms(struct muc *muc, const char **error_r);
/* Everyone leaves (shutdown): occupants told the service is going. */
void muc_shutdown(struct muc *muc);
struct muc_room *muc_room_get(struct muc *muc, const char *bare);

/* ---- store.c ---- */

/* Open the storage section of the config (storage.driver sqlite|pgsql,
 * storage.sqlite.*, storage.pgsql.*), creating our tables if missing.
 * No <storage>: 0 with *store_r NULL (rooms do not persist). */
int muc_store_open(const struct config *cfg, struct muc_store **store_r,
		   const char **error_r);
void muc_store_close(struct muc_store **storep);
/* Save a persistent room (configuration, subject, affiliations). */
int muc_store_save(struct muc_store *st, const struct room *room, const char *creator,
		   const char **error_r);
/* Remove a room: its row, affiliations and history. */
int muc_store_delete(struct muc_store *st, const char *room, const char **error_r);
/* Call room_fn for every saved room (its JID and saved XML), then
 * affil_fn for every saved affiliation (reason may be NULL). */
typedef void muc_store_room_fn(void *ctx, const char *room, const char *data);
typedef void muc_store_affil_fn(void *ctx, const char *room, const char *jid,
				const char *affil, const char *reason);
typedef void muc_store_history_fn(void *ctx, const char *room, time_t when,
				  const char *data);
int muc_store_load(struct muc_store *st, muc_store_room_fn *room_fn,
		   muc_store_affil_fn *affil_fn, muc_store_history_fn *history_fn, void *ctx,
		   const char **error_r);
/* Keep a message of a persistent room's history (at `when`), and only
 * the newest `keep` of that room. */
int muc_store_history_add(struct muc_store *st, const char *room, time_t when,
			  const struct nad *msg, int keep, const char **error_r);
/* The XML a room is saved as, and back. */
char *muc_room_serialize(const struct room *room, const char *creator);
int muc_room_deserialize(struct room *room, const char *data, char **creator_r,
			 const char **error_r);

#endif
