/*
 * The public unsubscribe page (docs/email.md): the link of a NOTICE e-mail's
 * List-Unsubscribe header, answered without a login.
 *
 *   GET  /unsubscribe?t=TOKEN  a short Korean confirmation page with a
 *                              one-click form (nothing changes yet)
 *   POST /unsubscribe?t=TOKEN  the form, or RFC 8058's one-click POST
 *                              (body "List-Unsubscribe=One-Click", no
 *                              session, no CSRF token): bl_unsubscribe_apply
 *
 * Both count against a per-client rate limit (bl_unsubscribe_rate_take); the
 * body is bounded by the route's R_FORM limit (server.c).  The token is
 * verified by the library; a tampered one changes nothing and gets a 400
 * page.  The page is self-contained HTML under the API's strict CSP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"
#include "ui.h"

#define TOKEN_MAX 128

static void page(req *r, int status, const char *title, const char *body_html, int retry_after)
{
	hbuf b = { 0 };
	hb_printf(&b, "<!DOCTYPE html><html lang=\"ko\"><head><meta charset=\"utf-8\">"
		      "<meta name=\"viewport\" content=\"width=device-width\"><title>%s</title></head>"
		      "<body><main><h1>%s</h1>%r</main></body></html>", title, title, body_html);
	if (b.oom || !b.s) {
		hb_free(&b);
		reply_error(r, 500, NULL, NULL, "out of memory");
		return;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(b.len, b.s, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		hb_free(&b);
	} else {
		MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
		if (retry_after > 0) {
			char ra[24];
			snprintf(ra, sizeof ra, "%d", retry_after);
			MHD_add_response_header(resp, "Retry-After", ra);
		}
	}
	queue(r, status, resp);
}

static const char *channel_word(bl_channel ch)
{
	return ch == BL_CHANNEL_SMS ? "문자(SMS)" : "이메일";
}

/* The rate limit first: false (and the page sent) when refused. */
static bool admitted(req *r)
{
	int64_t wait = 0;
	int rc = bl_unsubscribe_rate_take(r->ctx, r->client, &wait);
	if (rc == BL_OK)
		return true;
	if (rc == BL_ELIMIT) {
		hbuf m = { 0 };
		hb_printf(&m, "<p role=\"alert\">요청이 너무 많습니다. %D초 뒤에 다시 시도하세요.</p>", wait);
		page(r, 429, "잠시 후 다시 시도하세요", m.s ? m.s : "", (int)wait);
		hb_free(&m);
	} else {
		page(r, 503, "일시적 오류",
		     "<p role=\"alert\">지금은 요청을 처리할 수 없습니다. 잠시 후 다시 시도하세요.</p>", 0);
	}
	return false;
}

static void bad_link(req *r)
{
	page(r, 400, "수신거부 링크 오류",
	     "<p role=\"alert\">수신거부 링크가 올바르지 않거나 변조되었습니다. 아무것도 바뀌지 않았습니다.</p>"
	     "<p>받으신 메일의 링크를 그대로 여셨는지 확인해 주세요.</p>", 0);
}

/* The token: ?t= first, else a `t` field of a urlencoded body. */
static const char *token_of(req *r, char *buf, size_t n)
{
	const char *t = query(r, "t");
	if (t)
		return strlen(t) <= TOKEN_MAX ? t : NULL;
	if (!r->body)
		return NULL;
	for (const char *p = r->body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (p[0] == 't' && p[1] == '=') {
			size_t l = strcspn(p + 2, "&\r\n");
			if (l == 0 || l >= n)
				return NULL;
			memcpy(buf, p + 2, l); /* base64url: nothing to decode */
			buf[l] = '\0';
			return buf;
		}
	}
	return NULL;
}

void h_unsubscribe_page(req *r)
{
	if (!admitted(r))
		return;
	const char *t = query(r, "t");
	int64_t uid = 0;
	bl_channel ch = BL_CHANNEL_EMAIL;
	if (!t || strlen(t) > TOKEN_MAX || bl_unsubscribe_verify(r->ctx, t, &uid, &ch) != BL_OK) {
		bad_link(r);
		return;
	}
	hbuf m = { 0 };
	hb_printf(&m, "<p>%s 안내(광고·공지) 수신을 거부하시겠습니까?</p>"
		      "<p>요금 명세서처럼 꼭 받으셔야 하는 안내는 계속 발송됩니다.</p>"
		      "<form method=\"post\" action=\"/unsubscribe?t=%u\">"
		      "<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
		      "<button type=\"submit\">수신거부</button></form>", channel_word(ch), t);
	page(r, 200, "수신거부 확인", m.s ? m.s : "", 0);
	hb_free(&m);
}

void h_unsubscribe(req *r)
{
	if (!admitted(r))
		return;
	char buf[TOKEN_MAX + 1];
	const char *t = token_of(r, buf, sizeof buf);
	int64_t uid = 0;
	bl_channel ch = BL_CHANNEL_EMAIL;
	int rc = t ? bl_unsubscribe_apply(r->ctx, t, r->client, &uid, &ch) : BL_EINVAL;
	if (rc == BL_EINVAL || rc == BL_ECRYPTO) {
		bad_link(r);
	} else if (rc == BL_ENOTFOUND) {
		page(r, 404, "수신거부 대상 없음",
		     "<p role=\"alert\">이 링크의 가입자를 찾을 수 없습니다. 아무것도 바뀌지 않았습니다.</p>", 0);
	} else if (rc) {
		char *m = log_clean(bl_error_last());
		fprintf(stderr, "%s: unsubscribe failed: %s\n", HTTPD_NAME, m ? m : "?");
		free(m);
		page(r, 503, "일시적 오류",
		     "<p role=\"alert\">지금은 수신거부를 처리할 수 없습니다. 잠시 후 다시 시도하세요.</p>", 0);
	} else {
		hbuf m = { 0 };
		hb_printf(&m, "<p role=\"status\">%s 수신거부가 처리되었습니다. 앞으로 안내 메시지를 보내지 않습니다.</p>",
			  channel_word(ch));
		page(r, 200, "수신거부 완료", m.s ? m.s : "", 0);
		hb_free(&m);
	}
}
