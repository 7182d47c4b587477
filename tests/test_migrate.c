/*
 * Integration tests of schema migrations (migrate.c) on the MariaDB started
 * by scripts/services.  Each test works in its own database.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "testutil.h"

#ifndef BL_SOURCE_DIR
#error "BL_SOURCE_DIR must name the source tree (see tests/meson.build)"
#endif
#define MIGRATIONS_DIR BL_SOURCE_DIR "/migrations"

#define EXPECT_MSG(needle) \
	cr_expect(strstr(bl_error_last(), (needle)), "message '%s' lacks '%s'", bl_error_last(), (needle))

static bl_ctx *ctx;
static char tmp[64];

/* A context on an empty (created, not migrated) database. */
static bl_ctx *ctx_empty(const char *name)
{
	bl_config *cfg = tu_config(name);
	bl_ctx *c = NULL;
	cr_assert_eq(bl_ctx_new(&c, cfg), BL_OK, "%s", bl_error_last());
	bl_config_free(cfg);
	cr_assert_eq(bl_ctx_drop_database(c), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_ctx_create_database(c), BL_OK, "%s", bl_error_last());
	return c;
}

static void teardown(void)
{
	tu_ctx_drop(ctx);
	ctx = NULL;
	if (tmp[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			cr_log_warn("could not remove %s", tmp);
		tmp[0] = '\0';
	}
}

TestSuite(migrate, .fini = teardown);

/* V*.sql files of a directory and the highest version among them. */
static int count_migrations(const char *dir, int *max_version)
{
	DIR *d = opendir(dir);
	cr_assert(d, "opendir %s", dir);
	int n = 0, max = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == 'V' && l > 4 && !strcmp(e->d_name + l - 4, ".sql")) {
			n++;
			int v = atoi(e->d_name + 1);
			if (v > max)
				max = v;
		}
	}
	closedir(d);
	if (max_version)
		*max_version = max;
	return n;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	cr_assert(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static void write_text(const char *dir, const char *name, const char *text, size_t len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	cr_assert(f, "create %s", path);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

/* A temporary copy of migrations/. */
static void copy_migrations(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/bl-migrate-test-XXXXXX");
	cr_assert(mkdtemp(tmp), "mkdtemp");
	DIR *d = opendir(MIGRATIONS_DIR);
	cr_assert(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] != 'V' || l < 5 || strcmp(e->d_name + l - 4, ".sql"))
			continue;
		char src[512];
		snprintf(src, sizeof src, "%s/%s", MIGRATIONS_DIR, e->d_name);
		size_t n;
		char *text = slurp(src, &n);
		write_text(tmp, e->d_name, text, n);
		free(text);
	}
	closedir(d);
}

Test(migrate, fresh_then_idempotent)
{
	int max = 0, count = count_migrations(MIGRATIONS_DIR, &max);
	cr_assert_geq(count, 1);
	ctx = ctx_empty("mig_fresh");

	int version = -1;
	cr_assert_eq(bl_migrate_version(ctx, &version), BL_OK, "%s", bl_error_last());
	cr_expect_eq(version, 0, "empty database has version %d", version);

	int applied = -1;
	cr_assert_eq(bl_migrate(ctx, &applied), BL_OK, "%s", bl_error_last());
	cr_expect_eq(applied, count, "applied %d of %d migrations", applied, count);
	cr_assert_eq(bl_migrate_version(ctx, &version), BL_OK);
	cr_expect_eq(version, max);

	applied = -1;
	cr_assert_eq(bl_migrate(ctx, &applied), BL_OK, "%s", bl_error_last());
	cr_expect_eq(applied, 0, "second run applied %d", applied);
	cr_assert_eq(bl_migrate(ctx, NULL), BL_OK, "%s", bl_error_last());

	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM schema_history"), count);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM schema_history "
				 "WHERE checksum REGEXP '^[0-9a-f]{64}$' AND execution_ms >= 0"),
		     count, "checksums are not 64 lower-case hex digits");
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM schema_history WHERE name = 'V1__init.sql' "
				 "AND version = 1"),
		     1);
	/* the schema is there */
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE "
				 "table_schema = DATABASE() AND table_name IN ('users', 'statements', "
				 "'charged_histories', 'batch_runs')"),
		     4);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM user_groups WHERE code = 'USER_ALL'"), 1);
}

Test(migrate, checksum_is_sha256_of_the_file)
{
	ctx = ctx_empty("mig_sum");
	cr_assert_eq(bl_migrate(ctx, NULL), BL_OK, "%s", bl_error_last());
	size_t n;
	char *text = slurp(MIGRATIONS_DIR "/V1__init.sql", &n);
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[65], sql[200];
	cr_assert_geq(sodium_init(), 0);
	crypto_hash_sha256(h, (unsigned char *)text, n);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	free(text);
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM schema_history WHERE version = 1 AND checksum = '%s'",
		 hex);
	cr_expect_eq(tu_i64(ctx, sql), 1, "V1 checksum is not %s", hex);
}

Test(migrate, from_directory_and_changed_file)
{
	int max = 0, count = count_migrations(MIGRATIONS_DIR, &max);
	copy_migrations();
	ctx = ctx_empty("mig_dir");
	int applied = -1;
	cr_assert_eq(bl_migrate_dir(ctx, tmp, &applied), BL_OK, "%s", bl_error_last());
	cr_expect_eq(applied, count);

	/* A new migration plus an edited, already applied V1: refused, nothing applied. */
	char next[64];
	snprintf(next, sizeof next, "V%d__add_notes.sql", max + 1);
	const char *add = "CREATE TABLE test_notes (id INT PRIMARY KEY, note VARCHAR(20));\n"
			  "INSERT INTO test_notes VALUES (1, 'hello');\n";
	write_text(tmp, next, add, strlen(add));
	char v1[256];
	snprintf(v1, sizeof v1, "%s/V1__init.sql", tmp);
	FILE *f = fopen(v1, "ab");
	cr_assert(f);
	fputs("-- an innocent-looking edit\n", f);
	fclose(f);

	applied = -1;
	cr_expect_eq(bl_migrate_dir(ctx, tmp, &applied), BL_ECONFLICT);
	EXPECT_MSG("V1__init.sql");
	EXPECT_MSG("changed");
	cr_expect_eq(applied, 0);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM schema_history"), count);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE "
				 "table_schema = DATABASE() AND table_name = 'test_notes'"),
		     0, "a migration ran although an applied one had changed");

	/* Undo the edit: the new migration alone is applied. */
	size_t n;
	char *orig = slurp(MIGRATIONS_DIR "/V1__init.sql", &n);
	write_text(tmp, "V1__init.sql", orig, n);
	free(orig);
	applied = -1;
	cr_assert_eq(bl_migrate_dir(ctx, tmp, &applied), BL_OK, "%s", bl_error_last());
	cr_expect_eq(applied, 1);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM test_notes"), 1);
	int version = 0;
	cr_assert_eq(bl_migrate_version(ctx, &version), BL_OK);
	cr_expect_eq(version, max + 1);
	applied = -1;
	cr_assert_eq(bl_migrate_dir(ctx, tmp, &applied), BL_OK, "%s", bl_error_last());
	cr_expect_eq(applied, 0);

	/* The compiled-in set is a prefix of what is applied: still fine. */
	cr_expect_eq(bl_migrate(ctx, &applied), BL_OK, "%s", bl_error_last());
	cr_expect_eq(applied, 0);
}

Test(migrate, bad_file_names)
{
	static const char *bad[] = { "V__nothing.sql", "Vabc__letters.sql", "V2_single_underscore.sql",
				     "V-1__negative.sql" };
	ctx = ctx_empty("mig_names");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		copy_migrations();
		write_text(tmp, bad[i], "SELECT 1;\n", 10);
		int applied = -1;
		bl_error_clear();
		cr_expect_eq(bl_migrate_dir(ctx, tmp, &applied), BL_EINVAL, "%s accepted", bad[i]);
		EXPECT_MSG(bad[i]);
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
		cr_assert_eq(system(cmd), 0);
		tmp[0] = '\0';
	}
	/* nothing at all was applied */
	int version = -1;
	cr_assert_eq(bl_migrate_version(ctx, &version), BL_OK, "%s", bl_error_last());
	cr_expect_eq(version, 0);

	/* files that are not V*.sql are ignored */
	copy_migrations();
	write_text(tmp, "README.md", "notes\n", 6);
	write_text(tmp, "V1__init.sql.orig", "garbage\n", 8);
	cr_expect_eq(bl_migrate_dir(ctx, tmp, NULL), BL_OK, "%s", bl_error_last());
}

Test(migrate, duplicate_version_and_missing_dir)
{
	ctx = ctx_empty("mig_dup");
	copy_migrations();
	write_text(tmp, "V01__same_version.sql", "SELECT 1;\n", 10);
	cr_expect_eq(bl_migrate_dir(ctx, tmp, NULL), BL_EINVAL);
	EXPECT_MSG("share version 1");

	cr_expect_eq(bl_migrate_dir(ctx, "/nonexistent/migrations", NULL), BL_EIO);
	EXPECT_MSG("/nonexistent/migrations");

	char empty[] = "/tmp/bl-migrate-empty-XXXXXX";
	cr_assert(mkdtemp(empty));
	cr_expect_eq(bl_migrate_dir(ctx, empty, NULL), BL_ENOTFOUND);
	EXPECT_MSG(empty);
	rmdir(empty);
	cr_expect_eq(bl_migrate_dir(NULL, empty, NULL), BL_EINVAL);
	cr_expect_eq(bl_migrate_dir(ctx, NULL, NULL), BL_EINVAL);
}

Test(migrate, failing_migration_is_not_recorded)
{
	int max = 0, count = count_migrations(MIGRATIONS_DIR, &max);
	ctx = ctx_empty("mig_fail");
	copy_migrations();
	char name[64];
	snprintf(name, sizeof name, "V%d__broken.sql", max + 1);
	const char *sql = "CREATE TABLE broken (id INT PRIMARY KEY,\n";
	write_text(tmp, name, sql, strlen(sql));
	int applied = -1;
	cr_expect_eq(bl_migrate_dir(ctx, tmp, &applied), BL_EDB);
	EXPECT_MSG(name);
	cr_expect_eq(applied, count, "the good migrations before it were applied");
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM schema_history"), count);
	int version = 0;
	cr_assert_eq(bl_migrate_version(ctx, &version), BL_OK);
	cr_expect_eq(version, max);
	/* the lock was released: a later run works (and fails the same way) */
	cr_expect_eq(bl_migrate_dir(ctx, tmp, &applied), BL_EDB);
	cr_expect_eq(applied, 0);
}

Test(migrate, migrations_dir_setting)
{
	int max = 0;
	count_migrations(MIGRATIONS_DIR, &max);
	copy_migrations();
	char name[64];
	snprintf(name, sizeof name, "V%d__from_setting.sql", max + 1);
	const char *sql = "CREATE TABLE from_setting (id INT);\n";
	write_text(tmp, name, sql, strlen(sql));

	bl_config *cfg = tu_config("mig_setting");
	cr_assert_eq(bl_config_set(cfg, "BILLING_MIGRATIONS_DIR", tmp), BL_OK);
	cr_assert_eq(bl_ctx_new(&ctx, cfg), BL_OK);
	bl_config_free(cfg);
	cr_assert_eq(bl_ctx_drop_database(ctx), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_ctx_create_database(ctx), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_migrate(ctx, NULL), BL_OK, "%s", bl_error_last());
	int version = 0;
	cr_assert_eq(bl_migrate_version(ctx, &version), BL_OK);
	cr_expect_eq(version, max + 1);
}

struct racer {
	const bl_config *cfg;
	int rc, applied;
	char msg[256];
};

static void *race(void *p)
{
	struct racer *r = p;
	bl_ctx *c = NULL;
	r->rc = bl_ctx_new(&c, r->cfg);
	if (r->rc == BL_OK)
		r->rc = bl_migrate(c, &r->applied);
	snprintf(r->msg, sizeof r->msg, "%s", r->rc ? bl_error_last() : "");
	bl_ctx_free(c);
	return NULL;
}

Test(migrate, concurrent_runs_apply_once)
{
	int count = count_migrations(MIGRATIONS_DIR, NULL);
	ctx = ctx_empty("mig_race");
	cr_assert_eq(bl_ctx_ping_db(ctx), BL_OK, "%s", bl_error_last()); /* library initialised */
	enum { N = 4 };
	struct racer r[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		r[i] = (struct racer){ bl_ctx_config(ctx), -1, 0, "" };
		cr_assert_eq(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	int total = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(r[i].rc, BL_OK, "racer %d: %s", i, r[i].msg);
		total += r[i].applied;
	}
	cr_expect_eq(total, count, "%d migrations applied in total, want %d", total, count);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM schema_history"), count);
}

Test(migrate, null_arguments)
{
	int v;
	cr_expect_eq(bl_migrate(NULL, NULL), BL_EINVAL);
	cr_expect_eq(bl_migrate_version(NULL, &v), BL_EINVAL);
}
