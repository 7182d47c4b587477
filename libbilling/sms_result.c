/*
 * Delivery results of SMS gateways (docs/senders.md, "Delivery results"):
 * read by polling the SENS result query or received by billing-httpd's
 * webhook, applied here, each once.
 *
 * A result names (provider, request id).  In one transaction:
 *   1. sms_results gets its row; a second one of the same (provider,
 *      request id, result) is a replay: counted, IGNORED;
 *   2. the ledger row of that request names the message; none → a request
 *      of an earlier attempt (IGNORED, superseded) or UNKNOWN;
 *   3. the message must be SUCCESS (accepted and recorded): a message still
 *      PROCESSING answers LATER (nothing stored); one already final is
 *      IGNORED — a final state never moves backwards;
 *   4. delivered → DELIVERED.  Undelivered → a BILLING SMS with retries
 *      left goes back to FAILED with the policy's backoff (the ledger row
 *      is removed so that the retry is sent again; the attempt row keeps the
 *      request id and result); otherwise UNDELIVERED with the carrier code.
 */
#include <sodium.h>
#include <jansson.h>
#include "sms_private.h"

static const char *OUTCOMES[] = { "APPLIED", "RETRY", "IGNORED", "UNKNOWN", "LATER" };

typedef struct {
	int64_t message_id;
	bool found, has_result;
} ledger_row;

static int ledger_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	ledger_row *r = p;
	r->found = true;
	r->message_id = atoll(v[0]);
	r->has_result = v[1] != NULL;
	return BL_OK;
}

typedef struct {
	bool found;
	char status[16];
	bool billing;
	int policy_attempts;
} msg_row;

static int msg_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	msg_row *m = p;
	m->found = true;
	snprintf(m->status, sizeof m->status, "%s", v[0]);
	m->billing = !strcmp(v[1], "BILLING");
	m->policy_attempts = atoi(v[2]);
	return BL_OK;
}

static int apply_tx(bl_ctx *ctx, MYSQL *db, const char *provider, const char *request_id, bool delivered,
		    const char *code, const char *source, int *outcome, char *reason, size_t cap)
{
	const char *res = delivered ? "DELIVERED" : "UNDELIVERED";
	/* 1. once per (provider, request id, result) */
	bl__param ins[] = { BP_STR(provider), BP_STR(request_id), BP_STR(res), BP_STR(code), BP_STR(source) };
	uint64_t aff = 0, id = 0;
	int rc = bl__db_exec(db,
			     "INSERT INTO sms_results (provider, request_id, result, result_code, source, outcome) "
			     "VALUES (?,?,?,LEFT(?,32),?,'UNKNOWN') ON DUPLICATE KEY UPDATE repeats = repeats + 1, "
			     "id = LAST_INSERT_ID(id)",
			     ins, 5, &aff, &id);
	if (rc)
		return rc;
	if (aff == 2) {
		/* a replay, unless the first one found no accept (yet): look again */
		bool known = false;
		bl__param ip = BP_I64((int64_t)id);
		int64_t unknown = 0;
		rc = bl__db_i64(db, "SELECT outcome = 'UNKNOWN' FROM sms_results WHERE id = ?", &ip, 1, &unknown, &known);
		if (rc)
			return rc;
		if (!unknown) {
			*outcome = BL_SMS_RESULT_IGNORED;
			snprintf(reason, cap, "replay: this result was received before");
			return BL_OK; /* the first row keeps its outcome */
		}
	}
	/* 2. the accept it belongs to */
	ledger_row l = { 0 };
	bl__param q[] = { BP_STR(provider), BP_STR(request_id) };
	rc = bl__db_rows(db, "SELECT message_id, result FROM message_ledger WHERE provider = ? AND request_id = ? "
			     "FOR UPDATE", q, 2, ledger_cb, &l);
	int64_t mid = l.message_id;
	msg_row m = { 0 };
	if (rc == BL_OK && !l.found) {
		bool old = false;
		rc = bl__db_i64(db, "SELECT message_id FROM message_attempts WHERE provider = ? AND request_id = ? LIMIT 1",
				q, 2, &mid, &old);
		*outcome = old ? BL_SMS_RESULT_IGNORED : BL_SMS_RESULT_UNKNOWN;
		snprintf(reason, cap, old ? "superseded: the message was sent again since" : "no message was accepted "
										     "under this request id");
	} else if (rc == BL_OK) {
		bl__param mp = BP_I64(mid);
		rc = bl__db_rows(db, "SELECT status, purpose, policy_attempts FROM messages WHERE id = ? FOR UPDATE", &mp, 1,
				 msg_cb, &m);
		if (rc == BL_OK && (!m.found || l.has_result || (strcmp(m.status, "SUCCESS") && strcmp(m.status, "PROCESSING")))) {
			*outcome = BL_SMS_RESULT_IGNORED;
			snprintf(reason, cap, "message %lld is already final (%s)", (long long)mid, m.found ? m.status : "gone");
		} else if (rc == BL_OK && !strcmp(m.status, "PROCESSING")) {
			*outcome = BL_SMS_RESULT_LATER;
			snprintf(reason, cap, "message %lld: its accept is not recorded yet", (long long)mid);
			return BL_OK; /* rolled back by the caller: the result may come again */
		}
	}
	if (rc == BL_OK && l.found && *outcome == -1) {
		/* 4. the carrier's answer */
		bool retry = false;
		int64_t delay = 0;
		bl_retry_policy p;
		if (!delivered && m.billing &&
		    bl_retry_policy_from_config(bl_ctx_config(ctx), BL_CHANNEL_SMS, &p) == BL_OK)
			bl_retry_next(&p, m.policy_attempts, randombytes_random() | (uint64_t)randombytes_random() << 32,
				      &retry, &delay);
		char err[200];
		snprintf(err, sizeof err, "undelivered: carrier code %.32s (%s)", code, provider);
		bl__param ap[] = { BP_STR(res), BP_STR(code), BP_I64(mid), BP_STR(provider), BP_STR(request_id) };
		rc = bl__db_exec(db, "UPDATE message_attempts SET result = ?, result_code = LEFT(?,32) WHERE message_id = ? "
				     "AND provider = ? AND request_id = ?", ap, 5, NULL, NULL);
		if (rc == BL_OK && retry) {
			bl__param up[] = { BP_STR(err), BP_I64(delay * 1000), BP_I64(mid) };
			rc = bl__db_exec(db, "UPDATE messages SET status = 'FAILED', last_error = ?, published_at = NULL, "
					     "next_attempt_at = NOW(3) + INTERVAL ? MICROSECOND WHERE id = ? AND status = 'SUCCESS'",
					 up, 3, NULL, NULL);
			bl__param dp[] = { BP_I64(mid), BP_STR(request_id) };
			if (rc == BL_OK)
				rc = bl__db_exec(db, "DELETE FROM message_ledger WHERE message_id = ? AND request_id = ?", dp, 2,
						 NULL, NULL);
			*outcome = BL_SMS_RESULT_RETRY;
			snprintf(reason, cap, "message %lld undelivered (code %.32s): sent again in %lld ms", (long long)mid,
				 code, (long long)delay);
		} else if (rc == BL_OK) {
			bl__param up[] = { BP_STR(res), delivered ? BP_NULL : BP_STR(err), BP_I64(mid) };
			rc = bl__db_exec(db, "UPDATE messages SET status = ?, last_error = ? WHERE id = ? AND status = 'SUCCESS'",
					 up, 3, NULL, NULL);
			bl__param lp[] = { BP_STR(res), BP_STR(code), BP_STR(provider), BP_STR(request_id) };
			if (rc == BL_OK)
				rc = bl__db_exec(db, "UPDATE message_ledger SET result = ?, result_code = LEFT(?,32), "
						     "result_at = NOW(3) WHERE provider = ? AND request_id = ?", lp, 4, NULL, NULL);
			*outcome = BL_SMS_RESULT_APPLIED;
			snprintf(reason, cap, "message %lld %s", (long long)mid, res);
		}
	}
	if (rc == BL_OK) {
		bl__param up[] = { BP_STR(OUTCOMES[*outcome]), BP_STR(reason), mid ? BP_I64(mid) : BP_NULL, BP_I64((int64_t)id) };
		rc = bl__db_exec(db, "UPDATE sms_results SET outcome = ?, reason = LEFT(?,255), message_id = ? WHERE id = ?",
				 up, 4, NULL, NULL);
	}
	return rc;
}

int bl__sms_result_apply(bl_ctx *ctx, MYSQL *db, const char *provider, const char *request_id, bool delivered,
			 const char *code, const char *source, const char **outcome_name)
{
	char reason[256] = "";
	int outcome = -1;
	int rc = BL_OK;
	for (int tries = 0; tries < 5; tries++) {
		outcome = -1;
		rc = bl__db_begin(db);
		if (rc == BL_OK)
			rc = apply_tx(ctx, db, provider, request_id, delivered, code ? code : "", source, &outcome, reason,
				      sizeof reason);
		if (rc == BL_OK && outcome != BL_SMS_RESULT_LATER)
			rc = bl__db_commit(db);
		else
			bl__db_rollback(db);
		if (rc != BL_ECONFLICT)
			break;
	}
	if (outcome_name)
		*outcome_name = outcome >= 0 ? OUTCOMES[outcome] : "ERROR";
	return rc ? rc : outcome;
}

/* ---- the webhook ---- */

int bl_sms_hook_handle(bl_ctx *ctx, const char *provider, const char *body, size_t len, const char *timestamp,
		       const char *signature, bl_sms_result_outcome *outcome)
{
	if (!ctx || !provider || !body || !outcome)
		return bl__fail(BL_EINVAL, "bl_sms_hook_handle: NULL argument");
	if (sodium_init() < 0)
		return bl__fail(BL_ECRYPTO, "libsodium could not be initialised");
	bl__gw_conf g = { 0 };
	bool found = false;
	for (int i = 1; i <= BL_SMS_MAX_GATEWAYS && !found; i++) {
		bool used;
		if (bl__gw_conf_load(bl_ctx_config(ctx), i, &g, &used) == BL_OK && used) {
			if (!strcmp(g.name, provider) && g.hook_secret[0])
				found = true;
			else
				bl__gw_conf_clear(&g);
		}
	}
	if (!found)
		return bl__fail(BL_ENOTFOUND, "SMS gateway '%.32s': no such gateway with a hook secret", provider);
	/* the signature first: nothing is read from an unauthenticated body */
	unsigned char mac[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)g.hook_secret, strlen(g.hook_secret));
	bl__gw_conf_clear(&g);
	const char *ts = timestamp ? timestamp : "";
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	size_t gl = 0;
	if (!signature || strlen(signature) != 2 * sizeof got ||
	    sodium_hex2bin(got, sizeof got, signature, strlen(signature), NULL, &gl, NULL) != 0 || gl != sizeof got ||
	    sodium_memcmp(mac, got, sizeof mac) != 0)
		return bl__fail(BL_EAUTH, "SMS gateway '%.32s': webhook signature missing or wrong", provider);
	json_t *j = json_loadb(body, len, 0, NULL);
	const char *rid = json_string_value(json_object_get(j, "requestId"));
	const char *status = json_string_value(json_object_get(j, "status"));
	const char *name = json_string_value(json_object_get(j, "statusName"));
	const char *code = json_string_value(json_object_get(j, "statusCode"));
	if (!rid || !*rid || strlen(rid) > BL_SMS_REQID_MAX || !status || strcmp(status, "COMPLETED") || !name ||
	    (strcmp(name, "success") && strcmp(name, "fail"))) {
		json_decref(j);
		return bl__fail(BL_EINVAL, "SMS gateway '%.32s': webhook body is not a final result "
					   "({requestId, status COMPLETED, statusName success|fail, statusCode})", provider);
	}
	MYSQL *db = bl__ctx_db(ctx);
	int rc = db ? bl__sms_result_apply(ctx, db, provider, rid, !strcmp(name, "success"), code ? code : "",
					    "WEBHOOK", NULL)
		    : bl_error_last_code();
	json_decref(j);
	if (rc < 0)
		return rc;
	*outcome = (bl_sms_result_outcome)rc;
	return BL_OK;
}

/* ---- polling ---- */

typedef struct {
	int64_t mid[10000];
	char prov[10000][BL_SMS_NAME_MAX + 1];
	char rid[10000][BL_SMS_REQID_MAX + 1];
	size_t n;
} pending_set;

static int pending_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	pending_set *s = p;
	if (s->n >= 10000)
		return BL_OK;
	s->mid[s->n] = atoll(v[0]);
	snprintf(s->prov[s->n], sizeof s->prov[0], "%s", v[1]);
	snprintf(s->rid[s->n], sizeof s->rid[0], "%s", v[2]);
	s->n++;
	return BL_OK;
}

int bl__sms_poll(bl_ctx *ctx, MYSQL *db, bl__sms *s, int64_t *applied)
{
	*applied = 0;
	if (!s)
		return BL_OK;
	pending_set *ps = calloc(1, sizeof *ps);
	if (!ps)
		return bl__fail(BL_ENOMEM, "out of memory");
	bl__param lim = BP_I64(bl__config_int(bl_ctx_config(ctx), "BILLING_SMS_POLL_BATCH"));
	/* accepted, recorded, no result yet: the oldest first */
	int rc = bl__db_rows(db, "SELECT l.message_id, l.provider, l.request_id FROM message_ledger l "
				 "JOIN messages m ON m.id = l.message_id AND m.status = 'SUCCESS' "
				 "WHERE l.provider IS NOT NULL AND l.result IS NULL ORDER BY l.accepted_at LIMIT ?",
			     &lim, 1, pending_cb, ps);
	long cto, to;
	bl__sms_timeouts(s, &cto, &to);
	for (size_t i = 0; rc == BL_OK && i < ps->n; i++) {
		CURL **h = NULL;
		const bl__gw_conf *g = bl__sms_gateway(s, ps->prov[i], &h);
		if (!g || g->type != BL_GW_SENS)
			continue; /* results by webhook only */
		bool found, done, delivered;
		char code[40], err[200];
		rc = bl__sens_query(g, h, cto, to, bl__ctx_now_ms(ctx), ps->rid[i], &found, &done, &delivered, code,
				    sizeof code, err, sizeof err);
		if (rc || !done)
			continue;
		const char *oc = NULL;
		int r = bl__sms_result_apply(ctx, db, ps->prov[i], ps->rid[i], delivered, code, "POLL", &oc);
		if (r < 0)
			rc = r;
		else if (r == BL_SMS_RESULT_APPLIED || r == BL_SMS_RESULT_RETRY)
			(*applied)++;
	}
	free(ps);
	return rc;
}

int bl_sms_results_poll(bl_ctx *ctx, int64_t *applied)
{
	if (!ctx || !applied)
		return bl__fail(BL_EINVAL, "bl_sms_results_poll: NULL argument");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__sms *s = NULL;
	int rc = bl__sms_new(&s, bl_ctx_config(ctx), NULL);
	if (rc == BL_OK)
		rc = bl__sms_poll(ctx, db, s, applied);
	bl__sms_free(s);
	return rc;
}

int bl_sms_gateway_states(bl_ctx *ctx, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_sms_gateway_states: NULL argument");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	json_t *rows = NULL;
	int rc = bl__db_json(db, "SELECT provider, worker, state, consecutive, accepted, transient, permanent, opened, "
				 "DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s') AS updated_at FROM sms_provider_state "
				 "ORDER BY provider, worker", NULL, 0, &rows);
	if (rc)
		return rc;
	*json = json_dumps(rows, JSON_COMPACT);
	json_decref(rows);
	return *json ? BL_OK : bl__fail(BL_ENOMEM, "out of memory");
}
