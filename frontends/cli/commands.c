/* billing-cli: the command table, help, and dispatching one command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/*
 * The commands.  A line of { name, fn, help } is enough; usage (for
 * "help NAME") and options (for Tab completion) are optional.
 */
const cli_command COMMANDS[] = {
	{ "migrate", cmd_migrate, "migrate                      apply database migrations", NULL, "" },
	{ "seed", cmd_seed, "seed --users N [--month M]   generate demo subscribers and charges",
	  "seed --users N [--month YYYY-MM] [--seed S] [--invalid-permille P]\n"
	  "  Generate N subscribers (deterministic from the seed) and the month's charges.\n"
	  "  A month that already has charges is refused (exit 3).",
	  ":--users --month --seed --invalid-permille" },
	{ "batch", cmd_batch, "batch run|status|list|stop|resume|join|recover",
	  "batch run [--month YYYY-MM] [--mode normal|failed-only|dry-run|reissue] [--partitions N]\n"
	  "          [--chunk N] [--auto]       issue the month's statements (Ctrl-C stops cleanly)\n"
	  "batch status [RUN_ID]                 one run (default: the newest)\n"
	  "batch list [--month YYYY-MM] [--limit N]\n"
	  "batch stop RUN_ID                     ask a running run to stop after its chunks\n"
	  "batch resume RUN_ID [--partitions N]  continue a STOPPED or FAILED run\n"
	  "batch join RUN_ID [--partitions N]    help a run owned by another process\n"
	  "batch recover                         mark runs of dead processes FAILED",
	  "run:--month --mode --partitions --chunk --auto;resume:--partitions --chunk;"
	  "join:--partitions --chunk;list:--month --limit" },
	{ "statement", cmd_statement, "statement show|search",
	  "statement show USER_ID [YYYY-MM]     a statement with its lines (default: month context)\n"
	  "statement search [--month YYYY-MM] [--user ID] [--min WON] [--max WON] [--after ID]\n"
	  "                 [--limit N]         statements, in id order after the cursor",
	  "search:--month --user --min --max --after --limit" },
	{ "user", cmd_user, "user show|find|search",
	  "user show ID [--reveal]              a subscriber (phone/e-mail masked unless --reveal)\n"
	  "user find --phone P | --email E      the id, through the blind index\n"
	  "user search [--name PREFIX] [--phone P] [--email E] [--plan CODE] [--after ID] [--limit N]",
	  "show:--reveal;find:--phone --email;search:--name --phone --email --plan --after --limit" },
	{ "group", cmd_group, "group list|show|members|create|update|delete|add|remove",
	  "group list                           groups with their member counts\n"
	  "group show CODE\n"
	  "group members CODE [--after ID] [--limit N]\n"
	  "group create CODE NAME [--description TEXT]\n"
	  "group update CODE [--name NAME] [--description TEXT]\n"
	  "group delete CODE\n"
	  "group add CODE USER_ID...            idempotent\n"
	  "group remove CODE USER_ID...",
	  "members:--after --limit;create:--description;update:--name --description" },
	{ "template", cmd_template, "template list|show|versions|edit|preview|enable|disable",
	  "template list                        the latest version of every template\n"
	  "template show CODE [--version N]\n"
	  "template versions CODE\n"
	  "template edit CODE                   open it in $VISUAL/$EDITOR; saving makes a new version\n"
	  "template preview CODE [--version N] [--statement ID | --sample JSON]\n"
	  "template enable CODE | template disable CODE",
	  "show:--version;preview:--version --statement --sample" },
	{ "message", cmd_message, "message search|show|retry",
	  "message search [--status S] [--channel EMAIL|SMS] [--template CODE] [--user ID] [--run ID]\n"
	  "               [--reservation ID] [--from DATE] [--to DATE] [--after ID] [--limit N]\n"
	  "               S: WAITING PROCESSING SUCCESS FAILED EXCEEDED DEAD BOUNCED SUPPRESSED\n"
	  "                  DELIVERED UNDELIVERED\n"
	  "message show ID                      a message with its attempts\n"
	  "message retry ID                     a new attempt of a FAILED/EXCEEDED/DEAD message\n"
	  "message retry --status FAILED|DEAD [filters as search]   bulk retry, with progress",
	  "search:--status --channel --template --user --run --reservation --from --to --after --limit;"
	  "retry:--status --channel --template --user --run --reservation --from --to" },
	{ "dlq", cmd_dlq, "dlq [retry] [filters]        dead letters (messages DEAD)",
	  "dlq [--channel C] [--template CODE] [--run ID] [--after ID] [--limit N]   list DEAD messages\n"
	  "dlq retry [--channel C] [--template CODE] [--run ID]                     retry them all",
	  ":--channel --template --run --after --limit;retry:--channel --template --run" },
	{ "bounces", cmd_bounces, "bounces ingest MAILDIR       read DSNs: BOUNCED + suppressed",
	  "bounces ingest MAILDIR               read the DSNs in MAILDIR/new (hard: message BOUNCED and\n"
	  "                                     the address suppressed; soft: noted; bad: kept aside)", "" },
	{ "suppression", cmd_suppression, "suppression list|add|remove  addresses never e-mailed",
	  "suppression list [--after ID] [--limit N]\n"
	  "suppression add EMAIL [HARD_BOUNCE|COMPLAINT|UNSUBSCRIBE|MANUAL]\n"
	  "suppression remove ID", "list:--after --limit" },
	{ "stats", cmd_stats, "stats                        message counts and throughput, last batch run",
	  NULL, "" },
	{ "admin", cmd_admin, "admin create|passwd|list|audit",
	  "admin create USERNAME [--role ADMIN|OPERATOR|VIEWER]   password asked twice on a terminal,\n"
	  "                                     else read from the first line of stdin\n"
	  "admin passwd USERNAME\n"
	  "admin list\n"
	  "admin audit [--actor NAME] [--action A|FAMILY.] [--from T] [--to T] [--before ID] [--limit N]\n"
	  "                                     the audit log, newest first; T in KST: YYYY-MM-DD[ HH:MM[:SS]],\n"
	  "                                     --to takes the whole day/minute; 'template.' is every template.*",
	  "create:--role;audit:--actor --action --from --to --before --limit" },
	{ "reservation", cmd_reservation, "reservation create|list|show|cancel|tick", "reservation create --template CODE (--group CODE | --month YYYY-MM) [--at 'YYYY-MM-DD HH:MM'] [--params JSON]\nreservation create --run RUN_ID       the billing reservation of a completed batch run\nreservation list [--status WAITING|PROCESSING|SENT|CANCELED] [--after ID] [--limit N]\nreservation show ID | reservation cancel ID (WAITING only)\nreservation tick                     expand what is due now (billing-worker does this)", "create:--template --group --month --at --params --run;list:--status --after --limit" },
	{ "config", cmd_config, "config show|genkey", "config show     settings in effect, secrets masked\n"
	  "config genkey   a new random BILLING_DATA_KEY", "" },
	{ "help", cmd_help, "help [COMMAND]", NULL, "" },
};
const size_t NCOMMANDS = sizeof COMMANDS / sizeof COMMANDS[0];

const cli_command *cli_find_command(const char *name)
{
	for (size_t c = 0; name && c < NCOMMANDS; c++)
		if (!strcmp(COMMANDS[c].name, name))
			return &COMMANDS[c];
	return NULL;
}

void cli_usage_print(FILE *f, bool repl)
{
	if (!repl)
		fprintf(f, "usage: billing-cli [--json] COMMAND [ARGS]   (no COMMAND on a terminal: the console)\n\n");
	fprintf(f, "commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char *h = COMMANDS[i].help;
		size_t n = strlen(COMMANDS[i].name);
		/* the help line starts with the name: show it once */
		if (!strncmp(h, COMMANDS[i].name, n) && h[n] == ' ')
			h += n + 1;
		while (*h == ' ')
			h++;
		fprintf(f, "  %-12s %s\n", COMMANDS[i].name, h);
	}
	if (repl)
		fprintf(f, "  %-12s %s\n  %-12s %s\n", "month", "[YYYY-MM]  show or set the month context",
			"exit", "leave (also Ctrl-D)");
	fprintf(f, "\nEvery read command takes --json.  'help COMMAND' shows its arguments.\n");
	if (!repl)
		fprintf(f, "Settings come from the environment and ./.env (MYSQL_*, REDIS_*, BILLING_*).\n"
			   "Exit codes: 0 ok, 1 usage, 2 not found, 3 conflict, 4 backend unavailable,\n"
			   "5 invalid input or configuration, 6 other failure, 7 stopped, 8 authentication.\n");
}

int cmd_help(cli_state *st, int argc, char **argv)
{
	if (argc == 0) {
		cli_usage_print(stdout, st->repl);
		return 0;
	}
	const cli_command *c = cli_find_command(argv[0]);
	if (!c && st->repl && !strcmp(argv[0], "month")) {
		printf("month            show the month context (the default month of batch run, seed,\n"
		       "                 statement show)\nmonth YYYY-MM    set it\n");
		return 0;
	}
	if (!c && st->repl && (!strcmp(argv[0], "exit") || !strcmp(argv[0], "quit"))) {
		printf("exit | quit      leave the console (also Ctrl-D on an empty line)\n");
		return 0;
	}
	if (!c)
		return cli_usage("help: unknown command '%s'", argv[0]);
	printf("%s\n", c->usage ? c->usage : c->help);
	return 0;
}

int cli_dispatch(cli_state *st, int argc, char **argv)
{
	/* --json anywhere on the line, also before the command */
	bool json = st->json, progress = st->progress;
	char **args = calloc((size_t)argc + 1, sizeof *args);
	int n = 0;
	if (!args)
		return cli_usage("out of memory");
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			st->json = true;
		else
			args[n++] = argv[i];
	}
	const cli_command *c = n ? cli_find_command(args[0]) : NULL;
	if (!c) {
		st->json = json;
		int rc = n ? cli_usage("unknown command '%s' (see %s)", args[0], st->repl ? "help" : "--help") : 0;
		free(args);
		return rc;
	}
	if (st->json)
		st->progress = false;
	cli_interrupted = 0;
	cli_cancellable(false);
	int rc = c->fn(st, n - 1, args + 1);
	cli_cancellable(false);
	fflush(stdout);
	st->json = json;
	st->progress = progress;
	free(args);
	return rc;
}
