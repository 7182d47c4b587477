/*
 * Reservations (예약 발송): create, cancel, read, the billing reservation of
 * a completed batch run, and the public tick.  Expansion is
 * reservation_expand.c; the worker-side scheduler scheduler.c.
 */
#include <time.h>
#include <mysqld_error.h>
#include "audit_private.h"
#include "reservation_private.h"

#include "template_private.h"
#include "context_private.h"
#include "counts_private.h"

int bl_reservation_opts_init(bl_reservation_opts *opts, unsigned version)
{
	if (!opts || version != BL_RESERVATION_OPTS_VERSION)
		return bl__fail(BL_EINVAL, "bl_reservation_opts_init: unsupported version %u", version);
	*opts = (bl_reservation_opts)BL_RESERVATION_OPTS_INIT;
	return BL_OK;
}

/* ---- time ---- */

/* "YYYY-MM-DD HH:MM[:SS]" (or with 'T'), Asia/Seoul → unix seconds. */
static int parse_when(const char *s, int64_t *out)
{
	size_t len = strnlen(s, 20);
	int64_t us = 0;
	if ((len != 16 && len != 19) || bl_clock_parse(s, &us))
		return bl__fail(BL_EINVAL, "scheduled time '%.32s': expected YYYY-MM-DD HH:MM[:SS] (Asia/Seoul)", s);
	*out = us / 1000000;
	return BL_OK;
}

/* ---- create ---- */

static bool is_default_billing(const char *code)
{
	return !strcmp(code, "DEFAULT_BILLING_EMAIL") || !strcmp(code, "DEFAULT_BILLING_SMS");
}

/* Render a group template with a sample subscriber and the params. */
static int test_render(bl_ctx *ctx, const bl__tpl *t, const char *params_json)
{
	json_t *model = json_pack("{s:s,s:s,s:s}", "userName", "홍길동", "phone", "01012345678", "email",
				  "hong.gildong@example.com");
	if (!model)
		return bl__fail(BL_ENOMEM, "out of memory");
	if (params_json) {
		json_error_t e;
		json_t *p = json_loads(params_json, 0, &e);
		if (!json_is_object(p)) {
			int rc = bl__fail(BL_EINVAL, "params: must be a JSON object (%s)",
					  p ? "not an object" : e.text);
			json_decref(p);
			json_decref(model);
			return rc;
		}
		json_object_update_missing(model, p);
		json_decref(p);
	}
	bl__rendered r = { 0 };
	bl__tpl_limits lim;
	bl__tpl_limits_get(ctx->cfg, &lim);
	int rc = bl__tpl_render(t, model, &lim, &r);
	bl__rendered_free(&r);
	json_decref(model);
	return rc;
}

static int group_id(MYSQL *db, const char *code, int64_t *id)
{
	bool found = false;
	bl__param p[] = { BP_STR(code) };
	int rc = bl__db_i64(db, "SELECT id FROM user_groups WHERE code = ?", p, 1, id, &found);
	if (rc == BL_OK && !found)
		rc = bl__fail(BL_ENOTFOUND, "group '%s' does not exist", code);
	return rc;
}

static int check_opts(bl_ctx *ctx, const bl_reservation_opts *o, int64_t *when)
{
	if (!o || o->version != BL_RESERVATION_OPTS_VERSION)
		return bl__fail(BL_EINVAL, "reservation options: missing or wrong version (use "
					   "bl_reservation_opts_init)");
	bool group = o->group_code && *o->group_code, month = o->month && *o->month;
	if (group == month)
		return bl__fail(BL_EINVAL, "reservation: give exactly one target, a group or a month (got %s)",
				group ? "both" : "neither");
	if (o->created_by && strlen(o->created_by) > 64)
		return bl__fail(BL_EINVAL, "reservation: created_by is longer than 64 bytes");
	int64_t now = bl__ctx_now_s(ctx);
	int rc = BL_OK;
	if (o->scheduled_at)
		rc = parse_when(o->scheduled_at, when);
	else
		*when = o->scheduled_unix ? o->scheduled_unix : now;
	if (rc)
		return rc;
	if (*when < now - 60) {
		char at[32], cur[32];
		bl__seoul_datetime(*when * 1000, at);
		bl__seoul_datetime(now * 1000, cur);
		at[19] = cur[19] = '\0';
		return bl__fail(BL_EINVAL, "scheduled time %s is in the past (now %s Asia/Seoul); "
					   "omit it to send now", at, cur);
	}
	if (*when > now + 366 * 86400LL)
		return bl__fail(BL_EINVAL, "scheduled time: more than a year ahead");
	if (month && o->params_json)
		return bl__fail(BL_EINVAL, "reservation of %s: params are for group targets; a bill takes its "
					   "values from the statement", o->month);
	if (month)
		return bl_month_parse(o->month, NULL, NULL);
	return BL_OK;
}

int bl_reservation_create(bl_ctx *ctx, const bl_reservation_opts *o, int64_t *id)
{
	if (id)
		*id = 0;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_reservation_create: ctx is NULL");
	int64_t when = 0;
	int rc = check_opts(ctx, o, &when);
	if (rc)
		return rc;
	bool month = o->month && *o->month;
	const char *code = o->template_code ? o->template_code : month ? "DEFAULT_BILLING_EMAIL" : NULL;
	if (!code)
		return bl__fail(BL_EINVAL, "reservation to group '%s': a NOTICE template is required",
				o->group_code);
	if (month && !is_default_billing(code))
		return bl__fail(BL_EINVAL, "reservation of %s: template '%s': the statements of a month are sent "
					   "with DEFAULT_BILLING_EMAIL or DEFAULT_BILLING_SMS (each subscriber on "
					   "their consented channel)", o->month, code);
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	int64_t tpl_id = 0, gid = 0;
	if ((rc = bl__tpl_latest_id(db, code, &tpl_id)))
		return bl__fail_wrap(rc, "reservation");
	if (!month && (rc = group_id(db, o->group_code, &gid)))
		return rc;
	bl__tpl *t = NULL;
	if ((rc = bl__tpl_load(db, tpl_id, &t)))
		return rc;
	bl_channel ch = bl__tpl_channel(t);
	if (!month && bl__tpl_purpose(t) != BL_PURPOSE_NOTICE)
		rc = bl__fail(BL_EINVAL, "reservation to group '%s': template '%s' is a BILLING template, which "
					 "needs a statement; reserve the statements of a month instead",
			      o->group_code, code);
	if (rc == BL_OK && !month && (rc = test_render(ctx, t, o->params_json)))
		bl__fail_wrap(rc, "reservation to group '%s' (rendered with a sample subscriber)", o->group_code);
	bl__tpl_free(t);
	if (rc)
		return rc;
	char at[32];
	bl__seoul_datetime(when * 1000, at);
	at[19] = '\0';
	uint64_t new_id = 0;
	bl__param p[] = { BP_STR(at), BP_STR(ch == BL_CHANNEL_SMS ? "SMS" : "EMAIL"), BP_I64(tpl_id),
			  gid ? BP_I64(gid) : BP_NULL, month ? BP_STR(o->month) : BP_NULL,
			  o->params_json ? BP_STR(o->params_json) : BP_NULL,
			  BP_STR(o->created_by ? o->created_by : "system") };
	if ((rc = bl__db_begin(db)) == BL_OK)
		rc = bl__db_exec(db,
				 "INSERT INTO message_reservations (scheduled_at, channel, template_id, user_group_id, "
				 "target_month, params_json, created_by) VALUES (?,?,?,?,?,?,?)",
				 p, 7, NULL, &new_id);
	rc = bl__audit_commit(ctx, db, rc, "reservation.create",
			      json_pack("{s:s,s:s?,s:s?,s:s}", "template_code", code, "group_code",
					o->group_code, "month", o->month, "scheduled_at", at),
			      "reservation:%lld", (long long)new_id);
	if (rc == BL_OK && id)
		*id = (int64_t)new_id;
	return rc;
}

/* ---- cancel ---- */

int bl_reservation_cancel(bl_ctx *ctx, int64_t id)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_reservation_cancel: ctx is NULL");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	/* the same row the expansion claims with WAITING → PROCESSING: one of the two wins */
	bl__param p[] = { BP_I64(id) };
	uint64_t changed = 0;
	int rc = bl__db_begin(db);
	if (rc == BL_OK)
		rc = bl__db_exec(db,
				 "UPDATE message_reservations SET status = 'CANCELED', canceled_at = NOW(3) "
				 "WHERE id = ? AND status = 'WAITING'",
				 p, 1, &changed, NULL);
	if (rc == BL_OK && changed)
		return bl__audit_commit(ctx, db, rc, "reservation.cancel", NULL, "reservation:%lld", (long long)id);
	bl__db_rollback(db);
	if (rc)
		return rc;
	json_t *rows = NULL;
	rc = bl__db_json(db,
			 "SELECT status, message_count, DATE_FORMAT(COALESCE(finished_at, started_at, canceled_at), "
			 "'%Y-%m-%d %H:%i:%s') AS at FROM message_reservations WHERE id = ?",
			 p, 1, &rows);
	if (rc)
		return rc;
	json_t *r = json_array_get(rows, 0);
	if (!r) {
		json_decref(rows);
		return bl__fail(BL_ENOTFOUND, "reservation #%lld does not exist", (long long)id);
	}
	const char *st = json_string_value(json_object_get(r, "status")), *at = json_string_value(json_object_get(r, "at"));
	long long n = (long long)json_integer_value(json_object_get(r, "message_count"));
	if (!strcmp(st, "CANCELED"))
		rc = bl__fail(BL_ECONFLICT, "reservation #%lld is already CANCELED (at %s)", (long long)id,
			      at ? at : "?");
	else if (!strcmp(st, "PROCESSING"))
		rc = bl__fail(BL_ECONFLICT, "reservation #%lld is PROCESSING: its expansion started at %s "
					    "(%lld message(s) so far); only WAITING reservations can be canceled",
			      (long long)id, at ? at : "?", n);
	else
		rc = bl__fail(BL_ECONFLICT, "reservation #%lld is %s: it was expanded into %lld message(s) at "
					    "%s; only WAITING reservations can be canceled",
			      (long long)id, st, n, at ? at : "?");
	json_decref(rows);
	return rc;
}

/* ---- read ---- */

#define RESV_COLUMNS                                                                            \
	"r.id, r.status, DATE_FORMAT(r.scheduled_at, '%Y-%m-%d %H:%i:%s') AS scheduled_at, "    \
	"r.channel, t.code AS template_code, t.version AS template_version, t.purpose, "        \
	"g.code AS group_code, r.target_month AS month, r.batch_run_id, r.params_json, "        \
	"r.message_count, r.skipped_count, r.expanded_to_user_id, r.created_by, r.claimed_by, " \
	"DATE_FORMAT(r.created_at, '%Y-%m-%d %H:%i:%s') AS created_at, "                        \
	"DATE_FORMAT(r.started_at, '%Y-%m-%d %H:%i:%s') AS started_at, "                        \
	"DATE_FORMAT(r.finished_at, '%Y-%m-%d %H:%i:%s') AS finished_at, "                      \
	"DATE_FORMAT(r.canceled_at, '%Y-%m-%d %H:%i:%s') AS canceled_at "                       \
	"FROM message_reservations r JOIN message_templates t ON t.id = r.template_id "        \
	"LEFT JOIN user_groups g ON g.id = r.user_group_id "

/* params_json arrives as text: make it an object in the output */
static void inline_params(json_t *rows)
{
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		const char *s = json_string_value(json_object_get(r, "params_json"));
		json_t *p = s ? json_loads(s, 0, NULL) : NULL;
		json_object_set_new(r, "params", p ? p : json_null());
		json_object_del(r, "params_json");
	}
}

/* One counting query under MariaDB's max_statement_time of `ms`: an i64
 * (out) or rows (rows).  A timeout fails with BL_EDB and bl__db_errno()
 * ER_STATEMENT_TIMEOUT. */
static int bounded_count(MYSQL *db, int64_t ms, const char *sql, bl__param *p, int64_t *out, json_t **rows)
{
	bl_strbuf q = { 0 };
	bl__sb_printf(&q, "SET STATEMENT max_statement_time = %lld.%03lld FOR %s", (long long)(ms / 1000),
		      (long long)(ms % 1000), sql);
	int rc = q.oom ? bl__fail(BL_ENOMEM, "out of memory")
		       : out ? bl__db_i64(db, q.s, p, 1, out, NULL) : bl__db_json(db, q.s, p, 1, rows);
	bl__sb_free(&q);
	return rc;
}

#define COUNT_BY_STATUS                                                                       \
	"SELECT status, COUNT(*) AS count FROM messages FORCE INDEX (ix_messages_reservation) " \
	"WHERE reservation_id = ? GROUP BY status ORDER BY status"

/* [{"status","count"}] → {STATUS: count} */
static json_t *by_status_object(json_t *rows)
{
	json_t *o = json_object(), *row;
	size_t i;
	json_array_foreach(rows, i, row)
		json_object_set(o, json_string_value(json_object_get(row, "status")), json_object_get(row, "count"));
	return o;
}

/* Count functions of the count cache (counts_private.h). */
int bl__count_month_statements(MYSQL *db, const char *month, json_t **value)
{
	int64_t n = 0;
	bl__param p[] = { BP_STR(month) };
	int rc = bl__db_i64(db, "SELECT COUNT(*) FROM statements WHERE target_month = ?", p, 1, &n, NULL);
	if (rc == BL_OK)
		*value = json_integer(n);
	return rc;
}

/* {"by": {STATUS: n}, "later": n, "later_at": "..."|null}: its messages by
 * status, and of the pending ones how many wait for a later attempt and when
 * the first is due (bl__hold_reservation). */
int bl__count_reservation(MYSQL *db, const char *arg, json_t **value)
{
	bl__param p[] = { BP_I64(atoll(arg)) };
	json_t *rows = NULL;
	int rc = bl__db_json(db, COUNT_BY_STATUS, p, 1, &rows);
	if (rc)
		return rc;
	json_t *by = by_status_object(rows);
	json_decref(rows);
	int64_t pending = json_integer_value(json_object_get(by, "WAITING")) +
			  json_integer_value(json_object_get(by, "PROCESSING")) +
			  json_integer_value(json_object_get(by, "FAILED"));
	json_t *later_at = json_null();
	int64_t later = 0;
	if (pending > 0 && (rc = bl__db_json(db,
					     "SELECT COUNT(*) AS n, DATE_FORMAT(MIN(next_attempt_at), "
					     "'%Y-%m-%d %H:%i:%s') AS at FROM messages FORCE INDEX "
					     "(ix_messages_reservation) WHERE reservation_id = ? AND status = 'WAITING' "
					     "AND next_attempt_at > NOW(3)",
					     p, 1, &rows)) == BL_OK) {
		json_t *r0 = json_array_get(rows, 0);
		later = json_integer_value(json_object_get(r0, "n"));
		if (json_is_string(json_object_get(r0, "at"))) {
			json_decref(later_at);
			later_at = json_incref(json_object_get(r0, "at"));
		}
		json_decref(rows);
	}
	if (rc) {
		json_decref(by);
		json_decref(later_at);
		return rc;
	}
	*value = json_pack("{s:o,s:I,s:o}", "by", by, "later", (json_int_t)later, "later_at", later_at);
	return *value ? BL_OK : bl__fail(BL_ENOMEM, "out of memory");
}

int bl_reservation_get(bl_ctx *ctx, int64_t id, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_reservation_get: NULL argument");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	json_t *rows = NULL;
	bl__param p[] = { BP_I64(id) };
	int rc = bl__db_json(db, "SELECT " RESV_COLUMNS "WHERE r.id = ?", p, 1, &rows);
	if (rc)
		return rc;
	json_t *r = json_array_get(rows, 0);
	if (!r) {
		json_decref(rows);
		return bl__fail(BL_ENOTFOUND, "reservation #%lld does not exist", (long long)id);
	}
	inline_params(rows);
	/* How many it targets now (what an operator reviews before it is due) and
	 * its messages by status (docs/reservations.md, "Counts"):
	 * - a group's target count is the group's member_count, a counter the
	 *   library keeps (one row);
	 * - a month's (its statements) and the messages by status count rows:
	 *   ~1 s for a month of 1 M subscribers quiet, far more while a batch
	 *   and the pipeline write.  In a process that runs the count cache
	 *   (billing-httpd) they come from it with the time they were counted
	 *   ("counted_at"), null until first counted; elsewhere they are counted
	 *   now, together within BILLING_COUNT_TIMEOUT_MS (as MariaDB's
	 *   max_statement_time), null ("not counted") past it. */
	const char *month = json_string_value(json_object_get(r, "month"));
	int64_t targets = 0;
	bool targets_known = true, by_known = true;
	json_t *counts = NULL, *cached = NULL, *cached_month = NULL;
	int64_t as_of = 0, month_as_of = 0;
	char key[24];
	snprintf(key, sizeof key, "%lld", (long long)id);
	bool from_cache = bl__counts_cached(ctx, bl__count_reservation, key, &cached, &as_of) == BL_OK;
	if (!month) {
		bool found = false;
		rc = bl__db_i64(db,
				"SELECT g.member_count FROM message_reservations r JOIN user_groups g "
				"ON g.id = r.user_group_id WHERE r.id = ?",
				p, 1, &targets, &found);
	} else if (from_cache) {
		if (bl__counts_cached(ctx, bl__count_month_statements, month, &cached_month, &month_as_of) != BL_OK ||
		    !json_is_integer(cached_month))
			targets_known = false;
		else
			targets = json_integer_value(cached_month);
		if (targets_known && (!as_of || month_as_of < as_of))
			as_of = month_as_of; /* the older of the two */
		json_decref(cached_month);
	}
	if (rc == BL_OK && from_cache) {
		json_t *by = json_object_get(cached, "by");
		if (json_is_object(by)) {
			counts = json_incref(by);
			json_object_set(r, "_later", json_object_get(cached, "later"));
			json_object_set(r, "_later_at", json_object_get(cached, "later_at"));
		} else {
			by_known = false;
		}
	} else if (rc == BL_OK) {
		int64_t budget = bl__config_int(bl_ctx_config(ctx), "BILLING_COUNT_TIMEOUT_MS"), t0 = bl__mono_ms();
		if (month) {
			bl__param pm[] = { BP_STR(month) };
			rc = bounded_count(db, budget, "SELECT COUNT(*) FROM statements WHERE target_month = ?", pm,
					   &targets, NULL);
			if (rc == BL_EDB && bl__db_errno() == ER_STATEMENT_TIMEOUT) {
				targets_known = false;
				rc = BL_OK;
			}
		}
		/* the two counts share the budget */
		int64_t left = budget - (bl__mono_ms() - t0);
		json_t *by = NULL;
		if (rc == BL_OK && left < 1)
			by_known = false;
		else if (rc == BL_OK)
			rc = bounded_count(db, left, COUNT_BY_STATUS, p, NULL, &by);
		if (rc == BL_EDB && bl__db_errno() == ER_STATEMENT_TIMEOUT) {
			by_known = false;
			rc = BL_OK;
		}
		if (rc == BL_OK && by_known)
			counts = by_status_object(by);
		json_decref(by);
		as_of = bl__ctx_now_ms(ctx);
	}
	json_decref(cached);
	if (rc == BL_OK) {
		json_object_set_new(r, "target_count", targets_known ? json_integer(targets) : json_null());
		json_object_set_new(r, "messages", by_known && counts ? json_incref(counts) : json_null());
		if (as_of && (by_known || month))
			bl__counts_stamp(ctx, r, as_of);
		else {
			json_object_set_new(r, "counted_at", json_null());
			json_object_set_new(r, "counted_age_ms", json_null());
		}
		rc = bl__hold_reservation(ctx, db, r);
		json_object_del(r, "_later");
		json_object_del(r, "_later_at");
		if (rc == BL_OK)
			rc = bl__json_out(r, json);
	}
	json_decref(counts);
	json_decref(rows);
	return rc;
}

static const char *const STATUSES[] = { "WAITING", "PROCESSING", "SENT", "CANCELED", NULL };

int bl_reservation_list(bl_ctx *ctx, const char *status, int64_t after_id, int limit, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_reservation_list: NULL argument");
	if (limit < 1 || limit > 1000)
		return bl__fail(BL_EINVAL, "limit %d: must be 1-1000", limit);
	if (status) {
		bool ok = false;
		for (const char *const *s = STATUSES; *s; s++)
			ok |= !strcmp(*s, status);
		if (!ok)
			return bl__fail(BL_EINVAL, "status '%s': expected WAITING, PROCESSING, SENT or CANCELED",
					status);
	}
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	json_t *rows = NULL;
	bl__param p[] = { BP_I64(after_id), BP_STR(status ? status : ""), BP_STR(status ? status : ""),
			  BP_I64(limit) };
	int rc = bl__db_json(db, "SELECT " RESV_COLUMNS "WHERE r.id > ? AND (? = '' OR r.status = ?) "
			     "ORDER BY r.id LIMIT ?",
			     p, 4, &rows);
	if (rc == BL_OK) {
		inline_params(rows);
		rc = bl__json_out(rows, json);
	}
	json_decref(rows);
	return rc;
}

/* ---- the billing reservation of a batch run ---- */

int bl_reservation_after_batch(bl_ctx *ctx, int64_t run_id, const char *month, int64_t *id)
{
	if (id)
		*id = 0;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_reservation_after_batch: ctx is NULL");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	json_t *rows = NULL;
	bl__param p[] = { BP_I64(run_id) };
	int rc = bl__db_json(db, "SELECT target_month, status, mode FROM batch_runs WHERE id = ?", p, 1, &rows);
	if (rc)
		return rc;
	json_t *r = json_array_get(rows, 0);
	char run_month[8] = "";
	if (!r)
		rc = bl__fail(BL_ENOTFOUND, "batch run #%lld does not exist", (long long)run_id);
	else if (strcmp(json_string_value(json_object_get(r, "status")), "COMPLETED"))
		rc = bl__fail(BL_ECONFLICT, "batch run #%lld is %s: a billing reservation follows a COMPLETED run",
			      (long long)run_id, json_string_value(json_object_get(r, "status")));
	else if (!strcmp(json_string_value(json_object_get(r, "mode")), "DRY_RUN"))
		rc = bl__fail(BL_ECONFLICT, "batch run #%lld is a dry run: it issued no statements to send",
			      (long long)run_id);
	else
		snprintf(run_month, sizeof run_month, "%s", json_string_value(json_object_get(r, "target_month")));
	json_decref(rows);
	if (rc)
		return rc;
	if (month && strcmp(month, run_month))
		return bl__fail(BL_EINVAL, "batch run #%lld is of %s, not %s", (long long)run_id, run_month, month);
	int64_t tpl_id = 0;
	if ((rc = bl__tpl_latest_id(db, "DEFAULT_BILLING_EMAIL", &tpl_id)))
		return bl__fail_wrap(rc, "billing reservation of run #%lld", (long long)run_id);
	int64_t delay = bl__config_int(bl_ctx_config(ctx), "BILLING_RESERVATION_DELAY_S");
	char at[32], by[64];
	bl__seoul_datetime(bl__ctx_now_ms(ctx) + delay * 1000, at);
	at[19] = '\0';
	snprintf(by, sizeof by, "batch run #%lld", (long long)run_id);
	/* uk_reservations_run (batch_run_id): a second call, from anywhere, finds the first */
	bl__param q[] = { BP_STR(at), BP_I64(tpl_id), BP_STR(run_month), BP_I64(run_id), BP_STR(by) };
	uint64_t added = 0;
	if ((rc = bl__db_begin(db)) == BL_OK)
		rc = bl__db_exec(db,
				 "INSERT INTO message_reservations (scheduled_at, channel, template_id, target_month, "
				 "batch_run_id, created_by) VALUES (?, 'EMAIL', ?, ?, ?, ?) "
				 "ON DUPLICATE KEY UPDATE id = id",
				 q, 5, &added, NULL);
	int64_t rid = 0;
	if (rc == BL_OK)
		rc = bl__db_i64(db, "SELECT id FROM message_reservations WHERE batch_run_id = ?", p, 1, &rid, NULL);
	/* an entry only for the call that made it (a second call finds the first) */
	if (rc == BL_OK && added == 1)
		rc = bl__audit(ctx, db, "reservation.create",
			       json_pack("{s:s,s:s,s:I}", "month", run_month, "scheduled_at", at, "batch_run_id",
					 (json_int_t)run_id),
			       "reservation:%lld", (long long)rid);
	if (rc == BL_OK)
		rc = bl__db_commit(db);
	if (rc)
		bl__db_rollback(db);
	if (rc == BL_OK && id)
		*id = rid;
	return rc;
}

/* ---- the public tick ---- */

int bl_reservation_tick(bl_ctx *ctx, int64_t now, int64_t *expanded)
{
	if (expanded)
		*expanded = 0;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_reservation_tick: ctx is NULL");
	int64_t n = 0;
	int rc = bl__resv_run(ctx, now ? now * 1000 : bl__ctx_now_ms(ctx), NULL, &n);
	if (expanded)
		*expanded = n;
	return rc;
}
