/*
 * The admin pages' route table.  Kept apart from ROUTES (routes.c): these
 * are HTML pages and their form posts, not API, so they are neither in
 * `--print-routes` nor in docs/openapi.json.  Same pattern syntax as
 * routes.c ({id}, {user_id}: digits; {month}: YYYY-MM; {code}: A-Z a-z 0-9 _),
 * first match wins.  Roles as the API's: VIEWER reads, OPERATOR changes.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "ui.h"

#define V BL_ROLE_VIEWER
#define O BL_ROLE_OPERATOR

const route UI_ROUTES[] = {
	{ "GET", "/admin/static/{code}", ui_static, R_PUBLIC, V, "CSS and JavaScript" },
	{ "GET", "/admin/login", ui_login_form, R_PUBLIC, V, "login form" },
	{ "POST", "/admin/login", ui_login, R_PUBLIC, V, "log in" },
	{ "POST", "/admin/logout", ui_logout, 0, V, "log out" },
	{ "GET", "/admin", ui_dashboard, 0, V, "dashboard" },
	{ "GET", "/admin/", ui_dashboard, 0, V, "dashboard" },
	/* batch runs */
	{ "GET", "/admin/batch", ui_batch_list, 0, V, "runs, start form, durations" },
	{ "POST", "/admin/batch", ui_batch_start, 0, O, "start a run" },
	{ "GET", "/admin/batch/{id}", ui_batch_get, 0, V, "a run with progress and failures" },
	{ "GET", "/admin/batch/{id}/progress", ui_batch_progress, UI_JSON, V, "progress (JSON, polled)" },
	{ "POST", "/admin/batch/{id}/stop", ui_batch_stop, 0, O, "stop a run" },
	{ "POST", "/admin/batch/{id}/resume", ui_batch_resume, 0, O, "resume a run" },
	/* statements */
	{ "GET", "/admin/statements", ui_statement_search, 0, V, "statement search" },
	{ "GET", "/admin/statements/{user_id}/{month}", ui_statement_get, 0, V, "a statement" },
	/* templates */
	{ "GET", "/admin/templates", ui_template_list, 0, V, "templates" },
	{ "POST", "/admin/templates", ui_template_create, 0, O, "create a template" },
	{ "GET", "/admin/templates/new", ui_template_new, 0, O, "new template form" },
	{ "GET", "/admin/templates/{code}", ui_template_get, 0, V, "edit form" },
	{ "POST", "/admin/templates/{code}", ui_template_save, 0, O, "save a version (or preview)" },
	{ "POST", "/admin/templates/{code}/preview", ui_template_preview, UI_JSON, V, "live preview (JSON)" },
	{ "GET", "/admin/templates/{code}/versions", ui_template_versions, 0, V, "versions" },
	{ "POST", "/admin/templates/{code}/enable", ui_template_enable, 0, O, "enable" },
	{ "POST", "/admin/templates/{code}/disable", ui_template_disable, 0, O, "disable" },
	/* reservations */
	{ "GET", "/admin/reservations", ui_reservation_list, 0, V, "reservations" },
	{ "POST", "/admin/reservations", ui_reservation_create, 0, O, "create a reservation" },
	{ "GET", "/admin/reservations/new", ui_reservation_new, 0, O, "new reservation form" },
	{ "GET", "/admin/reservations/{id}", ui_reservation_get, 0, V, "a reservation" },
	{ "POST", "/admin/reservations/{id}/cancel", ui_reservation_cancel, 0, O, "cancel" },
	/* messages */
	{ "GET", "/admin/messages", ui_message_list, 0, V, "message history" },
	{ "POST", "/admin/messages/retry", ui_message_retry_filter, 0, O, "retry by filter" },
	{ "GET", "/admin/messages/{id}", ui_message_get, 0, V, "a message with its attempts" },
	{ "POST", "/admin/messages/{id}/retry", ui_message_retry, 0, O, "retry a message" },
	{ "GET", "/admin/dead", ui_message_dead, 0, V, "dead letters" },
	/* groups */
	{ "GET", "/admin/groups", ui_group_list, 0, V, "groups" },
	{ "POST", "/admin/groups", ui_group_create, 0, O, "create a group" },
	{ "GET", "/admin/groups/{code}", ui_group_get, 0, V, "a group, members, member search by name or plan" },
	{ "POST", "/admin/groups/{code}/search", ui_group_search, 0, O, "member search by phone or e-mail (audited, limited)" },
	{ "POST", "/admin/groups/{code}", ui_group_update, 0, O, "rename / describe" },
	{ "POST", "/admin/groups/{code}/delete", ui_group_delete, 0, O, "delete" },
	{ "POST", "/admin/groups/{code}/members", ui_group_add, 0, O, "add a member" },
	{ "POST", "/admin/groups/{code}/members/{user_id}/remove", ui_group_remove, 0, O, "remove a member" },
	{ "GET", "/admin/audit", ui_audit_list, 0, BL_ROLE_ADMIN, "audit log, filtered" },
	/* e-mail suppression list */
	{ "GET", "/admin/suppressions", ui_suppression_list, 0, V, "suppressed addresses (masked)" },
	{ "POST", "/admin/suppressions", ui_suppression_add, 0, O, "suppress an address" },
	{ "POST", "/admin/suppressions/{id}/remove", ui_suppression_remove, 0, O, "remove a suppression" },
};
const size_t UI_NROUTES = sizeof UI_ROUTES / sizeof UI_ROUTES[0];

bool ui_is_route(const route *rt)
{
	return rt >= UI_ROUTES && rt < UI_ROUTES + UI_NROUTES;
}

const route *ui_route_match(const char *method, const char *path, char **params, int *nparams,
			    bool *path_known)
{
	*path_known = false;
	*nparams = 0;
	for (size_t i = 0; i < UI_NROUTES; i++) {
		int n = 0;
		if (!route_path_match(UI_ROUTES[i].pattern, path, params, &n, true))
			continue;
		if (!strcmp(UI_ROUTES[i].method, method) ||
		    (!strcmp(method, "HEAD") && !strcmp(UI_ROUTES[i].method, "GET"))) {
			*nparams = n;
			return &UI_ROUTES[i];
		}
		*path_known = true;
		for (int k = 0; k < n; k++) {
			free(params[k]);
			params[k] = NULL;
		}
	}
	return NULL;
}
