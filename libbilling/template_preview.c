/*
 * Previews of what an operator types, before it is saved: the example data
 * of a preview (also the stored-template preview's, template_store.c) and
 * bl_template_preview_draft — validate, render every part within the
 * context's limits, classify (e-mail, SMS, LMS), mask personal data.
 * The admin UI calls these; it keeps no copy of the rules.
 */
#include "template_private.h"
#include "context_private.h"

/* ---- example data ---- */

static const char sample_billing[] =
	"{\"userName\":\"홍길동\",\"phone\":\"01012345678\",\"email\":\"hong.gildong@example.com\","
	"\"targetMonth\":\"2026-10\",\"statementId\":1,\"usageAmount\":100300,"
	"\"discountAmount\":21250,\"totalDiscount\":21250,\"vatAmount\":6705,"
	"\"billedAmount\":85750,\"totalPrice\":85750,\"truncatedAmount\":5,"
	"\"dueDate\":\"2026-11-25\",\"lines\":["
	"{\"serviceName\":\"5G 프리미어 에센셜\",\"serviceType\":\"PLAN\",\"price\":85000,"
	"\"discount\":21250,\"net\":63750},"
	"{\"serviceName\":\"V컬러링\",\"serviceType\":\"VAS\",\"price\":3300,\"discount\":0,"
	"\"net\":3300},"
	"{\"serviceName\":\"소액결제\",\"serviceType\":\"MCP\",\"price\":12000,\"discount\":0,"
	"\"net\":12000}]}";
static const char sample_notice[] =
	"{\"userName\":\"홍길동\",\"phone\":\"01012345678\",\"email\":\"hong.gildong@example.com\"}";

static json_t *sample_value(json_t *decl);

static json_t *sample_fields(json_t *decls)
{
	json_t *o = json_object();
	const char *k;
	json_t *d;
	json_object_foreach(decls, k, d)
		json_object_set_new(o, k, sample_value(d));
	return o;
}

static json_t *sample_value(json_t *decl)
{
	json_t *ex = json_object_get(decl, "example");
	if (ex)
		return json_incref(ex);
	const char *t = json_string_value(json_object_get(decl, "type"));
	t = t ? t : "string";
	if (!strcmp(t, "number"))
		return json_integer(1);
	if (!strcmp(t, "money"))
		return json_integer(10000);
	if (!strcmp(t, "date"))
		return json_string("2026-11-25");
	if (!strcmp(t, "month"))
		return json_string("2026-10");
	if (!strcmp(t, "boolean") || !strcmp(t, "bool"))
		return json_true();
	if (!strcmp(t, "list")) {
		json_t *items = json_object_get(decl, "items");
		return items ? json_pack("[o]", sample_fields(items)) : json_array();
	}
	if (!strcmp(t, "object")) {
		json_t *fields = json_object_get(decl, "fields");
		return fields ? sample_fields(fields) : json_object();
	}
	return json_string("예시");
}

json_t *bl__tpl_sample(bl_purpose purpose, const char *variables_json)
{
	json_t *m = json_loads(purpose == BL_PURPOSE_NOTICE ? sample_notice : sample_billing, 0, NULL);
	if (!m)
		return NULL;
	json_t *lines = json_object_get(m, "lines");
	if (lines)
		json_object_set(m, "services", lines);
	json_t *decls = variables_json ? json_loads(variables_json, 0, NULL) : NULL;
	if (json_is_object(decls)) {
		json_t *extra = sample_fields(decls);
		json_object_update_missing(m, extra);
		json_decref(extra);
	}
	json_decref(decls);
	return m;
}

int bl_template_sample(bl_purpose purpose, const char *variables_json, char **json)
{
	if (!json)
		return bl__fail(BL_EINVAL, "bl_template_sample: json is NULL");
	*json = NULL;
	if (purpose != BL_PURPOSE_BILLING && purpose != BL_PURPOSE_NOTICE)
		return bl__fail(BL_EINVAL, "bl_template_sample: purpose %d is neither BILLING nor NOTICE",
				(int)purpose);
	json_t *m = bl__tpl_sample(purpose, variables_json);
	*json = m ? json_dumps(m, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(m);
	return *json ? BL_OK : bl__fail(BL_ENOMEM, "out of memory");
}

/* ---- the draft preview ---- */

struct bl_draft_preview {
	char *subject, *text, *html; /* masked; NULL: the part is absent */
	bl_message_kind kind;        /* 0: an SMS too long to send */
	size_t bytes;
};

void bl_draft_preview_free(bl_draft_preview *p)
{
	if (!p)
		return;
	free(p->subject);
	free(p->text);
	free(p->html);
	free(p);
}

const char *bl_draft_preview_subject(const bl_draft_preview *p) { return p ? p->subject : NULL; }
const char *bl_draft_preview_text(const bl_draft_preview *p) { return p ? p->text : NULL; }
const char *bl_draft_preview_html(const bl_draft_preview *p) { return p ? p->html : NULL; }
bl_message_kind bl_draft_preview_kind(const bl_draft_preview *p) { return p ? p->kind : (bl_message_kind)0; }
size_t bl_draft_preview_bytes(const bl_draft_preview *p) { return p ? p->bytes : 0; }

static const char *kind_name(bl_message_kind k)
{
	switch (k) {
	case BL_KIND_EMAIL: return "EMAIL";
	case BL_KIND_SMS: return "SMS";
	case BL_KIND_LMS: return "LMS";
	}
	return "TOO_LONG";
}

int bl_draft_preview_to_json(const bl_draft_preview *p, char **json)
{
	if (!p || !json)
		return bl__fail(BL_EINVAL, "bl_draft_preview_to_json: NULL argument");
	json_t *o = json_pack("{s:s?,s:s?,s:s?,s:s,s:I}", "subject", p->subject, "text", p->text, "html", p->html,
			      "kind", kind_name(p->kind), "bytes", (json_int_t)p->bytes);
	int rc = bl__json_out(o, json);
	json_decref(o);
	return rc;
}

/* Render one part (NULL: absent) into *masked; *plain (when not NULL) keeps
 * the text as rendered, *len its length. */
static int render_part(bl_ctx *ctx, const char *src, const char *model, bool html, char **masked, char **plain,
		       size_t *len)
{
	*masked = NULL;
	*len = 0;
	if (!src)
		return BL_OK;
	char *text = NULL;
	int rc = bl_template_draft_render(ctx, src, model, html, &text);
	if (rc == BL_OK) {
		*len = strlen(text);
		rc = bl_pii_scrub(text, masked);
	}
	if (plain && rc == BL_OK)
		*plain = text;
	else
		free(text);
	return rc;
}

int bl_template_preview_draft(bl_ctx *ctx, const bl_template_opts *draft, const char *sample_json,
			      bl_draft_preview **out)
{
	if (!out)
		return bl__fail(BL_EINVAL, "bl_template_preview_draft: out is NULL");
	*out = NULL;
	if (!ctx || !draft)
		return bl__fail(BL_EINVAL, "bl_template_preview_draft: NULL argument");
	int rc = bl_template_validate(draft);
	if (rc)
		return rc;
	char *def = NULL;
	if (!sample_json || !*sample_json) {
		if ((rc = bl_template_sample(draft->purpose, draft->variables_json, &def)))
			return rc;
		sample_json = def;
	} else {
		json_error_t err;
		json_t *chk = json_loads(sample_json, 0, &err);
		if (!chk)
			return bl__fail(BL_EINVAL, "sample_json: not valid JSON at line %d, column %d: %s", err.line,
					err.column, err.text);
		bool obj = json_is_object(chk);
		json_decref(chk);
		if (!obj)
			return bl__fail(BL_EINVAL, "sample_json: expected a JSON object of variables");
	}
	bl_draft_preview *p = calloc(1, sizeof *p);
	if (!p) {
		free(def);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	size_t nsubject = 0, ntext = 0, nhtml = 0;
	char *text = NULL; /* the SMS as rendered, before masking: what it will weigh */
	if ((rc = render_part(ctx, draft->subject, sample_json, false, &p->subject, NULL, &nsubject)) == BL_OK &&
	    (rc = render_part(ctx, draft->body_text, sample_json, false, &p->text, &text, &ntext)) == BL_OK &&
	    (rc = render_part(ctx, draft->body_html, sample_json, true, &p->html, NULL, &nhtml)) == BL_OK) {
		if (draft->channel == BL_CHANNEL_SMS) {
			rc = bl_sms_bytes(text ? text : "", &p->bytes);
			p->kind = p->bytes <= BL_SMS_MAX_BYTES ? BL_KIND_SMS
				  : p->bytes <= BL_LMS_MAX_BYTES ? BL_KIND_LMS
								 : (bl_message_kind)0;
		} else {
			p->kind = BL_KIND_EMAIL;
			p->bytes = ntext + nhtml;
		}
	}
	free(text);
	free(def);
	if (rc) {
		bl_draft_preview_free(p);
		return rc;
	}
	*out = p;
	return BL_OK;
}
