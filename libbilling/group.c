/*
 * Subscriber groups: the targets of scheduled sends.  STATIC groups list
 * their members in user_group_members; USER_ALL (kind ALL) means every
 * subscriber and has no member rows.
 *
 * member_count is a counter kept in the same transaction as each change
 * (here, bl__group_count_users for new subscribers, the seed), so that the
 * pages that show it read one row instead of counting (migration V12);
 * bl_group_recount rebuilds it from the rows.
 */
#include <ctype.h>
#include "audit_private.h"
#include "user_private.h"

#define GROUP_COLUMNS                                                                           \
	"g.id, g.code, g.name, g.description, g.kind, "                                         \
	"DATE_FORMAT(g.created_at, '%Y-%m-%d %H:%i:%s') AS created_at, "                        \
	"g.member_count"

static int check_code(const char *code)
{
	if (!code || !*code)
		return bl__fail(BL_EINVAL, "group code: required");
	size_t n = strlen(code);
	if (n > 40)
		return bl__fail(BL_EINVAL, "group code '%.40s...': at most 40 characters", code);
	for (const char *p = code; *p; p++)
		if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
			return bl__fail(BL_EINVAL,
					"group code '%s': only A-Z, 0-9 and '_' are allowed ('%c' at %zu)",
					code, *p, (size_t)(p - code) + 1);
	return BL_OK;
}

static int check_text(const char *what, const char *s, size_t max, bool required)
{
	if (required && (!s || !*s))
		return bl__fail(BL_EINVAL, "group %s: required", what);
	if (s && strlen(s) > max)
		return bl__fail(BL_EINVAL, "group %s: at most %zu bytes", what, max);
	return BL_OK;
}

/* The group's id and whether it is USER_ALL; BL_ENOTFOUND when absent. */
static int lookup(MYSQL *db, const char *code, int64_t *id, bool *all)
{
	json_t *rows = NULL;
	bl__param p[] = { BP_STR(code) };
	int rc = bl__db_json(db, "SELECT id, kind FROM user_groups WHERE code = ?", p, 1, &rows);
	if (rc)
		return rc;
	json_t *r = json_array_get(rows, 0);
	if (!r)
		rc = bl__fail(BL_ENOTFOUND, "group '%s' does not exist", code);
	else {
		*id = json_integer_value(json_object_get(r, "id"));
		*all = !strcmp(json_string_value(json_object_get(r, "kind")), "ALL");
	}
	json_decref(rows);
	return rc;
}

static MYSQL *db_for(bl_ctx *ctx, const char *code, int *rc)
{
	if (!ctx) {
		*rc = bl__fail(BL_EINVAL, "group: ctx is NULL");
		return NULL;
	}
	if ((*rc = check_code(code)))
		return NULL;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		*rc = bl_error_last_code();
	return db;
}

int bl_group_create(bl_ctx *ctx, const char *code, const char *name, const char *description,
		    int64_t *id)
{
	int rc;
	if ((rc = check_code(code)) || (rc = check_text("name", name, 100, true)) ||
	    (rc = check_text("description", description, 500, false)))
		return rc;
	MYSQL *db = db_for(ctx, code, &rc);
	if (!db)
		return rc;
	bl__param p[] = { BP_STR(code), BP_STR(name), BP_STR(description ? description : "") };
	uint64_t newid = 0;
	if ((rc = bl__db_begin(db)) == BL_OK)
		rc = bl__db_exec(db,
				 "INSERT INTO user_groups (code, name, description, kind) VALUES (?,?,?,'STATIC')",
				 p, 3, NULL, &newid);
	rc = bl__audit_commit(ctx, db, rc, "group.create", json_pack("{s:s}", "name", name), "group:%s", code);
	if (rc == BL_ECONFLICT && strstr(bl_error_last(), "Duplicate entry"))
		return bl__fail(BL_ECONFLICT, "group '%s' already exists", code);
	if (rc == BL_OK && id)
		*id = (int64_t)newid;
	return rc;
}

int bl_group_list(bl_ctx *ctx, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_group_list: NULL argument");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	json_t *rows = NULL;
	int rc = bl__db_json(db, "SELECT " GROUP_COLUMNS " FROM user_groups g ORDER BY g.code", NULL, 0,
			     &rows);
	if (rc == BL_OK)
		rc = bl__json_out(rows, json);
	json_decref(rows);
	return rc;
}

int bl_group_get(bl_ctx *ctx, const char *code, char **json)
{
	if (!json)
		return bl__fail(BL_EINVAL, "bl_group_get: NULL argument");
	int rc;
	MYSQL *db = db_for(ctx, code, &rc);
	if (!db)
		return rc;
	json_t *rows = NULL;
	bl__param p[] = { BP_STR(code) };
	rc = bl__db_json(db, "SELECT " GROUP_COLUMNS " FROM user_groups g WHERE g.code = ?", p, 1, &rows);
	if (rc)
		return rc;
	json_t *g = json_array_get(rows, 0);
	rc = g ? bl__json_out(g, json) : bl__fail(BL_ENOTFOUND, "group '%s' does not exist", code);
	json_decref(rows);
	return rc;
}

int bl_group_update(bl_ctx *ctx, const char *code, const char *name, const char *description)
{
	int rc;
	if ((rc = check_text("name", name, 100, false)) ||
	    (rc = check_text("description", description, 500, false)))
		return rc;
	if (name && !*name)
		return bl__fail(BL_EINVAL, "group name: must not be empty");
	MYSQL *db = db_for(ctx, code, &rc);
	if (!db)
		return rc;
	int64_t id;
	bool all;
	if ((rc = lookup(db, code, &id, &all)))
		return rc;
	if (all && (name || description)) /* as the docs promise: USER_ALL cannot be changed (issue 21) */
		return bl__fail(BL_ECONFLICT, "group '%s' means every subscriber and cannot be changed", code);
	if (!name && !description)
		return BL_OK;
	/* NULL keeps the current value */
	bl__param p[] = { BP_I64(name != NULL), BP_STR(name ? name : ""), BP_I64(description != NULL),
			  BP_STR(description ? description : ""), BP_I64(id) };
	if ((rc = bl__db_begin(db)) == BL_OK)
		rc = bl__db_exec(db,
				 "UPDATE user_groups SET name = IF(?, ?, name), description = IF(?, ?, description) "
				 "WHERE id = ?",
				 p, 5, NULL, NULL);
	return bl__audit_commit(ctx, db, rc, "group.update",
				json_pack("{s:s?,s:s?}", "name", name, "description", description), "group:%s", code);
}

int bl_group_delete(bl_ctx *ctx, const char *code)
{
	int rc;
	MYSQL *db = db_for(ctx, code, &rc);
	if (!db)
		return rc;
	int64_t id, waiting = 0;
	bool all;
	if ((rc = lookup(db, code, &id, &all)))
		return rc;
	if (all)
		return bl__fail(BL_ECONFLICT, "group '%s' means every subscriber and cannot be deleted", code);
	if ((rc = bl__db_begin(db)))
		return rc;
	bl__param p[] = { BP_I64(id) };
	/* lock the group row so a reservation cannot be made against it meanwhile */
	rc = bl__db_i64(db, "SELECT id FROM user_groups WHERE id = ? FOR UPDATE", p, 1, &id, NULL);
	if (rc == BL_OK)
		rc = bl__db_i64(db,
				"SELECT COUNT(*) FROM message_reservations WHERE user_group_id = ? "
				"AND status IN ('WAITING','PROCESSING')",
				p, 1, &waiting, NULL);
	if (rc == BL_OK && waiting)
		rc = bl__fail(BL_ECONFLICT, "group '%s' is the target of %lld waiting reservation(s)", code,
			      (long long)waiting);
	if (rc == BL_OK)
		rc = bl__db_exec(db, "DELETE FROM user_group_members WHERE group_id = ?", p, 1, NULL, NULL);
	if (rc == BL_OK)
		rc = bl__db_exec(db, "DELETE FROM user_groups WHERE id = ?", p, 1, NULL, NULL);
	return bl__audit_commit(ctx, db, rc, "group.delete", NULL, "group:%s", code);
}

static int member_change(bl_ctx *ctx, const char *code, int64_t user_id, bool add)
{
	int rc;
	MYSQL *db = db_for(ctx, code, &rc);
	if (!db)
		return rc;
	int64_t id;
	bool all;
	if ((rc = lookup(db, code, &id, &all)))
		return rc;
	if (all)
		return bl__fail(BL_ECONFLICT, "group '%s' means every subscriber: members cannot be %s", code,
				add ? "added" : "removed");
	bl__param p[] = { BP_I64(id), BP_I64(user_id) };
	uint64_t changed = 0;
	if ((rc = bl__db_begin(db)))
		return rc;
	/* an entry only for a membership that changed */
	rc = add ? bl__db_exec(db,
			       "INSERT IGNORE INTO user_group_members (group_id, user_id) "
			       "SELECT ?, id FROM users WHERE id = ?",
			       p, 2, &changed, NULL)
		 : bl__db_exec(db, "DELETE FROM user_group_members WHERE group_id = ? AND user_id = ?", p, 2,
			       &changed, NULL);
	if (rc == BL_OK && changed)
		rc = bl__audit(ctx, db, add ? "group.add" : "group.remove",
			       json_pack("{s:I}", "user_id", (json_int_t)user_id), "group:%s", code);
	if (rc == BL_OK && changed) { /* the counter moves with the row, in the same transaction */
		bl__param c[] = { BP_I64(add ? (int64_t)changed : -(int64_t)changed), BP_I64(id) };
		rc = bl__db_exec(db, "UPDATE user_groups SET member_count = member_count + ? WHERE id = ?", c, 2,
				 NULL, NULL);
	}
	if (rc == BL_OK)
		rc = bl__db_commit(db);
	if (rc) {
		bl__db_rollback(db);
		return rc;
	}
	if (add && !changed) { /* already a member, or no such subscriber */
		bool found = false;
		int64_t x;
		bl__param u[] = { BP_I64(user_id) };
		if ((rc = bl__db_i64(db, "SELECT id FROM users WHERE id = ?", u, 1, &x, &found)))
			return rc;
		if (!found)
			return bl__fail(BL_ENOTFOUND, "no subscriber with id %lld", (long long)user_id);
	}
	return BL_OK;
}

int bl_group_add(bl_ctx *ctx, const char *code, int64_t user_id)
{
	return member_change(ctx, code, user_id, true);
}

int bl_group_remove(bl_ctx *ctx, const char *code, int64_t user_id)
{
	return member_change(ctx, code, user_id, false);
}

int bl_group_members(bl_ctx *ctx, const char *code, int64_t after_id, int limit, char **json)
{
	if (!json)
		return bl__fail(BL_EINVAL, "bl_group_members: NULL argument");
	if (limit < 1 || limit > 1000)
		return bl__fail(BL_EINVAL, "limit %d: must be 1-1000", limit);
	int rc;
	MYSQL *db = db_for(ctx, code, &rc);
	if (!db)
		return rc;
	int64_t id;
	bool all;
	if ((rc = lookup(db, code, &id, &all)))
		return rc;
	json_t *rows = NULL;
	if (all) {
		bl__param p[] = { BP_I64(after_id), BP_I64(limit) };
		rc = bl__user_rows_masked(ctx, db,
					  "SELECT " BL_USER_ROW_COLUMNS " FROM users u WHERE u.id > ? "
					  "ORDER BY u.id LIMIT ?",
					  p, 2, &rows);
	} else {
		bl__param p[] = { BP_I64(id), BP_I64(after_id), BP_I64(limit) };
		rc = bl__user_rows_masked(ctx, db,
					  "SELECT " BL_USER_ROW_COLUMNS " FROM user_group_members m "
					  "JOIN users u ON u.id = m.user_id WHERE m.group_id = ? AND m.user_id > ? "
					  "ORDER BY m.user_id LIMIT ?",
					  p, 3, &rows);
	}
	if (rc)
		return bl__fail_wrap(rc, "group '%s' members", code);
	rc = bl__json_out(rows, json);
	json_decref(rows);
	return rc;
}

/* Every group's member_count from its rows (a count of every subscriber and
 * member row: for repair, and after bulk writes such as the seed). */
int bl__group_recount(MYSQL *db)
{
	return bl__db_exec(db,
			   "UPDATE user_groups g SET g.member_count = IF(g.kind = 'ALL', (SELECT COUNT(*) FROM users), "
			   "(SELECT COUNT(*) FROM user_group_members m WHERE m.group_id = g.id))",
			   NULL, 0, NULL, NULL);
}

/* A subscriber was added (n > 0) or removed: USER_ALL's counter, on the
 * caller's connection and in its transaction. */
int bl__group_count_users(MYSQL *db, int64_t n)
{
	bl__param p[] = { BP_I64(n) };
	return bl__db_exec(db, "UPDATE user_groups SET member_count = member_count + ? WHERE kind = 'ALL'", p, 1,
			   NULL, NULL);
}

int bl_group_recount(bl_ctx *ctx)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_group_recount: ctx is NULL");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	return bl__group_recount(db);
}
