/*
 * Unit tests of personal-data protection (crypto.c) without a database:
 * bl_ctx_new() with a configuration connects to nothing until it must.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <string.h>
#include <billing/billing.h>

#define KEY_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

#define EXPECT_MSG(needle) \
	cr_expect(strstr(bl_error_last(), (needle)), "message '%s' lacks '%s'", bl_error_last(), (needle))

/* A context that never connects anywhere; key may be NULL (unset). */
static bl_ctx *ctx_with_key(const char *key)
{
	bl_config *cfg = NULL;
	cr_assert_eq(bl_config_new(&cfg), BL_OK);
	/* unreachable servers: a connection attempt would fail the test */
	cr_assert_eq(bl_config_set(cfg, "MYSQL_HOST", "192.0.2.1"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "MYSQL_CONNECT_TIMEOUT", "1"), BL_OK);
	if (key)
		cr_assert_eq(bl_config_set(cfg, "BILLING_DATA_KEY", key), BL_OK, "%s", bl_error_last());
	bl_ctx *ctx = NULL;
	cr_assert_eq(bl_ctx_new(&ctx, cfg), BL_OK, "%s", bl_error_last());
	bl_config_free(cfg);
	return ctx;
}

static char *roundtrip(bl_ctx *ctx, bl_pii_kind kind, const char *plain)
{
	unsigned char *enc = NULL;
	size_t len = 0;
	cr_assert_eq(bl_pii_encrypt(ctx, kind, plain, &enc, &len), BL_OK, "%s", bl_error_last());
	cr_assert_gt(len, strlen(plain));
	if (*plain)
		cr_expect_null(memmem(enc, len, plain, strlen(plain)), "plaintext visible in ciphertext");
	char *out = NULL;
	cr_assert_eq(bl_pii_decrypt(ctx, kind, enc, len, &out), BL_OK, "%s", bl_error_last());
	bl_free(enc);
	return out;
}

Test(crypto, roundtrip_phone_and_email)
{
	bl_ctx *ctx = ctx_with_key(KEY_A);
	char *p = roundtrip(ctx, BL_PII_PHONE, "01012345678");
	cr_expect_str_eq(p, "01012345678");
	bl_free(p);
	char *e = roundtrip(ctx, BL_PII_EMAIL, "kim.minsu@example.com");
	cr_expect_str_eq(e, "kim.minsu@example.com");
	bl_free(e);
	/* non-ASCII and empty plaintexts survive too */
	char *k = roundtrip(ctx, BL_PII_EMAIL, "김민수@예시.kr");
	cr_expect_str_eq(k, "김민수@예시.kr");
	bl_free(k);
	char *z = roundtrip(ctx, BL_PII_PHONE, "");
	cr_expect_str_eq(z, "");
	bl_free(z);
	bl_ctx_free(ctx);
}

Test(crypto, random_nonce_but_stable_blind_index)
{
	bl_ctx *ctx = ctx_with_key(KEY_A);
	unsigned char *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	cr_assert_eq(bl_pii_encrypt(ctx, BL_PII_PHONE, "01012345678", &a, &al), BL_OK);
	cr_assert_eq(bl_pii_encrypt(ctx, BL_PII_PHONE, "01012345678", &b, &bl), BL_OK);
	cr_assert_eq(al, bl);
	cr_expect_neq(memcmp(a, b, al), 0, "two encryptions are identical");
	cr_expect_neq(memcmp(a, b, 24), 0, "nonce reused");
	bl_free(a);
	bl_free(b);

	unsigned char i1[BL_BLIND_INDEX_BYTES], i2[BL_BLIND_INDEX_BYTES];
	cr_assert_eq(bl_pii_blind_index(ctx, BL_PII_PHONE, "01012345678", i1), BL_OK);
	cr_assert_eq(bl_pii_blind_index(ctx, BL_PII_PHONE, "01012345678", i2), BL_OK);
	cr_expect_eq(memcmp(i1, i2, sizeof i1), 0);
	/* another number, another index */
	cr_assert_eq(bl_pii_blind_index(ctx, BL_PII_PHONE, "01012345679", i2), BL_OK);
	cr_expect_neq(memcmp(i1, i2, sizeof i1), 0);
	bl_ctx_free(ctx);

	/* the index is keyed: another key gives another index */
	bl_ctx *other = ctx_with_key(KEY_B);
	cr_assert_eq(bl_pii_blind_index(other, BL_PII_PHONE, "01012345678", i2), BL_OK);
	cr_expect_neq(memcmp(i1, i2, sizeof i1), 0);
	bl_ctx_free(other);
}

static void index_of(bl_ctx *ctx, bl_pii_kind kind, const char *v, unsigned char out[BL_BLIND_INDEX_BYTES])
{
	cr_assert_eq(bl_pii_blind_index(ctx, kind, v, out), BL_OK, "'%s': %s", v, bl_error_last());
}

Test(crypto, normalisation)
{
	char *n = NULL;
	cr_assert_eq(bl_pii_normalize(BL_PII_PHONE, "010-1234-5678", &n), BL_OK);
	cr_expect_str_eq(n, "01012345678");
	bl_free(n);
	cr_assert_eq(bl_pii_normalize(BL_PII_PHONE, "(010) 1234 5678", &n), BL_OK);
	cr_expect_str_eq(n, "01012345678");
	bl_free(n);
	cr_assert_eq(bl_pii_normalize(BL_PII_EMAIL, "  Kim.MinSu@Example.COM\t\n", &n), BL_OK);
	cr_expect_str_eq(n, "kim.minsu@example.com");
	bl_free(n);

	bl_ctx *ctx = ctx_with_key(KEY_A);
	unsigned char ref[BL_BLIND_INDEX_BYTES], x[BL_BLIND_INDEX_BYTES];
	index_of(ctx, BL_PII_PHONE, "01012345678", ref);
	static const char *phones[] = { "010-1234-5678", "010 1234 5678", "(010)1234-5678",
					" 010-1234-5678 " };
	for (size_t i = 0; i < sizeof phones / sizeof phones[0]; i++) {
		index_of(ctx, BL_PII_PHONE, phones[i], x);
		cr_expect_eq(memcmp(ref, x, sizeof x), 0, "'%s' indexes differently", phones[i]);
	}
	index_of(ctx, BL_PII_EMAIL, "kim@example.com", ref);
	static const char *emails[] = { "Kim@Example.com", "  kim@example.com  ", "KIM@EXAMPLE.COM",
					"\tkim@example.com\n" };
	for (size_t i = 0; i < sizeof emails / sizeof emails[0]; i++) {
		index_of(ctx, BL_PII_EMAIL, emails[i], x);
		cr_expect_eq(memcmp(ref, x, sizeof x), 0, "'%s' indexes differently", emails[i]);
	}
	bl_ctx_free(ctx);
}

Test(crypto, tampered_ciphertext)
{
	bl_ctx *ctx = ctx_with_key(KEY_A);
	unsigned char *enc = NULL;
	size_t len = 0;
	cr_assert_eq(bl_pii_encrypt(ctx, BL_PII_EMAIL, "kim@example.com", &enc, &len), BL_OK);
	char *out = NULL;
	/* every single flipped byte (nonce, ciphertext, tag) is detected */
	for (size_t i = 0; i < len; i++) {
		enc[i] ^= 0x01;
		cr_expect_eq(bl_pii_decrypt(ctx, BL_PII_EMAIL, enc, len, &out), BL_ECRYPTO,
			     "flipped byte %zu accepted", i);
		cr_expect_null(out);
		enc[i] ^= 0x01;
	}
	EXPECT_MSG("authentication failed");
	/* truncated */
	cr_expect_eq(bl_pii_decrypt(ctx, BL_PII_EMAIL, enc, len - 1, &out), BL_ECRYPTO);
	cr_expect_eq(bl_pii_decrypt(ctx, BL_PII_EMAIL, enc, 10, &out), BL_ECRYPTO);
	EXPECT_MSG("too short");
	/* untouched it still decrypts */
	cr_assert_eq(bl_pii_decrypt(ctx, BL_PII_EMAIL, enc, len, &out), BL_OK);
	cr_expect_str_eq(out, "kim@example.com");
	bl_free(out);
	bl_free(enc);
	bl_ctx_free(ctx);
}

Test(crypto, wrong_key)
{
	bl_ctx *a = ctx_with_key(KEY_A), *b = ctx_with_key(KEY_B);
	unsigned char *enc = NULL;
	size_t len = 0;
	cr_assert_eq(bl_pii_encrypt(a, BL_PII_PHONE, "01012345678", &enc, &len), BL_OK);
	char *out = NULL;
	cr_expect_eq(bl_pii_decrypt(b, BL_PII_PHONE, enc, len, &out), BL_ECRYPTO);
	cr_expect_null(out);
	EXPECT_MSG("BILLING_DATA_KEY");
	bl_free(enc);
	bl_ctx_free(a);
	bl_ctx_free(b);
}

Test(crypto, associated_data_binds_the_kind)
{
	bl_ctx *ctx = ctx_with_key(KEY_A);
	unsigned char *enc = NULL;
	size_t len = 0;
	cr_assert_eq(bl_pii_encrypt(ctx, BL_PII_PHONE, "01012345678", &enc, &len), BL_OK);
	char *out = NULL;
	cr_expect_eq(bl_pii_decrypt(ctx, BL_PII_EMAIL, enc, len, &out), BL_ECRYPTO);
	cr_expect_null(out);
	bl_free(enc);
	cr_assert_eq(bl_pii_encrypt(ctx, BL_PII_EMAIL, "kim@example.com", &enc, &len), BL_OK);
	cr_expect_eq(bl_pii_decrypt(ctx, BL_PII_PHONE, enc, len, &out), BL_ECRYPTO);
	bl_free(enc);
	bl_ctx_free(ctx);
}

Test(crypto, missing_data_key)
{
	bl_ctx *ctx = ctx_with_key(NULL);
	unsigned char *enc = NULL, idx[BL_BLIND_INDEX_BYTES];
	size_t len = 0;
	char *out = NULL;
	cr_expect_eq(bl_pii_encrypt(ctx, BL_PII_PHONE, "01012345678", &enc, &len), BL_ECONFIG);
	EXPECT_MSG("BILLING_DATA_KEY");
	cr_expect_null(enc);
	bl_error_clear();
	cr_expect_eq(bl_pii_blind_index(ctx, BL_PII_EMAIL, "kim@example.com", idx), BL_ECONFIG);
	EXPECT_MSG("BILLING_DATA_KEY");
	bl_error_clear();
	unsigned char junk[64] = { 0 };
	cr_expect_eq(bl_pii_decrypt(ctx, BL_PII_PHONE, junk, sizeof junk, &out), BL_ECONFIG);
	EXPECT_MSG("BILLING_DATA_KEY");
	/* masking and normalising need no key */
	cr_expect_eq(bl_pii_mask(BL_PII_PHONE, "01012345678", &out), BL_OK);
	bl_free(out);
	bl_ctx_free(ctx);
}

Test(crypto, masks)
{
	static const struct { bl_pii_kind kind; const char *in, *want; } cases[] = {
		{ BL_PII_PHONE, "010-1234-5678", "010-****-5678" },
		{ BL_PII_PHONE, "01012345678", "010-****-5678" },
		{ BL_PII_PHONE, "011-123-4567", "011-***-4567" },
		{ BL_PII_EMAIL, "kwon@example.com", "k***@example.com" },
		{ BL_PII_EMAIL, "  Kwon@Example.COM ", "k***@example.com" },
		{ BL_PII_EMAIL, "kimminsu@example.co.kr", "k***@example.co.kr" },
		/* short local parts still hide something */
		{ BL_PII_EMAIL, "a@example.com", "a***@example.com" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *m = NULL;
		cr_assert_eq(bl_pii_mask(cases[i].kind, cases[i].in, &m), BL_OK, "'%s': %s", cases[i].in,
			     bl_error_last());
		cr_expect_str_eq(m, cases[i].want, "'%s' masked as '%s'", cases[i].in, m);
		bl_free(m);
	}
}

Test(crypto, bad_phone_and_email_rejected)
{
	bl_ctx *ctx = ctx_with_key(KEY_A);
	unsigned char idx[BL_BLIND_INDEX_BYTES];
	char *out = NULL;
	static const char *phones[] = { "010-1234-567a", "12345", "1012345678", "", "010.1234.5678",
					"0101234567890123" };
	for (size_t i = 0; i < sizeof phones / sizeof phones[0]; i++) {
		bl_error_clear();
		cr_expect_eq(bl_pii_normalize(BL_PII_PHONE, phones[i], &out), BL_EINVAL, "'%s'",
			     phones[i]);
		EXPECT_MSG("phone");
		cr_expect_eq(bl_pii_blind_index(ctx, BL_PII_PHONE, phones[i], idx), BL_EINVAL);
		cr_expect_eq(bl_pii_mask(BL_PII_PHONE, phones[i], &out), BL_EINVAL);
	}
	static const char *emails[] = { "not-an-email", "@example.com", "kim@", "kim@localhost",
					"kim@@example.com", "kim@exa@mple.com", "kim lee@example.com",
					"<kim@example.com>", "" };
	for (size_t i = 0; i < sizeof emails / sizeof emails[0]; i++) {
		bl_error_clear();
		cr_expect_eq(bl_pii_normalize(BL_PII_EMAIL, emails[i], &out), BL_EINVAL, "'%s'",
			     emails[i]);
		EXPECT_MSG("email");
		cr_expect_eq(bl_pii_blind_index(ctx, BL_PII_EMAIL, emails[i], idx), BL_EINVAL);
		cr_expect_eq(bl_pii_mask(BL_PII_EMAIL, emails[i], &out), BL_EINVAL);
	}
	/* bad kinds and NULLs */
	cr_expect_eq(bl_pii_normalize((bl_pii_kind)0, "x", &out), BL_EINVAL);
	cr_expect_eq(bl_pii_mask((bl_pii_kind)7, "x", &out), BL_EINVAL);
	cr_expect_eq(bl_pii_normalize(BL_PII_PHONE, NULL, &out), BL_EINVAL);
	unsigned char *enc;
	size_t len;
	cr_expect_eq(bl_pii_encrypt(NULL, BL_PII_PHONE, "010", &enc, &len), BL_EINVAL);
	cr_expect_eq(bl_pii_decrypt(ctx, BL_PII_PHONE, NULL, 0, &out), BL_EINVAL);
	bl_ctx_free(ctx);
}

Test(crypto, data_key_generate)
{
	char *a = NULL, *b = NULL;
	cr_assert_eq(bl_data_key_generate(&a), BL_OK);
	cr_assert_eq(bl_data_key_generate(&b), BL_OK);
	cr_expect_eq(strlen(a), 64);
	for (const char *p = a; *p; p++)
		cr_expect(isxdigit((unsigned char)*p));
	cr_expect_str_neq(a, b);
	/* a generated key is a valid setting and works */
	bl_ctx *ctx = ctx_with_key(a);
	char *r = roundtrip(ctx, BL_PII_PHONE, "01099998888");
	cr_expect_str_eq(r, "01099998888");
	bl_free(r);
	bl_ctx_free(ctx);
	bl_free(a);
	bl_free(b);
	cr_expect_eq(bl_data_key_generate(NULL), BL_EINVAL);
}

Test(crypto, scrub_masks_personal_data_in_free_text)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "GET /api/users?phone=010-1234-5678&x=1", "GET /api/users?phone=010-****-5678&x=1" },
		{ "user 01012345678 not found", "user 010****5678 not found" },
		{ "to kim.minsu@example.co.kr: timeout", "to k***@example.co.kr: timeout" },
		{ "+82 10 1234 5678", "+82 1* **** 5678" },
		{ "a@b.c and 010.9876.5432", "a***@b.c and 010.****.5432" },
		/* not personal data: kept */
		{ "run 12345678901 of 2026-10", "run 12345678901 of 2026-10" },
		{ "amount 079,700", "amount 079,700" },
		{ "x0101234567y", "x0101234567y" },
		{ "nobody@localhost", "nobody@localhost" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out = NULL;
		cr_assert_eq(bl_pii_scrub(cases[i].in, &out), BL_OK, "'%s': %s", cases[i].in, bl_error_last());
		cr_expect_str_eq(out, cases[i].want, "'%s'", cases[i].in);
		bl_free(out);
	}
	char *out = (char *)1;
	cr_expect_eq(bl_pii_scrub(NULL, &out), BL_EINVAL);
	cr_expect_null(out);
	cr_expect_eq(bl_pii_scrub("x", NULL), BL_EINVAL);
}

/* Every error message is scrubbed when it is recorded (error.c): a value
 * echoed in a message never carries a plain phone number or e-mail. */
Test(crypto, error_messages_never_carry_plain_pii)
{
	cr_assert_eq(bl_month_parse("01098765432", NULL, NULL), BL_EINVAL);
	cr_expect(strstr(bl_error_last(), "010****5432"), "%s", bl_error_last());
	cr_expect_null(strstr(bl_error_last(), "01098765432"), "%s", bl_error_last());
	cr_assert_eq(bl_month_parse("kim@ex.kr", NULL, NULL), BL_EINVAL);
	cr_expect(strstr(bl_error_last(), "k***@ex.kr"), "%s", bl_error_last());
	/* the rest of the message is untouched */
	cr_expect(strstr(bl_error_last(), "expected YYYY-MM"), "%s", bl_error_last());
}
