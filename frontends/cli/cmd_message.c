/* billing-cli message: search | show | retry, and dlq (the DEAD messages). */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *const H[] = { "ID", "USER", "TEMPLATE", "CH", "KIND", "STATUS", "ATT", "REQUESTED",
				 "LAST ERROR" };
static const char *const K[] = { "#id", "#user_id", "template_code", "channel", "kind", "status",
				 "#attempts", "requested_at", "last_error" };

/* Filter options from argv[from..]; paging allows --after/--limit. */
static int parse_filter(int argc, char **argv, int from, bl_message_filter *f, bool paging, const char *what)
{
	int ex = 0;
	for (int i = from; i < argc && !ex; i++) {
		long long n;
		if (cli_opt_str(argc, argv, &i, "--status", &f->status, &ex) ||
		    cli_opt_str(argc, argv, &i, "--channel", &f->channel, &ex) ||
		    cli_opt_str(argc, argv, &i, "--template", &f->template_code, &ex) ||
		    cli_opt_str(argc, argv, &i, "--from", &f->from, &ex) ||
		    cli_opt_str(argc, argv, &i, "--to", &f->to, &ex)) {
		} else if (cli_opt_num(argc, argv, &i, "--user", 1, INT64_MAX, &n, &ex)) {
			f->user_id = n;
		} else if (cli_opt_num(argc, argv, &i, "--run", 1, INT64_MAX, &n, &ex)) {
			f->run_id = n;
		} else if (cli_opt_num(argc, argv, &i, "--reservation", 1, INT64_MAX, &n, &ex)) {
			f->reservation_id = n;
		} else if (paging && cli_opt_num(argc, argv, &i, "--after", 0, INT64_MAX, &n, &ex)) {
			f->after_id = n;
		} else if (paging && cli_opt_num(argc, argv, &i, "--limit", 1, 1000, &n, &ex)) {
			f->limit = (int)n;
		} else {
			return cli_usage("%s: unknown argument '%s' (see 'help message')", what, argv[i]);
		}
	}
	return ex;
}

/* `message show`: the message, its attempts as a table and its delivery, as
 * `statement show` prints a statement; --json prints the JSON. */
static void print_message(cli_state *st, const char *json)
{
	json_t *m = json_loads(json, 0, NULL);
#define I(o, k) ((long long)json_integer_value(json_object_get(o, k)))
#define S(o, k) (json_string_value(json_object_get(o, k)) ? json_string_value(json_object_get(o, k)) : "-")
	const char *status = S(m, "status");
	char kind[48] = ""; /* an SMS sent as LMS/MMS */
	if (json_is_string(json_object_get(m, "kind")) && strcmp(S(m, "kind"), S(m, "channel")))
		snprintf(kind, sizeof kind, " (%s)", S(m, "kind"));
	printf("%s메시지 message #%lld%s  %s%s%s  %s%s  %s  template %s v%lld\n", cli_c(st, C_BOLD), I(m, "id"),
	       st->color ? "\033[0m" : "", cli_c(st, cli_status_color(status)), status, st->color ? "\033[0m" : "",
	       S(m, "channel"), kind, S(m, "purpose"), S(m, "template_code"), I(m, "template_version"));
	printf("  user %lld %s", I(m, "user_id"), S(m, "user_name"));
	if (json_is_integer(json_object_get(m, "statement_id")))
		printf("  statement #%lld", I(m, "statement_id"));
	if (json_is_integer(json_object_get(m, "reservation_id")))
		printf("  reservation #%lld", I(m, "reservation_id"));
	if (json_is_integer(json_object_get(m, "fallback_of")))
		printf("  fallback of #%lld", I(m, "fallback_of"));
	printf("  %lld bytes\n", I(m, "bytes"));
	bool pending = !strcmp(status, "WAITING") || !strcmp(status, "PROCESSING") || !strcmp(status, "FAILED");
	printf("  requested %s  processed %s", S(m, "requested_at"), S(m, "processed_at"));
	if (pending)
		printf("  next attempt %s", S(m, "next_attempt_at"));
	printf("  (KST)\n");
	if (json_is_string(json_object_get(m, "last_error")))
		printf("  last error: %s\n", S(m, "last_error"));
	static const char *const AH[] = { "#", "CHANNEL", "STATUS", "STARTED", "FINISHED", "WORKER", "GATEWAY", "RESULT",
					  "ERROR" };
	cli_table *t = cli_table_new(9, AH);
	cli_table_right(t, 0);
	json_t *log = json_object_get(m, "attempt_log"), *a;
	size_t i, n = json_array_size(log);
	json_array_foreach(log, i, a) {
		char no[24], st_s[48];
		snprintf(no, sizeof no, "%lld", I(a, "attempt_no"));
		/* a DEAD message's last failed attempt was its last: say so */
		bool final = i + 1 == n && !strcmp(status, "DEAD") && !strcmp(S(a, "status"), "FAILED");
		snprintf(st_s, sizeof st_s, "%s%s", S(a, "status"), final ? " (final)" : "");
		char res[96];
		const char *rs = json_string_value(json_object_get(a, "result")),
			   *rc = json_string_value(json_object_get(a, "result_code"));
		snprintf(res, sizeof res, "%s%s%s", rs ? rs : "-", rc && *rc ? " " : "", rc ? rc : "");
		const char *cells[] = { no, S(a, "channel"), st_s, S(a, "started_at"), S(a, "finished_at"), S(a, "worker"),
					S(a, "provider"), res, S(a, "error") };
		cli_table_row(t, cells);
	}
	if (n)
		cli_table_print(st, t);
	else
		printf("  no attempts yet\n");
	cli_table_free(t);
	json_t *d = json_object_get(m, "delivery");
	if (json_is_object(d))
		printf("  delivered: %s to %s at %s KST (attempt %lld, %lld duplicate request(s))\n", S(d, "kind"),
		       S(d, "destination_masked"), S(d, "accepted_at"), I(d, "attempt_no"), I(d, "duplicate_requests"));
	else
		printf("  not delivered\n");
#undef I
#undef S
	json_decref(m);
}

static int search(cli_state *st, const bl_message_filter *f)
{
	char *json;
	int rc = bl_message_search(cli_ctx(st), f, &json);
	if (rc)
		return cli_fail("message search", rc);
	cli_print_rows(st, json, H, K, 9);
	bl_free(json);
	return 0;
}

/*
 * Bulk retry: collect the ids matching the filter, then retry them one by
 * one with a progress bar; Ctrl-C stops between two messages.
 */
static int retry_bulk(cli_state *st, bl_message_filter f)
{
	if (!f.status || (strcmp(f.status, "FAILED") && strcmp(f.status, "DEAD")))
		return cli_usage("message retry: bulk retry needs --status FAILED or --status DEAD");
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	f.limit = 1000;
	f.after_id = 0;
	for (;;) {
		char *json;
		int rc = bl_message_search(cli_ctx(st), &f, &json);
		if (rc) {
			free(ids);
			return cli_fail("message retry", rc);
		}
		json_t *a = json_loads(json, 0, NULL), *m;
		bl_free(json);
		size_t i;
		json_array_foreach(a, i, m) {
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				int64_t *nv = realloc(ids, cap * sizeof *ids);
				if (!nv)
					abort();
				ids = nv;
			}
			ids[n++] = f.after_id = json_integer_value(json_object_get(m, "id"));
		}
		size_t got = json_array_size(a);
		json_decref(a);
		if (got < 1000)
			break;
	}
	cli_progress bar;
	cli_progress_start(&bar, st, "retry");
	cli_cancellable(true);
	int64_t done = 0, skipped = 0;
	int ex = 0;
	for (size_t i = 0; i < n && !cli_interrupted; i++) {
		int rc = bl_message_retry(cli_ctx(st), ids[i]);
		if (rc == BL_ECONFLICT) /* retried or changed meanwhile */
			skipped++;
		else if (rc) {
			cli_progress_end(&bar);
			ex = cli_fail("message retry", rc);
			break;
		} else
			done++;
		cli_progress_update(&bar, (int64_t)i + 1, (int64_t)n);
	}
	cli_progress_end(&bar);
	cli_cancellable(false);
	bool stopped = cli_interrupted && done + skipped < (int64_t)n;
	free(ids);
	if (done) {
	}
	if (st->json)
		printf("{\"matched\":%zu,\"retried\":%lld,\"skipped\":%lld,\"stopped\":%s}\n", n, (long long)done,
		       (long long)skipped, stopped ? "true" : "false");
	else
		printf("message retry: %lld of %zu %s message(s) queued again%s%s\n", (long long)done, n, f.status,
		       skipped ? " (some changed meanwhile and were skipped)" : "",
		       stopped ? "; stopped on request" : "");
	return ex ? ex : stopped ? EXIT_STOPPED : 0;
}

int cmd_message(cli_state *st, int argc, char **argv)
{
	if (argc < 1)
		return cli_usage("usage: message search|show|retry (see 'help message')");
	const char *sub = argv[0];
	bl_message_filter f;
	bl_message_filter_init(&f, BL_MESSAGE_FILTER_VERSION);
	long long id;
	if (!strcmp(sub, "search")) {
		int ex = parse_filter(argc, argv, 1, &f, true, "message search");
		return ex ? ex : search(st, &f);
	}
	if (!strcmp(sub, "show")) {
		if (argc != 2 || !cli_num(argv[1], 1, INT64_MAX, &id))
			return cli_usage("usage: message show ID");
		char *json;
		int rc = bl_message_get(cli_ctx(st), id, &json);
		if (rc)
			return cli_fail("message show", rc);
		if (st->json)
			puts(json);
		else
			print_message(st, json);
		bl_free(json);
		return 0;
	}
	if (!strcmp(sub, "retry")) {
		if (argc == 2 && cli_num(argv[1], 1, INT64_MAX, &id)) {
			int rc = bl_message_retry(cli_ctx(st), id);
			if (rc)
				return cli_fail("message retry", rc);
			printf(st->json ? "{\"id\":%lld,\"retried\":true}\n" : "message #%lld queued again\n", id);
			return 0;
		}
		int ex = parse_filter(argc, argv, 1, &f, false, "message retry");
		return ex ? ex : retry_bulk(st, f);
	}
	return cli_usage("message: unknown sub-command '%s'", sub);
}

int cmd_dlq(cli_state *st, int argc, char **argv)
{
	bl_message_filter f;
	bl_message_filter_init(&f, BL_MESSAGE_FILTER_VERSION);
	bool retry = argc > 0 && !strcmp(argv[0], "retry");
	int ex = parse_filter(argc, argv, retry ? 1 : 0, &f, !retry, "dlq");
	if (ex)
		return ex;
	if (f.status && strcmp(f.status, "DEAD"))
		return cli_usage("dlq: the dead-letter queue holds DEAD messages only (see message search)");
	f.status = "DEAD";
	return retry ? retry_bulk(st, f) : search(st, &f);
}
