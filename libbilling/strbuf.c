/* Growable string buffer and small string helpers. */
#include <errno.h>
#include "internal.h"

int bl__sb_append(bl_strbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return BL_ENOMEM;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->s, cap);
		if (!p) {
			b->oom = 1;
			return bl__fail(BL_ENOMEM, "out of memory growing a %zu-byte buffer", cap);
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return BL_OK;
}

int bl__sb_puts(bl_strbuf *b, const char *s) { return bl__sb_append(b, s, strlen(s)); }

int bl__sb_printf(bl_strbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return bl__fail(BL_EINVAL, "bad format '%s'", fmt);
	if ((size_t)n < sizeof tmp)
		return bl__sb_append(b, tmp, (size_t)n);
	char *big = malloc((size_t)n + 1);
	if (!big)
		return bl__fail(BL_ENOMEM, "out of memory");
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = bl__sb_append(b, big, (size_t)n);
	free(big);
	return rc;
}

int bl__sb_placeholders(bl_strbuf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (bl__sb_append(b, i ? ",?" : "?", i ? 2 : 1))
			return BL_ENOMEM;
	return BL_OK;
}

char *bl__sql_in(const char *head, size_t n, const char *tail)
{
	bl_strbuf sb = { 0 };
	bl__sb_puts(&sb, head);
	bl__sb_placeholders(&sb, n);
	bl__sb_puts(&sb, tail);
	return bl__sb_steal(&sb);
}

char *bl__sb_steal(bl_strbuf *b)
{
	if (b->oom) {
		bl__sb_free(b);
		return NULL;
	}
	char *s = b->s ? b->s : calloc(1, 1);
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void bl__sb_free(bl_strbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

char *bl__strdup(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

int bl__parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	if (!s || !*s)
		return BL_EINVAL;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return BL_EINVAL;
	*out = v;
	return BL_OK;
}
