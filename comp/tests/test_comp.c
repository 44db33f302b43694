/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_comp: the component link (comp/) against a small in-process router
 * built from the same sx server pieces the real one uses: SASL DIGEST-MD5
 * in realm "jabberd-router", bind replies in order (with refusals on
 * demand), an advertisement after each bind, routes bounced back with
 * error='404', and dropping the link to see the client reconnect; and
 * the link of a daemon that serves names (comp/service.h) on it.
 */
#include "config.h"
#include "comp/comp.h"
#include "comp/service.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mio/mio.h"
#include "mio/tests/mio_test.h"
#include "sx/sx.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"
#include "util/nad.h"

/* ---- the fake router ---- */

struct fake_conn {
	struct fake *f;
	struct mio_conn *mc;
	struct sx *sx;
	int ended;
};

struct fake {
	struct mio *mio;
	struct mio_listener *l;
	struct sx_sasl_ctx *sasl;
	int port;
	struct fake_conn *conn;         /* the latest connection */
	int accepted;
	int auth_ok;
	const char *refuse;             /* bind name answered with 409 */
	char binds[512];                /* "name[/multi] " per bind seen */
};

static int fake_lookup(struct sx *sx, const char *mech, const char *hash,
		       const char *authcid, const char *realm, struct sx_sasl_secret *secret)
{
	(void)sx, (void)mech, (void)hash, (void)realm;
	if (strcmp(authcid, "jabberd") != 0)
		return SX_SASL_FAIL;
	secret->password = xstrdup("s3cret");
	return SX_SASL_OK;
}

static const struct sx_sasl_callbacks fake_sasl_cb = { .lookup = fake_lookup };

static void fake_flush(struct fake_conn *c)
{
	size_t len;
	const void *data = sx_output(c->sx, &len);

	if (len > 0) {
		mio_conn_write(c->mc, data, len);
		sx_output_consumed(c->sx, len);
	}
	if (c->ended && !mio_conn_closing(c->mc))
		mio_conn_shutdown(c->mc, 1000);
}

static void fake_open(struct sx *sx, const struct sx_header *hdr, void *ctx)
{
	struct sx_header out = { .version = "1.0" };

	(void)hdr, (void)ctx;
	sx_open(sx, &out);
	sx_send(sx, sx_features_new(sx));
}

static void fake_bind(struct fake_conn *c, struct nad *nad)
{
	const char *name = nad_attr(nad, 0, NULL, "name");
	const char *multi = nad_attr(nad, 0, NULL, "multi");
	struct nad *adv;
	size_t n = strlen(c->f->binds);

	snprintf(c->f->binds + n, sizeof(c->f->binds) - n, "%s%s%s ", name,
		 multi != NULL ? "/" : "", multi != NULL ? multi : "");
	if (c->f->refuse != NULL && strcmp(name, c->f->refuse) == 0) {
		nad_attr_set(nad, 0, NULL, "name", NULL);
		nad_attr_set(nad, 0, NULL, "error", "409");
		sx_send(c->sx, nad);
		return;
	}
	nad_attr_set(nad, 0, NULL, "name", NULL);
	nad_attr_set(nad, 0, NULL, "multi", NULL);
	sx_send(c->sx, nad);
	adv = nad_new();
	nad_attr_set(adv, nad_elem_add(adv, NAD_NONE, COMP_NS, "presence"), NULL, "from",
		     "c2s");
	sx_send(c->sx, adv);
}

static void fake_element(struct sx *sx, struct nad *nad, void *ctx)
{
	struct fake_conn *c = ctx;
	const char *name = nad_name(nad, 0);

	if ((sx_flags(sx) & SX_F_AUTHENTICATED) == 0) {
		nad_free(&nad);
		return;
	}
	if (strcmp(name, "bind") == 0)
		fake_bind(c, nad);
	else if (strcmp(name, "route") == 0) {
		nad_attr_set(nad, 0, NULL, "error", "404");
		sx_send(sx, nad);
	} else
		nad_free(&nad);
}

static void fake_closed(struct sx *sx, const char *cond, const char *text, void *ctx)
{
	struct fake_conn *c = ctx;

	(void)sx, (void)cond, (void)text;
	c->ended = 1;
}

static void fake_event(struct sx *sx, enum sx_event ev, const void *data, void *ctx)
{
	struct fake_conn *c = ctx;

	(void)sx, (void)data;
	if (ev == SX_EV_AUTH_OK)
		c->f->auth_ok++;
}

static const struct sx_callbacks fake_sx_cb = {
	.stream_open = fake_open,
	.element = fake_element,
	.closed = fake_closed,
	.event = fake_event,
};

static void fake_read(struct mio_conn *mc, const void *data, size_t len, void *ctx)
{
	struct fake_conn *c = ctx;

	(void)mc;
	sx_input(c->sx, data, len);
	fake_flush(c);
}

static void fake_close(struct mio_conn *mc, const char *reason, void *ctx)
{
	struct fake_conn *c = ctx;

	(void)mc, (void)reason;
	if (c->f->conn == c)
		c->f->conn = NULL;
	sx_free(&c->sx);
	free(c);
}

static const struct mio_conn_callbacks fake_mio_cb = {
	.on_read = fake_read,
	.on_close = fake_close,
};

static void fake_accept(struct mio_listener *l, struct mio_conn *mc, const char *ip, int port,
			void *ctx)
{
	struct fake *f = ctx;
	struct fake_conn *c = xcalloc(1, sizeof(*c));

	(void)l, (void)ip, (void)port;
	c->f = f;
	c->mc = mc;
	c->sx = sx_new(SX_SERVER, NULL, &fake_sx_cb, c);
	sx_sasl_server(c->sx, f->sasl, "jabberd-router");
	f->conn = c;
	f->accepted++;
	mio_conn_setup(mc, &fake_mio_cb, c);
}

static void fake_start(struct fake *f, struct mio *mio)
{
	struct sx_sasl_config sc = {
		.mechs = SX_SASL_DIGEST_MD5,
		.allow_unencrypted = 1,
		.realm = "jabberd-router",
		.cb = &fake_sasl_cb,
	};
	struct mio_listen_settings ls = { .ip = "127.0.0.1" };
	const char *error;

	memset(f, 0, sizeof(*f));
	f->mio = mio;
	f->sasl = sx_sasl_ctx_new(&sc, &error);
	assert_non_null(f->sasl);
	f->l = mio_listen(mio, &ls, fake_accept, f, &error);
	assert_non_null(f->l);
	f->port = mio_listener_port(f->l);
}

static void fake_stop(struct fake *f)
{
	mio_listener_free(&f->l);
	sx_sasl_ctx_free(&f->sasl);
}

/* ---- the component under test ---- */

struct seen {
	int ready;
	int bound_ok, bound_err;
	char bound[256];                /* "name=code " per reply */
	int down, down_final;
	char down_reason[256];
	struct nad *last;               /* last element received */
	int elements;
};

static void t_ready(struct comp *comp, void *ctx)
{
	struct seen *s = ctx;

	(void)comp;
	s->ready++;
}

static void t_bound(struct comp *comp, const char *name, int error, void *ctx)
{
	struct seen *s = ctx;
	size_t n = strlen(s->bound);

	(void)comp;
	if (error == 0)
		s->bound_ok++;
	else
		s->bound_err++;
	snprintf(s->bound + n, sizeof(s->bound) - n, "%s=%d ", name, error);
}

static void t_element(struct comp *comp, struct nad *nad, void *ctx)
{
	struct seen *s = ctx;

	(void)comp;
	s->elements++;
	if (strcmp(nad_name(nad, 0), "route") != 0) {
		nad_free(&nad);
		return;
	}
	nad_free(&s->last);
	s->last = nad;
}

static void t_down(struct comp *comp, const char *reason, int final, void *ctx)
{
	struct seen *s = ctx;

	(void)comp;
	s->down++;
	s->down_final += final;
	snprintf(s->down_reason, sizeof(s->down_reason), "%s", reason);
}

static const struct comp_callbacks t_cb = {
	.ready = t_ready,
	.bound = t_bound,
	.element = t_element,
	.down = t_down,
};

static struct comp *t_comp(struct mio *mio, int port, const char *pass, int init,
			   struct seen *s)
{
	struct comp_settings set = {
		.ip = "127.0.0.1", .port = port, .user = "jabberd", .pass = pass,
		.retry_init = init, .retry_lost = 2, .retry_sleep = 1, .ident = "test",
	};
	const char *error = NULL;
	struct comp *comp;

	memset(s, 0, sizeof(*s));
	comp = comp_new(mio, &set, &t_cb, s, &error);
	assert_non_null(comp);
	return comp;
}

static int cond_bound2(void *arg)
{
	struct seen *s = arg;

	return s->bound_ok + s->bound_err >= 2;
}

static int cond_route(void *arg)
{
	return ((struct seen *)arg)->last != NULL;
}

static int cond_final(void *arg)
{
	return ((struct seen *)arg)->down_final > 0;
}

static int cond_rebound(void *arg)
{
	struct seen *s = arg;

	return s->ready >= 2 && s->bound_ok >= 2;
}

/* The whole happy path: auth, two binds in order (one multi), the
 * advertisement, and a route out and its bounce back in. */
/* A message routed to c2s, which the fake router does not know, comes
 * back bounced with 404. */
static void route_bounced(struct mio *mio, struct comp *comp, struct seen *s)
{
	struct nad *msg = nad_new();

	nad_elem_add(msg, nad_elem_add(msg, NAD_NONE, SX_NS_CLIENT, "message"), SX_NS_CLIENT,
		     "body");
	assert_int_equal(comp_route(comp, "c2s", "sm", msg, 0), 0);
	nad_free(&msg);
	assert_true(mio_test_run_until(mio, cond_route, s, 5000));
	assert_string_equal(nad_attr(s->last, 0, NULL, "error"), "404");
}

static void test_bind_and_route(void **state)
{
	const char *error;
	struct mio *mio = mio_new(&error);
	struct fake f;
	struct seen s;
	struct comp *comp;
	int p;

	(void)state;
	fake_start(&f, mio);
	comp = t_comp(mio, f.port, "s3cret", 1, &s);
	comp_bind(comp, "sm", NULL, 0);
	comp_bind(comp, "example.org", "to", 0);
	assert_int_equal(comp_send(comp, comp_route_new("x", "y", NULL)), -1);
	comp_start(comp);
	assert_true(mio_test_run_until(mio, cond_bound2, &s, 5000));
	assert_int_equal(f.auth_ok, 1);
	assert_int_equal(s.ready, 1);
	assert_string_equal(s.bound, "sm=0 example.org=0 ");
	assert_string_equal(f.binds, "sm example.org/to ");
	assert_true(comp_is_open(comp));

	route_bounced(mio, comp, &s);
	assert_string_equal(nad_attr(s.last, 0, NULL, "to"), "c2s");
	assert_string_equal(nad_attr(s.last, 0, NULL, "from"), "sm");
	p = comp_route_payload(s.last);
	assert_int_not_equal(p, NAD_NONE);
	assert_string_equal(nad_name(s.last, p), "message");
	assert_string_equal(nad_ns(s.last, p), SX_NS_CLIENT);
	assert_true(comp_name_available(comp, "c2s"));
	assert_false(comp_name_available(comp, "s2s"));

	nad_free(&s.last);
	comp_free(&comp);
	fake_stop(&f);
	mio_free(&mio);
}

/* A test's log file (test_log_open) and whether it says something. */
static char trim_log[64];

static void test_log_open(void)
{
	const char *error;
	int fd;

	snprintf(trim_log, sizeof(trim_log), "/tmp/test_comp_log.XXXXXX");
	assert_true((fd = mkstemp(trim_log)) >= 0);
	close(fd);
	assert_int_equal(log_open(LOG_TYPE_FILE, "test_comp", NULL, trim_log, &error), 0);
}

static void test_log_close(void)
{
	log_close();
	unlink(trim_log);
}

static int logged(const char *what)
{
	char text[8192];
	FILE *f = fopen(trim_log, "r");
	size_t n;

	if (f == NULL)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return strstr(text, what) != NULL;
}

static int cond_trim_logged(void *arg)
{
	(void)arg;
	return logged("link: 1 idle stream(s) trimmed");
}

/* The router link, once quiet for a whole sweep, gives back its parser
 * (the link layer logs the sweep at debug level), and still routes. */
static void test_idle_trim(void **state)
{
	const char *error;
	struct mio *mio = mio_new(&error);
	struct fake f;
	struct seen s;
	struct comp *comp;

	(void)state;
	test_log_open();
	log_set_debug(1);
	fake_start(&f, mio);
	comp = t_comp(mio, f.port, "s3cret", 1, &s);
	comp_bind(comp, "sm", NULL, 0);
	comp_bind(comp, "example.org", "to", 0);
	comp_start(comp);
	assert_true(mio_test_run_until(mio, cond_bound2, &s, 5000));
	assert_true(mio_test_run_until(mio, cond_trim_logged, NULL, 8000));
	route_bounced(mio, comp, &s);
	nad_free(&s.last);
	comp_free(&comp);
	fake_stop(&f);
	mio_free(&mio);
	log_set_debug(0);
	test_log_close();
}

static void test_bind_refused(void **state)
{
	const char *error;
	struct mio *mio = mio_new(&error);
	struct fake f;
	struct seen s;
	struct comp *comp;

	(void)state;
	fake_start(&f, mio);
	f.refuse = "taken.example";
	comp = t_comp(mio, f.port, "s3cret", 1, &s);
	comp_bind(comp, "sm", NULL, 0);
	comp_bind(comp, "taken.example", "to", 0);
	comp_start(comp);
	assert_true(mio_test_run_until(mio, cond_bound2, &s, 5000));
	assert_string_equal(s.bound, "sm=0 taken.example=409 ");
	comp_free(&comp);
	fake_stop(&f);
	mio_free(&mio);
}

/* Wrong password: the attempt fails, and with retry.init 1 that is final. */
static void test_bad_password(void **state)
{
	const char *error;
	struct mio *mio = mio_new(&error);
	struct fake f;
	struct seen s;
	struct comp *comp;

	(void)state;
	fake_start(&f, mio);
	comp = t_comp(mio, f.port, "wrong", 1, &s);
	comp_bind(comp, "sm", NULL, 0);
	comp_start(comp);
	assert_true(mio_test_run_until(mio, cond_final, &s, 5000));
	assert_int_equal(s.down, 1);
	assert_int_equal(s.ready, 0);
	assert_int_equal(f.auth_ok, 0);
	assert_non_null(strstr(s.down_reason, "authentication failed"));
	assert_false(comp_is_open(comp));
	comp_free(&comp);
	fake_stop(&f);
	mio_free(&mio);
}

/* The router drops the link: we come back, authenticate and bind again. */
static void test_reconnect(void **state)
{
	const char *error;
	struct mio *mio = mio_new(&error);
	struct fake f;
	struct seen s;
	struct comp *comp;

	(void)state;
	fake_start(&f, mio);
	comp = t_comp(mio, f.port, "s3cret", 1, &s);
	comp_bind(comp, "sm", NULL, 0);
	comp_start(comp);
	assert_true(mio_test_run_until(mio, cond_route, &s, 300) == 0);
	assert_int_equal(s.bound_ok, 1);
	assert_non_null(f.conn);
	mio_conn_close(f.conn->mc);
	assert_true(mio_test_run_until(mio, cond_rebound, &s, 5000));
	assert_int_equal(s.down, 1);
	assert_int_equal(s.down_final, 0);
	assert_int_equal(f.accepted, 2);
	assert_int_equal(f.auth_ok, 2);
	assert_string_equal(f.binds, "sm sm ");
	assert_true(comp_is_open(comp));
	comp_free(&comp);
	fake_stop(&f);
	mio_free(&mio);
}

/* Nobody listens: retry.init attempts, retry.sleep apart, then final. */
static void test_give_up(void **state)
{
	const char *error;
	struct mio *mio = mio_new(&error);
	struct seen s;
	struct comp *comp;
	uint64_t t0 = mio_test_now();

	(void)state;
	comp = t_comp(mio, mio_test_free_port("127.0.0.1"), "s3cret", 2, &s);
	comp_start(comp);
	assert_true(mio_test_run_until(mio, cond_final, &s, 5000));
	assert_int_equal(s.down, 2);
	assert_int_equal(s.down_final, 1);
	assert_true(mio_test_now() - t0 >= 900);
	comp_free(&comp);
	mio_free(&mio);
}

/* comp_close: orderly, no reconnect, final down. */
static void test_close(void **state)
{
	const char *error;
	struct mio *mio = mio_new(&error);
	struct fake f;
	struct seen s;
	struct comp *comp;

	(void)state;
	fake_start(&f, mio);
	comp = t_comp(mio, f.port, "s3cret", 1, &s);
	comp_bind(comp, "sm", NULL, 0);
	comp_start(comp);
	mio_test_run_until(mio, cond_route, &s, 300);
	assert_int_equal(s.bound_ok, 1);
	comp_close(comp);
	assert_true(mio_test_run_until(mio, cond_final, &s, 5000));
	assert_int_equal(s.down, 1);
	mio_test_run_until(mio, NULL, NULL, 1200);
	assert_int_equal(f.accepted, 1);
	comp_free(&comp);
	fake_stop(&f);
	mio_free(&mio);
}

/* Route building and the bounce loop guard, without a connection. */
static void test_route_build(void **state)
{
	struct nad *r = comp_route_new("c2s", "sm", "broadcast");
	char *s;

	(void)state;
	nad_attr_set(r, nad_elem_add(r, 0, SX_NS_CLIENT, "presence"), NULL, "type", "probe");
	s = nad_to_string(r, NULL);
	assert_string_equal(s, "<route xmlns='" COMP_NS "' to='c2s' from='sm' type='broadcast'>"
			    "<presence xmlns='jabber:client' type='probe'/></route>");
	free(s);
	assert_int_equal(comp_route_payload(r), 1);
	nad_free(&r);
	r = comp_route_new(NULL, "sm", NULL);
	assert_int_equal(comp_route_payload(r), NAD_NONE);
	nad_free(&r);
}

/* ---- comp/service.h: the link of a daemon that serves names ---- */

struct svc_seen {
	int opened, all_bound, lost, elements;
};

static void svc_element(void *ctx, struct nad *nad)
{
	((struct svc_seen *)ctx)->elements++;
	nad_free(&nad);
}

static void svc_opened(void *ctx)
{
	((struct svc_seen *)ctx)->opened++;
}

static void svc_all_bound(void *ctx)
{
	((struct svc_seen *)ctx)->all_bound++;
}

static void svc_lost(void *ctx)
{
	((struct svc_seen *)ctx)->lost++;
}

/* A service named "test" (retry.init 1, retry.lost 2, sleep 1 s), with
 * the log in a file; linked to the fake router (bind `refuse` refused),
 * or with refuse == NOROUTER to a port nobody listens on. */
struct svc_test {
	struct mio *mio;
	struct fake f;
	int have_router;
	struct config *cfg;
	struct comp_service svc;
	struct svc_seen seen;
};

static const char NOROUTER[] = "";

static void svc_setup(struct svc_test *t, const char *refuse)
{
	char xml[256];
	const char *error = NULL;
	int port;

	memset(t, 0, sizeof(*t));
	test_log_open();
	t->mio = mio_new(&error);
	assert_non_null(t->mio);
	t->have_router = refuse != NOROUTER;
	if (t->have_router) {
		fake_start(&t->f, t->mio);
		t->f.refuse = refuse;
		port = t->f.port;
	} else
		port = mio_test_free_port("127.0.0.1");
	snprintf(xml, sizeof(xml), "<test><router><ip>127.0.0.1</ip><port>%d</port>"
		 "<pass>s3cret</pass><retry><init>1</init><lost>2</lost><sleep>1</sleep>"
		 "</retry></router></test>", port);
	t->cfg = config_load_mem("test.xml", xml, strlen(xml), NULL, &error);
	assert_non_null(t->cfg);
	t->svc = (struct comp_service){
		.name = "test", .id = "svc-id", .ready = "ready for tests", .mio = t->mio,
		.ctx = &t->seen, .element = svc_element, .opened = svc_opened,
		.all_bound = svc_all_bound, .lost = svc_lost,
	};
	assert_int_equal(comp_service_link(&t->svc, t->cfg, &error), 0);
}

static void svc_teardown(struct svc_test *t)
{
	comp_free(&t->svc.comp);
	config_free(&t->cfg);
	if (t->have_router)
		fake_stop(&t->f);
	mio_free(&t->mio);
	test_log_close();
}

/* Run the loop for up to 5 s: 1 if the service stopped it before 4 s. */
static int svc_loop_stopped(struct svc_test *t)
{
	uint64_t t0 = mio_test_now();

	mio_test_run_until(t->mio, NULL, NULL, 5000);
	return mio_test_now() - t0 < 4000;
}

static int cond_all_bound1(void *arg)
{
	return ((struct svc_seen *)arg)->all_bound >= 1;
}

static int cond_all_bound2(void *arg)
{
	return ((struct svc_seen *)arg)->all_bound >= 2;
}

/* Ready (logged, all_bound) once every name is bound, after each
 * reconnect; what the router sends reaches element(); a lost link runs
 * lost(); comp_service_close() stops the loop without "giving up". */
static void test_service_ready_lost_close(void **state)
{
	struct svc_test t;
	struct nad *msg = nad_new();

	(void)state;
	svc_setup(&t, NULL);
	comp_service_bind(&t.svc, "svc-id", NULL);
	comp_service_bind(&t.svc, "example.org", "to");
	comp_start(t.svc.comp);
	assert_true(mio_test_run_until(t.mio, cond_all_bound1, &t.seen, 5000));
	assert_string_equal(t.f.binds, "svc-id example.org/to ");
	assert_int_equal(t.seen.opened, 1);
	assert_true(logged("test: svc-id ready for tests"));

	/* A route to c2s comes back bounced: the service is given it. */
	nad_elem_add(msg, NAD_NONE, SX_NS_CLIENT, "message");
	assert_int_equal(comp_route(t.svc.comp, "c2s", "svc-id", msg, 0), 0);
	nad_free(&msg);
	assert_true(mio_test_run_until(t.mio, NULL, NULL, 300) == 0);
	assert_true(t.seen.elements >= 1);

	mio_conn_close(t.f.conn->mc);
	assert_true(mio_test_run_until(t.mio, cond_all_bound2, &t.seen, 5000));
	assert_int_equal(t.seen.lost, 1);
	assert_int_equal(t.seen.opened, 2);
	assert_int_equal(t.svc.exit_code, 0);

	comp_service_close(&t.svc);
	assert_true(svc_loop_stopped(&t));
	assert_int_equal(t.seen.lost, 2);
	assert_int_equal(t.svc.exit_code, 0);
	assert_false(logged("giving up"));
	svc_teardown(&t);
}

/* A refused bind: logged with the name and code, exit code 1, the loop
 * stopped, never ready. */
static void test_service_bind_refused(void **state)
{
	struct svc_test t;

	(void)state;
	svc_setup(&t, "taken.example");
	comp_service_bind(&t.svc, "svc-id", NULL);
	comp_service_bind(&t.svc, "taken.example", NULL);
	comp_start(t.svc.comp);
	assert_true(svc_loop_stopped(&t));
	assert_int_equal(t.svc.exit_code, 1);
	assert_true(logged("test: cannot bind 'taken.example' at the router (error 409); "
			   "exiting"));
	assert_int_equal(t.seen.all_bound, 0);
	assert_false(logged("ready for tests"));
	svc_teardown(&t);
}

/* No router: after retry.init attempts the service gives up (logged) and
 * the loop stops, with exit code 0. */
static void test_service_gives_up(void **state)
{
	struct svc_test t;

	(void)state;
	svc_setup(&t, NOROUTER);
	comp_service_bind(&t.svc, "svc-id", NULL);
	comp_start(t.svc.comp);
	assert_true(svc_loop_stopped(&t));
	assert_int_equal(t.seen.lost, 1);
	assert_int_equal(t.seen.opened, 0);
	assert_int_equal(t.svc.exit_code, 0);
	assert_true(logged("test: giving up on the router ("));
	svc_teardown(&t);
}

static const struct {
	const char *xml;
	const char *ip, *user, *pass;
	int port, init, lost, sleep;
} settings_cases[] = {
	{ "<sm/>", "127.0.0.1", "jabberd", "secret", 5347, 3, 3, 2 },
	{ "<sm><router><ip>10.0.0.1</ip><port>5348</port><user>u</user><pass>p</pass>"
	  "<retry><init>-1</init><lost>5</lost><sleep>0</sleep></retry></router></sm>",
	  "10.0.0.1", "u", "p", 5348, -1, 5, 1 },
};

static void test_settings_load(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(settings_cases) / sizeof(settings_cases[0]); i++) {
		const char *error = NULL;
		struct config *cfg = config_load_mem("sm.xml", settings_cases[i].xml,
						     strlen(settings_cases[i].xml), NULL, &error);
		struct comp_settings set = { .ident = "sm" };

		assert_non_null(cfg);
		assert_int_equal(comp_settings_load(cfg, &set, &error), 0);
		assert_string_equal(set.ip, settings_cases[i].ip);
		assert_string_equal(set.user, settings_cases[i].user);
		assert_string_equal(set.pass, settings_cases[i].pass);
		assert_int_equal(set.port, settings_cases[i].port);
		assert_int_equal(set.retry_init, settings_cases[i].init);
		assert_int_equal(set.retry_lost, settings_cases[i].lost);
		assert_int_equal(set.retry_sleep, settings_cases[i].sleep);
		assert_string_equal(set.ident, "sm");
		assert_null(set.pemfile);
		config_free(&cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_and_route),
		cmocka_unit_test(test_idle_trim),
		cmocka_unit_test(test_bind_refused),
		cmocka_unit_test(test_bad_password),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_give_up),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_route_build),
		cmocka_unit_test(test_settings_load),
		cmocka_unit_test(test_service_ready_lost_close),
		cmocka_unit_test(test_service_bind_refused),
		cmocka_unit_test(test_service_gives_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
