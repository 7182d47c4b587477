/*
 * Batch administration: stop, crash recovery, progress and the monthly
 * schedule claim (the history reads are in batch_read.c).
 */
#include <time.h>
#include <unistd.h>
#include "db.h"
#include "batch_private.h"
#include "audit_private.h"

int bl_batch_stop(bl_ctx *ctx, int64_t run_id)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_batch_stop: ctx is NULL");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__param p[] = { BP_I64(run_id) };
	uint64_t changed = 0;
	int rc = bl__db_begin(db);
	if (rc == BL_OK)
		rc = bl__db_exec(db, "UPDATE batch_runs SET stop_requested = 1 WHERE id = ? AND status = 'STARTED'",
				 p, 1, &changed, NULL);
	if (rc == BL_OK && changed)
		return bl__audit_commit(ctx, db, rc, "batch.stop", NULL, "batch:%lld", (long long)run_id);
	bl__db_rollback(db);
	if (rc)
		return rc;
	json_t *rows = NULL;
	if ((rc = bl__db_json(db, "SELECT status, stop_requested FROM batch_runs WHERE id = ?", p, 1, &rows)))
		return rc;
	json_t *r = json_array_get(rows, 0);
	if (!r)
		rc = bl__fail(BL_ENOTFOUND, "batch run #%lld does not exist", (long long)run_id);
	else if (!strcmp(json_string_value(json_object_get(r, "status")), "STARTED"))
		rc = BL_OK; /* already asked to stop */
	else
		rc = bl__fail(BL_ECONFLICT, "batch run #%lld is %s, not running", (long long)run_id,
			      json_string_value(json_object_get(r, "status")));
	json_decref(rows);
	return rc;
}

struct started_run {
	int64_t id;
	char lock[64];
};

struct started_list {
	struct started_run *v;
	size_t n;
};

static int started_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	struct started_list *l = p;
	struct started_run *nv = realloc(l->v, (l->n + 1) * sizeof *nv);
	if (!nv)
		return bl__fail(BL_ENOMEM, "out of memory");
	l->v = nv;
	l->v[l->n].id = atoll(v[0]);
	snprintf(l->v[l->n].lock, sizeof l->v[l->n].lock, "%s", v[1] ? v[1] : "");
	l->n++;
	return BL_OK;
}

int bl_batch_recover(bl_ctx *ctx, int *recovered)
{
	if (recovered)
		*recovered = 0;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_batch_recover: ctx is NULL");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	struct started_list l = { 0 };
	int rc = bl__db_rows(db, "SELECT id, lock_name FROM batch_runs WHERE status = 'STARTED'", NULL, 0,
			     started_cb, &l);
	for (size_t i = 0; rc == BL_OK && i < l.n; i++) {
		int64_t is_free = 0;
		bl__param p[] = { BP_STR(l.v[i].lock) };
		/* IS_FREE_LOCK: 1 = nobody holds it, so the owner's connection is gone */
		rc = bl__db_i64(db, "SELECT IS_FREE_LOCK(?)", p, 1, &is_free, NULL);
		if (rc || is_free != 1)
			continue;
		bl__param q[] = { BP_I64(l.v[i].id), BP_STR(l.v[i].lock) };
		uint64_t changed = 0;
		rc = bl__db_exec(db,
				 "UPDATE batch_runs SET status = 'FAILED', fail_reason = 'SERVER_CRASH', "
				 "ended_at = NOW(3), duration_ms = TIMESTAMPDIFF(MICROSECOND, started_at, "
				 "NOW(3)) DIV 1000 WHERE id = ? AND status = 'STARTED' AND lock_name = ?",
				 q, 2, &changed, NULL);
		if (rc == BL_OK && changed && recovered)
			(*recovered)++;
	}
	free(l.v);
	return rc;
}

static int progress_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	bl_batch_progress *o = p;
	*o = (bl_batch_progress){ atoll(v[0]), atoll(v[1]), atoll(v[2]), atoll(v[3]), atoll(v[4]),
				  atoll(v[5]) };
	return BL_OK;
}

int bl_batch_progress_get(bl_ctx *ctx, int64_t run_id, bl_batch_progress *out)
{
	if (!ctx || !out)
		return bl__fail(BL_EINVAL, "bl_batch_progress_get: NULL argument");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	memset(out, 0, sizeof *out);
	bl__param p[] = { BP_I64(run_id) };
	int rc = bl__db_rows(db,
			     "SELECT id, total_count, processed_count, issued_count, skipped_count, "
			     "failed_count FROM batch_runs WHERE id = ?",
			     p, 1, progress_cb, out);
	if (rc == BL_OK && out->run_id == 0)
		rc = bl__fail(BL_ENOTFOUND, "batch run #%lld does not exist", (long long)run_id);
	return rc;
}

int bl_run_pace_get(bl_ctx *ctx, const bl_run *run, bl_run_pace *out)
{
	if (!ctx || !run || !out)
		return bl__fail(BL_EINVAL, "bl_run_pace_get: NULL argument");
	memset(out, 0, sizeof *out);
	bl_run_status st = bl_run_status_of(run);
	bool running = st == BL_RUN_STARTED;
	bl_run_progress(run, &out->progress);
	if (running) {
		bl_batch_progress live;
		int rc = bl_batch_progress_get(ctx, bl_run_id(run), &live);
		if (rc)
			return rc;
		out->progress = live;
	}
	const bl_batch_progress *p = &out->progress;
	out->permille = p->total > 0 ? (int)(p->processed * 1000 / p->total) : st == BL_RUN_COMPLETED ? 1000 : 0;
	int64_t started = 0;
	if (!running && bl_run_duration_ms(run) >= 0)
		out->elapsed_ms = bl_run_duration_ms(run);
	else if (bl_run_started_at(run) && bl_clock_parse(bl_run_started_at(run), &started) == BL_OK)
		out->elapsed_ms = (bl_ctx_now(ctx) - started) / 1000;
	if (out->elapsed_ms < 0)
		out->elapsed_ms = 0;
	out->per_second = out->elapsed_ms > 0 ? (double)p->processed * 1000.0 / (double)out->elapsed_ms : 0;
	out->eta_s = !running ? 0
		     : out->per_second > 0 ? (int64_t)((double)(p->total - p->processed) / out->per_second + 0.5)
					   : -1;
	return BL_OK;
}

int bl_batch_due(bl_ctx *ctx, int64_t now, bool *due, char month_out[8])
{
	if (!ctx || !due || !month_out)
		return bl__fail(BL_EINVAL, "bl_batch_due: NULL argument");
	*due = false;
	month_out[0] = '\0';
	const bl_config *cfg = bl_ctx_config(ctx);
	int64_t unix_s = now ? now : bl__ctx_now_s(ctx);
	struct tm t;
	bl__seoul_time(unix_s, &t);
	int day = (int)bl__config_int(cfg, "BILLING_BATCH_DAY");
	const char *hhmm = bl_config_get(cfg, "BILLING_BATCH_TIME");
	int slot = atoi(hhmm) * 60 + atoi(hhmm + 3), cur = t.tm_hour * 60 + t.tm_min;
	if (t.tm_mday < day || (t.tm_mday == day && cur < slot))
		return BL_OK;
	char month[8];
	bl__month_text(bl__month_add(bl__month_of(unix_s), -1), month);
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	int64_t runs = 0;
	bl__param p[] = { BP_STR(month) };
	int rc = bl__db_i64(db,
			    "SELECT COUNT(*) FROM batch_runs WHERE target_month = ? AND mode <> 'DRY_RUN'",
			    p, 1, &runs, NULL);
	if (rc || runs > 0)
		return rc;
	/* exactly one process wins the claim of this month's slot */
	char name[64], owner[BL__OWNER_MAX];
	snprintf(name, sizeof name, "monthly-batch:%s", month);
	bl__owner_name(owner);
	uint64_t added = 0;
	bl__param q[] = { BP_STR(name), BP_STR(owner) };
	rc = bl__db_exec(db, "INSERT IGNORE INTO schedule_claims (name, claimed_by) VALUES (?, ?)", q, 2,
			 &added, NULL);
	if (rc == BL_OK && added == 1) {
		*due = true;
		memcpy(month_out, month, 8);
	}
	return rc;
}

int bl_batch_check(bl_ctx *ctx, const char *month, const bl_batch_opts *o)
{
	bl_batch_opts defaults = BL_BATCH_OPTS_INIT;
	if (!o)
		o = &defaults;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_batch_check: ctx is NULL");
	bl__month ym;
	int rc = bl__month_read(month, &ym);
	if (rc)
		return rc;
	if (o->version < 2)
		return BL_OK; /* version-1 callers run any month, as before */
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	char now[8];
	rc = bl_clock_month(bl_ctx_now(ctx), 0, now);
	if (rc)
		return rc;
	if (!o->allow_future && strcmp(month, now) > 0)
		return bl__fail(BL_EINVAL,
				"month '%s' is in the future (it is %s in Seoul): nothing is charged yet; "
				"force it to run anyway",
				month, now);
	if (o->allow_empty || o->mode == BL_BATCH_FAILED_ONLY)
		return BL_OK;
	char from[32], to[32];
	bl__month_bounds(ym, from, to);
	int64_t any = 0;
	bl__param p[] = { BP_STR(from), BP_STR(to) };
	rc = bl__db_i64(db,
			"SELECT EXISTS (SELECT 1 FROM charged_histories WHERE created_at >= ? AND created_at < ?)",
			p, 2, &any, NULL);
	if (rc == BL_OK && !any)
		rc = bl__fail(BL_ECONFLICT,
			      "month '%s' has no charges: a run would issue 0 statements; confirm to run it anyway",
			      month);
	return rc;
}
