/*
 * libbilling — configuration.
 *
 * Settings use the original system's names (MYSQL_*, REDIS_*) plus BILLING_*.
 * Sources, later ones winning: built-in defaults, an optional .env file, the
 * process environment, explicit bl_config_set() calls.  Every value is
 * validated when it is set; an invalid one is refused with a message that
 * names the setting.  See docs/configuration.md for the full list.
 */
#ifndef BILLING_CONFIG_H
#define BILLING_CONFIG_H

#include "common.h"

BL_BEGIN_DECLS

typedef struct bl_config bl_config;

/** A configuration holding only the documented defaults. */
BL_EXTERN(int) bl_config_new(bl_config **out);

/**
 * Defaults, then `env_file` (when non-NULL; a missing file is not an error
 * unless `required`), then the process environment.  With env_file NULL the
 * file named by BILLING_ENV_FILE, else "./.env", is read when it exists.
 */
BL_EXTERN(int) bl_config_load(bl_config **out, const char *env_file, bool required);

/** Read KEY=VALUE lines from a file into `cfg` (overriding). */
BL_EXTERN(int) bl_config_load_file(bl_config *cfg, const char *path);

/** Set one setting; validated; unknown keys are refused (BL_ECONFIG). */
BL_EXTERN(int) bl_config_set(bl_config *cfg, const char *key, const char *value);

/** Current value of a setting, or NULL when unknown/unset.  Lent string. */
BL_EXTERN(const char *) bl_config_get(const bl_config *cfg, const char *key);

/** True when `key` is a secret (passwords, keys) that must be masked. */
BL_EXTERN(bool) bl_config_is_secret(const char *key);

/** Number of known settings and the name of the i-th (for listings). */
BL_EXTERN(size_t) bl_config_count(void);
BL_EXTERN(const char *) bl_config_key(size_t i);
/** Documentation line of a known setting. */
BL_EXTERN(const char *) bl_config_describe(const char *key);

BL_EXTERN(int) bl_config_copy(bl_config **out, const bl_config *cfg);
BL_EXTERN(void) bl_config_free(bl_config *cfg);

BL_END_DECLS

#endif
