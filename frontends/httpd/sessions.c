/*
 * Session glue: the cookie, a small per-process cache in front of
 * bl_session_check, login and logout.
 *
 * The cache keeps a checked session for CACHE_MS (2 s): at most one
 * database look-up per session per process every 2 s, which is what lets a
 * busy route serve tens of thousands of requests a second.  A logout here
 * removes the entry at once; a logout or an admin disabled through another
 * process takes effect here within CACHE_MS.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "httpd.h"

#define CACHE_BUCKETS 1024
#define CACHE_MAX 20000
#define CACHE_MS 2000

typedef struct centry {
	struct centry *next;
	char sid[BL_SESSION_TOKEN_LEN + 1];
	bl_session s;
	int64_t until_us;
} centry;

static centry *buckets[CACHE_BUCKETS];
static long cached;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned bucket_of(const char *sid)
{
	unsigned h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ (unsigned char)sid[i]) * 16777619u;
	return h % CACHE_BUCKETS;
}

static void clear_locked(void)
{
	for (int i = 0; i < CACHE_BUCKETS; i++) {
		while (buckets[i]) {
			centry *e = buckets[i];
			buckets[i] = e->next;
			free(e);
		}
	}
	cached = 0;
}

void session_cache_clear(void)
{
	pthread_mutex_lock(&mu);
	clear_locked();
	pthread_mutex_unlock(&mu);
}

long session_cache_size(void)
{
	pthread_mutex_lock(&mu);
	long n = cached;
	pthread_mutex_unlock(&mu);
	return n;
}

static void cache_remove(const char *sid)
{
	pthread_mutex_lock(&mu);
	for (centry **pp = &buckets[bucket_of(sid)]; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->sid, sid)) {
			centry *e = *pp;
			*pp = e->next;
			free(e);
			cached--;
			break;
		}
	pthread_mutex_unlock(&mu);
}

static void cache_put(const char *sid, const bl_session *s)
{
	pthread_mutex_lock(&mu);
	centry *e = NULL;
	unsigned b = bucket_of(sid);
	for (e = buckets[b]; e && strcmp(e->sid, sid); e = e->next)
		;
	if (!e) {
		if (cached >= CACHE_MAX)
			clear_locked(); /* crude, and never reached by real admin use */
		e = calloc(1, sizeof *e);
		if (e) {
			memcpy(e->sid, sid, sizeof e->sid);
			e->next = buckets[b];
			buckets[b] = e;
			cached++;
		}
	}
	if (e) {
		e->s = *s;
		e->until_us = now_us() + (int64_t)CACHE_MS * 1000;
	}
	pthread_mutex_unlock(&mu);
}

static bool cache_get(const char *sid, bl_session *out)
{
	bool hit = false;
	int64_t now = now_us();
	pthread_mutex_lock(&mu);
	for (centry *e = buckets[bucket_of(sid)]; e; e = e->next)
		if (!strcmp(e->sid, sid)) {
			hit = e->until_us > now && e->s.expires_at > wall_now_s();
			if (hit)
				*out = e->s;
			break;
		}
	pthread_mutex_unlock(&mu);
	return hit;
}

static bool sid_ok(const char *s)
{
	if (!s || strlen(s) != BL_SESSION_TOKEN_LEN)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

int session_resolve(req *r)
{
	const char *sid = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, SESSION_COOKIE);
	if (!sid_ok(sid))
		return BL_EAUTH;
	memcpy(r->sid, sid, sizeof r->sid);
	if (cache_get(sid, &r->sess)) {
		r->authed = true;
		return BL_OK;
	}
	if (!r->ctx)
		r->ctx = server_ctx();
	if (!r->ctx)
		return BL_ERROR;
	int rc = bl_session_check(r->ctx, sid, &r->sess);
	if (rc == BL_OK) {
		cache_put(sid, &r->sess);
		r->authed = true;
	} else if (rc == BL_EAUTH) {
		cache_remove(sid);
	}
	return rc;
}

static void set_cookie(req *r, struct MHD_Response *resp, const char *sid, int64_t max_age)
{
	const char *proto = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
	bool secure = proto && !strcmp(proto, "https");
	char c[256];
	snprintf(c, sizeof c, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s", SESSION_COOKIE, sid,
		 (long long)max_age, secure ? "; Secure" : "");
	MHD_add_response_header(resp, "Set-Cookie", c);
}

static json_t *session_json(const bl_session *s)
{
	return json_pack("{s:s,s:s,s:s,s:I}", "username", s->username, "role", bl_admin_role_name(s->role),
			 "csrf_token", s->csrf_token, "expires_at", (json_int_t)s->expires_at);
}

static void reply_with_cookie(req *r, int status, json_t *body, const char *sid, int64_t max_age)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!s) {
		reply_error(r, 500, NULL, NULL, "out of memory");
		return;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(s);
		reply_error(r, 500, NULL, NULL, "out of memory");
		return;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
	set_cookie(r, resp, sid, max_age);
	queue(r, status, resp);
}

void h_login(req *r)
{
	const char *user, *pw;
	if (!body_str(r, "username", true, 200, &user) || !body_str(r, "password", true, 4096, &pw))
		return;
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
		if (retry > 0) {
			reply_retry_after(r, retry);
			return;
		}
		reply_error(r, 401, "unauthenticated", NULL, "invalid username or password");
		return;
	}
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	r->sess = s;
	r->authed = true;
	cache_put(sid, &s);
	int64_t ttl = s.expires_at - wall_now_s();
	reply_with_cookie(r, 200, session_json(&s), sid, ttl > 0 ? ttl : 0);
	memset(sid, 0, sizeof sid);
}

void h_session_get(req *r)
{
	reply_json(r, 200, session_json(&r->sess));
}

void h_logout(req *r)
{
	int rc = bl_session_end(r->ctx, r->sid);
	cache_remove(r->sid);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	reply_with_cookie(r, 200, json_pack("{s:b}", "logged_out", 1), "", 0);
}
