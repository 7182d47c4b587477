/*
 * Integration tests of the data generator (seed.c + seed_data.c) on MariaDB:
 * determinism, shares, idempotency, growth, lookups of seeded subscribers
 * and option checks.  Each test seeds its own database(s).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "testutil.h"

#define EXPECT_MSG(needle) \
	cr_expect(strstr(bl_error_last(), (needle)), "message '%s' lacks '%s'", bl_error_last(), (needle))

/* Order-independent checksums of the plain data (and blind indexes). */
#define USERS_SUM(where)                                                                     \
	"SELECT COALESCE(SUM(CRC32(CONCAT_WS(',', id, name, HEX(phone_bidx), HEX(email_bidx), " \
	"preferred_channel, consent_email, consent_sms))), 0) FROM users " where
#define CHARGES_SUM(where)                                                                   \
	"SELECT COALESCE(SUM(CRC32(CONCAT_WS(',', user_id, service_id, "                     \
	"DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s'), charged_price, contract_discount_price, " \
	"bundled_discount_price, premier_discount_price))), 0) FROM charged_histories " where
#define MEMBERS_SUM(where)                                                                  \
	"SELECT COALESCE(SUM(CRC32(CONCAT_WS(',', g.code, m.user_id))), 0) "                \
	"FROM user_group_members m JOIN user_groups g ON g.id = m.group_id " where

static bl_seed_stats seed(bl_ctx *ctx, int64_t users, const char *month, uint64_t s, int permille)
{
	bl_seed_opts o;
	cr_assert_eq(bl_seed_opts_init(&o, BL_SEED_OPTS_VERSION), BL_OK);
	o.users = users;
	o.month = month;
	o.seed = s;
	o.invalid_permille = permille;
	bl_seed_stats st;
	memset(&st, 0xff, sizeof st);
	cr_assert_eq(bl_seed_run(ctx, &o, &st), BL_OK, "seed %lld users %s: %s", (long long)users,
		     month, bl_error_last());
	return st;
}

Test(seed, deterministic)
{
	bl_ctx *a = tu_ctx_fresh("seed_det_a"), *b = tu_ctx_fresh("seed_det_b"),
	       *c = tu_ctx_fresh("seed_det_c");
	/* same seed, different sizes: the first 1500 are the same */
	bl_seed_stats sa = seed(a, 3000, "2026-10", 42, 5);
	bl_seed_stats sb = seed(b, 1500, "2026-10", 42, 5);
	seed(c, 1500, "2026-10", 43, 5);
	cr_expect_eq(sa.users_created, 3000);
	cr_expect_eq(sb.users_created, 1500);
	cr_expect_eq(sa.services, 20);

	long long ua = tu_i64(a, USERS_SUM("WHERE id <= 1500"));
	long long ub = tu_i64(b, USERS_SUM("WHERE id <= 1500"));
	cr_expect_neq(ua, 0);
	cr_expect_eq(ua, ub, "same seed: subscribers 1..1500 differ");
	long long ca = tu_i64(a, CHARGES_SUM("WHERE user_id <= 1500"));
	long long cb = tu_i64(b, CHARGES_SUM(""));
	cr_expect_eq(ca, cb, "same seed: charges of subscribers 1..1500 differ");
	cr_expect_eq(tu_i64(a, "SELECT COUNT(*) FROM charged_histories WHERE user_id <= 1500"),
		     tu_i64(b, "SELECT COUNT(*) FROM charged_histories"));
	cr_expect_eq(tu_i64(a, MEMBERS_SUM("WHERE m.user_id <= 1500")), tu_i64(b, MEMBERS_SUM("")),
		     "same seed: group members differ");
	/* the stored charge rows in id order are the same too */
	cr_expect_eq(tu_i64(a, "SELECT COALESCE(SUM(CRC32(CONCAT_WS(',', id, user_id, service_id, "
			       "charged_price))), 0) FROM charged_histories WHERE user_id <= 1500"),
		     tu_i64(b, "SELECT COALESCE(SUM(CRC32(CONCAT_WS(',', id, user_id, service_id, "
			       "charged_price))), 0) FROM charged_histories"));
	/* ciphertexts carry random nonces */
	cr_expect_neq(tu_i64(a, "SELECT SUM(CRC32(phone_enc)) FROM users WHERE id <= 1500"),
		      tu_i64(b, "SELECT SUM(CRC32(phone_enc)) FROM users"));

	/* row by row, across the databases */
	char sql[1024];
	const char *dbb = bl_config_get(bl_ctx_config(b), "MYSQL_DATABASE");
	const char *dbc = bl_config_get(bl_ctx_config(c), "MYSQL_DATABASE");
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users x JOIN `%s`.users y ON y.id = x.id "
		 "AND y.name = x.name AND y.phone_bidx = x.phone_bidx AND y.email_bidx = x.email_bidx", dbb);
	cr_expect_eq(tu_i64(a, sql), 1500);
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM charged_histories x JOIN `%s`.charged_histories y "
		 "ON y.id = x.id AND y.user_id = x.user_id AND y.service_id = x.service_id "
		 "AND y.created_at = x.created_at AND y.charged_price = x.charged_price "
		 "AND y.contract_discount_price = x.contract_discount_price "
		 "AND y.bundled_discount_price = x.bundled_discount_price "
		 "AND y.premier_discount_price = x.premier_discount_price", dbb);
	cr_expect_eq(tu_i64(a, sql), tu_i64(b, "SELECT COUNT(*) FROM charged_histories"));

	/* another seed: other names and charges (phone numbers do not depend
	 * on the seed, so that databases grown with several stay unique) */
	cr_expect_neq(tu_i64(c, USERS_SUM("")), ub);
	cr_expect_neq(tu_i64(c, CHARGES_SUM("")), cb);
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users x JOIN `%s`.users y ON y.id = x.id "
		 "AND y.name = x.name", dbc);
	long long same = tu_i64(b, sql);
	cr_expect_lt(same, 150, "%lld of 1500 names equal under another seed", same);
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users x JOIN `%s`.users y ON y.id = x.id "
		 "AND y.email_bidx = x.email_bidx", dbc);
	cr_expect_lt(tu_i64(b, sql), 150);
	tu_ctx_drop(a);
	tu_ctx_drop(b);
	tu_ctx_drop(c);
}

static int64_t last_done, last_total, calls;
static void on_progress(int64_t done, int64_t total, void *payload)
{
	cr_expect_eq(payload, &calls);
	cr_expect_leq(done, total);
	last_done = done;
	last_total = total;
	calls++;
}

Test(seed, shares_and_invalid_rows)
{
	bl_ctx *ctx = tu_ctx_fresh("seed_shares");
	bl_seed_opts o = BL_SEED_OPTS_INIT;
	o.users = 20000;
	o.month = "2026-10";
	o.seed = 7;
	o.invalid_permille = 5;
	o.progress_cb = on_progress;
	o.progress_payload = &calls;
	bl_seed_stats st;
	cr_assert_eq(bl_seed_run(ctx, &o, &st), BL_OK, "%s", bl_error_last());
	cr_expect_gt(calls, 0);
	cr_expect_eq(last_done, last_total, "the last progress call reports completion");
	cr_expect_eq(last_total, 40000);

	cr_expect_eq(st.users_created, 20000);
	cr_expect_eq(st.users_total, 20000);
	cr_expect_eq(st.services, 20);
	cr_expect_eq(st.charges, tu_i64(ctx, "SELECT COUNT(*) FROM charged_histories"));
	cr_expect_geq(st.seconds, 0.0);

	/* invalid rows: exactly the subscribers counted, about 5 per 1000 */
	long long bad = tu_i64(ctx,
			       "SELECT COUNT(DISTINCT c.user_id) FROM charged_histories c "
			       "LEFT JOIN services s ON s.id = c.service_id WHERE s.id IS NULL "
			       "OR c.charged_price < 0 OR c.contract_discount_price < 0 "
			       "OR c.bundled_discount_price < 0 OR c.premier_discount_price < 0");
	cr_expect_eq(st.invalid_users, bad);
	cr_expect(bad >= 60 && bad <= 140, "%lld invalid subscribers for 20,000 at 5 per mille", bad);
	cr_expect_gt(tu_i64(ctx, "SELECT COUNT(*) FROM charged_histories WHERE charged_price < 0"), 0);
	cr_expect_gt(tu_i64(ctx, "SELECT COUNT(*) FROM charged_histories WHERE service_id = 9999"), 0);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM (SELECT user_id FROM charged_histories "
				 "WHERE user_id IN (SELECT user_id FROM charged_histories WHERE "
				 "charged_price < 0 OR service_id = 9999) GROUP BY user_id "
				 "HAVING COUNT(*) < 2) t"),
		     0, "an invalid row comes on top of valid ones");

	/* about 3 charges per subscriber, exactly one PLAN each */
	cr_expect(st.charges >= 20000 * 28 / 10 && st.charges <= 20000 * 32 / 10,
		  "%lld charges for 20,000 subscribers", (long long)st.charges);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM (SELECT c.user_id FROM charged_histories c "
				 "JOIN services s ON s.id = c.service_id AND s.type = 'PLAN' "
				 "GROUP BY c.user_id HAVING COUNT(*) = 1) t"),
		     20000);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(DISTINCT user_id) FROM charged_histories"), 20000);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM charged_histories WHERE created_at < "
				 "'2026-10-01' OR created_at >= '2026-11-01'"),
		     0);
	/* MCP amounts: 1,000 .. 50,000 in steps of 100 */
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM charged_histories c JOIN services s ON "
				 "s.id = c.service_id AND s.type = 'MCP' WHERE c.charged_price >= 0 "
				 "AND (c.charged_price < 1000 OR c.charged_price > 50000 "
				 "OR c.charged_price % 100 <> 0)"),
		     0);

	/* discounts: 선택약정 ≈55 %, 결합 ≈30 %, some lines over their price */
	long long contract = tu_i64(ctx, "SELECT COUNT(*) FROM charged_histories c JOIN services s "
					 "ON s.id = c.service_id AND s.type = 'PLAN' WHERE "
					 "c.contract_discount_price = c.charged_price * 25 / 100");
	long long bundle = tu_i64(ctx, "SELECT COUNT(*) FROM charged_histories "
				       "WHERE bundled_discount_price IN (5500, 11000)");
	cr_expect(contract >= 10000 && contract <= 12000, "contract discounts on %lld plans", contract);
	cr_expect(bundle >= 5400 && bundle <= 6600, "bundle discounts on %lld plans", bundle);
	cr_expect_gt(tu_i64(ctx, "SELECT COUNT(*) FROM charged_histories WHERE charged_price >= 0 AND "
				 "contract_discount_price + bundled_discount_price + "
				 "premier_discount_price > charged_price"),
		     0, "no line exercises the discount cap");
	cr_expect_gt(tu_i64(ctx, "SELECT COUNT(*) FROM charged_histories WHERE premier_discount_price > 0"), 0);

	/* groups: VIP ≈5 %, members counted */
	cr_expect_eq(st.group_members, tu_i64(ctx, "SELECT COUNT(*) FROM user_group_members"));
	long long vip = tu_i64(ctx, "SELECT COUNT(*) FROM user_group_members m JOIN user_groups g "
				    "ON g.id = m.group_id WHERE g.code = 'VIP'");
	cr_expect(vip >= 700 && vip <= 1300, "%lld VIP members among 20,000", vip);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM user_group_members m JOIN user_groups g "
				 "ON g.id = m.group_id WHERE g.code = 'SMS_PREFERRED'"),
		     tu_i64(ctx, "SELECT COUNT(*) FROM users WHERE preferred_channel = 'SMS'"));
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM user_groups WHERE kind = 'ALL'"), 1);
	long long email = tu_i64(ctx, "SELECT COUNT(*) FROM users WHERE preferred_channel = 'EMAIL'");
	cr_expect(email >= 13000 && email <= 15000, "%lld of 20,000 prefer e-mail", email);
	tu_ctx_drop(ctx);
}

Test(seed, month_reseed_refused)
{
	bl_ctx *ctx = tu_ctx_fresh("seed_again");
	bl_seed_stats st = seed(ctx, 1000, "2026-10", 1, 3);
	long long users = tu_i64(ctx, "SELECT COUNT(*) FROM users");
	long long charges = tu_i64(ctx, "SELECT COUNT(*) FROM charged_histories");
	cr_expect_eq(charges, st.charges);

	bl_seed_opts o = BL_SEED_OPTS_INIT;
	o.users = 2000; /* would also create subscribers: nothing may be written */
	o.month = "2026-10";
	cr_expect_eq(bl_seed_run(ctx, &o, NULL), BL_ECONFLICT);
	EXPECT_MSG("2026-10");
	char n[32];
	snprintf(n, sizeof n, "%lld", charges);
	EXPECT_MSG(n);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM users"), users);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM charged_histories"), charges);

	/* another month is fine, and the catalogue is not doubled */
	st = seed(ctx, 1000, "2026-11", 1, 3);
	cr_expect_eq(st.users_created, 0);
	cr_expect_eq(st.group_members, 0);
	cr_expect_eq(st.services, 20);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM user_groups"), 4);
	tu_ctx_drop(ctx);
}

Test(seed, grow_creates_only_missing)
{
	bl_ctx *ctx = tu_ctx_fresh("seed_grow");
	bl_seed_stats s1 = seed(ctx, 1000, "2026-09", 5, 3);
	cr_expect_eq(s1.users_created, 1000);
	long long before = tu_i64(ctx, USERS_SUM("WHERE id <= 1000"));
	/* a hole: these ten are created again, identical */
	tu_sql(ctx, "DELETE FROM users WHERE id BETWEEN 100 AND 109");
	bl_seed_stats s2 = seed(ctx, 2000, "2026-10", 5, 3);
	cr_expect_eq(s2.users_created, 1010);
	cr_expect_eq(s2.users_total, 2000);
	cr_expect_eq(tu_i64(ctx, "SELECT MAX(id) FROM users"), 2000);
	cr_expect_eq(tu_i64(ctx, USERS_SUM("WHERE id <= 1000")), before);
	/* members of the ten recreated ones were still there (no FK): kept */
	cr_expect_eq(s2.group_members,
		     tu_i64(ctx, "SELECT COUNT(*) FROM user_group_members WHERE user_id > 1000"));
	cr_expect_eq(s1.group_members + s2.group_members,
		     tu_i64(ctx, "SELECT COUNT(*) FROM user_group_members"));
	/* the month covers every subscriber 1..2000, the earlier one only 1..1000 */
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(DISTINCT user_id) FROM charged_histories "
				 "WHERE created_at >= '2026-10-01'"),
		     2000);
	cr_expect_eq(tu_i64(ctx, "SELECT MAX(user_id) FROM charged_histories "
				 "WHERE created_at < '2026-10-01'"),
		     1000);
	/* the same size again: nothing to create */
	bl_seed_stats s3 = seed(ctx, 2000, "2026-11", 5, 3);
	cr_expect_eq(s3.users_created, 0);
	cr_expect_eq(s3.users_total, 2000);
	tu_ctx_drop(ctx);
}

Test(seed, seeded_user_found_by_phone_and_email)
{
	bl_ctx *ctx = tu_ctx_fresh("seed_find");
	seed(ctx, 500, "2026-10", 11, 3);
	char *js = NULL;
	cr_assert_eq(bl_user_get(ctx, 123, true, &js), BL_OK, "%s", bl_error_last());
	json_error_t err;
	json_t *u = json_loads(js, 0, &err);
	bl_free(js);
	cr_assert(u, "%s", err.text);
	const char *phone = json_string_value(json_object_get(u, "phone"));
	const char *email = json_string_value(json_object_get(u, "email"));
	const char *name = json_string_value(json_object_get(u, "name"));
	cr_assert(phone && email && name);
	cr_expect_eq(strlen(phone), 11, "phone '%s' (digits, normalised)", phone);
	cr_expect_eq(strncmp(phone, "010", 3), 0, "phone '%s'", phone);
	cr_expect(strstr(email, "123@"), "e-mail '%s' carries the subscriber number", email);
	cr_expect_geq(strlen(name), 9, "name '%s': surname + two syllables", name);

	int64_t id = 0;
	cr_expect_eq(bl_user_find_by_phone(ctx, phone, &id), BL_OK, "%s", bl_error_last());
	cr_expect_eq(id, 123);
	char dashed[20];
	snprintf(dashed, sizeof dashed, "%.3s-%.4s-%.4s", phone, phone + 3, phone + 7);
	id = 0;
	cr_expect_eq(bl_user_find_by_phone(ctx, dashed, &id), BL_OK, "%s", bl_error_last());
	cr_expect_eq(id, 123);
	id = 0;
	cr_expect_eq(bl_user_find_by_email(ctx, email, &id), BL_OK, "%s", bl_error_last());
	cr_expect_eq(id, 123);
	char upper[128];
	snprintf(upper, sizeof upper, "  %s ", email);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	id = 0;
	cr_expect_eq(bl_user_find_by_email(ctx, upper, &id), BL_OK, "%s", bl_error_last());
	cr_expect_eq(id, 123);
	json_decref(u);

	/* masked by default; every phone and e-mail is distinct */
	cr_assert_eq(bl_user_get(ctx, 7, false, &js), BL_OK);
	cr_expect(strstr(js, "010-****-"), "%s", js);
	bl_free(js);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(DISTINCT phone_bidx) FROM users"), 500);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(DISTINCT email_bidx) FROM users"), 500);
	tu_ctx_drop(ctx);
}

Test(seed, bad_options)
{
	bl_config *cfg = tu_config("seed_opts");
	bl_ctx *ctx = NULL;
	cr_assert_eq(bl_ctx_new(&ctx, cfg), BL_OK);
	bl_config_free(cfg);
	bl_seed_opts o;
	cr_expect_eq(bl_seed_opts_init(&o, 99), BL_EINVAL);
	cr_expect_eq(bl_seed_opts_init(NULL, BL_SEED_OPTS_VERSION), BL_EINVAL);
	cr_assert_eq(bl_seed_opts_init(&o, BL_SEED_OPTS_VERSION), BL_OK);
	cr_expect_eq(o.users, 10000);
	cr_expect_eq(o.invalid_permille, 3);
	o.month = "2026-10";

	o.users = 0;
	cr_expect_eq(bl_seed_run(ctx, &o, NULL), BL_EINVAL);
	EXPECT_MSG("users");
	o.users = 100000001;
	cr_expect_eq(bl_seed_run(ctx, &o, NULL), BL_EINVAL);
	EXPECT_MSG("users");
	o.users = 10;

	o.month = "2026-13";
	cr_expect_eq(bl_seed_run(ctx, &o, NULL), BL_EINVAL);
	char expected[2048];
	cr_expect_eq(bl_month_parse("2026-13", NULL, NULL), BL_EINVAL);
	snprintf(expected, sizeof expected, "%s", bl_error_last());
	cr_expect_eq(bl_seed_run(ctx, &o, NULL), BL_EINVAL);
	cr_expect_str_eq(bl_error_last(), expected);
	EXPECT_MSG("2026-13");
	o.month = NULL;
	cr_expect_eq(bl_seed_run(ctx, &o, NULL), BL_EINVAL);
	EXPECT_MSG("month");
	o.month = "2026-10";

	o.invalid_permille = -1;
	cr_expect_eq(bl_seed_run(ctx, &o, NULL), BL_EINVAL);
	EXPECT_MSG("invalid_permille");
	o.invalid_permille = 1001;
	cr_expect_eq(bl_seed_run(ctx, &o, NULL), BL_EINVAL);
	EXPECT_MSG("invalid_permille");
	o.invalid_permille = 3;

	o.version = 2;
	cr_expect_eq(bl_seed_run(ctx, &o, NULL), BL_EINVAL);
	cr_expect_eq(bl_seed_run(NULL, NULL, NULL), BL_EINVAL);
	bl_ctx_free(ctx);
}
