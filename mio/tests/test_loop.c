/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for mio/mio.c: the loop, timers (one-shot, periodic, restart,
 * cancel, freed from their own callback or after the loop) and signals
 * delivered as loop callbacks, with SIGPIPE ignored.
 */
#include "config.h"
#include "mio/mio.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct fired {
	struct mio *mio;
	int count;
	int stop_after;         /* mio_stop at this count (0 = never) */
	int free_self;          /* mio_timer_free from the callback */
	int stop_self_after;    /* mio_timer_stop at this count */
	uint64_t first_ms;
	struct mio_timer *self;
};

static void on_fire(struct mio_timer *t, void *ctx)
{
	struct fired *f = ctx;

	if (f->count++ == 0)
		f->first_ms = now_ms();
	if (f->stop_self_after != 0 && f->count == f->stop_self_after)
		mio_timer_stop(t);
	if (f->free_self)
		mio_timer_free(&f->self);
	if (f->stop_after != 0 && f->count == f->stop_after)
		mio_stop(f->mio);
}

static void on_stop(struct mio_timer *t, void *ctx)
{
	mio_stop(ctx);
}

static struct mio *new_mio(void)
{
	const char *error = NULL;
	struct mio *mio = mio_new(&error);

	if (mio == NULL)
		fail_msg("mio_new: %s", error);
	return mio;
}

/* Run the loop until mio_stop; a guard timer bounds it at max_ms. */
static void run_bounded(struct mio *mio, unsigned int max_ms)
{
	struct mio_timer *guard = mio_timer_new(mio, on_stop, mio);
	const char *error;

	mio_timer_start(guard, max_ms, 0);
	assert_int_equal(mio_run(mio, &error), 0);
	mio_timer_free(&guard);
}

static void test_oneshot(void **state)
{
	struct mio *mio = new_mio();
	struct fired f = { .mio = mio, .stop_after = 1 };
	struct mio_timer *t = mio_timer_new(mio, on_fire, &f);
	uint64_t start = now_ms();

	assert_false(mio_timer_pending(t));
	mio_timer_start(t, 50, 0);
	assert_true(mio_timer_pending(t));
	run_bounded(mio, 250);
	assert_int_equal(f.count, 1);
	assert_true(f.first_ms - start >= 40);     /* coarse clock slack */
	assert_false(mio_timer_pending(t));
	mio_timer_free(&t);
	assert_null(t);
	mio_free(&mio);
	assert_null(mio);
}

static void test_periodic(void **state)
{
	struct mio *mio = new_mio();
	struct fired f = { .mio = mio, .stop_self_after = 5 };
	struct mio_timer *t = mio_timer_new(mio, on_fire, &f);
	uint64_t start = now_ms();

	mio_timer_start(t, 10, 1);
	run_bounded(mio, 300);
	/* Stopped from its own callback at the fifth tick, never again. */
	assert_int_equal(f.count, 5);
	assert_false(mio_timer_pending(t));
	assert_true(now_ms() - start >= 40);
	mio_timer_free(&t);
	mio_free(&mio);
}

static void test_restart_and_cancel(void **state)
{
	struct mio *mio = new_mio();
	struct fired a = { .mio = mio }, b = { .mio = mio };
	struct mio_timer *ta = mio_timer_new(mio, on_fire, &a);
	struct mio_timer *tb = mio_timer_new(mio, on_fire, &b);
	uint64_t start = now_ms();

	mio_timer_start(ta, 1000, 0);
	mio_timer_start(ta, 20, 0);     /* restarting shortens it */
	mio_timer_start(tb, 30, 0);
	mio_timer_stop(tb);             /* cancelled: never fires */
	mio_timer_stop(tb);             /* harmless twice */
	run_bounded(mio, 150);
	assert_int_equal(a.count, 1);
	assert_true(a.first_ms - start < 500);
	assert_int_equal(b.count, 0);
	mio_timer_free(&ta);
	mio_timer_free(&tb);
	mio_free(&mio);
}

/* Freeing a periodic timer inside its callback (ASan watches). */
static void test_free_in_callback(void **state)
{
	struct mio *mio = new_mio();
	struct fired f = { .mio = mio, .free_self = 1 };

	f.self = mio_timer_new(mio, on_fire, &f);
	mio_timer_start(f.self, 5, 1);
	run_bounded(mio, 100);
	assert_int_equal(f.count, 1);
	assert_null(f.self);
	mio_free(&mio);
}

/* A timer the owner still holds when the loop goes away is inert. */
static void test_timer_outlives_loop(void **state)
{
	struct mio *mio = new_mio();
	struct fired f = { .mio = mio };
	struct mio_timer *t = mio_timer_new(mio, on_fire, &f);

	mio_timer_start(t, 10, 1);
	mio_free(&mio);
	assert_false(mio_timer_pending(t));
	mio_timer_start(t, 10, 0);      /* ignored */
	mio_timer_stop(t);
	mio_timer_free(&t);
	assert_int_equal(f.count, 0);
}

struct sigs {
	struct mio *mio;
	int got[4];
	int n;
};

static void on_signal(int signo, void *ctx)
{
	struct sigs *s = ctx;

	if (s->n < 4)
		s->got[s->n++] = signo;
	if (s->n == 4)
		mio_stop(s->mio);
}

static void raise_signals(struct mio_timer *t, void *ctx)
{
	raise(SIGHUP);
	raise(SIGUSR1);
	raise(SIGUSR2);
	raise(SIGTERM);
}

static int contains(const int *v, int n, int x)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

static void test_signals(void **state)
{
	struct mio *mio = new_mio();
	struct sigs s = { .mio = mio };
	struct mio_timer *t = mio_timer_new(mio, raise_signals, NULL);
	static const int signos[] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGUSR2 };
	struct sigaction sa;
	const char *error;
	size_t i;

	/* SIGPIPE must not kill a daemon whose peer went away. */
	assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_IGN);
	for (i = 0; i < sizeof(signos) / sizeof(signos[0]); i++)
		assert_int_equal(mio_signal(mio, signos[i], on_signal, &s, &error), 0);
	/* Registering again replaces, it does not add. */
	assert_int_equal(mio_signal(mio, SIGHUP, on_signal, &s, &error), 0);
	mio_timer_start(t, 5, 0);
	run_bounded(mio, 1000);
	assert_int_equal(s.n, 4);
	assert_true(contains(s.got, 4, SIGHUP));
	assert_true(contains(s.got, 4, SIGUSR1));
	assert_true(contains(s.got, 4, SIGUSR2));
	assert_true(contains(s.got, 4, SIGTERM));
	mio_timer_free(&t);
	mio_free(&mio);
	/* The process is still here: raise() did not run the default action. */
}

/* mio_run returns when nothing is left to wait for. */
static void test_run_empty(void **state)
{
	struct mio *mio = new_mio();
	const char *error;

	assert_int_equal(mio_run(mio, &error), 0);
	mio_free(&mio);
	mio_free(&mio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oneshot),
		cmocka_unit_test(test_periodic),
		cmocka_unit_test(test_restart_and_cancel),
		cmocka_unit_test(test_free_in_callback),
		cmocka_unit_test(test_timer_outlives_loop),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_run_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
