/*
 * The issuance batch against real MariaDB: rules end to end, idempotency,
 * modes, stop/resume, one active run per month, crash (SIGKILL) recovery,
 * partitioned runs checked against an independent SQL recomputation.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

#define MONTH "2026-10"

static void small_month(bl_ctx *ctx)
{
	tu_sql(ctx, "INSERT INTO services VALUES (1,'P1','5G 프리미어','PLAN',85000),"
		    "(2,'V1','V컬러링','VAS',3300),(3,'M1','앱스토어 결제','MCP',0)");
	/* 1: the worked example; 2: one row in October, one in November;
	 * 3: negative price; 4: unknown service; 5: discounts above the price;
	 * 6: only a November row (no statement in October) */
	tu_sql(ctx, "INSERT INTO charged_histories (user_id, service_id, created_at, charged_price, "
		    "contract_discount_price, bundled_discount_price, premier_discount_price) VALUES "
		    "(1,1,'2026-10-03 10:00:00',85000,21250,5500,0),(1,2,'2026-10-05 10:00:00',3300,0,0,0),"
		    "(1,3,'2026-10-31 23:59:59',12000,0,0,0),"
		    "(2,1,'2026-10-01 00:00:00',85000,0,0,0),(2,2,'2026-11-01 00:00:00',3300,0,0,0),"
		    "(3,1,'2026-10-10 00:00:00',-5,0,0,0),(3,2,'2026-10-10 00:00:00',3300,0,0,0),"
		    "(4,99,'2026-10-10 00:00:00',100,0,0,0),"
		    "(5,2,'2026-10-10 00:00:00',3300,2000,2000,2000),"
		    "(6,1,'2026-11-02 00:00:00',85000,0,0,0)");
}

static bl_batch_opts opts_with(bl_batch_mode mode, int partitions, int chunk)
{
	bl_batch_opts o;
	cr_assert_eq(bl_batch_opts_init(&o, BL_BATCH_OPTS_VERSION), BL_OK);
	o.mode = mode;
	o.partitions = partitions;
	o.chunk_size = chunk;
	return o;
}

static void seed(bl_ctx *ctx, int users, const char *month)
{
	bl_seed_opts so;
	cr_assert_eq(bl_seed_opts_init(&so, BL_SEED_OPTS_VERSION), BL_OK);
	so.users = users;
	so.month = month;
	so.seed = 42;
	so.invalid_permille = 5;
	bl_seed_stats stats;
	cr_assert_eq(bl_seed_run(ctx, &so, &stats), BL_OK, "%s", bl_error_last());
}

Test(batch, worked_example_and_rules_end_to_end)
{
	bl_ctx *ctx = tu_ctx_fresh("batch_rules");
	small_month(ctx);
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 1, 1000);
	int64_t id = 0;
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_OK, "%s", bl_error_last());
	bl_batch_progress p;
	cr_assert_eq(bl_batch_progress_get(ctx, id, &p), BL_OK);
	cr_assert_eq(p.total, 5);
	cr_assert_eq(p.issued, 3);
	cr_assert_eq(p.failed, 2);
	cr_assert_eq(p.processed, 5);
	cr_assert_eq(tu_i64(ctx, "SELECT billed_amount FROM statements WHERE user_id = 1"), 79700);
	cr_assert_eq(tu_i64(ctx, "SELECT truncated_amount FROM statements WHERE user_id = 1"), 5);
	cr_assert_eq(tu_i64(ctx, "SELECT vat_amount FROM statements WHERE user_id = 1"), 6155);
	cr_assert_eq(tu_i64(ctx, "SELECT due_date = '2026-11-25' FROM statements WHERE user_id = 1"), 1);
	/* user 2: the November row is not in October */
	cr_assert_eq(tu_i64(ctx, "SELECT usage_amount FROM statements WHERE user_id = 2"), 85000);
	/* user 5: discount capped at the price, in the order contract, bundle, premier */
	cr_assert_eq(tu_i64(ctx, "SELECT net FROM statement_lines l JOIN statements s ON s.id = "
				 "l.statement_id WHERE s.user_id = 5"), 0);
	cr_assert_eq(tu_i64(ctx, "SELECT CONCAT(contract_discount, bundle_discount, premier_discount) "
				 "FROM statement_lines l JOIN statements s ON s.id = l.statement_id "
				 "WHERE s.user_id = 5"), 200013000);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM statements WHERE user_id IN (3,4,6)"), 0);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM batch_failures WHERE user_id = 3 AND "
				 "reason = 'INVALID_CHARGE'"), 1);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM batch_failures WHERE user_id = 4 AND "
				 "reason = 'UNKNOWN_SERVICE'"), 1);
	char *json = NULL;
	cr_assert_eq(bl_statement_get(ctx, 1, MONTH, &json), BL_OK);
	cr_assert(strstr(json, "\"billed_amount\": 79700") || strstr(json, "\"billed_amount\":79700"),
		  "%s", json);
	bl_free(json);
	cr_assert_eq(bl_statement_get(ctx, 3, MONTH, &json), BL_ENOTFOUND);
	long long bad = -1;
	cr_assert_eq(tu_verify_month(ctx, MONTH, &bad), 3);
	cr_assert_eq(bad, 0);
	tu_ctx_drop(ctx);
}

Test(batch, rerun_is_idempotent_and_dry_run_writes_nothing)
{
	bl_ctx *ctx = tu_ctx_fresh("batch_rerun");
	small_month(ctx);
	bl_batch_opts dry = opts_with(BL_BATCH_DRY_RUN, 2, 2);
	int64_t id = 0;
	cr_assert_eq(bl_batch_run(ctx, MONTH, &dry, &id), BL_OK, "%s", bl_error_last());
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM statements"), 0);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM batch_failures"), 0);
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT CONCAT(issued_count, '0', failed_count, '0', billed_sum) "
				  "FROM batch_runs WHERE id = %lld", (long long)id);
	long long dry_summary = tu_i64(ctx, sql);
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 2, 2);
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_OK, "%s", bl_error_last());
	snprintf(sql, sizeof sql, "SELECT CONCAT(issued_count, '0', failed_count, '0', billed_sum) "
				  "FROM batch_runs WHERE id = %lld", (long long)id);
	cr_assert_eq(tu_i64(ctx, sql), dry_summary, "dry run must predict the real run");
	long long before = tu_i64(ctx, "SELECT SUM(id) + SUM(billed_amount) FROM statements");
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_OK, "%s", bl_error_last());
	bl_batch_progress p;
	bl_batch_progress_get(ctx, id, &p);
	cr_assert_eq(p.issued, 0);
	cr_assert_eq(p.skipped, 3);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM statements"), 3);
	cr_assert_eq(tu_i64(ctx, "SELECT SUM(id) + SUM(billed_amount) FROM statements"), before);
	tu_ctx_drop(ctx);
}

Test(batch, failed_only_retries_just_the_failed)
{
	bl_ctx *ctx = tu_ctx_fresh("batch_failed");
	small_month(ctx);
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 1, 1000);
	int64_t id = 0;
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_OK);
	/* the operator fixes user 3's feed; user 4 stays broken */
	tu_sql(ctx, "UPDATE charged_histories SET charged_price = 50000 WHERE user_id = 3 AND charged_price < 0");
	/* a new subscriber's charge arrives late: failed-only must not issue it */
	tu_sql(ctx, "INSERT INTO charged_histories (user_id, service_id, created_at, charged_price) "
		    "VALUES (7, 1, '2026-10-20 00:00:00', 85000)");
	o.mode = BL_BATCH_FAILED_ONLY;
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_OK, "%s", bl_error_last());
	bl_batch_progress p;
	bl_batch_progress_get(ctx, id, &p);
	cr_assert_eq(p.total, 2);
	cr_assert_eq(p.issued, 1);
	cr_assert_eq(p.failed, 1);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM statements WHERE user_id = 3"), 1);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM statements WHERE user_id IN (4, 7)"), 0);
	o.mode = BL_BATCH_NORMAL;
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_OK);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM statements WHERE user_id = 7"), 1);
	tu_ctx_drop(ctx);
}

Test(batch, reissue_replaces_and_is_refused_while_messages_in_flight)
{
	bl_ctx *ctx = tu_ctx_fresh("batch_reissue");
	small_month(ctx);
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 1, 1000);
	int64_t id = 0;
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_OK);
	long long sid = tu_i64(ctx, "SELECT id FROM statements WHERE user_id = 1");
	tu_sql(ctx, "UPDATE charged_histories SET charged_price = 13000 WHERE user_id = 1 AND service_id = 3");
	/* nothing changes on a normal rerun: issued statements are never touched */
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_OK);
	cr_assert_eq(tu_i64(ctx, "SELECT billed_amount FROM statements WHERE user_id = 1"), 79700);
	char sql[300];
	snprintf(sql, sizeof sql,
		 "INSERT INTO messages (idempotency_key, user_id, statement_id, template_id, channel, "
		 "purpose, status) VALUES ('k1', 1, %lld, 1, 'EMAIL', 'BILLING', 'WAITING')", sid);
	tu_sql(ctx, sql);
	o.mode = BL_BATCH_REISSUE;
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_ECONFLICT);
	cr_assert(strstr(bl_error_last(), "in flight"), "%s", bl_error_last());
	tu_sql(ctx, "UPDATE messages SET status = 'SUCCESS'");
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_OK, "%s", bl_error_last());
	cr_assert_eq(tu_i64(ctx, "SELECT billed_amount FROM statements WHERE user_id = 1"), 80700);
	cr_assert_eq(tu_i64(ctx, "SELECT version FROM statements WHERE user_id = 1"), 2);
	cr_assert_eq(tu_i64(ctx, "SELECT id FROM statements WHERE user_id = 1"), sid, "id kept");
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM statements"), 3);
	long long bad = -1;
	cr_assert_eq(tu_verify_month(ctx, MONTH, &bad), 3);
	cr_assert_eq(bad, 0);
	tu_ctx_drop(ctx);
}

/* ---- stop / resume, one active run per month ---- */

struct stopper {
	bl_ctx *other;
	int calls;
	int64_t stop_after;
};

static void stop_cb(const bl_batch_progress *p, void *payload)
{
	struct stopper *s = payload;
	if (++s->calls == s->stop_after)
		cr_assert_eq(bl_batch_stop(s->other, p->run_id), BL_OK, "%s", bl_error_last());
}

Test(batch, stop_then_resume_completes_exactly, .timeout = 300)
{
	bl_ctx *ctx = tu_ctx_fresh("batch_stop");
	seed(ctx, 3000, MONTH);
	bl_ctx *other;
	cr_assert_eq(bl_ctx_new(&other, bl_ctx_config(ctx)), BL_OK);
	struct stopper s = { other, 0, 3 };
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 1, 100);
	o.progress_cb = stop_cb;
	o.progress_payload = &s;
	int64_t id = 0;
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_ESTOPPED, "%s", bl_error_last());
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT status = 'STOPPED' FROM batch_runs WHERE id = %lld", (long long)id);
	cr_assert_eq(tu_i64(ctx, sql), 1);
	long long issued = tu_i64(ctx, "SELECT COUNT(*) FROM statements");
	cr_assert(issued > 0 && issued < 3000, "stopped after a few chunks, issued %lld", issued);
	cr_assert_eq(bl_batch_stop(ctx, id), BL_ECONFLICT, "a stopped run cannot be stopped again");
	o.progress_cb = NULL;
	o.partitions = 2;
	cr_assert_eq(bl_batch_resume(ctx, id, &o), BL_OK, "%s", bl_error_last());
	cr_assert_eq(tu_i64(ctx, sql), 0);
	cr_assert_eq(bl_batch_resume(ctx, id, &o), BL_ECONFLICT, "completed runs do not resume");
	long long bad = -1, expected = tu_verify_month(ctx, MONTH, &bad);
	cr_assert_eq(bad, 0);
	bl_batch_progress p;
	bl_batch_progress_get(ctx, id, &p);
	cr_assert_eq(p.issued, expected);
	cr_assert_eq(p.processed, p.total);
	cr_assert_eq(bl_batch_stop(ctx, 999999), BL_ENOTFOUND);
	bl_ctx_free(other);
	tu_ctx_drop(ctx);
}

struct bg_run {
	const bl_config *cfg;
	int64_t id;
	int rc;
	volatile int cancel;
};

static void slow_cb(const bl_batch_progress *p, void *payload)
{
	(void)p;
	(void)payload;
	usleep(20000);
}

static void *bg_main(void *arg)
{
	struct bg_run *b = arg;
	bl_ctx *ctx;
	bl_ctx_new(&ctx, b->cfg);
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 1, 10);
	o.progress_cb = slow_cb;
	o.cancel = &b->cancel;
	b->rc = bl_batch_run(ctx, MONTH, &o, &b->id);
	bl_ctx_free(ctx);
	return NULL;
}

Test(batch, second_start_is_refused_naming_the_active_run, .timeout = 300)
{
	bl_ctx *ctx = tu_ctx_fresh("batch_active");
	seed(ctx, 1000, MONTH);
	struct bg_run b = { bl_ctx_config(ctx), 0, 0, 0 };
	pthread_t th;
	pthread_create(&th, NULL, bg_main, &b);
	for (int i = 0; i < 500 && tu_i64(ctx, "SELECT COUNT(*) FROM batch_runs WHERE status = 'STARTED'") == 0; i++)
		usleep(10000);
	long long active = tu_i64(ctx, "SELECT id FROM batch_runs WHERE status = 'STARTED'");
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 1, 100);
	int64_t id = 0;
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_ECONFLICT);
	char want[32];
	snprintf(want, sizeof want, "run #%lld", active);
	cr_assert(strstr(bl_error_last(), want), "message names the run: %s", bl_error_last());
	/* the running owner is alive: recovery must leave it alone */
	int rec = -1;
	cr_assert_eq(bl_batch_recover(ctx, &rec), BL_OK);
	cr_assert_eq(rec, 0);
	/* another month is independent (2026-09 has no charges: confirmed, it runs beside the active one) */
	o.allow_empty = true;
	cr_assert_eq(bl_batch_run(ctx, "2026-09", &o, &id), BL_OK, "%s", bl_error_last());
	b.cancel = 1; /* like Ctrl-C in the CLI */
	pthread_join(th, NULL);
	cr_assert_eq(b.rc, BL_ESTOPPED, "%s", bl_error_last());
	cr_assert_eq(bl_batch_resume(ctx, b.id, &o), BL_OK, "%s", bl_error_last());
	long long bad = -1;
	tu_verify_month(ctx, MONTH, &bad);
	cr_assert_eq(bad, 0);
	tu_ctx_drop(ctx);
}

/* ---- crash: SIGKILL at random moments, resume until COMPLETED ---- */

static void child_work(const bl_config *cfg, long long resume_id)
{
	bl_ctx *ctx;
	if (bl_ctx_new(&ctx, cfg))
		_exit(10);
	/* small chunks: many commits, so a kill lands between and inside them */
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 2, 50);
	int64_t id;
	int rc = resume_id ? bl_batch_resume(ctx, resume_id, &o) : bl_batch_run(ctx, MONTH, &o, &id);
	_exit(rc == BL_OK ? 0 : 11);
}

Test(batch, sigkill_at_random_moments_then_resume_is_exact, .timeout = 600)
{
	bl_ctx *ctx = tu_ctx_fresh("batch_crash");
	seed(ctx, 12000, MONTH);
	srand((unsigned)time(NULL));
	long long run_id = 0;
	int kills = 0;
	for (int round = 0; round < 6; round++) {
		pid_t pid = fork();
		cr_assert(pid >= 0);
		if (pid == 0)
			child_work(bl_ctx_config(ctx), run_id);
		/* a random moment within the first ~200 ms of this process's work
		 * (the whole month takes longer than that on this machine) */
		usleep((useconds_t)(20000 + rand() % 180000));
		int status;
		if (waitpid(pid, &status, WNOHANG) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			kills++;
		}
		if (!run_id)
			run_id = tu_i64(ctx, "SELECT COALESCE(MAX(id), 0) FROM batch_runs");
		char sql[200];
		snprintf(sql, sizeof sql, "SELECT status = 'COMPLETED' FROM batch_runs WHERE id = %lld", run_id);
		if (run_id && tu_i64(ctx, sql))
			break;
		/* the killed owner's lock is gone: recovery marks the run crashed */
		int rec = 0;
		for (int i = 0; i < 50; i++) {
			cr_assert_eq(bl_batch_recover(ctx, &rec), BL_OK, "%s", bl_error_last());
			snprintf(sql, sizeof sql, "SELECT status <> 'STARTED' FROM batch_runs WHERE id = %lld",
				 run_id);
			if (!run_id || tu_i64(ctx, sql))
				break;
			usleep(100000);
		}
		if (run_id) {
			snprintf(sql, sizeof sql, "SELECT fail_reason = 'SERVER_CRASH' FROM batch_runs "
						  "WHERE id = %lld AND status = 'FAILED'", run_id);
			cr_assert_eq(tu_i64(ctx, sql), 1, "killed run is FAILED with SERVER_CRASH");
		}
	}
	cr_assert(kills >= 2, "the batch was killed several times (%d)", kills);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM batch_runs"), 1, "every round resumed the same run");
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT status = 'COMPLETED' FROM batch_runs WHERE id = %lld", run_id);
	if (!tu_i64(ctx, sql)) {
		bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 2, 500);
		cr_assert_eq(bl_batch_resume(ctx, run_id, &o), BL_OK, "%s", bl_error_last());
	}
	long long bad = -1, expected = tu_verify_month(ctx, MONTH, &bad);
	cr_assert(expected > 11000);
	cr_assert_eq(bad, 0, "every statement exact, none missing, none extra");
	bl_batch_progress p;
	bl_batch_progress_get(ctx, run_id, &p);
	cr_assert_eq(p.issued, expected, "counts survive the crashes (checkpointed with each chunk)");
	cr_assert_eq(p.processed, p.total);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM statements"), expected);
	tu_ctx_drop(ctx);
}

/* ---- property: partitioned run equals the SQL recomputation ---- */

struct hook {
	int calls;
	int64_t run;
	char month[8];
};

static void on_complete(int64_t run_id, const char *month, void *payload)
{
	struct hook *h = payload;
	h->calls++;
	h->run = run_id;
	memcpy(h->month, month, 8);
}

Test(batch, partitioned_run_matches_independent_sql_recomputation, .timeout = 600)
{
	bl_ctx *ctx = tu_ctx_fresh("batch_prop");
	seed(ctx, 12000, MONTH);
	struct hook h = { 0 };
	bl_batch_opts o = opts_with(BL_BATCH_DRY_RUN, 2, 500);
	o.complete_cb = on_complete;
	o.complete_payload = &h;
	int64_t id = 0;
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_OK, "%s", bl_error_last());
	cr_assert_eq(h.calls, 0, "no completion hook for a dry run");
	o.mode = BL_BATCH_NORMAL;
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_OK, "%s", bl_error_last());
	cr_assert_eq(h.calls, 1);
	cr_assert_eq(h.run, id);
	cr_assert_str_eq(h.month, MONTH);
	long long bad = -1, expected = tu_verify_month(ctx, MONTH, &bad);
	cr_assert_eq(bad, 0);
	cr_assert(expected >= 11800, "about 0.5%% invalid: %lld eligible", expected);
	bl_batch_progress p;
	bl_batch_progress_get(ctx, id, &p);
	cr_assert_eq(p.issued, expected);
	cr_assert_eq(p.failed, tu_i64(ctx, "SELECT COUNT(DISTINCT user_id) FROM batch_failures WHERE run_id = (SELECT MAX(id) FROM batch_runs)"));
	cr_assert_eq(p.total, p.issued + p.failed);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(DISTINCT worker) > 1 FROM batch_chunks WHERE run_id = (SELECT MAX(id) FROM batch_runs)"), 1,
		     "both partitions worked");
	cr_assert_eq(tu_i64(ctx, "SELECT SUM(billed_amount) FROM statements"),
		     tu_i64(ctx, "SELECT billed_sum FROM batch_runs WHERE id = (SELECT MAX(id) FROM batch_runs)"));
	tu_ctx_drop(ctx);
}

Test(batch, bad_input_is_refused_with_a_message)
{
	bl_ctx *ctx = tu_ctx_fresh("batch_bad");
	int64_t id = 7;
	cr_assert_eq(bl_batch_run(ctx, "2026-13", NULL, &id), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "2026-13"), "%s", bl_error_last());
	cr_assert_eq(id, 0);
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 0, 100);
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "partitions"), "%s", bl_error_last());
	o = opts_with(BL_BATCH_NORMAL, 1, 0);
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_EINVAL);
	o.version = 99;
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_EINVAL);
	cr_assert_eq(bl_batch_opts_init(&o, 99), BL_EINVAL);
	bl_batch_mode m;
	cr_assert_eq(bl_batch_mode_parse("failed-only", &m), BL_OK);
	cr_assert_eq(m, BL_BATCH_FAILED_ONLY);
	cr_assert_eq(bl_batch_mode_parse("sometimes", &m), BL_EINVAL);
	cr_assert_eq(bl_batch_resume(ctx, 424242, NULL), BL_ENOTFOUND);
	/* an empty month is refused unless confirmed (issue 21); then it completes with
	 * nothing to do and no billing reservation */
	id = 0;
	cr_assert_eq(bl_batch_run(ctx, "2020-01", NULL, &id), BL_ECONFLICT);
	cr_expect_str_eq(bl_error_last(), "month '2020-01' has no charges: a run would issue 0 statements; "
					  "confirm to run it anyway");
	cr_expect_eq(id, 0);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM batch_runs WHERE target_month = '2020-01'"), 0);
	o = opts_with(BL_BATCH_NORMAL, 1, 10);
	o.allow_empty = true;
	cr_assert_eq(bl_batch_run(ctx, "2020-01", &o, &id), BL_OK, "%s", bl_error_last());
	bl_batch_progress p;
	bl_batch_progress_get(ctx, id, &p);
	cr_assert_eq(p.total, 0);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM message_reservations WHERE target_month = '2020-01'"), 0);
	/* a month after the current one (Asia/Seoul, by the context's clock) is refused unless forced */
	cr_assert_eq(bl_ctx_set_time(ctx, tu_seoul(2026, 12, 4, 1, 13, 0) * 1000000), BL_OK);
	cr_assert_eq(bl_batch_run(ctx, "2027-01", &o, &id), BL_EINVAL);
	cr_expect_str_eq(bl_error_last(), "month '2027-01' is in the future (it is 2026-12 in Seoul): nothing "
					  "is charged yet; force it to run anyway");
	o.allow_future = true;
	cr_assert_eq(bl_batch_run(ctx, "2027-01", &o, &id), BL_OK, "%s", bl_error_last());
	/* version-1 options run any month, as before */
	bl_batch_opts v1;
	cr_assert_eq(bl_batch_opts_init(&v1, 1), BL_OK);
	cr_assert_eq(bl_batch_run(ctx, "2027-02", &v1, &id), BL_OK, "%s", bl_error_last());
	tu_ctx_drop(ctx);
}

Test(batch, monthly_schedule_is_claimed_once)
{
	bl_ctx *ctx = tu_ctx_fresh("batch_due");
	bl_ctx *other;
	cr_assert_eq(bl_ctx_new(&other, bl_ctx_config(ctx)), BL_OK);
	bool due = true;
	char month[8];
	/* 2026-12-01 01:59 Asia/Seoul = 2026-11-30 16:59 UTC: before the 02:00 slot */
	int64_t before = 1796057940, after = 1796058000 + 60;
	cr_assert_eq(bl_batch_due(ctx, before, &due, month), BL_OK, "%s", bl_error_last());
	cr_assert_eq(due, false);
	cr_assert_eq(bl_batch_due(ctx, after, &due, month), BL_OK);
	cr_assert_eq(due, true);
	cr_assert_str_eq(month, "2026-11");
	cr_assert_eq(bl_batch_due(other, after, &due, month), BL_OK);
	cr_assert_eq(due, false, "a second process does not start it again");
	bl_ctx_free(other);
	tu_ctx_drop(ctx);
}

/* ---- scale-out: a second process joins a running run ---- */

Test(batch, another_process_joins_a_running_run, .timeout = 300)
{
	bl_ctx *ctx = tu_ctx_fresh("batch_join");
	seed(ctx, 4000, MONTH);
	/* fork the joiner before any other thread exists (a fork while another
	 * thread holds a lock can deadlock the child); it waits for the run id */
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[1]);
		long long run = 0;
		if (read(pfd[0], &run, sizeof run) != (ssize_t)sizeof run)
			_exit(12);
		bl_ctx *c;
		if (bl_ctx_new(&c, bl_ctx_config(ctx)))
			_exit(10);
		bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 2, 10);
		_exit(bl_batch_join(c, run, &o) == BL_OK ? 0 : 11);
	}
	close(pfd[0]);
	struct bg_run b = { bl_ctx_config(ctx), 0, 0, 0 };
	pthread_t th;
	pthread_create(&th, NULL, bg_main, &b); /* chunks of 10, slowed by its progress callback */
	long long id = 0;
	for (int i = 0; i < 500 && !id; i++) {
		id = tu_i64(ctx, "SELECT COALESCE(MAX(id), 0) FROM batch_runs WHERE status = 'STARTED' AND planned = 1");
		if (!id)
			usleep(10000);
	}
	cr_assert(id > 0, "the run started");
	cr_assert_eq(write(pfd[1], &id, sizeof id), (ssize_t)sizeof id);
	close(pfd[1]);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "join ended cleanly");
	pthread_join(th, NULL);
	cr_assert_eq(b.rc, BL_OK, "the owner completes the run: %s", bl_error_last());
	char sql[300];
	snprintf(sql, sizeof sql, "SELECT COUNT(DISTINCT SUBSTRING_INDEX(worker, '/', 1)) FROM batch_chunks "
				  "WHERE run_id = %lld", id);
	cr_assert_eq(tu_i64(ctx, sql), 2, "chunks were worked by two processes");
	long long bad = -1, expected = tu_verify_month(ctx, MONTH, &bad);
	cr_assert_eq(bad, 0);
	bl_batch_progress p;
	bl_batch_progress_get(ctx, id, &p);
	cr_assert_eq(p.issued, expected);
	/* joining a finished run is refused */
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 1, 10);
	cr_assert_eq(bl_batch_join(ctx, id, &o), BL_ECONFLICT);
	tu_ctx_drop(ctx);
}
