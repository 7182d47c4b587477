/*
 * The outbox relay: publishes due message rows to the Redis stream.
 *
 * One transaction per batch: SELECT ... FOR UPDATE SKIP LOCKED claims the
 * rows (so several relays never publish the same row at once), published_at
 * is set, pipelined XADD (MAXLEN ~ keeps the stream bounded), and the
 * transaction commits.  When Redis fails the transaction rolls back and
 * the rows wait.  A crash between XADD and COMMIT publishes a row twice,
 * which the worker's conditional claim makes harmless.
 */
#include "stream_private.h"
#include "context_private.h"
#include "reservation_private.h"

typedef struct {
	int64_t id[10000];
	size_t n;
	bl__relay_pos *pos; /* the status being read, or NULL */
} due_rows;

static int due_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	due_rows *d = p;
	d->id[d->n] = atoll(v[0]);
	if (d->pos) {
		snprintf(d->pos->at, sizeof d->pos->at, "%s", v[1] ? v[1] : "");
		d->pos->id = d->id[d->n];
	}
	d->n++;
	return BL_OK;
}

static int publish(const bl_config *cfg, redisContext *r, const due_rows *d)
{
	char key[256], maxlen[32];
	bl__stream_key(cfg, key, sizeof key);
	snprintf(maxlen, sizeof maxlen, "%lld", (long long)bl__config_int(cfg, "BILLING_STREAM_MAXLEN"));
	for (size_t i = 0; i < d->n; i++) {
		/* the entry names the row; the worker reads everything else from it */
		char id[24];
		snprintf(id, sizeof id, "%lld", (long long)d->id[i]);
		const char *argv[] = { "XADD", key, "MAXLEN", "~", maxlen, "*", "id", id };
		if (redisAppendCommandArgv(r, 8, argv, NULL) != REDIS_OK)
			return bl__fail(BL_EREDIS, "Redis XADD %s: %s", key, r->errstr);
	}
	int rc = BL_OK;
	for (size_t i = 0; i < d->n; i++) {
		redisReply *rep = NULL;
		if (redisGetReply(r, (void **)&rep) != REDIS_OK || !rep) {
			return bl__fail(BL_EREDIS, "Redis XADD %s: %s", key, r->errstr);
		}
		if (rep->type == REDIS_REPLY_ERROR && rc == BL_OK)
			rc = bl__fail(BL_EREDIS, "Redis XADD %s: %s", key, rep->str);
		freeReplyObject(rep);
	}
	return rc;
}

/* Quiet hours (quiet.c): held rows due inside the window are deferred to its
 * end instead of published; the rest keep their order. */
static int quiet_guard(const bl_config *cfg, MYSQL *db, due_rows *d, size_t *deferred)
{
	bool *held = malloc(d->n * sizeof *held);
	size_t nheld = 0, k = 0;
	int rc = held ? bl__quiet_hold_rows(cfg, db, d->id, d->n, held, &nheld)
		      : bl__fail(BL_ENOMEM, "out of memory");
	for (size_t i = 0; rc == BL_OK && nheld && i < d->n; i++)
		if (!held[i])
			d->id[k++] = d->id[i];
	if (rc == BL_OK && nheld)
		d->n = k;
	*deferred = rc == BL_OK ? nheld : 0;
	free(held);
	return rc;
}

/*
 * Read up to `want` due rows of one status, in index order.  With a cursor
 * the scan starts after the last row this relay published: the entries of
 * rows published a moment ago stay in the index (delete-marked) until InnoDB
 * purges them, and a scan from the start would walk over all of them on
 * every batch.  A short read means the end was reached: the cursor is reset
 * so that the next read starts from the beginning again and picks up rows
 * it passed (locked by another relay, or committed late with an earlier
 * time).  FORCE INDEX: with a large backlog the optimizer prefers
 * ix_messages_status and reads every already published row of the status.
 */
static int read_due(MYSQL *db, const char *status, bl__relay_pos *pos, int64_t want, due_rows *d)
{
	size_t before = d->n;
	/* no cursor: from before the first possible row */
	const char *at = pos && pos->at[0] ? pos->at : "1000-01-01 00:00:00";
	int64_t after_id = pos && pos->at[0] ? pos->id : 0;
	bl__param p[] = { BP_STR(status), BP_STR(at), BP_STR(at), BP_I64(after_id), BP_I64(want) };
	d->pos = pos;
	int rc = bl__db_rows(db,
			     "SELECT id, next_attempt_at FROM messages "
			     "FORCE INDEX (ix_messages_outbox) WHERE published_at IS NULL AND status = ? "
			     "AND next_attempt_at <= NOW(3) AND (next_attempt_at > ? OR "
			     "(next_attempt_at = ? AND id > ?)) "
			     "ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED",
			     p, 5, due_cb, d);
	d->pos = NULL;
	if (pos && (rc || (int64_t)(d->n - before) < want))
		pos->at[0] = '\0'; /* from the start next time */
	return rc;
}

int bl__relay_once(const bl_config *cfg, MYSQL *db, redisContext *r, bl__relay_pos *pos, int64_t *n)
{
	*n = 0;
	int64_t batch = bl__config_int(cfg, "BILLING_RELAY_BATCH");
	due_rows *d = malloc(sizeof *d);
	if (!d)
		return bl__fail(BL_ENOMEM, "out of memory");
	d->n = 0;
	d->pos = NULL;
	int rc = bl__db_begin(db);
	/* one status at a time: the index (published_at, status, next_attempt_at)
	 * then yields rows in order without sorting the whole backlog */
	static const char *const sts[] = { "WAITING", "FAILED" };
	size_t deferred = 0;
	int rounds = 0;
	do { /* again when quiet hours deferred every row selected (they are not due any more) */
		for (int i = 0; rc == BL_OK && i < 2 && (int64_t)d->n < batch; i++)
			rc = read_due(db, sts[i], pos ? &pos[i] : NULL, batch - (int64_t)d->n, d);
		if (rc == BL_OK && d->n)
			rc = quiet_guard(cfg, db, d, &deferred);
	} while (rc == BL_OK && d->n == 0 && deferred && ++rounds < 16);
	/* marked first, published last: the stream entries appear just before the
	 * commit, so workers reading them rarely wait for these row locks */
	if (rc == BL_OK && d->n) {
		bl__param *ps = malloc(d->n * sizeof *ps);
		bl_strbuf sql = { 0 };
		bl__sb_puts(&sql, "UPDATE messages SET published_at = NOW(3) WHERE id IN (");
		bl__sb_placeholders(&sql, d->n);
		bl__sb_puts(&sql, ")");
		for (size_t i = 0; ps && i < d->n; i++)
			ps[i] = BP_I64(d->id[i]);
		rc = !ps || sql.oom ? bl__fail(BL_ENOMEM, "out of memory")
				    : bl__db_exec(db, sql.s, ps, (unsigned)d->n, NULL, NULL);
		free(ps);
		bl__sb_free(&sql);
	}
	if (rc == BL_OK && d->n)
		rc = publish(cfg, r, d);
	if (rc == BL_OK)
		rc = bl__db_commit(db);
	if (rc) {
		bl__db_rollback(db);
		for (int i = 0; pos && i < 2; i++)
			pos[i].at[0] = '\0'; /* nothing was published: read these rows again */
	} else {
		*n = (int64_t)d->n;
	}
	free(d);
	return rc;
}

int bl_relay_publish(bl_ctx *ctx, int64_t *published)
{
	if (published)
		*published = 0;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_relay_publish: ctx is NULL");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	redisContext *r = bl__ctx_redis(ctx);
	if (!r)
		return bl_error_last_code();
	int rc = bl__stream_ensure_group(r, ctx->cfg);
	int64_t n = 0, total = 0;
	bl__relay_pos pos[2] = { 0 };
	do {
		if (rc == BL_OK)
			rc = bl__relay_once(ctx->cfg, db, r, pos, &n);
		total += n;
	} while (rc == BL_OK && n > 0);
	if (published)
		*published = total;
	return rc;
}
