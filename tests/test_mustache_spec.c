/*
 * The public Mustache specification's core modules (interpolation,
 * sections, inverted, comments) through the template engine, rendering in
 * HTML mode as the spec asks (docs/templates.md, "Mustache").
 *
 * The spec's JSON files are not part of this repository.  They are looked
 * for in, first found wins:
 *   $BL_MUSTACHE_SPEC_DIR
 *   BL_SOURCE_DIR/../shared/mustache-spec   (a checkout beside shared/)
 *   BL_SOURCE_DIR/../../shared/mustache-spec
 * When none holds them the test is skipped (TAP "1..0 # SKIP"), never failed.  The
 * rules themselves are also tested without the spec in test_template.c.
 *
 * Output: TAP, one line per case; exit 0 when every case passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>
#include "template_impl.h"

#ifndef BL_SOURCE_DIR
#define BL_SOURCE_DIR "."
#endif

static const char *const modules[] = { "interpolation", "sections", "inverted", "comments" };

static bool has_spec(const char *dir)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s.json", dir, modules[0]);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *find_spec(void)
{
	static const char *const rel[] = { BL_SOURCE_DIR "/../shared/mustache-spec",
					   BL_SOURCE_DIR "/../../shared/mustache-spec" };
	const char *env = getenv("BL_MUSTACHE_SPEC_DIR");
	if (env && *env)
		return has_spec(env) ? env : NULL;
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++)
		if (has_spec(rel[i]))
			return rel[i];
	return NULL;
}

/* Print s with control characters visible, for failure diagnostics. */
static void show(const char *label, const char *s, size_t n)
{
	printf("#   %s: \"", label);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\r')
			fputs("\\r", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '"' || c == '\\')
			printf("\\%c", c);
		else
			putchar(c);
	}
	puts("\"");
}

/* One case: 1 when it passes. */
static int run_case(const char *module, json_t *tc, int num)
{
	const char *name = json_string_value(json_object_get(tc, "name"));
	json_t *tpl = json_object_get(tc, "template"), *want = json_object_get(tc, "expected");
	json_t *data = json_object_get(tc, "data");
	if (!json_is_string(tpl) || !json_is_string(want)) {
		printf("not ok %d - %s: %s: malformed case\n", num, module, name ? name : "?");
		return 0;
	}
	tpl_prog *p = NULL;
	char *out = NULL;
	size_t len = 0;
	int rc = bl__prog_compile(json_string_value(tpl), NULL, "spec", &p);
	if (rc == BL_OK)
		rc = bl__prog_render(p, data, TM_HTML, NULL, &out, &len);
	bl__prog_free(p);
	bool ok = rc == BL_OK && len == json_string_length(want) &&
		  memcmp(out, json_string_value(want), len) == 0;
	printf("%s %d - %s: %s\n", ok ? "ok" : "not ok", num, module, name ? name : "?");
	if (!ok) {
		show("template", json_string_value(tpl), json_string_length(tpl));
		show("expected", json_string_value(want), json_string_length(want));
		if (rc == BL_OK)
			show("got     ", out, len);
		else
			printf("#   error: %s\n", bl_error_last());
	}
	free(out);
	return ok;
}

int main(void)
{
	const char *dir = find_spec();
	if (!dir) {
		printf("1..0 # SKIP the Mustache spec is not here: set BL_MUSTACHE_SPEC_DIR or put it at "
		       "%s/../shared/mustache-spec\n", BL_SOURCE_DIR);
		return 0; /* TAP: "1..0 # SKIP" is a skip */
	}
	int num = 0, failed = 0;
	char summary[512] = "";
	size_t sl = 0;
	for (size_t m = 0; m < sizeof modules / sizeof modules[0]; m++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s.json", dir, modules[m]);
		json_error_t err;
		json_t *root = json_load_file(path, 0, &err);
		json_t *tests = json_object_get(root, "tests");
		if (!json_is_array(tests)) {
			printf("not ok %d - %s: cannot read %s: %s\n", ++num, modules[m], path,
			       root ? "no \"tests\" array" : err.text);
			failed++;
			json_decref(root);
			continue;
		}
		size_t i, pass = 0;
		json_t *tc;
		json_array_foreach(tests, i, tc) {
			int ok = run_case(modules[m], tc, ++num);
			pass += (size_t)ok;
			failed += !ok;
		}
		sl += (size_t)snprintf(summary + sl, sizeof summary - sl, "%s%s %zu/%zu", m ? ", " : "",
				       modules[m], pass, json_array_size(tests));
		json_decref(root);
	}
	printf("1..%d\n# spec at %s\n# passed: %s\n", num, dir, summary);
	return failed ? 1 : 0;
}
