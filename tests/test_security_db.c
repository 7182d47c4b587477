/*
 * Security findings that need the real servers: LOCAL INFILE refused on
 * every connection but the seed generator's (and there only its stream),
 * TLS settings of the MariaDB link, the login backoff (per account and
 * client, counted before the password is checked, normalised names), the
 * absolute session lifetime, sessions ended by a password change, and no
 * typed-but-unknown user name in clear in the audit log.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"
#include "internal.h"
#include "db.h"
#include "seed_private.h"
#include "stream_private.h"

#define EXPECT_MSG(needle) \
	cr_expect(strstr(bl_error_last(), (needle)), "message '%s' lacks '%s'", bl_error_last(), (needle))

static bl_ctx *ctx;

static void setup(void) { ctx = tu_ctx_fresh("security_db"); }
static void teardown(void)
{
	tu_ctx_drop(ctx);
	ctx = NULL;
}

/* ---- LOCAL INFILE ---- */

Test(mariadb_link, local_infile_is_refused_except_for_the_seed_stream, .init = setup, .fini = teardown)
{
	tu_sql(ctx, "CREATE TABLE infile_probe (line TEXT)");
	MYSQL *db = bl__ctx_db(ctx);
	cr_assert(db, "%s", bl_error_last());
	/* /etc/hostname: any readable file; a rogue server would ask for .env */
	cr_expect_neq(bl__db_query(db, "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE infile_probe"), BL_OK,
		      "an ordinary connection read a local file for the server");
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM infile_probe"), 0);

	MYSQL *seed = bl__seed_connect(bl_ctx_config(ctx), bl_ctx_now(ctx));
	cr_assert(seed, "%s", bl_error_last());
	cr_expect_neq(bl__db_query(seed, "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE infile_probe"), BL_OK,
		      "the seed's connection read a local file");
	EXPECT_MSG("not the seed's stream");
	cr_expect_neq(bl__db_query(seed, "LOAD DATA LOCAL INFILE 'bl-seed-users' INTO TABLE infile_probe"), BL_OK,
		      "outside a load, even the stream's name is refused");
	mysql_close(seed);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM infile_probe"), 0);

	/* the generator itself still loads through its stream */
	bl_seed_opts so;
	cr_assert_eq(bl_seed_opts_init(&so, BL_SEED_OPTS_VERSION), BL_OK);
	so.users = 50;
	so.month = "2026-11";
	cr_assert_eq(bl_seed_run(ctx, &so, NULL), BL_OK, "%s", bl_error_last());
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM users"), 50);
}

Test(mariadb_link, tls_settings, .init = setup, .fini = teardown)
{
	bl_config *cfg = tu_config("security_db");
	bl_ctx *c = NULL;
	cr_assert_eq(bl_config_set(cfg, "MYSQL_TLS", "1"), BL_OK);
	cr_assert_eq(bl_ctx_new(&c, cfg), BL_OK);
	cr_expect_null(bl__ctx_db(c));
	cr_expect_eq(bl_error_last_code(), BL_ECONFIG);
	EXPECT_MSG("MYSQL_TLS_CA");
	bl_ctx_free(c);

	cr_assert_eq(bl_config_set(cfg, "MYSQL_TLS_CA", "/nonexistent/ca.pem"), BL_OK);
	cr_assert_eq(bl_ctx_new(&c, cfg), BL_OK);
	cr_expect_null(bl__ctx_db(c));
	EXPECT_MSG("cannot read '/nonexistent/ca.pem'");
	bl_ctx_free(c);

	/* required but the private server speaks no TLS: refused, never plain */
	cr_assert_eq(bl_config_set(cfg, "MYSQL_TLS_CA", ""), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "MYSQL_TLS_VERIFY", "0"), BL_OK);
	cr_assert_eq(bl_ctx_new(&c, cfg), BL_OK);
	cr_expect_null(bl__ctx_db(c), "a connection without TLS was accepted with MYSQL_TLS=1");
	cr_expect_eq(bl_error_last_code(), BL_EDB);
	bl_ctx_free(c);

	cr_expect_eq(bl_config_set(cfg, "MYSQL_TLS", "2"), BL_ECONFIG);
	cr_assert_eq(bl_config_set(cfg, "MYSQL_TLS", "0"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "MYSQL_LOCK_WAIT_TIMEOUT", "3"), BL_OK);
	cr_assert_eq(bl_ctx_new(&c, cfg), BL_OK);
	MYSQL *db = bl__ctx_db(c);
	cr_assert(db, "%s", bl_error_last());
	int64_t v = 0;
	bool found = false;
	cr_assert_eq(bl__db_i64(db, "SELECT @@SESSION.innodb_lock_wait_timeout", NULL, 0, &v, &found), BL_OK);
	cr_expect_eq(v, 3);
	bl_ctx_free(c);
	bl_config_free(cfg);
}

/* ---- logins ---- */

#define PW "correct horse battery"

static bl_ctx *login_ctx(const char *name, const char *max_fails)
{
	bl_config *cfg = tu_config(name);
	cr_assert_eq(bl_config_set(cfg, "BILLING_PWHASH_FAST", "1"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_LOGIN_MAX_FAILS", max_fails), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_LOGIN_WINDOW_S", "60"), BL_OK);
	bl_ctx *c = NULL;
	cr_assert_eq(bl_ctx_new(&c, cfg), BL_OK);
	bl_config_free(cfg);
	return c;
}

static int try_login(bl_ctx *c, const char *user, const char *pw, const char *client, int *retry)
{
	bl_login_opts o;
	bl_login_opts_init(&o, BL_LOGIN_OPTS_VERSION);
	o.username = user;
	o.password = pw;
	o.client = client;
	char sid[BL_SESSION_TOKEN_LEN + 1];
	bl_session s;
	return bl_session_login(c, &o, sid, &s, retry);
}

Test(login, backoff_per_account_and_client, .init = setup, .fini = teardown)
{
	bl_ctx *c = login_ctx("security_db", "2");
	cr_assert_eq(bl_admin_create(c, "admin", PW, BL_ROLE_ADMIN, NULL), BL_OK, "%s", bl_error_last());
	int retry = 0;
	/* two free failures, then one attempt per backoff (1 s, 2 s, …) */
	for (int i = 0; i < 2; i++) {
		cr_expect_eq(try_login(c, "admin", "wrong password", "10.0.0.66", &retry), BL_EAUTH);
		cr_expect_eq(retry, 0);
	}
	cr_expect_eq(try_login(c, "ADMIN ", PW, "10.0.0.66", &retry), BL_EAUTH,
		     "'ADMIN ' is the same account: in its backoff, not checked");
	cr_expect_eq(retry, 1);
	EXPECT_MSG("try again in");
	/* the real admin elsewhere is not locked out */
	cr_expect_eq(try_login(c, "admin", PW, "10.0.0.7", &retry), BL_OK, "%s", bl_error_last());
	/* once the backoff has passed the attacker's client gets one more guess */
	sleep(2);
	cr_expect_eq(try_login(c, "admin", "wrong password", "10.0.0.66", &retry), BL_EAUTH);
	cr_expect_eq(retry, 0);
	cr_expect_eq(try_login(c, "admin", "wrong password", "10.0.0.66", &retry), BL_EAUTH);
	cr_expect_eq(retry, 2, "the backoff doubles (%d s)", retry);
	cr_expect_eq(tu_i64(c, "SELECT COUNT(*) FROM audit_log WHERE action = 'login.failed'"), 3);
	cr_expect_geq(tu_i64(c, "SELECT COUNT(*) FROM audit_log WHERE action = 'login.refused'"), 2);
	bl_ctx_free(c);
}

typedef struct {
	int rc, retry;
} guess;

static void *guess_main(void *p)
{
	guess *g = p;
	bl_ctx *c = login_ctx("security_db", "2");
	g->rc = try_login(c, "admin", "wrong password", "10.0.0.99", &g->retry);
	bl_ctx_free(c);
	return NULL;
}

/* Counted before the check: 12 parallel guesses get the 2 free ones and at
 * most 1 through the gate. */
Test(login, parallel_requests_get_no_extra_guesses, .init = setup, .fini = teardown)
{
	bl_ctx *c = login_ctx("security_db", "2");
	cr_assert_eq(bl_admin_create(c, "admin", PW, BL_ROLE_ADMIN, NULL), BL_OK, "%s", bl_error_last());
	enum { N = 12 };
	pthread_t th[N];
	guess g[N];
	memset(g, 0, sizeof g);
	for (int i = 0; i < N; i++)
		pthread_create(&th[i], NULL, guess_main, &g[i]);
	int checked = 0, refused = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(g[i].rc, BL_EAUTH);
		if (g[i].retry > 0)
			refused++;
		else
			checked++;
	}
	cr_expect(checked >= 2 && checked <= 3, "%d passwords checked of %d parallel attempts", checked, N);
	cr_expect_eq(refused, N - checked);
	cr_expect_eq(tu_i64(c, "SELECT COUNT(*) FROM audit_log WHERE action = 'login.failed'"), checked);
	bl_ctx_free(c);
}

Test(login, unknown_names_are_not_audited_in_clear, .init = setup, .fini = teardown)
{
	bl_ctx *c = login_ctx("security_db", "5");
	cr_assert_eq(bl_admin_create(c, "admin", PW, BL_ROLE_ADMIN, NULL), BL_OK, "%s", bl_error_last());
	int retry = 0;
	cr_expect_eq(try_login(c, "Tr0ub4dor&3-secret", "x", "10.0.0.5", &retry), BL_EAUTH);
	cr_expect_eq(try_login(c, "admin", "wrong password", "10.0.0.5", &retry), BL_EAUTH);
	cr_expect_eq(tu_i64(c, "SELECT COUNT(*) FROM audit_log WHERE actor LIKE '%Tr0ub4dor%' "
			       "OR detail_json LIKE '%Tr0ub4dor%'"), 0,
		     "a password typed as the user name was stored in clear");
	cr_expect_eq(tu_i64(c, "SELECT COUNT(*) FROM audit_log WHERE actor LIKE 'unknown:%' "
			       "AND action = 'login.failed'"), 1);
	cr_expect_eq(tu_i64(c, "SELECT COUNT(*) FROM audit_log WHERE actor = 'admin' AND action = 'login.failed'"), 1);
	bl_ctx_free(c);
}

/* ---- sessions ---- */

Test(sessions, absolute_lifetime_and_password_change, .init = setup, .fini = teardown)
{
	bl_config *cfg = tu_config("security_db");
	cr_assert_eq(bl_config_set(cfg, "BILLING_PWHASH_FAST", "1"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_SESSION_TTL_S", "3600"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_SESSION_MAX_S", "7200"), BL_OK);
	bl_ctx *c = NULL;
	cr_assert_eq(bl_ctx_new(&c, cfg), BL_OK);
	bl_config_free(cfg);
	int64_t t0 = tu_seoul(2027, 3, 2, 9, 0, 0), id = 0;
	bl_ctx_set_time(c, t0 * 1000000);
	cr_assert_eq(bl_admin_create(c, "oper", PW, BL_ROLE_OPERATOR, &id), BL_OK, "%s", bl_error_last());
	char sid[BL_SESSION_TOKEN_LEN + 1];
	bl_session s;
	cr_assert_eq(bl_session_create(c, id, "10.0.0.1", sid, &s), BL_OK, "%s", bl_error_last());
	cr_expect_eq(s.expires_at, t0 + 3600);
	/* busy all along: the idle expiry slides, the lifetime does not */
	for (int64_t at = 3000; at <= 6000; at += 3000) {
		bl_ctx_set_time(c, (t0 + at) * 1000000);
		cr_assert_eq(bl_session_check(c, sid, &s), BL_OK, "at +%lld s: %s", (long long)at, bl_error_last());
	}
	cr_expect_eq(s.expires_at, t0 + 7200, "the expiry stops at the lifetime");
	bl_ctx_set_time(c, (t0 + 7199) * 1000000);
	cr_expect_eq(bl_session_check(c, sid, &s), BL_OK, "%s", bl_error_last());
	bl_ctx_set_time(c, (t0 + 7201) * 1000000);
	cr_expect_eq(bl_session_check(c, sid, &s), BL_EAUTH, "a session outlived BILLING_SESSION_MAX_S");

	/* a new password ends the sessions of the old one (and only that admin's) */
	int64_t other = 0;
	cr_assert_eq(bl_admin_create(c, "other", PW, BL_ROLE_VIEWER, &other), BL_OK);
	char sid2[BL_SESSION_TOKEN_LEN + 1], sid3[BL_SESSION_TOKEN_LEN + 1];
	cr_assert_eq(bl_session_create(c, id, "10.0.0.1", sid2, &s), BL_OK);
	cr_assert_eq(bl_session_create(c, other, "10.0.0.2", sid3, &s), BL_OK);
	cr_assert_eq(bl_admin_passwd(c, "oper", "a new password 2027"), BL_OK, "%s", bl_error_last());
	cr_expect_eq(bl_session_check(c, sid2, &s), BL_EAUTH, "a session survived its password change");
	cr_expect_eq(bl_session_check(c, sid3, &s), BL_OK, "%s", bl_error_last());
	bl_ctx_free(c);
}

Test(sessions, fast_hashing_is_for_tests_only, .init = setup, .fini = teardown)
{
	bl_config *cfg = tu_config("security_db");
	cr_assert_eq(bl_config_set(cfg, "BILLING_PWHASH_FAST", "1"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_ENV", "production"), BL_OK);
	bl_ctx *c = NULL;
	cr_assert_eq(bl_ctx_new(&c, cfg), BL_OK);
	cr_expect_eq(bl_admin_create(c, "fast", PW, BL_ROLE_ADMIN, NULL), BL_ECONFIG);
	EXPECT_MSG("BILLING_PWHASH_FAST=1 is for tests only");
	cr_expect_eq(bl_config_set(cfg, "BILLING_ENV", "staging"), BL_ECONFIG);
	bl_ctx_free(c);
	bl_config_free(cfg);
}

/* ---- the worker trusts a stream entry no further than "message #id may be due" ---- */

Test(worker, crafted_stream_entries_neither_crash_nor_bring_messages_forward, .init = setup, .fini = teardown,
     .timeout = 180)
{
	bl_config *cfg = NULL;
	cr_assert_eq(bl_config_copy(&cfg, bl_ctx_config(ctx)), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_MAILDIR", ""), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE", "0"), BL_OK);
	bl_ctx *c = NULL;
	cr_assert_eq(bl_ctx_new(&c, cfg), BL_OK);
	bl_config_free(cfg);
	tu_clock_start(c, tu_seoul(2026, 12, 3, 10, 0, 0));
	bl_seed_opts so;
	bl_seed_opts_init(&so, BL_SEED_OPTS_VERSION);
	so.users = 30;
	so.month = "2026-11";
	so.invalid_permille = 0;
	cr_assert_eq(bl_seed_run(c, &so, NULL), BL_OK, "%s", bl_error_last());
	int64_t run = 0;
	cr_assert_eq(bl_batch_run(c, "2026-11", NULL, &run), BL_OK, "%s", bl_error_last());
	bl_enqueue_stats st;
	cr_assert_eq(bl_message_enqueue_statements(c, "2026-11", 0, &st), BL_OK, "%s", bl_error_last());
	cr_assert_gt(st.created, 0);
	/* every message held a day (as quiet hours or a backoff would), and
	 * not yet published: only forged entries name them */
	tu_sql(c, "UPDATE messages SET next_attempt_at = NOW(3) + INTERVAL 1 DAY");
	redisContext *r = bl__ctx_redis(c);
	cr_assert(r, "%s", bl_error_last());
	char key[256];
	bl__stream_key(bl_ctx_config(c), key, sizeof key);
	cr_assert_eq(bl__stream_ensure_group(r, bl_ctx_config(c)), BL_OK, "%s", bl_error_last());
	long long first = tu_i64(c, "SELECT MIN(id) FROM messages"), last = tu_i64(c, "SELECT MAX(id) FROM messages");
	for (long long id = first; id <= last; id++) {
		char v[24];
		snprintf(v, sizeof v, "%lld", id);
		const char *argv[] = { "XADD", key, "*", "id", v };
		redisReply *rep = NULL;
		cr_assert_eq(bl__redis_cmd(r, 5, argv, &rep), BL_OK, "%s", bl_error_last());
		freeReplyObject(rep);
	}
	static const char *const junk[][2] = { { "id", "" }, { "id", "abc" }, { "id", "-1" }, { "id", "0" },
					      { "id", "99999999999999999999" }, { "x", "1" }, { "id", "1e3" } };
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
		const char *argv[] = { "XADD", key, "*", junk[i][0], junk[i][1] };
		redisReply *rep = NULL;
		cr_assert_eq(bl__redis_cmd(r, 5, argv, &rep), BL_OK, "%s", bl_error_last());
		freeReplyObject(rep);
	}
	tu_sql(c, "UPDATE messages SET published_at = NOW(3)"); /* the relay has nothing to publish */
	bl_worker_opts o;
	cr_assert_eq(bl_worker_opts_init(&o, BL_WORKER_OPTS_VERSION), BL_OK);
	o.threads = 2;
	o.idle_exit_ms = 1500;
	cr_assert_eq(bl_worker_run(c, &o), BL_OK, "%s", bl_error_last());
	cr_expect_eq(tu_i64(c, "SELECT COUNT(*) FROM messages WHERE status <> 'WAITING' OR attempts > 0"), 0,
		     "a forged stream entry sent a message before its time");
	cr_expect_eq(tu_i64(c, "SELECT COUNT(*) FROM message_ledger"), 0);
	/* and the worker consumed (acknowledged) every entry, junk included */
	const char *pend[] = { "XPENDING", key, bl_config_get(bl_ctx_config(c), "BILLING_STREAM_GROUP") };
	redisReply *rep = NULL;
	cr_assert_eq(bl__redis_cmd(r, 3, pend, &rep), BL_OK);
	cr_expect(rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 && rep->element[0]->integer == 0,
		  "stream entries left pending");
	freeReplyObject(rep);
	bl_ctx_free(c);
}
