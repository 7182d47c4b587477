/* Reservation routes: list, create, read (with counts and holds), cancel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"

void h_reservation_list(req *r)
{
	int limit;
	int64_t cursor;
	const char *status;
	if (!page_args(r, &limit, &cursor) || !query_str(r, "status", 16, &status))
		return;
	char *json = NULL;
	int rc = bl_reservation_list(r->ctx, status, cursor, limit + 1, &json);
	reply_lib_page(r, rc, json, limit, "id");
}

static void reply_reservation(req *r, int status, int64_t id)
{
	char *json = NULL;
	int rc = bl_reservation_get(r->ctx, id, &json);
	if (rc)
		reply_lib(r, rc, NULL);
	else
		reply_lib_json(r, status, json);
}

void h_reservation_create(req *r)
{
	bl_reservation_opts o;
	bl_reservation_opts_init(&o, BL_RESERVATION_OPTS_VERSION);
	if (!body_str(r, "template_code", false, 64, &o.template_code) ||
	    !body_str(r, "group_code", false, 64, &o.group_code) || !body_str(r, "month", false, 16, &o.month) ||
	    !body_str(r, "scheduled_at", false, 32, &o.scheduled_at))
		return;
	json_t *params = json_object_get(r->json, "params");
	if (params && !json_is_null(params) && !json_is_object(params)) {
		reply_error(r, 400, NULL, "params", "params: must be an object of template variables");
		return;
	}
	char *pj = params && json_is_object(params) ? json_dumps(params, JSON_COMPACT) : NULL;
	o.params_json = pj;
	o.created_by = r->sess.username;
	int64_t id = 0;
	int rc = bl_reservation_create(r->ctx, &o, &id);
	free(pj);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	reply_reservation(r, 201, id);
}

void h_reservation_get(req *r)
{
	reply_reservation(r, 200, param_i64(r, 0));
}

void h_reservation_cancel(req *r)
{
	int64_t id = param_i64(r, 0);
	int rc = bl_reservation_cancel(r->ctx, id);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	reply_reservation(r, 200, id);
}
