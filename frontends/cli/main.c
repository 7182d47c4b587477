/* billing-cli: the command table, one-shot mode, shared helpers. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
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

/*
 * Signals.  SIGINT, SIGTERM and SIGWINCH are blocked in every thread (the
 * batch's worker threads inherit the mask, so no database read is ever
 * interrupted) and taken by one thread with sigwait(), which sets flags and
 * wakes the REPL through a pipe.
 */
volatile int cli_interrupted;
volatile int cli_line_interrupted;
volatile int cli_winch;
static volatile int cancellable, line_mode, in_repl, quiet;
static int wake_pipe[2] = { -1, -1 };

void cli_cancellable(bool on) { cancellable = on; }
void cli_sig_line_mode(bool on) { line_mode = on; }
void cli_sig_quiet(bool on) { quiet = on; }
int cli_sig_fd(void) { return wake_pipe[0]; }

static void say(const char *s) { (void)!write(STDERR_FILENO, s, strlen(s)); }
static void wake(void) { (void)!write(wake_pipe[1], "!", 1); }

static void die_of(int sig)
{
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	signal(sig, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	_exit(128 + sig);
}

static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	for (;;) {
		int sig;
		if (sigwait(set, &sig))
			continue;
		if (sig == SIGWINCH) {
			cli_winch = 1;
			wake();
		} else if (quiet) {
			/* an editor has the terminal: the signal is its business */
		} else if (line_mode) { /* REPL, editing a line: Ctrl-C drops it, SIGTERM quits */
			cli_line_interrupted = sig == SIGINT ? 1 : 2;
			wake();
		} else if (!cli_interrupted && (cancellable || (in_repl && sig == SIGINT))) {
			cli_interrupted = 1;
			say(cancellable ? "\nbilling-cli: stopping cleanly (Ctrl-C again to quit at once)\n"
					: "\nbilling-cli: this command cannot be interrupted; Ctrl-C again quits "
					  "billing-cli\n");
		} else {
			die_of(sig);
		}
	}
	return NULL;
}

void cli_signals_install(bool repl)
{
	static sigset_t set;
	in_repl = repl;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pipe(wake_pipe) == 0) {
		fcntl(wake_pipe[0], F_SETFL, O_NONBLOCK);
		fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK);
		fcntl(wake_pipe[0], F_SETFD, FD_CLOEXEC);
		fcntl(wake_pipe[1], F_SETFD, FD_CLOEXEC);
	}
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, signal_thread, &set))
		pthread_sigmask(SIG_UNBLOCK, &set, NULL); /* no thread: default actions */
	pthread_attr_destroy(&a);
}

void cli_signals_child(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGWINCH);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

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

const cli_command *cli_find_command(const char *name)
{
	for (size_t c = 0; name && c < NCOMMANDS; c++)
		if (!strcmp(COMMANDS[c].name, name))
			return &COMMANDS[c];
	return NULL;
}

static void usage(FILE *f, bool repl)
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
		usage(stdout, st->repl);
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
	cancellable = 0;
	int rc = c->fn(st, n - 1, args + 1);
	cancellable = 0;
	fflush(stdout);
	st->json = json;
	st->progress = progress;
	free(args);
	return rc;
}

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
			usage(stdout, false);
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
			usage(stderr, false);
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
