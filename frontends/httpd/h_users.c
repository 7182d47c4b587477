/*
 * Statements, subscribers and groups.  Phone numbers and e-mail addresses
 * are only ever shown masked: the library masks them, and no route asks it
 * to reveal.  Searching by phone or e-mail goes through the blind index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"

/* ---- statements ---- */

void h_statement_search(req *r)
{
	int limit;
	bl_statement_filter f;
	bl_statement_filter_init(&f, BL_STATEMENT_FILTER_VERSION);
	if (!page_args(r, &limit, &f.after_id) || !query_str(r, "month", 16, &f.month) ||
	    !query_i64(r, "user_id", 1, INT64_MAX, 0, &f.user_id) ||
	    !query_i64(r, "min_billed", 0, INT64_MAX, 0, &f.min_billed) ||
	    !query_i64(r, "max_billed", 0, INT64_MAX, -1, &f.max_billed))
		return;
	f.limit = limit + 1;
	char *json = NULL;
	int rc = bl_statement_search_by(r->ctx, &f, &json);
	reply_lib_page(r, rc, json, limit, "id");
}

void h_statement_get(req *r)
{
	char *json = NULL;
	int rc = bl_statement_get(r->ctx, param_i64(r, 0), param(r, 1), &json);
	if (rc)
		reply_lib(r, rc, NULL);
	else
		reply_lib_json(r, 200, json);
}

/* ---- subscribers ---- */

void h_user_search(req *r)
{
	bl_user_filter f;
	bl_user_filter_init(&f, BL_USER_FILTER_VERSION);
	int limit;
	const char *phone = NULL, *email = NULL;
	if (!page_args(r, &limit, &f.after_id) || !query_str(r, "name", 100, &f.name) ||
	    !query_str(r, "phone", 64, &phone) || !query_str(r, "email", 320, &email) ||
	    !query_str(r, "plan", 64, &f.plan_code))
		return;
	if (phone || email) { /* query strings end up in proxy logs and browser history */
		reply_error(r, 400, NULL, phone ? "phone" : "email",
			    "search by phone or e-mail with POST /api/users/search (OPERATOR or ADMIN): "
			    "personal data is not taken in URLs");
		return;
	}
	f.limit = limit + 1;
	char *json = NULL;
	int rc = bl_user_search(r->ctx, &f, &json);
	reply_lib_page(r, rc, json, limit, "id");
}

/* POST /api/users/search {"phone","email","name","plan","limit","cursor"} */
void h_user_search_contact(req *r)
{
	bl_user_filter f;
	bl_user_filter_init(&f, BL_USER_FILTER_VERSION);
	int64_t limit = 50;
	if (!body_str(r, "name", false, 100, &f.name) || !body_str(r, "phone", false, 64, &f.phone) ||
	    !body_str(r, "email", false, 320, &f.email) || !body_str(r, "plan", false, 64, &f.plan_code) ||
	    !body_i64(r, "limit", false, 1, 500, &limit) || !body_i64(r, "cursor", false, 0, INT64_MAX, &f.after_id))
		return;
	f.limit = (int)limit + 1;
	char *json = NULL;
	int retry = 0;
	int rc = bl_user_search_as(r->ctx, &r->sess, &f, &json, &retry);
	if (rc == BL_ELIMIT) {
		reply_retry_after(r, retry);
		return;
	}
	reply_lib_page(r, rc, json, (int)limit, "id");
}

void h_user_get(req *r)
{
	char *json = NULL;
	int rc = bl_user_get(r->ctx, param_i64(r, 0), false, &json);
	if (rc)
		reply_lib(r, rc, NULL);
	else
		reply_lib_json(r, 200, json);
}

/* ---- groups ---- */

void h_group_list(req *r)
{
	char *json = NULL;
	int rc = bl_group_list(r->ctx, &json);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	json_t *all = lib_json(r, json);
	if (all)
		reply_array_page(r, all, "id");
}

static void reply_group(req *r, int status, const char *code)
{
	char *json = NULL;
	int rc = bl_group_get(r->ctx, code, &json);
	if (rc)
		reply_lib(r, rc, NULL);
	else
		reply_lib_json(r, status, json);
}

void h_group_create(req *r)
{
	const char *code, *name, *desc;
	if (!body_str(r, "code", true, 64, &code) || !body_str(r, "name", true, 200, &name) ||
	    !body_str(r, "description", false, 1000, &desc))
		return;
	int64_t id = 0;
	int rc = bl_group_create(r->ctx, code, name, desc, &id);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	reply_group(r, 201, code);
}

void h_group_get(req *r)
{
	reply_group(r, 200, param(r, 0));
}

void h_group_update(req *r)
{
	const char *name, *desc;
	if (!body_str(r, "name", false, 200, &name) || !body_str(r, "description", false, 1000, &desc))
		return;
	int rc = bl_group_update(r->ctx, param(r, 0), name, desc);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	reply_group(r, 200, param(r, 0));
}

void h_group_delete(req *r)
{
	int rc = bl_group_delete(r->ctx, param(r, 0));
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	reply_json(r, 200, json_pack("{s:s,s:b}", "code", param(r, 0), "deleted", 1));
}

void h_group_members(req *r)
{
	int limit;
	int64_t cursor;
	if (!page_args(r, &limit, &cursor))
		return;
	char *json = NULL;
	int rc = bl_group_members(r->ctx, param(r, 0), cursor, limit + 1, &json);
	reply_lib_page(r, rc, json, limit, "id");
}

static void member(req *r, bool add)
{
	int64_t uid = param_i64(r, 1);
	int rc = add ? bl_group_add(r->ctx, param(r, 0), uid) : bl_group_remove(r->ctx, param(r, 0), uid);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	reply_json(r, 200, json_pack("{s:s,s:I,s:b}", "code", param(r, 0), "user_id", (json_int_t)uid,
				     "member", add));
}

void h_group_add(req *r)
{
	member(r, true);
}

void h_group_remove(req *r)
{
	member(r, false);
}
