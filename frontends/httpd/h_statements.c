/* Statement routes: search (keyset pages) and one statement with its lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"

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
