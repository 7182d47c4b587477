/*
 * HTML building for the admin pages: a growable buffer whose formatter
 * escapes every value unless told otherwise, the common layout (header,
 * navigation, footer), Korean labels, form state and field errors.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ui.h"

extern const char ui_app_css[];
extern const size_t ui_app_css_len;
extern const char ui_app_js[];
extern const size_t ui_app_js_len;

/* ---- the form state of the request being dispatched on this thread ---- */

static __thread ui_form *cur;

void ui_state_set(ui_form *st)
{
	cur = st;
}

ui_form *ui_state(req *r)
{
	(void)r;
	return cur;
}

/* ---- buffer ---- */

void hb_free(hbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

void hb_rawn(hbuf *b, const char *s, size_t n)
{
	if (b->oom || !n)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void hb_raw(hbuf *b, const char *s)
{
	if (s)
		hb_rawn(b, s, strlen(s));
}

void hb_esc(hbuf *b, const char *s)
{
	if (!s || b->oom)
		return;
	char *e = NULL;
	if (bl_html_escape(s, &e) == BL_OK) /* the library's escaper, as templates use it */
		hb_raw(b, e);
	else
		b->oom = true;
	bl_free(e);
}

static void hb_url(hbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || strchr("-_.~", c)) {
			hb_rawn(b, (const char *)&c, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			hb_rawn(b, e, 3);
		}
	}
}

static void hb_grouped(hbuf *b, int64_t v)
{
	char d[32], o[48];
	bool neg = v < 0;
	uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	int n = snprintf(d, sizeof d, "%llu", (unsigned long long)u), w = 0;
	if (neg)
		o[w++] = '-';
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			o[w++] = ',';
		o[w++] = d[i];
	}
	o[w] = '\0';
	hb_raw(b, o);
}

void hb_vprintf(hbuf *b, const char *fmt, va_list ap)
{
	const char *run = fmt;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%')
			continue;
		hb_rawn(b, run, (size_t)(p - run));
		char num[64];
		switch (*++p) {
		case 's': hb_esc(b, va_arg(ap, const char *)); break;
		case 'r': hb_raw(b, va_arg(ap, const char *)); break;
		case 'u': hb_url(b, va_arg(ap, const char *)); break;
		case 'd':
			snprintf(num, sizeof num, "%d", va_arg(ap, int));
			hb_raw(b, num);
			break;
		case 'D':
			snprintf(num, sizeof num, "%lld", (long long)va_arg(ap, int64_t));
			hb_raw(b, num);
			break;
		case 'N': hb_grouped(b, va_arg(ap, int64_t)); break;
		case 'W':
			hb_grouped(b, va_arg(ap, int64_t));
			hb_raw(b, "원");
			break;
		case 'f':
			snprintf(num, sizeof num, "%.1f", va_arg(ap, double));
			hb_raw(b, num);
			break;
		case '%': hb_raw(b, "%"); break;
		case '\0': p--; break;
		default: hb_rawn(b, p - 1, 2); break;
		}
		run = p + 1;
	}
	hb_raw(b, run);
}

void hb_printf(hbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hb_vprintf(b, fmt, ap);
	va_end(ap);
}

/* ---- form state ---- */

const char *form(req *r, const char *key)
{
	ui_form *st = ui_state(r);
	for (int i = 0; st && i < st->nf; i++)
		if (!strcmp(st->f[i].key, key))
			return st->f[i].val[0] ? st->f[i].val : NULL;
	return NULL;
}

const char *qv(req *r, const char *key)
{
	const char *v = query(r, key);
	return v ? v : form(r, key);
}

void ui_error(req *r, const char *field, const char *fmt, ...)
{
	ui_form *st = ui_state(r);
	if (!st)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->err, sizeof st->err, fmt, ap);
	va_end(ap);
	st->err_field = field;
}

void ui_error_also(req *r, const char *field, const char *fmt, ...)
{
	ui_form *st = ui_state(r);
	if (!st || !field)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (!st->err[0]) {
		vsnprintf(st->err, sizeof st->err, fmt, ap);
		st->err_field = field;
	} else if (!st->err2[0]) {
		vsnprintf(st->err2, sizeof st->err2, fmt, ap);
		st->err2_field = field;
	}
	va_end(ap);
}

/* "template 'X' body_text:1:4: ..." → "body_text" (static storage of the map or the parts). */
static const char *template_part(const char *msg)
{
	static const char *parts[] = { "subject", "body_html", "body_text", "variables_json", "name", "code" };
	const char *q = strncmp(msg, "template '", 10) ? NULL : strstr(msg + 10, "' ");
	if (!q)
		return NULL;
	q += 2;
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		size_t n = strlen(parts[i]);
		if (!strncmp(q, parts[i], n) && (q[n] == ':' || q[n] == ' '))
			return !strcmp(parts[i], "variables_json") ? "variables" : parts[i];
	}
	return NULL;
}

void ui_error_lib(req *r, int rc, const char *const *fieldmap)
{
	const char *m = bl_error_last()[0] ? bl_error_last() : bl_strerror(rc);
	bool raw_db = rc == BL_ECONFLICT && strstr(m, "MariaDB error "); /* no SQL on a page */
	if (raw_db || rc == BL_EDB || rc == BL_EREDIS || rc == BL_ENOMEM || rc == BL_ERROR) {
		char *clean = log_clean(m), *url = log_clean(r->url);
		fprintf(stderr, "%s: %s %s: %s\n", HTTPD_NAME, r->method, url ? url : "?", clean ? clean : "");
		free(clean);
		free(url);
		ui_error(r, NULL, "%s", raw_db ? "다른 작업과 충돌했습니다(교착 또는 잠금 대기). 잠시 후 다시 시도하세요."
					    : "데이터베이스 또는 Redis에 연결할 수 없습니다. 잠시 후 다시 시도하세요.");
		return;
	}
	const char *field = template_part(m);
	for (size_t i = 0; !field && fieldmap && fieldmap[i] && fieldmap[i + 1]; i += 2)
		if (strstr(m, fieldmap[i + 1]))
			field = fieldmap[i];
	char *clean = scrub_pii(m);
	ui_error_korean(r, field, rc, clean ? clean : m);
	bl_free(clean);
}

/* The pages speak Korean (issue 21): a library message becomes a Korean
 * sentence — whole for the common ones, else the kind of error by its code
 * followed by the library's detail (names, positions, suggestions). */
void ui_error_korean(req *r, const char *field, int rc, const char *m)
{
	char month[16] = "";
	if (sscanf(m, "month '%15[^']'", month) == 1) {
		const char *what = strstr(m, "the month must be 01-12") ? "월은 01부터 12 사이여야 합니다."
				   : strstr(m, "the year must be")	? "연도는 2000부터 2999 사이여야 합니다."
				   : strstr(m, "expected YYYY-MM")	? "YYYY-MM 형식으로 입력하세요 (예: 2026-10)."
									: NULL;
		if (what) {
			ui_error(r, field, "대상 월 '%s': %s", month, what);
			return;
		}
	}
	const char *kind;
	switch (rc) {
	case BL_EINVAL: kind = "입력값을 확인하세요"; break;
	case BL_ENOTFOUND: kind = "찾을 수 없습니다"; break;
	case BL_ECONFLICT: kind = "지금 상태에서는 할 수 없습니다"; break;
	case BL_EOVERFLOW: kind = "금액이나 크기가 허용 범위를 넘었습니다"; break;
	case BL_ESTOPPED: kind = "중지되었습니다"; break;
	case BL_EAUTH: kind = "인증에 실패했습니다"; break;
	case BL_ECONFIG: kind = "서버 설정 오류입니다"; break;
	default: kind = "처리하지 못했습니다"; break;
	}
	ui_error(r, field, "%s. (자세히: %s)", kind, m);
}

void ui_form_fields(req *r, const char *const *fields)
{
	ui_form *st = ui_state(r);
	if (st)
		st->fields = fields;
}

static bool field_shown(const ui_form *st, const char *field)
{
	for (size_t i = 0; st->fields && st->fields[i]; i++)
		if (!strcmp(st->fields[i], field))
			return true;
	return false;
}

void ui_field_error(hbuf *b, req *r, const char *field)
{
	ui_form *st = ui_state(r);
	hb_printf(b, "<div class=\"err-slot\" data-slot=\"%s\">", field ? field : "_form");
	bool mine = st && st->err[0] &&
		    (field ? (st->err_field && !strcmp(st->err_field, field))
			   : (!st->err_field || !field_shown(st, st->err_field)));
	if (mine)
		hb_printf(b, "<p class=\"field-error\" role=\"alert\">%s</p>", st->err);
	if (st && field && st->err2[0] && st->err2_field && !strcmp(st->err2_field, field))
		hb_printf(b, "<p class=\"field-error\" role=\"alert\">%s</p>", st->err2);
	hb_raw(b, "</div>");
}

const char *ui_flash(req *r)
{
	static const char *const flashes[] = {
		"logout", "로그아웃했습니다.",
		"saved", "저장했습니다.",
		"started", "배치 실행을 시작했습니다.",
		"stopping", "중지를 요청했습니다. 진행 중인 청크를 마치고 멈춥니다.",
		"resumed", "배치 실행을 재개했습니다.",
		"created", "생성했습니다.",
		"canceled", "예약을 취소했습니다.",
		"retried", "재발송을 요청했습니다.",
		"enabled", "템플릿을 사용하도록 설정했습니다.",
		"disabled", "템플릿을 사용 중지했습니다.",
		"deleted", "삭제했습니다.",
		"added", "고객을 그룹에 추가했습니다.",
		"removed", "고객을 그룹에서 제외했습니다.",
		"suppressed", "주소를 수신 차단 목록에 넣었습니다.",
		"unsuppressed", "수신 차단을 해제했습니다.",
		NULL,
	};
	const char *k = query(r, "ok");
	if (k && !strcmp(k, "retried_n")) { /* a bulk retry: how many, from its redirect */
		static _Thread_local char counted[128];
		int64_t n = 0;
		if (!parse_int64(query(r, "n"), &n) || n < 0)
			return "재발송을 요청했습니다.";
		if (n == 0)
			return "조건에 맞는 재시도 대상 메시지가 없어 아무것도 재발송하지 않았습니다 (0건).";
		snprintf(counted, sizeof counted, "메시지 %lld건의 재발송을 요청했습니다.", (long long)n);
		return counted;
	}
	for (size_t i = 0; k && flashes[i]; i += 2)
		if (!strcmp(flashes[i], k))
			return flashes[i + 1];
	return NULL;
}

/* ---- layout ---- */

bool ui_can(req *r, bl_role role)
{
	return r->authed && (int)r->sess.role <= (int)role;
}

void ui_csrf(hbuf *b, req *r)
{
	hb_printf(b, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", r->authed ? r->sess.csrf_token : "");
}

static const char *const NAV[][3] = {
	{ "dashboard", "/admin", "대시보드" },
	{ "batch", "/admin/batch", "정산 배치" },
	{ "statements", "/admin/statements", "정산서 조회" },
	{ "templates", "/admin/templates", "메시지 템플릿" },
	{ "reservations", "/admin/reservations", "예약 발송" },
	{ "messages", "/admin/messages", "발송 이력" },
	{ "dead", "/admin/dead", "실패 메시지(DLQ)" },
	{ "groups", "/admin/groups", "고객 그룹" },
	{ "suppressions", "/admin/suppressions", "수신 차단" },
};

void ui_page_begin(hbuf *b, req *r, const char *title, const char *nav)
{
	hb_printf(b, "<!DOCTYPE html>\n<html lang=\"ko\">\n<head>\n<meta charset=\"utf-8\">\n"
		     "<link rel=\"icon\" href=\"data:,\">\n"
		     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		     "<title>%s · 정산·발송 관리</title>\n"
		     "<link rel=\"stylesheet\" href=\"/admin/static/app.css?v=%d\">\n"
		     "<script src=\"/admin/static/app.js?v=%d\" defer></script>\n</head>\n<body>\n",
		  title, (int)(ui_app_css_len % 100000), (int)(ui_app_js_len % 100000));
	hb_raw(b, "<header class=\"top\"><a class=\"brand\" href=\"/admin\">LG U+ <b>정산·발송 관리</b></a>");
	if (r->authed) {
		hb_raw(b, "<nav aria-label=\"주 메뉴\"><ul>");
		for (size_t i = 0; i < sizeof NAV / sizeof NAV[0]; i++)
			hb_printf(b, "<li><a href=\"%s\"%r>%s</a></li>", NAV[i][1],
				  nav && !strcmp(nav, NAV[i][0]) ? " aria-current=\"page\"" : "", NAV[i][2]);
		if (ui_can(r, BL_ROLE_ADMIN))
			hb_printf(b, "<li><a href=\"/admin/audit\" id=\"nav-audit\"%r>감사 로그</a></li>",
				  nav && !strcmp(nav, "audit") ? " aria-current=\"page\"" : "");
		hb_printf(b, "</ul></nav><div class=\"who\"><span class=\"user\">%s <small>%s</small></span>"
			     "<form method=\"post\" action=\"/admin/logout\" class=\"inline\">",
			  r->sess.username, bl_admin_role_name(r->sess.role));
		ui_csrf(b, r);
		hb_raw(b, "<button type=\"submit\" class=\"link\" id=\"logout\">로그아웃</button></form></div>");
	}
	hb_printf(b, "</header>\n<main>\n<h1>%s</h1>\n", title);
	const char *f = ui_flash(r);
	if (f)
		hb_printf(b, "<p class=\"flash\" role=\"status\">%s</p>\n", f);
	ui_form *st = ui_state(r);
	if (st && st->notice[0])
		hb_printf(b, "<p class=\"flash\" role=\"status\">%s</p>\n", st->notice);
}

void ui_page_end(hbuf *b, req *r)
{
	(void)r;
	hb_printf(b, "</main>\n<footer>billing-httpd %s · 시각은 한국 표준시(KST)</footer>\n</body>\n</html>\n",
		  bl_version());
}

/* ---- labels ---- */

static const char *lookup(const char *const *map, const char *s)
{
	for (size_t i = 0; s && map[i]; i += 2)
		if (!strcmp(map[i], s))
			return map[i + 1];
	return s ? s : "";
}

const char *ui_run_status(const char *s)
{
	static const char *const m[] = { "STARTED", "진행 중", "COMPLETED", "완료", "FAILED", "실패",
					 "STOPPED", "중지됨", NULL };
	return lookup(m, s);
}

const char *ui_msg_status(const char *s)
{
	static const char *const m[] = { "WAITING", "대기", "PROCESSING", "처리 중", "SUCCESS", "성공",
					 "FAILED", "실패(재시도 예정)", "EXCEEDED", "재시도 초과", "DEAD",
					 "최종 실패", "BOUNCED", "반송됨", "SUPPRESSED", "발송 제외(수신거부)",
					 "DELIVERED", "수신 확인", "UNDELIVERED", "미수신(통신사)", NULL };
	return lookup(m, s);
}

const char *ui_res_status(const char *s)
{
	static const char *const m[] = { "WAITING", "대기", "PROCESSING", "메시지 생성 중", "SENT", "생성 완료",
					 "CANCELED", "취소됨", NULL };
	return lookup(m, s);
}

const char *ui_mode_label(const char *s)
{
	static const char *const m[] = { "NORMAL", "일반", "FAILED_ONLY", "실패 건만 재처리", "DRY_RUN",
					 "모의 실행", "REISSUE", "재발행", NULL };
	return lookup(m, s);
}

const char *ui_channel_label(const char *s)
{
	static const char *const m[] = { "EMAIL", "이메일", "SMS", "SMS", NULL };
	return lookup(m, s);
}

const char *ui_purpose_label(const char *s)
{
	static const char *const m[] = { "BILLING", "청구", "NOTICE", "공지", NULL };
	return lookup(m, s);
}

void ui_requester(hbuf *b, const char *by)
{
	long long run = 0;
	if (by && sscanf(by, "batch run #%lld", &run) == 1)
		hb_printf(b, "<a href=\"/admin/batch/%D\">정산 실행 #%D</a> 완료 후 자동", (int64_t)run, (int64_t)run);
	else if (!by || !*by || !strcmp(by, "system"))
		hb_raw(b, "시스템");
	else
		hb_printf(b, "%s", by);
}

void ui_badge(hbuf *b, const char *status, const char *label)
{
	char cls[24] = "";
	for (size_t i = 0; status && status[i] && i < sizeof cls - 1; i++)
		cls[i] = (char)tolower((unsigned char)status[i]);
	hb_printf(b, "<span class=\"badge s-%s\" data-status=\"%s\">%s</span>", cls, status ? status : "", label);
}

void ui_duration(hbuf *b, int64_t s)
{
	if (s < 0) {
		hb_raw(b, "-");
		return;
	}
	if (s >= 3600)
		hb_printf(b, "%D시간 ", s / 3600);
	if (s >= 60)
		hb_printf(b, "%D분 ", s % 3600 / 60);
	hb_printf(b, "%D초", s % 60);
}

void ui_duration_ms(hbuf *b, int64_t ms)
{
	if (ms >= 0 && ms < 60000)
		hb_printf(b, "%f초", (double)ms / 1000.0);
	else
		ui_duration(b, ms < 0 ? -1 : ms / 1000);
}

void ui_next_link(hbuf *b, req *r, const char *path, const char *next, const char *const *keep)
{
	if (!next || !*next)
		return;
	hb_printf(b, "<p class=\"pager\"><a rel=\"next\" href=\"%s?", path);
	for (size_t i = 0; keep && keep[i]; i++) {
		const char *v = query(r, keep[i]);
		if (v)
			hb_printf(b, "%u=%u&amp;", keep[i], v);
	}
	hb_printf(b, "cursor=%u\">다음 페이지 →</a></p>", next);
}

int64_t ui_kst_unix(const char *ts)
{
	int64_t us;
	if (!ts || bl_clock_parse(ts, &us) != BL_OK) {
		bl_error_clear(); /* "unparsable" is an answer here, not a failure */
		return 0;
	}
	return us / 1000000;
}
