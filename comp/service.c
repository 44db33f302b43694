/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * service.c: the router link of a daemon that serves names (see
 * service.h).
 */
#include "config.h"
#include "comp/service.h"

#include "comp/comp.h"
#include "mio/mio.h"
#include "util/log.h"
#include "util/sdnotify.h"

static void on_ready(struct comp *comp, void *ctx)
{
	struct comp_service *s = ctx;

	(void)comp;
	s->pending = s->nbinds;
	if (s->opened != NULL)
		s->opened(s->ctx);
}

static void on_bound(struct comp *comp, const char *name, int error, void *ctx)
{
	struct comp_service *s = ctx;

	(void)comp;
	if (error != 0) {
		log_error("%s: cannot bind '%s' at the router (error %d); exiting", s->name, name,
			  error);
		s->exit_code = 1;
		mio_stop(s->mio);
		return;
	}
	if (s->pending > 0 && --s->pending == 0) {
		log_notice("%s: %s %s", s->name, s->id, s->ready);
		sdnotify_ready(s->ready);
		if (s->all_bound != NULL)
			s->all_bound(s->ctx);
	}
}

static void on_element(struct comp *comp, struct nad *nad, void *ctx)
{
	struct comp_service *s = ctx;

	(void)comp;
	s->element(s->ctx, nad);
}

static void on_down(struct comp *comp, const char *reason, int final, void *ctx)
{
	struct comp_service *s = ctx;

	(void)comp;
	if (s->lost != NULL)
		s->lost(s->ctx);
	if (!final)
		return;
	if (!s->closing)
		log_notice("%s: giving up on the router (%s); shutting down", s->name, reason);
	mio_stop(s->mio);
}

static const struct comp_callbacks service_cb = {
	.ready = on_ready,
	.bound = on_bound,
	.element = on_element,
	.down = on_down,
};

int comp_service_link(struct comp_service *s, const struct config *cfg,
		      const char **error_r)
{
	struct comp_settings set = { .ident = s->name };

	s->exit_code = 0;
	s->closing = 0;
	s->nbinds = s->pending = 0;
	if (comp_settings_load(cfg, &set, error_r) < 0)
		return -1;
	s->comp = comp_new(s->mio, &set, &service_cb, s, error_r);
	return s->comp != NULL ? 0 : -1;
}

void comp_service_bind(struct comp_service *s, const char *name, const char *multi)
{
	comp_bind(s->comp, name, multi, 0);
	s->nbinds++;
}

void comp_service_close(struct comp_service *s)
{
	s->closing = 1;
	comp_close(s->comp);
}
