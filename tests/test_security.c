/*
 * Security bounds that need no server (issue: security review findings):
 * template renders are bounded in steps and output and refuse a list opened
 * inside itself; the PII scrubber is linear on hostile text and capped.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include <time.h>
#include "template_impl.h"

#define EXPECT_MSG(needle) \
	cr_expect(strstr(bl_error_last(), (needle)), "message '%s' lacks '%s'", bl_error_last(), (needle))

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* {"a":[0..n),"b":[0..n),…}: `depth` lists of n items; sections {{#a}}{{#b}}…
 * nest them (each finds the next list in the outer scope). */
static char *nested_lists(int depth, int n)
{
	json_t *o = json_object();
	for (int d = 0; d < depth; d++) {
		json_t *arr = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(arr, json_integer(i));
		char key[2] = { (char)('a' + d), 0 };
		json_object_set_new(o, key, arr);
	}
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static char *nested_sections(int depth, const char *same)
{
	static char src[1024];
	size_t n = 0;
	for (int d = 0; d < depth; d++)
		n += (size_t)snprintf(src + n, sizeof src - n, "{{#%s}}", same ? same : (char[]){ (char)('a' + d), 0 });
	n += (size_t)snprintf(src + n, sizeof src - n, "x");
	for (int d = depth - 1; d >= 0; d--)
		n += (size_t)snprintf(src + n, sizeof src - n, "{{/%s}}", same ? same : (char[]){ (char)('a' + d), 0 });
	return src;
}

/* The review's case: depth 6 × 30 items (729 MB in 17 s before) stops at
 * the step limit, fast, with an error naming it. */
Test(render_bounds, deep_distinct_lists_stop_at_the_step_limit)
{
	char *data = nested_lists(6, 30), *out = NULL;
	double t0 = mono_s();
	int rc = bl_template_render(nested_sections(6, NULL), data, false, &out);
	double took = mono_s() - t0;
	cr_expect_eq(rc, BL_EINVAL);
	cr_expect_null(out);
	EXPECT_MSG("BILLING_TEMPLATE_MAX_STEPS");
	EXPECT_MSG("1,000,000");
	cr_expect_lt(took, 2.0, "a bounded render took %.2f s", took);
	free(data);

	/* depth 16 × 3 (5.7 s before) */
	data = nested_lists(16, 3);
	t0 = mono_s();
	rc = bl_template_render(nested_sections(16, NULL), data, false, &out);
	took = mono_s() - t0;
	cr_expect_eq(rc, BL_EINVAL);
	EXPECT_MSG("steps");
	cr_expect_lt(took, 2.0, "a bounded render took %.2f s", took);
	free(data);
}

Test(render_bounds, a_list_inside_itself_is_refused)
{
	/* at render time: the same array opened again (no model needed) */
	char *out = NULL;
	cr_expect_eq(bl_template_render("{{#a}}{{#a}}{{#a}}x{{/a}}{{/a}}{{/a}}", "{\"a\":[1,2,3]}", false, &out),
		     BL_EINVAL);
	cr_expect_null(out);
	EXPECT_MSG("{{#a}} opens a list that is already open");
	EXPECT_MSG("line 1:7");
	/* the same name over a different list (an item's own list) is fine */
	cr_expect_eq(bl_template_render("{{#a}}[{{#a}}{{v}}{{/a}}]{{/a}}",
					"{\"a\":[{\"a\":[{\"v\":1},{\"v\":2}]},{\"a\":[]}]}", false, &out),
		     BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(out, "[12][]");
	bl_free(out);

	/* at save time: the checker knows the model's lists */
	bl_template_opts o;
	bl_template_opts_init(&o, BL_TEMPLATE_OPTS_VERSION);
	o.code = "NESTED";
	o.name = "nested";
	o.channel = BL_CHANNEL_SMS;
	o.purpose = BL_PURPOSE_BILLING;
	o.body_text = "{{#lines}}{{#lines}}{{serviceName}}{{/lines}}{{/lines}}";
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	EXPECT_MSG("{{#lines}} is inside {{#lines}} already");
	o.body_text = "{{#lines}}{{serviceName}} {{/lines}}{{#lines}}{{net|won}} {{/lines}}";
	cr_expect_eq(bl_template_validate(&o), BL_OK, "%s", bl_error_last());
}

Test(render_bounds, output_is_capped)
{
	/* 2,000 items × 1,000 bytes = 2 MB: over the 1 MiB default */
	json_t *arr = json_array();
	for (int i = 0; i < 2000; i++)
		json_array_append_new(arr, json_integer(i));
	json_t *obj = json_pack("{s:o}", "a", arr);
	char *data = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	char src[1100];
	memcpy(src, "{{#a}}", 6);
	memset(src + 6, 'x', 1000);
	memcpy(src + 1006, "{{/a}}", 7);
	char *out = NULL;
	cr_expect_eq(bl_template_render(src, data, false, &out), BL_EINVAL);
	cr_expect_null(out);
	EXPECT_MSG("over 1,048,576 bytes");
	EXPECT_MSG("BILLING_TEMPLATE_MAX_OUTPUT");

	/* a context's limits apply to drafts */
	bl_config *cfg = NULL;
	bl_ctx *ctx = NULL;
	cr_assert_eq(bl_config_new(&cfg), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_config_set(cfg, "BILLING_TEMPLATE_MAX_OUTPUT", "5000"), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_ctx_new(&ctx, cfg), BL_OK, "%s", bl_error_last());
	cr_expect_eq(bl_template_draft_render(ctx, src, "{\"a\":[1,2,3,4,5]}", false, &out), BL_OK, "%s",
		     bl_error_last());
	cr_expect_eq(strlen(out), 5000);
	bl_free(out);
	out = NULL;
	cr_expect_eq(bl_template_draft_render(ctx, src, "{\"a\":[1,2,3,4,5,6]}", false, &out), BL_EINVAL);
	cr_expect_null(out);
	EXPECT_MSG("over 5,000 bytes");
	cr_expect_eq(bl_config_set(cfg, "BILLING_TEMPLATE_MAX_STEPS", "0"), BL_ECONFIG);
	cr_expect_eq(bl_config_set(cfg, "BILLING_TEMPLATE_MAX_OUTPUT", "-1"), BL_ECONFIG);
	bl_ctx_free(ctx);
	bl_config_free(cfg);
	free(data);
}

/* ---- the scrubber ---- */

static double scrub_time(const char *unit, size_t bytes)
{
	size_t ul = strlen(unit);
	char *in = malloc(bytes + 1);
	for (size_t i = 0; i < bytes; i++)
		in[i] = unit[i % ul];
	in[bytes] = '\0';
	double best = 1e9;
	for (int k = 0; k < 3; k++) {
		char *out = NULL;
		double t0 = mono_s();
		cr_assert_eq(bl_pii_scrub(in, &out), BL_OK);
		double t = mono_s() - t0;
		best = t < best ? t : best;
		bl_free(out);
		if (t > 1.0)
			break; /* it failed already */
	}
	free(in);
	return best;
}

Test(scrub, linear_on_hostile_runs)
{
	static const char *const units[] = { "0-", "0 ", "0.", "+0-", "a.", "a@", "0", "a@b.", "-0" };
	for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
		double small = scrub_time(units[u], 32 << 10), big = scrub_time(units[u], 256 << 10);
		/* 8 × the input: linear ≈ 8 ×, quadratic 64 ×; 128 KB took 2.25 s before */
		cr_expect_lt(big, 0.5, "'%s' × 256 KiB took %.3f s", units[u], big);
		cr_expect(big < small * 32 + 0.01, "'%s': 32 KiB %.4f s, 256 KiB %.4f s: not linear", units[u], small, big);
	}
}

Test(scrub, results_and_cap)
{
	char *out = NULL;
	cr_assert_eq(bl_pii_scrub("tel 010-1234-5678, 01098765432, +82 10 1234 5678", &out), BL_OK);
	cr_expect_str_eq(out, "tel 010-****-5678, 010****5432, +82 1* **** 5678");
	bl_free(out);
	/* a run of more than 15 digits is no phone number; its tail still can be */
	cr_assert_eq(bl_pii_scrub("0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0", &out), BL_OK);
	cr_expect_str_eq(out, "0-0-0-0-0-0-0-0-*-*-*-*-*-*-*-*-0-0-0-0");
	bl_free(out);

	size_t big = BL__PII_SCRUB_MAX + 100;
	char *in = malloc(big + 1);
	memset(in, 'x', big);
	memcpy(in, "010-1234-5678 ", 14);
	in[big] = '\0';
	cr_assert_eq(bl_pii_scrub(in, &out), BL_OK);
	cr_expect_eq(strncmp(out, "010-****-5678 x", 15), 0);
	cr_expect_eq(strlen(out), BL__PII_SCRUB_MAX + strlen(" [cut]"));
	cr_expect_str_eq(out + BL__PII_SCRUB_MAX, " [cut]");
	bl_free(out);
	free(in);

	char small[16];
	cr_expect_eq(bl__pii_scrub_buf("call 010-1234-5678 now", small, sizeof small), 15);
	cr_expect_str_eq(small, "call 010-****-5");
}
