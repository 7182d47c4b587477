/*
 * billing-cli: the interactive console (GNU readline, callback interface).
 *
 * The prompt shows the database and the month context.  History is kept in
 * $BILLING_CLI_HISTORY or ~/.billing_history.  Tab completes commands,
 * sub-commands, option names and live values (template codes, group codes,
 * batch run ids) fetched from the library and cached for a few seconds.
 * Ctrl-C drops the line being edited, or stops a running command cleanly;
 * Ctrl-D on an empty line leaves.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>
#include <readline/readline.h>
#include <readline/history.h>
#include "cli.h"

#define HISTORY_MAX 1000
#define CACHE_SECONDS 5.0

static cli_state *S;
static bool quit, have_line;
static char *pending;
static char *hist_path;

/* ---- splitting a line into words: blanks separate, '…' "…" and \ quote ---- */

static int split(const char *line, char ***out)
{
	size_t n = strlen(line);
	char **v = calloc(n / 2 + 2, sizeof *v), *buf = malloc(n + 1);
	int argc = 0;
	if (!v || !buf)
		abort();
	const char *p = line;
	char *w = buf;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		v[argc++] = w;
		char q = 0;
		for (; *p && (q || (*p != ' ' && *p != '\t')); p++) {
			if (q && *p == q)
				q = 0;
			else if (!q && (*p == '\'' || *p == '"'))
				q = *p;
			else if (*p == '\\' && p[1] && q != '\'')
				*w++ = *++p;
			else
				*w++ = *p;
		}
		*w++ = '\0';
	}
	v[argc] = NULL;
	if (!argc)
		free(buf);
	*out = v;
	return argc;
}

static void split_free(char **v, int argc)
{
	if (argc)
		free(v[0]);
	free(v);
}

/* ---- candidates ---- */

typedef struct {
	char **v;
	size_t n, cap;
} strlist;

static void sl_add(strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v)
			abort();
	}
	l->v[l->n++] = strdup(s);
}

static void sl_clear(strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

/* Live values from the library, cached briefly. */
typedef struct {
	strlist l;
	double at;
} cache;
static cache c_templates, c_groups, c_runs;

static void fill(cache *c, int (*fetch)(bl_ctx *, char **), const char *key)
{
	if (c->at && cli_now() - c->at < CACHE_SECONDS)
		return;
	char *json = NULL;
	if (fetch(cli_ctx(S), &json) != BL_OK) {
		bl_error_clear();
		return; /* no completion from an unreachable database */
	}
	sl_clear(&c->l);
	json_t *a = json_loads(json, 0, NULL), *r;
	size_t i;
	json_array_foreach(a, i, r) {
		json_t *v = json_object_get(r, key);
		char buf[32];
		if (json_is_integer(v)) {
			snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
			sl_add(&c->l, buf);
		} else if (json_is_string(v))
			sl_add(&c->l, json_string_value(v));
	}
	json_decref(a);
	bl_free(json);
	c->at = cli_now();
}

static int fetch_runs(bl_ctx *ctx, char **json) { return bl_batch_list(ctx, NULL, 30, json); }

static strlist *templates(void)
{
	cache *c = &c_templates;
	if (c->at && cli_now() - c->at < CACHE_SECONDS)
		return &c->l;
	bl_template_array *a = NULL;
	if (bl_template_find(cli_ctx(S), &a) != BL_OK) {
		bl_error_clear();
		return &c->l; /* no completion from an unreachable database */
	}
	sl_clear(&c->l);
	for (size_t i = 0; i < bl_template_array_count(a); i++)
		sl_add(&c->l, bl_template_code(bl_template_array_at(a, i)));
	bl_template_array_free(a);
	c->at = cli_now();
	return &c->l;
}
static strlist *groups(void) { fill(&c_groups, bl_group_list, "code"); return &c_groups.l; }
static strlist *runs(void) { fill(&c_runs, fetch_runs, "id"); return &c_runs.l; }

static void months(strlist *out)
{
	sl_add(out, S->month);
	int y = atoi(S->month), m = atoi(S->month + 5);
	for (int i = 0; i < 12; i++) {
		char b[8];
		if (--m == 0)
			m = 12, y--;
		snprintf(b, sizeof b, "%04u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u);
		sl_add(out, b);
	}
}

static void add_words(strlist *out, const char *words)
{
	char *dup = strdup(words), *save = NULL;
	for (char *w = strtok_r(dup, " ", &save); w; w = strtok_r(NULL, " ", &save))
		sl_add(out, w);
	free(dup);
}

static void add_all(strlist *out, const strlist *in)
{
	for (size_t i = 0; in && i < in->n; i++)
		sl_add(out, in->v[i]);
}

/* Sub-commands: "a|b|c" right after the name in the help line, plus the
 * sub-commands named in the options spec. */
static void subcommands(const cli_command *c, strlist *out)
{
	const char *h = c->help + strlen(c->name);
	while (*h == ' ')
		h++;
	size_t n = strcspn(h, " ");
	if (memchr(h, '|', n)) {
		char buf[256];
		snprintf(buf, sizeof buf, "%.*s", (int)(n < 255 ? n : 255), h);
		for (char *p = buf; *p; p++)
			if (*p == '|')
				*p = ' ';
		add_words(out, buf);
	}
	const char *o = c->options;
	while (o && *o) {
		size_t k = strcspn(o, ":");
		if (!o[k])
			break;
		if (k) {
			char buf[64];
			snprintf(buf, sizeof buf, "%.*s", (int)(k < 63 ? k : 63), o);
			sl_add(out, buf);
		}
		o += k + 1;
		o += strcspn(o, ";");
		if (*o == ';')
			o++;
	}
}

/* Option names of (command, sub-command) from the spec "sub:--a --b;sub2:--c". */
static void options(const cli_command *c, const char *sub, strlist *out)
{
	const char *o = c->options;
	size_t sl = strlen(sub);
	while (o && *o) {
		size_t k = strcspn(o, ":");
		if (!o[k])
			break;
		bool match = k == sl && !strncmp(o, sub, k);
		o += k + 1;
		size_t e = strcspn(o, ";");
		if (match) {
			char buf[512];
			snprintf(buf, sizeof buf, "%.*s", (int)(e < 511 ? e : 511), o);
			add_words(out, buf);
		}
		o += e;
		if (*o == ';')
			o++;
	}
	if (!c->options || !*c->options) {
		/* no spec: every --option its usage text mentions */
		const char *u = c->usage ? c->usage : c->help;
		for (const char *p = strstr(u, "--"); p; p = strstr(p + 2, "--")) {
			size_t k = 2;
			while ((p[k] >= 'a' && p[k] <= 'z') || p[k] == '-')
				k++;
			if (k > 2) {
				char buf[64];
				snprintf(buf, sizeof buf, "%.*s", (int)(k < 63 ? k : 63), p);
				sl_add(out, buf);
			}
		}
	}
	sl_add(out, "--json");
}

static bool is_flag(const char *opt)
{
	return !strcmp(opt, "--reveal") || !strcmp(opt, "--auto") || !strcmp(opt, "--json");
}

/* Values of an option. */
static bool option_values(const char *cmd, const char *opt, strlist *out)
{
	if (!strcmp(opt, "--status") && !strcmp(cmd, "reservation"))
		add_words(out, "WAITING PROCESSING SENT CANCELED");
	else if (!strcmp(opt, "--template"))
		add_all(out, templates());
	else if (!strcmp(opt, "--group"))
		add_all(out, groups());
	else if (!strcmp(opt, "--run"))
		add_all(out, runs());
	else if (!strcmp(opt, "--month"))
		months(out);
	else if (!strcmp(opt, "--mode"))
		add_words(out, "normal failed-only dry-run reissue");
	else if (!strcmp(opt, "--status"))
		add_words(out, "WAITING PROCESSING SUCCESS FAILED EXCEEDED DEAD BOUNCED SUPPRESSED DELIVERED UNDELIVERED");
	else if (!strcmp(opt, "--channel"))
		add_words(out, "EMAIL SMS");
	else if (!strcmp(opt, "--role"))
		add_words(out, "ADMIN OPERATOR VIEWER");
	else
		return false;
	return true;
}

/* Values of the pos-th positional argument after the sub-command. */
static void positional(const char *cmd, const char *sub, int pos, strlist *out)
{
	static const char *const TPL = " show versions edit preview enable disable ";
	static const char *const GRP = " show members update delete add remove ";
	static const char *const RUN = " status stop resume join ";
	char key[48];
	snprintf(key, sizeof key, " %s ", sub);
	if (!strcmp(cmd, "template") && pos == 0 && strstr(TPL, key))
		add_all(out, templates());
	else if (!strcmp(cmd, "group") && pos == 0 && strstr(GRP, key))
		add_all(out, groups());
	else if (!strcmp(cmd, "batch") && pos == 0 && strstr(RUN, key))
		add_all(out, runs());
	else if (!strcmp(cmd, "statement") && !strcmp(sub, "show") && pos == 1)
		months(out);
}

static strlist cand;
static size_t cand_i;

static char *generator(const char *text, int state)
{
	if (!state)
		cand_i = 0;
	size_t n = strlen(text);
	while (cand_i < cand.n) {
		const char *c = cand.v[cand_i++];
		if (!strncmp(c, text, n))
			return strdup(c);
	}
	return NULL;
}

static char **complete(const char *text, int start, int end)
{
	(void)end;
	rl_attempted_completion_over = 1; /* never file names */
	sl_clear(&cand);
	char *head = strndup(rl_line_buffer, (size_t)start), **w;
	int n = split(head, &w);
	char *words = n ? w[0] : NULL; /* the buffer split() allocated */
	free(head);
	/* drop --json from the words that decide the context */
	int k = 0;
	for (int i = 0; i < n; i++)
		if (strcmp(w[i], "--json"))
			w[k++] = w[i];
	const cli_command *c = k ? cli_find_command(w[0]) : NULL;
	if (k == 0) {
		for (size_t i = 0; i < NCOMMANDS; i++)
			sl_add(&cand, COMMANDS[i].name);
		add_words(&cand, "month exit quit");
	} else if (!strcmp(w[0], "help") && k == 1) {
		for (size_t i = 0; i < NCOMMANDS; i++)
			sl_add(&cand, COMMANDS[i].name);
	} else if (!strcmp(w[0], "month") && k == 1) {
		months(&cand);
	} else if (c) {
		strlist subs = { 0 };
		subcommands(c, &subs);
		bool has_sub = false;
		for (size_t i = 0; k > 1 && i < subs.n; i++)
			has_sub |= !strcmp(subs.v[i], w[1]);
		const char *sub = has_sub ? w[1] : "";
		const char *prev = w[k - 1];
		if (k >= 2 && prev[0] == '-' && !is_flag(prev) && !strchr(prev, '=') && option_values(c->name, prev, &cand)) {
			/* the value of an option */
		} else if (prev[0] == '-' && !is_flag(prev) && k >= 2 && !strchr(prev, '=')) {
			/* a value we cannot guess */
		} else if (k == 1 && subs.n && text[0] != '-') {
			add_all(&cand, &subs);
		} else if (text[0] == '-') {
			options(c, sub, &cand);
		} else {
			/* positional: count the words after the sub-command that are not options */
			int pos = 0;
			for (int i = has_sub ? 2 : 1; i < k; i++) {
				if (w[i][0] == '-') {
					if (!is_flag(w[i]) && !strchr(w[i], '='))
						i++; /* its value */
					continue;
				}
				pos++;
			}
			positional(c->name, sub, pos, &cand);
		}
		sl_clear(&subs);
		free(subs.v);
	}
	free(words);
	free(w);
	return cand.n ? rl_completion_matches(text, generator) : NULL;
}

/* ---- the loop ---- */

static void on_line(char *line)
{
	rl_callback_handler_remove();
	if (!line) { /* Ctrl-D */
		quit = true;
		fputs("\n", stdout);
		return;
	}
	pending = line;
	have_line = true;
}

static void build_prompt(char *out, size_t n)
{
	const char *db = bl_config_get(bl_ctx_config(cli_ctx(S)), "MYSQL_DATABASE");
	if (S->color) /* \001 \002 tell readline the escapes take no room */
		snprintf(out, n, "\001\033[1;36m\002%s\001\033[0m\002[\001\033[33m\002%s\001\033[0m\002]> ", db,
			 S->month);
	else
		snprintf(out, n, "%s[%s]> ", db, S->month);
}

/* The history (and its file) keeps phone numbers and e-mail addresses typed
 * in a command masked (bl_pii_scrub): it is personal data on disk. */
static void remember(const char *line)
{
	char *safe = NULL;
	if (bl_pii_scrub(line, &safe) != BL_OK)
		return;
	HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
	if (!last || strcmp(last->line, safe)) {
		add_history(safe);
		if (hist_path && append_history(1, hist_path) != 0)
			write_history(hist_path);
	}
	bl_free(safe);
}

static int run_line(char *line)
{
	char **w;
	int n = split(line, &w), rc = 0;
	if (n == 0) {
		split_free(w, n);
		return 0;
	}
	if (!strcmp(w[0], "exit") || !strcmp(w[0], "quit")) {
		quit = true;
	} else if (!strcmp(w[0], "month")) {
		if (n == 1)
			printf("month context: %s\n", S->month);
		else if (n > 2 || bl_month_parse(w[1], NULL, NULL) != BL_OK)
			rc = cli_usage("usage: month YYYY-MM (%s)", bl_error_last());
		else
			snprintf(S->month, sizeof S->month, "%s", w[1]);
	} else {
		rc = cli_dispatch(S, n, w);
	}
	split_free(w, n);
	return rc;
}

static char *history_file(void)
{
	const char *h = getenv("BILLING_CLI_HISTORY");
	if (h && *h)
		return strdup(h);
	const char *home = getenv("HOME");
	if (!home || !*home)
		return NULL;
	size_t n = strlen(home) + 32;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/.billing_history", home);
	return p;
}

int cli_repl(cli_state *st)
{
	S = st;
	cli_ctx(st); /* a configuration error ends here, before the prompt */
	hist_path = history_file();
	using_history();
	stifle_history(HISTORY_MAX);
	if (hist_path)
		read_history(hist_path);
	rl_readline_name = "billing";
	rl_attempted_completion_function = complete;
	rl_completer_quote_characters = "\"'";
	rl_catch_signals = 0;  /* the signal thread reports Ctrl-C (main.c) */
	rl_catch_sigwinch = 0;
	const bl_config *cfg = bl_ctx_config(st->ctx);
	printf("billing-cli %s — database %s on %s:%s.  'help' lists the commands, Tab completes,\n"
	       "Ctrl-C drops the line or stops a running command, Ctrl-D leaves.\n",
	       bl_version(), bl_config_get(cfg, "MYSQL_DATABASE"), bl_config_get(cfg, "MYSQL_HOST"),
	       bl_config_get(cfg, "MYSQL_PORT"));
	int last = 0;
	char prompt[256];
	int sfd = cli_sig_fd();
	while (!quit) {
		build_prompt(prompt, sizeof prompt);
		have_line = false;
		cli_line_interrupted = 0;
		cli_sig_line_mode(true);
		rl_callback_handler_install(prompt, on_line);
		while (!have_line && !quit) {
			fd_set fds;
			FD_ZERO(&fds);
			FD_SET(STDIN_FILENO, &fds);
			if (sfd >= 0)
				FD_SET(sfd, &fds);
			int r = select((sfd > STDIN_FILENO ? sfd : STDIN_FILENO) + 1, &fds, NULL, NULL, NULL);
			if (r < 0 && errno != EINTR) {
				rl_callback_handler_remove();
				quit = true;
				break;
			}
			if (sfd >= 0 && r > 0 && FD_ISSET(sfd, &fds)) {
				char drain[64];
				while (read(sfd, drain, sizeof drain) > 0) {
				}
			}
			if (cli_winch) {
				cli_winch = 0;
				rl_resize_terminal();
			}
			if (cli_line_interrupted == 2) { /* SIGTERM */
				rl_callback_handler_remove();
				quit = true;
				break;
			}
			if (cli_line_interrupted) { /* Ctrl-C: drop the line, fresh prompt */
				cli_line_interrupted = 0;
				rl_callback_sigcleanup();
				rl_replace_line("", 0);
				rl_point = rl_end = 0;
				fputs("^C", rl_outstream ? rl_outstream : stdout);
				rl_crlf();
				rl_on_new_line();
				rl_redisplay();
				continue;
			}
			if (r > 0 && FD_ISSET(STDIN_FILENO, &fds))
				rl_callback_read_char();
		}
		cli_sig_line_mode(false);
		if (!have_line)
			continue;
		if (*pending)
			remember(pending);
		last = run_line(pending);
		free(pending);
		pending = NULL;
		fflush(stdout);
		fflush(stderr);
	}
	if (hist_path)
		history_truncate_file(hist_path, HISTORY_MAX);
	free(hist_path);
	sl_clear(&cand);
	free(cand.v);
	cache *cs[] = { &c_templates, &c_groups, &c_runs };
	for (size_t i = 0; i < 3; i++) {
		sl_clear(&cs[i]->l);
		free(cs[i]->l.v);
	}
	(void)last;
	return 0;
}
