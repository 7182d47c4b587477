/*
 * libbilling — holds: whatever keeps work back right now, with the reason
 * and the way out, so pages can show it on the thing held and on the
 * dashboard instead of leaving it to a worker log (issue 21).
 */
#ifndef BILLING_HOLD_H
#define BILLING_HOLD_H

#include "common.h"
#include "context.h"

BL_BEGIN_DECLS

/**
 * Everything holding work back now, as a JSON array of objects
 * {"kind", "subject", "reason", "way_out", "messages", "reservations", "until"}:
 *   - TEMPLATE_DISABLED: a disabled template that pending messages or
 *     WAITING/PROCESSING reservations use (subject: the code);
 *   - QUIET_HOURS: a channel/purpose inside its quiet window now, with the
 *     unsent messages it holds and the window's end ("until", KST);
 *   - BATCH_STOPPED: the newest run of a month is STOPPED or FAILED
 *     (subject: "run #N", the month's statements are incomplete);
 *   - PROVIDER_OPEN: an SMS gateway's circuit breaker is open (or probing),
 *     as workers published it in the last 10 minutes;
 *   - REDIS_DOWN: Redis does not answer; due messages are not published.
 * "reason" and "way_out" are English sentences for logs and the CLI; pages
 * build their own words from the other fields.  Counts not known are null.
 */
BL_EXTERN(int) bl_hold_list(bl_ctx *ctx, char **json);

BL_END_DECLS

#endif
