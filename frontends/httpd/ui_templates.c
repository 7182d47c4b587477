/*
 * Message template pages: list, new, edit (a save is a new version) with a
 * live preview, versions, enable/disable.
 *
 * The preview shows the form as typed, not the stored version:
 * bl_template_preview_draft() checks the draft (errors name the part, line
 * and column, shown next to that field), renders each part with the preview
 * data of the form (a JSON object the operator may edit; by default the
 * library's example data, bl_template_sample(), plus the declared variables'
 * examples), classifies it and masks it like the API's previews.  Without
 * JavaScript the "미리보기" button posts the form and the page comes back
 * with the preview; with it, the preview follows the typing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ui.h"

static const char *const TPL_FIELDS[] = { "code", "name", "channel", "purpose", "subject", "body_text",
					  "body_html", "variables", "sample", NULL };

/* The default preview data for a purpose and a variables declaration: the
 * library's (bl_template_sample), editable on the page (JSON text, bl_free()). */
static char *default_sample(const char *purpose, const char *variables)
{
	char *json = NULL;
	if (bl_template_sample(strcmp(purpose ? purpose : "", "NOTICE") ? BL_PURPOSE_BILLING : BL_PURPOSE_NOTICE,
			       variables, &json) != BL_OK)
		return NULL;
	return json;
}

/* ---- the draft of the form ---- */

typedef struct {
	bl_template_opts t;
	const char *channel, *purpose, *variables, *sample;
	char *vars_compact; /* variables as given, or NULL */
} draft;

static bool draft_from_form(req *r, const char *code, draft *d)
{
	memset(d, 0, sizeof *d);
	bl_template_opts_init(&d->t, BL_TEMPLATE_OPTS_VERSION);
	d->t.code = code;
	d->t.name = form(r, "name");
	d->channel = form(r, "channel") ? form(r, "channel") : "SMS";
	d->purpose = form(r, "purpose") ? form(r, "purpose") : "NOTICE";
	d->t.subject = form(r, "subject");
	d->t.body_text = form(r, "body_text");
	d->t.body_html = form(r, "body_html");
	d->variables = form(r, "variables");
	d->sample = form(r, "sample");
	d->t.enabled = form(r, "enabled") != NULL;
	d->t.confirmed = form(r, "confirmed") != NULL;
	d->t.advertising = form(r, "advertising") != NULL;
	d->t.created_by = r->sess.username;
	if (!strcmp(d->channel, "EMAIL"))
		d->t.channel = BL_CHANNEL_EMAIL;
	else if (!strcmp(d->channel, "SMS"))
		d->t.channel = BL_CHANNEL_SMS;
	else {
		ui_error(r, "channel", "채널은 EMAIL 또는 SMS 입니다 ('%s').", d->channel);
		return false;
	}
	if (!strcmp(d->purpose, "BILLING"))
		d->t.purpose = BL_PURPOSE_BILLING;
	else if (!strcmp(d->purpose, "NOTICE"))
		d->t.purpose = BL_PURPOSE_NOTICE;
	else {
		ui_error(r, "purpose", "용도는 BILLING 또는 NOTICE 입니다 ('%s').", d->purpose);
		return false;
	}
	if (d->t.channel == BL_CHANNEL_SMS) { /* SMS has neither subject nor HTML: the form may still carry them */
		d->t.subject = NULL;
		d->t.body_html = NULL;
	}
	d->t.variables_json = d->variables;
	return true;
}

/* The library previews the draft (bl_template_preview_draft: validation,
 * example data, rendering, SMS/LMS, masking); this formats its answer as
 * {"subject","text","html","kind","bytes"}, or NULL with the error set on
 * the form. */
static json_t *draft_preview(req *r, draft *d)
{
	static const char *const fields[] = { "name", "name", "code", "code", NULL };
	bl_draft_preview *p = NULL;
	int rc = bl_template_preview_draft(r->ctx, &d->t, d->sample, &p);
	if (rc) {
		if (rc == BL_EINVAL && !strncmp(bl_error_last(), "sample_json:", 12))
			ui_error(r, "sample", "미리보기 데이터는 JSON 객체여야 합니다.");
		else
			ui_error_lib(r, rc, fields);
		return NULL;
	}
	static const char *const kinds[] = { [BL_KIND_EMAIL] = "EMAIL", [BL_KIND_SMS] = "SMS", [BL_KIND_LMS] = "LMS" };
	bl_message_kind k = bl_draft_preview_kind(p);
	json_t *out = json_pack("{s:s?,s:s?,s:s?,s:s,s:I}", "subject", bl_draft_preview_subject(p), "text",
				bl_draft_preview_text(p), "html", bl_draft_preview_html(p), "kind",
				k >= BL_KIND_EMAIL && k <= BL_KIND_LMS ? kinds[k] : "너무 김", "bytes",
				(json_int_t)bl_draft_preview_bytes(p));
	bl_draft_preview_free(p);
	return out;
}

/* ---- the edit page ---- */

static void preview_panel(hbuf *b, json_t *pv)
{
	hb_raw(b, "<section class=\"card preview\" id=\"preview\" aria-live=\"polite\"><h2>미리보기</h2>");
	hb_printf(b, "<p class=\"meta\">종류 <b id=\"preview-kind\">%s</b> · <span id=\"preview-bytes\">%N</span>바이트</p>",
		  pv ? js(pv, "kind") : "-", pv ? ji(pv, "bytes") : 0);
	hb_printf(b, "<p class=\"subject\" id=\"preview-subject\"%r>%s</p>",
		  pv && json_is_string(json_object_get(pv, "subject")) ? "" : " hidden", pv ? js(pv, "subject") : "");
	hb_printf(b, "<pre id=\"preview-text\">%s</pre>", pv ? js(pv, "text") : "");
	const char *html = pv ? js(pv, "html") : "";
	hb_printf(b, "<iframe id=\"preview-html\" title=\"HTML 미리보기\" sandbox srcdoc=\"%s\"%r></iframe>", html,
		  *html ? "" : " hidden");
	if (!pv)
		hb_raw(b, "<p class=\"hint\" id=\"preview-none\">오류를 고치면 미리보기가 나타납니다.</p>");
	hb_raw(b, "</section>");
}

static void textarea(hbuf *b, req *r, const char *name, const char *label, const char *val, int rows, bool hidden)
{
	hb_printf(b, "<label class=\"block\" data-part=\"%s\"%r>%s<textarea name=\"%s\" rows=\"%d\" spellcheck=\"false\">%s</textarea></label>",
		  name, hidden ? " hidden" : "", label, name, rows, val ? val : "");
	ui_field_error(b, r, name);
}

static void select2(hbuf *b, const char *name, const char *label, const char *cur, const char *a, const char *la,
		    const char *c, const char *lc)
{
	hb_printf(b, "<label>%s<select name=\"%s\"><option value=\"%s\"%r>%s</option><option value=\"%s\"%r>%s</option>"
		     "</select></label>",
		  label, name, a, cur && !strcmp(cur, a) ? " selected" : "", la, c, cur && !strcmp(cur, c) ? " selected" : "",
		  lc);
}

/* The pending work a template holds (bl_template_usage), or NULL. */
static json_t *usage_of(req *r, const char *code)
{
	char *json = NULL;
	if (!code || bl_template_usage(r->ctx, code, &json) != BL_OK) {
		bl_free(json);
		return NULL;
	}
	json_t *u = json_loads(json, 0, NULL);
	bl_free(json);
	return u;
}

static int64_t usage_total(json_t *u)
{
	return u ? ji(u, "pending_messages") + ji(u, "reservations") : 0;
}

/* Set when a save needs the operator's confirmation (the page then shows the box). */
static __thread json_t *confirm_usage;

/* The stored variables declaration of `tpl` dumped with `flags`; NULL when
 * there is no template or it declares none (an empty object). */
static char *stored_variables(const bl_template *tpl, size_t flags)
{
	if (!tpl || !bl_template_variables_json(tpl))
		return NULL;
	json_t *v = json_loads(bl_template_variables_json(tpl), 0, NULL);
	char *out = json_object_size(v) ? json_dumps(v, flags) : NULL;
	json_decref(v);
	return out;
}

/* The page from form values (GET: from `tpl`, the stored version). */
static void edit_page(req *r, int status, const char *code, const bl_template *tpl, json_t *pv, bool is_new)
{
	hbuf b = { 0 };
	char title[120];
	snprintf(title, sizeof title, is_new ? "새 템플릿" : "템플릿 편집: %s", code ? code : "");
	ui_page_begin(&b, r, title, "templates");
	ui_form_fields(r, TPL_FIELDS);
	bool from_form = !tpl;
	const char *channel = from_form ? form(r, "channel") : ui_str(bl_template_channel(tpl));
	const char *purpose = from_form ? form(r, "purpose") : ui_str(bl_template_purpose(tpl));
	char *vars = stored_variables(tpl, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	const char *variables = from_form ? form(r, "variables") : vars;
	char *sample_def = NULL;
	const char *sample = form(r, "sample");
	if (!sample)
		sample = sample_def = default_sample(purpose, variables);
	bool email = channel && !strcmp(channel, "EMAIL");
	if (!is_new && tpl)
		hb_printf(&b, "<p class=\"meta\">버전 %D · %s %s · 작성 %s (%s) · <a href=\"/admin/templates/%u/versions\">버전 이력</a></p>",
			  (int64_t)bl_template_version(tpl), ui_channel_label(channel), ui_purpose_label(purpose),
			  ui_str(bl_template_created_by(tpl)), ui_str(bl_template_created_at(tpl)), code);
	if (!is_new && tpl && !bl_template_enabled(tpl)) {
		json_t *u = usage_of(r, code);
		if (usage_total(u))
			hb_printf(&b, "<div class=\"hold\" id=\"template-hold\" role=\"alert\"><b>사용 중지된 템플릿이라 대기 메시지 %N건과 "
				      "예약 %N건이 멈춰 있습니다.</b> <span class=\"way-out\">해결: 아래 <b>사용</b> 버튼으로 다시 켜거나, "
				      "예약 화면에서 대기 중인 예약을 취소하세요.</span></div>",
				  ji(u, "pending_messages"), ji(u, "reservations"));
		json_decref(u);
	}
	hb_raw(&b, "<div class=\"editor\">");
	hb_printf(&b, "<form method=\"post\" class=\"card\" id=\"template-form\" action=\"/admin/templates%r%u\"",
		  is_new ? "" : "/", is_new ? "" : code);
	if (!is_new)
		hb_printf(&b, " data-preview-url=\"/admin/templates/%u/preview\"", code);
	else
		hb_raw(&b, " data-preview-url=\"/admin/templates/NEW/preview\"");
	hb_raw(&b, ">");
	ui_csrf(&b, r);
	ui_field_error(&b, r, NULL);
	if (is_new) {
		hb_printf(&b, "<label>코드<input name=\"code\" value=\"%s\" required pattern=\"[A-Z0-9_]{1,64}\" "
			      "placeholder=\"NOTICE_EVENT_SMS\"></label>",
			  form(r, "code") ? form(r, "code") : "");
		ui_field_error(&b, r, "code");
	}
	hb_printf(&b, "<label>이름<input name=\"name\" value=\"%s\" required></label>",
		  from_form ? (form(r, "name") ? form(r, "name") : "") : ui_str(bl_template_name(tpl)));
	ui_field_error(&b, r, "name");
	hb_raw(&b, "<div class=\"form-row\">");
	select2(&b, "channel", "채널", channel ? channel : "SMS", "SMS", "SMS", "EMAIL", "이메일");
	select2(&b, "purpose", "용도", purpose ? purpose : "NOTICE", "NOTICE", "공지", "BILLING", "청구");
	bool enabled = from_form ? form(r, "enabled") != NULL : bl_template_enabled(tpl);
	if (is_new && from_form && !form(r, "name"))
		enabled = true;
	bool ad = from_form ? form(r, "advertising") != NULL : bl_template_advertising(tpl);
	hb_printf(&b, "<label class=\"check\"><input type=\"checkbox\" name=\"enabled\" value=\"1\"%r> 사용</label>"
		      "<label class=\"check\" title=\"제목(문자는 본문)이 (광고)로 시작하고 본문에 수신거부 방법이 있어야 합니다\">"
		      "<input type=\"checkbox\" name=\"advertising\" value=\"1\"%r> 광고</label></div>",
		  enabled ? " checked" : "", ad ? " checked" : "");
	ui_field_error(&b, r, "channel");
	ui_field_error(&b, r, "purpose");
	hb_printf(&b, "<label data-part=\"subject\"%r>제목 (이메일)<input name=\"subject\" value=\"%s\"></label>",
		  email ? "" : " hidden", from_form ? form(r, "subject") : ui_str(bl_template_subject(tpl)));
	ui_field_error(&b, r, "subject");
	textarea(&b, r, "body_text", email ? "본문 (텍스트)" : "본문", from_form ? form(r, "body_text") : ui_str(bl_template_body_text(tpl)), 6,
		 false);
	textarea(&b, r, "body_html", "본문 (HTML, 이메일)", from_form ? form(r, "body_html") : ui_str(bl_template_body_html(tpl)), 8, !email);
	textarea(&b, r, "variables", "변수 선언 (JSON)", variables, 4, false);
	hb_raw(&b, "<details><summary>미리보기 데이터 (JSON, 저장되지 않음)</summary>");
	textarea(&b, r, "sample", "미리보기에 쓸 값", sample, 8, false);
	hb_raw(&b, "</details><p class=\"hint\">문법: <code>{{userName}}</code>, <code>{{totalPrice|won}}</code>, "
		   "<code>{{#lines}}…{{/lines}}</code> — docs/templates.md</p>");
	if (confirm_usage)
		hb_printf(&b, "<p class=\"confirm\" id=\"confirm-change\"><label class=\"check\"><input type=\"checkbox\" "
			      "name=\"confirmed\" value=\"1\"> 대기 중인 메시지 %N건과 예약 %N건에 영향이 있음을 확인했습니다</label></p>",
			  ji(confirm_usage, "pending_messages"), ji(confirm_usage, "reservations"));
	hb_raw(&b, "<div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"preview\">미리보기</button>");
	if (ui_can(r, BL_ROLE_OPERATOR))
		hb_printf(&b, "<button type=\"submit\" name=\"action\" value=\"save\" class=\"primary\" id=\"save\">%s</button>",
			  is_new ? "만들기 (버전 1)" : "저장 (새 버전)");
	hb_raw(&b, "</div></form>");
	preview_panel(&b, pv);
	hb_raw(&b, "</div>");
	if (!is_new && ui_can(r, BL_ROLE_OPERATOR) && tpl) {
		bool on = bl_template_enabled(tpl);
		json_t *u = on ? usage_of(r, code) : NULL;
		hb_printf(&b, "<form method=\"post\" action=\"/admin/templates/%u/%r\" class=\"inline\">", code,
			  on ? "disable" : "enable");
		ui_csrf(&b, r);
		hb_printf(&b, "<button type=\"submit\" id=\"toggle-enabled\">%s</button>", on ? "사용 중지" : "사용");
		if (usage_total(u))
			hb_printf(&b, " <span class=\"hint\" id=\"template-usage\">대기 메시지 %N건 · 예약 %N건이 이 템플릿을 씁니다</span>",
				  ji(u, "pending_messages"), ji(u, "reservations"));
		hb_raw(&b, "</form>");
		json_decref(u);
	}
	ui_page_end(&b, r);
	ui_send_html(r, status, &b);
	free(vars);
	bl_free(sample_def);
}

void ui_template_get(req *r)
{
	int64_t version = 0;
	if (query(r, "version") && !parse_int64(query(r, "version"), &version))
		version = 0;
	bl_template *tpl = NULL;
	int rc = bl_template_lookup(r->ctx, param(r, 0), (int)version, &tpl);
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	/* preview of the stored version, through the same path as the live one */
	ui_form *st = ui_state(r);
	char *vars = stored_variables(tpl, JSON_COMPACT);
	draft d;
	memset(&d, 0, sizeof d);
	bl_template_opts_init(&d.t, BL_TEMPLATE_OPTS_VERSION);
	d.t.code = ui_str(bl_template_code(tpl));
	d.t.name = ui_str(bl_template_name(tpl));
	d.channel = ui_str(bl_template_channel(tpl));
	d.purpose = ui_str(bl_template_purpose(tpl));
	d.t.channel = strcmp(d.channel, "EMAIL") ? BL_CHANNEL_SMS : BL_CHANNEL_EMAIL;
	d.t.purpose = strcmp(d.purpose, "BILLING") ? BL_PURPOSE_NOTICE : BL_PURPOSE_BILLING;
	d.t.subject = bl_template_subject(tpl);
	d.t.body_text = bl_template_body_text(tpl);
	d.t.body_html = bl_template_body_html(tpl);
	d.variables = vars;
	d.t.variables_json = vars;
	json_t *pv = draft_preview(r, &d);
	if (!pv && st)
		st->err[0] = '\0'; /* a stored template that does not render here: show it without a preview */
	edit_page(r, 200, param(r, 0), tpl, pv, false);
	json_decref(pv);
	bl_template_free(tpl);
	free(vars);
}

void ui_template_new(req *r)
{
	edit_page(r, 200, NULL, NULL, NULL, true);
}

static void save_or_preview(req *r, const char *code, bool is_new)
{
	draft d;
	json_t *pv = NULL;
	bool preview_only = form(r, "action") && !strcmp(form(r, "action"), "preview");
	if (!code || !*code) {
		ui_error(r, "code", "코드를 입력하세요 (A-Z, 0-9, _).");
		edit_page(r, 422, code, NULL, NULL, is_new);
		return;
	}
	if (!draft_from_form(r, code, &d)) {
		edit_page(r, 422, code, NULL, NULL, is_new);
		return;
	}
	pv = draft_preview(r, &d);
	if (!pv || preview_only) {
		edit_page(r, pv ? 200 : 422, code, NULL, pv, is_new);
		json_decref(pv);
		return;
	}
	if (!ui_can(r, BL_ROLE_OPERATOR)) {
		ui_error(r, NULL, "저장할 권한이 없습니다 (운영자 이상).");
		edit_page(r, 403, code, NULL, pv, is_new);
		json_decref(pv);
		return;
	}
	int64_t id = 0;
	int version = 0;
	static const char *const fields[] = { "name", "name", "code", "code", NULL };
	d.t.create_only = is_new; /* creating never replaces: a new version only from the template's own page */
	int rc = bl_template_save(r->ctx, &d.t, &id, &version);
	if (rc == BL_ECONFLICT && is_new) {
		bl_template *cur = NULL;
		bl_template_lookup(r->ctx, code, 0, &cur);
		ui_error(r, "code", "코드 %s인 템플릿이 이미 있습니다 (버전 %lld, %s). 새로 만들 수 없습니다: "
				    "기존 템플릿을 고치려면 그 템플릿의 편집 화면에서 저장하세요.",
			 code, (long long)bl_template_version(cur), ui_str(bl_template_name(cur)));
		bl_template_free(cur);
		edit_page(r, 409, code, NULL, pv, is_new);
		json_decref(pv);
		return;
	}
	if (rc == BL_ECONFLICT && !d.t.confirmed) {
		json_t *u = usage_of(r, code);
		if (usage_total(u)) {
			ui_error(r, NULL, "용도를 바꾸거나 사용을 중지하는 이 저장은 대기 중인 메시지 %lld건과 예약 %lld건에 "
					  "영향을 줍니다. 아래에서 확인한 뒤 다시 저장하세요.",
				 (long long)ji(u, "pending_messages"), (long long)ji(u, "reservations"));
			confirm_usage = u;
			edit_page(r, 409, code, NULL, pv, is_new);
			confirm_usage = NULL;
			json_decref(u);
			json_decref(pv);
			return;
		}
		json_decref(u);
	}
	if (rc) {
		ui_error_lib(r, rc, fields);
		edit_page(r, rc == BL_ECONFLICT ? 409 : 422, code, NULL, pv, is_new);
		json_decref(pv);
		return;
	}
	json_decref(pv);
	hbuf loc = { 0 };
	hb_printf(&loc, "/admin/templates/%u?ok=saved", code);
	ui_redirect(r, loc.s ? loc.s : "/admin/templates");
	hb_free(&loc);
}

void ui_template_save(req *r)
{
	save_or_preview(r, param(r, 0), false);
}

void ui_template_create(req *r)
{
	save_or_preview(r, form(r, "code"), true);
}

/* Live preview (JSON) of the posted form. */
void ui_template_preview(req *r)
{
	draft d;
	const char *code = strcmp(param(r, 0), "NEW") ? param(r, 0) : (form(r, "code") ? form(r, "code") : "NEW");
	json_t *pv = draft_from_form(r, code, &d) ? draft_preview(r, &d) : NULL;
	if (pv) {
		json_object_set_new(pv, "ok", json_true());
		ui_send_json(r, 200, pv);
		return;
	}
	ui_form *st = ui_state(r);
	ui_send_json(r, 200,
		     json_pack("{s:b,s:{s:s?,s:s}}", "ok", 0, "error", "field", st->err_field, "message", st->err));
}

void ui_template_list(req *r)
{
	bl_template_array *all = NULL;
	int rc = bl_template_find(r->ctx, &all);
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	hbuf b = { 0 };
	ui_page_begin(&b, r, "메시지 템플릿", "templates");
	if (ui_can(r, BL_ROLE_OPERATOR))
		hb_raw(&b, "<p><a class=\"button primary\" href=\"/admin/templates/new\">새 템플릿</a></p>");
	hb_raw(&b, "<table class=\"list\" id=\"templates\"><thead><tr><th>코드</th><th>이름</th><th>채널</th><th>용도</th>"
		   "<th class=\"num\">버전</th><th>상태</th><th>최근 저장</th></tr></thead><tbody>");
	size_t n = bl_template_array_count(all);
	for (size_t i = 0; i < n; i++) {
		const bl_template *t = bl_template_array_at(all, i);
		const char *code = ui_str(bl_template_code(t));
		hb_printf(&b, "<tr><td><a href=\"/admin/templates/%u\">%s</a></td><td>%s</td><td>%s</td><td>%s</td>"
			      "<td class=\"num\"><a href=\"/admin/templates/%u/versions\">v%D</a></td><td>",
			  code, code, ui_str(bl_template_name(t)), ui_channel_label(ui_str(bl_template_channel(t))),
			  ui_purpose_label(ui_str(bl_template_purpose(t))), code, (int64_t)bl_template_version(t));
		ui_badge(&b, bl_template_enabled(t) ? "ENABLED" : "DISABLED", bl_template_enabled(t) ? "사용" : "중지");
		hb_printf(&b, "</td><td>%s · %s</td></tr>", ui_str(bl_template_created_at(t)),
			  ui_str(bl_template_created_by(t)));
	}
	if (!n)
		hb_raw(&b, "<tr><td colspan=\"7\" class=\"empty\">템플릿이 없습니다.</td></tr>");
	hb_raw(&b, "</tbody></table>");
	ui_page_end(&b, r);
	ui_send_html(r, 200, &b);
	bl_template_array_free(all);
}

void ui_template_versions(req *r)
{
	bl_template_array *all = NULL;
	int rc = bl_template_find_versions(r->ctx, param(r, 0), &all);
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	hbuf b = { 0 };
	char title[120];
	snprintf(title, sizeof title, "버전 이력: %s", param(r, 0));
	ui_page_begin(&b, r, title, "templates");
	hb_raw(&b, "<table class=\"list\" id=\"versions\"><thead><tr><th class=\"num\">버전</th><th>이름</th><th>채널</th>"
		   "<th>용도</th><th>저장 시각</th><th>작성자</th><th></th></tr></thead><tbody>");
	for (size_t i = 0; i < bl_template_array_count(all); i++) {
		const bl_template *t = bl_template_array_at(all, i);
		hb_printf(&b, "<tr><td class=\"num\">v%D</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
			      "<td><a href=\"/admin/templates/%u?version=%D\">보기 · 이 버전에서 편집</a></td></tr>",
			  (int64_t)bl_template_version(t), ui_str(bl_template_name(t)),
			  ui_channel_label(ui_str(bl_template_channel(t))), ui_purpose_label(ui_str(bl_template_purpose(t))),
			  ui_str(bl_template_created_at(t)), ui_str(bl_template_created_by(t)), ui_str(bl_template_code(t)),
			  (int64_t)bl_template_version(t));
	}
	hb_raw(&b, "</tbody></table>");
	ui_page_end(&b, r);
	ui_send_html(r, 200, &b);
	bl_template_array_free(all);
}

/* Disabling a template that pending work uses asks first (without JavaScript too), with the counts. */
static bool confirm_disable(req *r)
{
	json_t *u = usage_of(r, param(r, 0));
	if (!usage_total(u) || form(r, "confirmed")) {
		json_decref(u);
		return true;
	}
	hbuf b = { 0 };
	char title[120];
	snprintf(title, sizeof title, "사용 중지 확인: %s", param(r, 0));
	ui_page_begin(&b, r, title, "templates");
	hb_printf(&b, "<div class=\"card\" id=\"confirm-disable\"><p><b>%s</b> 템플릿을 쓰는 대기 메시지 <b>%N</b>건과 예약 "
		      "<b>%N</b>건이 있습니다. 사용을 중지하면 이들은 다시 사용할 때까지 발송되지 않고 멈춥니다.</p>"
		      "<form method=\"post\" action=\"/admin/templates/%u/disable\">",
		  param(r, 0), ji(u, "pending_messages"), ji(u, "reservations"), param(r, 0));
	ui_csrf(&b, r);
	hb_printf(&b, "<input type=\"hidden\" name=\"confirmed\" value=\"1\"><div class=\"actions\">"
		      "<button type=\"submit\" class=\"danger\" id=\"confirm-disable-button\">그래도 사용 중지</button> "
		      "<a class=\"button\" href=\"/admin/templates/%u\">돌아가기</a></div></form></div>",
		  param(r, 0));
	ui_page_end(&b, r);
	ui_send_html(r, 409, &b);
	json_decref(u);
	return false;
}

static void set_enabled(req *r, bool on)
{
	if (!on && !confirm_disable(r))
		return;
	int rc = bl_template_set_enabled(r->ctx, param(r, 0), on);
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	hbuf loc = { 0 };
	hb_printf(&loc, "/admin/templates/%u?ok=%r", param(r, 0), on ? "enabled" : "disabled");
	ui_redirect(r, loc.s ? loc.s : "/admin/templates");
	hb_free(&loc);
}

void ui_template_enable(req *r)
{
	set_enabled(r, true);
}

void ui_template_disable(req *r)
{
	set_enabled(r, false);
}
