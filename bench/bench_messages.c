/*
 * bench/messages: outbox → stream → worker → ledger throughput against the
 * raw Redis and MariaDB ceiling for the same operations.  Not a test.
 *
 *   bench-messages USERS WORKERS
 *
 * Setup (not timed): seed USERS subscribers, issue their month, enqueue one
 * billing message per statement, mock providers at zero latency and zero
 * failures.  Timed: WORKERS billing worker processes (relay included) until
 * every message is SUCCESS.  Ceiling (timed, same run): pipelined XADD of as
 * many entries, XREADGROUP COUNT 1000 + one XACK per batch, and the same
 * MariaDB row writes (status update, attempt row, ledger row per message)
 * in bulk with no logic in between.
 */
#include <hiredis/hiredis.h>
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

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench/messages: %s: %s\n", what, msg);
	exit(1);
}

static MYSQL *connect_db(const bl_config *c)
{
	MYSQL *db = mysql_init(NULL);
	mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (!mysql_real_connect(db, bl_config_get(c, "MYSQL_HOST"), bl_config_get(c, "MYSQL_USER"),
				bl_config_get(c, "MYSQL_PASSWORD"), bl_config_get(c, "MYSQL_DATABASE"),
				(unsigned)atoi(bl_config_get(c, "MYSQL_PORT")), NULL, 0))
		die("connect", mysql_error(db));
	return db;
}

static void q(MYSQL *db, const char *sql)
{
	if (mysql_query(db, sql))
		die(sql, mysql_error(db));
	MYSQL_RES *r = mysql_store_result(db);
	if (r)
		mysql_free_result(r);
}

static long long scalar(MYSQL *db, const char *sql)
{
	if (mysql_query(db, sql))
		die(sql, mysql_error(db));
	MYSQL_RES *r = mysql_store_result(db);
	MYSQL_ROW row = mysql_fetch_row(r);
	long long v = row && row[0] ? atoll(row[0]) : 0;
	mysql_free_result(r);
	return v;
}

/* CPU seconds (user + system) a process has used so far; -1 if unknown. */
static double proc_cpu(const char *pid_env)
{
	const char *pid = getenv(pid_env);
	if (!pid || !*pid)
		return -1;
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%s/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the name may hold spaces */
	unsigned long ut = 0, st = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- the ceiling ---- */

static double redis_ceiling(const bl_config *cfg, long long n)
{
	redisContext *r = redisConnectWithTimeout(bl_config_get(cfg, "REDIS_HOST"),
						  atoi(bl_config_get(cfg, "REDIS_PORT")),
						  (struct timeval){ 5, 0 });
	if (!r || r->err)
		die("redis", r ? r->errstr : "oom");
	const char *key = "bench:ceiling";
	redisReply *rep;
	const char *del[] = { "DEL", key };
	freeReplyObject(redisCommandArgv(r, 2, del, NULL));
	const char *grp[] = { "XGROUP", "CREATE", key, "g", "0", "MKSTREAM" };
	freeReplyObject(redisCommandArgv(r, 6, grp, NULL));
	double t0 = now();
	for (long long i = 0; i < n; i += 1000) {
		long long m = n - i < 1000 ? n - i : 1000;
		for (long long k = 0; k < m; k++) {
			char id[24];
			snprintf(id, sizeof id, "%lld", i + k + 1);
			const char *argv[] = { "XADD", key, "*", "id", id };
			redisAppendCommandArgv(r, 5, argv, NULL);
		}
		for (long long k = 0; k < m; k++) {
			redisGetReply(r, (void **)&rep);
			freeReplyObject(rep);
		}
	}
	long long got = 0;
	while (got < n) {
		const char *argv[] = { "XREADGROUP", "GROUP", "g", "c", "COUNT", "1000", "STREAMS", key, ">" };
		rep = redisCommandArgv(r, 9, argv, NULL);
		if (!rep || rep->type != REDIS_REPLY_ARRAY)
			die("XREADGROUP", r->errstr);
		redisReply *es = rep->element[0]->element[1];
		const char **ack = malloc((es->elements + 3) * sizeof *ack);
		ack[0] = "XACK";
		ack[1] = key;
		ack[2] = "g";
		for (size_t k = 0; k < es->elements; k++)
			ack[3 + k] = es->element[k]->element[0]->str;
		freeReplyObject(redisCommandArgv(r, (int)es->elements + 3, ack, NULL));
		got += (long long)es->elements;
		free(ack);
		freeReplyObject(rep);
	}
	double el = now() - t0;
	freeReplyObject(redisCommandArgv(r, 2, del, NULL));
	redisFree(r);
	return el;
}

static double db_ceiling(MYSQL *db, long long n)
{
	/* the same writes per message as the worker: status update, attempt, ledger */
	q(db, "CREATE TABLE ceil_attempts LIKE message_attempts");
	q(db, "CREATE TABLE ceil_ledger LIKE message_ledger");
	/* same indexes as messages: the ceiling pays the same index writes */
	q(db, "CREATE TABLE ceil_messages LIKE messages");
	q(db, "INSERT INTO ceil_messages SELECT * FROM messages");
	q(db, "UPDATE ceil_messages SET status = 'WAITING', kind = NULL, bytes = NULL, processed_at = NULL, "
	      "published_at = NULL");
	char *sql = malloc(64 * 1024 * 2 + 1024);
	double t0 = now();
	for (long long i = 0; i < n; i += 1000) {
		long long m = n - i < 1000 ? n - i : 1000;
		/* the relay's mark, then the worker's two status writes: the claim and the outcome */
		sprintf(sql, "UPDATE ceil_messages SET published_at = NOW(3) WHERE id BETWEEN %lld AND %lld", i + 1,
			i + m);
		q(db, sql);
		int o = sprintf(sql, "UPDATE ceil_messages SET status = 'PROCESSING', claim_token = 'c', "
				     "next_attempt_at = NOW(3) + INTERVAL 30 SECOND, attempts = attempts + 1 "
				     "WHERE id BETWEEN %lld AND %lld", i + 1, i + m);
		q(db, sql);
		o = sprintf(sql, "UPDATE ceil_messages SET status = 'SUCCESS', processed_at = NOW(3), "
				 "claim_token = NULL, kind = 'EMAIL', bytes = 1000 WHERE id BETWEEN %lld AND %lld",
			    i + 1, i + m);
		(void)o;
		q(db, "START TRANSACTION");
		q(db, sql);
		o = sprintf(sql, "INSERT INTO ceil_attempts (message_id, attempt_no, channel, status, worker, "
				 "started_at, finished_at) VALUES ");
		for (long long k = 0; k < m; k++)
			o += sprintf(sql + o, "%s(%lld,1,'EMAIL','SUCCESS','w',NOW(3),NOW(3))", k ? "," : "", i + k + 1);
		q(db, sql);
		o = sprintf(sql, "INSERT INTO ceil_ledger (message_id, channel, kind, destination_masked, bytes, "
				 "attempt_no, worker) VALUES ");
		for (long long k = 0; k < m; k++)
			o += sprintf(sql + o, "%s(%lld,'EMAIL','EMAIL','k***@example.com',1000,1,'w')", k ? "," : "", i + k + 1);
		q(db, sql);
		q(db, "COMMIT");
	}
	double el = now() - t0;
	free(sql);
	q(db, "DROP TABLE ceil_attempts, ceil_ledger, ceil_messages");
	return el;
}

int main(int argc, char **argv)
{
	long long users = argc > 1 ? atoll(argv[1]) : 1000000;
	int workers = argc > 2 ? atoi(argv[2]) : 2;
	const char *month = "2026-10";
	bl_config *cfg;
	if (bl_config_load(&cfg, NULL, false))
		die("config", bl_error_last());
	/* the bench measures the pipeline, not the mock providers */
	bl_config_set(cfg, "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE", "0");
	bl_config_set(cfg, "BILLING_MAILDIR", "");
	bl_config_set(cfg, "BILLING_WORKER_BATCH", "500");
	char prefix[64];
	snprintf(prefix, sizeof prefix, "blbench:%d:", (int)getpid());
	bl_config_set(cfg, "REDIS_PREFIX", prefix);
	bl_ctx *ctx;
	if (bl_ctx_new(&ctx, cfg) || bl_ctx_drop_database(ctx) || bl_ctx_create_database(ctx) ||
	    bl_migrate(ctx, NULL))
		die("database", bl_error_last());
	bl_seed_opts so;
	bl_seed_opts_init(&so, BL_SEED_OPTS_VERSION);
	so.users = users;
	so.month = month;
	so.invalid_permille = 0;
	double t0 = now();
	int64_t run;
	bl_enqueue_stats st;
	if (bl_seed_run(ctx, &so, NULL) || bl_batch_run(ctx, month, NULL, &run) ||
	    bl_message_enqueue_statements(ctx, month, 0, &st))
		die("setup", bl_error_last());
	printf("setup (seed, batch, enqueue): %lld messages in %.1f s\n", (long long)st.created, now() - t0);
	fflush(stdout);
	if (getenv("BENCH_SETUP_ONLY"))
		return 0; /* leave the outbox full, for profiling */
	MYSQL *db = connect_db(cfg);
	double db_cpu0 = proc_cpu("BENCH_DB_PID"), redis_cpu0 = proc_cpu("BENCH_REDIS_PID"), worker_cpu = 0;
	t0 = now();
	pid_t pids[16];
	for (int w = 0; w < workers && w < 16; w++) {
		pids[w] = fork();
		if (pids[w] == 0) {
			bl_ctx *c;
			if (bl_ctx_new(&c, cfg))
				_exit(2);
			bl_worker_opts o;
			bl_worker_opts_init(&o, BL_WORKER_OPTS_VERSION);
			o.threads = 4;
			o.idle_exit_ms = 1000;
			int rc = bl_worker_run(c, &o);
			if (rc)
				fprintf(stderr, "bench/messages: worker: %s\n", bl_error_last());
			_exit(rc ? 1 : 0);
		}
	}
	long rss = 0;
	double done_at = 0, db_cpu1 = -1, redis_cpu1 = -1;
	for (;;) {
		long long open = done_at ? 0 : scalar(db, "SELECT EXISTS (SELECT 1 FROM messages WHERE "
							  "status IN ('WAITING','PROCESSING','FAILED'))");
		if (open == 0 && !done_at) {
			done_at = now();
			db_cpu1 = proc_cpu("BENCH_DB_PID");
			redis_cpu1 = proc_cpu("BENCH_REDIS_PID");
		}
		int status;
		struct rusage ru;
		pid_t p = wait4(-1, &status, WNOHANG, &ru);
		if (p > 0) {
			if (ru.ru_maxrss / 1024 > rss)
				rss = ru.ru_maxrss / 1024;
			worker_cpu += (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
				      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
			if (--workers == 0)
				break;
		}
		usleep(10000);
	}
	double pipe_s = done_at - t0;
	long long ok = scalar(db, "SELECT COUNT(*) FROM messages WHERE status = 'SUCCESS'");
	long long ledger = scalar(db, "SELECT COUNT(*) FROM message_ledger");
	printf("pipeline: %lld messages SUCCESS (%lld in the ledger) in %.2f s: %.0f msgs/s, worker peak RSS %ld MiB\n",
	       ok, ledger, pipe_s, (double)ok / pipe_s, rss);
	/* where the time goes: CPU per message of each process (2 cores here) */
	if (ok > 0 && db_cpu0 >= 0 && db_cpu1 >= 0 && redis_cpu0 >= 0 && redis_cpu1 >= 0) {
		double dbu = (db_cpu1 - db_cpu0) / (double)ok * 1e6, rdu = (redis_cpu1 - redis_cpu0) / (double)ok * 1e6,
		       wku = worker_cpu / (double)ok * 1e6;
		printf("CPU per message: MariaDB %.1f us, Redis %.1f us, workers %.1f us; total %.1f us "
		       "(%ld cores: at most %.0f msgs/s with this work per message)\n",
		       dbu, rdu, wku, dbu + rdu + wku, sysconf(_SC_NPROCESSORS_ONLN),
		       (double)sysconf(_SC_NPROCESSORS_ONLN) * 1e6 / (dbu + rdu + wku));
	}
	fflush(stdout);
	double rs = redis_ceiling(cfg, ok);
	printf("ceiling, Redis (pipelined XADD, XREADGROUP COUNT 1000 + XACK): %.2f s, %.0f msgs/s\n", rs, (double)ok / rs);
	double ds = db_ceiling(db, ok);
	printf("ceiling, MariaDB (published mark, claim and outcome updates + attempt + ledger rows, "
	       "1000 per transaction): %.2f s, %.0f msgs/s\n",
	       ds, (double)ok / ds);
	double ceil_s = rs + ds;
	printf("ceiling, both: %.2f s, %.0f msgs/s\n", ceil_s, (double)ok / ceil_s);
	mysql_close(db);
	bl_ctx_free(ctx);
	bl_config_free(cfg);
	printf("bench/messages: %.0f msgs/s, ratio %.2f of ceiling, worker RSS %ld MiB\n", (double)ok / pipe_s,
	       ceil_s / pipe_s, rss);
	return ok == (long long)st.created ? 0 : 1;
}
