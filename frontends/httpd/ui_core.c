/*
 * The admin pages' request glue: the two hooks server.c calls, form bodies
 * (application/x-www-form-urlencoded), the session (a redirect to the login
 * page instead of a 401), role and CSRF checks (the token comes in the form
 * field `csrf` or, from the page's JavaScript, the X-CSRF-Token header),
 * answers with the pages' own security headers, login, logout, and the
 * embedded CSS/JS.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "ui.h"

extern const char ui_app_css[];
extern const size_t ui_app_css_len;
extern const char ui_app_js[];
extern const size_t ui_app_js_len;

/* Pages may load their own CSS/JS and fetch from this origin; inline styles are
 * allowed for the sandboxed e-mail preview (srcdoc inherits this policy). */
#define UI_CSP                                                                                   \
	"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " \
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"


static void nf_page(req *r);
static void na_page(req *r);
static const route NOT_FOUND = { "GET", "/admin/*", nf_page, R_PUBLIC, BL_ROLE_VIEWER, "not found" };
static const route NOT_ALLOWED = { "GET", "/admin/*", na_page, R_PUBLIC, BL_ROLE_VIEWER, "not allowed" };

/* ---- hooks ---- */

bool ui_prepare(req *r)
{
	size_t n = strlen(UI_PREFIX);
	if (strncmp(r->url, UI_PREFIX, n) || (r->url[n] && r->url[n] != '/'))
		return false;
	bool known = false;
	r->route = ui_route_match(r->method, r->url, r->params, &r->nparams, &known);
	r->route_index = NROUTES; /* pages are not in the API's metrics table */
	if (!r->route)
		r->route = known ? &NOT_ALLOWED : &NOT_FOUND;
	/* the session from the cookie, before any body is kept: a form posted
	 * without a session (or by a role that may not) is dropped unread and
	 * answered as ui_dispatch answers it (the login page, 403) */
	if (!strcmp(r->method, "POST") && !(r->route->flags & R_PUBLIC) &&
	    (session_resolve(r) != BL_OK || (int)r->sess.role > (int)r->route->min_role))
		r->discard_body = true;
	return true;
}

/* Decode a urlencoded component in place: '+' is a space, then
 * libmicrohttpd's own %XX decoder (the one it uses for query strings). */
static void url_decode(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '+')
			*p = ' ';
	MHD_http_unescape(s);
}

static bool parse_form(req *r, ui_form *st)
{
	if (!r->body_len)
		return true;
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33))
		return false;
	char *save = NULL;
	for (char *tok = strtok_r(r->body, "&", &save); tok && st->nf < UI_MAX_FIELDS;
	     tok = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(tok, '=');
		if (eq)
			*eq = '\0';
		url_decode(tok);
		char *val = eq ? eq + 1 : (char *)"";
		if (eq)
			url_decode(val);
		if (strlen(tok) == 0)
			continue;
		st->f[st->nf].key = tok;
		st->f[st->nf].val = val;
		st->nf++;
	}
	return true;
}

static bool origin_ok(req *r)
{
	const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
	if (!origin || !strcmp(origin, "null"))
		return !origin; /* "null" (sandboxed, opaque) is refused */
	const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
	const char *rest = !strncmp(origin, "http://", 7) ? origin + 7
			   : !strncmp(origin, "https://", 8) ? origin + 8 : NULL;
	return host && rest && !strcmp(rest, host);
}

static enum MHD_Result add_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	hbuf *b = cls;
	hb_printf(b, "%r%u=%u", b->len && strchr(b->s, '?') ? "&" : "?", key, value ? value : "");
	return MHD_YES;
}

/* Not logged in: pages go to the login form (and come back), JSON routes get 401. */
static void to_login(req *r)
{
	if (r->route->flags & UI_JSON) {
		ui_send_json(r, 401, json_pack("{s:{s:s,s:s}}", "error", "code", "unauthenticated", "message",
					       "로그인이 필요합니다."));
		return;
	}
	hbuf u = { 0 };
	hb_raw(&u, r->url);
	if (!strcmp(r->method, "GET"))
		MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_query, &u);
	hbuf loc = { 0 };
	hb_printf(&loc, "/admin/login?next=%u", u.s ? u.s : "/admin");
	hb_free(&u);
	ui_redirect(r, loc.s ? loc.s : "/admin/login");
	hb_free(&loc);
}

static void deny(req *r, int status, const char *msg)
{
	if (r->route->flags & UI_JSON) {
		ui_send_json(r, status, json_pack("{s:{s:s,s:s}}", "error", "code",
						  status == 403 ? "forbidden" : "unavailable", "message", msg));
		return;
	}
	hbuf b = { 0 };
	ui_page_begin(&b, r, status == 403 ? "권한 없음" : status == 415 ? "잘못된 요청" : "일시적 오류", NULL);
	hb_printf(&b, "<p class=\"error\" role=\"alert\">%s</p><p><a href=\"/admin\">대시보드로</a></p>", msg);
	ui_page_end(&b, r);
	ui_send_html(r, status, &b);
}

bool ui_dispatch(req *r)
{
	if (!r->route || !(ui_is_route(r->route) || r->route == &NOT_FOUND || r->route == &NOT_ALLOWED))
		return false;
	ui_form st;
	memset(&st, 0, sizeof st);
	ui_state_set(&st);
	if (!r->ctx)
		r->ctx = server_ctx();
	bl_error_clear();
	bool post = !strcmp(r->method, "POST");
	if (!r->ctx && server_saturated()) {
		r->retry_after = 1;
		deny(r, 503, "서버가 바쁩니다. 잠시 후 다시 시도해 주세요.");
	} else if (!r->ctx) {
		deny(r, 503, "서버 내부 오류: 라이브러리 컨텍스트가 없습니다.");
	} else if (!parse_form(r, &st)) {
		deny(r, 415, "양식은 application/x-www-form-urlencoded 로 보내야 합니다.");
	} else if (!(r->route->flags & R_PUBLIC)) {
		int rc = session_resolve(r);
		const char *tok = form(r, "csrf");
		if (!tok)
			tok = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
		if (rc == BL_EAUTH)
			to_login(r);
		else if (rc)
			deny(r, 503, "세션을 확인할 수 없습니다. 잠시 후 다시 시도하세요.");
		else if ((int)r->sess.role > (int)r->route->min_role)
			deny(r, 403, r->route->min_role == BL_ROLE_ADMIN ? "이 페이지는 관리자(ADMIN)만 볼 수 있습니다."
								       : "이 작업을 할 권한이 없습니다 (운영자 이상 필요).");
		else if (post && (!origin_ok(r) || bl_session_csrf_check(&r->sess, tok) != BL_OK))
			deny(r, 403, "보안 토큰(CSRF)이 맞지 않습니다. 페이지를 새로 고친 뒤 다시 시도하세요.");
		else {
			request_actor(r);
			r->route->fn(r);
		}
	} else if (post && !origin_ok(r)) {
		deny(r, 403, "다른 사이트에서 보낸 요청은 받지 않습니다.");
	} else {
		request_actor(r);
		r->route->fn(r);
	}
	if (!r->answered)
		deny(r, 500, "서버 내부 오류: 응답이 없습니다.");
	ui_state_set(NULL);
	return true;
}

/* ---- answers ---- */

static void ui_queue(req *r, int status, struct MHD_Response *resp, const char *ctype, bool cacheable)
{
	if (!resp) {
		r->answered = true;
		r->status = 500;
		return;
	}
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", cacheable ? "private, max-age=3600" : "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
	MHD_add_response_header(resp, "Content-Security-Policy", UI_CSP);
	MHD_queue_response(r->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	r->answered = true;
	r->status = status;
}

static void send_owned(req *r, int status, char *s, size_t len, const char *ctype)
{
	struct MHD_Response *resp = s ? MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE) : NULL;
	if (!resp)
		free(s);
	ui_queue(r, status, resp, ctype, false);
}

void ui_send_html(req *r, int status, hbuf *b)
{
	if (b->oom || !b->s) {
		hb_free(b);
		static const char oom[] = "<!DOCTYPE html><title>오류</title><p>메모리가 부족합니다.</p>";
		ui_queue(r, 500,
			 MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT),
			 "text/html; charset=utf-8", false);
		return;
	}
	send_owned(r, status, b->s, b->len, "text/html; charset=utf-8");
	b->s = NULL;
	b->len = b->cap = 0;
}

void ui_send_json(req *r, int status, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	send_owned(r, s ? status : 500, s, s ? strlen(s) : 0, "application/json; charset=utf-8");
}

static void redirect_with(req *r, const char *location, const char *cookie)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (resp) {
		MHD_add_response_header(resp, "Location", location);
		if (cookie)
			MHD_add_response_header(resp, "Set-Cookie", cookie);
	}
	ui_queue(r, 303, resp, "text/html; charset=utf-8", false);
}

void ui_redirect(req *r, const char *location)
{
	redirect_with(r, location, NULL);
}

static void nf_page(req *r)
{
	ui_not_found(r);
}

void ui_not_found(req *r)
{
	session_resolve(r); /* public route: show the menu when logged in */
	hbuf b = { 0 };
	ui_page_begin(&b, r, "페이지를 찾을 수 없습니다", NULL);
	hb_raw(&b, "<p>요청한 페이지나 항목이 없습니다.</p><p><a href=\"/admin\">대시보드로</a></p>");
	ui_page_end(&b, r);
	ui_send_html(r, 404, &b);
}

static void na_page(req *r)
{
	hbuf b = { 0 };
	ui_page_begin(&b, r, "허용되지 않는 요청", NULL);
	hb_printf(&b, "<p>이 주소는 %s 요청을 받지 않습니다.</p>", r->method);
	ui_page_end(&b, r);
	ui_send_html(r, 405, &b);
}

void ui_fail_page(req *r, int rc)
{
	if (rc == BL_ENOTFOUND) {
		ui_not_found(r);
		return;
	}
	int status = http_status_of(rc, false, r->authed);
	ui_error_lib(r, rc, NULL);
	hbuf b = { 0 };
	ui_page_begin(&b, r, status >= 500 ? "일시적 오류" : "요청을 처리할 수 없습니다", NULL);
	hb_printf(&b, "<p class=\"error\" role=\"alert\">%s</p>",
		  status == 500 ? "서버 내부 오류가 발생했습니다." : ui_state(r)->err);
	hb_raw(&b, "<p><a href=\"/admin\">대시보드로</a></p>");
	ui_page_end(&b, r);
	ui_send_html(r, status, &b);
}

json_t *ui_lib_json(req *r, int rc, char **jsonp)
{
	char *json = *jsonp;
	*jsonp = NULL;
	if (rc) {
		bl_free(json);
		ui_fail_page(r, rc);
		return NULL;
	}
	json_t *j = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
	bl_free(json);
	if (!j)
		ui_fail_page(r, BL_ERROR);
	return j;
}

const char *js(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

int64_t ji(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	if (json_is_true(v))
		return 1;
	return json_integer_value(v);
}

/* ---- static files ---- */

void ui_static(req *r)
{
	const char *name = param(r, 0);
	const char *data = NULL, *ctype = NULL;
	size_t len = 0;
	if (!strcmp(name, "app.css")) {
		data = ui_app_css;
		len = ui_app_css_len;
		ctype = "text/css; charset=utf-8";
	} else if (!strcmp(name, "app.js")) {
		data = ui_app_js;
		len = ui_app_js_len;
		ctype = "text/javascript; charset=utf-8";
	}
	if (!data) {
		ui_not_found(r);
		return;
	}
	ui_queue(r, 200, MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT), ctype, true);
}

/* ---- login / logout ---- */

/* Only local pages of the UI are targets after a login. */
static const char *safe_next(const char *next)
{
	if (!next || strncmp(next, "/admin", 6) || strstr(next, "//") || strchr(next, '\\') ||
	    strpbrk(next, "\r\n"))
		return "/admin";
	return next;
}

static void login_page(req *r, int status, const char *username)
{
	hbuf b = { 0 };
	ui_page_begin(&b, r, "관리자 로그인", NULL);
	hb_raw(&b, "<form method=\"post\" action=\"/admin/login\" class=\"card narrow\" id=\"login-form\">");
	ui_field_error(&b, r, NULL);
	hb_printf(&b, "<input type=\"hidden\" name=\"next\" value=\"%s\">", safe_next(qv(r, "next")));
	hb_printf(&b, "<label>아이디<input name=\"username\" autocomplete=\"username\" required value=\"%s\" "
		      "autofocus></label>",
		  username ? username : "");
	ui_field_error(&b, r, "username");
	hb_raw(&b, "<label>비밀번호<input type=\"password\" name=\"password\" autocomplete=\"current-password\" "
		   "required></label>");
	ui_field_error(&b, r, "password");
	hb_raw(&b, "<button type=\"submit\" class=\"primary\">로그인</button></form>");
	ui_page_end(&b, r);
	ui_send_html(r, status, &b);
}

void ui_login_form(req *r)
{
	if (session_resolve(r) == BL_OK) {
		ui_redirect(r, safe_next(query(r, "next")));
		return;
	}
	r->authed = false;
	login_page(r, 200, NULL);
}

void ui_login(req *r)
{
	const char *user = form(r, "username"), *pw = form(r, "password");
	if (!user || !pw) {
		ui_error(r, user ? "password" : "username", "%s", user ? "비밀번호를 입력하세요." : "아이디를 입력하세요.");
		login_page(r, 400, user);
		return;
	}
	bl_login_opts o;
	bl_login_opts_init(&o, BL_LOGIN_OPTS_VERSION);
	o.username = user;
	o.password = pw;
	o.client = r->client;
	char sid[BL_SESSION_TOKEN_LEN + 1];
	bl_session s;
	int retry = 0;
	int rc = bl_session_login(r->ctx, &o, sid, &s, &retry);
	if (rc == BL_EAUTH) {
		metrics_login_failed();
		if (retry > 0)
			ui_error(r, NULL, "로그인 실패가 너무 많습니다. %d초 후에 다시 시도하세요.", retry);
		else
			ui_error(r, NULL, "아이디 또는 비밀번호가 올바르지 않습니다.");
		login_page(r, retry > 0 ? 429 : 401, user);
		return;
	}
	if (rc) {
		ui_error_lib(r, rc, NULL);
		login_page(r, 503, user);
		return;
	}
	const char *proto = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
	int64_t ttl = s.expires_at - wall_now_s();
	char cookie[256];
	snprintf(cookie, sizeof cookie, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s", SESSION_COOKIE,
		 sid, (long long)(ttl > 0 ? ttl : 0), proto && !strcmp(proto, "https") ? "; Secure" : "");
	r->sess = s;
	r->authed = true;
	redirect_with(r, safe_next(form(r, "next")), cookie);
	memset(sid, 0, sizeof sid);
	memset(cookie, 0, sizeof cookie);
}

void ui_logout(req *r)
{
	int rc = bl_session_end(r->ctx, r->sid);
	/* sessions.c keeps checked sessions for 2 s; drop them so this one is gone at once */
	session_cache_clear();
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	char cookie[128];
	snprintf(cookie, sizeof cookie, "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict", SESSION_COOKIE);
	redirect_with(r, "/admin/login?ok=logout", cookie);
}
