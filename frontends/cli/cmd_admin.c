/* billing-cli admin: create | passwd | list | audit. */
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "cli.h"

/* One line of input without echo (terminal) or the next line of stdin. */
static char *read_secret(const char *prompt)
{
	bool tty = isatty(STDIN_FILENO);
	struct termios old, quiet;
	if (tty) {
		fputs(prompt, stderr);
		fflush(stderr);
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n < 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	volatile char *p = s;
	while (*p)
		*p++ = 0;
	free(s);
}

/* The new password: twice on a terminal, once from a pipe. */
static char *new_password(void)
{
	char *a = read_secret("New password: ");
	if (!a || !isatty(STDIN_FILENO))
		return a;
	char *b = read_secret("Again: ");
	bool same = b && !strcmp(a, b);
	wipe_free(b);
	if (!same) {
		wipe_free(a);
		fprintf(stderr, "billing-cli: the passwords differ\n");
		return NULL;
	}
	return a;
}

int cmd_admin(cli_state *st, int argc, char **argv)
{
	if (argc < 1)
		return cli_usage("usage: admin create|passwd|list|audit (see 'help admin')");
	const char *sub = argv[0];
	int rc;
	if (!strcmp(sub, "create") || !strcmp(sub, "passwd")) {
		bool create = !strcmp(sub, "create");
		if (argc < 2 || argv[1][0] == '-')
			return cli_usage(create ? "usage: admin create USERNAME [--role ADMIN|OPERATOR|VIEWER]"
						: "usage: admin passwd USERNAME");
		const char *user = argv[1], *rs = "ADMIN";
		int ex = 0;
		for (int i = 2; i < argc && !ex; i++)
			if (!create || !cli_opt_str(argc, argv, &i, "--role", &rs, &ex))
				return cli_usage("admin %s: unexpected argument '%s' (passwords are never arguments)",
						 sub, argv[i]);
		if (ex)
			return ex;
		bl_role role;
		if ((rc = bl_admin_role_parse(rs, &role)))
			return cli_fail("admin create", rc);
		char *pw = new_password();
		if (!pw)
			return cli_usage("admin %s: no password given", sub);
		int64_t id = 0;
		rc = create ? bl_admin_create(cli_ctx(st), user, pw, role, &id) : bl_admin_passwd(cli_ctx(st), user, pw);
		wipe_free(pw);
		if (rc)
			return cli_fail(create ? "admin create" : "admin passwd", rc);
		if (st->json)
			cli_print_obj(json_pack("{s:I,s:s}", "id", (json_int_t)id, create ? "username" : "passwd", user));
		else if (create)
			printf("admin user %s created (%s)\n", user, bl_admin_role_name(role));
		else
			printf("admin user %s: password changed\n", user);
		return 0;
	}
	char *json;
	if (!strcmp(sub, "list")) {
		if (argc != 1)
			return cli_usage("usage: admin list");
		if ((rc = bl_admin_list(cli_ctx(st), &json)))
			return cli_fail("admin list", rc);
		static const char *const H[] = { "ID", "USERNAME", "ROLE", "DISABLED", "CREATED", "LAST LOGIN" };
		static const char *const K[] = { "#id", "username", "role", "disabled", "created_at", "last_login_at" };
		cli_print_rows(st, json, H, K, 6);
		bl_free(json);
		return 0;
	}
	if (!strcmp(sub, "audit")) {
		long long before = 0, limit = 50;
		bl_audit_filter f;
		bl_audit_filter_init(&f, BL_AUDIT_FILTER_VERSION);
		int ex = 0;
		for (int i = 1; i < argc && !ex; i++)
			if (!cli_opt_num(argc, argv, &i, "--before", 0, INT64_MAX, &before, &ex) &&
			    !cli_opt_num(argc, argv, &i, "--limit", 1, 1000, &limit, &ex) &&
			    !cli_opt_str(argc, argv, &i, "--actor", &f.actor, &ex) &&
			    !cli_opt_str(argc, argv, &i, "--action", &f.action, &ex) &&
			    !cli_opt_str(argc, argv, &i, "--from", &f.from, &ex) &&
			    !cli_opt_str(argc, argv, &i, "--to", &f.to, &ex))
				return cli_usage("usage: admin audit [--actor NAME] [--action A|FAMILY.] [--from T] [--to T] "
						 "[--before ID] [--limit N]");
		if (ex)
			return ex;
		f.before_id = before;
		f.limit = (int)limit;
		if ((rc = bl_audit_search(cli_ctx(st), &f, &json)))
			return cli_fail("admin audit", rc);
		static const char *const H[] = { "ID", "AT", "ACTOR", "ACTION", "TARGET", "DETAIL" };
		static const char *const K[] = { "#id", "at", "actor", "action", "target", "detail" };
		cli_print_rows(st, json, H, K, 6);
		bl_free(json);
		return 0;
	}
	return cli_usage("admin: unknown sub-command '%s'", sub);
}
