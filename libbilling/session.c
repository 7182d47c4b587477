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
#include "audit_private.h"
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
	"WHERE s.id_hash = ? AND s.expires_at > NOW() AND a.disabled = 0 "                    \
	"AND s.created_at > NOW() - INTERVAL ? SECOND"

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
	int64_t lifetime = bl__config_int(bl_ctx_config(ctx), "BILLING_SESSION_MAX_S");
	if (ttl > lifetime)
		ttl = lifetime;
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
	bl__param q[] = { BP_BLOB(hash, 32), BP_I64(lifetime) };
	rc = bl__db_rows(db, SESSION_SELECT, q, 2, sess_cb, &r);
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
	int64_t lifetime = bl__config_int(bl_ctx_config(ctx), "BILLING_SESSION_MAX_S");
	bl__param q[] = { BP_BLOB(hash, 32), BP_I64(lifetime) };
	int rc = bl__db_rows(db, SESSION_SELECT, q, 2, sess_cb, &r);
	if (rc)
		return rc;
	if (!r.found) {
		memset(out, 0, sizeof *out);
		return bl__fail(BL_EAUTH, "session expired or unknown: log in again");
	}
	if (r.seen_age >= TOUCH_EVERY_S) {
		/* the expiry slides with use, but never past the absolute lifetime */
		int64_t ttl = bl__config_int(bl_ctx_config(ctx), "BILLING_SESSION_TTL_S");
		bl__param u[] = { BP_I64(ttl), BP_I64(lifetime), BP_BLOB(hash, 32) };
		rc = bl__db_exec(db,
				 "UPDATE admin_sessions SET last_seen_at = NOW(), "
				 "expires_at = LEAST(NOW() + INTERVAL ? SECOND, created_at + INTERVAL ? SECOND) "
				 "WHERE id_hash = ?",
				 u, 3, NULL, NULL);
		if (rc)
			return rc;
		bl__param e[] = { BP_BLOB(hash, 32) };
		bool found = false;
		rc = bl__db_i64(db, "SELECT UNIX_TIMESTAMP(expires_at) FROM admin_sessions WHERE id_hash = ?", e,
				1, &out->expires_at, &found);
		if (rc)
			return rc;
	}
	return BL_OK;
}

static int username_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	if (nc > 0 && v[0])
		snprintf(p, 129, "%s", v[0]);
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
	/* "logout" under the session's admin, when there was such a session */
	char user[129] = "";
	int rc = bl__db_begin(db);
	if (rc == BL_OK)
		rc = bl__db_rows(db,
				 "SELECT a.username FROM admin_sessions s JOIN admin_users a ON a.id = s.admin_id "
				 "WHERE s.id_hash = ? FOR UPDATE",
				 p, 1, username_cb, user);
	if (rc == BL_OK)
		rc = bl__db_exec(db, "DELETE FROM admin_sessions WHERE id_hash = ?", p, 1, NULL, NULL);
	if (rc == BL_OK && user[0])
		rc = bl__audit_as(user, db, "logout", NULL, "session");
	if (rc == BL_OK)
		rc = bl__db_commit(db);
	if (rc)
		bl__db_rollback(db);
	return rc;
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

/* ---- login rate limiting ----
 *
 * Per (username, client) and per client, a failure counter that lives
 * BILLING_LOGIN_WINDOW_S.  The first BILLING_LOGIN_MAX_FAILS failures (4 ×
 * for a client over all usernames) are free; the last of them closes a gate
 * for 1 s, and every later attempt must find the gate open and closes it
 * again for a backoff that doubles with each failure (1 s, 2 s, 4 s … at
 * most the window).  Nothing is a lock-out: the backoff
 * belongs to the (username, client) that failed, so an attacker elsewhere
 * cannot lock a real admin out.  An attempt is counted before the password
 * is checked, so parallel requests get no extra guesses.
 */

/* Redis key: prefix + "login-" + what + ":" + hex(BLAKE2b(a, b)), so
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
	snprintf(out, n, "%slogin-%s:%s", bl_config_get(cfg, "REDIS_PREFIX"), kind, hex);
}

static int redis_int(redisContext *r, int argc, const char **argv, long long *out)
{
	redisReply *rep = NULL;
	int rc = bl__redis_cmd(r, argc, argv, &rep);
	if (rc)
		return rc;
	*out = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
	bool ok = rep->type == REDIS_REPLY_INTEGER || rep->type == REDIS_REPLY_NIL ||
		  rep->type == REDIS_REPLY_STATUS;
	freeReplyObject(rep);
	return ok ? BL_OK : bl__fail(BL_EREDIS, "%s: unexpected reply", argv[0]);
}

/* Count one attempt under `key` (the window starts at the first). */
static int count_attempt(redisContext *r, const char *key, int64_t window, long long *n)
{
	const char *i[] = { "INCR", key };
	int rc = redis_int(r, 2, i, n);
	if (rc || *n != 1)
		return rc;
	char w[24];
	long long ignored;
	snprintf(w, sizeof w, "%lld", (long long)window);
	const char *e[] = { "EXPIRE", key, w };
	return redis_int(r, 3, e, &ignored);
}

static int64_t backoff_ms(long long over, int64_t window)
{
	int64_t backoff = 1000;
	for (long long k = 1; k < over && backoff < window * 1000; k++)
		backoff *= 2;
	return backoff > window * 1000 ? window * 1000 : backoff;
}

/* Close the gate for the backoff of the `over`-th failure past the free ones. */
static int close_gate(redisContext *r, const char *gate, long long over, int64_t window)
{
	char px[24];
	snprintf(px, sizeof px, "%lld", (long long)backoff_ms(over, window));
	long long ignored;
	const char *set[] = { "SET", gate, "1", "PX", px };
	return redis_int(r, 5, set, &ignored);
}

/* Past the free attempts: take the gate (one attempt per backoff) or learn
 * how long it stays closed.  *wait_ms 0: taken. */
static int take_gate(redisContext *r, const char *gate, long long over, int64_t window, int64_t *wait_ms)
{
	char px[24];
	snprintf(px, sizeof px, "%lld", (long long)backoff_ms(over, window));
	const char *set[] = { "SET", gate, "1", "PX", px, "NX" };
	redisReply *rep = NULL;
	int rc = bl__redis_cmd(r, 6, set, &rep);
	if (rc)
		return rc;
	bool taken = rep->type == REDIS_REPLY_STATUS;
	freeReplyObject(rep);
	*wait_ms = 0;
	if (taken)
		return BL_OK;
	long long pttl = 0;
	const char *t[] = { "PTTL", gate };
	if ((rc = redis_int(r, 2, t, &pttl)))
		return rc;
	*wait_ms = pttl > 0 ? pttl : 1;
	return BL_OK;
}

static void uncount(redisContext *r, const char *key)
{
	long long ignored;
	const char *d[] = { "DECR", key };
	redis_int(r, 2, d, &ignored);
}

/* The username as the collation compares it: no surrounding white space,
 * ASCII case folded.  Counted so, "Admin " and "admin" are one account. */
static void normalise_user(const char *in, char *out, size_t n)
{
	while (*in == ' ' || *in == '\t')
		in++;
	size_t len = strlen(in);
	while (len && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	if (len >= n)
		len = n - 1;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[len] = '\0';
}

/* The audit actor of a login attempt: the username when such an admin
 * exists; otherwise a keyed digest, since a typed "username" that names
 * nobody may be a password typed into the wrong field. */
static void audit_actor(bl_ctx *ctx, const char *user, char *out, size_t n)
{
	MYSQL *db = bl__ctx_db(ctx);
	int64_t id = 0;
	bool found = false;
	bl__param p[] = { BP_STR(user) };
	if (db && strlen(user) <= 64)
		bl__db_i64(db, "SELECT id FROM admin_users WHERE username = ?", p, 1, &id, &found);
	if (found) {
		snprintf(out, n, "%s", user);
		return;
	}
	unsigned char h[6], key[32];
	crypto_generichash(key, sizeof key, (const unsigned char *)bl_config_get(bl_ctx_config(ctx), "BILLING_DATA_KEY"),
			   strlen(bl_config_get(bl_ctx_config(ctx), "BILLING_DATA_KEY")), NULL, 0);
	crypto_generichash(h, sizeof h, (const unsigned char *)user, strlen(user), key, sizeof key);
	char hex[13];
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	snprintf(out, n, "unknown:%s", hex);
	sodium_memzero(key, sizeof key);
}

static void audit_login(bl_ctx *ctx, const char *user, const char *action, const char *client)
{
	/* the audit entry is best effort: a login is not refused because of it */
	int saved = bl_error_last_code();
	char msg[512];
	snprintf(msg, sizeof msg, "%s", bl_error_last());
	char actor[80];
	audit_actor(ctx, user, actor, sizeof actor);
	json_t *d = json_pack("{s:s}", "client", client);
	char *s = d ? json_dumps(d, JSON_COMPACT) : NULL;
	bl_audit_record(ctx, actor, action, "session", s);
	if (saved)
		bl__fail(saved, "%s", msg);
	else
		bl_error_clear();
	free(s);
	json_decref(d);
}

static int refuse(bl_ctx *ctx, const char *user, const char *client, int64_t wait_ms, int *retry_after_s)
{
	int64_t wait = (wait_ms + 999) / 1000;
	if (retry_after_s)
		*retry_after_s = (int)wait;
	bl__fail(BL_EAUTH, "too many failed logins: try again in %lld s", (long long)wait);
	audit_login(ctx, user, "login.refused", client);
	return BL_EAUTH;
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
	char user[65];
	normalise_user(o->username, user, sizeof user);
	int64_t max = bl__config_int(cfg, "BILLING_LOGIN_MAX_FAILS");
	int64_t window = bl__config_int(cfg, "BILLING_LOGIN_WINDOW_S");
	char k_user[256], k_client[256], g_user[256], g_client[256];
	limit_key(cfg, "fail", user, client, k_user, sizeof k_user);
	limit_key(cfg, "fail", "", client, k_client, sizeof k_client);
	limit_key(cfg, "gate", user, client, g_user, sizeof g_user);
	limit_key(cfg, "gate", "", client, g_client, sizeof g_client);
	redisContext *r = bl__ctx_redis(ctx);
	if (!r)
		return bl__fail_wrap(bl_error_last_code(), "login rate limiter");
	long long n_user = 0, n_client = 0;
	int64_t wait = 0;
	int rc = count_attempt(r, k_user, window, &n_user);
	if (rc == BL_OK)
		rc = count_attempt(r, k_client, window, &n_client);
	if (rc == BL_OK && n_user > max)
		rc = take_gate(r, g_user, n_user - max, window, &wait);
	if (rc == BL_OK && !wait && n_client > 4 * max)
		rc = take_gate(r, g_client, n_client - 4 * max, window, &wait);
	if (rc)
		return bl__fail_wrap(rc, "login rate limiter");
	if (wait) { /* refused unchecked: not a guess, not counted */
		uncount(r, k_user);
		uncount(r, k_client);
		return refuse(ctx, user, client, wait, retry_after_s);
	}
	int64_t admin_id = 0;
	rc = bl_admin_verify(ctx, user, o->password, &admin_id, NULL);
	if (rc == BL_EAUTH) {
		/* the next attempt waits: from the last free failure on */
		if (n_user >= max)
			close_gate(r, g_user, n_user - max + 1, window);
		if (n_client >= 4 * max)
			close_gate(r, g_client, n_client - 4 * max + 1, window);
		audit_login(ctx, user, "login.failed", client);
		return BL_EAUTH;
	}
	if (rc)
		return rc;
	long long ignored;
	const char *del[] = { "DEL", k_user, g_user };
	redis_int(r, 3, del, &ignored);
	uncount(r, k_client); /* a success is no failure of the client */
	int64_t purged = 0;
	bl_session_purge(ctx, &purged); /* housekeeping; its failure does not block a login */
	bl_error_clear();
	rc = bl_session_create(ctx, admin_id, client, sid_out, out);
	if (rc == BL_OK)
		audit_login(ctx, out->username, "login", client);
	return rc;
}
