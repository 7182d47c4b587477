/*
 * The SMS gateway provider as sender.c calls it (docs/senders.md, "SMS
 * gateways"): SMS or LMS by the EUC-KR byte count, the message handed to
 * the gateways in priority order (sms_gateway.c), the answer mapped onto the
 * retry policy, an accept recorded in the ledger with the gateway's name and
 * request id (the ledger keeps the message id as the idempotency key: a
 * retry of a message a gateway accepted before is not sent again).
 */
#include "sender_private.h"

int bl__sender_sms_gateway(bl__sender *s, bl__sms *sms, MYSQL *db, const bl__send_req *req, const char *to,
			   const char *masked, bl__send_res *res)
{
	bl_message_kind kind = req->kind;
	if (kind != BL_KIND_SMS && kind != BL_KIND_LMS)
		kind = req->bytes <= BL_SMS_SENS_SMS_BYTES ? BL_KIND_SMS : BL_KIND_LMS;
	if (kind == BL_KIND_SMS && req->bytes > BL_SMS_SENS_SMS_BYTES)
		kind = BL_KIND_LMS; /* the gateway would cut it: send the whole text as LMS */
	if (req->bytes > BL_LMS_MAX_BYTES) {
		res->status = BL_SEND_PERMANENT;
		snprintf(res->error, sizeof res->error, "sms: message too long: %zu bytes (LMS max %d)", req->bytes,
			 BL_LMS_MAX_BYTES);
		return BL_OK;
	}
	char digits[16];
	size_t k = 0;
	for (const char *p = to; *p && k + 1 < sizeof digits; p++)
		if (*p >= '0' && *p <= '9')
			digits[k++] = *p;
	digits[k] = '\0';
	bl__sms_msg m = { .message_id = req->message_id, .attempt = req->attempt, .to = digits,
			  .from = bl__sms_from(sms), .subject = req->subject, .text = req->text,
			  .lms = kind == BL_KIND_LMS, .ad = false,
			  .now_ms = req->at_ms ? req->at_ms : bl__ctx_now_ms(NULL) };
	bl__gw_out o;
	char provider[BL_SMS_NAME_MAX + 1];
	int rc = bl__sms_send(sms, &m, &o, provider);
	if (rc)
		return rc;
	snprintf(res->provider, sizeof res->provider, "%s", provider);
	res->retry_after_ms = o.retry_after_ms;
	switch (o.result) {
	case BL_GWR_ACCEPTED:
		snprintf(res->request_id, sizeof res->request_id, "%s", o.request_id);
		/* recorded at once, not at the batch's flush: the gateway's delivery
		 * result may come back (webhook) before the batch is done */
		return bl__sender_accept_kind(s, db, req, kind == BL_KIND_SMS ? "SMS" : "LMS", masked,
					      (int64_t)req->bytes, true, res);
	case BL_GWR_PERMANENT:
		res->status = BL_SEND_PERMANENT;
		break;
	default:
		res->status = BL_SEND_TRANSIENT;
		break;
	}
	snprintf(res->error, sizeof res->error, "%s", o.error);
	return BL_OK;
}
