/*
 * Months and Asia/Seoul time (month.c): the one place that knows the
 * calendar, the UTC+9 offset, the month bounds and the due-date rule.
 * Public parts: bl_month_parse (statement.h), bl_month_add, bl_clock_month,
 * bl_clock_format and bl_clock_parse (clock.h).
 */
#ifndef BL_MONTH_PRIVATE_H
#define BL_MONTH_PRIVATE_H

#include <stdint.h>

/* Korea has no daylight saving time: Asia/Seoul is always UTC+9. */
#define BL__SEOUL_OFFSET_S (9 * 3600)

/* A month, validated: year 2000..2999, mon 1..12 (bl_month_parse's range). */
typedef struct {
	int year, mon;
} bl__month;

/* A calendar date. */
typedef struct {
	int year, mon, day;
} bl__date;

/* "YYYY-MM" → *out (bl_month_parse's checks and messages). */
BL_PRIVATE int bl__month_read(const char *text, bl__month *out);
/* m moved by `add` months (any sign; Dec + 1 = Jan of the next year). */
BL_PRIVATE bl__month bl__month_add(bl__month m, int add);
/* "YYYY-MM" into out[8]. */
BL_PRIVATE void bl__month_text(bl__month m, char out[8]);
/* The first second of m and of the month after it, as Asia/Seoul DATETIME
 * strings ("YYYY-MM-01 00:00:00"): the half-open range [from, to). */
BL_PRIVATE void bl__month_bounds(bl__month m, char from[32], char to[32]);
/* The due-date rule: statements of month m are due on `due_day` (1..28) of
 * the following month. */
BL_PRIVATE bl__date bl__month_due(bl__month m, int due_day);
/* The Asia/Seoul month `unix_s` falls in. */
BL_PRIVATE bl__month bl__month_of(int64_t unix_s);

/* Days since 1970-01-01 of a proleptic Gregorian date; days of a month
 * (0 when m is not 1..12). */
BL_PRIVATE int64_t bl__days_from_civil(int64_t y, int m, int d);
BL_PRIVATE int bl__days_in_month(int y, int m);
/* Unix milliseconds → Asia/Seoul DATETIME(3) text "YYYY-MM-DD HH:MM:SS.mmm". */
BL_PRIVATE void bl__seoul_datetime(int64_t unix_ms, char out[32]);
/* Asia/Seoul wall clock broken down. */
struct tm;
BL_PRIVATE void bl__seoul_time(int64_t unix_secs, struct tm *out);
/* Unix ms of the Asia/Seoul midnight that starts the day of unix_ms. */
BL_PRIVATE int64_t bl__seoul_day_start_ms(int64_t unix_ms);
/* floor(a / b) for b > 0. */
BL_PRIVATE int64_t bl__floor_div(int64_t a, int64_t b);

#endif
