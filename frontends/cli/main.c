/* billing-cli: one-shot commands over libbilling. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "cli.h"

static const struct {
	const char *name;
	cli_cmd_fn fn;
	const char *help;
} COMMANDS[] = {
	{ "migrate", cmd_migrate, "apply database migrations" },
	{ "seed", cmd_seed, "generate demo data: --users N --month YYYY-MM [--seed S]" },
	{ "batch", cmd_batch, "batch run|status|list|stop|resume|recover" },
	{ "statement", cmd_statement, "statement show USER_ID MONTH" },
	{ "user", cmd_user, "user show ID [--reveal] | user find --phone P | --email E" },
	{ "config", cmd_config, "config show | config genkey" },
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

bl_ctx *cli_ctx(cli_state *st)
{
	if (!st->ctx && bl_ctx_new(&st->ctx, NULL) != BL_OK) {
		cli_fail("configuration", bl_error_last_code());
		exit(EXIT_INVALID);
	}
	return st->ctx;
}

int cli_fail(const char *what, int code)
{
	fprintf(stderr, "billing-cli: %s: %s\n", what, bl_error_last()[0] ? bl_error_last()
									  : bl_strerror(code));
	switch (code) {
	case BL_EINVAL: case BL_ECONFIG: case BL_EOVERFLOW: return EXIT_INVALID;
	case BL_ENOTFOUND: return EXIT_NOTFOUND;
	case BL_ECONFLICT: return EXIT_CONFLICT;
	case BL_EDB: case BL_EREDIS: return EXIT_BACKEND;
	case BL_ESTOPPED: return EXIT_STOPPED;
	default: return EXIT_FAILURE_;
	}
}

int cli_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("billing-cli: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\n", stderr);
	va_end(ap);
	return EXIT_USAGE;
}

bool cli_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n))
		return false;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return true;
	}
	if (argv[*i][n] != '\0')
		return false;
	if (*i + 1 >= argc) {
		*val = NULL;
		return true;
	}
	*val = argv[++*i];
	return true;
}

void cli_print_json(const char *json)
{
	json_error_t err;
	json_t *j = json_loads(json, 0, &err);
	if (!j) {
		puts(json);
		return;
	}
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(s ? s : json);
	free(s);
	json_decref(j);
}

const char *cli_won(int64_t v, char buf[32])
{
	char tmp[32];
	bool neg = v < 0;
	uint64_t u = neg ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
	int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)u), o = 0;
	if (neg)
		buf[o++] = '-';
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: billing-cli [--json] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].help);
	fprintf(f, "\nSettings come from the environment and ./.env (MYSQL_*, REDIS_*, BILLING_*).\n");
}

int main(int argc, char **argv)
{
	cli_state st = { 0 };
	const char *nc = getenv("NO_COLOR");
	st.tty = isatty(STDOUT_FILENO) && !(nc && *nc);
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json"))
			st.json = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("billing-cli %s\n", bl_version());
			return 0;
		} else
			return cli_usage("unknown option '%s' (see --help)", argv[i]);
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	int rc = -1;
	for (size_t c = 0; c < NCOMMANDS; c++)
		if (!strcmp(COMMANDS[c].name, argv[i])) {
			rc = COMMANDS[c].fn(&st, argc - i - 1, argv + i + 1);
			break;
		}
	if (rc < 0)
		rc = cli_usage("unknown command '%s' (see --help)", argv[i]);
	bl_ctx_free(st.ctx);
	return rc;
}
