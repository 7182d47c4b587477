/*
 * The suppression list and one-click unsubscribe (docs/email.md).
 * An entry holds the blind index of the address (as users.email_bidx) and
 * its masked form: never the address.
 */
#include <jansson.h>
#include "audit_private.h"
#include "context_private.h"
#include "db.h"
#include "email_private.h"

static const char *const REASONS[] = { "HARD_BOUNCE", "COMPLAINT", "UNSUBSCRIBE", "MANUAL", NULL };

static MYSQL *ctx_db(bl_ctx *ctx, const char *what)
{
	if (!ctx) {
		bl__fail(BL_EINVAL, "%s: ctx is NULL", what);
		return NULL;
	}
	return bl__ctx_db(ctx);
}

/* Who a change is by: the caller's `actor`, else the context's (bl_ctx_set_actor), else "system". */
static const char *who(bl_ctx *ctx, const char *actor)
{
	return actor && *actor ? actor : bl__audit_actor(ctx);
}

int bl_suppression_add(bl_ctx *ctx, const char *email, const char *reason, const char *note, const char *actor)
{
	MYSQL *db = ctx_db(ctx, "bl_suppression_add");
	if (!db)
		return bl_error_last_code();
	if (!email || !reason)
		return bl__fail(BL_EINVAL, "bl_suppression_add: e-mail and reason are required");
	bool ok = false;
	for (const char *const *r = REASONS; *r; r++)
		ok |= !strcmp(*r, reason);
	if (!ok)
		return bl__fail(BL_EINVAL, "suppression reason '%.32s': expected HARD_BOUNCE, COMPLAINT, "
					   "UNSUBSCRIBE or MANUAL", reason);
	unsigned char h[BL_BLIND_INDEX_BYTES];
	int rc = bl_pii_blind_index(ctx, BL_PII_EMAIL, email, h);
	if (rc)
		return rc;
	_cleanup_free_ char *masked = NULL;
	if ((rc = bl_pii_mask(BL_PII_EMAIL, email, &masked)))
		return rc;
	char detail[256] = "";
	if (note)
		bl__pii_scrub_buf(note, detail, sizeof detail);
	bl__param p[] = { BP_BLOB(h, sizeof h), BP_STR(masked), BP_STR(reason),
			  detail[0] ? BP_STR(detail) : BP_NULL, BP_STR(who(ctx, actor)) };
	uint64_t n = 0;
	if ((rc = bl__db_begin(db)))
		return rc;
	rc = bl__db_exec(db, "INSERT IGNORE INTO email_suppressions (address_hash, address_masked, reason, detail, "
			     "created_by) VALUES (?,?,?,?,LEFT(?,128))", p, 5, &n, NULL);
	if (rc == BL_OK && n == 0)
		rc = bl__fail(BL_ECONFLICT, "%s is already suppressed", masked);
	if (rc == BL_OK)
		rc = bl__audit_as(who(ctx, actor), db, "suppression.add", json_pack("{ss}", "reason", reason), "%s",
				  masked);
	if (rc == BL_OK)
		rc = bl__db_commit(db);
	if (rc)
		bl__db_rollback(db);
	return rc;
}

int bl_suppression_remove(bl_ctx *ctx, int64_t id, const char *actor)
{
	MYSQL *db = ctx_db(ctx, "bl_suppression_remove");
	if (!db)
		return bl_error_last_code();
	bl__param p = BP_I64(id);
	uint64_t n = 0;
	int rc = bl__db_begin(db);
	if (rc)
		return rc;
	rc = bl__db_exec(db, "DELETE FROM email_suppressions WHERE id = ?", &p, 1, &n, NULL);
	if (rc == BL_OK && n == 0)
		rc = bl__fail(BL_ENOTFOUND, "suppression #%lld not found", (long long)id);
	if (rc == BL_OK)
		rc = bl__audit_as(who(ctx, actor), db, "suppression.remove", NULL, "suppression #%lld", (long long)id);
	if (rc == BL_OK)
		rc = bl__db_commit(db);
	if (rc)
		bl__db_rollback(db);
	return rc;
}

int bl_suppression_check(bl_ctx *ctx, const char *email, bool *listed)
{
	MYSQL *db = ctx_db(ctx, "bl_suppression_check");
	if (!db)
		return bl_error_last_code();
	if (!email || !listed)
		return bl__fail(BL_EINVAL, "bl_suppression_check: NULL argument");
	unsigned char h[BL_BLIND_INDEX_BYTES];
	int rc = bl_pii_blind_index(ctx, BL_PII_EMAIL, email, h);
	if (rc)
		return rc;
	bl__param p = BP_BLOB(h, sizeof h);
	int64_t n = 0;
	rc = bl__db_i64(db, "SELECT COUNT(*) FROM email_suppressions WHERE address_hash = ?", &p, 1, &n, NULL);
	*listed = n > 0;
	return rc;
}

int bl_suppression_list(bl_ctx *ctx, int64_t after_id, int limit, char **json)
{
	MYSQL *db = ctx_db(ctx, "bl_suppression_list");
	if (!db)
		return bl_error_last_code();
	if (!json || limit < 1 || limit > 1000)
		return bl__fail(BL_EINVAL, "bl_suppression_list: limit %d must be 1-1000", limit);
	bl__param p[] = { BP_I64(after_id), BP_I64(limit) };
	json_t *rows = NULL;
	int rc = bl__db_json(db, "SELECT id, address_masked AS address, reason, detail, message_id, created_by, "
				 "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') AS created_at FROM email_suppressions "
				 "WHERE id > ? ORDER BY id LIMIT ?", p, 2, &rows);
	if (rc)
		return rc;
	*json = json_dumps(rows, JSON_COMPACT);
	json_decref(rows);
	return *json ? BL_OK : bl__fail(BL_ENOMEM, "out of memory");
}

int bl_unsubscribe_token(bl_ctx *ctx, int64_t user_id, bl_channel channel, char **token)
{
	if (!ctx || !token || user_id <= 0 || (channel != BL_CHANNEL_EMAIL && channel != BL_CHANNEL_SMS))
		return bl__fail(BL_EINVAL, "bl_unsubscribe_token: bad argument");
	bl__mail_keys k;
	int rc = bl__mail_keys_derive(bl_ctx_config(ctx), &k);
	char buf[64];
	if (rc == BL_OK)
		rc = bl__unsub_token(&k, user_id, channel, buf, sizeof buf);
	memset(&k, 0, sizeof k);
	if (rc)
		return rc;
	*token = bl__strdup(buf);
	return *token ? BL_OK : bl__fail(BL_ENOMEM, "out of memory");
}

struct email_row {
	unsigned char bidx[BL_BLIND_INDEX_BYTES];
	bool found;
};

static int email_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	struct email_row *r = p;
	if (nc >= 1 && v[0] && lens[0] == BL_BLIND_INDEX_BYTES) {
		memcpy(r->bidx, v[0], BL_BLIND_INDEX_BYTES);
		r->found = true;
	}
	return BL_OK;
}

/* The (user, channel) a token names, checked against the keys of the context. */
static int token_check(bl_ctx *ctx, const char *token, int64_t *uid, bl_channel *ch)
{
	bl__mail_keys k;
	*uid = 0;
	*ch = BL_CHANNEL_EMAIL;
	int rc = bl__mail_keys_derive(bl_ctx_config(ctx), &k);
	if (rc == BL_OK)
		rc = bl__unsub_verify(&k, token, uid, ch);
	memset(&k, 0, sizeof k);
	return rc;
}

int bl_unsubscribe_verify(bl_ctx *ctx, const char *token, int64_t *user_id, bl_channel *channel)
{
	if (!ctx || !token)
		return bl__fail(BL_EINVAL, "bl_unsubscribe_verify: NULL argument");
	int64_t uid;
	bl_channel ch;
	int rc = token_check(ctx, token, &uid, &ch);
	if (rc)
		return rc;
	if (user_id)
		*user_id = uid;
	if (channel)
		*channel = ch;
	return BL_OK;
}

int bl_unsubscribe_rate_take(bl_ctx *ctx, const char *client, int64_t *retry_after_s)
{
	int64_t wait = 0;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_unsubscribe_rate_take: ctx is NULL");
	const bl_config *cfg = bl_ctx_config(ctx);
	int rc = bl__rate_take(ctx, "unsubscribe requests", client && *client ? client : "-",
			       bl__config_int(cfg, "BILLING_UNSUBSCRIBE_LIMIT"),
			       bl__config_int(cfg, "BILLING_UNSUBSCRIBE_WINDOW_S"), &wait);
	if (retry_after_s)
		*retry_after_s = wait;
	return rc;
}

int bl_unsubscribe_apply(bl_ctx *ctx, const char *token, const char *client, int64_t *user_id,
			 bl_channel *channel)
{
	MYSQL *db = ctx_db(ctx, "bl_unsubscribe_apply");
	if (!db)
		return bl_error_last_code();
	int64_t uid;
	bl_channel ch;
	int rc = token_check(ctx, token, &uid, &ch);
	if (rc)
		return rc; /* nothing changed */
	bl__param p = BP_I64(uid);
	struct email_row row = { .found = false };
	rc = bl__db_rows(db, "SELECT email_bidx FROM users WHERE id = ?", &p, 1, email_cb, &row);
	if (rc)
		return rc;
	if (!row.found)
		return bl__fail(BL_ENOTFOUND, "unsubscribe: user #%lld not found", (long long)uid);
	if ((rc = bl__db_begin(db)))
		return rc;
	rc = bl__db_exec(db, ch == BL_CHANNEL_EMAIL ? "UPDATE users SET consent_email = 0 WHERE id = ?"
						   : "UPDATE users SET consent_sms = 0 WHERE id = ?", &p, 1, NULL, NULL);
	if (rc == BL_OK && ch == BL_CHANNEL_EMAIL) {
		char masked[64];
		snprintf(masked, sizeof masked, "user #%lld", (long long)uid);
		bl__param s[] = { BP_BLOB(row.bidx, sizeof row.bidx), BP_STR(masked) };
		rc = bl__db_exec(db, "INSERT IGNORE INTO email_suppressions (address_hash, address_masked, reason, "
				     "created_by) VALUES (?,?,'UNSUBSCRIBE','unsubscribe link')", s, 2, NULL, NULL);
	}
	/* the subscriber's own change: actor "unsubscribe", whoever runs the context */
	if (rc == BL_OK)
		rc = bl__audit_as("unsubscribe", db, "consent.unsubscribe",
				  json_pack("{ss,ss}", "channel", ch == BL_CHANNEL_EMAIL ? "EMAIL" : "SMS", "client",
					    client ? client : ""),
				  "user #%lld", (long long)uid);
	if (rc == BL_OK)
		rc = bl__db_commit(db);
	if (rc) {
		bl__db_rollback(db);
		return rc;
	}
	if (user_id)
		*user_id = uid;
	if (channel)
		*channel = ch;
	return rc;
}
