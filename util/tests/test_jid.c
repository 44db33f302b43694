/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/jid.c: which addresses are accepted, what they
 * prepare to, and why the others are refused. Many cases are the
 * examples of RFC 7622 section 3.5; where stringprep (which jabberd2 and
 * we use) differs from PRECIS, the table says so.
 */
#include "config.h"
#include "util/jid.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <stringprep.h>

#include "util/buf.h"

struct jid_case {
	const char *in;
	size_t len;             /* 0 = strlen(in) */
	/* Expected prepared parts, or node == NULL and `error` for a refusal. */
	const char *node, *domain, *resource;
	const char *error;      /* substring of the error message */
};

#define OK(in, n, d, r) { in, 0, n, d, r, NULL }
#define BAD(in, why) { in, 0, NULL, NULL, NULL, why }

static const struct jid_case cases[] = {
	/* RFC 7622 3.5, valid. */
	OK("juliet@example.com", "juliet", "example.com", ""),
	OK("juliet@example.com/foo", "juliet", "example.com", "foo"),
	OK("juliet@example.com/foo bar", "juliet", "example.com", "foo bar"),
	OK("juliet@example.com/foo@bar", "juliet", "example.com", "foo@bar"),
	OK("foo\\20bar@example.com", "foo\\20bar", "example.com", ""),
	OK("fussball@example.com", "fussball", "example.com", ""),
	/* Stringprep case-folds sharp s and final sigma (PRECIS keeps them). */
	OK("fu\xc3\x9f" "ball@example.com", "fussball", "example.com", ""),
	OK("\xcf\x80@example.com", "\xcf\x80", "example.com", ""),
	OK("\xce\xa3@example.com", "\xcf\x83", "example.com", ""),
	OK("\xcf\x82@example.com", "\xcf\x83", "example.com", ""),
	OK("king@example.com/\xe2\x99\x9a", "king", "example.com", "\xe2\x99\x9a"),
	OK("example.com", "", "example.com", ""),
	OK("example.com/foobar", "", "example.com", "foobar"),
	OK("a.example.com/b@example.net", "", "a.example.com", "b@example.net"),
	/* RFC 7622 3.5 calls these invalid under PRECIS; Nodeprep maps them. */
	OK("henry\xe2\x85\xa3@example.com", "henryiv", "example.com", ""),
	OK("\xe2\x99\x9a@example.com", "\xe2\x99\x9a", "example.com", ""),

	/* Case folding: node and domain fold, resource does not. */
	OK("\xc3\x84mail@EXAMPLE.com", "\xc3\xa4mail", "example.com", ""),
	OK("ROMEO@Example.NET/Orchard", "romeo", "example.net", "Orchard"),
	OK("\xef\xbc\xa5xample.com", "", "example.com", ""),
	/* Characters mapped to nothing disappear (soft hyphen). */
	OK("ro\xc2\xadmeo@example.com", "romeo", "example.com", ""),
	/* Resource keeps '/', '@', spaces and case. */
	OK("a@b/c/d@e F", "a", "b", "c/d@e F"),

	/* Domains: trailing dot removed, IP literals, separators. */
	OK("juliet@example.com./r", "juliet", "example.com", "r"),
	OK("EXAMPLE.COM.", "", "example.com", ""),
	OK("x@example.com\xe3\x80\x82", "x", "example.com", ""),
	OK("x@127.0.0.1", "x", "127.0.0.1", ""),
	OK("x@[::1]/r", "x", "[::1]", "r"),
	OK("[2001:db8::1]", "", "[2001:db8::1]", ""),
	OK("sm_internal", "", "sm_internal", ""),
	OK("m\xc3\xbcnchen.example", "", "m\xc3\xbcnchen.example", ""),

	/* RFC 7622 3.5, invalid. */
	BAD("juliet@@example.com", "domain contains a prohibited character"),
	BAD("foo bar@example.com", "node (localpart) contains a prohibited character"),
	BAD("juliet@test@example.com", "domain contains a prohibited character"),
	BAD("@example.com", "empty node"),
	BAD("@example.com/r", "empty node"),
	BAD("henry@example.com/", "empty resource"),
	BAD("juliet@", "empty domain"),
	BAD("juliet@/r", "empty domain"),
	BAD("/foobar", "empty domain"),
	BAD("", "empty domain"),
	BAD("@", "empty node"),
	BAD("/", "empty resource"),

	/* Nodeprep's prohibited ASCII: " & ' : < > (and space, '/' and '@',
	 * which only jid_new_parts can place in a node). */
	BAD("a\"b@example.com", "node (localpart) contains a prohibited"),
	BAD("a&b@example.com", "node (localpart) contains a prohibited"),
	BAD("a'b@example.com", "node (localpart) contains a prohibited"),
	BAD("a:b@example.com", "node (localpart) contains a prohibited"),
	BAD("a<b@example.com", "node (localpart) contains a prohibited"),
	BAD("a>b@example.com", "node (localpart) contains a prohibited"),
	BAD("a\tb@example.com", "node (localpart) contains a prohibited"),
	BAD("\xc2\xad@example.com", "empty node"),
	BAD("x@example.com/\x01", "resource contains a prohibited"),
	BAD("x@example.com/\xc2\xad", "empty resource"),
	BAD("x@example.com/a\xe2\x80\xa8" "b", "resource contains a prohibited"),

	/* Domain shape. */
	BAD("x@exa mple.com", "domain contains a prohibited character"),
	BAD("x@exa&mple.com", "domain contains a prohibited character"),
	BAD("x@ex\x01" "ample.com", "domain contains a prohibited character"),
	BAD("x@example..com", "empty label"),
	BAD("x@.example.com", "empty label"),
	BAD("x@example.com..", "empty label"),
	BAD("x@example.com\xe3\x80\x82.", "empty label"),
	BAD("x@example.com.\xe3\x80\x82", "empty label"),
	BAD("x@a\xe3\x80\x82\xe3\x80\x82" "b", "empty label"),
	BAD("x@\xe3\x80\x82" "b", "empty label"),
	OK("x@a\xe3\x80\x82" "b", "x", "a\xe3\x80\x82" "b", ""),
	BAD(".", "empty domain"),
	BAD("x@./r", "empty domain"),
	BAD("x@[::1", "IPv6"),
	BAD("x@[zz::1]", "IPv6"),
	BAD("x@[]", "IPv6"),
	BAD("x@[127.0.0.1]", "IPv6"),

	/* Bidi: a node mixing right-to-left and left-to-right letters. */
	BAD("\xd7\x90" "a@example.com", "bidirectional"),
	OK("\xd7\x90\xd7\x91@example.com", "\xd7\x90\xd7\x91", "example.com", ""),

	/* Bad UTF-8, in each part. */
	BAD("\xc3@example.com", "node (localpart) is not valid UTF-8"),
	BAD("a\xff@example.com", "node (localpart) is not valid UTF-8"),
	BAD("\xc0\xaf@example.com", "node (localpart) is not valid UTF-8"),
	BAD("\xed\xa0\x80@example.com", "node (localpart) is not valid UTF-8"),
	BAD("\xf4\x90\x80\x80@example.com", "node (localpart) is not valid UTF-8"),
	BAD("x@exa\x80mple.com", "domain is not valid UTF-8"),
	BAD("x@example.com/\xe2\x82", "resource is not valid UTF-8"),
	{ "a\0b@example.com", 15, NULL, NULL, NULL, "node (localpart) is not valid UTF-8" },
};

static void test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct jid_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		const char *error = NULL;
		struct jid *jid = jid_new(c->in, len, &error);

		if (c->node == NULL) {
			if (jid != NULL)
				fail_msg("case %zu '%s' accepted as '%s'", i, c->in, jid_full(jid));
			assert_non_null(error);
			if (strstr(error, c->error) == NULL)
				fail_msg("case %zu '%s': error '%s', want '%s'", i, c->in,
					 error, c->error);
			continue;
		}
		if (jid == NULL)
			fail_msg("case %zu '%s' refused: %s", i, c->in, error);
		assert_string_equal(jid_node(jid), c->node);
		assert_string_equal(jid_domain(jid), c->domain);
		assert_string_equal(jid_resource(jid), c->resource);
		jid_free(&jid);
		assert_null(jid);
	}
}

static void test_full_and_bare(void **state)
{
	static const struct {
		const char *in, *full, *bare;
	} forms[] = {
		{ "Juliet@Example.COM/Balcony", "juliet@example.com/Balcony", "juliet@example.com" },
		{ "example.com/r", "example.com/r", "example.com" },
		{ "n@example.com", "n@example.com", "n@example.com" },
		{ "example.com.", "example.com", "example.com" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		const char *error = NULL;
		struct jid *jid = jid_new(forms[i].in, strlen(forms[i].in), &error);
		struct jid *copy, *bare;

		assert_non_null(jid);
		assert_string_equal(jid_full(jid), forms[i].full);
		assert_string_equal(jid_bare(jid), forms[i].bare);
		copy = jid_copy(jid);
		assert_string_equal(jid_full(copy), forms[i].full);
		assert_string_equal(jid_resource(copy), jid_resource(jid));
		assert_true(jid_equal(jid, copy));
		bare = jid_copy_bare(jid);
		assert_string_equal(jid_full(bare), forms[i].bare);
		assert_string_equal(jid_resource(bare), "");
		assert_true(jid_equal_bare(jid, bare));
		jid_free(&jid);
		/* The copies own their memory. */
		assert_string_equal(jid_full(copy), forms[i].full);
		jid_free(&copy);
		jid_free(&bare);
	}
}

static struct jid *mk(const char *s)
{
	const char *error = NULL;
	struct jid *jid = jid_new(s, strlen(s), &error);

	if (jid == NULL)
		fail_msg("'%s': %s", s, error);
	return jid;
}

static void test_equality(void **state)
{
	struct jid *a = mk("ROMEO@example.net/Home");
	struct jid *b = mk("romeo@EXAMPLE.NET./Home");
	struct jid *c = mk("romeo@example.net/home");
	struct jid *d = mk("juliet@example.net/Home");

	(void)state;
	assert_true(jid_equal(a, b));
	assert_false(jid_equal(a, c));     /* resources are case-sensitive */
	assert_true(jid_equal_bare(a, c));
	assert_false(jid_equal_bare(a, d));
	assert_false(jid_equal(a, d));
	jid_free(&a);
	jid_free(&b);
	jid_free(&c);
	jid_free(&d);
}

static char *repeat(const char *unit, size_t n)
{
	struct buf b = { 0 };

	while (n-- > 0)
		buf_append_str(&b, unit);
	return buf_steal(&b, NULL);
}

/* jid_new on node@domain/resource built from the three strings. */
static struct jid *mk3(const char *n, const char *d, const char *r, const char **error_r)
{
	char *s = xasprintf("%s@%s/%s", n, d, r);
	struct jid *jid = jid_new(s, strlen(s), error_r);

	free(s);
	return jid;
}

static void test_lengths(void **state)
{
	char *p1023 = repeat("a", 1023), *p1024 = repeat("a", 1024);
	/* U+33C2 (3 bytes) prepares to "a.m." (4 bytes). */
	char *grows = repeat("\xe3\x8f\x82", 300);
	/* 600 soft hyphens (mapped to nothing) and one letter: 1201 bytes in,
	 * 1 byte out; the limit applies after preparation. */
	char *shrinks = repeat("\xc2\xad", 600);
	const char *error = NULL;
	struct jid *jid;
	char *s;

	(void)state;
	jid = mk3(p1023, p1023, p1023, &error);
	assert_non_null(jid);
	assert_int_equal(strlen(jid_full(jid)), JID_MAX);
	jid_free(&jid);

	assert_null(mk3(p1024, "x", "r", &error));
	assert_string_equal(error, "node (localpart) longer than 1023 bytes");
	assert_null(mk3("n", p1024, "r", &error));
	assert_string_equal(error, "domain longer than 1023 bytes");
	assert_null(mk3("n", "x", p1024, &error));
	assert_string_equal(error, "resource longer than 1023 bytes");

	assert_int_equal(strlen(grows), 900);
	assert_null(mk3(grows, "x", "r", &error));
	assert_string_equal(error, "node (localpart) longer than 1023 bytes");

	s = xasprintf("%sQ", shrinks);
	jid = mk3(s, "x", "r", &error);
	assert_non_null(jid);
	assert_string_equal(jid_node(jid), "q");
	jid_free(&jid);
	free(s);

	/* Huge input is refused without preparing it. */
	s = repeat("a", 100000);
	assert_null(jid_new(s, strlen(s), &error));
	assert_non_null(strstr(error, "longer than"));
	free(s);

	free(p1023);
	free(p1024);
	free(grows);
	free(shrinks);
}

static void test_new_parts(void **state)
{
	static const struct {
		const char *n, *d, *r, *full, *error;
	} parts[] = {
		{ "Alice", "EXAMPLE.org", "Phone", "alice@example.org/Phone", NULL },
		{ NULL, "example.org", NULL, "example.org", NULL },
		{ "", "example.org", "", "example.org", NULL },
		{ "a@b", "example.org", NULL, NULL, "node (localpart) contains a prohibited" },
		{ "a/b", "example.org", NULL, NULL, "node (localpart) contains a prohibited" },
		{ "a b", "example.org", NULL, NULL, "node (localpart) contains a prohibited" },
		{ "a", NULL, NULL, NULL, "empty domain" },
		{ "a", "", NULL, NULL, "empty domain" },
		{ "a", "exa/mple", NULL, NULL, "domain contains a prohibited" },
		{ "a", "example.org", "x/y@z", "a@example.org/x/y@z", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const char *error = NULL;
		struct jid *jid = jid_new_parts(parts[i].n, parts[i].d, parts[i].r, &error);

		if (parts[i].full == NULL) {
			assert_null(jid);
			if (strstr(error, parts[i].error) == NULL)
				fail_msg("case %zu: error '%s', want '%s'", i, error,
					 parts[i].error);
			continue;
		}
		if (jid == NULL)
			fail_msg("case %zu refused: %s", i, error);
		assert_string_equal(jid_full(jid), parts[i].full);
		jid_free(&jid);
	}
}

static void test_standalone_prep(void **state)
{
	char out[64];
	char small[4];
	const char *error = NULL;

	(void)state;
	assert_int_equal(jid_nameprep("Jabber.EXAMPLE.com.", out, sizeof(out), &error), 0);
	assert_string_equal(out, "jabber.example.com");
	assert_int_equal(jid_nameprep("", out, sizeof(out), &error), -1);
	assert_string_equal(error, "empty domain");
	assert_int_equal(jid_nameprep("bad host", out, sizeof(out), &error), -1);
	assert_int_equal(jid_nodeprep("\xc3\x84mail", out, sizeof(out), &error), 0);
	assert_string_equal(out, "\xc3\xa4mail");
	assert_int_equal(jid_nodeprep("", out, sizeof(out), &error), 0);
	assert_string_equal(out, "");
	assert_int_equal(jid_nodeprep("a:b", out, sizeof(out), &error), -1);
	assert_int_equal(jid_resourceprep("My Phone", out, sizeof(out), &error), 0);
	assert_string_equal(out, "My Phone");
	/* Output buffer too small for the prepared text. */
	assert_int_equal(jid_nodeprep("abcd", small, sizeof(small), &error), -1);
	assert_int_equal(jid_nodeprep("ABC", small, sizeof(small), &error), 0);
	assert_string_equal(small, "abc");
	/* In place. */
	strcpy(out, "SM.Example.NET");
	assert_int_equal(jid_nameprep(out, out, sizeof(out), &error), 0);
	assert_string_equal(out, "sm.example.net");
}

/* ---- the ASCII fast path against libidn ---- */

enum which { NODE, DOMAIN, RESOURCE };

/* What libidn alone makes of `in`: 0 and the text, or -1. */
static int idn_prep(const Stringprep_profile *profile, const char *in, char *out, size_t size)
{
	if (strlen(in) >= size)
		return -1;
	strcpy(out, in);
	return stringprep(out, size, 0, profile) == STRINGPREP_OK ? 0 : -1;
}

static void check_same(enum which w, const char *in)
{
	char ours[128], theirs[128], again[128];
	const char *error = NULL;
	int r1, r2;

	switch (w) {
	case NODE:
		r1 = jid_nodeprep(in, ours, sizeof(ours), &error);
		r2 = idn_prep(stringprep_xmpp_nodeprep, in, theirs, sizeof(theirs));
		break;
	case RESOURCE:
		r1 = jid_resourceprep(in, ours, sizeof(ours), &error);
		r2 = idn_prep(stringprep_xmpp_resourceprep, in, theirs, sizeof(theirs));
		break;
	default:
		r1 = jid_nameprep(in, ours, sizeof(ours), &error);
		r2 = idn_prep(stringprep_nameprep, in, theirs, sizeof(theirs));
		/* Our domain rules come after nameprep: apply them to libidn's
		 * result to get what we must answer. */
		if (r2 == 0)
			r2 = jid_nameprep(theirs, again, sizeof(again), &error);
		if (r2 == 0)
			strcpy(theirs, again);
		break;
	}
	if (r1 != r2 || (r1 == 0 && strcmp(ours, theirs) != 0))
		fail_msg("profile %d, input \"%s\": ours %d \"%s\", libidn %d \"%s\"", (int)w,
			 in, r1, r1 == 0 ? ours : "", r2, r2 == 0 ? theirs : "");
}

static void test_ascii_fast_path_matches_libidn(void **state)
{
	static const char alphabet[] = "aZ09.-_@/:&'\"<> \t\x7f\x01!~[]%+=";
	char s[16];
	unsigned long x = 12345;
	int c, i, n, w;

	(void)state;
	for (w = NODE; w <= RESOURCE; w++) {
		for (c = 1; c < 0x80; c++) {
			s[0] = (char)c;
			s[1] = '\0';
			check_same((enum which)w, s);
			s[0] = 'a';
			s[1] = (char)c;
			s[2] = 'B';
			s[3] = '\0';
			check_same((enum which)w, s);
		}
		/* Random strings, mostly from characters the rules single out. */
		for (i = 0; i < 20000; i++) {
			x = x * 1103515245ul + 12345ul;
			n = (int)((x >> 16) % 12);
			for (c = 0; c < n; c++) {
				x = x * 1103515245ul + 12345ul;
				s[c] = (x >> 20) % 4 == 0 ? (char)(1 + (x >> 8) % 0x7f) :
					alphabet[(x >> 8) % (sizeof(alphabet) - 1)];
			}
			s[n] = '\0';
			check_same((enum which)w, s);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_full_and_bare),
		cmocka_unit_test(test_equality),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_new_parts),
		cmocka_unit_test(test_standalone_prep),
		cmocka_unit_test(test_ascii_fast_path_matches_libidn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
