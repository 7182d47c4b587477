/* billing-cli reservation: create | list | show | cancel | tick. */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

#define RESV_USAGE "usage: reservation create|list|show|cancel|tick (see 'help reservation')"

static const char *const H[] = { "ID", "STATUS", "SCHEDULED", "TEMPLATE", "CH", "TARGET", "MESSAGES", "SKIPPED" };
static const char *const K[] = { "#id", "status", "scheduled_at", "template_code", "channel", "target",
				 "$message_count", "$skipped_count" };

/* "group USER_ALL" / "month 2026-10" for the TARGET column. */
static void add_target(json_t *r)
{
	const char *g = json_string_value(json_object_get(r, "group_code"));
	const char *m = json_string_value(json_object_get(r, "month"));
	char t[80];
	snprintf(t, sizeof t, "%s %s", g ? "group" : "month", g ? g : m ? m : "?");
	json_object_set_new(r, "target", json_string(t));
}

static int show(cli_state *st, const char *json)
{
	if (st->json) {
		puts(json);
		return 0;
	}
	json_t *r = json_loads(json, 0, NULL);
	if (!r)
		return EXIT_FAILURE_;
	add_target(r);
	const char *status = json_string_value(json_object_get(r, "status"));
	printf("reservation #%lld  %s%s%s  %s\n", (long long)json_integer_value(json_object_get(r, "id")),
	       cli_c(st, cli_status_color(status)), status, cli_c(st, "0"),
	       json_string_value(json_object_get(r, "target")));
	printf("  scheduled %s (Asia/Seoul)  template %s v%lld (%s %s)\n",
	       json_string_value(json_object_get(r, "scheduled_at")),
	       json_string_value(json_object_get(r, "template_code")),
	       (long long)json_integer_value(json_object_get(r, "template_version")),
	       json_string_value(json_object_get(r, "channel")), json_string_value(json_object_get(r, "purpose")));
	char a[32], b[32], c[32];
	json_t *tc = json_object_get(r, "target_count");
	printf("  targets now %s  messages %s  skipped (no consent) %s\n",
	       json_is_integer(tc) ? cli_won(json_integer_value(tc), a) : "(not counted: too slow now)",
	       cli_won(json_integer_value(json_object_get(r, "message_count")), b),
	       cli_won(json_integer_value(json_object_get(r, "skipped_count")), c));
	static const char *const times[] = { "created_at", "started_at", "finished_at", "canceled_at" };
	printf("  created by %s", json_string_value(json_object_get(r, "created_by")));
	for (int i = 0; i < 4; i++) {
		const char *v = json_string_value(json_object_get(r, times[i]));
		if (v)
			printf("  %.*s %s", (int)(strchr(times[i], '_') - times[i]), times[i], v);
	}
	putchar('\n');
	json_t *params = json_object_get(r, "params");
	if (json_is_object(params)) {
		char *p = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
		printf("  params %s\n", p ? p : "?");
		free(p);
	}
	json_t *msgs = json_object_get(r, "messages");
	if (json_is_null(msgs))
		printf("  messages by status: (not counted: too slow now)\n");
	if (json_object_size(msgs)) {
		const char *k;
		json_t *v;
		printf("  messages by status:");
		json_object_foreach(msgs, k, v)
			printf(" %s %lld", k, (long long)json_integer_value(v));
		putchar('\n');
	}
	json_decref(r);
	return 0;
}

static int create(cli_state *st, int argc, char **argv)
{
	bl_reservation_opts o;
	bl_reservation_opts_init(&o, BL_RESERVATION_OPTS_VERSION);
	long long run = 0;
	int ex = 0;
	for (int i = 0; i < argc && !ex; i++)
		if (!cli_opt_str(argc, argv, &i, "--template", &o.template_code, &ex) &&
		    !cli_opt_str(argc, argv, &i, "--group", &o.group_code, &ex) &&
		    !cli_opt_str(argc, argv, &i, "--month", &o.month, &ex) &&
		    !cli_opt_str(argc, argv, &i, "--at", &o.scheduled_at, &ex) &&
		    !cli_opt_str(argc, argv, &i, "--params", &o.params_json, &ex) &&
		    !cli_opt_num(argc, argv, &i, "--run", 1, INT64_MAX, &run, &ex))
			return cli_usage("reservation create: unexpected argument '%s'", argv[i]);
	if (ex)
		return ex;
	int64_t id = 0;
	int rc;
	if (run) {
		if (o.template_code || o.group_code || o.month || o.scheduled_at || o.params_json)
			return cli_usage("reservation create --run RUN_ID takes no other option");
		rc = bl_reservation_after_batch(cli_ctx(st), run, NULL, &id);
	} else {
		struct passwd *pw = getpwuid(geteuid());
		char by[64];
		snprintf(by, sizeof by, "cli:%s", pw && pw->pw_name ? pw->pw_name : "?");
		o.created_by = by;
		rc = bl_reservation_create(cli_ctx(st), &o, &id);
	}
	if (rc)
		return cli_fail("reservation create", rc);
	char *json = NULL;
	if ((rc = bl_reservation_get(cli_ctx(st), id, &json)))
		return cli_fail("reservation show", rc);
	ex = show(st, json);
	bl_free(json);
	return ex;
}

static int list(cli_state *st, int argc, char **argv)
{
	const char *status = NULL;
	long long after = 0, limit = 100;
	int ex = 0;
	for (int i = 0; i < argc && !ex; i++)
		if (!cli_opt_str(argc, argv, &i, "--status", &status, &ex) &&
		    !cli_opt_num(argc, argv, &i, "--after", 0, INT64_MAX, &after, &ex) &&
		    !cli_opt_num(argc, argv, &i, "--limit", 1, 1000, &limit, &ex))
			return cli_usage("usage: reservation list [--status S] [--after ID] [--limit N]");
	if (ex)
		return ex;
	char *json = NULL;
	int rc = bl_reservation_list(cli_ctx(st), status, after, (int)limit, &json);
	if (rc)
		return cli_fail("reservation list", rc);
	if (st->json) {
		puts(json);
	} else {
		json_t *a = json_loads(json, 0, NULL), *r;
		size_t i;
		json_array_foreach(a, i, r)
			add_target(r);
		char *rows = json_dumps(a, JSON_COMPACT);
		cli_print_rows(st, rows ? rows : "[]", H, K, 8);
		free(rows);
		json_decref(a);
	}
	bl_free(json);
	return 0;
}

int cmd_reservation(cli_state *st, int argc, char **argv)
{
	if (argc < 1)
		return cli_usage(RESV_USAGE);
	const char *sub = argv[0];
	argc--, argv++;
	if (!strcmp(sub, "create"))
		return create(st, argc, argv);
	if (!strcmp(sub, "list"))
		return list(st, argc, argv);
	if (!strcmp(sub, "tick")) {
		if (argc)
			return cli_usage("usage: reservation tick");
		int64_t n = 0;
		int rc = bl_reservation_tick(cli_ctx(st), 0, &n);
		if (rc)
			return cli_fail("reservation tick", rc);
		if (st->json)
			cli_print_obj(json_pack("{s:I}", "expanded", (json_int_t)n));
		else
			printf("reservation tick: %lld message(s) created\n", (long long)n);
		return 0;
	}
	long long id = 0;
	if (!strcmp(sub, "show") || !strcmp(sub, "cancel")) {
		if (argc != 1 || !cli_num(argv[0], 1, INT64_MAX, &id))
			return cli_usage("usage: reservation %s ID", sub);
	} else {
		return cli_usage("reservation: unknown sub-command '%s'\n" RESV_USAGE, sub);
	}
	char *json = NULL;
	int rc;
	if (!strcmp(sub, "cancel")) {
		if ((rc = bl_reservation_cancel(cli_ctx(st), id)))
			return cli_fail("reservation cancel", rc);
	}
	if ((rc = bl_reservation_get(cli_ctx(st), id, &json)))
		return cli_fail("reservation show", rc);
	int ex = show(st, json);
	bl_free(json);
	return ex;
}
