/*
 * Messages: creating them (statement enqueue, manual sends), reading them,
 * manual retries and statistics.  Sending is worker.c; publishing relay.c.
 */
#include <sodium.h>
#include "audit_private.h"
#include "db.h"
#include "template_private.h"
#include "message_read_private.h"

#define ENQUEUE_CHUNK 2000

/* the size of each version's struct: a version 1 caller's has no v2 fields */
#define FILTER_V1_SIZE offsetof(bl_message_filter, newest_first)

int bl_message_filter_init(bl_message_filter *f, unsigned version)
{
	if (!f || version < 1 || version > BL_MESSAGE_FILTER_VERSION)
		return bl__fail(BL_EINVAL, "bl_message_filter_init: unsupported version %u", version);
	bl_message_filter d = BL_MESSAGE_FILTER_INIT;
	d.version = version;
	memcpy(f, &d, version == 1 ? FILTER_V1_SIZE : sizeof d);
	return BL_OK;
}

static bool newest_first(const bl_message_filter *f)
{
	return f->version >= 2 && f->newest_first;
}

/* ---- enqueue the statements of a month ---- */

typedef struct {
	int64_t statement_id, user_id;
	bool pref_sms, consent_email, consent_sms;
} st_row;

typedef struct {
	st_row *v;
	size_t n;
	int64_t last_id;
} st_page;

static int st_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	st_page *pg = p;
	st_row *r = &pg->v[pg->n++];
	r->statement_id = atoll(v[0]);
	r->user_id = atoll(v[1]);
	r->pref_sms = !strcmp(v[2], "SMS");
	r->consent_email = atoi(v[3]) != 0;
	r->consent_sms = atoi(v[4]) != 0;
	pg->last_id = r->statement_id;
	return BL_OK;
}

int bl_message_enqueue_statements(bl_ctx *ctx, const char *month, int64_t reservation_id,
				  bl_enqueue_stats *stats)
{
	bl_enqueue_stats local = { 0 };
	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof *stats);
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_message_enqueue_statements: ctx is NULL");
	int rc = bl_month_parse(month, NULL, NULL);
	if (rc)
		return rc;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	int64_t tpl_email = 0, tpl_sms = 0;
	if ((rc = bl__tpl_latest_id(db, "DEFAULT_BILLING_EMAIL", &tpl_email)) ||
	    (rc = bl__tpl_latest_id(db, "DEFAULT_BILLING_SMS", &tpl_sms)))
		return bl__fail_wrap(rc, "enqueue %s", month);
	st_page pg = { calloc(ENQUEUE_CHUNK, sizeof(st_row)), 0, 0 };
	if (!pg.v)
		return bl__fail(BL_ENOMEM, "out of memory");
	for (;;) {
		pg.n = 0;
		bl__param p[] = { BP_STR(month), BP_I64(pg.last_id), BP_I64(ENQUEUE_CHUNK) };
		rc = bl__db_rows(db,
				 "SELECT s.id, s.user_id, u.preferred_channel, u.consent_email, u.consent_sms "
				 "FROM statements s JOIN users u ON u.id = s.user_id "
				 "WHERE s.target_month = ? AND s.id > ? ORDER BY s.id LIMIT ?",
				 p, 3, st_cb, &pg);
		if (rc || pg.n == 0)
			break;
		bl__bulk *b = NULL;
		rc = bl__db_begin(db);
		if (rc == BL_OK)
			rc = bl__bulk_new(&b, db,
					  "INSERT INTO messages (idempotency_key, user_id, statement_id, "
					  "reservation_id, template_id, channel, purpose) VALUES",
					  7, 1000, " ON DUPLICATE KEY UPDATE id = id");
		int64_t candidates = 0;
		for (size_t i = 0; rc == BL_OK && i < pg.n; i++) {
			st_row *r = &pg.v[i];
			stats->statements++;
			bool sms;
			if (r->pref_sms ? r->consent_sms : r->consent_email)
				sms = r->pref_sms;
			else if (r->pref_sms ? r->consent_email : r->consent_sms)
				sms = !r->pref_sms;
			else {
				stats->no_consent++;
				continue;
			}
			char key[64];
			snprintf(key, sizeof key, "stmt:%lld:BILLING", (long long)r->statement_id);
			bl__param row[] = { BP_STR(key), BP_I64(r->user_id), BP_I64(r->statement_id),
					    reservation_id ? BP_I64(reservation_id) : BP_NULL,
					    BP_I64(sms ? tpl_sms : tpl_email), BP_STR(sms ? "SMS" : "EMAIL"),
					    BP_STR("BILLING") };
			candidates++;
			rc = bl__bulk_add(b, row);
		}
		if (rc == BL_OK)
			rc = bl__bulk_flush(b);
		/* ON DUPLICATE KEY UPDATE id = id: 1 affected row per new message, 0 per existing */
		int64_t created = b ? (int64_t)bl__bulk_affected(b) : 0;
		bl__bulk_free(b);
		if (rc == BL_OK)
			rc = bl__db_commit(db);
		if (rc) {
			bl__db_rollback(db);
			break;
		}
		stats->created += created;
		stats->existing += candidates - created;
		if (pg.n < ENQUEUE_CHUNK)
			break;
	}
	free(pg.v);
	if (rc)
		return bl__fail_wrap(rc, "enqueue %s", month);
	return BL_OK;
}

/* ---- a single (manual / NOTICE) message ---- */

int bl_message_send(bl_ctx *ctx, int64_t user_id, const char *template_code, const char *params_json,
		    const char *idempotency_key, int64_t *message_id)
{
	if (!ctx || !template_code)
		return bl__fail(BL_EINVAL, "bl_message_send: NULL argument");
	if (params_json) {
		json_error_t e;
		json_t *j = json_loads(params_json, 0, &e);
		bool obj = json_is_object(j);
		json_decref(j);
		if (!obj)
			return bl__fail(BL_EINVAL, "params: must be a JSON object (%s)", j ? "not an object" : e.text);
	}
	if (idempotency_key && (!*idempotency_key || strlen(idempotency_key) > 100))
		return bl__fail(BL_EINVAL, "idempotency key: must be 1-100 characters");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	int64_t tpl = 0;
	int rc = bl__tpl_latest_id(db, template_code, &tpl);
	if (rc)
		return rc;
	json_t *rows = NULL;
	bl__param tp[] = { BP_I64(tpl) };
	if ((rc = bl__db_json(db, "SELECT channel, purpose FROM message_templates WHERE id = ?", tp, 1, &rows)))
		return rc;
	char channel[8], purpose[8];
	snprintf(channel, sizeof channel, "%s", json_string_value(json_object_get(json_array_get(rows, 0), "channel")));
	snprintf(purpose, sizeof purpose, "%s", json_string_value(json_object_get(json_array_get(rows, 0), "purpose")));
	json_decref(rows);
	int64_t exists = 0;
	bl__param up[] = { BP_I64(user_id) };
	bool found = false;
	if ((rc = bl__db_i64(db, "SELECT id FROM users WHERE id = ?", up, 1, &exists, &found)))
		return rc;
	if (!found)
		return bl__fail(BL_ENOTFOUND, "no subscriber with id %lld", (long long)user_id);
	char key[128];
	if (idempotency_key) {
		snprintf(key, sizeof key, "manual:%s", idempotency_key);
	} else {
		unsigned char r[16];
		char hex[33];
		if (sodium_init() < 0)
			return bl__fail(BL_ECRYPTO, "libsodium could not be initialised");
		randombytes_buf(r, sizeof r);
		sodium_bin2hex(hex, sizeof hex, r, sizeof r);
		snprintf(key, sizeof key, "manual:%s", hex);
	}
	bl__param p[] = { BP_STR(key), BP_I64(user_id), BP_I64(tpl), BP_STR(channel), BP_STR(purpose),
			  params_json ? BP_STR(params_json) : BP_NULL };
	rc = bl__db_exec(db,
			 "INSERT INTO messages (idempotency_key, user_id, template_id, channel, purpose, "
			 "params_json) VALUES (?,?,?,?,?,?) ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)",
			 p, 6, NULL, NULL);
	if (rc)
		return rc;
	int64_t id = 0;
	bl__param k[] = { BP_STR(key) };
	if ((rc = bl__db_i64(db, "SELECT id FROM messages WHERE idempotency_key = ?", k, 1, &id, NULL)))
		return rc;
	if (message_id)
		*message_id = id;
	return BL_OK;
}

/* ---- search / get ---- */

static const char *STATUSES[] = { "WAITING", "PROCESSING", "SUCCESS", "FAILED", "EXCEEDED", "DEAD", "BOUNCED", "SUPPRESSED",
				  "DELIVERED", "UNDELIVERED", NULL };

static int check_filter(const bl_message_filter *f)
{
	if (!f || f->version < 1 || f->version > BL_MESSAGE_FILTER_VERSION)
		return bl__fail(BL_EINVAL, "message filter: missing or wrong version (use bl_message_filter_init)");
	if (newest_first(f) && f->before_id < 0)
		return bl__fail(BL_EINVAL, "before_id %lld: must not be negative", (long long)f->before_id);
	if (f->limit < 1 || f->limit > 1000)
		return bl__fail(BL_EINVAL, "limit %d: must be 1-1000", f->limit);
	if (f->status) {
		bool ok = false;
		for (const char **s = STATUSES; *s; s++)
			ok |= !strcmp(*s, f->status);
		if (!ok)
			return bl__fail(BL_EINVAL, "status '%s': expected WAITING, PROCESSING, SUCCESS, FAILED, "
						   "EXCEEDED, DEAD, BOUNCED, SUPPRESSED, DELIVERED or UNDELIVERED", f->status);
	}
	if (f->channel && strcmp(f->channel, "EMAIL") && strcmp(f->channel, "SMS"))
		return bl__fail(BL_EINVAL, "channel '%s': expected EMAIL or SMS", f->channel);
	const char *d[] = { f->from, f->to };
	for (int i = 0; i < 2; i++) {
		int y, mo, dd, hh = 0, mi = 0, ss = 0;
		char extra;
		if (d[i] && sscanf(d[i], "%4d-%2d-%2d %2d:%2d:%2d%c", &y, &mo, &dd, &hh, &mi, &ss, &extra) != 6 &&
		    sscanf(d[i], "%4d-%2d-%2d%c", &y, &mo, &dd, &extra) != 3)
			return bl__fail(BL_EINVAL, "%s '%s': expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS",
					i ? "to" : "from", d[i]);
	}
	return BL_OK;
}

/*
 * The WHERE clause of the filters that are set (NULL/0 means "any"), built
 * for each call so that the optimizer sees only real conditions: a
 * "(? = '' OR col = ?)" form for every filter hides the usable indexes and
 * the query read whole templates' messages and sorted them (0.4-2.9 s at
 * 1 M messages instead of ~15 ms).  The template is matched through a
 * subquery: the join to message_templates only fetches the code.
 */
typedef struct {
	bl_strbuf sql;
	bl__param p[12];
	unsigned n;
} filter_q;

static void filter_add(filter_q *q, const char *cond, bl__param v)
{
	bl__sb_puts(&q->sql, cond);
	q->p[q->n++] = v;
}

static void filter_where(filter_q *q, const bl_message_filter *f, bool cursors)
{
	filter_add(q, " WHERE m.id > ?", BP_I64(cursors ? f->after_id : 0));
	if (cursors && newest_first(f) && f->before_id)
		filter_add(q, " AND m.id < ?", BP_I64(f->before_id));
	if (f->user_id)
		filter_add(q, " AND m.user_id = ?", BP_I64(f->user_id));
	if (f->reservation_id)
		filter_add(q, " AND m.reservation_id = ?", BP_I64(f->reservation_id));
	if (f->status)
		filter_add(q, " AND m.status = ?", BP_STR(f->status));
	if (f->channel)
		filter_add(q, " AND m.channel = ?", BP_STR(f->channel));
	if (f->template_code)
		filter_add(q, " AND m.template_id IN (SELECT id FROM message_templates WHERE code = ?)",
			   BP_STR(f->template_code));
	if (f->from)
		filter_add(q, " AND m.requested_at >= ?", BP_STR(f->from));
	if (f->to)
		filter_add(q, " AND m.requested_at < ?", BP_STR(f->to));
	if (f->run_id)
		/* a scalar subquery, one primary-key lookup per row: an IN or EXISTS
		 * becomes a semi-join that materialises the run's statements first */
		filter_add(q, " AND (SELECT s.batch_run_id FROM statements s WHERE s.id = m.statement_id) = ?",
			   BP_I64(f->run_id));
}

/* A template code or a run that has no rows: the search would scan every
 * message to find none. */
static int filter_matches_nothing(MYSQL *db, const bl_message_filter *f, bool *none)
{
	int64_t n = 1;
	int rc = BL_OK;
	*none = false;
	if (f->template_code) {
		bl__param p[] = { BP_STR(f->template_code) };
		rc = bl__db_i64(db, "SELECT COUNT(*) FROM message_templates WHERE code = ?", p, 1, &n, NULL);
	}
	if (rc == BL_OK && n && f->run_id) {
		bl__param p[] = { BP_I64(f->run_id) };
		rc = bl__db_i64(db, "SELECT EXISTS (SELECT 1 FROM statements WHERE batch_run_id = ?)", p, 1, &n,
				NULL);
	}
	*none = rc == BL_OK && n == 0;
	return rc;
}

int bl_message_find(bl_ctx *ctx, const bl_message_filter *f, bl_message_array **out)
{
	if (out)
		*out = NULL;
	if (!ctx || !out)
		return bl__fail(BL_EINVAL, "bl_message_find: NULL argument");
	int rc = check_filter(f);
	MYSQL *db = rc ? NULL : bl__ctx_db(ctx);
	if (rc || !db)
		return rc ? rc : bl_error_last_code();
	bool none = false;
	if ((rc = filter_matches_nothing(db, f, &none)))
		return rc;
	if (none)
		return bl__message_recs(NULL, NULL, NULL, 0, out);
	filter_q q = { .n = 0 };
	/* STRAIGHT_JOIN: messages drive the join and the subqueries, in id order,
	 * so the page is the first `limit` rows that match; an index of a filter
	 * column (user, reservation, status, period) is still used when it helps.
	 * Left to itself, MariaDB may read every message of the templates first
	 * and sort them (1.5-2.5 s at 1 M messages, depending on its statistics). */
	bl__sb_puts(&q.sql, "SELECT STRAIGHT_JOIN ");
	bl__sb_puts(&q.sql, BL__MSG_COLUMNS " FROM messages m");
	/* A status's page: ix_messages_status (status, id) gives it in order after
	 * the cursor.  Left alone, MariaDB may walk the table in id order past
	 * every row of other statuses instead. */
	if (f->status && !f->user_id && !f->reservation_id)
		bl__sb_puts(&q.sql, " FORCE INDEX (ix_messages_status)");
	bl__sb_puts(&q.sql, " JOIN message_templates t ON t.id = m.template_id");
	filter_where(&q, f, true);
	filter_add(&q, newest_first(f) ? " ORDER BY m.id DESC LIMIT ?" : " ORDER BY m.id LIMIT ?",
		   BP_I64(f->limit));
	rc = q.sql.oom ? bl__fail(BL_ENOMEM, "out of memory") : bl__message_recs(db, q.sql.s, q.p, q.n, out);
	bl__sb_free(&q.sql);
	return rc;
}

int bl_message_count(bl_ctx *ctx, const bl_message_filter *f, int64_t *count)
{
	if (!ctx || !count)
		return bl__fail(BL_EINVAL, "bl_message_count: NULL argument");
	*count = 0;
	int rc = check_filter(f);
	MYSQL *db = rc ? NULL : bl__ctx_db(ctx);
	if (rc || !db)
		return rc ? rc : bl_error_last_code();
	bool none = false;
	if ((rc = filter_matches_nothing(db, f, &none)) || none)
		return rc;
	filter_q q = { .n = 0 };
	bl__sb_puts(&q.sql, "SELECT COUNT(*) FROM messages m");
	filter_where(&q, f, false);
	rc = q.sql.oom ? bl__fail(BL_ENOMEM, "out of memory") : bl__db_i64(db, q.sql.s, q.p, q.n, count, NULL);
	bl__sb_free(&q.sql);
	return rc;
}

/* ---- manual retry ---- */

#define RETRY_SET                                                                            \
	"SET m.status = 'WAITING', m.published_at = NULL, m.next_attempt_at = NOW(3), "      \
	"m.policy_attempts = 0, m.deliveries = 0, m.claim_token = NULL, m.last_error = NULL "

int bl_message_retry(bl_ctx *ctx, int64_t message_id)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_message_retry: ctx is NULL");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__param p[] = { BP_I64(message_id) };
	uint64_t changed = 0;
	int rc = bl__db_begin(db);
	if (rc == BL_OK)
		rc = bl__db_exec(db,
				 "UPDATE messages m " RETRY_SET
				 "WHERE m.id = ? AND m.status IN ('FAILED','EXCEEDED','DEAD')",
				 p, 1, &changed, NULL);
	if (rc == BL_OK && changed)
		return bl__audit_commit(ctx, db, rc, "message.retry", NULL, "message:%lld", (long long)message_id);
	bl__db_rollback(db);
	if (rc)
		return rc;
	json_t *rows = NULL;
	if ((rc = bl__db_json(db, "SELECT status FROM messages WHERE id = ?", p, 1, &rows)))
		return rc;
	json_t *r = json_array_get(rows, 0);
	rc = r ? bl__fail(BL_ECONFLICT, "message #%lld is %s: only FAILED, EXCEEDED or DEAD messages are "
					"retried", (long long)message_id,
			  json_string_value(json_object_get(r, "status")))
	       : bl__fail(BL_ENOTFOUND, "message #%lld does not exist", (long long)message_id);
	json_decref(rows);
	return rc;
}

int bl_message_retry_filter(bl_ctx *ctx, const bl_message_filter *f, int64_t *count)
{
	if (count)
		*count = 0;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_message_retry_filter: ctx is NULL");
	int rc = check_filter(f);
	if (rc)
		return rc;
	if (f->status && strcmp(f->status, "FAILED") && strcmp(f->status, "DEAD"))
		return bl__fail(BL_EINVAL, "status '%s': only FAILED or DEAD messages are retried by filter "
					   "(an EXCEEDED e-mail already fell back to SMS; retry it by id)",
				f->status);
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bool none = false;
	if ((rc = filter_matches_nothing(db, f, &none)) || none)
		return rc;
	filter_q q = { .n = 0 };
	uint64_t changed = 0;
	bl__sb_puts(&q.sql, "UPDATE messages m " RETRY_SET);
	filter_where(&q, f, true);
	bl__sb_puts(&q.sql, " AND m.status IN ('FAILED','DEAD')");
	if (q.sql.oom)
		rc = bl__fail(BL_ENOMEM, "out of memory");
	else if ((rc = bl__db_begin(db)) == BL_OK)
		rc = bl__db_exec(db, q.sql.s, q.p, q.n, &changed, NULL);
	bl__sb_free(&q.sql);
	if (rc == BL_OK && changed) { /* an entry when something was retried: the count and the filter */
		json_t *d = json_pack("{s:I,s:s?,s:s?,s:s?,s:s?,s:s?}", "count", (json_int_t)changed, "status",
				      f->status, "channel", f->channel, "template", f->template_code, "from", f->from,
				      "to", f->to);
		if (d && f->run_id)
			json_object_set_new(d, "run_id", json_integer(f->run_id));
		if (d && f->user_id)
			json_object_set_new(d, "user_id", json_integer(f->user_id));
		if (d && f->reservation_id)
			json_object_set_new(d, "reservation_id", json_integer(f->reservation_id));
		rc = bl__audit_commit(ctx, db, rc, "message.retry_filter", d, "messages");
	} else if (rc == BL_OK) {
		rc = bl__db_commit(db);
	}
	if (rc)
		bl__db_rollback(db);
	if (rc == BL_OK && count)
		*count = (int64_t)changed;
	return rc;
}
