/*
 * Reservations (예약 발송) against real MariaDB (and Redis for the relay and
 * the worker): validation, exactly-once expansion with racing processes,
 * cancel rules, crash resume, flat memory, quiet hours with a fixed clock,
 * the billing reservation of a batch run, the worker-side scheduler.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"
#include "reservation_private.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define NOTICE_PARAMS "{\"maintenanceDate\":\"2026-12-01\",\"startTime\":\"02:00\",\"endTime\":\"06:00\"}"

/* A fresh migrated database with extra settings (key, value, ..., NULL). */
static bl_ctx *fresh(const char *name, const char **settings)
{
	bl_config *cfg = tu_config(name);
	cr_assert_eq(bl_config_set(cfg, "BILLING_MAILDIR", ""), BL_OK);
	for (const char **s = settings; s && *s; s += 2)
		cr_assert_eq(bl_config_set(cfg, s[0], s[1]), BL_OK, "%s=%s: %s", s[0], s[1], bl_error_last());
	bl_ctx *ctx = NULL;
	cr_assert_eq(bl_ctx_new(&ctx, cfg), BL_OK, "%s", bl_error_last());
	bl_config_free(cfg);
	cr_assert_eq(bl_ctx_drop_database(ctx), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_ctx_create_database(ctx), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_migrate(ctx, NULL), BL_OK, "%s", bl_error_last());
	return ctx;
}

/* n subscribers made with SQL (only ids and consent matter for expansion);
 * every `no_sms`-th one (0: none) has no SMS consent. */
static void fake_users(bl_ctx *ctx, int n, int no_sms)
{
	char sql[600], consent[64] = "1";
	if (no_sms)
		snprintf(consent, sizeof consent, "seq %% %d <> 0", no_sms);
	snprintf(sql, sizeof sql,
		 "INSERT INTO users (name, phone_enc, phone_bidx, email_enc, email_bidx, consent_sms) "
		 "SELECT CONCAT('u', seq), 'x', UNHEX(MD5(CONCAT('p', seq))), 'x', UNHEX(MD5(CONCAT('e', seq))), "
		 "%s FROM seq_1_to_%d",
		 consent, n);
	tu_sql(ctx, sql);
}

/* A STATIC group of the users with id <= max_id. */
static void make_group(bl_ctx *ctx, const char *code, int max_id)
{
	char sql[300];
	snprintf(sql, sizeof sql, "INSERT INTO user_groups (code, name) VALUES ('%s', '%s')", code, code);
	tu_sql(ctx, sql);
	snprintf(sql, sizeof sql,
		 "INSERT INTO user_group_members (group_id, user_id) SELECT g.id, u.id FROM user_groups g "
		 "JOIN users u ON u.id <= %d WHERE g.code = '%s'", max_id, code);
	tu_sql(ctx, sql);
	/* rows written with SQL: the groups' member counters from them */
	cr_assert_eq(bl_group_recount(ctx), BL_OK, "%s", bl_error_last());
}

static int64_t reserve(bl_ctx *ctx, const char *group, const char *month, int64_t when, const char *at)
{
	bl_reservation_opts o;
	cr_assert_eq(bl_reservation_opts_init(&o, BL_RESERVATION_OPTS_VERSION), BL_OK);
	o.group_code = group;
	o.month = month;
	o.template_code = group ? "NOTICE_MAINTENANCE_SMS" : NULL;
	o.params_json = group ? NOTICE_PARAMS : NULL;
	o.scheduled_unix = when;
	o.scheduled_at = at;
	o.created_by = "test";
	int64_t id = 0;
	cr_assert_eq(bl_reservation_create(ctx, &o, &id), BL_OK, "%s", bl_error_last());
	cr_assert_gt(id, 0);
	return id;
}

static json_t *get(bl_ctx *ctx, int64_t id)
{
	char *s = NULL;
	cr_assert_eq(bl_reservation_get(ctx, id, &s), BL_OK, "%s", bl_error_last());
	json_t *j = json_loads(s, 0, NULL);
	cr_assert(j, "%s", s);
	bl_free(s);
	return j;
}

static const char *str(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static long long num(json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }

static long long q(bl_ctx *ctx, const char *fmt, long long a)
{
	char sql[512];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(sql, sizeof sql, fmt, a); /* fmt: this file's SQL with one %lld */
#pragma GCC diagnostic pop
	return tu_i64(ctx, sql);
}

/* The context's clock, in unix seconds. */
static int64_t now_s(bl_ctx *ctx) { return bl_ctx_now(ctx) / 1000000; }

/* ---- create / validate / read ---- */

Test(reservation, create_validates_and_reads, .timeout = 60)
{
	bl_ctx *ctx = fresh("resv_create", NULL);
	fake_users(ctx, 20, 0);
	make_group(ctx, "G1", 10);
	int64_t later = now_s(ctx) + 3600;
	bl_reservation_opts o;
	bl_reservation_opts_init(&o, BL_RESERVATION_OPTS_VERSION);
	o.template_code = "NOTICE_MAINTENANCE_SMS";
	o.params_json = NOTICE_PARAMS;
	o.scheduled_unix = later;
	cr_assert_eq(bl_reservation_create(ctx, &o, NULL), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "neither"), "%s", bl_error_last());
	o.group_code = "G1";
	o.month = "2026-10";
	cr_assert_eq(bl_reservation_create(ctx, &o, NULL), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "both"), "%s", bl_error_last());
	o.month = NULL;
	o.group_code = "NOPE";
	cr_assert_eq(bl_reservation_create(ctx, &o, NULL), BL_ENOTFOUND);
	cr_assert(strstr(bl_error_last(), "'NOPE'"), "%s", bl_error_last());
	o.group_code = "G1";
	o.params_json = "{\"startTime\":\"02:00\"}"; /* maintenanceDate, endTime missing */
	cr_assert_eq(bl_reservation_create(ctx, &o, NULL), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "{{maintenanceDate}}") || strstr(bl_error_last(), "{{endTime}}"), "%s",
		  bl_error_last());
	o.params_json = "[1]";
	cr_assert_eq(bl_reservation_create(ctx, &o, NULL), BL_EINVAL);
	o.params_json = NOTICE_PARAMS;
	o.template_code = "DEFAULT_BILLING_SMS";
	cr_assert_eq(bl_reservation_create(ctx, &o, NULL), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "BILLING template"), "%s", bl_error_last());
	o.template_code = "NOTICE_MAINTENANCE_SMS";
	o.scheduled_at = "2026-02-30 10:00";
	cr_assert_eq(bl_reservation_create(ctx, &o, NULL), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "YYYY-MM-DD HH:MM"), "%s", bl_error_last());
	o.scheduled_at = "2020-01-01 10:00";
	cr_assert_eq(bl_reservation_create(ctx, &o, NULL), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "in the past"), "%s", bl_error_last());
	o.scheduled_at = NULL;
	/* a month: only the default billing templates, no params */
	bl_reservation_opts m;
	bl_reservation_opts_init(&m, BL_RESERVATION_OPTS_VERSION);
	m.month = "2026-10";
	m.template_code = "NOTICE_MAINTENANCE_SMS";
	cr_assert_eq(bl_reservation_create(ctx, &m, NULL), BL_EINVAL);
	m.template_code = NULL;
	m.params_json = "{}";
	cr_assert_eq(bl_reservation_create(ctx, &m, NULL), BL_EINVAL);
	m.params_json = NULL;
	m.month = "2026-13";
	cr_assert_eq(bl_reservation_create(ctx, &m, NULL), BL_EINVAL);

	/* valid ones: a group at a Seoul wall-clock time, a month now */
	o.scheduled_at = "2099-01-01 09:30";
	cr_assert_eq(bl_reservation_create(ctx, &o, NULL), BL_EINVAL); /* more than a year ahead */
	char at[32];
	cr_assert_eq(bl_clock_format(later * 1000000, at, sizeof at), BL_OK);
	o.scheduled_at = at;
	int64_t id = 0;
	cr_assert_eq(bl_reservation_create(ctx, &o, &id), BL_OK, "%s", bl_error_last());
	m.month = "2026-10";
	int64_t mid = reserve(ctx, NULL, "2026-10", 0, NULL);
	json_t *r = get(ctx, id);
	cr_assert_str_eq(str(r, "status"), "WAITING");
	cr_assert_str_eq(str(r, "scheduled_at"), at);
	cr_assert_str_eq(str(r, "group_code"), "G1");
	cr_assert_str_eq(str(r, "channel"), "SMS");
	cr_assert_str_eq(str(r, "purpose"), "NOTICE");
	cr_assert_eq(num(r, "target_count"), 10);
	cr_assert_str_eq(str(json_object_get(r, "params"), "startTime"), "02:00");
	json_decref(r);
	r = get(ctx, mid);
	cr_assert_str_eq(str(r, "month"), "2026-10");
	cr_assert_str_eq(str(r, "template_code"), "DEFAULT_BILLING_EMAIL");
	json_decref(r);
	cr_assert_eq(bl_reservation_get(ctx, 999, &(char *){ NULL }), BL_ENOTFOUND);

	char *s = NULL;
	cr_assert_eq(bl_reservation_list(ctx, "WAITING", 0, 10, &s), BL_OK, "%s", bl_error_last());
	json_t *l = json_loads(s, 0, NULL);
	bl_free(s);
	cr_assert_eq(json_array_size(l), 2);
	json_decref(l);
	cr_assert_eq(bl_reservation_list(ctx, "WAITING", id, 10, &s), BL_OK);
	l = json_loads(s, 0, NULL);
	bl_free(s);
	cr_assert_eq(json_array_size(l), 1, "cursor");
	json_decref(l);
	cr_assert_eq(bl_reservation_list(ctx, "DONE", 0, 10, &s), BL_EINVAL);
	cr_assert_eq(bl_reservation_list(ctx, NULL, 0, 0, &s), BL_EINVAL);
	tu_ctx_drop(ctx);
}

/* ---- exactly once with three racing processes; flat memory ---- */

typedef struct {
	long long expanded, rss_delta_kb;
	int rc;
} child_report;

static long max_rss_kb(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return u.ru_maxrss;
}

/* In a child: own context, wait for the go, tick once, report. */
static void child_tick(const bl_config *cfg, int go_fd, int out_fd, int64_t now)
{
	bl_ctx *c = NULL;
	child_report rep = { 0, 0, bl_ctx_new(&c, cfg) };
	if (rep.rc == BL_OK)
		rep.rc = bl_ctx_ping_db(c); /* connect before measuring */
	char b;
	if (go_fd >= 0 && read(go_fd, &b, 1) < 0)
		rep.rc = BL_EIO;
	long before = max_rss_kb();
	int64_t n = 0;
	if (rep.rc == BL_OK)
		rep.rc = bl_reservation_tick(c, now, &n);
	rep.expanded = n;
	rep.rss_delta_kb = max_rss_kb() - before;
	if (write(out_fd, &rep, sizeof rep) != sizeof rep)
		_exit(3);
	bl_ctx_free(c);
	_exit(0);
}

/* Fork k children ticking at once; sum their reports. */
static void race(bl_ctx *ctx, int k, int64_t now, child_report *reps)
{
	int go[2], out[2];
	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(out), 0);
	pid_t pids[8];
	for (int i = 0; i < k; i++) {
		pids[i] = fork();
		cr_assert_neq(pids[i], -1);
		if (pids[i] == 0) {
			close(go[1]);
			close(out[0]);
			child_tick(bl_ctx_config(ctx), go[0], out[1], now);
		}
	}
	close(go[0]);
	close(out[1]);
	usleep(200 * 1000); /* every child connected and waiting */
	close(go[1]);       /* go: EOF for all at once */
	for (int i = 0; i < k; i++)
		cr_assert_eq(read(out[0], &reps[i], sizeof reps[i]), (ssize_t)sizeof reps[i]);
	close(out[0]);
	for (int i = 0; i < k; i++) {
		int st;
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}

Test(reservation, fifty_thousand_exactly_once_three_processes, .timeout = 120)
{
	const char *s[] = { "BILLING_RESERVATION_CHUNK", "1000", NULL };
	bl_ctx *ctx = fresh("resv_race", s);
	fake_users(ctx, 50000, 0);
	make_group(ctx, "BIG", 50000);
	make_group(ctx, "SMALL", 5000);
	int64_t id = reserve(ctx, "BIG", NULL, 0, NULL);
	child_report reps[3];
	race(ctx, 3, 0, reps);
	long long sum = 0, winners = 0, delta50 = 0;
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(reps[i].rc, BL_OK, "child %d: rc %d", i, reps[i].rc);
		sum += reps[i].expanded;
		if (reps[i].expanded) {
			winners++;
			delta50 = reps[i].rss_delta_kb;
		}
	}
	cr_assert_eq(sum, 50000);
	cr_assert_eq(winners, 1, "one process expands it");
	cr_assert_eq(q(ctx, "SELECT COUNT(*) FROM messages WHERE reservation_id = %lld", id), 50000);
	cr_assert_eq(q(ctx, "SELECT COUNT(DISTINCT user_id) FROM messages WHERE reservation_id = %lld", id), 50000);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages"), 50000);
	cr_assert_eq(q(ctx, "SELECT COUNT(*) FROM messages WHERE reservation_id = %lld AND channel = 'SMS' "
			    "AND purpose = 'NOTICE' AND status = 'WAITING' AND params_json IS NOT NULL", id), 50000);
	json_t *r = get(ctx, id);
	cr_assert_str_eq(str(r, "status"), "SENT");
	cr_assert_eq(num(r, "message_count"), 50000);
	cr_assert_eq(num(r, "expanded_to_user_id"), 50000);
	cr_assert(str(r, "finished_at"));
	json_decref(r);
	/* ticking again changes nothing */
	int64_t n = -1;
	cr_assert_eq(bl_reservation_tick(ctx, 0, &n), BL_OK, "%s", bl_error_last());
	cr_assert_eq(n, 0);

	/* memory: a 5,000 expansion in one child versus the 50,000 one above */
	int64_t small = reserve(ctx, "SMALL", NULL, 0, NULL);
	child_report one;
	race(ctx, 1, 0, &one);
	cr_assert_eq(one.rc, BL_OK);
	cr_assert_eq(one.expanded, 5000);
	cr_assert_eq(q(ctx, "SELECT message_count FROM message_reservations WHERE id = %lld", small), 5000);
	cr_log_info("max RSS growth: 50,000 targets %lld KiB, 5,000 targets %lld KiB", delta50, one.rss_delta_kb);
#ifndef UNDER_ASAN
	/* chunks of 1,000: the peak does not grow with the group (10x targets) */
	cr_assert_lt(delta50, 2 * one.rss_delta_kb + 2048, "50k: %lld KiB, 5k: %lld KiB", delta50,
		     one.rss_delta_kb);
#endif
	tu_ctx_drop(ctx);
}

/* ---- cancel ---- */

Test(reservation, cancel_rules, .timeout = 60)
{
	bl_ctx *ctx = fresh("resv_cancel", NULL);
	fake_users(ctx, 300, 0);
	make_group(ctx, "G", 300);
	int64_t now = now_s(ctx);
	int64_t a = reserve(ctx, "G", NULL, now + 3600, NULL);
	cr_assert_eq(bl_reservation_cancel(ctx, a), BL_OK, "%s", bl_error_last());
	int64_t n = -1;
	cr_assert_eq(bl_reservation_tick(ctx, now + 7200, &n), BL_OK, "%s", bl_error_last());
	cr_assert_eq(n, 0);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages"), 0, "a canceled reservation sends nothing");
	json_t *r = get(ctx, a);
	cr_assert_str_eq(str(r, "status"), "CANCELED");
	cr_assert(str(r, "canceled_at"));
	json_decref(r);
	cr_assert_eq(bl_reservation_cancel(ctx, a), BL_ECONFLICT);
	cr_assert(strstr(bl_error_last(), "already CANCELED"), "%s", bl_error_last());

	/* not yet due: a tick before its time leaves it WAITING */
	int64_t b = reserve(ctx, "G", NULL, now + 3600, NULL);
	cr_assert_eq(bl_reservation_tick(ctx, now, &n), BL_OK);
	cr_assert_eq(n, 0);
	cr_assert_eq(bl_reservation_tick(ctx, now + 3601, &n), BL_OK, "%s", bl_error_last());
	cr_assert_eq(n, 300);
	cr_assert_eq(bl_reservation_cancel(ctx, b), BL_ECONFLICT);
	cr_assert(strstr(bl_error_last(), "is SENT") && strstr(bl_error_last(), "300 message(s)") &&
		  strstr(bl_error_last(), "only WAITING"), "%s", bl_error_last());
	cr_assert_eq(q(ctx, "SELECT COUNT(*) FROM messages WHERE reservation_id = %lld", b), 300);

	/* PROCESSING (an expansion under way) is refused too */
	int64_t c = reserve(ctx, "G", NULL, now + 3600, NULL);
	char sql[200];
	snprintf(sql, sizeof sql, "UPDATE message_reservations SET status = 'PROCESSING', started_at = NOW(3) "
				  "WHERE id = %lld", (long long)c);
	tu_sql(ctx, sql);
	cr_assert_eq(bl_reservation_cancel(ctx, c), BL_ECONFLICT);
	cr_assert(strstr(bl_error_last(), "PROCESSING"), "%s", bl_error_last());
	cr_assert_eq(bl_reservation_cancel(ctx, 12345), BL_ENOTFOUND);
	tu_ctx_drop(ctx);
}

/* ---- crash mid-expansion: resume from the checkpoint ---- */

Test(reservation, resumes_from_checkpoint, .timeout = 60)
{
	const char *s[] = { "BILLING_RESERVATION_CHUNK", "100", NULL };
	bl_ctx *ctx = fresh("resv_resume", s);
	fake_users(ctx, 1000, 10); /* every 10th without SMS consent */
	make_group(ctx, "G", 1000);
	int64_t id = reserve(ctx, "G", NULL, 0, NULL);
	/* a process claimed it and died after chunks up to user 400 (its lock died with it) */
	char sql[600];
	snprintf(sql, sizeof sql,
		 "INSERT INTO messages (idempotency_key, user_id, reservation_id, template_id, channel, purpose) "
		 "SELECT CONCAT('resv:%lld:', u.id), u.id, %lld, r.template_id, 'SMS', 'NOTICE' FROM users u "
		 "JOIN message_reservations r ON r.id = %lld WHERE u.id <= 400 AND u.consent_sms = 1",
		 (long long)id, (long long)id, (long long)id);
	tu_sql(ctx, sql);
	snprintf(sql, sizeof sql,
		 "UPDATE message_reservations SET status = 'PROCESSING', expanded_to_user_id = 400, "
		 "message_count = 360, skipped_count = 40, claimed_by = 'dead:1' WHERE id = %lld", (long long)id);
	tu_sql(ctx, sql);
	int64_t n = 0;
	cr_assert_eq(bl_reservation_tick(ctx, 0, &n), BL_OK, "%s", bl_error_last());
	cr_assert_eq(n, 540, "the remaining 600 targets less 60 without consent");
	json_t *r = get(ctx, id);
	cr_assert_str_eq(str(r, "status"), "SENT");
	cr_assert_eq(num(r, "message_count"), 900);
	cr_assert_eq(num(r, "skipped_count"), 100);
	cr_assert_str_neq(str(r, "claimed_by"), "dead:1");
	json_decref(r);
	cr_assert_eq(q(ctx, "SELECT COUNT(*) FROM messages WHERE reservation_id = %lld", id), 900);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages m JOIN users u ON u.id = m.user_id "
				 "WHERE u.consent_sms = 0"), 0);

	/* a real crash: kill -9 an expanding process, then tick again */
	tu_sql(ctx, "DELETE FROM user_group_members");
	tu_sql(ctx, "INSERT INTO users (name, phone_enc, phone_bidx, email_enc, email_bidx) "
		    "SELECT CONCAT('v', seq), 'x', UNHEX(MD5(CONCAT('q', seq))), 'x', UNHEX(MD5(CONCAT('f', seq))) "
		    "FROM seq_1_to_5000");
	tu_sql(ctx, "INSERT INTO user_group_members SELECT g.id, u.id FROM user_groups g JOIN users u WHERE g.code = 'G'");
	int64_t big = reserve(ctx, "G", NULL, 0, NULL);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		bl_ctx *c = NULL;
		if (bl_ctx_new(&c, bl_ctx_config(ctx)))
			_exit(2);
		bl_reservation_tick(c, 0, NULL);
		_exit(0);
	}
	bool killed_midway = false;
	for (int i = 0; i < 3000; i++) {
		long long m = q(ctx, "SELECT COUNT(*) FROM messages WHERE reservation_id = %lld", big);
		if (m > 0) {
			kill(pid, SIGKILL);
			killed_midway = m < 5000;
			break;
		}
		usleep(2000);
	}
	waitpid(pid, NULL, 0);
	cr_log_info("killed mid-way: %s", killed_midway ? "yes" : "no (it finished first)");
	/* the server frees the dead process's lock once it notices the connection is gone */
	long long total = 0;
	for (int i = 0; i < 200; i++) {
		cr_assert_eq(bl_reservation_tick(ctx, 0, &n), BL_OK, "%s", bl_error_last());
		total += n;
		if (q(ctx, "SELECT status = 'SENT' FROM message_reservations WHERE id = %lld", big))
			break;
		usleep(50 * 1000);
	}
	r = get(ctx, big);
	cr_assert_str_eq(str(r, "status"), "SENT");
	long long expect = tu_i64(ctx, "SELECT COUNT(*) FROM users u JOIN user_group_members m ON m.user_id = u.id "
				       "WHERE u.consent_sms = 1");
	cr_assert_eq(num(r, "message_count"), expect);
	cr_assert_eq(q(ctx, "SELECT COUNT(*) FROM messages WHERE reservation_id = %lld", big), expect);
	if (killed_midway)
		cr_assert_lt(total, expect, "the resumed tick only added the rest");
	json_decref(r);
	tu_ctx_drop(ctx);
}

/* ---- quiet hours ---- */

Test(reservation, quiet_window_math)
{
	bl_config *cfg = NULL;
	cr_assert_eq(bl_config_new(&cfg), BL_OK);
	bl__quiet qh;
	bl__quiet_load(cfg, &qh); /* defaults: 21:00-08:00, NOTICE SMS only */
	int64_t d = tu_seoul(2026, 12, 1, 0, 0, 0) * 1000, H = 3600 * 1000LL, next8 = d + 32 * H;
	cr_assert_eq(bl__quiet_release_ms(&qh, "SMS", "NOTICE", d + 20 * H + 59 * 60000), d + 20 * H + 59 * 60000);
	cr_assert_eq(bl__quiet_release_ms(&qh, "SMS", "NOTICE", d + 21 * H), next8, "21:00 is inside");
	cr_assert_eq(bl__quiet_release_ms(&qh, "SMS", "NOTICE", d + 23 * H + 59 * 60000), next8);
	cr_assert_eq(bl__quiet_release_ms(&qh, "SMS", "NOTICE", d + 3 * H), d + 8 * H, "after midnight");
	cr_assert_eq(bl__quiet_release_ms(&qh, "SMS", "NOTICE", d + 8 * H - 1), d + 8 * H);
	cr_assert_eq(bl__quiet_release_ms(&qh, "SMS", "NOTICE", d + 8 * H), d + 8 * H, "08:00 is outside");
	cr_assert_eq(bl__quiet_release_ms(&qh, "SMS", "BILLING", d + 23 * H), d + 23 * H, "BILLING is not held");
	cr_assert_eq(bl__quiet_release_ms(&qh, "EMAIL", "NOTICE", d + 23 * H), d + 23 * H);
	/* configured: a daytime window, BILLING e-mail held too */
	cr_assert_eq(bl_config_set(cfg, "BILLING_QUIET_START", "12:00"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_QUIET_END", "13:30"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_QUIET_EMAIL_BILLING", "1"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_QUIET_END", "25:00"), BL_ECONFIG);
	cr_assert_eq(bl_config_set(cfg, "BILLING_QUIET_SMS_NOTICE", "2"), BL_ECONFIG);
	bl__quiet_load(cfg, &qh);
	cr_assert_eq(bl__quiet_release_ms(&qh, "EMAIL", "BILLING", d + 12 * H + 5), d + 13 * H + 30 * 60000);
	cr_assert_eq(bl__quiet_release_ms(&qh, "EMAIL", "BILLING", d + 23 * H), d + 23 * H);
	cr_assert_eq(bl__quiet_release_ms(&qh, "SMS", "NOTICE", d + 12 * H), d + 13 * H + 30 * 60000);
	/* equal start and end: no window at all */
	cr_assert_eq(bl_config_set(cfg, "BILLING_QUIET_END", "12:00"), BL_OK);
	bl__quiet_load(cfg, &qh);
	cr_assert_eq(bl__quiet_release_ms(&qh, "SMS", "NOTICE", d + 12 * H), d + 12 * H);
	bl_config_free(cfg);
}

/* Stop the context's clock at unix_s: the library's decisions and its
 * connection's NOW(3) (the relay's "due") are of that instant. */
static void set_clock(bl_ctx *ctx, int64_t unix_s)
{
	cr_assert_eq(bl_ctx_set_time(ctx, unix_s * 1000000), BL_OK, "%s", bl_error_last());
}

static int64_t publish(bl_ctx *ctx)
{
	int64_t n = -1;
	cr_assert_eq(bl_relay_publish(ctx, &n), BL_OK, "%s", bl_error_last());
	return n;
}

Test(reservation, quiet_hours_hold_notice_sms_until_the_window_ends, .timeout = 60)
{
	const char *s[] = { "BILLING_QUIET_START", "21:00", "BILLING_QUIET_END", "08:00", /* the defaults */
			    "BILLING_QUIET_SMS_NOTICE", "1", "BILLING_QUIET_EMAIL_NOTICE", "0",
			    "BILLING_QUIET_SMS_BILLING", "0", "BILLING_QUIET_EMAIL_BILLING", "0", NULL };
	bl_ctx *ctx = fresh("resv_quiet", s);
	/* the test's fixed clock: an hour before T (22:30 Asia/Seoul) */
	int64_t T = tu_seoul(2026, 12, 1, 22, 30, 0), end = tu_seoul(2026, 12, 2, 8, 0, 0);
	set_clock(ctx, T - 3600);
	bl_seed_opts so;
	bl_seed_opts_init(&so, BL_SEED_OPTS_VERSION);
	so.users = 60;
	so.month = "2026-10";
	so.seed = 3;
	cr_assert_eq(bl_seed_run(ctx, &so, NULL), BL_OK, "%s", bl_error_last());
	int64_t run = 0;
	cr_assert_eq(bl_batch_run(ctx, "2026-10", NULL, &run), BL_OK, "%s", bl_error_last());
	make_group(ctx, "G", 40);
	bl_template_opts t;
	bl_template_opts_init(&t, BL_TEMPLATE_OPTS_VERSION);
	t.code = "NOTICE_TEST_EMAIL";
	t.name = "notice e-mail";
	t.channel = BL_CHANNEL_EMAIL;
	t.purpose = BL_PURPOSE_NOTICE;
	t.subject = "안내";
	t.body_html = "<p>{{userName}}님, 안내드립니다.</p>";
	t.body_text = "{{userName}}님, 안내드립니다.";
	t.variables_json = "{\"userName\":{\"type\":\"string\",\"required\":true}}";
	cr_assert_eq(bl_template_save(ctx, &t, NULL, NULL), BL_OK, "%s", bl_error_last());

	/* at 22:30 Asia/Seoul, inside 21:00-08:00 */
	int64_t sms = reserve(ctx, "G", NULL, T - 600, NULL);
	bl_reservation_opts o;
	bl_reservation_opts_init(&o, BL_RESERVATION_OPTS_VERSION);
	o.group_code = "G";
	o.template_code = "NOTICE_TEST_EMAIL";
	o.scheduled_unix = T - 600;
	int64_t mail = 0;
	cr_assert_eq(bl_reservation_create(ctx, &o, &mail), BL_OK, "%s", bl_error_last());
	int64_t bill = 0;
	cr_assert_eq(bl_reservation_after_batch(ctx, run, NULL, &bill), BL_OK, "%s", bl_error_last());
	int64_t n = 0;
	cr_assert_eq(bl_reservation_tick(ctx, T, &n), BL_OK, "%s", bl_error_last());
	long long sms_n = q(ctx, "SELECT COUNT(*) FROM messages WHERE reservation_id = %lld", sms);
	long long mail_n = q(ctx, "SELECT COUNT(*) FROM messages WHERE reservation_id = %lld", mail);
	long long bill_n = q(ctx, "SELECT COUNT(*) FROM messages WHERE reservation_id = %lld", bill);
	cr_assert_gt(sms_n, 0);
	cr_assert_gt(mail_n, 0);
	cr_assert_gt(bill_n, 0);
	cr_assert_eq(n, sms_n + mail_n + bill_n);
	/* NOTICE SMS wait for 08:00; NOTICE e-mail and BILLING are due at once */
	char sql[300];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM messages WHERE reservation_id = %%lld AND "
				  "next_attempt_at = FROM_UNIXTIME(%lld)", (long long)end);
	cr_assert_eq(q(ctx, sql, sms), sms_n);
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM messages WHERE reservation_id = %%lld AND "
				  "next_attempt_at = FROM_UNIXTIME(%lld)", (long long)T);
	cr_assert_eq(q(ctx, sql, mail), mail_n);
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM messages WHERE reservation_id = %%lld AND "
				  "next_attempt_at <= FROM_UNIXTIME(%lld)", (long long)T);
	cr_assert_eq(q(ctx, sql, bill), bill_n);

	/* the relay at 22:31: everything but the NOTICE SMS goes out */
	set_clock(ctx, T + 60);
	cr_assert_eq(publish(ctx), mail_n + bill_n);
	/* a NOTICE SMS made elsewhere (manual send) is held by the relay itself */
	long long first_user = tu_i64(ctx, "SELECT MIN(id) FROM users");
	int64_t manual = 0;
	cr_assert_eq(bl_message_send(ctx, first_user, "NOTICE_MAINTENANCE_SMS", NOTICE_PARAMS, "quiet-1", &manual),
		     BL_OK, "%s", bl_error_last());
	cr_assert_eq(publish(ctx), 0);
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM messages WHERE id = %%lld AND published_at IS NULL AND "
				  "next_attempt_at = FROM_UNIXTIME(%lld)", (long long)end);
	cr_assert_eq(q(ctx, sql, manual), 1, "deferred to the window's end");
	/* 07:59:59 still nothing; 08:00 they all go */
	set_clock(ctx, end - 1);
	cr_assert_eq(publish(ctx), 0);
	set_clock(ctx, end);
	cr_assert_eq(publish(ctx), sms_n + 1);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE published_at IS NULL"), 0);
	tu_ctx_drop(ctx);
}

Test(reservation, quiet_hours_as_configured_hold_billing, .timeout = 60)
{
	const char *s[] = { "BILLING_QUIET_START", "21:00", "BILLING_QUIET_END", "08:00",
			    "BILLING_QUIET_EMAIL_BILLING", "1", "BILLING_QUIET_SMS_BILLING", "1",
			    "BILLING_QUIET_SMS_NOTICE", "0", NULL };
	bl_ctx *ctx = fresh("resv_quiet_cfg", s);
	/* the test's fixed clock: an hour before T (23:00 Asia/Seoul) */
	int64_t T = tu_seoul(2026, 12, 1, 23, 0, 0), end = tu_seoul(2026, 12, 2, 8, 0, 0);
	set_clock(ctx, T - 3600);
	bl_seed_opts so;
	bl_seed_opts_init(&so, BL_SEED_OPTS_VERSION);
	so.users = 40;
	so.month = "2026-10";
	cr_assert_eq(bl_seed_run(ctx, &so, NULL), BL_OK, "%s", bl_error_last());
	int64_t run = 0;
	cr_assert_eq(bl_batch_run(ctx, "2026-10", NULL, &run), BL_OK, "%s", bl_error_last());
	make_group(ctx, "G", 10);
	int64_t sms = reserve(ctx, "G", NULL, T - 60, NULL);
	cr_assert_eq(bl_reservation_tick(ctx, T, NULL), BL_OK, "%s", bl_error_last());
	int64_t bill = tu_i64(ctx, "SELECT id FROM message_reservations WHERE batch_run_id IS NOT NULL");
	char sql[300];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM messages WHERE reservation_id = %%lld AND "
				  "next_attempt_at <> FROM_UNIXTIME(%lld)", (long long)end);
	cr_assert_gt(q(ctx, "SELECT COUNT(*) FROM messages WHERE reservation_id = %lld", bill), 0);
	cr_assert_eq(q(ctx, sql, bill), 0, "BILLING held as configured");
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM messages WHERE reservation_id = %%lld AND "
				  "next_attempt_at = FROM_UNIXTIME(%lld)", (long long)T);
	long long sms_n = q(ctx, "SELECT COUNT(*) FROM messages WHERE reservation_id = %lld", sms);
	cr_assert_gt(sms_n, 0);
	cr_assert_eq(q(ctx, sql, sms), sms_n, "NOTICE SMS not held when configured off");
	set_clock(ctx, T + 1);
	cr_assert_eq(publish(ctx), sms_n, "only the NOTICE SMS are due");
	tu_ctx_drop(ctx);
}

/* ---- the billing reservation of a batch run ---- */

static bool stop_after_first;
static volatile int cancel_flag;
static void on_progress(const bl_batch_progress *p, void *payload)
{
	(void)p;
	(void)payload;
	if (stop_after_first)
		cancel_flag = 1;
}

Test(reservation, one_billing_reservation_per_completed_run, .timeout = 90)
{
	const char *s[] = { "BILLING_RESERVATION_DELAY_S", "300", NULL };
	bl_ctx *ctx = fresh("resv_batch", s);
	char *none = NULL;
	cr_assert_eq(bl_batch_current(ctx, &none), BL_OK, "%s", bl_error_last());
	cr_assert_str_eq(none, "null", "no run yet");
	bl_free(none);
	bl_seed_opts so;
	bl_seed_opts_init(&so, BL_SEED_OPTS_VERSION);
	so.users = 200;
	so.month = "2026-10";
	cr_assert_eq(bl_seed_run(ctx, &so, NULL), BL_OK, "%s", bl_error_last());
	/* a dry run makes none */
	bl_batch_opts o;
	bl_batch_opts_init(&o, BL_BATCH_OPTS_VERSION);
	o.mode = BL_BATCH_DRY_RUN;
	int64_t dry = 0;
	cr_assert_eq(bl_batch_run(ctx, "2026-10", &o, &dry), BL_OK, "%s", bl_error_last());
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM message_reservations"), 0);
	cr_assert_eq(bl_reservation_after_batch(ctx, dry, NULL, NULL), BL_ECONFLICT);
	cr_assert(strstr(bl_error_last(), "dry run"), "%s", bl_error_last());
	char *rj = NULL;
	cr_assert_eq(bl_batch_get(ctx, dry, &rj), BL_OK, "%s", bl_error_last());
	json_t *dj = json_loads(rj, 0, NULL);
	bl_free(rj);
	cr_assert(json_is_null(json_object_get(dj, "reservation")), "a dry run's reservation is null");
	json_decref(dj);
	/* the run to headline: the dry run while it is the only one */
	cr_assert_eq(bl_batch_current(ctx, &rj), BL_OK, "%s", bl_error_last());
	dj = json_loads(rj, 0, NULL);
	bl_free(rj);
	cr_assert_eq(num(dj, "id"), dry, "only the dry run");
	json_decref(dj);
	/* stopped after its first chunk: none; resumed to COMPLETED: one */
	bl_batch_opts_init(&o, BL_BATCH_OPTS_VERSION);
	o.chunk_size = 20;
	o.progress_cb = on_progress;
	o.cancel = &cancel_flag;
	stop_after_first = true;
	int64_t run = 0;
	cr_assert_eq(bl_batch_run(ctx, "2026-10", &o, &run), BL_ESTOPPED, "%s", bl_error_last());
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM message_reservations"), 0);
	cr_assert_eq(bl_reservation_after_batch(ctx, run, NULL, NULL), BL_ECONFLICT);
	cr_assert(strstr(bl_error_last(), "STOPPED"), "%s", bl_error_last());
	stop_after_first = false;
	cancel_flag = 0;
	/* a newer dry run does not take the headline from a real run */
	bl_batch_opts dro;
	bl_batch_opts_init(&dro, BL_BATCH_OPTS_VERSION);
	dro.mode = BL_BATCH_DRY_RUN;
	int64_t dry2 = 0;
	cr_assert_eq(bl_batch_run(ctx, "2026-10", &dro, &dry2), BL_OK, "%s", bl_error_last());
	cr_assert_gt(dry2, run);
	cr_assert_eq(bl_batch_current(ctx, &rj), BL_OK, "%s", bl_error_last());
	dj = json_loads(rj, 0, NULL);
	bl_free(rj);
	cr_assert_eq(num(dj, "id"), run, "the newest real run, not the newer dry run #%lld", (long long)dry2);
	cr_assert_str_eq(str(dj, "status"), "STOPPED");
	json_decref(dj);
	cr_assert_eq(bl_batch_resume(ctx, run, &o), BL_OK, "%s", bl_error_last());
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM message_reservations"), 1);
	int64_t id = tu_i64(ctx, "SELECT id FROM message_reservations");
	json_t *r = get(ctx, id);
	cr_assert_str_eq(str(r, "status"), "WAITING");
	cr_assert_str_eq(str(r, "month"), "2026-10");
	cr_assert_str_eq(str(r, "template_code"), "DEFAULT_BILLING_EMAIL");
	cr_assert_eq(num(r, "batch_run_id"), run);
	/* due BILLING_RESERVATION_DELAY_S after now, by the library's clock */
	int64_t at_us = 0;
	cr_assert_eq(bl_clock_parse(str(r, "scheduled_at"), &at_us), BL_OK, "%s", bl_error_last());
	long long delay = (long long)((at_us - bl_ctx_now(ctx)) / 1000000);
	cr_assert(delay >= 290 && delay <= 301, "due after BILLING_RESERVATION_DELAY_S: %lld s", delay);
	/* the run says when its statements go out (the demo's summary, batch status) */
	cr_assert_eq(bl_batch_get(ctx, run, &rj), BL_OK, "%s", bl_error_last());
	json_t *rr = json_object_get(dj = json_loads(rj, 0, NULL), "reservation");
	bl_free(rj);
	cr_assert_eq(num(rr, "id"), id);
	cr_assert_str_eq(str(rr, "status"), "WAITING");
	cr_assert_str_eq(str(rr, "scheduled_at"), str(r, "scheduled_at"));
	json_decref(dj);
	json_decref(r);
	/* again, and from two processes at once ("two schedulers see it"): still one */
	int64_t again = 0;
	cr_assert_eq(bl_reservation_after_batch(ctx, run, "2026-10", &again), BL_OK, "%s", bl_error_last());
	cr_assert_eq(again, id);
	cr_assert_eq(bl_reservation_after_batch(ctx, run, "2026-09", NULL), BL_EINVAL);
	pid_t pids[2];
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			bl_ctx *c = NULL;
			int64_t got = 0;
			int rc = bl_ctx_new(&c, bl_ctx_config(ctx));
			if (rc == BL_OK)
				rc = bl_reservation_after_batch(c, run, NULL, &got);
			_exit(rc == BL_OK && got == id ? 0 : 1);
		}
	}
	for (int i = 0; i < 2; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM message_reservations"), 1);
	/* not due yet; when due it enqueues the month's statements once */
	int64_t n = -1, now = now_s(ctx);
	cr_assert_eq(bl_reservation_tick(ctx, now, &n), BL_OK);
	cr_assert_eq(n, 0);
	cr_assert_eq(bl_reservation_tick(ctx, now + 301, &n), BL_OK, "%s", bl_error_last());
	long long statements = tu_i64(ctx, "SELECT COUNT(*) FROM statements WHERE target_month = '2026-10'");
	long long no_consent = tu_i64(ctx, "SELECT COUNT(*) FROM statements s JOIN users u ON u.id = s.user_id "
					   "WHERE u.consent_email = 0 AND u.consent_sms = 0");
	cr_assert_eq(n, statements - no_consent);
	r = get(ctx, id);
	cr_assert_str_eq(str(r, "status"), "SENT");
	cr_assert_eq(num(r, "message_count"), n);
	cr_assert_eq(num(r, "skipped_count"), no_consent);
	json_decref(r);
	cr_assert_eq(q(ctx, "SELECT COUNT(*) FROM messages WHERE reservation_id = %lld AND purpose = 'BILLING' "
			    "AND statement_id IS NOT NULL", id), n);
	/* a second (REISSUE-free) run of the month gets its own, which adds nothing */
	cr_assert_eq(bl_batch_run(ctx, "2026-10", NULL, &run), BL_OK, "%s", bl_error_last());
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM message_reservations"), 2);
	cr_assert_eq(bl_reservation_tick(ctx, now + 700, &n), BL_OK, "%s", bl_error_last());
	cr_assert_eq(n, 0, "enqueue is idempotent per statement");
	tu_ctx_drop(ctx);
}

/* ---- the worker-side scheduler ---- */

static volatile int worker_stop;
static void on_term(int sig)
{
	(void)sig;
	worker_stop = 1;
}

Test(reservation, worker_scheduler_runs_the_month_once_and_sends, .timeout = 120)
{
	/* the monthly slot is always past (day 1, 00:00); the month is the previous one */
	const char *s[] = { "BILLING_SCHEDULER", "1", "BILLING_BATCH_DAY", "1", "BILLING_BATCH_TIME", "00:00",
			    "BILLING_RESERVATION_DELAY_S", "0",
			    "BILLING_QUIET_SMS_NOTICE", "0", "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE", "0",
			    "BILLING_WORKER_THREADS", "2", NULL };
	bl_ctx *ctx = fresh("resv_worker", s);
	/* the test's clock runs from mid-March 10:00 Asia/Seoul, whatever the date:
	 * the slot of March is past, the month is February */
	tu_clock_start(ctx, tu_seoul(2027, 3, 15, 10, 0, 0));
	char month[8];
	cr_assert_eq(bl_clock_month(bl_ctx_now(ctx), -1, month), BL_OK);
	cr_assert_str_eq(month, "2027-02");
	bl_seed_opts so;
	bl_seed_opts_init(&so, BL_SEED_OPTS_VERSION);
	so.users = 150;
	so.month = month;
	cr_assert_eq(bl_seed_run(ctx, &so, NULL), BL_OK, "%s", bl_error_last());
	make_group(ctx, "G", 30);
	int64_t notice = reserve(ctx, "G", NULL, 0, NULL);
	pid_t pids[2];
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		cr_assert_neq(pids[i], -1);
		if (pids[i] == 0) {
			signal(SIGTERM, on_term);
			bl_ctx *c = NULL;
			if (bl_ctx_new(&c, bl_ctx_config(ctx)))
				_exit(2);
			tu_clock_use(c);
			bl_worker_opts o;
			bl_worker_opts_init(&o, BL_WORKER_OPTS_VERSION);
			o.stop = &worker_stop;
			int rc = bl_worker_run(c, &o);
			bl_ctx_free(c);
			_exit(rc == BL_OK ? 0 : 1);
		}
	}
	/* the AUTO run, its billing reservation, both reservations sent, every message delivered */
	bool done = false;
	for (int i = 0; i < 600 && !done; i++) {
		usleep(100 * 1000);
		done = tu_i64(ctx, "SELECT COUNT(*) FROM message_reservations WHERE status = 'SENT'") == 2 &&
		       tu_i64(ctx, "SELECT COUNT(*) FROM messages WHERE status <> 'SUCCESS'") == 0;
	}
	for (int i = 0; i < 2; i++)
		kill(pids[i], SIGTERM);
	for (int i = 0; i < 2; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "worker %d", i);
	}
	cr_assert(done, "reservations/messages not done in time");
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM batch_runs WHERE target_month = '%s' AND created_by = 'AUTO' "
				  "AND status = 'COMPLETED'", month);
	cr_assert_eq(tu_i64(ctx, sql), 1, "the monthly run, once across two workers");
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM batch_runs"), 1);
	int64_t bill = tu_i64(ctx, "SELECT id FROM message_reservations WHERE batch_run_id IS NOT NULL");
	long long statements = tu_i64(ctx, "SELECT COUNT(*) FROM statements");
	cr_assert_gt(statements, 100);
	long long no_consent = tu_i64(ctx, "SELECT COUNT(*) FROM statements s JOIN users u ON u.id = s.user_id "
					   "WHERE u.consent_email = 0 AND u.consent_sms = 0");
	cr_assert_eq(q(ctx, "SELECT COUNT(*) FROM messages WHERE reservation_id = %lld", bill), statements - no_consent);
	long long members = tu_i64(ctx, "SELECT COUNT(*) FROM user_group_members m JOIN users u ON u.id = m.user_id "
					"JOIN user_groups g ON g.id = m.group_id WHERE g.code = 'G' AND u.consent_sms = 1");
	cr_assert_eq(q(ctx, "SELECT COUNT(*) FROM messages WHERE reservation_id = %lld", notice), members);
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages"), tu_i64(ctx, "SELECT COUNT(*) FROM message_ledger"),
		     "each message delivered once");
	tu_ctx_drop(ctx);
}
