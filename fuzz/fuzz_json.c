/*
 * Fuzz target: JSON that comes from outside, the way the library decodes it.
 *
 *   - bl_message_send's params_json check (a manual send's extra variables),
 *     up to the point where it would touch the database;
 *   - variables_json of a template (bl__tpl_decl_parse);
 *   - a preview's sample_json on the pure render path: the object becomes
 *     the model of fixed e-mail and SMS templates using every filter and
 *     sections (bl__tpl_render, as bl_template_preview and the worker do),
 *     merged like model.c merges a message's params (params never override);
 *   - the rendered e-mail through the mock provider's MIME builder, with the
 *     subscriber name from the data;
 *   - bl_pii_mask / bl_pii_normalize / bl_sms_bytes, bl_month_parse,
 *     bl__parse_i64 and bl_batch_mode_parse on every string value.
 *
 * Properties: the MIME message has CRLF line ends only, header lines of at
 * most 78 characters that are either a header or a folded continuation, and
 * no line over 998 characters; an SMS render is 1..2000 bytes.
 */
#include <stdio.h>
#include <jansson.h>
#include "template_impl.h"
#include "sender_private.h"
#include "fuzz.h"

#define FZ_CHECK(cond)                                                                   \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz_json: property failed: %s (%s:%d)\n", #cond, \
				__FILE__, __LINE__);                                     \
			abort();                                                         \
		}                                                                        \
	} while (0)

static const char EMAIL_SUBJECT[] = "[LG U+] {{targetMonth|month}} {{userName}} 요금 명세서";
static const char EMAIL_HTML[] =
	"<p>{{userName}} 고객님 ({{phone|mask}}, {{email|mask}})</p>\n"
	"<table>\n{{#lines}}\n<tr><td>{{serviceName}}</td><td>{{price|won}}</td>"
	"<td>{{discount|number}}</td><td>{{net|won|raw}}</td></tr>\n{{/lines}}\n"
	"{{^lines}}\n<tr><td>없음</td></tr>\n{{/lines}}\n</table>\n"
	"<p>{{totalPrice|won}} / {{dueDate|date}} / {{dueDate|date:%y.%-m.%-d(%a) %A %%}}"
	" {{extra|raw}} {{#flag}}{{note}}{{/flag}}</p>\n";
static const char EMAIL_TEXT[] =
	"{{userName}} 고객님\n{{#lines}}\n- {{serviceName}}: {{net|won}}\n{{/lines}}\n"
	"청구 금액 {{billedAmount|won}}, 납부 기한 {{dueDate|date:%Y-%m-%d}}\n"
	"{{#services}}{{#lines}}{{serviceType}}{{/lines}}{{/services}}{{note|mask}}\n";
static const char SMS_TEXT[] =
	"[LG U+] {{userName}}님 {{targetMonth|month}} 요금 {{totalPrice|won}} "
	"({{dueDate|date:%-m/%-d}}까지) {{phone|mask}}{{#lines}}.{{/lines}}";

static bl__tpl *email_tpl, *sms_tpl;
static bl_ctx *ctx;

static bl__tpl *compile(bl_channel ch, const char *subject, const char *html, const char *text)
{
	bl_template_opts o;
	bl_template_opts_init(&o, BL_TEMPLATE_OPTS_VERSION);
	o.code = ch == BL_CHANNEL_SMS ? "FUZZ_SMS" : "FUZZ_EMAIL";
	o.name = "fuzz";
	o.channel = ch;
	o.subject = subject;
	o.body_html = html;
	o.body_text = text;
	bl__tpl *t = NULL;
	if (bl__tpl_compile(&o, &t) != BL_OK) {
		fprintf(stderr, "fuzz_json: fixed template does not compile: %s\n", bl_error_last());
		abort();
	}
	return t;
}

static void setup(void)
{
	if (email_tpl)
		return;
	email_tpl = compile(BL_CHANNEL_EMAIL, EMAIL_SUBJECT, EMAIL_HTML, EMAIL_TEXT);
	sms_tpl = compile(BL_CHANNEL_SMS, NULL, NULL, SMS_TEXT);
	bl_config *cfg = NULL;
	if (bl_config_new(&cfg) || bl_ctx_new(&ctx, cfg))
		abort();
	bl_config_free(cfg);
}

/* The MIME message's shape (see the header comment). */
static void check_mime(const char *m, size_t n)
{
	bool in_headers = true;
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (m[i] != '\n')
			continue;
		FZ_CHECK(i > 0 && m[i - 1] == '\r');
		size_t len = i - 1 - start;
		const char *line = m + start;
		FZ_CHECK(len <= 998);
		if (in_headers) {
			if (len == 0) {
				in_headers = false;
			} else {
				FZ_CHECK(len <= 78 || !strncmp(line, "Content-Type:", 13));
				bool cont = line[0] == ' ' || line[0] == '\t';
				const char *colon = memchr(line, ':', len);
				FZ_CHECK(cont || colon);
				for (const char *c = line; !cont && c < colon; c++)
					FZ_CHECK((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
						 *c == '-');
			}
		}
		start = i + 1;
	}
	FZ_CHECK(start == n); /* ends with CRLF */
	FZ_CHECK(!in_headers);
	for (size_t i = 0; i < n; i++)
		FZ_CHECK(m[i] != '\r' || (i + 1 < n && m[i + 1] == '\n'));
}

static void render_all(json_t *model)
{
	bl__rendered r;
	if (bl__tpl_render(email_tpl, model, NULL, &r) == BL_OK) {
		FZ_CHECK(r.kind == BL_KIND_EMAIL);
		FZ_CHECK(!strpbrk(r.subject, "\r\n"));
		json_t *name = json_object_get(model, "userName");
		bl__mime_msg mm = { .message_id = 42, .attempt = 1, .date = 1790000000,
				    .from_name = "LG U+ 고객센터", .from_addr = "billing@example.com",
				    .to_name = json_string_value(name), .to_addr = "user@example.com",
				    .subject = r.subject, .text = r.text, .html = r.html };
		bl_strbuf sb = { 0 };
		if (bl__mime_build(&mm, &sb) == BL_OK)
			check_mime(sb.s, sb.len);
		bl__sb_free(&sb);
		bl__rendered_free(&r);
	}
	if (bl__tpl_render(sms_tpl, model, NULL, &r) == BL_OK) {
		FZ_CHECK(r.bytes >= 1 && r.bytes <= BL_LMS_MAX_BYTES);
		bl__rendered_free(&r);
	}
}

static void strings(json_t *v, int depth)
{
	if (depth > 4)
		return;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *out = NULL;
		size_t bytes;
		for (int k = BL_PII_PHONE; k <= BL_PII_EMAIL; k++) {
			if (bl_pii_mask((bl_pii_kind)k, s, &out) == BL_OK)
				bl_free(out);
			out = NULL;
			if (bl_pii_normalize((bl_pii_kind)k, s, &out) == BL_OK)
				bl_free(out);
			out = NULL;
		}
		(void)bl_sms_bytes(s, &bytes);
		/* the small parsers of values that arrive as strings */
		int y, m;
		int64_t i;
		bl_batch_mode mode;
		if (bl_month_parse(s, &y, &m) == BL_OK)
			FZ_CHECK(y >= 2000 && y <= 2999 && m >= 1 && m <= 12);
		if (bl__parse_i64(s, -1000, 1000, &i) == BL_OK)
			FZ_CHECK(i >= -1000 && i <= 1000);
		(void)bl_batch_mode_parse(s, &mode);
		return;
	}
	const char *key;
	json_t *it;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach(v, key, it)
			strings(it, depth + 1);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, it)
			strings(it, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	setup();
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	/* manual send: the params check runs before anything touches the
	 * database; the empty idempotency key then stops the call */
	int64_t id = 0;
	int rc = bl_message_send(ctx, 1, "FUZZ", s, "", &id);
	FZ_CHECK(rc == BL_EINVAL);

	/* variables_json */
	tpl_decl *d = NULL;
	if (bl__tpl_decl_parse(s, "FUZZ", &d) == BL_OK) {
		const tpl_field *f = bl__tpl_decl_fields(d);
		for (size_t i = 0; f && f[i].name; i++)
			(void)bl__tpl_decl_required(d, i);
		bl__tpl_decl_free(d);
	}

	/* sample_json / params on the render path */
	json_error_t err;
	json_t *sample = json_loads(s, 0, &err);
	if (json_is_object(sample)) {
		render_all(sample);
		/* as a message's params over a subscriber's model: add, never override */
		json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "userName", "홍길동", "phone",
				      "01012345678", "email", "hong@example.com", "targetMonth",
				      "2026-10", "totalPrice", (json_int_t)85750, "dueDate", "2026-11-25");
		if (m && json_object_update_missing(m, sample) == 0) {
			FZ_CHECK(!strcmp(json_string_value(json_object_get(m, "userName")), "홍길동"));
			render_all(m);
		}
		json_decref(m);
		strings(sample, 0);
	}
	json_decref(sample);
	/* any JSON value, as the audit log's detail accepts */
	json_t *any = json_loads(s, JSON_DECODE_ANY, NULL);
	if (any) {
		char *dump = json_dumps(any, JSON_ENCODE_ANY | JSON_COMPACT);
		free(dump);
		json_decref(any);
	}
	free(s);
	return 0;
}
