/*
 * Message templates: the renderer and its filters.  A compiled program
 * (template.c) is walked against a JSON model; output goes to a stack
 * buffer first, so a typical SMS costs one allocation (the result).
 */
#include <ctype.h>
#include <strings.h>
#include "template_impl.h"
#include "context_private.h"

/* ---- output buffer: stack first, heap when it outgrows it ---- */

typedef struct {
	char *p;
	size_t len, cap;
	size_t max;      /* output bytes allowed */
	bool heap, oom;
	bool over;       /* would have passed `max` */
} obuf;

static bool ob_grow(obuf *b, size_t n)
{
	if (b->oom || b->over)
		return false;
	if (n > b->max - b->len) {
		b->over = true;
		return false;
	}
	size_t cap = b->cap * 2;
	while (cap < b->len + n + 1)
		cap *= 2;
	char *np = b->heap ? realloc(b->p, cap) : malloc(cap);
	if (!np) {
		b->oom = true;
		return false;
	}
	if (!b->heap)
		memcpy(np, b->p, b->len);
	b->p = np;
	b->cap = cap;
	b->heap = true;
	return true;
}

static inline void ob_put(obuf *b, const char *s, size_t n)
{
	if ((b->len + n + 1 > b->cap || n > b->max - b->len) && !ob_grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* The one HTML escaper of the library and its frontends (bl_html_escape):
 * & < > " ' escaped, runs of other bytes handed to put() at once. */
static inline void html_escape_to(const char *s, size_t n, void (*put)(void *, const char *, size_t), void *dst)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		put(dst, s + run, i - run);
		put(dst, rep, strlen(rep));
		run = i + 1;
	}
	put(dst, s + run, n - run);
}

static void ob_put_cb(void *b, const char *s, size_t n) { ob_put(b, s, n); }

static void ob_put_html(obuf *b, const char *s, size_t n)
{
	html_escape_to(s, n, ob_put_cb, b);
}

static void sb_put_cb(void *b, const char *s, size_t n) { bl__sb_append(b, s, n); }

int bl_html_escape(const char *text, char **out)
{
	if (!text || !out)
		return bl__fail(BL_EINVAL, "bl_html_escape: NULL argument");
	bl_strbuf sb = { 0 };
	html_escape_to(text, strlen(text), sb_put_cb, &sb);
	*out = bl__sb_steal(&sb);
	return *out ? BL_OK : bl__fail(BL_ENOMEM, "out of memory");
}

/* Subject: control characters (CR, LF, ...) become spaces: no header injection. */
static void ob_put_subject(obuf *b, const char *s, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != 0x7F)
			continue;
		ob_put(b, s + run, i - run);
		ob_put(b, " ", 1);
		run = i + 1;
	}
	ob_put(b, s + run, n - run);
}

/* ---- value formatting ---- */

/* 79700 → "79,700"; buf ≥ 32 bytes; returns the length. */
static size_t fmt_grouped(char *buf, int64_t v)
{
	char tmp[32];
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, digits = 0;
	do {
		if (digits && digits % 3 == 0)
			tmp[n++] = ',';
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
		digits++;
	} while (u);
	size_t k = 0;
	if (v < 0)
		buf[k++] = '-';
	while (n)
		buf[k++] = tmp[--n];
	buf[k] = '\0';
	return k;
}

/* An integer from a JSON integer, an integral real or a string of digits. */
static bool as_i64(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d >= -9e15 && d <= 9e15 && d == (double)(int64_t)d) {
			*out = (int64_t)d;
			return true;
		}
		return false;
	}
	if (json_is_string(v))
		return bl__parse_i64(json_string_value(v), INT64_MIN, INT64_MAX, out) == BL_OK;
	return false;
}

/* A decimal as the shortest text that reads back as the same double (as
 * JavaScript, Python and Ruby print it: 1.21 → "1.21", 2500.0 → "2500"). */
static size_t fmt_real(char *buf, size_t cap, double d)
{
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, cap, "%.*g", prec, d);
		if (n > 0 && (size_t)n < cap && strtod(buf, NULL) == d)
			break;
	}
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Plain text of a scalar ("" for null, lists and objects). */
static const char *scalar_text(json_t *v, char *buf, size_t cap, size_t *n)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		*n = json_string_length(v);
		return json_string_value(v);
	case JSON_INTEGER:
		*n = (size_t)snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	case JSON_REAL:
		*n = fmt_real(buf, cap, json_real_value(v));
		return buf;
	case JSON_TRUE:
		*n = 4;
		return "true";
	case JSON_FALSE:
		*n = 5;
		return "false";
	default:
		*n = 0;
		return "";
	}
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

/* "YYYY-MM" (want_day false) or "YYYY-MM-DD", optionally followed by a time. */
static bool parse_ymd(const char *s, size_t n, bool want_day, int *y, int *m, int *d)
{
	if (n < 7 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2))
		return false;
	*y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	*m = (s[5] - '0') * 10 + (s[6] - '0');
	*d = 0;
	if (*y < 1 || *m < 1 || *m > 12)
		return false;
	if (n == 7)
		return !want_day;
	if (n < 10 || s[7] != '-' || !digits(s + 8, 2) || (n > 10 && s[10] != ' ' && s[10] != 'T'))
		return false;
	*d = (s[8] - '0') * 10 + (s[9] - '0');
	return *d >= 1 && *d <= days_in_month(*y, *m);
}

static int weekday(int y, int m, int d) /* 0 = Sunday (Sakamoto) */
{
	static const int t[] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };
	if (m < 3)
		y--;
	return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

#define DATE_DEFAULT "%Y년 %-m월 %-d일"
#define MONTH_DEFAULT "%Y년 %-m월"

/* The date format language; the format was checked by the compiler.
 * buf ≥ 640 bytes (a format is at most 64 bytes, a conversion ≤ 9). */
static size_t fmt_date(char *buf, const char *f, size_t fl, int y, int m, int d)
{
	static const char *const wd[] = { "일", "월", "화", "수", "목", "금", "토" };
	size_t k = 0;
	for (size_t i = 0; i < fl; i++) {
		if (f[i] != '%' || i + 1 >= fl) {
			buf[k++] = f[i];
			continue;
		}
		char c = f[++i];
		bool pad = true;
		if (c == '-' && i + 1 < fl) {
			pad = false;
			c = f[++i];
		}
		switch (c) {
		case 'Y': k += (size_t)sprintf(buf + k, "%04d", y); break;
		case 'y': k += (size_t)sprintf(buf + k, "%02d", y % 100); break;
		case 'm': k += (size_t)sprintf(buf + k, pad ? "%02d" : "%d", m); break;
		case 'd': k += (size_t)sprintf(buf + k, pad ? "%02d" : "%d", d); break;
		case 'a': k += (size_t)sprintf(buf + k, "%s", wd[weekday(y, m, d)]); break;
		case 'A': k += (size_t)sprintf(buf + k, "%s요일", wd[weekday(y, m, d)]); break;
		default: buf[k++] = c; break; /* %% */
		}
	}
	buf[k] = '\0';
	return k;
}

static bool name_has(const tpl_node *nd, const char *word)
{
	size_t wl = strlen(word);
	for (size_t i = 0; i + wl <= nd->len; i++)
		if (!strncasecmp(nd->s + i, word, wl))
			return true;
	return false;
}

/* A value bl_pii_mask made (010-****-5678, k***@example.com), e.g. in a
 * preview's model: it shows no more than itself. */
static bool already_masked(const char *s)
{
	size_t n = strlen(s);
	if (n >= 11 && n <= 14 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
	    isdigit((unsigned char)s[2]) && s[3] == '-' && s[n - 5] == '-') {
		for (size_t i = 4; i < n - 5; i++)
			if (s[i] != '*')
				return false;
		for (size_t i = n - 4; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				return false;
		return true;
	}
	return n >= 7 && s[0] != '@' && s[0] != '*' && !strncmp(s + 1, "***@", 4) && !strchr(s + 5, '@') &&
	       !strchr(s + 5, '*');
}

/* |mask: phone or e-mail by the variable's name, else by the value's shape.
 * A value that is neither is masked entirely: never shown in clear. */
static char *mask_value(const tpl_node *nd, const char *s)
{
	if (already_masked(s))
		return bl__strdup(s);
	bl_pii_kind kind;
	if (name_has(nd, "mail"))
		kind = BL_PII_EMAIL;
	else if (name_has(nd, "phone") || name_has(nd, "mobile") || name_has(nd, "tel"))
		kind = BL_PII_PHONE;
	else
		kind = strchr(s, '@') ? BL_PII_EMAIL : BL_PII_PHONE;
	char *out = NULL;
	if (bl_pii_mask(kind, s, &out) == BL_OK)
		return out;
	kind = kind == BL_PII_EMAIL ? BL_PII_PHONE : BL_PII_EMAIL;
	if (bl_pii_mask(kind, s, &out) == BL_OK)
		return out;
	return bl__strdup(*s ? "****" : "");
}

/* ---- the walk ---- */

/* The context stack holds the model and every value a section pushed
 * (objects, list items of any type, scalars): names resolve from the top
 * down in the objects among them; `.` is the top. */
typedef struct {
	const tpl_prog *p;
	tpl_mode mode;
	obuf *out;
	json_t *scopes[TPL_MAX_DEPTH + 2];
	int nscopes;
	json_t *open[TPL_MAX_DEPTH + 2]; /* lists being iterated */
	int nopen;
	uint64_t steps, max_steps;
	const tpl_node *stop; /* the node where the render stopped (limit, nested list) */
	const char *why;
} rctx;

/* Count one step; false (and the render stops) past the limit. */
static bool step(rctx *r, const tpl_node *nd)
{
	if (r->stop || r->out->over || r->out->oom)
		return false;
	if (++r->steps > r->max_steps) {
		r->stop = nd;
		r->why = "steps";
		return false;
	}
	return true;
}

/* Mustache's name resolution: `.` is the top of the context stack; the
 * first word of a name is looked up from the top down, and the following
 * words only inside what it found (a broken chain is missing: no fallback
 * to outer contexts). */
static json_t *lookup(const rctx *r, const tpl_node *nd)
{
	if (nd->len == 1 && nd->s[0] == '.')
		return r->nscopes ? r->scopes[r->nscopes - 1] : NULL;
	const char *name = nd->s, *end = nd->s + nd->len;
	const char *dot = memchr(name, '.', nd->len);
	size_t wl = dot ? (size_t)(dot - name) : nd->len;
	json_t *v = NULL;
	for (int i = r->nscopes - 1; i >= 0 && !v; i--)
		if (json_is_object(r->scopes[i]))
			v = json_object_getn(r->scopes[i], name, wl);
	while (v && dot) {
		name = dot + 1;
		dot = memchr(name, '.', (size_t)(end - name));
		wl = dot ? (size_t)(dot - name) : (size_t)(end - name);
		v = json_is_object(v) ? json_object_getn(v, name, wl) : NULL;
	}
	return v;
}

static bool truthy(json_t *v)
{
	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_TRUE: return true;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0.0;
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_OBJECT: return json_object_size(v) > 0;
	default: return false; /* null, false */
	}
}

static void put_value(rctx *r, const char *s, size_t n, bool raw)
{
	switch (r->mode) {
	case TM_HTML:
		if (raw)
			ob_put(r->out, s, n);
		else
			ob_put_html(r->out, s, n);
		break;
	case TM_SUBJECT:
		ob_put_subject(r->out, s, n);
		break;
	case TM_TEXT:
		ob_put(r->out, s, n);
		break;
	}
}

static void emit_var(rctx *r, const tpl_node *nd, json_t *v)
{
	if (!v || json_is_null(v) || json_is_array(v) || json_is_object(v))
		return;
	char buf[640];
	size_t n = 0;
	const char *s = NULL;
	int64_t i;
	int y, m, d;
	switch ((tpl_filter)nd->filter) {
	case TF_WON:
	case TF_NUMBER:
		if (as_i64(v, &i)) {
			n = fmt_grouped(buf, i);
			if (nd->filter == TF_WON) {
				memcpy(buf + n, "원", sizeof "원");
				n += sizeof "원" - 1;
			}
			s = buf;
		}
		break;
	case TF_DATE:
		if (json_is_string(v) &&
		    parse_ymd(json_string_value(v), json_string_length(v), true, &y, &m, &d)) {
			n = nd->arg ? fmt_date(buf, nd->arg, nd->arg_len, y, m, d)
				    : fmt_date(buf, DATE_DEFAULT, sizeof DATE_DEFAULT - 1, y, m, d);
			s = buf;
		}
		break;
	case TF_MONTH:
		if (json_is_string(v) &&
		    (parse_ymd(json_string_value(v), json_string_length(v), false, &y, &m, &d) ||
		     parse_ymd(json_string_value(v), json_string_length(v), true, &y, &m, &d))) {
			n = fmt_date(buf, MONTH_DEFAULT, sizeof MONTH_DEFAULT - 1, y, m, 1);
			s = buf;
		}
		break;
	case TF_MASK: {
		size_t tn;
		char tb[64];
		const char *t = scalar_text(v, tb, sizeof tb, &tn);
		char *masked = mask_value(nd, t);
		if (!masked) {
			r->out->oom = true;
			return;
		}
		put_value(r, masked, strlen(masked), nd->raw);
		free(masked);
		return;
	}
	case TF_NONE:
		break;
	}
	if (!s) /* no filter, or a value the filter cannot read: as it is */
		s = scalar_text(v, buf, sizeof buf, &n);
	put_value(r, s, n, nd->raw);
}

static void render_range(rctx *r, size_t i, size_t end)
{
	const tpl_node *nodes = r->p->nodes;
	while (i < end && step(r, &nodes[i])) {
		const tpl_node *nd = &nodes[i];
		switch ((tpl_node_type)nd->type) {
		case TN_TEXT:
			ob_put(r->out, nd->s, nd->len);
			i++;
			break;
		case TN_VAR:
			emit_var(r, nd, lookup(r, nd));
			i++;
			break;
		case TN_SECTION: {
			json_t *v = lookup(r, nd), *it;
			size_t k;
			if (json_is_array(v)) {
				for (int o = 0; o < r->nopen; o++)
					if (r->open[o] == v) { /* {{#items}}…{{#items}}: a square at every level */
						r->stop = nd;
						r->why = "nested";
						return;
					}
				r->open[r->nopen++] = v;
				json_array_foreach(v, k, it) {
					if (!step(r, nd))
						break;
					r->scopes[r->nscopes++] = it;
					render_range(r, i + 1, nd->end);
					r->nscopes--;
				}
				r->nopen--;
			} else if (truthy(v)) {
				r->scopes[r->nscopes++] = v;
				render_range(r, i + 1, nd->end);
				r->nscopes--;
			}
			i = (size_t)nd->end + 1;
			break;
		}
		case TN_INVERTED:
			if (!truthy(lookup(r, nd)))
				render_range(r, i + 1, nd->end);
			i = (size_t)nd->end + 1;
			break;
		case TN_END:
			i++;
			break;
		}
	}
}

void bl__tpl_limits_get(const bl_config *cfg, bl__tpl_limits *lim)
{
	lim->max_steps = BL__TPL_MAX_STEPS;
	lim->max_output = BL__TPL_MAX_OUTPUT;
	if (cfg) {
		lim->max_steps = (uint64_t)bl__config_int(cfg, "BILLING_TEMPLATE_MAX_STEPS");
		lim->max_output = (size_t)bl__config_int(cfg, "BILLING_TEMPLATE_MAX_OUTPUT");
	}
}

static int render_stopped(const rctx *r, const obuf *b)
{
	char n[32];
	if (b->oom)
		return bl__fail(BL_ENOMEM, "out of memory rendering a template");
	if (b->over) {
		fmt_grouped(n, (int64_t)b->max);
		return bl__fail(BL_EINVAL, "template output is over %s bytes "
					   "(BILLING_TEMPLATE_MAX_OUTPUT): check the lists and sections", n);
	}
	unsigned line = 1, col = 1;
	bl__tpl_pos(r->p->src, r->stop->off, &line, &col);
	if (!strcmp(r->why, "nested"))
		return bl__fail(BL_EINVAL, "template line %u:%u: section {{#%.*s}} opens a list that is "
					   "already open (a list cannot be iterated inside itself)",
				line, col, (int)r->stop->len, r->stop->s);
	fmt_grouped(n, (int64_t)r->max_steps);
	return bl__fail(BL_EINVAL, "template line %u:%u: rendering takes over %s steps "
				   "(BILLING_TEMPLATE_MAX_STEPS): too many list items or nested sections",
			line, col, n);
}

int bl__prog_render(const tpl_prog *p, json_t *model, tpl_mode mode, const bl__tpl_limits *lim,
		    char **out, size_t *len)
{
	bl__tpl_limits def;
	if (!lim) {
		bl__tpl_limits_get(NULL, &def);
		lim = &def;
	}
	char stack[4096];
	obuf b = { .p = stack, .cap = sizeof stack, .max = lim->max_output };
	rctx r = { .p = p, .mode = mode, .out = &b, .max_steps = lim->max_steps };
	if (model)
		r.scopes[r.nscopes++] = model;
	render_range(&r, 0, p->n);
	if (b.oom || b.over || r.stop) {
		if (b.heap)
			free(b.p);
		return render_stopped(&r, &b);
	}
	char *res = NULL;
	if (b.heap) {
		res = b.p;
	} else if ((res = malloc(b.len + 1))) {
		memcpy(res, b.p, b.len);
	}
	if (!res)
		return bl__fail(BL_ENOMEM, "out of memory rendering a template");
	res[b.len] = '\0';
	*out = res;
	if (len)
		*len = b.len;
	return BL_OK;
}

/* ---- bl__tpl ---- */

void bl__rendered_free(bl__rendered *r)
{
	if (!r)
		return;
	free(r->subject);
	free(r->html);
	free(r->text);
	r->subject = r->html = r->text = NULL;
}

int bl__tpl_render(const bl__tpl *t, json_t *model, const bl__tpl_limits *lim, bl__rendered *out)
{
	if (!t || !out)
		return bl__fail(BL_EINVAL, "bl__tpl_render: NULL argument");
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < t->nrequired; i++) {
		json_t *v = json_object_get(model, t->required[i]);
		if (!v || json_is_null(v))
			return bl__fail(BL_EINVAL, "template '%s' v%d: required variable {{%s}} is missing",
					t->code, t->version, t->required[i]);
	}
	int rc = BL_OK;
	size_t tl = 0, hl = 0;
	if (t->channel == BL_CHANNEL_EMAIL) {
		if (t->subject)
			rc = bl__prog_render(t->subject, model, TM_SUBJECT, lim, &out->subject, NULL);
		if (rc == BL_OK && t->html)
			rc = bl__prog_render(t->html, model, TM_HTML, lim, &out->html, &hl);
		if (rc == BL_OK)
			rc = bl__prog_render(t->text, model, TM_TEXT, lim, &out->text, &tl);
		out->kind = BL_KIND_EMAIL;
		out->bytes = tl + hl;
	} else {
		size_t bytes = 0;
		rc = bl__prog_render(t->text, model, TM_TEXT, lim, &out->text, &tl);
		if (rc == BL_OK)
			rc = bl_sms_bytes(out->text, &bytes);
		if (rc == BL_OK && bytes == 0)
			rc = bl__fail(BL_EINVAL, "template '%s' v%d: the rendered SMS is empty", t->code,
				      t->version);
		if (rc == BL_OK && bytes > BL_LMS_MAX_BYTES) {
			char a[32], b[32];
			fmt_grouped(a, (int64_t)bytes);
			fmt_grouped(b, BL_LMS_MAX_BYTES);
			rc = bl__fail(BL_EINVAL, "template '%s' v%d: rendered SMS is %s bytes; LMS allows %s",
				      t->code, t->version, a, b);
		}
		out->kind = bytes <= BL_SMS_MAX_BYTES ? BL_KIND_SMS : BL_KIND_LMS;
		out->bytes = bytes;
	}
	if (rc)
		bl__rendered_free(out);
	return rc;
}

/* ---- the pure public renderer ---- */

static int render_src(const char *fn, const char *src, const char *data_json, bool html,
		      const bl__tpl_limits *lim, char **out)
{
	if (!src || !out)
		return bl__fail(BL_EINVAL, "%s: NULL argument", fn);
	json_t *data = NULL;
	if (data_json && *data_json) {
		json_error_t err;
		data = json_loads(data_json, 0, &err);
		if (!data)
			return bl__fail(BL_EINVAL, "data_json: not valid JSON at line %d, column %d: %s",
					err.line, err.column, err.text);
		if (!json_is_object(data)) {
			json_decref(data);
			return bl__fail(BL_EINVAL, "data_json: expected a JSON object of variables");
		}
	}
	tpl_prog *p = NULL;
	int rc = bl__prog_compile(src, NULL, html ? "html" : "text", &p);
	if (rc == BL_OK)
		rc = bl__prog_render(p, data, html ? TM_HTML : TM_TEXT, lim, out, NULL);
	bl__prog_free(p);
	json_decref(data);
	return rc;
}

int bl_template_render(const char *src, const char *data_json, bool html, char **out)
{
	return render_src("bl_template_render", src, data_json, html, NULL, out);
}

int bl_template_draft_render(bl_ctx *ctx, const char *src, const char *data_json, bool html,
			     char **out)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_template_draft_render: NULL argument");
	bl__tpl_limits lim;
	bl__tpl_limits_get(ctx->cfg, &lim);
	return render_src("bl_template_draft_render", src, data_json, html, &lim, out);
}
