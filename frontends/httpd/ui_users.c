/*
 * Statement (정산서) search and detail, and subscriber groups (list, new,
 * edit, members, member search by name / phone / e-mail / plan).  Personal
 * data comes masked from the library; phone and e-mail searches match
 * through the blind index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ui.h"

/* ---- statements ---- */

static const char *const ST_KEYS[] = { "month", "user_id", "min_billed", "max_billed", NULL };

static bool int_query(req *r, const char *key, int64_t *out)
{
	const char *s = query(r, key);
	if (s && !parse_int64(s, out)) {
		ui_error(r, key, "0 이상의 정수를 입력하세요.");
		return false;
	}
	return true;
}

void ui_statement_search(req *r)
{
	bl_statement_filter f;
	bl_statement_filter_init(&f, BL_STATEMENT_FILTER_VERSION);
	f.month = query(r, "month");
	f.limit = 51;
	bl_statement_array *items = NULL;
	int status = 200;
	static const char *const errmap[] = { "month", "month", "user_id", "user", "min_billed", "min", "max_billed", "max",
					      NULL };
	if (int_query(r, "user_id", &f.user_id) && int_query(r, "min_billed", &f.min_billed) &&
	    int_query(r, "max_billed", &f.max_billed)) {
		parse_int64(query(r, "cursor"), &f.after_id);
		int rc = bl_statement_find(r->ctx, &f, &items);
		if (rc == BL_EINVAL) {
			ui_error_lib(r, rc, errmap);
			status = 400;
		} else if (rc) {
			ui_fail_page(r, rc);
			return;
		}
	} else {
		status = 400;
	}
	const char *month = f.month;
	hbuf b = { 0 };
	ui_page_begin(&b, r, "정산서 조회", "statements");
	ui_form_fields(r, ST_KEYS);
	hb_printf(&b, "<form method=\"get\" action=\"/admin/statements\" class=\"filters\" id=\"statement-search\">"
		      "<label>정산 월<input name=\"month\" value=\"%s\" placeholder=\"YYYY-MM\" size=\"8\"></label>"
		      "<label>고객 ID<input name=\"user_id\" value=\"%s\" size=\"8\" inputmode=\"numeric\"></label>"
		      "<label>청구 금액 최소<input name=\"min_billed\" value=\"%s\" size=\"10\" inputmode=\"numeric\"></label>"
		      "<label>최대<input name=\"max_billed\" value=\"%s\" size=\"10\" inputmode=\"numeric\"></label>"
		      "<button type=\"submit\">조회</button></form>",
		  month ? month : "", query(r, "user_id") ? query(r, "user_id") : "",
		  query(r, "min_billed") ? query(r, "min_billed") : "", query(r, "max_billed") ? query(r, "max_billed") : "");
	for (size_t i = 0; ST_KEYS[i]; i++)
		ui_field_error(&b, r, ST_KEYS[i]);
	ui_field_error(&b, r, NULL);
	hb_raw(&b, "<table class=\"list\" id=\"statements\"><thead><tr><th>ID</th><th>고객</th><th>정산 월</th>"
		   "<th class=\"num\">이용 금액</th><th class=\"num\">할인</th><th class=\"num\">부가세</th>"
		   "<th class=\"num\">청구 금액</th><th>납부 기한</th><th class=\"num\">항목</th><th>발행</th></tr></thead><tbody>");
	size_t n = bl_statement_array_count(items);
	for (size_t i = 0; i < n && i < 50; i++) {
		const bl_statement *s = bl_statement_array_at(items, i);
		hb_printf(&b, "<tr><td><a href=\"/admin/statements/%D/%u\">#%D</a></td><td>%s <small>(%D)</small></td>"
			      "<td>%s</td><td class=\"num\">%W</td><td class=\"num\">%W</td><td class=\"num\">%W</td>"
			      "<td class=\"num\"><b>%W</b></td><td>%s</td><td class=\"num\">%D</td><td>%s</td></tr>",
			  bl_statement_user_id(s), ui_str(bl_statement_target_month(s)), bl_statement_id(s),
			  ui_str(bl_statement_user_name(s)), bl_statement_user_id(s), ui_str(bl_statement_target_month(s)),
			  bl_statement_usage_amount(s), bl_statement_discount_amount(s), bl_statement_vat_amount(s),
			  bl_statement_billed_amount(s), ui_str(bl_statement_due_date(s)),
			  (int64_t)bl_statement_line_count(s), ui_str(bl_statement_issued_at(s)));
	}
	if (!n)
		hb_raw(&b, "<tr><td colspan=\"10\" class=\"empty\">조건에 맞는 정산서가 없습니다.</td></tr>");
	hb_raw(&b, "</tbody></table>");
	if (n > 50) {
		char next[24];
		snprintf(next, sizeof next, "%lld", (long long)bl_statement_id(bl_statement_array_at(items, 49)));
		ui_next_link(&b, r, "/admin/statements", next, ST_KEYS);
	}
	ui_page_end(&b, r);
	ui_send_html(r, status, &b);
	bl_statement_array_free(items);
}

static const char *service_type(const char *t)
{
	return !strcmp(t, "PLAN") ? "요금제" : !strcmp(t, "VAS") ? "부가서비스" : !strcmp(t, "MCP") ? "소액결제" : t;
}

void ui_statement_get(req *r)
{
	bl_statement *s = NULL;
	int rc = bl_statement_lookup(r->ctx, param_i64(r, 0), param(r, 1), &s);
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	const char *month = ui_str(bl_statement_target_month(s)), *name = ui_str(bl_statement_user_name(s));
	hbuf b = { 0 };
	char title[160];
	snprintf(title, sizeof title, "정산서 · %s · %s", month, name);
	ui_page_begin(&b, r, title, "statements");
	hb_printf(&b, "<div class=\"grid3\"><div class=\"card span2\" id=\"statement\"><h2>%s 고객님 %s 청구 내역</h2>"
		      "<table class=\"list lines\"><thead><tr><th>서비스</th><th>구분</th><th class=\"num\">이용 금액</th>"
		      "<th class=\"num\">선택약정</th><th class=\"num\">결합</th><th class=\"num\">멤버십</th>"
		      "<th class=\"num\">할인 합계</th><th class=\"num\">금액</th></tr></thead><tbody>",
		  name, month);
	for (size_t i = 0; i < bl_statement_lines_count(s); i++) {
		const bl_statement_line *l = bl_statement_lines_at(s, i);
		hb_printf(&b, "<tr><td>%s</td><td>%s</td><td class=\"num\">%W</td><td class=\"num\">%W</td>"
			      "<td class=\"num\">%W</td><td class=\"num\">%W</td><td class=\"num\">%W</td><td class=\"num\">%W</td></tr>",
			  ui_str(bl_statement_line_service_name(l)), service_type(ui_str(bl_statement_line_service_type(l))),
			  bl_statement_line_price(l), bl_statement_line_contract_discount(l),
			  bl_statement_line_bundle_discount(l), bl_statement_line_premier_discount(l),
			  bl_statement_line_discount(l), bl_statement_line_net(l));
	}
	hb_printf(&b, "</tbody></table></div><div class=\"card\"><h2>합계</h2><dl class=\"kv totals\">"
		      "<div><dt>이용 금액</dt><dd>%W</dd></div><div><dt>할인</dt><dd>-%W</dd></div>"
		      "<div><dt>공급가액</dt><dd>%W</dd></div><div><dt>과세 대상</dt><dd>%W</dd></div>"
		      "<div><dt>부가세</dt><dd>%W</dd></div><div><dt>합계</dt><dd>%W</dd></div>"
		      "<div><dt>10원 미만 절사</dt><dd>-%W</dd></div><div class=\"grand\"><dt>청구 금액</dt><dd id=\"billed\">%W</dd></div>"
		      "<div><dt>납부 기한</dt><dd>%s</dd></div></dl>",
		  bl_statement_usage_amount(s), bl_statement_discount_amount(s), bl_statement_net_amount(s),
		  bl_statement_taxable_amount(s), bl_statement_vat_amount(s), bl_statement_total_amount(s),
		  bl_statement_truncated_amount(s), bl_statement_billed_amount(s), ui_str(bl_statement_due_date(s)));
	hb_printf(&b, "<p class=\"meta\">정산서 #%D · 버전 %D · 발행 %s · <a href=\"/admin/batch/%D\">실행 #%D</a></p>"
		      "<p><a href=\"/admin/messages?user_id=%D\">이 고객의 메시지</a> · "
		      "<a href=\"/admin/statements?user_id=%D\">이 고객의 다른 정산서</a></p></div></div>",
		  bl_statement_id(s), (int64_t)bl_statement_version(s), ui_str(bl_statement_issued_at(s)),
		  bl_statement_batch_run_id(s), bl_statement_batch_run_id(s), bl_statement_user_id(s),
		  bl_statement_user_id(s));
	ui_page_end(&b, r);
	ui_send_html(r, 200, &b);
	bl_statement_free(s);
}

/* ---- groups ---- */

static const char *const GROUP_FIELDS[] = { "code", "name", "description", NULL };

static void group_list_page(req *r, int status)
{
	char *json = NULL;
	json_t *all = ui_lib_json(r, bl_group_list(r->ctx, &json), &json);
	if (!all)
		return;
	hbuf b = { 0 };
	ui_page_begin(&b, r, "고객 그룹", "groups");
	ui_form_fields(r, GROUP_FIELDS);
	hb_raw(&b, "<div class=\"grid3\"><div class=\"span2\"><table class=\"list\" id=\"groups\"><thead><tr><th>코드</th><th>이름</th>"
		   "<th>종류</th><th>설명</th><th class=\"num\">고객 수</th><th>생성</th></tr></thead><tbody>");
	size_t i;
	json_t *g;
	json_array_foreach(all, i, g)
		hb_printf(&b, "<tr><td><a href=\"/admin/groups/%u\">%s</a></td><td>%s</td><td class=\"nowrap\">%s</td><td>%s</td>"
			      "<td class=\"num\">%N</td><td>%s</td></tr>",
			  js(g, "code"), js(g, "code"), js(g, "name"), strcmp(js(g, "kind"), "ALL") ? "지정" : "전체",
			  js(g, "description"), ji(g, "member_count"), js(g, "created_at"));
	hb_raw(&b, "</tbody></table></div>");
	if (ui_can(r, BL_ROLE_OPERATOR)) {
		hb_raw(&b, "<form method=\"post\" action=\"/admin/groups\" class=\"card\" id=\"group-form\"><h2>새 그룹</h2>");
		ui_csrf(&b, r);
		ui_field_error(&b, r, NULL);
		hb_printf(&b, "<label>코드<input name=\"code\" value=\"%s\" required placeholder=\"EVENT_2026\"></label>",
			  form(r, "code") ? form(r, "code") : "");
		ui_field_error(&b, r, "code");
		hb_printf(&b, "<label>이름<input name=\"name\" value=\"%s\" required></label>", form(r, "name") ? form(r, "name") : "");
		ui_field_error(&b, r, "name");
		hb_printf(&b, "<label class=\"block\">설명<textarea name=\"description\" rows=\"3\">%s</textarea></label>",
			  form(r, "description") ? form(r, "description") : "");
		ui_field_error(&b, r, "description");
		hb_raw(&b, "<button type=\"submit\" class=\"primary\">만들기</button></form>");
	}
	hb_raw(&b, "</div>");
	ui_page_end(&b, r);
	ui_send_html(r, status, &b);
	json_decref(all);
}

void ui_group_list(req *r)
{
	group_list_page(r, 200);
}

static const char *const GROUP_ERRMAP[] = { "code", "code", "name", "name", "description", "description", NULL };

static void to_group(req *r, const char *code, const char *ok)
{
	hbuf loc = { 0 };
	hb_printf(&loc, "/admin/groups/%u?ok=%r", code, ok);
	ui_redirect(r, loc.s ? loc.s : "/admin/groups");
	hb_free(&loc);
}

void ui_group_create(req *r)
{
	const char *code = form(r, "code"), *name = form(r, "name"), *desc = form(r, "description");
	if (!code || !name) {
		ui_error(r, code ? "name" : "code", "%s", code ? "이름을 입력하세요." : "코드를 입력하세요.");
		group_list_page(r, 422);
		return;
	}
	int64_t id = 0;
	int rc = bl_group_create(r->ctx, code, name, desc, &id);
	if (rc) {
		ui_error_lib(r, rc, GROUP_ERRMAP);
		group_list_page(r, rc == BL_ECONFLICT ? 409 : 422);
		return;
	}
	to_group(r, code, "created");
}

static void group_page(req *r, int status)
{
	const char *code = param(r, 0);
	char *json = NULL;
	json_t *g = ui_lib_json(r, bl_group_get(r->ctx, code, &json), &json);
	if (!g)
		return;
	bool all = !strcmp(js(g, "kind"), "ALL"), op = ui_can(r, BL_ROLE_OPERATOR);
	int64_t cursor = 0;
	parse_int64(query(r, "cursor"), &cursor);
	json_t *members = NULL;
	if (!all) {
		char *mj = NULL;
		int rc = bl_group_members(r->ctx, code, cursor, 51, &mj);
		if (!(members = ui_lib_json(r, rc, &mj))) {
			json_decref(g);
			return;
		}
	}
	/* member search: by name or plan in the query string; by phone or e-mail
	 * only posted (no personal data in URLs), OPERATOR+, audited, limited */
	bool posted = !strcmp(r->method, "POST");
	bl_user_filter f;
	bl_user_filter_init(&f, BL_USER_FILTER_VERSION);
	f.name = posted ? form(r, "q_name") : query(r, "q_name");
	f.phone = posted ? form(r, "q_phone") : NULL;
	f.email = posted ? form(r, "q_email") : NULL;
	f.plan_code = posted ? form(r, "q_plan") : query(r, "q_plan");
	f.limit = 20;
	if (!posted && (query(r, "q_phone") || query(r, "q_email"))) {
		ui_error(r, query(r, "q_phone") ? "q_phone" : "q_email",
			 "전화번호·이메일 검색은 운영자 이상만 '찾기' 양식으로 할 수 있습니다 (검색값이 주소에 남지 않도록).");
		status = 400;
	}
	json_t *found = NULL;
	if (f.name || f.phone || f.email || f.plan_code) {
		char *uj = NULL;
		int retry = 0;
		int rc = bl_user_search_as(r->ctx, &r->sess, &f, &uj, &retry);
		static const char *const errmap[] = { "q_phone", "phone", "q_email", "e-mail", "q_email", "email", "q_plan",
						      "plan", "q_name", "name", NULL };
		if (rc == BL_ELIMIT) {
			ui_error(r, NULL, "전화번호·이메일 검색 한도에 도달했습니다. %d초 후 다시 시도하세요.", retry);
			status = 429;
			bl_free(uj);
		} else if (rc) {
			ui_error_lib(r, rc, errmap);
			bl_free(uj);
		} else {
			found = json_loads(uj, 0, NULL);
			bl_free(uj);
		}
	}
	hbuf b = { 0 };
	char title[160];
	snprintf(title, sizeof title, "고객 그룹: %s", js(g, "name"));
	ui_page_begin(&b, r, title, "groups");
	static const char *const shown[] = { "name", "description", "user_id", "q_name", "q_phone", "q_email", "q_plan", NULL };
	ui_form_fields(r, shown);
	ui_field_error(&b, r, NULL);
	hb_printf(&b, "<div class=\"grid3\"><div class=\"card\"><h2>그룹 정보</h2><dl class=\"kv\"><div><dt>코드</dt><dd>%s</dd></div>"
		      "<div><dt>종류</dt><dd>%s</dd></div><div><dt>고객 수</dt><dd id=\"member-count\">%N</dd></div>"
		      "<div><dt>생성</dt><dd>%s</dd></div></dl>",
		  js(g, "code"), all ? "전체 고객 (구성원 목록 없음)" : "지정 고객", ji(g, "member_count"), js(g, "created_at"));
	if (op && all)
		hb_raw(&b, "<p class=\"hint\" id=\"group-fixed\">전체 고객 그룹은 바꾸거나 지울 수 없습니다.</p>");
	if (op && !all) { /* USER_ALL cannot be changed (the library refuses it too) */
		hb_printf(&b, "<form method=\"post\" action=\"/admin/groups/%u\" id=\"group-edit\">", code);
		ui_csrf(&b, r);
		hb_printf(&b, "<label>이름<input name=\"name\" value=\"%s\" required></label>",
			  form(r, "name") ? form(r, "name") : js(g, "name"));
		ui_field_error(&b, r, "name");
		hb_printf(&b, "<label class=\"block\">설명<textarea name=\"description\" rows=\"3\">%s</textarea></label>",
			  form(r, "description") ? form(r, "description") : js(g, "description"));
		ui_field_error(&b, r, "description");
		hb_raw(&b, "<button type=\"submit\">저장</button></form>");
		hb_printf(&b, "<form method=\"post\" action=\"/admin/groups/%u/delete\" data-confirm=\"그룹을 삭제할까요? 구성원 정보도 지워집니다.\">",
			  code);
		ui_csrf(&b, r);
		hb_raw(&b, "<button type=\"submit\" class=\"danger\">그룹 삭제</button></form>");
	} else {
		hb_printf(&b, "<p>%s</p>", js(g, "description"));
	}
	hb_raw(&b, "</div><div class=\"span2\">");
	if (!all) {
		if (op) {
			hb_printf(&b, "<form method=\"post\" action=\"/admin/groups/%u/members\" class=\"filters\">", code);
			ui_csrf(&b, r);
			hb_raw(&b, "<label>고객 ID로 추가<input name=\"user_id\" size=\"8\" inputmode=\"numeric\" required></label>"
				   "<button type=\"submit\">추가</button></form>");
			ui_field_error(&b, r, "user_id");
		}
		hb_raw(&b, "<h2>구성원</h2><table class=\"list\" id=\"members\"><thead><tr><th>ID</th><th>이름</th><th>전화</th>"
			   "<th>이메일</th><th>선호 채널</th><th></th></tr></thead><tbody>");
		size_t i;
		json_t *u;
		json_array_foreach(members, i, u) {
			if (i == 50)
				break;
			hb_printf(&b, "<tr><td>%D</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>", ji(u, "id"),
				  js(u, "name"), js(u, "phone"), js(u, "email"), ui_channel_label(js(u, "preferred_channel")));
			if (op) {
				hb_printf(&b, "<form method=\"post\" action=\"/admin/groups/%u/members/%D/remove\" class=\"inline\">",
					  code, ji(u, "id"));
				ui_csrf(&b, r);
				hb_raw(&b, "<button type=\"submit\" class=\"small\">제외</button></form>");
			}
			hb_raw(&b, "</td></tr>");
		}
		if (!json_array_size(members))
			hb_raw(&b, "<tr><td colspan=\"6\" class=\"empty\">구성원이 없습니다.</td></tr>");
		hb_raw(&b, "</tbody></table>");
		if (json_array_size(members) > 50) {
			char next[24];
			snprintf(next, sizeof next, "%lld", (long long)ji(json_array_get(members, 49), "id"));
			hbuf p = { 0 };
			hb_printf(&p, "/admin/groups/%u", code);
			ui_next_link(&b, r, p.s, next, NULL);
			hb_free(&p);
		}
	}
	/* member search (operators may search by phone or e-mail: posted) */
	if (op) {
		hb_printf(&b, "<h2>고객 찾기</h2><form method=\"post\" action=\"/admin/groups/%u/search\" class=\"filters\" "
			      "id=\"user-search\">", code);
		ui_csrf(&b, r);
	} else {
		hb_printf(&b, "<h2>고객 찾기</h2><form method=\"get\" action=\"/admin/groups/%u\" class=\"filters\" "
			      "id=\"user-search\">", code);
	}
	hb_printf(&b, "<label>이름 (앞부분)<input name=\"q_name\" value=\"%s\" size=\"10\"></label>", f.name ? f.name : "");
	if (op)
		hb_printf(&b, "<label>전화번호<input name=\"q_phone\" value=\"%s\" size=\"13\" autocomplete=\"off\"></label>"
			      "<label>이메일<input name=\"q_email\" value=\"%s\" size=\"18\" autocomplete=\"off\"></label>",
			  f.phone ? f.phone : "", f.email ? f.email : "");
	hb_printf(&b, "<label>요금제 코드<input name=\"q_plan\" value=\"%s\" size=\"10\"></label><button type=\"submit\">찾기</button></form>",
		  f.plan_code ? f.plan_code : "");
	if (op)
		hb_raw(&b, "<p class=\"hint\">전화번호·이메일 검색은 감사 로그에 남고 관리자별로 횟수가 제한됩니다.</p>");
	for (size_t k = 3; shown[k]; k++)
		ui_field_error(&b, r, shown[k]);
	if (found) {
		hb_raw(&b, "<table class=\"list\" id=\"found\"><thead><tr><th>ID</th><th>이름</th><th>전화</th><th>이메일</th><th></th></tr></thead><tbody>");
		size_t i;
		json_t *u;
		json_array_foreach(found, i, u) {
			hb_printf(&b, "<tr><td>%D</td><td>%s</td><td>%s</td><td>%s</td><td>", ji(u, "id"), js(u, "name"),
				  js(u, "phone"), js(u, "email"));
			if (op && !all) {
				hb_printf(&b, "<form method=\"post\" action=\"/admin/groups/%u/members\" class=\"inline\">", code);
				ui_csrf(&b, r);
				hb_printf(&b, "<input type=\"hidden\" name=\"user_id\" value=\"%D\"><button type=\"submit\" class=\"small\">추가</button></form>",
					  ji(u, "id"));
			}
			hb_raw(&b, "</td></tr>");
		}
		if (!json_array_size(found))
			hb_raw(&b, "<tr><td colspan=\"5\" class=\"empty\">찾는 고객이 없습니다.</td></tr>");
		hb_raw(&b, "</tbody></table>");
	}
	hb_raw(&b, "</div></div>");
	ui_page_end(&b, r);
	ui_send_html(r, status, &b);
	json_decref(g);
	json_decref(members);
	json_decref(found);
}

void ui_group_get(req *r)
{
	group_page(r, 200);
}

void ui_group_search(req *r)
{
	group_page(r, 200);
}

void ui_group_update(req *r)
{
	const char *name = form(r, "name"), *desc = form(r, "description");
	int rc = bl_group_update(r->ctx, param(r, 0), name, desc ? desc : "");
	if (rc == BL_EINVAL || rc == BL_ECONFLICT) {
		ui_error_lib(r, rc, GROUP_ERRMAP);
		group_page(r, 422);
		return;
	}
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	to_group(r, param(r, 0), "saved");
}

void ui_group_delete(req *r)
{
	int rc = bl_group_delete(r->ctx, param(r, 0));
	if (rc == BL_EINVAL || rc == BL_ECONFLICT) {
		ui_error_lib(r, rc, NULL);
		group_page(r, 409);
		return;
	}
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	ui_redirect(r, "/admin/groups?ok=deleted");
}

static void member(req *r, int64_t uid, bool add)
{
	int rc = add ? bl_group_add(r->ctx, param(r, 0), uid) : bl_group_remove(r->ctx, param(r, 0), uid);
	if (rc == BL_EINVAL || rc == BL_ECONFLICT || (rc == BL_ENOTFOUND && add)) {
		static const char *const errmap[] = { "user_id", "user", "user_id", "subscriber", NULL };
		ui_error_lib(r, rc, errmap);
		group_page(r, rc == BL_ENOTFOUND ? 404 : 422);
		return;
	}
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	to_group(r, param(r, 0), add ? "added" : "removed");
}

void ui_group_add(req *r)
{
	int64_t uid = 0;
	if (!parse_int64(form(r, "user_id"), &uid) || uid <= 0) {
		ui_error(r, "user_id", "고객 ID(숫자)를 입력하세요.");
		group_page(r, 422);
		return;
	}
	member(r, uid, true);
}

void ui_group_remove(req *r)
{
	member(r, param_i64(r, 1), false);
}
