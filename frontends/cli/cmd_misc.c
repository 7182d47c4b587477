/* billing-cli: migrate, config, user, statement, stats. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cmd_migrate(cli_state *st, int argc, char **argv)
{
	(void)argv;
	if (argc)
		return cli_usage("migrate takes no arguments");
	int applied = 0, version = 0;
	int rc = bl_migrate(cli_ctx(st), &applied);
	if (rc)
		return cli_fail("migrate", rc);
	bl_migrate_version(cli_ctx(st), &version);
	if (st->json)
		cli_print_obj(json_pack("{s:i,s:i}", "applied", applied, "version", version));
	else
		printf("migrate: applied %d migration(s); schema version %d\n", applied, version);
	return 0;
}

int cmd_config(cli_state *st, int argc, char **argv)
{
	if (argc == 1 && !strcmp(argv[0], "genkey")) {
		char *k;
		int rc = bl_data_key_generate(&k);
		if (rc)
			return cli_fail("config genkey", rc);
		printf("%s\n", k);
		bl_free(k);
		return 0;
	}
	if (argc != 1 || strcmp(argv[0], "show"))
		return cli_usage("usage: config show | config genkey");
	const bl_config *cfg = bl_ctx_config(cli_ctx(st));
	json_t *arr = json_array();
	for (size_t i = 0; i < bl_config_count(); i++) {
		const char *k = bl_config_key(i), *v = bl_config_get(cfg, k);
		const char *shown = bl_config_is_secret(k) ? (*v ? "********" : "(unset)") : v;
		if (st->json)
			json_array_append_new(arr, json_pack("{s:s}", k, shown));
		else
			printf("%-38s %-20s %s# %s%s\n", k, shown, cli_c(st, C_DIM), bl_config_describe(k),
			       st->color ? "\033[0m" : "");
	}
	if (st->json) {
		char *s = json_dumps(arr, JSON_COMPACT);
		puts(s ? s : "[]");
		free(s);
	}
	json_decref(arr);
	return 0;
}

static int user_search(cli_state *st, int argc, char **argv)
{
	bl_user_filter f;
	bl_user_filter_init(&f, BL_USER_FILTER_VERSION);
	int ex = 0;
	for (int i = 0; i < argc && !ex; i++) {
		long long n;
		if (cli_opt_str(argc, argv, &i, "--name", &f.name, &ex) ||
		    cli_opt_str(argc, argv, &i, "--phone", &f.phone, &ex) ||
		    cli_opt_str(argc, argv, &i, "--email", &f.email, &ex) ||
		    cli_opt_str(argc, argv, &i, "--plan", &f.plan_code, &ex)) {
		} else if (cli_opt_num(argc, argv, &i, "--after", 0, INT64_MAX, &n, &ex)) {
			f.after_id = n;
		} else if (cli_opt_num(argc, argv, &i, "--limit", 1, 1000, &n, &ex)) {
			f.limit = (int)n;
		} else
			return cli_usage("user search: unknown argument '%s'", argv[i]);
	}
	if (ex)
		return ex;
	char *json;
	int rc = bl_user_search(cli_ctx(st), &f, &json);
	if (rc)
		return cli_fail("user search", rc);
	static const char *const H[] = { "ID", "NAME", "PHONE", "EMAIL", "CHANNEL", "CREATED" };
	static const char *const K[] = { "#id", "name", "phone", "email", "preferred_channel", "created_at" };
	cli_print_rows(st, json, H, K, 6);
	bl_free(json);
	return 0;
}

/* `user show`: a heading and a table, as `statement show`; --json prints the JSON. */
static void print_user(cli_state *st, const char *json)
{
	json_t *u = json_loads(json, 0, NULL);
	printf("%s고객 subscriber #%lld%s  %s\n", cli_c(st, C_BOLD),
	       (long long)json_integer_value(json_object_get(u, "id")), st->color ? "\033[0m" : "",
	       json_string_value(json_object_get(u, "name")) ? json_string_value(json_object_get(u, "name")) : "-");
	static const char *const H[] = { "PHONE", "EMAIL", "CHANNEL", "E-MAIL OK", "SMS OK", "CREATED" };
	static const char *const K[] = { "phone", "email", "preferred_channel", "consent_email", "consent_sms",
					 "created_at" };
	cli_table *t = cli_table_new(6, H);
	cli_table_row_json(t, u, K);
	cli_table_print(st, t);
	cli_table_free(t);
	json_decref(u);
}

int cmd_user(cli_state *st, int argc, char **argv)
{
	long long id;
	if (argc >= 2 && !strcmp(argv[0], "show")) {
		bool reveal = argc > 2 && !strcmp(argv[2], "--reveal");
		if (!cli_num(argv[1], 1, INT64_MAX, &id) || argc > 3 || (argc == 3 && !reveal))
			return cli_usage("usage: user show ID [--reveal]");
		char *json;
		int rc = bl_user_get(cli_ctx(st), id, reveal, &json);
		if (rc)
			return cli_fail("user show", rc);
		if (st->json)
			puts(json);
		else
			print_user(st, json);
		bl_free(json);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[0], "find")) {
		int64_t uid;
		int rc;
		if (!strcmp(argv[1], "--phone"))
			rc = bl_user_find_by_phone(cli_ctx(st), argv[2], &uid);
		else if (!strcmp(argv[1], "--email"))
			rc = bl_user_find_by_email(cli_ctx(st), argv[2], &uid);
		else
			return cli_usage("usage: user find --phone P | --email E");
		if (rc)
			return cli_fail("user find", rc);
		if (st->json)
			cli_print_obj(json_pack("{s:I}", "id", (json_int_t)uid));
		else
			printf("%lld\n", (long long)uid);
		return 0;
	}
	if (argc >= 1 && !strcmp(argv[0], "search"))
		return user_search(st, argc - 1, argv + 1);
	return cli_usage("usage: user show ID [--reveal] | user find --phone P | --email E | user search ...");
}

static void print_statement(cli_state *st, const bl_statement *s)
{
	char a[32], b[32], c[32], d[32], e[32], f[32], g[32];
#define S(v) ((v) ? (v) : "-")
	printf("%s정산서 %s%s  user %lld %s  statement #%lld v%lld  run #%lld  issued %s\n",
	       cli_c(st, C_BOLD), S(bl_statement_target_month(s)), st->color ? "\033[0m" : "",
	       (long long)bl_statement_user_id(s), S(bl_statement_user_name(s)), (long long)bl_statement_id(s),
	       (long long)bl_statement_version(s), (long long)bl_statement_batch_run_id(s),
	       S(bl_statement_issued_at(s)));
	static const char *const H[] = { "#", "SERVICE", "TYPE", "PRICE", "CONTRACT", "BUNDLE", "PREMIER", "NET" };
	cli_table *t = cli_table_new(8, H);
	for (int i = 0; i < 8; i++)
		if (i == 0 || i >= 3)
			cli_table_right(t, i);
	for (size_t i = 0; i < bl_statement_lines_count(s); i++) {
		const bl_statement_line *l = bl_statement_lines_at(s, i);
		const char *cells[] = { cli_i64(bl_statement_line_line_no(l), a), bl_statement_line_service_name(l),
					bl_statement_line_service_type(l), cli_won(bl_statement_line_price(l), b),
					cli_won(bl_statement_line_contract_discount(l), c),
					cli_won(bl_statement_line_bundle_discount(l), d),
					cli_won(bl_statement_line_premier_discount(l), e), cli_won(bl_statement_line_net(l), f) };
		cli_table_row(t, cells);
	}
	cli_table_print(st, t);
	cli_table_free(t);
	const struct {
		const char *label;
		bl_won v;
	} T[] = { { "이용 금액 usage", bl_statement_usage_amount(s) }, { "할인 discount", bl_statement_discount_amount(s) },
		  { "부가세 VAT", bl_statement_vat_amount(s) },         { "합계 total", bl_statement_total_amount(s) },
		  { "절사 cut", bl_statement_truncated_amount(s) },     { "청구 billed", bl_statement_billed_amount(s) } };
	for (size_t k = 0; k < sizeof T / sizeof T[0]; k++)
		printf("  %s%*s %14s원\n", T[k].label, 18 - cli_text_width(T[k].label), "", cli_won(T[k].v, g));
	printf("  %s%*s %16s\n", "납부 기한 due", 18 - cli_text_width("납부 기한 due"), "", S(bl_statement_due_date(s)));
#undef S
}

static int statement_search(cli_state *st, int argc, char **argv)
{
	const char *month = NULL;
	long long user = 0, min = 0, max = -1, after = 0, limit = 100;
	int ex = 0;
	for (int i = 0; i < argc && !ex; i++) {
		const char *v;
		if (cli_opt(argc, argv, &i, "--month", &v)) {
			if (!v)
				return cli_usage("statement search: --month needs YYYY-MM");
			month = !strcmp(v, "all") ? NULL : v;
		} else if (cli_opt_num(argc, argv, &i, "--user", 1, INT64_MAX, &user, &ex) ||
			   cli_opt_num(argc, argv, &i, "--min", 0, INT64_MAX, &min, &ex) ||
			   cli_opt_num(argc, argv, &i, "--max", 0, INT64_MAX, &max, &ex) ||
			   cli_opt_num(argc, argv, &i, "--after", 0, INT64_MAX, &after, &ex) ||
			   cli_opt_num(argc, argv, &i, "--limit", 1, 1000, &limit, &ex)) {
		} else
			return cli_usage("statement search: unknown argument '%s'", argv[i]);
	}
	if (ex)
		return ex;
	bl_statement_filter f;
	bl_statement_filter_init(&f, BL_STATEMENT_FILTER_VERSION);
	f.month = month;
	f.user_id = user;
	f.min_billed = min;
	f.max_billed = max;
	f.after_id = after;
	f.limit = (int)limit;
	bl_statement_array *a = NULL;
	int rc = bl_statement_find(cli_ctx(st), &f, &a);
	if (rc)
		return cli_fail("statement search", rc);
	if (st->json) {
		char *json = NULL;
		if ((rc = bl_statement_array_to_json(a, &json))) {
			bl_statement_array_free(a);
			return cli_fail("statement search", rc);
		}
		puts(json);
		bl_free(json);
		bl_statement_array_free(a);
		return 0;
	}
	static const char *const H[] = { "ID", "USER", "NAME", "MONTH", "RUN", "V", "VAT", "BILLED", "DUE" };
	cli_table *t = cli_table_new(9, H);
	for (int i = 0; i < 9; i++)
		if (i != 2 && i != 3 && i != 8)
			cli_table_right(t, i);
	for (size_t i = 0; i < bl_statement_array_count(a); i++) {
		const bl_statement *s = bl_statement_array_at(a, i);
		char c0[32], c1[32], c4[32], c5[32], c6[32], c7[32];
		const char *cells[] = { cli_i64(bl_statement_id(s), c0), cli_i64(bl_statement_user_id(s), c1),
					bl_statement_user_name(s), bl_statement_target_month(s),
					cli_i64(bl_statement_batch_run_id(s), c4), cli_i64(bl_statement_version(s), c5),
					cli_won(bl_statement_vat_amount(s), c6), cli_won(bl_statement_billed_amount(s), c7),
					bl_statement_due_date(s) };
		cli_table_row(t, cells);
	}
	cli_table_done(st, t);
	bl_statement_array_free(a);
	return 0;
}

int cmd_statement(cli_state *st, int argc, char **argv)
{
	if (argc >= 1 && !strcmp(argv[0], "search"))
		return statement_search(st, argc - 1, argv + 1);
	long long uid;
	if (argc < 2 || argc > 3 || strcmp(argv[0], "show") || !cli_num(argv[1], 0, INT64_MAX, &uid))
		return cli_usage("usage: statement show USER_ID [YYYY-MM] | statement search [...]");
	bl_statement *s = NULL;
	int rc = bl_statement_lookup(cli_ctx(st), uid, argc == 3 ? argv[2] : st->month, &s);
	if (rc)
		return cli_fail("statement show", rc);
	if (st->json) {
		char *json = NULL;
		if ((rc = bl_statement_to_json(s, &json))) {
			bl_statement_free(s);
			return cli_fail("statement show", rc);
		}
		puts(json);
		bl_free(json);
	} else {
		print_statement(st, s);
	}
	bl_statement_free(s);
	return 0;
}

int cmd_stats(cli_state *st, int argc, char **argv)
{
	(void)argv;
	if (argc)
		return cli_usage("stats takes no arguments");
	char *msg = NULL;
	int rc = bl_stats_get(cli_ctx(st), 60, &msg); /* the last hour */
	if (rc)
		return cli_fail("stats", rc);
	bl_run_filter f;
	bl_run_filter_init(&f, BL_RUN_FILTER_VERSION);
	f.limit = 1;
	bl_run_list *runs = NULL;
	bl_run *cur = NULL;
	if ((rc = bl_run_list_get(cli_ctx(st), &f, &runs)) || (rc = bl_run_current(cli_ctx(st), &cur))) {
		bl_free(msg);
		bl_run_list_free(runs);
		return cli_fail("stats", rc);
	}
	json_t *all = json_loads(msg, 0, NULL);
	/* the messages' part, under the names the output has always used */
	json_t *m = json_pack("{s:O,s:O}", "by_status_channel",
			      json_object_get(json_object_get(all, "messages"), "by_status_channel"), "per_minute",
			      json_object_get(all, "sends_per_minute"));
	json_decref(all);
	/* the running run, else the newest that is not a dry run (a dry run issues nothing) */
	const bl_run *run = cur, *newest = bl_run_list_at(runs, 0);
	if (st->json) {
		/* last_batch_run: the newest run; current_batch_run: the one headlined below */
		char *nj = NULL, *cj = NULL;
		if (newest)
			bl_run_to_json(newest, &nj);
		if (run)
			bl_run_to_json(run, &cj);
		json_t *nv = nj ? json_loads(nj, 0, NULL) : NULL, *cv = cj ? json_loads(cj, 0, NULL) : NULL;
		bl_free(nj);
		bl_free(cj);
		json_t *o = json_pack("{s:O,s:o,s:o}", "messages", m, "last_batch_run", nv ? nv : json_null(),
				      "current_batch_run", cv ? cv : json_null());
		char *s = json_dumps(o, JSON_COMPACT);
		puts(s ? s : "{}");
		free(s);
		json_decref(o);
	} else {
		/* status × channel grid */
		static const char *const ST[] = { "WAITING", "PROCESSING", "SUCCESS", "FAILED", "EXCEEDED", "DEAD",
						  "BOUNCED", "SUPPRESSED", "DELIVERED", "UNDELIVERED" };
		static const char *const H[] = { "STATUS", "EMAIL", "SMS", "TOTAL" };
		cli_table *t = cli_table_new(4, H);
		for (int c = 1; c < 4; c++)
			cli_table_right(t, c);
		int64_t tot[3] = { 0 };
		for (size_t s = 0; s < sizeof ST / sizeof ST[0]; s++) {
			int64_t e = 0, sm = 0;
			size_t i;
			json_t *row;
			json_array_foreach(json_object_get(m, "by_status_channel"), i, row) {
				if (strcmp(json_string_value(json_object_get(row, "status")), ST[s]))
					continue;
				int64_t n = json_integer_value(json_object_get(row, "count"));
				if (!strcmp(json_string_value(json_object_get(row, "channel")), "SMS"))
					sm += n;
				else
					e += n;
			}
			char a[32], b[32], c[32];
			const char *cells[] = { ST[s], cli_won(e, a), cli_won(sm, b), cli_won(e + sm, c) };
			cli_table_row(t, cells);
			tot[0] += e, tot[1] += sm, tot[2] += e + sm;
		}
		char a[32], b[32], c[32];
		const char *cells[] = { "all", cli_won(tot[0], a), cli_won(tot[1], b), cli_won(tot[2], c) };
		cli_table_row(t, cells);
		printf("%smessages%s (how many messages are in each status now)\n", cli_c(st, C_BOLD),
		       st->color ? "\033[0m" : "");
		cli_table_print(st, t);
		cli_table_free(t);
		int64_t ok = 0, bad = 0, mins = 0;
		size_t i;
		json_t *row;
		json_array_foreach(json_object_get(m, "per_minute"), i, row) {
			ok += json_integer_value(json_object_get(row, "success"));
			bad += json_integer_value(json_object_get(row, "failed"));
			mins++;
		}
		/* attempts, not messages: a message that failed and was retried counts
		 * once per attempt here and once above, in its current status */
		printf("send attempts in the last hour: %s succeeded, %s failed (%lld active minute(s), %s/min); "
		       "a failed attempt may be retried, so these are not message counts\n",
		       cli_won(ok, a), cli_won(bad, b), (long long)mins, cli_won(mins ? ok / mins : 0, c));
		if (run) {
			const char *status = bl_run_status_name(bl_run_status_of(run));
			bl_batch_progress p;
			bl_run_progress(run, &p);
			printf("batch run%s: #%lld %s %s%s%s  issued %s  billed %s원\n",
			       bl_run_mode(run) == BL_BATCH_DRY_RUN ? " (dry run: issues nothing)" : "",
			       (long long)bl_run_id(run), bl_run_month(run),
			       cli_c(st, cli_status_color(status) ? cli_status_color(status) : "0"), status,
			       st->color ? "\033[0m" : "", cli_won(p.issued, a), cli_won(bl_run_billed_sum(run), b));
		} else {
			printf("batch run: none\n");
		}
		if (run && newest && bl_run_mode(newest) == BL_BATCH_DRY_RUN && bl_run_id(newest) != bl_run_id(run))
			printf("  (the newer dry run #%lld issued nothing and is not shown: see 'batch list')\n",
			       (long long)bl_run_id(newest));
	}
	bl_run_free(cur);
	bl_run_list_free(runs);
	json_decref(m);
	bl_free(msg);
	return 0;
}
