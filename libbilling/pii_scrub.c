/*
 * Masking personal data inside free text: log lines, error messages,
 * request paths, typed console commands.  bl_pii_mask masks one known value;
 * this finds phone numbers and e-mail addresses wherever they are.
 */
#include <ctype.h>
#include "internal.h"

static bool email_local(char c)
{
	return isalnum((unsigned char)c) || strchr("._%+-", c);
}

static bool email_domain(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-';
}

/* local@domain.tld at s[i] → l***@domain.tld; the length consumed, or 0 */
static size_t scrub_email(const char *s, size_t n, size_t i, bl_strbuf *o)
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
	bl__sb_append(o, s + i, 1);
	bl__sb_puts(o, "***");
	bl__sb_append(o, s + j, k - j);
	return k - i;
}

/* 9-15 digits starting with 0 or after '+', with '-', '.' or ' ' between:
 * all but the first 3 and the last 4 digits become '*' */
static size_t scrub_phone(const char *s, size_t n, size_t i, bl_strbuf *o)
{
	if (!(s[i] == '0' || (s[i] == '+' && i + 1 < n && isdigit((unsigned char)s[i + 1]))) ||
	    (i > 0 && isalnum((unsigned char)s[i - 1])))
		return 0;
	size_t j = i + (s[i] == '+'), digits = 0, end = j;
	while (j < n && (isdigit((unsigned char)s[j]) ||
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
		bl__sb_append(o, &c, 1);
	}
	return end - i;
}

int bl_pii_scrub(const char *text, char **out)
{
	if (!out)
		return bl__fail(BL_EINVAL, "bl_pii_scrub: out is NULL");
	*out = NULL;
	if (!text)
		return bl__fail(BL_EINVAL, "bl_pii_scrub: text is NULL");
	size_t n = strlen(text);
	bl_strbuf o = { 0 };
	for (size_t i = 0; i < n;) {
		size_t used = scrub_email(text, n, i, &o);
		if (!used)
			used = scrub_phone(text, n, i, &o);
		if (!used) {
			bl__sb_append(&o, text + i, 1);
			used = 1;
		}
		i += used;
	}
	*out = bl__sb_steal(&o);
	return *out ? BL_OK : bl__fail(BL_ENOMEM, "out of memory");
}
