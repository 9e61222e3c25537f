// SPDX-License-Identifier: MIT
/*
 * vm/prim_date.c: what the Date, Time and DateTime classes
 * (st/kernel/25-Date.st) need from the OS: the wall clock counted from
 * 1 January 1901 (the epoch of gst's dates), the local time zone's offset
 * from UTC at a given instant, and the zone's name. Everything else about
 * dates (calendar arithmetic, parsing, printing) is Smalltalk.
 */
#include <time.h>

#include "vm/prim.h"

/* seconds from 1901-01-01T00:00Z to 1970-01-01T00:00Z: 25202 days */
#define EPOCH_1901 2177452800LL

/* Time utcSecondClock: seconds since 1901-01-01 00:00 UTC */
PRIM(dateUtcClock)
{
	(void)vm;
	args[0] = obj_from_int((intptr_t)((long long)time(NULL) + EPOCH_1901));
	return PRIM_OK;
}

/* Time timezoneBias: utcSeconds1901 (nil: now): the local zone's offset
 * from UTC at that instant, in seconds (east of Greenwich positive). An
 * instant the C library cannot represent answers 0. */
PRIM(dateBias)
{
	time_t t;
	if (args[1] == vm->nil)
		t = time(NULL);
	else if (obj_is_int(args[1]))
		t = (time_t)((long long)obj_int(args[1]) - EPOCH_1901);
	else
		return PRIM_FAIL;
	struct tm tm;
	if (!localtime_r(&t, &tm)) {
		args[0] = obj_from_int(0);
		return PRIM_OK;
	}
	args[0] = obj_from_int((intptr_t)tm.tm_gmtoff);
	return PRIM_OK;
}

/* Time timezone: the abbreviation of the local zone now (e.g. 'CET'),
 * possibly empty */
PRIM(dateZoneName)
{
	time_t t = time(NULL);
	struct tm tm;
	const char *z = "";
	if (localtime_r(&t, &tm) && tm.tm_zone)
		z = tm.tm_zone;
	oop s = prim_string(vm, z);
	if (!s)
		return PRIM_OOM;
	args[0] = s;
	return PRIM_OK;
}
