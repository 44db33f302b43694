/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * signals.c: holding a daemon's control signals during start-up
 * (util/signals.h).
 */
#include "config.h"
#include "util/signals.h"

#include <signal.h>
#include <stddef.h>

static void signals_mask(int how)
{
	static const int held[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 };
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < sizeof(held) / sizeof(held[0]); i++)
		sigaddset(&set, held[i]);
	sigprocmask(how, &set, NULL);
}

void signals_hold(void)
{
	signals_mask(SIG_BLOCK);
}

void signals_release(void)
{
	signals_mask(SIG_UNBLOCK);
}
