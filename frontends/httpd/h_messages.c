/*
 * Message routes: search, detail with attempts, dead letters, retry one or
 * by filter.  Destinations are masked by the library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"

/* Filter from the query string (GET) or the body (POST retry). */
static bool filter_from(req *r, bl_message_filter *f, bool body)
{
	bl_message_filter_init(f, BL_MESSAGE_FILTER_VERSION);
	static const char *ikeys[] = { "run_id", "user_id", "reservation_id" };
	int64_t *ivals[] = { &f->run_id, &f->user_id, &f->reservation_id };
	for (size_t i = 0; i < 3; i++)
		if (!(body ? body_i64(r, ikeys[i], false, 1, INT64_MAX, ivals[i])
			   : query_i64(r, ikeys[i], 1, INT64_MAX, 0, ivals[i])))
			return false;
	static const char *skeys[] = { "status", "channel", "template", "from", "to" };
	const char **svals[] = { &f->status, &f->channel, &f->template_code, &f->from, &f->to };
	for (size_t i = 0; i < 5; i++)
		if (!(body ? body_str(r, skeys[i], false, 64, svals[i]) : query_str(r, skeys[i], 64, svals[i])))
			return false;
	return true;
}

static void search(req *r, bool dead)
{
	bl_message_filter f;
	int limit;
	if (!filter_from(r, &f, false) || !page_args(r, &limit, &f.after_id))
		return;
	if (dead) {
		if (f.status && strcmp(f.status, "DEAD")) {
			reply_error(r, 400, NULL, "status", "dead letters are status DEAD; use /api/messages for others");
			return;
		}
		f.status = "DEAD";
	}
	f.limit = limit + 1;
	char *json = NULL;
	int rc = bl_message_search(r->ctx, &f, &json);
	reply_lib_page(r, rc, json, limit, "id");
}

void h_message_search(req *r)
{
	search(r, false);
}

void h_message_dead(req *r)
{
	search(r, true);
}

void h_message_get(req *r)
{
	char *json = NULL;
	int rc = bl_message_get(r->ctx, param_i64(r, 0), &json);
	if (rc)
		reply_lib(r, rc, NULL);
	else
		reply_lib_json(r, 200, json);
}

void h_message_retry(req *r)
{
	int64_t id = param_i64(r, 0);
	int rc = bl_message_retry(r->ctx, id);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	reply_json(r, 202, json_pack("{s:I,s:s}", "message_id", (json_int_t)id, "status", "WAITING"));
}

void h_message_retry_filter(req *r)
{
	bl_message_filter f;
	if (!filter_from(r, &f, true))
		return;
	int64_t n = 0;
	int rc = bl_message_retry_filter(r->ctx, &f, &n);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	reply_json(r, 202, json_pack("{s:I}", "retried", (json_int_t)n));
}
