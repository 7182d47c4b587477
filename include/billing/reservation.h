/*
 * libbilling — reservations (예약 발송): a template, a target and a time.
 *
 * The target is a subscriber group (USER_ALL: every subscriber) or the
 * statements of a month.  A reservation is WAITING until it is due; then
 * exactly one process claims it (a conditional UPDATE to PROCESSING, under
 * a per-reservation lock) and expands it into messages in chunks, each
 * chunk one transaction with the expansion checkpoint, so a crash resumes
 * where it stopped and never creates a message twice.  It ends SENT.  Only a
 * WAITING reservation can be CANCELED.
 *
 * Expansion is driven by bl_reservation_tick(), which any process may call
 * at any time; billing-worker calls it about once a second (its scheduler,
 * which also starts the monthly batch run).  See docs/reservations.md.
 */
#ifndef BILLING_RESERVATION_H
#define BILLING_RESERVATION_H

#include "common.h"
#include "context.h"

BL_BEGIN_DECLS

typedef struct {
	unsigned version;
	/** A NOTICE template for a group; for a month: NULL, DEFAULT_BILLING_EMAIL or
	 *  DEFAULT_BILLING_SMS (each subscriber then gets the bill on the channel
	 *  bl_message_enqueue_statements picks). */
	const char *template_code;
	const char *group_code;   /**< target: a group ("USER_ALL": every subscriber) ... */
	const char *month;        /**< ... or the statements of "YYYY-MM"; exactly one of the two */
	const char *scheduled_at; /**< "YYYY-MM-DD HH:MM[:SS]" Asia/Seoul; NULL: scheduled_unix */
	int64_t scheduled_unix;   /**< unix seconds when scheduled_at is NULL (0: now, by the context's clock) */
	const char *params_json;  /**< extra template variables for every message (group only), or NULL */
	const char *created_by;   /**< who asked (NULL: "system"), at most 64 bytes */
} bl_reservation_opts;

#define BL_RESERVATION_OPTS_VERSION 1
#define BL_RESERVATION_OPTS_INIT { BL_RESERVATION_OPTS_VERSION, NULL, NULL, NULL, NULL, 0, NULL, NULL }
BL_EXTERN(int) bl_reservation_opts_init(bl_reservation_opts *opts, unsigned version);

/**
 * Create a WAITING reservation.  The template is pinned to its latest
 * enabled version, and a group template is test-rendered with params_json,
 * so a missing variable is refused now rather than at send time.  A time
 * more than a minute in the past is refused (omit it to send now).
 */
BL_EXTERN(int) bl_reservation_create(bl_ctx *ctx, const bl_reservation_opts *opts, int64_t *id);

/** Cancel a WAITING reservation; BL_ECONFLICT naming its status otherwise. */
BL_EXTERN(int) bl_reservation_cancel(bl_ctx *ctx, int64_t id);

/** One reservation as JSON, with its messages counted by status. */
BL_EXTERN(int) bl_reservation_get(bl_ctx *ctx, int64_t id, char **json);

/**
 * Reservations with ids after `after_id`, oldest first, optionally of one
 * status (WAITING, PROCESSING, SENT, CANCELED; NULL: any), as a JSON array.
 * limit 1-1000.
 */
BL_EXTERN(int) bl_reservation_list(bl_ctx *ctx, const char *status, int64_t after_id, int limit,
				   char **json);

/**
 * Expand every reservation due at `now` (unix seconds; 0: the context's clock, bl_ctx_now)
 * that no other process is expanding, including ones a crashed process left
 * PROCESSING.  Safe to call from any number of processes at once.
 * *expanded (may be NULL) gets the messages this call created.
 */
BL_EXTERN(int) bl_reservation_tick(bl_ctx *ctx, int64_t now, int64_t *expanded);

/**
 * The billing reservation of a COMPLETED, non-dry batch run: the statements
 * of its month with DEFAULT_BILLING_EMAIL, due BILLING_RESERVATION_DELAY_S
 * after now.  At most one per run however often it is called (*id gets the
 * existing one).  bl_batch_run/resume call it when a run completes; call it
 * yourself only to recreate one that failed.  `month` may be NULL (the run's).
 */
BL_EXTERN(int) bl_reservation_after_batch(bl_ctx *ctx, int64_t run_id, const char *month, int64_t *id);

BL_END_DECLS

#endif
