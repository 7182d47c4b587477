/*
 * Masking personal data inside free text: log lines, error messages,
 * request paths, typed console commands.  bl_pii_mask masks one known value;
 * this finds phone numbers and e-mail addresses wherever they are.
 *
 * The work is done into a caller's fixed buffer (bl__pii_scrub_buf) so that
 * the error module can clean every message it records without allocating.
 *
 * It runs on untrusted text (request paths, previews): every start position
 * looks at a bounded window (a phone number has at most 15 digits, so its
 * scan stops at the 16th), which keeps the whole pass linear; and the input
 * is capped (BL__PII_SCRUB_MAX).
 */
#include <ctype.h>
#include "internal.h"

typedef struct {
	char *p;
	size_t cap, len; /* len may pass cap: the rest is cut */
} out_buf;

static void put(out_buf *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, o->len++)
		if (o->len + 1 < o->cap)
			o->p[o->len] = s[i];
}

static bool email_local(char c)
{
	return isalnum((unsigned char)c) || strchr("._%+-", c);
}

static bool email_domain(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-';
}

/* local@domain.tld at s[i] → l***@domain.tld; the length consumed, or 0 */
static size_t scrub_email(const char *s, size_t n, size_t i, out_buf *o)
{
	if (!email_local(s[i]) || (i > 0 && email_local(s[i - 1])))
		return 0;
	size_t j = i;
	while (j < n && email_local(s[j]))
		j++;
	if (j >= n || s[j] != '@')
		return 0;
	size_t k = j + 1;
	while (k < n && email_domain(s[k]))
		k++;
	if (k == j + 1 || !memchr(s + j + 1, '.', k - j - 1))
		return 0;
	put(o, s + i, 1);
	put(o, "***", 3);
	put(o, s + j, k - j);
	return k - i;
}

/* 9-15 digits starting with 0 or after '+', with '-', '.' or ' ' between:
 * all but the first 3 and the last 4 digits become '*' */
static size_t scrub_phone(const char *s, size_t n, size_t i, out_buf *o)
{
	if (!(s[i] == '0' || (s[i] == '+' && i + 1 < n && isdigit((unsigned char)s[i + 1]))) ||
	    (i > 0 && isalnum((unsigned char)s[i - 1])))
		return 0;
	size_t j = i + (s[i] == '+'), digits = 0, end = j;
	while (j < n && digits <= 15 && (isdigit((unsigned char)s[j]) ||
			 ((s[j] == '-' || s[j] == ' ' || s[j] == '.') && j + 1 < n &&
			  isdigit((unsigned char)s[j + 1]) && digits > 0))) {
		if (isdigit((unsigned char)s[j])) {
			digits++;
			end = j + 1;
		}
		j++;
	}
	if (digits < 9 || digits > 15 || (end < n && isalnum((unsigned char)s[end])))
		return 0;
	size_t d = 0;
	for (size_t k = i; k < end; k++) {
		bool dig = isdigit((unsigned char)s[k]);
		d += dig;
		char c = dig && d > 3 && d <= digits - 4 ? '*' : s[k];
		put(o, &c, 1);
	}
	return end - i;
}

size_t bl__pii_scrub_buf(const char *in, char *out, size_t cap)
{
	out_buf o = { out, cap, 0 };
	size_t n = strnlen(in, BL__PII_SCRUB_MAX);
	/* stop once the output is full: what follows would be cut anyway */
	for (size_t i = 0; i < n && (!cap || o.len + 1 < cap);) {
		size_t used = scrub_email(in, n, i, &o);
		if (!used)
			used = scrub_phone(in, n, i, &o);
		if (!used) {
			put(&o, in + i, 1);
			used = 1;
		}
		i += used;
	}
	if (cap) {
		if (o.len >= cap)
			o.len = cap - 1;
		out[o.len] = '\0';
	}
	return o.len;
}

int bl_pii_scrub(const char *text, char **out)
{
	if (!out)
		return bl__fail(BL_EINVAL, "bl_pii_scrub: out is NULL");
	*out = NULL;
	if (!text)
		return bl__fail(BL_EINVAL, "bl_pii_scrub: text is NULL");
	/* an address grows by at most 3 ("a@b.c" → "a***@b.c"): 1.6 × is enough */
	static const char cut[] = " [cut]";
	size_t n = strnlen(text, BL__PII_SCRUB_MAX);
	size_t cap = n * 2 + sizeof cut;
	char *s = malloc(cap);
	if (!s)
		return bl__fail(BL_ENOMEM, "out of memory");
	size_t len = bl__pii_scrub_buf(text, s, cap);
	if (n == BL__PII_SCRUB_MAX && text[n])
		memcpy(s + len, cut, sizeof cut);
	*out = s;
	return BL_OK;
}
