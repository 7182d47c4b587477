/*
 * The admin pages under /admin (docs/ui.md): server-rendered HTML over the
 * library, forms that work without JavaScript, a little progressive
 * JavaScript (live batch progress, live template preview).
 *
 * The server hands every /admin request to the UI twice: ui_prepare() from
 * the header phase (route, session; the API's JSON-only checks are skipped)
 * and ui_dispatch() once the body is in (form parsing, login, role and CSRF
 * checks, then the page).  The UI's routes live in their own table
 * (ui_routes.c), not in ROUTES: they are pages, not API, and stay out of
 * --print-routes and docs/openapi.json.
 */
#ifndef BILLING_HTTPD_UI_H
#define BILLING_HTTPD_UI_H

#include <stdarg.h>
#include "httpd.h"

#define UI_PREFIX "/admin"
#define UI_MAX_FIELDS 64

/* ---- hooks for server.c ---- */
/* true when `r` is a UI request (the UI then owns it; prepare() returns) */
bool ui_prepare(req *r);
/* true when `r` was a UI request and has been answered */
bool ui_dispatch(req *r);

/* ---- ui_routes.c ---- */
/* route flags of UI routes (beside R_PUBLIC) */
#define UI_JSON 0x100 /* answers JSON (polling, live preview): 401/403 as JSON, not a redirect */
extern const route UI_ROUTES[];
extern const size_t UI_NROUTES;
const route *ui_route_match(const char *method, const char *path, char **params, int *nparams,
			    bool *path_known);
bool ui_is_route(const route *rt);

/* ---- ui_html.c: the page buffer ---- */
typedef struct {
	char *s;
	size_t len, cap;
	bool oom;
} hbuf;

void hb_free(hbuf *b);
void hb_raw(hbuf *b, const char *s);
void hb_rawn(hbuf *b, const char *s, size_t n);
void hb_esc(hbuf *b, const char *s); /* HTML-escaped (& < > " ') */
/*
 * Formatted output where values are escaped by default:
 *   %s  string, HTML-escaped (NULL: nothing)     %r  string, raw (trusted markup only)
 *   %u  string, URL-encoded (query values)        %d  int
 *   %D  int64_t                                   %N  int64_t grouped: 1,234,567
 *   %W  int64_t money: 1,234,567원                %f  double with one decimal
 *   %%  a percent sign
 * No widths or flags.  Arguments must have exactly these types.
 */
void hb_printf(hbuf *b, const char *fmt, ...);
void hb_vprintf(hbuf *b, const char *fmt, va_list ap);

/* ---- ui_html.c: the request's UI state ---- */
typedef struct {
	char *key, *val;
} ui_kv;

typedef struct {
	ui_kv f[UI_MAX_FIELDS]; /* the form body (POST) */
	int nf;
	/* the error to show: message and the field it belongs to (NULL: the form's top) */
	char err[600];
	const char *err_field;
	char err2[300]; /* a second field's error in the same form (ui_error_also) */
	const char *err2_field;
	char notice[300]; /* a success message ("저장했습니다") */
	const char *const *fields; /* the form's fields with their own error slot (NULL-ended) */
} ui_form;

/* A form value (POST body), or NULL. */
const char *form(req *r, const char *key);
/* A query or form value ("" counts as absent), or NULL. */
const char *qv(req *r, const char *key);
ui_form *ui_state(req *r);
/* ui_core.c sets the state while it dispatches a page, NULL after. */
void ui_state_set(ui_form *st);
/* Set the error of the page from the library's last error; field from the message. */
void ui_error_lib(req *r, int rc, const char *const *fieldmap);
/* Library message `m` of code `rc`, in Korean, at `field` (NULL: the form's top). */
void ui_error_korean(req *r, const char *field, int rc, const char *m);
void ui_error(req *r, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The error of another field, shown with the first (a form with several bad fields). */
void ui_error_also(req *r, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The fields the page's form shows (an error of another field goes to the form's top). */
void ui_form_fields(req *r, const char *const *fields);
/* The error slot of `field` (NULL: the form's top), with the error when it is this field's. */
void ui_field_error(hbuf *b, req *r, const char *field);
/* A flash message carried over a redirect (?ok=...): one of a few fixed keys. */
const char *ui_flash(req *r);

/* ---- ui_html.c: layout ---- */
/* nav: the key of the current section ("dashboard", "batch", ...) */
void ui_page_begin(hbuf *b, req *r, const char *title, const char *nav);
void ui_page_end(hbuf *b, req *r);
/* The hidden CSRF field of a POST form. */
void ui_csrf(hbuf *b, req *r);
bool ui_can(req *r, bl_role role); /* the session's role is at least `role` */
/* Korean labels */
const char *ui_run_status(const char *s);
const char *ui_msg_status(const char *s);
const char *ui_res_status(const char *s);
const char *ui_mode_label(const char *s);
const char *ui_channel_label(const char *s);
const char *ui_purpose_label(const char *s);
void ui_badge(hbuf *b, const char *status, const char *label);
/* who asked for a reservation, in words ("batch run #3" → 정산 실행 #3 완료 후 자동) */
void ui_requester(hbuf *b, const char *by);
/* "1시간 2분 3초" from seconds; "-" when < 0 */
void ui_duration(hbuf *b, int64_t seconds);
/* "12.3초" under a minute, else as ui_duration */
void ui_duration_ms(hbuf *b, int64_t ms);
/* A "다음 페이지" link keeping the current query, with cursor=next (when next). */
void ui_next_link(hbuf *b, req *r, const char *path, const char *next, const char *const *keep);
/* The library's timestamp "YYYY-MM-DD HH:MM:SS" (Asia/Seoul) as unix seconds (0: unparsable). */
int64_t ui_kst_unix(const char *ts);

/* ---- ui_core.c: answers ---- */
void ui_send_html(req *r, int status, hbuf *b); /* frees b */
void ui_send_json(req *r, int status, json_t *body); /* steals body */
void ui_redirect(req *r, const char *location);
void ui_not_found(req *r);
/* Parse a library JSON string (*json is bl_free'd and cleared; pass the address so the
 * call `ui_lib_json(r, bl_x(..., &json), &json)` reads it after bl_x ran); NULL (and an
 * error page sent) when rc is an error or the JSON is bad. */
json_t *ui_lib_json(req *r, int rc, char **json);
/* An error page for a failed library call that leaves nothing to show. */
void ui_fail_page(req *r, int rc);
/* String / integer members of a JSON object (never NULL: "" and 0 when absent). */
const char *js(json_t *o, const char *key);
int64_t ji(json_t *o, const char *key);
/* A string of a typed library object (bl_statement_…, bl_message_…) as js gives it: "" for NULL. */
static inline const char *ui_str(const char *s) { return s ? s : ""; }

/* ---- ui_chart.c: server-side SVG ---- */
typedef struct {
	const char *label;   /* x label */
	double a, b;         /* values: a (and b stacked on it, or 0) */
	const char *tip;     /* <title> text */
} chart_point;
/* Stacked bars: a (e.g. success) and b (e.g. failed). */
void chart_bars(hbuf *b, const char *title, const char *unit, const chart_point *p, size_t n,
		const char *legend_a, const char *legend_b);
/* A line of `a` in 0..100 (percent). */
void chart_line_pct(hbuf *b, const char *title, const chart_point *p, size_t n);

/* ---- pages ---- */
void ui_static(req *r);
void ui_login_form(req *r);
void ui_login(req *r);
void ui_logout(req *r);
void ui_dashboard(req *r);
/* ui_holds.c: what holds work back, with the reason and the way out */
void ui_holds_panel(hbuf *b, req *r);
/* "(… 기준 집계)": when v's counts were counted ("counted_at"), if it says. */
void ui_counted_at(hbuf *b, json_t *v);
void ui_reservation_holds(hbuf *b, req *r, json_t *v);
void ui_reservation_delivery(hbuf *b, json_t *v);
void ui_batch_list(req *r);
void ui_batch_start(req *r);
void ui_batch_get(req *r);
void ui_batch_progress(req *r);
void ui_batch_stop(req *r);
void ui_batch_resume(req *r);
/* A run's durations by month as an SVG chart (dashboard and batch pages). */
void ui_durations_chart(hbuf *b, const bl_run_list *runs);
void ui_statement_search(req *r);
void ui_statement_get(req *r);
void ui_template_list(req *r);
void ui_template_new(req *r);
void ui_template_create(req *r);
void ui_template_get(req *r);
void ui_template_save(req *r);
void ui_template_preview(req *r);
void ui_template_versions(req *r);
void ui_template_enable(req *r);
void ui_template_disable(req *r);
void ui_reservation_list(req *r);
void ui_reservation_new(req *r);
void ui_reservation_create(req *r);
void ui_reservation_get(req *r);
void ui_reservation_cancel(req *r);
void ui_message_list(req *r);
void ui_message_dead(req *r);
void ui_message_get(req *r);
void ui_message_retry(req *r);
void ui_message_retry_filter(req *r);
void ui_group_list(req *r);
void ui_group_create(req *r);
void ui_group_get(req *r);
void ui_group_search(req *r);
void ui_group_update(req *r);
void ui_group_delete(req *r);
void ui_group_add(req *r);
void ui_group_remove(req *r);
void ui_audit_list(req *r); /* ui_audit.c */
/* ui_email.c */
void ui_suppression_list(req *r);
void ui_suppression_add(req *r);
void ui_suppression_remove(req *r);

#endif
