/*
 * Who the client is, and how long a connection may take.
 *
 * Client address: the socket peer, unless the peer is one of the reverse
 * proxies named in BILLING_HTTP_TRUSTED_PROXIES; then X-Forwarded-For is
 * read from the right, skipping trusted proxies, and the first other address
 * is the client.  X-Forwarded-For from anybody else is ignored (a client
 * could write anything there).
 *
 * Deadlines: libmicrohttpd's idle timeout restarts with every byte, so a
 * client sending one byte a second would hold a connection forever.  A
 * watchdog thread closes (shutdown(2)) a connection whose request has not
 * arrived whole within BILLING_HTTP_REQUEST_TIMEOUT_S of its start (the
 * connection's opening, or the end of its previous request).  A request
 * whose handler is running is never cut.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "httpd.h"

#define MAX_PROXIES 32

typedef struct {
	int family;
	unsigned char a[16];
} addr_t;

static addr_t proxies[MAX_PROXIES];
static int nproxies;

static bool parse_addr(const char *s, size_t n, addr_t *out)
{
	char buf[64];
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, buf, out->a) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->a) == 1)
		out->family = AF_INET6;
	else
		return false;
	return true;
}

static bool trusted(const addr_t *a)
{
	for (int i = 0; i < nproxies; i++)
		if (proxies[i].family == a->family &&
		    !memcmp(proxies[i].a, a->a, a->family == AF_INET ? 4 : 16))
			return true;
	return false;
}

int peers_init(const char *list, char *err, size_t errlen)
{
	nproxies = 0;
	for (const char *p = list ? list : ""; *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		addr_t a;
		if (!parse_addr(p, n, &a)) {
			snprintf(err, errlen, "BILLING_HTTP_TRUSTED_PROXIES: '%.*s' is not an IPv4 or IPv6 address",
				 (int)(n > 64 ? 64 : n), p);
			return -1;
		}
		if (nproxies == MAX_PROXIES) {
			snprintf(err, errlen, "BILLING_HTTP_TRUSTED_PROXIES: at most %d addresses", MAX_PROXIES);
			return -1;
		}
		proxies[nproxies++] = a;
		p += n + (e != NULL);
	}
	return 0;
}

static void addr_text(const addr_t *a, char *out, size_t n)
{
	if (!inet_ntop(a->family, a->a, out, (socklen_t)n))
		snprintf(out, n, "?");
}

void peers_client(struct MHD_Connection *c, char *out, size_t n)
{
	out[0] = '\0';
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	addr_t peer = { 0 };
	if (sa->sa_family == AF_INET) {
		peer.family = AF_INET;
		memcpy(peer.a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		peer.family = AF_INET6;
		memcpy(peer.a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else {
		return;
	}
	addr_text(&peer, out, n);
	if (!nproxies || !trusted(&peer))
		return;
	const char *xff = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For");
	if (!xff)
		return;
	/* from the right: each trusted proxy appended the address it saw */
	size_t end = strlen(xff);
	for (int hops = 0; end > 0 && hops < MAX_PROXIES + 1; hops++) {
		size_t start = end;
		while (start > 0 && xff[start - 1] != ',')
			start--;
		addr_t a;
		if (!parse_addr(xff + start, end - start, &a))
			return; /* malformed: the proxy's own address stands */
		addr_text(&a, out, n);
		if (!trusted(&a))
			return;
		end = start ? start - 1 : 0;
	}
}

/* ---- connection deadlines ---- */

typedef struct guard {
	struct guard *prev, *next;
	int fd;
	int64_t since_ms; /* start of the request being received */
	bool busy;        /* a handler is running: never cut */
	bool cut;
} guard;

static pthread_mutex_t gmu = PTHREAD_MUTEX_INITIALIZER;
static guard *guards;
static int64_t timeout_ms;
static pthread_t watchdog;
static bool watching, stopping;
static pthread_cond_t gcond;

static int64_t mono_ms(void)
{
	return now_us() / 1000;
}

void peers_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		  enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		guard *g = calloc(1, sizeof *g);
		if (!g)
			return;
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		g->fd = ci ? ci->connect_fd : -1;
		g->since_ms = mono_ms();
		pthread_mutex_lock(&gmu);
		g->next = guards;
		if (guards)
			guards->prev = g;
		guards = g;
		pthread_mutex_unlock(&gmu);
		*socket_context = g;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		guard *g = *socket_context;
		if (!g)
			return;
		pthread_mutex_lock(&gmu); /* the socket is closed after this returns */
		if (g->prev)
			g->prev->next = g->next;
		else
			guards = g->next;
		if (g->next)
			g->next->prev = g->prev;
		pthread_mutex_unlock(&gmu);
		free(g);
		*socket_context = NULL;
	}
}

static guard *guard_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void peers_busy(struct MHD_Connection *c, bool busy)
{
	guard *g = guard_of(c);
	if (!g)
		return;
	pthread_mutex_lock(&gmu);
	g->busy = busy;
	if (!busy)
		g->since_ms = mono_ms(); /* the next request's time starts now */
	pthread_mutex_unlock(&gmu);
}

static void *watch(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&gmu);
	while (!stopping) {
		struct timespec ts = deadline_after_ms(500);
		pthread_cond_timedwait(&gcond, &gmu, &ts);
		int64_t now = mono_ms();
		for (guard *g = guards; g; g = g->next)
			if (!g->busy && !g->cut && g->fd >= 0 && now - g->since_ms > timeout_ms) {
				shutdown(g->fd, SHUT_RDWR); /* MHD sees the end and closes it */
				g->cut = true;
			}
	}
	pthread_mutex_unlock(&gmu);
	return NULL;
}

int peers_start(int64_t request_timeout_ms)
{
	timeout_ms = request_timeout_ms;
	stopping = false;
	cond_init_monotonic(&gcond);
	if (pthread_create(&watchdog, NULL, watch, NULL))
		return -1;
	watching = true;
	return 0;
}

void peers_stop(void)
{
	if (!watching)
		return;
	pthread_mutex_lock(&gmu);
	stopping = true;
	pthread_cond_signal(&gcond);
	pthread_mutex_unlock(&gmu);
	pthread_join(watchdog, NULL);
	pthread_cond_destroy(&gcond);
	watching = false;
}
