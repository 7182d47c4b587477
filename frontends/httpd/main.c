/*
 * billing-httpd: the admin REST API (and, later, the admin pages).  Thin:
 * parses flags, loads the configuration, starts the server, waits for
 * SIGTERM/SIGINT and stops gracefully (no new connections, requests in
 * flight finish, batch runs started here stop at a chunk boundary).
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"

static void usage(FILE *f)
{
	fputs("usage: billing-httpd [--port N] [--bind ADDR] [--threads N] [--no-access-log]\n"
	      "       billing-httpd --print-routes | --version | --help\n"
	      "Serves the admin REST API under /api, /metrics and /healthz.\n"
	      "  --port N        TCP port (default BILLING_HTTP_PORT, 8080; 0: any free port)\n"
	      "  --bind ADDR     listen address (default BILLING_HTTP_BIND, 127.0.0.1)\n"
	      "  --threads N     requests handled at once (default BILLING_HTTP_THREADS, 8)\n"
	      "  --no-access-log no access-log line per request on stderr\n"
	      "  --print-routes  print the route table (METHOD PATH ROLE CSRF) and exit\n"
	      "SIGTERM/SIGINT: stop accepting, finish requests in flight, stop batch runs\n"
	      "started here at a chunk boundary (resumable), exit 0.\n"
	      "Settings: environment and ./.env (see docs/configuration.md, docs/http.md).\n",
	      f);
}

static bool parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "no-access-log", no_argument, NULL, 'L' },
		{ "print-routes", no_argument, NULL, 'R' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long port = -1, threads = -1;
	const char *bind = NULL;
	bool access_log = true;
	int c;
	while ((c = getopt_long(argc, argv, "p:b:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_int(optarg, 0, 65535, &port)) {
				fprintf(stderr, "%s: --port must be 0-65535\n", HTTPD_NAME);
				return 2;
			}
			break;
		case 'b': bind = optarg; break;
		case 't':
			if (!parse_int(optarg, 1, 256, &threads)) {
				fprintf(stderr, "%s: --threads must be 1-256\n", HTTPD_NAME);
				return 2;
			}
			break;
		case 'L': access_log = false; break;
		case 'R': routes_print(stdout); return 0;
		case 'V': printf("%s %s\n", HTTPD_NAME, bl_version()); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", HTTPD_NAME, argv[optind]);
		return 2;
	}
	bl_config *cfg = NULL;
	if (bl_config_load(&cfg, NULL, false) != BL_OK) {
		fprintf(stderr, "%s: configuration: %s\n", HTTPD_NAME, bl_error_last());
		return 5;
	}
	if (port < 0)
		port = atol(bl_config_get(cfg, "BILLING_HTTP_PORT"));
	if (threads < 0)
		threads = atol(bl_config_get(cfg, "BILLING_HTTP_THREADS"));
	if (!bind)
		bind = bl_config_get(cfg, "BILLING_HTTP_BIND");

	/* signals are taken by sigwait() here; every thread started below inherits the mask */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	server_opts o = { cfg, (size_t)atol(bl_config_get(cfg, "BILLING_HTTP_MAX_BODY")), (int)threads,
			  access_log, atoi(bl_config_get(cfg, "BILLING_HTTP_IDLE_TIMEOUT_S")),
			  atoi(bl_config_get(cfg, "BILLING_HTTP_REQUEST_TIMEOUT_S")),
			  atoi(bl_config_get(cfg, "BILLING_HTTP_MAX_CONNECTIONS")),
			  atoi(bl_config_get(cfg, "BILLING_HTTP_MAX_PER_IP")),
			  atoi(bl_config_get(cfg, "BILLING_HTTP_QUEUE_MAX")),
			  atoi(bl_config_get(cfg, "BILLING_HTTP_QUEUE_WAIT_MS")) };
	int bound = 0;
	stats_init(cfg);
	if (server_start(&o, bind, (int)port, &bound) != 0) {
		stats_shutdown();
		bl_config_free(cfg);
		return 4;
	}
	fprintf(stderr, "%s %s: listening on %s%s%s:%d (%ld threads)\n", HTTPD_NAME, bl_version(),
		strchr(bind, ':') ? "[" : "", bind, strchr(bind, ':') ? "]" : "", bound, threads);
	int sig = 0;
	sigwait(&set, &sig);
	fprintf(stderr, "%s: %s: stopping\n", HTTPD_NAME, sig == SIGTERM ? "SIGTERM" : "SIGINT");
	server_stop();
	batch_shutdown();
	stats_shutdown();
	session_cache_clear();
	bl_config_free(cfg);
	fprintf(stderr, "%s: stopped\n", HTTPD_NAME);
	return 0;
}
