/*
 * The route table: every URL the server answers, in one place.  The server
 * dispatches from it, `billing-httpd --print-routes` prints it, and
 * tests/test_http.py checks it against docs/openapi.json both ways.
 *
 * Path parameters: {id} and {user_id} match 1-18 digits, {month} YYYY-MM,
 * {code} 1-64 of A-Z a-z 0-9 _.  The first matching row wins, so literal
 * segments come before parameters (/api/messages/dead before /{id}).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "httpd.h"

#define V BL_ROLE_VIEWER
#define O BL_ROLE_OPERATOR
#define A BL_ROLE_ADMIN

const route ROUTES[] = {
	{ "GET", "/healthz", h_healthz, R_PUBLIC, V, "database and Redis reachability" },
	{ "GET", "/metrics", h_metrics, R_PUBLIC, V, "Prometheus metrics" },
	{ "GET", "/api/openapi.json", h_openapi, 0, V, "this API as OpenAPI 3" },
	/* the unsubscribe link of NOTICE e-mails (List-Unsubscribe, RFC 8058): no login, rate-limited */
	{ "GET", "/unsubscribe", h_unsubscribe_page, R_PUBLIC, V, "Korean confirmation page of an unsubscribe link (HTML)" },
	{ "POST", "/unsubscribe", h_unsubscribe, R_PUBLIC | R_NOCSRF | R_FORM, V,
	  "one-click unsubscribe (the page's form or RFC 8058 List-Unsubscribe=One-Click)" },
	{ "POST", "/hooks/sms/{code}", h_sms_hook, R_PUBLIC | R_NOCSRF, V,
	  "an SMS gateway's delivery result (signed; no session)" },
	/* session */
	{ "POST", "/api/session", h_login, R_PUBLIC | R_NOCSRF, V, "log in" },
	{ "GET", "/api/session", h_session_get, 0, V, "the current session and its CSRF token" },
	{ "DELETE", "/api/session", h_logout, 0, V, "log out" },
	/* batch */
	{ "GET", "/api/batch/runs", h_batch_list, 0, V, "batch runs, newest first" },
	{ "POST", "/api/batch/runs", h_batch_start, 0, O, "start a batch run (202)" },
	{ "GET", "/api/batch/runs/{id}", h_batch_get, 0, V, "a run with live progress and failures" },
	{ "POST", "/api/batch/runs/{id}/stop", h_batch_stop, 0, O, "ask a run to stop" },
	{ "POST", "/api/batch/runs/{id}/resume", h_batch_resume, 0, O, "resume a stopped or failed run (202)" },
	/* statements */
	{ "GET", "/api/statements", h_statement_search, 0, V, "search statements" },
	{ "GET", "/api/statements/{user_id}/{month}", h_statement_get, 0, V, "a statement with its lines" },
	/* users and groups */
	{ "GET", "/api/users", h_user_search, 0, V, "search subscribers by name or plan (masked)" },
	{ "POST", "/api/users/search", h_user_search_contact, 0, O,
	  "search subscribers by phone or e-mail (masked; audited, rate-limited per admin)" },
	{ "GET", "/api/users/{id}", h_user_get, 0, V, "a subscriber (masked)" },
	{ "GET", "/api/groups", h_group_list, 0, V, "groups with member counts" },
	{ "POST", "/api/groups", h_group_create, 0, O, "create a group" },
	{ "GET", "/api/groups/{code}", h_group_get, 0, V, "a group" },
	{ "PATCH", "/api/groups/{code}", h_group_update, 0, O, "rename or describe a group" },
	{ "DELETE", "/api/groups/{code}", h_group_delete, 0, O, "delete a group" },
	{ "GET", "/api/groups/{code}/members", h_group_members, 0, V, "members of a group (masked)" },
	{ "PUT", "/api/groups/{code}/members/{user_id}", h_group_add, 0, O, "add a member" },
	{ "DELETE", "/api/groups/{code}/members/{user_id}", h_group_remove, 0, O, "remove a member" },
	/* templates */
	{ "GET", "/api/templates", h_template_list, 0, V, "latest version of every template" },
	{ "POST", "/api/templates", h_template_create, 0, O, "create a template (version 1) or a new version" },
	{ "GET", "/api/templates/{code}", h_template_get, 0, V, "a template version (?version=N)" },
	{ "PUT", "/api/templates/{code}", h_template_update, 0, O, "save a new version" },
	{ "GET", "/api/templates/{code}/versions", h_template_versions, 0, V, "all versions, newest first" },
	{ "POST", "/api/templates/{code}/enable", h_template_enable, 0, O, "enable a template" },
	{ "POST", "/api/templates/{code}/disable", h_template_disable, 0, O, "disable a template" },
	{ "POST", "/api/templates/{code}/preview", h_template_preview, 0, V,
	  "render with sample data or a statement" },
	/* reservations */
	{ "GET", "/api/reservations", h_reservation_list, 0, V, "reservations" },
	{ "POST", "/api/reservations", h_reservation_create, 0, O, "create a reservation" },
	{ "GET", "/api/reservations/{id}", h_reservation_get, 0, V, "a reservation" },
	{ "POST", "/api/reservations/{id}/cancel", h_reservation_cancel, 0, O, "cancel a reservation" },
	/* messages */
	{ "GET", "/api/messages", h_message_search, 0, V, "search messages" },
	{ "GET", "/api/messages/dead", h_message_dead, 0, V, "dead letters" },
	{ "POST", "/api/messages/retry", h_message_retry_filter, 0, O, "retry FAILED/DEAD messages by filter" },
	{ "GET", "/api/messages/{id}", h_message_get, 0, V, "a message with its attempts" },
	{ "POST", "/api/messages/{id}/retry", h_message_retry, 0, O, "retry one message" },
	/* statistics, audit, admin users */
	{ "GET", "/api/stats", h_stats, R_NOCTX, V, "message and batch statistics (cached about 1 s)" },
	{ "GET", "/api/audit", h_audit_list, 0, V, "audit log, newest first" },
	/* e-mail suppression list */
	{ "GET", "/api/suppressions", h_suppression_list, 0, V, "suppressed e-mail addresses (masked)" },
	{ "POST", "/api/suppressions", h_suppression_add, 0, O, "suppress an e-mail address (audited)" },
	{ "DELETE", "/api/suppressions/{id}", h_suppression_remove, 0, O, "remove a suppression (audited)" },
	{ "GET", "/api/admins", h_admin_list, 0, A, "admin users" },
	{ "POST", "/api/admins", h_admin_create, 0, A, "create an admin user" },
};
const size_t NROUTES = sizeof ROUTES / sizeof ROUTES[0];

static bool seg_ok(const char *name, size_t nlen, const char *v, size_t vlen, bool dots)
{
	if (vlen == 0)
		return false;
	if ((nlen == 2 && !memcmp(name, "id", 2)) || (nlen == 7 && !memcmp(name, "user_id", 7))) {
		if (vlen > 18)
			return false;
		for (size_t i = 0; i < vlen; i++)
			if (!isdigit((unsigned char)v[i]))
				return false;
		return true;
	}
	if (nlen == 5 && !memcmp(name, "month", 5))
		return vlen == 7 && isdigit((unsigned char)v[0]) && isdigit((unsigned char)v[1]) &&
		       isdigit((unsigned char)v[2]) && isdigit((unsigned char)v[3]) && v[4] == '-' &&
		       isdigit((unsigned char)v[5]) && isdigit((unsigned char)v[6]);
	if (vlen > 64)
		return false;
	for (size_t i = 0; i < vlen; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '_' && !(dots && v[i] == '.'))
			return false;
	return true;
}

/* Match one pattern; params get strndup'd values on success.  `dots`: a
 * code segment may hold '.' (the admin pages' routes). */
bool route_path_match(const char *pat, const char *path, char **params, int *np, bool dots)
{
	int n = 0;
	const char *p = pat, *s = path;
	while (*p && *s) {
		if (*p != '/' || *s != '/')
			goto no;
		p++;
		s++;
		const char *pe = strchr(p, '/'), *se = strchr(s, '/');
		size_t pl = pe ? (size_t)(pe - p) : strlen(p), sl = se ? (size_t)(se - s) : strlen(s);
		if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
			if (!seg_ok(p + 1, pl - 2, s, sl, dots) || n >= MAX_PATH_PARAMS)
				goto no;
			params[n++] = strndup(s, sl);
		} else if (pl != sl || memcmp(p, s, pl)) {
			goto no;
		}
		p += pl;
		s += sl;
	}
	if (*p || *s)
		goto no;
	*np = n;
	return true;
no:
	for (int i = 0; i < n; i++) {
		free(params[i]);
		params[i] = NULL;
	}
	return false;
}

const route *route_match(const char *method, const char *path, char **params, int *nparams,
			 bool *path_known, char *allow, size_t allow_len, size_t *index)
{
	*path_known = false;
	*nparams = 0;
	if (allow_len)
		allow[0] = '\0';
	*index = NROUTES;
	for (size_t i = 0; i < NROUTES; i++) {
		int n = 0;
		if (!route_path_match(ROUTES[i].pattern, path, params, &n, false))
			continue;
		bool same = !strcmp(ROUTES[i].method, method) ||
			    (!strcmp(method, "HEAD") && !strcmp(ROUTES[i].method, "GET"));
		if (same) {
			*nparams = n;
			*index = i;
			return &ROUTES[i];
		}
		*path_known = true;
		if (allow_len && !strstr(allow, ROUTES[i].method)) {
			size_t l = strlen(allow);
			snprintf(allow + l, allow_len - l, "%s%s", l ? ", " : "", ROUTES[i].method);
		}
		for (int k = 0; k < n; k++) {
			free(params[k]);
			params[k] = NULL;
		}
	}
	return NULL;
}

void routes_print(FILE *f)
{
	static const char *roles[] = { "", "ADMIN", "OPERATOR", "VIEWER" };
	for (size_t i = 0; i < NROUTES; i++)
		fprintf(f, "%s %s %s %s\n", ROUTES[i].method, ROUTES[i].pattern,
			(ROUTES[i].flags & R_PUBLIC) ? "public" : roles[ROUTES[i].min_role],
			(ROUTES[i].flags & R_PUBLIC) || !strcmp(ROUTES[i].method, "GET") ? "-" : "csrf");
}
