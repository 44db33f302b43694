/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * datetime.h: XEP-0082 date-times for the sm's modules (datetime.c).
 */
#ifndef SM_DATETIME_H
#define SM_DATETIME_H

#include <stddef.h>
#include <time.h>

/* An XEP-0082 DateTime (CCYY-MM-DDThh:mm:ss[.sss](Z|+hh:mm|-hh:mm)) of
 * len bytes (not NUL-terminated) to Unix time; -1 if it is not one. */
time_t datetime_parse(const char *s, size_t len);

#endif
