/*
 * Subscriber groups, user search and statement search against real MariaDB:
 * validation, USER_ALL rules, idempotent membership, cursor pagination,
 * masking, plan look-up through the latest month's charges.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "testutil.h"

static int64_t mkuser(bl_ctx *ctx, const char *name, int n)
{
	char phone[32], email[64];
	snprintf(phone, sizeof phone, "010-5555-%04d", n);
	snprintf(email, sizeof email, "user%d@example.com", n);
	bl_user_opts o;
	bl_user_opts_init(&o, BL_USER_OPTS_VERSION);
	o.name = name;
	o.phone = phone;
	o.email = email;
	int64_t id = 0;
	cr_assert_eq(bl_user_create(ctx, &o, &id), BL_OK, "%s", bl_error_last());
	return id;
}

static json_t *load(char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	cr_assert(j, "bad JSON: %s: %s", e.text, s);
	bl_free(s);
	return j;
}

static json_t *members(bl_ctx *ctx, const char *code, int64_t after, int limit)
{
	char *s = NULL;
	cr_assert_eq(bl_group_members(ctx, code, after, limit, &s), BL_OK, "%s", bl_error_last());
	return load(s);
}

Test(group, create_validate_and_conflict)
{
	bl_ctx *ctx = tu_ctx_fresh("group_create");
	int64_t id = 0;
	cr_assert_eq(bl_group_create(ctx, "VIP_2026", "우수 고객", "top spenders", &id), BL_OK, "%s",
		     bl_error_last());
	cr_assert_gt(id, 0);
	cr_assert_eq(bl_group_create(ctx, "VIP_2026", "again", NULL, NULL), BL_ECONFLICT);
	cr_assert(strstr(bl_error_last(), "'VIP_2026' already exists"), "%s", bl_error_last());
	cr_assert_eq(bl_group_create(ctx, "vip", "lower case", NULL, NULL), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "'vip'"), "%s", bl_error_last());
	cr_assert_eq(bl_group_create(ctx, "", "empty", NULL, NULL), BL_EINVAL);
	cr_assert_eq(bl_group_create(ctx, "A2345678901234567890123456789012345678901", "41", NULL, NULL),
		     BL_EINVAL);
	cr_assert_eq(bl_group_create(ctx, "NONAME", "", NULL, NULL), BL_EINVAL);

	char *s = NULL;
	cr_assert_eq(bl_group_get(ctx, "VIP_2026", &s), BL_OK);
	json_t *g = load(s);
	cr_assert_str_eq(json_string_value(json_object_get(g, "name")), "우수 고객");
	cr_assert_str_eq(json_string_value(json_object_get(g, "kind")), "STATIC");
	cr_assert_eq(json_integer_value(json_object_get(g, "member_count")), 0);
	json_decref(g);
	cr_assert_eq(bl_group_get(ctx, "NOPE", &s), BL_ENOTFOUND);
	cr_assert(strstr(bl_error_last(), "'NOPE'"), "%s", bl_error_last());

	cr_assert_eq(bl_group_update(ctx, "VIP_2026", NULL, "new description"), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_group_get(ctx, "VIP_2026", &s), BL_OK);
	g = load(s);
	cr_assert_str_eq(json_string_value(json_object_get(g, "name")), "우수 고객", "NULL keeps the name");
	cr_assert_str_eq(json_string_value(json_object_get(g, "description")), "new description");
	json_decref(g);
	cr_assert_eq(bl_group_update(ctx, "NOPE", "x", NULL), BL_ENOTFOUND);
	tu_ctx_drop(ctx);
}

Test(group, membership_user_all_and_pagination)
{
	bl_ctx *ctx = tu_ctx_fresh("group_members");
	int64_t ids[5];
	for (int i = 0; i < 5; i++)
		ids[i] = mkuser(ctx, "회원", i);
	cr_assert_eq(bl_group_create(ctx, "G1", "group one", NULL, NULL), BL_OK);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(bl_group_add(ctx, "G1", ids[i]), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_group_add(ctx, "G1", ids[2]), BL_OK, "adding twice is idempotent");
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM user_group_members"), 5);
	cr_assert_eq(bl_group_add(ctx, "G1", 999999), BL_ENOTFOUND);
	cr_assert(strstr(bl_error_last(), "999999"), "%s", bl_error_last());
	cr_assert_eq(bl_group_add(ctx, "NOPE", ids[0]), BL_ENOTFOUND);
	cr_assert_eq(bl_group_remove(ctx, "G1", ids[4]), BL_OK);
	cr_assert_eq(bl_group_remove(ctx, "G1", ids[4]), BL_OK, "removing twice is idempotent");

	/* pages of 2 with the cursor: 4 members, in id order, masked */
	json_t *p1 = members(ctx, "G1", 0, 2);
	cr_assert_eq(json_array_size(p1), 2);
	int64_t last = json_integer_value(json_object_get(json_array_get(p1, 1), "id"));
	cr_assert_eq(last, ids[1]);
	const char *phone = json_string_value(json_object_get(json_array_get(p1, 0), "phone"));
	cr_assert_str_eq(phone, "010-****-0000", "masked: %s", phone);
	cr_assert(strchr(json_string_value(json_object_get(json_array_get(p1, 0), "email")), '*'));
	json_t *p2 = members(ctx, "G1", last, 2);
	cr_assert_eq(json_array_size(p2), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(p2, 1), "id")), ids[3]);
	json_t *p3 = members(ctx, "G1", ids[3], 2);
	cr_assert_eq(json_array_size(p3), 0);
	json_decref(p1);
	json_decref(p2);
	json_decref(p3);
	char *s;
	cr_assert_eq(bl_group_members(ctx, "G1", 0, 0, &s), BL_EINVAL);
	cr_assert_eq(bl_group_members(ctx, "G1", 0, 1001, &s), BL_EINVAL);

	/* USER_ALL: every subscriber, no member rows, not editable */
	json_t *all = members(ctx, "USER_ALL", 0, 100);
	cr_assert_eq(json_array_size(all), 5);
	json_decref(all);
	cr_assert_eq(bl_group_add(ctx, "USER_ALL", ids[0]), BL_ECONFLICT);
	cr_assert_eq(bl_group_remove(ctx, "USER_ALL", ids[0]), BL_ECONFLICT);
	cr_assert_eq(bl_group_delete(ctx, "USER_ALL"), BL_ECONFLICT);
	cr_assert(strstr(bl_error_last(), "USER_ALL"), "%s", bl_error_last());
	/* nor renamed (issue 21: docs/cli.md says it cannot be changed) */
	cr_assert_eq(bl_group_update(ctx, "USER_ALL", "x", NULL), BL_ECONFLICT);
	cr_expect_str_eq(bl_error_last(), "group 'USER_ALL' means every subscriber and cannot be changed");
	cr_assert_eq(bl_group_update(ctx, "USER_ALL", NULL, "y"), BL_ECONFLICT);

	/* list: counts per kind */
	cr_assert_eq(bl_group_list(ctx, &s), BL_OK);
	json_t *l = load(s), *g;
	size_t i;
	int seen = 0;
	json_array_foreach(l, i, g) {
		const char *code = json_string_value(json_object_get(g, "code"));
		long long n = json_integer_value(json_object_get(g, "member_count"));
		if (!strcmp(code, "USER_ALL")) {
			cr_assert_eq(n, 5);
			seen++;
		}
		if (!strcmp(code, "G1")) {
			cr_assert_eq(n, 4);
			seen++;
		}
	}
	cr_assert_eq(seen, 2);
	json_decref(l);

	/* delete: refused while a reservation waits on it, then members go too */
	long long gid = tu_i64(ctx, "SELECT id FROM user_groups WHERE code = 'G1'");
	char sql[300];
	snprintf(sql, sizeof sql,
		 "INSERT INTO message_reservations (scheduled_at, channel, template_id, user_group_id) "
		 "VALUES (NOW() + INTERVAL 1 DAY, 'SMS', 1, %lld)", gid);
	tu_sql(ctx, sql);
	cr_assert_eq(bl_group_delete(ctx, "G1"), BL_ECONFLICT);
	cr_assert(strstr(bl_error_last(), "waiting reservation"), "%s", bl_error_last());
	tu_sql(ctx, "UPDATE message_reservations SET status = 'CANCELED'");
	cr_assert_eq(bl_group_delete(ctx, "G1"), BL_OK, "%s", bl_error_last());
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM user_group_members"), 0);
	cr_assert_eq(bl_group_get(ctx, "G1", &s), BL_ENOTFOUND);
	cr_assert_eq(bl_group_delete(ctx, "G1"), BL_ENOTFOUND);
	tu_ctx_drop(ctx);
}

static json_t *search(bl_ctx *ctx, bl_user_filter *f)
{
	char *s = NULL;
	cr_assert_eq(bl_user_search(ctx, f, &s), BL_OK, "%s", bl_error_last());
	return load(s);
}

Test(user_search, name_phone_email_plan_cursor)
{
	bl_ctx *ctx = tu_ctx_fresh("user_search");
	int64_t kim1 = mkuser(ctx, "김민수", 1), lee = mkuser(ctx, "이영희", 2);
	int64_t kim2 = mkuser(ctx, "김민지", 3), pct = mkuser(ctx, "100%_user", 4);
	(void)lee;
	bl_user_filter f;
	cr_assert_eq(bl_user_filter_init(&f, BL_USER_FILTER_VERSION), BL_OK);
	cr_assert_eq(bl_user_filter_init(&f, 99), BL_EINVAL);

	f.name = "김민";
	json_t *r = search(ctx, &f);
	cr_assert_eq(json_array_size(r), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(r, 0), "id")), kim1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(r, 1), "id")), kim2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 0), "phone")), "010-****-0001");
	json_decref(r);
	/* cursor */
	f.limit = 1;
	f.after_id = kim1;
	r = search(ctx, &f);
	cr_assert_eq(json_array_size(r), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(r, 0), "id")), kim2);
	json_decref(r);
	/* LIKE metacharacters are literal */
	bl_user_filter_init(&f, BL_USER_FILTER_VERSION);
	f.name = "100%";
	r = search(ctx, &f);
	cr_assert_eq(json_array_size(r), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(r, 0), "id")), pct);
	json_decref(r);
	f.name = "%";
	r = search(ctx, &f);
	cr_assert_eq(json_array_size(r), 0, "'%%' matches only a literal percent sign");
	json_decref(r);

	/* exact phone / e-mail through the blind index, any format */
	bl_user_filter_init(&f, BL_USER_FILTER_VERSION);
	f.phone = "01055550003";
	r = search(ctx, &f);
	cr_assert_eq(json_array_size(r), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(r, 0), "id")), kim2);
	json_decref(r);
	f.phone = NULL;
	f.email = " USER2@Example.com ";
	r = search(ctx, &f);
	cr_assert_eq(json_array_size(r), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(r, 0), "id")), lee);
	json_decref(r);
	f.name = "김"; /* criteria combine with AND */
	r = search(ctx, &f);
	cr_assert_eq(json_array_size(r), 0);
	json_decref(r);

	/* plan: charged in the latest month with charges */
	tu_sql(ctx, "INSERT INTO services (id, code, name, type, price) VALUES "
		    "(1, 'PLAN_A', 'A', 'PLAN', 50000), (2, 'PLAN_B', 'B', 'PLAN', 30000), "
		    "(3, 'VAS_X', 'X', 'VAS', 3300)");
	char sql[600];
	snprintf(sql, sizeof sql,
		 "INSERT INTO charged_histories (user_id, service_id, created_at, charged_price) VALUES "
		 "(%lld, 1, '2026-09-10', 50000), (%lld, 2, '2026-10-10', 30000), "
		 "(%lld, 1, '2026-10-11', 50000), (%lld, 3, '2026-10-12', 3300), "
		 "(%lld, 1, '2026-10-31 23:59:59', 50000)",
		 (long long)kim1, (long long)kim1, (long long)kim2, (long long)lee, (long long)pct);
	tu_sql(ctx, sql);
	bl_user_filter_init(&f, BL_USER_FILTER_VERSION);
	f.plan_code = "PLAN_A";
	r = search(ctx, &f);
	cr_assert_eq(json_array_size(r), 2, "kim1 had PLAN_A only in an older month");
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(r, 0), "id")), kim2);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(r, 1), "id")), pct);
	json_decref(r);
	char *s;
	f.plan_code = "VAS_X";
	cr_assert_eq(bl_user_search(ctx, &f, &s), BL_ENOTFOUND, "a VAS is not a plan");
	f.plan_code = "PLAN_ZZZ";
	cr_assert_eq(bl_user_search(ctx, &f, &s), BL_ENOTFOUND);
	cr_assert(strstr(bl_error_last(), "PLAN_ZZZ"), "%s", bl_error_last());

	bl_user_filter_init(&f, BL_USER_FILTER_VERSION);
	f.limit = 0;
	cr_assert_eq(bl_user_search(ctx, &f, &s), BL_EINVAL);
	f.limit = 1001;
	cr_assert_eq(bl_user_search(ctx, &f, &s), BL_EINVAL);
	f.limit = 10;
	f.phone = "not a phone";
	cr_assert_neq(bl_user_search(ctx, &f, &s), BL_OK);
	tu_ctx_drop(ctx);
}

Test(statement_search, filters_and_cursor)
{
	bl_ctx *ctx = tu_ctx_fresh("stmt_search");
	int64_t u1 = mkuser(ctx, "a", 1), u2 = mkuser(ctx, "b", 2);
	char sql[900];
	snprintf(sql, sizeof sql,
		 "INSERT INTO statements (id, user_id, target_month, batch_run_id, usage_amount, "
		 "discount_amount, net_amount, taxable_amount, vat_amount, total_amount, billed_amount, "
		 "truncated_amount, due_date, line_count) VALUES "
		 "(10, %lld, '2026-09', 1, 1, 0, 1, 1, 0, 1000, 1000, 0, '2026-10-25', 1), "
		 "(11, %lld, '2026-10', 2, 1, 0, 1, 1, 0, 5000, 5000, 0, '2026-11-25', 1), "
		 "(12, %lld, '2026-10', 2, 1, 0, 1, 1, 0, 90000, 90000, 0, '2026-11-25', 1)",
		 (long long)u1, (long long)u1, (long long)u2);
	tu_sql(ctx, sql);
	char *s;
	cr_assert_eq(bl_statement_search(ctx, "2026-10", 0, 0, -1, 0, 100, &s), BL_OK, "%s", bl_error_last());
	json_t *r = load(s);
	cr_assert_eq(json_array_size(r), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(r, 0), "id")), 11);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 0), "due_date")), "2026-11-25");
	json_decref(r);
	cr_assert_eq(bl_statement_search(ctx, NULL, u1, 0, -1, 0, 100, &s), BL_OK);
	r = load(s);
	cr_assert_eq(json_array_size(r), 2);
	json_decref(r);
	cr_assert_eq(bl_statement_search(ctx, NULL, 0, 2000, 90000, 0, 100, &s), BL_OK);
	r = load(s);
	cr_assert_eq(json_array_size(r), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(r, 1), "id")), 12);
	json_decref(r);
	cr_assert_eq(bl_statement_search(ctx, NULL, 0, 0, -1, 10, 1, &s), BL_OK);
	r = load(s);
	cr_assert_eq(json_array_size(r), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(r, 0), "id")), 11);
	json_decref(r);
	cr_assert_eq(bl_statement_search(ctx, "2026-13", 0, 0, -1, 0, 10, &s), BL_EINVAL);
	cr_assert_eq(bl_statement_search(ctx, NULL, 0, 10, 5, 0, 10, &s), BL_EINVAL);
	cr_assert_eq(bl_statement_search(ctx, NULL, 0, 0, -1, 0, 0, &s), BL_EINVAL);
	tu_ctx_drop(ctx);
}
