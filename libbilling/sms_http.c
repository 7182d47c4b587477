/*
 * One HTTP request of an SMS gateway over a kept-alive libcurl easy handle
 * (one per gateway per worker thread): status, Retry-After, the body (at
 * most 64 KiB kept), and whether the request left before a failure (a
 * timeout after sending is ambiguous: the gateway may have accepted it).
 */
#include <pthread.h>
#include <strings.h>
#include "sms_private.h"

#define BODY_MAX (64 * 1024)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }
void bl__http_global_init(void) { pthread_once(&once, init); }

static size_t write_cb(char *p, size_t size, size_t n, void *u)
{
	bl__http_res *r = u;
	size_t len = size * n;
	if (r->body.len + len <= BODY_MAX)
		bl__sb_append(&r->body, p, len);
	return len;
}

/* Retry-After: delta-seconds only (an HTTP date would read the wall clock). */
static size_t header_cb(char *p, size_t size, size_t n, void *u)
{
	bl__http_res *r = u;
	size_t len = size * n;
	static const char k[] = "retry-after:";
	if (len > sizeof k && !strncasecmp(p, k, sizeof k - 1)) {
		long long s = 0;
		const char *q = p + sizeof k - 1;
		while (q < p + len && (*q == ' ' || *q == '\t'))
			q++;
		int digits = 0;
		while (q < p + len && *q >= '0' && *q <= '9' && digits < 7) {
			s = s * 10 + (*q++ - '0');
			digits++;
		}
		if (digits)
			r->retry_after_ms = s * 1000;
	}
	return len;
}

int bl__http_do(CURL **h, const char *method, const char *url, struct curl_slist *hdrs, const char *body,
		size_t len, long connect_ms, long timeout_ms, bl__http_res *res)
{
	bl__http_global_init();
	memset(res, 0, sizeof *res);
	if (!*h && !(*h = curl_easy_init()))
		return bl__fail(BL_ENOMEM, "curl_easy_init failed");
	CURL *c = *h;
	curl_easy_reset(c); /* keeps the connection cache */
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, res);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, res);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, res->err);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	res->curl = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	res->status = code;
	curl_off_t up = 0;
	curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &up);
	/* connected and (part of) the request written: the gateway may act on it */
	res->sent = res->curl != CURLE_COULDNT_CONNECT && res->curl != CURLE_COULDNT_RESOLVE_HOST &&
		    res->curl != CURLE_SSL_CONNECT_ERROR && (up > 0 || code != 0 || len == 0);
	if (res->curl != CURLE_OK && !res->err[0])
		snprintf(res->err, sizeof res->err, "%s", curl_easy_strerror(res->curl));
	return BL_OK;
}

void bl__http_res_free(bl__http_res *res)
{
	bl__sb_free(&res->body);
}
