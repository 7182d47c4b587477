/* billing-cli batch: run | status | list | stop | resume | join | recover. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
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

/* When the run's statements go out: its billing reservation. */
static void print_reservation(const bl_run *run, const char *indent)
{
	int64_t id = 0;
	const char *status = NULL, *at = NULL;
	if (bl_run_reservation(run, &id, &status, &at, NULL))
		printf("%sbilling reservation #%lld %s: the statements go out by e-mail at %s KST "
		       "(BILLING_RESERVATION_DELAY_S after the run)\n",
		       indent, (long long)id, status, at);
	else if (bl_run_status_of(run) == BL_RUN_COMPLETED)
		printf("%sno billing reservation: nothing is sent for this run\n", indent);
}

static int print_run(cli_state *st, int64_t id)
{
	bl_run *r = NULL;
	int rc = bl_run_get(cli_ctx(st), id, &r);
	if (rc)
		return cli_fail("batch status", rc);
	if (st->json) {
		char *json = NULL;
		if ((rc = bl_run_to_json(r, &json))) {
			bl_run_free(r);
			return cli_fail("batch status", rc);
		}
		puts(json);
		bl_free(json);
		bl_run_free(r);
		return 0;
	}
	char a[32], b[32];
	bl_batch_progress p;
	bl_run_progress(r, &p);
	printf("run #%lld  %s  %s  %s  by %s\n", (long long)id, bl_run_month(r), bl_batch_mode_name(bl_run_mode(r)),
	       bl_run_status_name(bl_run_status_of(r)), bl_run_created_by(r) == BL_CREATED_AUTO ? "AUTO" : "ADMIN");
	printf("  started %s  ended %s  duration %lld ms\n", bl_run_started_at(r),
	       bl_run_ended_at(r) ? bl_run_ended_at(r) : "-",
	       (long long)(bl_run_duration_ms(r) < 0 ? 0 : bl_run_duration_ms(r)));
	printf("  processed %lld/%lld  issued %lld  skipped %lld  failed %lld  chunks %lld/%lld\n",
	       (long long)p.processed, (long long)p.total, (long long)p.issued, (long long)p.skipped,
	       (long long)p.failed, (long long)bl_run_chunks_done(r), (long long)bl_run_chunks(r));
	printf("  billed %s원  VAT %s원\n", cli_won(bl_run_billed_sum(r), a), cli_won(bl_run_vat_sum(r), b));
	if (bl_run_fail_reason(r))
		printf("  reason: %s\n", bl_run_fail_reason(r));
	for (size_t i = 0; i < bl_run_failure_count(r); i++) {
		int64_t user = 0;
		const char *reason = NULL, *detail = NULL;
		bl_run_failure(r, i, &user, &reason, &detail);
		printf("  failed user %lld: %s %s\n", (long long)user, reason ? reason : "(null)",
		       detail ? detail : "(null)");
	}
	print_reservation(r, "  ");
	bl_run_free(r);
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
		cli_print_obj(json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:f}", "run_id", (json_int_t)id, "status",
					rc ? "STOPPED" : "COMPLETED", "total", (json_int_t)p.total, "issued",
					(json_int_t)p.issued, "skipped", (json_int_t)p.skipped, "failed",
					(json_int_t)p.failed, "seconds", (double)(int64_t)(el * 1000) / 1000));
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
	bl_run *r = NULL;
	if (!rc && p.total > 0 && !st->json && bl_run_get(cli_ctx(st), id, &r) == BL_OK)
		print_reservation(r, "");
	bl_run_free(r);
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
		bl_batch_job *job = NULL;
		int rc = bl_batch_start(cli_ctx(st), month, &o, &id, &job);
		if (rc == BL_OK)
			rc = bl_batch_job_wait(job, -1, NULL); /* Ctrl-C stops it through o.cancel */
		bl_batch_job_free(job);
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
		bl_batch_job *job = NULL;
		int rc = !strcmp(sub, "join") ? bl_batch_join(cli_ctx(st), id, &o)
					       : bl_batch_resume_start(cli_ctx(st), id, &o, &job);
		if (rc == BL_OK && job)
			rc = bl_batch_job_wait(job, -1, NULL);
		bl_batch_job_free(job);
		return finish(st, &bar, rc, id, !strcmp(sub, "join") ? "batch join" : "batch resume");
	}
	if (!strcmp(sub, "status")) {
		long long id;
		if (argc == 2 && cli_num(argv[1], 1, INT64_MAX, &id))
			return print_run(st, id);
		if (argc > 1)
			return cli_usage("usage: batch status [RUN_ID]");
		bl_run_filter f;
		bl_run_filter_init(&f, BL_RUN_FILTER_VERSION);
		f.limit = 1;
		bl_run_list *l = NULL;
		int rc = bl_run_list_get(cli_ctx(st), &f, &l);
		if (rc)
			return cli_fail("batch status", rc);
		id = bl_run_list_count(l) ? bl_run_id(bl_run_list_at(l, 0)) : 0;
		bl_run_list_free(l);
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
