/*
 * Helpers of the handlers: JSON answers, the one error shape, query and
 * body parameters, pagination, masking of personal data in messages.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"

/* ---- answers ---- */

void queue(req *r, int status, struct MHD_Response *resp)
{
	if (!resp) {
		r->answered = true;
		r->status = 500;
		return;
	}
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
	if (status == 405 && r->allow[0])
		MHD_add_response_header(resp, "Allow", r->allow);
	if (status == 503 && r->retry_after > 0) {
		char ra[16];
		snprintf(ra, sizeof ra, "%d", r->retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	MHD_queue_response(r->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	r->answered = true;
	r->status = status;
}

void reply_raw(req *r, int status, const char *ctype, const char *body, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (resp)
		MHD_add_response_header(resp, "Content-Type", ctype);
	queue(r, status, resp);
}

static void reply_owned(req *r, int status, char *s)
{
	if (!s) {
		static const char oom[] =
			"{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\",\"field\":null}}";
		reply_raw(r, 500, "application/json", oom, sizeof oom - 1);
		return;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		free(s);
	else
		MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
	queue(r, status, resp);
}

void reply_json(req *r, int status, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(body);
	reply_owned(r, status, s);
}

static const char *status_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthenticated";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 413: return "payload_too_large";
	case 415: return "unsupported_media_type";
	case 422: return "validation_failed";
	case 429: return "too_many_requests";
	case 501: return "not_implemented";
	case 503: return "unavailable";
	default: return "internal";
	}
}

static void reply_error_json(req *r, int status, const char *code, const char *field, const char *msg,
			     int line, int column)
{
	char *clean = scrub_pii(msg);
	json_t *e = json_pack("{s:s,s:s,s:s?}", "code", code ? code : status_code(status), "message",
			      clean ? clean : "", "field", field);
	bl_free(clean);
	if (e && !field)
		json_object_set_new(e, "field", json_null());
	if (e && line > 0) {
		json_object_set_new(e, "line", json_integer(line));
		json_object_set_new(e, "column", json_integer(column));
	}
	reply_json(r, status, json_pack("{s:o}", "error", e));
}

void reply_error(req *r, int status, const char *code, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	reply_error_json(r, status, code, field, msg, 0, 0);
}

/* "template 'X' body_text:3:7: message" → field body_text, line 3, column 7;
 * "template 'X' subject: message" → field subject; "… at line 2, column 5" → line/column. */
static void error_position(const char *msg, char *field, size_t flen, int *line, int *col)
{
	*line = *col = 0;
	field[0] = '\0';
	const char *q = strstr(msg, "' ");
	if (!strncmp(msg, "template '", 10) && q) {
		const char *p = q + 2, *e = p;
		while (isalnum((unsigned char)*e) || *e == '_')
			e++;
		if (e > p && *e == ':' && (size_t)(e - p) < flen) {
			memcpy(field, p, (size_t)(e - p));
			field[e - p] = '\0';
			int l, c, n = 0;
			if (sscanf(e, ":%d:%d:%n", &l, &c, &n) == 2 && n > 0) {
				*line = l;
				*col = c;
			}
		}
	}
	const char *at = strstr(msg, "at line ");
	int l, c;
	if (!*line && at && sscanf(at, "at line %d, column %d", &l, &c) == 2) {
		*line = l;
		*col = c;
	}
}

int http_status_of(int rc, bool write, bool authed)
{
	switch (rc) {
	case BL_OK: return 200;
	case BL_EINVAL: return write ? 422 : 400;
	case BL_EOVERFLOW: return 422;
	case BL_ENOTFOUND: return 404;
	case BL_ECONFLICT: case BL_ESTOPPED: return 409;
	case BL_EAUTH: return authed ? 403 : 401;
	case BL_ELIMIT: return 429;
	case BL_EDB: case BL_EREDIS: return 503;
	default: return 500;
	}
}

void reply_lib(req *r, int rc, const char *field)
{
	bool read = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
	int status = http_status_of(rc, !read, r->authed);
	const char *msg = bl_error_last()[0] ? bl_error_last() : bl_strerror(rc);
	bool raw_db = strstr(msg, "MariaDB error ") != NULL; /* the server's words and our SQL */
	if (status >= 500 || raw_db) {
		/* details go to the log, not to the client */
		char *clean = log_clean(msg);
		fprintf(stderr, "%s: %s %s: %s\n", HTTPD_NAME, r->method, r->route ? r->route->pattern : "?",
			clean ? clean : "");
		free(clean);
		reply_error_json(r, status, NULL, NULL,
				 status == 409 ? "the database refused a conflicting change (a deadlock, a lock "
						 "wait or a duplicate); try again"
				 : status == 503 ? "a backend (database or Redis) is unavailable; try again"
						 : status >= 500 ? "internal error" : "the database refused the request",
				 0, 0);
		return;
	}
	char f[64];
	int line, col;
	error_position(msg, f, sizeof f, &line, &col);
	reply_error_json(r, status, NULL, field ? field : (f[0] ? f : NULL), msg, line, col);
}

json_t *lib_json(req *r, char *json)
{
	json_error_t e;
	json_t *j = json ? json_loads(json, JSON_DECODE_ANY, &e) : NULL;
	bl_free(json);
	if (!j)
		reply_error(r, 500, NULL, NULL, "internal error: the library returned no JSON");
	return j;
}

void reply_lib_json(req *r, int status, char *json)
{
	json_t *j = lib_json(r, json);
	if (j)
		reply_json(r, status, j);
}

void reply_page(req *r, json_t *items, const char *next_cursor)
{
	json_t *o = json_pack("{s:o,s:s?}", "items", items ? items : json_array(), "next_cursor", next_cursor);
	if (o && !next_cursor)
		json_object_set_new(o, "next_cursor", json_null());
	reply_json(r, 200, o);
}

static void cursor_of(json_t *item, const char *key, char *out, size_t n)
{
	json_t *v = json_object_get(item, key);
	if (json_is_integer(v))
		snprintf(out, n, "%lld", (long long)json_integer_value(v));
	else
		snprintf(out, n, "%s", json_string_value(v) ? json_string_value(v) : "");
}

void reply_lib_page(req *r, int rc, char *json, int limit, const char *key)
{
	if (rc) {
		bl_free(json);
		reply_lib(r, rc, NULL);
		return;
	}
	json_t *arr = lib_json(r, json);
	if (!arr)
		return;
	char cur[32] = "";
	if (json_array_size(arr) > (size_t)limit) {
		while (json_array_size(arr) > (size_t)limit)
			json_array_remove(arr, json_array_size(arr) - 1);
		cursor_of(json_array_get(arr, (size_t)limit - 1), key, cur, sizeof cur);
	}
	reply_page(r, arr, cur[0] ? cur : NULL);
}

static int by_key(const void *a, const void *b, void *key)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, key));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, key));
	return x < y ? -1 : x > y;
}

void reply_array_page(req *r, json_t *all, const char *key)
{
	int limit;
	int64_t cursor;
	if (!page_args(r, &limit, &cursor)) {
		json_decref(all);
		return;
	}
	size_t n = json_array_size(all);
	json_t **v = calloc(n + 1, sizeof *v);
	json_t *items = json_array();
	if (!v || !items) {
		free(v);
		json_decref(items);
		json_decref(all);
		reply_error(r, 500, NULL, NULL, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(all, i);
	qsort_r(v, n, sizeof *v, by_key, (void *)key);
	char cur[32] = "";
	size_t taken = 0;
	for (size_t i = 0; i < n; i++) {
		if (json_integer_value(json_object_get(v[i], key)) <= cursor)
			continue;
		if (taken == (size_t)limit) {
			cursor_of(json_array_get(items, taken - 1), key, cur, sizeof cur);
			break;
		}
		json_array_append(items, v[i]);
		taken++;
	}
	free(v);
	json_decref(all);
	reply_page(r, items, cur[0] ? cur : NULL);
}

/* ---- input ---- */

const char *query(req *r, const char *key)
{
	const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
	return v && *v ? v : NULL;
}

static bool parse_i64(const char *s, int64_t *out)
{
	if (!s || !*s || strlen(s) > 19)
		return false;
	const char *p = s + (*s == '-');
	if (!*p)
		return false;
	for (; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	*out = strtoll(s, NULL, 10);
	return true;
}

bool query_i64(req *r, const char *key, int64_t min, int64_t max, int64_t def, int64_t *out)
{
	const char *v = query(r, key);
	if (!v) {
		*out = def;
		return true;
	}
	int64_t n;
	if (!parse_i64(v, &n) || n < min || n > max) {
		reply_error(r, 400, NULL, key, "%s: expected a whole number from %lld to %lld", key,
			    (long long)min, (long long)max);
		return false;
	}
	*out = n;
	return true;
}

bool query_str(req *r, const char *key, size_t max, const char **out)
{
	*out = query(r, key);
	if (*out && strlen(*out) > max) {
		reply_error(r, 400, NULL, key, "%s: at most %zu bytes", key, max);
		return false;
	}
	return true;
}

bool page_args(req *r, int *limit, int64_t *cursor)
{
	int64_t l;
	if (!query_i64(r, "limit", 1, PAGE_MAX, PAGE_DEFAULT, &l) ||
	    !query_i64(r, "cursor", 0, INT64_MAX, 0, cursor))
		return false;
	*limit = (int)l;
	return true;
}

const char *param(req *r, int i)
{
	return i < r->nparams ? r->params[i] : "";
}

int64_t param_i64(req *r, int i)
{
	return i < r->nparams ? strtoll(r->params[i], NULL, 10) : 0;
}

bool body_str(req *r, const char *key, bool required, size_t max, const char **out)
{
	json_t *v = json_object_get(r->json, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			reply_error(r, 400, NULL, key, "%s: required", key);
		return !required;
	}
	if (!json_is_string(v)) {
		reply_error(r, 400, NULL, key, "%s: must be a string", key);
		return false;
	}
	if (json_string_length(v) > max) {
		reply_error(r, 400, NULL, key, "%s: at most %zu bytes", key, max);
		return false;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		reply_error(r, 400, NULL, key, "%s: must not contain NUL characters", key);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

bool body_i64(req *r, const char *key, bool required, int64_t min, int64_t max, int64_t *out)
{
	json_t *v = json_object_get(r->json, key);
	if (!v || json_is_null(v)) {
		if (required)
			reply_error(r, 400, NULL, key, "%s: required", key);
		return !required;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		reply_error(r, 400, NULL, key, "%s: expected a whole number from %lld to %lld", key,
			    (long long)min, (long long)max);
		return false;
	}
	*out = json_integer_value(v);
	return true;
}

bool body_bool(req *r, const char *key, bool required, bool *out)
{
	json_t *v = json_object_get(r->json, key);
	if (!v || json_is_null(v)) {
		if (required)
			reply_error(r, 400, NULL, key, "%s: required", key);
		return !required;
	}
	if (!json_is_boolean(v)) {
		reply_error(r, 400, NULL, key, "%s: must be true or false", key);
		return false;
	}
	*out = json_is_true(v);
	return true;
}

/* ---- personal data in messages and logs ---- */

char *log_clean(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char *clean = scrub_pii(s ? s : "");
	if (!clean)
		return NULL;
	size_t n = 0;
	for (const char *p = clean; *p; p++)
		n += ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') ? 4 : 1;
	char *out = malloc(n + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)clean; out && *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\') {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		} else {
			*o++ = (char)*p;
		}
	}
	if (out)
		*o = '\0';
	bl_free(clean);
	return out;
}

char *scrub_pii(const char *s)
{
	char *out = NULL;
	return s && bl_pii_scrub(s, &out) == BL_OK ? out : NULL;
}

void request_actor(req *r)
{
	if (r->ctx)
		bl_ctx_set_actor(r->ctx, r->authed && r->sess.username[0] ? r->sess.username : NULL);
}

void reply_retry_after(req *r, int retry_after_s)
{
	char ra[24];
	snprintf(ra, sizeof ra, "%d", retry_after_s > 0 ? retry_after_s : 1);
	json_t *e = json_pack("{s:{s:s,s:s,s:n}}", "error", "code", "too_many_requests", "message", bl_error_last(),
			      "field");
	char *body = e ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	struct MHD_Response *resp =
		body ? MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE) : NULL;
	if (resp) {
		MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
		MHD_add_response_header(resp, "Retry-After", ra);
	} else {
		free(body);
	}
	queue(r, 429, resp);
}

bool parse_int64(const char *s, int64_t *out)
{
	if (!s || !*s || strlen(s) > 18)
		return false;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	*out = strtoll(s, NULL, 10);
	return true;
}

void reply_lib_array_page(req *r, int rc, char *json, const char *key)
{
	if (rc) {
		bl_free(json);
		reply_lib(r, rc, NULL);
		return;
	}
	json_t *all = lib_json(r, json);
	if (all)
		reply_array_page(r, all, key);
}
