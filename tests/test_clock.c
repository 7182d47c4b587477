/*
 * The library's clock (include/billing/clock.h): the calendar helpers, and
 * against the real MariaDB that the database follows the context's clock —
 * NOW(), column defaults, batch partitions on their own connections,
 * session expiry, the monthly schedule — whatever the real date is and
 * whatever the database server's own clock says.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "testutil.h"

#define US 1000000LL

static int64_t at(int y, int mo, int d, int h, int mi, int s) { return tu_seoul(y, mo, d, h, mi, s) * US; }

static void month_is(int64_t us, int add, const char *want)
{
	char m[8];
	cr_assert_eq(bl_clock_month(us, add, m), BL_OK, "%s", bl_error_last());
	cr_assert_str_eq(m, want, "month %+d of %lld", add, (long long)us);
}

Test(clock, months_are_seoul_months)
{
	/* 2027-01-01 00:30 in Seoul is still 2026-12-31 in UTC */
	int64_t ny = at(2027, 1, 1, 0, 30, 0);
	month_is(ny, 0, "2027-01");
	month_is(ny, -1, "2026-12");
	month_is(ny - 31 * 60 * US, 0, "2026-12"); /* 2026-12-31 23:59 KST */
	/* the last second of a month and the first of the next */
	month_is(at(2027, 1, 31, 23, 59, 59), -1, "2026-12");
	month_is(at(2027, 2, 1, 0, 0, 0), -1, "2027-01");
	month_is(at(2028, 2, 29, 10, 0, 0), 0, "2028-02");
	month_is(at(2028, 2, 29, 10, 0, 0), 12, "2029-02");
	month_is(at(2027, 3, 1, 2, 0, 0), -14, "2026-01");
	char m[8];
	cr_assert_eq(bl_clock_month(0, -100000, m), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "out of range"), "%s", bl_error_last());
}

Test(clock, format_and_parse_round_trip)
{
	char s[32];
	cr_assert_eq(bl_clock_format(at(2028, 2, 29, 10, 0, 0), s, sizeof s), BL_OK);
	cr_assert_str_eq(s, "2028-02-29 10:00:00");
	cr_assert_eq(bl_clock_format(at(2027, 12, 31, 23, 59, 58) + 999999, s, sizeof s), BL_OK);
	cr_assert_str_eq(s, "2027-12-31 23:59:58");
	cr_assert_eq(bl_clock_format(0, s, 19), BL_EINVAL);
	int64_t us = 0;
	cr_assert_eq(bl_clock_parse("2028-02-29 10:00", &us), BL_OK, "%s", bl_error_last());
	cr_assert_eq(us, at(2028, 2, 29, 10, 0, 0));
	cr_assert_eq(bl_clock_parse("2027-01-31T23:59:58.5", &us), BL_OK, "%s", bl_error_last());
	cr_assert_eq(us, at(2027, 1, 31, 23, 59, 58) + 500000);
	cr_assert_eq(bl_clock_parse("2027-01-31 23:59:58.123456", &us), BL_OK, "%s", bl_error_last());
	cr_assert_eq(us, at(2027, 1, 31, 23, 59, 58) + 123456);
	const char *bad[] = { "2027-02-29 10:00", "2027-13-01 00:00", "2027-01-01 24:00", "2027-1-1 10:00",
			      "2027-01-01 10:00:00.", "2027-01-01 10:00:00.1234567", "", "now" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		cr_assert_eq(bl_clock_parse(bad[i], &us), BL_EINVAL, "'%s' accepted", bad[i]);
		cr_assert(strstr(bl_error_last(), "YYYY-MM-DD"), "%s", bl_error_last());
	}
}

static int64_t fake_now(void *payload) { return *(const int64_t *)payload; }

Test(clock, a_context_reads_its_own_clock)
{
	bl_ctx *a = NULL, *b = NULL;
	cr_assert_eq(bl_ctx_new(&a, NULL), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_ctx_new(&b, NULL), BL_OK, "%s", bl_error_last());
	int64_t t = at(2027, 1, 31, 23, 59, 58);
	cr_assert_eq(bl_ctx_set_time(a, t), BL_OK);
	cr_assert_eq(bl_ctx_now(a), t);
	/* b still has the system clock: it moves */
	int64_t b0 = bl_ctx_now(b);
	cr_assert_neq(b0, t);
	int64_t v = at(2028, 2, 29, 10, 0, 0);
	cr_assert_eq(bl_ctx_set_clock(b, fake_now, &v), BL_OK);
	cr_assert_eq(bl_ctx_now(b), v);
	v += 5 * US;
	cr_assert_eq(bl_ctx_now(b), v, "the function is asked each time");
	cr_assert_eq(bl_ctx_now(a), t, "contexts do not share clocks");
	cr_assert_eq(bl_ctx_set_clock(b, NULL, NULL), BL_OK);
	cr_assert_geq(bl_ctx_now(b), b0, "NULL restores the system clock");
	cr_assert_eq(bl_ctx_set_time(a, 0), BL_EINVAL);
	cr_assert_eq(bl_ctx_set_time(a, 3000000000LL * US), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "2038"), "%s", bl_error_last());
	cr_assert_eq(bl_ctx_now(a), t, "a refused setting changes nothing");
	cr_assert_eq(bl_ctx_set_time(NULL, t), BL_EINVAL);
	bl_ctx_free(a);
	bl_ctx_free(b);
}

/* ---- against MariaDB ---- */

/* bl_stats_get reports the NOW() of the library's own connection */
static char *stats(bl_ctx *ctx)
{
	char *s = NULL;
	cr_assert_eq(bl_stats_get(ctx, 60, &s), BL_OK, "%s", bl_error_last());
	return s;
}

Test(clock, the_database_follows_the_context_clock, .timeout = 120)
{
	bl_ctx *ctx = tu_ctx_fresh("clock_db");
	/* a time years away from the server's own clock */
	int64_t t = at(2031, 1, 31, 23, 59, 58);
	cr_assert_eq(bl_ctx_set_time(ctx, t), BL_OK);
	char *s = stats(ctx);
	cr_assert(strstr(s, "\"2031-01-31 23:59:58\""), "stats 'now' is not the context's time: %s", s);
	bl_free(s);

	/* a batch with two partitions: its run row and every statement (written by
	 * the partitions' own connections) carry the context's time */
	bl_seed_opts so;
	bl_seed_opts_init(&so, BL_SEED_OPTS_VERSION);
	so.users = 300;
	so.month = "2030-12";
	cr_assert_eq(bl_seed_run(ctx, &so, NULL), BL_OK, "%s", bl_error_last());
	bl_batch_opts o;
	bl_batch_opts_init(&o, BL_BATCH_OPTS_VERSION);
	o.partitions = 2;
	o.chunk_size = 50;
	int64_t run = 0;
	cr_assert_eq(bl_batch_run(ctx, "2030-12", &o, &run), BL_OK, "%s", bl_error_last());
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM statements WHERE issued_at <> '2031-01-31 23:59:58'"), 0,
		     "statements issued at another time than the context's");
	cr_assert_gt(tu_i64(ctx, "SELECT COUNT(*) FROM statements"), 200);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM batch_runs WHERE started_at = '2031-01-31 23:59:58' AND "
				 "ended_at = '2031-01-31 23:59:58'"), 1);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM batch_chunks WHERE done_at <> '2031-01-31 23:59:58'"), 0);

	/* the monthly schedule by the context's clock (day 1, 02:00 by default) */
	bool due = true;
	char month[8];
	cr_assert_eq(bl_ctx_set_time(ctx, at(2031, 3, 1, 1, 59, 59)), BL_OK);
	cr_assert_eq(bl_batch_due(ctx, 0, &due, month), BL_OK, "%s", bl_error_last());
	cr_assert(!due, "due before the slot");
	cr_assert_eq(bl_ctx_set_time(ctx, at(2031, 3, 1, 2, 0, 0)), BL_OK);
	cr_assert_eq(bl_batch_due(ctx, 0, &due, month), BL_OK, "%s", bl_error_last());
	cr_assert(due, "not due at the slot");
	cr_assert_str_eq(month, "2031-02");
	tu_ctx_drop(ctx);
}

Test(clock, sessions_expire_by_the_context_clock, .timeout = 60)
{
	/* the idle expiry only: an absolute lifetime far beyond it
	 * (test_security_db checks BILLING_SESSION_MAX_S by the same clock) */
	bl_config *cfg0 = tu_config("clock_session");
	cr_assert_eq(bl_config_set(cfg0, "BILLING_SESSION_MAX_S", "2592000"), BL_OK);
	bl_ctx *ctx = NULL;
	cr_assert_eq(bl_ctx_new(&ctx, cfg0), BL_OK);
	bl_config_free(cfg0);
	cr_assert_eq(bl_ctx_drop_database(ctx), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_ctx_create_database(ctx), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_migrate(ctx, NULL), BL_OK, "%s", bl_error_last());
	int64_t t = at(2030, 6, 1, 12, 0, 0);
	cr_assert_eq(bl_ctx_set_time(ctx, t), BL_OK);
	int64_t admin = 0;
	cr_assert_eq(bl_admin_create(ctx, "clock.kim", "correct horse battery", BL_ROLE_VIEWER, &admin), BL_OK,
		     "%s", bl_error_last());
	char sid[BL_SESSION_TOKEN_LEN + 1];
	bl_session s;
	cr_assert_eq(bl_session_create(ctx, admin, "127.0.0.1", sid, &s), BL_OK, "%s", bl_error_last());
	int64_t ttl = s.expires_at - t / US;
	cr_assert_gt(ttl, 0, "expires_at %lld is not after the context's time", (long long)s.expires_at);
	const bl_config *cfg = bl_ctx_config(ctx);
	cr_assert_eq(ttl, atoll(bl_config_get(cfg, "BILLING_SESSION_TTL_S")));
	/* a second before the end it is valid, at the end it is not */
	cr_assert_eq(bl_ctx_set_time(ctx, (s.expires_at - 1) * US), BL_OK);
	bl_session c;
	cr_assert_eq(bl_session_check(ctx, sid, &c), BL_OK, "%s", bl_error_last());
	cr_assert_eq(c.expires_at, s.expires_at - 1 + ttl, "the expiry slides from the context's time");
	cr_assert_eq(bl_ctx_set_time(ctx, (c.expires_at) * US), BL_OK);
	cr_assert_eq(bl_session_check(ctx, sid, &c), BL_EAUTH);
	int64_t purged = 0;
	cr_assert_eq(bl_session_purge(ctx, &purged), BL_OK, "%s", bl_error_last());
	cr_assert_eq(purged, 1);
	tu_ctx_drop(ctx);
}

Test(clock, reservations_judge_the_past_by_the_context_clock, .timeout = 60)
{
	bl_ctx *ctx = tu_ctx_fresh("clock_resv");
	tu_sql(ctx, "INSERT INTO users (name, phone_enc, phone_bidx, email_enc, email_bidx, consent_sms) "
		    "VALUES ('u', 'x', UNHEX(MD5('p')), 'x', UNHEX(MD5('e')), 1)");
	tu_sql(ctx, "INSERT INTO user_groups (code, name) VALUES ('G', 'G')");
	tu_sql(ctx, "INSERT INTO user_group_members (group_id, user_id) SELECT g.id, u.id FROM user_groups g "
		    "JOIN users u");
	cr_assert_eq(bl_ctx_set_time(ctx, at(2030, 12, 31, 23, 59, 0)), BL_OK);
	bl_reservation_opts o;
	bl_reservation_opts_init(&o, BL_RESERVATION_OPTS_VERSION);
	o.group_code = "G";
	o.template_code = "NOTICE_MAINTENANCE_SMS";
	o.params_json = "{\"maintenanceDate\":\"2031-01-01\",\"startTime\":\"02:00\",\"endTime\":\"06:00\"}";
	o.scheduled_at = "2030-12-31 23:57";
	cr_assert_eq(bl_reservation_create(ctx, &o, NULL), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "in the past (now 2030-12-31 23:59:00"), "%s", bl_error_last());
	o.scheduled_at = "2031-01-01 00:01";
	int64_t id = 0;
	cr_assert_eq(bl_reservation_create(ctx, &o, &id), BL_OK, "%s", bl_error_last());
	/* a year ahead of the context's time, not of the real date */
	o.scheduled_at = "2031-12-31 23:00";
	cr_assert_eq(bl_reservation_create(ctx, &o, NULL), BL_OK, "%s", bl_error_last());
	o.scheduled_at = "2032-01-02 00:00";
	cr_assert_eq(bl_reservation_create(ctx, &o, NULL), BL_EINVAL);
	/* not due at 23:59:30; due once the clock passes 00:01 */
	int64_t n = -1;
	cr_assert_eq(bl_ctx_set_time(ctx, at(2030, 12, 31, 23, 59, 30)), BL_OK);
	cr_assert_eq(bl_reservation_tick(ctx, 0, &n), BL_OK, "%s", bl_error_last());
	cr_assert_eq(n, 0);
	cr_assert_eq(bl_ctx_set_time(ctx, at(2031, 1, 1, 0, 1, 0)), BL_OK);
	cr_assert_eq(bl_reservation_tick(ctx, 0, &n), BL_OK, "%s", bl_error_last());
	cr_assert_eq(n, 1);
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM message_reservations WHERE id = %lld AND status = 'SENT' "
				  "AND finished_at = '2031-01-01 00:01:00'", (long long)id);
	cr_assert_eq(tu_i64(ctx, sql), 1);
	tu_ctx_drop(ctx);
}
