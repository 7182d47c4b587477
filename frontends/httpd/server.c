/*
 * The server: libmicrohttpd with one thread per connection (at most
 * BILLING_HTTP_MAX_CONNECTIONS), and a pool of --threads library contexts
 * (each with its database connection): a request borrows one when it first
 * needs it and gives it back when it completes, so at most --threads
 * handlers run at once and a slow one holds only its own connection: the
 * others take the next free context, in no particular order.  A request that
 * finds no free context waits at most BILLING_HTTP_QUEUE_WAIT_MS, behind at
 * most BILLING_HTTP_QUEUE_MAX others; past either it is answered 503 with
 * Retry-After.  For each request: route from the
 * table, session and role, CSRF, body limits and type are decided from the
 * headers; the body is read (or drained when refused, so the client gets
 * the error instead of a reset); then the handler runs.  Each request ends
 * with one access-log line and its metrics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "httpd.h"
#include "ui.h"

#define DRAIN_MAX (256u << 10)   /* refused bodies up to this are read and dropped; larger: closed */
#define STOP_WAIT_MS 10000       /* a graceful stop waits this long for requests in flight */

static struct MHD_Daemon *daemon_;
static server_opts opts;

static void early(req *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void early(req *r, int status, const char *code, const char *fmt, ...)
{
	if (r->early_status)
		return;
	r->early_status = status;
	snprintf(r->early_code, sizeof r->early_code, "%s", code ? code : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->early_msg, sizeof r->early_msg, fmt, ap);
	va_end(ap);
	free(r->body);
	r->body = NULL;
	r->body_len = r->body_cap = 0;
}

static void send_early(req *r)
{
	reply_error(r, r->early_status, r->early_code[0] ? r->early_code : NULL, NULL, "%s", r->early_msg);
}

static bool is_read(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD");
}

static bool is_json_type(const char *ct)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	size_t n = strlen("application/json");
	return !strncasecmp(ct, "application/json", n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Origin, when a browser sends one, must be this server (scheme://Host). */
static bool origin_ok(req *r)
{
	const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
	if (!origin)
		return true;
	const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
	if (!host)
		return false;
	const char *rest = !strncmp(origin, "http://", 7) ? origin + 7
			   : !strncmp(origin, "https://", 8) ? origin + 8 : NULL;
	return rest && !strcmp(rest, host);
}

/* Route, session, role, CSRF and body checks from the headers alone. */
static void prepare(req *r)
{
	if (ui_prepare(r)) /* the admin pages under /admin (ui_*.c) */
		return;
	bool known = false;
	r->route = route_match(r->method, r->url, r->params, &r->nparams, &known, r->allow,
			       sizeof r->allow, &r->route_index);
	if (!r->route) {
		if (known) {
			early(r, 405, "method_not_allowed", "%s is not allowed here; allowed: %s", r->method,
			      r->allow);
		} else {
			early(r, 404, "not_found", "no such resource");
		}
		return;
	}
	if (!(r->route->flags & R_PUBLIC)) {
		int rc = session_resolve(r);
		if (rc == BL_EAUTH) {
			early(r, 401, "unauthenticated", "log in first: POST /api/session");
			return;
		}
		if (rc) {
			if (server_saturated())
				r->retry_after = 1;
			early(r, 503, "unavailable",
			      server_saturated() ? "the server is busy; try again" : "sessions cannot be checked now; try again");
			return;
		}
		if ((int)r->sess.role > (int)r->route->min_role) {
			early(r, 403, "forbidden", "your role %s may not do this (needs %s)",
			      bl_admin_role_name(r->sess.role), bl_admin_role_name(r->route->min_role));
			return;
		}
		if (!is_read(r->method) && !(r->route->flags & R_NOCSRF)) {
			const char *tok = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
			if (!origin_ok(r)) {
				early(r, 403, "csrf_failed", "cross-origin request refused");
				return;
			}
			if (bl_session_csrf_check(&r->sess, tok) != BL_OK) {
				early(r, 403, "csrf_failed", "%s", bl_error_last());
				return;
			}
		}
	}
	if (!is_read(r->method)) {
		const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
		const char *te = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Transfer-Encoding");
		unsigned long long len = cl ? strtoull(cl, NULL, 10) : 0;
		if (r->route->flags & R_FORM) { /* a small form: its type is the handler's business */
			if (len > FORM_MAX_BODY)
				early(r, 413, "payload_too_large", "request body of %llu bytes exceeds %d", len,
				      FORM_MAX_BODY);
			return;
		}
		if (len > opts.max_body) {
			early(r, 413, "payload_too_large", "request body of %llu bytes exceeds %zu", len,
			      opts.max_body);
			return;
		}
		const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
		if ((len > 0 || te) && !is_json_type(ct)) {
			early(r, 415, "unsupported_media_type", "send the body as application/json");
			return;
		}
	}
}

static void dispatch(req *r)
{
	if (ui_dispatch(r))
		return;
	if (r->body_len && !is_read(r->method) && !(r->route->flags & R_FORM)) { /* a body on GET is ignored */
		json_error_t e;
		r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
		if (!r->json) {
			reply_error(r, 400, "invalid_json", NULL, "body is not valid JSON: %s at line %d, column %d",
				    e.text, e.line, e.column);
			return;
		}
		if (!json_is_object(r->json)) {
			reply_error(r, 400, "invalid_json", NULL, "body must be a JSON object");
			return;
		}
	}
	if (r->route->flags & R_NOCTX) { /* from memory: no context, never waits for one */
		bl_error_clear();
		r->route->fn(r);
		if (!r->answered)
			reply_error(r, 500, NULL, NULL, "internal error: no answer");
		return;
	}
	if (!r->ctx)
		r->ctx = server_ctx();
	if (!r->ctx && server_saturated()) {
		r->retry_after = 1;
		reply_error(r, 503, "unavailable", NULL, "the server is busy; try again");
		return;
	}
	if (!r->ctx) {
		reply_error(r, 500, NULL, NULL, "internal error: no library context");
		return;
	}
	bl_error_clear();
	request_actor(r);
	r->route->fn(r);
	if (!r->answered)
		reply_error(r, 500, NULL, NULL, "internal error: no answer");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)version;
	req *r = *con_cls;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		state_in_flight_add(1);
		r->conn = c;
		r->method = method;
		r->url = url;
		r->t0_us = now_us();
		r->route_index = NROUTES;
		peers_client(c, r->client, sizeof r->client);
		prepare(r);
		/* a refused body (401, 403, 413, …) is read and dropped only when
		 * small; a larger one is not read at all: answer now (MHD closes) */
		if (r->early_status) {
			const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
			const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
			if ((cl && strtoull(cl, NULL, 10) > DRAIN_MAX) || te)
				send_early(r);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		r->body_seen += n;
		if (r->answered || r->early_status || r->discard_body)
			return r->body_seen > DRAIN_MAX ? MHD_NO : MHD_YES; /* drained, within bounds */
		size_t limit = r->route && (r->route->flags & R_FORM) ? FORM_MAX_BODY : opts.max_body;
		if (r->body_len + n > limit) {
			early(r, 413, "payload_too_large", "request body exceeds %zu bytes", limit);
			return MHD_YES;
		}
		if (r->body_len + n + 1 > r->body_cap) {
			size_t cap = r->body_cap ? r->body_cap : 4096;
			while (cap < r->body_len + n + 1)
				cap *= 2;
			char *nb = realloc(r->body, cap);
			if (!nb)
				return MHD_NO;
			r->body = nb;
			r->body_cap = cap;
		}
		memcpy(r->body + r->body_len, upload, n);
		r->body_len += n;
		r->body[r->body_len] = '\0';
		return MHD_YES;
	}
	if (r->answered)
		return MHD_YES;
	peers_busy(c, true); /* the request is whole: no deadline cuts its handler */
	if (r->early_status)
		send_early(r);
	else
		dispatch(r);
	return MHD_YES;
}

/* "?a=&b=": the query's keys without their values (which may be personal data). */
static enum MHD_Result query_keys(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	(void)value;
	char *buf = cls;
	size_t l = strlen(buf);
	if (l < 200)
		snprintf(buf + l, 256 - l, "%s%s=", l ? "&" : "?", key);
	return MHD_YES;
}

static void access_log(req *r, int64_t us)
{
	char keys[256] = "";
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_keys, keys);
	char *path = log_clean(r->url);
	char *qk = log_clean(keys);
	char *who = log_clean(r->authed ? r->sess.username : "");
	char *method = log_clean(r->method);
	/* the time is formatted once a second per thread (localtime_r takes a lock) */
	static __thread time_t ts_at;
	static __thread char ts[32];
	time_t now = (time_t)wall_now_s();
	if (now != ts_at) {
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
		ts_at = now;
	}
	char line[1024];
	int n = snprintf(line, sizeof line, "%s %s %s %s%s %d %.1fms%s%s\n", ts, r->client[0] ? r->client : "-",
			 method ? method : "?", path ? path : "?", qk ? qk : "", r->status ? r->status : 500,
			 (double)us / 1000.0, r->authed ? " " : "", who ? who : "");
	if (n > (int)sizeof line - 1) {
		n = (int)sizeof line - 1;
		line[n - 1] = '\n';
	}
	ssize_t w = write(STDERR_FILENO, line, (size_t)n); /* one write: lines never interleave */
	(void)w;
	free(path);
	free(qk);
	free(who);
	free(method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	peers_busy(c, false);
	req *r = *con_cls;
	if (!r)
		return;
	*con_cls = NULL;
	if (!r->answered)
		r->status = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? 200 : 499;
	int64_t us = now_us() - r->t0_us;
	metrics_count(r->route_index, r->status, us);
	if (opts.access_log)
		access_log(r, us);
	for (int i = 0; i < r->nparams; i++)
		free(r->params[i]);
	json_decref(r->json);
	free(r->body);
	memset(r->sid, 0, sizeof r->sid);
	free(r);
	state_ctx_release();
	state_in_flight_add(-1);
}

int server_start(const server_opts *o, const char *bind, int port, int *bound_port)
{
	opts = *o;
	if (state_init(o->cfg, o->threads, o->queue_max, o->queue_wait_ms))
		return -1;
	char err[200];
	if (peers_init(bl_config_get(o->cfg, "BILLING_HTTP_TRUSTED_PROXIES"), err, sizeof err)) {
		fprintf(stderr, "%s: %s\n", HTTPD_NAME, err);
		return -1;
	}
	if (peers_start(o->request_timeout_s * 1000)) {
		fprintf(stderr, "%s: cannot start the connection watchdog\n", HTTPD_NAME);
		return -1;
	}
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, bind, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, bind, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	} else {
		fprintf(stderr, "%s: --bind '%s' is not an IPv4 or IPv6 address\n", HTTPD_NAME, bind);
		return -1;
	}
	daemon_ = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL,
				   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				   MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				   MHD_OPTION_NOTIFY_CONNECTION, peers_notify, NULL,
				   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->idle_timeout_s,
				   MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections,
				   MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)o->max_per_ip,
				   MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
				   MHD_OPTION_END);
	if (!daemon_) {
		fprintf(stderr, "%s: cannot listen on %s:%d: %s\n", HTTPD_NAME, bind, port,
			errno ? strerror(errno) : "libmicrohttpd refused to start");
		return -1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	*bound_port = di ? di->port : port;
	return 0;
}

void server_stop(void)
{
	if (!daemon_)
		return;
	MHD_socket fd = MHD_quiesce_daemon(daemon_);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	for (int waited = 0; server_in_flight() > 0 && waited < STOP_WAIT_MS; waited += 10)
		usleep(10000);
	MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	peers_stop();
	/* every connection's thread is gone: the pool is whole; free it */
	state_thread_done();
}
