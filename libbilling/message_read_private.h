/*
 * Between message.c (the search's SQL) and message_read.c (bl_message
 * objects): the columns of a message row and their records.
 */
#ifndef BL_MESSAGE_READ_PRIVATE_H
#define BL_MESSAGE_READ_PRIVATE_H

#include "db.h"

#define BL__MSG_COLUMNS                                                                         \
	"m.id, m.user_id, m.statement_id, m.reservation_id, t.code AS template_code, "          \
	"t.version AS template_version, m.channel, m.kind, m.bytes, m.purpose, m.status, "     \
	"m.attempts, m.last_error, m.fallback_of, "                                            \
	"DATE_FORMAT(m.requested_at, '%Y-%m-%d %H:%i:%s') AS requested_at, "                   \
	"DATE_FORMAT(m.processed_at, '%Y-%m-%d %H:%i:%s') AS processed_at, "                   \
	"DATE_FORMAT(m.next_attempt_at, '%Y-%m-%d %H:%i:%s') AS next_attempt_at, "             \
	"(SELECT u.name FROM users u WHERE u.id = m.user_id) AS user_name"

/* The rows of `sql` (selecting BL__MSG_COLUMNS) as a message array (*out). */
BL_PRIVATE int bl__message_recs(MYSQL *db, const char *sql, const bl__param *ps, unsigned n,
				bl_message_array **out);

#endif
