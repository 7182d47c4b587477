/*
 * The admin reads' counts (issue 22): a group's member_count is a counter
 * kept in the same transaction as each change; the counts that scan many
 * rows (a reservation's messages by status, the dashboard's held messages)
 * come from the count cache, with the time they were counted, in a process
 * where bl_counts_refresh runs, and are counted live elsewhere.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static json_t *group(bl_ctx *ctx, const char *code)
{
	char *js = NULL;
	cr_assert_eq(bl_group_get(ctx, code, &js), BL_OK, "%s", bl_error_last());
	json_t *g = json_loads(js, 0, NULL);
	bl_free(js);
	cr_assert_not_null(g);
	return g;
}

static long long members(bl_ctx *ctx, const char *code)
{
	json_t *g = group(ctx, code);
	long long n = json_integer_value(json_object_get(g, "member_count"));
	json_decref(g);
	return n;
}

static long long listed(bl_ctx *ctx, const char *code)
{
	char *js = NULL;
	cr_assert_eq(bl_group_list(ctx, &js), BL_OK, "%s", bl_error_last());
	json_t *a = json_loads(js, 0, NULL), *g;
	bl_free(js);
	size_t i;
	long long n = -1;
	json_array_foreach(a, i, g)
		if (!strcmp(json_string_value(json_object_get(g, "code")), code))
			n = json_integer_value(json_object_get(g, "member_count"));
	json_decref(a);
	return n;
}

static int64_t subscriber(bl_ctx *ctx, int i)
{
	char phone[32], email[64], name[16];
	snprintf(phone, sizeof phone, "010-5555-%04d", i);
	snprintf(email, sizeof email, "counts%d@example.com", i);
	snprintf(name, sizeof name, "고객%d", i);
	bl_user_opts o;
	cr_assert_eq(bl_user_opts_init(&o, BL_USER_OPTS_VERSION), BL_OK);
	o.name = name;
	o.phone = phone;
	o.email = email;
	int64_t id = 0;
	cr_assert_eq(bl_user_create(ctx, &o, &id), BL_OK, "%s", bl_error_last());
	return id;
}

Test(admin_counts, group_counters_follow_every_change, .timeout = 120)
{
	bl_ctx *ctx = tu_ctx_fresh("counts_groups");
	long long all0 = members(ctx, "USER_ALL");
	cr_assert_eq(all0, tu_i64(ctx, "SELECT COUNT(*) FROM users"));
	int64_t ids[5];
	for (int i = 0; i < 5; i++)
		ids[i] = subscriber(ctx, i);
	cr_expect_eq(members(ctx, "USER_ALL"), all0 + 5, "USER_ALL counts new subscribers");
	/* a refused subscriber (same phone) changes nothing */
	bl_user_opts o;
	bl_user_opts_init(&o, BL_USER_OPTS_VERSION);
	o.name = "dup";
	o.phone = "010-5555-0000";
	o.email = "other@example.com";
	cr_assert_eq(bl_user_create(ctx, &o, NULL), BL_ECONFLICT);
	cr_expect_eq(members(ctx, "USER_ALL"), all0 + 5);

	cr_assert_eq(bl_group_create(ctx, "CNT", "counted", NULL, NULL), BL_OK, "%s", bl_error_last());
	cr_expect_eq(members(ctx, "CNT"), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(bl_group_add(ctx, "CNT", ids[i]), BL_OK, "%s", bl_error_last());
	cr_expect_eq(members(ctx, "CNT"), 4);
	/* idempotent: a second add and a remove of a non-member change nothing */
	cr_assert_eq(bl_group_add(ctx, "CNT", ids[0]), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_group_remove(ctx, "CNT", ids[4]), BL_OK, "%s", bl_error_last());
	cr_expect_eq(members(ctx, "CNT"), 4);
	/* no such subscriber: refused, nothing counted */
	cr_assert_eq(bl_group_add(ctx, "CNT", 999999), BL_ENOTFOUND);
	cr_expect_eq(members(ctx, "CNT"), 4);
	cr_assert_eq(bl_group_remove(ctx, "CNT", ids[1]), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_group_remove(ctx, "CNT", ids[1]), BL_OK, "%s", bl_error_last());
	cr_expect_eq(members(ctx, "CNT"), 3);
	cr_expect_eq(listed(ctx, "CNT"), 3, "the list shows the same counter");
	cr_expect_eq(listed(ctx, "USER_ALL"), all0 + 5);
	cr_expect_eq(members(ctx, "CNT"), tu_i64(ctx, "SELECT COUNT(*) FROM user_group_members m JOIN user_groups g "
						  "ON g.id = m.group_id WHERE g.code = 'CNT'"));

	/* rows written outside the library: the counter is rebuilt on request */
	tu_sql(ctx, "INSERT INTO users (name, phone_enc, phone_bidx, email_enc, email_bidx) "
		    "SELECT CONCAT('r', seq), 'x', UNHEX(MD5(CONCAT('rp', seq))), 'x', UNHEX(MD5(CONCAT('re', seq))) "
		    "FROM seq_1_to_7");
	tu_sql(ctx, "DELETE m FROM user_group_members m JOIN user_groups g ON g.id = m.group_id WHERE g.code = 'CNT'");
	cr_assert_eq(bl_group_recount(ctx), BL_OK, "%s", bl_error_last());
	cr_expect_eq(members(ctx, "USER_ALL"), all0 + 12);
	cr_expect_eq(members(ctx, "CNT"), 0);
	tu_ctx_drop(ctx);
}

Test(admin_counts, the_seed_sets_the_counters, .timeout = 120)
{
	bl_ctx *ctx = tu_ctx_fresh("counts_seed");
	bl_seed_opts so;
	bl_seed_opts_init(&so, BL_SEED_OPTS_VERSION);
	so.users = 300;
	so.month = "2026-10";
	so.seed = 3;
	cr_assert_eq(bl_seed_run(ctx, &so, NULL), BL_OK, "%s", bl_error_last());
	cr_expect_eq(members(ctx, "USER_ALL"), 300);
	char *js = NULL;
	cr_assert_eq(bl_group_list(ctx, &js), BL_OK, "%s", bl_error_last());
	json_t *a = json_loads(js, 0, NULL), *g;
	bl_free(js);
	size_t i;
	json_array_foreach(a, i, g) {
		const char *code = json_string_value(json_object_get(g, "code"));
		char sql[300];
		snprintf(sql, sizeof sql,
			 "SELECT IF(g.kind = 'ALL', (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM "
			 "user_group_members m WHERE m.group_id = g.id)) FROM user_groups g WHERE g.code = '%s'",
			 code);
		cr_expect_eq(json_integer_value(json_object_get(g, "member_count")), tu_i64(ctx, sql), "group %s",
			     code);
	}
	json_decref(a);
	tu_ctx_drop(ctx);
}

/* ---- the count cache ---- */

static json_t *reservation(bl_ctx *ctx, int64_t id)
{
	char *js = NULL;
	cr_assert_eq(bl_reservation_get(ctx, id, &js), BL_OK, "%s", bl_error_last());
	json_t *r = json_loads(js, 0, NULL);
	bl_free(js);
	cr_assert_not_null(r);
	return r;
}

static long long by(json_t *r, const char *status)
{
	return json_integer_value(json_object_get(json_object_get(r, "messages"), status));
}

/* 200 subscribers in group G, a reservation of it, one message each:
 * 150 SUCCESS, 50 DEAD. */
static int64_t reservation_with_messages(bl_ctx *ctx)
{
	tu_sql(ctx, "INSERT INTO users (name, phone_enc, phone_bidx, email_enc, email_bidx, consent_sms) "
		    "SELECT CONCAT('u', seq), 'x', UNHEX(MD5(CONCAT('p', seq))), 'x', UNHEX(MD5(CONCAT('e', seq))), 1 "
		    "FROM seq_1_to_200");
	tu_sql(ctx, "INSERT INTO user_groups (code, name) VALUES ('G', 'G')");
	tu_sql(ctx, "INSERT INTO user_group_members (group_id, user_id) SELECT g.id, u.id FROM user_groups g "
		    "JOIN users u WHERE g.code = 'G'");
	cr_assert_eq(bl_group_recount(ctx), BL_OK, "%s", bl_error_last());
	bl_reservation_opts o;
	cr_assert_eq(bl_reservation_opts_init(&o, BL_RESERVATION_OPTS_VERSION), BL_OK);
	o.group_code = "G";
	o.template_code = "NOTICE_MAINTENANCE_SMS";
	o.params_json = "{\"maintenanceDate\":\"2026-12-01\",\"startTime\":\"02:00\",\"endTime\":\"06:00\"}";
	o.scheduled_unix = bl_ctx_now(ctx) / 1000000 + 86400;
	o.created_by = "test";
	int64_t id = 0;
	cr_assert_eq(bl_reservation_create(ctx, &o, &id), BL_OK, "%s", bl_error_last());
	char sql[600];
	snprintf(sql, sizeof sql,
		 "INSERT INTO messages (idempotency_key, user_id, reservation_id, template_id, channel, purpose, "
		 "status) SELECT CONCAT('t:', u.id), u.id, %lld, t.id, 'SMS', 'NOTICE', "
		 "IF(u.id %% 4 = 0, 'DEAD', 'SUCCESS') FROM users u JOIN message_templates t "
		 "ON t.code = 'NOTICE_MAINTENANCE_SMS'",
		 (long long)id);
	tu_sql(ctx, sql);
	return id;
}

Test(admin_counts, live_without_a_refresher, .timeout = 120)
{
	bl_ctx *ctx = tu_ctx_fresh("counts_live");
	int64_t id = reservation_with_messages(ctx);
	json_t *r = reservation(ctx, id);
	cr_expect_eq(json_integer_value(json_object_get(r, "target_count")), 200);
	cr_expect_eq(by(r, "SUCCESS"), 150);
	cr_expect_eq(by(r, "DEAD"), 50);
	cr_expect(json_is_string(json_object_get(r, "counted_at")), "a live count is stamped now");
	cr_expect_lt(json_integer_value(json_object_get(r, "counted_age_ms")), 1000);
	json_decref(r);
	tu_ctx_drop(ctx);
}

Test(admin_counts, cached_with_their_age_while_a_refresher_runs, .timeout = 120)
{
	bl_ctx *ctx = tu_ctx_fresh("counts_cache");
	int64_t id = reservation_with_messages(ctx);
	bl_ctx *bg = NULL; /* the refresher's own context, as billing-httpd's thread has */
	cr_assert_eq(bl_ctx_new(&bg, bl_ctx_config(ctx)), BL_OK, "%s", bl_error_last());
	int n = -1;
	cr_assert_eq(bl_counts_refresh(bg, &n), BL_OK, "%s", bl_error_last());
	cr_expect_eq(n, 0, "nothing asked for yet");

	/* first read: asked for, not counted yet (the request does not count) */
	json_t *r = reservation(ctx, id);
	cr_expect(json_is_null(json_object_get(r, "messages")), "not counted yet");
	cr_expect(json_is_null(json_object_get(r, "counted_at")));
	cr_expect_eq(json_integer_value(json_object_get(r, "target_count")), 200, "the group's counter");
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(r, "delivery"), "state")), "UNKNOWN");
	json_decref(r);

	cr_assert_eq(bl_counts_refresh(bg, &n), BL_OK, "%s", bl_error_last());
	cr_expect_eq(n, 1);
	r = reservation(ctx, id);
	cr_expect_eq(by(r, "SUCCESS"), 150);
	cr_expect_eq(by(r, "DEAD"), 50);
	cr_expect(json_is_string(json_object_get(r, "counted_at")));
	cr_expect_geq(json_integer_value(json_object_get(r, "counted_age_ms")), 0);
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(r, "delivery"), "state")), "DONE");
	json_decref(r);

	/* messages change: the cache answers the old counts until it is recounted,
	 * and says how old they are */
	char sql[200];
	snprintf(sql, sizeof sql, "UPDATE messages SET status = 'WAITING' WHERE reservation_id = %lld AND user_id <= 20",
		 (long long)id);
	tu_sql(ctx, sql);
	cr_assert_eq(bl_counts_refresh(bg, &n), BL_OK, "%s", bl_error_last());
	cr_expect_eq(n, 0, "counted less than a second ago: not due");
	r = reservation(ctx, id);
	cr_expect_eq(by(r, "SUCCESS"), 150, "still the cached count");
	json_decref(r);
	/* the reader's clock 30 s later: the age says so */
	cr_assert_eq(bl_ctx_set_time(ctx, bl_ctx_now(bg) + 30 * 1000000LL), BL_OK);
	r = reservation(ctx, id);
	cr_expect_geq(json_integer_value(json_object_get(r, "counted_age_ms")), 29000);
	json_decref(r);
	usleep(1100 * 1000);
	cr_assert_eq(bl_counts_refresh(bg, &n), BL_OK, "%s", bl_error_last());
	cr_expect_eq(n, 1, "due after a second");
	r = reservation(ctx, id);
	cr_expect_eq(by(r, "SUCCESS"), 135);
	cr_expect_eq(by(r, "WAITING"), 20);
	cr_expect_eq(by(r, "DEAD"), 45);
	json_decref(r);

	/* the dashboard's counts too */
	char *js = NULL;
	cr_assert_eq(bl_hold_list(ctx, &js), BL_OK, "%s", bl_error_last());
	bl_free(js);

	/* stopped: back to live counts */
	bl_counts_stop();
	r = reservation(ctx, id);
	cr_expect_eq(by(r, "WAITING"), 20);
	cr_expect_lt(json_integer_value(json_object_get(r, "counted_age_ms")), 1000);
	json_decref(r);
	bl_ctx_free(bg);
	tu_ctx_drop(ctx);
}

static void count_log(const char *line, void *payload)
{
	(void)line;
	++*(int *)payload;
}

Test(admin_counts, the_library_thread_refreshes_until_stopped, .timeout = 120)
{
	bl_ctx *ctx = tu_ctx_fresh("counts_thread");
	int64_t id = reservation_with_messages(ctx);
	int logged = 0;
	cr_assert_eq(bl_counts_start(ctx, count_log, &logged), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_counts_start(ctx, NULL, NULL), BL_ECONFLICT, "one refresher per process");
	/* asked for once, then counted by the thread within a few of its rounds */
	json_t *r = reservation(ctx, id);
	json_decref(r);
	bool counted = false;
	for (int i = 0; i < 100 && !counted; i++) {
		usleep(100 * 1000);
		r = reservation(ctx, id);
		counted = by(r, "SUCCESS") == 150 && json_is_string(json_object_get(r, "counted_at"));
		json_decref(r);
	}
	cr_assert(counted, "the thread never counted the reservation");
	cr_expect_eq(logged, 0, "no failure to log");
	bl_counts_stop(); /* joins the thread */
	bl_counts_stop(); /* and again: nothing left to stop */
	char sql[200];
	snprintf(sql, sizeof sql, "UPDATE messages SET status = 'WAITING' WHERE reservation_id = %lld AND user_id <= 20",
		 (long long)id);
	tu_sql(ctx, sql);
	r = reservation(ctx, id);
	cr_expect_eq(by(r, "WAITING"), 20, "stopped: counted at the call again");
	json_decref(r);
	/* and it starts again */
	cr_assert_eq(bl_counts_start(ctx, NULL, NULL), BL_OK, "%s", bl_error_last());
	bl_counts_stop();
	cr_assert_eq(bl_counts_start(NULL, NULL, NULL), BL_EINVAL);
	tu_ctx_drop(ctx);
}
