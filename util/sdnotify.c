/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sdnotify: the daemons' messages to systemd (util/sdnotify.h). One place
 * holds the libsystemd calls, so a build without libsystemd only loses
 * this file's bodies.
 */
#include "config.h"
#include "util/sdnotify.h"

#include <stdint.h>
#include <stdio.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

static int sdnotify_sent_ready;

static void sdnotify_send(const char *state)
{
#ifdef HAVE_SYSTEMD
	/* unset_environment=0: later messages (watchdog, reload, stop) need
	 * NOTIFY_SOCKET and WATCHDOG_USEC. A child (the pipe authreg's
	 * program) inherits them; the units' NotifyAccess=main makes
	 * systemd ignore anything it might send. */
	(void)sd_notify(0, state);
#else
	(void)state;
#endif
}

void sdnotify_ready(const char *status)
{
	char buf[256];

	if (status == NULL)
		status = "serving";
	snprintf(buf, sizeof(buf), "%sSTATUS=%s", sdnotify_sent_ready ? "" : "READY=1\n",
		 status);
	sdnotify_sent_ready = 1;
	sdnotify_send(buf);
}

void sdnotify_stopping(void)
{
	sdnotify_send("STOPPING=1\nSTATUS=shutting down");
}

void sdnotify_reloading(void)
{
	sdnotify_send("RELOADING=1\nSTATUS=reloading");
}

void sdnotify_reloaded(void)
{
	sdnotify_send("READY=1\nSTATUS=serving");
}

void sdnotify_watchdog(void)
{
	sdnotify_send("WATCHDOG=1");
}

void sdnotify_watchdog_timer(struct mio_timer *timer, void *ctx)
{
	(void)timer, (void)ctx;
	sdnotify_watchdog();
}

unsigned sdnotify_watchdog_ms(void)
{
#ifdef HAVE_SYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	/* Half the period, as sd_watchdog_enabled(3) advises; at least 1 ms. */
	usec /= 2 * 1000;
	return usec > 0 ? (unsigned)(usec < UINT32_MAX ? usec : UINT32_MAX) : 1;
#else
	return 0;
#endif
}
