/* billing-cli: migrate, config, user, statement. */
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
		printf("{\"applied\":%d,\"version\":%d}\n", applied, version);
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
	for (size_t i = 0; i < bl_config_count(); i++) {
		const char *k = bl_config_key(i), *v = bl_config_get(cfg, k);
		const char *shown = bl_config_is_secret(k) ? (*v ? "********" : "(unset)") : v;
		if (st->json)
			printf("%s{\"%s\":\"%s\"}", i ? "," : "[", k, shown);
		else
			printf("%-26s %-20s # %s\n", k, shown, bl_config_describe(k));
	}
	if (st->json)
		printf("]\n");
	return 0;
}

int cmd_user(cli_state *st, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[0], "show")) {
		int64_t id = atoll(argv[1]);
		bool reveal = argc > 2 && !strcmp(argv[2], "--reveal");
		char *json;
		int rc = bl_user_get(cli_ctx(st), id, reveal, &json);
		if (rc)
			return cli_fail("user show", rc);
		cli_print_json(json);
		bl_free(json);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[0], "find")) {
		int64_t id;
		int rc;
		if (!strcmp(argv[1], "--phone"))
			rc = bl_user_find_by_phone(cli_ctx(st), argv[2], &id);
		else if (!strcmp(argv[1], "--email"))
			rc = bl_user_find_by_email(cli_ctx(st), argv[2], &id);
		else
			return cli_usage("usage: user find --phone P | --email E");
		if (rc)
			return cli_fail("user find", rc);
		printf(st->json ? "{\"id\":%lld}\n" : "%lld\n", (long long)id);
		return 0;
	}
	return cli_usage("usage: user show ID [--reveal] | user find --phone P | --email E");
}

int cmd_statement(cli_state *st, int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[0], "show"))
		return cli_usage("usage: statement show USER_ID YYYY-MM");
	char *json;
	int rc = bl_statement_get(cli_ctx(st), atoll(argv[1]), argv[2], &json);
	if (rc)
		return cli_fail("statement show", rc);
	cli_print_json(json);
	bl_free(json);
	return 0;
}
