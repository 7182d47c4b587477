/*
 * libbilling — personal data protection.
 *
 * Phone numbers and e-mail addresses are stored encrypted with
 * XChaCha20-Poly1305 (random nonce, authenticated; the column name is bound
 * as associated data) and a keyed BLAKE2b blind index of the normalised value
 * for uniqueness and exact-match lookup.  Both keys derive from the 32-byte
 * BILLING_DATA_KEY (64 hex digits).
 */
#ifndef BILLING_CRYPTO_H
#define BILLING_CRYPTO_H

#include "common.h"
#include "context.h"

BL_BEGIN_DECLS

/** Which kind of personal data a value is (selects normalisation and AD). */
typedef enum { BL_PII_PHONE = 1, BL_PII_EMAIL = 2 } bl_pii_kind;

#define BL_BLIND_INDEX_BYTES 16

/** Normalise: phone → digits only (010…); e-mail → trimmed, lower-case. */
BL_EXTERN(int) bl_pii_normalize(bl_pii_kind kind, const char *in, char **out);

/** Encrypt a value; *out (bl_free) gets nonce||ciphertext, *out_len its size. */
BL_EXTERN(int) bl_pii_encrypt(bl_ctx *ctx, bl_pii_kind kind, const char *plain,
			      unsigned char **out, size_t *out_len);
/** Decrypt what bl_pii_encrypt produced; *out is a NUL-terminated string. */
BL_EXTERN(int) bl_pii_decrypt(bl_ctx *ctx, bl_pii_kind kind, const unsigned char *in,
			      size_t in_len, char **out);
/** Blind index of the normalised value (BL_BLIND_INDEX_BYTES bytes). */
BL_EXTERN(int) bl_pii_blind_index(bl_ctx *ctx, bl_pii_kind kind, const char *plain,
				  unsigned char out[BL_BLIND_INDEX_BYTES]);
/** Masked form for display: 010-****-5678, k***@example.com. */
BL_EXTERN(int) bl_pii_mask(bl_pii_kind kind, const char *plain, char **out);

/**
 * Mask every phone number and e-mail address found in free text (a log line,
 * an error message, a request path, a typed command) the way bl_pii_mask
 * does: 010-****-5678, k***@example.com.  Phone numbers: 9-15 digits starting
 * with 0 or after '+', '-', '.' or ' ' allowed between digits.  *out (bl_free)
 * gets the masked copy; text without personal data comes back unchanged.
 */
BL_EXTERN(int) bl_pii_scrub(const char *text, char **out);

/** A fresh random data key as 64 hex digits (for .env generation). */
BL_EXTERN(int) bl_data_key_generate(char **out);

BL_END_DECLS

#endif
