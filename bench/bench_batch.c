/*
 * bench/batch: issuance throughput against this MariaDB's raw bulk-load
 * ceiling for the same rows.  Not a test: it prints figures.
 *
 *   bench-batch USERS MONTH
 *
 * 1. seeds USERS subscribers with ~3 charges each (database MYSQL_DATABASE,
 *    recreated), 2. times `batch run` with partitions 1 and 2, each in a
 *    child process so its peak RSS is its own, 3. writes the issued
 *    statements and lines as CSV and times LOAD DATA LOCAL INFILE of them
 *    into empty copies of the tables: the ceiling for the same write volume.
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <billing/billing.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench/batch: %s: %s\n", what, bl_error_last());
	exit(1);
}

static MYSQL *connect_db(const bl_config *c)
{
	MYSQL *db = mysql_init(NULL);
	my_bool on = 1;
	mysql_options(db, MYSQL_OPT_LOCAL_INFILE, &on);
	mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (!mysql_real_connect(db, bl_config_get(c, "MYSQL_HOST"), bl_config_get(c, "MYSQL_USER"),
				bl_config_get(c, "MYSQL_PASSWORD"), bl_config_get(c, "MYSQL_DATABASE"),
				(unsigned)atoi(bl_config_get(c, "MYSQL_PORT")), NULL, 0)) {
		fprintf(stderr, "bench/batch: connect: %s\n", mysql_error(db));
		exit(1);
	}
	return db;
}

static void q(MYSQL *db, const char *sql)
{
	if (mysql_query(db, sql)) {
		fprintf(stderr, "bench/batch: %s: %s\n", sql, mysql_error(db));
		exit(1);
	}
	MYSQL_RES *r = mysql_store_result(db);
	if (r)
		mysql_free_result(r);
}

static long long scalar(MYSQL *db, const char *sql)
{
	if (mysql_query(db, sql)) {
		fprintf(stderr, "bench/batch: %s: %s\n", sql, mysql_error(db));
		exit(1);
	}
	MYSQL_RES *r = mysql_store_result(db);
	MYSQL_ROW row = mysql_fetch_row(r);
	long long v = row && row[0] ? atoll(row[0]) : 0;
	mysql_free_result(r);
	return v;
}

/* Run one batch in a child; returns seconds, *rss_mib its peak RSS. */
static double timed_run(const bl_config *cfg, const char *month, int partitions, long *rss_mib)
{
	double t0 = now();
	pid_t pid = fork();
	if (pid == 0) {
		bl_ctx *ctx;
		if (bl_ctx_new(&ctx, cfg))
			_exit(2);
		bl_batch_opts o;
		bl_batch_opts_init(&o, BL_BATCH_OPTS_VERSION);
		o.partitions = partitions;
		int64_t id;
		int rc = bl_batch_run(ctx, month, &o, &id);
		if (rc)
			fprintf(stderr, "bench/batch: run: %s\n", bl_error_last());
		bl_ctx_free(ctx);
		_exit(rc ? 1 : 0);
	}
	int status;
	struct rusage ru;
	wait4(pid, &status, 0, &ru);
	double el = now() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "bench/batch: batch run failed\n");
		exit(1);
	}
	*rss_mib = ru.ru_maxrss / 1024;
	return el;
}

static void dump_csv(MYSQL *db, const char *sql, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f || mysql_query(db, sql)) {
		fprintf(stderr, "bench/batch: dump %s: %s\n", path, mysql_error(db));
		exit(1);
	}
	MYSQL_RES *r = mysql_use_result(db);
	unsigned n = mysql_num_fields(r);
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(r))) {
		for (unsigned i = 0; i < n; i++)
			fprintf(f, "%s%s", i ? "," : "", row[i] ? row[i] : "\\N");
		fputc('\n', f);
	}
	mysql_free_result(r);
	fclose(f);
}

int main(int argc, char **argv)
{
	long long users = argc > 1 ? atoll(argv[1]) : 1000000;
	const char *month = argc > 2 ? argv[2] : "2026-10";
	bl_config *cfg;
	if (bl_config_load(&cfg, NULL, false))
		die("config");
	bl_ctx *ctx;
	if (bl_ctx_new(&ctx, cfg) || bl_ctx_drop_database(ctx) || bl_ctx_create_database(ctx) ||
	    bl_migrate(ctx, NULL))
		die("database");
	printf("bench/batch: %lld users, month %s, database %s\n", users, month,
	       bl_config_get(cfg, "MYSQL_DATABASE"));
	bl_seed_opts so;
	bl_seed_opts_init(&so, BL_SEED_OPTS_VERSION);
	so.users = users;
	so.month = month;
	bl_seed_stats st;
	double t0 = now();
	if (bl_seed_run(ctx, &so, &st))
		die("seed");
	printf("seed: %lld users, %lld charges in %.1f s\n", (long long)st.users_total,
	       (long long)st.charges, now() - t0);
	MYSQL *db = connect_db(cfg);
	long rss1, rss2;
	double s1 = timed_run(cfg, month, 1, &rss1);
	long long issued = scalar(db, "SELECT COUNT(*) FROM statements");
	long long lines = scalar(db, "SELECT COUNT(*) FROM statement_lines");
	long long processed = scalar(db, "SELECT processed_count FROM batch_runs ORDER BY id DESC LIMIT 1");
	printf("issuance, partitions 1: %.2f s, %.0f users/s, %lld statements + %lld lines, peak RSS %ld MiB\n",
	       s1, (double)processed / s1, issued, lines, rss1);
	/* CSV of exactly what was written, for the ceiling */
	char spath[] = "/tmp/bench-statements.csv", lpath[] = "/tmp/bench-lines.csv";
	dump_csv(db, "SELECT id, user_id, target_month, batch_run_id, version, usage_amount, discount_amount, "
		     "net_amount, taxable_amount, vat_amount, total_amount, billed_amount, truncated_amount, "
		     "due_date, line_count, issued_at FROM statements", spath);
	dump_csv(db, "SELECT * FROM statement_lines", lpath);
	q(db, "DELETE FROM statement_lines");
	q(db, "DELETE FROM statements");
	q(db, "DELETE FROM batch_failures");
	double s2 = timed_run(cfg, month, 2, &rss2);
	printf("issuance, partitions 2: %.2f s, %.0f users/s, peak RSS %ld MiB\n", s2,
	       (double)processed / s2, rss2);
	/* raw ceiling: LOAD DATA LOCAL INFILE of the same rows into empty copies */
	q(db, "DROP TABLE IF EXISTS ceil_statements, ceil_lines");
	q(db, "CREATE TABLE ceil_statements LIKE statements");
	q(db, "CREATE TABLE ceil_lines LIKE statement_lines");
	double c0 = now();
	q(db, "LOAD DATA LOCAL INFILE '/tmp/bench-statements.csv' INTO TABLE ceil_statements "
	       "FIELDS TERMINATED BY ','");
	q(db, "LOAD DATA LOCAL INFILE '/tmp/bench-lines.csv' INTO TABLE ceil_lines FIELDS TERMINATED BY ','");
	double ceil_s = now() - c0;
	long long crow = scalar(db, "SELECT (SELECT COUNT(*) FROM ceil_statements) + (SELECT COUNT(*) FROM ceil_lines)");
	printf("raw ceiling (LOAD DATA LOCAL INFILE, %lld rows): %.2f s, %.0f rows/s\n", crow, ceil_s,
	       (double)crow / ceil_s);
	double best = s1 < s2 ? s1 : s2;
	long rss = rss1 > rss2 ? rss1 : rss2;
	printf("issuance rows/s (best): %.0f\n", (double)(issued + lines) / best);
	q(db, "DROP TABLE ceil_statements, ceil_lines");
	unlink(spath);
	unlink(lpath);
	mysql_close(db);
	bl_ctx_free(ctx);
	bl_config_free(cfg);
	printf("bench/batch: %.0f users/s, ratio %.2f of ceiling, peak RSS %ld MiB\n",
	       (double)processed / best, ceil_s / best, rss);
	return 0;
}
