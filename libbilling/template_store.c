/*
 * Message templates in MariaDB: versioned rows of message_templates.
 *
 * Saving never changes a row: it inserts version max+1 of the code (the
 * latest version row is locked, the unique (code, version) key catches the
 * rest, and a conflict retries).  Messages point at a row id, so what was
 * rendered stays reproducible.  `enabled` belongs to the code: it is kept
 * identical on every version (saving and bl_template_set_enabled set it on
 * all of them), so the latest row tells.
 */
#include <time.h>
#include "audit_private.h"
#include "template_impl.h"
#include "model_private.h"
#include "context_private.h"

#define SAVE_ATTEMPTS 20

bool bl__tpl_valid_code(const char *code)
{
	size_t n = code ? strlen(code) : 0;
	return n >= 1 && n <= 64 && strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

int bl__tpl_bad_code(const char *code)
{
	return bl__fail(BL_EINVAL, "template code '%.80s': expected 1-64 of A-Z, 0-9, _",
			code ? code : "");
}

/* ---- one row ---- */

typedef struct {
	int64_t id;
	int version;
	bool enabled, found;
	bl_channel channel;
	bl_purpose purpose;
	char *code, *name, *subject, *html, *text, *vars;
} tpl_row;

static void row_free(tpl_row *r)
{
	free(r->code);
	free(r->name);
	free(r->subject);
	free(r->html);
	free(r->text);
	free(r->vars);
	memset(r, 0, sizeof *r);
}

#define ROW_COLS \
	"id, code, version, name, channel, purpose, subject, body_html, body_text, " \
	"variables_json, enabled"

static int row_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	tpl_row *r = p;
	if (r->found || nc < 11)
		return BL_OK;
	r->found = true;
	int64_t id = 0, ver = 0;
	bl__parse_i64(v[0], 1, INT64_MAX, &id);
	bl__parse_i64(v[2], 1, INT32_MAX, &ver);
	r->id = id;
	r->version = (int)ver;
	r->channel = v[4] && !strcmp(v[4], "SMS") ? BL_CHANNEL_SMS : BL_CHANNEL_EMAIL;
	r->purpose = v[5] && !strcmp(v[5], "NOTICE") ? BL_PURPOSE_NOTICE : BL_PURPOSE_BILLING;
	r->enabled = v[10] && strcmp(v[10], "0");
	r->code = bl__strdup(v[1]);
	r->name = bl__strdup(v[3]);
	r->subject = bl__strdup(v[6]);
	r->html = bl__strdup(v[7]);
	r->text = bl__strdup(v[8]);
	r->vars = bl__strdup(v[9]);
	if (!r->code || !r->name || !r->text || (v[6] && !r->subject) || (v[7] && !r->html) ||
	    (v[9] && !r->vars))
		return bl__fail(BL_ENOMEM, "out of memory");
	return BL_OK;
}

/* The row of (code, version), version 0: the latest. */
static int row_by_code(MYSQL *db, const char *code, int version, tpl_row *r)
{
	memset(r, 0, sizeof *r);
	bl__param p[] = { BP_STR(code), BP_I64(version), BP_I64(version) };
	int rc = bl__db_rows(db,
			     "SELECT " ROW_COLS " FROM message_templates WHERE code = ? "
			     "AND (version = ? OR ? = 0) ORDER BY version DESC LIMIT 1",
			     p, 3, row_cb, r);
	if (rc == BL_OK && !r->found)
		rc = version ? bl__fail(BL_ENOTFOUND, "template '%s' has no version %d", code, version)
			     : bl__fail(BL_ENOTFOUND, "template '%s' does not exist", code);
	if (rc)
		row_free(r);
	return rc;
}

static int row_compile(const tpl_row *r, bl__tpl **out)
{
	bl_template_opts o = BL_TEMPLATE_OPTS_INIT;
	o.code = r->code;
	o.name = r->name;
	o.channel = r->channel;
	o.purpose = r->purpose;
	o.subject = r->subject;
	o.body_html = r->html;
	o.body_text = r->text;
	o.variables_json = r->vars;
	int rc = bl__tpl_compile(&o, out);
	if (rc)
		return bl__fail_wrap(rc, "stored template id %lld", (long long)r->id);
	(*out)->id = r->id;
	(*out)->version = r->version;
	return BL_OK;
}

int bl__tpl_load(MYSQL *db, int64_t template_id, bl__tpl **out)
{
	if (!db || !out)
		return bl__fail(BL_EINVAL, "bl__tpl_load: NULL argument");
	*out = NULL;
	tpl_row r = { 0 };
	bl__param p[] = { BP_I64(template_id) };
	int rc = bl__db_rows(db, "SELECT " ROW_COLS " FROM message_templates WHERE id = ?", p, 1,
			     row_cb, &r);
	if (rc == BL_OK && !r.found)
		rc = bl__fail(BL_ENOTFOUND, "template id %lld does not exist", (long long)template_id);
	if (rc == BL_OK)
		rc = row_compile(&r, out);
	row_free(&r);
	return rc;
}

struct latest {
	int64_t id;
	bool enabled, found;
};

static int latest_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	struct latest *l = p;
	if (nc < 2 || l->found)
		return BL_OK;
	l->found = true;
	bl__parse_i64(v[0], 1, INT64_MAX, &l->id);
	l->enabled = v[1] && strcmp(v[1], "0");
	return BL_OK;
}

int bl__tpl_latest_id(MYSQL *db, const char *code, int64_t *id)
{
	if (!db || !id)
		return bl__fail(BL_EINVAL, "bl__tpl_latest_id: NULL argument");
	if (!bl__tpl_valid_code(code))
		return bl__tpl_bad_code(code);
	struct latest l = { 0 };
	bl__param p[] = { BP_STR(code) };
	int rc = bl__db_rows(db,
			     "SELECT id, enabled FROM message_templates WHERE code = ? "
			     "ORDER BY version DESC LIMIT 1",
			     p, 1, latest_cb, &l);
	if (rc)
		return rc;
	if (!l.found)
		return bl__fail(BL_ENOTFOUND, "template '%s' does not exist", code);
	if (!l.enabled)
		return bl__fail(BL_ECONFLICT, "template '%s' is disabled", code);
	*id = l.id;
	return BL_OK;
}

/* ---- save ---- */

static void backoff(int attempt)
{
	struct timespec ts = { 0, (long)(1 + attempt * 2 + rand() % 5) * 1000000L };
	nanosleep(&ts, NULL);
}

/* ---- usage: the pending work a template holds or affects ---- */

static int usage_counts(MYSQL *db, const char *code, int64_t *messages, int64_t *reservations)
{
	bl__param pm[] = { BP_STR(code) };
	int rc = bl__db_i64(db,
			    "SELECT COUNT(*) FROM messages m JOIN message_templates t ON t.id = m.template_id "
			    "WHERE t.code = ? AND m.status IN ('WAITING','PROCESSING','FAILED')",
			    pm, 1, messages, NULL);
	if (rc)
		return rc;
	/* a month's reservation picks DEFAULT_BILLING_EMAIL or _SMS per subscriber when it expands */
	bl__param pr[] = { BP_STR(code), BP_STR(code) };
	return bl__db_i64(db,
			  "SELECT COUNT(*) FROM message_reservations r JOIN message_templates t ON t.id = r.template_id "
			  "WHERE r.status IN ('WAITING','PROCESSING') AND (t.code = ? OR (r.target_month IS NOT NULL "
			  "AND ? IN ('DEFAULT_BILLING_EMAIL','DEFAULT_BILLING_SMS')))",
			  pr, 2, reservations, NULL);
}

int bl_template_usage(bl_ctx *ctx, const char *code, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_template_usage: NULL argument");
	*json = NULL;
	if (!bl__tpl_valid_code(code))
		return bl__tpl_bad_code(code);
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	int64_t enabled = 0, msgs = 0, resv = 0;
	bool found = false;
	bl__param pc[] = { BP_STR(code) };
	int rc = bl__db_i64(db, "SELECT enabled FROM message_templates WHERE code = ? ORDER BY version DESC LIMIT 1",
			    pc, 1, &enabled, &found);
	if (rc)
		return rc;
	if (!found)
		return bl__fail(BL_ENOTFOUND, "template '%s' does not exist", code);
	if ((rc = usage_counts(db, code, &msgs, &resv)))
		return rc;
	json_t *o = json_pack("{s:s,s:b,s:I,s:I}", "code", code, "enabled", (int)(enabled != 0), "pending_messages",
			      (json_int_t)msgs, "reservations", (json_int_t)resv);
	rc = bl__json_out(o, json);
	json_decref(o);
	return rc;
}

/* Version-2 rules of a save against the latest stored version (locked by the caller):
 * creating never replaces; a purpose change or a disable that affects pending work needs `confirmed`. */
static int save_rules(MYSQL *db, const bl_template_opts *t, int64_t last)
{
	if (t->version < 2)
		return BL_OK;
	if (t->create_only)
		return bl__fail(BL_ECONFLICT,
				"template '%s' exists already (version %lld): open it to make a new version",
				t->code, (long long)last);
	int64_t en = 0, is_billing = 0;
	bool found = false;
	bl__param pc[] = { BP_STR(t->code) };
	int rc = bl__db_i64(db,
			    "SELECT enabled FROM message_templates WHERE code = ? ORDER BY version DESC LIMIT 1",
			    pc, 1, &en, &found);
	if (rc == BL_OK)
		rc = bl__db_i64(db,
				"SELECT purpose = 'BILLING' FROM message_templates WHERE code = ? "
				"ORDER BY version DESC LIMIT 1",
				pc, 1, &is_billing, NULL);
	if (rc || !found || t->confirmed)
		return rc;
	bool purpose_changed = (t->purpose == BL_PURPOSE_BILLING) != (is_billing != 0);
	bool disabling = en != 0 && !t->enabled;
	if (!purpose_changed && !disabling)
		return BL_OK;
	int64_t msgs = 0, resv = 0;
	if ((rc = usage_counts(db, t->code, &msgs, &resv)))
		return rc;
	if (msgs == 0 && resv == 0)
		return BL_OK;
	return bl__fail(BL_ECONFLICT,
			"template '%s': %s%s%s affects %lld pending message(s) and %lld reservation(s); "
			"confirm to save",
			t->code, purpose_changed ? "changing its purpose" : "",
			purpose_changed && disabling ? " and " : "", disabling ? "disabling it" : "",
			(long long)msgs, (long long)resv);
}

static int save_once(MYSQL *db, const bl_template_opts *t, const char *vars, int64_t *id,
		     int *version, bool *final)
{
	bool email = t->channel == BL_CHANNEL_EMAIL;
	int64_t last = 0;
	bool found = false;
	bl__param pc[] = { BP_STR(t->code) };
	int rc = bl__db_i64(db,
			    "SELECT version FROM message_templates WHERE code = ? "
			    "ORDER BY version DESC LIMIT 1 FOR UPDATE",
			    pc, 1, &last, &found);
	if (rc)
		return rc;
	if (found && (rc = save_rules(db, t, last))) {
		*final = true; /* a refusal, not a race: do not retry */
		return rc;
	}
	int64_t v = found ? last + 1 : 1;
	bl__param p[] = {
		BP_STR(t->code),
		BP_I64(v),
		BP_STR(t->name),
		BP_STR(email ? "EMAIL" : "SMS"),
		BP_STR(t->purpose == BL_PURPOSE_NOTICE ? "NOTICE" : "BILLING"),
		email ? BP_STR(t->subject) : BP_NULL,
		email && t->body_html && *t->body_html ? BP_STR(t->body_html) : BP_NULL,
		BP_STR(t->body_text),
		BP_STR(vars),
		BP_I64(t->enabled ? 1 : 0),
		BP_STR(t->created_by && *t->created_by ? t->created_by : "system"),
		BP_I64(t->version >= 3 && t->advertising ? 1 : 0),
	};
	uint64_t newid = 0;
	rc = bl__db_exec(db,
			 "INSERT INTO message_templates (code, version, name, channel, purpose, subject, "
			 "body_html, body_text, variables_json, enabled, created_by, advertising) "
			 "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
			 p, 12, NULL, &newid);
	if (rc)
		return rc;
	/* enabled is the code's: the same on every version */
	bl__param pe[] = { BP_I64(t->enabled ? 1 : 0), BP_STR(t->code), BP_I64(t->enabled ? 1 : 0) };
	rc = bl__db_exec(db, "UPDATE message_templates SET enabled = ? WHERE code = ? AND enabled <> ?",
			 pe, 3, NULL, NULL);
	if (rc)
		return rc;
	*id = (int64_t)newid;
	*version = (int)v;
	return BL_OK;
}

int bl_template_save(bl_ctx *ctx, const bl_template_opts *t, int64_t *template_id, int *version)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_template_save: ctx is NULL");
	int rc = bl_template_validate(t);
	if (rc)
		return rc;
	/* store variables_json in one canonical, compact form */
	_cleanup_free_ char *vars = NULL;
	json_t *vj = t->variables_json && *t->variables_json ? json_loads(t->variables_json, 0, NULL)
							    : json_object();
	vars = vj ? json_dumps(vj, JSON_COMPACT) : NULL;
	json_decref(vj);
	if (!vars)
		return bl__fail(BL_ENOMEM, "out of memory");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	int64_t id = 0;
	int v = 0;
	for (int attempt = 0;; attempt++) {
		bool final = false;
		rc = bl__db_begin(db);
		if (rc == BL_OK)
			rc = save_once(db, t, vars, &id, &v, &final);
		if (rc == BL_OK)
			rc = bl__audit(ctx, db, "template.save",
				       json_pack("{s:i,s:I}", "version", v, "template_id", (json_int_t)id), "template:%s",
				       t->code);
		if (rc == BL_OK)
			rc = bl__db_commit(db);
		if (rc == BL_OK)
			break;
		bl__db_rollback(db);
		if (final)
			return rc;
		if (rc != BL_ECONFLICT)
			return bl__fail_wrap(rc, "template '%s': not saved", t->code);
		if (attempt + 1 == SAVE_ATTEMPTS)
			return bl__fail_wrap(rc, "template '%s': not saved after %d concurrent attempts",
					     t->code, SAVE_ATTEMPTS);
		backoff(attempt);
	}
	if (template_id)
		*template_id = id;
	if (version)
		*version = v;
	return BL_OK;
}

/* ---- reads: template_read.c ---- */

/* The checks every (code, version) call starts with, and its connection. */
static int code_version_db(bl_ctx *ctx, const char *code, int version, char **json,
			   const char *fn, MYSQL **db)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "%s: NULL argument", fn);
	if (!bl__tpl_valid_code(code))
		return bl__tpl_bad_code(code);
	if (version < 0)
		return bl__fail(BL_EINVAL, "template '%s': version %d (0: the latest)", code, version);
	*db = bl__ctx_db(ctx);
	return *db ? BL_OK : bl_error_last_code();
}

int bl_template_set_enabled(bl_ctx *ctx, const char *code, bool enabled)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_template_set_enabled: ctx is NULL");
	if (!bl__tpl_valid_code(code))
		return bl__tpl_bad_code(code);
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__param pc[] = { BP_STR(code) };
	int64_t n = 0;
	int rc = bl__db_i64(db, "SELECT COUNT(*) FROM message_templates WHERE code = ?", pc, 1, &n,
			    NULL);
	if (rc)
		return rc;
	if (n == 0)
		return bl__fail(BL_ENOTFOUND, "template '%s' does not exist", code);
	bl__param p[] = { BP_I64(enabled ? 1 : 0), BP_STR(code) };
	if ((rc = bl__db_begin(db)) == BL_OK)
		rc = bl__db_exec(db, "UPDATE message_templates SET enabled = ? WHERE code = ?", p, 2, NULL, NULL);
	return bl__audit_commit(ctx, db, rc, enabled ? "template.enable" : "template.disable", NULL, "template:%s",
				code);
}

/* ---- preview ---- */

/* Example data when the caller gives neither a sample nor a statement:
 * bl__tpl_sample (template_preview.c), shared with the draft preview. */
static json_t *builtin_sample(const tpl_row *r)
{
	return bl__tpl_sample(r->purpose, r->vars);
}

static const char *kind_name(bl_message_kind k)
{
	return k == BL_KIND_SMS ? "SMS" : k == BL_KIND_LMS ? "LMS" : "EMAIL";
}

static int preview_model(bl_ctx *ctx, MYSQL *db, const tpl_row *r, const char *sample_json,
			 int64_t statement_id, json_t **model)
{
	json_t *sample = NULL;
	if (sample_json && *sample_json) {
		json_error_t err;
		sample = json_loads(sample_json, 0, &err);
		if (!sample)
			return bl__fail(BL_EINVAL, "sample_json: not valid JSON at line %d, column %d: %s",
					err.line, err.column, err.text);
		if (!json_is_object(sample)) {
			json_decref(sample);
			return bl__fail(BL_EINVAL, "sample_json: expected a JSON object of variables");
		}
	}
	if (statement_id > 0) {
		json_decref(sample);
		int64_t uid = 0;
		bool found = false;
		bl__param p[] = { BP_I64(statement_id) };
		int rc = bl__db_i64(db, "SELECT user_id FROM statements WHERE id = ?", p, 1, &uid, &found);
		if (rc)
			return rc;
		if (!found)
			return bl__fail(BL_ENOTFOUND, "statement %lld does not exist",
					(long long)statement_id);
		bl__model_req req = { uid, statement_id, sample_json && *sample_json ? sample_json : NULL };
		int lrc = bl__models_load(ctx, db, &req, 1, model);
		/* A preview is shown and logged, never sent: the subscriber's phone and
		 * e-mail go in masked ({{phone|mask}} keeps a masked value as it is). */
		static const struct { const char *key; bl_pii_kind kind; } pii[] = {
			{ "phone", BL_PII_PHONE }, { "email", BL_PII_EMAIL } };
		for (size_t i = 0; lrc == BL_OK && i < sizeof pii / sizeof pii[0]; i++) {
			const char *plain = json_string_value(json_object_get(*model, pii[i].key));
			char *masked = NULL;
			if (plain && bl_pii_mask(pii[i].kind, plain, &masked) != BL_OK)
				masked = bl__strdup("****");
			if (masked)
				json_object_set_new(*model, pii[i].key, json_string(masked));
			else if (plain)
				lrc = bl__fail(BL_ENOMEM, "out of memory");
			free(masked);
		}
		if (lrc) {
			json_decref(*model);
			*model = NULL;
		}
		return lrc;
	}
	*model = sample ? sample : builtin_sample(r);
	return *model ? BL_OK : bl__fail(BL_ENOMEM, "out of memory");
}

int bl_template_preview(bl_ctx *ctx, const char *code, int version, const char *sample_json,
			int64_t statement_id, char **json)
{
	MYSQL *db = NULL;
	int crc = code_version_db(ctx, code, version, json, "bl_template_preview", &db);
	if (crc)
		return crc;
	tpl_row r;
	int rc = row_by_code(db, code, version, &r);
	if (rc)
		return rc;
	bl__tpl *t = NULL;
	json_t *model = NULL;
	bl__rendered out = { 0 };
	bl__tpl_limits lim;
	bl__tpl_limits_get(ctx->cfg, &lim);
	if ((rc = row_compile(&r, &t)) == BL_OK &&
	    (rc = preview_model(ctx, db, &r, sample_json, statement_id, &model)) == BL_OK &&
	    (rc = bl__tpl_render(t, model, &lim, &out)) == BL_OK) {
		json_t *o = json_pack("{s:s,s:i,s:I,s:s?,s:s?,s:s,s:s,s:I}", "code", r.code, "version",
				      r.version, "template_id", (json_int_t)r.id, "subject", out.subject,
				      "html", out.html, "text", out.text, "kind", kind_name(out.kind),
				      "bytes", (json_int_t)out.bytes);
		rc = bl__json_out(o, json);
		json_decref(o);
	}
	bl__rendered_free(&out);
	json_decref(model);
	bl__tpl_free(t);
	row_free(&r);
	return rc;
}
