/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for router.xml's <cluster> section
 * (cluster-mod/cluster_config.c): the input is a router.xml; whatever
 * loads as a config file is read as a cluster section, which must either
 * give settings that hold the documented limits or an error naming the
 * file, never crash or leak.
 */
#include "config.h"
#include "cluster-mod/cluster_config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/config_file.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int logged;
	struct config *cfg;
	struct cluster_config *cc;
	const char *err;

	if (!logged) {
		log_open(LOG_TYPE_FILE, "fuzz", NULL, "/dev/null", &err);
		logged = 1;
	}
	cfg = config_load_mem("router.xml", (const char *)data, size, NULL, &err);
	if (cfg == NULL)
		return 0;
	cc = cluster_config_read(cfg, &err);
	if (cc == NULL) {
		if (strncmp(err, "router.xml", 10) != 0)
			abort();        /* every error names the file */
	} else {
		if (!cluster_node_name_valid(cc->node) || cc->port < 1 || cc->port > 65535 ||
		    cc->ndomains < 1 || cc->ndomains > CLUSTER_MAX_DOMAINS ||
		    cc->npeers > CLUSTER_MAX_PEERS || cc->pemfile == NULL || cc->cachain == NULL)
			abort();
		for (int i = 0; i < cc->npeers; i++)
			if (strcmp(cc->peers[i].name, cc->node) == 0)
				abort();
		cluster_config_free(&cc);
	}
	config_free(&cfg);
	return 0;
}
