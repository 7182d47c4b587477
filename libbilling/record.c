/*
 * Rows as C structs and the structs as JSON (record_private.h).
 */
#include "record_private.h"

static void *at(const void *rec, size_t off) { return (char *)rec + off; }

bool bl__rec_null(const void *rec, unsigned i)
{
	return (((const bl__rec *)rec)->nulls >> i) & 1u;
}

int bl__rec_fill(void *rec, const bl__shape *s, char **vals, unsigned long *lens, unsigned nc)
{
	(void)lens;
	if (nc != s->n)
		return bl__fail(BL_EDB, "internal: %u columns, expected %u", nc, s->n);
	bl__rec *r = rec;
	for (unsigned i = 0; i < s->n; i++) {
		const bl__field *f = &s->f[i];
		const char *v = vals[i];
		if (!v) {
			r->nulls |= (uint64_t)1 << i;
			continue;
		}
		int64_t n = 0;
		switch (f->kind) {
		case BL__F_I64:
		case BL__F_INT:
		case BL__F_BOOL:
			if (bl__parse_i64(v, INT64_MIN, INT64_MAX, &n))
				return bl__fail(BL_EDB, "internal: %s '%.40s' is not an integer", f->key, v);
			if (f->kind == BL__F_I64)
				*(int64_t *)at(rec, f->off) = n;
			else if (f->kind == BL__F_INT)
				*(int *)at(rec, f->off) = (int)n;
			else
				*(bool *)at(rec, f->off) = n != 0;
			break;
		case BL__F_STR:
		case BL__F_OBJ:
			if (!(*(char **)at(rec, f->off) = bl__strdup(v)))
				return bl__fail(BL_ENOMEM, "out of memory");
			break;
		}
	}
	return BL_OK;
}

void bl__rec_clear(void *rec, const bl__shape *s)
{
	if (!rec)
		return;
	for (unsigned i = 0; i < s->n; i++)
		if (s->f[i].kind == BL__F_STR || s->f[i].kind == BL__F_OBJ) {
			char **p = at(rec, s->f[i].off);
			free(*p);
			*p = NULL;
		}
}

static json_t *field_json(const void *rec, const bl__field *f, bool null)
{
	if (f->kind == BL__F_OBJ) {
		const char *text = null ? NULL : *(char *const *)at(rec, f->off);
		json_t *v = text ? json_loads(text, 0, NULL) : NULL;
		return v ? v : json_object();
	}
	if (null)
		return json_null();
	switch (f->kind) {
	case BL__F_I64: return json_integer(*(const int64_t *)at(rec, f->off));
	case BL__F_INT: return json_integer(*(const int *)at(rec, f->off));
	case BL__F_BOOL: return json_boolean(*(const bool *)at(rec, f->off));
	case BL__F_STR: {
		const char *str = *(char *const *)at(rec, f->off);
		return json_stringn_nocheck(str, strlen(str));
	}
	case BL__F_OBJ: break;
	}
	return NULL;
}

json_t *bl__rec_json(const void *rec, const bl__shape *s, const unsigned char *emit, unsigned nemit)
{
	json_t *o = json_object();
	unsigned n = emit ? nemit : s->n;
	for (unsigned k = 0; o && k < n; k++) {
		unsigned i = emit ? emit[k] : k;
		json_t *v = field_json(rec, &s->f[i], bl__rec_null(rec, i));
		if (!v || json_object_set_new(o, s->f[i].key, v)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int bl__recs_json_out(const void *recs, size_t n, size_t size, json_t *(*one)(const void *rec), char **json)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, one((const char *)recs + i * size))) {
			json_decref(arr);
			arr = NULL;
		}
	int rc = bl__json_out(arr, json);
	json_decref(arr);
	return rc;
}

struct recs_state {
	const bl__shape *shape;
	size_t size, n, cap;
	char *v;
};

static int recs_cb(void *p, char **vals, unsigned long *lens, unsigned nc)
{
	struct recs_state *s = p;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char *v = realloc(s->v, cap * s->size);
		if (!v)
			return bl__fail(BL_ENOMEM, "out of memory");
		s->v = v;
		s->cap = cap;
	}
	void *rec = s->v + s->n * s->size;
	memset(rec, 0, s->size);
	s->n++;
	return bl__rec_fill(rec, s->shape, vals, lens, nc);
}

int bl__db_recs(MYSQL *db, const char *sql, const bl__param *ps, unsigned n, const bl__shape *shape,
		size_t size, void **out, size_t *count)
{
	struct recs_state s = { shape, size, 0, 0, NULL };
	int rc = bl__db_rows(db, sql, ps, n, recs_cb, &s);
	if (rc) {
		bl__recs_free(s.v, s.n, shape, size);
		return rc;
	}
	*out = s.v;
	*count = s.n;
	return BL_OK;
}

void bl__recs_free(void *recs, size_t count, const bl__shape *shape, size_t size)
{
	for (size_t i = 0; recs && i < count; i++)
		bl__rec_clear((char *)recs + i * size, shape);
	free(recs);
}
