/* Subscriber rows as masked JSON, shared by user search and group members. */
#ifndef BL_USER_PRIVATE_H
#define BL_USER_PRIVATE_H

#include "db.h"

/*
 * The columns a masked subscriber row is read from, in this order:
 * id, name, phone_enc, email_enc, preferred_channel, consent_email,
 * consent_sms, created_at (as text).  `u` is the users alias.
 */
#define BL_USER_ROW_COLUMNS                                                                      \
	"u.id, u.name, u.phone_enc, u.email_enc, u.preferred_channel, u.consent_email, "       \
	"u.consent_sms, DATE_FORMAT(u.created_at, '%Y-%m-%d %H:%i:%s')"

/* Run `sql` (selecting BL_USER_ROW_COLUMNS) and return the rows as a JSON
 * array of subscriber objects with phone/e-mail masked. */
BL_PRIVATE int bl__user_rows_masked(bl_ctx *ctx, MYSQL *db, const char *sql, const bl__param *ps,
				    unsigned n, json_t **out);

/* Group member counters (group.c): rebuild them all from the rows; move
 * USER_ALL's by n subscribers on the caller's connection and transaction. */
BL_PRIVATE int bl__group_recount(MYSQL *db);
BL_PRIVATE int bl__group_count_users(MYSQL *db, int64_t n);

#endif
