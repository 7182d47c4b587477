/*
 * Message templates: list, versions, save (create or new version) with
 * validation errors that name the part, line and column, enable/disable,
 * preview.  Previews are masked: a preview from a statement renders the
 * real subscriber, whose phone and e-mail must not appear in clear.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"

void h_template_list(req *r)
{
	char *json = NULL;
	int rc = bl_template_list(r->ctx, &json);
	reply_lib_array_page(r, rc, json, "id");
}

void h_template_get(req *r)
{
	int64_t version;
	if (!query_i64(r, "version", 0, 1000000, 0, &version))
		return;
	char *json = NULL;
	int rc = bl_template_get(r->ctx, param(r, 0), (int)version, &json);
	if (rc)
		reply_lib(r, rc, NULL);
	else
		reply_lib_json(r, 200, json);
}

void h_template_versions(req *r)
{
	char *json = NULL;
	int rc = bl_template_versions(r->ctx, param(r, 0), &json);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	json_t *all = lib_json(r, json);
	if (all)
		reply_array_page(r, all, "version");
}

static bool parse_enum(req *r, const char *key, const char *a, const char *b, int va, int vb, int *out)
{
	const char *s;
	if (!body_str(r, key, true, 16, &s))
		return false;
	if (!strcmp(s, a))
		*out = va;
	else if (!strcmp(s, b))
		*out = vb;
	else {
		reply_error(r, 422, NULL, key, "%s '%s': expected %s or %s", key, s, a, b);
		return false;
	}
	return true;
}

static void save(req *r, const char *code)
{
	bl_template_opts t;
	bl_template_opts_init(&t, BL_TEMPLATE_OPTS_VERSION);
	int channel, purpose;
	bool enabled = true, advertising = false;
	const size_t big = 1 << 20;
	if (!parse_enum(r, "channel", "EMAIL", "SMS", BL_CHANNEL_EMAIL, BL_CHANNEL_SMS, &channel) ||
	    !parse_enum(r, "purpose", "BILLING", "NOTICE", BL_PURPOSE_BILLING, BL_PURPOSE_NOTICE, &purpose) ||
	    !body_str(r, "name", true, 400, &t.name) || !body_str(r, "subject", false, 1000, &t.subject) ||
	    !body_str(r, "body_html", false, big, &t.body_html) ||
	    !body_str(r, "body_text", false, big, &t.body_text) || !body_bool(r, "enabled", false, &enabled) ||
	    !body_bool(r, "advertising", false, &advertising))
		return;
	t.advertising = advertising;
	t.code = code;
	t.channel = (bl_channel)channel;
	t.purpose = (bl_purpose)purpose;
	t.enabled = enabled;
	t.created_by = r->sess.username;
	char *vars = NULL;
	json_t *v = json_object_get(r->json, "variables");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v)) {
			reply_error(r, 400, NULL, "variables", "variables: must be an object of declarations");
			return;
		}
		vars = json_dumps(v, JSON_COMPACT);
		t.variables_json = vars;
	}
	int64_t id = 0;
	int version = 0;
	int rc = bl_template_save(r->ctx, &t, &id, &version);
	free(vars);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	char *json = NULL;
	rc = bl_template_get(r->ctx, code, version, &json);
	if (rc)
		reply_lib(r, rc, NULL);
	else
		reply_lib_json(r, version == 1 ? 201 : 200, json);
}

void h_template_create(req *r)
{
	const char *code;
	if (body_str(r, "code", true, 64, &code))
		save(r, code);
}

void h_template_update(req *r)
{
	const char *code = NULL;
	if (!body_str(r, "code", false, 64, &code))
		return;
	if (code && strcmp(code, param(r, 0))) {
		reply_error(r, 422, NULL, "code", "code '%s' in the body differs from the URL's '%s'", code,
			    param(r, 0));
		return;
	}
	save(r, param(r, 0));
}

static void set_enabled(req *r, bool on)
{
	int rc = bl_template_set_enabled(r->ctx, param(r, 0), on);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	reply_json(r, 200, json_pack("{s:s,s:b}", "code", param(r, 0), "enabled", on));
}

void h_template_enable(req *r)
{
	set_enabled(r, true);
}

void h_template_disable(req *r)
{
	set_enabled(r, false);
}

void h_template_preview(req *r)
{
	int64_t version = 0, statement_id = 0;
	if (!body_i64(r, "version", false, 0, 1000000, &version) ||
	    !body_i64(r, "statement_id", false, 1, INT64_MAX, &statement_id))
		return;
	json_t *sample = json_object_get(r->json, "sample");
	if (sample && !json_is_null(sample) && !json_is_object(sample)) {
		reply_error(r, 400, NULL, "sample", "sample: must be an object of variables");
		return;
	}
	char *sj = sample && json_is_object(sample) ? json_dumps(sample, JSON_COMPACT) : NULL;
	char *json = NULL;
	int rc = bl_template_preview(r->ctx, param(r, 0), (int)version, sj, statement_id, &json);
	free(sj);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	json_t *o = lib_json(r, json);
	if (!o)
		return;
	static const char *parts[] = { "subject", "html", "text" };
	for (size_t i = 0; i < 3; i++) {
		const char *s = json_string_value(json_object_get(o, parts[i]));
		char *masked = s ? scrub_pii(s) : NULL;
		if (masked)
			json_object_set_new(o, parts[i], json_string(masked));
		bl_free(masked);
	}
	reply_json(r, 200, o);
}
