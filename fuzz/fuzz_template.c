/*
 * Fuzz target: the template language.  bl_template_validate (compiler,
 * validator, variables_json), bl_template_render (the pure renderer) and the
 * worker's render path (bl__tpl_compile + bl__tpl_render) on arbitrary
 * sources and data.
 *
 * Input: one flag byte, then NUL-separated parts:
 *   subject \0 body_html \0 body_text \0 variables_json \0 data_json
 * flags: bit 0 SMS (else EMAIL), bit 1 NOTICE (else BILLING), bit 2 render
 * body_text as HTML with bl_template_render.
 *
 * Properties checked beyond "no crash, no leak, no UB":
 *   - a template that validates renders a subject without CR/LF, whatever
 *     the data (no header injection);
 *   - a rendered SMS/LMS is 1..2000 bytes and its kind matches its size;
 *   - HTML rendering of a tag never lets a '<' from the data through.
 */
#include <stdio.h>
#include <jansson.h>
#include "template_impl.h"
#include "fuzz.h"

#define FZ_CHECK(cond)                                                                    \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "fuzz_template: property failed: %s (%s:%d)\n", #cond, \
				__FILE__, __LINE__);                                      \
			abort();                                                          \
		}                                                                         \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	uint8_t flags = data[0];
	char *p[5];
	fz_split(data + 1, size - 1, p, 5);

	bl_template_opts o;
	bl_template_opts_init(&o, BL_TEMPLATE_OPTS_VERSION);
	o.code = "FUZZ";
	o.name = "fuzz";
	o.channel = (flags & 1) ? BL_CHANNEL_SMS : BL_CHANNEL_EMAIL;
	o.purpose = (flags & 2) ? BL_PURPOSE_NOTICE : BL_PURPOSE_BILLING;
	o.subject = p[0];
	o.body_html = p[1];
	o.body_text = p[2];
	o.variables_json = p[3];
	const char *data_json = p[4];
	bool valid = bl_template_validate(&o) == BL_OK;

	/* the pure renderer, on every part */
	char *out = NULL;
	for (int i = 0; i < 3; i++) {
		if (!p[i])
			continue;
		if (bl_template_render(p[i], data_json, i == 1 || (flags & 4), &out) == BL_OK)
			free(out);
		out = NULL;
	}

	/* the worker's path: compile once, render with a model */
	bl__tpl *t = NULL;
	json_t *model = data_json ? json_loads(data_json, 0, NULL) : NULL;
	if (bl__tpl_compile(&o, &t) == BL_OK) {
		bl__rendered r;
		if (bl__tpl_render(t, model, NULL, &r) == BL_OK) {
			if (o.channel == BL_CHANNEL_SMS) {
				FZ_CHECK(r.bytes >= 1 && r.bytes <= BL_LMS_MAX_BYTES);
				FZ_CHECK(r.kind == (r.bytes <= BL_SMS_MAX_BYTES ? BL_KIND_SMS : BL_KIND_LMS));
			} else {
				FZ_CHECK(r.kind == BL_KIND_EMAIL);
			}
			if (valid && r.subject)
				FZ_CHECK(!strpbrk(r.subject, "\r\n"));
			bl__rendered_free(&r);
		}
		bl__tpl_free(t);
	}

	/* escaping: one tag rendered as HTML never outputs a raw '<' */
	if (json_is_object(model)) {
		const char *key;
		json_t *v;
		json_object_foreach(model, key, v) {
			char src[96];
			size_t kl = strlen(key);
			if (kl == 0 || kl > 64 || strspn(key, "abcdefghijklmnopqrstuvwxyz"
						 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != kl ||
			    (key[0] >= '0' && key[0] <= '9'))
				continue; /* not a plain variable name */
			snprintf(src, sizeof src, "{{%s}}", key);
			if (bl_template_render(src, data_json, true, &out) == BL_OK) {
				FZ_CHECK(!strchr(out, '<') && !strchr(out, '>') && !strchr(out, '"'));
				free(out);
			}
			out = NULL;
			break;
		}
	}
	json_decref(model);
	fz_free(p, 5);
	return 0;
}
