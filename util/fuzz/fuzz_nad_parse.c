/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for nad_parse (util/nad.c), the parser behind config
 * files and stored XML. Whatever parses is serialized, parsed again and
 * serialized again: the two outputs must be identical, so escaping or
 * namespace bugs in the serializer show up as crashes here. The same
 * input also goes through one nad_reader kept across inputs (its stream
 * path): it must give nad_parse()'s answer, and a known document parsed
 * after it must come out the same every time.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/nad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char known[] = "<route xmlns='jabber:component:accept' to='sm'>"
			    "<message xmlns='jabber:client'><body>x</body></message></route>";

/* The reader's answer for `data` is nad_parse()'s (`a`), and leaves
 * nothing behind for the next document. */
static void reader_check(const uint8_t *data, size_t size, const struct nad *a)
{
	static struct nad_reader *r;
	const char *err = NULL;
	struct nad *b;
	char *sa, *sb;

	if (r == NULL)
		r = nad_reader_new();
	b = nad_reader_parse(r, (const char *)data, size, 64, &err, NULL);
	if ((a == NULL) != (b == NULL))
		abort();
	if (a != NULL) {
		sa = nad_to_string(a, NULL);
		sb = nad_to_string(b, NULL);
		if (strcmp(sa, sb) != 0)
			abort();
		free(sa);
		free(sb);
		nad_free(&b);
	}
	b = nad_reader_parse(r, known, strlen(known), 64, &err, NULL);
	if (b == NULL || strcmp(nad_name(b, 0), "route") != 0 ||
	    nad_child(b, 0, NULL, NULL) == NAD_NONE ||
	    nad_child(b, nad_child(b, 0, NULL, NULL), NULL, NULL) == NAD_NONE)
		abort();
	nad_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *err = NULL;
	struct nad *a, *b, *c;
	char *s1, *s2;
	size_t l1, l2;

	a = nad_parse((const char *)data, size, 64, &err, NULL);
	reader_check(data, size, a);
	if (a == NULL)
		return 0;
	s1 = nad_to_string(a, &l1);
	b = nad_parse(s1, l1, 64, &err, NULL);
	if (b == NULL)
		abort();        /* our own output must parse */
	s2 = nad_to_string(b, &l2);
	if (l1 != l2 || memcmp(s1, s2, l1) != 0)
		abort();
	/* Copies and extracts serialize the same way. */
	c = nad_copy(b);
	free(s2);
	s2 = nad_to_string(c, &l2);
	if (l1 != l2 || memcmp(s1, s2, l1) != 0)
		abort();
	nad_free(&c);
	if (nad_child(b, 0, NULL, NULL) != NAD_NONE) {
		c = nad_extract(b, nad_child(b, 0, NULL, NULL));
		nad_graft(b, 0, c, 0);
		nad_elem_remove(b, nad_child(b, 0, NULL, NULL));
		nad_free(&c);
	}
	free(s1);
	free(s2);
	nad_free(&a);
	nad_free(&b);
	return 0;
}
