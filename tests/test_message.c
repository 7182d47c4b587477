/*
 * The message pipeline against real MariaDB + Redis: enqueue, relay,
 * worker, retries, fallback, dead letters, Redis outage, worker crash.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "testutil.h"

#define MONTH "2026-10"

static char maildir[256];

/* A fresh database with `users` subscribers issued for MONTH. */
static bl_ctx *month_ctx(const char *name, int users, const char **settings)
{
	bl_config *cfg = tu_config(name);
	snprintf(maildir, sizeof maildir, "/tmp/bl-maildir-%s-%d", name, (int)getpid());
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", maildir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(bl_config_set(cfg, "BILLING_MAILDIR", maildir), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE", "0"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_RETRY_BASE_MS", "5"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_RETRY_CAP_MS", "50"), BL_OK);
	for (const char **s = settings; s && *s; s += 2)
		cr_assert_eq(bl_config_set(cfg, s[0], s[1]), BL_OK, "%s", bl_error_last());
	bl_ctx *ctx;
	cr_assert_eq(bl_ctx_new(&ctx, cfg), BL_OK);
	bl_config_free(cfg);
	cr_assert_eq(bl_ctx_drop_database(ctx), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_ctx_create_database(ctx), BL_OK);
	cr_assert_eq(bl_migrate(ctx, NULL), BL_OK, "%s", bl_error_last());
	bl_seed_opts so;
	bl_seed_opts_init(&so, BL_SEED_OPTS_VERSION);
	so.users = users;
	so.month = MONTH;
	so.seed = 7;
	cr_assert_eq(bl_seed_run(ctx, &so, NULL), BL_OK, "%s", bl_error_last());
	int64_t run;
	cr_assert_eq(bl_batch_run(ctx, MONTH, NULL, &run), BL_OK, "%s", bl_error_last());
	return ctx;
}

static void run_worker(bl_ctx *ctx, int threads, int64_t idle_ms)
{
	bl_worker_opts o;
	cr_assert_eq(bl_worker_opts_init(&o, BL_WORKER_OPTS_VERSION), BL_OK);
	o.threads = threads;
	o.idle_exit_ms = idle_ms;
	cr_assert_eq(bl_worker_run(ctx, &o), BL_OK, "%s", bl_error_last());
}

static long long count_files(const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/new", dir);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	long long n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void assert_exactly_once(bl_ctx *ctx)
{
	/* every accepted send is in the ledger once; SUCCESS == ledger rows */
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE status = 'SUCCESS'"),
		     tu_i64(ctx, "SELECT COUNT(*) FROM message_ledger"));
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages m LEFT JOIN message_ledger l ON "
				 "l.message_id = m.id WHERE m.status = 'SUCCESS' AND l.message_id IS NULL"), 0);
	cr_assert_eq(count_files(maildir),
		     tu_i64(ctx, "SELECT COUNT(*) FROM message_ledger WHERE channel = 'EMAIL'"),
		     "one Maildir file per accepted e-mail");
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE status IN ('WAITING','PROCESSING','FAILED')"), 0);
}

Test(message, enqueue_is_idempotent_and_follows_consent, .timeout = 120)
{
	bl_ctx *ctx = month_ctx("msg_enqueue", 2000, NULL);
	bl_enqueue_stats st;
	cr_assert_eq(bl_message_enqueue_statements(ctx, MONTH, 0, &st), BL_OK, "%s", bl_error_last());
	long long statements = tu_i64(ctx, "SELECT COUNT(*) FROM statements");
	cr_assert_eq(st.statements, statements);
	cr_assert_eq(st.created + st.no_consent, statements);
	cr_assert(st.created > 0);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages"), st.created);
	/* the preferred channel when consented, else the other consented one */
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages m JOIN users u ON u.id = m.user_id WHERE "
				 "(m.channel = 'EMAIL' AND u.consent_email = 0) OR (m.channel = 'SMS' AND u.consent_sms = 0)"), 0);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages m JOIN users u ON u.id = m.user_id WHERE "
				 "m.channel <> u.preferred_channel AND ((u.preferred_channel = 'EMAIL' AND u.consent_email = 1) "
				 "OR (u.preferred_channel = 'SMS' AND u.consent_sms = 1))"), 0);
	bl_enqueue_stats again;
	cr_assert_eq(bl_message_enqueue_statements(ctx, MONTH, 0, &again), BL_OK);
	cr_assert_eq(again.created, 0);
	cr_assert_eq(again.existing, st.created);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages"), st.created);
	cr_assert_eq(bl_message_enqueue_statements(ctx, "2026-1x", 0, &again), BL_EINVAL);
	tu_ctx_drop(ctx);
}

Test(message, month_delivered_once_each, .timeout = 300)
{
	bl_ctx *ctx = month_ctx("msg_all", 10000, NULL);
	bl_enqueue_stats st;
	cr_assert_eq(bl_message_enqueue_statements(ctx, MONTH, 0, &st), BL_OK, "%s", bl_error_last());
	cr_assert(st.created > 9000);
	run_worker(ctx, 4, 300);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE status = 'SUCCESS'"), st.created);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM message_attempts"), st.created);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE kind IS NULL OR bytes IS NULL"), 0);
	assert_exactly_once(ctx);
	/* the stream holds nothing pending */
	char *json = NULL;
	cr_assert_eq(bl_message_stats(ctx, &json), BL_OK);
	cr_assert(strstr(json, "SUCCESS"), "%s", json);
	bl_free(json);
	/* every e-mail parses as MIME with Python's email package */
	char cmd[600];
	snprintf(cmd, sizeof cmd, "python3 %s/tests/parse_maildir.py %s > /dev/null", BL_SOURCE_DIR, maildir);
	cr_assert_eq(system(cmd), 0, "parse_maildir.py rejected a message in %s", maildir);
	tu_ctx_drop(ctx);
}

Test(message, transient_failures_retry_until_success, .timeout = 300)
{
	const char *s[] = { "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE", "200", "BILLING_MOCK_SMS_TRANSIENT_PERMILLE", "200",
			    "BILLING_RETRY_EMAIL_ATTEMPTS", "10", "BILLING_RETRY_SMS_ATTEMPTS", "10", NULL };
	bl_ctx *ctx = month_ctx("msg_transient", 3000, s);
	bl_enqueue_stats st;
	cr_assert_eq(bl_message_enqueue_statements(ctx, MONTH, 0, &st), BL_OK, "%s", bl_error_last());
	run_worker(ctx, 2, 500);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE status = 'SUCCESS'"), st.created);
	long long failed = tu_i64(ctx, "SELECT COUNT(*) FROM message_attempts WHERE status = 'FAILED'");
	long long total = tu_i64(ctx, "SELECT COUNT(*) FROM message_attempts");
	/* ~20% of attempts fail: attempts = messages / 0.8 */
	cr_assert(failed > total / 10 && failed < total * 3 / 10, "failed %lld of %lld", failed, total);
	/* per message: attempts = failed attempts + 1, all but the last FAILED */
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages m WHERE m.attempts <> (SELECT COUNT(*) FROM "
				 "message_attempts a WHERE a.message_id = m.id)"), 0);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM message_attempts a JOIN messages m ON m.id = a.message_id "
				 "WHERE a.status = 'SUCCESS' AND a.attempt_no <> m.attempts"), 0);
	cr_assert_eq(tu_i64(ctx, "SELECT MAX(attempts) <= 10 FROM messages"), 1);
	assert_exactly_once(ctx);
	tu_ctx_drop(ctx);
}

Test(message, permanent_failures_go_dead_and_exhausted_email_falls_back_to_sms, .timeout = 300)
{
	const char *s[] = { "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE", "1000", "BILLING_RETRY_EMAIL_ATTEMPTS", "2",
			    "BILLING_MOCK_SMS_PERMANENT_PERMILLE", "100", NULL };
	bl_ctx *ctx = month_ctx("msg_dead", 2000, s);
	bl_enqueue_stats st;
	cr_assert_eq(bl_message_enqueue_statements(ctx, MONTH, 0, &st), BL_OK, "%s", bl_error_last());
	long long emails = tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE channel = 'EMAIL'");
	run_worker(ctx, 2, 500);
	/* every e-mail exhausted its 2 attempts → EXCEEDED */
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE channel = 'EMAIL' AND status = 'EXCEEDED' "
				 "AND attempts = 2"), emails);
	/* one SMS fallback for each of them whose subscriber consents to SMS */
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages f WHERE f.fallback_of IS NOT NULL"),
		     tu_i64(ctx, "SELECT COUNT(*) FROM messages m JOIN users u ON u.id = m.user_id WHERE "
				 "m.channel = 'EMAIL' AND u.consent_sms = 1"));
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages f JOIN messages e ON e.id = f.fallback_of "
				 "WHERE f.channel <> 'SMS' OR e.status <> 'EXCEEDED'"), 0);
	/* ~10% of SMS fail permanently: DEAD after one attempt, with the reason */
	long long dead = tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE status = 'DEAD'");
	cr_assert(dead > 0);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE status = 'DEAD' AND (attempts <> 1 OR "
				 "last_error NOT LIKE 'permanent failure:%')"), 0);
	/* a manual retry of one DEAD message: a new attempt, not a new message */
	long long id = tu_i64(ctx, "SELECT MIN(id) FROM messages WHERE status = 'DEAD'");
	long long before = tu_i64(ctx, "SELECT COUNT(*) FROM messages");
	cr_assert_eq(bl_message_retry(ctx, id), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_message_retry(ctx, id), BL_ECONFLICT, "a WAITING message is not retried again");
	bl_message_filter f;
	bl_message_filter_init(&f, BL_MESSAGE_FILTER_VERSION);
	f.status = "DEAD";
	int64_t n = 0;
	cr_assert_eq(bl_message_retry_filter(ctx, &f, &n), BL_OK, "%s", bl_error_last());
	cr_assert_eq(n, dead - 1);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages"), before);
	f.status = "SUCCESS";
	cr_assert_eq(bl_message_retry_filter(ctx, &f, &n), BL_EINVAL);
	char *json = NULL;
	cr_assert_eq(bl_message_get(ctx, id, &json), BL_OK);
	cr_assert(strstr(json, "attempt_log"), "%s", json);
	bl_free(json);
	cr_assert_eq(bl_message_get(ctx, 99999999, &json), BL_ENOTFOUND);
	tu_ctx_drop(ctx);
}

/* ---- a private Redis we can stop and start ---- */

static pid_t redis_start(int port, const char *dir)
{
	char p[16];
	snprintf(p, sizeof p, "%d", port);
	pid_t pid = fork();
	if (pid == 0) {
		/* never outlive the test, never hold the test runner's pipes */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		/* the same password as the servers of scripts/services (REDIS_PASSWORD) */
		const char *pw = getenv("REDIS_PASSWORD");
		const char *argv[] = { "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
				       "--appendonly", "yes", "--appendfsync", "always", "--dir", dir, "--loglevel",
				       "warning", pw && *pw ? "--requirepass" : NULL, pw, NULL };
		execvp("redis-server", (char *const *)argv);
		_exit(127);
	}
	char cmd[128];
	/* PONG, not LOADING: the AOF is read back before Redis answers */
	snprintf(cmd, sizeof cmd, "redis-cli -p %d ping 2>/dev/null | grep -q PONG", port);
	for (int i = 0; i < 100 && system(cmd) != 0; i++)
		usleep(50000);
	return pid;
}

static void redis_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

Test(message, redis_outage_during_publishing_loses_nothing, .timeout = 300)
{
	int port = 30000 + (int)(getpid() % 20000);
	char dir[128], ports[16], cmd[400];
	snprintf(dir, sizeof dir, "/tmp/bl-redis-%d", (int)getpid());
	snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(ports, sizeof ports, "%d", port);
	const char *s[] = { "REDIS_PORT", ports, NULL };
	pid_t rpid = redis_start(port, dir);
	bl_ctx *ctx = month_ctx("msg_redis", 3000, s);
	bl_enqueue_stats st;
	cr_assert_eq(bl_message_enqueue_statements(ctx, MONTH, 0, &st), BL_OK, "%s", bl_error_last());
	/* publish a part, then Redis dies */
	bl_config *one;
	bl_config_copy(&one, bl_ctx_config(ctx));
	bl_config_set(one, "BILLING_RELAY_BATCH", "500");
	bl_ctx *relay;
	bl_ctx_new(&relay, one);
	bl_config_free(one);
	int64_t n = 0;
	cr_assert_eq(bl_relay_publish(relay, &n), BL_OK, "%s", bl_error_last());
	cr_assert_eq(n, st.created);
	/* Redis dies (its AOF keeps what was written), more work arrives */
	redis_stop(rpid);
	tu_sql(ctx, "UPDATE messages SET published_at = NULL WHERE id % 3 = 0");
	long long unpublished = tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE id % 3 = 0");
	cr_assert(unpublished > 0);
	cr_assert_neq(bl_relay_publish(relay, &n), BL_OK, "publishing without Redis fails");
	cr_assert(strstr(bl_error_last(), "Redis"), "%s", bl_error_last());
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE published_at IS NULL"), unpublished,
		     "nothing was marked published while Redis was down");
	rpid = redis_start(port, dir);
	bl_ctx_free(relay);
	run_worker(ctx, 2, 500);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE status = 'SUCCESS'"), st.created);
	assert_exactly_once(ctx);
	redis_stop(rpid);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	system(cmd);
	tu_ctx_drop(ctx);
}

Test(message, killed_worker_is_recovered_by_another, .timeout = 300)
{
	/* a short lease so the test is quick, but long enough for a batch on a
	 * loaded machine; many deliveries allowed so load alone kills nothing */
	const char *s[] = { "BILLING_MOCK_EMAIL_LATENCY_MS", "3", "BILLING_MOCK_SMS_LATENCY_MS", "3",
			    "BILLING_PENDING_IDLE_MS", "2500", "BILLING_MAX_DELIVERIES", "50", NULL };
	bl_ctx *ctx = month_ctx("msg_kill", 3000, s);
	bl_enqueue_stats st;
	cr_assert_eq(bl_message_enqueue_statements(ctx, MONTH, 0, &st), BL_OK, "%s", bl_error_last());
	pid_t pid = fork();
	if (pid == 0) {
		bl_ctx *c;
		bl_ctx_new(&c, bl_ctx_config(ctx));
		bl_worker_opts o;
		bl_worker_opts_init(&o, BL_WORKER_OPTS_VERSION);
		o.threads = 2;
		o.consumer = "doomed";
		bl_worker_run(c, &o);
		_exit(0);
	}
	/* kill it mid-batch */
	for (int i = 0; i < 400 && tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE status = 'SUCCESS'") < 300; i++)
		usleep(10000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	long long done = tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE status = 'SUCCESS'");
	cr_assert(done > 0 && done < st.created, "killed mid-way (%lld of %lld)", done, (long long)st.created);
	run_worker(ctx, 2, 4000);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE status = 'SUCCESS'"), st.created);
	assert_exactly_once(ctx);
	tu_ctx_drop(ctx);
}

/* Page through bl_message_search (small pages, id cursor) and count. */
static long long search_count(bl_ctx *ctx, bl_message_filter f)
{
	long long n = 0;
	f.limit = 7;
	f.after_id = 0;
	for (;;) {
		char *js = NULL;
		cr_assert_eq(bl_message_search(ctx, &f, &js), BL_OK, "%s", bl_error_last());
		json_t *a = json_loads(js, 0, NULL);
		bl_free(js);
		cr_assert(json_is_array(a));
		size_t k = json_array_size(a);
		for (size_t i = 0; i < k; i++) {
			int64_t id = json_integer_value(json_object_get(json_array_get(a, i), "id"));
			cr_assert_gt(id, f.after_id, "ids ascend across pages");
			f.after_id = id;
		}
		json_decref(a);
		n += (long long)k;
		if (k < 7)
			break;
	}
	/* the same rows newest first, page by page below the cursor (the admin
	 * pages' order), and their count */
	long long back = 0;
	f.after_id = 0;
	f.newest_first = true;
	f.before_id = 0;
	for (;;) {
		char *js = NULL;
		cr_assert_eq(bl_message_search(ctx, &f, &js), BL_OK, "%s", bl_error_last());
		json_t *a = json_loads(js, 0, NULL);
		bl_free(js);
		size_t k = json_array_size(a);
		for (size_t i = 0; i < k; i++) {
			json_t *m = json_array_get(a, i);
			int64_t id = json_integer_value(json_object_get(m, "id"));
			cr_assert(f.before_id == 0 || id < f.before_id, "ids descend across pages");
			cr_assert(json_string_length(json_object_get(m, "user_name")) > 0, "the subscriber's name");
			f.before_id = id;
		}
		json_decref(a);
		back += (long long)k;
		if (k < 7)
			break;
	}
	cr_expect_eq(back, n, "newest first finds as many (%lld) as oldest first (%lld)", back, n);
	int64_t counted = -1;
	cr_assert_eq(bl_message_count(ctx, &f, &counted), BL_OK, "%s", bl_error_last());
	cr_expect_eq(counted, n, "bl_message_count %lld, search %lld", (long long)counted, n);
	return n;
}

Test(message, search_filters_match_sql, .timeout = 300)
{
	const char *s[] = { "BILLING_MOCK_SMS_PERMANENT_PERMILLE", "300", NULL };
	bl_ctx *ctx = month_ctx("msg_search", 600, s);
	bl_enqueue_stats st;
	cr_assert_eq(bl_message_enqueue_statements(ctx, MONTH, 0, &st), BL_OK, "%s", bl_error_last());
	run_worker(ctx, 2, 500);
	long long run = tu_i64(ctx, "SELECT MAX(id) FROM batch_runs");
	long long user = tu_i64(ctx, "SELECT MIN(user_id) FROM messages WHERE channel = 'SMS'");
	char rs[24], us[24];
	snprintf(rs, sizeof rs, "%lld", run);
	snprintf(us, sizeof us, "%lld", user);
	static const struct {
		const char *status, *channel, *tpl, *from, *to;
		bool by_run, by_user;
		const char *where;
	} cases[] = {
		{ NULL, NULL, NULL, NULL, NULL, false, false, "1" },
		{ "DEAD", NULL, NULL, NULL, NULL, false, false, "m.status = 'DEAD'" },
		{ "SUCCESS", "EMAIL", NULL, NULL, NULL, false, false, "m.status = 'SUCCESS' AND m.channel = 'EMAIL'" },
		{ NULL, NULL, "DEFAULT_BILLING_SMS", NULL, NULL, false, false, "t.code = 'DEFAULT_BILLING_SMS'" },
		{ "DEAD", NULL, "DEFAULT_BILLING_SMS", NULL, NULL, true, false,
		  "m.status = 'DEAD' AND t.code = 'DEFAULT_BILLING_SMS' AND s.batch_run_id = @run" },
		{ NULL, NULL, NULL, NULL, NULL, true, false, "s.batch_run_id = @run" },
		{ NULL, NULL, "DEFAULT_BILLING_SMS", NULL, NULL, false, true, "t.code = 'DEFAULT_BILLING_SMS' AND m.user_id = @user" },
		{ NULL, NULL, NULL, NULL, NULL, false, true, "m.user_id = @user" },
		{ NULL, "SMS", NULL, "2000-01-01", "2999-01-01", false, false, "m.channel = 'SMS'" },
		{ NULL, NULL, NULL, "2999-01-01", NULL, false, false, "0" },
		{ NULL, NULL, "NO_SUCH_TEMPLATE", NULL, NULL, false, false, "0" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bl_message_filter f;
		bl_message_filter_init(&f, BL_MESSAGE_FILTER_VERSION);
		f.status = cases[i].status;
		f.channel = cases[i].channel;
		f.template_code = cases[i].tpl;
		f.from = cases[i].from;
		f.to = cases[i].to;
		f.run_id = cases[i].by_run ? run : 0;
		f.user_id = cases[i].by_user ? user : 0;
		char sql[600], w[300];
		snprintf(w, sizeof w, "%s", cases[i].where);
		for (char *p; (p = strstr(w, "@run")) || (p = strstr(w, "@user"));) {
			char rest[300];
			bool r = !strncmp(p, "@run", 4);
			snprintf(rest, sizeof rest, "%s", p + (r ? 4 : 5));
			snprintf(p, sizeof w - (size_t)(p - w), "%s%s", r ? rs : us, rest);
		}
		snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM messages m JOIN message_templates t ON t.id = "
					  "m.template_id LEFT JOIN statements s ON s.id = m.statement_id WHERE %s", w);
		long long want = tu_i64(ctx, sql);
		cr_expect_eq(search_count(ctx, f), want, "case %zu (%s): search found another count than %lld", i,
			     cases[i].where, want);
		if (i > 0 && i < 9)
			cr_expect_gt(want, 0, "case %zu (%s) matches something", i, cases[i].where);
	}
	/* a version 1 filter (no newest_first/before_id in its struct) still works */
	struct {
		bl_message_filter f;
	} v1;
	cr_assert_eq(bl_message_filter_init(&v1.f, 1), BL_OK);
	cr_assert_eq(v1.f.version, 1);
	v1.f.newest_first = true; /* beyond a version 1 caller's struct: never read */
	v1.f.before_id = -5;
	char *v1j = NULL;
	cr_assert_eq(bl_message_search(ctx, &v1.f, &v1j), BL_OK, "%s", bl_error_last());
	json_t *v1a = json_loads(v1j, 0, NULL);
	bl_free(v1j);
	cr_assert(json_array_size(v1a) > 1);
	cr_assert_lt(json_integer_value(json_object_get(json_array_get(v1a, 0), "id")),
		     json_integer_value(json_object_get(json_array_get(v1a, 1), "id")), "oldest first");
	json_decref(v1a);
	cr_assert_eq(bl_message_filter_init(&v1.f, BL_MESSAGE_FILTER_VERSION + 1), BL_EINVAL);
	/* the retry by filter takes the same rows: DEAD SMS of the template in the run */
	bl_message_filter f;
	bl_message_filter_init(&f, BL_MESSAGE_FILTER_VERSION);
	f.run_id = run + 1000; /* no such run: nothing (answered without a scan) */
	cr_expect_eq(search_count(ctx, f), 0);
	f.run_id = 0;
	f.status = "DEAD";
	f.template_code = "DEFAULT_BILLING_SMS";
	f.run_id = run;
	long long dead = tu_i64(ctx, "SELECT COUNT(*) FROM messages m JOIN message_templates t ON t.id = m.template_id "
				     "WHERE m.status = 'DEAD' AND t.code = 'DEFAULT_BILLING_SMS'");
	int64_t n = 0;
	cr_assert_eq(bl_message_retry_filter(ctx, &f, &n), BL_OK, "%s", bl_error_last());
	cr_expect_eq(n, dead);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE status = 'DEAD'"), 0);
	tu_ctx_drop(ctx);
}
