/* billing-cli: shared frontend helpers (argument parsing and output only). */
#ifndef BL_CLI_H
#define BL_CLI_H

#include <stdbool.h>
#include <stdio.h>
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
	EXIT_STOPPED = 7   /* the work was stopped on request */
};

typedef struct {
	bool json;      /* --json */
	bool tty;       /* stdout is a terminal and NO_COLOR unset */
	bl_ctx *ctx;    /* opened lazily by cli_ctx() */
} cli_state;

typedef int (*cli_cmd_fn)(cli_state *st, int argc, char **argv);

/* The context, opened on first use from the environment and .env. */
bl_ctx *cli_ctx(cli_state *st);
/* Print "billing-cli: <what>: <library message>" and map code → exit code. */
int cli_fail(const char *what, int code);
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Option helpers: "--name value" or "--name=value"; advance *i. */
bool cli_opt(int argc, char **argv, int *i, const char *name, const char **val);
/* Print a JSON document (from the library) pretty or compact. */
void cli_print_json(const char *json);
/* "1,234,567" */
const char *cli_won(int64_t v, char buf[32]);

int cmd_migrate(cli_state *st, int argc, char **argv);
int cmd_seed(cli_state *st, int argc, char **argv);
int cmd_batch(cli_state *st, int argc, char **argv);
int cmd_config(cli_state *st, int argc, char **argv);
int cmd_user(cli_state *st, int argc, char **argv);
int cmd_statement(cli_state *st, int argc, char **argv);

#endif
