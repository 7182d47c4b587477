/*
 * libbilling — schema migrations.
 *
 * Migrations are files named V<n>__<description>.sql, applied in ascending n,
 * each recorded in `schema_history` with its SHA-256 checksum.  Applying twice
 * is a no-op.  A recorded migration whose file has changed is refused
 * (BL_ECONFLICT) and nothing is applied.  The SQL of the migrations shipped
 * with the library is compiled into it; BILLING_MIGRATIONS_DIR or
 * bl_migrate_dir() use files from a directory instead.
 */
#ifndef BILLING_MIGRATE_H
#define BILLING_MIGRATE_H

#include "common.h"
#include "context.h"

BL_BEGIN_DECLS

/** Apply pending migrations; `applied` (may be NULL) gets how many ran. */
BL_EXTERN(int) bl_migrate(bl_ctx *ctx, int *applied);

/** Same, from the V*.sql files of `dir`. */
BL_EXTERN(int) bl_migrate_dir(bl_ctx *ctx, const char *dir, int *applied);

/** Highest applied version (0 on an empty database). */
BL_EXTERN(int) bl_migrate_version(bl_ctx *ctx, int *version);

BL_END_DECLS

#endif
