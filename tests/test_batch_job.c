/*
 * Asynchronous runs (bl_batch_start / bl_batch_resume_start and their job
 * handles) and the typed reads of the run history (bl_run, bl_run_list),
 * against real MariaDB.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

#define MONTH "2026-10"

static bl_batch_opts opts_with(bl_batch_mode mode, int partitions, int chunk)
{
	bl_batch_opts o;
	cr_assert_eq(bl_batch_opts_init(&o, BL_BATCH_OPTS_VERSION), BL_OK);
	o.mode = mode;
	o.partitions = partitions;
	o.chunk_size = chunk;
	return o;
}

static void seed(bl_ctx *ctx, int users)
{
	bl_seed_opts so;
	cr_assert_eq(bl_seed_opts_init(&so, BL_SEED_OPTS_VERSION), BL_OK);
	so.users = users;
	so.month = MONTH;
	so.seed = 42;
	so.invalid_permille = 50; /* some failures in small months */
	bl_seed_stats stats;
	cr_assert_eq(bl_seed_run(ctx, &so, &stats), BL_OK, "%s", bl_error_last());
}

static long long run_status_is(bl_ctx *ctx, int64_t id, const char *status)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT status = '%s' FROM batch_runs WHERE id = %lld", status, (long long)id);
	return tu_i64(ctx, sql);
}

static void slow_cb(const bl_batch_progress *p, void *payload)
{
	(void)p;
	(void)payload;
	usleep(20000);
}

struct ends {
	int calls, rc;
	int64_t run_id;
	char month[8];
};

static void end_cb(int64_t run_id, const char *month, int rc, const char *message, void *payload)
{
	struct ends *e = payload;
	(void)message;
	e->calls++;
	e->rc = rc;
	e->run_id = run_id;
	snprintf(e->month, sizeof e->month, "%s", month);
}

Test(batch_job, start_returns_with_the_run_started_and_wait_gives_its_end, .timeout = 300)
{
	bl_ctx *ctx = tu_ctx_fresh("job_start");
	seed(ctx, 500);
	struct ends e = { 0 };
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 2, 50);
	o.end_cb = end_cb;
	o.end_payload = &e;
	int64_t id = 0;
	bl_batch_job *job = NULL;
	cr_assert_eq(bl_batch_start(ctx, MONTH, &o, &id, &job), BL_OK, "%s", bl_error_last());
	cr_assert_not_null(job);
	cr_assert_gt(id, 0);
	cr_assert_eq(bl_batch_job_run_id(job), id);
	cr_assert_str_eq(bl_batch_job_month(job), MONTH);
	/* the row exists when the call returns */
	char sql[120];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM batch_runs WHERE id = %lld", (long long)id);
	cr_assert_eq(tu_i64(ctx, sql), 1);
	bool ended = true;
	cr_assert_eq(bl_batch_job_wait(job, -1, &ended), BL_OK, "%s", bl_error_last());
	cr_assert(ended);
	/* waiting again answers the same */
	cr_assert_eq(bl_batch_job_wait(job, 0, &ended), BL_OK);
	cr_assert(ended);
	bl_batch_job_free(job);
	cr_assert_eq(run_status_is(ctx, id, "COMPLETED"), 1);
	cr_assert_eq(e.calls, 1);
	cr_assert_eq(e.rc, BL_OK);
	cr_assert_eq(e.run_id, id);
	cr_assert_str_eq(e.month, MONTH);
	long long bad = -1;
	tu_verify_month(ctx, MONTH, &bad);
	cr_assert_eq(bad, 0);
	bl_batch_job_free(NULL);
	tu_ctx_drop(ctx);
}

Test(batch_job, a_start_that_fails_at_once_returns_its_error_and_no_job)
{
	bl_ctx *ctx = tu_ctx_fresh("job_refused");
	seed(ctx, 50);
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 1, 100);
	int64_t id = 7;
	bl_batch_job *job = (bl_batch_job *)&id;
	cr_assert_eq(bl_batch_start(ctx, "2999-01", &o, &id, &job), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "is in the future"), "%s", bl_error_last());
	cr_assert_null(job);
	cr_assert_eq(id, 0);
	cr_assert_eq(bl_batch_start(ctx, "2020-01", &o, &id, &job), BL_ECONFLICT);
	cr_assert(strstr(bl_error_last(), "has no charges"), "%s", bl_error_last());
	cr_assert_null(job);
	cr_assert_eq(bl_batch_start(ctx, "2026-13", &o, &id, &job), BL_EINVAL);
	cr_assert_eq(bl_batch_start(ctx, NULL, &o, &id, &job), BL_EINVAL);
	cr_assert_eq(bl_batch_start(NULL, MONTH, &o, &id, &job), BL_EINVAL);
	cr_assert_eq(bl_batch_resume_start(ctx, 999999, &o, &job), BL_ENOTFOUND);
	cr_assert_null(job);
	o.partitions = 0;
	cr_assert_eq(bl_batch_start(ctx, MONTH, &o, &id, &job), BL_EINVAL);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM batch_runs"), 0);
	cr_assert_eq(bl_batch_job_wait(NULL, 0, NULL), BL_EINVAL);
	cr_assert_eq(bl_batch_job_stop(NULL), BL_EINVAL);
	tu_ctx_drop(ctx);
}

Test(batch_job, stop_conflict_then_resume_start_completes, .timeout = 300)
{
	bl_ctx *ctx = tu_ctx_fresh("job_stop");
	seed(ctx, 1000);
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 1, 10);
	o.progress_cb = slow_cb;
	int64_t id = 0;
	bl_batch_job *job = NULL;
	cr_assert_eq(bl_batch_start(ctx, MONTH, &o, &id, &job), BL_OK, "%s", bl_error_last());
	/* still working: a short wait times out */
	bool ended = true;
	cr_assert_eq(bl_batch_job_wait(job, 50, &ended), BL_OK);
	cr_assert_not(ended);
	/* one active run per month */
	bl_batch_job *second = NULL;
	int64_t id2 = 0;
	cr_assert_eq(bl_batch_start(ctx, MONTH, &o, &id2, &second), BL_ECONFLICT);
	char want[32];
	snprintf(want, sizeof want, "run #%lld", (long long)id);
	cr_assert(strstr(bl_error_last(), want), "%s", bl_error_last());
	cr_assert_null(second);
	cr_assert_eq(bl_batch_job_stop(job), BL_OK);
	cr_assert_eq(bl_batch_job_wait(job, -1, &ended), BL_ESTOPPED, "%s", bl_error_last());
	cr_assert(ended);
	bl_batch_job_free(job);
	cr_assert_eq(run_status_is(ctx, id, "STOPPED"), 1);
	long long issued = tu_i64(ctx, "SELECT COUNT(*) FROM statements");
	cr_assert(issued < 1000, "stopped early, issued %lld", issued);
	o.progress_cb = NULL;
	o.chunk_size = 100;
	o.partitions = 2;
	cr_assert_eq(bl_batch_resume_start(ctx, id, &o, &job), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_batch_job_run_id(job), id);
	cr_assert_str_eq(bl_batch_job_month(job), MONTH);
	cr_assert_eq(bl_batch_job_wait(job, -1, NULL), BL_OK, "%s", bl_error_last());
	bl_batch_job_free(job);
	cr_assert_eq(run_status_is(ctx, id, "COMPLETED"), 1);
	cr_assert_eq(bl_batch_resume_start(ctx, id, &o, &job), BL_ECONFLICT, "completed runs do not resume");
	long long bad = -1;
	tu_verify_month(ctx, MONTH, &bad);
	cr_assert_eq(bad, 0);
	tu_ctx_drop(ctx);
}

Test(batch_job, a_freed_handle_detaches_and_the_run_goes_on, .timeout = 300)
{
	bl_ctx *ctx = tu_ctx_fresh("job_detach");
	seed(ctx, 300);
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 1, 20);
	int64_t id = 0;
	bl_batch_job *job = NULL;
	cr_assert_eq(bl_batch_start(ctx, MONTH, &o, &id, &job), BL_OK, "%s", bl_error_last());
	bl_batch_job_free(job);
	/* the caller's context is not the job's: freeing it changes nothing */
	bl_config *cfg = NULL;
	cr_assert_eq(bl_config_copy(&cfg, bl_ctx_config(ctx)), BL_OK);
	bl_ctx_free(ctx);
	cr_assert_eq(bl_ctx_new(&ctx, cfg), BL_OK);
	bl_config_free(cfg);
	for (int i = 0; i < 3000 && run_status_is(ctx, id, "STARTED"); i++)
		usleep(10000);
	cr_assert_eq(run_status_is(ctx, id, "COMPLETED"), 1);
	tu_ctx_drop(ctx);
}

Test(batch_job, run_objects_match_the_json_reads, .timeout = 300)
{
	bl_ctx *ctx = tu_ctx_fresh("job_read");
	seed(ctx, 200);
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 1, 50);
	int64_t id = 0;
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &id), BL_OK, "%s", bl_error_last());
	bl_run *run = NULL;
	cr_assert_eq(bl_run_get(ctx, id, &run), BL_OK, "%s", bl_error_last());
	char *json = NULL, *mine = NULL;
	cr_assert_eq(bl_batch_get(ctx, id, &json), BL_OK);
	cr_assert_eq(bl_run_to_json(run, &mine), BL_OK);
	cr_assert_str_eq(mine, json);
	bl_free(mine);
	bl_free(json);
	cr_assert_eq(bl_run_id(run), id);
	cr_assert_str_eq(bl_run_month(run), MONTH);
	cr_assert_eq(bl_run_mode(run), BL_BATCH_NORMAL);
	cr_assert_eq(bl_run_status_of(run), BL_RUN_COMPLETED);
	cr_assert_str_eq(bl_run_status_name(bl_run_status_of(run)), "COMPLETED");
	cr_assert_eq(bl_run_created_by(run), BL_CREATED_ADMIN);
	cr_assert_eq(bl_run_partitions(run), 1);
	cr_assert_eq(bl_run_chunk_size(run), 50);
	cr_assert(strchr(bl_run_owner(run), ':'), "host:pid");
	cr_assert_not(bl_run_stop_requested(run));
	cr_assert_not_null(bl_run_started_at(run));
	cr_assert_not_null(bl_run_ended_at(run));
	cr_assert_geq(bl_run_duration_ms(run), 0);
	cr_assert_null(bl_run_fail_reason(run));
	bl_batch_progress p, q;
	bl_run_progress(run, &p);
	cr_assert_eq(bl_batch_progress_get(ctx, id, &q), BL_OK);
	cr_assert_eq(memcmp(&p, &q, sizeof p), 0);
	cr_assert_eq(p.processed, p.total);
	cr_assert_eq(bl_run_chunks(run), (p.total + 49) / 50);
	cr_assert_eq(bl_run_chunks_done(run), bl_run_chunks(run));
	cr_assert_eq(bl_run_billed_sum(run), tu_i64(ctx, "SELECT COALESCE(SUM(billed_amount), 0) FROM statements"));
	cr_assert_eq(bl_run_vat_sum(run), tu_i64(ctx, "SELECT COALESCE(SUM(vat_amount), 0) FROM statements"));
	cr_assert_eq((int64_t)bl_run_failure_count(run), p.failed < 100 ? p.failed : 100);
	cr_assert_gt(p.failed, 0, "the seed makes invalid subscribers");
	int64_t user = 0;
	const char *reason = NULL;
	cr_assert_eq(bl_run_failure(run, 0, &user, &reason, NULL), BL_OK);
	cr_assert_gt(user, 0);
	cr_assert_not_null(reason);
	cr_assert_eq(bl_run_failure(run, 100000, NULL, NULL, NULL), BL_EINVAL);
	int64_t rid = 0;
	const char *rs = NULL;
	cr_assert(bl_run_reservation(run, &rid, &rs, NULL, NULL), "a completed run makes its billing reservation");
	cr_assert_gt(rid, 0);
	cr_assert_not_null(rs);
	bl_run_free(run);
	bl_run_free(NULL);
	cr_assert_eq(bl_run_get(ctx, 999999, &run), BL_ENOTFOUND);
	cr_assert_null(run);
	/* the headline run */
	cr_assert_eq(bl_run_current(ctx, &run), BL_OK);
	cr_assert_eq(bl_run_id(run), id);
	cr_assert_eq(bl_run_chunks(run), -1, "not read for list-like runs");
	cr_assert_eq(bl_run_failure_count(run), 0);
	cr_assert_not(bl_run_reservation(run, NULL, NULL, NULL, NULL));
	cr_assert_eq(bl_batch_current(ctx, &json), BL_OK);
	cr_assert_eq(bl_run_to_json(run, &mine), BL_OK);
	cr_assert_str_eq(mine, json);
	bl_free(mine);
	bl_free(json);
	bl_run_free(run);
	tu_ctx_drop(ctx);
}

Test(batch_job, run_lists_page_with_a_cursor, .timeout = 300)
{
	bl_ctx *ctx = tu_ctx_fresh("job_list");
	seed(ctx, 30);
	bl_run *none = (bl_run *)&none;
	cr_assert_eq(bl_run_current(ctx, &none), BL_OK);
	cr_assert_null(none, "no run yet");
	bl_batch_opts o = opts_with(BL_BATCH_DRY_RUN, 1, 100);
	int64_t ids[5];
	for (int i = 0; i < 5; i++)
		cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &ids[i]), BL_OK, "%s", bl_error_last());
	o.allow_empty = true;
	int64_t other = 0;
	cr_assert_eq(bl_batch_run(ctx, "2026-09", &o, &other), BL_OK, "%s", bl_error_last());
	bl_run_filter f;
	cr_assert_eq(bl_run_filter_init(&f, 99), BL_EINVAL);
	cr_assert_eq(bl_run_filter_init(&f, BL_RUN_FILTER_VERSION), BL_OK);
	f.month = MONTH;
	f.limit = 2;
	/* pages of 2, newest first, until the cursor runs out */
	int seen = 0;
	for (int page = 0; page < 4; page++) {
		bl_run_list *l = NULL;
		cr_assert_eq(bl_run_list_get(ctx, &f, &l), BL_OK, "%s", bl_error_last());
		for (size_t i = 0; i < bl_run_list_count(l); i++) {
			cr_assert_eq(bl_run_id(bl_run_list_at(l, i)), ids[4 - seen]);
			cr_assert_str_eq(bl_run_month(bl_run_list_at(l, i)), MONTH);
			seen++;
		}
		cr_assert_null(bl_run_list_at(l, bl_run_list_count(l)));
		f.before_id = bl_run_list_next(l);
		bl_run_list_free(l);
		if (!f.before_id)
			break;
	}
	cr_assert_eq(seen, 5);
	/* the JSON of a page is bl_batch_list's */
	f.month = NULL;
	f.before_id = 0;
	f.limit = 3;
	bl_run_list *l = NULL;
	cr_assert_eq(bl_run_list_get(ctx, &f, &l), BL_OK);
	cr_assert_eq(bl_run_list_count(l), 3);
	cr_assert_eq(bl_run_id(bl_run_list_at(l, 0)), other);
	cr_assert_eq(bl_run_list_next(l), ids[3]);
	char *json = NULL, *mine = NULL;
	cr_assert_eq(bl_batch_list(ctx, NULL, 3, &json), BL_OK);
	cr_assert_eq(bl_run_list_to_json(l, &mine), BL_OK);
	cr_assert_str_eq(mine, json);
	bl_free(mine);
	bl_free(json);
	bl_run_list_free(l);
	bl_run_list_free(NULL);
	f.limit = 0;
	cr_assert_eq(bl_run_list_get(ctx, &f, &l), BL_EINVAL);
	f.limit = 10;
	f.month = "2026-13";
	cr_assert_eq(bl_run_list_get(ctx, &f, &l), BL_EINVAL);
	tu_ctx_drop(ctx);
}

Test(batch_job, pace_of_a_running_and_an_ended_run, .timeout = 300)
{
	bl_ctx *ctx = tu_ctx_fresh("job_pace");
	seed(ctx, 200);
	bl_batch_opts o = opts_with(BL_BATCH_NORMAL, 1, 10);
	o.progress_cb = slow_cb;
	bl_batch_job *job = NULL;
	int64_t id = 0;
	cr_assert_eq(bl_batch_start(ctx, MONTH, &o, &id, &job), BL_OK, "%s", bl_error_last());
	bl_run *run = NULL;
	cr_assert_eq(bl_run_get(ctx, id, &run), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_run_status_of(run), BL_RUN_STARTED);
	/* ten seconds after the start by this context's clock: the pace of what is done */
	int64_t started = 0;
	cr_assert_eq(bl_clock_parse(bl_run_started_at(run), &started), BL_OK);
	cr_assert_eq(bl_ctx_set_time(ctx, started + 10 * 1000000LL), BL_OK);
	bl_run_pace pace;
	cr_assert_eq(bl_run_pace_get(ctx, run, &pace), BL_OK, "%s", bl_error_last());
	cr_assert_eq(pace.elapsed_ms, 10000);
	cr_assert_eq(pace.progress.run_id, id);
	cr_assert_leq(pace.progress.processed, pace.progress.total);
	cr_assert_eq(pace.permille, pace.progress.total ? (int)(pace.progress.processed * 1000 / pace.progress.total) : 0);
	cr_assert_float_eq(pace.per_second, pace.progress.processed / 10.0, 1e-9);
	if (pace.progress.processed > 0)
		cr_assert_eq(pace.eta_s, (int64_t)((pace.progress.total - pace.progress.processed) / pace.per_second + 0.5));
	else
		cr_assert_eq(pace.eta_s, -1, "no pace yet: no estimate");
	bl_run_free(run);
	bl_ctx_set_clock(ctx, NULL, NULL);

	bool ended = false;
	cr_assert_eq(bl_batch_job_wait(job, -1, &ended), BL_OK, "%s", bl_error_last());
	cr_assert(ended);
	bl_batch_job_free(job);
	cr_assert_eq(bl_run_get(ctx, id, &run), BL_OK);
	cr_assert_eq(bl_run_pace_get(ctx, run, &pace), BL_OK);
	cr_assert_eq(pace.permille, 1000);
	cr_assert_eq(pace.eta_s, 0);
	cr_assert_eq(pace.elapsed_ms, bl_run_duration_ms(run));
	cr_assert_eq(pace.progress.processed, 200);
	bl_run_free(run);
	cr_assert_eq(bl_run_pace_get(ctx, NULL, &pace), BL_EINVAL);
	tu_ctx_drop(ctx);
}

/*
 * Runs written directly (every column known, NULLs and characters JSON must
 * escape included): the JSON reads give exactly the text the history has
 * always served.  The expected strings were captured from the reads as they
 * were when a run kept its row as a JSON object; the struct-backed reads
 * must not change a byte of them.
 */
#define GOLD_RUN1                                                                                          \
	"{\"id\":7001,\"target_month\":\"2026-08\",\"mode\":\"REISSUE\",\"status\":\"FAILED\","                 \
	"\"created_by\":\"AUTO\",\"partitions\":3,\"chunk_size\":250,\"owner\":\"host-a:4242\","                \
	"\"stop_requested\":0,\"started_at\":\"2026-09-01 04:00:01\",\"ended_at\":\"2026-09-01 04:02:03\","    \
	"\"duration_ms\":122345,\"total_count\":900,\"processed_count\":600,\"issued_count\":590,"             \
	"\"skipped_count\":4,\"failed_count\":6,\"usage_sum\":123456789,\"discount_sum\":-1500,"              \
	"\"vat_sum\":12345678,\"billed_sum\":135800967,"                                                      \
	"\"fail_reason\":\"db \\\"gone\\\" \\\\ 연결 끊김\\n(retry)\","                                       \
	"\"reservation\":{\"id\":8801,\"status\":\"WAITING\",\"scheduled_at\":\"2026-09-02 09:00:00\","       \
	"\"channel\":\"EMAIL\"},\"chunks\":3,\"chunks_done\":2,"                                               \
	"\"failures\":[{\"user_id\":11,\"reason\":\"INVALID_CHARGE\",\"detail\":\"charge -5 \\\"bad\\\"\"},"   \
	"{\"user_id\":12,\"reason\":\"UNKNOWN_SERVICE\",\"detail\":\"\"}]}"
#define GOLD_RUN2_ROW                                                                                      \
	"{\"id\":7002,\"target_month\":\"2026-09\",\"mode\":\"NORMAL\",\"status\":\"STARTED\","                 \
	"\"created_by\":\"ADMIN\",\"partitions\":1,\"chunk_size\":1000,\"owner\":\"host-b:77\","                \
	"\"stop_requested\":1,\"started_at\":\"2026-10-01 04:00:00\",\"ended_at\":null,\"duration_ms\":null,"  \
	"\"total_count\":0,\"processed_count\":0,\"issued_count\":0,\"skipped_count\":0,\"failed_count\":0,"   \
	"\"usage_sum\":0,\"discount_sum\":0,\"vat_sum\":0,\"billed_sum\":0,\"fail_reason\":null"
#define GOLD_RUN1_ROW                                                                                      \
	"{\"id\":7001,\"target_month\":\"2026-08\",\"mode\":\"REISSUE\",\"status\":\"FAILED\","                 \
	"\"created_by\":\"AUTO\",\"partitions\":3,\"chunk_size\":250,\"owner\":\"host-a:4242\","                \
	"\"stop_requested\":0,\"started_at\":\"2026-09-01 04:00:01\",\"ended_at\":\"2026-09-01 04:02:03\","    \
	"\"duration_ms\":122345,\"total_count\":900,\"processed_count\":600,\"issued_count\":590,"             \
	"\"skipped_count\":4,\"failed_count\":6,\"usage_sum\":123456789,\"discount_sum\":-1500,"              \
	"\"vat_sum\":12345678,\"billed_sum\":135800967,"                                                      \
	"\"fail_reason\":\"db \\\"gone\\\" \\\\ 연결 끊김\\n(retry)\"}"

Test(batch_job, run_json_is_the_history_json_byte_for_byte)
{
	bl_ctx *ctx = tu_ctx_fresh("job_gold");
	tu_sql(ctx, "INSERT INTO batch_runs (id, target_month, mode, status, created_by, partitions, chunk_size, "
		    "owner, stop_requested, planned, started_at, ended_at, duration_ms, total_count, processed_count, "
		    "issued_count, skipped_count, failed_count, usage_sum, discount_sum, vat_sum, billed_sum, "
		    "fail_reason) VALUES (7001, '2026-08', 'REISSUE', 'FAILED', 'AUTO', 3, 250, 'host-a:4242', 0, 1, "
		    "'2026-09-01 04:00:01.789', '2026-09-01 04:02:03.134', 122345, 900, 600, 590, 4, 6, 123456789, "
		    "-1500, 12345678, 135800967, 'db \"gone\" \\\\ 연결 끊김\\n(retry)')");
	tu_sql(ctx, "INSERT INTO batch_runs (id, target_month, owner, stop_requested, started_at) "
		    "VALUES (7002, '2026-09', 'host-b:77', 1, '2026-10-01 04:00:00.000')");
	tu_sql(ctx, "INSERT INTO batch_failures (run_id, user_id, target_month, reason, detail) VALUES "
		    "(7001, 12, '2026-08', 'UNKNOWN_SERVICE', ''), "
		    "(7001, 11, '2026-08', 'INVALID_CHARGE', 'charge -5 \"bad\"')");
	tu_sql(ctx, "INSERT INTO batch_chunks (run_id, chunk_no, from_user_id, to_user_id, user_count, status) "
		    "VALUES (7001, 0, 0, 300, 300, 'DONE'), (7001, 1, 300, 600, 300, 'DONE'), "
		    "(7001, 2, 600, 900, 300, 'PENDING')");
	tu_sql(ctx, "INSERT INTO message_reservations (id, scheduled_at, status, channel, template_id, target_month, "
		    "batch_run_id) SELECT 8801, '2026-09-02 09:00:00', 'WAITING', 'EMAIL', MIN(id), '2026-08', 7001 "
		    "FROM message_templates");
	char *json = NULL;
	cr_assert_eq(bl_batch_get(ctx, 7001, &json), BL_OK, "%s", bl_error_last());
	cr_assert_str_eq(json, GOLD_RUN1);
	bl_free(json);
	cr_assert_eq(bl_batch_get(ctx, 7002, &json), BL_OK, "%s", bl_error_last());
	cr_assert_str_eq(json, GOLD_RUN2_ROW ",\"reservation\":null,\"chunks\":0,\"chunks_done\":0,\"failures\":[]}");
	bl_free(json);
	cr_assert_eq(bl_batch_current(ctx, &json), BL_OK, "%s", bl_error_last());
	cr_assert_str_eq(json, GOLD_RUN2_ROW "}");
	bl_free(json);
	cr_assert_eq(bl_batch_list(ctx, NULL, 10, &json), BL_OK, "%s", bl_error_last());
	cr_assert_str_eq(json, "[" GOLD_RUN2_ROW "}," GOLD_RUN1_ROW "]");
	bl_free(json);
	cr_assert_eq(bl_batch_list(ctx, "2026-08", 10, &json), BL_OK, "%s", bl_error_last());
	cr_assert_str_eq(json, "[" GOLD_RUN1_ROW "]");
	bl_free(json);
	cr_assert_eq(bl_batch_list(ctx, "2026-07", 10, &json), BL_OK, "%s", bl_error_last());
	cr_assert_str_eq(json, "[]");
	bl_free(json);
	bl_run_filter f = BL_RUN_FILTER_INIT;
	f.limit = 1;
	bl_run_list *l = NULL;
	cr_assert_eq(bl_run_list_get(ctx, &f, &l), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_run_list_next(l), 7002);
	cr_assert_eq(bl_run_list_to_json(l, &json), BL_OK);
	cr_assert_str_eq(json, "[" GOLD_RUN2_ROW "}]");
	bl_free(json);
	cr_assert_eq(bl_run_to_json(bl_run_list_at(l, 0), &json), BL_OK);
	cr_assert_str_eq(json, GOLD_RUN2_ROW "}");
	bl_free(json);
	bl_run_list_free(l);
	f.before_id = 7002;
	cr_assert_eq(bl_run_list_get(ctx, &f, &l), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_run_list_next(l), 0);
	cr_assert_eq(bl_run_list_to_json(l, &json), BL_OK);
	cr_assert_str_eq(json, "[" GOLD_RUN1_ROW "]");
	bl_free(json);
	bl_run_list_free(l);
	/* the accessors read the same values, NULL columns included */
	bl_run *r = NULL;
	cr_assert_eq(bl_run_get(ctx, 7001, &r), BL_OK);
	cr_assert_eq(bl_run_mode(r), BL_BATCH_REISSUE);
	cr_assert_eq(bl_run_status_of(r), BL_RUN_FAILED);
	cr_assert_eq(bl_run_created_by(r), BL_CREATED_AUTO);
	cr_assert_eq(bl_run_partitions(r), 3);
	cr_assert_str_eq(bl_run_owner(r), "host-a:4242");
	cr_assert_str_eq(bl_run_started_at(r), "2026-09-01 04:00:01");
	cr_assert_str_eq(bl_run_ended_at(r), "2026-09-01 04:02:03");
	cr_assert_eq(bl_run_duration_ms(r), 122345);
	bl_batch_progress p;
	bl_run_progress(r, &p);
	cr_assert(p.run_id == 7001 && p.total == 900 && p.processed == 600 && p.issued == 590 && p.skipped == 4 &&
		  p.failed == 6);
	cr_assert_eq(bl_run_usage_sum(r), 123456789);
	cr_assert_eq(bl_run_discount_sum(r), -1500);
	cr_assert_eq(bl_run_vat_sum(r), 12345678);
	cr_assert_eq(bl_run_billed_sum(r), 135800967);
	cr_assert_str_eq(bl_run_fail_reason(r), "db \"gone\" \\ 연결 끊김\n(retry)");
	cr_assert_eq(bl_run_chunks(r), 3);
	cr_assert_eq(bl_run_chunks_done(r), 2);
	cr_assert_eq(bl_run_failure_count(r), 2);
	int64_t user = 0;
	const char *reason = NULL, *detail = NULL;
	cr_assert_eq(bl_run_failure(r, 1, &user, &reason, &detail), BL_OK);
	cr_assert_eq(user, 12);
	cr_assert_str_eq(reason, "UNKNOWN_SERVICE");
	cr_assert_str_eq(detail, "");
	int64_t rid = 0;
	const char *rs = NULL, *at = NULL, *ch = NULL;
	cr_assert(bl_run_reservation(r, &rid, &rs, &at, &ch));
	cr_assert_eq(rid, 8801);
	cr_assert_str_eq(rs, "WAITING");
	cr_assert_str_eq(at, "2026-09-02 09:00:00");
	cr_assert_str_eq(ch, "EMAIL");
	bl_run_free(r);
	cr_assert_eq(bl_run_get(ctx, 7002, &r), BL_OK);
	cr_assert(bl_run_stop_requested(r));
	cr_assert_null(bl_run_ended_at(r));
	cr_assert_eq(bl_run_duration_ms(r), -1);
	cr_assert_null(bl_run_fail_reason(r));
	cr_assert_eq(bl_run_chunks(r), 0);
	cr_assert_eq(bl_run_chunks_done(r), 0);
	cr_assert_eq(bl_run_failure_count(r), 0);
	cr_assert_eq(bl_run_failure(r, 0, NULL, NULL, NULL), BL_EINVAL);
	cr_assert_not(bl_run_reservation(r, NULL, NULL, NULL, NULL));
	bl_run_free(r);
	/* NULL-safe accessors */
	cr_assert_eq(bl_run_id(NULL), 0);
	cr_assert_null(bl_run_month(NULL));
	cr_assert_eq(bl_run_duration_ms(NULL), -1);
	cr_assert_eq(bl_run_chunks(NULL), -1);
	cr_assert_eq(bl_run_failure_count(NULL), 0);
	cr_assert_not(bl_run_reservation(NULL, NULL, NULL, NULL, NULL));
	tu_ctx_drop(ctx);
}
