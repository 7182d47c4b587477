/* billing-cli message: search | show | retry, and dlq (the DEAD messages). */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *const H[] = { "ID", "USER", "TEMPLATE", "CH", "KIND", "STATUS", "ATT", "REQUESTED",
				 "LAST ERROR" };

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
static void print_message(cli_state *st, const bl_message *m)
{
#define S(v) ((v) ? (v) : "-")
	const char *status = S(bl_message_status(m)), *channel = S(bl_message_channel(m));
	char kind[48] = ""; /* an SMS sent as LMS/MMS */
	if (bl_message_kind_name(m) && strcmp(bl_message_kind_name(m), channel))
		snprintf(kind, sizeof kind, " (%s)", bl_message_kind_name(m));
	printf("%s메시지 message #%lld%s  %s%s%s  %s%s  %s  template %s v%lld\n", cli_c(st, C_BOLD),
	       (long long)bl_message_id(m), st->color ? "\033[0m" : "", cli_c(st, cli_status_color(status)), status,
	       st->color ? "\033[0m" : "", channel, kind, S(bl_message_purpose(m)), S(bl_message_template_code(m)),
	       (long long)bl_message_template_version(m));
	printf("  user %lld %s", (long long)bl_message_user_id(m), S(bl_message_user_name(m)));
	if (bl_message_statement_id(m))
		printf("  statement #%lld", (long long)bl_message_statement_id(m));
	if (bl_message_reservation_id(m))
		printf("  reservation #%lld", (long long)bl_message_reservation_id(m));
	if (bl_message_fallback_of(m))
		printf("  fallback of #%lld", (long long)bl_message_fallback_of(m));
	printf("  %lld bytes\n", (long long)bl_message_bytes(m));
	bool pending = !strcmp(status, "WAITING") || !strcmp(status, "PROCESSING") || !strcmp(status, "FAILED");
	printf("  requested %s  processed %s", S(bl_message_requested_at(m)), S(bl_message_processed_at(m)));
	if (pending)
		printf("  next attempt %s", S(bl_message_next_attempt_at(m)));
	printf("  (KST)\n");
	if (bl_message_last_error(m))
		printf("  last error: %s\n", bl_message_last_error(m));
	static const char *const AH[] = { "#", "CHANNEL", "STATUS", "STARTED", "FINISHED", "WORKER", "GATEWAY", "RESULT",
					  "ERROR" };
	cli_table *t = cli_table_new(9, AH);
	cli_table_right(t, 0);
	size_t n = bl_message_attempt_log_count(m);
	for (size_t i = 0; i < n; i++) {
		const bl_message_attempt *a = bl_message_attempt_log_at(m, i);
		char no[32], st_s[48];
		cli_i64(bl_message_attempt_attempt_no(a), no);
		/* a DEAD message's last failed attempt was its last: say so */
		const char *as = S(bl_message_attempt_status(a));
		bool final = i + 1 == n && !strcmp(status, "DEAD") && !strcmp(as, "FAILED");
		snprintf(st_s, sizeof st_s, "%s%s", as, final ? " (final)" : "");
		char res[96];
		const char *rs = bl_message_attempt_result(a), *rc = bl_message_attempt_result_code(a);
		snprintf(res, sizeof res, "%s%s%s", rs ? rs : "-", rc && *rc ? " " : "", rc ? rc : "");
		const char *cells[] = { no,
					S(bl_message_attempt_channel(a)),
					st_s,
					S(bl_message_attempt_started_at(a)),
					S(bl_message_attempt_finished_at(a)),
					S(bl_message_attempt_worker(a)),
					S(bl_message_attempt_provider(a)),
					res,
					S(bl_message_attempt_error(a)) };
		cli_table_row(t, cells);
	}
	if (n)
		cli_table_print(st, t);
	else
		printf("  no attempts yet\n");
	cli_table_free(t);
	const bl_delivery *d = bl_message_delivery(m);
	if (d)
		printf("  delivered: %s to %s at %s KST (attempt %lld, %lld duplicate request(s))\n",
		       S(bl_delivery_kind(d)), S(bl_delivery_destination_masked(d)), S(bl_delivery_accepted_at(d)),
		       (long long)bl_delivery_attempt_no(d), (long long)bl_delivery_duplicate_requests(d));
	else
		printf("  not delivered\n");
#undef S
}

static int search(cli_state *st, const bl_message_filter *f)
{
	bl_message_array *a = NULL;
	int rc = bl_message_find(cli_ctx(st), f, &a);
	if (rc)
		return cli_fail("message search", rc);
	if (st->json) {
		char *json = NULL;
		if ((rc = bl_message_array_to_json(a, &json))) {
			bl_message_array_free(a);
			return cli_fail("message search", rc);
		}
		puts(json);
		bl_free(json);
		bl_message_array_free(a);
		return 0;
	}
	cli_table *t = cli_table_new(9, H);
	cli_table_right(t, 0);
	cli_table_right(t, 1);
	cli_table_right(t, 6);
	for (size_t i = 0; i < bl_message_array_count(a); i++) {
		const bl_message *m = bl_message_array_at(a, i);
		char c0[32], c1[32], c6[32];
		const char *cells[] = { cli_i64(bl_message_id(m), c0),  cli_i64(bl_message_user_id(m), c1),
					bl_message_template_code(m),    bl_message_channel(m),
					bl_message_kind_name(m),        bl_message_status(m),
					cli_i64(bl_message_attempts(m), c6), bl_message_requested_at(m),
					bl_message_last_error(m) };
		cli_table_row(t, cells);
	}
	cli_table_done(st, t);
	bl_message_array_free(a);
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
		bl_message_array *a = NULL;
		int rc = bl_message_find(cli_ctx(st), &f, &a);
		if (rc) {
			free(ids);
			return cli_fail("message retry", rc);
		}
		size_t got = bl_message_array_count(a);
		for (size_t i = 0; i < got; i++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				int64_t *nv = realloc(ids, cap * sizeof *ids);
				if (!nv)
					abort();
				ids = nv;
			}
			ids[n++] = f.after_id = bl_message_id(bl_message_array_at(a, i));
		}
		bl_message_array_free(a);
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
		cli_print_obj(json_pack("{s:I,s:I,s:I,s:b}", "matched", (json_int_t)n, "retried", (json_int_t)done,
					"skipped", (json_int_t)skipped, "stopped", stopped));
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
		bl_message *m = NULL;
		int rc = bl_message_lookup(cli_ctx(st), id, &m);
		if (rc)
			return cli_fail("message show", rc);
		if (st->json) {
			char *json = NULL;
			if ((rc = bl_message_to_json(m, &json))) {
				bl_message_free(m);
				return cli_fail("message show", rc);
			}
			puts(json);
			bl_free(json);
		} else {
			print_message(st, m);
		}
		bl_message_free(m);
		return 0;
	}
	if (!strcmp(sub, "retry")) {
		if (argc == 2 && cli_num(argv[1], 1, INT64_MAX, &id)) {
			int rc = bl_message_retry(cli_ctx(st), id);
			if (rc)
				return cli_fail("message retry", rc);
			if (st->json)
				cli_print_obj(json_pack("{s:I,s:b}", "id", (json_int_t)id, "retried", 1));
			else
				printf("message #%lld queued again\n", id);
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
