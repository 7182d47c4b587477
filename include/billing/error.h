/*
 * libbilling — error reporting.
 *
 * Each thread keeps the message of its most recent failure.  The string is
 * owned by the library and stays valid until the next failing call on the
 * same thread; never free it.
 */
#ifndef BILLING_ERROR_H
#define BILLING_ERROR_H

#include "common.h"

BL_BEGIN_DECLS

/** Message of the last failure on this thread ("" when none). */
BL_EXTERN(const char *) bl_error_last(void);

/** Code of the last failure on this thread (BL_OK when none). */
BL_EXTERN(int) bl_error_last_code(void);

/** Forget the last failure on this thread. */
BL_EXTERN(void) bl_error_clear(void);

/** Static description of a return code ("not found", ...). */
BL_EXTERN(const char *) bl_strerror(int code);

BL_END_DECLS

#endif
