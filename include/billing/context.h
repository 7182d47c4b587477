/*
 * libbilling — the context: configuration plus connections.
 *
 * A bl_ctx owns one MariaDB connection and one Redis connection, opened
 * lazily on first use.  A context is not shared between threads: use one
 * context per thread (bl_ctx_new is cheap until a connection is needed).
 * Work that runs in parallel inside the library (batch partitions) opens its
 * own connections from the same configuration.
 */
#ifndef BILLING_CONTEXT_H
#define BILLING_CONTEXT_H

#include "common.h"
#include "config.h"

BL_BEGIN_DECLS

typedef struct bl_ctx bl_ctx;

/** New context with a private copy of `cfg` (NULL: bl_config_load(NULL)). */
BL_EXTERN(int) bl_ctx_new(bl_ctx **out, const bl_config *cfg);
BL_EXTERN(void) bl_ctx_free(bl_ctx *ctx);

/** The context's configuration (lent). */
BL_EXTERN(const bl_config *) bl_ctx_config(const bl_ctx *ctx);

/**
 * Who the context's changes are by: the admin user name (httpd: the
 * session's admin; the CLI: "cli:" and its OS user), 1-128 characters, or
 * NULL for none.  Every mutating call an admin can trigger records its
 * audit entry under this actor, in the same transaction as the change;
 * without an actor the entry's actor is "system" (docs/audit.md).
 * BL_EINVAL for an empty or longer name (the actor is left unchanged).
 */
BL_EXTERN(int) bl_ctx_set_actor(bl_ctx *ctx, const char *actor);
/** The context's actor (lent, valid until the next bl_ctx_set_actor), or NULL for none. */
BL_EXTERN(const char *) bl_ctx_actor(const bl_ctx *ctx);

/** Check that MariaDB answers (connecting when needed). */
BL_EXTERN(int) bl_ctx_ping_db(bl_ctx *ctx);
/** Check that Redis answers (connecting when needed). */
BL_EXTERN(int) bl_ctx_ping_redis(bl_ctx *ctx);

/**
 * Create the configured database (MYSQL_DATABASE) when it does not exist.
 * Needs a user with CREATE privilege; used by tests and the demo.
 */
BL_EXTERN(int) bl_ctx_create_database(bl_ctx *ctx);
/** Drop the configured database (tests only; refuses "mysql" etc.). */
BL_EXTERN(int) bl_ctx_drop_database(bl_ctx *ctx);

BL_END_DECLS

#endif
