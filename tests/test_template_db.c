/*
 * Integration tests of stored templates (template_store.c, model.c) on
 * MariaDB: the V3 defaults, versioning, enable/disable, concurrent saves,
 * previews with sample data and with a real statement, bulk model loading.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include "template_impl.h"
#include "model_private.h"
#include "testutil.h"

#define EXPECT_MSG(needle) \
	cr_expect(strstr(bl_error_last(), (needle)), "message '%s' lacks '%s'", bl_error_last(), (needle))

static bl_ctx *ctx;

static void setup(void) { ctx = tu_ctx_fresh("template_db"); }
static void teardown(void)
{
	tu_ctx_drop(ctx);
	ctx = NULL;
}

TestSuite(templates, .init = setup, .fini = teardown, .timeout = 300);

static json_t *parse(char *s)
{
	json_error_t err;
	json_t *j = json_loads(s, 0, &err);
	cr_assert(j, "bad JSON '%s': %s", s, err.text);
	bl_free(s);
	return j;
}

static json_t *get(const char *code, int version)
{
	char *s = NULL;
	cr_assert_eq(bl_template_get(ctx, code, version, &s), BL_OK, "get %s v%d: %s", code, version,
		     bl_error_last());
	return parse(s);
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_string(v), "no string '%s'", key);
	return json_string_value(v);
}

static long long num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_integer(v), "no integer '%s'", key);
	return json_integer_value(v);
}

static bl_template_opts sms_opts(const char *code, const char *body)
{
	bl_template_opts o;
	cr_assert_eq(bl_template_opts_init(&o, BL_TEMPLATE_OPTS_VERSION), BL_OK);
	o.code = code;
	o.name = "테스트 SMS";
	o.channel = BL_CHANNEL_SMS;
	o.purpose = BL_PURPOSE_BILLING;
	o.body_text = body;
	o.created_by = "tester";
	return o;
}

Test(templates, defaults_present_and_valid)
{
	char *s = NULL;
	cr_assert_eq(bl_template_list(ctx, &s), BL_OK, "%s", bl_error_last());
	json_t *list = parse(s);
	cr_expect_eq(json_array_size(list), 3);
	static const char *codes[] = { "DEFAULT_BILLING_EMAIL", "DEFAULT_BILLING_SMS",
				       "NOTICE_MAINTENANCE_SMS" };
	for (size_t i = 0; i < 3; i++) {
		json_t *row = json_array_get(list, i);
		cr_assert(row);
		cr_expect_str_eq(str(row, "code"), codes[i]); /* ordered by code */
		cr_expect_eq(num(row, "version"), 1);
		cr_expect(json_is_true(json_object_get(row, "enabled")));
		cr_expect(json_is_object(json_object_get(row, "variables")));
		cr_expect_null(json_object_get(row, "body_text"), "list leaves the bodies out");

		/* each one passes the validator */
		json_t *t = get(codes[i], 0);
		bl_template_opts o = BL_TEMPLATE_OPTS_INIT;
		o.code = str(t, "code");
		o.name = str(t, "name");
		o.channel = !strcmp(str(t, "channel"), "SMS") ? BL_CHANNEL_SMS : BL_CHANNEL_EMAIL;
		o.purpose = !strcmp(str(t, "purpose"), "NOTICE") ? BL_PURPOSE_NOTICE : BL_PURPOSE_BILLING;
		o.subject = json_string_value(json_object_get(t, "subject"));
		o.body_html = json_string_value(json_object_get(t, "body_html"));
		o.body_text = str(t, "body_text");
		char *vars = json_dumps(json_object_get(t, "variables"), JSON_COMPACT);
		o.variables_json = vars;
		cr_expect_eq(bl_template_validate(&o), BL_OK, "%s: %s", codes[i], bl_error_last());
		free(vars);
		json_decref(t);
	}
	json_decref(list);

	int64_t id = 0;
	MYSQL *db = bl__ctx_db(ctx);
	cr_assert_eq(bl__tpl_latest_id(db, "DEFAULT_BILLING_SMS", &id), BL_OK, "%s", bl_error_last());
	cr_expect_eq(id, tu_i64(ctx, "SELECT id FROM message_templates WHERE code = "
				     "'DEFAULT_BILLING_SMS' AND version = 1"));
}

Test(templates, versions_are_new_rows)
{
	bl_template_opts o = sms_opts("PROMO_SMS", "[LG U+] {{userName}}님 v1");
	int64_t id1 = 0, id2 = 0;
	int v1 = 0, v2 = 0;
	cr_assert_eq(bl_template_save(ctx, &o, &id1, &v1), BL_OK, "%s", bl_error_last());
	cr_expect_eq(v1, 1);
	o.body_text = "[LG U+] {{userName}}님 v2 {{totalPrice|won}}";
	o.name = "두 번째";
	cr_assert_eq(bl_template_save(ctx, &o, &id2, &v2), BL_OK, "%s", bl_error_last());
	cr_expect_eq(v2, 2);
	cr_expect_neq(id1, id2);

	json_t *t1 = get("PROMO_SMS", 1), *t2 = get("PROMO_SMS", 2), *latest = get("PROMO_SMS", 0);
	cr_expect_str_eq(str(t1, "body_text"), "[LG U+] {{userName}}님 v1");
	cr_expect_str_eq(str(t1, "name"), "테스트 SMS");
	cr_expect_eq(num(t1, "id"), id1);
	cr_expect_str_eq(str(t2, "body_text"), "[LG U+] {{userName}}님 v2 {{totalPrice|won}}");
	cr_expect_eq(num(latest, "version"), 2);
	cr_expect_eq(num(latest, "id"), id2);
	cr_expect_str_eq(str(latest, "created_by"), "tester");
	cr_expect(json_is_null(json_object_get(latest, "subject")));
	json_decref(t1);
	json_decref(t2);
	json_decref(latest);

	char *s = NULL;
	cr_assert_eq(bl_template_versions(ctx, "PROMO_SMS", &s), BL_OK);
	json_t *vs = parse(s);
	cr_expect_eq(json_array_size(vs), 2);
	cr_expect_eq(num(json_array_get(vs, 0), "version"), 2); /* newest first */
	cr_expect_eq(num(json_array_get(vs, 1), "version"), 1);
	json_decref(vs);

	/* the stored versions render what they said then */
	MYSQL *db = bl__ctx_db(ctx);
	bl__tpl *t = NULL;
	cr_assert_eq(bl__tpl_load(db, id1, &t), BL_OK, "%s", bl_error_last());
	json_t *m = json_pack("{s:s,s:I}", "userName", "김", "totalPrice", (json_int_t)5000);
	bl__rendered r;
	cr_assert_eq(bl__tpl_render(t, m, NULL, &r), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(r.text, "[LG U+] 김님 v1");
	bl__rendered_free(&r);
	bl__tpl_free(t);
	cr_assert_eq(bl__tpl_load(db, id2, &t), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl__tpl_render(t, m, NULL, &r), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(r.text, "[LG U+] 김님 v2 5,000원");
	bl__rendered_free(&r);
	bl__tpl_free(t);
	json_decref(m);
	cr_expect_eq(bl__tpl_load(db, 999999, &t), BL_ENOTFOUND);
	EXPECT_MSG("template id 999999 does not exist");

	cr_expect_eq(bl_template_get(ctx, "PROMO_SMS", 3, &s), BL_ENOTFOUND);
	EXPECT_MSG("template 'PROMO_SMS' has no version 3");
	cr_expect_eq(bl_template_get(ctx, "NOPE", 0, &s), BL_ENOTFOUND);
	EXPECT_MSG("template 'NOPE' does not exist");
	cr_expect_eq(bl_template_get(ctx, "bad code", 0, &s), BL_EINVAL);
	cr_expect_eq(bl_template_versions(ctx, "NOPE", &s), BL_ENOTFOUND);
}

Test(templates, invalid_saves_store_nothing)
{
	long long before = tu_i64(ctx, "SELECT COUNT(*) FROM message_templates");
	bl_template_opts o = sms_opts("BROKEN_SMS", "안녕하세요\n{{userName}}님 {{totl|won}}");
	int64_t id = -1;
	int v = -1;
	cr_expect_eq(bl_template_save(ctx, &o, &id, &v), BL_EINVAL);
	cr_expect_str_eq(bl_error_last(), "template 'BROKEN_SMS' body_text:2:15: unknown variable {{totl}}");
	cr_expect_eq(id, -1);
	o.body_text = "{userName}님";
	cr_expect_eq(bl_template_save(ctx, &o, &id, &v), BL_EINVAL);
	EXPECT_MSG("body_text:1:1: single-brace placeholder {userName} is not supported: write "
		   "{{userName}}");
	o.body_text = "ok";
	o.variables_json = "{\"x\":";
	cr_expect_eq(bl_template_save(ctx, &o, &id, &v), BL_EINVAL);
	EXPECT_MSG("variables_json");
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM message_templates"), before);
}

Test(templates, enable_disable)
{
	MYSQL *db = bl__ctx_db(ctx);
	bl_template_opts o = sms_opts("FLAG_SMS", "{{userName}}님");
	int64_t id1, id2, got = 0;
	int v;
	cr_assert_eq(bl_template_save(ctx, &o, &id1, &v), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_template_save(ctx, &o, &id2, &v), BL_OK, "%s", bl_error_last());
	cr_expect_eq(bl__tpl_latest_id(db, "FLAG_SMS", &got), BL_OK);
	cr_expect_eq(got, id2);

	cr_assert_eq(bl_template_set_enabled(ctx, "FLAG_SMS", false), BL_OK, "%s", bl_error_last());
	cr_expect_eq(tu_i64(ctx, "SELECT SUM(enabled) FROM message_templates WHERE code='FLAG_SMS'"), 0);
	cr_expect_eq(bl__tpl_latest_id(db, "FLAG_SMS", &got), BL_ECONFLICT);
	cr_expect_str_eq(bl_error_last(), "template 'FLAG_SMS' is disabled");
	json_t *t = get("FLAG_SMS", 1);
	cr_expect(json_is_false(json_object_get(t, "enabled")));
	json_decref(t);
	/* a disabled template can still be previewed and its stored versions loaded */
	char *s = NULL;
	cr_expect_eq(bl_template_preview(ctx, "FLAG_SMS", 0, "{\"userName\":\"A\"}", 0, &s), BL_OK,
		     "%s", bl_error_last());
	bl_free(s);

	cr_assert_eq(bl_template_set_enabled(ctx, "FLAG_SMS", true), BL_OK);
	cr_expect_eq(tu_i64(ctx, "SELECT SUM(enabled) FROM message_templates WHERE code='FLAG_SMS'"), 2);
	cr_expect_eq(bl__tpl_latest_id(db, "FLAG_SMS", &got), BL_OK);
	cr_expect_eq(got, id2);

	/* saving carries the flag to every version */
	o.enabled = false;
	int64_t id3;
	cr_assert_eq(bl_template_save(ctx, &o, &id3, &v), BL_OK, "%s", bl_error_last());
	cr_expect_eq(v, 3);
	cr_expect_eq(tu_i64(ctx, "SELECT SUM(enabled) FROM message_templates WHERE code='FLAG_SMS'"), 0);
	cr_expect_eq(bl__tpl_latest_id(db, "FLAG_SMS", &got), BL_ECONFLICT);

	cr_expect_eq(bl_template_set_enabled(ctx, "NOPE", true), BL_ENOTFOUND);
	EXPECT_MSG("template 'NOPE' does not exist");
	cr_expect_eq(bl__tpl_latest_id(db, "NOPE", &got), BL_ENOTFOUND);
	EXPECT_MSG("template 'NOPE' does not exist");
}

struct saver {
	const bl_config *cfg;
	int saves;
	int versions[16];
	int rc;
	char err[512];
};

static void *save_thread(void *p)
{
	struct saver *sv = p;
	bl_ctx *c = NULL;
	sv->rc = bl_ctx_new(&c, sv->cfg);
	for (int i = 0; sv->rc == BL_OK && i < sv->saves; i++) {
		bl_template_opts o = BL_TEMPLATE_OPTS_INIT;
		o.code = "RACE_SMS";
		o.name = "race";
		o.channel = BL_CHANNEL_SMS;
		o.body_text = "{{userName}}";
		int64_t id;
		sv->rc = bl_template_save(c, &o, &id, &sv->versions[i]);
	}
	if (sv->rc)
		snprintf(sv->err, sizeof sv->err, "%s", bl_error_last());
	bl_ctx_free(c);
	return NULL;
}

Test(templates, concurrent_saves_get_distinct_versions)
{
	enum { T = 6, S = 8 };
	struct saver sv[T];
	pthread_t th[T];
	for (int i = 0; i < T; i++) {
		sv[i] = (struct saver){ .cfg = bl_ctx_config(ctx), .saves = S };
		pthread_create(&th[i], NULL, save_thread, &sv[i]);
	}
	bool seen[T * S + 1] = { false };
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(sv[i].rc, BL_OK, "thread %d: %s", i, sv[i].err);
		for (int k = 0; k < S; k++) {
			int v = sv[i].versions[k];
			cr_assert(v >= 1 && v <= T * S, "version %d", v);
			cr_expect(!seen[v], "version %d twice", v);
			seen[v] = true;
		}
	}
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM message_templates WHERE code='RACE_SMS'"), T * S);
	cr_expect_eq(tu_i64(ctx, "SELECT MAX(version) FROM message_templates WHERE code='RACE_SMS'"),
		     T * S);
}

static json_t *preview(const char *code, const char *sample, int64_t statement_id)
{
	char *s = NULL;
	cr_assert_eq(bl_template_preview(ctx, code, 0, sample, statement_id, &s), BL_OK, "preview %s: %s",
		     code, bl_error_last());
	return parse(s);
}

Test(templates, preview_with_sample)
{
	json_t *p = preview("DEFAULT_BILLING_SMS",
			    "{\"userName\":\"홍길동\",\"targetMonth\":\"2026-10\",\"totalPrice\":85750,"
			    "\"dueDate\":\"2026-11-25\"}",
			    0);
	cr_expect_str_eq(str(p, "text"),
			 "[LG U+] 홍길동님 2026년 10월 청구금액 85,750원, 납부기한 2026년 11월 25일");
	cr_expect_str_eq(str(p, "kind"), "SMS");
	cr_expect_eq(num(p, "bytes"), 73);
	cr_expect(json_is_null(json_object_get(p, "subject")));
	cr_expect(json_is_null(json_object_get(p, "html")));
	cr_log_info("DEFAULT_BILLING_SMS for a typical subscriber: %lld bytes (%s)", num(p, "bytes"),
		    str(p, "kind"));
	json_decref(p);

	/* a long name and a large amount: still an SMS */
	p = preview("DEFAULT_BILLING_SMS",
		    "{\"userName\":\"남궁민수\",\"targetMonth\":\"2026-12\",\"totalPrice\":1234560,"
		    "\"dueDate\":\"2027-01-25\"}",
		    0);
	cr_expect_str_eq(str(p, "kind"), "SMS");
	cr_expect_eq(num(p, "bytes"), 77);
	json_decref(p);

	/* no sample and no statement: the built-in example data */
	p = preview("DEFAULT_BILLING_EMAIL", NULL, 0);
	cr_expect_str_eq(str(p, "subject"), "[LG U+] 2026년 10월 요금 명세서");
	cr_expect(strstr(str(p, "html"), "5G 프리미어 에센셜"));
	cr_expect(strstr(str(p, "html"), "85,750원"));
	cr_expect(strstr(str(p, "html"), "010-****-5678"));
	cr_expect_str_eq(str(p, "kind"), "EMAIL");
	cr_expect_eq((size_t)num(p, "bytes"), strlen(str(p, "html")) + strlen(str(p, "text")));
	json_decref(p);
	p = preview("NOTICE_MAINTENANCE_SMS", NULL, 0);
	cr_expect_str_eq(str(p, "text"),
			 "[LG U+] 홍길동님, 2026년 12월 1일 02:00~06:00 시스템 점검 예정입니다.");
	cr_expect_str_eq(str(p, "kind"), "SMS");
	cr_log_info("NOTICE_MAINTENANCE_SMS example: %lld bytes", num(p, "bytes"));
	json_decref(p);

	char *s = NULL;
	cr_expect_eq(bl_template_preview(ctx, "DEFAULT_BILLING_SMS", 0, "[1,2]", 0, &s), BL_EINVAL);
	EXPECT_MSG("sample_json: expected a JSON object");
	cr_expect_eq(bl_template_preview(ctx, "DEFAULT_BILLING_SMS", 0, "{", 0, &s), BL_EINVAL);
	EXPECT_MSG("sample_json: not valid JSON");
	/* required variables missing from the sample */
	cr_expect_eq(bl_template_preview(ctx, "DEFAULT_BILLING_SMS", 0, "{\"userName\":\"A\"}", 0, &s),
		     BL_EINVAL);
	EXPECT_MSG("required variable {{targetMonth}} is missing");
	cr_expect_eq(bl_template_preview(ctx, "DEFAULT_BILLING_SMS", 7, NULL, 0, &s), BL_ENOTFOUND);
	cr_expect_eq(bl_template_preview(ctx, "DEFAULT_BILLING_SMS", 0, NULL, 424242, &s), BL_ENOTFOUND);
	EXPECT_MSG("statement 424242 does not exist");
}

static int64_t make_user(const char *name, const char *phone, const char *email)
{
	bl_user_opts u = BL_USER_OPTS_INIT;
	u.name = name;
	u.phone = phone;
	u.email = email;
	int64_t id = 0;
	cr_assert_eq(bl_user_create(ctx, &u, &id), BL_OK, "%s", bl_error_last());
	return id;
}

/* A statement for `uid` in 2026-10 with two lines (ids 9001, 9002 of services). */
static int64_t make_statement(int64_t uid, long long billed)
{
	char sql[1024];
	tu_sql(ctx, "INSERT IGNORE INTO services (id, code, name, type, price) VALUES "
		    "(9001, 'T_PLAN', '5G 스탠다드 <플랜>', 'PLAN', 75000), "
		    "(9002, 'T_VAS', 'V컬러링', 'VAS', 3300)");
	snprintf(sql, sizeof sql,
		 "INSERT INTO statements (user_id, target_month, batch_run_id, usage_amount, "
		 "discount_amount, net_amount, taxable_amount, vat_amount, total_amount, billed_amount, "
		 "truncated_amount, due_date, line_count) VALUES (%lld, '2026-10', 1, 78300, 5850, 72450, "
		 "72450, 7245, 79695, %lld, 5, '2026-11-25', 2)",
		 (long long)uid, billed);
	tu_sql(ctx, sql);
	int64_t sid = tu_i64(ctx, "SELECT MAX(id) FROM statements");
	snprintf(sql, sizeof sql,
		 "INSERT INTO statement_lines (statement_id, line_no, charge_id, service_id, service_type, "
		 "price, contract_discount, bundle_discount, premier_discount, discount, net) VALUES "
		 "(%lld, 1, 1, 9001, 'PLAN', 75000, 5850, 0, 0, 5850, 69150), "
		 "(%lld, 2, 2, 9002, 'VAS', 3300, 0, 0, 0, 0, 3300)",
		 (long long)sid, (long long)sid);
	tu_sql(ctx, sql);
	return sid;
}

Test(templates, preview_with_statement)
{
	int64_t uid = make_user("김<민수>", "010-1234-5678", "minsu.kim@example.com");
	int64_t sid = make_statement(uid, 79690);
	json_t *p = preview("DEFAULT_BILLING_EMAIL", NULL, sid);
	const char *html = str(p, "html"), *text = str(p, "text");
	cr_expect_str_eq(str(p, "subject"), "[LG U+] 2026년 10월 요금 명세서");
	cr_expect(strstr(html, "김&lt;민수&gt; 고객님"), "%s", html);
	cr_expect(strstr(html, "회선 010-****-5678"), "%s", html);
	cr_expect(strstr(html, "5G 스탠다드 &lt;플랜&gt;"), "%s", html);
	cr_expect(strstr(html, "<td align=\"right\">79,690원</td>"), "%s", html);
	cr_expect(strstr(html, "<td align=\"right\">-5,850원</td>") == NULL);
	cr_expect(strstr(html, "<td align=\"right\">5,850원</td>"), "%s", html);
	cr_expect(strstr(html, "2026년 11월 25일"), "%s", html);
	cr_expect(strstr(html, "이용 내역이 없습니다") == NULL);
	cr_expect(strstr(html, "01012345678") == NULL, "the phone only masked");
	cr_expect(strstr(text, "김<민수> 고객님"), "%s", text);
	cr_expect(strstr(text, "- 5G 스탠다드 <플랜>: 75,000원 (할인 5,850원) = 69,150원\n"
			       "- V컬러링: 3,300원 (할인 0원) = 3,300원\n\n"),
		  "%s", text);
	cr_expect(strstr(text, "청구 금액: 79,690원\n납부 기한: 2026년 11월 25일\n"), "%s", text);
	cr_expect_str_eq(str(p, "kind"), "EMAIL");
	cr_expect_eq((size_t)num(p, "bytes"), strlen(html) + strlen(text));
	json_decref(p);

	/* sample keys add to the statement's, never replace them */
	p = preview("DEFAULT_BILLING_SMS", "{\"totalPrice\":1,\"extra\":\"x\"}", sid);
	cr_expect_str_eq(str(p, "text"),
			 "[LG U+] 김<민수>님 2026년 10월 청구금액 79,690원, 납부기한 2026년 11월 25일");
	json_decref(p);
}

Test(templates, models_load_in_bulk)
{
	MYSQL *db = bl__ctx_db(ctx);
	int64_t u1 = make_user("일", "010-1111-0001", "one@example.com");
	int64_t u2 = make_user("이", "010-1111-0002", "two@example.com");
	int64_t s1 = make_statement(u1, 79690);
	bl__model_req reqs[] = {
		{ u1, s1, NULL },
		{ u2, 0, "{\"maintenanceDate\":\"2026-12-01\",\"userName\":\"spoof\"}" },
		{ u1, 0, NULL },
	};
	json_t *m[3];
	cr_assert_eq(bl__models_load(ctx, db, reqs, 3, m), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(str(m[0], "userName"), "일");
	cr_expect_str_eq(str(m[0], "phone"), "01011110001");
	cr_expect_str_eq(str(m[0], "email"), "one@example.com");
	cr_expect_str_eq(str(m[0], "targetMonth"), "2026-10");
	cr_expect_eq(num(m[0], "statementId"), s1);
	cr_expect_eq(num(m[0], "usageAmount"), 78300);
	cr_expect_eq(num(m[0], "discountAmount"), 5850);
	cr_expect_eq(num(m[0], "totalDiscount"), 5850);
	cr_expect_eq(num(m[0], "vatAmount"), 7245);
	cr_expect_eq(num(m[0], "billedAmount"), 79690);
	cr_expect_eq(num(m[0], "totalPrice"), 79690);
	cr_expect_eq(num(m[0], "truncatedAmount"), 5);
	cr_expect_str_eq(str(m[0], "dueDate"), "2026-11-25");
	json_t *lines = json_object_get(m[0], "lines");
	cr_assert_eq(json_array_size(lines), 2);
	cr_expect_eq(json_object_get(m[0], "services"), lines);
	cr_expect_str_eq(str(json_array_get(lines, 0), "serviceName"), "5G 스탠다드 <플랜>");
	cr_expect_str_eq(str(json_array_get(lines, 0), "serviceType"), "PLAN");
	cr_expect_eq(num(json_array_get(lines, 0), "price"), 75000);
	cr_expect_eq(num(json_array_get(lines, 0), "discount"), 5850);
	cr_expect_eq(num(json_array_get(lines, 0), "net"), 69150);
	cr_expect_str_eq(str(m[1], "userName"), "이", "params never override the model");
	cr_expect_str_eq(str(m[1], "maintenanceDate"), "2026-12-01");
	cr_expect_null(json_object_get(m[1], "totalPrice"));
	cr_expect_null(json_object_get(m[2], "lines"));
	for (int i = 0; i < 3; i++)
		json_decref(m[i]);

	bl__model_req bad[] = { { u1, 0, NULL }, { 777777, 0, NULL } };
	cr_expect_eq(bl__models_load(ctx, db, bad, 2, m), BL_ENOTFOUND);
	EXPECT_MSG("subscriber 777777 does not exist");
	cr_expect_null(m[0]);
	bl__model_req bad2[] = { { u2, s1, NULL } };
	cr_expect_eq(bl__models_load(ctx, db, bad2, 1, m), BL_ECONFLICT);
	EXPECT_MSG("belongs to subscriber");
	bl__model_req bad3[] = { { u1, 888888, NULL } };
	cr_expect_eq(bl__models_load(ctx, db, bad3, 1, m), BL_ENOTFOUND);
	EXPECT_MSG("statement 888888 does not exist");
	bl__model_req bad4[] = { { u1, 0, "[1]" } };
	cr_expect_eq(bl__models_load(ctx, db, bad4, 1, m), BL_EINVAL);
	EXPECT_MSG("params_json");
	cr_expect_eq(bl__models_load(ctx, db, NULL, 0, m), BL_OK);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* More subscribers than one IN (...) chunk; a worker-sized batch timed. */
Test(templates, models_load_chunks_and_speed)
{
	MYSQL *db = bl__ctx_db(ctx);
	enum { N = 1100 };
	bl__model_req *reqs = calloc(N, sizeof *reqs);
	json_t **m = calloc(N, sizeof *m);
	for (int i = 0; i < N; i++) {
		char name[32], phone[32], mail[64];
		snprintf(name, sizeof name, "가입자%d", i);
		snprintf(phone, sizeof phone, "010-%04d-%04d", 2000 + i / 10000, i % 10000);
		snprintf(mail, sizeof mail, "u%d@example.com", i);
		reqs[i].user_id = make_user(name, phone, mail);
	}
	int64_t sid = make_statement(reqs[7].user_id, 79690);
	reqs[7].statement_id = sid;
	double t0 = now_s();
	cr_assert_eq(bl__models_load(ctx, db, reqs, N, m), BL_OK, "%s", bl_error_last());
	double t1 = now_s();
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof name, "가입자%d", i);
		cr_assert_str_eq(str(m[i], "userName"), name);
		json_decref(m[i]);
	}
	double t2 = now_s();
	cr_assert_eq(bl__models_load(ctx, db, reqs, 200, m), BL_OK, "%s", bl_error_last());
	double t3 = now_s();
	cr_expect_eq(num(m[7], "totalPrice"), 79690);

	/* render the batch with the stored DEFAULT_BILLING_SMS */
	bl__tpl *t = NULL;
	int64_t tid = 0;
	cr_assert_eq(bl__tpl_latest_id(db, "DEFAULT_BILLING_SMS", &tid), BL_OK);
	cr_assert_eq(bl__tpl_load(db, tid, &t), BL_OK, "%s", bl_error_last());
	bl__rendered r;
	json_t *typical = json_pack("{s:s,s:s,s:I,s:s}", "userName", "홍길동", "targetMonth", "2026-10",
				    "totalPrice", (json_int_t)85750, "dueDate", "2026-11-25");
	enum { R = 200000 };
	double t4 = now_s();
	for (int i = 0; i < R; i++) {
		cr_assert_eq(bl__tpl_render(t, typical, NULL, &r), BL_OK, "%s", bl_error_last());
		bl__rendered_free(&r);
	}
	double t5 = now_s();
	cr_log_info("bl__models_load: %d subscribers in %.1f ms (2 chunks), 200 in %.1f ms; "
		    "stored DEFAULT_BILLING_SMS renders %.0f/s",
		    N, (t1 - t0) * 1e3, (t3 - t2) * 1e3, R / (t5 - t4));
	cr_assert_eq(bl__tpl_render(t, m[7], NULL, &r), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(r.text, "[LG U+] 가입자7님 2026년 10월 청구금액 79,690원, 납부기한 2026년 11월 25일");
	bl__rendered_free(&r);
	/* without a statement the required totals are missing */
	cr_expect_eq(bl__tpl_render(t, m[8], NULL, &r), BL_EINVAL);
	EXPECT_MSG("template 'DEFAULT_BILLING_SMS' v1: required variable {{targetMonth}} is missing");
	for (int i = 0; i < 200; i++)
		json_decref(m[i]);
	json_decref(typical);
	bl__tpl_free(t);
	free(reqs);
	free(m);
}

Test(templates, lms_overflow_from_store)
{
	MYSQL *db = bl__ctx_db(ctx);
	bl_template_opts o = sms_opts("LONG_SMS", "{{userName}} {{memo}}");
	o.purpose = BL_PURPOSE_NOTICE;
	o.variables_json = "{\"memo\":{\"type\":\"string\",\"required\":true}}";
	int64_t id;
	int v;
	cr_assert_eq(bl_template_save(ctx, &o, &id, &v), BL_OK, "%s", bl_error_last());
	bl__tpl *t = NULL;
	cr_assert_eq(bl__tpl_load(db, id, &t), BL_OK, "%s", bl_error_last());
	cr_expect_eq(bl__tpl_channel(t), BL_CHANNEL_SMS);
	cr_expect_eq(bl__tpl_purpose(t), BL_PURPOSE_NOTICE);
	char memo[4000] = "";
	for (int i = 0; i < 1100; i++)
		strcat(memo, "안");
	json_t *m = json_pack("{s:s,s:s}", "userName", "Kim", "memo", memo);
	bl__rendered r;
	cr_expect_eq(bl__tpl_render(t, m, NULL, &r), BL_EINVAL);
	cr_expect_str_eq(bl_error_last(), "template 'LONG_SMS' v1: rendered SMS is 2,204 bytes; LMS "
					  "allows 2,000");
	memo[300] = '\0'; /* 100 characters: 200 bytes */
	json_object_set_new(m, "memo", json_string(memo));
	cr_assert_eq(bl__tpl_render(t, m, NULL, &r), BL_OK, "%s", bl_error_last());
	cr_expect_eq(r.kind, BL_KIND_LMS);
	cr_expect_eq(r.bytes, 204);
	bl__rendered_free(&r);
	json_decref(m);
	bl__tpl_free(t);
}

/* Issue 21: creating never replaces; a purpose change or a disable that affects
 * pending work needs confirmation and says how much it affects. */
Test(templates, create_only_and_confirmed_changes)
{
	bl_template_opts o = sms_opts("GUARD_SMS", "{{userName}}님 안내");
	o.purpose = BL_PURPOSE_NOTICE;
	int64_t id = 0;
	int v = 0;
	o.create_only = true;
	cr_assert_eq(bl_template_save(ctx, &o, &id, &v), BL_OK, "%s", bl_error_last());
	cr_expect_eq(v, 1);
	/* a second "new template" with the same code is refused and stores nothing */
	o.name = "x";
	o.purpose = BL_PURPOSE_BILLING;
	o.enabled = false;
	cr_expect_eq(bl_template_save(ctx, &o, &id, &v), BL_ECONFLICT);
	EXPECT_MSG("template 'GUARD_SMS' exists already (version 1): open it to make a new version");
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM message_templates WHERE code='GUARD_SMS'"), 1);
	cr_expect_eq(tu_i64(ctx, "SELECT SUM(enabled) FROM message_templates WHERE code='GUARD_SMS'"), 1);

	/* nothing pending: an edit may change the purpose and disable without confirmation */
	o.create_only = false;
	o.name = "안내";
	o.purpose = BL_PURPOSE_BILLING;
	cr_assert_eq(bl_template_save(ctx, &o, &id, &v), BL_OK, "%s", bl_error_last());
	cr_expect_eq(v, 2);
	o.enabled = true;
	o.purpose = BL_PURPOSE_NOTICE;
	cr_assert_eq(bl_template_save(ctx, &o, &id, &v), BL_OK, "%s", bl_error_last());

	/* a waiting message uses it */
	int64_t uid = make_user("김가드", "01055554444", "guard@example.com");
	int64_t mid = 0;
	cr_assert_eq(bl_message_send(ctx, uid, "GUARD_SMS", "{}", "guard-1", &mid), BL_OK, "%s", bl_error_last());
	char *js = NULL;
	cr_assert_eq(bl_template_usage(ctx, "GUARD_SMS", &js), BL_OK, "%s", bl_error_last());
	json_t *u = parse(js);
	cr_expect_eq(num(u, "pending_messages"), 1);
	cr_expect_eq(num(u, "reservations"), 0);
	cr_expect(json_is_true(json_object_get(u, "enabled")));
	json_decref(u);

	o.purpose = BL_PURPOSE_BILLING;
	cr_expect_eq(bl_template_save(ctx, &o, &id, &v), BL_ECONFLICT);
	EXPECT_MSG("template 'GUARD_SMS': changing its purpose affects 1 pending message(s) and 0 "
		   "reservation(s); confirm to save");
	o.purpose = BL_PURPOSE_NOTICE;
	o.enabled = false;
	cr_expect_eq(bl_template_save(ctx, &o, &id, &v), BL_ECONFLICT);
	EXPECT_MSG("template 'GUARD_SMS': disabling it affects 1 pending message(s) and 0 "
		   "reservation(s); confirm to save");
	cr_expect_eq(tu_i64(ctx, "SELECT MAX(version) FROM message_templates WHERE code='GUARD_SMS'"), 3);
	/* the same text, purpose and state: no confirmation needed */
	o.enabled = true;
	cr_expect_eq(bl_template_save(ctx, &o, &id, &v), BL_OK, "%s", bl_error_last());
	o.enabled = false;
	o.confirmed = true;
	cr_expect_eq(bl_template_save(ctx, &o, &id, &v), BL_OK, "%s", bl_error_last());
	cr_expect_eq(v, 5);
	cr_expect_eq(tu_i64(ctx, "SELECT SUM(enabled) FROM message_templates WHERE code='GUARD_SMS'"), 0);

	/* a version-1 caller saves as before */
	bl_template_opts o1;
	cr_assert_eq(bl_template_opts_init(&o1, 1), BL_OK);
	cr_expect_eq(o1.version, 1u);
	o1.code = "GUARD_V1_SMS";
	o1.name = "v1";
	o1.channel = BL_CHANNEL_SMS;
	o1.body_text = "{{userName}}님";
	cr_expect_eq(bl_template_save(ctx, &o1, &id, &v), BL_OK, "%s", bl_error_last());
	cr_expect_eq(bl_template_save(ctx, &o1, &id, &v), BL_OK, "%s", bl_error_last()); /* v1: a new version */
	cr_expect_eq(v, 2);
	cr_expect_eq(bl_template_opts_init(&o1, BL_TEMPLATE_OPTS_VERSION + 1), BL_EINVAL); /* a future version */
	cr_expect_eq(bl_template_usage(ctx, "NOPE", &js), BL_ENOTFOUND);
	cr_expect_eq(tu_i64(ctx, "SELECT MAX(advertising) FROM message_templates WHERE code='GUARD_V1_SMS'"), 0);

	/* an advertising template: the flag is stored, and read back as a boolean */
	bl_template_opts ad;
	cr_assert_eq(bl_template_opts_init(&ad, BL_TEMPLATE_OPTS_VERSION), BL_OK);
	ad.code = "GUARD_AD_SMS";
	ad.name = "ad";
	ad.channel = BL_CHANNEL_SMS;
	ad.purpose = BL_PURPOSE_NOTICE;
	ad.advertising = true;
	ad.body_text = "새 요금제 안내 무료수신거부 080-000-0000";
	cr_expect_eq(bl_template_save(ctx, &ad, &id, &v), BL_EINVAL);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM message_templates WHERE code='GUARD_AD_SMS'"), 0);
	ad.body_text = "(광고) 새 요금제 안내 무료수신거부 080-000-0000";
	cr_expect_eq(bl_template_save(ctx, &ad, &id, &v), BL_OK, "%s", bl_error_last());
	char *got = NULL;
	cr_assert_eq(bl_template_get(ctx, "GUARD_AD_SMS", 0, &got), BL_OK, "%s", bl_error_last());
	cr_expect(strstr(got, "\"advertising\":true"), "%s", got);
	bl_free(got);
}
