/*
 * Integration tests of encrypted subscribers (user.c + crypto.c) on MariaDB:
 * blind-index lookups, uniqueness, no plaintext at rest, masked reads.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include "testutil.h"

#define EXPECT_MSG(needle) \
	cr_expect(strstr(bl_error_last(), (needle)), "message '%s' lacks '%s'", bl_error_last(), (needle))

static bl_ctx *ctx;

static void setup(void) { ctx = tu_ctx_fresh("crypto_db"); }
static void teardown(void)
{
	tu_ctx_drop(ctx);
	ctx = NULL;
}

TestSuite(users, .init = setup, .fini = teardown);

static int64_t create(const char *name, const char *phone, const char *email)
{
	bl_user_opts o;
	cr_assert_eq(bl_user_opts_init(&o, BL_USER_OPTS_VERSION), BL_OK);
	o.name = name;
	o.phone = phone;
	o.email = email;
	int64_t id = 0;
	cr_assert_eq(bl_user_create(ctx, &o, &id), BL_OK, "create %s: %s", name, bl_error_last());
	cr_assert_gt(id, 0);
	return id;
}

static int try_create(const char *name, const char *phone, const char *email)
{
	bl_user_opts o = BL_USER_OPTS_INIT;
	o.name = name;
	o.phone = phone;
	o.email = email;
	int64_t id = 0;
	return bl_user_create(ctx, &o, &id);
}

static json_t *get_user(int64_t id, bool reveal)
{
	char *s = NULL;
	cr_assert_eq(bl_user_get(ctx, id, reveal, &s), BL_OK, "%s", bl_error_last());
	json_error_t err;
	json_t *j = json_loads(s, 0, &err);
	cr_assert(j, "bad JSON '%s': %s", s, err.text);
	bl_free(s);
	return j;
}

static const char *str_of(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	cr_assert(v, "no string '%s'", key);
	return v;
}

Test(users, create_and_find)
{
	int64_t id = create("김민수", "010-1234-5678", "Kim.Minsu@Example.com");
	int64_t other = create("Lee", "010-2222-3333", "lee@example.com");
	cr_expect_neq(id, other);

	static const char *phones[] = { "010-1234-5678", "01012345678", "010 1234 5678", "(010)1234-5678" };
	for (size_t i = 0; i < sizeof phones / sizeof phones[0]; i++) {
		int64_t found = 0;
		cr_expect_eq(bl_user_find_by_phone(ctx, phones[i], &found), BL_OK, "%s: %s", phones[i],
			     bl_error_last());
		cr_expect_eq(found, id, "%s found %lld", phones[i], (long long)found);
	}
	static const char *emails[] = { "kim.minsu@example.com", "KIM.MINSU@EXAMPLE.COM",
					"  Kim.Minsu@Example.com " };
	for (size_t i = 0; i < sizeof emails / sizeof emails[0]; i++) {
		int64_t found = 0;
		cr_expect_eq(bl_user_find_by_email(ctx, emails[i], &found), BL_OK, "%s: %s", emails[i],
			     bl_error_last());
		cr_expect_eq(found, id);
	}
	int64_t found = 0;
	cr_expect_eq(bl_user_find_by_email(ctx, "lee@example.com", &found), BL_OK);
	cr_expect_eq(found, other);
}

Test(users, duplicates_conflict)
{
	create("Kim", "010-1234-5678", "kim@example.com");
	/* same phone in another format, new e-mail */
	cr_expect_eq(try_create("Kim2", "01012345678", "kim2@example.com"), BL_ECONFLICT);
	EXPECT_MSG("phone");
	/* same e-mail in another case, new phone */
	cr_expect_eq(try_create("Kim3", "010-9999-8888", " KIM@example.COM"), BL_ECONFLICT);
	EXPECT_MSG("e-mail");
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM users"), 1);
	/* the message never shows the values */
	cr_expect_null(strstr(bl_error_last(), "kim@example.com"), "%s", bl_error_last());
	/* a different subscriber is still welcome */
	create("Park", "010-9999-8888", "park@example.com");
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM users"), 2);
}

Test(users, no_plaintext_at_rest)
{
	create("Kim", "010-1234-5678", "kim.minsu@example.com");
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM users"), 1);
	static const char *probes[] = { "1234", "5678", "01012345678", "010-1234", "kim.minsu",
					"example.com", "minsu" };
	for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
		char sql[512];
		snprintf(sql, sizeof sql,
			 "SELECT COUNT(*) FROM users WHERE INSTR(phone_enc, '%s') > 0 OR "
			 "INSTR(email_enc, '%s') > 0 OR phone_enc LIKE '%%%s%%' OR "
			 "email_enc LIKE '%%%s%%' OR INSTR(phone_bidx, '%s') > 0 OR "
			 "INSTR(email_bidx, '%s') > 0 OR INSTR(name, '%s') > 0",
			 probes[i], probes[i], probes[i], probes[i], probes[i], probes[i], probes[i]);
		cr_expect_eq(tu_i64(ctx, sql), 0, "'%s' found in plain text in users", probes[i]);
	}
	/* 24-byte nonce + ciphertext + 16-byte tag; 16-byte blind indexes */
	cr_expect_eq(tu_i64(ctx, "SELECT LENGTH(phone_enc) FROM users"), 24 + 11 + 16);
	cr_expect_eq(tu_i64(ctx, "SELECT LENGTH(email_enc) FROM users"), 24 + 21 + 16);
	cr_expect_eq(tu_i64(ctx, "SELECT LENGTH(phone_bidx) + LENGTH(email_bidx) FROM users"), 32);
}

Test(users, get_masked_and_revealed)
{
	bl_user_opts o = BL_USER_OPTS_INIT;
	o.name = "김민수";
	o.phone = "010-1234-5678";
	o.email = "Kim.Minsu@Example.com";
	o.preferred_channel = BL_CHANNEL_SMS;
	o.consent_email = false;
	int64_t id = 0;
	cr_assert_eq(bl_user_create(ctx, &o, &id), BL_OK, "%s", bl_error_last());

	json_t *m = get_user(id, false);
	cr_expect_eq(json_integer_value(json_object_get(m, "id")), id);
	cr_expect_str_eq(str_of(m, "name"), "김민수");
	cr_expect_str_eq(str_of(m, "phone"), "010-****-5678");
	cr_expect_str_eq(str_of(m, "email"), "k***@example.com");
	cr_expect_str_eq(str_of(m, "preferred_channel"), "SMS");
	cr_expect(json_is_false(json_object_get(m, "consent_email")));
	cr_expect(json_is_true(json_object_get(m, "consent_sms")));
	cr_expect(json_string_value(json_object_get(m, "created_at")));
	char *dump = json_dumps(m, 0);
	cr_expect_null(strstr(dump, "1234"), "masked JSON shows the number: %s", dump);
	cr_expect_null(strstr(dump, "minsu"), "masked JSON shows the e-mail: %s", dump);
	free(dump);
	json_decref(m);

	json_t *r = get_user(id, true);
	cr_expect_str_eq(str_of(r, "phone"), "01012345678");
	cr_expect_str_eq(str_of(r, "email"), "kim.minsu@example.com");
	json_decref(r);
}

Test(users, not_found)
{
	create("Kim", "010-1234-5678", "kim@example.com");
	char *s = NULL;
	cr_expect_eq(bl_user_get(ctx, 999999, false, &s), BL_ENOTFOUND);
	cr_expect_null(s);
	EXPECT_MSG("999999");

	int64_t id = 0;
	cr_expect_eq(bl_user_find_by_phone(ctx, "010-9999-0000", &id), BL_ENOTFOUND);
	EXPECT_MSG("phone");
	EXPECT_MSG("010-****-0000");
	cr_expect_null(strstr(bl_error_last(), "9999"), "message shows the number: %s", bl_error_last());
	cr_expect_eq(bl_user_find_by_email(ctx, "nobody@example.com", &id), BL_ENOTFOUND);
	EXPECT_MSG("e-mail");
	EXPECT_MSG("n***@example.com");
}

Test(users, invalid_input)
{
	cr_expect_eq(try_create("Kim", "010-12x4-5678", "kim@example.com"), BL_EINVAL);
	EXPECT_MSG("phone");
	cr_expect_eq(try_create("Kim", "010-1234-5678", "kim.example.com"), BL_EINVAL);
	EXPECT_MSG("email");
	cr_expect_eq(try_create("", "010-1234-5678", "kim@example.com"), BL_EINVAL);
	EXPECT_MSG("name");
	cr_expect_eq(try_create("Kim", NULL, "kim@example.com"), BL_EINVAL);
	EXPECT_MSG("phone");
	int64_t id;
	cr_expect_eq(bl_user_find_by_phone(ctx, "not a phone", &id), BL_EINVAL);
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM users"), 0);
	bl_user_opts o;
	cr_expect_eq(bl_user_opts_init(&o, 999), BL_EINVAL);
}

Test(users, other_key_cannot_read_or_find)
{
	int64_t id = create("Kim", "010-1234-5678", "kim@example.com");
	bl_config *cfg = NULL;
	cr_assert_eq(bl_config_copy(&cfg, bl_ctx_config(ctx)), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_DATA_KEY",
				   "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"),
		     BL_OK);
	bl_ctx *other = NULL;
	cr_assert_eq(bl_ctx_new(&other, cfg), BL_OK);
	bl_config_free(cfg);
	int64_t found = 0;
	cr_expect_eq(bl_user_find_by_phone(other, "010-1234-5678", &found), BL_ENOTFOUND);
	char *s = NULL;
	cr_expect_eq(bl_user_get(other, id, true, &s), BL_ECRYPTO);
	cr_expect_null(s);
	EXPECT_MSG("BILLING_DATA_KEY");
	bl_ctx_free(other);
}
