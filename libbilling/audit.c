/*
 * The audit log of admin actions: who did what to which object, with a
 * JSON detail.  Written by the library itself: each mutating call records
 * its entry under the context's actor (bl_ctx_set_actor), in the same
 * transaction as the change (bl__audit, bl__audit_commit; the actions are
 * listed in docs/audit.md); read newest first, whole or filtered by actor,
 * action and time (the admin pages' audit page).
 *
 * `at` is the database's CURRENT_TIMESTAMP(3) on the connection's clock
 * (Asia/Seoul, following the context's clock), so the time range is KST.
 */
#include <stdio.h>
#include "audit_private.h"
#include "context_private.h"
#include "db.h"

#define AUDIT_DETAIL_MAX 65536

int bl_audit_filter_init(bl_audit_filter *f, unsigned version)
{
	if (!f || version != BL_AUDIT_FILTER_VERSION)
		return bl__fail(BL_EINVAL, "bl_audit_filter_init: unsupported version %u", version);
	*f = (bl_audit_filter)BL_AUDIT_FILTER_INIT;
	return BL_OK;
}

static int check_entry(const char *actor, const char *action, const char *target, const char *detail_json)
{
	if (!actor || !*actor || strlen(actor) > 128)
		return bl__fail(BL_EINVAL, "audit actor: must be 1-128 characters");
	if (!action || !*action || strlen(action) > 64)
		return bl__fail(BL_EINVAL, "audit action: must be 1-64 characters");
	if (target && strlen(target) > 255)
		return bl__fail(BL_EINVAL, "audit target: at most 255 characters");
	if (detail_json && strlen(detail_json) > AUDIT_DETAIL_MAX)
		return bl__fail(BL_EINVAL, "audit detail: at most %d bytes", AUDIT_DETAIL_MAX);
	return BL_OK;
}

static int insert_entry(MYSQL *db, const char *actor, const char *action, const char *target,
			const char *detail_json)
{
	bl__param p[] = { BP_STR(actor), BP_STR(action), BP_STR(target ? target : ""),
			  detail_json ? BP_STR(detail_json) : BP_NULL };
	return bl__db_exec(db, "INSERT INTO audit_log (actor, action, target, detail_json) VALUES (?,?,?,?)",
			   p, 4, NULL, NULL);
}

int bl_audit_record(bl_ctx *ctx, const char *actor, const char *action, const char *target,
		    const char *detail_json)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_audit_record: ctx is NULL");
	if (!actor)
		actor = bl_ctx_actor(ctx);
	int rc = check_entry(actor, action, target, detail_json);
	if (rc)
		return rc;
	if (detail_json) {
		json_error_t e;
		json_t *j = json_loads(detail_json, JSON_DECODE_ANY, &e);
		if (!j)
			return bl__fail(BL_EINVAL, "audit detail: not JSON: %s at line %d column %d", e.text,
					e.line, e.column);
		json_decref(j);
	}
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	return insert_entry(db, actor, action, target, detail_json);
}

const char *bl__audit_actor(const bl_ctx *ctx)
{
	const char *a = bl_ctx_actor(ctx);
	return a ? a : "system";
}

static int vaudit(const char *actor, MYSQL *db, const char *action, json_t *detail, const char *fmt, va_list ap)
{
	char target[256];
	vsnprintf(target, sizeof target, fmt, ap); /* longer: cut, as the column would */
	char *d = detail ? json_dumps(detail, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	int rc = detail && !d ? bl__fail(BL_ENOMEM, "out of memory") : BL_OK;
	json_decref(detail);
	if (rc == BL_OK)
		rc = check_entry(actor, action, target, d);
	if (rc == BL_OK)
		rc = insert_entry(db, actor, action, target, d);
	free(d);
	return rc ? bl__fail_wrap(rc, "audit entry %s %s", action, target) : BL_OK;
}

int bl__audit(bl_ctx *ctx, MYSQL *db, const char *action, json_t *detail, const char *target_fmt, ...)
{
	va_list ap;
	va_start(ap, target_fmt);
	int rc = vaudit(bl__audit_actor(ctx), db, action, detail, target_fmt, ap);
	va_end(ap);
	return rc;
}

int bl__audit_as(const char *actor, MYSQL *db, const char *action, json_t *detail, const char *target_fmt, ...)
{
	va_list ap;
	va_start(ap, target_fmt);
	int rc = vaudit(actor, db, action, detail, target_fmt, ap);
	va_end(ap);
	return rc;
}

int bl__audit_commit(bl_ctx *ctx, MYSQL *db, int rc, const char *action, json_t *detail, const char *target_fmt,
		     ...)
{
	if (rc == BL_OK) {
		va_list ap;
		va_start(ap, target_fmt);
		rc = vaudit(bl__audit_actor(ctx), db, action, detail, target_fmt, ap);
		va_end(ap);
	} else {
		json_decref(detail);
	}
	if (rc == BL_OK)
		rc = bl__db_commit(db);
	if (rc)
		bl__db_rollback(db);
	return rc;
}

/*
 * A time bound "YYYY-MM-DD", "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS"
 * ('T' may stand for the space, as an HTML datetime-local sends it), as
 * "YYYY-MM-DD HH:MM:SS" in `out`; *unit is the SQL interval of its
 * precision (DAY, MINUTE, SECOND): an upper bound takes the whole of it.
 */
static int time_bound(const char *name, const char *s, char out[80], const char **unit)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, n1 = 0, n2 = 0, n3 = 0;
	char sep = 0;
	size_t len = strlen(s);
	if (len == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n1) == 3 && n1 == 10)
		*unit = "DAY";
	else if (len == 16 && sscanf(s, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &n2) == 6 &&
		 n2 == 16 && (sep == ' ' || sep == 'T'))
		*unit = "MINUTE";
	else if (len == 19 &&
		 sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &se, &n3) == 7 &&
		 n3 == 19 && (sep == ' ' || sep == 'T'))
		*unit = "SECOND";
	else
		return bl__fail(BL_EINVAL, "%s '%s': expected YYYY-MM-DD, YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS",
				name, s);
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 2000 || y > 2999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 59 || h < 0 || mi < 0 || se < 0)
		return bl__fail(BL_EINVAL, "%s '%s': no such time (year 2000-2999, month 01-12, a day of that month, "
					   "00:00:00-23:59:59)", name, s);
	snprintf(out, 80, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, se);
	return BL_OK;
}

int bl_audit_search(bl_ctx *ctx, const bl_audit_filter *f, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_audit_search: NULL argument");
	if (!f || f->version != BL_AUDIT_FILTER_VERSION)
		return bl__fail(BL_EINVAL, "audit filter: missing or wrong version (use bl_audit_filter_init)");
	if (f->limit < 1 || f->limit > 1000)
		return bl__fail(BL_EINVAL, "limit %d: must be 1-1000", f->limit);
	if (f->before_id < 0)
		return bl__fail(BL_EINVAL, "before_id %lld: must not be negative", (long long)f->before_id);
	if (f->actor && strlen(f->actor) > 128)
		return bl__fail(BL_EINVAL, "actor: at most 128 characters");
	if (f->action && strlen(f->action) > 64)
		return bl__fail(BL_EINVAL, "action: at most 64 characters");
	char from[80], to[80];
	const char *from_unit, *to_unit = "SECOND";
	int rc;
	if (f->from && *f->from && (rc = time_bound("from", f->from, from, &from_unit)))
		return rc;
	if (f->to && *f->to && (rc = time_bound("to", f->to, to, &to_unit)))
		return rc;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();

	/* only the conditions that are set, so that ix_audit_at serves a time range */
	bl_strbuf sql = { 0 };
	bl__param p[7]; /* the conditions' values and the limit */
	unsigned n = 0;
	bl__sb_puts(&sql, "SELECT id, LEFT(DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f'), 23) AS at, actor, "
			  "action, target, detail_json AS detail FROM audit_log WHERE 1");
	if (f->before_id) {
		bl__sb_puts(&sql, " AND id < ?");
		p[n++] = BP_I64(f->before_id);
	}
	if (f->actor && *f->actor) {
		bl__sb_puts(&sql, " AND actor = ?");
		p[n++] = BP_STR(f->actor);
	}
	size_t alen = f->action ? strlen(f->action) : 0;
	if (alen && f->action[alen - 1] == '.') {
		/* "template." : every template.* action (LIKE's wildcards in it are literal) */
		bl__sb_puts(&sql, " AND LEFT(action, ?) = ?");
		p[n++] = BP_I64((int64_t)alen);
		p[n++] = BP_STR(f->action);
	} else if (alen) {
		bl__sb_puts(&sql, " AND action = ?");
		p[n++] = BP_STR(f->action);
	}
	if (f->from && *f->from) {
		bl__sb_puts(&sql, " AND at >= ?");
		p[n++] = BP_STR(from);
	}
	if (f->to && *f->to) {
		/* the whole day, minute or second named */
		bl__sb_printf(&sql, " AND at < DATE_ADD(?, INTERVAL 1 %s)", to_unit);
		p[n++] = BP_STR(to);
	}
	bl__sb_puts(&sql, " ORDER BY id DESC LIMIT ?");
	json_t *rows = NULL;
	if (sql.oom) {
		bl__sb_free(&sql);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	p[n++] = BP_I64(f->limit);
	rc = bl__db_json(db, sql.s, p, n, &rows);
	bl__sb_free(&sql);
	if (rc)
		return rc;
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		/* the stored text back as a JSON value */
		const char *d = json_string_value(json_object_get(r, "detail"));
		json_t *v = d ? json_loads(d, JSON_DECODE_ANY, NULL) : NULL;
		json_object_set_new(r, "detail", v ? v : json_null());
	}
	rc = bl__json_out(rows, json);
	json_decref(rows);
	return rc;
}

int bl_audit_list(bl_ctx *ctx, int64_t before_id, int limit, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_audit_list: NULL argument");
	bl_audit_filter f;
	bl_audit_filter_init(&f, BL_AUDIT_FILTER_VERSION);
	f.before_id = before_id;
	f.limit = limit;
	return bl_audit_search(ctx, &f, json);
}
