/* Compiled templates for the worker and preview (template.c). */
#ifndef BL_TEMPLATE_PRIVATE_H
#define BL_TEMPLATE_PRIVATE_H

#include "db.h"

typedef struct {
	char *subject; /* EMAIL */
	char *html;    /* EMAIL */
	char *text;
	bl_message_kind kind;
	size_t bytes; /* SMS/LMS: EUC-KR bytes of text; EMAIL: bytes of text + html */
} bl__rendered;

BL_PRIVATE void bl__rendered_free(bl__rendered *r);

/* What one render may cost: steps (text pieces, tags and list items
 * visited) and output bytes of one part.  BILLING_TEMPLATE_MAX_STEPS and
 * BILLING_TEMPLATE_MAX_OUTPUT; the defaults when there is no configuration. */
typedef struct {
	uint64_t max_steps;
	size_t max_output;
} bl__tpl_limits;
#define BL__TPL_MAX_STEPS 1000000u
#define BL__TPL_MAX_OUTPUT (1u << 20)
/* A template code is 1-64 of A-Z, 0-9, _; bl__tpl_bad_code fails naming it. */
BL_PRIVATE bool bl__tpl_valid_code(const char *code);
BL_PRIVATE int bl__tpl_bad_code(const char *code);
BL_PRIVATE void bl__tpl_limits_get(const bl_config *cfg, bl__tpl_limits *lim);

/* A stored template version, parsed once (immutable: cache it by id). */
typedef struct bl__tpl bl__tpl;
BL_PRIVATE int bl__tpl_load(MYSQL *db, int64_t template_id, bl__tpl **out);
BL_PRIVATE bl_channel bl__tpl_channel(const bl__tpl *t);
BL_PRIVATE bl_purpose bl__tpl_purpose(const bl__tpl *t);
/* Render with a data model (model.c's JSON shape).  An SMS over
 * BL_LMS_MAX_BYTES is BL_EINVAL. */
BL_PRIVATE int bl__tpl_render(const bl__tpl *t, json_t *model, const bl__tpl_limits *lim,
			      bl__rendered *out);
BL_PRIVATE void bl__tpl_free(bl__tpl *t);
/* The example data of a preview (template_preview.c; bl_template_sample). */
BL_PRIVATE json_t *bl__tpl_sample(bl_purpose purpose, const char *variables_json);
/* Id of the latest enabled version of `code` (BL_ENOTFOUND / BL_ECONFLICT if disabled). */
BL_PRIVATE int bl__tpl_latest_id(MYSQL *db, const char *code, int64_t *id);

#endif
