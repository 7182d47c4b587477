/*
 * Message templates: the compiler (source → node program), compiled
 * templates (bl__tpl).  The validator is template_check.c, the renderer
 * template_render.c, storage template_store.c; the language is documented in
 * docs/templates.md.
 */
#include <stddef.h>
#include <ctype.h>
#include <strings.h>
#include "template_impl.h"

/* ---- positions and errors ---- */

void bl__tpl_pos(const char *src, size_t off, unsigned *line, unsigned *col)
{
	unsigned l = 1, c = 1;
	for (size_t i = 0; i < off; i++) {
		unsigned char ch = (unsigned char)src[i];
		if (ch == '\n') {
			l++;
			c = 1;
		} else if ((ch & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

int bl__tpl_fail_at(const char *code, const char *part, const char *src, size_t off,
		    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	unsigned l, c;
	bl__tpl_pos(src, off, &l, &c);
	if (code)
		return bl__fail(BL_EINVAL, "template '%s' %s:%u:%u: %s", code, part, l, c, msg);
	return bl__fail(BL_EINVAL, "template %s:%u:%u: %s", part, l, c, msg);
}

/* Bytes of s[0..n) to show in a message: at most max, cut on a character. */
static int clip(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return (int)n;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return (int)max;
}

/* ---- the compiler ---- */

typedef struct {
	const char *code, *part, *src;
	size_t n;
	tpl_node *nodes;
	size_t nn, cap;
	size_t stack[TPL_MAX_DEPTH];
	int depth;
	size_t text_bytes;
} parser;

static int P_fail(parser *P, size_t off, const char *fmt, ...) BL_PRINTF(3, 4);
static int P_fail(parser *P, size_t off, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return bl__tpl_fail_at(P->code, P->part, P->src, off, "%s", msg);
}

static tpl_node *P_add(parser *P, tpl_node_type type, size_t off)
{
	if (P->nn == P->cap) {
		size_t cap = P->cap ? P->cap * 2 : 16;
		tpl_node *nv = realloc(P->nodes, cap * sizeof *nv);
		if (!nv) {
			bl__fail(BL_ENOMEM, "out of memory compiling a template");
			return NULL;
		}
		P->nodes = nv;
		P->cap = cap;
	}
	tpl_node *nd = &P->nodes[P->nn++];
	memset(nd, 0, sizeof *nd);
	nd->type = (uint8_t)type;
	nd->off = (uint32_t)off;
	return nd;
}

static int P_text(parser *P, size_t from, size_t to)
{
	if (to <= from)
		return BL_OK;
	tpl_node *nd = P_add(P, TN_TEXT, from);
	if (!nd)
		return BL_ENOMEM;
	nd->s = P->src + from;
	nd->len = to - from;
	P->text_bytes += to - from;
	return BL_OK;
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static bool name_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool name_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* A section, inverted-section, end or comment tag alone on its line takes
 * the line with it (as in mustache): [*ls, *next) is what it removes. */
static bool standalone(const char *src, size_t n, size_t t, size_t after, size_t *ls, size_t *next)
{
	size_t b = t;
	while (b > 0 && (src[b - 1] == ' ' || src[b - 1] == '\t'))
		b--;
	if (b > 0 && src[b - 1] != '\n')
		return false;
	size_t e = after;
	while (e < n && (src[e] == ' ' || src[e] == '\t'))
		e++;
	if (e + 1 < n && src[e] == '\r' && src[e + 1] == '\n')
		e += 2;
	else if (e < n && src[e] == '\n')
		e++;
	else if (e < n)
		return false;
	*ls = b;
	*next = e;
	return true;
}

/* Parse a name at *k (< e); its end in *k.  A name is `.` (the current
 * context: mustache's implicit iterator) or words separated by dots
 * (`a.b.c`: mustache's dotted names), each word letters, digits and _,
 * starting with a letter or _, at most TPL_MAX_NAME characters. */
static int P_name(parser *P, size_t t, size_t *k, size_t e, const char *tag, int taglen)
{
	const char *src = P->src;
	size_t s = *k;
	if (s < e && src[s] == '.' && (s + 1 >= e || src[s + 1] != '.') &&
	    (s + 1 >= e || !name_char(src[s + 1]))) {
		(*k)++;
		return BL_OK;
	}
	for (;;) {
		size_t w = *k;
		if (*k >= e || !name_start(src[*k]))
			return P_fail(P, t, "bad tag {{%.*s}}: expected a variable name (letters, digits, "
					    "_; words joined by dots, or a lone dot)",
				      taglen, tag);
		while (*k < e && name_char(src[*k]))
			(*k)++;
		if (*k - w > TPL_MAX_NAME)
			return P_fail(P, t, "variable name longer than %d characters", TPL_MAX_NAME);
		if (*k - s > TPL_MAX_DOTTED)
			return P_fail(P, t, "dotted name longer than %d characters", TPL_MAX_DOTTED);
		if (*k >= e || src[*k] != '.')
			return BL_OK;
		(*k)++;
	}
}

static void skip_blank(const char *s, size_t *k, size_t e)
{
	while (*k < e && is_blank(s[*k]))
		(*k)++;
}

/* The small date format language (docs/templates.md). */
static int check_date_format(parser *P, size_t t, const char *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (f[i] != '%')
			continue;
		char c = i + 1 < n ? f[i + 1] : '\0';
		if (c == '-') {
			char d = i + 2 < n ? f[i + 2] : '\0';
			if (d != 'm' && d != 'd')
				return P_fail(P, t, "date format '%.*s': unknown conversion %%-%c (use %%Y "
						    "%%y %%m %%d %%-m %%-d %%a %%A %%%%)",
					      clip(f, n, 40), f, d ? d : ' ');
			i += 2;
		} else if (c && strchr("YymdaA%", c)) {
			i++;
		} else {
			return P_fail(P, t, "date format '%.*s': unknown conversion %%%c (use %%Y %%y %%m "
					    "%%d %%-m %%-d %%a %%A %%%%)",
				      clip(f, n, 40), f, c ? c : ' ');
		}
	}
	return BL_OK;
}

static const struct {
	const char *name;
	tpl_filter f;
} filters[] = { { "won", TF_WON },   { "number", TF_NUMBER }, { "mask", TF_MASK },
		{ "date", TF_DATE }, { "month", TF_MONTH },   { "raw", TF_NONE } };

static int P_filters(parser *P, tpl_node *nd, size_t t, size_t k, size_t e, const char *tag,
		     int taglen)
{
	const char *s = P->src;
	while (k < e) {
		if (s[k] != '|')
			return P_fail(P, t, "bad tag {{%.*s}}: expected |filter after the name", taglen,
				      tag);
		k++;
		skip_blank(s, &k, e);
		size_t fs = k;
		while (k < e && isalpha((unsigned char)s[k]))
			k++;
		size_t fl = k - fs;
		skip_blank(s, &k, e);
		const char *arg = NULL;
		size_t al = 0;
		if (k < e && s[k] == ':') {
			k++;
			skip_blank(s, &k, e);
			size_t as = k;
			while (k < e && s[k] != '|')
				k++;
			size_t ae = k;
			while (ae > as && is_blank(s[ae - 1]))
				ae--;
			arg = s + as;
			al = ae - as;
		}
		if (fl == 0)
			return P_fail(P, t, "bad tag {{%.*s}}: empty filter name", taglen, tag);
		size_t fi = 0, nf = sizeof filters / sizeof filters[0];
		while (fi < nf && (strlen(filters[fi].name) != fl || memcmp(filters[fi].name, s + fs, fl)))
			fi++;
		if (fi == nf)
			return P_fail(P, t, "unknown filter '%.*s' in {{%.*s}} (filters: won, number, mask, "
					    "date, date:FORMAT, month, raw)",
				      clip(s + fs, fl, 40), s + fs, taglen, tag);
		if (arg && filters[fi].f != TF_DATE)
			return P_fail(P, t, "filter '%s' takes no argument: {{%.*s}}", filters[fi].name,
				      taglen, tag);
		if (arg && al == 0)
			return P_fail(P, t, "filter 'date:' needs a format, e.g. date:%%Y.%%m.%%d");
		if (al > 64)
			return P_fail(P, t, "date format longer than 64 bytes");
		if (filters[fi].f == TF_NONE) {
			nd->raw = true;
			continue;
		}
		if (nd->filter != TF_NONE)
			return P_fail(P, t, "{{%.*s}}: only one of won, number, mask, date, month per tag",
				      taglen, tag);
		nd->filter = (uint8_t)filters[fi].f;
		if (arg) {
			int rc = check_date_format(P, t, arg, al);
			if (rc)
				return rc;
			nd->arg = arg;
			nd->arg_len = al;
		}
	}
	return BL_OK;
}

/* A variable tag: name then filters in [k, e); raw: {{{x}}} or {{& x}}. */
static int P_var(parser *P, size_t t, size_t k, size_t e, const char *tag, int taglen, bool raw)
{
	size_t ns = k;
	int rc;
	if ((rc = P_name(P, t, &k, e, tag, taglen)))
		return rc;
	size_t nl = k - ns;
	skip_blank(P->src, &k, e);
	tpl_node *nd = P_add(P, TN_VAR, t);
	if (!nd)
		return BL_ENOMEM;
	nd->s = P->src + ns;
	nd->len = nl;
	nd->raw = raw;
	return P_filters(P, nd, t, k, e, tag, taglen);
}

/* One tag: src[t] is the first '{', content is [cs, ce). */
static int P_tag(parser *P, size_t t, size_t cs, size_t ce)
{
	const char *s = P->src;
	size_t k = cs, e = ce;
	skip_blank(s, &k, e);
	while (e > k && is_blank(s[e - 1]))
		e--;
	const char *tag = s + cs;
	int taglen = clip(tag, ce - cs, 60);
	if (k == e)
		return P_fail(P, t, "empty tag {{}}");
	char sig = s[k];
	int rc;
	switch (sig) {
	case '!':
		return BL_OK;
	case '>':
		return P_fail(P, t, "partials {{%.*s}} are not supported", taglen, tag);
	case '&':
		k++;
		skip_blank(s, &k, e);
		return P_var(P, t, k, e, tag, taglen, true);
	case '=':
		return P_fail(P, t, "changing delimiters {{%.*s}} is not supported", taglen, tag);
	case '#':
	case '^': {
		k++;
		skip_blank(s, &k, e);
		size_t ns = k;
		if ((rc = P_name(P, t, &k, e, tag, taglen)))
			return rc;
		size_t nl = k - ns;
		skip_blank(s, &k, e);
		if (k < e)
			return P_fail(P, t, "{{%.*s}}: sections take a bare name, no filters", taglen,
				      tag);
		if (P->depth == TPL_MAX_DEPTH)
			return P_fail(P, t, "sections nested deeper than %d", TPL_MAX_DEPTH);
		tpl_node *nd = P_add(P, sig == '#' ? TN_SECTION : TN_INVERTED, t);
		if (!nd)
			return BL_ENOMEM;
		nd->s = s + ns;
		nd->len = nl;
		P->stack[P->depth++] = P->nn - 1;
		return BL_OK;
	}
	case '/': {
		k++;
		skip_blank(s, &k, e);
		size_t ns = k;
		if ((rc = P_name(P, t, &k, e, tag, taglen)))
			return rc;
		size_t nl = k - ns;
		skip_blank(s, &k, e);
		if (k < e)
			return P_fail(P, t, "bad closing tag {{%.*s}}", taglen, tag);
		if (P->depth == 0)
			return P_fail(P, t, "{{/%.*s}} closes no open section", (int)nl, s + ns);
		size_t open = P->stack[P->depth - 1];
		const tpl_node *o = &P->nodes[open];
		if (o->len != nl || memcmp(o->s, s + ns, nl)) {
			unsigned l, c;
			bl__tpl_pos(s, o->off, &l, &c);
			return P_fail(P, t, "{{/%.*s}} does not match {{%c%.*s}} opened at %u:%u", (int)nl,
				      s + ns, o->type == TN_SECTION ? '#' : '^', (int)o->len, o->s, l,
				      c);
		}
		tpl_node *nd = P_add(P, TN_END, t);
		if (!nd)
			return BL_ENOMEM;
		nd->s = s + ns;
		nd->len = nl;
		P->depth--;
		P->nodes[open].end = (uint32_t)(P->nn - 1);
		return BL_OK;
	}
	default:
		return P_var(P, t, k, e, tag, taglen, false);
	}
}

static int compile_into(parser *P)
{
	const char *s = P->src;
	size_t n = P->n, i = 0, text_start = 0;
	int rc;
	while (i < n) {
		const char *o = memmem(s + i, n - i, "{{", 2);
		if (!o)
			break;
		size_t t = (size_t)(o - s);
		if (t + 2 < n && s[t + 2] == '{') {
			/* {{{name}}}: the value unescaped (mustache's triple mustache) */
			const char *c3 = memmem(s + t + 3, n - t - 3, "}}}", 3);
			if (!c3)
				return P_fail(P, t, "unclosed tag: '{{{' without '}}}'");
			size_t cs = t + 3, ce = (size_t)(c3 - s);
			if (memmem(s + cs, ce - cs, "{{", 2))
				return P_fail(P, t, "unclosed tag: '{{{' without '}}}' before the next '{{'");
			if (memchr(s + cs, '\n', ce - cs))
				return P_fail(P, t, "unclosed tag: '{{{' without '}}}' on the same line");
			size_t k = cs, e = ce;
			skip_blank(s, &k, e);
			while (e > k && is_blank(s[e - 1]))
				e--;
			if (k == e)
				return P_fail(P, t, "empty tag {{{}}}");
			if ((rc = P_text(P, text_start, t)) ||
			    (rc = P_var(P, t, k, e, s + cs, clip(s + cs, ce - cs, 60), true)))
				return rc;
			i = text_start = ce + 3;
			continue;
		}
		const char *c = memmem(s + t + 2, n - t - 2, "}}", 2);
		if (!c)
			return P_fail(P, t, "unclosed tag: '{{' without '}}'");
		size_t cs = t + 2, ce = (size_t)(c - s);
		size_t k = cs;
		skip_blank(s, &k, ce);
		bool comment = k < ce && s[k] == '!';
		if (!comment && memmem(s + cs, ce - cs, "{{", 2))
			return P_fail(P, t, "unclosed tag: '{{' without '}}' before the next '{{'");
		if (!comment && memchr(s + cs, '\n', ce - cs))
			return P_fail(P, t, "unclosed tag: '{{' without '}}' on the same line");
		size_t after = ce + 2, text_end = t;
		char sig = k < ce ? s[k] : '\0';
		if (sig == '#' || sig == '^' || sig == '/' || sig == '!') {
			size_t ls, next;
			if (standalone(s, n, t, after, &ls, &next)) {
				text_end = ls;
				after = next;
			}
		}
		if ((rc = P_text(P, text_start, text_end)) || (rc = P_tag(P, t, cs, ce)))
			return rc;
		i = text_start = after;
	}
	if ((rc = P_text(P, text_start, n)))
		return rc;
	if (P->depth > 0) {
		const tpl_node *o = &P->nodes[P->stack[P->depth - 1]];
		return P_fail(P, o->off, "section {{%c%.*s}} is never closed (expected {{/%.*s}})",
			      o->type == TN_SECTION ? '#' : '^', (int)o->len, o->s, (int)o->len, o->s);
	}
	return BL_OK;
}

int bl__prog_compile(const char *src, const char *code, const char *part, tpl_prog **out)
{
	*out = NULL;
	size_t n = strlen(src);
	if (n > TPL_MAX_SOURCE)
		return bl__fail(BL_EINVAL, "template%s%s%s %s: %zu bytes; at most %u", code ? " '" : "",
				code ? code : "", code ? "'" : "", part, n, TPL_MAX_SOURCE);
	tpl_prog *p = calloc(1, sizeof *p);
	if (!p || !(p->src = bl__strdup(src))) {
		free(p);
		return bl__fail(BL_ENOMEM, "out of memory compiling a template");
	}
	parser P = { .code = code, .part = part, .src = p->src, .n = n };
	int rc = compile_into(&P);
	if (rc) {
		free(P.nodes);
		free(p->src);
		free(p);
		return rc;
	}
	p->nodes = P.nodes;
	p->n = P.nn;
	p->text_bytes = P.text_bytes;
	*out = p;
	return BL_OK;
}

void bl__prog_free(tpl_prog *p)
{
	if (!p)
		return;
	free(p->nodes);
	free(p->src);
	free(p);
}

/* ---- options ---- */

int bl_template_opts_init(bl_template_opts *opts, unsigned version)
{
	if (!opts || version < 1 || version > BL_TEMPLATE_OPTS_VERSION)
		return bl__fail(BL_EINVAL, "bl_template_opts_init: unsupported version %u", version);
	bl_template_opts d = BL_TEMPLATE_OPTS_INIT;
	d.version = version;
	/* a version-1 caller's struct ends after created_by */
	memcpy(opts, &d, version == 1   ? offsetof(bl_template_opts, create_only)
			 : version == 2 ? offsetof(bl_template_opts, advertising)
					: sizeof d);
	return BL_OK;
}

static bool present(const char *s) { return s && *s; }

int bl__tpl_compile(const bl_template_opts *o, bl__tpl **out)
{
	*out = NULL;
	bl__tpl *t = calloc(1, sizeof *t);
	if (!t || !(t->code = bl__strdup(o->code ? o->code : ""))) {
		free(t);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	t->channel = o->channel;
	t->purpose = o->purpose;
	int rc = BL_OK;
	bool email = o->channel == BL_CHANNEL_EMAIL;
	if (email && present(o->subject))
		rc = bl__prog_compile(o->subject, t->code, "subject", &t->subject);
	if (rc == BL_OK && email && present(o->body_html))
		rc = bl__prog_compile(o->body_html, t->code, "body_html", &t->html);
	if (rc == BL_OK)
		rc = bl__prog_compile(o->body_text ? o->body_text : "", t->code, "body_text", &t->text);
	tpl_decl *d = NULL;
	if (rc == BL_OK)
		rc = bl__tpl_decl_parse(o->variables_json, t->code, &d);
	const tpl_field *f = bl__tpl_decl_fields(d);
	for (size_t i = 0; rc == BL_OK && f && f[i].name; i++) {
		if (!bl__tpl_decl_required(d, i))
			continue;
		char **nv = realloc(t->required, (t->nrequired + 1) * sizeof *nv);
		if (!nv || !(nv[t->nrequired] = bl__strdup(f[i].name))) {
			if (nv)
				t->required = nv;
			rc = bl__fail(BL_ENOMEM, "out of memory");
			break;
		}
		t->required = nv;
		t->nrequired++;
	}
	bl__tpl_decl_free(d);
	if (rc) {
		bl__tpl_free(t);
		return rc;
	}
	*out = t;
	return BL_OK;
}

void bl__tpl_free(bl__tpl *t)
{
	if (!t)
		return;
	bl__prog_free(t->subject);
	bl__prog_free(t->html);
	bl__prog_free(t->text);
	for (size_t i = 0; i < t->nrequired; i++)
		free(t->required[i]);
	free(t->required);
	free(t->code);
	free(t);
}

bl_channel bl__tpl_channel(const bl__tpl *t) { return t->channel; }
bl_purpose bl__tpl_purpose(const bl__tpl *t) { return t->purpose; }

