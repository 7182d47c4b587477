/*
 * The issuance batch driver: run lifecycle (start, plan, work, finish),
 * stop/resume/join, crash recovery, run history, the monthly schedule.
 *
 * Ownership: the process driving a run holds the MariaDB user lock named in
 * batch_runs.lock_name on its own connection.  The server releases it when
 * that connection ends, so a STARTED run whose lock is free has lost its
 * owner (crash, kill -9, power loss) and is marked FAILED ('SERVER_CRASH').
 */
#include <stddef.h>
#include <pthread.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>
#include "audit_private.h"
#include "batch_private.h"
#include "context_private.h"

#define MAX_CHUNK_RETRIES 8

int bl_batch_opts_init(bl_batch_opts *opts, unsigned version)
{
	if (!opts || version < 1 || version > BL_BATCH_OPTS_VERSION)
		return bl__fail(BL_EINVAL, "bl_batch_opts_init: unsupported version %u", version);
	bl_batch_opts d = BL_BATCH_OPTS_INIT;
	d.version = version;
	/* an older caller's struct ends after its version's last field */
	memcpy(opts, &d, version == 1	? offsetof(bl_batch_opts, allow_future)
			 : version == 2 ? offsetof(bl_batch_opts, end_cb)
					: sizeof d);
	return BL_OK;
}

static const char *MODE_NAMES[] = { "NORMAL", "FAILED_ONLY", "DRY_RUN", "REISSUE" };

const char *bl_batch_mode_name(bl_batch_mode mode)
{
	return (unsigned)mode < 4 ? MODE_NAMES[mode] : "?";
}

int bl_batch_mode_parse(const char *s, bl_batch_mode *mode)
{
	if (!s || !mode)
		return bl__fail(BL_EINVAL, "mode: NULL argument");
	static const char *alias[] = { "normal", "failed-only", "dry-run", "reissue" };
	for (int i = 0; i < 4; i++)
		if (!strcasecmp(s, MODE_NAMES[i]) || !strcasecmp(s, alias[i])) {
			*mode = (bl_batch_mode)i;
			return BL_OK;
		}
	return bl__fail(BL_EINVAL, "mode '%s': expected normal, failed-only, dry-run or reissue", s);
}

static int check_opts(const bl_batch_opts *o)
{
	if (!o)
		return BL_OK;
	if (o->version < 1 || o->version > BL_BATCH_OPTS_VERSION)
		return bl__fail(BL_EINVAL, "batch options: version %u, expected 1-%u (use bl_batch_opts_init)",
				o->version, BL_BATCH_OPTS_VERSION);
	if ((unsigned)o->mode > BL_BATCH_REISSUE)
		return bl__fail(BL_EINVAL, "batch options: unknown mode %d", (int)o->mode);
	if (o->partitions < 1 || o->partitions > 64)
		return bl__fail(BL_EINVAL, "partitions %d: must be 1-64", o->partitions);
	if (o->chunk_size < 1 || o->chunk_size > 100000)
		return bl__fail(BL_EINVAL, "chunk size %d: must be 1-100000", o->chunk_size);
	if ((unsigned)o->created_by > BL_CREATED_ADMIN)
		return bl__fail(BL_EINVAL, "batch options: unknown created_by %d", (int)o->created_by);
	return BL_OK;
}

/* Take a fresh user lock on the context's connection: the run's owner mark. */
static int take_owner_lock(MYSQL *db, char name[64])
{
	unsigned char rnd[12];
	if (sodium_init() < 0)
		return bl__fail(BL_ECRYPTO, "libsodium could not be initialised");
	randombytes_buf(rnd, sizeof rnd);
	char hex[25];
	sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
	snprintf(name, 64, "bl_run_%s", hex);
	int64_t got = 0;
	bl__param p[] = { BP_STR(name) };
	int rc = bl__db_i64(db, "SELECT GET_LOCK(?, 0)", p, 1, &got, NULL);
	if (rc == BL_OK && got != 1)
		rc = bl__fail(BL_ECONFLICT, "could not take the run lock %s", name);
	return rc;
}

static void release_owner_lock(MYSQL *db, const char *name)
{
	int64_t ignore;
	bl__param p[] = { BP_STR(name) };
	bl__db_i64(db, "SELECT RELEASE_LOCK(?)", p, 1, &ignore, NULL);
}

/* ---- the active-run conflict message ---- */

static int active_conflict(MYSQL *db, const char *month)
{
	json_t *rows = NULL;
	bl__param p[] = { BP_STR(month) };
	int rc = bl__db_json(db,
			     "SELECT id, owner, DATE_FORMAT(started_at, '%Y-%m-%d %H:%i:%s') AS started, "
			     "processed_count, total_count FROM batch_runs WHERE active_month = ?",
			     p, 1, &rows);
	if (rc)
		return rc;
	json_t *r = json_array_get(rows, 0);
	if (!r) {
		json_decref(rows);
		return bl__fail(BL_ECONFLICT, "month %s: another run became active; try again", month);
	}
	rc = bl__fail(BL_ECONFLICT,
		      "month %s already has an active run #%lld (started %s by %s, %lld/%lld processed); "
		      "stop it or wait for it to end",
		      month, (long long)json_integer_value(json_object_get(r, "id")),
		      json_string_value(json_object_get(r, "started")),
		      json_string_value(json_object_get(r, "owner")),
		      (long long)json_integer_value(json_object_get(r, "processed_count")),
		      (long long)json_integer_value(json_object_get(r, "total_count")));
	json_decref(rows);
	return rc;
}

/* ---- planning: split the subscribers into chunks ---- */

typedef struct {
	int64_t from, to;
	int count;
} plan_chunk;

static int stream_ids(MYSQL *db, const char *sql, const bl__param *ps, unsigned n, int chunk_size,
		      plan_chunk **out, size_t *nout, int64_t *total)
{
	MYSQL_STMT *st = mysql_stmt_init(db);
	if (!st)
		return bl__db_fail(db, sql);
	int rc = BL_OK;
	MYSQL_BIND pb[4], rb;
	int64_t id = 0;
	memset(pb, 0, sizeof pb);
	memset(&rb, 0, sizeof rb);
	for (unsigned i = 0; i < n; i++) {
		pb[i].buffer_type = MYSQL_TYPE_STRING;
		pb[i].buffer = (void *)ps[i].p;
		pb[i].buffer_length = ps[i].len;
		pb[i].length = (unsigned long *)&ps[i].len;
	}
	rb.buffer_type = MYSQL_TYPE_LONGLONG;
	rb.buffer = &id;
	if (mysql_stmt_prepare(st, sql, strlen(sql)) || mysql_stmt_bind_param(st, pb) ||
	    mysql_stmt_execute(st) || mysql_stmt_bind_result(st, &rb)) {
		rc = bl__stmt_fail(st, sql);
		mysql_stmt_close(st);
		return rc;
	}
	plan_chunk *v = NULL;
	size_t nv = 0, cap = 0;
	int64_t prev_to = 0, cnt = 0;
	int f;
	*total = 0;
	/* unbuffered: memory grows with the number of chunks, not of users */
	while ((f = mysql_stmt_fetch(st)) == 0) {
		(*total)++;
		if (nv == 0 || v[nv - 1].count == chunk_size) {
			if (nv == cap) {
				cap = cap ? cap * 2 : 256;
				plan_chunk *nn = realloc(v, cap * sizeof *nn);
				if (!nn) {
					rc = bl__fail(BL_ENOMEM, "out of memory");
					break;
				}
				v = nn;
			}
			v[nv++] = (plan_chunk){ prev_to, id, 0 };
		}
		v[nv - 1].to = id;
		v[nv - 1].count++;
		prev_to = id;
		cnt++;
	}
	if (rc == BL_OK && f == 1)
		rc = bl__stmt_fail(st, sql);
	mysql_stmt_close(st);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*nout = nv;
	return BL_OK;
}

static int plan_run(MYSQL *db, int64_t run_id, const char *month, bl__month ym, bl_batch_mode mode,
		    int chunk_size)
{
	char from[32], to[32];
	bl__month_bounds(ym, from, to);
	plan_chunk *chunks = NULL;
	size_t n = 0;
	int64_t total = 0;
	int rc;
	if (mode == BL_BATCH_FAILED_ONLY) {
		bl__param p[] = { BP_STR(month), BP_STR(month) };
		rc = stream_ids(db,
				"SELECT DISTINCT f.user_id FROM batch_failures f WHERE f.target_month = ? "
				"AND NOT EXISTS (SELECT 1 FROM statements s WHERE s.target_month = ? "
				"AND s.user_id = f.user_id) ORDER BY f.user_id",
				p, 2, chunk_size, &chunks, &n, &total);
	} else {
		bl__param p[] = { BP_STR(from), BP_STR(to) };
		rc = stream_ids(db,
				"SELECT DISTINCT user_id FROM charged_histories WHERE created_at >= ? "
				"AND created_at < ? ORDER BY user_id",
				p, 2, chunk_size, &chunks, &n, &total);
	}
	if (rc)
		return bl__fail_wrap(rc, "run %lld: planning", (long long)run_id);
	bl__bulk *b = NULL;
	rc = bl__db_begin(db);
	if (rc == BL_OK) {
		bl__param p[] = { BP_I64(run_id) };
		rc = bl__db_exec(db, "DELETE FROM batch_chunks WHERE run_id = ?", p, 1, NULL, NULL);
	}
	if (rc == BL_OK)
		rc = bl__bulk_new(&b, db,
				  "INSERT INTO batch_chunks (run_id, chunk_no, from_user_id, to_user_id, "
				  "user_count) VALUES",
				  5, 2000, "");
	for (size_t i = 0; rc == BL_OK && i < n; i++) {
		bl__param p[] = { BP_I64(run_id), BP_I64(i + 1), BP_I64(chunks[i].from),
				  BP_I64(chunks[i].to), BP_I64(chunks[i].count) };
		rc = bl__bulk_add(b, p);
	}
	if (rc == BL_OK)
		rc = bl__bulk_flush(b);
	bl__bulk_free(b);
	free(chunks);
	if (rc == BL_OK) {
		bl__param p[] = { BP_I64(total), BP_I64(run_id) };
		rc = bl__db_exec(db, "UPDATE batch_runs SET total_count = ?, planned = 1 WHERE id = ?", p, 2,
				 NULL, NULL);
	}
	if (rc == BL_OK)
		rc = bl__db_commit(db);
	if (rc)
		bl__db_rollback(db);
	return rc;
}

/* ---- workers ---- */

typedef struct {
	const bl_config *cfg;
	bl__clock clock; /* the clock of the context that runs the batch */
	const bl_batch_opts *opts;
	const volatile int *stop; /* the job's stop flag (batch_job.c), or NULL */
	bl__chunk_job job;
	int chunk_size;
	pthread_mutex_t mu;
	bl_batch_progress progress;
	bool abort;     /* an error happened: everyone stops */
	bool stopped;   /* a stop was requested */
	int err;
	char errmsg[1024];
} shared_t;

typedef struct {
	shared_t *sh;
	int index;
} worker_arg;

static void set_error(shared_t *sh, int code)
{
	pthread_mutex_lock(&sh->mu);
	if (!sh->err) {
		sh->err = code;
		snprintf(sh->errmsg, sizeof sh->errmsg, "%s", bl_error_last());
	}
	sh->abort = true;
	pthread_mutex_unlock(&sh->mu);
}

static bool should_stop(shared_t *sh, MYSQL *db)
{
	pthread_mutex_lock(&sh->mu);
	bool stop = sh->abort || sh->stopped;
	pthread_mutex_unlock(&sh->mu);
	if (stop)
		return true;
	bl__param p[] = { BP_I64(sh->job.run_id) };
	if ((sh->opts && sh->opts->cancel && *sh->opts->cancel) || (sh->stop && *sh->stop))
		bl__db_exec(db, "UPDATE batch_runs SET stop_requested = 1 WHERE id = ?", p, 1, NULL, NULL);
	int64_t state = 0;
	bool found = false;
	int rc = bl__db_i64(db,
			    "SELECT IF(status = 'STARTED' AND stop_requested = 0, 1, 0) FROM batch_runs "
			    "WHERE id = ?",
			    p, 1, &state, &found);
	if (rc) {
		set_error(sh, rc);
		return true;
	}
	if (!found || state == 0) {
		pthread_mutex_lock(&sh->mu);
		sh->stopped = true;
		pthread_mutex_unlock(&sh->mu);
		return true;
	}
	return false;
}

struct claim {
	bool got;
	int chunk_no;
	int64_t from, to;
};

static int claim_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	struct claim *c = p;
	c->got = true;
	c->chunk_no = atoi(v[0]);
	c->from = atoll(v[1]);
	c->to = atoll(v[2]);
	return BL_OK;
}

static void report(shared_t *sh, const bl__chunk_counts *k)
{
	pthread_mutex_lock(&sh->mu);
	sh->progress.issued += k->issued;
	sh->progress.skipped += k->skipped;
	sh->progress.failed += k->failed;
	sh->progress.processed += k->issued + k->skipped + k->failed;
	bl_batch_progress snap = sh->progress;
	if (sh->opts && sh->opts->progress_cb)
		sh->opts->progress_cb(&snap, sh->opts->progress_payload);
	pthread_mutex_unlock(&sh->mu);
}

static void *worker_main(void *argp)
{
	worker_arg *a = argp;
	shared_t *sh = a->sh;
	char worker[160];
	bl__owner_name(worker);
	snprintf(worker + strlen(worker), sizeof worker - strlen(worker), "/t%d", a->index);
	bl__chunk_job job = sh->job;
	job.worker = worker;
	MYSQL *db = bl__db_connect(sh->cfg, true);
	bl__chunker *ck = NULL;
	if (!db) {
		set_error(sh, bl_error_last_code());
		return NULL;
	}
	int rc = bl__chunker_new(&ck, db, &job, sh->chunk_size);
	if (rc)
		set_error(sh, rc);
	int retries = 0;
	while (rc == BL_OK && !should_stop(sh, db)) {
		struct claim c = { 0 };
		bl__param p[] = { BP_I64(job.run_id) };
		/* the chunk's issued_at/done_at are the batch's clock */
		rc = bl__db_set_clock(db, bl__clock_now_us(&sh->clock));
		if (rc == BL_OK)
			rc = bl__db_begin(db);
		if (rc == BL_OK)
			rc = bl__db_rows(db,
					 "SELECT chunk_no, from_user_id, to_user_id FROM batch_chunks "
					 "WHERE run_id = ? AND status = 'PENDING' ORDER BY chunk_no LIMIT 1 "
					 "FOR UPDATE SKIP LOCKED",
					 p, 1, claim_cb, &c);
		if (rc == BL_OK && !c.got) {
			/* none free: done, or others still hold chunks (wait for them) */
			bl__db_rollback(db);
			int64_t pending = 0;
			rc = bl__db_i64(db,
					"SELECT COUNT(*) FROM batch_chunks WHERE run_id = ? AND status = 'PENDING'",
					p, 1, &pending, NULL);
			if (rc || pending == 0)
				break;
			usleep(200 * 1000);
			continue;
		}
		bl__chunk_counts k;
		if (rc == BL_OK)
			rc = bl__chunk_process(ck, c.chunk_no, c.from, c.to, &k);
		if (rc == BL_OK)
			rc = bl__db_commit(db);
		if (rc == BL_OK) {
			retries = 0;
			report(sh, &k);
			continue;
		}
		bl__db_rollback(db);
		if (rc == BL_ECONFLICT && ++retries <= MAX_CHUNK_RETRIES) {
			usleep((useconds_t)(50000 * retries)); /* lock wait/deadlock: try again */
			rc = BL_OK;
			continue;
		}
		bl__fail_wrap(rc, "run %lld chunk %d (users %lld..%lld]", (long long)job.run_id, c.chunk_no,
			      (long long)c.from, (long long)c.to);
		set_error(sh, rc);
	}
	bl__chunker_free(ck);
	mysql_close(db);
	return NULL;
}

static int run_workers(shared_t *sh, int partitions)
{
	pthread_t th[64];
	worker_arg args[64];
	int started = 0;
	for (int i = 0; i < partitions; i++) {
		args[i] = (worker_arg){ sh, i };
		if (pthread_create(&th[i], NULL, worker_main, &args[i])) {
			bl__fail(BL_ERROR, "could not start batch worker thread %d", i);
			set_error(sh, BL_ERROR);
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (sh->err)
		return bl__fail(sh->err, "%s", sh->errmsg);
	return BL_OK;
}

/* ---- the run ---- */

static int run_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	bl__run_row *r = p;
	r->id = atoll(v[0]);
	snprintf(r->month, sizeof r->month, "%s", v[1]);
	bl_batch_mode_parse(v[2], &r->mode);
	r->planned = atoi(v[3]) != 0;
	r->chunk_size = atoi(v[4]);
	r->progress = (bl_batch_progress){ r->id, atoll(v[5]), atoll(v[6]), atoll(v[7]), atoll(v[8]),
					   atoll(v[9]) };
	return BL_OK;
}

static int load_run(MYSQL *db, int64_t id, bl__run_row *r)
{
	memset(r, 0, sizeof *r);
	bl__param p[] = { BP_I64(id) };
	int rc = bl__db_rows(db,
			     "SELECT id, target_month, mode, planned, chunk_size, total_count, "
			     "processed_count, issued_count, skipped_count, failed_count "
			     "FROM batch_runs WHERE id = ?",
			     p, 1, run_cb, r);
	if (rc == BL_OK && r->id == 0)
		rc = bl__fail(BL_ENOTFOUND, "batch run #%lld does not exist", (long long)id);
	if (rc == BL_OK)
		rc = bl__month_read(r->month, &r->ym);
	return rc;
}

/* Plan if needed, work the chunks with `partitions` threads. */
static int work_run(bl_ctx *ctx, MYSQL *db, bl__run_row *r, const bl_batch_opts *opts,
		    const volatile int *stop, bool *stopped)
{
	int rc = BL_OK;
	if (!r->planned) {
		rc = plan_run(db, r->id, r->month, r->ym, r->mode, r->chunk_size);
		if (rc == BL_OK)
			rc = load_run(db, r->id, r);
		if (rc)
			return rc;
	}
	shared_t sh;
	memset(&sh, 0, sizeof sh);
	pthread_mutex_init(&sh.mu, NULL);
	sh.cfg = ctx->cfg;
	sh.clock = ctx->clock;
	sh.opts = opts;
	sh.stop = stop;
	sh.chunk_size = r->chunk_size;
	sh.job.run_id = r->id;
	memcpy(sh.job.month, r->month, sizeof sh.job.month);
	sh.job.ym = r->ym;
	sh.job.mode = r->mode;
	sh.job.due_day = (int)bl__config_int(ctx->cfg, "BILLING_DUE_DAY");
	sh.progress = r->progress;
	rc = run_workers(&sh, opts ? opts->partitions : 1);
	*stopped = sh.stopped;
	pthread_mutex_destroy(&sh.mu);
	return rc;
}

/* End the run: COMPLETED when no chunk is left, STOPPED or FAILED otherwise. */
static int finish_run(bl_ctx *ctx, bl__run_row *r, int work_rc, bool stopped, const char *lock,
		      const bl_batch_opts *opts)
{
	char reason[512] = "";
	if (work_rc)
		snprintf(reason, sizeof reason, "%s", bl_error_last());
	MYSQL *db = bl__ctx_db(ctx);
	if (db && mysql_ping(db)) {
		bl__ctx_db_reset(ctx); /* the server went away: the lock went with it */
		db = bl__ctx_db(ctx);
	}
	if (!db)
		return work_rc ? bl__fail(work_rc, "%s", reason) : bl_error_last_code();
	int64_t pending = 0;
	bl__param p[] = { BP_I64(r->id) };
	int rc = bl__db_i64(db, "SELECT COUNT(*) FROM batch_chunks WHERE run_id = ? AND status = 'PENDING'",
			    p, 1, &pending, NULL);
	if (rc)
		return rc;
	const char *status = work_rc ? "FAILED" : pending == 0 ? "COMPLETED" : "STOPPED";
	bl__param q[] = { BP_STR(status), work_rc ? BP_STR(reason) : BP_NULL, BP_I64(r->id) };
	uint64_t changed = 0;
	rc = bl__db_exec(db,
			 "UPDATE batch_runs SET status = ?, fail_reason = ?, ended_at = NOW(3), "
			 "duration_ms = TIMESTAMPDIFF(MICROSECOND, started_at, NOW(3)) DIV 1000 "
			 "WHERE id = ? AND status = 'STARTED'",
			 q, 3, &changed, NULL);
	release_owner_lock(db, lock);
	if (rc)
		return rc;
	if (work_rc)
		return bl__fail(work_rc, "%s", reason);
	if (!changed)
		return bl__fail(BL_ECONFLICT, "run #%lld was ended by another process meanwhile",
				(long long)r->id);
	if (pending) {
		(void)stopped;
		return bl__fail(BL_ESTOPPED, "run #%lld stopped with %lld chunk(s) left; resume it to finish",
				(long long)r->id, (long long)pending);
	}
	/* the month's billing reservation (reservation.c): one per run (unique
	 * batch_run_id), due after BILLING_RESERVATION_DELAY_S for review; the run
	 * stays COMPLETED if this fails, and the error is returned */
	/* nothing processed (a month without charges): nothing to send either */
	int resv_rc = r->mode == BL_BATCH_DRY_RUN || r->progress.total == 0
			      ? BL_OK
			      : bl_reservation_after_batch(ctx, r->id, r->month, NULL);
	if (resv_rc)
		bl__fail_wrap(resv_rc, "run #%lld COMPLETED, but its billing reservation was not created "
				       "(retry with 'billing-cli reservation create --run %lld')",
			      (long long)r->id, (long long)r->id);
	if (r->mode != BL_BATCH_DRY_RUN && opts && opts->complete_cb)
		opts->complete_cb(r->id, r->month, opts->complete_payload);
	return resv_rc;
}

static int refuse_reissue_in_flight(MYSQL *db, const char *month)
{
	int64_t n = 0;
	bl__param p[] = { BP_STR(month) };
	int rc = bl__db_i64(db,
			    "SELECT COUNT(*) FROM messages m JOIN statements s ON s.id = m.statement_id "
			    "WHERE s.target_month = ? AND m.status IN ('WAITING','PROCESSING')",
			    p, 1, &n, NULL);
	if (rc == BL_OK && n > 0)
		rc = bl__fail(BL_ECONFLICT,
			      "reissue of %s refused: %lld message(s) for its statements are in flight "
			      "(WAITING/PROCESSING); let them finish or cancel them first",
			      month, (long long)n);
	return rc;
}

/* What a run's audit entry says of it (docs/audit.md). */
static json_t *run_detail(const char *month, const bl_batch_opts *o)
{
	return json_pack("{s:s,s:s,s:i}", "month", month, "mode", bl_batch_mode_name(o->mode), "partitions",
			 o->partitions);
}

/*
 * A new run of `month` on ctx's connection, owned through `lock`, and its
 * "batch.start" entry in the same transaction.  BL_ECONFLICT: another
 * active run.
 */
static int create_run(bl_ctx *ctx, MYSQL *db, const char *month, const bl_batch_opts *opts, const char *lock,
		      int64_t *id)
{
	char owner[BL__OWNER_MAX];
	bl__owner_name(owner);
	uint64_t nid = 0;
	bl__param p[] = { BP_STR(month), BP_STR(bl_batch_mode_name(opts->mode)),
			  BP_STR(opts->created_by == BL_CREATED_AUTO ? "AUTO" : "ADMIN"),
			  BP_I64(opts->partitions), BP_I64(opts->chunk_size), BP_STR(owner), BP_STR(lock) };
	int rc = bl__db_begin(db);
	if (rc == BL_OK)
		rc = bl__db_exec(db,
				 "INSERT INTO batch_runs (target_month, mode, created_by, partitions, chunk_size, "
				 "owner, lock_name) VALUES (?,?,?,?,?,?,?)",
				 p, 7, NULL, &nid);
	rc = bl__audit_commit(ctx, db, rc, "batch.start", run_detail(month, opts), "batch:%llu",
			      (unsigned long long)nid);
	if (rc)
		return rc == BL_ECONFLICT ? active_conflict(db, month) : rc;
	*id = (int64_t)nid;
	return BL_OK;
}

static int reopen_run(bl_ctx *ctx, int64_t run_id, const char *lock, const bl_batch_opts *opts)
{
	MYSQL *db = bl__ctx_db(ctx);
	char owner[BL__OWNER_MAX];
	bl__owner_name(owner);
	bl__run_row r;
	int rc = load_run(db, run_id, &r);
	if (rc)
		return rc;
	if (r.mode == BL_BATCH_REISSUE && (rc = refuse_reissue_in_flight(db, r.month)))
		return rc;
	uint64_t changed = 0;
	bl__param p[] = { BP_STR(owner), BP_STR(lock), BP_I64(run_id) };
	if ((rc = bl__db_begin(db)) == BL_OK)
		rc = bl__db_exec(db,
				 "UPDATE batch_runs SET status = 'STARTED', stop_requested = 0, owner = ?, "
				 "lock_name = ?, fail_reason = NULL, ended_at = NULL, duration_ms = NULL "
				 "WHERE id = ? AND status IN ('STOPPED','FAILED')",
				 p, 3, &changed, NULL);
	/* the reopened row and its "batch.resume" entry together */
	if (rc == BL_OK && changed) {
		bl_batch_opts o = *opts;
		o.mode = r.mode;
		return bl__audit_commit(ctx, db, rc, "batch.resume", run_detail(r.month, &o), "batch:%lld",
					(long long)run_id);
	}
	bl__db_rollback(db);
	if (rc == BL_ECONFLICT)
		return active_conflict(db, r.month);
	if (rc == BL_OK && !changed) {
		int64_t st = 0;
		bl__param q[] = { BP_I64(run_id) };
		bl__db_i64(db, "SELECT status + 0 FROM batch_runs WHERE id = ?", q, 1, &st, NULL);
		return bl__fail(BL_ECONFLICT, "batch run #%lld is %s: only STOPPED or FAILED runs resume",
				(long long)run_id, st == 1 ? "STARTED (running)" : "COMPLETED");
	}
	return rc;
}

int bl__batch_open(bl_ctx *ctx, const char *month, int64_t resume_id, const bl_batch_opts *opts,
		   bl__run_open *out)
{
	memset(out, 0, sizeof *out);
	int rc = month ? bl_month_parse(month, NULL, NULL) : BL_OK;
	if (rc == BL_OK)
		rc = check_opts(opts);
	if (rc)
		return rc;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	if ((rc = bl_batch_recover(ctx, NULL)))
		return rc;
	if (month) {
		if ((rc = bl_batch_check(ctx, month, opts)))
			return rc;
		if (opts->mode == BL_BATCH_REISSUE && (rc = refuse_reissue_in_flight(db, month)))
			return rc;
	}
	if ((rc = take_owner_lock(db, out->lock)))
		return rc;
	int64_t id = resume_id;
	rc = month ? create_run(ctx, db, month, opts, out->lock, &id) : reopen_run(ctx, resume_id, out->lock, opts);
	if (rc == BL_OK)
		rc = load_run(db, id, &out->r);
	if (rc) {
		release_owner_lock(db, out->lock);
		if (month && id)
			out->r.id = id; /* the run exists (bl_batch_run reports it) */
	}
	return rc;
}

int bl__batch_drive(bl_ctx *ctx, bl__run_open *run, const bl_batch_opts *opts, const volatile int *stop)
{
	MYSQL *db = bl__ctx_db(ctx);
	bool stopped = false;
	int rc = db ? work_run(ctx, db, &run->r, opts, stop, &stopped) : bl_error_last_code();
	rc = finish_run(ctx, &run->r, rc, stopped, run->lock, opts);
	if (opts->version >= 3 && opts->end_cb)
		opts->end_cb(run->r.id, run->r.month, rc, rc ? bl_error_last() : "", opts->end_payload);
	return rc;
}

int bl_batch_run(bl_ctx *ctx, const char *month, const bl_batch_opts *opts, int64_t *run_id)
{
	bl_batch_opts defaults = BL_BATCH_OPTS_INIT;
	if (!opts)
		opts = &defaults;
	if (run_id)
		*run_id = 0;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_batch_run: ctx is NULL");
	if (!month)
		return bl__fail(BL_EINVAL, "bl_batch_run: month is NULL");
	bl__run_open run;
	int rc = bl__batch_open(ctx, month, 0, opts, &run);
	if (run_id)
		*run_id = run.r.id;
	return rc ? rc : bl__batch_drive(ctx, &run, opts, NULL);
}

int bl_batch_resume(bl_ctx *ctx, int64_t run_id, const bl_batch_opts *opts)
{
	bl_batch_opts defaults = BL_BATCH_OPTS_INIT;
	if (!opts)
		opts = &defaults;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_batch_resume: ctx is NULL");
	bl__run_open run;
	int rc = bl__batch_open(ctx, NULL, run_id, opts, &run);
	return rc ? rc : bl__batch_drive(ctx, &run, opts, NULL);
}

int bl_batch_join(bl_ctx *ctx, int64_t run_id, const bl_batch_opts *opts)
{
	bl_batch_opts defaults = BL_BATCH_OPTS_INIT;
	if (!opts)
		opts = &defaults;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_batch_join: ctx is NULL");
	int rc = check_opts(opts);
	MYSQL *db = rc ? NULL : bl__ctx_db(ctx);
	if (rc || !db)
		return rc ? rc : bl_error_last_code();
	bl__run_row r;
	if ((rc = load_run(db, run_id, &r)))
		return rc;
	int64_t started = 0;
	bl__param p[] = { BP_I64(run_id) };
	if ((rc = bl__db_i64(db, "SELECT status = 'STARTED' AND planned = 1 FROM batch_runs WHERE id = ?",
			     p, 1, &started, NULL)))
		return rc;
	if (!started)
		return bl__fail(BL_ECONFLICT, "batch run #%lld is not running (or not planned yet): "
					      "nothing to join", (long long)run_id);
	/* the owner finishes the run; a joiner only works chunks */
	if ((rc = bl__db_begin(db)) == BL_OK)
		rc = bl__audit_commit(ctx, db, rc, "batch.join", json_pack("{s:s,s:i}", "month", r.month,
									 "partitions", opts->partitions),
				      "batch:%lld", (long long)run_id);
	if (rc)
		return rc;
	bool stopped = false;
	return work_run(ctx, db, &r, opts, NULL, &stopped);
}
