/*
 * libbilling — subscriber groups (targets of scheduled sends).  USER_ALL
 * (kind ALL) means every subscriber and has no member rows.
 */
#ifndef BILLING_GROUP_H
#define BILLING_GROUP_H

#include "common.h"
#include "context.h"

BL_BEGIN_DECLS

/** Create a STATIC group; code [A-Z0-9_]{1,40}; BL_ECONFLICT when it exists. */
BL_EXTERN(int) bl_group_create(bl_ctx *ctx, const char *code, const char *name,
			       const char *description, int64_t *id);
/** Every group with its member count, as a JSON array. */
BL_EXTERN(int) bl_group_list(bl_ctx *ctx, char **json);
/** One group as JSON. */
BL_EXTERN(int) bl_group_get(bl_ctx *ctx, const char *code, char **json);
/** Rename / describe a group. */
BL_EXTERN(int) bl_group_update(bl_ctx *ctx, const char *code, const char *name,
			       const char *description);
/** Delete a STATIC group and its memberships (refused for USER_ALL). */
BL_EXTERN(int) bl_group_delete(bl_ctx *ctx, const char *code);
/** Add / remove a member (idempotent; refused for USER_ALL). */
BL_EXTERN(int) bl_group_add(bl_ctx *ctx, const char *code, int64_t user_id);
BL_EXTERN(int) bl_group_remove(bl_ctx *ctx, const char *code, int64_t user_id);
/** Rebuild every group's member_count from the member rows and the
 *  subscribers (a full count: for repair after rows were written outside the
 *  library; the library keeps the counts itself). */
BL_EXTERN(int) bl_group_recount(bl_ctx *ctx);
/** Members after a cursor (user id), masked, as a JSON array. */
BL_EXTERN(int) bl_group_members(bl_ctx *ctx, const char *code, int64_t after_id, int limit,
				char **json);

BL_END_DECLS

#endif
