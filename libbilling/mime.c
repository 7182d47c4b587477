/*
 * The e-mail the mock provider delivers into the Maildir: RFC 5322 headers
 * (non-ASCII text as RFC 2047 "B" encoded-words, folded so that no line
 * holding one is longer than 76 characters) and a MIME multipart/alternative
 * body with a text/plain and a text/html part, UTF-8, base64 in 76-character
 * lines.  Every line ends with CRLF.  No randomness: the boundary derives
 * from the message id and can never occur in base64 text ("=_").
 */
#include <sodium.h>
#include <time.h>
#include "sender_private.h"

#define LINE_MAX_ENC 76 /* RFC 2047 §2: lines with encoded-words */
#define B64_LINE 76     /* RFC 2045 §6.8 */

/* Base64 (libsodium's, RFC 4648 alphabet with padding) of `n` bytes; with
 * `wrap` (B64_LINE) > 0, CRLF after every `wrap` characters and after the
 * last line. */
static int b64_append(bl_strbuf *sb, const unsigned char *p, size_t n, size_t wrap)
{
	const size_t chunk = (wrap ? wrap : B64_LINE) / 4 * 3; /* bytes of one whole line */
	char line[sodium_base64_ENCODED_LEN(B64_LINE / 4 * 3, sodium_base64_VARIANT_ORIGINAL)];
	for (size_t i = 0; i < n; i += chunk) {
		size_t take = n - i < chunk ? n - i : chunk;
		sodium_bin2base64(line, sizeof line, p + i, take, sodium_base64_VARIANT_ORIGINAL);
		if (bl__sb_puts(sb, line) || (wrap && bl__sb_puts(sb, "\r\n")))
			return BL_ENOMEM;
	}
	return BL_OK;
}

/* ---- headers ---- */

typedef struct {
	bl_strbuf *sb;
	size_t col; /* characters on the current line */
} hdr;

static void hdr_begin(hdr *h, const char *name)
{
	bl__sb_puts(h->sb, name);
	bl__sb_puts(h->sb, ":");
	h->col = strlen(name) + 1;
}

static void hdr_fold(hdr *h)
{
	bl__sb_puts(h->sb, "\r\n");
	h->col = 0;
}

/* One token, preceded by a space; folded first when it would pass column 76
 * (a longer token, e.g. a long address, gets a line of its own: ≤ 998). */
static void hdr_token(hdr *h, const char *tok)
{
	size_t n = strlen(tok);
	if (h->col + 1 + n > LINE_MAX_ENC && h->col > 0)
		hdr_fold(h);
	bl__sb_puts(h->sb, " ");
	bl__sb_append(h->sb, tok, n);
	h->col += 1 + n;
}

/* `text` as " =?UTF-8?B?...?=" words, each ≤ 75 characters, each holding
 * whole UTF-8 characters (RFC 2047 §5), folded to LINE_MAX_ENC columns.
 * With `whole`, a text that fits one encoded-word is not split between two
 * lines but starts a new one: some decoders (Python's address parser) keep
 * the folding space between adjacent encoded-words of a display name, which
 * RFC 2047 §6.2 says to drop. */
static void hdr_words(hdr *h, const char *text, bool whole)
{
	const unsigned char *p = (const unsigned char *)(text ? text : "");
	size_t left = strlen((const char *)p);
	const size_t over = 1 + strlen("=?UTF-8?B?") + strlen("?=");
	if (whole && left <= 45 && h->col > 0 && h->col + over + (left + 2) / 3 * 4 > LINE_MAX_ENC)
		hdr_fold(h);
	while (left) {
		size_t avail = h->col + over < LINE_MAX_ENC ? LINE_MAX_ENC - h->col - over : 0;
		size_t max_raw = avail / 4 * 3, take = left < max_raw ? left : max_raw;
		while (take > 0 && take < left && (p[take] & 0xC0) == 0x80)
			take--; /* never split a character */
		if (take == 0) {
			if (h->col > 0) {
				hdr_fold(h);
				continue;
			}
			take = left < 45 ? left : 45; /* not UTF-8: split anyway */
		}
		bl__sb_puts(h->sb, " =?UTF-8?B?");
		b64_append(h->sb, p, take, 0);
		bl__sb_puts(h->sb, "?=");
		h->col += over + (take + 2) / 3 * 4;
		p += take;
		left -= take;
	}
}

static void hdr_end(hdr *h) { bl__sb_puts(h->sb, "\r\n"); }

/* "Name" <addr> with the name encoded; the bare address when no name. */
static void hdr_mailbox(hdr *h, const char *name, const char *addr)
{
	bl_strbuf a = { 0 };
	if (name && *name) {
		hdr_words(h, name, true);
		bl__sb_printf(&a, "<%s>", addr);
	} else {
		bl__sb_puts(&a, addr);
	}
	if (a.s)
		hdr_token(h, a.s);
	bl__sb_free(&a);
}

static void date_header(bl_strbuf *sb, int64_t unix_secs)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm t;
	bl__seoul_time(unix_secs, &t); /* Korea: UTC+9, no DST */
	bl__sb_printf(sb, "Date: %s, %02d %s %04d %02d:%02d:%02d +0900\r\n", days[t.tm_wday % 7],
		      t.tm_mday, months[t.tm_mon % 12], t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec);
}

/* ---- body ---- */

/* Text with every line break as CRLF (canonical form of text types). */
static int crlf_text(const char *in, bl_strbuf *out)
{
	const char *p = in ? in : "";
	for (; *p; p++) {
		if (*p == '\r') {
			if (p[1] == '\n')
				p++;
			bl__sb_puts(out, "\r\n");
		} else if (*p == '\n') {
			bl__sb_puts(out, "\r\n");
		} else {
			bl__sb_append(out, p, 1);
		}
	}
	return out->oom ? BL_ENOMEM : BL_OK;
}

static void part(bl_strbuf *sb, const char *boundary, const char *type, const char *body)
{
	bl_strbuf canon = { 0 };
	bl__sb_printf(sb, "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
			  "Content-Transfer-Encoding: base64\r\n\r\n", boundary, type);
	if (crlf_text(body, &canon) == BL_OK && canon.len)
		b64_append(sb, (const unsigned char *)canon.s, canon.len, B64_LINE);
	else if (canon.oom)
		sb->oom = 1;
	bl__sb_free(&canon);
}

int bl__mime_build(const bl__mime_msg *m, bl_strbuf *out)
{
	if (!m || !out || !m->from_addr || !m->to_addr)
		return bl__fail(BL_EINVAL, "bl__mime_build: missing message, sender or recipient");
	char boundary[64];
	snprintf(boundary, sizeof boundary, "=_libbilling_alt_%lld", (long long)m->message_id);
	hdr h = { out, 0 };

	date_header(out, m->date);
	hdr_begin(&h, "From");
	hdr_mailbox(&h, m->from_name, m->from_addr);
	hdr_end(&h);
	hdr_begin(&h, "To");
	hdr_mailbox(&h, m->to_name, m->to_addr);
	hdr_end(&h);
	hdr_begin(&h, "Subject");
	hdr_words(&h, m->subject, false);
	hdr_end(&h);
	if (m->reply_to && *m->reply_to) {
		hdr_begin(&h, "Reply-To");
		hdr_mailbox(&h, NULL, m->reply_to);
		hdr_end(&h);
	}
	bl__sb_printf(out, "Message-ID: <msg-%lld@%s>\r\n", (long long)m->message_id,
		      m->msgid_domain && *m->msgid_domain ? m->msgid_domain : "libbilling.invalid");
	bl__sb_printf(out, "X-Billing-Message-Id: %lld\r\nX-Billing-Attempt: %d\r\n",
		      (long long)m->message_id, m->attempt);
	bl__sb_puts(out, "Auto-Submitted: auto-generated\r\n");
	if (m->unsub_url) {
		/* RFC 2369 + RFC 8058 one-click */
		bl__sb_printf(out, "List-Unsubscribe: <%s>", m->unsub_url);
		if (m->unsub_mailto)
			bl__sb_printf(out, ",\r\n <%s>", m->unsub_mailto);
		bl__sb_puts(out, "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
	}
	bl__sb_puts(out, "MIME-Version: 1.0\r\n");
	bl__sb_printf(out, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n", boundary);
	bl__sb_puts(out, "\r\nThis is a multi-part message in MIME format.\r\n\r\n");
	part(out, boundary, "text/plain", m->text);
	part(out, boundary, "text/html", m->html);
	bl__sb_printf(out, "--%s--\r\n", boundary);
	if (out->oom)
		return bl__fail(BL_ENOMEM, "out of memory building e-mail %lld", (long long)m->message_id);
	return BL_OK;
}
