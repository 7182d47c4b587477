/*
 * Private interface of reservations (reservation.c, reservation_expand.c),
 * the worker-side scheduler (scheduler.c) and quiet hours (quiet.c).
 */
#ifndef BL_RESERVATION_PRIVATE_H
#define BL_RESERVATION_PRIVATE_H

#include "db.h"


/* ---- quiet hours (quiet.c) ----
 * One daily window (BILLING_QUIET_START..BILLING_QUIET_END, Asia/Seoul; it
 * may wrap midnight; equal times: no window) and the channel/purpose pairs
 * it holds (BILLING_QUIET_<CHANNEL>_<PURPOSE> = 1).  A held message that
 * would be due inside the window is due at its end instead. */
typedef struct {
	int start_s, end_s; /* seconds after midnight */
	bool hold[2][2];    /* [channel: 0 EMAIL, 1 SMS][purpose: 0 BILLING, 1 NOTICE] */
} bl__quiet;

BL_PRIVATE void bl__quiet_load(const bl_config *cfg, bl__quiet *q);
/* Whether the pair is held at all (the window may still be empty). */
BL_PRIVATE bool bl__quiet_holds(const bl__quiet *q, const char *channel, const char *purpose);
/* When a message of channel/purpose that is due at now_ms may go out:
 * now_ms, or the end of the window now_ms falls into. */
BL_PRIVATE int64_t bl__quiet_release_ms(const bl__quiet *q, const char *channel, const char *purpose,
					int64_t now_ms);
/* Relay guard: of the n rows about to be published, defer the held ones due
 * inside the window (by the connection's NOW(), which decides what is due;
 * the library set it to its clock) to the window's end; held[i] tells
 * which.  In the caller's transaction; no query when nothing is held, one
 * small one outside the window. */
BL_PRIVATE int bl__quiet_hold_rows(const bl_config *cfg, MYSQL *db, const int64_t *ids, size_t n,
				   bool *held, size_t *nheld);

/* ---- expansion (reservation_expand.c) ---- */
/* Expand every due, claimable reservation (claim: a user lock + a
 * conditional UPDATE WAITING→PROCESSING, or the takeover of an abandoned
 * PROCESSING one), until none is left or *cancel is set (NULL: never).
 * *expanded gets the messages created. */
BL_PRIVATE int bl__resv_run(bl_ctx *ctx, int64_t now_ms, const volatile int *cancel, int64_t *expanded);
/* Whether a reservation is due (or abandoned mid-expansion) and unclaimed. */
BL_PRIVATE int bl__resv_claimable(MYSQL *db, int64_t now_ms, bool *any);

/* ---- holds (hold.c) ----
 * Add to reservation JSON `r` (from bl_reservation_get, with "messages" by
 * status) "expansion", "hold" (a disabled template it needs, or null),
 * "quiet_until" (KST, or null) and "delivery" {state NOT_STARTED|HELD|
 * SENDING|DONE|UNKNOWN, pending, sent, failed, held, next_at}. */
BL_PRIVATE int bl__hold_reservation(bl_ctx *ctx, MYSQL *db, json_t *r);
/* Count functions of the count cache (counts_private.h), reservation.c: a
 * month's statements; a reservation's messages by status, with how many of
 * its pending ones wait for a later attempt ("later") and the first's time. */
BL_PRIVATE int bl__count_month_statements(MYSQL *db, const char *month, json_t **value);
BL_PRIVATE int bl__count_reservation(MYSQL *db, const char *arg, json_t **value);

/* ---- the worker-side scheduler (scheduler.c) ----
 * Called about once a second from the worker's maintenance loop with its
 * connection (whose NOW() is already the clock's time) and its clock: starts (in background threads of this process, each with its
 * own connection) the expansion of due reservations and, when bl_batch_due
 * says so, the monthly batch run.  Never blocks for long.  Returns the
 * failure of a background job that ended since the last call; *expanded
 * gets the messages expanded meanwhile.  Not the public bl_reservation_tick,
 * which expands due reservations synchronously on the caller's thread. */
BL_PRIVATE int bl__scheduler_tick(const bl_config *cfg, const bl__clock *clock, MYSQL *db,
				  int64_t *expanded);
/* Ask the background jobs of this process to stop and wait for them (an
 * expansion stops after its current chunk; a batch run ends STOPPED). */
BL_PRIVATE void bl__scheduler_stop(void);

#endif
