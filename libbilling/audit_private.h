/*
 * The audit entries the library writes for its own changes (docs/audit.md):
 * under the context's actor (bl_ctx_set_actor; "system" without one), in
 * the same transaction as the change.
 */
#ifndef BL_AUDIT_PRIVATE_H
#define BL_AUDIT_PRIVATE_H

#include <jansson.h>
#include <mysql.h>
#include "internal.h"

/* The actor of the context's changes: its actor, or "system". */
BL_PRIVATE const char *bl__audit_actor(const bl_ctx *ctx);

/* The entry of a change, inside the caller's open transaction; the target is
 * printf-formatted ("group:%s").  Steals `detail` (NULL: none). */
BL_PRIVATE int bl__audit(bl_ctx *ctx, MYSQL *db, const char *action, json_t *detail, const char *target_fmt,
			 ...) __attribute__((format(printf, 5, 6)));

/* bl__audit under a given actor (a logout: the session's admin). */
BL_PRIVATE int bl__audit_as(const char *actor, MYSQL *db, const char *action, json_t *detail,
			    const char *target_fmt, ...) __attribute__((format(printf, 5, 6)));

/* The end of a change begun with bl__db_begin: when rc is BL_OK, its entry
 * (as bl__audit) and COMMIT; otherwise, or when either fails, ROLLBACK (the
 * error message stays the first failure's).  Returns rc or that failure.
 * Steals `detail`. */
BL_PRIVATE int bl__audit_commit(bl_ctx *ctx, MYSQL *db, int rc, const char *action, json_t *detail,
				const char *target_fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
