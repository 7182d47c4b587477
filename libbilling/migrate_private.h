#ifndef BL_MIGRATE_PRIVATE_H
#define BL_MIGRATE_PRIVATE_H

#include "internal.h"

typedef struct {
	int version;
	const char *name; /* file name, V<n>__<desc>.sql */
	const char *sql;
	size_t len;
} bl__migration;

extern BL_PRIVATE const bl__migration bl__embedded_migrations[];
extern BL_PRIVATE const size_t bl__embedded_migrations_count;

#endif
