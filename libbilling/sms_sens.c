/*
 * NAVER Cloud SENS SMS API v2 (docs/senders.md, "SENS"):
 *
 *   POST {url}/sms/v2/services/{serviceId}/messages
 *   Content-Type: application/json; charset=utf-8
 *   x-ncp-apigw-timestamp: <unix ms>
 *   x-ncp-iam-access-key: <access key id>
 *   x-ncp-apigw-signature-v2: base64(HMAC-SHA256(secret,
 *                              "POST /sms/v2/services/{serviceId}/messages\n<timestamp>\n<access key>"))
 *   {"type":"SMS|LMS","contentType":"COMM|AD","countryCode":"82","from":"…",
 *    ["subject":"…" (LMS),] "content":"…","messages":[{"to":"…"}]}
 *   → 202 {"requestId":"…","requestTime":"…","statusCode":"202","statusName":"success"}
 *
 * Results: GET …/messages?requestId=R lists the request's messages (their
 * messageId), GET …/messages/{messageId} gives the result: status
 * READY|PROCESSING|COMPLETED; once COMPLETED, statusName success|fail and
 * statusCode (the carrier's code, "0" delivered).  The signature of a GET
 * covers the path with its query string.
 */
#include <sodium.h>
#include <jansson.h>
#include "sms_private.h"

void bl__sens_signature(const char *secret, const char *method, const char *url, const char *ts,
			const char *access_key, char out[64])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)method, strlen(method));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)" ", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)url, strlen(url));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)access_key, strlen(access_key));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2base64(out, 64, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
}

/* The signed headers of one request on `path` (with its query string). */
static struct curl_slist *sens_headers(const bl__gw_conf *g, const char *method, const char *path, int64_t now_ms,
				       bool json)
{
	char ts[24], sig[64], line[256];
	snprintf(ts, sizeof ts, "%lld", (long long)now_ms);
	bl__sens_signature(g->secret, method, path, ts, g->access_key, sig);
	struct curl_slist *h = NULL, *t;
#define ADD(s)                                         \
	do {                                           \
		if (!(t = curl_slist_append(h, (s)))) { \
			curl_slist_free_all(h);        \
			return NULL;                   \
		}                                      \
		h = t;                                 \
	} while (0)
	if (json)
		ADD("Content-Type: application/json; charset=utf-8");
	snprintf(line, sizeof line, "x-ncp-apigw-timestamp: %s", ts);
	ADD(line);
	snprintf(line, sizeof line, "x-ncp-iam-access-key: %.200s", g->access_key);
	ADD(line);
	snprintf(line, sizeof line, "x-ncp-apigw-signature-v2: %s", sig);
	ADD(line);
	ADD("Expect:"); /* no 100-continue round trip */
#undef ADD
	return h;
}

/* The longest prefix of `s` within `max` EUC-KR bytes (ASCII 1, else 2),
 * cut at a character boundary. */
static char *cut_euckr(const char *s, size_t max)
{
	size_t bytes = 0, i = 0;
	const unsigned char *u = (const unsigned char *)s;
	while (u[i]) {
		size_t n = u[i] < 0x80 ? 1 : u[i] >= 0xF0 ? 4 : u[i] >= 0xE0 ? 3 : 2;
		size_t cost = u[i] < 0x80 ? 1 : 2;
		if (bytes + cost > max)
			break;
		for (size_t k = 1; k < n; k++)
			if (!u[i + k])
				return strndup(s, i);
		bytes += cost;
		i += n;
	}
	return strndup(s, i);
}

/* "serviceId" is put into the path percent-encoded (it holds ':'). */
static int service_path(const bl__gw_conf *g, const char *tail, bl_strbuf *path)
{
	bl__sb_puts(path, "/sms/v2/services/");
	for (const unsigned char *p = (const unsigned char *)g->service_id; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-_.~:", *p))
			bl__sb_append(path, (const char *)p, 1);
		else
			bl__sb_printf(path, "%%%02X", *p);
	}
	return bl__sb_puts(path, tail);
}

static void set_out(bl__gw_out *o, bl__gw_result r, const char *fmt, ...) BL_PRINTF(3, 4);
static void set_out(bl__gw_out *o, bl__gw_result r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->error, sizeof o->error, fmt, ap);
	va_end(ap);
	o->result = r;
}

/* The gateway's own words (statusName / errorMessage / error.message), printable ASCII, short. */
static void gw_reason(json_t *j, char *out, size_t cap)
{
	const char *m = json_string_value(json_object_get(j, "errorMessage"));
	if (!m)
		m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	if (!m)
		m = json_string_value(json_object_get(j, "statusName"));
	size_t n = 0;
	for (; m && *m && n + 1 < cap && n < 80; m++)
		out[n++] = (*m >= ' ' && *m < 0x7f) ? *m : '?';
	out[n] = '\0';
}

/* Map an HTTP answer that is not an accept onto the retry policy (both adapters). */
void bl__gw_map_failure(const bl__http_res *r, const char *who, bl__gw_out *o)
{
	o->http = r->status;
	o->retry_after_ms = r->retry_after_ms;
	if (r->status == 0) {
		set_out(o, r->sent ? BL_GWR_UNSURE : BL_GWR_REFUSED, "%s: %s%s", who, r->err,
			r->sent ? " (after sending: maybe accepted)" : "");
		return;
	}
	char why[96] = "";
	json_t *j = r->body.len ? json_loadb(r->body.s, r->body.len, 0, NULL) : NULL;
	if (j)
		gw_reason(j, why, sizeof why);
	json_decref(j);
	if (r->status == 429 || r->status >= 500 || r->status == 401 || r->status == 403 || r->status == 404 ||
	    r->status == 408)
		set_out(o, BL_GWR_REFUSED, "%s: HTTP %ld%s%s", who, r->status, why[0] ? " " : "", why);
	else if (r->status >= 400)
		set_out(o, BL_GWR_PERMANENT, "%s: HTTP %ld%s%s", who, r->status, why[0] ? " " : "", why);
	else
		set_out(o, BL_GWR_UNSURE, "%s: HTTP %ld unexpected", who, r->status);
}

int bl__sens_send(const bl__gw_conf *g, CURL **h, long cto, long to, const bl__sms_msg *m, bl__gw_out *out)
{
	memset(out, 0, sizeof *out);
	json_t *body = json_object(), *msgs = json_array(), *one = json_object();
	_cleanup_free_ char *subject = m->lms ? cut_euckr(m->subject ? m->subject : "", BL_SMS_SENS_SUBJECT_BYTES) : NULL;
	if (!body || !msgs || !one || (m->lms && !subject)) {
		json_decref(body);
		json_decref(msgs);
		json_decref(one);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	json_object_set_new(body, "type", json_string(m->lms ? "LMS" : "SMS"));
	json_object_set_new(body, "contentType", json_string(m->ad ? "AD" : "COMM"));
	json_object_set_new(body, "countryCode", json_string("82"));
	json_object_set_new(body, "from", json_string(m->from));
	if (m->lms && subject[0])
		json_object_set_new(body, "subject", json_string(subject));
	json_object_set_new(body, "content", json_string(m->text ? m->text : ""));
	json_object_set_new(one, "to", json_string(m->to));
	json_array_append_new(msgs, one);
	json_object_set_new(body, "messages", msgs);
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	bl_strbuf path = { 0 }, url = { 0 };
	service_path(g, "/messages", &path);
	bl__sb_printf(&url, "%s%s", g->url, path.s ? path.s : "");
	struct curl_slist *hd = path.s ? sens_headers(g, "POST", path.s, m->now_ms, true) : NULL;
	int rc = BL_OK;
	bl__http_res r;
	memset(&r, 0, sizeof r);
	if (!text || !url.s || !hd)
		rc = bl__fail(BL_ENOMEM, "out of memory");
	else
		rc = bl__http_do(h, "POST", url.s, hd, text, strlen(text), cto, to, &r);
	if (rc == BL_OK) {
		if (r.curl == CURLE_OK && r.status >= 200 && r.status < 300) {
			json_t *j = json_loadb(r.body.s ? r.body.s : "", r.body.len, 0, NULL);
			const char *rid = json_string_value(json_object_get(j, "requestId"));
			const char *sn = json_string_value(json_object_get(j, "statusName"));
			out->http = r.status;
			if (rid && *rid && strlen(rid) <= BL_SMS_REQID_MAX && (!sn || strcmp(sn, "fail"))) {
				snprintf(out->request_id, sizeof out->request_id, "%s", rid);
				out->result = BL_GWR_ACCEPTED;
			} else if (rid && sn && !strcmp(sn, "fail")) {
				set_out(out, BL_GWR_PERMANENT, "sens %s: HTTP %ld statusName fail", g->name, r.status);
			} else {
				set_out(out, BL_GWR_UNSURE, "sens %s: HTTP %ld without a requestId (garbage answer)",
					g->name, r.status);
			}
			json_decref(j);
		} else {
			char who[64];
			snprintf(who, sizeof who, "sens %s", g->name);
			bl__gw_map_failure(&r, who, out);
		}
	}
	bl__http_res_free(&r);
	curl_slist_free_all(hd);
	bl__sb_free(&path);
	bl__sb_free(&url);
	free(text);
	return rc;
}

/* GET a signed SENS path; *j the parsed body of a 200 (NULL otherwise). */
static int sens_get(const bl__gw_conf *g, CURL **h, long cto, long to, int64_t now_ms, const char *path, long *status,
		    json_t **j, char *err, size_t errcap)
{
	*j = NULL;
	*status = 0;
	bl_strbuf url = { 0 };
	bl__sb_printf(&url, "%s%s", g->url, path);
	struct curl_slist *hd = sens_headers(g, "GET", path, now_ms, false);
	bl__http_res r;
	memset(&r, 0, sizeof r);
	int rc = url.s && hd ? bl__http_do(h, "GET", url.s, hd, NULL, 0, cto, to, &r) : bl__fail(BL_ENOMEM, "out of memory");
	if (rc == BL_OK) {
		*status = r.status;
		if (r.curl != CURLE_OK)
			snprintf(err, errcap, "sens %s: %s", g->name, r.err);
		else if (r.status == 200 && !(*j = json_loadb(r.body.s ? r.body.s : "", r.body.len, 0, NULL)))
			snprintf(err, errcap, "sens %s: result query: not JSON", g->name);
		else if (r.status != 200)
			snprintf(err, errcap, "sens %s: result query: HTTP %ld", g->name, r.status);
	}
	bl__http_res_free(&r);
	curl_slist_free_all(hd);
	bl__sb_free(&url);
	return rc;
}

static void query_escape(bl_strbuf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.~", *p))
			bl__sb_append(b, (const char *)p, 1);
		else
			bl__sb_printf(b, "%%%02X", *p);
	}
}

int bl__sens_query(const bl__gw_conf *g, CURL **h, long cto, long to, int64_t now_ms, const char *request_id,
		   bool *found, bool *done, bool *delivered, char *code, size_t cap, char *err, size_t errcap)
{
	*found = *done = *delivered = false;
	code[0] = err[0] = '\0';
	bl_strbuf path = { 0 };
	service_path(g, "/messages?requestId=", &path);
	query_escape(&path, request_id);
	long st = 0;
	json_t *j = NULL;
	int rc = path.s ? sens_get(g, h, cto, to, now_ms, path.s, &st, &j, err, errcap) : bl__fail(BL_ENOMEM, "out of memory");
	bl__sb_free(&path);
	if (rc || !j) {
		if (st == 404)
			err[0] = '\0'; /* unknown request id: not found */
		return rc;
	}
	json_t *msgs = json_object_get(j, "messages");
	const char *mid = json_string_value(json_object_get(json_array_get(msgs, 0), "messageId"));
	if (!mid || !*mid) {
		json_decref(j);
		return BL_OK; /* not (yet) known */
	}
	*found = true;
	service_path(g, "/messages/", &path);
	query_escape(&path, mid);
	json_decref(j);
	j = NULL;
	rc = path.s ? sens_get(g, h, cto, to, now_ms, path.s, &st, &j, err, errcap) : bl__fail(BL_ENOMEM, "out of memory");
	bl__sb_free(&path);
	if (rc || !j)
		return rc;
	json_t *m = json_array_get(json_object_get(j, "messages"), 0);
	const char *status = json_string_value(json_object_get(m, "status"));
	const char *name = json_string_value(json_object_get(m, "statusName"));
	const char *sc = json_string_value(json_object_get(m, "statusCode"));
	if (status && !strcmp(status, "COMPLETED") && name) {
		*done = true;
		*delivered = !strcmp(name, "success");
		snprintf(code, cap, "%.31s", sc ? sc : "");
	}
	json_decref(j);
	return BL_OK;
}
