/*
 * billing-cli template: list | show | versions | edit | preview | enable | disable.
 *
 * "edit" writes the latest version to a temporary file in sections
 * ("=== name", "=== subject", "=== variables_json", "=== body_text",
 * "=== body_html"), opens $VISUAL/$EDITOR on it and saves the result as a new
 * version.  Validation errors are shown at the file's line and column.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"

#define TEMPLATE_USAGE "usage: template list|show|versions|edit|preview|enable|disable (see 'help template')"

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool version_opt(int argc, char **argv, int *i, long long *version, int *ex)
{
	return cli_opt_num(argc, argv, i, "--version", 1, 1000000, version, ex);
}

static void print_template(cli_state *st, const bl_template *t)
{
	const char *b = cli_c(st, C_BOLD), *e = st->color ? "\033[0m" : "";
	printf("%s%s%s v%lld  %s  %s %s  %s  created %s by %s\n", b, bl_template_code(t), e,
	       (long long)bl_template_version(t), bl_template_name(t), bl_template_channel(t), bl_template_purpose(t),
	       bl_template_enabled(t) ? "enabled" : "DISABLED", bl_template_created_at(t), bl_template_created_by(t));
	printf("%svariables%s", b, e);
	const char *k;
	json_t *v, *vars = json_loads(bl_template_variables_json(t) ? bl_template_variables_json(t) : "{}", 0, NULL);
	json_object_foreach(vars, k, v)
		printf(" %s:%s%s", k, json_string_value(json_object_get(v, "type")) ? json_string_value(json_object_get(v, "type")) : "?",
		       json_is_true(json_object_get(v, "required")) ? "*" : "");
	json_decref(vars);
	printf("   (* required)\n");
	if (bl_template_subject(t))
		printf("%ssubject%s   %s\n", b, e, bl_template_subject(t));
	printf("%s--- text%s\n%s\n", b, e, bl_template_body_text(t) ? bl_template_body_text(t) : "");
	if (bl_template_body_html(t))
		printf("%s--- html%s (%zu bytes)\n%s\n", b, e, strlen(bl_template_body_html(t)), bl_template_body_html(t));
}

/* ---- edit ---- */

static const char *const SECTIONS[] = { "name", "subject", "variables_json", "body_text", "body_html" };
#define NSECTIONS 5

typedef struct {
	char *text[NSECTIONS];
	int first_line[NSECTIONS]; /* file line of the section's first content line */
	bool present[NSECTIONS];
} tpl_file;

static void tpl_file_free(tpl_file *f)
{
	for (int i = 0; i < NSECTIONS; i++)
		free(f->text[i]);
}

static char *render_file(const bl_template *t)
{
	bool email = !strcmp(bl_template_channel(t), "EMAIL");
	json_t *vj = json_loads(bl_template_variables_json(t) ? bl_template_variables_json(t) : "{}", 0, NULL);
	char *vars = vj ? json_dumps(vj, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(vj);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		abort();
	fprintf(f, "# Template %s (%s, %s), version %lld: saving makes version %lld.\n"
		   "# Lines before the first '=== ' marker are ignored.  Keep the markers;\n"
		   "# the text of a section runs up to the next marker.  Quit without\n"
		   "# saving to cancel.\n",
		bl_template_code(t), bl_template_channel(t), bl_template_purpose(t), (long long)bl_template_version(t),
		(long long)bl_template_version(t) + 1);
	fprintf(f, "=== name\n%s\n", bl_template_name(t));
	if (email)
		fprintf(f, "=== subject\n%s\n", bl_template_subject(t) ? bl_template_subject(t) : "");
	fprintf(f, "=== variables_json\n%s\n", vars ? vars : "{}");
	fprintf(f, "=== body_text\n%s\n", bl_template_body_text(t) ? bl_template_body_text(t) : "");
	if (email)
		fprintf(f, "=== body_html\n%s\n", bl_template_body_html(t) ? bl_template_body_html(t) : "");
	fclose(f);
	free(vars);
	return out;
}

static void close_section(tpl_file *out, int cur, const char *src, size_t from, size_t to)
{
	size_t l = to - from;
	if (l && src[from + l - 1] == '\n') /* the newline before the next marker */
		l--;
	out->text[cur] = strndup(src + from, l);
}

/* Split the file into sections; false with a message on a bad marker. */
static bool parse_file(const char *path, const char *src, tpl_file *out)
{
	memset(out, 0, sizeof *out);
	int cur = -1, line = 1;
	size_t start = 0;
	for (const char *p = src; *p; line++) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n >= 4 && !strncmp(p, "=== ", 4)) {
			if (cur >= 0)
				close_section(out, cur, src, start, (size_t)(p - src));
			char name[32];
			snprintf(name, sizeof name, "%.*s", (int)(n - 4 < 31 ? n - 4 : 31), p + 4);
			name[strcspn(name, " \t\r")] = '\0';
			cur = -1;
			for (int i = 0; i < NSECTIONS; i++)
				if (!strcmp(name, SECTIONS[i]))
					cur = i;
			if (cur < 0 || out->present[cur]) {
				fprintf(stderr, "%s:%d: %s section '=== %s' (expected one each of name, subject, "
						"variables_json, body_text, body_html)\n",
					path, line, cur < 0 ? "unknown" : "repeated", name);
				tpl_file_free(out);
				return false;
			}
			out->present[cur] = true;
			out->first_line[cur] = line + 1;
			start = nl ? (size_t)(nl + 1 - src) : strlen(src);
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	if (cur >= 0)
		close_section(out, cur, src, start, strlen(src));
	if (!out->present[0] || !out->present[3]) {
		fprintf(stderr, "%s: the '=== name' and '=== body_text' sections are required\n", path);
		tpl_file_free(out);
		return false;
	}
	return true;
}

/* "template 'X' body_text:3:7: msg" → "FILE:LINE:7: msg" at the file's line. */
static void show_error(const char *path, const tpl_file *f, const char *msg)
{
	for (int i = 0; i < NSECTIONS; i++) {
		char pat[40];
		snprintf(pat, sizeof pat, " %s:", SECTIONS[i]);
		const char *at = strstr(msg, pat);
		int l, c, used = 0;
		if (at && f->present[i] && sscanf(at + strlen(pat), "%d:%d: %n", &l, &c, &used) == 2 && used) {
			fprintf(stderr, "%s:%d:%d: %s\n", path, f->first_line[i] + l - 1, c, at + strlen(pat) + used);
			return;
		}
		const char *js = at ? strstr(at, "at line ") : NULL;
		if (js && f->present[i] && sscanf(js, "at line %d, column %d", &l, &c) == 2) {
			fprintf(stderr, "%s:%d:%d: %s\n", path, f->first_line[i] + l - 1, c, at + 1);
			return;
		}
	}
	fprintf(stderr, "%s: %s\n", path, msg);
}

/* $BL_EDITOR (set from $VISUAL/$EDITOR; may hold arguments) on the file. */
static int run_editor(const char *path)
{
	cli_sig_quiet(true); /* Ctrl-C belongs to the editor */
	pid_t pid = fork();
	if (pid == 0) {
		cli_signals_child();
		execl("/bin/sh", "sh", "-c", "exec $BL_EDITOR \"$1\"", "sh", path, (char *)NULL);
		_exit(127);
	}
	int status = -1;
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0) {
		}
	cli_sig_quiet(false);
	return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

static bool ask_again(void)
{
	if (!isatty(STDIN_FILENO))
		return false;
	fprintf(stderr, "Edit again? [Y/n] ");
	char ans[16] = "";
	if (!fgets(ans, sizeof ans, stdin))
		return false;
	return ans[0] != 'n' && ans[0] != 'N';
}

static int edit(cli_state *st, const char *code)
{
	bl_template *t = NULL;
	int rc = bl_template_lookup(cli_ctx(st), code, 0, &t);
	if (rc)
		return cli_fail("template edit", rc);
	char *orig = render_file(t);
	const char *tmp = getenv("TMPDIR");
	char path[512];
	snprintf(path, sizeof path, "%s/billing-%s-XXXXXX.tpl", tmp && *tmp ? tmp : "/tmp", code);
	int fd = mkstemps(path, 4);
	if (fd < 0 || write(fd, orig, strlen(orig)) != (ssize_t)strlen(orig)) {
		if (fd >= 0)
			close(fd);
		free(orig);
		bl_template_free(t);
		return cli_usage("template edit: cannot write a temporary file in %s", tmp ? tmp : "/tmp");
	}
	close(fd);
	const char *ed = getenv("VISUAL");
	if (!ed || !*ed)
		ed = getenv("EDITOR");
	setenv("BL_EDITOR", ed && *ed ? ed : "vi", 1);
	int ex = 0;
	for (;;) {
		int erc = run_editor(path);
		if (erc != 0) {
			ex = cli_usage("template edit: the editor failed (exit %d); nothing saved", erc);
			break;
		}
		char *now = slurp(path);
		if (!now || !strcmp(now, orig)) {
			printf("template %s: no changes, nothing saved\n", code);
			free(now);
			break;
		}
		tpl_file f;
		bool ok = parse_file(path, now, &f);
		free(now);
		if (!ok) {
			ex = EXIT_INVALID;
			if (ask_again())
				continue;
			break;
		}
		bl_template_opts o;
		bl_template_opts_init(&o, BL_TEMPLATE_OPTS_VERSION);
		char actor[80];
		snprintf(actor, sizeof actor, "cli:%s", getenv("USER") ? getenv("USER") : "?");
		o.code = code;
		o.name = f.text[0];
		o.channel = !strcmp(bl_template_channel(t), "SMS") ? BL_CHANNEL_SMS : BL_CHANNEL_EMAIL;
		o.purpose = !strcmp(bl_template_purpose(t), "NOTICE") ? BL_PURPOSE_NOTICE : BL_PURPOSE_BILLING;
		o.subject = f.present[1] ? f.text[1] : NULL;
		o.variables_json = f.text[2] ? f.text[2] : "{}";
		o.body_text = f.text[3];
		o.body_html = f.present[4] ? f.text[4] : NULL;
		o.enabled = bl_template_enabled(t);
		o.created_by = actor;
		int64_t id = 0;
		int version = 0;
		rc = bl_template_validate(&o);
		if (rc == BL_OK)
			rc = bl_template_save(cli_ctx(st), &o, &id, &version);
		if (rc == BL_OK) {
			if (st->json)
				cli_print_obj(json_pack("{s:s,s:i}", "code", code, "version", version));
			else
				printf("template %s: saved version %d\n", code, version);
			ex = 0;
			tpl_file_free(&f);
			break;
		}
		fprintf(stderr, "billing-cli: template edit: not saved:\n");
		if (rc == BL_EINVAL)
			show_error(path, &f, bl_error_last());
		else
			ex = cli_fail("template edit", rc);
		tpl_file_free(&f);
		ex = rc == BL_EINVAL ? EXIT_INVALID : ex;
		if (rc != BL_EINVAL || !ask_again())
			break;
	}
	unlink(path);
	free(orig);
	bl_template_free(t);
	return ex;
}

/* A listing: --json prints the library's JSON, else the table `t`. */
static int array_done(cli_state *st, cli_table *t, bl_template_array *a, const char *what)
{
	int rc = BL_OK;
	if (st->json) {
		char *json = NULL;
		if ((rc = bl_template_array_to_json(a, &json)) == BL_OK)
			puts(json);
		bl_free(json);
	} else {
		cli_table_done(st, t);
	}
	bl_template_array_free(a);
	return rc ? cli_fail(what, rc) : 0;
}

/* ---- preview ---- */

static int preview(cli_state *st, int argc, char **argv)
{
	long long version = 0, stmt = 0;
	const char *sample = NULL;
	int ex = 0;
	for (int i = 1; i < argc && !ex; i++)
		if (!version_opt(argc, argv, &i, &version, &ex) &&
		    !cli_opt_num(argc, argv, &i, "--statement", 1, INT64_MAX, &stmt, &ex) &&
		    !cli_opt_str(argc, argv, &i, "--sample", &sample, &ex))
			return cli_usage("usage: template preview CODE [--version N] [--statement ID | --sample JSON]");
	if (ex)
		return ex;
	char *json;
	int rc = bl_template_preview(cli_ctx(st), argv[0], (int)version, sample, stmt, &json);
	if (rc)
		return cli_fail("template preview", rc);
	if (st->json) {
		puts(json);
	} else {
		json_t *p = json_loads(json, 0, NULL);
		const char *b = cli_c(st, C_BOLD), *e = st->color ? "\033[0m" : "";
		printf("%s%s%s v%lld → %s, %lld bytes\n", b, jstr(p, "code"), e,
		       (long long)json_integer_value(json_object_get(p, "version")), jstr(p, "kind"),
		       (long long)json_integer_value(json_object_get(p, "bytes")));
		if (jstr(p, "subject"))
			printf("%ssubject%s %s\n", b, e, jstr(p, "subject"));
		printf("%s--- text%s\n%s\n", b, e, jstr(p, "text"));
		if (jstr(p, "html"))
			printf("%s--- html%s\n%s\n", b, e, jstr(p, "html"));
		json_decref(p);
	}
	bl_free(json);
	return 0;
}

int cmd_template(cli_state *st, int argc, char **argv)
{
	if (argc < 1)
		return cli_usage(TEMPLATE_USAGE);
	const char *sub = argv[0];
	char key[40];
	snprintf(key, sizeof key, " %.30s ", sub);
	if (!strstr(" list show versions edit preview enable disable ", key))
		return cli_usage("template: unknown sub-command '%s'\n" TEMPLATE_USAGE, sub);
	argc--, argv++;
	char *json = NULL;
	int rc;
	if (!strcmp(sub, "list")) {
		if (argc)
			return cli_usage("usage: template list");
		bl_template_array *a = NULL;
		if ((rc = bl_template_find(cli_ctx(st), &a)))
			return cli_fail("template list", rc);
		static const char *const H[] = { "CODE", "V", "CHANNEL", "PURPOSE", "ENABLED", "UPDATED", "NAME" };
		cli_table *t = st->json ? NULL : cli_table_new(7, H);
		if (t)
			cli_table_right(t, 1);
		for (size_t i = 0; t && i < bl_template_array_count(a); i++) {
			const bl_template *x = bl_template_array_at(a, i);
			char v[32];
			const char *cells[] = { bl_template_code(x), cli_i64(bl_template_version(x), v), bl_template_channel(x),
						bl_template_purpose(x), bl_template_enabled(x) ? "yes" : "no",
						bl_template_created_at(x), bl_template_name(x) };
			cli_table_row(t, cells);
		}
		return array_done(st, t, a, "template list");
	}
	if (argc < 1)
		return cli_usage("usage: template %s CODE", sub);
	const char *code = argv[0];
	if (!strcmp(sub, "show")) {
		long long version = 0;
		int ex = 0;
		for (int i = 1; i < argc && !ex; i++)
			if (!version_opt(argc, argv, &i, &version, &ex))
				return cli_usage("usage: template show CODE [--version N]");
		if (ex)
			return ex;
		bl_template *t = NULL;
		if ((rc = bl_template_lookup(cli_ctx(st), code, (int)version, &t)))
			return cli_fail("template show", rc);
		if (st->json && (rc = bl_template_to_json(t, &json)) == BL_OK)
			puts(json);
		else if (!st->json)
			print_template(st, t);
		bl_free(json);
		bl_template_free(t);
		return rc ? cli_fail("template show", rc) : 0;
	}
	if (!strcmp(sub, "versions")) {
		if (argc != 1)
			return cli_usage("usage: template versions CODE");
		bl_template_array *a = NULL;
		if ((rc = bl_template_find_versions(cli_ctx(st), code, &a)))
			return cli_fail("template versions", rc);
		static const char *const H[] = { "V", "ID", "NAME", "ENABLED", "CREATED", "BY" };
		cli_table *t = st->json ? NULL : cli_table_new(6, H);
		if (t) {
			cli_table_right(t, 0);
			cli_table_right(t, 1);
		}
		for (size_t i = 0; t && i < bl_template_array_count(a); i++) {
			const bl_template *x = bl_template_array_at(a, i);
			char v[32], id[32];
			const char *cells[] = { cli_i64(bl_template_version(x), v), cli_i64(bl_template_id(x), id),
						bl_template_name(x), bl_template_enabled(x) ? "yes" : "no",
						bl_template_created_at(x), bl_template_created_by(x) };
			cli_table_row(t, cells);
		}
		return array_done(st, t, a, "template versions");
	}
	if (!strcmp(sub, "edit")) {
		if (argc != 1)
			return cli_usage("usage: template edit CODE");
		return edit(st, code);
	}
	if (!strcmp(sub, "preview"))
		return preview(st, argc, argv);
	if (!strcmp(sub, "enable") || !strcmp(sub, "disable")) {
		bool on = !strcmp(sub, "enable");
		if (argc != 1)
			return cli_usage("usage: template %s CODE", sub);
		if ((rc = bl_template_set_enabled(cli_ctx(st), code, on)))
			return cli_fail(on ? "template enable" : "template disable", rc);
		if (st->json)
			cli_print_obj(json_pack("{s:s,s:b}", "code", code, "enabled", on));
		else
			printf("template %s: %s\n", code, on ? "enabled" : "disabled");
		return 0;
	}
	return cli_usage("template: unknown sub-command '%s'\n" TEMPLATE_USAGE, sub);
}
