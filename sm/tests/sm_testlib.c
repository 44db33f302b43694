/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"
#include "sm/tests/sm_testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/nad.h"

char *sm_test_out[SM_TEST_MAX_OUT];
int sm_test_nout;

void sm_test_capture(struct sm *sm, struct nad *nad)
{
	(void)sm;
	size_t len;
	const char *raw = nad_raw(nad, &len, NULL);

	assert_true(sm_test_nout < SM_TEST_MAX_OUT);
	/* What the stream would write: the bytes a route carries (the
	 * cluster's forwards, sm/cluster.c), which must parse on their own. */
	if (raw != NULL) {
		const char *error = NULL;
		struct nad *parsed = nad_parse(raw, len, 0, &error, NULL);

		if (parsed == NULL)
			fail_msg("the sm sent bytes that do not parse (%s): %.*s", error, (int)len,
				 raw);
		nad_free(&parsed);
		sm_test_out[sm_test_nout++] = xstrndup(raw, len);
	} else {
		sm_test_out[sm_test_nout++] = nad_to_string(nad, NULL);
	}
	nad_free(&nad);
}

void sm_test_out_clear(void)
{
	while (sm_test_nout > 0)
		free(sm_test_out[--sm_test_nout]);
}

const char *sm_test_out_find(const char *s, ...)
{
	int i;

	for (i = 0; i < sm_test_nout; i++) {
		va_list ap;
		const char *p = s;
		int ok = 1;

		va_start(ap, s);
		while (p != NULL && ok) {
			ok = strstr(sm_test_out[i], p) != NULL;
			p = va_arg(ap, const char *);
		}
		va_end(ap);
		if (ok)
			return sm_test_out[i];
	}
	return NULL;
}

void sm_test_out_dump(void)
{
	int i;

	for (i = 0; i < sm_test_nout; i++)
		fprintf(stderr, "  out[%d] %s\n", i, sm_test_out[i]);
}

void sm_test_dir_make(char *dir, size_t size, const char *name)
{
	assert_true((size_t)snprintf(dir, size, "/tmp/%s.XXXXXX", name) < size);
	assert_non_null(mkdtemp(dir));
}

void sm_test_dir_remove(const char *dir)
{
	static const char *const files[] = {
		"sqlite.db", "sqlite.db-wal", "sqlite.db-shm", "roster.xml",
	};
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

struct sm *sm_test_sm_new(const char *xml)
{
	const char *error = NULL;
	struct config *cfg;
	struct sm *sm;

	cfg = config_load_mem("sm.xml", xml, strlen(xml), NULL, &error);
	if (cfg == NULL)
		fail_msg("sm.xml: %s", error);
	sm = sm_new(cfg, NULL, &error);
	if (sm == NULL)
		fail_msg("sm_new: %s", error);
	sm->send_hook = sm_test_capture;
	return sm;
}

void sm_test_feed(struct sm *sm, const char *fmt, ...)
{
	const char *error = NULL;
	struct nad *nad;
	va_list ap;
	struct buf b = { 0 };

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	nad = nad_parse(b.data, b.len, 0, &error, NULL);
	if (nad == NULL)
		fail_msg("test input does not parse: %s: %s", error, b.data);
	buf_free(&b);
	sm_router_element(sm, nad);
}

void sm_test_sess_req_from(struct sm *sm, const char *from, const char *action,
			   const char *c2s_id, const char *smid, const char *target)
{
	sm_test_feed(sm, "<route xmlns='" SM_TEST_NS_COMP "' to='example.org' from='%s'>"
	     "<sc:session xmlns:sc='" SM_TEST_NS_SESS "' sc:c2s='%s'%s%s%s action='%s'%s%s%s "
	     "id='req1'/></route>", from, c2s_id, smid ? " sc:sm='" : "", smid ? smid : "",
	     smid ? "'" : "", action, target ? " target='" : "", target ? target : "",
	     target ? "'" : "");
}

void sm_test_sess_req(struct sm *sm, const char *action, const char *c2s_id,
		      const char *smid, const char *target)
{
	sm_test_sess_req_from(sm, "c2s", action, c2s_id, smid, target);
}

const char *sm_test_login_from(struct sm *sm, const char *c2s, const char *bare,
			       const char *res, const char *c2s_id)
{
	static char smid[4][41];
	static int n;
	char target[256];
	const char *o, *p;
	char *s = smid[n++ % 4];

	snprintf(target, sizeof(target), "%s/%s", bare, res);
	sm_test_out_clear();
	sm_test_sess_req_from(sm, c2s, "create", c2s_id, NULL, bare);
	sm_test_sess_req_from(sm, c2s, "start", c2s_id, NULL, target);
	o = sm_test_out_find("action='started'", NULL);
	if (o == NULL) {
		sm_test_out_dump();
		fail_msg("no started for %s", target);
	}
	p = strstr(o, ":sm='");
	assert_non_null(p);
	memcpy(s, p + 5, 40);
	s[40] = '\0';
	sm_test_out_clear();
	return s;
}

const char *sm_test_login(struct sm *sm, const char *bare, const char *res, const char *c2s_id)
{
	return sm_test_login_from(sm, "c2s", bare, res, c2s_id);
}

void sm_test_from_sess_via(struct sm *sm, const char *from, const char *c2s_id,
			   const char *smid, const char *stanza)
{
	sm_test_feed(sm, "<route xmlns='" SM_TEST_NS_COMP "' to='sm' from='%s'>%.*s xmlns='jabber:client' "
	     "xmlns:sc='" SM_TEST_NS_SESS "' sc:c2s='%s' sc:sm='%s'%s</route>", from,
	     (int)strcspn(stanza, " />"), stanza, c2s_id, smid, stanza + strcspn(stanza, " />"));
}

void sm_test_from_sess(struct sm *sm, const char *c2s_id, const char *smid,
		       const char *stanza)
{
	sm_test_from_sess_via(sm, "c2s", c2s_id, smid, stanza);
}
