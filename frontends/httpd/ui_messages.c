/*
 * Reservation (예약 발송), message history and dead-letter pages, with the
 * retry buttons.  Destinations come masked from the library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ui.h"

/* ---- reservations ---- */

static const char *const RES_STATUSES[] = { "WAITING", "PROCESSING", "SENT", "CANCELED", NULL };

static void res_target(hbuf *b, json_t *v)
{
	if (json_is_string(json_object_get(v, "group_code")))
		hb_printf(b, "그룹 <a href=\"/admin/groups/%u\">%s</a>", js(v, "group_code"), js(v, "group_code"));
	else
		hb_printf(b, "<a href=\"/admin/statements?month=%u\">%s 정산서</a>", js(v, "month"), js(v, "month"));
}

void ui_reservation_list(req *r)
{
	const char *status = query(r, "status");
	int64_t cursor = 0;
	parse_int64(query(r, "cursor"), &cursor);
	char *json = NULL;
	int rc = bl_reservation_list(r->ctx, status, cursor, 201, &json);
	static const char *const fields[] = { "status", "status", NULL };
	json_t *all = NULL;
	if (rc && rc != BL_EINVAL) {
		bl_free(json);
		ui_fail_page(r, rc);
		return;
	}
	if (rc) {
		ui_error_lib(r, rc, fields);
		bl_free(json);
	} else {
		all = json_loads(json, 0, NULL);
		bl_free(json);
	}
	hbuf b = { 0 };
	ui_page_begin(&b, r, "예약 발송", "reservations");
	static const char *const shown[] = { "status", NULL };
	ui_form_fields(r, shown);
	if (ui_can(r, BL_ROLE_OPERATOR))
		hb_raw(&b, "<p><a class=\"button primary\" href=\"/admin/reservations/new\" id=\"new-reservation\">새 예약</a></p>");
	hb_raw(&b, "<form method=\"get\" action=\"/admin/reservations\" class=\"filters\"><label>상태<select name=\"status\">"
		   "<option value=\"\">전체</option>");
	for (size_t i = 0; RES_STATUSES[i]; i++)
		hb_printf(&b, "<option value=\"%s\"%r>%s</option>", RES_STATUSES[i],
			  status && !strcmp(status, RES_STATUSES[i]) ? " selected" : "", ui_res_status(RES_STATUSES[i]));
	hb_raw(&b, "</select></label><button type=\"submit\">조회</button></form>");
	ui_field_error(&b, r, "status");
	ui_field_error(&b, r, NULL);
	hb_raw(&b, "<table class=\"list\" id=\"reservations\"><thead><tr><th>ID</th><th>예약 시각</th><th>상태</th><th>템플릿</th>"
		   "<th>채널</th><th>대상</th><th class=\"num\">메시지</th><th>요청자</th><th></th></tr></thead><tbody>");
	size_t n = json_array_size(all), show = n > 200 ? 200 : n;
	for (size_t k = show; k-- > 0;) { /* newest first */
		json_t *v = json_array_get(all, k);
		hb_printf(&b, "<tr data-id=\"%D\"><td><a href=\"/admin/reservations/%D\">#%D</a></td><td>%s</td><td>", ji(v, "id"),
			  ji(v, "id"), ji(v, "id"), js(v, "scheduled_at"));
		ui_badge(&b, js(v, "status"), ui_res_status(js(v, "status")));
		hb_printf(&b, "</td><td><a href=\"/admin/templates/%u\">%s</a> v%D</td><td>%s</td><td>", js(v, "template_code"),
			  js(v, "template_code"), ji(v, "template_version"), ui_channel_label(js(v, "channel")));
		res_target(&b, v);
		hb_printf(&b, "</td><td class=\"num\">%N</td><td>", ji(v, "message_count"));
		ui_requester(&b, js(v, "created_by"));
		hb_raw(&b, "</td><td>");
		if (!strcmp(js(v, "status"), "WAITING") && ui_can(r, BL_ROLE_OPERATOR)) {
			hb_printf(&b, "<form method=\"post\" action=\"/admin/reservations/%D/cancel\" class=\"inline\" "
				      "data-confirm=\"이 예약(#%D)을 취소할까요?\">",
				  ji(v, "id"), ji(v, "id"));
			ui_csrf(&b, r);
			hb_raw(&b, "<button type=\"submit\" class=\"danger small\">취소</button></form>");
		}
		hb_raw(&b, "</td></tr>");
	}
	if (!show)
		hb_raw(&b, "<tr><td colspan=\"9\" class=\"empty\">예약이 없습니다.</td></tr>");
	hb_raw(&b, "</tbody></table>");
	if (n > 200) {
		char next[24];
		snprintf(next, sizeof next, "%lld", (long long)ji(json_array_get(all, 199), "id"));
		static const char *const keep[] = { "status", NULL };
		ui_next_link(&b, r, "/admin/reservations", next, keep);
	}
	ui_page_end(&b, r);
	ui_send_html(r, rc ? 400 : 200, &b);
	json_decref(all);
}

static const char *const RES_FIELDS[] = { "template_code", "target", "group_code", "month", "scheduled_at", "params",
					  NULL };

static void new_page(req *r, int status)
{
	char *gj = NULL;
	bl_template_array *tpls = NULL;
	int trc = bl_template_find(r->ctx, &tpls);
	if (trc) {
		ui_fail_page(r, trc);
		return;
	}
	json_t *groups = ui_lib_json(r, bl_group_list(r->ctx, &gj), &gj);
	if (!groups) {
		bl_template_array_free(tpls);
		return;
	}
	hbuf b = { 0 };
	ui_page_begin(&b, r, "새 예약 발송", "reservations");
	ui_form_fields(r, RES_FIELDS);
	const char *tc = form(r, "template_code"), *target = form(r, "target") ? form(r, "target") : "group";
	const char *gc = form(r, "group_code"), *month = form(r, "month"), *at = form(r, "scheduled_at");
	hb_raw(&b, "<form method=\"post\" action=\"/admin/reservations\" class=\"card narrow\" id=\"reservation-form\">");
	ui_csrf(&b, r);
	ui_field_error(&b, r, NULL);
	hb_raw(&b, "<label>템플릿<select name=\"template_code\" required>");
	for (size_t k = 0; k < bl_template_array_count(tpls); k++) {
		const bl_template *t = bl_template_array_at(tpls, k);
		if (!bl_template_enabled(t))
			continue;
		const char *code = ui_str(bl_template_code(t));
		hb_printf(&b, "<option value=\"%s\"%r>%s — %s (%s, %s)</option>", code,
			  tc && !strcmp(tc, code) ? " selected" : "", code, ui_str(bl_template_name(t)),
			  ui_channel_label(ui_str(bl_template_channel(t))), ui_purpose_label(ui_str(bl_template_purpose(t))));
	}
	hb_raw(&b, "</select></label>");
	ui_field_error(&b, r, "template_code");
	hb_printf(&b, "<fieldset><legend>대상</legend><label class=\"check\"><input type=\"radio\" name=\"target\" value=\"group\"%r> "
		      "고객 그룹 (공지 템플릿)</label><select name=\"group_code\" aria-label=\"고객 그룹\">",
		  strcmp(target, "month") ? " checked" : "");
	size_t i;
	json_t *t;
	json_array_foreach(groups, i, t)
		hb_printf(&b, "<option value=\"%s\"%r>%s — %s (%N명)</option>", js(t, "code"),
			  gc && !strcmp(gc, js(t, "code")) ? " selected" : "", js(t, "code"), js(t, "name"),
			  ji(t, "member_count"));
	hb_raw(&b, "</select>");
	ui_field_error(&b, r, "group_code");
	hb_printf(&b, "<label class=\"check\"><input type=\"radio\" name=\"target\" value=\"month\"%r> 월 정산서 (청구 템플릿)</label>"
		      "<input name=\"month\" value=\"%s\" placeholder=\"YYYY-MM\" size=\"8\" aria-label=\"정산 월\">",
		  strcmp(target, "month") ? "" : " checked", month ? month : "");
	ui_field_error(&b, r, "month");
	ui_field_error(&b, r, "target");
	hb_printf(&b, "</fieldset><label>발송 시각 (KST, 비우면 즉시)<input type=\"datetime-local\" name=\"scheduled_at\" value=\"%s\"></label>",
		  at ? at : "");
	ui_field_error(&b, r, "scheduled_at");
	hb_printf(&b, "<label class=\"block\">추가 변수 (JSON, 그룹 대상만)<textarea name=\"params\" rows=\"4\" spellcheck=\"false\" "
		      "placeholder='{\"maintenanceDate\": \"2026-12-01\"}'>%s</textarea></label>",
		  form(r, "params") ? form(r, "params") : "");
	ui_field_error(&b, r, "params");
	hb_raw(&b, "<div class=\"actions\"><button type=\"submit\" class=\"primary\" id=\"create-reservation\">예약</button>"
		   "<a href=\"/admin/reservations\">목록으로</a></div></form>");
	ui_page_end(&b, r);
	ui_send_html(r, status, &b);
	bl_template_array_free(tpls);
	json_decref(groups);
}

void ui_reservation_new(req *r)
{
	new_page(r, 200);
}

void ui_reservation_create(req *r)
{
	bl_reservation_opts o;
	bl_reservation_opts_init(&o, BL_RESERVATION_OPTS_VERSION);
	const char *target = form(r, "target") ? form(r, "target") : "group";
	o.template_code = form(r, "template_code");
	if (!strcmp(target, "month"))
		o.month = form(r, "month");
	else
		o.group_code = form(r, "group_code");
	o.params_json = form(r, "params");
	o.created_by = r->sess.username;
	char at[32] = "";
	if (form(r, "scheduled_at")) {
		/* datetime-local sends YYYY-MM-DDTHH:MM */
		snprintf(at, sizeof at, "%s", form(r, "scheduled_at"));
		char *tp = strchr(at, 'T');
		if (tp)
			*tp = ' ';
		o.scheduled_at = at;
	}
	if (!strcmp(target, "month") && !o.month) {
		ui_error(r, "month", "정산 월을 입력하세요 (YYYY-MM).");
		new_page(r, 422);
		return;
	}
	static const char *const fields[] = { "params", "required variable", "params", "unknown variable",
					      "scheduled_at", "scheduled time", "params", "params", "group_code", "group '",
					      "month", "month", "template_code", "template '", "target", "target",
					      NULL };
	int64_t id = 0;
	int rc = bl_reservation_create(r->ctx, &o, &id);
	if (rc) {
		ui_error_lib(r, rc, fields);
		if (rc == BL_EDB || rc == BL_EREDIS)
			new_page(r, 503);
		else
			new_page(r, rc == BL_ENOTFOUND ? 404 : rc == BL_ECONFLICT ? 409 : 422);
		return;
	}
	char loc[64];
	snprintf(loc, sizeof loc, "/admin/reservations/%lld?ok=created", (long long)id);
	ui_redirect(r, loc);
}

void ui_reservation_get(req *r)
{
	char *json = NULL;
	json_t *v = ui_lib_json(r, bl_reservation_get(r->ctx, param_i64(r, 0), &json), &json);
	if (!v)
		return;
	hbuf b = { 0 };
	char title[64];
	snprintf(title, sizeof title, "예약 #%lld", (long long)ji(v, "id"));
	ui_page_begin(&b, r, title, "reservations");
	ui_field_error(&b, r, NULL);
	ui_reservation_holds(&b, r, v);
	hb_raw(&b, "<div class=\"grid2\"><div class=\"card\"><h2>예약 정보 ");
	ui_badge(&b, js(v, "status"), ui_res_status(js(v, "status")));
	hb_printf(&b, "</h2><dl class=\"kv\" id=\"reservation\"><div><dt>발송 시각</dt><dd>%s</dd></div>"
		      "<div><dt>템플릿</dt><dd><a href=\"/admin/templates/%u\">%s</a> v%D (%s · %s)</dd></div><div><dt>대상</dt><dd>",
		  js(v, "scheduled_at"), js(v, "template_code"), js(v, "template_code"), ji(v, "template_version"),
		  ui_channel_label(js(v, "channel")), ui_purpose_label(js(v, "purpose")));
	res_target(&b, v);
	hb_raw(&b, "</dd></div><div><dt>대상 인원</dt><dd>");
	if (json_is_integer(json_object_get(v, "target_count")))
		hb_printf(&b, "%N", ji(v, "target_count"));
	else
		hb_raw(&b, "집계 생략 (지금은 시간이 오래 걸림)");
	ui_counted_at(&b, v);
	hb_printf(&b, "</dd></div><div><dt>생성 메시지</dt><dd>%N</dd></div>"
		      "<div><dt>건너뜀 (수신 미동의)</dt><dd>%N</dd></div><div><dt>요청자</dt><dd id=\"requester\">",
		  ji(v, "message_count"), ji(v, "skipped_count"));
	ui_requester(&b, js(v, "created_by"));
	hb_printf(&b, "</dd></div><div><dt>생성</dt><dd>%s</dd></div>", js(v, "created_at"));
	if (json_is_string(json_object_get(v, "canceled_at")))
		hb_printf(&b, "<div><dt>취소</dt><dd>%s</dd></div>", js(v, "canceled_at"));
	if (json_is_string(json_object_get(v, "finished_at")))
		hb_printf(&b, "<div><dt>메시지 생성 완료</dt><dd>%s</dd></div>", js(v, "finished_at"));
	hb_raw(&b, "</dl>");
	json_t *params = json_object_get(v, "params");
	if (json_is_object(params)) {
		char *p = json_dumps(params, JSON_INDENT(1));
		hb_printf(&b, "<h3>추가 변수</h3><pre>%s</pre>", p);
		free(p);
	}
	if (!strcmp(js(v, "status"), "WAITING") && ui_can(r, BL_ROLE_OPERATOR)) {
		hb_printf(&b, "<form method=\"post\" action=\"/admin/reservations/%D/cancel\" data-confirm=\"이 예약을 취소할까요?\">",
			  ji(v, "id"));
		ui_csrf(&b, r);
		hb_raw(&b, "<button type=\"submit\" class=\"danger\" id=\"cancel-reservation\">예약 취소</button></form>");
	}
	hb_raw(&b, "</div><div class=\"card\"><h2>메시지 상태</h2>");
	ui_reservation_delivery(&b, v);
	hb_raw(&b, "<dl class=\"kv\">");
	json_t *msgs = json_object_get(v, "messages");
	const char *k;
	json_t *n;
	json_object_foreach(msgs, k, n)
		hb_printf(&b, "<div><dt><a href=\"/admin/messages?reservation_id=%D&amp;status=%u\">%s</a></dt><dd>%N</dd></div>",
			  ji(v, "id"), k, ui_msg_status(k), (int64_t)json_integer_value(n));
	if (json_is_null(msgs))
		hb_raw(&b, "<div><dt>메시지</dt><dd>집계 생략 (지금은 시간이 오래 걸림)</dd></div>");
	else if (!json_object_size(msgs))
		hb_raw(&b, "<div><dt>메시지</dt><dd>아직 없음</dd></div>");
	hb_printf(&b, "</dl><p><a href=\"/admin/messages?reservation_id=%D\">이 예약의 메시지 모두 보기</a></p></div></div>",
		  ji(v, "id"));
	ui_page_end(&b, r);
	ui_send_html(r, 200, &b);
	json_decref(v);
}

void ui_reservation_cancel(req *r)
{
	int64_t id = param_i64(r, 0);
	int rc = bl_reservation_cancel(r->ctx, id);
	if (rc == BL_ECONFLICT) {
		ui_error_lib(r, rc, NULL);
		ui_reservation_get(r);
		return;
	}
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	char loc[64];
	snprintf(loc, sizeof loc, "/admin/reservations/%lld?ok=canceled", (long long)id);
	ui_redirect(r, loc);
}

/* ---- messages ---- */

static const char *const MSG_STATUSES[] = { "WAITING", "PROCESSING", "SUCCESS", "FAILED", "EXCEEDED", "DEAD",
					    "BOUNCED", "SUPPRESSED", "DELIVERED", "UNDELIVERED", NULL };
static const char *const FILTER_KEYS[] = { "status", "channel", "template", "user_id", "run_id", "reservation_id",
					   "from", "to", NULL };

static bool retryable(const char *st)
{
	return !strcmp(st, "FAILED") || !strcmp(st, "EXCEEDED") || !strcmp(st, "DEAD");
}

/* The current page with its query (to come back to after a retry). */
static void here(hbuf *u, req *r, const char *path)
{
	hb_raw(u, path);
	char sep = '?';
	for (size_t i = 0; FILTER_KEYS[i]; i++) {
		const char *v = query(r, FILTER_KEYS[i]);
		if (v) {
			hb_printf(u, "%r%u=%u", sep == '?' ? "?" : "&", FILTER_KEYS[i], v);
			sep = '&';
		}
	}
	if (query(r, "cursor"))
		hb_printf(u, "%rcursor=%u", sep == '?' ? "?" : "&", query(r, "cursor"));
}

static bool filter_of(req *r, bl_message_filter *f, bool dead)
{
	bl_message_filter_init(f, BL_MESSAGE_FILTER_VERSION);
	static const char *const ik[] = { "user_id", "run_id", "reservation_id" };
	int64_t *iv[] = { &f->user_id, &f->run_id, &f->reservation_id };
	for (size_t i = 0; i < 3; i++) {
		const char *s = qv(r, ik[i]);
		if (s && !parse_int64(s, iv[i])) {
			ui_error(r, ik[i], "숫자를 입력하세요.");
			return false;
		}
	}
	f->status = dead ? "DEAD" : qv(r, "status");
	f->channel = qv(r, "channel");
	f->template_code = qv(r, "template");
	f->from = qv(r, "from");
	f->to = qv(r, "to");
	return true;
}

static void select_opts(hbuf *b, const char *name, const char *label, const char *cur, const char *const *vals,
			const char *(*lab)(const char *))
{
	hb_printf(b, "<label>%s<select name=\"%s\"><option value=\"\">전체</option>", label, name);
	for (size_t i = 0; vals[i]; i++)
		hb_printf(b, "<option value=\"%s\"%r>%s</option>", vals[i], cur && !strcmp(cur, vals[i]) ? " selected" : "",
			  lab(vals[i]));
	hb_raw(b, "</select></label>");
}

static void text_filter(hbuf *b, req *r, const char *name, const char *label, const char *type, int size)
{
	hb_printf(b, "<label>%s<input type=\"%s\" name=\"%s\" value=\"%s\" size=\"%d\"></label>", label, type, name,
		  query(r, name) ? query(r, name) : "", size);
}

static void message_page(req *r, bool dead)
{
	static const char *const channels[] = { "EMAIL", "SMS", NULL };
	static const char *const errmap[] = { "status", "status", "channel", "channel", "from", "from", "to", " to",
					      "template", "template", NULL };
	const char *path = dead ? "/admin/dead" : "/admin/messages";
	bl_message_filter f;
	bl_message_array *items = NULL;
	int status = 200;
	int64_t total = -1;
	if (!filter_of(r, &f, dead)) {
		status = 400;
	} else {
		/* newest first, 50 to a page, the cursor below the last one shown */
		f.newest_first = true;
		parse_int64(query(r, "cursor"), &f.before_id);
		f.limit = 51;
		int rc = bl_message_find(r->ctx, &f, &items);
		if (rc == BL_OK && dead && bl_message_count(r->ctx, &f, &total) != BL_OK)
			total = -1; /* the list without its total rather than no list */
		if (rc == BL_EINVAL) {
			ui_error_lib(r, rc, errmap);
			status = 400;
		} else if (rc) {
			ui_fail_page(r, rc);
			return;
		}
	}
	hbuf b = { 0 };
	ui_page_begin(&b, r, dead ? "실패 메시지 (DLQ)" : "발송 이력", dead ? "dead" : "messages");
	ui_form_fields(r, FILTER_KEYS);
	if (dead)
		hb_raw(&b, "<p class=\"hint\">재시도를 모두 소진했거나 영구 실패한 메시지입니다. 재시도하면 같은 메시지의 새 시도가 만들어집니다.</p>");
	if (dead && total >= 0)
		hb_printf(&b, "<p class=\"total\" id=\"dead-total\">조건에 맞는 실패 메시지: 총 <b>%N</b>건 (최신 순)</p>", total);
	hb_printf(&b, "<form method=\"get\" action=\"%s\" class=\"filters\" id=\"message-filters\">", path);
	if (!dead)
		select_opts(&b, "status", "상태", query(r, "status"), MSG_STATUSES, ui_msg_status);
	select_opts(&b, "channel", "채널", query(r, "channel"), channels, ui_channel_label);
	text_filter(&b, r, "template", "템플릿", "text", 18);
	text_filter(&b, r, "user_id", "고객 ID", "text", 7);
	text_filter(&b, r, "run_id", "실행 ID", "text", 5);
	text_filter(&b, r, "reservation_id", "예약 ID", "text", 5);
	text_filter(&b, r, "from", "요청일 부터", "date", 10);
	text_filter(&b, r, "to", "까지", "date", 10);
	hb_raw(&b, "<button type=\"submit\">조회</button></form>");
	for (size_t i = 0; FILTER_KEYS[i]; i++)
		ui_field_error(&b, r, FILTER_KEYS[i]);
	ui_field_error(&b, r, NULL);
	hbuf back = { 0 };
	here(&back, r, path);
	const char *st = dead ? "DEAD" : query(r, "status");
	size_t n = bl_message_array_count(items);
	if (n && st && (!strcmp(st, "FAILED") || !strcmp(st, "DEAD")) &&
	    ui_can(r, BL_ROLE_OPERATOR)) {
		hb_raw(&b, "<form method=\"post\" action=\"/admin/messages/retry\" class=\"inline bulk\" "
			   "data-confirm=\"조건에 맞는 메시지를 모두 재시도할까요?\">");
		ui_csrf(&b, r);
		for (size_t i = 0; FILTER_KEYS[i]; i++) {
			const char *v = !strcmp(FILTER_KEYS[i], "status") ? st : query(r, FILTER_KEYS[i]);
			if (v)
				hb_printf(&b, "<input type=\"hidden\" name=\"%s\" value=\"%s\">", FILTER_KEYS[i], v);
		}
		hb_printf(&b, "<input type=\"hidden\" name=\"back\" value=\"%s\"><button type=\"submit\" id=\"retry-all\">"
			      "조건에 맞는 %s 메시지 모두 재시도</button></form>",
			  back.s ? back.s : path, ui_msg_status(st));
	}
	hb_raw(&b, "<table class=\"list\" id=\"messages\"><thead><tr><th>ID</th><th>요청 시각</th><th>고객</th><th>템플릿</th>"
		   "<th>채널</th><th>상태</th><th class=\"num\">시도</th><th>마지막 오류</th><th>처리 시각</th><th></th></tr></thead><tbody>");
	for (size_t i = 0; i < n && i < 50; i++) {
		const bl_message *m = bl_message_array_at(items, i);
		const char *ms = ui_str(bl_message_status(m)), *kind = ui_str(bl_message_kind_name(m));
		const char *channel = ui_str(bl_message_channel(m));
		int64_t id = bl_message_id(m);
		hb_printf(&b, "<tr data-id=\"%D\"><td><a href=\"/admin/messages/%D\">#%D</a></td><td>%s</td>"
			      "<td class=\"user\"><a href=\"/admin/statements?user_id=%D\">%s</a> <small class=\"hint\">#%D</small></td>"
			      "<td>%s v%D</td><td>%s",
			  id, id, id, ui_str(bl_message_requested_at(m)), bl_message_user_id(m),
			  ui_str(bl_message_user_name(m)), bl_message_user_id(m), ui_str(bl_message_template_code(m)),
			  (int64_t)bl_message_template_version(m), ui_channel_label(channel));
		if (strcmp(kind, channel))
			hb_printf(&b, " (%s)", kind);
		hb_raw(&b, "</td><td>");
		ui_badge(&b, ms, ui_msg_status(ms));
		hb_printf(&b, "</td><td class=\"num\">%D</td><td class=\"err\">%s</td><td>%s</td><td>",
			  (int64_t)bl_message_attempts(m), ui_str(bl_message_last_error(m)),
			  ui_str(bl_message_processed_at(m)));
		if (retryable(ms) && ui_can(r, BL_ROLE_OPERATOR)) {
			hb_printf(&b, "<form method=\"post\" action=\"/admin/messages/%D/retry\" class=\"inline\">", id);
			ui_csrf(&b, r);
			hb_printf(&b, "<input type=\"hidden\" name=\"back\" value=\"%s\"><button type=\"submit\" class=\"small\" "
				      "data-retry=\"%D\">재시도</button></form>",
				  back.s ? back.s : path, id);
		}
		hb_raw(&b, "</td></tr>");
	}
	if (!n)
		hb_raw(&b, "<tr><td colspan=\"10\" class=\"empty\">조건에 맞는 메시지가 없습니다.</td></tr>");
	hb_raw(&b, "</tbody></table>");
	if (n > 50) {
		char next[24];
		snprintf(next, sizeof next, "%lld", (long long)bl_message_id(bl_message_array_at(items, 49)));
		ui_next_link(&b, r, path, next, FILTER_KEYS);
	}
	hb_free(&back);
	ui_page_end(&b, r);
	ui_send_html(r, status, &b);
	bl_message_array_free(items);
}

void ui_message_list(req *r)
{
	message_page(r, false);
}

void ui_message_dead(req *r)
{
	message_page(r, true);
}

void ui_message_get(req *r)
{
	bl_message *m = NULL;
	int rc = bl_message_lookup(r->ctx, param_i64(r, 0), &m);
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	int64_t id = bl_message_id(m);
	hbuf b = { 0 };
	char title[64];
	snprintf(title, sizeof title, "메시지 #%lld", (long long)id);
	ui_page_begin(&b, r, title, "messages");
	ui_field_error(&b, r, NULL);
	const char *st = ui_str(bl_message_status(m)), *code = ui_str(bl_message_template_code(m));
	hb_raw(&b, "<div class=\"grid2\"><div class=\"card\"><h2>메시지 ");
	ui_badge(&b, st, ui_msg_status(st));
	hb_printf(&b, "</h2><dl class=\"kv\"><div><dt>고객</dt><dd><a href=\"/admin/statements?user_id=%D\">%D</a></dd></div>"
		      "<div><dt>템플릿</dt><dd><a href=\"/admin/templates/%u\">%s</a> v%D</dd></div>"
		      "<div><dt>채널 / 종류</dt><dd>%s / %s (%N바이트)</dd></div><div><dt>용도</dt><dd>%s</dd></div>"
		      "<div><dt>시도</dt><dd>%D</dd></div><div><dt>요청</dt><dd>%s</dd></div><div><dt>처리</dt><dd>%s</dd></div>"
		      "<div><dt>다음 시도</dt><dd>%s</dd></div>",
		  bl_message_user_id(m), bl_message_user_id(m), code, code, (int64_t)bl_message_template_version(m),
		  ui_channel_label(ui_str(bl_message_channel(m))), ui_str(bl_message_kind_name(m)),
		  (int64_t)bl_message_bytes(m), ui_purpose_label(ui_str(bl_message_purpose(m))),
		  (int64_t)bl_message_attempts(m), ui_str(bl_message_requested_at(m)), ui_str(bl_message_processed_at(m)),
		  ui_str(bl_message_next_attempt_at(m)));
	if (bl_message_reservation_id(m))
		hb_printf(&b, "<div><dt>예약</dt><dd><a href=\"/admin/reservations/%D\">#%D</a></dd></div>",
			  bl_message_reservation_id(m), bl_message_reservation_id(m));
	if (bl_message_fallback_of(m))
		hb_printf(&b, "<div><dt>대체 발송 원본</dt><dd><a href=\"/admin/messages/%D\">#%D</a></dd></div>",
			  bl_message_fallback_of(m), bl_message_fallback_of(m));
	hb_raw(&b, "</dl>");
	if (bl_message_last_error(m))
		hb_printf(&b, "<p class=\"error\">마지막 오류: %s</p>", bl_message_last_error(m));
	if (retryable(st) && ui_can(r, BL_ROLE_OPERATOR)) {
		hb_printf(&b, "<form method=\"post\" action=\"/admin/messages/%D/retry\">", id);
		ui_csrf(&b, r);
		hb_printf(&b, "<input type=\"hidden\" name=\"back\" value=\"/admin/messages/%D\">"
			      "<button type=\"submit\" class=\"primary\" id=\"retry\">재시도</button></form>",
			  id);
	}
	const bl_delivery *d = bl_message_delivery(m);
	hb_raw(&b, "</div><div class=\"card\"><h2>전달</h2>");
	if (d)
		hb_printf(&b, "<dl class=\"kv\"><div><dt>수신처</dt><dd>%s</dd></div><div><dt>종류</dt><dd>%s</dd></div>"
			      "<div><dt>접수</dt><dd>%s</dd></div><div><dt>중복 요청</dt><dd>%D</dd></div></dl>",
			  ui_str(bl_delivery_destination_masked(d)), ui_str(bl_delivery_kind(d)),
			  ui_str(bl_delivery_accepted_at(d)), (int64_t)bl_delivery_duplicate_requests(d));
	else
		hb_raw(&b, "<p>아직 전달되지 않았습니다.</p>");
	hb_raw(&b, "</div></div><h2>시도 이력</h2><table class=\"list\" id=\"attempts\"><thead><tr><th class=\"num\">회차</th>"
		   "<th>채널</th><th>결과</th><th>오류</th><th>게이트웨이</th><th>통신사 결과</th><th>작업자</th><th>시작</th>"
		   "<th>종료</th></tr></thead><tbody>");
	size_t n = bl_message_attempt_log_count(m);
	for (size_t i = 0; i < n; i++) {
		const bl_message_attempt *a = bl_message_attempt_log_at(m, i);
		const char *as = ui_str(bl_message_attempt_status(a)), *code_r = ui_str(bl_message_attempt_result_code(a));
		hb_printf(&b, "<tr><td class=\"num\">%D</td><td>%s</td><td>", (int64_t)bl_message_attempt_attempt_no(a),
			  ui_channel_label(ui_str(bl_message_attempt_channel(a))));
		/* an attempt's outcome, not the message's status: only the message's last
		 * failed attempt says what follows (issue 21: a DEAD message's attempt was
		 * labelled "retry planned") */
		bool last = i + 1 == n, failed = !strcmp(as, "FAILED");
		if (!failed)
			ui_badge(&b, as, ui_msg_status(as));
		else if (last && (!strcmp(st, "DEAD") || !strcmp(st, "EXCEEDED")))
			ui_badge(&b, "DEAD", "실패 (최종)");
		else if (last && !strcmp(st, "FAILED"))
			ui_badge(&b, "FAILED", "실패 (재시도 예정)");
		else
			ui_badge(&b, "FAILED", "실패");
		hb_printf(&b, "</td><td class=\"err\">%s</td><td>%s</td><td>%s%s%s</td><td>%s</td><td>%s</td><td>%s</td></tr>",
			  ui_str(bl_message_attempt_error(a)), ui_str(bl_message_attempt_provider(a)),
			  ui_str(bl_message_attempt_result(a)), *code_r ? " " : "", code_r,
			  ui_str(bl_message_attempt_worker(a)), ui_str(bl_message_attempt_started_at(a)),
			  ui_str(bl_message_attempt_finished_at(a)));
	}
	if (!n)
		hb_raw(&b, "<tr><td colspan=\"7\" class=\"empty\">시도가 없습니다.</td></tr>");
	hb_raw(&b, "</tbody></table>");
	ui_page_end(&b, r);
	ui_send_html(r, 200, &b);
	bl_message_free(m);
}

static const char *back_of(req *r, const char *def)
{
	const char *b = form(r, "back");
	if (!b || strncmp(b, "/admin/", 7) || strstr(b, "//") || strchr(b, '\\') || strpbrk(b, "\r\n"))
		return def;
	return b;
}

static void redirect_ok(req *r, const char *back, const char *ok)
{
	hbuf loc = { 0 };
	/* drop an earlier ok= from the page's own query */
	hb_printf(&loc, "%r%rok=%r", back, strchr(back, '?') ? "&" : "?", ok);
	ui_redirect(r, loc.s ? loc.s : "/admin/messages");
	hb_free(&loc);
}

void ui_message_retry(req *r)
{
	int64_t id = param_i64(r, 0);
	int rc = bl_message_retry(r->ctx, id);
	if (rc == BL_ECONFLICT || rc == BL_EINVAL) {
		ui_error_lib(r, rc, NULL);
		ui_message_get(r);
		return;
	}
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	char def[48];
	snprintf(def, sizeof def, "/admin/messages/%lld", (long long)id);
	redirect_ok(r, back_of(r, def), "retried");
}

void ui_message_retry_filter(req *r)
{
	bl_message_filter f;
	if (!filter_of(r, &f, false)) {
		ui_fail_page(r, BL_EINVAL);
		return;
	}
	int64_t n = 0;
	int rc = bl_message_retry_filter(r->ctx, &f, &n);
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	char ok[48];
	snprintf(ok, sizeof ok, "retried_n&n=%lld", (long long)n);
	redirect_ok(r, back_of(r, "/admin/messages"), ok);
}
