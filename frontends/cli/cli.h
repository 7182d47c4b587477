/* billing-cli: shared frontend helpers (argument parsing and output only). */
#ifndef BL_CLI_H
#define BL_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>
#include <billing/billing.h>

/* Exit codes (documented in docs/cli.md). */
enum {
	EXIT_OK_ = 0,
	EXIT_USAGE = 1,
	EXIT_NOTFOUND = 2,
	EXIT_CONFLICT = 3,
	EXIT_BACKEND = 4,  /* MariaDB/Redis unavailable or failing */
	EXIT_INVALID = 5,  /* bad input or configuration */
	EXIT_FAILURE_ = 6, /* anything else */
	EXIT_STOPPED = 7,  /* the work was stopped on request */
	EXIT_AUTH = 8      /* authentication failed */
};

typedef struct {
	bool json;      /* --json */
	bool tty;       /* stdout is a terminal and NO_COLOR unset */
	bl_ctx *ctx;    /* opened lazily by cli_ctx() */
	/* added with the REPL */
	bool repl;      /* running inside the interactive console */
	bool color;     /* colours on stdout (a TTY and NO_COLOR unset) */
	bool progress;  /* progress bars on stderr (stderr is a TTY, not --json) */
	char month[8];  /* month context "YYYY-MM" (default: the previous month) */
} cli_state;

typedef int (*cli_cmd_fn)(cli_state *st, int argc, char **argv);

/* ---- the context, failures, options (args.c) ---- */
/* The context, opened on first use from the environment and .env. */
bl_ctx *cli_ctx(cli_state *st);
/* Print "billing-cli: <what>: <library message>" and map code → exit code. */
int cli_fail(const char *what, int code);
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Option helpers: "--name value" or "--name=value"; advance *i. */
bool cli_opt(int argc, char **argv, int *i, const char *name, const char **val);
/* Print a JSON document (from the library) pretty or compact. */
void cli_print_json(const char *json);
/* Print a command's own JSON result on one line, keys in order (steals obj). */
void cli_print_obj(json_t *obj);
/* "1,234,567" */
const char *cli_won(int64_t v, char buf[32]);

/* ---- interruption (Ctrl-C) ---- */
/* Set by SIGINT/SIGTERM while a command runs; pass it as a cancel flag. */
extern volatile int cli_interrupted;
/* A command that polls cli_interrupted declares it (Ctrl-C then stops it
 * cleanly instead of ending the process). */
void cli_cancellable(bool on);

/* ---- parsing ---- */
/* A whole decimal number in [min, max]; false otherwise. */
bool cli_num(const char *s, long long min, long long max, long long *out);
/* Like cli_opt for a number option; on a bad value prints usage and sets *ex. */
bool cli_opt_num(int argc, char **argv, int *i, const char *name, long long min, long long max,
		 long long *out, int *ex);
/* Like cli_opt for a string option that must have a value (else usage, *ex). */
bool cli_opt_str(int argc, char **argv, int *i, const char *name, const char **out, int *ex);
/* The month before the current one, Asia/Seoul (UTC+9, no DST). */
void cli_previous_month(char out[8]);

/* ---- output (out.c) ---- */
/* Terminal columns: TIOCGWINSZ on stdout, else $COLUMNS, else 0 (no limit). */
int cli_term_width(void);
/* Display columns of UTF-8 text (Hangul and CJK count 2). */
int cli_text_width(const char *s);
/* Colour escape or "" when colours are off. */
const char *cli_c(const cli_state *st, const char *code);
#define C_BOLD "1"
#define C_DIM "2"
#define C_RED "31"
#define C_GREEN "32"
#define C_YELLOW "33"
#define C_CYAN "36"
/* Colour of a status word (COMPLETED green, FAILED red, ...). */
const char *cli_status_color(const char *status);

/* A table printed at the width of the terminal: cells are truncated with
 * '…' (widest columns first) when the rows do not fit. */
typedef struct cli_table cli_table;
cli_table *cli_table_new(int ncols, const char *const *headers);
/* Right-align a column (numbers, money). */
void cli_table_right(cli_table *t, int col);
/* Append a row of ncols cells (copied; NULL prints as "-"). */
void cli_table_row(cli_table *t, const char *const *cells);
void cli_table_print(const cli_state *st, cli_table *t);
void cli_table_free(cli_table *t);
/* A row from a JSON object: keys[i] names the member of column i; a "$"
 * prefix formats an integer as money (1,234); strings as is, integers in
 * decimal, booleans yes/no, null or missing "-". */
void cli_table_row_json(cli_table *t, const json_t *obj, const char *const *keys);
/* An integer in decimal, in buf (a cell of a row of typed values). */
const char *cli_i64(int64_t v, char buf[32]);
/* Print a table, or "(none)" when it has no rows, and free it. */
void cli_table_done(const cli_state *st, cli_table *t);
/* Print a JSON array of objects as a table (--json: the JSON itself). */
void cli_print_rows(const cli_state *st, const char *json, const char *const *headers,
		    const char *const *keys, int ncols);

/* Progress bar with rate and ETA on stderr (only when st->progress). */
typedef struct {
	bool on;
	const char *label;
	double t0, last;
	int64_t done, total;
} cli_progress;
void cli_progress_start(cli_progress *p, const cli_state *st, const char *label);
void cli_progress_update(cli_progress *p, int64_t done, int64_t total);
/* Clear the bar line. */
void cli_progress_end(cli_progress *p);
double cli_now(void);


/* ---- the command table (commands.c) ---- */
typedef struct {
	const char *name;
	cli_cmd_fn fn;
	const char *help;      /* one line: "name sub|sub ARGS" */
	const char *usage;     /* full usage for "help NAME" (NULL: help) */
	/* completion: "sub:--opt --opt;sub2:--opt" ("" sub = any/no sub-command) */
	const char *options;
} cli_command;
extern const cli_command COMMANDS[];
extern const size_t NCOMMANDS;
const cli_command *cli_find_command(const char *name);
/* Run one command line (argv[0] is the command); returns its exit code. */
int cli_dispatch(cli_state *st, int argc, char **argv);
/* "help [COMMAND]" */
int cmd_help(cli_state *st, int argc, char **argv);
/* The list of commands (one-shot usage, or the console's help). */
void cli_usage_print(FILE *f, bool repl);

/* ---- the interactive console (repl.c) ---- */
int cli_repl(cli_state *st);

/* ---- signals (signals.c) ---- */
/* SIGINT/SIGTERM handling; repl: Ctrl-C never ends the console at once. */
void cli_signals_install(bool repl);
/* While the REPL edits a line, Ctrl-C sets cli_line_interrupted (1; SIGTERM:
 * 2) and wakes cli_sig_fd() instead. */
void cli_sig_line_mode(bool on);
extern volatile int cli_line_interrupted;
extern volatile int cli_winch; /* the terminal was resized */
int cli_sig_fd(void);
/* While on, SIGINT/SIGTERM are left to a child owning the terminal (editor). */
void cli_sig_quiet(bool on);
/* In a forked child before exec: unblock the signals again. */
void cli_signals_child(void);

int cmd_migrate(cli_state *st, int argc, char **argv);
int cmd_seed(cli_state *st, int argc, char **argv);
int cmd_batch(cli_state *st, int argc, char **argv);
int cmd_config(cli_state *st, int argc, char **argv);
int cmd_user(cli_state *st, int argc, char **argv);
int cmd_statement(cli_state *st, int argc, char **argv);
int cmd_group(cli_state *st, int argc, char **argv);
int cmd_template(cli_state *st, int argc, char **argv);
int cmd_message(cli_state *st, int argc, char **argv);
int cmd_dlq(cli_state *st, int argc, char **argv);
int cmd_stats(cli_state *st, int argc, char **argv);
int cmd_bounces(cli_state *st, int argc, char **argv);
int cmd_suppression(cli_state *st, int argc, char **argv);
int cmd_admin(cli_state *st, int argc, char **argv);
int cmd_reservation(cli_state *st, int argc, char **argv);

#endif
