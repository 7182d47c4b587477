/*
 * libbilling — message templates: versioned, validated on save, rendered
 * in Mustache (the spec's core) with filters as an extension (see docs/templates.md).
 */
#ifndef BILLING_TEMPLATE_H
#define BILLING_TEMPLATE_H

#include "common.h"
#include "context.h"
#include "user.h"

BL_BEGIN_DECLS

typedef enum { BL_PURPOSE_BILLING = 1, BL_PURPOSE_NOTICE = 2 } bl_purpose;

/** What a rendered message is: an e-mail, a short SMS (≤ 90 bytes) or an LMS. */
typedef enum { BL_KIND_EMAIL = 1, BL_KIND_SMS = 2, BL_KIND_LMS = 3 } bl_message_kind;

#define BL_SMS_MAX_BYTES 90
#define BL_LMS_MAX_BYTES 2000

typedef struct {
	unsigned version;
	const char *code;           /**< [A-Z0-9_]{1,64} */
	const char *name;
	bl_channel channel;
	bl_purpose purpose;
	const char *subject;        /**< EMAIL only */
	const char *body_html;      /**< EMAIL only */
	const char *body_text;      /**< EMAIL text part, or the SMS text */
	const char *variables_json; /**< {"name":{"type":"string|number|money|date|list","required":bool}} */
	bool enabled;
	const char *created_by;
	/* version 2 */
	bool create_only;           /**< refuse (BL_ECONFLICT) when `code` exists: creating never replaces */
	bool confirmed;             /**< the caller confirmed a change that affects pending work (see save) */
	/* version 3 */
	bool advertising;           /**< an advertising NOTICE (정보통신망법 §50): the subject (e-mail) or the
				         text (SMS) must start with "(광고)" and the body must tell how to opt
				         out ("수신거부"); bl_template_validate enforces it */
} bl_template_opts;

#define BL_TEMPLATE_OPTS_VERSION 3
#define BL_TEMPLATE_OPTS_INIT \
	{ BL_TEMPLATE_OPTS_VERSION, NULL, NULL, BL_CHANNEL_EMAIL, BL_PURPOSE_BILLING, NULL, NULL, NULL, NULL, true, NULL, \
	  false, false, false }
/** Defaults of `version` (1-3; an older struct is filled only up to its last field). */
BL_EXTERN(int) bl_template_opts_init(bl_template_opts *opts, unsigned version);

/** Check a template without storing it; errors name the part, line and column. */
BL_EXTERN(int) bl_template_validate(const bl_template_opts *t);

/**
 * Store a new version of `code` (version 1 when new). Nothing is stored on error.
 * With create_only, an existing code is refused (BL_ECONFLICT). A save that
 * changes the purpose of, or disables, a template that pending work uses
 * (bl_template_usage) is refused with BL_ECONFLICT saying how many it
 * affects unless `confirmed` is set (version 2 options; version 1 saves as before).
 */
BL_EXTERN(int) bl_template_save(bl_ctx *ctx, const bl_template_opts *t, int64_t *template_id,
				int *version);

/**
 * What still waits on template `code`: *json gets {"code", "enabled",
 * "pending_messages" (WAITING, PROCESSING or FAILED awaiting a retry),
 * "reservations" (WAITING or PROCESSING reservations that will use it)}.
 */
BL_EXTERN(int) bl_template_usage(bl_ctx *ctx, const char *code, char **json);

/** A version of a template as JSON (version 0: the latest). */
BL_EXTERN(int) bl_template_get(bl_ctx *ctx, const char *code, int version, char **json);
/** Latest version of every template, as a JSON array. */
BL_EXTERN(int) bl_template_list(bl_ctx *ctx, char **json);
/** All versions of one template, newest first. */
BL_EXTERN(int) bl_template_versions(bl_ctx *ctx, const char *code, char **json);
/** Enable or disable a template (all its versions). */
BL_EXTERN(int) bl_template_set_enabled(bl_ctx *ctx, const char *code, bool enabled);

/**
 * Render without sending: with `sample_json` (an object of variables) or,
 * when statement_id > 0, with the data of that statement and its subscriber.
 * *json gets {"subject","html","text","kind","bytes"}.
 */
BL_EXTERN(int) bl_template_preview(bl_ctx *ctx, const char *code, int version,
				   const char *sample_json, int64_t statement_id, char **json);

/**
 * Render template text `src` with the variables of `data_json` (no DB).
 * A render is bounded: over 1,000,000 steps (text pieces, tags and list
 * items visited) or 1 MiB of output, or a section that opens a list inside
 * itself, is BL_EINVAL naming the limit.
 */
BL_EXTERN(int) bl_template_render(const char *src, const char *data_json, bool html, char **out);

/**
 * bl_template_render() within the context's limits (BILLING_TEMPLATE_MAX_STEPS,
 * BILLING_TEMPLATE_MAX_OUTPUT): for drafts typed by an operator (live preview).
 */
BL_EXTERN(int) bl_template_draft_render(bl_ctx *ctx, const char *src, const char *data_json,
					bool html, char **out);

/**
 * The example data of a preview: a subscriber, and for BILLING a statement
 * with its lines ("lines" and "services"), plus an example value for each
 * variable `variables_json` declares (its "example", else one of its type;
 * "bool" as "boolean").  *json (bl_free) is an indented JSON object an
 * operator may edit.  A `variables_json` that is not a JSON object adds
 * nothing.  This is the data bl_template_preview and
 * bl_template_preview_draft use when they are given none.
 */
BL_EXTERN(int) bl_template_sample(bl_purpose purpose, const char *variables_json, char **json);

/** A rendered draft (bl_template_preview_draft); read it with the
 *  bl_draft_preview_* accessors, free it with bl_draft_preview_free. */
typedef struct bl_draft_preview bl_draft_preview;

/**
 * Preview a template as typed, before it is saved (no database access):
 * check `draft` as bl_template_save would (bl_template_validate's errors,
 * naming the part, line and column), render each part it has with
 * `sample_json` (a JSON object of variables; NULL or "": bl_template_sample
 * of the draft's purpose and variables) within the context's limits
 * (BILLING_TEMPLATE_MAX_STEPS, BILLING_TEMPLATE_MAX_OUTPUT), classify the
 * result and mask personal data in the rendered text (bl_pii_scrub).  A
 * `sample_json` that is not a JSON object is BL_EINVAL starting
 * "sample_json:".  An SMS too long for an LMS is not an error: its kind is 0.
 */
BL_EXTERN(int) bl_template_preview_draft(bl_ctx *ctx, const bl_template_opts *draft,
					 const char *sample_json, bl_draft_preview **out);
/** The rendered, masked subject / text / HTML; NULL when the draft has no such part. */
BL_EXTERN(const char *) bl_draft_preview_subject(const bl_draft_preview *p);
BL_EXTERN(const char *) bl_draft_preview_text(const bl_draft_preview *p);
BL_EXTERN(const char *) bl_draft_preview_html(const bl_draft_preview *p);
/** BL_KIND_EMAIL, BL_KIND_SMS (≤ BL_SMS_MAX_BYTES), BL_KIND_LMS (≤
 *  BL_LMS_MAX_BYTES), or 0: an SMS too long to send. */
BL_EXTERN(bl_message_kind) bl_draft_preview_kind(const bl_draft_preview *p);
/** SMS: bytes of the text as carriers count them (bl_sms_bytes); e-mail:
 *  bytes of text + HTML.  Counted before masking. */
BL_EXTERN(size_t) bl_draft_preview_bytes(const bl_draft_preview *p);
/** {"subject","text","html","kind","bytes"} (kind "EMAIL", "SMS", "LMS" or
 *  "TOO_LONG"; absent parts null) into *json (bl_free). */
BL_EXTERN(int) bl_draft_preview_to_json(const bl_draft_preview *p, char **json);
/** NULL-safe. */
BL_EXTERN(void) bl_draft_preview_free(bl_draft_preview *p);

/** `text` with & < > " ' escaped for HTML text and attribute values, as
 *  {{name}} is in an HTML part, into *out (bl_free). */
BL_EXTERN(int) bl_html_escape(const char *text, char **out);

/** Bytes of `utf8` as carriers count them (EUC-KR / KS X 1001: Hangul 2, ASCII 1). */
BL_EXTERN(int) bl_sms_bytes(const char *utf8, size_t *bytes);

/* ---- typed reads ----
 *
 * A stored template version as a C object.  Every accessor is named after
 * the key of the JSON (bl_template_get) that holds the same value and
 * returns the same value, except bl_template_variables_json: the stored
 * variables declaration as JSON text (the JSON's "variables" is that text
 * parsed).  0, NULL or false for a NULL object or a NULL value (subject and
 * body_html of an SMS template).  Strings are owned by the object.
 * A template holds no personal data.
 */
typedef struct bl_template bl_template;
/** Templates of a listing (owned by the array). */
typedef struct bl_template_array bl_template_array;

/**
 * A version of a template (version 0: the latest) (*out, bl_template_free).
 * BL_ENOTFOUND when absent; *out is NULL on any error.
 */
BL_EXTERN(int) bl_template_lookup(bl_ctx *ctx, const char *code, int version, bl_template **out);
/** The latest version of every template, by code (bl_template_list) (*out, bl_template_array_free). */
BL_EXTERN(int) bl_template_find(bl_ctx *ctx, bl_template_array **out);
/** All versions of one template, newest first (bl_template_versions); BL_ENOTFOUND when none. */
BL_EXTERN(int) bl_template_find_versions(bl_ctx *ctx, const char *code, bl_template_array **out);
/**
 * The JSON of bl_template_get (*json, bl_free); for an item of
 * bl_template_find or bl_template_find_versions, the JSON of one item of
 * bl_template_list or bl_template_versions.
 */
BL_EXTERN(int) bl_template_to_json(const bl_template *t, char **json);
/** Free a template (NULL: nothing). */
BL_EXTERN(void) bl_template_free(bl_template *t);

BL_EXTERN(int64_t) bl_template_id(const bl_template *t);
BL_EXTERN(const char *) bl_template_code(const bl_template *t);
BL_EXTERN(int) bl_template_version(const bl_template *t);
BL_EXTERN(const char *) bl_template_name(const bl_template *t);
/** "EMAIL" or "SMS". */
BL_EXTERN(const char *) bl_template_channel(const bl_template *t);
/** "BILLING" or "NOTICE". */
BL_EXTERN(const char *) bl_template_purpose(const bl_template *t);
BL_EXTERN(const char *) bl_template_subject(const bl_template *t);
BL_EXTERN(const char *) bl_template_body_html(const bl_template *t);
BL_EXTERN(const char *) bl_template_body_text(const bl_template *t);
/** The variables declaration as stored: {"name":{"type":…,"required":bool}} text. */
BL_EXTERN(const char *) bl_template_variables_json(const bl_template *t);
BL_EXTERN(bool) bl_template_enabled(const bl_template *t);
BL_EXTERN(bool) bl_template_advertising(const bl_template *t);
/** "YYYY-MM-DD HH:MM:SS". */
BL_EXTERN(const char *) bl_template_created_at(const bl_template *t);
BL_EXTERN(const char *) bl_template_created_by(const bl_template *t);

BL_EXTERN(size_t) bl_template_array_count(const bl_template_array *a);
/** Item `i` (owned by the array), NULL when out of range. */
BL_EXTERN(const bl_template *) bl_template_array_at(const bl_template_array *a, size_t i);
/** The JSON array of bl_template_list or bl_template_versions (*json, bl_free). */
BL_EXTERN(int) bl_template_array_to_json(const bl_template_array *a, char **json);
BL_EXTERN(void) bl_template_array_free(bl_template_array *a);

BL_END_DECLS

#endif
