/*
 * Message templates: the validator.  A template is checked against its
 * purpose's data model plus the variables it declares (variables_json):
 * every variable known, every filter applied to a value of its type,
 * sections over lists and flags, SMS text sendable.  Errors name the part,
 * line and column (docs/templates.md).
 */
#include <ctype.h>
#include <strings.h>
#include "template_impl.h"

static bool name_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool name_char(char c) { return isalnum((unsigned char)c) || c == '_'; }
static bool present(const char *s) { return s && *s; }

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* ---- the data models ---- */

static const tpl_field line_fields[] = {
	{ "serviceName", VT_STRING, NULL }, { "serviceType", VT_STRING, NULL },
	{ "price", VT_MONEY, NULL },        { "discount", VT_MONEY, NULL },
	{ "net", VT_MONEY, NULL },          { NULL, 0, NULL },
};

static const tpl_field billing_fields[] = {
	{ "userName", VT_STRING, NULL },      { "phone", VT_STRING, NULL },
	{ "email", VT_STRING, NULL },         { "targetMonth", VT_MONTH, NULL },
	{ "statementId", VT_NUMBER, NULL },   { "usageAmount", VT_MONEY, NULL },
	{ "discountAmount", VT_MONEY, NULL }, { "totalDiscount", VT_MONEY, NULL },
	{ "vatAmount", VT_MONEY, NULL },      { "billedAmount", VT_MONEY, NULL },
	{ "totalPrice", VT_MONEY, NULL },     { "truncatedAmount", VT_MONEY, NULL },
	{ "dueDate", VT_DATE, NULL },         { "lines", VT_LIST, line_fields },
	{ "services", VT_LIST, line_fields }, { NULL, 0, NULL },
};

static const tpl_field notice_fields[] = {
	{ "userName", VT_STRING, NULL },
	{ "phone", VT_STRING, NULL },
	{ "email", VT_STRING, NULL },
	{ NULL, 0, NULL },
};

const tpl_field *bl__tpl_model_fields(bl_purpose purpose)
{
	return purpose == BL_PURPOSE_NOTICE ? notice_fields : billing_fields;
}

static const char *const vtype_names[] = { "?",    "string", "number",  "money", "date",
					   "month", "list",   "boolean", "object" };

const char *bl__tpl_vtype_name(tpl_vtype t)
{
	return (unsigned)t < sizeof vtype_names / sizeof vtype_names[0] ? vtype_names[t] : "?";
}

static const tpl_field *fields_find(const tpl_field *f, const char *name, size_t len)
{
	for (; f && f->name; f++)
		if (strlen(f->name) == len && !memcmp(f->name, name, len))
			return f;
	return NULL;
}

/* ---- variables_json ---- */

struct tpl_decl {
	tpl_field *top;
	bool *required;
	size_t n;
	void **allocs;
	size_t nallocs, capallocs;
};

static void *decl_alloc(tpl_decl *d, size_t size)
{
	if (d->nallocs == d->capallocs) {
		size_t cap = d->capallocs ? d->capallocs * 2 : 8;
		void **nv = realloc(d->allocs, cap * sizeof *nv);
		if (!nv)
			return NULL;
		d->allocs = nv;
		d->capallocs = cap;
	}
	void *p = calloc(1, size ? size : 1);
	if (p)
		d->allocs[d->nallocs++] = p;
	return p;
}

void bl__tpl_decl_free(tpl_decl *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nallocs; i++)
		free(d->allocs[i]);
	free(d->allocs);
	free(d);
}

static int decl_fail(const char *code, const char *fmt, ...) BL_PRINTF(2, 3);
static int decl_fail(const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return bl__fail(BL_EINVAL, "template '%s' variables_json: %s", code ? code : "?", msg);
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > TPL_MAX_NAME || !name_start(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

static int parse_fields(tpl_decl *d, json_t *obj, const char *code, const char *path, int level,
			tpl_field **out, bool **req)
{
	if (!json_is_object(obj))
		return decl_fail(code, "%smust be an object of {\"name\": {\"type\": ...}}", path);
	if (level > 4)
		return decl_fail(code, "%slists and objects nested too deep", path);
	size_t n = json_object_size(obj), i = 0;
	tpl_field *f = decl_alloc(d, (n + 1) * sizeof *f);
	bool *r = req ? decl_alloc(d, (n + 1) * sizeof *r) : NULL;
	if (!f || (req && !r))
		return bl__fail(BL_ENOMEM, "out of memory");
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		if (!valid_name(key))
			return decl_fail(code, "%s'%.64s': a variable name is letters, digits and _ "
					       "(at most %d)", path, key, TPL_MAX_NAME);
		if (!json_is_object(v))
			return decl_fail(code, "%s'%s': expected {\"type\": ..., \"required\": ...}", path,
					 key);
		const char *k2;
		json_t *v2;
		json_object_foreach(v, k2, v2) {
			if (strcmp(k2, "type") && strcmp(k2, "required") && strcmp(k2, "items") &&
			    strcmp(k2, "fields") && strcmp(k2, "description") && strcmp(k2, "example"))
				return decl_fail(code, "%s'%s': unknown key '%.40s' (type, required, items, "
						       "fields, description, example)", path, key, k2);
		}
		const char *ts = json_string_value(json_object_get(v, "type"));
		tpl_vtype t = 0;
		for (unsigned j = 1; ts && j < sizeof vtype_names / sizeof vtype_names[0]; j++)
			if (!strcmp(ts, vtype_names[j]))
				t = (tpl_vtype)j;
		if (ts && !strcmp(ts, "bool"))
			t = VT_BOOL;
		if (!t)
			return decl_fail(code, "%s'%s': type %s%.30s%s is not one of string, number, money, "
					       "date, month, list, boolean, object", path, key, ts ? "'" : "",
					 ts ? ts : "missing", ts ? "'" : "");
		json_t *rq = json_object_get(v, "required");
		if (rq && !json_is_boolean(rq))
			return decl_fail(code, "%s'%s': \"required\" must be true or false", path, key);
		json_t *items = json_object_get(v, "items"), *fields = json_object_get(v, "fields");
		if (items && t != VT_LIST)
			return decl_fail(code, "%s'%s': \"items\" is only for lists", path, key);
		if (fields && t != VT_OBJECT)
			return decl_fail(code, "%s'%s': \"fields\" is only for objects", path, key);
		if (fields)
			items = fields;
		char *name = decl_alloc(d, strlen(key) + 1);
		if (!name)
			return bl__fail(BL_ENOMEM, "out of memory");
		strcpy(name, key);
		f[i].name = name;
		f[i].type = t;
		if (items) {
			char sub[160];
			snprintf(sub, sizeof sub, "%s'%s' %s: ", path, key, fields ? "fields" : "items");
			tpl_field *itf;
			int rc = parse_fields(d, items, code, sub, level + 1, &itf, NULL);
			if (rc)
				return rc;
			f[i].items = itf;
		}
		if (r)
			r[i] = json_is_true(rq);
		i++;
	}
	*out = f;
	if (req)
		*req = r;
	return BL_OK;
}

int bl__tpl_decl_parse(const char *json, const char *code, tpl_decl **out)
{
	*out = NULL;
	if (!json || !*json)
		return BL_OK;
	json_error_t err;
	json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &err);
	if (!root)
		return decl_fail(code, "not valid JSON at line %d, column %d: %s", err.line, err.column,
				 err.text);
	tpl_decl *d = calloc(1, sizeof *d);
	if (!d) {
		json_decref(root);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	int rc = parse_fields(d, root, code, "", 0, &d->top, &d->required);
	d->n = json_object_size(root);
	json_decref(root);
	if (rc) {
		bl__tpl_decl_free(d);
		return rc;
	}
	*out = d;
	return BL_OK;
}

const tpl_field *bl__tpl_decl_fields(const tpl_decl *d) { return d ? d->top : NULL; }
bool bl__tpl_decl_required(const tpl_decl *d, size_t i) { return d && i < d->n && d->required[i]; }

/* Declared variables may repeat model keys (to mark them required) but not
 * change their type. */
static int decl_check_model(const tpl_decl *d, bl_purpose purpose, const char *code)
{
	const tpl_field *model = bl__tpl_model_fields(purpose);
	for (const tpl_field *f = bl__tpl_decl_fields(d); f && f->name; f++) {
		const tpl_field *m = fields_find(model, f->name, strlen(f->name));
		if (m && m->type != f->type)
			return decl_fail(code, "'%s' is a %s in the %s data model, declared %s", f->name,
					 bl__tpl_vtype_name(m->type),
					 purpose == BL_PURPOSE_NOTICE ? "NOTICE" : "BILLING",
					 bl__tpl_vtype_name(f->type));
	}
	return BL_OK;
}

/* ---- the validator ---- */

/* What a name (or `.`) stands for: its field (NULL: the whole model). */
typedef struct {
	const tpl_field *f;
	bool item; /* `.` inside {{#list}}: one item of f (an object of f->items) */
} tpl_val;

typedef struct {
	const char *code, *part;
	const tpl_prog *p;
	const tpl_field *scopes[TPL_MAX_DEPTH + 2]; /* per scope: the names it adds, or NULL */
	const tpl_field *lists[TPL_MAX_DEPTH + 2]; /* per scope: the list it iterates, or NULL */
	tpl_val self[TPL_MAX_DEPTH + 2];           /* per scope: what `.` is */
	int nscopes;
	bool sms;
	bl__cp949 *cp;
} checker;

static const tpl_field *C_find(const checker *C, const char *name, size_t len)
{
	for (int i = C->nscopes - 1; i >= 0; i--) {
		const tpl_field *f = fields_find(C->scopes[i], name, len);
		if (f)
			return f;
	}
	return NULL;
}

static size_t lev(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[TPL_MAX_NAME + 2];
	if (la > TPL_MAX_NAME || lb > TPL_MAX_NAME)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t best = prev + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* The nearest name of `fields`, for "did you mean" (*bd: the best distance so far). */
static const char *suggest_in(const tpl_field *fields, const char *name, size_t len,
			      const char *best, size_t *bd)
{
	size_t limit = len / 3 + 1 < 3 ? len / 3 + 1 : 3;
	for (const tpl_field *f = fields; f && f->name; f++) {
		size_t fl = strlen(f->name), d = lev(name, len, f->name, fl);
		if (len >= 3 && fl > len && !strncasecmp(f->name, name, len) && d > 1)
			d = 1; /* a prefix: {{total}} → totalPrice */
		if (d <= limit && d < *bd) {
			best = f->name;
			*bd = d;
		}
	}
	return best;
}

static const char *C_suggest(const checker *C, const char *name, size_t len)
{
	const char *best = NULL;
	size_t bd = SIZE_MAX;
	for (int i = C->nscopes - 1; i >= 0; i--)
		best = suggest_in(C->scopes[i], name, len, best, &bd);
	return best;
}

static int C_fail(checker *C, size_t off, const char *fmt, ...) BL_PRINTF(3, 4);
static int C_fail(checker *C, size_t off, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return bl__tpl_fail_at(C->code, C->part, C->p->src, off, "%s", msg);
}

/* The first word of nd's name is unknown in every scope (wl: its length). */
static int C_unknown(checker *C, const tpl_node *nd, const char *pre, size_t wl)
{
	const char *sug = C_suggest(C, nd->s, wl);
	return C_fail(C, nd->off, "unknown variable {{%s%.*s}}%s%s%s", pre, (int)nd->len, nd->s,
		      sug ? " (did you mean " : "", sug ? sug : "", sug ? "?)" : "");
}

/* Resolve nd's name as the renderer does: `.` is the current context, the
 * first word of a dotted name is looked up from the innermost scope out,
 * the following words only inside the object found. */
static int C_resolve(checker *C, const tpl_node *nd, const char *pre, tpl_val *out)
{
	int nl = (int)nd->len;
	if (nd->len == 1 && nd->s[0] == '.') {
		*out = C->self[C->nscopes - 1];
		if (!out->f)
			return C_fail(C, nd->off, "{{%s.}} outside a section is the whole data model: name "
						  "a variable",
				      pre);
		return BL_OK;
	}
	const char *w = nd->s, *end = nd->s + nd->len, *dot = memchr(w, '.', nd->len);
	const tpl_field *f = C_find(C, w, dot ? (size_t)(dot - w) : nd->len);
	if (!f)
		return C_unknown(C, nd, pre, dot ? (size_t)(dot - w) : nd->len);
	while (dot) {
		w = dot + 1;
		dot = memchr(w, '.', (size_t)(end - w));
		size_t wl = dot ? (size_t)(dot - w) : (size_t)(end - w);
		if (f->type == VT_LIST)
			return C_fail(C, nd->off, "{{%s%.*s}}: %s is a list and has no field %.*s (iterate "
						  "it with {{#%s}} and write {{%.*s}} inside)",
				      pre, nl, nd->s, f->name, (int)wl, w, f->name, (int)wl, w);
		if (f->type != VT_OBJECT)
			return C_fail(C, nd->off, "{{%s%.*s}}: %s is a %s and has no fields", pre, nl, nd->s,
				      f->name, bl__tpl_vtype_name(f->type));
		const tpl_field *g = fields_find(f->items, w, wl);
		if (!g) {
			size_t bd = SIZE_MAX;
			const char *sug = suggest_in(f->items, w, wl, NULL, &bd);
			return C_fail(C, nd->off, "unknown variable {{%s%.*s}}: %s has no field %.*s%s%s%s",
				      pre, nl, nd->s, f->name, (int)wl, w, sug ? " (did you mean " : "",
				      sug ? sug : "", sug ? "?)" : "");
		}
		f = g;
	}
	out->f = f;
	out->item = false;
	return BL_OK;
}

/* Literal text: valid UTF-8, no {single} braces, and (SMS) sendable. */
static int C_text(checker *C, const tpl_node *nd)
{
	const char *s = nd->s;
	size_t n = nd->len;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = bl__utf8_next((const unsigned char *)s + i, n - i, &cp);
		size_t off = (size_t)(s - C->p->src) + i;
		if (l == 0)
			return C_fail(C, off, "invalid UTF-8");
		if (cp == '{' && (i == 0 || s[i - 1] != '{') && i + 1 < n && name_start(s[i + 1])) {
			size_t j = i + 1;
			while (j < n && name_char(s[j]))
				j++;
			if (j < n && s[j] == '}' && (j + 1 >= n || s[j + 1] != '}') && j - i - 1 <= 64)
				return C_fail(C, off, "single-brace placeholder {%.*s} is not supported: "
						      "write {{%.*s}}",
					      (int)(j - i - 1), s + i + 1, (int)(j - i - 1), s + i + 1);
		}
		if (C->sms && cp >= 0x80 && !bl__cp949_ok(C->cp, s + i, l))
			return C_fail(C, off, "character U+%04X cannot be sent by SMS (not in EUC-KR/CP949)",
				      (unsigned)cp);
		i += l;
	}
	return BL_OK;
}

static bool filter_accepts(tpl_filter f, tpl_vtype t)
{
	switch (f) {
	case TF_NONE: return t != VT_LIST;
	case TF_WON:
	case TF_NUMBER: return t == VT_MONEY || t == VT_NUMBER;
	case TF_MASK: return t == VT_STRING;
	case TF_DATE: return t == VT_DATE;
	case TF_MONTH: return t == VT_MONTH || t == VT_DATE;
	}
	return false;
}

static const char *filter_name(tpl_filter f)
{
	static const char *const names[] = { "", "won", "number", "mask", "date", "month" };
	return f <= TF_MONTH ? names[f] : "?";
}

static const char *filter_wants(tpl_filter f)
{
	switch (f) {
	case TF_WON:
	case TF_NUMBER: return "a money or number";
	case TF_MASK: return "a string (phone or e-mail)";
	case TF_DATE: return "a date (YYYY-MM-DD)";
	case TF_MONTH: return "a month (YYYY-MM) or date";
	default: return "a value";
	}
}

static int C_node(checker *C, const tpl_node *nd)
{
	tpl_val v;
	int rc, nl = (int)nd->len;
	switch ((tpl_node_type)nd->type) {
	case TN_TEXT:
		return C_text(C, nd);
	case TN_VAR:
		if ((rc = C_resolve(C, nd, "", &v)))
			return rc;
		if (v.item)
			return C_fail(C, nd->off, "{{.}} inside {{#%s}} is one item, an object: name one of "
						  "its fields",
				      v.f->name);
		if (v.f->type == VT_LIST)
			return C_fail(C, nd->off, "{{%.*s}} is a list: iterate it with {{#%.*s}}…{{/%.*s}}",
				      nl, nd->s, nl, nd->s, nl, nd->s);
		if (v.f->type == VT_OBJECT)
			return C_fail(C, nd->off, "{{%.*s}} is an object: name one of its fields "
						  "({{%.*s.field}}) or open it with {{#%.*s}}",
				      nl, nd->s, nl, nd->s, nl, nd->s);
		if (!filter_accepts((tpl_filter)nd->filter, v.f->type))
			return C_fail(C, nd->off, "filter '%s' does not apply to {{%.*s}} (a %s): it takes %s",
				      filter_name((tpl_filter)nd->filter), nl, nd->s,
				      bl__tpl_vtype_name(v.f->type), filter_wants((tpl_filter)nd->filter));
		return BL_OK;
	case TN_SECTION:
	case TN_INVERTED: {
		bool sec = nd->type == TN_SECTION;
		if ((rc = C_resolve(C, nd, sec ? "#" : "^", &v)))
			return rc;
		tpl_vtype t = v.item ? VT_OBJECT : v.f->type;
		if (sec && (t == VT_MONEY || t == VT_NUMBER))
			return C_fail(C, nd->off, "section {{#%.*s}} over a %s variable: sections take a list, "
						  "a boolean or a string (test for zero with {{^%.*s}})",
				      nl, nd->s, bl__tpl_vtype_name(t), nl, nd->s);
		bool list = sec && t == VT_LIST;
		if (list)
			for (int i = 0; i < C->nscopes; i++)
				if (C->lists[i] == v.f)
					return C_fail(C, nd->off, "section {{#%.*s}} is inside {{#%s}} already: a "
								  "list cannot be iterated inside itself",
						      nl, nd->s, v.f->name);
		int k = C->nscopes++;
		C->lists[k] = list ? v.f : NULL;
		/* what the section pushes: a list's items, an object's fields, a scalar */
		C->scopes[k] = sec && (list || t == VT_OBJECT) ? v.f->items : NULL;
		C->self[k] = !sec ? C->self[k - 1] : (tpl_val){ v.f, list || v.item };
		return BL_OK;
	}
	case TN_END:
		C->nscopes--;
		return BL_OK;
	}
	return BL_OK;
}

static int check_part(const char *code, const char *part, const tpl_prog *p, bl_purpose purpose,
		      const tpl_decl *d, bool sms)
{
	checker C = { .code = code, .part = part, .p = p, .sms = sms };
	/* searched from the top: the model's entries (and their list items) win */
	C.scopes[C.nscopes++] = bl__tpl_decl_fields(d);
	C.scopes[C.nscopes++] = bl__tpl_model_fields(purpose);
	if (sms)
		C.cp = bl__cp949_open();
	int rc = BL_OK;
	for (size_t i = 0; rc == BL_OK && i < p->n; i++)
		rc = C_node(&C, &p->nodes[i]);
	bl__cp949_close(C.cp);
	if (rc == BL_OK && sms) {
		/* the fixed text alone must fit an LMS */
		size_t bytes = 0, total = 0;
		for (size_t i = 0; i < p->n; i++) {
			const tpl_node *nd = &p->nodes[i];
			if (nd->type != TN_TEXT)
				continue;
			_cleanup_free_ char *t = malloc(nd->len + 1);
			if (!t)
				return bl__fail(BL_ENOMEM, "out of memory");
			memcpy(t, nd->s, nd->len);
			t[nd->len] = '\0';
			if ((rc = bl_sms_bytes(t, &bytes)))
				return rc;
			total += bytes;
		}
		if (total > BL_LMS_MAX_BYTES)
			return bl__tpl_fail_at(code, part, p->src, 0,
					       "the fixed text alone is %zu bytes; LMS allows %d", total,
					       BL_LMS_MAX_BYTES);
	}
	return rc;
}

/* ---- the whole template ---- */

/* 정보통신망법 §50: an advertisement says "(광고)" first (the e-mail's
 * subject, the SMS text) and tells in its body how to opt out. */
#define AD_MARK "(광고)"

static bool tells_opt_out(const char *s)
{
	return s && (strstr(s, "수신거부") || strstr(s, "수신 거부"));
}

static int check_advertising(const bl_template_opts *t)
{
	const char *code = t->code;
	if (t->purpose != BL_PURPOSE_NOTICE)
		return bl__fail(BL_EINVAL, "template '%s': only a NOTICE template can be advertising (a BILLING "
					   "statement is transactional)", code);
	bool sms = t->channel == BL_CHANNEL_SMS;
	const char *part = sms ? "body_text" : "subject", *first = sms ? t->body_text : t->subject;
	if (strncmp(first, AD_MARK, strlen(AD_MARK)))
		return bl__tpl_fail_at(code, part, first, 0, "an advertising template's %s must start with "
				       AD_MARK " (정보통신망법 §50)", sms ? "text" : "subject");
	if (!tells_opt_out(t->body_text))
		return bl__fail(BL_EINVAL, "template '%s' body_text: an advertising template must tell how to opt "
					   "out (수신거부) in its text", code);
	if (!sms && t->body_html && *t->body_html && !tells_opt_out(t->body_html))
		return bl__fail(BL_EINVAL, "template '%s' body_html: an advertising template must tell how to opt "
					   "out (수신거부) in its HTML body", code);
	return BL_OK;
}

static int check_shape(const bl_template_opts *t)
{
	if (!t || t->version < 1 || t->version > BL_TEMPLATE_OPTS_VERSION)
		return bl__fail(BL_EINVAL, "template: bad argument or options version");
	const char *code = t->code;
	size_t cl = code ? strlen(code) : 0;
	if (cl == 0 || cl > 64 || strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != cl)
		return bl__fail(BL_EINVAL, "template code '%.80s': expected 1-64 of A-Z, 0-9, _",
				code ? code : "");
	if (!present(t->name) || utf8_chars(t->name) > 200)
		return bl__fail(BL_EINVAL, "template '%s': name must be 1-200 characters", code);
	if (t->created_by && utf8_chars(t->created_by) > 64)
		return bl__fail(BL_EINVAL, "template '%s': created_by longer than 64 characters", code);
	if (t->channel != BL_CHANNEL_EMAIL && t->channel != BL_CHANNEL_SMS)
		return bl__fail(BL_EINVAL, "template '%s': channel must be EMAIL or SMS", code);
	if (t->purpose != BL_PURPOSE_BILLING && t->purpose != BL_PURPOSE_NOTICE)
		return bl__fail(BL_EINVAL, "template '%s': purpose must be BILLING or NOTICE", code);
	if (!present(t->body_text))
		return bl__fail(BL_EINVAL, "template '%s' body_text: required (%s)", code,
				t->channel == BL_CHANNEL_SMS ? "the SMS text" : "the e-mail's text part");
	if (t->channel == BL_CHANNEL_SMS) {
		if (present(t->subject))
			return bl__fail(BL_EINVAL, "template '%s' subject: an SMS template has no subject",
					code);
		if (present(t->body_html))
			return bl__fail(BL_EINVAL, "template '%s' body_html: an SMS template has no HTML "
						   "body", code);
	} else {
		if (!present(t->subject))
			return bl__fail(BL_EINVAL, "template '%s' subject: required for EMAIL", code);
		if (utf8_chars(t->subject) > 500)
			return bl__fail(BL_EINVAL, "template '%s' subject: longer than 500 characters",
					code);
		const char *nl = strpbrk(t->subject, "\r\n");
		if (nl)
			return bl__tpl_fail_at(code, "subject", t->subject, (size_t)(nl - t->subject),
					       "line break in the subject");
	}
	return t->version >= 3 && t->advertising ? check_advertising(t) : BL_OK;
}

int bl_template_validate(const bl_template_opts *o)
{
	int rc = check_shape(o);
	if (rc)
		return rc;
	tpl_decl *d = NULL;
	if ((rc = bl__tpl_decl_parse(o->variables_json, o->code, &d)) ||
	    (rc = decl_check_model(d, o->purpose, o->code))) {
		bl__tpl_decl_free(d);
		return rc;
	}
	bool sms = o->channel == BL_CHANNEL_SMS;
	const struct {
		const char *name, *src;
	} parts[] = { { "subject", sms ? NULL : o->subject },
		      { "body_html", sms ? NULL : o->body_html },
		      { "body_text", o->body_text } };
	for (size_t i = 0; rc == BL_OK && i < sizeof parts / sizeof parts[0]; i++) {
		if (!present(parts[i].src))
			continue;
		tpl_prog *p = NULL;
		rc = bl__prog_compile(parts[i].src, o->code, parts[i].name, &p);
		if (rc == BL_OK)
			rc = check_part(o->code, parts[i].name, p, o->purpose, d,
					sms && !strcmp(parts[i].name, "body_text"));
		bl__prog_free(p);
	}
	bl__tpl_decl_free(d);
	return rc;
}
