/*
 * Months and Asia/Seoul time: the calendar (proleptic Gregorian), the UTC+9
 * offset (Korea has no daylight saving time), "YYYY-MM" months, their
 * bounds, the month before or after, and the due-date rule.  Everything
 * else asks here; nothing else adds 9 hours (see month_private.h).
 */
#include <ctype.h>
#include <time.h>
#include "internal.h"

/* ---- the calendar ---- */

int64_t bl__floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Days since 1970-01-01 of a date (H. Hinnant's algorithm). */
int64_t bl__days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int bl__days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m < 1 || m > 12)
		return 0;
	return m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : dm[m - 1];
}

/* ---- Asia/Seoul time ---- */

void bl__seoul_time(int64_t unix_secs, struct tm *out)
{
	time_t t = (time_t)(unix_secs + BL__SEOUL_OFFSET_S);
	gmtime_r(&t, out);
}

int64_t bl__seoul_day_start_ms(int64_t unix_ms)
{
	const int64_t day_ms = 86400 * 1000LL, off_ms = BL__SEOUL_OFFSET_S * 1000LL;
	return bl__floor_div(unix_ms + off_ms, day_ms) * day_ms - off_ms;
}

void bl__seoul_datetime(int64_t unix_ms, char out[32])
{
	int64_t s = bl__floor_div(unix_ms, 1000);
	int ms = (int)(unix_ms - s * 1000);
	struct tm t;
	bl__seoul_time(s, &t);
	snprintf(out, 32, "%04u-%02u-%02u %02u:%02u:%02u.%03u", (unsigned)(t.tm_year + 1900) % 10000u,
		 (unsigned)(t.tm_mon + 1) % 100u, (unsigned)t.tm_mday % 100u, (unsigned)t.tm_hour % 100u,
		 (unsigned)t.tm_min % 100u, (unsigned)t.tm_sec % 100u, (unsigned)ms % 1000u);
}

int bl_clock_format(int64_t unix_us, char *out, size_t cap)
{
	if (!out || cap < 20)
		return bl__fail(BL_EINVAL, "bl_clock_format: the buffer needs 20 bytes");
	char dt[32];
	bl__seoul_datetime(bl__floor_div(unix_us, 1000), dt);
	snprintf(out, cap, "%.19s", dt);
	return BL_OK;
}

int bl_clock_parse(const char *s, int64_t *unix_us)
{
	if (!s || !unix_us)
		return bl__fail(BL_EINVAL, "bl_clock_parse: %s is NULL", s ? "unix_us" : "text");
	*unix_us = 0;
	/* YYYY-MM-DD?HH:MM[:SS[.f{1,6}]] */
	size_t len = strnlen(s, 64);
	bool shape = len == 16 || len == 19 || (len >= 21 && len <= 26 && s[19] == '.');
	for (size_t i = 0; shape && i < len; i++) {
		char c = s[i];
		switch (i) {
		case 4: case 7: shape = c == '-'; break;
		case 10: shape = c == ' ' || c == 'T'; break;
		case 13: case 16: shape = c == ':'; break;
		case 19: break;
		default: shape = isdigit((unsigned char)c);
		}
	}
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
	if (shape) {
		y = atoi(s);
		mo = atoi(s + 5);
		d = atoi(s + 8);
		h = atoi(s + 11);
		mi = atoi(s + 14);
		sec = len >= 19 ? atoi(s + 17) : 0;
	}
	if (!shape || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > bl__days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 59)
		return bl__fail(BL_EINVAL, "time '%.64s': expected YYYY-MM-DD HH:MM[:SS[.ffffff]] (Asia/Seoul)",
				s);
	int64_t frac = 0;
	for (size_t i = 20, scale = 100000; i < len; i++, scale /= 10)
		frac += (s[i] - '0') * (int64_t)scale;
	*unix_us = ((bl__days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - BL__SEOUL_OFFSET_S) *
			   1000000 +
		   frac;
	return BL_OK;
}

/* ---- months ---- */

int bl__month_read(const char *month, bl__month *out)
{
	*out = (bl__month){ 0, 0 };
	if (!month)
		return bl__fail(BL_EINVAL, "month is NULL (expected YYYY-MM)");
	if (strnlen(month, 8) != 7 || month[4] != '-')
		return bl__fail(BL_EINVAL, "month '%.20s': expected YYYY-MM", month);
	for (int i = 0; i < 7; i++)
		if (i != 4 && (month[i] < '0' || month[i] > '9'))
			return bl__fail(BL_EINVAL, "month '%s': expected YYYY-MM", month);
	int y = atoi(month), m = atoi(month + 5);
	if (m < 1 || m > 12)
		return bl__fail(BL_EINVAL, "month '%s': the month must be 01-12", month);
	if (y < 2000 || y > 2999)
		return bl__fail(BL_EINVAL, "month '%s': the year must be 2000-2999", month);
	*out = (bl__month){ y, m };
	return BL_OK;
}

int bl_month_parse(const char *month, int *year, int *mon)
{
	bl__month m;
	int rc = bl__month_read(month, &m);
	if (rc)
		return rc;
	if (year)
		*year = m.year;
	if (mon)
		*mon = m.mon;
	return BL_OK;
}

bl__month bl__month_add(bl__month m, int add)
{
	int64_t n = (int64_t)m.year * 12 + (m.mon - 1) + add, y = bl__floor_div(n, 12);
	return (bl__month){ (int)y, (int)(n - y * 12) + 1 };
}

void bl__month_text(bl__month m, char out[8])
{
	snprintf(out, 8, "%04u-%02u", (unsigned)m.year % 10000u, (unsigned)m.mon % 100u);
}

void bl__month_bounds(bl__month m, char from[32], char to[32])
{
	bl__month next = bl__month_add(m, 1);
	snprintf(from, 32, "%04u-%02u-01 00:00:00", (unsigned)m.year % 10000u, (unsigned)m.mon % 100u);
	snprintf(to, 32, "%04u-%02u-01 00:00:00", (unsigned)next.year % 10000u, (unsigned)next.mon % 100u);
}

bl__date bl__month_due(bl__month m, int due_day)
{
	bl__month next = bl__month_add(m, 1);
	return (bl__date){ next.year, next.mon, due_day };
}

bl__month bl__month_of(int64_t unix_s)
{
	struct tm t;
	bl__seoul_time(unix_s, &t);
	return (bl__month){ t.tm_year + 1900, t.tm_mon + 1 };
}

int bl_month_add(const char *month, int add_months, char out[8])
{
	if (!out)
		return bl__fail(BL_EINVAL, "bl_month_add: out is NULL");
	out[0] = '\0';
	bl__month m;
	int rc = bl__month_read(month, &m);
	if (rc)
		return rc;
	if (add_months < -12000 || add_months > 12000)
		return bl__fail(BL_EINVAL, "bl_month_add: %d months is out of range", add_months);
	bl__month r = bl__month_add(m, add_months);
	if (r.year < 2000 || r.year > 2999)
		return bl__fail(BL_EINVAL, "bl_month_add: %s %+d months leaves 2000-01 .. 2999-12", month,
				add_months);
	bl__month_text(r, out);
	return BL_OK;
}

int bl_clock_month(int64_t unix_us, int add_months, char out[8])
{
	if (!out)
		return bl__fail(BL_EINVAL, "bl_clock_month: out is NULL");
	out[0] = '\0';
	if (add_months < -120000 || add_months > 120000)
		return bl__fail(BL_EINVAL, "bl_clock_month: %d months is out of range", add_months);
	bl__month m = bl__month_add(bl__month_of(bl__floor_div(unix_us, 1000000)), add_months);
	if (m.year < 1 || m.year > 9999)
		return bl__fail(BL_EINVAL, "bl_clock_month: year %d is out of range", m.year);
	bl__month_text(m, out);
	return BL_OK;
}
