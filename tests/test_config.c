/*
 * Unit tests of the configuration (config.c) and error reporting (error.c).
 * No server needed.  Every Criterion test runs in its own process, so the
 * environment changes made here stay inside one test.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <billing/billing.h>

static char tmpdir[] = "/tmp/bl-config-test-XXXXXX";

/* Remove every setting from the environment so only files and defaults count. */
static void clean_env(void)
{
	for (size_t i = 0; i < bl_config_count(); i++)
		unsetenv(bl_config_key(i));
	unsetenv("BILLING_ENV_FILE");
	unsetenv("MYSQL_ROOT_PASSWORD");
}

static void setup(void)
{
	clean_env();
	strcpy(tmpdir, "/tmp/bl-config-test-XXXXXX");
	cr_assert(mkdtemp(tmpdir), "mkdtemp");
	/* bl_config_load(NULL) reads ./.env: make sure there is none by accident */
	cr_assert_eq(chdir(tmpdir), 0);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (chdir("/") != 0 || system(cmd) != 0)
		cr_log_warn("could not remove %s", tmpdir);
}

/* Write `text` to <tmpdir>/<name>; returns the path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	cr_assert(f, "fopen %s", path);
	fputs(text, f);
	fclose(f);
	return path;
}

#define EXPECT_MSG(needle) \
	cr_expect(strstr(bl_error_last(), (needle)), "message '%s' lacks '%s'", bl_error_last(), (needle))

#define KEY64 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

TestSuite(config, .init = setup, .fini = teardown);

Test(config, defaults)
{
	bl_config *c = NULL;
	cr_assert_eq(bl_config_new(&c), BL_OK);
	cr_expect_str_eq(bl_config_get(c, "MYSQL_HOST"), "127.0.0.1");
	cr_expect_str_eq(bl_config_get(c, "MYSQL_PORT"), "13306");
	cr_expect_str_eq(bl_config_get(c, "REDIS_PORT"), "16379");
	cr_expect_str_eq(bl_config_get(c, "MYSQL_DATABASE"), "billing_system");
	cr_expect_str_eq(bl_config_get(c, "MYSQL_USER"), "app");
	cr_expect_str_eq(bl_config_get(c, "BILLING_DUE_DAY"), "25");
	cr_expect_str_eq(bl_config_get(c, "BILLING_DATA_KEY"), "");
	cr_expect_null(bl_config_get(c, "NO_SUCH_SETTING"));
	cr_expect_null(bl_config_get(NULL, "MYSQL_HOST"));
	bl_config_free(c);

	/* load with no file and an empty environment gives the same defaults */
	cr_assert_eq(bl_config_load(&c, NULL, false), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(bl_config_get(c, "MYSQL_PORT"), "13306");
	cr_expect_str_eq(bl_config_get(c, "REDIS_PORT"), "16379");
	cr_expect_str_eq(bl_config_get(c, "MYSQL_DATABASE"), "billing_system");
	cr_expect_str_eq(bl_config_get(c, "MYSQL_USER"), "app");
	bl_config_free(c);
	bl_config_free(NULL); /* NULL-safe */
}

Test(config, every_setting_is_documented)
{
	cr_assert_gt(bl_config_count(), 10);
	bl_config *c = NULL;
	cr_assert_eq(bl_config_new(&c), BL_OK);
	for (size_t i = 0; i < bl_config_count(); i++) {
		const char *k = bl_config_key(i);
		cr_assert(k);
		cr_expect(bl_config_describe(k) && *bl_config_describe(k), "%s undocumented", k);
		cr_expect(bl_config_get(c, k), "%s has no value", k);
	}
	cr_expect_null(bl_config_key(bl_config_count()));
	cr_expect_null(bl_config_describe("NOPE"));
	bl_config_free(c);
}

Test(config, env_file_parsing)
{
	const char *p = write_file("a.env",
				   "# a comment\n"
				   "\n"
				   "   # an indented comment\n"
				   "MYSQL_HOST=db.internal\n"
				   "export MYSQL_PORT=3307\n"
				   "MYSQL_DATABASE=\"quoted_db\"\n"
				   "MYSQL_USER='single'\n"
				   "  MYSQL_PASSWORD = \"with spaces and # hash\"  \n"
				   "REDIS_PREFIX=\"\"\n"
				   "BILLING_DUE_DAY=10\r\n"
				   "MYSQL_ROOT_PASSWORD=rootpw\n"
				   "SPRING_PROFILES_ACTIVE=prod\n"
				   "AES_SECRET_KEY=whatever\n"
				   "BILLING_ENV_FILE=/ignored\n"
				   "BILLING_DATA_KEY=" KEY64 "\n"
				   "REDIS_PORT=6380"); /* no final newline */
	bl_config *c = NULL;
	cr_assert_eq(bl_config_load(&c, p, true), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(bl_config_get(c, "MYSQL_HOST"), "db.internal");
	cr_expect_str_eq(bl_config_get(c, "MYSQL_PORT"), "3307");
	cr_expect_str_eq(bl_config_get(c, "MYSQL_DATABASE"), "quoted_db");
	cr_expect_str_eq(bl_config_get(c, "MYSQL_USER"), "single");
	cr_expect_str_eq(bl_config_get(c, "MYSQL_PASSWORD"), "with spaces and # hash");
	cr_expect_str_eq(bl_config_get(c, "REDIS_PREFIX"), "");
	cr_expect_str_eq(bl_config_get(c, "BILLING_DUE_DAY"), "10");
	cr_expect_str_eq(bl_config_get(c, "BILLING_DATA_KEY"), KEY64);
	cr_expect_str_eq(bl_config_get(c, "REDIS_PORT"), "6380");
	/* unlisted keys are not settings */
	cr_expect_null(bl_config_get(c, "MYSQL_ROOT_PASSWORD"));
	cr_expect_null(bl_config_get(c, "SPRING_PROFILES_ACTIVE"));
	bl_config_free(c);
}

Test(config, environment_overrides_file)
{
	const char *p = write_file("b.env", "MYSQL_PORT=1111\nMYSQL_HOST=from-file\n");
	setenv("MYSQL_PORT", "2222", 1);
	bl_config *c = NULL;
	cr_assert_eq(bl_config_load(&c, p, true), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(bl_config_get(c, "MYSQL_PORT"), "2222");
	cr_expect_str_eq(bl_config_get(c, "MYSQL_HOST"), "from-file");
	/* explicit set wins over everything */
	cr_expect_eq(bl_config_set(c, "MYSQL_PORT", "3333"), BL_OK);
	cr_expect_str_eq(bl_config_get(c, "MYSQL_PORT"), "3333");
	bl_config_free(c);
	unsetenv("MYSQL_PORT");
}

Test(config, load_file_overrides_existing_values)
{
	bl_config *c = NULL;
	cr_assert_eq(bl_config_new(&c), BL_OK);
	cr_assert_eq(bl_config_set(c, "MYSQL_USER", "before"), BL_OK);
	const char *p = write_file("c.env", "MYSQL_USER=after\n");
	cr_assert_eq(bl_config_load_file(c, p), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(bl_config_get(c, "MYSQL_USER"), "after");
	bl_config_free(c);
}

Test(config, malformed_line_names_file_and_line)
{
	const char *p = write_file("bad.env", "# ok\nMYSQL_HOST=h\nTHIS LINE HAS NO EQUALS SIGN\n");
	bl_config *c = NULL;
	cr_expect_eq(bl_config_load(&c, p, true), BL_ECONFIG);
	cr_expect_null(c);
	char where[300];
	snprintf(where, sizeof where, "%s:3:", p);
	EXPECT_MSG(where);
	EXPECT_MSG("KEY=VALUE");
	cr_expect_eq(bl_error_last_code(), BL_ECONFIG);
}

Test(config, unterminated_quote)
{
	const char *p = write_file("q.env", "MYSQL_HOST=\"oops\n");
	bl_config *c = NULL;
	cr_expect_eq(bl_config_load(&c, p, true), BL_ECONFIG);
	EXPECT_MSG(":1:");
	EXPECT_MSG("MYSQL_HOST");
	EXPECT_MSG("quote");
}

Test(config, overlong_line)
{
	char *big = malloc(6000);
	cr_assert(big);
	strcpy(big, "MYSQL_HOST=");
	memset(big + 11, 'x', 5000);
	strcpy(big + 5011, "\n");
	const char *p = write_file("long.env", big);
	free(big);
	bl_config *c = NULL;
	cr_expect_eq(bl_config_load(&c, p, true), BL_ECONFIG);
	EXPECT_MSG(":1:");
	EXPECT_MSG("longer than");
}

Test(config, bad_port)
{
	bl_config *c = NULL;
	cr_assert_eq(bl_config_new(&c), BL_OK);
	static const char *bad[] = { "abc", "70000", "0", "-1", "", "80x" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		bl_error_clear();
		cr_expect_eq(bl_config_set(c, "MYSQL_PORT", bad[i]), BL_ECONFIG, "'%s' accepted", bad[i]);
		EXPECT_MSG("MYSQL_PORT");
	}
	cr_expect_str_eq(bl_config_get(c, "MYSQL_PORT"), "13306", "a refused value was stored");
	cr_expect_eq(bl_config_set(c, "REDIS_PORT", "70000"), BL_ECONFIG);
	EXPECT_MSG("REDIS_PORT");
	cr_expect_eq(bl_config_set(c, "MYSQL_PORT", "65535"), BL_OK);
	cr_expect_eq(bl_config_set(c, "MYSQL_PORT", "1"), BL_OK);
	bl_config_free(c);

	/* from a file: the message names the file, the line and the setting */
	const char *p = write_file("port.env", "MYSQL_HOST=x\nMYSQL_PORT=abc\n");
	cr_expect_eq(bl_config_load(&c, p, true), BL_ECONFIG);
	EXPECT_MSG(":2");
	EXPECT_MSG("MYSQL_PORT");
	EXPECT_MSG("abc");

	/* from the environment */
	setenv("MYSQL_PORT", "70000", 1);
	cr_expect_eq(bl_config_load(&c, NULL, false), BL_ECONFIG);
	EXPECT_MSG("environment");
	EXPECT_MSG("MYSQL_PORT");
	EXPECT_MSG("70000");
	unsetenv("MYSQL_PORT");
}

Test(config, other_validators)
{
	bl_config *c = NULL;
	cr_assert_eq(bl_config_new(&c), BL_OK);
	cr_expect_eq(bl_config_set(c, "MYSQL_HOST", ""), BL_ECONFIG);
	EXPECT_MSG("MYSQL_HOST");
	cr_expect_eq(bl_config_set(c, "MYSQL_DATABASE", "bad-name"), BL_ECONFIG);
	EXPECT_MSG("MYSQL_DATABASE");
	cr_expect_eq(bl_config_set(c, "MYSQL_DATABASE", "x; DROP DATABASE y"), BL_ECONFIG);
	cr_expect_eq(bl_config_set(c, "MYSQL_DATABASE", "good_name_1"), BL_OK);
	cr_expect_eq(bl_config_set(c, "BILLING_DUE_DAY", "29"), BL_ECONFIG);
	EXPECT_MSG("BILLING_DUE_DAY");
	EXPECT_MSG("1 to 28");
	cr_expect_eq(bl_config_set(c, "BILLING_DUE_DAY", "0"), BL_ECONFIG);
	cr_expect_eq(bl_config_set(c, "BILLING_DUE_DAY", "28"), BL_OK);
	cr_expect_eq(bl_config_set(c, "BILLING_BATCH_PARTITIONS", "65"), BL_ECONFIG);
	cr_expect_eq(bl_config_set(c, "BILLING_BATCH_TIME", "02:30"), BL_OK);
	static const char *bad_times[] = { "2:30", "24:00", "12:60", "1230", "+2:30", " 2:30",
					   "02:3x", "02:30:00", "" };
	for (size_t i = 0; i < sizeof bad_times / sizeof bad_times[0]; i++) {
		cr_expect_eq(bl_config_set(c, "BILLING_BATCH_TIME", bad_times[i]), BL_ECONFIG,
			     "BILLING_BATCH_TIME '%s' accepted", bad_times[i]);
		EXPECT_MSG("BILLING_BATCH_TIME");
	}
	cr_expect_str_eq(bl_config_get(c, "BILLING_BATCH_TIME"), "02:30");
	bl_config_free(c);
}

Test(config, unknown_keys_refused)
{
	bl_config *c = NULL;
	cr_assert_eq(bl_config_new(&c), BL_OK);
	cr_expect_eq(bl_config_set(c, "MYSQL_HOTS", "x"), BL_ECONFIG);
	EXPECT_MSG("MYSQL_HOTS");
	bl_config_free(c);

	static const char *keys[] = { "MYSQL_HOTS", "REDIS_DB", "BILLING_DUEDAY" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		char text[128], name[32];
		snprintf(text, sizeof text, "MYSQL_HOST=h\n%s=1\n", keys[i]);
		snprintf(name, sizeof name, "u%zu.env", i);
		const char *p = write_file(name, text);
		c = NULL;
		cr_expect_eq(bl_config_load(&c, p, true), BL_ECONFIG, "%s accepted", keys[i]);
		cr_expect_null(c);
		EXPECT_MSG(keys[i]);
		EXPECT_MSG(":2:");
	}
}

Test(config, foreign_keys_ignored)
{
	const char *p = write_file("orig.env",
				   "MYSQL_ROOT_PASSWORD=root\n"
				   "SPRING_PROFILES_ACTIVE=local\n"
				   "AES_KEY=0123\n"
				   "JAVA_OPTS=-Xmx1g\n"
				   "MYSQL_USER=app2\n");
	bl_config *c = NULL;
	cr_assert_eq(bl_config_load(&c, p, true), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(bl_config_get(c, "MYSQL_USER"), "app2");
	bl_config_free(c);

	/* unrelated and ignored keys in the environment do not matter either */
	setenv("SPRING_PROFILES_ACTIVE", "prod", 1);
	setenv("MYSQL_ROOT_PASSWORD", "x", 1);
	setenv("MYSQL_SOMETHING_ELSE", "x", 1);
	cr_assert_eq(bl_config_load(&c, p, true), BL_OK, "%s", bl_error_last());
	bl_config_free(c);
}

Test(config, data_key_validation)
{
	bl_config *c = NULL;
	cr_assert_eq(bl_config_new(&c), BL_OK);
	cr_expect_eq(bl_config_set(c, "BILLING_DATA_KEY", KEY64), BL_OK);
	cr_expect_eq(bl_config_set(c, "BILLING_DATA_KEY", "0011"), BL_ECONFIG);
	EXPECT_MSG("BILLING_DATA_KEY");
	EXPECT_MSG("64 hex");
	cr_expect_eq(bl_config_set(c, "BILLING_DATA_KEY", KEY64 "00"), BL_ECONFIG);
	EXPECT_MSG("BILLING_DATA_KEY");
	char nonhex[] = KEY64;
	nonhex[10] = 'g';
	cr_expect_eq(bl_config_set(c, "BILLING_DATA_KEY", nonhex), BL_ECONFIG);
	EXPECT_MSG("BILLING_DATA_KEY");
	EXPECT_MSG("'g'");
	cr_expect_str_eq(bl_config_get(c, "BILLING_DATA_KEY"), KEY64);
	/* empty: allowed (unset) until encryption is used */
	cr_expect_eq(bl_config_set(c, "BILLING_DATA_KEY", ""), BL_OK);
	bl_config_free(c);
}

Test(config, secrets_are_flagged)
{
	cr_expect(bl_config_is_secret("MYSQL_PASSWORD"));
	cr_expect(bl_config_is_secret("REDIS_PASSWORD"));
	cr_expect(bl_config_is_secret("BILLING_DATA_KEY"));
	cr_expect_not(bl_config_is_secret("MYSQL_HOST"));
	cr_expect_not(bl_config_is_secret("MYSQL_USER"));
	cr_expect_not(bl_config_is_secret("NOT_A_SETTING"));
	cr_expect_not(bl_config_is_secret(NULL));
}

Test(config, missing_file)
{
	bl_config *c = NULL;
	const char *missing = "/nonexistent/dir/billing.env";
	cr_expect_eq(bl_config_load(&c, missing, true), BL_ENOTFOUND);
	cr_expect_null(c);
	EXPECT_MSG(missing);
	/* not required: defaults */
	cr_assert_eq(bl_config_load(&c, missing, false), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(bl_config_get(c, "MYSQL_PORT"), "13306");
	bl_config_free(c);
}

Test(config, billing_env_file)
{
	const char *p = write_file("named.env", "MYSQL_DATABASE=from_named_file\n");
	setenv("BILLING_ENV_FILE", p, 1);
	bl_config *c = NULL;
	cr_assert_eq(bl_config_load(&c, NULL, false), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(bl_config_get(c, "MYSQL_DATABASE"), "from_named_file");
	bl_config_free(c);

	/* a named file must exist */
	setenv("BILLING_ENV_FILE", "/nonexistent/named.env", 1);
	c = NULL;
	cr_expect_neq(bl_config_load(&c, NULL, false), BL_OK);
	cr_expect_null(c);
	EXPECT_MSG("/nonexistent/named.env");
	unsetenv("BILLING_ENV_FILE");
}

Test(config, dot_env_in_working_directory)
{
	write_file(".env", "MYSQL_USER=from_dot_env\n");
	bl_config *c = NULL;
	cr_assert_eq(bl_config_load(&c, NULL, false), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(bl_config_get(c, "MYSQL_USER"), "from_dot_env");
	bl_config_free(c);
}

Test(config, copy_is_independent)
{
	bl_config *a = NULL, *b = NULL;
	cr_assert_eq(bl_config_new(&a), BL_OK);
	cr_assert_eq(bl_config_set(a, "MYSQL_HOST", "one"), BL_OK);
	cr_assert_eq(bl_config_copy(&b, a), BL_OK);
	cr_assert_eq(bl_config_set(a, "MYSQL_HOST", "two"), BL_OK);
	cr_expect_str_eq(bl_config_get(b, "MYSQL_HOST"), "one");
	bl_config_free(a);
	bl_config_free(b);
	cr_expect_eq(bl_config_copy(&b, NULL), BL_EINVAL);
	cr_expect_eq(bl_config_set(NULL, "MYSQL_HOST", "x"), BL_EINVAL);
	cr_expect_eq(bl_config_new(NULL), BL_EINVAL);
}

/* ---- error.c ---- */

Test(error, strerror_of_every_code)
{
	static const struct { int code; const char *text; } codes[] = {
		{ BL_OK, "success" },
		{ BL_ERROR, "error" },
		{ BL_EINVAL, "invalid argument" },
		{ BL_ENOTFOUND, "not found" },
		{ BL_ECONFLICT, "conflict" },
		{ BL_EDB, "database error" },
		{ BL_EREDIS, "redis error" },
		{ BL_ENOMEM, "out of memory" },
		{ BL_ECONFIG, "configuration error" },
		{ BL_ECRYPTO, "cryptographic failure" },
		{ BL_EIO, "I/O error" },
		{ BL_ESTOPPED, "stopped" },
		{ BL_EOVERFLOW, "arithmetic overflow" },
	};
	size_t n = sizeof codes / sizeof codes[0];
	for (size_t i = 0; i < n; i++) {
		cr_expect_str_eq(bl_strerror(codes[i].code), codes[i].text, "code %d", codes[i].code);
		for (size_t j = 0; j < i; j++)
			cr_expect_str_neq(bl_strerror(codes[i].code), bl_strerror(codes[j].code));
	}
	cr_expect_str_eq(bl_strerror(-999), "unknown error code");
	cr_expect_str_eq(bl_strerror(1), "unknown error code");
}

Test(error, last_error_and_clear)
{
	bl_error_clear();
	cr_expect_str_eq(bl_error_last(), "");
	cr_expect_eq(bl_error_last_code(), BL_OK);
	bl_config *c = NULL;
	cr_assert_eq(bl_config_new(&c), BL_OK);
	cr_expect_eq(bl_config_set(c, "MYSQL_PORT", "abc"), BL_ECONFIG);
	cr_expect_eq(bl_error_last_code(), BL_ECONFIG);
	EXPECT_MSG("MYSQL_PORT");
	/* a successful call does not clear the last failure */
	cr_expect_eq(bl_config_set(c, "MYSQL_PORT", "1234"), BL_OK);
	EXPECT_MSG("MYSQL_PORT");
	bl_error_clear();
	cr_expect_str_eq(bl_error_last(), "");
	cr_expect_eq(bl_error_last_code(), BL_OK);
	bl_config_free(c);
}

struct thread_result {
	char seen_before[256];
	int code_before;
	char own[256];
	int own_code;
};

static void *other_thread(void *p)
{
	struct thread_result *r = p;
	snprintf(r->seen_before, sizeof r->seen_before, "%s", bl_error_last());
	r->code_before = bl_error_last_code();
	bl_config *c = NULL;
	bl_config_new(&c);
	bl_config_set(c, "REDIS_PORT", "99999");
	bl_config_free(c);
	snprintf(r->own, sizeof r->own, "%s", bl_error_last());
	r->own_code = bl_error_last_code();
	return NULL;
}

Test(error, last_error_is_thread_local)
{
	cr_expect_eq(bl_month_parse("nope", NULL, NULL), BL_EINVAL);
	char mine[256];
	snprintf(mine, sizeof mine, "%s", bl_error_last());
	cr_assert(strstr(mine, "nope"), "%s", mine);

	struct thread_result r = { { 0 }, 0, { 0 }, 0 };
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, other_thread, &r), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);

	cr_expect_str_eq(r.seen_before, "", "the new thread saw '%s'", r.seen_before);
	cr_expect_eq(r.code_before, BL_OK);
	cr_expect(strstr(r.own, "REDIS_PORT"), "%s", r.own);
	cr_expect_eq(r.own_code, BL_ECONFIG);
	/* the other thread's failure did not replace ours */
	cr_expect_str_eq(bl_error_last(), mine);
	cr_expect_eq(bl_error_last_code(), BL_EINVAL);
}

Test(error, version)
{
	cr_expect_str_eq(bl_version(), "0.1.0");
	bl_free(NULL);
}

/* docs/configuration.md documents every setting (keeps the docs honest). */
Test(config, every_setting_is_in_the_docs)
{
#ifdef BL_SOURCE_DIR
	const char *path = BL_SOURCE_DIR "/docs/configuration.md";
	FILE *f = fopen(path, "r");
	cr_assert(f, "cannot open %s", path);
	char *doc = calloc(1, 256 * 1024);
	cr_assert(doc);
	size_t n = fread(doc, 1, 256 * 1024 - 1, f);
	fclose(f);
	doc[n] = '\0';
	for (size_t i = 0; i < bl_config_count(); i++) {
		char quoted[80];
		snprintf(quoted, sizeof quoted, "| `%s` |", bl_config_key(i));
		cr_expect(strstr(doc, quoted), "%s does not document %s", path, bl_config_key(i));
	}
	free(doc);
#else
	cr_skip_test("BL_SOURCE_DIR not defined");
#endif
}
