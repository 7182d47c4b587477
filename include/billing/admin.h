/*
 * libbilling — admin users (argon2id password hashes via libsodium) and the
 * audit log of admin actions.
 */
#ifndef BILLING_ADMIN_H
#define BILLING_ADMIN_H

#include "common.h"
#include "context.h"

BL_BEGIN_DECLS

typedef enum { BL_ROLE_ADMIN = 1, BL_ROLE_OPERATOR = 2, BL_ROLE_VIEWER = 3 } bl_role;

/** "ADMIN", "OPERATOR", "VIEWER" (NULL for an unknown value). */
BL_EXTERN(const char *) bl_admin_role_name(bl_role role);
/** Parse a role name (case-insensitive); BL_EINVAL otherwise. */
BL_EXTERN(int) bl_admin_role_parse(const char *s, bl_role *role);

/** Create an admin user; password ≥ 10 characters; BL_ECONFLICT if taken. */
BL_EXTERN(int) bl_admin_create(bl_ctx *ctx, const char *username, const char *password,
			       bl_role role, int64_t *id);
/** Change a password. */
BL_EXTERN(int) bl_admin_passwd(bl_ctx *ctx, const char *username, const char *password);
/**
 * Check a login.  BL_EAUTH (same message for unknown user and wrong
 * password) on failure; *id and *role on success.
 */
BL_EXTERN(int) bl_admin_verify(bl_ctx *ctx, const char *username, const char *password,
			       int64_t *id, bl_role *role);
/** Admin users (no hashes) as a JSON array. */
BL_EXTERN(int) bl_admin_list(bl_ctx *ctx, char **json);

/** Record an admin action: who did what to which object, with JSON detail (may be NULL). */
BL_EXTERN(int) bl_audit_record(bl_ctx *ctx, const char *actor, const char *action,
			       const char *target, const char *detail_json);
/** Audit entries newest first, before a cursor id (0: newest), as a JSON array. */
BL_EXTERN(int) bl_audit_list(bl_ctx *ctx, int64_t before_id, int limit, char **json);

/** Which audit entries bl_audit_search returns; NULL or "" means "any". */
typedef struct {
	unsigned version;
	const char *actor;    /**< exactly this actor ("alice", "cli:root") */
	const char *action;   /**< exactly this action, or all with this prefix when it ends in '.' */
	const char *from;     /**< at or after "YYYY-MM-DD[ HH:MM[:SS]]" (KST; 'T' for the space) */
	const char *to;       /**< up to the end of this day, minute or second (same forms) */
	int limit;            /**< page size (1-1000) */
	int64_t before_id;    /**< cursor: ids below this (0: from the newest) */
} bl_audit_filter;

#define BL_AUDIT_FILTER_VERSION 1
#define BL_AUDIT_FILTER_INIT { BL_AUDIT_FILTER_VERSION, NULL, NULL, NULL, NULL, 100, 0 }
BL_EXTERN(int) bl_audit_filter_init(bl_audit_filter *f, unsigned version);

/** Audit entries matching a filter, newest first, as a JSON array (as bl_audit_list). */
BL_EXTERN(int) bl_audit_search(bl_ctx *ctx, const bl_audit_filter *f, char **json);

BL_END_DECLS

#endif
