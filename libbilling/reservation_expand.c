/*
 * Reservation expansion: claim a due reservation, turn it into messages in
 * chunks, mark it SENT.
 *
 * Claim.  A MariaDB user lock per reservation (named after the database and
 * the id) is held by the expanding connection for as long as it works; the
 * state change WAITING → PROCESSING is a conditional UPDATE made under that
 * lock, so one process wins and a concurrent cancel either wins before it or
 * is refused after it.  A PROCESSING reservation whose lock is free lost its
 * expander (crash, stop, lost connection) and is taken over the same way.
 *
 * Chunks.  Group members (user_group_members) or, for USER_ALL, users are
 * read by keyset (user id > checkpoint, LIMIT BILLING_RESERVATION_CHUNK);
 * each chunk inserts its messages (idempotency key resv:<id>:<user>) and
 * advances expanded_to_user_id in one transaction, guarded by the old
 * checkpoint.  Memory is bounded by one chunk whatever the group's size.
 * Statements of a month go through bl_message_enqueue_statements, itself
 * chunked and idempotent per statement, so a resumed expansion only adds
 * what is missing.
 */
#include <unistd.h>
#include "reservation_private.h"

#define LOCK_NAME "CONCAT('bl_resv:', LEFT(SHA1(DATABASE()), 16), ':', ?)"
#define CANDIDATES 16

typedef struct {
	int64_t id, template_id, group_id, checkpoint;
	bool all;
	char status[12], channel[8], purpose[8], month[8];
	char *params;
} resv;

static int resv_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	resv *r = p;
	r->id = atoll(v[0]);
	snprintf(r->status, sizeof r->status, "%s", v[1]);
	r->template_id = atoll(v[2]);
	snprintf(r->channel, sizeof r->channel, "%s", v[3]);
	snprintf(r->purpose, sizeof r->purpose, "%s", v[4]);
	r->group_id = atoll(v[5]);
	r->all = !strcmp(v[6], "ALL");
	snprintf(r->month, sizeof r->month, "%s", v[7]);
	r->params = v[8] ? bl__strdup(v[8]) : NULL;
	r->checkpoint = atoll(v[9]);
	return v[8] && !r->params ? bl__fail(BL_ENOMEM, "out of memory") : BL_OK;
}

static int load(MYSQL *db, int64_t id, resv *r)
{
	memset(r, 0, sizeof *r);
	bl__param p[] = { BP_I64(id) };
	int rc = bl__db_rows(db,
			     "SELECT r.id, r.status, r.template_id, r.channel, t.purpose, "
			     "COALESCE(r.user_group_id, 0), COALESCE(g.kind, ''), COALESCE(r.target_month, ''), "
			     "r.params_json, r.expanded_to_user_id FROM message_reservations r "
			     "JOIN message_templates t ON t.id = r.template_id "
			     "LEFT JOIN user_groups g ON g.id = r.user_group_id WHERE r.id = ?",
			     p, 1, resv_cb, r);
	if (rc == BL_OK && !r->id)
		rc = bl__fail(BL_ENOTFOUND, "reservation #%lld does not exist", (long long)id);
	return rc;
}

/* ---- chunks of a group ---- */

typedef struct {
	int64_t *ids;
	bool *consent;
	size_t n;
} page;

static int page_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	page *pg = p;
	pg->ids[pg->n] = atoll(v[0]);
	pg->consent[pg->n] = atoi(v[1]) != 0;
	pg->n++;
	return BL_OK;
}

static int read_page(MYSQL *db, const resv *r, int64_t after, int64_t limit, page *pg)
{
	pg->n = 0;
	if (r->all) {
		bl__param p[] = { BP_STR(r->channel), BP_I64(after), BP_I64(limit) };
		return bl__db_rows(db,
				   "SELECT id, IF(? = 'SMS', consent_sms, consent_email) FROM users "
				   "WHERE id > ? ORDER BY id LIMIT ?",
				   p, 3, page_cb, pg);
	}
	bl__param p[] = { BP_STR(r->channel), BP_I64(r->group_id), BP_I64(after), BP_I64(limit) };
	return bl__db_rows(db,
			   "SELECT m.user_id, IF(? = 'SMS', u.consent_sms, u.consent_email) "
			   "FROM user_group_members m JOIN users u ON u.id = m.user_id "
			   "WHERE m.group_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?",
			   p, 4, page_cb, pg);
}

/* One chunk: its messages and the checkpoint, in one transaction. */
static int write_chunk(MYSQL *db, resv *r, const page *pg, const char *due, int64_t *created)
{
	*created = 0;
	bl__bulk *b = NULL;
	int64_t skipped = 0;
	int rc = bl__db_begin(db);
	if (rc == BL_OK)
		rc = bl__bulk_new(&b, db,
				  "INSERT INTO messages (idempotency_key, user_id, reservation_id, template_id, "
				  "channel, purpose, next_attempt_at, params_json) VALUES",
				  8, 1000, " ON DUPLICATE KEY UPDATE id = id");
	for (size_t i = 0; rc == BL_OK && i < pg->n; i++) {
		if (!pg->consent[i]) {
			skipped++;
			continue;
		}
		char key[64];
		snprintf(key, sizeof key, "resv:%lld:%lld", (long long)r->id, (long long)pg->ids[i]);
		bl__param row[] = { BP_STR(key), BP_I64(pg->ids[i]), BP_I64(r->id), BP_I64(r->template_id),
				    BP_STR(r->channel), BP_STR(r->purpose), BP_STR(due),
				    r->params ? BP_STR(r->params) : BP_NULL };
		rc = bl__bulk_add(b, row);
	}
	if (rc == BL_OK)
		rc = bl__bulk_flush(b);
	/* ON DUPLICATE KEY UPDATE id = id: 1 affected row per new message, 0 per existing */
	int64_t n = b ? (int64_t)bl__bulk_affected(b) : 0;
	bl__bulk_free(b);
	uint64_t moved = 0;
	int64_t last = pg->ids[pg->n - 1];
	if (rc == BL_OK) {
		bl__param p[] = { BP_I64(last), BP_I64(n), BP_I64(skipped), BP_I64(r->id), BP_I64(r->checkpoint) };
		rc = bl__db_exec(db,
				 "UPDATE message_reservations SET expanded_to_user_id = ?, "
				 "message_count = message_count + ?, skipped_count = skipped_count + ? "
				 "WHERE id = ? AND status = 'PROCESSING' AND expanded_to_user_id = ?",
				 p, 5, &moved, NULL);
	}
	if (rc == BL_OK && moved != 1)
		rc = bl__fail(BL_ECONFLICT, "reservation #%lld: its checkpoint moved (expanded elsewhere?)",
			      (long long)r->id);
	if (rc == BL_OK)
		rc = bl__db_commit(db);
	if (rc) {
		bl__db_rollback(db);
		return rc;
	}
	r->checkpoint = last;
	*created = n;
	return BL_OK;
}

static int mark_sent(MYSQL *db, int64_t id)
{
	bl__param p[] = { BP_I64(id) };
	return bl__db_exec(db,
			   "UPDATE message_reservations SET status = 'SENT', finished_at = NOW(3) "
			   "WHERE id = ? AND status = 'PROCESSING'",
			   p, 1, NULL, NULL);
}

static int expand_group(bl_ctx *ctx, MYSQL *db, resv *r, int64_t now_ms, const volatile int *cancel,
			int64_t *expanded)
{
	const bl_config *cfg = bl_ctx_config(ctx);
	int64_t chunk = bl__config_int(cfg, "BILLING_RESERVATION_CHUNK");
	if (chunk < 1)
		chunk = 1000;
	bl__quiet q;
	bl__quiet_load(cfg, &q);
	char due[32];
	bl__seoul_datetime(bl__quiet_release_ms(&q, r->channel, r->purpose, now_ms), due);
	page pg = { calloc((size_t)chunk, sizeof(int64_t)), calloc((size_t)chunk, sizeof(bool)), 0 };
	int rc = pg.ids && pg.consent ? BL_OK : bl__fail(BL_ENOMEM, "out of memory");
	while (rc == BL_OK) {
		if (cancel && *cancel)
			break; /* stays PROCESSING at its checkpoint: whoever ticks next resumes it */
		rc = read_page(db, r, r->checkpoint, chunk, &pg);
		if (rc)
			break;
		if (pg.n == 0) {
			rc = mark_sent(db, r->id);
			break;
		}
		int64_t n = 0;
		rc = write_chunk(db, r, &pg, due, &n);
		*expanded += n;
	}
	free(pg.ids);
	free(pg.consent);
	return rc;
}

/* ---- statements of a month ---- */

static int expand_month(bl_ctx *ctx, MYSQL *db, resv *r, int64_t now_ms, int64_t *expanded)
{
	bl_enqueue_stats st;
	int rc = bl_message_enqueue_statements(ctx, r->month, r->id, &st);
	if (rc)
		return rc;
	*expanded += st.created;
	/* quiet hours, if BILLING is held: its messages wait for the window's end */
	bl__quiet q;
	bl__quiet_load(bl_ctx_config(ctx), &q);
	for (int c = 0; rc == BL_OK && c < 2; c++) {
		const char *ch = c ? "SMS" : "EMAIL";
		int64_t at = bl__quiet_release_ms(&q, ch, "BILLING", now_ms);
		if (at == now_ms)
			continue;
		char due[32];
		bl__seoul_datetime(at, due);
		bl__param p[] = { BP_STR(due), BP_I64(r->id), BP_STR(ch), BP_STR(due) };
		rc = bl__db_exec(db,
				 "UPDATE messages SET next_attempt_at = ? WHERE reservation_id = ? AND channel = ? "
				 "AND published_at IS NULL AND next_attempt_at < ?",
				 p, 4, NULL, NULL);
	}
	if (rc)
		return rc;
	bl__param p[] = { BP_I64(r->id), BP_I64(st.no_consent), BP_I64(r->id) };
	return bl__db_exec(db,
			   "UPDATE message_reservations SET status = 'SENT', finished_at = NOW(3), "
			   "message_count = (SELECT COUNT(*) FROM messages WHERE reservation_id = ?), "
			   "skipped_count = ? WHERE id = ? AND status = 'PROCESSING'",
			   p, 3, NULL, NULL);
}

/* ---- claim ---- */

static void unlock(MYSQL *db, int64_t id)
{
	int64_t ignore;
	bl__param p[] = { BP_I64(id) };
	bl__db_i64(db, "SELECT RELEASE_LOCK(" LOCK_NAME ")", p, 1, &ignore, NULL);
}

/* Take reservation `id` for this connection: *got when it is ours to expand
 * (the lock is then held; the caller releases it). */
static int claim(MYSQL *db, int64_t id, const char *due_by, bool *got)
{
	*got = false;
	int64_t locked = 0, state = 0;
	bl__param p[] = { BP_I64(id) };
	int rc = bl__db_i64(db, "SELECT GET_LOCK(" LOCK_NAME ", 0)", p, 1, &locked, NULL);
	if (rc || locked != 1)
		return rc; /* another process is expanding it */
	char owner[128];
	bl__owner_name(owner);
	uint64_t changed = 0;
	bl__param q[] = { BP_STR(owner), BP_I64(id), BP_STR(due_by) };
	/* 1: PROCESSING with a free lock: its expander is gone, take it over */
	rc = bl__db_i64(db, "SELECT status = 'PROCESSING' FROM message_reservations WHERE id = ?", p, 1, &state,
			NULL);
	if (rc == BL_OK && state == 1) {
		rc = bl__db_exec(db, "UPDATE message_reservations SET claimed_by = ? WHERE id = ?", q, 2, NULL,
				 NULL);
		*got = rc == BL_OK;
	} else if (rc == BL_OK) {
		/* WAITING → PROCESSING: the conditional update a concurrent cancel races with */
		rc = bl__db_exec(db,
				 "UPDATE message_reservations SET claimed_by = ?, status = 'PROCESSING', "
				 "started_at = NOW(3) WHERE id = ? AND status = 'WAITING' AND scheduled_at <= ?",
				 q, 3, &changed, NULL);
		*got = rc == BL_OK && changed == 1;
	}
	if (!*got)
		unlock(db, id);
	return rc;
}

typedef struct {
	int64_t ids[2 * CANDIDATES]; /* CANDIDATES plus those that failed in this run */
	size_t n;
} cand;

static int cand_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	cand *c = p;
	if (c->n < sizeof c->ids / sizeof c->ids[0])
		c->ids[c->n++] = atoll(v[0]);
	return BL_OK;
}

#define DUE_WHERE                                                                               \
	"WHERE (status = 'PROCESSING' OR (status = 'WAITING' AND scheduled_at <= ?)) "          \
	"AND IS_FREE_LOCK(CONCAT('bl_resv:', LEFT(SHA1(DATABASE()), 16), ':', id)) "

int bl__resv_claimable(MYSQL *db, int64_t now_ms, bool *any)
{
	char due_by[32];
	bl__seoul_datetime(now_ms, due_by);
	int64_t n = 0;
	bl__param p[] = { BP_STR(due_by) };
	int rc = bl__db_i64(db, "SELECT EXISTS (SELECT 1 FROM message_reservations " DUE_WHERE ")", p, 1, &n,
			    NULL);
	*any = rc == BL_OK && n;
	return rc;
}

static int expand_one(bl_ctx *ctx, MYSQL *db, int64_t id, int64_t now_ms, const volatile int *cancel,
		      int64_t *expanded)
{
	resv r;
	int rc = load(db, id, &r);
	if (rc == BL_OK && strcmp(r.status, "PROCESSING"))
		rc = bl__fail(BL_ECONFLICT, "reservation #%lld is %s after its claim", (long long)id, r.status);
	if (rc == BL_OK)
		rc = r.month[0] ? expand_month(ctx, db, &r, now_ms, expanded)
				: expand_group(ctx, db, &r, now_ms, cancel, expanded);
	free(r.params);
	if (rc)
		bl__fail_wrap(rc, "reservation #%lld", (long long)id);
	return rc;
}

int bl__resv_run(bl_ctx *ctx, int64_t now_ms, const volatile int *cancel, int64_t *expanded)
{
	*expanded = 0;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	char due_by[32];
	bl__seoul_datetime(now_ms, due_by);
	int rc = BL_OK, first_err = BL_OK;
	char first_msg[512] = "";
	/* A reservation that cannot expand now (its template is disabled, ...) must
	 * not hold back the ones after it: it is skipped for the rest of this run
	 * and its failure returned at the end (the worker logs it; pages show the
	 * hold, hold.c). */
	int64_t failed[CANDIDATES];
	size_t nfailed = 0;
	while (rc == BL_OK && !(cancel && *cancel)) {
		cand c = { .n = 0 };
		bl__param p[] = { BP_STR(due_by), BP_I64(CANDIDATES + (int64_t)nfailed) };
		rc = bl__db_rows(db, "SELECT id FROM message_reservations " DUE_WHERE
				 "ORDER BY scheduled_at, id LIMIT ?", p, 2, cand_cb, &c);
		bool got = false;
		size_t i = 0;
		for (; rc == BL_OK && !got && i < c.n; i++) {
			bool skip = false;
			for (size_t k = 0; k < nfailed; k++)
				skip |= failed[k] == c.ids[i];
			if (!skip)
				rc = claim(db, c.ids[i], due_by, &got);
		}
		if (rc || !got)
			break; /* nothing due, or everything due is being expanded elsewhere */
		int64_t id = c.ids[i - 1], n = 0;
		int erc = expand_one(ctx, db, id, now_ms, cancel, &n);
		*expanded += n;
		unlock(db, id);
		if (erc == BL_EDB || erc == BL_EREDIS || erc == BL_ENOMEM || erc == BL_ESTOPPED ||
		    nfailed == CANDIDATES) {
			rc = erc; /* the connection or the process is in trouble: stop here */
		} else if (erc) {
			if (first_err == BL_OK) {
				first_err = erc;
				snprintf(first_msg, sizeof first_msg, "%s", bl_error_last());
			}
			failed[nfailed++] = id;
		}
	}
	if (rc == BL_OK && first_err)
		rc = bl__fail(first_err, "%s", first_msg);
	return rc;
}
