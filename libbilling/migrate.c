/*
 * Versioned migrations recorded in schema_history with a SHA-256 checksum.
 * All recorded checksums are verified before anything is applied.
 */
#include <dirent.h>
#include <errno.h>
#include <time.h>
#include <sodium.h>
#include "db.h"
#include "migrate_private.h"

#define LOCK_SQL "SELECT GET_LOCK('bl_migrate', 60)"

typedef struct {
	bl__migration *v;
	size_t n;
	bool owned; /* names/sql allocated */
} mig_set;

static void set_free(mig_set *s)
{
	if (s->owned)
		for (size_t i = 0; i < s->n; i++) {
			free((char *)s->v[i].name);
			free((char *)s->v[i].sql);
		}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int cmp_mig(const void *a, const void *b)
{
	const bl__migration *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

static int parse_name(const char *name, int *version)
{
	int64_t v;
	const char *sep = strstr(name, "__");
	size_t n = strlen(name);
	if (name[0] != 'V' || !sep || n < 5 || strcmp(name + n - 4, ".sql"))
		return BL_EINVAL;
	char num[16];
	size_t dl = (size_t)(sep - name - 1);
	if (dl == 0 || dl >= sizeof num)
		return BL_EINVAL;
	memcpy(num, name + 1, dl);
	num[dl] = '\0';
	if (bl__parse_i64(num, 1, 1000000, &v))
		return BL_EINVAL;
	*version = (int)v;
	return BL_OK;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		bl__fail(BL_EIO, "%s: %s", path, strerror(errno));
		return NULL;
	}
	bl_strbuf sb = { 0 };
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		bl__sb_append(&sb, buf, n);
	bool err = ferror(f);
	fclose(f);
	if (err) {
		bl__sb_free(&sb);
		bl__fail(BL_EIO, "%s: read error", path);
		return NULL;
	}
	*len = sb.len;
	return bl__sb_steal(&sb);
}

static int load_dir(const char *dir, mig_set *s)
{
	DIR *d = opendir(dir);
	if (!d)
		return bl__fail(BL_EIO, "migrations directory %s: %s", dir, strerror(errno));
	s->owned = true;
	int rc = BL_OK;
	struct dirent *e;
	while (rc == BL_OK && (e = readdir(d))) {
		int v;
		if (e->d_name[0] != 'V' || strlen(e->d_name) < 5 ||
		    strcmp(e->d_name + strlen(e->d_name) - 4, ".sql"))
			continue;
		if (parse_name(e->d_name, &v)) {
			rc = bl__fail(BL_EINVAL, "migration %s/%s: name must be V<number>__<description>.sql",
				      dir, e->d_name);
			break;
		}
		bl__migration *nv = realloc(s->v, (s->n + 1) * sizeof *nv);
		if (!nv) {
			rc = bl__fail(BL_ENOMEM, "out of memory");
			break;
		}
		s->v = nv;
		_cleanup_free_ char *path = malloc(strlen(dir) + strlen(e->d_name) + 2);
		if (!path) {
			rc = bl__fail(BL_ENOMEM, "out of memory");
			break;
		}
		sprintf(path, "%s/%s", dir, e->d_name);
		size_t len = 0;
		char *sql = read_file(path, &len);
		if (!sql) {
			rc = bl_error_last_code();
			break;
		}
		s->v[s->n++] = (bl__migration){ v, bl__strdup(e->d_name), sql, len };
	}
	closedir(d);
	if (rc)
		return rc;
	if (s->n > 1) /* qsort(NULL, 0, ...) is undefined */
		qsort(s->v, s->n, sizeof *s->v, cmp_mig);
	for (size_t i = 1; i < s->n; i++)
		if (s->v[i].version == s->v[i - 1].version)
			return bl__fail(BL_EINVAL, "migrations %s and %s share version %d", s->v[i - 1].name,
					s->v[i].name, s->v[i].version);
	return BL_OK;
}

static void checksum_hex(const bl__migration *m, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)m->sql, m->len);
	sodium_bin2hex(out, 65, h, sizeof h);
}

typedef struct {
	int version;
	char checksum[65];
	char name[128];
} applied_row;

typedef struct {
	applied_row *v;
	size_t n;
} applied_set;

static int applied_cb(void *p, char **vals, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	applied_set *a = p;
	applied_row *nv = realloc(a->v, (a->n + 1) * sizeof *nv);
	if (!nv)
		return bl__fail(BL_ENOMEM, "out of memory");
	a->v = nv;
	applied_row *r = &a->v[a->n++];
	r->version = atoi(vals[0]);
	snprintf(r->checksum, sizeof r->checksum, "%s", vals[1] ? vals[1] : "");
	snprintf(r->name, sizeof r->name, "%s", vals[2] ? vals[2] : "");
	return BL_OK;
}

static const applied_row *find_applied(const applied_set *a, int version)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].version == version)
			return &a->v[i];
	return NULL;
}

static int run_multi(MYSQL *db, const bl__migration *m)
{
	int rc = BL_OK;
	mysql_set_server_option(db, MYSQL_OPTION_MULTI_STATEMENTS_ON);
	int status = mysql_real_query(db, m->sql, (unsigned long)m->len);
	for (;;) {
		if (status) {
			rc = bl__fail(BL_EDB, "migration %s failed: MariaDB error %u: %s (the migration may be "
					      "partly applied; fix the database by hand, then rerun)",
				      m->name, mysql_errno(db), mysql_error(db));
			break;
		}
		MYSQL_RES *r = mysql_store_result(db);
		if (r)
			mysql_free_result(r);
		status = mysql_next_result(db);
		if (status == -1) {
			status = 0;
			break;
		}
		if (status > 0)
			continue; /* error on a later statement: reported above */
	}
	mysql_set_server_option(db, MYSQL_OPTION_MULTI_STATEMENTS_OFF);
	return rc;
}

static int migrate_set(bl_ctx *ctx, const mig_set *s, int *applied)
{
	if (applied)
		*applied = 0;
	if (sodium_init() < 0)
		return bl__fail(BL_ECRYPTO, "libsodium could not be initialised");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	int64_t got = 0;
	int rc = bl__db_i64(db, LOCK_SQL, NULL, 0, &got, NULL);
	if (rc)
		return rc;
	if (got != 1)
		return bl__fail(BL_ECONFLICT, "another process is migrating this database (lock "
					      "'bl_migrate' busy for 60 s)");
	applied_set a = { 0 };
	rc = bl__db_query(db,
			  "CREATE TABLE IF NOT EXISTS schema_history ("
			  " version INT NOT NULL PRIMARY KEY,"
			  " name VARCHAR(255) NOT NULL,"
			  " checksum CHAR(64) NOT NULL,"
			  " applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,"
			  " execution_ms BIGINT NOT NULL"
			  ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
	if (rc == BL_OK)
		rc = bl__db_rows(db, "SELECT version, checksum, name FROM schema_history ORDER BY version",
				 NULL, 0, applied_cb, &a);
	/* Verify everything recorded before applying anything. */
	for (size_t i = 0; rc == BL_OK && i < s->n; i++) {
		const applied_row *r = find_applied(&a, s->v[i].version);
		char sum[65];
		checksum_hex(&s->v[i], sum);
		if (r && strcmp(r->checksum, sum))
			rc = bl__fail(BL_ECONFLICT,
				      "migration %s was changed after it was applied (recorded checksum "
				      "%.12s…, file %.12s…): never edit an applied migration, add a new one",
				      s->v[i].name, r->checksum, sum);
	}
	for (size_t i = 0; rc == BL_OK && i < s->n; i++) {
		const bl__migration *m = &s->v[i];
		if (find_applied(&a, m->version))
			continue;
		char sum[65];
		checksum_hex(m, sum);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = run_multi(db, m);
		if (rc)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		int64_t ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		bl__param p[] = { BP_I64(m->version), BP_STR(m->name), BP_STR(sum), BP_I64(ms) };
		rc = bl__db_exec(db,
				 "INSERT INTO schema_history (version, name, checksum, execution_ms) "
				 "VALUES (?,?,?,?)",
				 p, 4, NULL, NULL);
		if (rc == BL_OK && applied)
			(*applied)++;
	}
	free(a.v);
	int64_t ignore;
	if (rc == BL_OK)
		bl__db_i64(db, "SELECT RELEASE_LOCK('bl_migrate')", NULL, 0, &ignore, NULL);
	else {
		/* keep the failure's message */
		mysql_real_query(db, "DO RELEASE_LOCK('bl_migrate')", 29);
	}
	return rc;
}

int bl_migrate_dir(bl_ctx *ctx, const char *dir, int *applied)
{
	if (!ctx || !dir)
		return bl__fail(BL_EINVAL, "bl_migrate_dir: NULL argument");
	mig_set s = { 0 };
	int rc = load_dir(dir, &s);
	if (rc == BL_OK && s.n == 0)
		rc = bl__fail(BL_ENOTFOUND, "migrations directory %s holds no V*.sql file", dir);
	if (rc == BL_OK)
		rc = migrate_set(ctx, &s, applied);
	set_free(&s);
	return rc;
}

int bl_migrate(bl_ctx *ctx, int *applied)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_migrate: ctx is NULL");
	const char *dir = bl_config_get(bl_ctx_config(ctx), "BILLING_MIGRATIONS_DIR");
	if (dir && *dir)
		return bl_migrate_dir(ctx, dir, applied);
	mig_set s = { (bl__migration *)bl__embedded_migrations, bl__embedded_migrations_count, false };
	return migrate_set(ctx, &s, applied);
}

int bl_migrate_version(bl_ctx *ctx, int *version)
{
	if (!ctx || !version)
		return bl__fail(BL_EINVAL, "bl_migrate_version: NULL argument");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bool found = false;
	int64_t n = 0;
	int rc = bl__db_i64(db,
			    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
			    "AND table_name = 'schema_history'",
			    NULL, 0, &n, &found);
	if (rc)
		return rc;
	if (n == 0) {
		*version = 0;
		return BL_OK;
	}
	rc = bl__db_i64(db, "SELECT COALESCE(MAX(version), 0) FROM schema_history", NULL, 0, &n, NULL);
	if (rc == BL_OK)
		*version = (int)n;
	return rc;
}
