/*
 * The run history as objects (bl_run, bl_run_list) and as JSON
 * (bl_batch_get, bl_batch_list, bl_batch_current, which serialize them).
 *
 * A bl_run is a plain struct filled column by column (record_private.h);
 * bl_run_to_json writes it back as the JSON the history has always served:
 * the batch_runs columns in order, then for bl_run_get the billing
 * reservation, the chunk counts and the failures.
 */
#include "record_private.h"

struct run_failure {
	bl__rec rec;
	int64_t user_id;
	char *reason, *detail;
};

/* the billing reservation the run made when it completed */
struct run_reservation {
	bl__rec rec;
	int64_t id;
	char *status, *scheduled_at, *channel;
};

struct run_chunks {
	bl__rec rec;
	int64_t chunks, chunks_done;
};

struct bl_run {
	bl__rec rec;
	int64_t id;
	char *target_month, *mode, *status, *created_by;
	int partitions, chunk_size;
	char *owner;
	int stop_requested; /* TINYINT: 0/1 in the JSON */
	char *started_at, *ended_at;
	int64_t duration_ms; /* NULL while running */
	int64_t total_count, processed_count, issued_count, skipped_count, failed_count;
	bl_won usage_sum, discount_sum, vat_sum, billed_sum;
	char *fail_reason;
	/* not columns: bl_run_get only */
	bool detail;
	struct run_failure *fails;
	size_t nfails;
	struct run_reservation *resv; /* NULL: none */
	int64_t chunks, chunks_done;
};

struct bl_run_list {
	struct bl_run *v;
	size_t n;
	int64_t next;
};

#define RF(m, k) BL__FIELD(struct bl_run, m, k)
static const bl__field RUN_FIELDS[] = {
	RF(id, BL__F_I64), RF(target_month, BL__F_STR), RF(mode, BL__F_STR), RF(status, BL__F_STR),
	RF(created_by, BL__F_STR), RF(partitions, BL__F_INT), RF(chunk_size, BL__F_INT),
	RF(owner, BL__F_STR), RF(stop_requested, BL__F_INT), RF(started_at, BL__F_STR),
	RF(ended_at, BL__F_STR), RF(duration_ms, BL__F_I64), RF(total_count, BL__F_I64),
	RF(processed_count, BL__F_I64), RF(issued_count, BL__F_I64), RF(skipped_count, BL__F_I64),
	RF(failed_count, BL__F_I64), RF(usage_sum, BL__F_I64), RF(discount_sum, BL__F_I64),
	RF(vat_sum, BL__F_I64), RF(billed_sum, BL__F_I64), RF(fail_reason, BL__F_STR),
};
static const bl__shape RUN_SHAPE = BL__SHAPE(RUN_FIELDS);
#define RUN_DURATION_COL 11 /* RUN_FIELDS[11] is duration_ms */

#define RUN_COLUMNS                                                                           \
	"id, target_month, mode, status, created_by, partitions, chunk_size, owner, "          \
	"stop_requested, DATE_FORMAT(started_at, '%Y-%m-%d %H:%i:%s') AS started_at, "        \
	"DATE_FORMAT(ended_at, '%Y-%m-%d %H:%i:%s') AS ended_at, duration_ms, total_count, "  \
	"processed_count, issued_count, skipped_count, failed_count, usage_sum, discount_sum, " \
	"vat_sum, billed_sum, fail_reason"

#define FF(m, k) BL__FIELD(struct run_failure, m, k)
static const bl__field FAIL_FIELDS[] = {
	FF(user_id, BL__F_I64), FF(reason, BL__F_STR), FF(detail, BL__F_STR),
};
static const bl__shape FAIL_SHAPE = BL__SHAPE(FAIL_FIELDS);

#define VF(m, k) BL__FIELD(struct run_reservation, m, k)
static const bl__field RESV_FIELDS[] = {
	VF(id, BL__F_I64), VF(status, BL__F_STR), VF(scheduled_at, BL__F_STR), VF(channel, BL__F_STR),
};
static const bl__shape RESV_SHAPE = BL__SHAPE(RESV_FIELDS);

#define CF(m, k) BL__FIELD(struct run_chunks, m, k)
static const bl__field CHUNK_FIELDS[] = { CF(chunks, BL__F_I64), CF(chunks_done, BL__F_I64) };
static const bl__shape CHUNK_SHAPE = BL__SHAPE(CHUNK_FIELDS);

static const char *STATUS_NAMES[] = { "STARTED", "COMPLETED", "FAILED", "STOPPED" };

const char *bl_run_status_name(bl_run_status status)
{
	return (unsigned)status < 4 ? STATUS_NAMES[status] : "?";
}

static void run_clear(struct bl_run *r)
{
	bl__recs_free(r->fails, r->nfails, &FAIL_SHAPE, sizeof *r->fails);
	bl__recs_free(r->resv, r->resv ? 1 : 0, &RESV_SHAPE, sizeof *r->resv);
	bl__rec_clear(r, &RUN_SHAPE);
}

void bl_run_free(bl_run *run)
{
	if (!run)
		return;
	run_clear(run);
	free(run);
}

/* The failures, chunk counts and reservation of run `r` (bl_run_get). */
static int run_detail(MYSQL *db, struct bl_run *r)
{
	bl__param p[] = { BP_I64(r->id) };
	r->detail = true;
	int rc = bl__db_recs(db,
			     "SELECT user_id, reason, detail FROM batch_failures WHERE run_id = ? "
			     "ORDER BY user_id LIMIT 100",
			     p, 1, &FAIL_SHAPE, sizeof *r->fails, (void **)&r->fails, &r->nfails);
	if (rc)
		return rc;
	struct run_chunks *c = NULL;
	size_t n = 0;
	rc = bl__db_recs(db,
			 "SELECT COUNT(*) AS chunks, COALESCE(SUM(status = 'DONE'), 0) AS chunks_done "
			 "FROM batch_chunks WHERE run_id = ?",
			 p, 1, &CHUNK_SHAPE, sizeof *c, (void **)&c, &n);
	if (rc)
		return rc;
	if (n) { /* an aggregate: always one row */
		r->chunks = c->chunks;
		r->chunks_done = c->chunks_done;
	}
	bl__recs_free(c, n, &CHUNK_SHAPE, sizeof *c);
	/* when its statements go out (BILLING_RESERVATION_DELAY_S after the end);
	 * batch_run_id is unique: at most one row */
	size_t nr = 0;
	rc = bl__db_recs(db,
			 "SELECT id, status, DATE_FORMAT(scheduled_at, '%Y-%m-%d %H:%i:%s') AS scheduled_at, "
			 "channel FROM message_reservations WHERE batch_run_id = ?",
			 p, 1, &RESV_SHAPE, sizeof *r->resv, (void **)&r->resv, &nr);
	if (rc == BL_OK && nr == 0) {
		free(r->resv);
		r->resv = NULL;
	}
	for (size_t i = 1; i < nr; i++)
		bl__rec_clear(&r->resv[i], &RESV_SHAPE);
	return rc;
}

/* The one run of `sql` (NULL in *out when there is none). */
static int run_one(MYSQL *db, const char *sql, const bl__param *ps, unsigned np, bl_run **out)
{
	struct bl_run *v = NULL;
	size_t n = 0;
	int rc = bl__db_recs(db, sql, ps, np, &RUN_SHAPE, sizeof *v, (void **)&v, &n);
	if (rc)
		return rc;
	for (size_t i = 1; i < n; i++)
		run_clear(&v[i]);
	if (n == 0) {
		free(v);
		v = NULL;
	}
	*out = v; /* the first element: freeing it frees the array */
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
	bl_run *r = NULL;
	bl__param p[] = { BP_I64(run_id) };
	int rc = run_one(db, "SELECT " RUN_COLUMNS " FROM batch_runs WHERE id = ?", p, 1, &r);
	if (rc)
		return rc;
	if (!r)
		return bl__fail(BL_ENOTFOUND, "batch run #%lld does not exist", (long long)run_id);
	if ((rc = run_detail(db, r))) {
		bl_run_free(r);
		return rc;
	}
	*out = r;
	return BL_OK;
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
	return run_one(db,
		       "SELECT " RUN_COLUMNS " FROM batch_runs "
		       "ORDER BY status = 'STARTED' DESC, mode <> 'DRY_RUN' DESC, id DESC LIMIT 1",
		       NULL, 0, out);
}

static json_t *run_json(const struct bl_run *r)
{
	json_t *o = bl__rec_json(r, &RUN_SHAPE, NULL, 0);
	if (!o || !r->detail)
		return o;
	json_t *fails = json_array();
	for (size_t i = 0; fails && i < r->nfails; i++)
		if (json_array_append_new(fails, bl__rec_json(&r->fails[i], &FAIL_SHAPE, NULL, 0))) {
			json_decref(fails);
			fails = NULL;
		}
	json_t *resv = r->resv ? bl__rec_json(r->resv, &RESV_SHAPE, NULL, 0) : json_null();
	if (!fails || !resv || json_object_set_new(o, "reservation", resv) ||
	    json_object_set_new(o, "chunks", json_integer(r->chunks)) ||
	    json_object_set_new(o, "chunks_done", json_integer(r->chunks_done)) ||
	    json_object_set_new(o, "failures", fails)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *run_json_any(const void *rec) { return run_json(rec); }

int bl_run_to_json(const bl_run *run, char **json)
{
	if (!run || !json)
		return bl__fail(BL_EINVAL, "bl_run_to_json: NULL argument");
	json_t *o = run_json(run);
	int rc = bl__json_out(o, json);
	json_decref(o);
	return rc;
}

/* ---- accessors: NULL-safe, 0 / NULL for a NULL run or a NULL value ---- */

#define GET(type, name, member, zero) \
	type bl_run_##name(const bl_run *r) { return r ? r->member : zero; }

GET(int64_t, id, id, 0)
GET(const char *, month, target_month, NULL)
GET(int, partitions, partitions, 0)
GET(int, chunk_size, chunk_size, 0)
GET(const char *, owner, owner, NULL)
GET(const char *, started_at, started_at, NULL)
GET(const char *, ended_at, ended_at, NULL)
GET(bl_won, usage_sum, usage_sum, 0)
GET(bl_won, discount_sum, discount_sum, 0)
GET(bl_won, vat_sum, vat_sum, 0)
GET(bl_won, billed_sum, billed_sum, 0)
GET(const char *, fail_reason, fail_reason, NULL)
GET(size_t, failure_count, nfails, 0)

bl_batch_mode bl_run_mode(const bl_run *run)
{
	bl_batch_mode m = BL_BATCH_NORMAL;
	if (run && run->mode)
		bl_batch_mode_parse(run->mode, &m);
	return m;
}

bl_run_status bl_run_status_of(const bl_run *run)
{
	for (int i = 0; run && run->status && i < 4; i++)
		if (!strcmp(run->status, STATUS_NAMES[i]))
			return (bl_run_status)i;
	return BL_RUN_FAILED;
}

bl_created_by bl_run_created_by(const bl_run *run)
{
	return run && run->created_by && !strcmp(run->created_by, "AUTO") ? BL_CREATED_AUTO : BL_CREATED_ADMIN;
}

bool bl_run_stop_requested(const bl_run *run)
{
	return run && run->stop_requested != 0;
}

int64_t bl_run_duration_ms(const bl_run *run)
{
	return run && !bl__rec_null(run, RUN_DURATION_COL) ? run->duration_ms : -1;
}

void bl_run_progress(const bl_run *run, bl_batch_progress *p)
{
	if (!p)
		return;
	*p = run ? (bl_batch_progress){ run->id, run->total_count, run->processed_count, run->issued_count,
					run->skipped_count, run->failed_count }
		 : (bl_batch_progress){ 0 };
}

int64_t bl_run_chunks(const bl_run *run)
{
	return run && run->detail ? run->chunks : -1;
}

int64_t bl_run_chunks_done(const bl_run *run)
{
	return run && run->detail ? run->chunks_done : -1;
}

int bl_run_failure(const bl_run *run, size_t i, int64_t *user_id, const char **reason, const char **detail)
{
	if (!run || i >= run->nfails)
		return bl__fail(BL_EINVAL, "bl_run_failure: no failure %zu", i);
	const struct run_failure *f = &run->fails[i];
	if (user_id)
		*user_id = f->user_id;
	if (reason)
		*reason = f->reason;
	if (detail)
		*detail = f->detail;
	return BL_OK;
}

bool bl_run_reservation(const bl_run *run, int64_t *id, const char **status, const char **scheduled_at,
			const char **channel)
{
	const struct run_reservation *r = run ? run->resv : NULL;
	if (!r)
		return false;
	if (id)
		*id = r->id;
	if (status)
		*status = r->status;
	if (scheduled_at)
		*scheduled_at = r->scheduled_at;
	if (channel)
		*channel = r->channel;
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

/* Up to `limit` runs (newest first): *out an array of *n (bl__recs_free). */
static int list_runs(bl_ctx *ctx, const char *month, int64_t before_id, int limit, struct bl_run **out,
		     size_t *n)
{
	int rc;
	if (month && (rc = bl_month_parse(month, NULL, NULL)))
		return rc;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__param p[] = { BP_STR(month ? month : ""), BP_STR(month ? month : ""), BP_I64(before_id),
			  BP_I64(before_id), BP_I64(limit) };
	return bl__db_recs(db,
			   "SELECT " RUN_COLUMNS " FROM batch_runs WHERE (? = '' OR target_month = ?) "
			   "AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?",
			   p, 5, &RUN_SHAPE, sizeof **out, (void **)out, n);
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
	bl_run_list *l = calloc(1, sizeof *l);
	if (!l)
		return bl__fail(BL_ENOMEM, "out of memory");
	int rc = list_runs(ctx, f->month, f->before_id, f->limit + 1, &l->v, &l->n);
	if (rc) {
		free(l);
		return rc;
	}
	if (l->n > (size_t)f->limit) { /* one more than asked: there is a next page */
		run_clear(&l->v[--l->n]);
		l->next = l->v[l->n - 1].id;
	}
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
	return bl__recs_json_out(list->v, list->n, sizeof *list->v, run_json_any, json);
}

void bl_run_list_free(bl_run_list *list)
{
	if (!list)
		return;
	bl__recs_free(list->v, list->n, &RUN_SHAPE, sizeof *list->v);
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
	struct bl_run *v = NULL;
	size_t n = 0;
	int rc = list_runs(ctx, month, 0, limit, &v, &n);
	if (rc == BL_OK)
		rc = bl__recs_json_out(v, n, sizeof *v, run_json_any, json);
	bl__recs_free(v, n, &RUN_SHAPE, sizeof *v);
	return rc;
}
