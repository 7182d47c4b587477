/*
 * Delivery results of SMS gateways: POST /hooks/sms/{provider}, without a
 * session (docs/http.md, docs/senders.md).  The library checks the signature
 * and applies the result; this file maps the outcome onto HTTP:
 *   200 {"outcome": APPLIED|RETRY|IGNORED|UNKNOWN}   (a replay is IGNORED)
 *   409 LATER: the accept is not recorded yet, send it again
 *   401 bad or missing signature (nothing changed), 404 unknown gateway,
 *   400 not a result.
 * And the gateways' circuit breakers for /metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"

static const char *OUTCOME[] = { "APPLIED", "RETRY", "IGNORED", "UNKNOWN", "LATER" };

void h_sms_hook(req *r)
{
	const char *ts = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Timestamp");
	const char *sig = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Signature-SHA256");
	bl_sms_result_outcome oc = BL_SMS_RESULT_UNKNOWN;
	int rc = bl_sms_hook_handle(r->ctx, r->params[0], r->body ? r->body : "", r->body_len, ts, sig, &oc);
	if (rc == BL_EAUTH) {
		reply_error(r, 401, "bad_signature", NULL, "the webhook signature is missing or wrong");
		return;
	}
	if (rc == BL_EINVAL) {
		reply_error(r, 400, "invalid_result", NULL, "%s", bl_error_last());
		return;
	}
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	reply_json(r, oc == BL_SMS_RESULT_LATER ? 409 : 200,
		   json_pack("{s:s}", "outcome", OUTCOME[oc <= BL_SMS_RESULT_LATER ? oc : BL_SMS_RESULT_UNKNOWN]));
}

/* billing_sms_gateway_* gauges from the workers' last published breaker state. */
char *sms_metrics_text(bl_ctx *ctx)
{
	char *s = NULL, *text = NULL;
	size_t tlen = 0;
	if (!ctx || bl_sms_gateway_states(ctx, &s) != BL_OK)
		return NULL;
	FILE *b = open_memstream(&text, &tlen);
	if (!b) {
		bl_free(s);
		return NULL;
	}
	json_t *rows = json_loads(s, 0, NULL);
	bl_free(s);
	static const char *STATES[] = { "CLOSED", "OPEN", "HALF_OPEN" };
	fprintf(b, "# HELP billing_sms_gateway_breaker_state circuit breaker of an SMS gateway as a worker "
	       "last published it (1 for its current state)\n# TYPE billing_sms_gateway_breaker_state gauge\n");
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		const char *st = json_string_value(json_object_get(row, "state"));
		for (size_t k = 0; k < 3; k++)
			fprintf(b, "billing_sms_gateway_breaker_state{provider=\"%s\",worker=\"%s\",state=\"%s\"} %d\n",
			    json_string_value(json_object_get(row, "provider")),
			    json_string_value(json_object_get(row, "worker")), STATES[k], st && !strcmp(st, STATES[k]));
	}
	fprintf(b, "# HELP billing_sms_gateway_requests_total SMS gateway answers by result, per worker\n"
	       "# TYPE billing_sms_gateway_requests_total counter\n");
	json_array_foreach(rows, i, row) {
		static const char *R[] = { "accepted", "transient", "permanent" };
		for (size_t k = 0; k < 3; k++)
			fprintf(b, "billing_sms_gateway_requests_total{provider=\"%s\",worker=\"%s\",result=\"%s\"} %lld\n",
			    json_string_value(json_object_get(row, "provider")),
			    json_string_value(json_object_get(row, "worker")), R[k],
			    (long long)json_integer_value(json_object_get(row, R[k])));
	}
	fprintf(b, "# HELP billing_sms_gateway_breaker_opened_total times a gateway's breaker opened, per worker\n"
	       "# TYPE billing_sms_gateway_breaker_opened_total counter\n");
	json_array_foreach(rows, i, row)
		fprintf(b, "billing_sms_gateway_breaker_opened_total{provider=\"%s\",worker=\"%s\"} %lld\n",
		    json_string_value(json_object_get(row, "provider")), json_string_value(json_object_get(row, "worker")),
		    (long long)json_integer_value(json_object_get(row, "opened")));
	json_decref(rows);
	fclose(b);
	return text;
}
