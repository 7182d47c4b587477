/* billing-cli: bounces (DSN ingestion) and the suppression list (docs/email.md). */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cmd_bounces(cli_state *st, int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[0], "ingest"))
		return cli_usage("usage: bounces ingest MAILDIR");
	bl_bounce_stats s;
	int rc = bl_bounces_ingest(cli_ctx(st), argv[1], &s);
	if (rc)
		return cli_fail("bounces ingest", rc);
	if (st->json)
		cli_print_obj(json_pack("{s:I,s:I,s:I,s:I,s:I}", "files", (json_int_t)s.files, "hard",
					(json_int_t)s.hard, "soft", (json_int_t)s.soft, "ignored", (json_int_t)s.ignored,
					"rejected", (json_int_t)s.rejected));
	else
		printf("bounces: %lld DSN(s) read: %lld hard (BOUNCED, suppressed), %lld soft, %lld ignored, "
		       "%lld kept aside\n", (long long)s.files, (long long)s.hard, (long long)s.soft,
		       (long long)s.ignored, (long long)s.rejected);
	return 0;
}

int cmd_suppression(cli_state *st, int argc, char **argv)
{
	const char *sub = argc ? argv[0] : "list";
	if (!strcmp(sub, "list")) {
		long long after = 0, limit = 100;
		int ex = 0;
		for (int i = 1; i < argc; i++) {
			if (cli_opt_num(argc, argv, &i, "--after", 0, 9223372036854775807LL, &after, &ex) ||
			    cli_opt_num(argc, argv, &i, "--limit", 1, 1000, &limit, &ex)) {
				if (ex)
					return ex;
				continue;
			}
			return cli_usage("suppression list: unknown argument '%s'", argv[i]);
		}
		char *json = NULL;
		int rc = bl_suppression_list(cli_ctx(st), after, (int)limit, &json);
		if (rc)
			return cli_fail("suppression list", rc);
		cli_print_json(json);
		bl_free(json);
		return 0;
	}
	if (!strcmp(sub, "add") && (argc == 2 || argc == 3)) {
		int rc = bl_suppression_add(cli_ctx(st), argv[1], argc == 3 ? argv[2] : "MANUAL", NULL, "cli");
		if (rc)
			return cli_fail("suppression add", rc);
		printf("suppression: added\n");
		return 0;
	}
	if (!strcmp(sub, "remove") && argc == 2) {
		char *end;
		long long id = strtoll(argv[1], &end, 10);
		if (*end || id <= 0)
			return cli_usage("suppression remove: ID must be a positive number");
		int rc = bl_suppression_remove(cli_ctx(st), id, "cli");
		if (rc)
			return cli_fail("suppression remove", rc);
		printf("suppression: #%lld removed\n", id);
		return 0;
	}
	return cli_usage("usage: suppression list [--after ID] [--limit N] | add EMAIL [REASON] | remove ID");
}
