/* billing-cli: the context, failures and exit codes, option and number parsing. */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

bl_ctx *cli_ctx(cli_state *st)
{
	if (!st->ctx && bl_ctx_new(&st->ctx, NULL) != BL_OK) {
		cli_fail("configuration", bl_error_last_code());
		exit(EXIT_INVALID);
	}
	if (!bl_ctx_actor(st->ctx)) {
		/* the library audits each change under "cli:" and the OS user */
		struct passwd *pw = getpwuid(geteuid());
		char actor[128];
		snprintf(actor, sizeof actor, "cli:%s", pw && pw->pw_name ? pw->pw_name : "?");
		bl_ctx_set_actor(st->ctx, actor);
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
	case BL_EAUTH: return EXIT_AUTH;
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

bool cli_opt_str(int argc, char **argv, int *i, const char *name, const char **out, int *ex)
{
	const char *v;
	if (!cli_opt(argc, argv, i, name, &v))
		return false;
	if (!v)
		*ex = cli_usage("%s needs a value", name);
	else
		*out = v;
	return true;
}

bool cli_num(const char *s, long long min, long long max, long long *out)
{
	if (!s || !*s || *s == '+' || *s == ' ')
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool cli_opt_num(int argc, char **argv, int *i, const char *name, long long min, long long max,
		 long long *out, int *ex)
{
	const char *v;
	if (!cli_opt(argc, argv, i, name, &v))
		return false;
	if (!cli_num(v, min, max, out))
		*ex = cli_usage("%s '%s': expected a whole number %lld .. %lld", name, v ? v : "(missing)",
				min, max);
	return true;
}

void cli_previous_month(char out[8])
{
	/* the library's clock decides, in Asia/Seoul */
	bl_clock_month(bl_ctx_now(NULL), -1, out);
}
