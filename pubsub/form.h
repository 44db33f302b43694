/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * form: the pubsub daemon's parsers of what clients send it, apart from
 * the dispatch so that a fuzzer reaches them directly
 * (fuzz/fuzz_pubsub_input.c): the request inside <pubsub/> or
 * <pubsub xmlns='...#owner'/>, the node configuration form
 * (pubsub#node_config), publish-options (XEP-0060 7.1.5) and the
 * subscription options form (pubsub#subscribe_options); and the forms
 * the service offers.
 */
#ifndef PUBSUB_FORM_H
#define PUBSUB_FORM_H

#include "pubsub/node.h"
#include "pubsub/subs.h"

struct nad;

#define PS_NS "http://jabber.org/protocol/pubsub"
#define PS_NS_OWNER "http://jabber.org/protocol/pubsub#owner"
#define PS_NS_EVENT "http://jabber.org/protocol/pubsub#event"
#define PS_NS_ERRORS "http://jabber.org/protocol/pubsub#errors"
#define PS_NS_NODE_CONFIG "http://jabber.org/protocol/pubsub#node_config"
#define PS_NS_PUBLISH_OPTIONS "http://jabber.org/protocol/pubsub#publish-options"
#define PS_NS_SUB_OPTIONS "http://jabber.org/protocol/pubsub#subscribe_options"
#define PS_NS_XDATA "jabber:x:data"
#define PS_NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define PS_NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"

/* Longest node name and item id we accept, in bytes. */
#define PS_NODE_MAX 256
#define PS_ITEM_ID_MAX 256
/* Most <item/> a retrieval or retraction names, affiliation or
 * subscription entries an owner sets at once, fields a form holds. */
#define PS_REQ_ITEMS_MAX 32
#define PS_FORM_FIELDS_MAX 64
/* Longest title we keep. */
#define PS_TITLE_MAX 1024

enum ps_verb {
	PS_V_NONE,
	/* in pubsub */
	PS_V_CREATE,
	PS_V_PUBLISH,
	PS_V_RETRACT,
	PS_V_SUBSCRIBE,
	PS_V_UNSUBSCRIBE,
	PS_V_OPTIONS,
	PS_V_ITEMS,
	PS_V_SUBSCRIPTIONS,
	PS_V_AFFILIATIONS,
	/* in pubsub#owner */
	PS_V_CONFIGURE,
	PS_V_DEFAULT,
	PS_V_DELETE,
	PS_V_PURGE,
	PS_V_OWNER_AFFILIATIONS,
	PS_V_OWNER_SUBSCRIPTIONS,
};

/*
 * A request: the verb element and what goes with it, element indexes
 * into the stanza's nad (NAD_NONE when absent) and strings pointing
 * into it.
 */
struct ps_req {
	enum ps_verb verb;
	int elem;                   /* the verb's element */
	const char *node;           /* NULL: none given */
	const char *jid;            /* subscribe, unsubscribe, options */
	const char *subid;
	int form;                   /* <configure><x/> (create), <options><x/>,
				     * <publish-options><x/>, owner <configure><x/> */
	int items[PS_REQ_ITEMS_MAX]; /* <item/> elements (publish, retract, items) */
	int nitems;
	long max_items;             /* items: -1 when not given */
	int notify;                 /* retract notify='true' */
};

/*
 * Parse the <pubsub/> child `ps` of an iq of `type` ("get" or "set").
 * 0, or -1 with *cond_r (a stanza error condition), *app_r (a
 * pubsub#errors element or NULL) and *error_r (text).
 */
int ps_req_parse(const struct nad *nad, int ps, const char *type, struct ps_req *req,
		 const char **cond_r, const char **app_r, const char **error_r);

/* The FORM_TYPE of form x, or NULL. */
const char *ps_form_type(const struct nad *nad, int x);

/*
 * Apply a submitted pubsub#node_config form to cfg: unknown fields are
 * ignored, a value a field does not allow (max_items above
 * max_items_limit, an unknown access model...) fails with -1, *error_r
 * naming the field, and cfg unchanged.
 */
int ps_config_apply(const struct nad *nad, int x, struct ps_node_config *cfg,
		    int max_items_limit, const char **error_r);
/* Add the configuration form of cfg (type form) under parent. */
void ps_config_form(struct nad *nad, int parent, const struct ps_node_config *cfg,
		    const char *type);

/*
 * Publish-options (XEP-0060 7.1.5) against an existing node's cfg: 0 if
 * every field given matches, else -1 with *error_r naming the first that
 * does not. pubsub#max_items "max" means max_items_limit, as in
 * ps_config_apply(), so a node created with "max" matches "max" later.
 */
int ps_publish_options_check(const struct nad *nad, int x, const struct ps_node_config *cfg,
			     int max_items_limit, const char **error_r);

/* Subscription options: apply a submitted form (-1 with *error_r for a
 * bad value, opt unchanged), or add the form for opt under parent. */
int ps_subopts_apply(const struct nad *nad, int x, struct ps_sub_options *opt,
		     const char **error_r);
void ps_subopts_form(struct nad *nad, int parent, const struct ps_sub_options *opt);

#endif
