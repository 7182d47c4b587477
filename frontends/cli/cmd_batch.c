/* billing-cli batch: run | status | list | stop | resume | join | recover. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"

struct bar {
	cli_progress p;
	pthread_mutex_t mu; /* progress comes from every partition's thread */
};

static void on_progress(const bl_batch_progress *p, void *payload)
{
	struct bar *b = payload;
	pthread_mutex_lock(&b->mu);
	cli_progress_update(&b->p, p->processed, p->total);
	pthread_mutex_unlock(&b->mu);
}

/* When the run's statements go out: its billing reservation (bl_batch_get). */
static void print_reservation(json_t *run, const char *indent)
{
	json_t *v = json_object_get(run, "reservation");
	const char *status = json_string_value(json_object_get(run, "status"));
	if (json_is_object(v))
		printf("%sbilling reservation #%lld %s: the statements go out by e-mail at %s KST "
		       "(BILLING_RESERVATION_DELAY_S after the run)\n",
		       indent, (long long)json_integer_value(json_object_get(v, "id")),
		       json_string_value(json_object_get(v, "status")),
		       json_string_value(json_object_get(v, "scheduled_at")));
	else if (status && !strcmp(status, "COMPLETED"))
		printf("%sno billing reservation: nothing is sent for this run\n", indent);
}

static int print_run(cli_state *st, int64_t id)
{
	char *json;
	int rc = bl_batch_get(cli_ctx(st), id, &json);
	if (rc)
		return cli_fail("batch status", rc);
	if (st->json) {
		puts(json);
	} else {
		json_t *r = json_loads(json, 0, NULL);
		char a[32], b[32];
		printf("run #%lld  %s  %s  %s  by %s\n", (long long)id,
		       json_string_value(json_object_get(r, "target_month")),
		       json_string_value(json_object_get(r, "mode")),
		       json_string_value(json_object_get(r, "status")),
		       json_string_value(json_object_get(r, "created_by")));
		printf("  started %s  ended %s  duration %lld ms\n",
		       json_string_value(json_object_get(r, "started_at")),
		       json_is_string(json_object_get(r, "ended_at"))
			       ? json_string_value(json_object_get(r, "ended_at")) : "-",
		       (long long)json_integer_value(json_object_get(r, "duration_ms")));
		printf("  processed %lld/%lld  issued %lld  skipped %lld  failed %lld  chunks %lld/%lld\n",
		       (long long)json_integer_value(json_object_get(r, "processed_count")),
		       (long long)json_integer_value(json_object_get(r, "total_count")),
		       (long long)json_integer_value(json_object_get(r, "issued_count")),
		       (long long)json_integer_value(json_object_get(r, "skipped_count")),
		       (long long)json_integer_value(json_object_get(r, "failed_count")),
		       (long long)json_integer_value(json_object_get(r, "chunks_done")),
		       (long long)json_integer_value(json_object_get(r, "chunks")));
		printf("  billed %s원  VAT %s원\n",
		       cli_won(json_integer_value(json_object_get(r, "billed_sum")), a),
		       cli_won(json_integer_value(json_object_get(r, "vat_sum")), b));
		if (json_is_string(json_object_get(r, "fail_reason")))
			printf("  reason: %s\n", json_string_value(json_object_get(r, "fail_reason")));
		json_t *f, *fails = json_object_get(r, "failures");
		size_t i;
		json_array_foreach(fails, i, f) {
			printf("  failed user %lld: %s %s\n",
			       (long long)json_integer_value(json_object_get(f, "user_id")),
			       json_string_value(json_object_get(f, "reason")),
			       json_string_value(json_object_get(f, "detail")));
		}
		print_reservation(r, "  ");
		json_decref(r);
	}
	bl_free(json);
	return 0;
}

static int parse_run_opts(int argc, char **argv, int first, bl_batch_opts *o, const char **month,
			  const char *sub)
{
	for (int i = first; i < argc; i++) {
		const char *v;
		if (month && cli_opt(argc, argv, &i, "--month", &v)) {
			if (!v)
				return cli_usage("batch %s: --month needs YYYY-MM", sub);
			*month = v;
		} else if (cli_opt(argc, argv, &i, "--mode", &v)) {
			if (!v || bl_batch_mode_parse(v, &o->mode))
				return cli_usage("batch %s: --mode must be normal, failed-only, dry-run or reissue",
						 sub);
		} else if (cli_opt(argc, argv, &i, "--partitions", &v)) {
			char *end;
			long n = v ? strtol(v, &end, 10) : 0;
			if (!v || *end || n < 1 || n > 64)
				return cli_usage("batch %s: --partitions must be 1-64", sub);
			o->partitions = (int)n;
		} else if (cli_opt(argc, argv, &i, "--chunk", &v)) {
			char *end;
			long n = v ? strtol(v, &end, 10) : 0;
			if (!v || *end || n < 1 || n > 100000)
				return cli_usage("batch %s: --chunk must be 1-100000", sub);
			o->chunk_size = (int)n;
		} else if (!strcmp(argv[i], "--auto")) {
			o->created_by = BL_CREATED_AUTO;
		} else if (month && !strcmp(argv[i], "--force")) {
			o->allow_future = true; /* a month after the current one */
		} else if (month && !strcmp(argv[i], "--allow-empty")) {
			o->allow_empty = true; /* a month without charges */
		} else {
			return cli_usage("batch %s: unknown argument '%s'", sub, argv[i]);
		}
	}
	return 0;
}

static int finish(cli_state *st, struct bar *bar, int rc, int64_t id, const char *what)
{
	cli_progress_end(&bar->p);
	cli_cancellable(false);
	if (rc && rc != BL_ESTOPPED) {
		int ex = cli_fail(what, rc);
		if (id)
			fprintf(stderr, "billing-cli: see 'billing-cli batch status %lld'\n", (long long)id);
		return ex;
	}
	bl_batch_progress p;
	if (bl_batch_progress_get(cli_ctx(st), id, &p))
		return cli_fail(what, bl_error_last_code());
	double el = cli_now() - bar->p.t0;
	if (st->json)
		printf("{\"run_id\":%lld,\"status\":\"%s\",\"total\":%lld,\"issued\":%lld,\"skipped\":%lld,"
		       "\"failed\":%lld,\"seconds\":%.3f}\n",
		       (long long)id, rc ? "STOPPED" : "COMPLETED", (long long)p.total, (long long)p.issued,
		       (long long)p.skipped, (long long)p.failed, el);
	else
		printf("batch run #%lld %s%s%s: %lld/%lld processed, %lld issued, %lld skipped, %lld failed "
		       "in %.1f s (%.0f users/s)\n",
		       (long long)id, cli_c(st, rc ? C_YELLOW : C_GREEN), rc ? "STOPPED" : "COMPLETED",
		       st->color ? "\033[0m" : "", (long long)p.processed,
		       (long long)p.total, (long long)p.issued, (long long)p.skipped, (long long)p.failed,
		       el, el > 0 ? (double)p.processed / el : 0.0);
	if (rc && !st->json)
		printf("resume it with: batch resume %lld\n", (long long)id);
	if (!rc && p.total == 0 && !st->json)
		printf("0 charges: nothing was issued and no billing reservation was created\n");
	char *json = NULL;
	if (!rc && p.total > 0 && !st->json && bl_batch_get(cli_ctx(st), id, &json) == BL_OK) {
		json_t *r = json_loads(json, 0, NULL);
		print_reservation(r, "");
		json_decref(r);
	}
	bl_free(json);
	return rc ? EXIT_STOPPED : 0;
}

int cmd_batch(cli_state *st, int argc, char **argv)
{
	if (argc < 1)
		return cli_usage("usage: batch run|status|list|stop|resume|join|recover (see docs/cli.md)");
	const char *sub = argv[0];
	bl_batch_opts o;
	bl_batch_opts_init(&o, BL_BATCH_OPTS_VERSION);
	struct bar bar = { .mu = PTHREAD_MUTEX_INITIALIZER };
	cli_progress_start(&bar.p, st, "batch");
	o.progress_cb = on_progress;
	o.progress_payload = &bar;
	o.cancel = &cli_interrupted;
	if (!strcmp(sub, "run")) {
		const char *month = st->month;
		int ex = parse_run_opts(argc, argv, 1, &o, &month, sub);
		if (ex)
			return ex;
		int64_t id = 0;
		cli_cancellable(true);
		int rc = bl_batch_run(cli_ctx(st), month, &o, &id);
		return finish(st, &bar, rc, id, "batch run");
	}
	if (!strcmp(sub, "resume") || !strcmp(sub, "join")) {
		long long id;
		if (argc < 2 || !cli_num(argv[1], 1, INT64_MAX, &id))
			return cli_usage("usage: batch %s RUN_ID [--partitions N]", sub);
		int ex = parse_run_opts(argc, argv, 2, &o, NULL, sub);
		if (ex)
			return ex;
		cli_cancellable(true);
		int rc = !strcmp(sub, "join") ? bl_batch_join(cli_ctx(st), id, &o)
					       : bl_batch_resume(cli_ctx(st), id, &o);
		return finish(st, &bar, rc, id, !strcmp(sub, "join") ? "batch join" : "batch resume");
	}
	if (!strcmp(sub, "status")) {
		long long id;
		if (argc == 2 && cli_num(argv[1], 1, INT64_MAX, &id))
			return print_run(st, id);
		if (argc > 1)
			return cli_usage("usage: batch status [RUN_ID]");
		char *json;
		int rc = bl_batch_list(cli_ctx(st), NULL, 1, &json);
		if (rc)
			return cli_fail("batch status", rc);
		json_t *a = json_loads(json, 0, NULL);
		bl_free(json);
		json_t *r = json_array_get(a, 0);
		id = r ? json_integer_value(json_object_get(r, "id")) : 0;
		json_decref(a);
		if (!id) {
			fprintf(stderr, "billing-cli: batch status: no runs yet\n");
			return EXIT_NOTFOUND;
		}
		return print_run(st, id);
	}
	if (!strcmp(sub, "list")) {
		const char *month = NULL;
		long long limit = 20;
		int ex = 0;
		for (int i = 1; i < argc && !ex; i++) {
			if (!cli_opt_str(argc, argv, &i, "--month", &month, &ex) &&
			    !cli_opt_num(argc, argv, &i, "--limit", 1, 1000, &limit, &ex))
				return cli_usage("usage: batch list [--month YYYY-MM] [--limit N]");
		}
		if (ex)
			return ex;
		char *json;
		int rc = bl_batch_list(cli_ctx(st), month, (int)limit, &json);
		if (rc)
			return cli_fail("batch list", rc);
		static const char *const H[] = { "ID", "MONTH", "MODE", "STATUS", "BY", "STARTED",
						 "PROCESSED", "ISSUED", "FAILED", "BILLED" };
		static const char *const K[] = { "#id", "target_month", "mode", "status", "created_by",
						 "started_at", "$processed_count", "$issued_count",
						 "$failed_count", "$billed_sum" };
		cli_print_rows(st, json, H, K, 10);
		bl_free(json);
		return 0;
	}
	if (!strcmp(sub, "stop")) {
		long long id;
		if (argc != 2 || !cli_num(argv[1], 1, INT64_MAX, &id))
			return cli_usage("usage: batch stop RUN_ID");
		int rc = bl_batch_stop(cli_ctx(st), id);
		if (rc)
			return cli_fail("batch stop", rc);
		printf("batch run #%s: stop requested (it ends after its current chunks)\n", argv[1]);
		return 0;
	}
	if (!strcmp(sub, "recover")) {
		int n = 0;
		int rc = bl_batch_recover(cli_ctx(st), &n);
		if (rc)
			return cli_fail("batch recover", rc);
		printf("batch recover: %d crashed run(s) marked FAILED (SERVER_CRASH)\n", n);
		return 0;
	}
	return cli_usage("batch: unknown sub-command '%s'", sub);
}
