/*
 * Rows as C structs: the typed read objects (bl_statement, bl_message,
 * bl_template, bl_run and their parts) are plain structs filled column by
 * column from a SELECT, described by a table of fields.  The same table writes them
 * back as the JSON that bl__db_json gives for that SELECT (integers typed,
 * SQL NULL as null, keys in column order), so the JSON reads stay what they
 * were while the library works with structs.
 */
#ifndef BL_RECORD_PRIVATE_H
#define BL_RECORD_PRIVATE_H

#include <jansson.h>
#include "db.h"

typedef enum {
	BL__F_I64,  /* int64_t; JSON integer */
	BL__F_INT,  /* int; JSON integer */
	BL__F_STR,  /* char * (owned); JSON string */
	BL__F_BOOL, /* bool from 0/1; JSON true/false */
	BL__F_OBJ   /* char * JSON text (owned); the parsed value, {} when NULL or invalid */
} bl__fkind;

/* One column of the SELECT, in order: its JSON key, kind and place in the struct. */
typedef struct {
	const char *key;
	bl__fkind kind;
	size_t off;
} bl__field;

/* Every record struct starts with this: bit i set when column i was NULL. */
typedef struct {
	uint64_t nulls;
} bl__rec;

typedef struct {
	const bl__field *f;
	unsigned n; /* at most 64 */
} bl__shape;

#define BL__FIELD(type, member, kind) { #member, kind, offsetof(type, member) }
#define BL__FIELD_AS(key, type, member, kind) { key, kind, offsetof(type, member) }
#define BL__SHAPE(arr) { arr, (unsigned)(sizeof arr / sizeof arr[0]) }

/* Fill `rec` (zeroed) from one row of `shape`'s columns. */
BL_PRIVATE int bl__rec_fill(void *rec, const bl__shape *shape, char **vals, unsigned long *lens,
			    unsigned nc);
/* Free the owned strings of `rec` (not rec itself). */
BL_PRIVATE void bl__rec_clear(void *rec, const bl__shape *shape);
/* Whether column `i` of `rec` was NULL. */
BL_PRIVATE bool bl__rec_null(const void *rec, unsigned i);
/*
 * The JSON object of `rec`: the columns listed in `emit` (indexes into
 * shape, in that order; all columns in order when emit is NULL).  NULL on
 * out of memory.
 */
BL_PRIVATE json_t *bl__rec_json(const void *rec, const bl__shape *shape, const unsigned char *emit,
				unsigned nemit);

/* *json gets the JSON array of `n` records of `size` bytes, each made by `one`. */
BL_PRIVATE int bl__recs_json_out(const void *recs, size_t n, size_t size, json_t *(*one)(const void *rec),
				 char **json);

/* Every row of `sql` as an array of records of `size` bytes (*out, free with
 * bl__recs_free); *count gets how many. */
BL_PRIVATE int bl__db_recs(MYSQL *db, const char *sql, const bl__param *ps, unsigned n,
			   const bl__shape *shape, size_t size, void **out, size_t *count);
BL_PRIVATE void bl__recs_free(void *recs, size_t count, const bl__shape *shape, size_t size);

#endif
