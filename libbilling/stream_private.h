/* Redis Streams helpers shared by the relay and the worker (stream.c), and
 * the relay's entry point (relay.c). */
#ifndef BL_STREAM_PRIVATE_H
#define BL_STREAM_PRIVATE_H

#include <hiredis/hiredis.h>
#include "db.h"

/* REDIS_PREFIX + BILLING_STREAM */
BL_PRIVATE void bl__stream_key(const bl_config *cfg, char *out, size_t n);
/* Connect a private Redis connection (NULL + error). */
BL_PRIVATE redisContext *bl__redis_connect(const bl_config *cfg);
/* Run a command given as argv; *out gets the reply (free with freeReplyObject).
 * A reply of type ERROR becomes BL_EREDIS with the command named. */
BL_PRIVATE int bl__redis_cmd(redisContext *r, int argc, const char **argv, redisReply **out);
/* XGROUP CREATE ... 0 MKSTREAM, ignoring BUSYGROUP. */
BL_PRIVATE int bl__stream_ensure_group(redisContext *r, const bl_config *cfg);
/* ---- the relay (relay.c) ---- */
/* Where a relay's last read of one status ended (relay.c): the next read
 * continues after it.  Zeroed = from the start. */
typedef struct {
	char at[32]; /* next_attempt_at of the last row read, as MariaDB prints it */
	int64_t id;
} bl__relay_pos;
/* Publish due outbox rows with a private connection pair; *n published.
 * pos: bl__relay_pos[2] (WAITING, FAILED) kept by the caller between calls,
 * or NULL. */
BL_PRIVATE int bl__relay_once(const bl_config *cfg, MYSQL *db, redisContext *r, bl__relay_pos *pos,
			      int64_t *n);

#endif
