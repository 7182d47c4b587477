/*
 * libbilling — subscribers.  Phone and e-mail are stored encrypted with a
 * blind index (crypto.h); reads return them masked unless asked otherwise.
 */
#ifndef BILLING_USER_H
#define BILLING_USER_H

#include "common.h"
#include "context.h"
#include "session.h"

BL_BEGIN_DECLS

typedef enum { BL_CHANNEL_EMAIL = 1, BL_CHANNEL_SMS = 2 } bl_channel;

typedef struct {
	unsigned version;
	const char *name;
	const char *phone;
	const char *email;
	bl_channel preferred_channel;
	bool consent_email;
	bool consent_sms;
} bl_user_opts;

#define BL_USER_OPTS_VERSION 1
#define BL_USER_OPTS_INIT { BL_USER_OPTS_VERSION, NULL, NULL, NULL, BL_CHANNEL_EMAIL, true, true }
BL_EXTERN(int) bl_user_opts_init(bl_user_opts *opts, unsigned version);

/** Create a subscriber; BL_ECONFLICT when the phone or e-mail is taken. */
BL_EXTERN(int) bl_user_create(bl_ctx *ctx, const bl_user_opts *opts, int64_t *id);

/** Exact-match lookup through the blind index; BL_ENOTFOUND when absent. */
BL_EXTERN(int) bl_user_find_by_phone(bl_ctx *ctx, const char *phone, int64_t *id);
BL_EXTERN(int) bl_user_find_by_email(bl_ctx *ctx, const char *email, int64_t *id);

typedef struct {
	unsigned version;
	const char *name;      /**< prefix of the name, or NULL */
	const char *phone;     /**< exact (blind index), any format, or NULL */
	const char *email;     /**< exact (blind index), or NULL */
	const char *plan_code; /**< subscribers charged for this PLAN service code, or NULL */
	int64_t after_id;      /**< cursor: ids greater than this */
	int limit;             /**< 1-1000 */
} bl_user_filter;

#define BL_USER_FILTER_VERSION 1
#define BL_USER_FILTER_INIT { BL_USER_FILTER_VERSION, NULL, NULL, NULL, NULL, 0, 100 }
BL_EXTERN(int) bl_user_filter_init(bl_user_filter *f, unsigned version);
/** Subscribers matching every given criterion, masked, as a JSON array. */
BL_EXTERN(int) bl_user_search(bl_ctx *ctx, const bl_user_filter *f, char **json);

/**
 * bl_user_search() on behalf of a logged-in admin (the admin UI and API).
 * An exact phone or e-mail would let anyone who sees the masked values
 * recover them, so a search by either needs OPERATOR or ADMIN (BL_EAUTH
 * otherwise), counts against BILLING_CONTACT_SEARCH_LIMIT per admin per
 * BILLING_CONTACT_SEARCH_WINDOW_S (BL_ELIMIT, *retry_after_s), and is
 * audited (user.search, the values masked).  Name and plan searches are
 * neither limited nor audited.
 */
BL_EXTERN(int) bl_user_search_as(bl_ctx *ctx, const bl_session *who, const bl_user_filter *f,
				 char **json, int *retry_after_s);

/** The subscriber as JSON (bl_free); phone/email masked unless `reveal`. */
BL_EXTERN(int) bl_user_get(bl_ctx *ctx, int64_t id, bool reveal, char **json);

BL_END_DECLS

#endif
