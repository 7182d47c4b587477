/*
 * The generic JSON webhook SMS gateway (docs/senders.md, "Webhook gateway"):
 *
 *   POST {url}
 *   Content-Type: application/json
 *   Idempotency-Key: bl-<message id>
 *   Authorization: Bearer <secret>                       (BILLING_SMS_<n>_AUTH=bearer)
 *   X-Timestamp: <unix ms>
 *   X-Signature-SHA256: hex(HMAC-SHA256(secret, "<timestamp>.<body>"))   (auth=hmac)
 *   {"idempotencyKey":"bl-<id>","messageId":<id>,"attempt":<n>,"type":"SMS|LMS",
 *    "contentType":"COMM|AD","from":"…","to":"…",["subject":"…",]"content":"…"}
 *   → 2xx {"requestId":"…"} (or {"id":"…"})
 *
 * The same retry mapping as SENS (bl__gw_map_failure).
 */
#include <sodium.h>
#include <jansson.h>
#include "sms_private.h"

int bl__webhook_send(const bl__gw_conf *g, CURL **h, long cto, long to, const bl__sms_msg *m, bl__gw_out *out)
{
	memset(out, 0, sizeof *out);
	char key[48], ts[24];
	snprintf(key, sizeof key, "bl-%lld", (long long)m->message_id);
	snprintf(ts, sizeof ts, "%lld", (long long)m->now_ms);
	json_t *b = json_pack("{s:s, s:I, s:i, s:s, s:s, s:s, s:s, s:s}", "idempotencyKey", key, "messageId",
			      (json_int_t)m->message_id, "attempt", m->attempt, "type", m->lms ? "LMS" : "SMS",
			      "contentType", m->ad ? "AD" : "COMM", "from", m->from, "to", m->to, "content",
			      m->text ? m->text : "");
	if (b && m->lms && m->subject && *m->subject)
		json_object_set_new(b, "subject", json_string(m->subject));
	char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (!body)
		return bl__fail(BL_ENOMEM, "out of memory");
	char line[300];
	struct curl_slist *hd = NULL, *t;
	int ok = 1;
#define ADD(s) (ok = ok && (t = curl_slist_append(hd, (s))) && (hd = t))
	ADD("Content-Type: application/json");
	ADD("Expect:");
	snprintf(line, sizeof line, "Idempotency-Key: %s", key);
	ADD(line);
	snprintf(line, sizeof line, "X-Timestamp: %s", ts);
	ADD(line);
	if (g->bearer) {
		snprintf(line, sizeof line, "Authorization: Bearer %.250s", g->secret);
		ADD(line);
	} else {
		unsigned char mac[crypto_auth_hmacsha256_BYTES];
		crypto_auth_hmacsha256_state st;
		crypto_auth_hmacsha256_init(&st, (const unsigned char *)g->secret, strlen(g->secret));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
		crypto_auth_hmacsha256_final(&st, mac);
		char hex[2 * sizeof mac + 1];
		sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
		snprintf(line, sizeof line, "X-Signature-SHA256: %s", hex);
		ADD(line);
	}
#undef ADD
	int rc = BL_OK;
	bl__http_res r;
	memset(&r, 0, sizeof r);
	if (!ok)
		rc = bl__fail(BL_ENOMEM, "out of memory");
	else
		rc = bl__http_do(h, "POST", g->url, hd, body, strlen(body), cto, to, &r);
	if (rc == BL_OK) {
		char who[64];
		snprintf(who, sizeof who, "webhook %s", g->name);
		if (r.curl == CURLE_OK && r.status >= 200 && r.status < 300) {
			json_t *j = json_loadb(r.body.s ? r.body.s : "", r.body.len, 0, NULL);
			const char *rid = json_string_value(json_object_get(j, "requestId"));
			if (!rid)
				rid = json_string_value(json_object_get(j, "id"));
			out->http = r.status;
			if (rid && *rid && strlen(rid) <= BL_SMS_REQID_MAX) {
				snprintf(out->request_id, sizeof out->request_id, "%s", rid);
				out->result = BL_GWR_ACCEPTED;
			} else {
				snprintf(out->error, sizeof out->error, "%s: HTTP %ld without a request id (garbage answer)",
					 who, r.status);
				out->result = BL_GWR_UNSURE;
			}
			json_decref(j);
		} else {
			bl__gw_map_failure(&r, who, out);
		}
	}
	bl__http_res_free(&r);
	curl_slist_free_all(hd);
	free(body);
	return rc;
}
