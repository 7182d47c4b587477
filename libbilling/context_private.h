/* The context's layout, shared by the files that need its fields. */
#ifndef BL_CONTEXT_PRIVATE_H
#define BL_CONTEXT_PRIVATE_H

#include "internal.h"

struct bl_ctx {
	bl_config *cfg;
	struct st_mysql *db;
	struct redisContext *redis;
	bl__clock clock;	  /* the context's clock (clock.c); { 0 } = the system clock */
	_Atomic int64_t fixed_us; /* the time of bl_ctx_set_time's standing clock */
	int64_t db_ms;		  /* the time last given to db's session, in ms (0: none) */
	char actor[129];	  /* bl_ctx_set_actor: who the audited changes are by ("": none) */
	bool keys_ready;
	unsigned char enc_key[32];  /* XChaCha20-Poly1305 */
	unsigned char bidx_key[32]; /* BLAKE2b blind index */
};

#endif
