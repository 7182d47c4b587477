/*
 * The SMTP e-mail provider: libcurl's SMTP client (docs/email.md).
 *
 * BILLING_SMTP_RELAYS lists relays in priority order.  Each relay has its
 * own curl easy handle, so its connection stays open between messages and
 * a worker thread (one bl__sender each) sends many messages over one
 * connection.  A relay that fails BILLING_SMTP_FAILOVER_AFTER times in a row
 * (connect, TLS, timeout, 4xx) is skipped for BILLING_SMTP_RELAY_RETRY_MS;
 * sends go to the next one and come back when that time is over.  When
 * every relay is down, all are tried in order.
 *
 * Outcomes: 250 after DATA → OK; a 5xx reply (MAIL, RCPT or DATA) →
 * permanent; a 4xx reply, a connection/TLS failure, a timeout or a reply
 * that is not SMTP → transient.  A relay that cannot be reached (nothing
 * was sent to it) is failed over within the same send.
 */
#include <pthread.h>
#include <curl/curl.h>
#include "email_private.h"

#define MAX_RELAYS 8

typedef struct {
	char *url; /* scheme://host:port/helo */
	CURL *curl;
	int fails;
	int64_t down_until_ms;
} relay;

struct bl__smtp {
	relay r[MAX_RELAYS];
	int n;
	int fail_after;
	int64_t retry_ms;
	long use_ssl;
	bool verify;
	long connect_ms, timeout_ms;
	char *user, *password, *ca_file;
	/* the transfer in progress */
	const char *data;
	size_t left;
	char last_reply[256];
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t read_cb(char *buf, size_t size, size_t nitems, void *p)
{
	bl__smtp *s = p;
	size_t n = size * nitems;
	if (n > s->left)
		n = s->left;
	memcpy(buf, s->data, n);
	s->data += n;
	s->left -= n;
	return n;
}

/* Keep the server's last reply line (multi-line replies: the final one);
 * once a 4xx/5xx came, keep that one (curl's QUIT after it answers 221). */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *p)
{
	(void)h;
	bl__smtp *s = p;
	if (type != CURLINFO_HEADER_IN || s->last_reply[0] == '4' || s->last_reply[0] == '5')
		return 0;
	size_t n = size;
	while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	if (n >= sizeof s->last_reply)
		n = sizeof s->last_reply - 1;
	for (size_t i = 0; i < n; i++) /* printable ASCII only */
		s->last_reply[i] = (data[i] >= ' ' && data[i] < 0x7f) ? data[i] : '?';
	s->last_reply[n] = '\0';
	return 0;
}

void bl__smtp_free(bl__smtp *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++) {
		if (s->r[i].curl)
			curl_easy_cleanup(s->r[i].curl);
		free(s->r[i].url);
	}
	free(s->user);
	if (s->password) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s->ca_file);
	free(s);
}

static int add_relay(bl__smtp *s, const char *b, size_t len, const char *helo)
{
	if (s->n == MAX_RELAYS)
		return bl__fail(BL_ECONFIG, "BILLING_SMTP_RELAYS: more than %d relays", MAX_RELAYS);
	if (!((len > 7 && !strncmp(b, "smtp://", 7)) || (len > 8 && !strncmp(b, "smtps://", 8))))
		return bl__fail(BL_ECONFIG, "BILLING_SMTP_RELAYS: '%.*s' is not an smtp:// or smtps:// URL",
				(int)(len > 80 ? 80 : len), b);
	for (size_t i = 0; i < len; i++)
		if (b[i] == '/' && i > 8)
			return bl__fail(BL_ECONFIG, "BILLING_SMTP_RELAYS: '%.*s': no path allowed "
						    "(the HELO name is BILLING_SMTP_HELO)", (int)(len > 80 ? 80 : len), b);
	bl_strbuf u = { 0 };
	bl__sb_append(&u, b, len);
	bl__sb_printf(&u, "/%s", helo);
	if (u.oom)
		return bl__fail(BL_ENOMEM, "out of memory");
	s->r[s->n++].url = bl__sb_steal(&u);
	return BL_OK;
}

int bl__smtp_new(bl__smtp **out, const bl_config *cfg)
{
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return bl__fail(BL_ERROR, "libcurl could not be initialised");
	bl__smtp *s = calloc(1, sizeof *s);
	if (!s)
		return bl__fail(BL_ENOMEM, "out of memory");
	const char *list = bl_config_get(cfg, "BILLING_SMTP_RELAYS");
	const char *helo = bl_config_get(cfg, "BILLING_SMTP_HELO");
	const char *tls = bl_config_get(cfg, "BILLING_SMTP_STARTTLS");
	int rc = BL_OK;
	for (const char *p = list ? list : ""; rc == BL_OK && *p;) {
		while (*p == ',' || *p == ' ')
			p++;
		size_t n = strcspn(p, ", ");
		if (n)
			rc = add_relay(s, p, n, helo && *helo ? helo : "localhost");
		p += n;
	}
	if (rc == BL_OK && s->n == 0)
		rc = bl__fail(BL_ECONFIG, "BILLING_EMAIL_PROVIDER=smtp needs BILLING_SMTP_RELAYS "
					  "(e.g. smtp://127.0.0.1:25)");
	if (rc == BL_OK) {
		if (!tls || !strcmp(tls, "required"))
			s->use_ssl = CURLUSESSL_ALL;
		else if (!strcmp(tls, "opportunistic"))
			s->use_ssl = CURLUSESSL_TRY;
		else if (!strcmp(tls, "off"))
			s->use_ssl = CURLUSESSL_NONE;
		else
			rc = bl__fail(BL_ECONFIG, "BILLING_SMTP_STARTTLS: '%.32s' is not required, "
						  "opportunistic or off", tls);
	}
	s->verify = bl__config_int(cfg, "BILLING_SMTP_TLS_VERIFY") != 0;
	s->connect_ms = (long)bl__config_int(cfg, "BILLING_SMTP_CONNECT_TIMEOUT_MS");
	s->timeout_ms = (long)bl__config_int(cfg, "BILLING_SMTP_TIMEOUT_MS");
	s->fail_after = (int)bl__config_int(cfg, "BILLING_SMTP_FAILOVER_AFTER");
	s->retry_ms = bl__config_int(cfg, "BILLING_SMTP_RELAY_RETRY_MS");
	const char *user = bl_config_get(cfg, "BILLING_SMTP_USER");
	const char *pw = bl_config_get(cfg, "BILLING_SMTP_PASSWORD");
	const char *ca = bl_config_get(cfg, "BILLING_SMTP_CA_FILE");
	if (user && *user)
		s->user = bl__strdup(user);
	if (pw && *pw)
		s->password = bl__strdup(pw);
	if (ca && *ca)
		s->ca_file = bl__strdup(ca);
	if (rc) {
		bl__smtp_free(s);
		return rc;
	}
	*out = s;
	return BL_OK;
}

static CURL *relay_handle(bl__smtp *s, relay *r)
{
	if (r->curl)
		return r->curl;
	CURL *h = curl_easy_init();
	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, r->url);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, s);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L); /* for the debug callback: the replies */
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, s);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->connect_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(h, CURLOPT_USE_SSL, s->use_ssl);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, s->verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, s->verify ? 2L : 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	if (s->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
	if (s->user) {
		curl_easy_setopt(h, CURLOPT_USERNAME, s->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, s->password ? s->password : "");
	}
	r->curl = h;
	return h;
}

/* Could not reach the relay at all: nothing was handed over. */
static bool unreachable(CURLcode c)
{
	return c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
	       c == CURLE_SSL_CONNECT_ERROR || c == CURLE_USE_SSL_FAILED ||
	       c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_LOGIN_DENIED;
}

static void relay_failed(bl__smtp *s, relay *r)
{
	if (++r->fails >= s->fail_after) {
		r->down_until_ms = bl__mono_ms() + s->retry_ms;
		r->fails = 0;
	}
}

/* "smtp relay 1: <reply or curl error>", personal data scrubbed. */
static void describe(bl__smtp *s, int idx, CURLcode c, long code, char *out, size_t cap)
{
	char raw[512];
	if (c == CURLE_WEIRD_SERVER_REPLY || (code && (code < 200 || code > 599)))
		snprintf(raw, sizeof raw, "smtp relay %d: the server's reply is not SMTP", idx + 1);
	else if (code >= 400 && s->last_reply[0])
		snprintf(raw, sizeof raw, "smtp relay %d: %s", idx + 1, s->last_reply);
	else if (c == CURLE_OPERATION_TIMEDOUT)
		snprintf(raw, sizeof raw, "smtp relay %d: timeout: %s", idx + 1, s->errbuf[0] ? s->errbuf : curl_easy_strerror(c));
	else
		snprintf(raw, sizeof raw, "smtp relay %d: %s", idx + 1, s->errbuf[0] ? s->errbuf : curl_easy_strerror(c));
	bl__pii_scrub_buf(raw, out, cap);
}

int bl__smtp_send(bl__smtp *s, const char *env_from, const char *rcpt, const char *data, size_t len,
		  bl__smtp_status *st, char *reply, size_t cap)
{
	if (!s || !env_from || !rcpt || !data || !st || !reply || !cap)
		return bl__fail(BL_EINVAL, "bl__smtp_send: NULL argument");
	int64_t now = bl__mono_ms();
	bool any_up = false;
	for (int i = 0; i < s->n; i++)
		any_up |= s->r[i].down_until_ms <= now;
	*st = BL_SMTP_TRANSIENT;
	snprintf(reply, cap, "smtp: no relay");
	for (int i = 0; i < s->n; i++) {
		relay *r = &s->r[i];
		if (any_up && r->down_until_ms > now)
			continue;
		CURL *h = relay_handle(s, r);
		if (!h)
			return bl__fail(BL_ENOMEM, "libcurl: cannot create a handle");
		struct curl_slist *to = curl_slist_append(NULL, rcpt);
		if (!to)
			return bl__fail(BL_ENOMEM, "out of memory");
		curl_easy_setopt(h, CURLOPT_MAIL_FROM, env_from);
		curl_easy_setopt(h, CURLOPT_MAIL_RCPT, to);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
		s->data = data;
		s->left = len;
		s->last_reply[0] = '\0';
		s->errbuf[0] = '\0';
		CURLcode c = curl_easy_perform(h);
		long code = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_setopt(h, CURLOPT_MAIL_RCPT, NULL);
		curl_slist_free_all(to);
		if (c == CURLE_OK) {
			r->fails = 0;
			*st = BL_SMTP_OK;
			bl__pii_scrub_buf(s->last_reply, reply, cap);
			return BL_OK;
		}
		describe(s, i, c, code, reply, cap);
		if (s->left == 0 && code < 400 && !unreachable(c)) {
			/* the whole message went out and no reply came back: the relay
			 * may have queued it (RFC 1047).  Retried all the same -- a
			 * statement is sent at least once -- with the same Message-ID,
			 * and the attempt says so. */
			char was[512];
			const char *rest = strstr(reply, ": ");
			snprintf(was, sizeof was, "%s", rest ? rest + 2 : reply);
			snprintf(reply, cap, "smtp relay %d: it may have been delivered (no reply after the message was "
					     "sent): %s", i + 1, was);
		}
		if (code >= 500 && code <= 599) {
			r->fails = 0; /* the relay works; the message is refused */
			*st = BL_SMTP_PERMANENT;
			return BL_OK;
		}
		relay_failed(s, r);
		*st = BL_SMTP_TRANSIENT;
		if (!(code < 400 && unreachable(c)))
			return BL_OK; /* it may have been handed over: no second relay now */
	}
	return BL_OK;
}
