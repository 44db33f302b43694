/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_signals.c: a control signal sent while a daemon starts up waits,
 * held, and reaches the handler installed later (util/signals.h).
 */
#include "config.h"
#include "util/signals.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static volatile sig_atomic_t got[NSIG];

static void on_signal(int signo)
{
	got[signo]++;
}

static void handle(int signo)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(signo, &sa, NULL), 0);
}

/* SIGTERM while held: the default action (death) does not happen, the
 * handler installed afterwards gets it once, at release. */
static void test_held_until_released(void **state)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 };
	size_t i;

	(void)state;
	signals_hold();
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		assert_int_equal(signal(sigs[i], SIG_DFL) == SIG_ERR, 0);
		assert_int_equal(kill(getpid(), sigs[i]), 0);
	}
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		assert_int_equal(got[sigs[i]], 0);
		handle(sigs[i]);
	}
	signals_release();
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		assert_int_equal(got[sigs[i]], 1);
}

/* After release, signals arrive at once again. */
static void test_released_delivers_at_once(void **state)
{
	(void)state;
	handle(SIGHUP);
	got[SIGHUP] = 0;
	signals_hold();
	signals_release();
	assert_int_equal(kill(getpid(), SIGHUP), 0);
	assert_int_equal(got[SIGHUP], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_held_until_released),
		cmocka_unit_test(test_released_delivers_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
