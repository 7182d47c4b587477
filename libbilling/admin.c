/*
 * Admin users (argon2id password hashes, libsodium crypto_pwhash_str).  The
 * audit log of their actions is audit.c.
 *
 * Verification does the same work for an unknown user, a disabled one and a
 * wrong password (one argon2id computation) and fails with one message, so
 * neither the answer nor its timing tells which usernames exist.  The
 * comparison inside crypto_pwhash_str_verify is constant-time.
 */
#include <sodium.h>
#include "audit_private.h"
#include "db.h"

#define PASSWORD_MIN_CHARS 10
#define PASSWORD_MAX_BYTES 1024
#define AUTH_FAILED "invalid username or password"

static const char *ROLES[] = { NULL, "ADMIN", "OPERATOR", "VIEWER" };

const char *bl_admin_role_name(bl_role role)
{
	return role >= BL_ROLE_ADMIN && role <= BL_ROLE_VIEWER ? ROLES[role] : NULL;
}

int bl_admin_role_parse(const char *s, bl_role *role)
{
	for (int r = BL_ROLE_ADMIN; s && r <= BL_ROLE_VIEWER; r++)
		if (!strcasecmp(s, ROLES[r])) {
			if (role)
				*role = (bl_role)r;
			return BL_OK;
		}
	return bl__fail(BL_EINVAL, "role '%s': expected ADMIN, OPERATOR or VIEWER", s ? s : "(null)");
}

static int check_username(const char *u)
{
	if (!u || !*u || strlen(u) > 64)
		return bl__fail(BL_EINVAL, "username: must be 1-64 characters");
	for (const char *p = u; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') &&
		    !strchr("._@-", *p))
			return bl__fail(BL_EINVAL, "username '%s': only letters, digits and . _ @ - are allowed",
					u);
	return BL_OK;
}

static int check_password(const char *pw)
{
	if (!pw)
		return bl__fail(BL_EINVAL, "password: required");
	size_t bytes = strlen(pw), chars = 0;
	for (const char *p = pw; *p; p++)
		chars += ((unsigned char)*p & 0xC0) != 0x80; /* UTF-8 code points */
	if (chars < PASSWORD_MIN_CHARS)
		return bl__fail(BL_EINVAL, "password: must have at least %d characters (has %zu)",
				PASSWORD_MIN_CHARS, chars);
	if (bytes > PASSWORD_MAX_BYTES)
		return bl__fail(BL_EINVAL, "password: at most %d bytes", PASSWORD_MAX_BYTES);
	return BL_OK;
}

/* argon2id's cost.  BILLING_PWHASH_FAST (minimum cost) is for test
 * databases only: refused unless BILLING_ENV=test. */
static int limits(bl_ctx *ctx, unsigned long long *ops, size_t *mem)
{
	const bl_config *cfg = bl_ctx_config(ctx);
	bool fast = bl__config_int(cfg, "BILLING_PWHASH_FAST") != 0;
	if (fast && strcmp(bl_config_get(cfg, "BILLING_ENV"), "test"))
		return bl__fail(BL_ECONFIG, "BILLING_PWHASH_FAST=1 is for tests only: it needs BILLING_ENV=test "
					    "(BILLING_ENV is '%s')", bl_config_get(cfg, "BILLING_ENV"));
	*ops = fast ? crypto_pwhash_OPSLIMIT_MIN : crypto_pwhash_OPSLIMIT_INTERACTIVE;
	*mem = fast ? crypto_pwhash_MEMLIMIT_MIN : crypto_pwhash_MEMLIMIT_INTERACTIVE;
	return BL_OK;
}

static int hash_password(bl_ctx *ctx, const char *pw, char out[crypto_pwhash_STRBYTES])
{
	if (sodium_init() < 0)
		return bl__fail(BL_ECRYPTO, "libsodium could not be initialised");
	unsigned long long ops;
	size_t mem;
	int rc = limits(ctx, &ops, &mem);
	if (rc)
		return rc;
	if (crypto_pwhash_str(out, pw, strlen(pw), ops, mem) != 0)
		return bl__fail(BL_ENOMEM, "argon2id: out of memory hashing a password (%zu bytes needed)",
				mem);
	return BL_OK;
}

int bl_admin_create(bl_ctx *ctx, const char *username, const char *password, bl_role role,
		    int64_t *id)
{
	int rc;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_admin_create: ctx is NULL");
	if ((rc = check_username(username)) || (rc = check_password(password)))
		return rc;
	if (!bl_admin_role_name(role))
		return bl__fail(BL_EINVAL, "role %d: expected ADMIN, OPERATOR or VIEWER", (int)role);
	char hash[crypto_pwhash_STRBYTES];
	if ((rc = hash_password(ctx, password, hash)))
		return rc;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__param p[] = { BP_STR(username), BP_STR(hash), BP_STR(ROLES[role]) };
	uint64_t newid = 0;
	if ((rc = bl__db_begin(db)) == BL_OK)
		rc = bl__db_exec(db, "INSERT INTO admin_users (username, password_hash, role) VALUES (?,?,?)",
				 p, 3, NULL, &newid);
	sodium_memzero(hash, sizeof hash);
	rc = bl__audit_commit(ctx, db, rc, "admin.create", json_pack("{s:s}", "role", bl_admin_role_name(role)),
			      "admin:%s", username);
	if (rc == BL_ECONFLICT && strstr(bl_error_last(), "Duplicate entry"))
		return bl__fail(BL_ECONFLICT, "admin user '%s' already exists", username);
	if (rc == BL_OK && id)
		*id = (int64_t)newid;
	return rc;
}

int bl_admin_passwd(bl_ctx *ctx, const char *username, const char *password)
{
	int rc;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_admin_passwd: ctx is NULL");
	if ((rc = check_username(username)) || (rc = check_password(password)))
		return rc;
	char hash[crypto_pwhash_STRBYTES];
	if ((rc = hash_password(ctx, password, hash)))
		return rc;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__param p[] = { BP_STR(hash), BP_STR(username) };
	uint64_t changed = 0;
	/* the hash is always new (fresh salt), so a found row is always changed */
	if ((rc = bl__db_begin(db)) == BL_OK)
		rc = bl__db_exec(db, "UPDATE admin_users SET password_hash = ? WHERE username = ?", p, 2,
				 &changed, NULL);
	sodium_memzero(hash, sizeof hash);
	if (rc == BL_OK && !changed)
		rc = bl__fail(BL_ENOTFOUND, "admin user '%s' does not exist", username);
	/* a new password ends every session opened with the old one */
	bl__param s[] = { BP_STR(username) };
	if (rc == BL_OK)
		rc = bl__db_exec(db,
				 "DELETE s FROM admin_sessions s JOIN admin_users a ON a.id = s.admin_id "
				 "WHERE a.username = ?",
				 s, 1, NULL, NULL);
	return bl__audit_commit(ctx, db, rc, "admin.passwd", NULL, "admin:%s", username);
}

struct admin_row {
	bool found, disabled;
	int64_t id;
	bl_role role;
	char hash[crypto_pwhash_STRBYTES];
};

static int admin_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	struct admin_row *a = p;
	a->found = true;
	a->id = atoll(v[0]);
	snprintf(a->hash, sizeof a->hash, "%s", v[1]);
	a->role = BL_ROLE_VIEWER;
	bl_admin_role_parse(v[2], &a->role);
	a->disabled = atoi(v[3]) != 0;
	return BL_OK;
}

/* Is the stored hash's cost (its m= and t= parameters) below ops/mem? */
static bool weaker(const char *hash, unsigned long long ops, size_t mem)
{
	if (crypto_pwhash_str_needs_rehash(hash, ops, mem) == 0)
		return false;
	const char *m = strstr(hash, "$m="), *t = strstr(hash, ",t=");
	if (!m || !t)
		return true; /* not argon2id as we write it: rehash */
	unsigned long long hm = strtoull(m + 3, NULL, 10), ht = strtoull(t + 3, NULL, 10);
	return hm * 1024ull < mem || ht < ops;
}

int bl_admin_verify(bl_ctx *ctx, const char *username, const char *password, int64_t *id,
		    bl_role *role)
{
	if (!ctx || !username || !password)
		return bl__fail(BL_EINVAL, "bl_admin_verify: NULL argument");
	if (sodium_init() < 0)
		return bl__fail(BL_ECRYPTO, "libsodium could not be initialised");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	struct admin_row a = { 0 };
	bl__param p[] = { BP_STR(username) };
	int rc = strlen(username) > 64 ? BL_OK
				       : bl__db_rows(db,
						     "SELECT id, password_hash, role, disabled FROM admin_users "
						     "WHERE username = ?",
						     p, 1, admin_cb, &a);
	if (rc)
		return rc;
	size_t pwlen = strlen(password);
	bool ok = false;
	if (a.found && pwlen <= PASSWORD_MAX_BYTES) {
		ok = crypto_pwhash_str_verify(a.hash, password, pwlen) == 0;
	} else {
		/* the same argon2id work as a real check, then fail */
		char dummy[crypto_pwhash_STRBYTES];
		hash_password(ctx, pwlen <= PASSWORD_MAX_BYTES ? password : "", dummy);
	}
	if (!ok || a.disabled) {
		sodium_memzero(a.hash, sizeof a.hash);
		return bl__fail(BL_EAUTH, AUTH_FAILED);
	}
	/* a hash made with weaker limits is upgraded to the current ones;
	 * never downgraded (a test setting must not weaken a real password) */
	unsigned long long ops = 0;
	size_t mem = 0;
	char fresh[crypto_pwhash_STRBYTES];
	bool rehash = limits(ctx, &ops, &mem) == BL_OK && weaker(a.hash, ops, mem) &&
		      hash_password(ctx, password, fresh) == BL_OK;
	bl__param u[] = { BP_I64(rehash), BP_STR(rehash ? fresh : ""), BP_I64(a.id) };
	rc = bl__db_exec(db,
			 "UPDATE admin_users SET last_login_at = NOW(), "
			 "password_hash = IF(?, ?, password_hash) WHERE id = ?",
			 u, 3, NULL, NULL);
	sodium_memzero(fresh, sizeof fresh);
	sodium_memzero(a.hash, sizeof a.hash);
	if (rc)
		return rc;
	if (id)
		*id = a.id;
	if (role)
		*role = a.role;
	return BL_OK;
}

int bl_admin_list(bl_ctx *ctx, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_admin_list: NULL argument");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	json_t *rows = NULL;
	int rc = bl__db_json(db,
			     "SELECT id, username, role, disabled, "
			     "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') AS created_at, "
			     "DATE_FORMAT(last_login_at, '%Y-%m-%d %H:%i:%s') AS last_login_at "
			     "FROM admin_users ORDER BY username",
			     NULL, 0, &rows);
	if (rc == BL_OK) {
		size_t i;
		json_t *r;
		json_array_foreach(rows, i, r) /* a boolean, not 0/1 */
			json_object_set_new(r, "disabled",
					    json_boolean(json_integer_value(json_object_get(r, "disabled"))));
		rc = bl__json_out(rows, json);
	}
	json_decref(rows);
	return rc;
}
