/*
 * libbilling — real SMS: delivery results from the gateways (webhook and
 * polling) and the gateways' circuit breakers (docs/senders.md, "SMS
 * gateways").
 */
#ifndef BILLING_SMS_H
#define BILLING_SMS_H

#include "common.h"
#include "context.h"

BL_BEGIN_DECLS

/** What became of one delivery result. */
typedef enum {
	BL_SMS_RESULT_APPLIED = 0, /**< the message is now DELIVERED or UNDELIVERED */
	BL_SMS_RESULT_RETRY = 1,   /**< undelivered: the billing SMS is sent again (retry policy) */
	BL_SMS_RESULT_IGNORED = 2, /**< a replay, a superseded request or a message already final */
	BL_SMS_RESULT_UNKNOWN = 3, /**< no message was accepted under this request id */
	BL_SMS_RESULT_LATER = 4    /**< the accept is not recorded yet: send the result again later */
} bl_sms_result_outcome;

/**
 * A delivery-result webhook of gateway `provider` (billing-httpd
 * `/hooks/sms/<provider>`).  `body` is the raw JSON body
 * {"requestId","status":"COMPLETED","statusName":"success|fail","statusCode"};
 * `timestamp` and `signature` the X-Timestamp and X-Signature-SHA256 headers
 * (hex HMAC-SHA256 of "<timestamp>.<body>" keyed with
 * BILLING_SMS_<n>_HOOK_SECRET, compared in constant time).  BL_EAUTH when
 * the signature is missing or wrong (nothing changes); BL_ENOTFOUND when no
 * gateway has that name or it has no hook secret; BL_EINVAL when the body
 * is not a result.  *outcome tells what the result did.
 */
BL_EXTERN(int) bl_sms_hook_handle(bl_ctx *ctx, const char *provider, const char *body, size_t len,
				  const char *timestamp, const char *signature, bl_sms_result_outcome *outcome);

/**
 * One polling pass: ask the gateways that have a result query (SENS) for
 * the results of up to BILLING_SMS_POLL_BATCH accepted SMS and apply them.
 * *applied gets how many results changed a message.  billing-worker does
 * this every BILLING_SMS_POLL_MS.
 */
BL_EXTERN(int) bl_sms_results_poll(bl_ctx *ctx, int64_t *applied);

/**
 * The gateways' circuit breakers as the workers last published them, as a
 * JSON array (bl_free) of {"provider","worker","state":"CLOSED|OPEN|HALF_OPEN",
 * "consecutive","accepted","transient","permanent","opened","updated_at"}.
 */
BL_EXTERN(int) bl_sms_gateway_states(bl_ctx *ctx, char **json);

BL_END_DECLS

#endif
