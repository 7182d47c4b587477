/*
 * billing-httpd: the admin REST API over libmicrohttpd.  Shared declarations
 * of the server (server.c), the route table (routes.c), the helpers
 * (http_util.c) and the handlers (h_*.c).  Handlers parse, call bl_*, format.
 */
#ifndef BILLING_HTTPD_H
#define BILLING_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <time.h>
#include <microhttpd.h>
#include <jansson.h>
#include <billing/billing.h>

#define HTTPD_NAME "billing-httpd"
#define SESSION_COOKIE "bl_session"
#define MAX_PATH_PARAMS 4
#define PAGE_DEFAULT 50
#define PAGE_MAX 500

typedef struct req req;
typedef void (*handler_fn)(req *r);

/* route flags */
#define R_PUBLIC 0x1 /* answers without a session */
#define R_NOCSRF 0x2 /* state-changing without a CSRF token (login, the public unsubscribe POST) */
#define R_FORM 0x4   /* takes a small form body (any type, FORM_MAX_BODY), not JSON */
#define R_NOCTX 0x8  /* answered from memory: takes no library context (never waits for one) */
#define FORM_MAX_BODY 4096

typedef struct {
	const char *method;
	const char *pattern; /* "/api/groups/{code}/members/{user_id}" */
	handler_fn fn;
	unsigned flags;
	bl_role min_role;    /* least privileged role allowed (VIEWER < OPERATOR < ADMIN) */
	const char *summary;
} route;

extern const route ROUTES[];
extern const size_t NROUTES;

struct req {
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	const route *route;
	size_t route_index; /* NROUTES when none matched */
	char *params[MAX_PATH_PARAMS];
	int nparams;
	/* body */
	char *body;
	size_t body_len, body_cap;
	size_t body_seen; /* bytes received, kept or not */
	json_t *json;     /* parsed body object, or NULL */
	/* an error decided from the headers, sent once the body is drained */
	int early_status;
	bool discard_body; /* a page's POST from nobody allowed to make it: read and dropped */
	char early_code[32];
	char early_msg[160];
	char allow[64]; /* methods of the path, for a 405's Allow header */
	/* who */
	bool authed;
	bl_session sess;
	char sid[BL_SESSION_TOKEN_LEN + 1];
	char client[64];
	/* answer */
	bool answered;
	int status;
	int64_t created_id; /* the id a handler created or acted on (pages read it) */
	int64_t t0_us;
	bl_ctx *ctx;
	int retry_after; /* > 0: a 503 for saturation, with this Retry-After */
};

/* ---- peers.c: the client's address, connection deadlines ---- */
int peers_init(const char *trusted_proxies, char *err, size_t errlen);
void peers_client(struct MHD_Connection *c, char *out, size_t n);
void peers_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		  enum MHD_ConnectionNotificationCode toe);
void peers_busy(struct MHD_Connection *c, bool busy);
int peers_start(int64_t request_timeout_ms);
void peers_stop(void);

/* ---- server.c ---- */
typedef struct {
	const bl_config *cfg;
	size_t max_body;
	int threads;
	bool access_log;
	int idle_timeout_s;    /* no byte for this long: closed (libmicrohttpd) */
	int request_timeout_s; /* a request must arrive whole within this */
	int max_connections, max_per_ip;
	int queue_max, queue_wait_ms; /* requests waiting for a context: how many, how long */
} server_opts;
int server_start(const server_opts *o, const char *bind, int port, int *bound_port);
/* Stop accepting, wait (bounded) for requests in flight, stop. */
void server_stop(void);

/* A decimal integer of up to 18 digits, nothing else. */
bool parse_int64(const char *s, int64_t *out);

/* ---- state.c: what the whole process shares (below every other file) ---- */
/* The configuration and the pool of `contexts` library contexts that the
 * requests share: a request waits for a free one at most wait_ms, behind at
 * most queue_max others.  0, or -1 when out of memory. */
int state_init(const bl_config *cfg, int contexts, int queue_max, int wait_ms);
/* Free the pool (at shutdown, when no request runs any more). */
void state_thread_done(void);
const bl_config *server_config(void);
/* The library context of this request's thread, borrowed from the pool on
 * first use and given back when the request completes (state_ctx_release);
 * NULL when none became free in time (server_saturated() then tells so) or
 * on error. */
bl_ctx *server_ctx(void);
void state_ctx_release(void);
bool server_saturated(void);
long server_refused(void); /* requests answered 503 for saturation */
int64_t now_us(void);
/* The library's clock (the server context's), in unix seconds: every
 * "what time is it" of the server (session lifetimes, dates, logs). */
int64_t wall_now_s(void);
/* Condition variables wait on CLOCK_MONOTONIC (deadline_after_ms), never on
 * the wall clock. */
void cond_init_monotonic(pthread_cond_t *c);
struct timespec deadline_after_ms(int64_t ms);
/* Requests in flight (for a graceful stop and /metrics). */
void state_in_flight_add(int d);
long server_in_flight(void);

/* ---- routes.c ---- */
/* Match a path against a "/a/{id}/b" pattern (routes.c); `dots` lets a
 * parameter segment hold '.'. */
bool route_path_match(const char *pat, const char *path, char **params, int *np, bool dots);
const route *route_match(const char *method, const char *path, char **params, int *nparams,
			 bool *path_known, char *allow, size_t allow_len, size_t *index);
void routes_print(FILE *f);

/* ---- http_util.c: answers (each queues exactly one response) ---- */
void reply_json(req *r, int status, json_t *body);      /* steals body */
void reply_raw(req *r, int status, const char *ctype, const char *body, size_t len);
void reply_error(req *r, int status, const char *code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* A library failure: status from the code, message from bl_error_last(). */
/* The one BL_E* -> HTTP status table: `write` for a request that changes
 * something (invalid input is 422 there, 400 for reads), `authed` whether
 * the client is signed in (BL_EAUTH: 403, else 401). */
int http_status_of(int rc, bool write, bool authed);
void reply_lib(req *r, int rc, const char *field);
/* A library JSON string (bl_free'd here) as is, or wrapped in {"key": value}. */
void reply_lib_json(req *r, int status, char *json);
/* A list page: {"items": [...], "next_cursor": "..."|null}; steals items. */
void reply_page(req *r, json_t *items, const char *next_cursor);
/* Queue the response with the common headers; frees it. */
void queue(req *r, int status, struct MHD_Response *resp);
/* 429 too_many_requests with Retry-After and bl_error_last() as the message. */
void reply_retry_after(req *r, int retry_after_s);

/* ---- http_util.c: input ---- */
const char *query(req *r, const char *key);           /* NULL when absent */
/* Parse an integer query parameter; false (and a 400 sent) when malformed. */
bool query_i64(req *r, const char *key, int64_t min, int64_t max, int64_t def, int64_t *out);
bool query_str(req *r, const char *key, size_t max, const char **out);
/* Page size and cursor (cursor: positive integer id; 0 when absent). */
bool page_args(req *r, int *limit, int64_t *cursor);
int64_t param_i64(req *r, int i);                     /* path param i as integer (validated) */
const char *param(req *r, int i);
/* Body fields; false (and a 400 sent) when present with the wrong type. */
bool body_str(req *r, const char *key, bool required, size_t max, const char **out);
bool body_i64(req *r, const char *key, bool required, int64_t min, int64_t max, int64_t *out);
bool body_bool(req *r, const char *key, bool required, bool *out);
/* Parse a library JSON string (bl_free'd here); NULL and a 500 sent on failure. */
json_t *lib_json(req *r, char *json);
/* bl_pii_scrub: a copy of `s` with e-mail addresses and phone numbers masked
 * (bl_free()); NULL for NULL or out of memory. */
char *scrub_pii(const char *s);
/* A line's worth of untrusted text for the log: scrub_pii, then control
 * characters (a decoded %0A, %1B) and '\\' written as \xNN (free()). */
char *log_clean(const char *s);
/* The library's actor for the request's changes: its admin, or none
 * (bl_ctx_set_actor; the library audits each change under it). */
void request_actor(req *r);
/* Cursor pagination over a whole array (steals it), by the integer `key` ascending. */
void reply_array_page(req *r, json_t *all, const char *key);
/* A library call's whole-list answer (rc, its JSON array; takes json) as reply_array_page pages it. */
void reply_lib_array_page(req *r, int rc, char *json, const char *key);
/* A page from a library list fetched with limit + 1: rc checked, json bl_free'd,
 * next_cursor = `key` of the last item kept when there were more. */
void reply_lib_page(req *r, int rc, char *json, int limit, const char *key);

/* ---- sessions.c ---- */
/* Resolve the cookie of `r` to a session (cache, then the database). */
int session_resolve(req *r);
void session_cache_clear(void);
long session_cache_size(void);
void h_login(req *r);
void h_session_get(req *r);
void h_logout(req *r);

/* ---- h_stats.c ---- */
void stats_init(const bl_config *cfg);
/* The statistics of `window` (bl_stats_get's JSON, free()) from the
 * background cache shared by /api/stats, /metrics and the dashboard; NULL
 * when not available.  *age_us: how old. */
char *stats_copy(int window, size_t *len, int64_t *age_us);
void stats_shutdown(void);
/* Count a finished request in the metrics. */
void metrics_count(size_t route_index, int status, int64_t us);
void metrics_login_failed(void);
/* A growing text buffer for /metrics (metrics_put: printf into it; on
 * out of memory the text stops growing and s may be NULL). */
typedef struct {
	char *s;
	size_t len, cap;
} outbuf;
void metrics_put(outbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void metrics_gauge(outbuf *b, const char *name, const char *help);
/* The request counters above in the Prometheus text format. */
void metrics_http_write(outbuf *b);
int64_t metrics_start_time(void);
void h_stats(req *r);
void h_metrics(req *r);
void h_healthz(req *r);
/* h_hooks.c: SMS delivery-result webhooks, the gateways' breakers for /metrics */
void h_sms_hook(req *r);
char *sms_metrics_text(bl_ctx *ctx);

/* ---- h_batch.c ---- */
void batch_shutdown(void);
/* Options of a run started from the API or the admin page: the configured
 * partitions and chunk size, created by an admin. */
void batch_default_opts(bl_batch_opts *o);
/* Start a run of `month` (or resume run `resume_id` when non-zero) as a
 * library job kept for the shutdown, and audit it.  BL_OK: *run_id is the
 * run; *warning (bl_free, may be NULL) when it already ended with an error
 * after it was created.  Otherwise the start's error (bl_error_last). */
int batch_launch(req *r, const char *month, int64_t resume_id, bl_batch_opts *o, int64_t *run_id,
		 char **warning);
void h_batch_list(req *r);
void h_batch_start(req *r);
void h_batch_get(req *r);
void h_batch_stop(req *r);
void h_batch_resume(req *r);

/* ---- h_statements.c ---- */
void h_statement_search(req *r);
void h_statement_get(req *r);

/* ---- h_users.c ---- */
void h_user_search(req *r);
void h_user_search_contact(req *r);
void h_user_get(req *r);

/* ---- h_groups.c ---- */
void h_group_list(req *r);
void h_group_create(req *r);
void h_group_get(req *r);
void h_group_update(req *r);
void h_group_delete(req *r);
void h_group_members(req *r);
void h_group_add(req *r);
void h_group_remove(req *r);

/* ---- h_templates.c ---- */
void h_template_list(req *r);
void h_template_create(req *r);
void h_template_get(req *r);
void h_template_update(req *r);
void h_template_versions(req *r);
void h_template_enable(req *r);
void h_template_disable(req *r);
void h_template_preview(req *r);

/* ---- h_reservations.c ---- */
void h_reservation_list(req *r);
void h_reservation_create(req *r);
void h_reservation_get(req *r);
void h_reservation_cancel(req *r);

/* ---- h_messages.c ---- */
void h_message_search(req *r);
void h_message_dead(req *r);
void h_message_get(req *r);
void h_message_retry(req *r);
void h_message_retry_filter(req *r);

/* ---- h_admin.c ---- */
void h_audit_list(req *r);
void h_admin_list(req *r);
void h_admin_create(req *r);
void h_openapi(req *r);

/* ---- h_unsubscribe.c: the public unsubscribe page ---- */
void h_unsubscribe_page(req *r);
void h_unsubscribe(req *r);

/* ---- h_email.c: the suppression list ---- */
void h_suppression_list(req *r);
void h_suppression_add(req *r);
void h_suppression_remove(req *r);

#endif
