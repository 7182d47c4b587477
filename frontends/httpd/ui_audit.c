/*
 * The audit page (/admin/audit, ADMIN): who did what to which object and
 * when, newest first, filtered by actor, action and a time range (KST),
 * 50 to a page.  The entries and the filter are the library's
 * (bl_audit_search); the page only labels them in Korean.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ui.h"

#define AUDIT_PAGE 50

/* The actions the frontends and the library record, with their labels;
 * a value ending in '.' selects the whole family. */
static const char *const ACTIONS[] = {
	"login", "로그인",
	"login.failed", "로그인 실패",
	"login.refused", "로그인 거부(시도 제한)",
	"logout", "로그아웃",
	"batch.", "정산 배치 — 전체",
	"batch.start", "정산 시작",
	"batch.run", "정산 실행(콘솔)",
	"batch.join", "정산 참여(콘솔)",
	"batch.resume", "정산 재개",
	"batch.stop", "정산 중지",
	"template.", "템플릿 — 전체",
	"template.save", "템플릿 저장",
	"template.enable", "템플릿 사용",
	"template.disable", "템플릿 사용 중지",
	"reservation.", "예약 발송 — 전체",
	"reservation.create", "예약 생성",
	"reservation.cancel", "예약 취소",
	"message.", "메시지 — 전체",
	"message.retry", "메시지 재발송",
	"message.retry_filter", "조건 재발송",
	"group.", "고객 그룹 — 전체",
	"group.create", "그룹 생성",
	"group.update", "그룹 수정",
	"group.delete", "그룹 삭제",
	"group.add", "그룹에 고객 추가",
	"group.remove", "그룹에서 고객 제외",
	"admin.", "관리자 계정 — 전체",
	"admin.create", "관리자 생성",
	"admin.passwd", "관리자 비밀번호 변경",
	"user.search", "고객 연락처 검색",
	NULL,
};

static const char *action_label(const char *a)
{
	for (size_t i = 0; ACTIONS[i]; i += 2)
		if (!strcmp(ACTIONS[i], a))
			return ACTIONS[i + 1];
	return NULL;
}

static void filter_form(hbuf *b, req *r, json_t *admins)
{
	const char *actor = qv(r, "actor"), *action = qv(r, "action");
	hb_raw(b, "<form method=\"get\" action=\"/admin/audit\" class=\"filters\" id=\"audit-filter\">");
	hb_printf(b, "<label>사용자<input name=\"actor\" value=\"%s\" size=\"14\" list=\"audit-actors\" "
		     "placeholder=\"아이디 또는 cli:계정\"></label><datalist id=\"audit-actors\">",
		  actor ? actor : "");
	size_t i;
	json_t *a;
	json_array_foreach(admins, i, a)
		hb_printf(b, "<option value=\"%s\">", js(a, "username"));
	hb_raw(b, "</datalist><label>작업<select name=\"action\"><option value=\"\">전체</option>");
	bool known = !action;
	for (size_t k = 0; ACTIONS[k]; k += 2) {
		bool sel = action && !strcmp(action, ACTIONS[k]);
		known |= sel;
		hb_printf(b, "<option value=\"%s\"%r>%s</option>", ACTIONS[k], sel ? " selected" : "", ACTIONS[k + 1]);
	}
	if (!known) /* an action this page has no label for, from a link */
		hb_printf(b, "<option value=\"%s\" selected>%s</option>", action, action);
	hb_printf(b, "</select></label><label>시작 (KST)<input type=\"datetime-local\" name=\"from\" value=\"%s\"></label>"
		     "<label>끝 (KST, 그 분까지)<input type=\"datetime-local\" name=\"to\" value=\"%s\"></label>"
		     "<button type=\"submit\" id=\"audit-search\">조회</button>",
		  qv(r, "from") ? qv(r, "from") : "", qv(r, "to") ? qv(r, "to") : "");
	if (actor || action || qv(r, "from") || qv(r, "to"))
		hb_raw(b, "<a href=\"/admin/audit\" class=\"button\">초기화</a>");
	hb_raw(b, "</form>");
	ui_field_error(b, r, "from");
	ui_field_error(b, r, "to");
	ui_field_error(b, r, NULL);
}

static void entry_row(hbuf *b, json_t *v)
{
	const char *action = js(v, "action"), *label = action_label(action);
	char at[20];
	snprintf(at, sizeof at, "%s", js(v, "at")); /* to the second */
	hb_printf(b, "<tr data-id=\"%D\"><td class=\"nowrap\">%s</td><td>%s</td><td data-action=\"%s\">", ji(v, "id"),
		  at, js(v, "actor"), action);
	if (label)
		hb_printf(b, "%s <small class=\"hint\">%s</small>", label, action);
	else
		hb_printf(b, "%s", action);
	hb_printf(b, "</td><td>%s</td><td class=\"detail\">", js(v, "target"));
	json_t *d = json_object_get(v, "detail");
	if (d && !json_is_null(d)) {
		char *text = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
		char *clean = text ? scrub_pii(text) : NULL; /* the library masks; a second look costs nothing */
		hb_printf(b, "<code>%s</code>", clean ? clean : text ? text : "");
		bl_free(clean);
		free(text);
	}
	hb_raw(b, "</td></tr>");
}

void ui_audit_list(req *r)
{
	bl_audit_filter f;
	bl_audit_filter_init(&f, BL_AUDIT_FILTER_VERSION);
	f.actor = qv(r, "actor");
	f.action = qv(r, "action");
	f.from = qv(r, "from");
	f.to = qv(r, "to");
	f.limit = AUDIT_PAGE + 1;
	static const char *const shown[] = { "from", "to", NULL };
	ui_form_fields(r, shown);
	if (qv(r, "cursor") && !parse_int64(qv(r, "cursor"), &f.before_id))
		ui_error(r, NULL, "잘못된 페이지 위치입니다.");
	char *json = NULL, *aj = NULL;
	json_t *admins = ui_lib_json(r, bl_admin_list(r->ctx, &aj), &aj);
	if (!admins)
		return;
	json_t *rows = NULL;
	ui_form *st = ui_state(r);
	bool bad_cursor = st && st->err[0];
	int rc = bad_cursor ? BL_EINVAL : bl_audit_search(r->ctx, &f, &json);
	if (rc && rc != BL_EINVAL) {
		bl_free(json);
		json_decref(admins);
		ui_fail_page(r, rc);
		return;
	}
	if (rc && !bad_cursor) {
		static const char *const fields[] = { "from", "from '", "to", "to '", NULL };
		ui_error_lib(r, rc, fields);
	} else if (!rc) {
		rows = json_loads(json, 0, NULL);
	}
	bl_free(json);

	hbuf b = { 0 };
	ui_page_begin(&b, r, "감사 로그", "audit");
	hb_raw(&b, "<p class=\"hint\">관리 화면·API·콘솔에서 한 변경과 로그인 기록입니다. 최신 순이며 시각은 한국 표준시(KST)입니다.</p>");
	filter_form(&b, r, admins);
	hb_raw(&b, "<table class=\"list\" id=\"audit\"><thead><tr><th>시각</th><th>사용자</th><th>작업</th><th>대상</th>"
		   "<th>상세</th></tr></thead><tbody>");
	size_t n = json_array_size(rows), show = n > AUDIT_PAGE ? AUDIT_PAGE : n;
	for (size_t k = 0; k < show; k++)
		entry_row(&b, json_array_get(rows, k));
	if (!show)
		hb_raw(&b, "<tr><td colspan=\"5\" class=\"empty\">조건에 맞는 기록이 없습니다.</td></tr>");
	hb_raw(&b, "</tbody></table>");
	if (n > AUDIT_PAGE) {
		char next[24];
		snprintf(next, sizeof next, "%lld", (long long)ji(json_array_get(rows, AUDIT_PAGE - 1), "id"));
		static const char *const keep[] = { "actor", "action", "from", "to", NULL };
		ui_next_link(&b, r, "/admin/audit", next, keep);
	}
	ui_page_end(&b, r);
	ui_send_html(r, rc ? 400 : 200, &b);
	json_decref(rows);
	json_decref(admins);
}
