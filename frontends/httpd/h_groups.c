/* Group routes: list, create, read, update, delete, members, add and remove. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"

void h_group_list(req *r)
{
	char *json = NULL;
	int rc = bl_group_list(r->ctx, &json);
	reply_lib_array_page(r, rc, json, "id");
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
