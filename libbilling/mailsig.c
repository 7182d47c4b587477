/*
 * Keys, VERP addresses and unsubscribe tokens of outgoing e-mail.
 *
 * Both keys are derived from BILLING_DATA_KEY with crypto_kdf (context
 * "blmail__", subkeys 1 and 2), apart from the personal-data keys.
 *
 *   VERP:  bounce+<message id>.<tag>@<domain>, tag = the first 8 bytes of
 *          BLAKE2b(key: verp, "verp:" ‖ message id) in lowercase hex.  A
 *          bounce names exactly one message, and a forged one fails the tag.
 *   token: base64url(no padding) of  0x01 ‖ user id (8 bytes, big-endian) ‖
 *          channel (1 byte) ‖ BLAKE2b-128(key: unsub, the 10 bytes before).
 *          An internal id and a channel: no personal data.
 */
#include <sodium.h>
#include "sender_private.h"

#define KDF_CTX "blmail__"

int bl__mail_keys_derive(const bl_config *cfg, bl__mail_keys *k)
{
	if (sodium_init() < 0)
		return bl__fail(BL_ECRYPTO, "libsodium could not be initialised");
	const char *hex = cfg ? bl_config_get(cfg, "BILLING_DATA_KEY") : NULL;
	unsigned char master[crypto_kdf_KEYBYTES];
	size_t n = 0;
	if (!hex || !*hex)
		return bl__fail(BL_ECONFIG, "BILLING_DATA_KEY is not set: bounce addresses and "
					    "unsubscribe links cannot be signed");
	if (sodium_hex2bin(master, sizeof master, hex, strlen(hex), NULL, &n, NULL) || n != sizeof master)
		return bl__fail(BL_ECONFIG, "BILLING_DATA_KEY: must be 64 hex digits");
	crypto_kdf_derive_from_key(k->verp, sizeof k->verp, 1, KDF_CTX, master);
	crypto_kdf_derive_from_key(k->unsub, sizeof k->unsub, 2, KDF_CTX, master);
	sodium_memzero(master, sizeof master);
	return BL_OK;
}

static void verp_tag(const bl__mail_keys *k, int64_t id, char hex[BL_VERP_TAG_HEX + 1])
{
	char in[32];
	int n = snprintf(in, sizeof in, "verp:%lld", (long long)id);
	unsigned char mac[BL_VERP_TAG_HEX / 2];
	crypto_generichash(mac, sizeof mac, (const unsigned char *)in, (size_t)n, k->verp, sizeof k->verp);
	sodium_bin2hex(hex, BL_VERP_TAG_HEX + 1, mac, sizeof mac);
}

int bl__verp_address(const bl__mail_keys *k, int64_t message_id, const char *domain, char *out, size_t cap)
{
	char tag[BL_VERP_TAG_HEX + 1];
	verp_tag(k, message_id, tag);
	if ((size_t)snprintf(out, cap, "bounce+%lld.%s@%s", (long long)message_id, tag, domain) >= cap)
		return bl__fail(BL_EINVAL, "VERP address: domain '%.64s' is too long", domain);
	return BL_OK;
}

int bl__verp_parse(const bl__mail_keys *k, const char *addr, int64_t *id)
{
	if (!addr)
		return bl__fail(BL_EINVAL, "VERP: no address");
	while (*addr == '<' || *addr == ' ')
		addr++;
	if (strncasecmp(addr, "bounce+", 7) != 0)
		return bl__fail(BL_EINVAL, "VERP: not a bounce address");
	const char *p = addr + 7, *dot = strchr(p, '.'), *at = strchr(p, '@');
	if (!dot || !at || dot > at || dot == p || at - dot - 1 != BL_VERP_TAG_HEX)
		return bl__fail(BL_EINVAL, "VERP: malformed bounce address");
	int64_t v = 0;
	for (const char *q = p; q < dot; q++) {
		if (*q < '0' || *q > '9' || v > (INT64_MAX - 9) / 10)
			return bl__fail(BL_EINVAL, "VERP: malformed message id");
		v = v * 10 + (*q - '0');
	}
	if (v <= 0)
		return bl__fail(BL_EINVAL, "VERP: malformed message id");
	char want[BL_VERP_TAG_HEX + 1], got[BL_VERP_TAG_HEX + 1];
	verp_tag(k, v, want);
	for (int i = 0; i < BL_VERP_TAG_HEX; i++)
		got[i] = (char)((dot[1 + i] >= 'A' && dot[1 + i] <= 'F') ? dot[1 + i] + 32 : dot[1 + i]);
	got[BL_VERP_TAG_HEX] = '\0';
	if (sodium_memcmp(want, got, BL_VERP_TAG_HEX) != 0)
		return bl__fail(BL_ECRYPTO, "VERP: the tag of message %lld does not verify (forged)",
				(long long)v);
	*id = v;
	return BL_OK;
}

#define TOK_RAW 26 /* 1 + 8 + 1 + 16 */

int bl__unsub_token(const bl__mail_keys *k, int64_t user_id, bl_channel ch, char *out, size_t cap)
{
	unsigned char raw[TOK_RAW];
	raw[0] = 1;
	for (int i = 0; i < 8; i++)
		raw[1 + i] = (unsigned char)((uint64_t)user_id >> (56 - 8 * i));
	raw[9] = (unsigned char)ch;
	crypto_generichash(raw + 10, 16, raw, 10, k->unsub, sizeof k->unsub);
	if (cap < sodium_base64_ENCODED_LEN(TOK_RAW, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		return bl__fail(BL_EINVAL, "unsubscribe token: buffer too small");
	sodium_bin2base64(out, cap, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return BL_OK;
}

int bl__unsub_verify(const bl__mail_keys *k, const char *token, int64_t *user_id, bl_channel *ch)
{
	unsigned char raw[TOK_RAW + 1], mac[16];
	size_t n = 0;
	if (!token || strlen(token) > 64 ||
	    sodium_base642bin(raw, sizeof raw, token, strlen(token), NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) || n != TOK_RAW || raw[0] != 1)
		return bl__fail(BL_EINVAL, "unsubscribe token: malformed");
	crypto_generichash(mac, sizeof mac, raw, 10, k->unsub, sizeof k->unsub);
	if (sodium_memcmp(mac, raw + 10, 16) != 0)
		return bl__fail(BL_ECRYPTO, "unsubscribe token: the signature does not verify");
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u = u << 8 | raw[1 + i];
	if (u == 0 || u > INT64_MAX || (raw[9] != BL_CHANNEL_EMAIL && raw[9] != BL_CHANNEL_SMS))
		return bl__fail(BL_EINVAL, "unsubscribe token: malformed");
	*user_id = (int64_t)u;
	*ch = (bl_channel)raw[9];
	return BL_OK;
}

/* ---- the outgoing identity ---- */

void bl__mail_ident_clear(bl__mail_ident *id)
{
	if (!id)
		return;
	free(id->from_name);
	free(id->from_addr);
	free(id->reply_to);
	free(id->domain);
	free(id->unsub_url);
	sodium_memzero(&id->keys, sizeof id->keys);
	memset(id, 0, sizeof *id);
}

int bl__mail_ident_init(bl__mail_ident *id, const bl_config *cfg)
{
	memset(id, 0, sizeof *id);
	const char *hex = bl_config_get(cfg, "BILLING_DATA_KEY");
	if (hex && *hex) {
		int rc = bl__mail_keys_derive(cfg, &id->keys);
		if (rc)
			return rc;
		id->keys_ok = true;
	}
	id->from_name = bl__strdup(bl_config_get(cfg, "BILLING_MAIL_FROM_NAME"));
	id->from_addr = bl__strdup(bl_config_get(cfg, "BILLING_MAIL_FROM"));
	id->reply_to = bl__strdup(bl_config_get(cfg, "BILLING_MAIL_REPLY_TO"));
	id->domain = bl__strdup(bl_config_get(cfg, "BILLING_MAIL_DOMAIN"));
	id->unsub_url = bl__strdup(bl_config_get(cfg, "BILLING_UNSUBSCRIBE_URL"));
	if (!id->from_name || !id->from_addr || !id->reply_to || !id->domain || !id->unsub_url) {
		bl__mail_ident_clear(id);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	for (const char *p = id->from_addr; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == 0x7f) {
			bl__mail_ident_clear(id);
			return bl__fail(BL_ECONFIG, "BILLING_MAIL_FROM: not a plain address");
		}
	return BL_OK;
}

int bl__mail_compose(const bl__mail_ident *id, const bl__send_req *req, const char *to, bl_strbuf *out,
		     char *env_from, size_t cap)
{
	int64_t at_us = req->at_ms ? req->at_ms * 1000 : bl_ctx_now(NULL);
	char url[600], mailto[300], token[64];
	bl__mime_msg m = {
		.message_id = req->message_id,
		.attempt = req->attempt,
		.date = at_us / 1000000,
		.from_name = id->from_name,
		.from_addr = id->from_addr,
		.to_name = req->to_name,
		.to_addr = to,
		.subject = req->subject,
		.text = req->text,
		.html = req->html,
		.msgid_domain = id->domain,
		.reply_to = id->reply_to,
	};
	if (req->notice && req->user_id > 0 && id->keys_ok) {
		int rc = bl__unsub_token(&id->keys, req->user_id, BL_CHANNEL_EMAIL, token, sizeof token);
		if (rc)
			return rc;
		snprintf(url, sizeof url, "%s%st=%s", id->unsub_url, strchr(id->unsub_url, '?') ? "&" : "?", token);
		snprintf(mailto, sizeof mailto, "mailto:unsubscribe@%s?subject=unsubscribe%%20%s", id->domain, token);
		m.unsub_url = url;
		m.unsub_mailto = mailto;
	}
	if (id->keys_ok) {
		int rc = bl__verp_address(&id->keys, req->message_id, id->domain, env_from, cap);
		if (rc)
			return rc;
	} else {
		snprintf(env_from, cap, "%s", id->from_addr);
	}
	return bl__mime_build(&m, out);
}
