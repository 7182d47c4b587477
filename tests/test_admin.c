/*
 * Admin users and the audit log against real MariaDB: argon2id hashes,
 * one failure message (and comparable work) for unknown user and wrong
 * password, rehash on login, audit pagination and JSON detail.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "testutil.h"

/* A fresh migrated database; fast = BILLING_PWHASH_FAST. */
static bl_ctx *ctx_with(const char *name, bool fast, bool fresh)
{
	bl_config *cfg = tu_config(name);
	cr_assert_eq(bl_config_set(cfg, "BILLING_PWHASH_FAST", fast ? "1" : "0"), BL_OK);
	bl_ctx *ctx;
	cr_assert_eq(bl_ctx_new(&ctx, cfg), BL_OK);
	bl_config_free(cfg);
	if (fresh) {
		cr_assert_eq(bl_ctx_drop_database(ctx), BL_OK, "%s", bl_error_last());
		cr_assert_eq(bl_ctx_create_database(ctx), BL_OK);
		cr_assert_eq(bl_migrate(ctx, NULL), BL_OK, "%s", bl_error_last());
	}
	return ctx;
}

static json_t *load(char *s)
{
	json_t *j = json_loads(s, 0, NULL);
	cr_assert(j, "bad JSON: %s", s);
	bl_free(s);
	return j;
}

Test(admin, create_verify_passwd)
{
	bl_ctx *ctx = ctx_with("admin_basic", true, true);
	int64_t id = 0, vid = 0;
	bl_role role = 0;
	cr_assert_eq(bl_admin_create(ctx, "ops.kim", "correct horse battery", BL_ROLE_OPERATOR, &id), BL_OK,
		     "%s", bl_error_last());
	cr_assert_gt(id, 0);
	cr_assert_eq(bl_admin_create(ctx, "ops.kim", "another password!", BL_ROLE_ADMIN, NULL), BL_ECONFLICT);
	cr_assert(strstr(bl_error_last(), "'ops.kim' already exists"), "%s", bl_error_last());
	cr_assert_eq(bl_admin_create(ctx, "short", "123456789", BL_ROLE_ADMIN, NULL), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "at least 10"), "%s", bl_error_last());
	/* ten characters, more bytes: counted as characters */
	cr_assert_eq(bl_admin_create(ctx, "hangul", "비밀번호비밀번호비밀", BL_ROLE_VIEWER, NULL), BL_OK,
		     "%s", bl_error_last());
	cr_assert_eq(bl_admin_create(ctx, "bad name", "long enough pw", BL_ROLE_ADMIN, NULL), BL_EINVAL);
	cr_assert_eq(bl_admin_create(ctx, "norole", "long enough pw", (bl_role)9, NULL), BL_EINVAL);

	/* stored as an argon2id string, never the password */
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM admin_users WHERE username = 'ops.kim' AND "
				 "password_hash LIKE '$argon2id$%' AND INSTR(password_hash, 'horse') = 0"),
		     1);

	cr_assert_eq(bl_admin_verify(ctx, "ops.kim", "correct horse battery", &vid, &role), BL_OK, "%s",
		     bl_error_last());
	cr_assert_eq(vid, id);
	cr_assert_eq(role, BL_ROLE_OPERATOR);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM admin_users WHERE last_login_at IS NOT NULL"), 1);

	cr_assert_eq(bl_admin_verify(ctx, "ops.kim", "wrong password", &vid, &role), BL_EAUTH);
	char wrong[256];
	snprintf(wrong, sizeof wrong, "%s", bl_error_last());
	cr_assert_eq(bl_admin_verify(ctx, "nobody", "wrong password", &vid, &role), BL_EAUTH);
	cr_assert_str_eq(bl_error_last(), wrong, "unknown user and wrong password look the same");
	cr_assert_eq(bl_admin_verify(ctx, "ops.kim", "", &vid, &role), BL_EAUTH);
	cr_assert_str_eq(bl_error_last(), wrong);
	tu_sql(ctx, "UPDATE admin_users SET disabled = 1 WHERE username = 'hangul'");
	cr_assert_eq(bl_admin_verify(ctx, "hangul", "비밀번호비밀번호비밀", &vid, &role), BL_EAUTH);
	cr_assert_str_eq(bl_error_last(), wrong, "a disabled user looks the same");

	cr_assert_eq(bl_admin_passwd(ctx, "ops.kim", "a brand new secret"), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_admin_verify(ctx, "ops.kim", "correct horse battery", NULL, NULL), BL_EAUTH);
	cr_assert_eq(bl_admin_verify(ctx, "ops.kim", "a brand new secret", NULL, NULL), BL_OK);
	cr_assert_eq(bl_admin_passwd(ctx, "nobody", "a brand new secret"), BL_ENOTFOUND);
	cr_assert_eq(bl_admin_passwd(ctx, "ops.kim", "short"), BL_EINVAL);

	char *s;
	cr_assert_eq(bl_admin_list(ctx, &s), BL_OK);
	cr_assert_null(strstr(s, "argon2"), "the list carries no hashes: %s", s);
	json_t *l = load(s);
	cr_assert_eq(json_array_size(l), 2);
	json_t *h = json_array_get(l, 0); /* ordered by username: hangul, ops.kim */
	cr_assert_str_eq(json_string_value(json_object_get(h, "username")), "hangul");
	cr_assert_str_eq(json_string_value(json_object_get(h, "role")), "VIEWER");
	cr_assert(json_is_true(json_object_get(h, "disabled")));
	json_decref(l);

	bl_role r;
	cr_assert_eq(bl_admin_role_parse("operator", &r), BL_OK);
	cr_assert_eq(r, BL_ROLE_OPERATOR);
	cr_assert_str_eq(bl_admin_role_name(BL_ROLE_VIEWER), "VIEWER");
	cr_assert_eq(bl_admin_role_parse("root", &r), BL_EINVAL);
	tu_ctx_drop(ctx);
}

static double secs(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Production cost: the upgrade of a cheap hash at login, and comparable work for unknown users. */
Test(admin, interactive_cost_rehash_and_timing, .timeout = 120)
{
	bl_ctx *fast = ctx_with("admin_cost", true, true);
	cr_assert_eq(bl_admin_create(fast, "alice", "password-1234", BL_ROLE_ADMIN, NULL), BL_OK);
	bl_ctx *slow = ctx_with("admin_cost", false, false);
	cr_assert_eq(tu_i64(slow, "SELECT COUNT(*) FROM admin_users WHERE password_hash LIKE '%m=8,%'"), 1,
		     "the fast hash uses the minimum memory (8 KiB)");
	cr_assert_eq(bl_admin_verify(slow, "alice", "password-1234", NULL, NULL), BL_OK, "%s", bl_error_last());
	cr_assert_eq(tu_i64(slow, "SELECT COUNT(*) FROM admin_users WHERE password_hash LIKE '%m=65536,%'"),
		     1, "re-hashed with the interactive limits at login");
	cr_assert_eq(bl_admin_verify(fast, "alice", "password-1234", NULL, NULL), BL_OK,
		     "a hash of other limits still verifies");
	cr_assert_eq(tu_i64(slow, "SELECT COUNT(*) FROM admin_users WHERE password_hash LIKE '%m=65536,%'"),
		     1, "a login under BILLING_PWHASH_FAST never weakens a stronger hash");

	/* unknown user vs wrong password: both cost one argon2id run (best of 7,
	 * the order alternating, so that a busy machine slows both alike) */
	bl_admin_passwd(slow, "alice", "password-1234");
	double wrong = 1e9, unknown = 1e9;
	for (int i = 0; i < 7; i++) {
		for (int k = 0; k < 2; k++) {
			bool known = (i + k) % 2 == 0;
			double t0 = secs();
			cr_assert_eq(bl_admin_verify(slow, known ? "alice" : "mallory", "wrong-password", NULL, NULL),
				     BL_EAUTH);
			double t = secs() - t0;
			if (known)
				wrong = t < wrong ? t : wrong;
			else
				unknown = t < unknown ? t : unknown;
		}
	}
	cr_assert_gt(unknown, wrong * 0.5, "unknown user %.3fs vs wrong password %.3fs", unknown, wrong);
	cr_assert_gt(wrong, unknown * 0.5, "unknown user %.3fs vs wrong password %.3fs", unknown, wrong);
	bl_ctx_free(slow);
	tu_ctx_drop(fast);
}

Test(audit, record_and_list)
{
	bl_ctx *ctx = ctx_with("audit", true, true);
	char *s;
	cr_assert_eq(bl_audit_list(ctx, 0, 10, &s), BL_OK);
	json_t *l = load(s);
	cr_assert_eq(json_array_size(l), 0);
	json_decref(l);
	for (int i = 1; i <= 5; i++) {
		char detail[64];
		snprintf(detail, sizeof detail, "{\"n\":%d,\"who\":\"관리자\"}", i);
		cr_assert_eq(bl_audit_record(ctx, "admin", "group.add", "G1", detail), BL_OK, "%s",
			     bl_error_last());
	}
	cr_assert_eq(bl_audit_record(ctx, "cli:root", "batch.stop", NULL, NULL), BL_OK);
	cr_assert_eq(bl_audit_record(ctx, "admin", "x", "t", "{not json"), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "not JSON"), "%s", bl_error_last());
	cr_assert_eq(bl_audit_record(ctx, "", "x", NULL, NULL), BL_EINVAL);
	cr_assert_eq(bl_audit_record(ctx, "a", "", NULL, NULL), BL_EINVAL);

	cr_assert_eq(bl_audit_list(ctx, 0, 4, &s), BL_OK, "%s", bl_error_last());
	l = load(s);
	cr_assert_eq(json_array_size(l), 4);
	json_t *first = json_array_get(l, 0);
	cr_assert_str_eq(json_string_value(json_object_get(first, "action")), "batch.stop", "newest first");
	cr_assert(json_is_null(json_object_get(first, "detail")));
	cr_assert_str_eq(json_string_value(json_object_get(first, "target")), "");
	json_t *second = json_array_get(l, 1);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(second, "detail"), "n")), 5,
		     "detail comes back as JSON");
	cr_assert_eq(strlen(json_string_value(json_object_get(second, "at"))), 23, "millisecond time");
	int64_t cursor = json_integer_value(json_object_get(json_array_get(l, 3), "id"));
	json_decref(l);
	cr_assert_eq(bl_audit_list(ctx, cursor, 4, &s), BL_OK);
	l = load(s);
	cr_assert_eq(json_array_size(l), 2, "the rest after the cursor");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(json_array_get(l, 1), "detail"), "n")),
		     1);
	json_decref(l);
	cr_assert_eq(bl_audit_list(ctx, 0, 0, &s), BL_EINVAL);
	tu_ctx_drop(ctx);
}

static size_t count_search(bl_ctx *ctx, const bl_audit_filter *f, json_t **out)
{
	char *s = NULL;
	cr_assert_eq(bl_audit_search(ctx, f, &s), BL_OK, "%s", bl_error_last());
	json_t *l = load(s);
	size_t n = json_array_size(l);
	if (out)
		*out = l;
	else
		json_decref(l);
	return n;
}

/* The audit page's filters: actor, action (exact or a prefix ending in '.'),
 * a KST time range whose upper bound takes the whole day/minute named, and
 * the cursor; entries at fixed instants on the context's clock. */
Test(audit, search_filters)
{
	bl_ctx *ctx = ctx_with("audit_search", true, true);
	struct {
		int d, h, mi;
		const char *actor, *action;
	} rows[] = {
		{ 3, 23, 59, "alice", "template.save" }, { 4, 0, 0, "alice", "template.disable" },
		{ 4, 9, 30, "bob", "group.add" },        { 4, 23, 59, "bob", "template.save" },
		{ 5, 0, 0, "cli:root", "batch.stop" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		cr_assert_eq(bl_ctx_set_time(ctx, tu_seoul(2026, 12, rows[i].d, rows[i].h, rows[i].mi, 0) * 1000000),
			     BL_OK);
		cr_assert_eq(bl_audit_record(ctx, rows[i].actor, rows[i].action, "T", NULL), BL_OK, "%s",
			     bl_error_last());
	}
	bl_audit_filter f;
	cr_assert_eq(bl_audit_filter_init(&f, BL_AUDIT_FILTER_VERSION), BL_OK);
	cr_assert_eq(bl_audit_filter_init(&f, BL_AUDIT_FILTER_VERSION + 1), BL_EINVAL);
	cr_assert_eq(count_search(ctx, &f, NULL), 5);

	f.actor = "alice";
	cr_assert_eq(count_search(ctx, &f, NULL), 2);
	f.actor = "ali";
	cr_assert_eq(count_search(ctx, &f, NULL), 0, "the actor is matched exactly");
	f.actor = NULL;

	f.action = "template.save";
	cr_assert_eq(count_search(ctx, &f, NULL), 2);
	f.action = "template.";
	cr_assert_eq(count_search(ctx, &f, NULL), 3, "a prefix ending in '.'");
	f.action = "template";
	cr_assert_eq(count_search(ctx, &f, NULL), 0, "no prefix without the dot");
	f.action = "template.";
	f.actor = "bob";
	json_t *l;
	cr_assert_eq(count_search(ctx, &f, &l), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(l, 0), "at")), "2026-12-04 23:59:00.000",
			 "at is KST");
	json_decref(l);
	f.actor = f.action = NULL;

	/* one Seoul day: from its 00:00 through its 23:59:59.999 */
	f.from = "2026-12-04";
	f.to = "2026-12-04";
	cr_assert_eq(count_search(ctx, &f, &l), 3);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(l, 0), "action")), "template.save",
			 "newest first");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(l, 2), "action")), "template.disable");
	json_decref(l);
	f.from = "2026-12-04T09:30"; /* as a datetime-local input sends it */
	f.to = "2026-12-04 09:30";
	cr_assert_eq(count_search(ctx, &f, NULL), 1, "the minute named, whole");
	f.to = "2026-12-04 09:29:59";
	cr_assert_eq(count_search(ctx, &f, NULL), 0);
	f.from = NULL;
	f.to = "2026-12-03";
	cr_assert_eq(count_search(ctx, &f, NULL), 1);
	f.to = NULL;
	f.from = "2026-12-05 00:00:00";
	cr_assert_eq(count_search(ctx, &f, NULL), 1);
	f.from = NULL;

	/* pages of two, newest first */
	f.limit = 2;
	cr_assert_eq(count_search(ctx, &f, &l), 2);
	f.before_id = json_integer_value(json_object_get(json_array_get(l, 1), "id"));
	json_decref(l);
	cr_assert_eq(count_search(ctx, &f, NULL), 2);
	f.limit = 100;
	cr_assert_eq(count_search(ctx, &f, NULL), 3, "the rest below the cursor");
	f.before_id = 0;

	char *s = NULL;
	const char *bad[] = { "2026-13-01", "2026-02-29", "2026-12-04 24:00", "2026-12-4", "yesterday",
			      "2026-12-04 10:00:00x" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		f.from = bad[i];
		cr_assert_eq(bl_audit_search(ctx, &f, &s), BL_EINVAL, "%s", bad[i]);
		cr_assert(strstr(bl_error_last(), "from '"), "%s", bl_error_last());
	}
	f.from = "2028-02-29";
	cr_assert_eq(count_search(ctx, &f, NULL), 0, "a leap day is a day");
	f.from = NULL;
	f.limit = 0;
	cr_assert_eq(bl_audit_search(ctx, &f, &s), BL_EINVAL);
	f.limit = 10;
	f.version = 99;
	cr_assert_eq(bl_audit_search(ctx, &f, &s), BL_EINVAL);
	cr_assert_eq(bl_audit_search(ctx, NULL, &s), BL_EINVAL);
	tu_ctx_drop(ctx);
}
