/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_sm: libFuzzer target for everything the router can make the sm
 * do: the input is a list of XML elements separated by "||", each parsed
 * and handed to sm_router_element() as if it came from the router
 * (routes with session control, client stanzas, stanzas from outside,
 * advertisements, the cluster module's `changed` broadcasts: the sm has
 * <router_id> and <cluster><notify>). "@SM@" in an element is replaced by the sm id of the
 * session started last, so inputs can reach the in-session chain. The sm
 * runs on an in-memory SQLite database with the dist module chains and
 * user.auto-create; it is rebuilt every few hundred inputs so state stays
 * bounded. In a cluster the sm holds stanzas until the module says
 * `synced` (sm/cluster.c): a fresh sm is told so at once, so that inputs
 * reach delivery and offline storage; an input that starts with "@SYNC@"
 * makes it ask again first (it then holds until the input says synced).
 * Routes from 'example.org' carry the module's remote sessions,
 * forwarded, undelivered and conflict elements.
 */
#include "config.h"
#include "sm/sm.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"
#include "util/nad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RESET 300
#define FUZZ_SYNC "@SYNC@"
#define FUZZ_MAX_ELEMS 16

static const char fuzz_xml[] =
	"<sm><id>sm</id><router_id>sm-n1</router_id><cluster><notify>example.org</notify>"
	"</cluster><local><id>example.org</id></local>"
	"<user><auto-create/></user><offline><userquota>3</userquota></offline>"
	"<aci><acl type='broadcast'><jid>ann@example.org</jid></acl>"
	"<acl type='messages'><jid>ann@example.org</jid><jid>not a jid@@</jid></acl></aci>"
	"<storage><driver>sqlite</driver><sqlite><dbname>:memory:</dbname></sqlite></storage>"
	"<modules>"
	"<chain id='sess-start'><module>status</module></chain>"
	"<chain id='sess-end'><module>status</module><module>iq-last</module></chain>"
	"<chain id='in-sess'><module>validate</module><module>status</module>"
	"<module>privacy</module><module>roster</module><module>iq-vcard</module>"
	"<module>iq-ping</module><module>iq-private</module><module>disco</module>"
	"<module>offline</module><module>announce</module><module>pep</module>"
	"<module>vacation</module>"
	"<module>presence</module><module>carbons</module><module>deliver</module></chain>"
	"<chain id='in-router'><module>session</module><module>validate</module>"
	"<module>pep</module><module>presence</module><module>privacy</module></chain>"
	"<chain id='out-router'><module>privacy</module></chain>"
	"<chain id='pkt-sm'><module>iq-last</module><module>iq-ping</module>"
	"<module>iq-time</module><module>iq-version</module><module>amp</module>"
	"<module>disco</module>"
	"<module>announce</module><module>help</module><module>echo</module>"
	"<module>iq-vcard</module><module>presence</module></chain>"
	"<chain id='pkt-user'><module>roster</module><module>presence</module>"
	"<module>disco</module><module>iq-vcard</module><module>pep</module>"
	"<module>carbons</module><module>amp</module><module>deliver</module>"
	"<module>vacation</module><module>offline</module><module>iq-last</module></chain>"
	"<chain id='pkt-router'><module>session</module><module>disco</module></chain>"
	"<chain id='user-load'><module>active</module><module>roster</module>"
	"<module>privacy</module><module>vacation</module></chain>"
	"<chain id='user-create'><module>active</module></chain>"
	"<chain id='user-delete'><module>active</module><module>announce</module>"
	"<module>offline</module><module>privacy</module><module>roster</module>"
	"<module>status</module><module>iq-last</module><module>iq-private</module>"
	"<module>iq-vcard</module></chain>"
	"<chain id='disco-extend'><module>iq-version</module><module>help</module></chain>"
	"</modules></sm>";

static struct sm *fz_sm;
static unsigned fz_runs;
static char fz_smid[41];

/* Keep the sm id of any started session; drop everything else. */
static void fz_send(struct sm *sm, struct nad *nad)
{
	int p = nad_child(nad, 0, NULL, NULL);
	const char *action = p != NAD_NONE ? nad_attr(nad, p, NULL, "action") : NULL;
	const char *id = p != NAD_NONE ? nad_attr(nad, p, SM_NS_SESSION, "sm") : NULL;

	(void)sm;
	if (action != NULL && strcmp(action, "started") == 0 && id != NULL &&
	    strlen(id) == 40)
		memcpy(fz_smid, id, 41);
	nad_free(&nad);
}

/* The module's `synced` (rule 2 of the cluster's interface). */
static void fz_synced(void)
{
	static const char synced[] =
		"<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' to='sm-n1' "
		"from='example.org'><remote xmlns='" SM_CLUSTER_NS "' synced='1'/></route>";
	const char *error;
	struct nad *nad = nad_parse(synced, sizeof(synced) - 1, 0, &error, NULL);

	if (nad == NULL)
		abort();
	sm_router_element(fz_sm, nad);
}

static void fz_reset(void)
{
	const char *error;
	struct config *cfg;

	sm_free(&fz_sm);
	cfg = config_load_mem("sm.xml", fuzz_xml, sizeof(fuzz_xml) - 1, NULL, &error);
	if (cfg == NULL || (fz_sm = sm_new(cfg, NULL, &error)) == NULL)
		abort();
	fz_sm->send_hook = fz_send;
	fz_smid[0] = '\0';
	fz_synced();
}

static void fz_element(const char *s, size_t len)
{
	struct buf b = { 0 };
	const char *error;
	struct nad *nad;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i + 4 <= len && memcmp(s + i, "@SM@", 4) == 0) {
			buf_append_str(&b, fz_smid);
			i += 3;
		} else
			buf_append_char(&b, s[i]);
	}
	nad = nad_parse(b.data != NULL ? b.data : "", b.len, 32, &error, NULL);
	buf_free(&b);
	if (nad != NULL)
		sm_router_element(fz_sm, nad);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	int n = 0;

	if (fz_sm == NULL) {
		const char *error;

		log_open(LOG_TYPE_FILE, "fuzz", NULL, "/dev/null", &error);
		fz_reset();
	} else if (++fz_runs % FUZZ_RESET == 0)
		fz_reset();
	if (size >= strlen(FUZZ_SYNC) && memcmp(p, FUZZ_SYNC, strlen(FUZZ_SYNC)) == 0) {
		sm_cluster_sync(fz_sm);
		p += strlen(FUZZ_SYNC);
	}
	while (p < end && n++ < FUZZ_MAX_ELEMS) {
		const char *sep = memmem(p, (size_t)(end - p), "||", 2);
		const char *e = sep != NULL ? sep : end;

		fz_element(p, (size_t)(e - p));
		p = sep != NULL ? sep + 2 : end;
	}
	return 0;
}
