/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_notify.c: seed patch 3 (patches/03-sm-notifies-cluster.md). The
 * sm tells the local cluster module when a session starts, when its
 * availability or priority changes, and when it ends, so the cluster
 * never infers sessions from traffic and sm policy always holds.
 *
 * With sm.xml's <router_id> and <cluster><notify>NAME</notify></cluster>
 * each change is one route to NAME from our router_id:
 *
 *	<route to='NAME' from='sm-n1'>
 *	  <session xmlns='urn:jabberd-cluster:session' action='start|update|end'
 *	           jid='user@example.org/res' sm='SM-SESSION-ID'
 *	           priority='5' available='1'
 *	           c2s='c2s' c2s-id='C2S-SESSION-ID' direct='1'/>
 *	</route>
 *
 * c2s and c2s-id name the session's stream at its c2s (start and update);
 * direct='1' says messages forwarded from other nodes for this session
 * need nothing of the sm (sm_cluster_direct_ok), so the module may hand
 * them to the c2s itself (docs/cluster-protocol.md, "Direct delivery").
 *
 * Without both settings nothing is sent.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "comp/comp.h"
#include "sm/sm.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"

void sm_cluster_notify(struct sess *sess, const char *action)
{
	struct sm *sm = sess->user->sm;
	struct nad *nad;
	char prio[8];
	int el;

	if (sm->router_id == NULL || sm->cluster_notify == NULL)
		return;
	nad = comp_route_new(sm->cluster_notify, sm->router_id, NULL);
	el = nad_elem_add(nad, 0, SM_CLUSTER_NS, "session");
	snprintf(prio, sizeof(prio), "%d", sess->priority);
	nad_attr_set(nad, el, NULL, "action", action);
	nad_attr_set(nad, el, NULL, "jid", jid_full(sess->jid));
	nad_attr_set(nad, el, NULL, "sm", sess->sm_id);
	nad_attr_set(nad, el, NULL, "priority", prio);
	nad_attr_set(nad, el, NULL, "available", sess->available ? "1" : "0");
	sess->direct = 0;
	if (strcmp(action, "end") != 0 && sess->c2s != NULL && sess->c2s_id != NULL) {
		nad_attr_set(nad, el, NULL, "c2s", sess->c2s);
		nad_attr_set(nad, el, NULL, "c2s-id", sess->c2s_id);
		if ((sess->direct = sm_cluster_direct_ok(sess)))
			nad_attr_set(nad, el, NULL, "direct", "1");
	}
	log_debug("sm: cluster: session %s %s (priority %s, %savailable)", action,
		  jid_full(sess->jid), prio, sess->available ? "" : "un");
	sm_send(sm, nad);
}
