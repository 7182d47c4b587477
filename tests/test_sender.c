/*
 * Integration tests of the mock providers (sender.c, mime.c) on MariaDB:
 * the idempotent ledger, Maildir delivery, deterministic failure rates,
 * invalid destinations, latency, crash recovery; every delivered e-mail is
 * checked by tests/parse_maildir.py with Python's email package.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "sender_private.h"
#include "testutil.h"

#define EXPECT_MSG(needle) \
	cr_expect(strstr(bl_error_last(), (needle)), "message '%s' lacks '%s'", bl_error_last(), (needle))

static bl_ctx *ctx;
static char tmpdir[64];
static char maildir[128];

static void setup(void)
{
	ctx = tu_ctx_fresh("sender");
	strcpy(tmpdir, "/tmp/bl-sender-XXXXXX");
	cr_assert(mkdtemp(tmpdir), "mkdtemp");
	/* a path that does not exist yet: created on demand (mkdir -p) */
	snprintf(maildir, sizeof maildir, "%s/mail/box", tmpdir);
}

static void teardown(void)
{
	tu_ctx_drop(ctx);
	ctx = NULL;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", tmpdir);
}

TestSuite(sender, .init = setup, .fini = teardown, .timeout = 600);

/* A sender with the context's configuration plus KEY, VALUE... pairs, NULL-ended. */
static bl__sender *new_sender(const char *worker, ...)
{
	bl_config *cfg = NULL;
	cr_assert_eq(bl_config_copy(&cfg, bl_ctx_config(ctx)), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_MAILDIR", maildir), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE", "0"), BL_OK);
	va_list ap;
	va_start(ap, worker);
	for (const char *k; (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		cr_assert_eq(bl_config_set(cfg, k, v), BL_OK, "%s", bl_error_last());
	}
	va_end(ap);
	bl__sender *s = NULL;
	cr_assert_eq(bl__sender_new(&s, cfg, worker), BL_OK, "%s", bl_error_last());
	bl_config_free(cfg);
	return s;
}

static MYSQL *db(void)
{
	MYSQL *d = bl__ctx_db(ctx);
	cr_assert(d, "%s", bl_error_last());
	return d;
}

static bl__send_req email_req(int64_t id, const char *to, const char *name, const char *subject)
{
	bl__send_req r = {
		.message_id = id,
		.attempt = 1,
		.channel = BL_CHANNEL_EMAIL,
		.to = to,
		.to_name = name,
		.subject = subject,
		.html = "<html><body><p>안녕하세요, 고객님.</p></body></html>",
		.text = "안녕하세요, 고객님.\n이번 달 요금을 안내해 드립니다.\n",
		.kind = BL_KIND_EMAIL,
		.bytes = 0,
	};
	return r;
}

static bl__send_req sms_req(int64_t id, const char *to, bl_message_kind kind, size_t bytes)
{
	bl__send_req r = {
		.message_id = id,
		.attempt = 1,
		.channel = BL_CHANNEL_SMS,
		.to = to,
		.text = "[LG U+] 5월 요금 58,300원",
		.kind = kind,
		.bytes = bytes,
	};
	return r;
}

static bl__send_status send_ok(bl__sender *s, const bl__send_req *r)
{
	bl__send_res res;
	memset(&res, 0x5A, sizeof res);
	cr_assert_eq(bl__sender_send(s, db(), r, &res), BL_OK, "message %lld: %s",
		     (long long)r->message_id, bl_error_last());
	if (res.status == BL_SEND_TRANSIENT || res.status == BL_SEND_PERMANENT)
		cr_assert(res.error[0], "failure without a message");
	else if (res.status == BL_SEND_OK)
		cr_assert_eq(res.error[0], '\0');
	return res.status;
}

static int count_files(const char *sub)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", maildir, sub);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static char *ledger_str(const char *col, int64_t id)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT %s FROM message_ledger WHERE message_id = %lld", col,
		 (long long)id);
	MYSQL *d = db();
	cr_assert_eq(mysql_query(d, sql), 0, "%s", mysql_error(d));
	MYSQL_RES *r = mysql_store_result(d);
	cr_assert(r);
	MYSQL_ROW row = mysql_fetch_row(r);
	cr_assert(row, "no ledger row for %lld", (long long)id);
	char *v = row[0] ? strdup(row[0]) : NULL;
	mysql_free_result(r);
	return v;
}

static long long ledger_i64(const char *sql) { return tu_i64(ctx, sql); }

/* Run tests/parse_maildir.py over the Maildir; its output goes to the log. */
static void check_maildir(json_t *expected)
{
	char sidecar[128], cmd[1024], line[512];
	snprintf(sidecar, sizeof sidecar, "%s/expected.json", tmpdir);
	cr_assert_eq(json_dump_file(expected, sidecar, JSON_INDENT(1)), 0);
	snprintf(cmd, sizeof cmd, "python3 '%s/tests/parse_maildir.py' '%s' '%s' 2>&1", BL_SOURCE_DIR,
		 maildir, sidecar);
	FILE *p = popen(cmd, "r");
	cr_assert(p, "popen %s", cmd);
	char out[8192] = "";
	size_t used = 0;
	while (fgets(line, sizeof line, p)) {
		size_t n = strlen(line);
		if (used + n < sizeof out) {
			memcpy(out + used, line, n + 1);
			used += n;
		}
	}
	int st = pclose(p);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "parse_maildir.py failed (%d):\n%s", st, out);
	cr_log_info("%s", out);
}

static void expect_mail(json_t *exp, const bl__send_req *r, const char *addr)
{
	json_t *msgs = json_object_get(exp, "messages");
	char key[32];
	snprintf(key, sizeof key, "%lld", (long long)r->message_id);
	json_object_set_new(msgs, key,
			    json_pack("{s:s, s:s, s:s, s:s, s:s}", "subject", r->subject ? r->subject : "",
				      "to", addr, "to_name", r->to_name ? r->to_name : "", "text",
				      r->text ? r->text : "", "html", r->html ? r->html : ""));
	json_object_set_new(exp, "count", json_integer((json_int_t)json_object_size(msgs)));
}

#define SUBJECT_KO "[LG U+] 2024년 5월 휴대폰 요금 안내 — 김민수 고객님, 이번 달 청구 금액은 58,300원입니다"

Test(sender, email_accept_is_idempotent)
{
	bl__sender *s = new_sender("host-a:1/t0", NULL);
	bl__send_req r = email_req(1001, " Kim.Minsu@Example.com ", "김민수", SUBJECT_KO);
	r.bytes = 1234;
	cr_assert_eq(send_ok(s, &r), BL_SEND_OK);
	cr_expect_eq(count_files("new"), 1);
	cr_expect_eq(count_files("tmp"), 0);
	cr_expect_eq(count_files("cur"), 0);
	cr_expect_eq(ledger_i64("SELECT COUNT(*) FROM message_ledger"), 1);

	char *masked = ledger_str("destination_masked", 1001);
	cr_expect_str_eq(masked, "k***@example.com");
	free(masked);
	cr_expect_eq(ledger_i64("SELECT COUNT(*) FROM message_ledger WHERE destination_masked LIKE "
				"'%minsu%' OR maildir_file LIKE '%minsu%'"), 0, "plain address in the ledger");
	char *v = ledger_str("CONCAT_WS('|', channel, kind, bytes, attempt_no, worker, duplicate_requests)", 1001);
	cr_expect_str_eq(v, "EMAIL|EMAIL|1234|1|host-a:1/t0|0");
	free(v);
	char *file = ledger_str("maildir_file", 1001);
	cr_assert(file && !strncmp(file, "new/", 4), "maildir_file '%s'", file ? file : "(null)");
	cr_expect(strstr(file, "_1001."), "file name '%s' lacks the message id", file);
	char path[512];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", maildir, file);
	cr_expect_eq(stat(path, &st), 0, "%s missing", path);
	free(file);

	/* the same message again (a retry after a lost acknowledgement) */
	r.attempt = 2;
	bl__send_res res;
	cr_assert_eq(bl__sender_send(s, db(), &r, &res), BL_OK, "%s", bl_error_last());
	cr_expect_eq(res.status, BL_SEND_DUPLICATE);
	cr_expect_eq(count_files("new"), 1);
	cr_expect_eq(count_files("tmp"), 0);
	cr_expect_eq(ledger_i64("SELECT COUNT(*) FROM message_ledger"), 1);
	cr_expect_eq(ledger_i64("SELECT duplicate_requests FROM message_ledger WHERE message_id = 1001"), 1);
	cr_expect_eq(ledger_i64("SELECT attempt_no FROM message_ledger WHERE message_id = 1001"), 1);
	/* a second sender (another worker) sees the same ledger */
	bl__sender *s2 = new_sender("host-b:2/t3", NULL);
	cr_expect_eq(send_ok(s2, &r), BL_SEND_DUPLICATE);
	cr_expect_eq(ledger_i64("SELECT duplicate_requests FROM message_ledger WHERE message_id = 1001"), 2);
	cr_expect_eq(count_files("new"), 1);
	bl__sender_free(s2);
	bl__sender_free(s);

	json_t *exp = json_pack("{s:{}}", "messages");
	r.attempt = 1;
	expect_mail(exp, &r, "Kim.Minsu@Example.com");
	check_maildir(exp);
	json_decref(exp);
}

Test(sender, email_mime_shapes_parse)
{
	bl__sender *s = new_sender("w", NULL);
	json_t *exp = json_pack("{s:{}}", "messages");
	static const struct {
		const char *to, *name, *subject, *text, *html;
	} cases[] = {
		{ "kim@example.com", "김민수", SUBJECT_KO, NULL, NULL },
		/* no display name: a bare address */
		{ "lee@example.co.kr", NULL, "요금 안내", "짧은 본문", "<p>짧은 본문</p>" },
		/* plain ASCII subject and name with specials that would need quoting */
		{ "o'brien+bill@mail.example.org", "O'Brien, \"Pat\" <x>", "Your bill, June 2024",
		  "Line 1\r\nLine 2\rLine 3\n", "<b>bold</b>" },
		/* 4-byte UTF-8 (emoji) must not be split between encoded-words */
		{ "park@example.com", "박서준 😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀",
		  "😀 이모지 제목 😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀 끝", "😀", "<p>😀</p>" },
		/* empty subject and bodies */
		{ "empty@example.com", "", "", "", "" },
		/* a long address and name: address on a line of its own */
		{ "a.very.long.local.part.for.testing.folding.of.headers@subdomain.of.a.rather.long.domain.example",
		  "아주 긴 이름을 가진 고객님 아주 긴 이름을 가진 고객님 아주 긴 이름을 가진 고객님",
		  "긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 "
		  "긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 긴 제목 긴 제목",
		  NULL, NULL },
	};
	/* a long body: base64 lines stay at 76 characters */
	bl_strbuf big = { 0 };
	for (int i = 0; i < 400; i++)
		bl__sb_printf(&big, "%d번째 줄: 기본료 55,000원, 부가서비스 3,300원. ", i);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bl__send_req r = email_req(2000 + (int64_t)i, cases[i].to, cases[i].name, cases[i].subject);
		if (cases[i].text || i == 4)
			r.text = cases[i].text;
		else
			r.text = big.s;
		if (cases[i].html || i == 4)
			r.html = cases[i].html;
		cr_assert_eq(send_ok(s, &r), BL_SEND_OK, "case %zu", i);
		expect_mail(exp, &r, cases[i].to);
	}
	bl__sb_free(&big);
	cr_expect_eq(count_files("new"), (int)(sizeof cases / sizeof cases[0]));
	check_maildir(exp);
	json_decref(exp);
	bl__sender_free(s);
}

Test(sender, mime_is_deterministic)
{
	bl__mime_msg m = {
		.message_id = 77, .attempt = 1, .date = 1717200000, /* 2024-06-01 09:00:00 KST */
		.from_name = "LG U+ 요금안내", .from_addr = "billing@example.invalid",
		.to_name = "김민수", .to_addr = "kim@example.com",
		.subject = "요금 안내", .text = "본문", .html = "<p>본문</p>",
	};
	bl_strbuf a = { 0 }, b = { 0 };
	cr_assert_eq(bl__mime_build(&m, &a), BL_OK);
	cr_assert_eq(bl__mime_build(&m, &b), BL_OK);
	cr_expect_eq(a.len, b.len);
	cr_expect_eq(memcmp(a.s, b.s, a.len), 0);
	cr_expect(strstr(a.s, "Date: Sat, 01 Jun 2024 09:00:00 +0900\r\n"), "%s", a.s);
	cr_expect(strstr(a.s, "Message-ID: <msg-77@libbilling.invalid>\r\n"));
	cr_expect(strstr(a.s, "Subject: =?UTF-8?B?"));
	cr_expect(strstr(a.s, "boundary=\"=_libbilling_alt_77\""));
	cr_expect(strstr(a.s, "MIME-Version: 1.0\r\n"));
	for (size_t i = 0; i < a.len; i++)
		if (a.s[i] == '\n')
			cr_assert(i > 0 && a.s[i - 1] == '\r', "bare LF at %zu", i);
	bl__sb_free(&a);
	bl__sb_free(&b);
}

Test(sender, sms_ledger_rows)
{
	bl__sender *s = new_sender("w-sms", NULL);
	bl__send_req r = sms_req(3001, "010-1234-5678", BL_KIND_SMS, 42);
	cr_expect_eq(send_ok(s, &r), BL_SEND_OK);
	bl__send_req l = sms_req(3002, "01198765432", BL_KIND_LMS, 1500);
	cr_expect_eq(send_ok(s, &l), BL_SEND_OK);
	char *v = ledger_str("CONCAT_WS('|', channel, kind, bytes, destination_masked, "
			     "IFNULL(maildir_file, 'NULL'))", 3001);
	cr_expect_str_eq(v, "SMS|SMS|42|010-****-5678|NULL");
	free(v);
	v = ledger_str("CONCAT_WS('|', channel, kind, bytes, destination_masked)", 3002);
	cr_expect_str_eq(v, "SMS|LMS|1500|011-****-5432");
	free(v);
	cr_expect_eq(ledger_i64("SELECT COUNT(*) FROM message_ledger WHERE destination_masked LIKE "
				"'%1234%' OR destination_masked LIKE '%9876%'"), 0);
	/* duplicates are counted, not delivered */
	r.attempt = 3;
	cr_expect_eq(send_ok(s, &r), BL_SEND_DUPLICATE);
	cr_expect_eq(ledger_i64("SELECT duplicate_requests FROM message_ledger WHERE message_id = 3001"), 1);
	/* over the size of its kind: refused for good */
	bl__send_req big = sms_req(3003, "010-1234-5678", BL_KIND_SMS, 91);
	cr_expect_eq(send_ok(s, &big), BL_SEND_PERMANENT);
	big.kind = BL_KIND_LMS;
	big.bytes = BL_LMS_MAX_BYTES + 1;
	cr_expect_eq(send_ok(s, &big), BL_SEND_PERMANENT);
	cr_expect_eq(ledger_i64("SELECT COUNT(*) FROM message_ledger"), 2);
	/* SMS writes no files: the Maildir is not even created */
	struct stat st;
	cr_expect_neq(stat(maildir, &st), 0);
	bl__sender_free(s);
}

#define N_RATE 2000

static void outcomes(bl__sender *s, bl__send_status *out, int *transient, int *permanent)
{
	*transient = *permanent = 0;
	for (int i = 0; i < N_RATE; i++) {
		bl__send_req r = email_req(100000 + i, "rate@example.com", NULL, "s");
		out[i] = send_ok(s, &r);
		*transient += out[i] == BL_SEND_TRANSIENT;
		*permanent += out[i] == BL_SEND_PERMANENT;
	}
}

Test(sender, transient_rate_is_deterministic)
{
	static bl__send_status a[N_RATE], b[N_RATE], c[N_RATE];
	int ta, pa, tb, pb, tc, pc;
	bl__sender *s = new_sender("w", "BILLING_MAILDIR", "", "BILLING_MOCK_SEED", "42",
				   "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE", "200", NULL);
	outcomes(s, a, &ta, &pa);
	bl__sender_free(s);
	cr_expect(ta >= 300 && ta <= 500, "%d transient of %d at 200 permille", ta, N_RATE);
	cr_expect_eq(pa, 0);
	cr_expect_eq(ledger_i64("SELECT COUNT(*) FROM message_ledger"), N_RATE - ta);
	cr_expect_eq(count_files("new"), -1, "BILLING_MAILDIR empty: no files");

	/* another sender with the same seed: the very same outcomes (the
	 * accepted ones are now duplicates; transient ones fail again) */
	s = new_sender("w2", "BILLING_MAILDIR", "", "BILLING_MOCK_SEED", "42",
		       "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE", "200", NULL);
	outcomes(s, b, &tb, &pb);
	bl__sender_free(s);
	cr_expect_eq(tb, ta);
	for (int i = 0; i < N_RATE; i++)
		cr_assert_eq(a[i] == BL_SEND_TRANSIENT, b[i] == BL_SEND_TRANSIENT, "message %d differs", i);

	/* another seed: another pattern */
	s = new_sender("w3", "BILLING_MAILDIR", "", "BILLING_MOCK_SEED", "43",
		       "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE", "200", NULL);
	outcomes(s, c, &tc, &pc);
	bl__sender_free(s);
	cr_expect(tc >= 300 && tc <= 500, "%d transient with seed 43", tc);
	int differ = 0;
	for (int i = 0; i < N_RATE; i++)
		differ += (a[i] == BL_SEND_TRANSIENT) != (c[i] == BL_SEND_TRANSIENT);
	cr_expect_gt(differ, 100, "seeds 42 and 43 differ on only %d messages", differ);

	/* the attempt number is part of the draw: a retry may succeed */
	s = new_sender("w4", "BILLING_MAILDIR", "", "BILLING_MOCK_SEED", "42",
		       "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE", "200", NULL);
	int recovered = 0;
	for (int i = 0; i < N_RATE; i++) {
		if (a[i] != BL_SEND_TRANSIENT)
			continue;
		bl__send_req r = email_req(100000 + i, "rate@example.com", NULL, "s");
		r.attempt = 2;
		bl__send_status st = send_ok(s, &r);
		/* DUPLICATE: accepted by the seed-43 sender above */
		recovered += st == BL_SEND_OK || st == BL_SEND_DUPLICATE;
	}
	bl__sender_free(s);
	cr_expect(recovered > ta / 2, "only %d of %d transient failures succeeded on attempt 2",
		  recovered, ta);
}

struct thr {
	bl_config *cfg;
	int first;
	bl__send_status *out;
	int rc;
	char err[256];
};

static void *thr_main(void *p)
{
	struct thr *t = p;
	bl__sender *s = NULL;
	MYSQL *d = bl__db_connect(t->cfg, true);
	t->rc = d ? bl__sender_new(&s, t->cfg, "thread") : BL_EDB;
	for (int i = t->first; t->rc == BL_OK && i < 400; i += 4) {
		bl__send_req r = sms_req(500000 + i, "010-5555-0000", BL_KIND_SMS, 20);
		bl__send_res res;
		t->rc = bl__sender_send(s, d, &r, &res);
		t->out[i] = res.status;
	}
	if (t->rc)
		snprintf(t->err, sizeof t->err, "%s", bl_error_last());
	bl__sender_free(s);
	if (d)
		mysql_close(d);
	mysql_thread_end();
	return NULL;
}

Test(sender, outcomes_independent_of_threads)
{
	static bl__send_status par[400], seq[400];
	bl_config *cfg = NULL;
	cr_assert_eq(bl_config_copy(&cfg, bl_ctx_config(ctx)), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_MOCK_SMS_TRANSIENT_PERMILLE", "300"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_MOCK_SMS_PERMANENT_PERMILLE", "100"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_MOCK_SEED", "7"), BL_OK);
	pthread_t th[4];
	struct thr t[4];
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ cfg, i, par, 0, "" };
		cr_assert_eq(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(t[i].rc, BL_OK, "thread %d: %s", i, t[i].err);
	}
	bl__sender *s = NULL;
	cr_assert_eq(bl__sender_new(&s, cfg, "seq"), BL_OK);
	bl_config_free(cfg);
	int tr = 0, pe = 0, ok = 0;
	for (int i = 0; i < 400; i++) {
		bl__send_req r = sms_req(500000 + i, "010-5555-0000", BL_KIND_SMS, 20);
		seq[i] = send_ok(s, &r);
		/* accepted in parallel → duplicate now; failures fail the same way */
		cr_assert_eq(seq[i], par[i] == BL_SEND_OK ? BL_SEND_DUPLICATE : par[i], "message %d", i);
		tr += par[i] == BL_SEND_TRANSIENT;
		pe += par[i] == BL_SEND_PERMANENT;
		ok += par[i] == BL_SEND_OK;
	}
	bl__sender_free(s);
	cr_expect(tr > 60 && tr < 180, "%d transient", tr);
	cr_expect(pe > 10 && pe < 80, "%d permanent", pe);
	cr_expect_eq(ledger_i64("SELECT COUNT(*) FROM message_ledger"), ok);
}

Test(sender, permanent_1000_permille_fails_all)
{
	bl__sender *s = new_sender("w", "BILLING_MOCK_EMAIL_PERMANENT_PERMILLE", "1000",
				   "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE", "500",
				   "BILLING_MOCK_SMS_PERMANENT_PERMILLE", "1000", NULL);
	for (int i = 0; i < 200; i++) {
		bl__send_req r = email_req(7000 + i, "kim@example.com", "김", "s");
		bl__send_res res;
		cr_assert_eq(bl__sender_send(s, db(), &r, &res), BL_OK, "%s", bl_error_last());
		cr_assert_eq(res.status, BL_SEND_PERMANENT, "message %d: %d", i, res.status);
		cr_assert(strstr(res.error, "mock email: 55"), "'%s'", res.error);
		bl__send_req m = sms_req(8000 + i, "010-1234-5678", BL_KIND_SMS, 10);
		cr_assert_eq(send_ok(s, &m), BL_SEND_PERMANENT);
	}
	cr_expect_eq(ledger_i64("SELECT COUNT(*) FROM message_ledger"), 0);
	cr_expect_leq(count_files("new"), 0);
	bl__sender_free(s);
}

Test(sender, invalid_destinations_are_permanent)
{
	bl__sender *s = new_sender("w", NULL);
	static const char *bad_emails[] = {
		"", "   ", "no-at-sign", "a@b", "a b@example.com", "x@example.com\r\nBcc: evil@example.com",
		"@example.com", "kim@", "kim@@example.com", "kim..lee@example.com", ".kim@example.com",
		"kim.@example.com", "kim@-example.com", "kim@example-.com", "kim@example..com",
		"kim@exam_ple.com", "<kim@example.com>", "\"kim\"@example.com", "김@example.com",
		"kim@example.com.", "kim@.example.com",
	};
	int64_t id = 9000;
	for (size_t i = 0; i < sizeof bad_emails / sizeof bad_emails[0]; i++) {
		bl__send_req r = email_req(id++, bad_emails[i], "x", "s");
		bl__send_res res;
		cr_assert_eq(bl__sender_send(s, db(), &r, &res), BL_OK, "%s", bl_error_last());
		cr_expect_eq(res.status, BL_SEND_PERMANENT, "'%s' accepted", bad_emails[i]);
		cr_expect(strstr(res.error, "invalid"), "'%s'", res.error);
	}
	bl__send_req nul = email_req(id++, NULL, NULL, "s");
	cr_expect_eq(send_ok(s, &nul), BL_SEND_PERMANENT);
	static const char *bad_phones[] = {
		"", "02-123-4567", "0101234", "abc", "010-1234-567", "+82-10-1234-5678",
		"01012345678901", "010.1234.5678", "020-1234-5678", "015-123-4567", "010-1234-5678\n",
	};
	for (size_t i = 0; i < sizeof bad_phones / sizeof bad_phones[0]; i++) {
		bl__send_req r = sms_req(id++, bad_phones[i], BL_KIND_SMS, 10);
		cr_expect_eq(send_ok(s, &r), BL_SEND_PERMANENT, "'%s' accepted", bad_phones[i]);
	}
	cr_expect_eq(ledger_i64("SELECT COUNT(*) FROM message_ledger"), 0);
	cr_expect_leq(count_files("new"), 0);
	/* and valid ones pass */
	static const char *good_phones[] = { "010-1234-5678", "01012345678", "011-123-4567",
					     "016 1234 5678", "019-999-0000" };
	for (size_t i = 0; i < sizeof good_phones / sizeof good_phones[0]; i++) {
		bl__send_req r = sms_req(id++, good_phones[i], BL_KIND_SMS, 10);
		cr_expect_eq(send_ok(s, &r), BL_SEND_OK, "'%s' refused", good_phones[i]);
	}
	static const char *good_emails[] = { "kim@example.com", "o'brien+tag@mail.example.co.kr",
					     "A.B-C_D@Sub-1.Example.org" };
	for (size_t i = 0; i < sizeof good_emails / sizeof good_emails[0]; i++) {
		bl__send_req r = email_req(id++, good_emails[i], NULL, "s");
		cr_expect_eq(send_ok(s, &r), BL_SEND_OK, "'%s' refused", good_emails[i]);
	}
	bl__sender_free(s);
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

Test(sender, latency_is_honoured)
{
	bl__sender *s = new_sender("w", "BILLING_MOCK_EMAIL_LATENCY_MS", "20",
				   "BILLING_MOCK_SMS_LATENCY_MS", "35", NULL);
	double start = now_ms();
	for (int i = 0; i < 5; i++) {
		bl__send_req r = email_req(11000 + i, "kim@example.com", NULL, "s");
		double t0 = now_ms();
		send_ok(s, &r);
		double dt = now_ms() - t0;
		cr_expect_geq(dt, 20.0, "e-mail %d took %.2f ms", i, dt);
	}
	cr_expect_geq(now_ms() - start, 100.0);
	/* failures wait too: the provider answers after its latency */
	bl__send_req bad = sms_req(11100, "not-a-number", BL_KIND_SMS, 10);
	double t0 = now_ms();
	cr_expect_eq(send_ok(s, &bad), BL_SEND_PERMANENT);
	cr_expect_geq(now_ms() - t0, 35.0);
	bl__sender_free(s);
}

Test(sender, interrupted_delivery_is_finished_by_the_retry)
{
	/* a crash after the ledger row and before rename(2): the file is still
	 * in tmp/ under the name the ledger records in new/ */
	bl__sender *s = new_sender("w", NULL);
	bl__send_req first = email_req(12000, "kim@example.com", NULL, "warm-up");
	cr_assert_eq(send_ok(s, &first), BL_SEND_OK); /* creates the Maildir */
	const char *name = "1717200000.M1P1T1Q1_12001.crashed";
	char path[512], sql[512];
	snprintf(path, sizeof path, "%s/tmp/%s", maildir, name);
	bl_strbuf mail = { 0 };
	bl__mime_msg m = { .message_id = 12001, .attempt = 1, .date = 1717200000,
			   .from_name = "LG U+ 요금안내", .from_addr = "billing@example.invalid",
			   .to_addr = "kim@example.com", .subject = "재시도", .text = "t", .html = "h" };
	cr_assert_eq(bl__mime_build(&m, &mail), BL_OK);
	FILE *f = fopen(path, "wb");
	cr_assert(f);
	fwrite(mail.s, 1, mail.len, f);
	fclose(f);
	bl__sb_free(&mail);
	snprintf(sql, sizeof sql,
		 "INSERT INTO message_ledger (message_id, channel, kind, destination_masked, bytes, "
		 "attempt_no, maildir_file) VALUES (12001, 'EMAIL', 'EMAIL', 'k***@example.com', 2, 1, "
		 "'new/%s')", name);
	tu_sql(ctx, sql);

	bl__send_req again = email_req(12001, "kim@example.com", NULL, "재시도");
	again.attempt = 2;
	cr_expect_eq(send_ok(s, &again), BL_SEND_DUPLICATE);
	cr_expect_eq(count_files("tmp"), 0);
	cr_expect_eq(count_files("new"), 2);
	snprintf(path, sizeof path, "%s/new/%s", maildir, name);
	struct stat st;
	cr_expect_eq(stat(path, &st), 0, "%s was not delivered", path);
	bl__sender_free(s);
}

Test(sender, write_failures_are_errors)
{
	/* the Maildir cannot be created: a file is in the way */
	char blocker[128];
	snprintf(blocker, sizeof blocker, "%s/file", tmpdir);
	FILE *f = fopen(blocker, "w");
	cr_assert(f);
	fclose(f);
	char bad_md[192];
	snprintf(bad_md, sizeof bad_md, "%s/Maildir", blocker);
	bl__sender *s = new_sender("w", "BILLING_MAILDIR", bad_md, NULL);
	bl__send_req r = email_req(13000, "kim@example.com", NULL, "s");
	bl__send_res res;
	cr_expect_eq(bl__sender_send(s, db(), &r, &res), BL_EIO);
	EXPECT_MSG(blocker);
	cr_expect_eq(res.status, BL_SEND_TRANSIENT);
	cr_expect(res.error[0]);
	/* SMS does not need the Maildir */
	bl__send_req m = sms_req(13001, "010-1234-5678", BL_KIND_SMS, 10);
	cr_expect_eq(send_ok(s, &m), BL_SEND_OK);
	bl__sender_free(s);
	cr_expect_eq(ledger_i64("SELECT COUNT(*) FROM message_ledger WHERE message_id = 13000"), 0);

	/* the ledger write fails: an error naming the SQL, no file left behind */
	s = new_sender("w", NULL);
	tu_sql(ctx, "RENAME TABLE message_ledger TO message_ledger_away");
	r.message_id = 13002;
	int rc = bl__sender_send(s, db(), &r, &res);
	cr_expect_eq(rc, BL_EDB);
	EXPECT_MSG("message_ledger");
	cr_expect_eq(res.status, BL_SEND_TRANSIENT);
	cr_expect_eq(count_files("tmp"), 0);
	cr_expect_eq(count_files("new"), 0);
	tu_sql(ctx, "RENAME TABLE message_ledger_away TO message_ledger");
	bl__sender_free(s);
}

Test(sender, bad_arguments)
{
	bl__sender *s = new_sender("w", NULL);
	bl__send_req r = email_req(1, "kim@example.com", NULL, "s");
	bl__send_res res;
	cr_expect_eq(bl__sender_send(NULL, db(), &r, &res), BL_EINVAL);
	cr_expect_eq(bl__sender_send(s, NULL, &r, &res), BL_EINVAL);
	cr_expect_eq(bl__sender_send(s, db(), NULL, &res), BL_EINVAL);
	cr_expect_eq(bl__sender_send(s, db(), &r, NULL), BL_EINVAL);
	r.channel = (bl_channel)0;
	cr_expect_eq(bl__sender_send(s, db(), &r, &res), BL_EINVAL);
	EXPECT_MSG("channel");
	r = email_req(0, "kim@example.com", NULL, "s");
	cr_expect_eq(bl__sender_send(s, db(), &r, &res), BL_EINVAL);
	r = email_req(5, "kim@example.com", NULL, "s");
	r.attempt = 0;
	cr_expect_eq(bl__sender_send(s, db(), &r, &res), BL_EINVAL);
	r = email_req(5, "kim@example.com", NULL, "s");
	r.kind = BL_KIND_SMS;
	cr_expect_eq(bl__sender_send(s, db(), &r, &res), BL_EINVAL);
	EXPECT_MSG("kind");
	cr_expect_eq(bl__sender_new(NULL, bl_ctx_config(ctx), "w"), BL_EINVAL);
	bl__sender *x = NULL;
	cr_expect_eq(bl__sender_new(&x, NULL, "w"), BL_EINVAL);
	bl__sender_free(NULL);
	cr_expect_eq(ledger_i64("SELECT COUNT(*) FROM message_ledger"), 0);
	bl__sender_free(s);
}
