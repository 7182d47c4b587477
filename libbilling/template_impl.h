/*
 * Inside the template engine: compiled programs shared by template.c (the
 * compiler and validator), template_render.c (the renderer and filters) and
 * template_store.c (storage).  See docs/templates.md for the language.
 */
#ifndef BL_TEMPLATE_IMPL_H
#define BL_TEMPLATE_IMPL_H

#include "template_private.h"

#define TPL_MAX_DEPTH 16   /* nested sections */
#define TPL_MAX_NAME 64    /* variable name length (one word of a dotted name) */
#define TPL_MAX_DOTTED 255 /* a whole dotted name a.b.c */
#define TPL_MAX_SOURCE (4u << 20) /* bytes of one part */

typedef enum { TN_TEXT, TN_VAR, TN_SECTION, TN_INVERTED, TN_END } tpl_node_type;
typedef enum { TF_NONE, TF_WON, TF_NUMBER, TF_MASK, TF_DATE, TF_MONTH } tpl_filter;

typedef struct {
	uint8_t type;    /* tpl_node_type */
	uint8_t filter;  /* tpl_filter */
	bool raw;        /* |raw, {{{x}}}, {{& x}}: no HTML escaping */
	uint32_t off;    /* byte offset of the tag in the source (error positions) */
	uint32_t end;    /* TN_SECTION / TN_INVERTED: index of the matching TN_END */
	const char *s;   /* TN_TEXT: the text; else the name, "." or "a.b.c" (not terminated) */
	size_t len;
	const char *arg; /* TF_DATE: the format (into the source), NULL: the default */
	size_t arg_len;
} tpl_node;

typedef struct {
	char *src;      /* own copy of the source; nodes point into it */
	tpl_node *nodes;
	size_t n;
	size_t text_bytes; /* bytes of literal text (sizes the output buffer) */
} tpl_prog;

/* How a rendered value is written. */
typedef enum { TM_TEXT, TM_HTML, TM_SUBJECT } tpl_mode;

/* Value types of the data model and of variables_json. */
typedef enum {
	VT_STRING = 1, VT_NUMBER, VT_MONEY, VT_DATE, VT_MONTH, VT_LIST, VT_BOOL, VT_OBJECT
} tpl_vtype;

/* Compile `src`; errors are "template 'code' part:line:col: ..." (code may
 * be NULL: "template part:line:col: ..."). */
BL_PRIVATE int bl__prog_compile(const char *src, const char *code, const char *part,
				tpl_prog **out);
BL_PRIVATE void bl__prog_free(tpl_prog *p);
/* Render into a malloc'd string (*len: its length) within `lim` (NULL:
 * the defaults).  A render that reaches a limit, or opens a list inside
 * itself, is BL_EINVAL with a message naming it. */
BL_PRIVATE int bl__prog_render(const tpl_prog *p, json_t *model, tpl_mode mode,
			       const bl__tpl_limits *lim, char **out, size_t *len);

/* 1-based line and column (in characters) of byte `off` of `src`. */
BL_PRIVATE void bl__tpl_pos(const char *src, size_t off, unsigned *line, unsigned *col);
/* Record "template 'code' part:line:col: <msg>" and return BL_EINVAL. */
BL_PRIVATE int bl__tpl_fail_at(const char *code, const char *part, const char *src, size_t off,
			       const char *fmt, ...) BL_PRINTF(5, 6);

/* One UTF-8 character at s (n bytes available): its length (1-4) and code
 * point, or 0 when the sequence is invalid (overlong, surrogate, truncated). */
BL_PRIVATE size_t bl__utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* Is the literal character encodable in CP949 (the carriers' EUC-KR)?  Uses
 * iconv; true when iconv has no CP949 converter. */
typedef struct bl__cp949 bl__cp949;
BL_PRIVATE bl__cp949 *bl__cp949_open(void);
BL_PRIVATE bool bl__cp949_ok(bl__cp949 *c, const char *ch, size_t len);
BL_PRIVATE void bl__cp949_close(bl__cp949 *c);

/* Compile every part of `o` (syntax only: bl_template_validate checks the
 * rest).  Used by bl__tpl_load and by tests. */
BL_PRIVATE int bl__tpl_compile(const bl_template_opts *o, bl__tpl **out);

struct bl__tpl {
	int64_t id;
	char *code;
	int version;
	bl_channel channel;
	bl_purpose purpose;
	tpl_prog *subject, *html, *text; /* NULL when the part is absent */
	char **required;                 /* top-level variables declared required */
	size_t nrequired;
};

/* The purpose's model: name → type (lists: their items' fields). */
typedef struct tpl_field {
	const char *name;
	tpl_vtype type;
	const struct tpl_field *items; /* VT_LIST: item fields, VT_OBJECT: its fields;
					  NULL-name terminated */
} tpl_field;

BL_PRIVATE const tpl_field *bl__tpl_model_fields(bl_purpose purpose);
BL_PRIVATE const char *bl__tpl_vtype_name(tpl_vtype t);

/* Parsed variables_json: a flat arena of fields (NULL-name terminated
 * arrays).  *out NULL when json is NULL or "{}". */
typedef struct tpl_decl tpl_decl;
BL_PRIVATE int bl__tpl_decl_parse(const char *json, const char *code, tpl_decl **out);
BL_PRIVATE const tpl_field *bl__tpl_decl_fields(const tpl_decl *d);
BL_PRIVATE bool bl__tpl_decl_required(const tpl_decl *d, size_t i);
BL_PRIVATE void bl__tpl_decl_free(tpl_decl *d);

#endif
