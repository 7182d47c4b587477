/*
 * The audit log, admin users, and the OpenAPI document (docs/openapi.json,
 * compiled in).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"

extern const char httpd_openapi_json[];
extern const size_t httpd_openapi_json_len;

void h_audit_list(req *r)
{
	int limit;
	int64_t cursor;
	if (!page_args(r, &limit, &cursor))
		return;
	char *json = NULL;
	int rc = bl_audit_list(r->ctx, cursor, limit + 1, &json);
	reply_lib_page(r, rc, json, limit, "id");
}

void h_admin_list(req *r)
{
	char *json = NULL;
	int rc = bl_admin_list(r->ctx, &json);
	reply_lib_array_page(r, rc, json, "id");
}

void h_admin_create(req *r)
{
	const char *user, *pw, *role_s = NULL;
	if (!body_str(r, "username", true, 200, &user) || !body_str(r, "password", true, 4096, &pw) ||
	    !body_str(r, "role", false, 16, &role_s))
		return;
	bl_role role = BL_ROLE_OPERATOR;
	if (role_s && bl_admin_role_parse(role_s, &role) != BL_OK) {
		reply_lib(r, BL_EINVAL, "role");
		return;
	}
	int64_t id = 0;
	int rc = bl_admin_create(r->ctx, user, pw, role, &id);
	if (rc) {
		reply_lib(r, rc, strstr(bl_error_last(), "password") ? "password"
				 : strstr(bl_error_last(), "username") ? "username" : NULL);
		return;
	}
	reply_json(r, 201, json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "username", user, "role",
				     bl_admin_role_name(role)));
}

void h_openapi(req *r)
{
	reply_raw(r, 200, "application/json; charset=utf-8", httpd_openapi_json, httpd_openapi_json_len);
}
