/*
 * SMS length as Korean carriers count it: the text travels as EUC-KR
 * (KS X 1001; in practice CP949, which has every Hangul syllable), so ASCII
 * is 1 byte and every other character 2.  Characters EUC-KR cannot carry at
 * all (emoji, most non-Korean scripts) are counted as 2 as well: the gateway
 * replaces them, and 2 is the most it can cost (see docs/templates.md).
 * Template validation refuses such characters in the literal text of SMS
 * templates (bl__cp949_ok), so only variable values can bring them in.
 */
#include <iconv.h>
#include <errno.h>
#include "template_impl.h"

size_t bl__utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (n == 0)
		return 0;
	unsigned char c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t len;
	uint32_t v, min;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1Fu;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0Fu;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3Fu);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

int bl_sms_bytes(const char *utf8, size_t *bytes)
{
	if (!utf8 || !bytes)
		return bl__fail(BL_EINVAL, "bl_sms_bytes: NULL argument");
	const unsigned char *s = (const unsigned char *)utf8;
	size_t total = 0;
	while (*s) {
		if (*s < 0x80) {
			/* ASCII run: the common case, no decoding */
			s++;
			total++;
			continue;
		}
		uint32_t cp;
		size_t n = bl__utf8_next(s, 4, &cp);
		/* bl__utf8_next stops at a NUL continuation byte: never reads past the end */
		if (n == 0)
			return bl__fail(BL_EINVAL, "SMS text: invalid UTF-8 at byte %zu",
					(size_t)(s - (const unsigned char *)utf8));
		s += n;
		total += 2;
	}
	*bytes = total;
	return BL_OK;
}

struct bl__cp949 {
	iconv_t cd;
};

bl__cp949 *bl__cp949_open(void)
{
	bl__cp949 *c = malloc(sizeof *c);
	if (!c)
		return NULL;
	c->cd = iconv_open("CP949", "UTF-8");
	if (c->cd == (iconv_t)-1)
		c->cd = iconv_open("EUC-KR", "UTF-8");
	return c;
}

bool bl__cp949_ok(bl__cp949 *c, const char *ch, size_t len)
{
	if (!c || c->cd == (iconv_t)-1 || len == 0)
		return true; /* no converter: cannot tell, let it through */
	char in[8], out[16];
	if (len > sizeof in)
		return false;
	memcpy(in, ch, len);
	char *ip = in, *op = out;
	size_t il = len, ol = sizeof out;
	iconv(c->cd, NULL, NULL, NULL, NULL); /* reset the shift state */
	size_t r = iconv(c->cd, &ip, &il, &op, &ol);
	/* glibc counts irreversible conversions (substitutions) in r */
	return r == 0 && il == 0;
}

void bl__cp949_close(bl__cp949 *c)
{
	if (!c)
		return;
	if (c->cd != (iconv_t)-1)
		iconv_close(c->cd);
	free(c);
}
