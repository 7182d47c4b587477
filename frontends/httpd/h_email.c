/*
 * The e-mail suppression list over the API (docs/email.md): list (masked),
 * add, remove.  The library stores only the address's blind index and its
 * masked form, and audits each change under the admin's name.
 */
#include <string.h>
#include "httpd.h"

void h_suppression_list(req *r)
{
	int limit;
	int64_t cursor;
	if (!page_args(r, &limit, &cursor))
		return;
	char *json = NULL;
	int rc = bl_suppression_list(r->ctx, cursor, limit + 1, &json);
	reply_lib_page(r, rc, json, limit, "id");
}

void h_suppression_add(req *r)
{
	const char *email, *reason = NULL, *note = NULL;
	if (!body_str(r, "email", true, 320, &email) || !body_str(r, "reason", false, 32, &reason) ||
	    !body_str(r, "note", false, 200, &note))
		return;
	int rc = bl_suppression_add(r->ctx, email, reason ? reason : "MANUAL", note, r->sess.username);
	if (rc) {
		reply_lib(r, rc, rc == BL_EINVAL ? (reason && strstr(bl_error_last(), "reason") ? "reason" : "email")
					       : NULL);
		return;
	}
	char *masked = NULL;
	if (bl_pii_mask(BL_PII_EMAIL, email, &masked) != BL_OK) {
		reply_lib(r, bl_error_last_code(), "email");
		return;
	}
	reply_json(r, 201, json_pack("{s:s,s:s}", "address", masked, "reason", reason ? reason : "MANUAL"));
	bl_free(masked);
}

void h_suppression_remove(req *r)
{
	int64_t id = param_i64(r, 0);
	int rc = bl_suppression_remove(r->ctx, id, r->sess.username);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	reply_json(r, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "removed", 1));
}
