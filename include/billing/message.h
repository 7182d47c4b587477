/*
 * libbilling — messages: the transactional outbox, its relay to Redis
 * Streams, the worker that renders and sends, retries, dead letters.
 *
 * A message is a row first (status WAITING), created in the transaction of
 * its cause.  The relay publishes due rows to the stream (pipelined XADD);
 * workers in the consumer group claim each message with a conditional
 * update, render it, send it through the mock provider, record the attempt
 * and acknowledge.  Transient failures retry with backoff (retry.h);
 * permanent ones and exhausted SMS end DEAD; a billing e-mail that exhausts
 * its attempts becomes EXCEEDED and falls back to one SMS.
 */
#ifndef BILLING_MESSAGE_H
#define BILLING_MESSAGE_H

#include "common.h"
#include "context.h"

BL_BEGIN_DECLS

typedef struct {
	int64_t statements; /**< statements of the month looked at */
	int64_t created;    /**< messages created by this call */
	int64_t existing;   /**< already had their billing message */
	int64_t no_consent; /**< subscriber consents to no channel: no message */
} bl_enqueue_stats;

/**
 * One billing message per statement of `month`, on the subscriber's
 * preferred channel when consented (else the other consented one), with
 * DEFAULT_BILLING_EMAIL / DEFAULT_BILLING_SMS.  Idempotent: unique per
 * (statement, purpose).  `reservation_id` (0: none) is recorded on them.
 */
BL_EXTERN(int) bl_message_enqueue_statements(bl_ctx *ctx, const char *month, int64_t reservation_id,
					     bl_enqueue_stats *stats);

/**
 * A single message to a subscriber with a template (manual or NOTICE send).
 * `params_json` (may be NULL): extra template variables.  `idempotency_key`
 * (may be NULL: a fresh one) makes a repeated call return the same message.
 */
BL_EXTERN(int) bl_message_send(bl_ctx *ctx, int64_t user_id, const char *template_code,
			       const char *params_json, const char *idempotency_key,
			       int64_t *message_id);

/** Publish due outbox rows to the stream; *published (may be NULL) gets how many. */
BL_EXTERN(int) bl_relay_publish(bl_ctx *ctx, int64_t *published);

typedef void (*bl_worker_log_cb)(const char *line, void *payload);

typedef struct {
	unsigned version;
	int threads;            /**< sender threads (0: BILLING_WORKER_THREADS) */
	const char *consumer;   /**< unique consumer name (NULL: host:pid) */
	bool relay;             /**< also run the outbox relay */
	bool maintenance;       /**< also run retry scheduling and pending recovery */
	const volatile int *stop; /**< set (e.g. from SIGTERM) to finish and return */
	int64_t idle_exit_ms;   /**< > 0: return after this long with nothing to do (tests) */
	bl_worker_log_cb log_cb;
	void *log_payload;
} bl_worker_opts;

#define BL_WORKER_OPTS_VERSION 1
#define BL_WORKER_OPTS_INIT { BL_WORKER_OPTS_VERSION, 0, NULL, true, true, NULL, 0, NULL, NULL }
BL_EXTERN(int) bl_worker_opts_init(bl_worker_opts *opts, unsigned version);

/** Run a worker until *opts->stop is set (or idle_exit_ms passes). */
BL_EXTERN(int) bl_worker_run(bl_ctx *ctx, const bl_worker_opts *opts);

/**
 * Maintenance once: republish due FAILED messages, take over stream entries
 * pending longer than BILLING_PENDING_IDLE_MS, fail stale PROCESSING rows.
 */
BL_EXTERN(int) bl_message_maintain(bl_ctx *ctx, const char *consumer, int64_t *touched);

typedef struct {
	unsigned version;
	int64_t run_id;            /**< statements of this batch run (0: any) */
	int64_t user_id;           /**< 0: any */
	int64_t reservation_id;    /**< 0: any */
	const char *status;        /**< WAITING … DEAD, or NULL */
	const char *channel;       /**< EMAIL / SMS, or NULL */
	const char *template_code; /**< or NULL */
	const char *from, *to;     /**< requested_at range "YYYY-MM-DD[ HH:MM:SS]", or NULL */
	int limit;                 /**< page size (1-1000) */
	int64_t after_id;          /**< cursor: ids greater than this */
	/* version 2 */
	bool newest_first;         /**< newest first, from before_id down (after_id still applies) */
	int64_t before_id;         /**< cursor of newest_first: ids below this (0: from the newest) */
} bl_message_filter;

#define BL_MESSAGE_FILTER_VERSION 2
#define BL_MESSAGE_FILTER_INIT { BL_MESSAGE_FILTER_VERSION, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 100, 0, false, 0 }
/** Version 1 (without newest_first/before_id) is still accepted. */
BL_EXTERN(int) bl_message_filter_init(bl_message_filter *f, unsigned version);

/**
 * Messages matching a filter, oldest first after the cursor (or newest first
 * below before_id), each with its subscriber's name (user_name), as JSON.
 */
BL_EXTERN(int) bl_message_search(bl_ctx *ctx, const bl_message_filter *f, char **json);
/** How many messages match a filter (limit and cursors ignored). */
BL_EXTERN(int) bl_message_count(bl_ctx *ctx, const bl_message_filter *f, int64_t *count);
/** One message with its attempts (destination masked). */
BL_EXTERN(int) bl_message_get(bl_ctx *ctx, int64_t message_id, char **json);

/** Retry one FAILED/EXCEEDED/DEAD message: a new attempt, never a new message. */
BL_EXTERN(int) bl_message_retry(bl_ctx *ctx, int64_t message_id);
/** Retry every FAILED/DEAD message matching the filter; *count gets how many. */
BL_EXTERN(int) bl_message_retry_filter(bl_ctx *ctx, const bl_message_filter *f, int64_t *count);

/** Counts by status and channel, and sends per minute of the last hour, as JSON. */
BL_EXTERN(int) bl_message_stats(bl_ctx *ctx, char **json);

BL_END_DECLS

#endif
