/*
 * Personal data: XChaCha20-Poly1305 encryption (random 24-byte nonce stored
 * in front of the ciphertext, the kind's name as associated data) and a
 * keyed BLAKE2b blind index of the normalised value.  Both keys are derived
 * from BILLING_DATA_KEY with crypto_kdf.
 */
#include <ctype.h>
#include <sodium.h>
#include "context_private.h"

#define KDF_CTX "blpii___"

static const char *kind_name(bl_pii_kind k)
{
	return k == BL_PII_PHONE ? "phone" : k == BL_PII_EMAIL ? "email" : NULL;
}

static int ensure_keys(bl_ctx *ctx)
{
	if (ctx->keys_ready)
		return BL_OK;
	if (sodium_init() < 0)
		return bl__fail(BL_ECRYPTO, "libsodium could not be initialised");
	const char *hex = bl_config_get(ctx->cfg, "BILLING_DATA_KEY");
	if (!hex || !*hex)
		return bl__fail(BL_ECONFIG, "BILLING_DATA_KEY is not set: personal data cannot be "
					    "encrypted (generate one with 'billing-cli config genkey')");
	unsigned char master[crypto_kdf_KEYBYTES];
	size_t n = 0;
	if (sodium_hex2bin(master, sizeof master, hex, strlen(hex), NULL, &n, NULL) ||
	    n != sizeof master)
		return bl__fail(BL_ECONFIG, "BILLING_DATA_KEY: must be 64 hex digits");
	crypto_kdf_derive_from_key(ctx->enc_key, sizeof ctx->enc_key, 1, KDF_CTX, master);
	crypto_kdf_derive_from_key(ctx->bidx_key, sizeof ctx->bidx_key, 2, KDF_CTX, master);
	sodium_memzero(master, sizeof master);
	ctx->keys_ready = true;
	return BL_OK;
}

int bl_pii_normalize(bl_pii_kind kind, const char *in, char **out)
{
	if (!in || !out || !kind_name(kind))
		return bl__fail(BL_EINVAL, "bl_pii_normalize: bad argument");
	size_t n = strlen(in);
	char *s = malloc(n + 1), *d = s;
	if (!s)
		return bl__fail(BL_ENOMEM, "out of memory");
	if (kind == BL_PII_PHONE) {
		for (const char *p = in; *p; p++) {
			if (isdigit((unsigned char)*p))
				*d++ = *p;
			else if (*p != '-' && *p != ' ' && *p != '+' && *p != '(' && *p != ')') {
				free(s);
				/* never echo the value: it is personal data (it goes to logs) */
				if (!isprint((unsigned char)*p))
					return bl__fail(BL_EINVAL, "phone: unexpected byte 0x%02x at position %zu",
							(unsigned char)*p, (size_t)(p - in) + 1);
				return bl__fail(BL_EINVAL, "phone: unexpected character '%c' at position %zu",
						*p, (size_t)(p - in) + 1);
			}
		}
		*d = '\0';
		size_t len = (size_t)(d - s);
		if (len < 9 || len > 12 || s[0] != '0') {
			bool zero = s[0] == '0';
			free(s);
			return bl__fail(BL_EINVAL, "phone: %zu digit(s)%s: expected a Korean number like "
						   "010-1234-5678", len, len && !zero ? " not starting with 0" : "");
		}
	} else {
		const char *b = in, *e = in + n;
		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		for (const char *p = b; p < e; p++)
			*d++ = (char)tolower((unsigned char)*p);
		*d = '\0';
		const char *at = strchr(s, '@');
		if (!at || at == s || !at[1] || strchr(at + 1, '@') || !strchr(at + 1, '.') ||
		    strpbrk(s, " \t\r\n<>\"") || strlen(s) > 254) {
			/* the reason, not the value: it is personal data (it goes to logs) */
			bl__fail(BL_EINVAL, "email: not an e-mail address (%s)",
				 !at ? "no '@'" : at == s ? "nothing before '@'" : !at[1] ? "nothing after '@'"
				 : strchr(at + 1, '@') ? "more than one '@'"
				 : !strchr(at + 1, '.') ? "no '.' in the domain"
				 : strlen(s) > 254 ? "longer than 254 characters"
						   : "a blank, '<', '>' or '\"' in it");
			free(s);
			return BL_EINVAL;
		}
	}
	*out = s;
	return BL_OK;
}

int bl_pii_encrypt(bl_ctx *ctx, bl_pii_kind kind, const char *plain, unsigned char **out,
		   size_t *out_len)
{
	if (!ctx || !plain || !out || !out_len || !kind_name(kind))
		return bl__fail(BL_EINVAL, "bl_pii_encrypt: bad argument");
	int rc = ensure_keys(ctx);
	if (rc)
		return rc;
	size_t n = strlen(plain);
	size_t total = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + n +
		       crypto_aead_xchacha20poly1305_ietf_ABYTES;
	unsigned char *buf = malloc(total);
	if (!buf)
		return bl__fail(BL_ENOMEM, "out of memory");
	randombytes_buf(buf, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	const char *ad = kind_name(kind);
	unsigned long long clen;
	crypto_aead_xchacha20poly1305_ietf_encrypt(buf + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
						   &clen, (const unsigned char *)plain, n,
						   (const unsigned char *)ad, strlen(ad), NULL, buf,
						   ctx->enc_key);
	*out = buf;
	*out_len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + (size_t)clen;
	return BL_OK;
}

int bl_pii_decrypt(bl_ctx *ctx, bl_pii_kind kind, const unsigned char *in, size_t in_len, char **out)
{
	if (!ctx || !in || !out || !kind_name(kind))
		return bl__fail(BL_EINVAL, "bl_pii_decrypt: bad argument");
	int rc = ensure_keys(ctx);
	if (rc)
		return rc;
	const size_t over = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
			    crypto_aead_xchacha20poly1305_ietf_ABYTES;
	if (in_len < over)
		return bl__fail(BL_ECRYPTO, "%s: ciphertext of %zu bytes is too short", kind_name(kind),
				in_len);
	char *s = malloc(in_len - over + 1);
	if (!s)
		return bl__fail(BL_ENOMEM, "out of memory");
	unsigned long long mlen;
	const char *ad = kind_name(kind);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    (unsigned char *)s, &mlen, NULL, in + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
		    in_len - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, (const unsigned char *)ad,
		    strlen(ad), in, ctx->enc_key)) {
		free(s);
		return bl__fail(BL_ECRYPTO, "%s: authentication failed (wrong BILLING_DATA_KEY or "
					    "tampered data)", kind_name(kind));
	}
	s[mlen] = '\0';
	*out = s;
	return BL_OK;
}

int bl_pii_blind_index(bl_ctx *ctx, bl_pii_kind kind, const char *plain,
		       unsigned char out[BL_BLIND_INDEX_BYTES])
{
	if (!ctx || !plain || !out || !kind_name(kind))
		return bl__fail(BL_EINVAL, "bl_pii_blind_index: bad argument");
	int rc = ensure_keys(ctx);
	if (rc)
		return rc;
	char *norm;
	rc = bl_pii_normalize(kind, plain, &norm);
	if (rc)
		return rc;
	/* domain-separate the kinds: "phone:" / "email:" prefix */
	crypto_generichash_state st;
	crypto_generichash_init(&st, ctx->bidx_key, sizeof ctx->bidx_key, BL_BLIND_INDEX_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)kind_name(kind), 5);
	crypto_generichash_update(&st, (const unsigned char *)":", 1);
	crypto_generichash_update(&st, (const unsigned char *)norm, strlen(norm));
	crypto_generichash_final(&st, out, BL_BLIND_INDEX_BYTES);
	free(norm);
	return BL_OK;
}

int bl_pii_mask(bl_pii_kind kind, const char *plain, char **out)
{
	if (!plain || !out || !kind_name(kind))
		return bl__fail(BL_EINVAL, "bl_pii_mask: bad argument");
	char *norm;
	int rc = bl_pii_normalize(kind, plain, &norm);
	if (rc)
		return rc;
	bl_strbuf sb = { 0 };
	size_t n = strlen(norm);
	if (kind == BL_PII_PHONE) {
		/* 010-****-5678: keep the prefix (3 digits) and the last 4 */
		bl__sb_append(&sb, norm, 3);
		bl__sb_puts(&sb, "-");
		for (size_t i = 3; i + 4 < n; i++)
			bl__sb_puts(&sb, "*");
		bl__sb_puts(&sb, "-");
		bl__sb_append(&sb, norm + n - 4, 4);
	} else {
		/* first letter, then a fixed-width mask: the length is not leaked */
		bl__sb_append(&sb, norm, 1);
		bl__sb_puts(&sb, "***");
		bl__sb_puts(&sb, strchr(norm, '@'));
	}
	free(norm);
	*out = bl__sb_steal(&sb);
	return *out ? BL_OK : bl__fail(BL_ENOMEM, "out of memory");
}

int bl_data_key_generate(char **out)
{
	if (!out)
		return bl__fail(BL_EINVAL, "bl_data_key_generate: out is NULL");
	if (sodium_init() < 0)
		return bl__fail(BL_ECRYPTO, "libsodium could not be initialised");
	unsigned char k[32];
	randombytes_buf(k, sizeof k);
	char *hex = malloc(65);
	if (!hex)
		return bl__fail(BL_ENOMEM, "out of memory");
	sodium_bin2hex(hex, 65, k, sizeof k);
	sodium_memzero(k, sizeof k);
	*out = hex;
	return BL_OK;
}
