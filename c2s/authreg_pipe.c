/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg_pipe.c: the `pipe` authreg backend, jabberd2's line protocol to
 * a program of the site's own (authreg.pipe.exec) that keeps the accounts.
 * The program is started once and talks on its stdin and stdout:
 *
 *	program: OK <capabilities>        first line, e.g. "OK USER-EXISTS
 *	                                  GET-PASSWORD CHECK-PASSWORD ..."
 *	c2s:     USER-EXISTS <user> <realm>
 *	         GET-PASSWORD <user> <realm>           -> OK <base64 password>
 *	         CHECK-PASSWORD <user> <base64 password> <realm>
 *	         SET-PASSWORD <user> <base64 password> <realm>
 *	         CREATE-USER <user> <realm>
 *	         DELETE-USER <user> <realm>
 *	         FREE                                  (c2s is stopping)
 *	program: OK [data] or NO, one line per command
 *
 * USER-EXISTS is required; a command the program did not announce is not
 * sent (the call fails as "no"). Passwords cross the pipe in clear, since
 * the program owns their storage: authreg.c stores nothing of its own
 * through this backend (no "$scram$" rows, no upgrade). Without
 * GET-PASSWORD no SCRAM or DIGEST-MD5 is possible, only PLAIN through
 * CHECK-PASSWORD.
 *
 * Every wait for the program is bounded (authreg.pipe.timeout seconds,
 * default 10) and every line it sends too (ARPIPE_LINE_MAX). A program
 * that hangs, dies, or answers garbage is killed and started again on the
 * next call, which fails meanwhile; no name or realm with spaces or
 * control characters is ever written, so a client cannot inject a command.
 */
#include "config.h"
#include "c2s/authreg.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"
#include "util/signals.h"

/* Longest line the program may send (a base64 password fits easily). */
#define ARPIPE_LINE_MAX 4096
#define ARPIPE_TIMEOUT_DEFAULT 10

enum {
	CAP_EXISTS = AUTHREG_PIPE_EXISTS,
	CAP_GET = 1 << 1,
	CAP_CHECK = 1 << 2,
	CAP_SET = 1 << 3,
	CAP_CREATE = 1 << 4,
	CAP_DELETE = 1 << 5,
	CAP_FREE = 1 << 6,
};

static const struct {
	const char *word;
	unsigned bit;
} arpipe_caps[] = {
	{ "USER-EXISTS", CAP_EXISTS }, { "GET-PASSWORD", CAP_GET },
	{ "CHECK-PASSWORD", CAP_CHECK }, { "SET-PASSWORD", CAP_SET },
	{ "CREATE-USER", CAP_CREATE }, { "DELETE-USER", CAP_DELETE },
	/* The sample program jabberd2 ships announces this name. */
	{ "DESTROY-USER", CAP_DELETE },
	{ "FREE", CAP_FREE },
};

unsigned authreg_pipe_caps(const char *line)
{
	char buf[ARPIPE_LINE_MAX + 1], *save = NULL, *w;
	unsigned caps = 0;

	if (strncmp(line, "OK", 2) != 0 || (line[2] != '\0' && line[2] != ' ') ||
	    strlen(line) > ARPIPE_LINE_MAX)
		return 0;
	snprintf(buf, sizeof(buf), "%s", line + 2);
	for (w = strtok_r(buf, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save))
		for (size_t i = 0; i < sizeof(arpipe_caps) / sizeof(arpipe_caps[0]); i++)
			if (strcmp(w, arpipe_caps[i].word) == 0)
				caps |= arpipe_caps[i].bit;
	return caps | AUTHREG_PIPE_STARTED;
}

int authreg_pipe_reply(const char *line, const char **data_r)
{
	*data_r = NULL;
	if (strcmp(line, "NO") == 0 || strncmp(line, "NO ", 3) == 0)
		return 1;
	if (strcmp(line, "OK") == 0 || strncmp(line, "OK ", 3) == 0) {
		if (line[2] == ' ')
			*data_r = line + 3;
		return 0;
	}
	return -1;
}

struct ar_pipe {
	char *exec;
	int timeout_ms;
	pid_t pid;
	int to_fd, from_fd;             /* our ends of its stdin and stdout */
	unsigned caps;
	char in[ARPIPE_LINE_MAX + 1];   /* bytes read, not yet a whole line */
	size_t inlen;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Stop the program: FREE if it can take it, then TERM, then KILL, each
 * waited for briefly, so c2s never hangs on it. */
static void arpipe_stop(struct ar_pipe *d, int polite)
{
	long long end;
	int status;

	if (d->pid <= 0)
		return;
	if (polite && (d->caps & CAP_FREE) && d->to_fd >= 0) {
		ssize_t w = write(d->to_fd, "FREE\n", 5);

		(void)w;
	}
	if (d->to_fd >= 0)
		close(d->to_fd);
	if (d->from_fd >= 0)
		close(d->from_fd);
	d->to_fd = d->from_fd = -1;
	for (int sig = 0; sig < 3; sig++) {
		if (sig == 1)
			kill(d->pid, SIGTERM);
		else if (sig == 2)
			kill(d->pid, SIGKILL);
		end = now_ms() + (sig == 2 ? 5000 : 500);
		while (now_ms() < end) {
			pid_t r = waitpid(d->pid, &status, WNOHANG);

			if (r == d->pid || (r < 0 && errno != EINTR))
				goto gone;
			poll(NULL, 0, 10);
		}
	}
gone:
	d->pid = -1;
	d->inlen = 0;
	d->caps = 0;
}

/* Read one line (without its newline) into `line`; 0, or -1 on timeout,
 * end of file, an overlong line, or a read error. */
static int arpipe_readline(struct ar_pipe *d, char *line, size_t size)
{
	long long end = now_ms() + d->timeout_ms;

	for (;;) {
		char *nl = memchr(d->in, '\n', d->inlen);
		struct pollfd pfd = { .fd = d->from_fd, .events = POLLIN };
		long long left;
		ssize_t n;

		if (nl != NULL) {
			size_t len = (size_t)(nl - d->in);

			if (len >= size)
				return -1;
			memcpy(line, d->in, len);
			line[len] = '\0';
			if (len > 0 && line[len - 1] == '\r')
				line[len - 1] = '\0';
			memmove(d->in, nl + 1, d->inlen - len - 1);
			d->inlen -= len + 1;
			return 0;
		}
		if (d->inlen >= ARPIPE_LINE_MAX) {
			log_error("c2s: authreg pipe: the program sent a line over %d bytes",
				  ARPIPE_LINE_MAX);
			return -1;
		}
		left = end - now_ms();
		if (left <= 0) {
			log_error("c2s: authreg pipe: no answer from %s within %d ms", d->exec,
				  d->timeout_ms);
			return -1;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -1;
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) == 0)
			continue;
		n = read(d->from_fd, d->in + d->inlen, ARPIPE_LINE_MAX - d->inlen);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			log_error("c2s: authreg pipe: %s closed its output", d->exec);
			return -1;
		}
		d->inlen += (size_t)n;
	}
}

static int arpipe_write(struct ar_pipe *d, const char *text)
{
	size_t len = strlen(text), done = 0;
	long long end = now_ms() + d->timeout_ms;

	while (done < len) {
		struct pollfd pfd = { .fd = d->to_fd, .events = POLLOUT };
		long long left = end - now_ms();
		ssize_t n;

		if (left <= 0 || (poll(&pfd, 1, (int)left) < 0 && errno != EINTR))
			return -1;
		if ((pfd.revents & (POLLOUT | POLLERR | POLLHUP)) == 0)
			continue;
		n = write(d->to_fd, text + done, len - done);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static int arpipe_start(struct ar_pipe *d)
{
	int in[2], out[2];
	char line[ARPIPE_LINE_MAX + 1];

	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	d->pid = fork();
	if (d->pid < 0) {
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if (d->pid == 0) {
		/* The child: the pipes on stdin and stdout, default signals,
		 * and none of c2s's descriptors (a restart happens while
		 * clients are connected: their sockets must not live on in
		 * the program). Signals c2s holds while it starts
		 * (util/signals.h) are not held in the program. */
		signal(SIGPIPE, SIG_DFL);
		signals_release();
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		if (close_range(3, ~0U, 0) < 0)
			for (int fd = 3; fd < 1024; fd++)
				close(fd);
		execl(d->exec, d->exec, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	d->to_fd = in[1];
	d->from_fd = out[0];
	fcntl(d->to_fd, F_SETFL, O_NONBLOCK);
	fcntl(d->from_fd, F_SETFL, O_NONBLOCK);
	d->inlen = 0;
	d->caps = 0;
	if (arpipe_readline(d, line, sizeof(line)) < 0 ||
	    (d->caps = authreg_pipe_caps(line)) == 0) {
		log_error("c2s: authreg pipe: %s did not start with an OK line", d->exec);
		arpipe_stop(d, 0);
		return -1;
	}
	if ((d->caps & CAP_EXISTS) == 0) {
		log_error("c2s: authreg pipe: %s does not offer USER-EXISTS", d->exec);
		arpipe_stop(d, 0);
		return -1;
	}
	log_info("c2s: authreg pipe: %s started (pid %ld)", d->exec, (long)d->pid);
	return 0;
}

static void ar_pipe_close(void **ctxp)
{
	struct ar_pipe *d = *ctxp;

	if (d == NULL)
		return;
	arpipe_stop(d, 1);
	free(d->exec);
	free(d);
	*ctxp = NULL;
}

static int ar_pipe_open(void **ctx_r, const struct config *cfg, const char **error_r)
{
	const char *exec = config_get(cfg, "authreg.pipe.exec");
	const char *timeout = config_get(cfg, "authreg.pipe.timeout");
	struct ar_pipe *d;

	if (exec == NULL || exec[0] == '\0') {
		*error_r = "authreg.pipe.exec is not set";
		return -1;
	}
	d = xcalloc(1, sizeof(*d));
	d->exec = xstrdup(exec);
	d->timeout_ms = 1000 * (timeout != NULL && atoi(timeout) > 0 ? atoi(timeout)
								: ARPIPE_TIMEOUT_DEFAULT);
	d->pid = -1;
	d->to_fd = d->from_fd = -1;
	*ctx_r = d;
	if (arpipe_start(d) < 0) {
		*error_r = "authreg pipe: the program did not start (see the log)";
		ar_pipe_close(ctx_r);
		return -1;
	}
	return 0;
}

/* A word that can go on the line as it is. */
static int arpipe_word_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

/* Send one command and read its answer: 0 for OK (the rest of the line,
 * if any, in *data_r, xmalloc'd), 1 for NO, -1 when the program failed
 * (it is stopped, and started again by the next call). */
static int arpipe_cmd(struct ar_pipe *d, unsigned cap, const char *cmd, const char *user,
		      const char *middle, const char *realm, char **data_r)
{
	char line[ARPIPE_LINE_MAX + 1], *text;
	const char *data;
	int rc;

	if (data_r != NULL)
		*data_r = NULL;
	if (!arpipe_word_ok(user) || (realm[0] != '\0' && !arpipe_word_ok(realm)))
		return 1;
	if (d->pid <= 0 && arpipe_start(d) < 0)
		return -1;
	if ((d->caps & cap) == 0)
		return 1;
	text = middle != NULL ? xasprintf("%s %s %s %s\n", cmd, user, middle, realm)
			      : xasprintf("%s %s %s\n", cmd, user, realm);
	rc = arpipe_write(d, text);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	if (rc < 0 || arpipe_readline(d, line, sizeof(line)) < 0) {
		arpipe_stop(d, 0);
		return -1;
	}
	rc = authreg_pipe_reply(line, &data);
	if (rc == 0 && data != NULL && data_r != NULL)
		*data_r = xstrdup(data);
	else if (rc < 0) {
		log_error("c2s: authreg pipe: %s answered %s with neither OK nor NO", d->exec, cmd);
		arpipe_stop(d, 0);
		rc = -1;
	}
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}

char *authreg_pipe_b64_encode(const char *s)
{
	size_t len = strlen(s);
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
	return out;
}

char *authreg_pipe_b64_decode(const char *s)
{
	size_t len = strlen(s), pad = 0;
	char *out;
	int n;

	if (len % 4 != 0)
		return NULL;
	out = xmalloc(len / 4 * 3 + 1);
	n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
	if (len >= 1 && s[len - 1] == '=')
		pad++;
	if (len >= 2 && s[len - 2] == '=')
		pad++;
	if (n < 0 || (size_t)n < pad || memchr(out, '\0', (size_t)n - pad) != NULL) {
		free(out);
		return NULL;
	}
	out[(size_t)n - pad] = '\0';
	return out;
}

static int ar_pipe_get(void *ctx, const char *user, const char *realm, char **stored_r)
{
	struct ar_pipe *d = ctx;
	char *data = NULL;
	int rc = arpipe_cmd(d, CAP_EXISTS, "USER-EXISTS", user, NULL, realm, NULL);

	*stored_r = NULL;
	if (rc != 0)
		return rc;
	/* The user exists; the password only if the program gives it. */
	rc = arpipe_cmd(d, CAP_GET, "GET-PASSWORD", user, NULL, realm, &data);
	if (rc < 0)
		return -1;
	if (rc == 0 && data != NULL) {
		*stored_r = authreg_pipe_b64_decode(data);
		if (*stored_r == NULL)
			log_warnx("c2s: authreg pipe: GET-PASSWORD for %s: not base64", user);
	}
	if (data != NULL) {
		OPENSSL_cleanse(data, strlen(data));
		free(data);
	}
	return 0;
}

static int ar_pipe_check(void *ctx, const char *user, const char *realm, const char *password)
{
	char *b64 = authreg_pipe_b64_encode(password);
	int rc = arpipe_cmd(ctx, CAP_CHECK, "CHECK-PASSWORD", user, b64, realm, NULL);

	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
	return rc < 0 ? -1 : rc == 0;
}

static int ar_pipe_set(void *ctx, const char *user, const char *realm, const char *stored)
{
	char *b64 = authreg_pipe_b64_encode(stored);
	int rc = arpipe_cmd(ctx, CAP_SET, "SET-PASSWORD", user, b64, realm, NULL);

	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
	return rc;
}

static int ar_pipe_create(void *ctx, const char *user, const char *realm)
{
	int rc = arpipe_cmd(ctx, CAP_EXISTS, "USER-EXISTS", user, NULL, realm, NULL);

	if (rc != 1)
		return rc == 0 ? 1 : -1;
	rc = arpipe_cmd(ctx, CAP_CREATE, "CREATE-USER", user, NULL, realm, NULL);
	return rc == 0 ? 0 : -1;
}

static int ar_pipe_remove(void *ctx, const char *user, const char *realm)
{
	return arpipe_cmd(ctx, CAP_DELETE, "DELETE-USER", user, NULL, realm, NULL);
}

const struct authreg_backend authreg_backend_pipe = {
	.name = "pipe",
	.plaintext_only = 1,
	.open = ar_pipe_open,
	.close = ar_pipe_close,
	.get = ar_pipe_get,
	.check = ar_pipe_check,
	.set = ar_pipe_set,
	.create = ar_pipe_create,
	.remove = ar_pipe_remove,
};
