/*
 * Template reads: bl_template objects filled from message_templates rows,
 * and the JSON of bl_template_get / _list / _versions made from them.
 */
#include "record_private.h"
#include "template_private.h"

struct bl_template {
	bl__rec rec;
	int64_t id;
	char *code;
	int version;
	char *name, *channel, *purpose, *subject, *body_html, *body_text, *variables_json;
	bool enabled, advertising;
	char *created_at, *created_by;
	/* not a column: which JSON it serializes to */
	unsigned char form;
};

enum { FORM_GET, FORM_LIST, FORM_VERSIONS };

struct bl_template_array {
	struct bl_template *v;
	size_t n;
};

#define TF(m, k) BL__FIELD(struct bl_template, m, k)
static const bl__field TPL_FIELDS[] = {
	TF(id, BL__F_I64), TF(code, BL__F_STR), TF(version, BL__F_INT), TF(name, BL__F_STR),
	TF(channel, BL__F_STR), TF(purpose, BL__F_STR), TF(subject, BL__F_STR),
	TF(body_html, BL__F_STR), TF(body_text, BL__F_STR),
	BL__FIELD_AS("variables", struct bl_template, variables_json, BL__F_OBJ),
	TF(enabled, BL__F_BOOL), TF(advertising, BL__F_BOOL), TF(created_at, BL__F_STR),
	TF(created_by, BL__F_STR),
};
static const bl__shape TPL_SHAPE = BL__SHAPE(TPL_FIELDS);

#define TPL_COLUMNS                                                                       \
	"t.id, t.code, t.version, t.name, t.channel, t.purpose, t.subject, t.body_html, "   \
	"t.body_text, t.variables_json, t.enabled, t.advertising, "                       \
	"DATE_FORMAT(t.created_at, '%Y-%m-%d %H:%i:%s') AS created_at, t.created_by "

/* The JSON of each read, as it always was: "variables" (the parsed
 * variables_json) last; bl_template_list without the bodies;
 * bl_template_versions without subject, bodies and variables. */
static const unsigned char FORM_COLS[3][14] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 9 },
	{ 0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 9 },
	{ 0, 1, 2, 3, 4, 5, 11, 10, 12, 13 },
};
static const unsigned FORM_N[3] = { 14, 12, 10 };

static json_t *template_json(const struct bl_template *t)
{
	return bl__rec_json(t, &TPL_SHAPE, FORM_COLS[t->form], FORM_N[t->form]);
}

static json_t *template_json_any(const void *rec) { return template_json(rec); }

void bl_template_free(bl_template *t)
{
	if (!t)
		return;
	bl__rec_clear(t, &TPL_SHAPE);
	free(t);
}

void bl_template_array_free(bl_template_array *a)
{
	if (!a)
		return;
	bl__recs_free(a->v, a->n, &TPL_SHAPE, sizeof *a->v);
	free(a);
}

int bl_template_lookup(bl_ctx *ctx, const char *code, int version, bl_template **out)
{
	if (out)
		*out = NULL;
	if (!ctx || !out)
		return bl__fail(BL_EINVAL, "bl_template_lookup: NULL argument");
	if (!bl__tpl_valid_code(code))
		return bl__tpl_bad_code(code);
	if (version < 0)
		return bl__fail(BL_EINVAL, "template '%s': version %d (0: the latest)", code, version);
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	struct bl_template *t = NULL;
	size_t n = 0;
	bl__param p[] = { BP_STR(code), BP_I64(version), BP_I64(version) };
	int rc = bl__db_recs(db,
			     "SELECT " TPL_COLUMNS "FROM message_templates t WHERE t.code = ? "
			     "AND (t.version = ? OR ? = 0) ORDER BY t.version DESC LIMIT 1",
			     p, 3, &TPL_SHAPE, sizeof *t, (void **)&t, &n);
	if (rc)
		return rc;
	if (n == 0) {
		free(t);
		return version ? bl__fail(BL_ENOTFOUND, "template '%s' has no version %d", code, version)
			       : bl__fail(BL_ENOTFOUND, "template '%s' does not exist", code);
	}
	t->form = FORM_GET;
	*out = t;
	return BL_OK;
}

static int find(MYSQL *db, const char *sql, const bl__param *p, unsigned np, int form,
		bl_template_array **out)
{
	struct bl_template_array *a = calloc(1, sizeof *a);
	if (!a)
		return bl__fail(BL_ENOMEM, "out of memory");
	int rc = bl__db_recs(db, sql, p, np, &TPL_SHAPE, sizeof *a->v, (void **)&a->v, &a->n);
	if (rc) {
		free(a);
		return rc;
	}
	for (size_t i = 0; i < a->n; i++)
		a->v[i].form = (unsigned char)form;
	*out = a;
	return BL_OK;
}

int bl_template_find(bl_ctx *ctx, bl_template_array **out)
{
	if (out)
		*out = NULL;
	if (!ctx || !out)
		return bl__fail(BL_EINVAL, "bl_template_find: NULL argument");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	return find(db,
		    "SELECT " TPL_COLUMNS "FROM message_templates t JOIN (SELECT code, MAX(version) AS v "
		    "FROM message_templates GROUP BY code) m ON m.code = t.code AND m.v = t.version "
		    "ORDER BY t.code",
		    NULL, 0, FORM_LIST, out);
}

int bl_template_find_versions(bl_ctx *ctx, const char *code, bl_template_array **out)
{
	if (out)
		*out = NULL;
	if (!ctx || !out)
		return bl__fail(BL_EINVAL, "bl_template_find_versions: NULL argument");
	if (!bl__tpl_valid_code(code))
		return bl__tpl_bad_code(code);
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__param p[] = { BP_STR(code) };
	int rc = find(db, "SELECT " TPL_COLUMNS "FROM message_templates t WHERE t.code = ? ORDER BY t.version DESC",
		      p, 1, FORM_VERSIONS, out);
	if (rc == BL_OK && (*out)->n == 0) {
		bl_template_array_free(*out);
		*out = NULL;
		return bl__fail(BL_ENOTFOUND, "template '%s' does not exist", code);
	}
	return rc;
}

int bl_template_to_json(const bl_template *t, char **json)
{
	if (!t || !json)
		return bl__fail(BL_EINVAL, "bl_template_to_json: NULL argument");
	json_t *o = template_json(t);
	int rc = bl__json_out(o, json);
	json_decref(o);
	return rc;
}

int bl_template_array_to_json(const bl_template_array *a, char **json)
{
	if (!a || !json)
		return bl__fail(BL_EINVAL, "bl_template_array_to_json: NULL argument");
	return bl__recs_json_out(a->v, a->n, sizeof *a->v, template_json_any, json);
}

int bl_template_get(bl_ctx *ctx, const char *code, int version, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_template_get: NULL argument");
	bl_template *t = NULL;
	int rc = bl_template_lookup(ctx, code, version, &t);
	if (rc == BL_OK)
		rc = bl_template_to_json(t, json);
	bl_template_free(t);
	return rc;
}

int bl_template_list(bl_ctx *ctx, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_template_list: NULL argument");
	bl_template_array *a = NULL;
	int rc = bl_template_find(ctx, &a);
	if (rc == BL_OK)
		rc = bl_template_array_to_json(a, json);
	bl_template_array_free(a);
	return rc;
}

int bl_template_versions(bl_ctx *ctx, const char *code, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_template_versions: NULL argument");
	bl_template_array *a = NULL;
	int rc = bl_template_find_versions(ctx, code, &a);
	if (rc == BL_OK)
		rc = bl_template_array_to_json(a, json);
	bl_template_array_free(a);
	return rc;
}

size_t bl_template_array_count(const bl_template_array *a) { return a ? a->n : 0; }

const bl_template *bl_template_array_at(const bl_template_array *a, size_t i)
{
	return a && i < a->n ? &a->v[i] : NULL;
}

/* ---- accessors: NULL-safe, 0 / NULL / false for a NULL object or a NULL value ---- */

#define GET(type, name, zero) \
	type bl_template_##name(const bl_template *o) { return o ? o->name : zero; }

GET(int64_t, id, 0)
GET(const char *, code, NULL)
GET(int, version, 0)
GET(const char *, name, NULL)
GET(const char *, channel, NULL)
GET(const char *, purpose, NULL)
GET(const char *, subject, NULL)
GET(const char *, body_html, NULL)
GET(const char *, body_text, NULL)
GET(const char *, variables_json, NULL)
GET(bool, enabled, false)
GET(bool, advertising, false)
GET(const char *, created_at, NULL)
GET(const char *, created_by, NULL)
