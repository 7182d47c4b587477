/*
 * Subscriber routes.  Phone numbers and e-mail addresses are only ever shown
 * masked: the library masks them, and no route asks it to reveal.  Searching
 * by phone or e-mail goes through the blind index (posted, rate-limited).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"

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
