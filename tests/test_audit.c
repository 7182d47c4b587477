/*
 * The library audits its own changes (docs/audit.md): each mutating call
 * records exactly one entry under the context's actor (bl_ctx_set_actor;
 * "system" without one), in the same transaction as the change; a refused
 * change, or one rolled back, records none.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "testutil.h"

static bl_ctx *fresh(const char *name)
{
	bl_ctx *ctx = tu_ctx_fresh(name);
	bl_config *cfg = tu_config(name);
	cr_assert_eq(bl_config_set(cfg, "BILLING_PWHASH_FAST", "1"), BL_OK);
	bl_ctx *c;
	cr_assert_eq(bl_ctx_new(&c, cfg), BL_OK);
	bl_config_free(cfg);
	bl_ctx_free(ctx);
	return c;
}

static long long entries(bl_ctx *ctx) { return tu_i64(ctx, "SELECT COUNT(*) FROM audit_log"); }

/* The newest entry: its actor, action, target and detail (NULL: none), checked. */
static void newest_is(bl_ctx *ctx, const char *actor, const char *action, const char *target, const char *key,
		      long long num, const char *str)
{
	char *s = NULL;
	cr_assert_eq(bl_audit_list(ctx, 0, 1, &s), BL_OK, "%s", bl_error_last());
	json_t *rows = json_loads(s, 0, NULL);
	bl_free(s);
	json_t *e = json_array_get(rows, 0);
	cr_assert(e, "an entry");
	cr_assert_str_eq(json_string_value(json_object_get(e, "actor")), actor);
	cr_assert_str_eq(json_string_value(json_object_get(e, "action")), action);
	cr_assert_str_eq(json_string_value(json_object_get(e, "target")), target);
	if (key) {
		json_t *v = json_object_get(json_object_get(e, "detail"), key);
		if (str)
			cr_assert_str_eq(json_string_value(v), str, "detail %s", key);
		else
			cr_assert_eq(json_integer_value(v), num, "detail %s", key);
	}
	json_decref(rows);
}

Test(audit_lib, actor_of_the_context)
{
	bl_ctx *ctx;
	cr_assert_eq(bl_ctx_new(&ctx, NULL), BL_OK);
	cr_assert_null(bl_ctx_actor(ctx));
	cr_assert_eq(bl_ctx_set_actor(ctx, "alice"), BL_OK);
	cr_assert_str_eq(bl_ctx_actor(ctx), "alice");
	cr_assert_eq(bl_ctx_set_actor(ctx, ""), BL_EINVAL);
	char long_name[200];
	memset(long_name, 'x', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	cr_assert_eq(bl_ctx_set_actor(ctx, long_name), BL_EINVAL);
	cr_assert_str_eq(bl_ctx_actor(ctx), "alice", "a refused name leaves the actor");
	cr_assert_eq(bl_ctx_set_actor(ctx, NULL), BL_OK);
	cr_assert_null(bl_ctx_actor(ctx));
	cr_assert_eq(bl_ctx_set_actor(NULL, "x"), BL_EINVAL);
	cr_assert_null(bl_ctx_actor(NULL));
	bl_ctx_free(ctx);
}

Test(audit_lib, one_entry_per_change_under_the_actor)
{
	bl_ctx *ctx = fresh("audit_lib_one");
	long long n0 = entries(ctx);
	cr_assert_eq(bl_ctx_set_actor(ctx, "alice"), BL_OK);

	cr_assert_eq(bl_group_create(ctx, "AUD_G", "감사 그룹", NULL, NULL), BL_OK, "%s", bl_error_last());
	cr_assert_eq(entries(ctx), n0 + 1);
	newest_is(ctx, "alice", "group.create", "group:AUD_G", "name", 0, "감사 그룹");

	cr_assert_eq(bl_group_update(ctx, "AUD_G", "새 이름", NULL), BL_OK, "%s", bl_error_last());
	cr_assert_eq(entries(ctx), n0 + 2);
	newest_is(ctx, "alice", "group.update", "group:AUD_G", "name", 0, "새 이름");

	tu_sql(ctx, "INSERT INTO users (id, name, phone_enc, email_enc, phone_bidx, email_bidx) VALUES "
		    "(1, 'x', '', '', UNHEX(REPEAT('01', 16)), UNHEX(REPEAT('02', 16)))");
	cr_assert_eq(bl_group_add(ctx, "AUD_G", 1), BL_OK, "%s", bl_error_last());
	cr_assert_eq(entries(ctx), n0 + 3);
	newest_is(ctx, "alice", "group.add", "group:AUD_G", "user_id", 1, NULL);
	cr_assert_eq(bl_group_add(ctx, "AUD_G", 1), BL_OK, "idempotent");
	cr_assert_eq(entries(ctx), n0 + 3, "already a member: nothing changed, no entry");
	cr_assert_eq(bl_group_remove(ctx, "AUD_G", 1), BL_OK);
	cr_assert_eq(entries(ctx), n0 + 4);
	newest_is(ctx, "alice", "group.remove", "group:AUD_G", "user_id", 1, NULL);
	cr_assert_eq(bl_group_remove(ctx, "AUD_G", 1), BL_OK);
	cr_assert_eq(entries(ctx), n0 + 4, "not a member: no entry");

	cr_assert_eq(bl_group_delete(ctx, "AUD_G"), BL_OK, "%s", bl_error_last());
	cr_assert_eq(entries(ctx), n0 + 5);
	newest_is(ctx, "alice", "group.delete", "group:AUD_G", NULL, 0, NULL);

	/* another admin on the same context; then none: "system" */
	cr_assert_eq(bl_ctx_set_actor(ctx, "bob"), BL_OK);
	cr_assert_eq(bl_admin_create(ctx, "carol", "correct horse battery", BL_ROLE_VIEWER, NULL), BL_OK,
		     "%s", bl_error_last());
	cr_assert_eq(entries(ctx), n0 + 6);
	newest_is(ctx, "bob", "admin.create", "admin:carol", "role", 0, "VIEWER");
	cr_assert_eq(bl_admin_passwd(ctx, "carol", "another long secret"), BL_OK, "%s", bl_error_last());
	cr_assert_eq(entries(ctx), n0 + 7);
	newest_is(ctx, "bob", "admin.passwd", "admin:carol", NULL, 0, NULL);
	cr_assert_eq(bl_ctx_set_actor(ctx, NULL), BL_OK);
	cr_assert_eq(bl_template_set_enabled(ctx, "DEFAULT_BILLING_SMS", false), BL_OK, "%s", bl_error_last());
	cr_assert_eq(entries(ctx), n0 + 8);
	newest_is(ctx, "system", "template.disable", "template:DEFAULT_BILLING_SMS", NULL, 0, NULL);
	cr_assert_eq(bl_ctx_set_actor(ctx, "alice"), BL_OK);
	cr_assert_eq(bl_template_set_enabled(ctx, "DEFAULT_BILLING_SMS", true), BL_OK, "%s", bl_error_last());
	newest_is(ctx, "alice", "template.enable", "template:DEFAULT_BILLING_SMS", NULL, 0, NULL);

	/* bl_audit_record without an actor takes the context's */
	cr_assert_eq(bl_audit_record(ctx, NULL, "test.note", "t", NULL), BL_OK, "%s", bl_error_last());
	newest_is(ctx, "alice", "test.note", "t", NULL, 0, NULL);
	cr_assert_eq(bl_ctx_set_actor(ctx, NULL), BL_OK);
	cr_assert_eq(bl_audit_record(ctx, NULL, "test.note", "t", NULL), BL_EINVAL, "no actor anywhere");
	tu_ctx_drop(ctx);
}

Test(audit_lib, refused_changes_record_nothing)
{
	bl_ctx *ctx = fresh("audit_lib_refused");
	cr_assert_eq(bl_ctx_set_actor(ctx, "alice"), BL_OK);
	cr_assert_eq(bl_group_create(ctx, "AUD_G", "g", NULL, NULL), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_admin_create(ctx, "carol", "correct horse battery", BL_ROLE_VIEWER, NULL), BL_OK);
	long long n0 = entries(ctx);
	cr_assert_eq(bl_group_create(ctx, "AUD_G", "again", NULL, NULL), BL_ECONFLICT);
	cr_assert(strstr(bl_error_last(), "already exists"), "%s", bl_error_last());
	cr_assert_eq(bl_group_delete(ctx, "USER_ALL"), BL_ECONFLICT);
	cr_assert_eq(bl_group_update(ctx, "NO_SUCH", "x", NULL), BL_ENOTFOUND);
	cr_assert_eq(bl_group_add(ctx, "AUD_G", 999999), BL_ENOTFOUND);
	cr_assert_eq(bl_admin_create(ctx, "carol", "correct horse battery", BL_ROLE_VIEWER, NULL), BL_ECONFLICT);
	cr_assert(strstr(bl_error_last(), "'carol' already exists"), "%s", bl_error_last());
	cr_assert_eq(bl_admin_passwd(ctx, "nobody", "another long secret"), BL_ENOTFOUND);
	cr_assert_eq(bl_template_set_enabled(ctx, "NO_SUCH_TEMPLATE", true), BL_ENOTFOUND);
	cr_assert_eq(bl_message_retry(ctx, 424242), BL_ENOTFOUND);
	cr_assert_eq(bl_reservation_cancel(ctx, 424242), BL_ENOTFOUND);
	cr_assert_eq(bl_batch_stop(ctx, 424242), BL_ENOTFOUND);
	cr_assert_eq(bl_batch_resume(ctx, 424242, NULL), BL_ENOTFOUND);
	cr_assert_eq(entries(ctx), n0, "no entry for a change that did not happen");
	tu_ctx_drop(ctx);
}

/* The entry is part of the change: when it cannot be written, the change is rolled back. */
Test(audit_lib, no_entry_no_change)
{
	bl_ctx *ctx = fresh("audit_lib_rollback");
	cr_assert_eq(bl_ctx_set_actor(ctx, "alice"), BL_OK);
	cr_assert_eq(bl_group_create(ctx, "AUD_KEEP", "g", NULL, NULL), BL_OK, "%s", bl_error_last());
	long long n0 = entries(ctx);
	tu_sql(ctx, "RENAME TABLE audit_log TO audit_log_away");
	cr_assert_neq(bl_group_create(ctx, "AUD_G", "g", NULL, NULL), BL_OK);
	cr_assert_neq(bl_group_delete(ctx, "AUD_KEEP"), BL_OK);
	cr_assert_neq(bl_admin_create(ctx, "dave", "correct horse battery", BL_ROLE_VIEWER, NULL), BL_OK);
	cr_assert_neq(bl_template_set_enabled(ctx, "DEFAULT_BILLING_SMS", false), BL_OK);
	tu_sql(ctx, "RENAME TABLE audit_log_away TO audit_log");
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM user_groups WHERE code = 'AUD_G'"), 0, "not created");
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM user_groups WHERE code = 'AUD_KEEP'"), 1, "not deleted");
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM admin_users WHERE username = 'dave'"), 0, "not created");
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM message_templates WHERE code = 'DEFAULT_BILLING_SMS' "
				 "AND enabled = 0"),
		     0, "not disabled");
	cr_assert_eq(entries(ctx), n0);
	/* and the context works on */
	cr_assert_eq(bl_group_create(ctx, "AUD_G", "g", NULL, NULL), BL_OK, "%s", bl_error_last());
	cr_assert_eq(entries(ctx), n0 + 1);
	tu_ctx_drop(ctx);
}

/* A batch run: batch.start in the function that creates the run row, batch.resume, batch.stop. */
Test(audit_lib, batch_runs)
{
	bl_ctx *ctx = fresh("audit_lib_batch");
	bl_batch_opts o;
	bl_batch_opts_init(&o, BL_BATCH_OPTS_VERSION);
	o.allow_empty = true;
	o.partitions = 1;
	long long n0 = entries(ctx);
	int64_t id = 0;
	cr_assert_eq(bl_ctx_set_actor(ctx, "alice"), BL_OK);
	cr_assert_eq(bl_batch_run(ctx, "2020-01", &o, &id), BL_OK, "%s", bl_error_last());
	char target[32];
	snprintf(target, sizeof target, "batch:%lld", (long long)id);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'batch.%'"), 1);
	cr_assert_eq(entries(ctx), n0 + 1);
	newest_is(ctx, "alice", "batch.start", target, "month", 0, "2020-01");
	newest_is(ctx, "alice", "batch.start", target, "mode", 0, "NORMAL");

	/* a run that cannot start (the same month runs again: conflict only while active; a bad
	 * month is refused before the row) records nothing */
	cr_assert_eq(bl_batch_run(ctx, "2020-13", &o, NULL), BL_EINVAL);
	cr_assert_eq(bl_batch_resume(ctx, id, &o), BL_ECONFLICT, "COMPLETED runs do not resume");
	cr_assert_eq(bl_batch_stop(ctx, id), BL_ECONFLICT, "not running");
	cr_assert_eq(entries(ctx), n0 + 1);

	/* a stopped run resumes: batch.resume */
	char sql[128];
	snprintf(sql, sizeof sql, "UPDATE batch_runs SET status = 'STOPPED' WHERE id = %lld", (long long)id);
	tu_sql(ctx, sql);
	cr_assert_eq(bl_batch_resume(ctx, id, &o), BL_OK, "%s", bl_error_last());
	cr_assert_eq(entries(ctx), n0 + 2);
	newest_is(ctx, "alice", "batch.resume", target, "month", 0, "2020-01");

	/* a running run is asked to stop: batch.stop, once */
	snprintf(sql, sizeof sql, "UPDATE batch_runs SET status = 'STARTED' WHERE id = %lld", (long long)id);
	tu_sql(ctx, sql);
	cr_assert_eq(bl_batch_stop(ctx, id), BL_OK, "%s", bl_error_last());
	cr_assert_eq(entries(ctx), n0 + 3);
	newest_is(ctx, "alice", "batch.stop", target, NULL, 0, NULL);
	cr_assert_eq(bl_batch_stop(ctx, id), BL_OK, "already asked");
	cr_assert_eq(entries(ctx), n0 + 3, "already asked: no second entry");

	/* an automatic run, no actor: "system" */
	cr_assert_eq(bl_ctx_set_actor(ctx, NULL), BL_OK);
	snprintf(sql, sizeof sql, "UPDATE batch_runs SET status = 'COMPLETED' WHERE id = %lld", (long long)id);
	tu_sql(ctx, sql);
	o.created_by = BL_CREATED_AUTO;
	cr_assert_eq(bl_batch_run(ctx, "2020-02", &o, &id), BL_OK, "%s", bl_error_last());
	snprintf(target, sizeof target, "batch:%lld", (long long)id);
	newest_is(ctx, "system", "batch.start", target, "month", 0, "2020-02");
	tu_ctx_drop(ctx);
}
