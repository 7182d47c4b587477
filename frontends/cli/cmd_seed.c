/* billing-cli: seed — generate demo data with bl_seed_run. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "cli.h"

#define SEED_USAGE "usage: seed --users N [--month YYYY-MM] [--seed S] [--invalid-permille P]"

/* A whole decimal number in [min, max]; false otherwise. */
static bool parse_num(const char *s, unsigned long long min, unsigned long long max,
		      unsigned long long *out)
{
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static void on_progress(int64_t done, int64_t total, void *payload)
{
	cli_progress_update(payload, done, total);
}

int cmd_seed(cli_state *st, int argc, char **argv)
{
	bl_seed_opts o;
	bl_seed_opts_init(&o, BL_SEED_OPTS_VERSION);
	bool have_users = false;
	o.month = NULL;
	for (int i = 0; i < argc; i++) {
		const char *v = NULL;
		unsigned long long n;
		if (cli_opt(argc, argv, &i, "--users", &v)) {
			if (!parse_num(v, 1, 100000000ULL, &n))
				return cli_usage("seed: --users '%s': expected a number 1 .. 100000000",
						 v ? v : "(missing)");
			o.users = (int64_t)n;
			have_users = true;
		} else if (cli_opt(argc, argv, &i, "--month", &v)) {
			if (!v || !*v)
				return cli_usage("seed: --month: expected YYYY-MM");
			o.month = v;
		} else if (cli_opt(argc, argv, &i, "--seed", &v)) {
			if (!parse_num(v, 0, UINT64_MAX, &n))
				return cli_usage("seed: --seed '%s': expected a number 0 .. %llu",
						 v ? v : "(missing)",
						 (unsigned long long)UINT64_MAX);
			o.seed = (uint64_t)n;
		} else if (cli_opt(argc, argv, &i, "--invalid-permille", &v)) {
			if (!parse_num(v, 0, 1000, &n))
				return cli_usage("seed: --invalid-permille '%s': expected a number 0 .. 1000",
						 v ? v : "(missing)");
			o.invalid_permille = (int)n;
		} else {
			return cli_usage("seed: unexpected argument '%s'\n" SEED_USAGE, argv[i]);
		}
	}
	if (!have_users)
		return cli_usage("seed: --users is required\n" SEED_USAGE);
	if (!o.month)
		o.month = st->month;
	cli_progress bar;
	cli_progress_start(&bar, st, "seed");
	o.progress_cb = on_progress;
	o.progress_payload = &bar;
	bl_seed_stats s;
	int rc = bl_seed_run(cli_ctx(st), &o, &s);
	cli_progress_end(&bar);
	if (rc)
		return cli_fail("seed", rc);
	double secs = s.seconds > 0 ? s.seconds : 1e-9;
	long long rate = (long long)((double)(s.users_created + s.charges) / secs);
	if (st->json) {
		json_t *j = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:I}", "month", o.month,
				      "users_created", (json_int_t)s.users_created, "users_total",
				      (json_int_t)s.users_total, "services", (json_int_t)s.services,
				      "charges", (json_int_t)s.charges, "invalid_users",
				      (json_int_t)s.invalid_users, "group_members",
				      (json_int_t)s.group_members, "seconds", s.seconds,
				      "rows_per_second", (json_int_t)rate);
		char *out = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		puts(out ? out : "{}");
		free(out);
		json_decref(j);
		return 0;
	}
	char a[32], b[32], c[32], d[32], e[32], f[32];
	printf("seed %s: %s subscribers created (%s total), %s charges, %s invalid subscribers, "
	       "%s group members in %.1f s (%s rows/s)\n",
	       o.month, cli_won(s.users_created, a), cli_won(s.users_total, b), cli_won(s.charges, c),
	       cli_won(s.invalid_users, d), cli_won(s.group_members, e), s.seconds,
	       cli_won(rate, f));
	return 0;
}
