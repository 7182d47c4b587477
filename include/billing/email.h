/*
 * libbilling — real e-mail: the suppression list, one-click unsubscribe and
 * bounce (DSN) ingestion (docs/email.md).
 */
#ifndef BILLING_EMAIL_H
#define BILLING_EMAIL_H

#include "common.h"
#include "context.h"
#include "user.h"

BL_BEGIN_DECLS

/**
 * Add `email` to the suppression list (never e-mailed again).  `reason`:
 * HARD_BOUNCE, COMPLAINT, UNSUBSCRIBE or MANUAL; `note` (may be NULL) is
 * kept scrubbed of personal data.  Only the address's blind index and its
 * masked form are stored.  Audited as `actor`.  BL_ECONFLICT when listed.
 */
BL_EXTERN(int) bl_suppression_add(bl_ctx *ctx, const char *email, const char *reason, const char *note,
				  const char *actor);
/** Remove an entry by id (audited).  BL_ENOTFOUND when there is none. */
BL_EXTERN(int) bl_suppression_remove(bl_ctx *ctx, int64_t id, const char *actor);
/** Whether `email` is listed. */
BL_EXTERN(int) bl_suppression_check(bl_ctx *ctx, const char *email, bool *listed);
/**
 * Entries after id `after_id`, at most `limit` (1-1000), as a JSON array
 * (bl_free) of {"id","address","reason","detail","message_id","created_by",
 * "created_at"}; "address" is masked.
 */
BL_EXTERN(int) bl_suppression_list(bl_ctx *ctx, int64_t after_id, int limit, char **json);

/**
 * The token of the unsubscribe link of (user, channel): signed with a key
 * derived from BILLING_DATA_KEY, holding the user id and the channel only
 * (bl_free).
 */
BL_EXTERN(int) bl_unsubscribe_token(bl_ctx *ctx, int64_t user_id, bl_channel channel, char **token);
/**
 * Apply an unsubscribe token: the user's consent for the channel is turned
 * off (and, for e-mail, the address suppressed, reason UNSUBSCRIBE), audited
 * with `client` (e.g. the remote address).  A malformed or tampered token
 * changes nothing (BL_EINVAL / BL_ECRYPTO); an unknown user: BL_ENOTFOUND.
 * *user_id and *channel (may be NULL) tell whose.
 */
BL_EXTERN(int) bl_unsubscribe_apply(bl_ctx *ctx, const char *token, const char *client, int64_t *user_id,
				    bl_channel *channel);

/**
 * Check an unsubscribe token without changing anything (the confirmation
 * page): BL_OK and whose (*user_id, *channel; may be NULL) when it verifies,
 * BL_EINVAL (malformed) or BL_ECRYPTO (tampered) otherwise.
 */
BL_EXTERN(int) bl_unsubscribe_verify(bl_ctx *ctx, const char *token, int64_t *user_id, bl_channel *channel);
/**
 * Count one request of the public unsubscribe page from `client` (its
 * address): at most BILLING_UNSUBSCRIBE_LIMIT per BILLING_UNSUBSCRIBE_WINDOW_S
 * per client, shared by every process (Redis).  BL_ELIMIT past it, with
 * *retry_after_s; BL_EREDIS when Redis is unreachable (fails closed).
 */
BL_EXTERN(int) bl_unsubscribe_rate_take(bl_ctx *ctx, const char *client, int64_t *retry_after_s);

/** What bl_bounces_ingest did. */
typedef struct {
	int64_t files;    /**< DSN files read */
	int64_t hard;     /**< 5.x.x: message BOUNCED, address suppressed */
	int64_t soft;     /**< 4.x.x / delayed: noted */
	int64_t ignored;  /**< for a message already final or not accepted */
	int64_t rejected; /**< unparsable, not a DSN, forged or unknown VERP: kept aside with a reason */
} bl_bounce_stats;

/**
 * Read the DSNs (RFC 3464 multipart/report; report-type=delivery-status)
 * in the Maildir `maildir` (new/), map each through its VERP address and
 * record it in email_bounces; each file is then moved to cur/ (":2,S").
 * One call for billing-worker and `billing-cli bounces ingest DIR`.
 */
BL_EXTERN(int) bl_bounces_ingest(bl_ctx *ctx, const char *maildir, bl_bounce_stats *stats);

BL_END_DECLS

#endif
