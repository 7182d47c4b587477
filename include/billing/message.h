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

/** Deprecated (kept for the ABI): part of bl_stats_get(ctx, 60, json) —
 *  {"by_status_channel": messages.by_status_channel, "per_minute":
 *  sends_per_minute}.  New code calls bl_stats_get. */
BL_EXTERN(int) bl_message_stats(bl_ctx *ctx, char **json);

/* ---- typed reads ----
 *
 * A message as a C object.  bl_message_lookup() reads one with its attempts
 * and the provider's ledger row (bl_delivery); bl_message_find() a page of
 * them (without those).  Every accessor is named after the key of the JSON
 * (bl_message_get) that holds the same value, and returns the same value:
 * the destination only masked (bl_delivery_destination_masked), times as
 * the JSON's text, 0 or NULL for a NULL object or a NULL value (an id of
 * 0 is "none").  Strings are owned by the object.
 */
typedef struct bl_message bl_message;
/** One row of a message's attempt_log (owned by its message). */
typedef struct bl_message_attempt bl_message_attempt;
/** The provider's ledger row of a message, "delivery" (owned by its message). */
typedef struct bl_delivery bl_delivery;
/** The messages of a search (owned by the array). */
typedef struct bl_message_array bl_message_array;

/**
 * One message with its attempts and delivery (*out, bl_message_free).
 * BL_ENOTFOUND when absent; *out is NULL on any error.
 */
BL_EXTERN(int) bl_message_lookup(bl_ctx *ctx, int64_t message_id, bl_message **out);
/** The messages bl_message_search lists (*out, bl_message_array_free). */
BL_EXTERN(int) bl_message_find(bl_ctx *ctx, const bl_message_filter *f, bl_message_array **out);
/**
 * The JSON of bl_message_get (*json, bl_free); for an item of
 * bl_message_find, the JSON of one bl_message_search item.
 */
BL_EXTERN(int) bl_message_to_json(const bl_message *m, char **json);
/** Free a message, its attempts and delivery (NULL: nothing). */
BL_EXTERN(void) bl_message_free(bl_message *m);

BL_EXTERN(int64_t) bl_message_id(const bl_message *m);
BL_EXTERN(int64_t) bl_message_user_id(const bl_message *m);
/** 0: not a statement's message. */
BL_EXTERN(int64_t) bl_message_statement_id(const bl_message *m);
/** 0: not from a reservation. */
BL_EXTERN(int64_t) bl_message_reservation_id(const bl_message *m);
BL_EXTERN(const char *) bl_message_template_code(const bl_message *m);
BL_EXTERN(int) bl_message_template_version(const bl_message *m);
/** "EMAIL" or "SMS". */
BL_EXTERN(const char *) bl_message_channel(const bl_message *m);
/** "kind": "EMAIL", "SMS" or "LMS" once rendered, NULL before (bl_message_kind is the enum of template.h). */
BL_EXTERN(const char *) bl_message_kind_name(const bl_message *m);
/** Rendered size (0 before rendering). */
BL_EXTERN(int) bl_message_bytes(const bl_message *m);
/** "BILLING" or "NOTICE". */
BL_EXTERN(const char *) bl_message_purpose(const bl_message *m);
/** WAITING … UNDELIVERED (see bl_message_filter.status). */
BL_EXTERN(const char *) bl_message_status(const bl_message *m);
BL_EXTERN(int) bl_message_attempts(const bl_message *m);
BL_EXTERN(const char *) bl_message_last_error(const bl_message *m);
/** The e-mail this SMS replaces (0: none). */
BL_EXTERN(int64_t) bl_message_fallback_of(const bl_message *m);
/** "YYYY-MM-DD HH:MM:SS". */
BL_EXTERN(const char *) bl_message_requested_at(const bl_message *m);
BL_EXTERN(const char *) bl_message_processed_at(const bl_message *m);
BL_EXTERN(const char *) bl_message_next_attempt_at(const bl_message *m);
BL_EXTERN(const char *) bl_message_user_name(const bl_message *m);
/** Attempts read with the message: those of bl_message_lookup, 0 for bl_message_find items. */
BL_EXTERN(size_t) bl_message_attempt_log_count(const bl_message *m);
/** Attempt `i` (0-based, in attempt_no order), NULL when out of range. */
BL_EXTERN(const bl_message_attempt *) bl_message_attempt_log_at(const bl_message *m, size_t i);
/** The ledger row of a sent message (bl_message_lookup), NULL when none. */
BL_EXTERN(const bl_delivery *) bl_message_delivery(const bl_message *m);

BL_EXTERN(int) bl_message_attempt_attempt_no(const bl_message_attempt *a);
BL_EXTERN(const char *) bl_message_attempt_channel(const bl_message_attempt *a);
/** "SUCCESS" or "FAILED". */
BL_EXTERN(const char *) bl_message_attempt_status(const bl_message_attempt *a);
BL_EXTERN(const char *) bl_message_attempt_error(const bl_message_attempt *a);
BL_EXTERN(const char *) bl_message_attempt_worker(const bl_message_attempt *a);
BL_EXTERN(const char *) bl_message_attempt_provider(const bl_message_attempt *a);
BL_EXTERN(const char *) bl_message_attempt_request_id(const bl_message_attempt *a);
BL_EXTERN(const char *) bl_message_attempt_result(const bl_message_attempt *a);
BL_EXTERN(const char *) bl_message_attempt_result_code(const bl_message_attempt *a);
/** "YYYY-MM-DD HH:MM:SS.ffffff". */
BL_EXTERN(const char *) bl_message_attempt_started_at(const bl_message_attempt *a);
BL_EXTERN(const char *) bl_message_attempt_finished_at(const bl_message_attempt *a);

/** "EMAIL", "SMS" or "LMS". */
BL_EXTERN(const char *) bl_delivery_kind(const bl_delivery *d);
/** The destination as stored in the ledger: masked, never in clear. */
BL_EXTERN(const char *) bl_delivery_destination_masked(const bl_delivery *d);
BL_EXTERN(int) bl_delivery_bytes(const bl_delivery *d);
BL_EXTERN(int) bl_delivery_attempt_no(const bl_delivery *d);
BL_EXTERN(int) bl_delivery_duplicate_requests(const bl_delivery *d);
BL_EXTERN(const char *) bl_delivery_provider(const bl_delivery *d);
BL_EXTERN(const char *) bl_delivery_request_id(const bl_delivery *d);
BL_EXTERN(const char *) bl_delivery_result(const bl_delivery *d);
BL_EXTERN(const char *) bl_delivery_result_code(const bl_delivery *d);
/** "YYYY-MM-DD HH:MM:SS". */
BL_EXTERN(const char *) bl_delivery_accepted_at(const bl_delivery *d);

BL_EXTERN(size_t) bl_message_array_count(const bl_message_array *a);
/** Item `i` (owned by the array), NULL when out of range. */
BL_EXTERN(const bl_message *) bl_message_array_at(const bl_message_array *a, size_t i);
/** The JSON array of bl_message_search (*json, bl_free). */
BL_EXTERN(int) bl_message_array_to_json(const bl_message_array *a, char **json);
BL_EXTERN(void) bl_message_array_free(bl_message_array *a);

BL_END_DECLS

#endif
