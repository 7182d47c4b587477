/*
 * libbilling — common definitions: export macro, return codes, memory.
 *
 * Every function returns an int: BL_OK (0) on success or a negative BL_E*
 * code.  The message of the last failure on the calling thread is available
 * from bl_error_last() (see error.h).
 */
#ifndef BILLING_COMMON_H
#define BILLING_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
#define BL_BEGIN_DECLS extern "C" {
#define BL_END_DECLS }
#else
#define BL_BEGIN_DECLS
#define BL_END_DECLS
#endif

#if defined(__GNUC__)
#define BL_EXTERN(type) extern __attribute__((visibility("default"))) type
#else
#define BL_EXTERN(type) extern type
#endif

BL_BEGIN_DECLS

/** Return codes.  Never rely on the numeric values beyond their sign. */
typedef enum {
	BL_OK = 0,
	BL_ERROR = -1,     /**< unspecified failure */
	BL_EINVAL = -2,    /**< invalid argument or input */
	BL_ENOTFOUND = -3, /**< the named object does not exist */
	BL_ECONFLICT = -4, /**< state conflict: exists already, in use, changed */
	BL_EDB = -5,       /**< MariaDB failure */
	BL_EREDIS = -6,    /**< Redis failure */
	BL_ENOMEM = -7,    /**< out of memory */
	BL_ECONFIG = -8,   /**< missing or malformed configuration setting */
	BL_ECRYPTO = -9,   /**< encryption / authentication failure */
	BL_EIO = -10,      /**< file or system I/O failure */
	BL_ESTOPPED = -11, /**< the operation was stopped on request */
	BL_EOVERFLOW = -12, /**< arithmetic overflow (money or sizes) */
	BL_EAUTH = -13,     /**< authentication failed */
	BL_ELIMIT = -14     /**< a rate limit was reached: try again later */
} bl_error_code;

/** Money: integer Korean won.  Never a floating-point type. */
typedef int64_t bl_won;

/** Release memory returned by the library as a plain `char *` or buffer. */
BL_EXTERN(void) bl_free(void *ptr);

/** The library version, e.g. "0.1.0". */
BL_EXTERN(const char *) bl_version(void);

BL_END_DECLS

#endif
