/*
 * Typed reads (bl_statement, bl_message, bl_template): lookups and
 * searches, every accessor against the row, lines / attempts / delivery,
 * not found, NULL-safety, and the _to_json serializers against the JSON the
 * reads gave before they were typed: the reference queries below are the
 * SQL of those reads, turned into JSON by the same row-to-JSON code
 * (bl__db_json) that produced it then.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include "testutil.h"
#include "db.h"

#define MONTH "2026-10"

static bl_ctx *ctx;
static int64_t stmt1; /* statement of user 1 */

static void setup(void)
{
	ctx = tu_ctx_fresh("typed");
	tu_sql(ctx, "INSERT INTO services VALUES (1,'P1','5G 프리미어','PLAN',85000),"
		    "(2,'V1','V컬러링','VAS',3300),(3,'M1','앱스토어 결제','MCP',0)");
	tu_sql(ctx, "INSERT INTO charged_histories (user_id, service_id, created_at, charged_price, "
		    "contract_discount_price, bundled_discount_price, premier_discount_price) VALUES "
		    "(1,1,'2026-10-03 10:00:00',85000,21250,5500,0),(1,2,'2026-10-05 10:00:00',3300,0,0,0),"
		    "(1,3,'2026-10-31 23:59:59',12000,0,0,0),(2,1,'2026-10-01 00:00:00',85000,0,0,0),"
		    "(5,2,'2026-10-10 00:00:00',3300,2000,2000,2000)");
	/* user 1 has a row (a name); users 2 and 5 have none: user_name is NULL */
	tu_sql(ctx, "INSERT INTO users (id, name, phone_enc, phone_bidx, email_enc, email_bidx) VALUES "
		    "(1, '홍길동', x'00', x'01', x'00', x'01')");
	bl_batch_opts o;
	cr_assert_eq(bl_batch_opts_init(&o, BL_BATCH_OPTS_VERSION), BL_OK);
	int64_t run = 0;
	cr_assert_eq(bl_batch_run(ctx, MONTH, &o, &run), BL_OK, "%s", bl_error_last());
	stmt1 = tu_i64(ctx, "SELECT id FROM statements WHERE user_id = 1");
}

static void teardown(void)
{
	tu_ctx_drop(ctx);
	ctx = NULL;
}

TestSuite(typed, .init = setup, .fini = teardown, .timeout = 300);

/* The JSON of `sql` as bl__db_json gives it, compact. */
static json_t *ref_rows(const char *sql, const bl__param *p, unsigned n)
{
	json_t *rows = NULL;
	cr_assert_eq(bl__db_json(bl__ctx_db(ctx), sql, p, n, &rows), BL_OK, "%s", bl_error_last());
	return rows;
}

static void same_json(json_t *want, char *got)
{
	char *w = json_dumps(want, JSON_COMPACT);
	cr_assert_str_eq(got, w, "typed JSON differs:\n got  %s\n want %s", got, w);
	free(w);
	bl_free(got);
}

/* ---- statements ---- */

#define OLD_STATEMENT_GET                                                                        \
	"SELECT s.id, s.user_id, u.name AS user_name, s.target_month, s.batch_run_id, "          \
	"s.version, s.usage_amount, s.discount_amount, s.net_amount, s.taxable_amount, "         \
	"s.vat_amount, s.total_amount, s.billed_amount, s.truncated_amount, "                    \
	"DATE_FORMAT(s.due_date, '%Y-%m-%d') AS due_date, s.line_count, "                        \
	"DATE_FORMAT(s.issued_at, '%Y-%m-%d %H:%i:%s') AS issued_at "                            \
	"FROM statements s LEFT JOIN users u ON u.id = s.user_id "                               \
	"WHERE s.user_id = ? AND s.target_month = ?"
#define OLD_STATEMENT_LINES                                                                      \
	"SELECT l.line_no, l.charge_id, l.service_id, sv.name AS service_name, "                 \
	"l.service_type, l.price, l.contract_discount, l.bundle_discount, "                      \
	"l.premier_discount, l.discount, l.net FROM statement_lines l "                          \
	"LEFT JOIN services sv ON sv.id = l.service_id "                                         \
	"WHERE l.statement_id = ? ORDER BY l.line_no"
#define OLD_STATEMENT_SEARCH                                                                     \
	"SELECT s.id, s.user_id, u.name AS user_name, s.target_month, s.batch_run_id, "          \
	"s.version, s.usage_amount, s.discount_amount, s.vat_amount, s.billed_amount, "          \
	"DATE_FORMAT(s.due_date, '%Y-%m-%d') AS due_date, s.line_count, "                        \
	"DATE_FORMAT(s.issued_at, '%Y-%m-%d %H:%i:%s') AS issued_at "                            \
	"FROM statements s LEFT JOIN users u ON u.id = s.user_id WHERE s.id > ? ORDER BY s.id"

static json_t *old_statement(int64_t user_id)
{
	bl__param p[] = { BP_I64(user_id), BP_STR(MONTH) };
	json_t *rows = ref_rows(OLD_STATEMENT_GET, p, 2);
	json_t *st = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	bl__param q[] = { BP_I64(json_integer_value(json_object_get(st, "id"))) };
	json_object_set_new(st, "lines", ref_rows(OLD_STATEMENT_LINES, q, 1));
	return st;
}

Test(typed, statement_lookup_accessors_and_lines)
{
	bl_statement *s = NULL;
	cr_assert_eq(bl_statement_lookup(ctx, 1, MONTH, &s), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_statement_id(s), stmt1);
	cr_assert_eq(bl_statement_user_id(s), 1);
	cr_assert_str_eq(bl_statement_user_name(s), "홍길동");
	cr_assert_str_eq(bl_statement_target_month(s), MONTH);
	cr_assert_gt(bl_statement_batch_run_id(s), 0);
	cr_assert_eq(bl_statement_version(s), 1);
	/* the worked example: 85000 + 3300 + 12000, 26750 off, VAT on plan and VAS only */
	cr_assert_eq(bl_statement_usage_amount(s), 100300);
	cr_assert_eq(bl_statement_discount_amount(s), 26750);
	cr_assert_eq(bl_statement_net_amount(s), 73550);
	cr_assert_eq(bl_statement_taxable_amount(s), 61550);
	cr_assert_eq(bl_statement_vat_amount(s), 6155);
	cr_assert_eq(bl_statement_total_amount(s), 79705);
	cr_assert_eq(bl_statement_billed_amount(s), 79700);
	cr_assert_eq(bl_statement_truncated_amount(s), 5);
	cr_assert_str_eq(bl_statement_due_date(s), "2026-11-25");
	cr_assert_eq(bl_statement_line_count(s), 3);
	cr_assert_not_null(bl_statement_issued_at(s));
	cr_assert_eq(strlen(bl_statement_issued_at(s)), 19);
	cr_assert_eq(bl_statement_lines_count(s), 3);
	const bl_statement_line *l = bl_statement_lines_at(s, 0);
	cr_assert_eq(bl_statement_line_line_no(l), 1);
	cr_assert_eq(bl_statement_line_service_id(l), 1);
	cr_assert_str_eq(bl_statement_line_service_name(l), "5G 프리미어");
	cr_assert_str_eq(bl_statement_line_service_type(l), "PLAN");
	cr_assert_eq(bl_statement_line_price(l), 85000);
	cr_assert_eq(bl_statement_line_contract_discount(l), 21250);
	cr_assert_eq(bl_statement_line_bundle_discount(l), 5500);
	cr_assert_eq(bl_statement_line_premier_discount(l), 0);
	cr_assert_eq(bl_statement_line_discount(l), 26750);
	cr_assert_eq(bl_statement_line_net(l), 58250);
	cr_assert_gt(bl_statement_line_charge_id(l), 0);
	cr_assert_str_eq(bl_statement_line_service_type(bl_statement_lines_at(s, 2)), "MCP");
	cr_assert_null(bl_statement_lines_at(s, 3));

	char *json = NULL;
	cr_assert_eq(bl_statement_to_json(s, &json), BL_OK);
	json_t *want = old_statement(1);
	same_json(want, json);
	json_decref(want);
	/* the JSON read is the same */
	cr_assert_eq(bl_statement_get(ctx, 1, MONTH, &json), BL_OK);
	want = old_statement(1);
	same_json(want, json);
	json_decref(want);
	bl_statement_free(s);

	/* no subscriber row: a NULL name, null in the JSON */
	cr_assert_eq(bl_statement_lookup(ctx, 2, MONTH, &s), BL_OK);
	cr_assert_null(bl_statement_user_name(s));
	cr_assert_eq(bl_statement_to_json(s, &json), BL_OK);
	cr_assert(strstr(json, "\"user_name\":null"), "%s", json);
	want = old_statement(2);
	same_json(want, json);
	json_decref(want);
	bl_statement_free(s);
}

Test(typed, statement_not_found_and_errors)
{
	bl_statement *s = (bl_statement *)&s; /* set to NULL on failure */
	cr_assert_eq(bl_statement_lookup(ctx, 3, MONTH, &s), BL_ENOTFOUND);
	cr_assert_null(s);
	cr_assert_eq(bl_statement_lookup(ctx, 1, "2026-13", &s), BL_EINVAL);
	cr_assert_eq(bl_statement_lookup(NULL, 1, MONTH, &s), BL_EINVAL);
	cr_assert_eq(bl_statement_lookup(ctx, 1, MONTH, NULL), BL_EINVAL);
	char *json = NULL;
	cr_assert_eq(bl_statement_to_json(NULL, &json), BL_EINVAL);
	cr_assert_eq(bl_statement_array_to_json(NULL, &json), BL_EINVAL);
}

Test(typed, statement_find_filter_and_search_json)
{
	bl_statement_filter f;
	cr_assert_eq(bl_statement_filter_init(&f, BL_STATEMENT_FILTER_VERSION), BL_OK);
	cr_assert_eq(f.max_billed, -1);
	cr_assert_eq(f.limit, 100);
	cr_assert_eq(bl_statement_filter_init(&f, 99), BL_EINVAL);
	bl_statement_filter_init(&f, 1);
	bl_statement_array *a = NULL;
	cr_assert_eq(bl_statement_find(ctx, &f, &a), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_statement_array_count(a), 3);
	const bl_statement *s = bl_statement_array_at(a, 0);
	cr_assert_eq(bl_statement_id(s), stmt1);
	/* every accessor holds its value in a search too; no lines are read */
	cr_assert_eq(bl_statement_truncated_amount(s), 5);
	cr_assert_eq(bl_statement_line_count(s), 3);
	cr_assert_eq(bl_statement_lines_count(s), 0);
	cr_assert_null(bl_statement_lines_at(s, 0));
	cr_assert_null(bl_statement_array_at(a, 3));
	char *json = NULL;
	cr_assert_eq(bl_statement_array_to_json(a, &json), BL_OK);
	bl__param p[] = { BP_I64(0) };
	json_t *want = ref_rows(OLD_STATEMENT_SEARCH, p, 1);
	same_json(want, json);
	/* one item serializes as a search item */
	cr_assert_eq(bl_statement_to_json(s, &json), BL_OK);
	same_json(json_array_get(want, 0), json);
	/* the old signature and the filter give the same */
	cr_assert_eq(bl_statement_search(ctx, NULL, 0, 0, -1, 0, 100, &json), BL_OK);
	same_json(want, json);
	cr_assert_eq(bl_statement_search_by(ctx, &f, &json), BL_OK);
	same_json(want, json);
	json_decref(want);
	bl_statement_array_free(a);

	/* the criteria */
	f.min_billed = 80000;
	cr_assert_eq(bl_statement_find(ctx, &f, &a), BL_OK);
	cr_assert_eq(bl_statement_array_count(a), 1);
	cr_assert_eq(bl_statement_user_id(bl_statement_array_at(a, 0)), 2);
	bl_statement_array_free(a);
	bl_statement_filter_init(&f, 1);
	f.user_id = 5;
	f.month = MONTH;
	cr_assert_eq(bl_statement_find(ctx, &f, &a), BL_OK);
	cr_assert_eq(bl_statement_array_count(a), 1);
	bl_statement_array_free(a);
	bl_statement_filter_init(&f, 1);
	f.after_id = stmt1;
	f.limit = 1;
	cr_assert_eq(bl_statement_find(ctx, &f, &a), BL_OK);
	cr_assert_eq(bl_statement_array_count(a), 1);
	cr_assert_gt(bl_statement_id(bl_statement_array_at(a, 0)), stmt1);
	bl_statement_array_free(a);
	/* refused: a bad month, an empty range, a limit out of range, no filter */
	a = (bl_statement_array *)&a;
	f.month = "2026-13";
	cr_assert_eq(bl_statement_find(ctx, &f, &a), BL_EINVAL);
	cr_assert_null(a);
	bl_statement_filter_init(&f, 1);
	f.min_billed = 10;
	f.max_billed = 5;
	cr_assert_eq(bl_statement_find(ctx, &f, &a), BL_EINVAL);
	f.max_billed = -1;
	f.limit = 0;
	cr_assert_eq(bl_statement_find(ctx, &f, &a), BL_EINVAL);
	cr_assert_eq(bl_statement_find(ctx, NULL, &a), BL_EINVAL);
	f.version = 0;
	f.limit = 10;
	cr_assert_eq(bl_statement_search_by(ctx, &f, &json), BL_EINVAL);
}

/* ---- messages ---- */

#define OLD_MSG_COLUMNS                                                                          \
	"m.id, m.user_id, m.statement_id, m.reservation_id, t.code AS template_code, "          \
	"t.version AS template_version, m.channel, m.kind, m.bytes, m.purpose, m.status, "     \
	"m.attempts, m.last_error, m.fallback_of, "                                            \
	"DATE_FORMAT(m.requested_at, '%Y-%m-%d %H:%i:%s') AS requested_at, "                   \
	"DATE_FORMAT(m.processed_at, '%Y-%m-%d %H:%i:%s') AS processed_at, "                   \
	"DATE_FORMAT(m.next_attempt_at, '%Y-%m-%d %H:%i:%s') AS next_attempt_at, "             \
	"(SELECT u.name FROM users u WHERE u.id = m.user_id) AS user_name"

static json_t *old_message(int64_t id)
{
	bl__param p[] = { BP_I64(id) };
	json_t *rows = ref_rows("SELECT " OLD_MSG_COLUMNS " FROM messages m JOIN message_templates t ON "
				"t.id = m.template_id WHERE m.id = ?", p, 1);
	json_t *m = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	json_object_set_new(m, "attempt_log",
			    ref_rows("SELECT attempt_no, channel, status, error, worker, provider, request_id, result, "
				     "result_code, DATE_FORMAT(started_at, '%Y-%m-%d %H:%i:%s.%f') AS started_at, "
				     "DATE_FORMAT(finished_at, '%Y-%m-%d %H:%i:%s.%f') AS finished_at "
				     "FROM message_attempts WHERE message_id = ? ORDER BY attempt_no", p, 1));
	json_t *ledger = ref_rows("SELECT kind, destination_masked, bytes, attempt_no, duplicate_requests, provider, "
				  "request_id, result, result_code, "
				  "DATE_FORMAT(accepted_at, '%Y-%m-%d %H:%i:%s') AS accepted_at "
				  "FROM message_ledger WHERE message_id = ?", p, 1);
	json_object_set(m, "delivery", json_array_size(ledger) ? json_array_get(ledger, 0) : json_null());
	json_decref(ledger);
	return m;
}

static void two_messages(void)
{
	char sql[1024];
	snprintf(sql, sizeof sql,
		 "INSERT INTO messages (id, idempotency_key, user_id, statement_id, template_id, channel, kind, "
		 "bytes, purpose, status, attempts, last_error, requested_at, processed_at) VALUES "
		 "(10, 'k10', 1, %lld, (SELECT id FROM message_templates WHERE code = 'DEFAULT_BILLING_SMS' "
		 "ORDER BY version DESC LIMIT 1), 'SMS', 'LMS', 120, 'BILLING', 'SUCCESS', 2, 'timeout', "
		 "'2026-11-01 09:00:00', '2026-11-01 09:05:00'),"
		 "(11, 'k11', 2, NULL, (SELECT id FROM message_templates WHERE code = 'DEFAULT_BILLING_EMAIL' "
		 "ORDER BY version DESC LIMIT 1), 'EMAIL', NULL, NULL, 'BILLING', 'WAITING', 0, NULL, "
		 "'2026-11-01 09:00:00', NULL)",
		 (long long)stmt1);
	tu_sql(ctx, sql);
	tu_sql(ctx, "INSERT INTO message_attempts (message_id, attempt_no, channel, status, error, worker, "
		    "started_at, finished_at, provider, request_id, result, result_code) VALUES "
		    "(10, 1, 'SMS', 'FAILED', 'timeout', 'w1', '2026-11-01 09:00:00.125', '2026-11-01 09:00:01.5', "
		    "NULL, NULL, NULL, NULL),"
		    "(10, 2, 'SMS', 'SUCCESS', NULL, 'w2', '2026-11-01 09:05:00', '2026-11-01 09:05:00.25', "
		    "'sens', 'r-1', 'DELIVERED', '0')");
	tu_sql(ctx, "INSERT INTO message_ledger (message_id, channel, kind, destination_masked, bytes, attempt_no, "
		    "provider, request_id, accepted_at) VALUES "
		    "(10, 'SMS', 'LMS', '010-****-5678', 120, 2, 'sens', 'r-1', '2026-11-01 09:05:00')");
}

Test(typed, message_lookup_attempts_and_delivery)
{
	two_messages();
	bl_message *m = NULL;
	cr_assert_eq(bl_message_lookup(ctx, 10, &m), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_message_id(m), 10);
	cr_assert_eq(bl_message_user_id(m), 1);
	cr_assert_eq(bl_message_statement_id(m), stmt1);
	cr_assert_eq(bl_message_reservation_id(m), 0);
	cr_assert_str_eq(bl_message_template_code(m), "DEFAULT_BILLING_SMS");
	cr_assert_geq(bl_message_template_version(m), 1);
	cr_assert_str_eq(bl_message_channel(m), "SMS");
	cr_assert_str_eq(bl_message_kind_name(m), "LMS");
	cr_assert_eq(bl_message_bytes(m), 120);
	cr_assert_str_eq(bl_message_purpose(m), "BILLING");
	cr_assert_str_eq(bl_message_status(m), "SUCCESS");
	cr_assert_eq(bl_message_attempts(m), 2);
	cr_assert_str_eq(bl_message_last_error(m), "timeout");
	cr_assert_eq(bl_message_fallback_of(m), 0);
	cr_assert_str_eq(bl_message_requested_at(m), "2026-11-01 09:00:00");
	cr_assert_str_eq(bl_message_processed_at(m), "2026-11-01 09:05:00");
	cr_assert_not_null(bl_message_next_attempt_at(m));
	cr_assert_str_eq(bl_message_user_name(m), "홍길동");
	cr_assert_eq(bl_message_attempt_log_count(m), 2);
	const bl_message_attempt *a = bl_message_attempt_log_at(m, 0);
	cr_assert_eq(bl_message_attempt_attempt_no(a), 1);
	cr_assert_str_eq(bl_message_attempt_channel(a), "SMS");
	cr_assert_str_eq(bl_message_attempt_status(a), "FAILED");
	cr_assert_str_eq(bl_message_attempt_error(a), "timeout");
	cr_assert_str_eq(bl_message_attempt_worker(a), "w1");
	cr_assert_null(bl_message_attempt_provider(a));
	cr_assert_str_eq(bl_message_attempt_started_at(a), "2026-11-01 09:00:00.125000");
	cr_assert_str_eq(bl_message_attempt_finished_at(a), "2026-11-01 09:00:01.500000");
	a = bl_message_attempt_log_at(m, 1);
	cr_assert_null(bl_message_attempt_error(a));
	cr_assert_str_eq(bl_message_attempt_provider(a), "sens");
	cr_assert_str_eq(bl_message_attempt_request_id(a), "r-1");
	cr_assert_str_eq(bl_message_attempt_result(a), "DELIVERED");
	cr_assert_str_eq(bl_message_attempt_result_code(a), "0");
	cr_assert_null(bl_message_attempt_log_at(m, 2));
	const bl_delivery *d = bl_message_delivery(m);
	cr_assert_not_null(d);
	cr_assert_str_eq(bl_delivery_kind(d), "LMS");
	/* the destination as the JSON has it: masked */
	cr_assert_str_eq(bl_delivery_destination_masked(d), "010-****-5678");
	cr_assert_eq(bl_delivery_bytes(d), 120);
	cr_assert_eq(bl_delivery_attempt_no(d), 2);
	cr_assert_eq(bl_delivery_duplicate_requests(d), 0);
	cr_assert_str_eq(bl_delivery_provider(d), "sens");
	cr_assert_str_eq(bl_delivery_request_id(d), "r-1");
	cr_assert_null(bl_delivery_result(d));
	cr_assert_null(bl_delivery_result_code(d));
	cr_assert_str_eq(bl_delivery_accepted_at(d), "2026-11-01 09:05:00");
	char *json = NULL;
	cr_assert_eq(bl_message_to_json(m, &json), BL_OK);
	json_t *want = old_message(10);
	same_json(want, json);
	json_decref(want);
	cr_assert_eq(bl_message_get(ctx, 10, &json), BL_OK);
	want = old_message(10);
	same_json(want, json);
	json_decref(want);
	bl_message_free(m);

	/* not rendered, not sent: NULLs, no attempts, delivery null */
	cr_assert_eq(bl_message_lookup(ctx, 11, &m), BL_OK);
	cr_assert_null(bl_message_kind_name(m));
	cr_assert_eq(bl_message_bytes(m), 0);
	cr_assert_eq(bl_message_statement_id(m), 0);
	cr_assert_null(bl_message_last_error(m));
	cr_assert_null(bl_message_processed_at(m));
	cr_assert_null(bl_message_user_name(m));
	cr_assert_eq(bl_message_attempt_log_count(m), 0);
	cr_assert_null(bl_message_delivery(m));
	cr_assert_eq(bl_message_to_json(m, &json), BL_OK);
	cr_assert(strstr(json, "\"attempt_log\":[],\"delivery\":null"), "%s", json);
	want = old_message(11);
	same_json(want, json);
	json_decref(want);
	bl_message_free(m);

	m = (bl_message *)&m;
	cr_assert_eq(bl_message_lookup(ctx, 999, &m), BL_ENOTFOUND);
	cr_assert_null(m);
	cr_assert_eq(bl_message_get(ctx, 999, &json), BL_ENOTFOUND);
	cr_assert_eq(bl_message_lookup(NULL, 10, &m), BL_EINVAL);
	cr_assert_eq(bl_message_to_json(NULL, &json), BL_EINVAL);
}

Test(typed, message_find_and_search_json)
{
	two_messages();
	bl_message_filter f;
	bl_message_filter_init(&f, BL_MESSAGE_FILTER_VERSION);
	bl_message_array *a = NULL;
	cr_assert_eq(bl_message_find(ctx, &f, &a), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_message_array_count(a), 2);
	const bl_message *m = bl_message_array_at(a, 0);
	cr_assert_eq(bl_message_id(m), 10);
	cr_assert_str_eq(bl_message_user_name(m), "홍길동");
	cr_assert_eq(bl_message_attempt_log_count(m), 0); /* a search reads no attempts */
	cr_assert_null(bl_message_delivery(m));
	cr_assert_null(bl_message_array_at(a, 2));
	char *json = NULL;
	cr_assert_eq(bl_message_array_to_json(a, &json), BL_OK);
	json_t *want = ref_rows("SELECT " OLD_MSG_COLUMNS " FROM messages m JOIN message_templates t ON "
				"t.id = m.template_id ORDER BY m.id", NULL, 0);
	same_json(want, json);
	cr_assert_eq(bl_message_to_json(m, &json), BL_OK);
	same_json(json_array_get(want, 0), json);
	cr_assert_eq(bl_message_search(ctx, &f, &json), BL_OK);
	same_json(want, json);
	json_decref(want);
	bl_message_array_free(a);

	f.newest_first = true;
	f.limit = 1;
	cr_assert_eq(bl_message_find(ctx, &f, &a), BL_OK);
	cr_assert_eq(bl_message_array_count(a), 1);
	cr_assert_eq(bl_message_id(bl_message_array_at(a, 0)), 11);
	bl_message_array_free(a);
	/* a template that does not exist matches nothing: an empty array */
	bl_message_filter_init(&f, BL_MESSAGE_FILTER_VERSION);
	f.template_code = "NO_SUCH";
	cr_assert_eq(bl_message_find(ctx, &f, &a), BL_OK);
	cr_assert_eq(bl_message_array_count(a), 0);
	cr_assert_eq(bl_message_array_to_json(a, &json), BL_OK);
	cr_assert_str_eq(json, "[]");
	bl_free(json);
	bl_message_array_free(a);
	f.status = "NOPE";
	a = (bl_message_array *)&a;
	cr_assert_eq(bl_message_find(ctx, &f, &a), BL_EINVAL);
	cr_assert_null(a);
}

/* ---- templates ---- */

/* the old reads' finishing touch: flags as booleans, variables_json parsed as "variables", last */
static void old_tidy(json_t *o)
{
	static const char *const flags[] = { "enabled", "advertising" };
	for (size_t i = 0; i < 2; i++) {
		json_t *e = json_object_get(o, flags[i]);
		if (e)
			json_object_set_new(o, flags[i], json_boolean(json_integer_value(e) != 0));
	}
	json_t *vj = json_object_get(o, "variables_json");
	if (vj) {
		json_t *parsed = json_is_string(vj) ? json_loads(json_string_value(vj), 0, NULL) : NULL;
		json_object_set_new(o, "variables", parsed ? parsed : json_object());
		json_object_del(o, "variables_json");
	}
}

static json_t *old_tidy_all(json_t *rows)
{
	size_t i;
	json_t *o;
	json_array_foreach(rows, i, o)
		old_tidy(o);
	return rows;
}

static void save_sms(const char *code, const char *text)
{
	bl_template_opts o;
	bl_template_opts_init(&o, BL_TEMPLATE_OPTS_VERSION);
	o.code = code;
	o.name = "알림";
	o.channel = BL_CHANNEL_SMS;
	o.purpose = BL_PURPOSE_NOTICE;
	o.body_text = text;
	o.variables_json = "{\"userName\":{\"type\":\"string\",\"required\":true}}";
	o.created_by = "test";
	int64_t id;
	int v;
	cr_assert_eq(bl_template_save(ctx, &o, &id, &v), BL_OK, "%s", bl_error_last());
}

Test(typed, template_lookup_find_and_json)
{
	save_sms("TYPED_SMS", "{{userName}}님 v1");
	save_sms("TYPED_SMS", "{{userName}}님 v2");
	bl_template *t = NULL;
	cr_assert_eq(bl_template_lookup(ctx, "TYPED_SMS", 0, &t), BL_OK, "%s", bl_error_last());
	cr_assert_gt(bl_template_id(t), 0);
	cr_assert_str_eq(bl_template_code(t), "TYPED_SMS");
	cr_assert_eq(bl_template_version(t), 2);
	cr_assert_str_eq(bl_template_name(t), "알림");
	cr_assert_str_eq(bl_template_channel(t), "SMS");
	cr_assert_str_eq(bl_template_purpose(t), "NOTICE");
	cr_assert_null(bl_template_subject(t));
	cr_assert_null(bl_template_body_html(t));
	cr_assert_str_eq(bl_template_body_text(t), "{{userName}}님 v2");
	json_t *vars = json_loads(bl_template_variables_json(t), 0, NULL);
	cr_assert(json_is_true(json_object_get(json_object_get(vars, "userName"), "required")));
	json_decref(vars);
	cr_assert(bl_template_enabled(t));
	cr_assert_not(bl_template_advertising(t));
	cr_assert_eq(strlen(bl_template_created_at(t)), 19);
	cr_assert_str_eq(bl_template_created_by(t), "test");
	char *json = NULL;
	cr_assert_eq(bl_template_to_json(t, &json), BL_OK);
	bl__param p[] = { BP_STR("TYPED_SMS"), BP_I64(2) };
	json_t *want = old_tidy_all(ref_rows("SELECT id, code, version, name, channel, purpose, subject, body_html, "
					     "body_text, variables_json, enabled, advertising, "
					     "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') AS created_at, created_by "
					     "FROM message_templates WHERE code = ? AND version = ?", p, 2));
	same_json(json_array_get(want, 0), json);
	cr_assert_eq(bl_template_get(ctx, "TYPED_SMS", 2, &json), BL_OK);
	same_json(json_array_get(want, 0), json);
	json_decref(want);
	bl_template_free(t);

	/* the latest of every template */
	bl_template_array *a = NULL;
	cr_assert_eq(bl_template_find(ctx, &a), BL_OK, "%s", bl_error_last());
	cr_assert_geq(bl_template_array_count(a), 3); /* the defaults and ours */
	cr_assert_eq(bl_template_array_to_json(a, &json), BL_OK);
	want = old_tidy_all(ref_rows("SELECT t.id, t.code, t.version, t.name, t.channel, t.purpose, t.subject, "
				     "t.variables_json, t.enabled, t.advertising, "
				     "DATE_FORMAT(t.created_at, '%Y-%m-%d %H:%i:%s') AS created_at, t.created_by "
				     "FROM message_templates t JOIN (SELECT code, MAX(version) AS v "
				     "FROM message_templates GROUP BY code) m ON m.code = t.code AND m.v = t.version "
				     "ORDER BY t.code", NULL, 0));
	same_json(want, json);
	cr_assert_eq(bl_template_list(ctx, &json), BL_OK);
	same_json(want, json);
	/* a listing's items carry the bodies too, though its JSON does not */
	for (size_t i = 0; i < bl_template_array_count(a); i++)
		cr_assert_not_null(bl_template_body_text(bl_template_array_at(a, i)));
	json_decref(want);
	bl_template_array_free(a);

	/* all versions, newest first */
	cr_assert_eq(bl_template_find_versions(ctx, "TYPED_SMS", &a), BL_OK);
	cr_assert_eq(bl_template_array_count(a), 2);
	cr_assert_eq(bl_template_version(bl_template_array_at(a, 0)), 2);
	cr_assert_str_eq(bl_template_body_text(bl_template_array_at(a, 1)), "{{userName}}님 v1");
	cr_assert_eq(bl_template_array_to_json(a, &json), BL_OK);
	bl__param q[] = { BP_STR("TYPED_SMS") };
	want = old_tidy_all(ref_rows("SELECT id, code, version, name, channel, purpose, advertising, enabled, "
				     "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') AS created_at, created_by "
				     "FROM message_templates WHERE code = ? ORDER BY version DESC", q, 1));
	same_json(want, json);
	cr_assert_eq(bl_template_to_json(bl_template_array_at(a, 1), &json), BL_OK);
	same_json(json_array_get(want, 1), json);
	cr_assert_eq(bl_template_versions(ctx, "TYPED_SMS", &json), BL_OK);
	same_json(want, json);
	json_decref(want);
	bl_template_array_free(a);
}

Test(typed, template_not_found_and_errors)
{
	bl_template *t = (bl_template *)&t;
	cr_assert_eq(bl_template_lookup(ctx, "NOPE", 0, &t), BL_ENOTFOUND);
	cr_assert_null(t);
	cr_assert_eq(bl_template_lookup(ctx, "DEFAULT_BILLING_SMS", 99, &t), BL_ENOTFOUND);
	cr_assert_eq(bl_template_lookup(ctx, "bad code", 0, &t), BL_EINVAL);
	cr_assert_eq(bl_template_lookup(ctx, "DEFAULT_BILLING_SMS", -1, &t), BL_EINVAL);
	bl_template_array *a = (bl_template_array *)&a;
	cr_assert_eq(bl_template_find_versions(ctx, "NOPE", &a), BL_ENOTFOUND);
	cr_assert_null(a);
	cr_assert_eq(bl_template_find(NULL, &a), BL_EINVAL);
	char *json = NULL;
	cr_assert_eq(bl_template_to_json(NULL, &json), BL_EINVAL);
}

/* Every accessor and _free of a NULL object: 0, NULL, false, nothing. */
Test(typed, null_objects)
{
	cr_assert_eq(bl_statement_id(NULL), 0);
	cr_assert_null(bl_statement_user_name(NULL));
	cr_assert_eq(bl_statement_billed_amount(NULL), 0);
	cr_assert_eq(bl_statement_lines_count(NULL), 0);
	cr_assert_null(bl_statement_lines_at(NULL, 0));
	cr_assert_eq(bl_statement_line_net(NULL), 0);
	cr_assert_null(bl_statement_line_service_name(NULL));
	cr_assert_eq(bl_statement_array_count(NULL), 0);
	cr_assert_null(bl_statement_array_at(NULL, 0));
	cr_assert_eq(bl_message_id(NULL), 0);
	cr_assert_null(bl_message_status(NULL));
	cr_assert_eq(bl_message_attempt_log_count(NULL), 0);
	cr_assert_null(bl_message_attempt_log_at(NULL, 0));
	cr_assert_null(bl_message_delivery(NULL));
	cr_assert_eq(bl_message_attempt_attempt_no(NULL), 0);
	cr_assert_null(bl_message_attempt_error(NULL));
	cr_assert_null(bl_delivery_destination_masked(NULL));
	cr_assert_eq(bl_delivery_bytes(NULL), 0);
	cr_assert_eq(bl_message_array_count(NULL), 0);
	cr_assert_null(bl_message_array_at(NULL, 0));
	cr_assert_null(bl_template_code(NULL));
	cr_assert_not(bl_template_enabled(NULL));
	cr_assert_eq(bl_template_array_count(NULL), 0);
	cr_assert_null(bl_template_array_at(NULL, 0));
	bl_statement_free(NULL);
	bl_statement_array_free(NULL);
	bl_message_free(NULL);
	bl_message_array_free(NULL);
	bl_template_free(NULL);
	bl_template_array_free(NULL);
}
