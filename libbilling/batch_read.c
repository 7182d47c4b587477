/*
 * The run history as objects (bl_run, bl_run_list) and as JSON
 * (bl_batch_get, bl_batch_list, bl_batch_current, which serialize them).
 *
 * A bl_run keeps the row as the JSON object the history has always served,
 * so bl_run_to_json is that text exactly; the accessors read it.
 */
#include "db.h"
#include "batch_private.h"

struct bl_run {
	json_t *row;
	bool detail; /* read by bl_run_get: failures, chunks, reservation */
};

struct bl_run_list {
	bl_run *v;
	size_t n;
	int64_t next;
	json_t *rows;
};

#define RUN_COLUMNS                                                                           \
	"id, target_month, mode, status, created_by, partitions, chunk_size, owner, "          \
	"stop_requested, DATE_FORMAT(started_at, '%Y-%m-%d %H:%i:%s') AS started_at, "        \
	"DATE_FORMAT(ended_at, '%Y-%m-%d %H:%i:%s') AS ended_at, duration_ms, total_count, "  \
	"processed_count, issued_count, skipped_count, failed_count, usage_sum, discount_sum, " \
	"vat_sum, billed_sum, fail_reason"

static const char *STATUS_NAMES[] = { "STARTED", "COMPLETED", "FAILED", "STOPPED" };

const char *bl_run_status_name(bl_run_status status)
{
	return (unsigned)status < 4 ? STATUS_NAMES[status] : "?";
}

static int64_t num(const bl_run *r, const char *key)
{
	return r ? (int64_t)json_integer_value(json_object_get(r->row, key)) : 0;
}

static const char *str(const bl_run *r, const char *key)
{
	return r ? json_string_value(json_object_get(r->row, key)) : NULL;
}

static int run_new(json_t *row, bool detail, bl_run **out)
{
	bl_run *r = calloc(1, sizeof *r);
	if (!r) {
		json_decref(row);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	r->row = row;
	r->detail = detail;
	*out = r;
	return BL_OK;
}

int bl_run_get(bl_ctx *ctx, int64_t run_id, bl_run **out)
{
	if (out)
		*out = NULL;
	if (!ctx || !out)
		return bl__fail(BL_EINVAL, "bl_run_get: NULL argument");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	json_t *rows = NULL, *fails = NULL, *chunks = NULL, *resv = NULL;
	bl__param p[] = { BP_I64(run_id) };
	int rc = bl__db_json(db, "SELECT " RUN_COLUMNS " FROM batch_runs WHERE id = ?", p, 1, &rows);
	if (rc)
		return rc;
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		return bl__fail(BL_ENOTFOUND, "batch run #%lld does not exist", (long long)run_id);
	}
	json_t *run = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	rc = bl__db_json(db,
			 "SELECT user_id, reason, detail FROM batch_failures WHERE run_id = ? "
			 "ORDER BY user_id LIMIT 100",
			 p, 1, &fails);
	if (rc == BL_OK)
		rc = bl__db_json(db,
				 "SELECT COUNT(*) AS chunks, COALESCE(SUM(status = 'DONE'), 0) AS chunks_done "
				 "FROM batch_chunks WHERE run_id = ?",
				 p, 1, &chunks);
	/* the billing reservation the run made when it completed: when its
	 * statements go out (BILLING_RESERVATION_DELAY_S after the end) */
	if (rc == BL_OK)
		rc = bl__db_json(db,
				 "SELECT id, status, DATE_FORMAT(scheduled_at, '%Y-%m-%d %H:%i:%s') AS scheduled_at, "
				 "channel FROM message_reservations WHERE batch_run_id = ?",
				 p, 1, &resv);
	if (rc == BL_OK) {
		json_t *c = json_array_get(chunks, 0), *one = json_array_get(resv, 0);
		json_object_set(run, "reservation", one ? one : json_null());
		json_object_set(run, "chunks", json_object_get(c, "chunks"));
		json_object_set(run, "chunks_done", json_object_get(c, "chunks_done"));
		json_object_set(run, "failures", fails);
	}
	json_decref(fails);
	json_decref(chunks);
	json_decref(resv);
	if (rc) {
		json_decref(run);
		return rc;
	}
	return run_new(run, true, out);
}

/* The run a dashboard headlines (issue 21): a dry run issues nothing, so it
 * is shown only when there is nothing else. */
int bl_run_current(bl_ctx *ctx, bl_run **out)
{
	if (out)
		*out = NULL;
	if (!ctx || !out)
		return bl__fail(BL_EINVAL, "bl_run_current: NULL argument");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	json_t *rows = NULL;
	int rc = bl__db_json(db,
			     "SELECT " RUN_COLUMNS " FROM batch_runs "
			     "ORDER BY status = 'STARTED' DESC, mode <> 'DRY_RUN' DESC, id DESC LIMIT 1",
			     NULL, 0, &rows);
	if (rc)
		return rc;
	json_t *one = json_array_get(rows, 0);
	rc = one ? run_new(json_incref(one), false, out) : BL_OK;
	json_decref(rows);
	return rc;
}

void bl_run_free(bl_run *run)
{
	if (!run)
		return;
	json_decref(run->row);
	free(run);
}

int bl_run_to_json(const bl_run *run, char **json)
{
	if (!run || !json)
		return bl__fail(BL_EINVAL, "bl_run_to_json: NULL argument");
	return bl__json_out(run->row, json);
}

int64_t bl_run_id(const bl_run *run)
{
	return num(run, "id");
}

const char *bl_run_month(const bl_run *run)
{
	return str(run, "target_month");
}

bl_batch_mode bl_run_mode(const bl_run *run)
{
	bl_batch_mode m = BL_BATCH_NORMAL;
	const char *s = str(run, "mode");
	if (s)
		bl_batch_mode_parse(s, &m);
	return m;
}

bl_run_status bl_run_status_of(const bl_run *run)
{
	const char *s = str(run, "status");
	for (int i = 0; s && i < 4; i++)
		if (!strcmp(s, STATUS_NAMES[i]))
			return (bl_run_status)i;
	return BL_RUN_FAILED;
}

bl_created_by bl_run_created_by(const bl_run *run)
{
	const char *s = str(run, "created_by");
	return s && !strcmp(s, "AUTO") ? BL_CREATED_AUTO : BL_CREATED_ADMIN;
}

int bl_run_partitions(const bl_run *run)
{
	return (int)num(run, "partitions");
}

int bl_run_chunk_size(const bl_run *run)
{
	return (int)num(run, "chunk_size");
}

const char *bl_run_owner(const bl_run *run)
{
	return str(run, "owner");
}

bool bl_run_stop_requested(const bl_run *run)
{
	return num(run, "stop_requested") != 0;
}

const char *bl_run_started_at(const bl_run *run)
{
	return str(run, "started_at");
}

const char *bl_run_ended_at(const bl_run *run)
{
	return str(run, "ended_at");
}

int64_t bl_run_duration_ms(const bl_run *run)
{
	json_t *v = run ? json_object_get(run->row, "duration_ms") : NULL;
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

void bl_run_progress(const bl_run *run, bl_batch_progress *p)
{
	if (!p)
		return;
	*p = (bl_batch_progress){ num(run, "id"),	    num(run, "total_count"),   num(run, "processed_count"),
				  num(run, "issued_count"), num(run, "skipped_count"), num(run, "failed_count") };
}

bl_won bl_run_usage_sum(const bl_run *run)
{
	return num(run, "usage_sum");
}

bl_won bl_run_discount_sum(const bl_run *run)
{
	return num(run, "discount_sum");
}

bl_won bl_run_vat_sum(const bl_run *run)
{
	return num(run, "vat_sum");
}

bl_won bl_run_billed_sum(const bl_run *run)
{
	return num(run, "billed_sum");
}

const char *bl_run_fail_reason(const bl_run *run)
{
	return str(run, "fail_reason");
}

int64_t bl_run_chunks(const bl_run *run)
{
	return run && run->detail ? num(run, "chunks") : -1;
}

int64_t bl_run_chunks_done(const bl_run *run)
{
	return run && run->detail ? num(run, "chunks_done") : -1;
}

size_t bl_run_failure_count(const bl_run *run)
{
	return run ? json_array_size(json_object_get(run->row, "failures")) : 0;
}

int bl_run_failure(const bl_run *run, size_t i, int64_t *user_id, const char **reason, const char **detail)
{
	json_t *f = run ? json_array_get(json_object_get(run->row, "failures"), i) : NULL;
	if (!f)
		return bl__fail(BL_EINVAL, "bl_run_failure: no failure %zu", i);
	if (user_id)
		*user_id = (int64_t)json_integer_value(json_object_get(f, "user_id"));
	if (reason)
		*reason = json_string_value(json_object_get(f, "reason"));
	if (detail)
		*detail = json_string_value(json_object_get(f, "detail"));
	return BL_OK;
}

bool bl_run_reservation(const bl_run *run, int64_t *id, const char **status, const char **scheduled_at,
			const char **channel)
{
	json_t *r = run ? json_object_get(run->row, "reservation") : NULL;
	if (!json_is_object(r))
		return false;
	if (id)
		*id = (int64_t)json_integer_value(json_object_get(r, "id"));
	if (status)
		*status = json_string_value(json_object_get(r, "status"));
	if (scheduled_at)
		*scheduled_at = json_string_value(json_object_get(r, "scheduled_at"));
	if (channel)
		*channel = json_string_value(json_object_get(r, "channel"));
	return true;
}

/* ---- lists ---- */

int bl_run_filter_init(bl_run_filter *filter, unsigned version)
{
	if (!filter || version != BL_RUN_FILTER_VERSION)
		return bl__fail(BL_EINVAL, "bl_run_filter_init: unsupported version %u", version);
	bl_run_filter d = BL_RUN_FILTER_INIT;
	*filter = d;
	return BL_OK;
}

/* Up to `limit` rows (newest first) as a JSON array. */
static int list_rows(bl_ctx *ctx, const char *month, int64_t before_id, int limit, json_t **rows)
{
	int rc;
	if (month && (rc = bl_month_parse(month, NULL, NULL)))
		return rc;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__param p[] = { BP_STR(month ? month : ""), BP_STR(month ? month : ""), BP_I64(before_id),
			  BP_I64(before_id), BP_I64(limit) };
	return bl__db_json(db,
			   "SELECT " RUN_COLUMNS " FROM batch_runs WHERE (? = '' OR target_month = ?) "
			   "AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?",
			   p, 5, rows);
}

int bl_run_list_get(bl_ctx *ctx, const bl_run_filter *f, bl_run_list **out)
{
	if (out)
		*out = NULL;
	if (!ctx || !f || !out)
		return bl__fail(BL_EINVAL, "bl_run_list_get: NULL argument");
	if (f->version != BL_RUN_FILTER_VERSION)
		return bl__fail(BL_EINVAL, "run filter: version %u, expected %u (use bl_run_filter_init)", f->version,
				BL_RUN_FILTER_VERSION);
	if (f->limit <= 0 || f->limit > 1000)
		return bl__fail(BL_EINVAL, "limit %d: must be 1-1000", f->limit);
	if (f->before_id < 0)
		return bl__fail(BL_EINVAL, "before_id %lld: must not be negative", (long long)f->before_id);
	json_t *rows = NULL;
	int rc = list_rows(ctx, f->month, f->before_id, f->limit + 1, &rows);
	if (rc)
		return rc;
	bl_run_list *l = calloc(1, sizeof *l);
	size_t n = json_array_size(rows);
	bool more = n > (size_t)f->limit;
	if (more) {
		json_array_remove(rows, n - 1);
		n--;
	}
	if (l && n)
		l->v = calloc(n, sizeof *l->v);
	if (!l || (n && !l->v)) {
		free(l);
		json_decref(rows);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		l->v[i] = (bl_run){ json_array_get(rows, i), false };
	l->n = n;
	l->rows = rows;
	l->next = more ? bl_run_id(&l->v[n - 1]) : 0;
	*out = l;
	return BL_OK;
}

size_t bl_run_list_count(const bl_run_list *list)
{
	return list ? list->n : 0;
}

const bl_run *bl_run_list_at(const bl_run_list *list, size_t i)
{
	return list && i < list->n ? &list->v[i] : NULL;
}

int64_t bl_run_list_next(const bl_run_list *list)
{
	return list ? list->next : 0;
}

int bl_run_list_to_json(const bl_run_list *list, char **json)
{
	if (!list || !json)
		return bl__fail(BL_EINVAL, "bl_run_list_to_json: NULL argument");
	return bl__json_out(list->rows, json);
}

void bl_run_list_free(bl_run_list *list)
{
	if (!list)
		return;
	json_decref(list->rows); /* the runs borrow their rows from it */
	free(list->v);
	free(list);
}

/* ---- the JSON reads ---- */

int bl_batch_get(bl_ctx *ctx, int64_t run_id, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_batch_get: NULL argument");
	bl_run *r = NULL;
	int rc = bl_run_get(ctx, run_id, &r);
	if (rc == BL_OK)
		rc = bl_run_to_json(r, json);
	bl_run_free(r);
	return rc;
}

int bl_batch_current(bl_ctx *ctx, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_batch_current: NULL argument");
	bl_run *r = NULL;
	int rc = bl_run_current(ctx, &r);
	if (rc == BL_OK)
		rc = r ? bl_run_to_json(r, json)
		       : (*json = bl__strdup("null")) ? BL_OK : bl__fail(BL_ENOMEM, "out of memory");
	bl_run_free(r);
	return rc;
}

int bl_batch_list(bl_ctx *ctx, const char *month, int limit, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_batch_list: NULL argument");
	if (limit <= 0 || limit > 1000)
		return bl__fail(BL_EINVAL, "limit %d: must be 1-1000", limit);
	json_t *rows = NULL;
	int rc = list_rows(ctx, month, 0, limit, &rows);
	if (rc == BL_OK)
		rc = bl__json_out(rows, json);
	json_decref(rows);
	return rc;
}
