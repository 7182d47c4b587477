/*
 * Holds (hold.c, issue 21): whatever keeps work back is listed with its
 * reason and way out (bl_hold_list) and shown on the reservation it holds;
 * a reservation that cannot expand does not hold back the ones after it; a
 * reservation tells expansion and delivery apart.  Every instant is set
 * with bl_ctx_set_time: nothing depends on today's date or hour.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include "testutil.h"
#include "reservation_private.h"

#define NOTICE_PARAMS "{\"maintenanceDate\":\"2026-12-01\",\"startTime\":\"02:00\",\"endTime\":\"06:00\"}"

static bl_ctx *fresh(const char *name)
{
	bl_config *cfg = tu_config(name);
	cr_assert_eq(bl_config_set(cfg, "BILLING_MAILDIR", ""), BL_OK);
	/* the defaults, spelled out: NOTICE SMS held 21:00-08:00 */
	cr_assert_eq(bl_config_set(cfg, "BILLING_QUIET_START", "21:00"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_QUIET_END", "08:00"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_QUIET_SMS_NOTICE", "1"), BL_OK);
	bl_ctx *ctx = NULL;
	cr_assert_eq(bl_ctx_new(&ctx, cfg), BL_OK, "%s", bl_error_last());
	bl_config_free(cfg);
	cr_assert_eq(bl_ctx_drop_database(ctx), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_ctx_create_database(ctx), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_migrate(ctx, NULL), BL_OK, "%s", bl_error_last());
	return ctx;
}

static void set_clock(bl_ctx *ctx, int64_t unix_s)
{
	cr_assert_eq(bl_ctx_set_time(ctx, unix_s * 1000000), BL_OK, "%s", bl_error_last());
}

static void seed_and_run(bl_ctx *ctx, int64_t *run)
{
	bl_seed_opts so;
	bl_seed_opts_init(&so, BL_SEED_OPTS_VERSION);
	so.users = 30;
	so.month = "2026-10";
	so.seed = 5;
	cr_assert_eq(bl_seed_run(ctx, &so, NULL), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_batch_run(ctx, "2026-10", NULL, run), BL_OK, "%s", bl_error_last());
	tu_sql(ctx, "INSERT INTO user_groups (code, name) VALUES ('G', 'G')");
	tu_sql(ctx, "INSERT INTO user_group_members (group_id, user_id) SELECT g.id, u.id FROM user_groups g "
		    "JOIN users u ON u.id <= 10 WHERE g.code = 'G'");
}

static int64_t reserve_group(bl_ctx *ctx, int64_t when)
{
	bl_reservation_opts o;
	cr_assert_eq(bl_reservation_opts_init(&o, BL_RESERVATION_OPTS_VERSION), BL_OK);
	o.group_code = "G";
	o.template_code = "NOTICE_MAINTENANCE_SMS";
	o.params_json = NOTICE_PARAMS;
	o.scheduled_unix = when;
	int64_t id = 0;
	cr_assert_eq(bl_reservation_create(ctx, &o, &id), BL_OK, "%s", bl_error_last());
	return id;
}

static json_t *get(bl_ctx *ctx, int64_t id)
{
	char *s = NULL;
	cr_assert_eq(bl_reservation_get(ctx, id, &s), BL_OK, "%s", bl_error_last());
	json_t *j = json_loads(s, 0, NULL);
	cr_assert(j, "%s", s);
	bl_free(s);
	return j;
}

static json_t *holds(bl_ctx *ctx, const char *kind)
{
	char *s = NULL;
	cr_assert_eq(bl_hold_list(ctx, &s), BL_OK, "%s", bl_error_last());
	json_t *all = json_loads(s, 0, NULL), *out = json_array(), *h;
	bl_free(s);
	size_t i;
	json_array_foreach(all, i, h)
		if (!strcmp(json_string_value(json_object_get(h, "kind")), kind))
			json_array_append(out, h);
	json_decref(all);
	return out;
}

static const char *str(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static long long num(json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }

TestSuite(hold, .timeout = 120);

Test(hold, disabled_template_is_shown_and_does_not_block_the_queue)
{
	bl_ctx *ctx = fresh("hold_tpl");
	int64_t T = tu_seoul(2026, 12, 4, 10, 0, 0); /* outside quiet hours */
	set_clock(ctx, T - 3600);
	int64_t run = 0;
	seed_and_run(ctx, &run);
	/* the month's billing reservation is due first; a group notice after it */
	int64_t bill = 0;
	cr_assert_eq(bl_reservation_after_batch(ctx, run, NULL, &bill), BL_OK, "%s", bl_error_last());
	tu_sql(ctx, "UPDATE message_reservations SET scheduled_at = scheduled_at - INTERVAL 1 DAY WHERE target_month IS NOT NULL");
	int64_t notice = reserve_group(ctx, T - 60);
	cr_assert_eq(bl_template_set_enabled(ctx, "DEFAULT_BILLING_SMS", false), BL_OK);

	json_t *h = holds(ctx, "TEMPLATE_DISABLED");
	cr_assert_eq(json_array_size(h), 1);
	cr_expect_str_eq(str(json_array_get(h, 0), "subject"), "DEFAULT_BILLING_SMS");
	cr_expect_eq(num(json_array_get(h, 0), "reservations"), 1);
	cr_expect(strstr(str(json_array_get(h, 0), "way_out"), "template enable DEFAULT_BILLING_SMS"));
	json_decref(h);
	json_t *r = get(ctx, bill);
	cr_expect_str_eq(str(json_object_get(r, "hold"), "kind"), "TEMPLATE_DISABLED");
	cr_expect_str_eq(str(json_object_get(r, "hold"), "subject"), "DEFAULT_BILLING_SMS");
	cr_expect_str_eq(str(r, "expansion"), "SCHEDULED");
	json_decref(r);

	/* the tick fails on the billing reservation but still expands the notice */
	set_clock(ctx, T);
	int64_t n = 0;
	cr_expect_eq(bl_reservation_tick(ctx, 0, &n), BL_ECONFLICT);
	cr_expect(strstr(bl_error_last(), "template 'DEFAULT_BILLING_SMS' is disabled"), "%s", bl_error_last());
	r = get(ctx, notice);
	cr_expect_gt(n, 0);
	cr_expect_eq(n, num(r, "message_count"), "the notice expanded: %lld", (long long)n);
	cr_expect_str_eq(str(r, "status"), "SENT");
	cr_expect_str_eq(str(r, "expansion"), "DONE");
	cr_expect(json_is_null(json_object_get(r, "hold")));
	json_decref(r);
	r = get(ctx, bill);
	cr_expect_str_eq(str(r, "status"), "PROCESSING");
	cr_expect_str_eq(str(json_object_get(r, "hold"), "kind"), "TEMPLATE_DISABLED");
	json_decref(r);

	/* the way out: enable it; the next tick finishes the billing reservation */
	cr_assert_eq(bl_template_set_enabled(ctx, "DEFAULT_BILLING_SMS", true), BL_OK);
	cr_expect_eq(bl_reservation_tick(ctx, 0, &n), BL_OK, "%s", bl_error_last());
	cr_expect_gt(n, 0);
	r = get(ctx, bill);
	cr_expect_str_eq(str(r, "status"), "SENT");
	cr_expect(json_is_null(json_object_get(r, "hold")));
	json_decref(r);
	h = holds(ctx, "TEMPLATE_DISABLED");
	cr_expect_eq(json_array_size(h), 0);
	json_decref(h);
	tu_ctx_drop(ctx);
}

Test(hold, quiet_hours_expanded_is_not_delivered)
{
	bl_ctx *ctx = fresh("hold_quiet");
	int64_t T = tu_seoul(2026, 12, 4, 1, 13, 0), end = tu_seoul(2026, 12, 4, 8, 0, 0);
	set_clock(ctx, T - 60);
	int64_t run = 0;
	seed_and_run(ctx, &run);
	/* reserved "now" at 01:13 KST: already at creation it says when it goes out */
	int64_t id = reserve_group(ctx, 0);
	json_t *r = get(ctx, id);
	cr_expect_str_eq(str(r, "quiet_until"), "2026-12-04 08:00:00");
	cr_expect_str_eq(str(json_object_get(r, "delivery"), "state"), "NOT_STARTED");
	json_decref(r);
	set_clock(ctx, T);
	int64_t n = 0;
	cr_assert_eq(bl_reservation_tick(ctx, 0, &n), BL_OK, "%s", bl_error_last());
	cr_assert_gt(n, 0);
	r = get(ctx, id);
	cr_expect_eq(num(r, "message_count"), n);
	cr_expect_str_eq(str(r, "status"), "SENT");
	cr_expect_str_eq(str(r, "expansion"), "DONE");
	json_t *d = json_object_get(r, "delivery");
	cr_expect_str_eq(str(d, "state"), "HELD");
	cr_expect_eq(num(d, "pending"), n);
	cr_expect_eq(num(d, "held"), n);
	cr_expect_eq(num(d, "sent"), 0);
	cr_expect_str_eq(str(d, "next_at"), "2026-12-04 08:00:00");
	cr_expect_str_eq(str(r, "quiet_until"), "2026-12-04 08:00:00");
	json_decref(r);
	json_t *h = holds(ctx, "QUIET_HOURS");
	cr_assert_eq(json_array_size(h), 1);
	cr_expect_str_eq(str(json_array_get(h, 0), "subject"), "SMS/NOTICE");
	cr_expect_str_eq(str(json_array_get(h, 0), "until"), "2026-12-04 08:00:00");
	cr_expect_eq(num(json_array_get(h, 0), "messages"), n);
	json_decref(h);
	/* after 08:00 nothing is held by quiet hours */
	set_clock(ctx, end + 60);
	h = holds(ctx, "QUIET_HOURS");
	cr_expect_eq(json_array_size(h), 0);
	json_decref(h);
	r = get(ctx, id);
	cr_expect_str_eq(str(json_object_get(r, "delivery"), "state"), "SENDING");
	cr_expect(json_is_null(json_object_get(r, "quiet_until")));
	json_decref(r);
	(void)end;
	tu_ctx_drop(ctx);
}

Test(hold, stopped_run_is_listed_until_a_newer_run)
{
	bl_ctx *ctx = fresh("hold_run");
	set_clock(ctx, tu_seoul(2026, 12, 4, 10, 0, 0));
	int64_t run = 0;
	seed_and_run(ctx, &run);
	tu_sql(ctx, "UPDATE batch_runs SET status = 'STOPPED'");
	json_t *h = holds(ctx, "BATCH_STOPPED");
	cr_assert_eq(json_array_size(h), 1);
	cr_expect_eq(num(json_array_get(h, 0), "run_id"), run);
	cr_expect_str_eq(str(json_array_get(h, 0), "month"), "2026-10");
	cr_expect(strstr(str(json_array_get(h, 0), "way_out"), "batch resume"));
	json_decref(h);
	tu_sql(ctx, "UPDATE batch_runs SET status = 'COMPLETED'");
	h = holds(ctx, "BATCH_STOPPED");
	cr_expect_eq(json_array_size(h), 0);
	json_decref(h);
	/* Redis is up in the tests: no REDIS_DOWN */
	h = holds(ctx, "REDIS_DOWN");
	cr_expect_eq(json_array_size(h), 0);
	json_decref(h);
	tu_ctx_drop(ctx);
}

Test(hold, open_sms_gateway_breaker_is_listed)
{
	bl_ctx *ctx = fresh("hold_gw");
	set_clock(ctx, tu_seoul(2026, 12, 4, 10, 0, 0));
	/* as workers publish them (KST): one OPEN now, one CLOSED, one OPEN of a worker gone for an hour */
	tu_sql(ctx, "INSERT INTO sms_provider_state (provider, worker, state, consecutive, updated_at) VALUES "
		    "('sens', 'vm:1', 'OPEN', 5, '2026-12-04 09:58:00'), ('sens', 'vm:2', 'CLOSED', 0, '2026-12-04 09:59:00'), "
		    "('backup', 'vm:1', 'CLOSED', 0, '2026-12-04 09:58:00'), ('old', 'vm:9', 'OPEN', 9, '2026-12-04 09:00:00')");
	json_t *h = holds(ctx, "PROVIDER_OPEN");
	cr_assert_eq(json_array_size(h), 1, "%zu holds", json_array_size(h));
	cr_expect_str_eq(str(json_array_get(h, 0), "subject"), "sens");
	cr_expect_str_eq(str(json_array_get(h, 0), "state"), "OPEN");
	cr_expect_str_eq(str(json_array_get(h, 0), "since"), "2026-12-04 09:58:00");
	cr_expect(strstr(str(json_array_get(h, 0), "way_out"), "closes on the first success"));
	json_decref(h);
	tu_sql(ctx, "UPDATE sms_provider_state SET state = 'CLOSED'");
	h = holds(ctx, "PROVIDER_OPEN");
	cr_expect_eq(json_array_size(h), 0);
	json_decref(h);
	tu_ctx_drop(ctx);
}
