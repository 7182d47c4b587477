/*
 * Real e-mail delivery (docs/email.md): the keys derived from
 * BILLING_DATA_KEY for VERP tags and unsubscribe tokens (mailsig.c), the
 * SMTP provider over libcurl (smtp.c), the suppression list (suppress.c)
 * and DSN ingestion (bounce.c).
 */
#ifndef BL_EMAIL_PRIVATE_H
#define BL_EMAIL_PRIVATE_H

#include "internal.h"

/* ---- mailsig.c ---- */
#define BL_VERP_TAG_HEX 16 /* 64-bit keyed MAC, lowercase hex */

typedef struct {
	unsigned char verp[32];  /* BLAKE2b key of VERP tags */
	unsigned char unsub[32]; /* BLAKE2b key of unsubscribe tokens */
} bl__mail_keys;

/* Derive both keys from BILLING_DATA_KEY (BL_ECONFIG when it is unset). */
BL_PRIVATE int bl__mail_keys_derive(const bl_config *cfg, bl__mail_keys *k);
/* "bounce+<id>.<tag>@<domain>" into out[cap]. */
BL_PRIVATE int bl__verp_address(const bl__mail_keys *k, int64_t message_id, const char *domain,
				char *out, size_t cap);
/* The message id of a VERP address (local part "bounce+<id>.<tag>", any
 * domain): BL_OK with *id; BL_EINVAL when it is not one; BL_ECRYPTO when
 * the tag is wrong (forged). */
BL_PRIVATE int bl__verp_parse(const bl__mail_keys *k, const char *addr, int64_t *id);
/* An unsubscribe token for (user, channel): base64url, no personal data. */
BL_PRIVATE int bl__unsub_token(const bl__mail_keys *k, int64_t user_id, bl_channel ch, char *out,
			       size_t cap);
BL_PRIVATE int bl__unsub_verify(const bl__mail_keys *k, const char *token, int64_t *user_id,
				bl_channel *ch);

/* ---- smtp.c ---- */
typedef struct bl__smtp bl__smtp;
typedef enum { BL_SMTP_OK = 0, BL_SMTP_TRANSIENT = 2, BL_SMTP_PERMANENT = 3 } bl__smtp_status;
BL_PRIVATE int bl__smtp_new(bl__smtp **out, const bl_config *cfg);
/* One message over the preferred relay that is up (the connection is kept
 * for the next one).  *st and `reply` ("550 5.1.1 ...", scrubbed of personal
 * data) tell the outcome; BL_OK unless the library itself failed. */
BL_PRIVATE int bl__smtp_send(bl__smtp *s, const char *env_from, const char *rcpt, const char *data,
			     size_t len, bl__smtp_status *st, char *reply, size_t cap);
BL_PRIVATE void bl__smtp_free(bl__smtp *s);

#endif
