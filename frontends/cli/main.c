/* billing-cli: one-shot mode or, on a terminal without a command, the console. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

int main(int argc, char **argv)
{
	cli_state st = { 0 };
	setlocale(LC_CTYPE, "");
	const char *nc = getenv("NO_COLOR");
	st.tty = isatty(STDOUT_FILENO) && !(nc && *nc);
	st.color = st.tty;
	st.progress = isatty(STDERR_FILENO) != 0;
	cli_previous_month(st.month);
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json"))
			st.json = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cli_usage_print(stdout, false);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("billing-cli %s\n", bl_version());
			return 0;
		} else
			return cli_usage("unknown option '%s' (see --help)", argv[i]);
	}
	if (st.json)
		st.progress = false;
	if (i >= argc) {
		if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) || st.json) {
			cli_usage_print(stderr, false);
			return EXIT_USAGE;
		}
		st.repl = true;
		cli_signals_install(true);
		int rc = cli_repl(&st);
		bl_ctx_free(st.ctx);
		return rc;
	}
	cli_signals_install(false);
	int rc = cli_dispatch(&st, argc - i, argv + i);
	bl_ctx_free(st.ctx);
	return rc;
}
