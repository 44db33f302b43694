/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sm_testlib: what the sm unit tests share. An sm is built from the text
 * of an sm.xml in a temporary directory, with no router: elements are fed
 * to it as the router would deliver them, and what it sends is captured
 * through its send hook, serialized, for the tests to search.
 */
#ifndef SM_TESTS_SM_TESTLIB_H
#define SM_TESTS_SM_TESTLIB_H

#include <stddef.h>

#include "sm/sm.h"

/* What the sm sent since the last sm_test_out_clear(), serialized. */
#define SM_TEST_MAX_OUT 64
extern char *sm_test_out[SM_TEST_MAX_OUT];
extern int sm_test_nout;

/* A send hook that records into sm_test_out (fails the test when full). */
void sm_test_capture(struct sm *sm, struct nad *nad);
void sm_test_out_clear(void);
/* The first output containing every one of the NULL-terminated strings. */
const char *sm_test_out_find(const char *s, ...);
/* Print what was captured to stderr (for a failing test). */
void sm_test_out_dump(void);

/* A fresh directory /tmp/<name>.XXXXXX, written into `dir`. */
void sm_test_dir_make(char *dir, size_t size, const char *name);
/* Remove what sm tests leave in such a directory (the SQLite database
 * and its journals, roster.xml), then the directory. */
void sm_test_dir_remove(const char *dir);
/* An sm from the text of an sm.xml, capturing its output; fails the test
 * if the config does not load or the sm does not start. */
struct sm *sm_test_sm_new(const char *xml);
/* Feed one element (printf-style) as the router would deliver it. */
void sm_test_feed(struct sm *sm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define SM_TEST_NS_COMP "http://jabberd.jabberstudio.org/ns/component/1.0"
#define SM_TEST_NS_SESS "http://jabberd.jabberstudio.org/ns/session/1.0"
/* Session control from component `from` (create, start, end, delete...):
 * smid and target may be NULL. sm_test_sess_req() is from "c2s". */
void sm_test_sess_req_from(struct sm *sm, const char *from, const char *action,
			   const char *c2s_id, const char *smid, const char *target);
void sm_test_sess_req(struct sm *sm, const char *action, const char *c2s_id,
		      const char *smid, const char *target);
/* Create the user and start a session for bare/res from component c2s;
 * returns its sm id (static storage, four in turn). Clears the captured
 * output. sm_test_login() is from "c2s". */
const char *sm_test_login_from(struct sm *sm, const char *c2s, const char *bare,
			       const char *res, const char *c2s_id);
const char *sm_test_login(struct sm *sm, const char *bare, const char *res,
			  const char *c2s_id);
/* A stanza (text) from the session smid of c2s connection c2s_id, sent by
 * component `from`; sm_test_from_sess() is from "c2s". */
void sm_test_from_sess_via(struct sm *sm, const char *from, const char *c2s_id,
			   const char *smid, const char *stanza);
void sm_test_from_sess(struct sm *sm, const char *c2s_id, const char *smid,
		       const char *stanza);

#endif
