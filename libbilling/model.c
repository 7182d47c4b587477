/*
 * The data messages are rendered with, loaded in bulk: one query for the
 * subscribers of all requests, one for their statements, one for the
 * statements' lines (each chunked at MODEL_CHUNK ids), whatever the number of
 * requests.  Keys: model_private.h and docs/templates.md.
 */
#include "model_private.h"

#define MODEL_CHUNK 1000

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Sorted, distinct; returns the count. */
static size_t uniq(int64_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_i64);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

static ptrdiff_t find(const int64_t *v, size_t n, int64_t id)
{
	const int64_t *p = bsearch(&id, v, n, sizeof *v, cmp_i64);
	return p ? p - v : -1;
}

typedef struct {
	bl_ctx *ctx;
	const int64_t *ids;
	size_t n;
	json_t **objs;      /* per id */
	int64_t *owner;     /* statements: their user_id */
} load_state;

static int chunked(MYSQL *db, const char *head, const char *tail, const int64_t *ids, size_t n,
		   bl__row_cb cb, void *st)
{
	bl__param *ps = calloc(n < MODEL_CHUNK ? n : MODEL_CHUNK, sizeof *ps);
	if (!ps)
		return bl__fail(BL_ENOMEM, "out of memory");
	int rc = BL_OK;
	for (size_t at = 0; rc == BL_OK && at < n; at += MODEL_CHUNK) {
		size_t k = n - at < MODEL_CHUNK ? n - at : MODEL_CHUNK;
		for (size_t i = 0; i < k; i++)
			ps[i] = BP_I64(ids[at + i]);
		char *sql = bl__sql_in(head, k, tail);
		if (!sql) {
			rc = bl__fail(BL_ENOMEM, "out of memory");
			break;
		}
		rc = bl__db_rows(db, sql, ps, (unsigned)k, cb, st);
		free(sql);
	}
	free(ps);
	return rc;
}

static json_t *i64_json(const char *s)
{
	int64_t v = 0;
	if (!s || bl__parse_i64(s, INT64_MIN, INT64_MAX, &v))
		return json_null();
	return json_integer(v);
}

static int pii(load_state *s, bl_pii_kind kind, const char *enc, unsigned long len, int64_t uid,
	       json_t **out)
{
	char *plain = NULL;
	int rc = bl_pii_decrypt(s->ctx, kind, (const unsigned char *)enc, len, &plain);
	if (rc)
		return bl__fail_wrap(rc, "user %lld", (long long)uid);
	*out = json_string(plain);
	free(plain);
	return *out ? BL_OK : bl__fail(BL_EINVAL, "user %lld: stored %s is not UTF-8", (long long)uid,
				       kind == BL_PII_PHONE ? "phone" : "e-mail");
}

/* id, name, phone_enc, email_enc */
static int user_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	load_state *s = p;
	int64_t id;
	if (nc < 4 || bl__parse_i64(v[0], 1, INT64_MAX, &id))
		return bl__fail(BL_EDB, "internal: bad users row");
	ptrdiff_t i = find(s->ids, s->n, id);
	if (i < 0 || s->objs[i])
		return BL_OK;
	json_t *phone = NULL, *email = NULL;
	int rc = pii(s, BL_PII_PHONE, v[2], lens[2], id, &phone);
	if (rc == BL_OK)
		rc = pii(s, BL_PII_EMAIL, v[3], lens[3], id, &email);
	if (rc) {
		json_decref(phone);
		return rc;
	}
	s->objs[i] = json_object();
	json_object_set_new(s->objs[i], "userName", json_string(v[1] ? v[1] : ""));
	json_object_set_new(s->objs[i], "phone", phone);
	json_object_set_new(s->objs[i], "email", email);
	return BL_OK;
}

/* id, user_id, target_month, usage, discount, vat, billed, truncated, due_date */
static int stmt_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	load_state *s = p;
	int64_t id, uid;
	if (nc < 9 || bl__parse_i64(v[0], 1, INT64_MAX, &id) ||
	    bl__parse_i64(v[1], 1, INT64_MAX, &uid))
		return bl__fail(BL_EDB, "internal: bad statements row");
	ptrdiff_t i = find(s->ids, s->n, id);
	if (i < 0 || s->objs[i])
		return BL_OK;
	json_t *o = json_object(), *lines = json_array();
	json_object_set_new(o, "targetMonth", json_string(v[2] ? v[2] : ""));
	json_object_set_new(o, "statementId", json_integer(id));
	json_object_set_new(o, "usageAmount", i64_json(v[3]));
	json_object_set_new(o, "discountAmount", i64_json(v[4]));
	json_object_set_new(o, "totalDiscount", i64_json(v[4]));
	json_object_set_new(o, "vatAmount", i64_json(v[5]));
	json_object_set_new(o, "billedAmount", i64_json(v[6]));
	json_object_set_new(o, "totalPrice", i64_json(v[6]));
	json_object_set_new(o, "truncatedAmount", i64_json(v[7]));
	json_object_set_new(o, "dueDate", json_string(v[8] ? v[8] : ""));
	json_object_set(o, "lines", lines);
	json_object_set_new(o, "services", lines);
	s->objs[i] = o;
	s->owner[i] = uid;
	return BL_OK;
}

/* statement_id, service name, type, price, discount, net */
static int line_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	load_state *s = p;
	int64_t id;
	if (nc < 6 || bl__parse_i64(v[0], 1, INT64_MAX, &id))
		return bl__fail(BL_EDB, "internal: bad statement_lines row");
	ptrdiff_t i = find(s->ids, s->n, id);
	if (i < 0 || !s->objs[i])
		return BL_OK;
	json_t *line = json_object();
	json_object_set_new(line, "serviceName", json_string(v[1] ? v[1] : ""));
	json_object_set_new(line, "serviceType", json_string(v[2] ? v[2] : ""));
	json_object_set_new(line, "price", i64_json(v[3]));
	json_object_set_new(line, "discount", i64_json(v[4]));
	json_object_set_new(line, "net", i64_json(v[5]));
	return json_array_append_new(json_object_get(s->objs[i], "lines"), line)
		       ? bl__fail(BL_ENOMEM, "out of memory")
		       : BL_OK;
}

static void free_objs(json_t **objs, size_t n)
{
	for (size_t i = 0; objs && i < n; i++)
		json_decref(objs[i]);
	free(objs);
}

int bl__models_load(bl_ctx *ctx, MYSQL *db, const bl__model_req *reqs, size_t n, json_t **models)
{
	if (!ctx || !db || (n && (!reqs || !models)))
		return bl__fail(BL_EINVAL, "bl__models_load: NULL argument");
	for (size_t i = 0; i < n; i++)
		models[i] = NULL;
	if (n == 0)
		return BL_OK;
	int64_t *uids = malloc(n * sizeof *uids), *sids = malloc(n * sizeof *sids);
	size_t nu = 0, ns = 0;
	json_t **users = NULL, **stmts = NULL;
	int64_t *owner = NULL;
	int rc = BL_OK;
	if (!uids || !sids) {
		rc = bl__fail(BL_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uids[nu++] = reqs[i].user_id;
		if (reqs[i].statement_id > 0)
			sids[ns++] = reqs[i].statement_id;
	}
	nu = uniq(uids, nu);
	ns = uniq(sids, ns);
	users = calloc(nu, sizeof *users);
	stmts = calloc(ns ? ns : 1, sizeof *stmts);
	owner = calloc(ns ? ns : 1, sizeof *owner);
	if (!users || !stmts || !owner) {
		rc = bl__fail(BL_ENOMEM, "out of memory");
		goto out;
	}
	load_state us = { ctx, uids, nu, users, NULL };
	rc = chunked(db, "SELECT id, name, phone_enc, email_enc FROM users WHERE id IN (", ")", uids, nu,
		     user_cb, &us);
	if (rc == BL_OK && ns) {
		load_state ss = { ctx, sids, ns, stmts, owner };
		rc = chunked(db,
			     "SELECT id, user_id, target_month, usage_amount, discount_amount, vat_amount, "
			     "billed_amount, truncated_amount, DATE_FORMAT(due_date, '%Y-%m-%d') "
			     "FROM statements WHERE id IN (",
			     ")", sids, ns, stmt_cb, &ss);
		if (rc == BL_OK)
			rc = chunked(db,
				     "SELECT l.statement_id, COALESCE(sv.name, CONCAT('#', l.service_id)), "
				     "l.service_type, l.price, l.discount, l.net FROM statement_lines l "
				     "LEFT JOIN services sv ON sv.id = l.service_id WHERE l.statement_id IN (",
				     ") ORDER BY l.statement_id, l.line_no", sids, ns, line_cb, &ss);
	}
	for (size_t i = 0; rc == BL_OK && i < n; i++) {
		const bl__model_req *q = &reqs[i];
		ptrdiff_t u = find(uids, nu, q->user_id);
		if (!users[u]) {
			rc = bl__fail(BL_ENOTFOUND, "subscriber %lld does not exist", (long long)q->user_id);
			break;
		}
		json_t *m = json_object();
		if (!m || json_object_update(m, users[u])) {
			json_decref(m);
			rc = bl__fail(BL_ENOMEM, "out of memory");
			break;
		}
		models[i] = m;
		if (q->statement_id > 0) {
			ptrdiff_t s = find(sids, ns, q->statement_id);
			if (!stmts[s]) {
				rc = bl__fail(BL_ENOTFOUND, "statement %lld does not exist",
					      (long long)q->statement_id);
				break;
			}
			if (owner[s] != q->user_id) {
				rc = bl__fail(BL_ECONFLICT, "statement %lld belongs to subscriber %lld, not %lld",
					      (long long)q->statement_id, (long long)owner[s],
					      (long long)q->user_id);
				break;
			}
			json_object_update(m, stmts[s]);
		}
		if (q->params_json && *q->params_json) {
			json_error_t err;
			json_t *params = json_loads(q->params_json, 0, &err);
			if (!json_is_object(params)) {
				json_decref(params);
				rc = bl__fail(BL_EINVAL, "params_json of the message to subscriber %lld: %s",
					      (long long)q->user_id,
					      params || !err.text[0] ? "expected a JSON object" : err.text);
				break;
			}
			/* the model's own keys win: params add, never override */
			json_object_update_missing(m, params);
			json_decref(params);
		}
	}
	if (rc)
		for (size_t i = 0; i < n; i++) {
			json_decref(models[i]);
			models[i] = NULL;
		}
out:
	free_objs(users, nu);
	free_objs(stmts, ns);
	free(owner);
	free(uids);
	free(sids);
	return rc;
}
