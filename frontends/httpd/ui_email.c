/*
 * The e-mail suppression list page (/admin/suppressions, docs/ui.md):
 * VIEWER sees the entries (addresses masked: the library keeps only the
 * blind index and the masked form), OPERATOR adds and removes them.  The
 * library audits each change under the admin's name.
 */
#include <stdio.h>
#include <string.h>
#include "ui.h"

#define PAGE 50

static const char *const FIELDS[] = { "email", "reason", "note", NULL };
static const char *const ERRMAP[] = { "reason", "reason", "email", "e-mail", "email", "address", NULL };
static const char *const REASONS[] = { "MANUAL", "수동 등록", "HARD_BOUNCE", "반송(수신 불가 주소)",
				       "COMPLAINT", "스팸 신고", "UNSUBSCRIBE", "수신거부", NULL };

static const char *reason_label(const char *s)
{
	for (size_t i = 0; REASONS[i]; i += 2)
		if (!strcmp(REASONS[i], s))
			return REASONS[i + 1];
	return s;
}

static void list_page(req *r, int status)
{
	int64_t cursor = 0;
	parse_int64(query(r, "cursor"), &cursor);
	char *json = NULL;
	json_t *all = ui_lib_json(r, bl_suppression_list(r->ctx, cursor, PAGE + 1, &json), &json);
	if (!all)
		return;
	bool op = ui_can(r, BL_ROLE_OPERATOR);
	hbuf b = { 0 };
	ui_page_begin(&b, r, "수신 차단 목록", "suppressions");
	ui_form_fields(r, FIELDS);
	hb_raw(&b, "<p class=\"hint\">이 주소로는 이메일을 보내지 않습니다(발송 제외, 청구서는 허용된 경우 문자로 대체). "
		   "주소는 가려서 보관합니다.</p><div class=\"grid3\"><div class=\"span2\">"
		   "<table class=\"list\" id=\"suppressions\"><thead><tr><th class=\"num\">번호</th><th>주소</th><th>사유</th>"
		   "<th>상세</th><th>메시지</th><th>등록</th><th>시각</th>");
	if (op)
		hb_raw(&b, "<th></th>");
	hb_raw(&b, "</tr></thead><tbody>");
	size_t i, shown = 0;
	json_t *e;
	char next[32] = "";
	json_array_foreach(all, i, e) {
		if (shown == PAGE) {
			snprintf(next, sizeof next, "%lld", (long long)ji(json_array_get(all, PAGE - 1), "id"));
			break;
		}
		shown++;
		hb_printf(&b, "<tr data-id=\"%D\"><td class=\"num\">%D</td><td>%s</td><td>%s</td><td>%s</td><td>",
			  ji(e, "id"), ji(e, "id"), js(e, "address"), reason_label(js(e, "reason")), js(e, "detail"));
		if (ji(e, "message_id"))
			hb_printf(&b, "<a href=\"/admin/messages/%D\">#%D</a>", ji(e, "message_id"), ji(e, "message_id"));
		hb_printf(&b, "</td><td>%s</td><td class=\"nowrap\">%s</td>", js(e, "created_by"), js(e, "created_at"));
		if (op) {
			hb_printf(&b, "<td><form method=\"post\" action=\"/admin/suppressions/%D/remove\">", ji(e, "id"));
			ui_csrf(&b, r);
			hb_raw(&b, "<button type=\"submit\">해제</button></form></td>");
		}
		hb_raw(&b, "</tr>");
	}
	if (!shown)
		hb_printf(&b, "<tr><td colspan=\"%d\">차단된 주소가 없습니다.</td></tr>", op ? 8 : 7);
	hb_raw(&b, "</tbody></table>");
	ui_next_link(&b, r, "/admin/suppressions", next, NULL);
	hb_raw(&b, "</div>");
	if (op) {
		const char *reason = form(r, "reason") ? form(r, "reason") : "MANUAL";
		hb_raw(&b, "<form method=\"post\" action=\"/admin/suppressions\" class=\"card\" id=\"suppression-form\">"
			   "<h2>주소 차단</h2>");
		ui_csrf(&b, r);
		ui_field_error(&b, r, NULL);
		/* the typed address is not shown again (personal data) */
		hb_raw(&b, "<label>이메일 주소<input name=\"email\" type=\"email\" required autocomplete=\"off\"></label>");
		ui_field_error(&b, r, "email");
		hb_raw(&b, "<label>사유<select name=\"reason\">");
		for (size_t k = 0; REASONS[k]; k += 2)
			hb_printf(&b, "<option value=\"%s\"%r>%s</option>", REASONS[k],
				  strcmp(REASONS[k], reason) ? "" : " selected", REASONS[k + 1]);
		hb_raw(&b, "</select></label>");
		ui_field_error(&b, r, "reason");
		hb_printf(&b, "<label class=\"block\">메모<input name=\"note\" maxlength=\"200\" value=\"%s\"></label>",
			  form(r, "note") ? form(r, "note") : "");
		ui_field_error(&b, r, "note");
		hb_raw(&b, "<button type=\"submit\" class=\"primary\">차단</button></form>");
	}
	hb_raw(&b, "</div>");
	ui_page_end(&b, r);
	ui_send_html(r, status, &b);
	json_decref(all);
}

void ui_suppression_list(req *r)
{
	list_page(r, 200);
}

void ui_suppression_add(req *r)
{
	const char *email = form(r, "email"), *reason = form(r, "reason"), *note = form(r, "note");
	if (!email) {
		ui_error(r, "email", "이메일 주소를 입력하세요.");
		list_page(r, 422);
		return;
	}
	int rc = bl_suppression_add(r->ctx, email, reason ? reason : "MANUAL", note, r->sess.username);
	if (rc) {
		ui_error_lib(r, rc, ERRMAP);
		list_page(r, rc == BL_ECONFLICT ? 409 : 422);
		return;
	}
	ui_redirect(r, "/admin/suppressions?ok=suppressed");
}

void ui_suppression_remove(req *r)
{
	int rc = bl_suppression_remove(r->ctx, param_i64(r, 0), r->sess.username);
	if (rc) {
		ui_error_lib(r, rc, NULL);
		list_page(r, rc == BL_ENOTFOUND ? 404 : 422);
		return;
	}
	ui_redirect(r, "/admin/suppressions?ok=unsuppressed");
}
