/*
 * billing-worker: the message worker (stream consumer, renderer, sender),
 * with the outbox relay and maintenance unless told otherwise.  Thin: parses
 * flags, installs signal handlers, calls bl_worker_run().
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <billing/billing.h>

static volatile int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* Log lines carry the time in KST, as everything else (issue 21), named. */
static void log_line(const char *line, void *payload)
{
	(void)payload;
	char ts[32];
	if (bl_clock_format(bl_ctx_now(NULL), ts, sizeof ts) != BL_OK)
		snprintf(ts, sizeof ts, "(no time)");
	fprintf(stderr, "%s KST billing-worker: %s\n", ts, line);
}

static void usage(FILE *f)
{
	fputs("usage: billing-worker [--threads N] [--consumer NAME] [--no-relay] [--no-maintenance]\n"
	      "                      [--idle-exit-ms MS]\n"
	      "Consumes the message stream, renders and sends through the mock providers.\n"
	      "SIGTERM/SIGINT: stop reading, finish in-flight sends, acknowledge, exit 0.\n"
	      "Settings: environment and ./.env (see docs/configuration.md).\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "consumer", required_argument, NULL, 'c' },
		{ "no-relay", no_argument, NULL, 'R' },
		{ "no-maintenance", no_argument, NULL, 'M' },
		{ "idle-exit-ms", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bl_worker_opts o;
	bl_worker_opts_init(&o, BL_WORKER_OPTS_VERSION);
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "t:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o.threads = (int)strtol(optarg, &end, 10);
			if (*end || o.threads < 1 || o.threads > 256) {
				fprintf(stderr, "billing-worker: --threads must be 1-256\n");
				return 1;
			}
			break;
		case 'c': o.consumer = optarg; break;
		case 'R': o.relay = false; break;
		case 'M': o.maintenance = false; break;
		case 'i':
			o.idle_exit_ms = strtoll(optarg, &end, 10);
			if (*end || o.idle_exit_ms < 0) {
				fprintf(stderr, "billing-worker: --idle-exit-ms must be a number of milliseconds\n");
				return 1;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "billing-worker: unexpected argument '%s'\n", argv[optind]);
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	o.stop = &stop_flag;
	o.log_cb = log_line;
	bl_ctx *ctx;
	if (bl_ctx_new(&ctx, NULL)) {
		fprintf(stderr, "billing-worker: configuration: %s\n", bl_error_last());
		return 5;
	}
	int rc = bl_worker_run(ctx, &o);
	if (rc)
		fprintf(stderr, "billing-worker: %s\n", bl_error_last());
	bl_ctx_free(ctx);
	return rc ? 4 : 0;
}
