/*
 * One batch of the message worker: read or take over stream entries, claim
 * their messages, render, send, record outcomes, acknowledge.
 */
#include <time.h>
#include "worker_private.h"
#include "model_private.h"
#include "context_private.h"

typedef struct {
	char sid[48];   /* stream entry id */
	int64_t mid;    /* message id (0: malformed entry) */
} entry;

typedef struct {
	int64_t id, user_id, statement_id, template_id, reservation_id;
	bl_channel channel;
	bool billing, consent_sms;
	int attempt_no, policy_attempts;
	char *params;
	/* outcome */
	const char *status; /* SUCCESS FAILED EXCEEDED DEAD BOUNCED SUPPRESSED */
	char error[256];
	int64_t delay_ms;
	bl_message_kind kind;
	int64_t bytes;
	bool sent, fallback;
	int send_rc;       /* provider side failure (ledger/Maildir) */
	bl__send_res res;  /* settled by bl__sender_batch_flush */
	int64_t started_ms, finished_ms;
	unsigned char addr_hash[BL_BLIND_INDEX_BYTES]; /* e-mail: suppression key */
	char addr_masked[200];
	bool have_hash;
} job;

typedef struct {
	job *v;
	size_t n;
} jobs;

/* ---- thread connections ---- */

int bl__wk_thread_open(wk_thread *t)
{
	int rc;
	if (!t->ctx) {
		if ((rc = bl_ctx_new(&t->ctx, t->sh->cfg)))
			return rc;
		bl__ctx_use_clock(t->ctx, t->sh->clock);
	}
	if (!(t->db = bl__ctx_db(t->ctx)))
		return bl_error_last_code();
	if (!(t->redis = bl__ctx_redis(t->ctx)))
		return bl_error_last_code();
	if ((rc = bl__stream_ensure_group(t->redis, t->sh->cfg)))
		return rc;
	if (!t->sender && (rc = bl__sender_new(&t->sender, t->sh->cfg, t->name)))
		return rc;
	bl__sender_use_sms_shared(t->sender, t->sh->sms);
	if (!t->rng)
		t->rng = (uint64_t)bl__mono_ms() * 0x9E3779B97F4A7C15ull + (uint64_t)t->index;
	return BL_OK;
}

void bl__wk_thread_reset(wk_thread *t)
{
	bl__sender_forget_db(t->sender);
	bl_ctx_free(t->ctx); /* closes both connections */
	t->ctx = NULL;
	t->db = NULL;
	t->redis = NULL;
}

void bl__wk_thread_close(wk_thread *t)
{
	bl__wk_thread_reset(t);
	bl__sender_free(t->sender);
	t->sender = NULL;
	for (int i = 0; i < t->ntpls; i++)
		bl__tpl_free(t->tpls[i].tpl);
	t->ntpls = 0;
}

static uint64_t rnd(wk_thread *t)
{
	uint64_t z = (t->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int tpl_get(wk_thread *t, int64_t id, bl__tpl **out)
{
	for (int i = 0; i < t->ntpls; i++)
		if (t->tpls[i].id == id) {
			*out = t->tpls[i].tpl;
			return BL_OK;
		}
	int rc = bl__tpl_load(t->db, id, out);
	if (rc)
		return rc;
	if (t->ntpls == (int)(sizeof t->tpls / sizeof t->tpls[0])) {
		bl__tpl_free(t->tpls[0].tpl);
		memmove(t->tpls, t->tpls + 1, sizeof t->tpls - sizeof t->tpls[0]);
		t->ntpls--;
	}
	t->tpls[t->ntpls++] = (wk_tpl_slot){ id, *out };
	return BL_OK;
}

/* ---- reading entries ---- */

static size_t parse_entries(redisReply *arr, entry *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; arr && arr->type == REDIS_REPLY_ARRAY && i < arr->elements && n < max; i++) {
		redisReply *e = arr->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 || e->element[0]->type != REDIS_REPLY_STRING ||
		    !e->element[0]->str)
			continue;
		entry *x = &out[n++];
		snprintf(x->sid, sizeof x->sid, "%s", e->element[0]->str);
		x->mid = 0;
		redisReply *f = e->element[1];
		/* an entry says no more than "message #id may be due": anything
		 * malformed (not a string, not a positive number) is no id at all,
		 * and the claim below checks status and due time in the database */
		for (size_t k = 0; f->type == REDIS_REPLY_ARRAY && k + 1 < f->elements; k += 2) {
			redisReply *key = f->element[k], *val = f->element[k + 1];
			int64_t id = 0;
			if (key->type == REDIS_REPLY_STRING && key->str && !strcmp(key->str, "id") &&
			    val->type == REDIS_REPLY_STRING && val->str &&
			    bl__parse_i64(val->str, 1, INT64_MAX, &id) == BL_OK)
				x->mid = id;
		}
	}
	return n;
}

static int read_entries(wk_thread *t, bool autoclaim, entry *es, size_t max, size_t *n)
{
	const bl_config *cfg = t->sh->cfg;
	char key[256], count[16], idle[24];
	bl__stream_key(cfg, key, sizeof key);
	snprintf(count, sizeof count, "%zu", max);
	redisReply *rep = NULL;
	int rc;
	*n = 0;
	if (autoclaim) {
		snprintf(idle, sizeof idle, "%lld", (long long)bl__config_int(cfg, "BILLING_PENDING_IDLE_MS"));
		const char *argv[] = { "XAUTOCLAIM", key, bl_config_get(cfg, "BILLING_STREAM_GROUP"), t->name,
				       idle, "0-0", "COUNT", count };
		if ((rc = bl__redis_cmd(t->redis, 8, argv, &rep)))
			return rc;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2)
			*n = parse_entries(rep->element[1], es, max);
	} else {
		const char *argv[] = { "XREADGROUP", "GROUP", bl_config_get(cfg, "BILLING_STREAM_GROUP"), t->name,
				       "COUNT", count, "BLOCK", "500", "STREAMS", key, ">" };
		if ((rc = bl__redis_cmd(t->redis, 11, argv, &rep)))
			return rc;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
		    rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements >= 2)
			*n = parse_entries(rep->element[0]->element[1], es, max);
	}
	freeReplyObject(rep);
	return BL_OK;
}

static int ack(wk_thread *t, const entry *es, size_t n)
{
	if (n == 0)
		return BL_OK;
	const bl_config *cfg = t->sh->cfg;
	char key[256];
	bl__stream_key(cfg, key, sizeof key);
	const char **argv = malloc((n + 3) * sizeof *argv);
	if (!argv)
		return bl__fail(BL_ENOMEM, "out of memory");
	argv[0] = "XACK";
	argv[1] = key;
	argv[2] = bl_config_get(cfg, "BILLING_STREAM_GROUP");
	for (size_t i = 0; i < n; i++)
		argv[3 + i] = es[i].sid;
	redisReply *rep = NULL;
	int rc = bl__redis_cmd(t->redis, (int)n + 3, argv, &rep);
	freeReplyObject(rep);
	free(argv);
	return rc;
}

/* ---- claiming ---- */

static int claimed_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	jobs *js = p;
	job *j = &js->v[js->n++];
	memset(j, 0, sizeof *j);
	j->id = atoll(v[0]);
	j->user_id = atoll(v[1]);
	j->statement_id = atoll(v[2]);
	j->template_id = atoll(v[3]);
	j->channel = !strcmp(v[4], "SMS") ? BL_CHANNEL_SMS : BL_CHANNEL_EMAIL;
	j->billing = !strcmp(v[5], "BILLING");
	j->attempt_no = atoi(v[6]);
	j->policy_attempts = atoi(v[7]);
	j->params = v[8] ? bl__strdup(v[8]) : NULL;
	j->reservation_id = atoll(v[9]);
	j->consent_sms = v[10] && atoi(v[10]) != 0;
	return BL_OK;
}

static int claim(wk_thread *t, const entry *es, size_t n, const char *token, jobs *js)
{
	bl__param *ps = malloc((n + 2) * sizeof *ps);
	if (!ps)
		return bl__fail(BL_ENOMEM, "out of memory");
	size_t k = 0;
	ps[k++] = BP_STR(token);
	ps[k++] = BP_I64(bl__config_int(t->sh->cfg, "BILLING_PENDING_IDLE_MS") * 1000);
	for (size_t i = 0; i < n; i++)
		if (es[i].mid > 0)
			ps[k++] = BP_I64(es[i].mid);
	int rc = BL_OK;
	if (k > 2) {
		_cleanup_free_ char *sql = bl__sql_in(
			"UPDATE messages SET status = 'PROCESSING', claim_token = ?, claimed_at = NOW(3), "
			"attempts = attempts + 1, policy_attempts = policy_attempts + 1, "
			/* the lease: a PROCESSING row past it is requeued by the sweep */
			"next_attempt_at = NOW(3) + INTERVAL ? MICROSECOND WHERE id IN (", k - 2,
			/* not "published_at IS NOT NULL": the relay may not have committed yet
			 * (its row lock makes this wait instead) */
			/* due: a stream entry cannot bring forward a message held back
			 * (quiet hours, a retry's backoff, a reservation's time) */
			") AND status IN ('WAITING', 'FAILED') AND next_attempt_at <= NOW(3)");
		rc = sql ? bl__db_exec(t->db, sql, ps, (unsigned)k, NULL, NULL) : BL_ENOMEM;
	}
	if (rc || k == 2) {
		free(ps);
		return rc;
	}
	/* the claimed ones: by primary key, the token telling ours */
	ps[1] = ps[0];
	_cleanup_free_ char *sel = bl__sql_in(
		"SELECT m.id, m.user_id, COALESCE(m.statement_id, 0), m.template_id, m.channel, "
		"m.purpose, m.attempts, m.policy_attempts, m.params_json, "
		"COALESCE(m.reservation_id, 0), u.consent_sms FROM messages m "
		"LEFT JOIN users u ON u.id = m.user_id WHERE m.claim_token = ? AND m.id IN (", k - 2, ")");
	rc = sel ? bl__db_rows(t->db, sel, ps + 1, (unsigned)(k - 1), claimed_cb, js)
		 : bl__fail(BL_ENOMEM, "out of memory");
	free(ps);
	return rc;
}

/* ---- sending ---- */

static void outcome_transient(wk_thread *t, job *j, const char *err)
{
	bl_retry_policy p;
	bool retry = false;
	int64_t delay = 0;
	snprintf(j->error, sizeof j->error, "%s", err);
	if (bl_retry_policy_from_config(t->sh->cfg, j->channel, &p) == BL_OK)
		bl_retry_next(&p, j->policy_attempts, rnd(t), &retry, &delay);
	if (retry && j->res.retry_after_ms > delay)
		delay = j->res.retry_after_ms; /* the gateway's Retry-After */
	if (retry) {
		j->status = "FAILED";
		j->delay_ms = delay;
	} else if (j->channel == BL_CHANNEL_EMAIL && j->billing) {
		j->status = "EXCEEDED";
		j->fallback = j->consent_sms;
		snprintf(j->error, sizeof j->error, "retries exhausted (%d attempts): %s%s", j->policy_attempts,
			 err, j->consent_sms ? "; falling back to SMS" : "; no SMS consent, no fallback");
	} else {
		j->status = "DEAD";
		snprintf(j->error, sizeof j->error, "retries exhausted (%d attempts): %s", j->policy_attempts, err);
	}
}

/* A suppressed address (docs/email.md) is never e-mailed: the message ends
 * SUPPRESSED; a BILLING one falls back to SMS when the subscriber allows it. */
static bool suppressed(wk_thread *t, job *j, const char *to)
{
	char *masked = NULL;
	if (bl_pii_blind_index(t->ctx, BL_PII_EMAIL, to, j->addr_hash) != BL_OK)
		return false; /* malformed: the provider refuses it */
	j->have_hash = true;
	if (bl_pii_mask(BL_PII_EMAIL, to, &masked) == BL_OK)
		snprintf(j->addr_masked, sizeof j->addr_masked, "%s", masked);
	free(masked);
	static const char *const REASONS[] = { "?", "HARD_BOUNCE", "COMPLAINT", "UNSUBSCRIBE", "MANUAL" };
	int64_t reason = 0;
	bool found = false;
	bl__param p = BP_BLOB(j->addr_hash, sizeof j->addr_hash);
	if (bl__db_i64(t->db, "SELECT reason + 0 FROM email_suppressions WHERE address_hash = ?", &p, 1,
		       &reason, &found) != BL_OK || !found)
		return false;
	j->status = "SUPPRESSED";
	j->fallback = j->billing && j->consent_sms;
	snprintf(j->error, sizeof j->error, "address suppressed (%s)%s", REASONS[reason >= 1 && reason <= 4 ? reason : 0],
		 j->fallback ? "; falling back to SMS" : "");
	return true;
}

/*
 * Before a message leaves for a real provider (an SMS gateway, an SMTP
 * relay): renew this claim's lease.  A batch of slow requests (a relay that
 * hangs, a gateway that times out) may outlast the lease; then the stale sweep
 * hands the message to another thread, and both would send it.  Renewing
 * just before the send keeps the lease; false when the claim was lost (the
 * message is not sent by this thread).
 */
static bool claim_renew(wk_thread *t, job *j, const char *token)
{
	bl__param p[] = { BP_I64(bl__config_int(t->sh->cfg, "BILLING_PENDING_IDLE_MS") * 1000), BP_I64(j->id),
			  BP_STR(token) };
	uint64_t n = 0;
	if (bl__db_set_clock(t->db, bl__clock_now_us(&t->sh->clock)) ||
	    bl__db_exec(t->db, "UPDATE messages SET next_attempt_at = NOW(3) + INTERVAL ? MICROSECOND "
			       "WHERE id = ? AND claim_token = ? AND status = 'PROCESSING'", p, 3, &n, NULL))
		return true; /* cannot tell: the send goes ahead as before */
	return n == 1;
}

static void send_one(wk_thread *t, job *j, json_t *model, const char *token)
{
	bl__tpl *tpl = NULL;
	bl__rendered r = { 0 };
	j->started_ms = bl__clock_now_ms(&t->sh->clock);
	int rc = tpl_get(t, j->template_id, &tpl);
	if (rc == BL_OK)
		rc = bl__tpl_render(tpl, model, &t->sh->tpl_limits, &r);
	if (rc) {
		j->status = "DEAD";
		snprintf(j->error, sizeof j->error, "render: %s", bl_error_last());
		j->finished_ms = bl__clock_now_ms(&t->sh->clock);
		return;
	}
	j->kind = r.kind;
	j->bytes = (int64_t)r.bytes;
	const char *to = json_string_value(json_object_get(model, j->channel == BL_CHANNEL_SMS ? "phone" : "email"));
	if (j->channel == BL_CHANNEL_EMAIL && to && suppressed(t, j, to)) {
		bl__rendered_free(&r);
		j->finished_ms = bl__clock_now_ms(&t->sh->clock);
		return;
	}
	bl__send_req req = { .message_id = j->id, .attempt = j->attempt_no, .channel = j->channel,
			     .to = to ? to : "", .to_name = json_string_value(json_object_get(model, "userName")),
			     .subject = r.subject, .html = r.html, .text = r.text, .kind = r.kind,
			     .bytes = r.bytes, .at_ms = j->started_ms, .user_id = j->user_id,
			     .notice = !j->billing };
	bl__wk_rate_wait(t->sh, j->channel);
	bool real = j->channel == BL_CHANNEL_SMS ? bl__sender_sms(t->sender) != NULL : t->sh->email_smtp;
	if (real && !claim_renew(t, j, token)) {
		j->status = "FAILED";
		snprintf(j->error, sizeof j->error, "claim lost before the send (lease expired): not sent by %.100s",
			 t->name);
		bl__rendered_free(&r);
		j->finished_ms = bl__clock_now_ms(&t->sh->clock);
		return;
	}
	j->send_rc = bl__sender_send(t->sender, t->db, &req, &j->res);
	if (j->send_rc)
		snprintf(j->res.error, sizeof j->res.error, "%.250s", bl_error_last());
	j->sent = true;
	bl__rendered_free(&r);
	j->finished_ms = bl__clock_now_ms(&t->sh->clock);
}

/* The outcome of a send, once the provider's batch is settled. */
static void settle(wk_thread *t, job *j)
{
	if (j->send_rc) {
		/* the provider side (ledger/Maildir) failed: treat as transient */
		outcome_transient(t, j, j->res.error);
	} else if (j->res.status == BL_SEND_OK || j->res.status == BL_SEND_DUPLICATE) {
		j->status = "SUCCESS";
	} else if (j->res.status == BL_SEND_TRANSIENT) {
		outcome_transient(t, j, j->res.error);
	} else if (j->res.status == BL_SEND_REJECTED) {
		/* a hard bounce at RCPT: suppressed from now on (record) */
		j->status = "BOUNCED";
		j->fallback = j->billing && j->consent_sms;
		snprintf(j->error, sizeof j->error, "bounced: %.200s%s", j->res.error,
			 j->fallback ? "; falling back to SMS" : "");
	} else {
		j->status = "DEAD";
		snprintf(j->error, sizeof j->error, "permanent failure: %.200s", j->res.error);
	}
}

static int load_models(wk_thread *t, jobs *js, json_t **models)
{
	bl__model_req *reqs = calloc(js->n, sizeof *reqs);
	if (!reqs)
		return bl__fail(BL_ENOMEM, "out of memory");
	for (size_t i = 0; i < js->n; i++)
		reqs[i] = (bl__model_req){ js->v[i].user_id, js->v[i].statement_id, js->v[i].params };
	int rc = bl__models_load(t->ctx, t->db, reqs, js->n, models);
	if (rc && rc != BL_EDB) {
		/* one bad message must not block the others: load one by one */
		rc = BL_OK;
		for (size_t i = 0; i < js->n; i++) {
			if (bl__models_load(t->ctx, t->db, &reqs[i], 1, &models[i])) {
				models[i] = NULL;
				js->v[i].status = "DEAD";
				snprintf(js->v[i].error, sizeof js->v[i].error, "data: %s", bl_error_last());
			}
		}
	}
	free(reqs);
	return rc;
}

/* ---- recording ---- */

static const char *KINDS[] = { NULL, "EMAIL", "SMS", "LMS" };

static int update_one(wk_thread *t, const job *j, const char *token)
{
	bl__param p[] = { BP_STR(j->status), j->error[0] ? BP_STR(j->error) : BP_NULL,
			  j->kind ? BP_STR(KINDS[j->kind]) : BP_NULL, j->kind ? BP_I64(j->bytes) : BP_NULL,
			  BP_I64(j->delay_ms * 1000), BP_I64(j->id), BP_STR(token) };
	/* assignments run left to right: status is already the new one below */
	return bl__db_exec(t->db,
			   "UPDATE messages SET status = ?, last_error = ?, kind = ?, bytes = ?, "
			   "next_attempt_at = NOW(3) + INTERVAL ? MICROSECOND, "
			   "published_at = IF(status = 'FAILED', NULL, published_at), "
			   "processed_at = IF(status = 'FAILED', processed_at, NOW(3)), claim_token = NULL "
			   "WHERE id = ? AND claim_token = ?",
			   p, 7, NULL, NULL);
}

/*
 * Outcomes: the successes (nearly all) in one UPDATE that takes kind and size
 * from the provider's ledger row; failures (rare) one by one.
 */
static int update_outcomes(wk_thread *t, jobs *js, const char *token)
{
	size_t n = js->n, k = 0;
	bl__param *ps = malloc((n + 1) * sizeof *ps);
	if (!ps)
		return bl__fail(BL_ENOMEM, "out of memory");
	ps[k++] = BP_STR(token);
	int rc = BL_OK;
	for (size_t i = 0; rc == BL_OK && i < n; i++) {
		if (!strcmp(js->v[i].status, "SUCCESS"))
			ps[k++] = BP_I64(js->v[i].id);
		else
			rc = update_one(t, &js->v[i], token);
	}
	if (rc == BL_OK && k > 1) {
		_cleanup_free_ char *sql = bl__sql_in(
			"UPDATE messages m JOIN message_ledger l ON l.message_id = m.id "
			"SET m.status = 'SUCCESS', m.last_error = NULL, m.kind = l.kind, m.bytes = l.bytes, "
			"m.processed_at = NOW(3), m.claim_token = NULL WHERE m.claim_token = ? AND m.id IN (", k - 1, ")");
		rc = sql ? bl__db_exec(t->db, sql, ps, (unsigned)k, NULL, NULL) : bl__fail(BL_ENOMEM, "out of memory");
	}
	free(ps);
	return rc;
}

static int record(wk_thread *t, jobs *js, const char *token)
{
	size_t n = js->n;
	int rc = bl__db_begin(t->db);
	if (rc == BL_OK)
		rc = update_outcomes(t, js, token);
	bl__bulk *att = NULL, *fb = NULL;
	if (rc == BL_OK)
		rc = bl__bulk_new(&att, t->db,
				  "INSERT INTO message_attempts (message_id, attempt_no, channel, status, error, "
				  "worker, started_at, finished_at, provider, request_id) VALUES",
				  10, 500, " ON DUPLICATE KEY UPDATE status = VALUES(status), error = VALUES(error), "
				  "finished_at = VALUES(finished_at), provider = VALUES(provider), "
				  "request_id = VALUES(request_id)");
	int64_t sms_tpl = 0;
	for (size_t i = 0; rc == BL_OK && i < n; i++) {
		job *j = &js->v[i];
		char s[32], f[32];
		bl__seoul_datetime(j->started_ms ? j->started_ms : bl__clock_now_ms(&t->sh->clock), s);
		bl__seoul_datetime(j->finished_ms ? j->finished_ms : bl__clock_now_ms(&t->sh->clock), f);
		bl__param row[] = { BP_I64(j->id), BP_I64(j->attempt_no),
				    BP_STR(j->channel == BL_CHANNEL_SMS ? "SMS" : "EMAIL"),
				    BP_STR(!strcmp(j->status, "SUCCESS") ? "SUCCESS" : "FAILED"),
				    j->error[0] ? BP_STR(j->error) : BP_NULL, BP_STR(t->name), BP_STR(s), BP_STR(f),
				    j->sent && j->res.provider[0] ? BP_STR(j->res.provider) : BP_NULL,
				    j->sent && j->res.request_id[0] ? BP_STR(j->res.request_id) : BP_NULL };
		rc = bl__bulk_add(att, row);
		if (rc == BL_OK && !strcmp(j->status, "BOUNCED") && j->have_hash) {
			bl__param sp[] = { BP_BLOB(j->addr_hash, sizeof j->addr_hash), BP_STR(j->addr_masked),
					   BP_STR(j->res.error), BP_I64(j->id) };
			rc = bl__db_exec(t->db, "INSERT IGNORE INTO email_suppressions (address_hash, address_masked, "
						"reason, detail, message_id, created_by) VALUES (?,?,'HARD_BOUNCE',LEFT(?,255),?,"
						"'smtp')", sp, 4, NULL, NULL);
		}
		if (rc == BL_OK && j->fallback) {
			if (!sms_tpl && (rc = bl__tpl_latest_id(t->db, "DEFAULT_BILLING_SMS", &sms_tpl)))
				break;
			if (!fb && (rc = bl__bulk_new(&fb, t->db,
						      "INSERT INTO messages (idempotency_key, user_id, statement_id, "
						      "reservation_id, template_id, channel, purpose, fallback_of) VALUES",
						      8, 500, " ON DUPLICATE KEY UPDATE id = id")))
				break;
			char key[64];
			snprintf(key, sizeof key, "fallback:%lld", (long long)j->id);
			bl__param m[] = { BP_STR(key), BP_I64(j->user_id),
					  j->statement_id ? BP_I64(j->statement_id) : BP_NULL,
					  j->reservation_id ? BP_I64(j->reservation_id) : BP_NULL, BP_I64(sms_tpl),
					  BP_STR("SMS"), BP_STR("BILLING"), BP_I64(j->id) };
			rc = bl__bulk_add(fb, m);
		}
	}
	if (rc == BL_OK)
		rc = bl__bulk_flush(att);
	if (rc == BL_OK && fb)
		rc = bl__bulk_flush(fb);
	bl__bulk_free(att);
	bl__bulk_free(fb);
	if (rc == BL_OK)
		rc = bl__db_commit(t->db);
	if (rc)
		bl__db_rollback(t->db);
	return rc;
}

/* ---- a batch ---- */

int bl__wk_consume(wk_thread *t, bool autoclaim, int64_t *processed)
{
	*processed = 0;
	size_t max = (size_t)bl__config_int(t->sh->cfg, "BILLING_WORKER_BATCH");
	entry *es = malloc(max * sizeof *es);
	if (!es)
		return bl__fail(BL_ENOMEM, "out of memory");
	size_t n = 0;
	int rc = read_entries(t, autoclaim, es, max, &n);
	if (rc || n == 0) {
		free(es);
		return rc;
	}
	char token[200];
	snprintf(token, sizeof token, "%.150s#%llu", t->name, (unsigned long long)++t->seq);
	jobs js = { calloc(n, sizeof(job)), 0 };
	json_t **models = calloc(n, sizeof *models);
	if (!js.v || !models)
		rc = bl__fail(BL_ENOMEM, "out of memory");
	/* the claim's lease and the outcomes below are of the worker's clock */
	if (rc == BL_OK)
		rc = bl__db_set_clock(t->db, bl__clock_now_us(&t->sh->clock));
	if (rc == BL_OK)
		rc = claim(t, es, n, token, &js);
	if (rc == BL_OK && js.n)
		rc = load_models(t, &js, models);
	if (rc == BL_OK && js.n) {
		/* the provider records this batch's accepts in one ledger write */
		bl__sender_batch_begin(t->sender);
		for (size_t i = 0; i < js.n; i++)
			if (!js.v[i].status)
				send_one(t, &js.v[i], models[i], token);
		bl__sender_batch_flush(t->sender, t->db); /* failures are in each res */
		for (size_t i = 0; i < js.n; i++)
			if (js.v[i].sent) {
				settle(t, &js.v[i]);
				js.v[i].finished_ms = bl__clock_now_ms(&t->sh->clock);
			}
	}
	/* a deadlock between threads rolls the whole record back: try it again */
	for (int tries = 0; rc == BL_OK && js.n; tries++) {
		rc = bl__db_set_clock(t->db, bl__clock_now_us(&t->sh->clock));
		if (rc == BL_OK)
			rc = record(t, &js, token);
		if (rc != BL_ECONFLICT || tries == 5)
			break;
		rc = BL_OK;
		struct timespec ts = { 0, (long)(10 + tries * 20) * 1000000L };
		nanosleep(&ts, NULL);
	}
	/* entries of messages that were not claimable are done as well */
	if (rc == BL_OK)
		rc = ack(t, es, n);
	if (rc == BL_OK)
		*processed = (int64_t)js.n;
	for (size_t i = 0; i < js.n; i++) {
		free(js.v[i].params);
		json_decref(models ? models[i] : NULL);
	}
	free(models);
	free(js.v);
	free(es);
	return rc;
}

/* ---- maintenance ---- */

#define SWEEP_MAX 1000 /* rows per sweep (the LIMIT below) */

typedef struct {
	bl__param id[SWEEP_MAX + 2]; /* two leading parameters, then the ids */
	size_t n;
} sweep_ids;

static int sweep_id_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	sweep_ids *s = p;
	if (s->n < SWEEP_MAX)
		s->id[2 + s->n++] = BP_I64(atoll(v[0]));
	return BL_OK;
}

/*
 * Stale claims: PROCESSING rows past their lease go back to WAITING (the
 * relay publishes them again) or, after BILLING_MAX_DELIVERIES claims that
 * never completed, to DEAD with the reason.
 *
 * Two steps.  A consistent (non-locking) read finds candidates; the UPDATE
 * then takes them by primary key and checks the condition again.  A locking
 * range scan over (status, next_attempt_at) would walk, and lock, every
 * entry of a recently finished claim that InnoDB has not purged yet --
 * hundreds of thousands under full load -- and hold up the workers' claims
 * while it does.
 */
int bl__wk_maintain(const bl_config *cfg, MYSQL *db, int64_t *touched)
{
	*touched = 0;
	int64_t max = bl__config_int(cfg, "BILLING_MAX_DELIVERIES");
	sweep_ids *ids = calloc(1, sizeof *ids);
	if (!ids)
		return bl__fail(BL_ENOMEM, "out of memory");
	int rc = bl__db_rows(db,
			     /* ix_messages_status (status, id): the rows in flight */
			     "SELECT id FROM messages FORCE INDEX (ix_messages_status) "
			     "WHERE status = 'PROCESSING' AND next_attempt_at < NOW(3) LIMIT 1000",
			     NULL, 0, sweep_id_cb, ids);
	if (rc || ids->n == 0) {
		free(ids);
		return rc;
	}
	ids->id[0] = BP_I64(max);
	ids->id[1] = BP_I64(max);
	/* SET runs left to right: status and last_error read the old deliveries;
	 * a PROCESSING row's next_attempt_at is its lease expiry (set by the claim) */
	_cleanup_free_ char *sql = bl__sql_in(
		"UPDATE messages SET "
		"status = IF(deliveries + 1 >= ?, 'DEAD', 'WAITING'), "
		"last_error = IF(status = 'DEAD', CONCAT('claimed ', deliveries + 1, "
		"' times without completing (worker crashes?); limit ', ?), last_error), "
		"processed_at = IF(status = 'DEAD', NOW(3), processed_at), "
		"deliveries = deliveries + 1, published_at = NULL, claim_token = NULL, "
		"next_attempt_at = NOW(3) "
		"WHERE id IN (", ids->n, ") AND status = 'PROCESSING' AND next_attempt_at < NOW(3)");
	uint64_t n = 0;
	rc = sql ? bl__db_exec(db, sql, ids->id, (unsigned)ids->n + 2, &n, NULL)
		 : bl__fail(BL_ENOMEM, "out of memory");
	*touched = (int64_t)n;
	free(ids);
	return rc;
}
