/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for router-filter.xml (router/filter.c): the input is a
 * filter file; whatever loads is applied to a few routes with different
 * payloads, so rule attributes and `what` paths of any shape are matched.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/router.h"
#include "util/log.h"
#include "util/nad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const routes[] = {
	"<route xmlns='" ROUTER_NS_COMP "' to='sm' from='s2s'><message xmlns='jabber:client'"
	" from='bot@spam.example/r' to='ann@sm' type='chat'><body>x</body></message></route>",
	"<route xmlns='" ROUTER_NS_COMP "' to='sm' from='c2s'><iq xmlns='jabber:client'"
	" from='a@b/c' type='get' id='1'><query xmlns='jabber:iq:version'/></iq></route>",
	"<route xmlns='" ROUTER_NS_COMP "' to='sm' from='c2s'><sc:session"
	" xmlns:sc='" ROUTER_NS_SESS "' action='start' target='a@b/c'/></route>",
	"<route xmlns='" ROUTER_NS_COMP "' to='sm' from='c2s'/>",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int logged;
	struct router_filter *f = NULL;
	const char *err;

	if (!logged) {
		log_open(LOG_TYPE_FILE, "fuzz", NULL, "/dev/null", &err);
		logged = 1;
	}
	/* dump='file' rules append to files: not from a fuzzer. */
	if (memmem(data, size, "dump", 4) != NULL)
		return 0;
	if (router_filter_load_mem("fuzz", (const char *)data, size, &f, &err) < 0)
		return 0;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		struct nad *nad = nad_parse(routes[i], strlen(routes[i]), 0, &err, NULL);

		if (nad == NULL)
			abort();
		router_filter_check(f, nad);
		nad_free(&nad);
	}
	router_filter_free(&f);
	return 0;
}
