/*
 * Admin web sessions (admin_sessions, shared by every billing-httpd) and the
 * login rate limiter (Redis counters with a window).
 *
 * The session id is 32 bytes from the CSPRNG, handed out as 64 hex digits;
 * the table's key is their SHA-256, so reading the table does not give a
 * usable cookie.  The CSRF token is another 32 random bytes per session.
 */
#include <ctype.h>
#include <time.h>
#include <sodium.h>
#include "stream_private.h"

#define TOUCH_EVERY_S 60 /* last_seen_at / expires_at written at most this often */
#define PURGE_LIMIT 1000

int bl_login_opts_init(bl_login_opts *opts, unsigned version)
{
	if (!opts || version != BL_LOGIN_OPTS_VERSION)
		return bl__fail(BL_EINVAL, "bl_login_opts_init: unsupported version %u", version);
	*opts = (bl_login_opts)BL_LOGIN_OPTS_INIT;
	return BL_OK;
}

/* 64 hex digits → 32 bytes; false when malformed. */
static bool sid_bytes(const char *sid, unsigned char out[32])
{
	if (!sid || strlen(sid) != BL_SESSION_TOKEN_LEN)
		return false;
	for (const char *p = sid; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return false;
	size_t n = 0;
	return sodium_hex2bin(out, 32, sid, BL_SESSION_TOKEN_LEN, NULL, &n, NULL) == 0 && n == 32;
}

static void sid_hash(const unsigned char raw[32], unsigned char out[32])
{
	crypto_hash_sha256(out, raw, 32);
}

static void random_hex(char out[BL_SESSION_TOKEN_LEN + 1], unsigned char raw[32])
{
	randombytes_buf(raw, 32);
	sodium_bin2hex(out, BL_SESSION_TOKEN_LEN + 1, raw, 32);
}

/* ---- reading a session row ---- */

struct sess_row {
	bool found;
	bl_session *s;
	int64_t seen_age;
};

static int sess_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	struct sess_row *r = p;
	r->found = true;
	bl_session *s = r->s;
	s->admin_id = atoll(v[0]);
	snprintf(s->username, sizeof s->username, "%s", v[1] ? v[1] : "");
	s->role = BL_ROLE_VIEWER;
	if (v[2])
		bl_admin_role_parse(v[2], &s->role);
	snprintf(s->csrf_token, sizeof s->csrf_token, "%s", v[3] ? v[3] : "");
	s->expires_at = v[4] ? atoll(v[4]) : 0;
	r->seen_age = v[5] ? atoll(v[5]) : 0;
	return BL_OK;
}

#define SESSION_SELECT                                                                        \
	"SELECT s.admin_id, a.username, a.role, s.csrf_token, UNIX_TIMESTAMP(s.expires_at), " \
	"TIMESTAMPDIFF(SECOND, s.last_seen_at, NOW()) FROM admin_sessions s "               \
	"JOIN admin_users a ON a.id = s.admin_id "                                           \
	"WHERE s.id_hash = ? AND s.expires_at > NOW() AND a.disabled = 0"

int bl_session_create(bl_ctx *ctx, int64_t admin_id, const char *client,
		      char sid_out[BL_SESSION_TOKEN_LEN + 1], bl_session *out)
{
	if (!ctx || !sid_out || !out)
		return bl__fail(BL_EINVAL, "bl_session_create: NULL argument");
	if (sodium_init() < 0)
		return bl__fail(BL_ECRYPTO, "libsodium could not be initialised");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	int64_t ttl = bl__config_int(bl_ctx_config(ctx), "BILLING_SESSION_TTL_S");
	unsigned char raw[32], hash[32], csrf_raw[32];
	char csrf[BL_SESSION_TOKEN_LEN + 1];
	char sid[BL_SESSION_TOKEN_LEN + 1];
	random_hex(sid, raw);
	random_hex(csrf, csrf_raw);
	sid_hash(raw, hash);
	sodium_memzero(raw, sizeof raw);
	char cl[65];
	snprintf(cl, sizeof cl, "%s", client ? client : "");
	bl__param p[] = { BP_BLOB(hash, 32), BP_STR(csrf), BP_STR(cl), BP_I64(ttl), BP_I64(admin_id) };
	int rc = bl__db_exec(db,
			     "INSERT INTO admin_sessions (id_hash, admin_id, csrf_token, client, expires_at) "
			     "SELECT ?, id, ?, ?, NOW() + INTERVAL ? SECOND FROM admin_users "
			     "WHERE id = ? AND disabled = 0",
			     p, 5, NULL, NULL);
	if (rc)
		return bl__fail_wrap(rc, "creating a session");
	struct sess_row r = { false, out, 0 };
	memset(out, 0, sizeof *out);
	bl__param q[] = { BP_BLOB(hash, 32) };
	rc = bl__db_rows(db, SESSION_SELECT, q, 1, sess_cb, &r);
	if (rc)
		return rc;
	if (!r.found)
		return bl__fail(BL_ENOTFOUND, "admin user #%lld does not exist or is disabled",
				(long long)admin_id);
	memcpy(sid_out, sid, sizeof sid);
	sodium_memzero(sid, sizeof sid);
	return BL_OK;
}

int bl_session_check(bl_ctx *ctx, const char *sid, bl_session *out)
{
	if (!ctx || !out)
		return bl__fail(BL_EINVAL, "bl_session_check: NULL argument");
	memset(out, 0, sizeof *out);
	unsigned char raw[32], hash[32];
	if (!sid_bytes(sid, raw))
		return bl__fail(BL_EAUTH, "no valid session");
	sid_hash(raw, hash);
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	struct sess_row r = { false, out, 0 };
	bl__param q[] = { BP_BLOB(hash, 32) };
	int rc = bl__db_rows(db, SESSION_SELECT, q, 1, sess_cb, &r);
	if (rc)
		return rc;
	if (!r.found) {
		memset(out, 0, sizeof *out);
		return bl__fail(BL_EAUTH, "session expired or unknown: log in again");
	}
	if (r.seen_age >= TOUCH_EVERY_S) {
		int64_t ttl = bl__config_int(bl_ctx_config(ctx), "BILLING_SESSION_TTL_S");
		bl__param u[] = { BP_I64(ttl), BP_BLOB(hash, 32) };
		rc = bl__db_exec(db,
				 "UPDATE admin_sessions SET last_seen_at = NOW(), "
				 "expires_at = NOW() + INTERVAL ? SECOND WHERE id_hash = ?",
				 u, 2, NULL, NULL);
		if (rc)
			return rc;
		out->expires_at = bl__ctx_now_s(ctx) + ttl;
	}
	return BL_OK;
}

int bl_session_end(bl_ctx *ctx, const char *sid)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_session_end: ctx is NULL");
	unsigned char raw[32], hash[32];
	if (!sid_bytes(sid, raw))
		return BL_OK;
	sid_hash(raw, hash);
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__param p[] = { BP_BLOB(hash, 32) };
	return bl__db_exec(db, "DELETE FROM admin_sessions WHERE id_hash = ?", p, 1, NULL, NULL);
}

int bl_session_purge(bl_ctx *ctx, int64_t *purged)
{
	if (purged)
		*purged = 0;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_session_purge: ctx is NULL");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	uint64_t n = 0;
	bl__param p[] = { BP_I64(PURGE_LIMIT) };
	int rc = bl__db_exec(db, "DELETE FROM admin_sessions WHERE expires_at <= NOW() LIMIT ?", p, 1, &n,
			     NULL);
	if (rc == BL_OK && purged)
		*purged = (int64_t)n;
	return rc;
}

int bl_session_csrf_check(const bl_session *s, const char *token)
{
	if (!s || !token || strlen(token) != BL_SESSION_TOKEN_LEN ||
	    strlen(s->csrf_token) != BL_SESSION_TOKEN_LEN)
		return bl__fail(BL_EAUTH, "missing or malformed CSRF token (X-CSRF-Token)");
	if (sodium_memcmp(s->csrf_token, token, BL_SESSION_TOKEN_LEN) != 0)
		return bl__fail(BL_EAUTH, "CSRF token does not match the session");
	return BL_OK;
}

/* ---- login rate limiting ---- */

/* Redis key for a counter: prefix + "login-fail:" + hex(BLAKE2b(what)), so
 * usernames and addresses are not stored in clear in Redis. */
static void limit_key(const bl_config *cfg, const char *kind, const char *a, const char *b, char *out,
		      size_t n)
{
	unsigned char h[16];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, (const unsigned char *)kind, strlen(kind) + 1);
	crypto_generichash_update(&st, (const unsigned char *)a, strlen(a) + 1);
	crypto_generichash_update(&st, (const unsigned char *)b, strlen(b) + 1);
	crypto_generichash_final(&st, h, sizeof h);
	char hex[33];
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	snprintf(out, n, "%slogin-fail:%s", bl_config_get(cfg, "REDIS_PREFIX"), hex);
}

/* Failures counted under `key`; *ttl its remaining seconds. */
static int counter_get(redisContext *r, const char *key, int64_t *count, int64_t *ttl)
{
	const char *g[] = { "GET", key };
	redisReply *rep = NULL;
	int rc = bl__redis_cmd(r, 2, g, &rep);
	if (rc)
		return rc;
	*count = rep->type == REDIS_REPLY_STRING ? atoll(rep->str) : 0;
	freeReplyObject(rep);
	*ttl = 0;
	if (*count == 0)
		return BL_OK;
	const char *t[] = { "TTL", key };
	if ((rc = bl__redis_cmd(r, 2, t, &rep)))
		return rc;
	*ttl = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
	freeReplyObject(rep);
	return BL_OK;
}

static int counter_incr(redisContext *r, const char *key, int64_t window)
{
	const char *i[] = { "INCR", key };
	redisReply *rep = NULL;
	int rc = bl__redis_cmd(r, 2, i, &rep);
	if (rc)
		return rc;
	bool first = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	freeReplyObject(rep);
	if (!first)
		return BL_OK;
	char w[24];
	snprintf(w, sizeof w, "%lld", (long long)window);
	const char *e[] = { "EXPIRE", key, w };
	if ((rc = bl__redis_cmd(r, 3, e, &rep)))
		return rc;
	freeReplyObject(rep);
	return BL_OK;
}

static void audit_login(bl_ctx *ctx, const char *user, const char *action, const char *client)
{
	json_t *d = json_pack("{s:s}", "client", client);
	char *s = d ? json_dumps(d, JSON_COMPACT) : NULL;
	/* the audit entry is best effort: a login is not refused because of it */
	int saved = bl_error_last_code();
	char msg[512];
	snprintf(msg, sizeof msg, "%s", bl_error_last());
	bl_audit_record(ctx, user, action, "session", s);
	if (saved)
		bl__fail(saved, "%s", msg);
	free(s);
	json_decref(d);
}

int bl_session_login(bl_ctx *ctx, const bl_login_opts *o, char sid_out[BL_SESSION_TOKEN_LEN + 1],
		     bl_session *out, int *retry_after_s)
{
	if (retry_after_s)
		*retry_after_s = 0;
	if (!ctx || !o || o->version != BL_LOGIN_OPTS_VERSION || !sid_out || !out)
		return bl__fail(BL_EINVAL, "bl_session_login: NULL argument or wrong options version");
	if (!o->username || !*o->username || !o->password)
		return bl__fail(BL_EINVAL, "username and password are required");
	if (sodium_init() < 0)
		return bl__fail(BL_ECRYPTO, "libsodium could not be initialised");
	const bl_config *cfg = bl_ctx_config(ctx);
	const char *client = o->client ? o->client : "";
	/* usernames are compared case-insensitively by the collation: count them so */
	char user[65];
	snprintf(user, sizeof user, "%s", o->username);
	for (char *p = user; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	int64_t max = bl__config_int(cfg, "BILLING_LOGIN_MAX_FAILS");
	int64_t window = bl__config_int(cfg, "BILLING_LOGIN_WINDOW_S");
	char k_user[256], k_client[256];
	limit_key(cfg, "user+client", user, client, k_user, sizeof k_user);
	limit_key(cfg, "client", "", client, k_client, sizeof k_client);

	redisContext *r = bl__ctx_redis(ctx);
	if (!r)
		return bl__fail_wrap(bl_error_last_code(), "login rate limiter");
	int64_t n_user = 0, t_user = 0, n_client = 0, t_client = 0;
	int rc = counter_get(r, k_user, &n_user, &t_user);
	if (rc == BL_OK)
		rc = counter_get(r, k_client, &n_client, &t_client);
	if (rc)
		return bl__fail_wrap(rc, "login rate limiter");
	if (n_user >= max || n_client >= 4 * max) {
		int64_t wait = n_user >= max ? t_user : t_client;
		if (wait <= 0)
			wait = 1;
		if (retry_after_s)
			*retry_after_s = (int)wait;
		audit_login(ctx, user, "login.refused", client);
		return bl__fail(BL_EAUTH, "too many failed logins: try again in %lld s", (long long)wait);
	}
	int64_t admin_id = 0;
	rc = bl_admin_verify(ctx, o->username, o->password, &admin_id, NULL);
	if (rc == BL_EAUTH) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s", bl_error_last());
		int rc2 = counter_incr(r, k_user, window);
		if (rc2 == BL_OK)
			rc2 = counter_incr(r, k_client, window);
		audit_login(ctx, user, "login.failed", client);
		if (rc2)
			return bl__fail_wrap(rc2, "login rate limiter");
		return bl__fail(BL_EAUTH, "%s", msg);
	}
	if (rc)
		return rc;
	const char *del[] = { "DEL", k_user };
	redisReply *rep = NULL;
	if (bl__redis_cmd(r, 2, del, &rep) == BL_OK)
		freeReplyObject(rep);
	int64_t purged = 0;
	bl_session_purge(ctx, &purged); /* housekeeping; its failure does not block a login */
	bl_error_clear();
	rc = bl_session_create(ctx, admin_id, client, sid_out, out);
	if (rc == BL_OK)
		audit_login(ctx, out->username, "login", client);
	return rc;
}
