/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * datetime.c: XEP-0082 date-times, which more than one module reads
 * (mod_vacation's settings, mod_amp's expire-at). Kept out of both, so
 * that neither calls into the other.
 */
#include "config.h"
#include "sm/datetime.h"

#include <string.h>
#include <time.h>

static int digits2(const char *p, int *v)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return 0;
	*v = (p[0] - '0') * 10 + (p[1] - '0');
	return 1;
}

time_t datetime_parse(const char *s, size_t len)
{
	char buf[40], *p;
	struct tm tm = { 0 };
	time_t t;
	int sign, hh, mm;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if ((p = strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	t = timegm(&tm);
	if (strcmp(p, "Z") == 0)
		return t;
	if ((*p != '+' && *p != '-') || strlen(p) != 6 || p[3] != ':' ||
	    !digits2(p + 1, &hh) || !digits2(p + 4, &mm) || hh > 23 || mm > 59)
		return -1;
	sign = *p == '+' ? 1 : -1;
	return t - sign * (hh * 3600 + mm * 60);
}

