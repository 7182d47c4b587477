/*
 * libbilling — admin web sessions and CSRF tokens.
 *
 * A session is 32 random bytes given to the browser as 64 hex digits (a
 * cookie); the database keeps only their SHA-256 (admin_sessions), so the
 * table alone lets nobody in.  Each session has its own random CSRF token
 * that every state-changing request must send back.  Sessions live in
 * MariaDB, so several billing-httpd processes share them; a session ends
 * BILLING_SESSION_TTL_S seconds after its last use, on logout, or when its
 * admin user is disabled.
 *
 * Logins are rate-limited in Redis per (username, client address) and per
 * client address (BILLING_LOGIN_MAX_FAILS failures per BILLING_LOGIN_WINDOW_S)
 * and recorded in the audit log (login, login.failed, login.refused).
 */
#ifndef BILLING_SESSION_H
#define BILLING_SESSION_H

#include "common.h"
#include "context.h"
#include "admin.h"

BL_BEGIN_DECLS

/** Hex digits of a session id or CSRF token (32 random bytes). */
#define BL_SESSION_TOKEN_LEN 64

typedef struct {
	int64_t admin_id;
	char username[65];
	bl_role role;
	char csrf_token[BL_SESSION_TOKEN_LEN + 1];
	int64_t expires_at; /**< unix seconds */
} bl_session;

typedef struct {
	unsigned version;
	const char *username;
	const char *password;
	const char *client; /**< client address, for rate limiting and audit (NULL: "") */
} bl_login_opts;

#define BL_LOGIN_OPTS_VERSION 1
#define BL_LOGIN_OPTS_INIT { BL_LOGIN_OPTS_VERSION, NULL, NULL, NULL }
BL_EXTERN(int) bl_login_opts_init(bl_login_opts *opts, unsigned version);

/**
 * Check a login and open a session: sid_out gets the session id (to hand to
 * the client, never to log), *out the session.  BL_EAUTH on a wrong username
 * or password (one message for both); BL_EAUTH with *retry_after_s > 0 when
 * this client made too many failed attempts (nothing is checked then);
 * BL_EREDIS when the rate limiter cannot be reached (fails closed).
 */
BL_EXTERN(int) bl_session_login(bl_ctx *ctx, const bl_login_opts *opts,
				char sid_out[BL_SESSION_TOKEN_LEN + 1], bl_session *out,
				int *retry_after_s);

/** Open a session for an already authenticated admin user. */
BL_EXTERN(int) bl_session_create(bl_ctx *ctx, int64_t admin_id, const char *client,
				 char sid_out[BL_SESSION_TOKEN_LEN + 1], bl_session *out);

/**
 * Look a session id up: BL_OK and *out when it is valid (its expiry slides
 * forward, written at most once a minute); BL_EAUTH when it is malformed,
 * unknown, expired, or its admin is disabled.
 */
BL_EXTERN(int) bl_session_check(bl_ctx *ctx, const char *sid, bl_session *out);

/** End a session (logout).  Unknown ids are not an error. */
BL_EXTERN(int) bl_session_end(bl_ctx *ctx, const char *sid);

/** Delete expired sessions; *purged (may be NULL) gets how many. */
BL_EXTERN(int) bl_session_purge(bl_ctx *ctx, int64_t *purged);

/** BL_OK when `token` is the session's CSRF token (constant time), else BL_EAUTH. */
BL_EXTERN(int) bl_session_csrf_check(const bl_session *s, const char *token);

BL_END_DECLS

#endif
