/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * msglog.c: router.xml <message_logging>, jabberd2's flat-file log of the
 * chat messages the router carries (spec §9). One line per unicast route
 * whose payload is a <message> with a <body>, unless the route goes to a
 * name starting with "c2s" (the same message is logged on its way in):
 *
 *	2026-11-22T01:02:03+0000 ann@example.com/desk bob@example.com hello
 *
 * with newlines in the body written as byte 0x01 so each message stays on
 * one line. A new file starts with three '#' lines and is created with
 * mode 0600 (umask 077), since it holds private conversations.
 */
#include "config.h"
#include "router/router.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"

struct router_msglog {
	char *path;
	FILE *fp;
};

static FILE *msglog_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	struct stat st;
	FILE *fp;

	if (fd < 0)
		return NULL;
	if ((fp = fdopen(fd, "a")) == NULL) {
		close(fd);
		return NULL;
	}
	if (fstat(fd, &st) == 0 && st.st_size == 0)
		fputs("# jabberd message log\n"
		      "# fields: local time, sender JID, recipient JID, body\n"
		      "# newlines in bodies are written as the byte 0x01\n", fp);
	return fp;
}

struct router_msglog *router_msglog_new(const char *path, const char **error_r)
{
	struct router_msglog *m = xcalloc(1, sizeof(*m));

	m->path = xstrdup(path);
	if ((m->fp = msglog_open(path)) == NULL) {
		*error_r = "cannot open the message log";
		router_msglog_free(&m);
		return NULL;
	}
	return m;
}

void router_msglog_free(struct router_msglog **mp)
{
	struct router_msglog *m = *mp;

	if (m == NULL)
		return;
	if (m->fp != NULL)
		fclose(m->fp);
	free(m->path);
	free(m);
	*mp = NULL;
}

void router_msglog_reopen(struct router_msglog *m)
{
	if (m->fp != NULL)
		fclose(m->fp);
	if ((m->fp = msglog_open(m->path)) == NULL)
		log_warn("router: cannot reopen message log %s", m->path);
}

static struct jid *payload_jid(const struct nad *nad, int elem, const char *attr)
{
	const char *v = nad_attr(nad, elem, NULL, attr), *error;

	return v != NULL ? jid_new(v, strlen(v), &error) : NULL;
}

void router_msglog_route(struct router_msglog *m, const struct nad *nad)
{
	const char *to = nad_attr(nad, 0, NULL, "to");
	int msg = nad_child(nad, 0, NULL, "message"), body;
	struct jid *from = NULL, *rcpt = NULL;
	char stamp[64];
	time_t now = time(NULL);
	struct tm tm;
	const char *text;
	size_t len;

	if (m->fp == NULL || to == NULL || strncmp(to, "c2s", 3) == 0 || msg == NAD_NONE ||
	    (body = nad_child(nad, msg, NULL, "body")) == NAD_NONE)
		return;
	if ((from = payload_jid(nad, msg, "from")) == NULL ||
	    (rcpt = payload_jid(nad, msg, "to")) == NULL)
		goto out;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z", &tm);
	fprintf(m->fp, "%s %s %s ", stamp, jid_full(from), jid_full(rcpt));
	text = nad_text(nad, body, &len);
	for (size_t i = 0; i < len; i++)
		fputc(text[i] == '\n' ? 0x01 : text[i], m->fp);
	fputc('\n', m->fp);
	fflush(m->fp);
out:
	jid_free(&from);
	jid_free(&rcpt);
}
