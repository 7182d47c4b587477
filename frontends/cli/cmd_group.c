/* billing-cli group: list | show | members | create | update | delete | add | remove. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define GROUP_USAGE "usage: group list|show|members|create|update|delete|add|remove (see 'help group')"

static int members(cli_state *st, int argc, char **argv)
{
	long long after = 0, limit = 100;
	int ex = 0;
	for (int i = 1; i < argc && !ex; i++)
		if (!cli_opt_num(argc, argv, &i, "--after", 0, INT64_MAX, &after, &ex) &&
		    !cli_opt_num(argc, argv, &i, "--limit", 1, 1000, &limit, &ex))
			return cli_usage("usage: group members CODE [--after ID] [--limit N]");
	if (ex)
		return ex;
	char *json;
	int rc = bl_group_members(cli_ctx(st), argv[0], after, (int)limit, &json);
	if (rc)
		return cli_fail("group members", rc);
	static const char *const H[] = { "ID", "NAME", "PHONE", "EMAIL", "CHANNEL" };
	static const char *const K[] = { "#id", "name", "phone", "email", "preferred_channel" };
	cli_print_rows(st, json, H, K, 5);
	bl_free(json);
	return 0;
}

/* add/remove CODE USER_ID...: every id is tried; the worst exit code wins. */
static int change(cli_state *st, bool add, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("usage: group %s CODE USER_ID...", add ? "add" : "remove");
	int ex = 0, done = 0;
	for (int i = 1; i < argc; i++) {
		long long uid;
		if (!cli_num(argv[i], 1, INT64_MAX, &uid)) {
			ex = cli_usage("group %s: '%s' is not a subscriber id", add ? "add" : "remove", argv[i]);
			continue;
		}
		int rc = add ? bl_group_add(cli_ctx(st), argv[0], uid) : bl_group_remove(cli_ctx(st), argv[0], uid);
		if (rc) {
			int e = cli_fail(add ? "group add" : "group remove", rc);
			ex = ex ? ex : e;
			if (rc != BL_ENOTFOUND || strstr(bl_error_last(), "group '"))
				break; /* the group itself is the problem (or the backend): stop */
			continue;
		}
		done++;
	}
	if (done) {
	}
	if (st->json)
		cli_print_obj(json_pack("{s:s,s:i}", "group", argv[0], add ? "added" : "removed", done));
	else
		printf("group %s: %d subscriber(s) %s\n", argv[0], done, add ? "added" : "removed");
	return ex;
}

int cmd_group(cli_state *st, int argc, char **argv)
{
	if (argc < 1)
		return cli_usage(GROUP_USAGE);
	const char *sub = argv[0];
	char key[40];
	snprintf(key, sizeof key, " %.30s ", sub);
	if (!strstr(" list show members create update delete add remove ", key))
		return cli_usage("group: unknown sub-command '%s'\n" GROUP_USAGE, sub);
	argc--, argv++;
	char *json = NULL;
	int rc;
	if (!strcmp(sub, "list")) {
		if (argc)
			return cli_usage("usage: group list");
		if ((rc = bl_group_list(cli_ctx(st), &json)))
			return cli_fail("group list", rc);
		static const char *const H[] = { "CODE", "KIND", "MEMBERS", "NAME", "DESCRIPTION" };
		static const char *const K[] = { "code", "kind", "$member_count", "name", "description" };
		cli_print_rows(st, json, H, K, 5);
		bl_free(json);
		return 0;
	}
	if (argc < 1)
		return cli_usage("usage: group %s CODE ...", sub);
	const char *code = argv[0];
	if (!strcmp(sub, "show")) {
		if (argc != 1)
			return cli_usage("usage: group show CODE");
		if ((rc = bl_group_get(cli_ctx(st), code, &json)))
			return cli_fail("group show", rc);
		if (st->json)
			puts(json);
		else
			cli_print_json(json);
		bl_free(json);
		return 0;
	}
	if (!strcmp(sub, "members"))
		return members(st, argc, argv);
	if (!strcmp(sub, "add") || !strcmp(sub, "remove"))
		return change(st, !strcmp(sub, "add"), argc, argv);
	if (!strcmp(sub, "create") || !strcmp(sub, "update")) {
		bool create = !strcmp(sub, "create");
		const char *name = NULL, *desc = NULL;
		int ex = 0, i = 1;
		if (create) {
			if (argc < 2 || argv[1][0] == '-')
				return cli_usage("usage: group create CODE NAME [--description TEXT]");
			name = argv[1];
			i = 2;
		}
		for (; i < argc && !ex; i++)
			if (!cli_opt_str(argc, argv, &i, "--description", &desc, &ex) &&
			    (create || !cli_opt_str(argc, argv, &i, "--name", &name, &ex)))
				return cli_usage("group %s: unexpected argument '%s'", sub, argv[i]);
		if (ex)
			return ex;
		int64_t id = 0;
		rc = create ? bl_group_create(cli_ctx(st), code, name, desc, &id)
			    : bl_group_update(cli_ctx(st), code, name, desc);
		if (rc)
			return cli_fail(create ? "group create" : "group update", rc);
		if (st->json && create)
			cli_print_obj(json_pack("{s:I,s:s}", "id", (json_int_t)id, "code", code));
		else if (st->json)
			cli_print_obj(json_pack("{s:s}", "code", code));
		else if (create)
			printf("group %s created (id %lld)\n", code, (long long)id);
		else
			printf("group %s updated\n", code);
		return 0;
	}
	if (!strcmp(sub, "delete")) {
		if (argc != 1)
			return cli_usage("usage: group delete CODE");
		if ((rc = bl_group_delete(cli_ctx(st), code)))
			return cli_fail("group delete", rc);
		if (st->json)
			cli_print_obj(json_pack("{s:s}", "deleted", code));
		else
			printf("group %s deleted\n", code);
		return 0;
	}
	return cli_usage("group: unknown sub-command '%s'\n" GROUP_USAGE, sub);
}
