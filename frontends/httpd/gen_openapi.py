#!/usr/bin/env python3
"""Write docs/openapi.json, the OpenAPI 3 document of billing-httpd.

    frontends/httpd/gen_openapi.py [OUT]      (default: docs/openapi.json)

The document is checked in and compiled into the server (GET
/api/openapi.json).  tests/test_http.py checks that its operations are
exactly the server's route table (billing-httpd --print-routes): when a
route is added to routes.c, add it here and regenerate.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ref(name):
    return {"$ref": "#/components/schemas/" + name}


def q(name, desc, typ="string", **extra):
    schema = {"type": typ}
    schema.update(extra)
    return {"name": name, "in": "query", "required": False, "description": desc, "schema": schema}


PAGE = [q("limit", "page size", "integer", minimum=1, maximum=500, default=50),
        q("cursor", "next_cursor of the previous page", "integer", minimum=0)]
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
USER_ID = {"name": "user_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
CODE = {"name": "code", "in": "path", "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_]{1,64}$"}}
MONTH = {"name": "month", "in": "path", "required": True,
         "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}}
MSG_FILTER = [q("from", "requested at or after, YYYY-MM-DD[ HH:MM:SS]"),
              q("to", "requested before, YYYY-MM-DD[ HH:MM:SS]"),
              q("channel", "EMAIL or SMS", enum=["EMAIL", "SMS"]),
              q("status", "message status",
                enum=["WAITING", "PROCESSING", "SUCCESS", "FAILED", "EXCEEDED", "DEAD", "SUPPRESSED",
                      "BOUNCED"]),
              q("user_id", "subscriber id", "integer"),
              q("template", "template code"),
              q("run_id", "statements of this batch run", "integer"),
              q("reservation_id", "reservation id", "integer")]


def obj(props, required=()):
    o = {"type": "object", "properties": props}
    if required:
        o["required"] = list(required)
    return o


S = {"type": "string"}
I = {"type": "integer"}
B = {"type": "boolean"}
ANY_OBJ = {"type": "object", "additionalProperties": True}


def body(schema):
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def ok(desc, schema=None, code="200"):
    r = {"description": desc}
    if schema is not None:
        r["content"] = {"application/json": {"schema": schema}}
    return {code: r}


def page(item):
    return obj({"items": {"type": "array", "items": item},
                "next_cursor": {"type": "string", "nullable": True}}, ["items", "next_cursor"])


TEMPLATE_BODY = obj({"code": S, "name": S, "channel": {"type": "string", "enum": ["EMAIL", "SMS"]},
                     "purpose": {"type": "string", "enum": ["BILLING", "NOTICE"]},
                     "subject": S, "body_html": S, "body_text": S,
                     "variables": ANY_OBJ, "enabled": B,
                     "advertising": {"type": "boolean", "default": False,
                                     "description": "an advertising NOTICE: the subject (e-mail) or text (SMS) "
                                                    "must start with (광고) and the body must say how to opt "
                                                    "out (수신거부); else 422 naming the part"}},
                    ["name", "channel", "purpose"])

# (method, path) -> operation details; summaries match routes.c
OPS = {
    ("GET", "/healthz"): dict(summary="database and Redis reachability", public=True, tag="system",
                              responses={**ok("both reachable", ref("Health")),
                                         "503": {"description": "one is not",
                                                 "content": {"application/json": {"schema": ref("Health")}}}}),
    ("GET", "/metrics"): dict(summary="Prometheus metrics", public=True, tag="system",
                              responses={"200": {"description": "text exposition format 0.0.4",
                                                 "content": {"text/plain": {"schema": S}}}}),
    ("GET", "/api/openapi.json"): dict(summary="this API as OpenAPI 3", tag="system",
                                       responses=ok("this document", ANY_OBJ)),
    ("POST", "/hooks/sms/{code}"): dict(
        summary="an SMS gateway's delivery result (signed; no session)", public=True, tag="system",
        params=[dict(CODE, description="the gateway's name (BILLING_SMS_<n>_NAME)"),
                {"name": "X-Timestamp", "in": "header", "required": True, "schema": S},
                {"name": "X-Signature-SHA256", "in": "header", "required": True,
                 "description": "hex HMAC-SHA256 of \"<X-Timestamp>.<body>\" keyed with BILLING_SMS_<n>_HOOK_SECRET",
                 "schema": S}],
        body=obj({"requestId": S, "status": {"type": "string", "enum": ["COMPLETED"]},
                  "statusName": {"type": "string", "enum": ["success", "fail"]}, "statusCode": S},
                 ["requestId", "status", "statusName"]),
        responses={**ok("applied, retried, ignored (a replay, a final message) or unknown request id",
                        obj({"outcome": {"type": "string", "enum": ["APPLIED", "RETRY", "IGNORED", "UNKNOWN"]}})),
                   "401": {"description": "signature missing or wrong: nothing changed"},
                   "404": {"description": "no gateway of that name with a hook secret"},
                   "409": {"description": "the accept is not recorded yet: send the result again later"}}),
    ("POST", "/api/session"): dict(summary="log in", public=True, tag="session",
                                   body=obj({"username": S, "password": S}, ["username", "password"]),
                                   responses={**ok("logged in; the bl_session cookie is set "
                                                   "(HttpOnly, SameSite=Strict)", ref("Session")),
                                              "429": {"description": "too many failed logins; see Retry-After"}}),
    ("GET", "/api/session"): dict(summary="the current session and its CSRF token", tag="session",
                                  responses=ok("the session", ref("Session"))),
    ("DELETE", "/api/session"): dict(summary="log out", tag="session",
                                     responses=ok("logged out; the cookie is cleared", obj({"logged_out": B}))),
    ("GET", "/api/batch/runs"): dict(summary="batch runs, newest first", tag="batch",
                                     params=[q("month", "YYYY-MM")] + PAGE,
                                     responses=ok("a page of runs", page(ref("BatchRun")))),
    ("POST", "/api/batch/runs"): dict(summary="start a batch run (202)", tag="batch", role="OPERATOR",
                                      body=obj({"month": S, "mode": {"type": "string", "enum": [
                                          "NORMAL", "FAILED_ONLY", "DRY_RUN", "REISSUE"]},
                                          "partitions": {"type": "integer", "minimum": 1, "maximum": 64},
                                          "chunk_size": {"type": "integer", "minimum": 1, "maximum": 100000},
                                          "force": {"type": "boolean"}, "allow_empty": {"type": "boolean"}},
                                          ["month"]),
                                      responses=ok("started; it runs in the background",
                                                   obj({"run_id": I, "month": S, "status": S, "warning": S}),
                                                   "202")),
    ("GET", "/api/batch/runs/{id}"): dict(summary="a run with live progress and failures", tag="batch",
                                          params=[ID], responses=ok("the run", ref("BatchRun"))),
    ("POST", "/api/batch/runs/{id}/stop"): dict(summary="ask a run to stop", tag="batch", role="OPERATOR",
                                                params=[ID], responses=ok("stop requested", obj(
                                                    {"run_id": I, "stop_requested": B}), "202")),
    ("POST", "/api/batch/runs/{id}/resume"): dict(summary="resume a stopped or failed run (202)", tag="batch",
                                                  role="OPERATOR", params=[ID],
                                                  responses=ok("resumed", obj({"run_id": I, "month": S,
                                                                               "status": S}), "202")),
    ("GET", "/api/statements"): dict(summary="search statements", tag="statements",
                                     params=[q("month", "YYYY-MM"), q("user_id", "subscriber", "integer"),
                                             q("min_billed", "billed amount at least (won)", "integer"),
                                             q("max_billed", "billed amount at most (won)", "integer")] + PAGE,
                                     responses=ok("a page of statements (without lines)", page(ANY_OBJ))),
    ("GET", "/api/statements/{user_id}/{month}"): dict(summary="a statement with its lines", tag="statements",
                                                       params=[USER_ID, MONTH],
                                                       responses=ok("the statement", ANY_OBJ)),
    ("GET", "/api/users"): dict(summary="search subscribers by name or plan (masked)", tag="users",
                                params=[q("name", "name prefix"),
                                        q("plan", "charged for this PLAN service code")] + PAGE,
                                responses=ok("a page of subscribers", page(ref("User")))),
    ("POST", "/api/users/search"): dict(
        summary="search subscribers by phone or e-mail (masked; audited, rate-limited per admin: 429)",
        tag="users", role="OPERATOR",
        body=obj({"phone": S, "email": S, "name": S, "plan": S, "limit": {"type": "integer"},
                  "cursor": {"type": "integer"}}, []),
        responses=ok("a page of subscribers", page(ref("User")))),
    ("GET", "/api/users/{id}"): dict(summary="a subscriber (masked)", tag="users", params=[ID],
                                     responses=ok("the subscriber", ref("User"))),
    ("GET", "/api/groups"): dict(summary="groups with member counts", tag="groups", params=PAGE,
                                 responses=ok("a page of groups", page(ref("Group")))),
    ("POST", "/api/groups"): dict(summary="create a group", tag="groups", role="OPERATOR",
                                  body=obj({"code": S, "name": S, "description": S}, ["code", "name"]),
                                  responses=ok("created", ref("Group"), "201")),
    ("GET", "/api/groups/{code}"): dict(summary="a group", tag="groups", params=[CODE],
                                        responses=ok("the group", ref("Group"))),
    ("PATCH", "/api/groups/{code}"): dict(summary="rename or describe a group", tag="groups", role="OPERATOR",
                                          params=[CODE], body=obj({"name": S, "description": S}),
                                          responses=ok("the group", ref("Group"))),
    ("DELETE", "/api/groups/{code}"): dict(summary="delete a group", tag="groups", role="OPERATOR",
                                           params=[CODE], responses=ok("deleted", obj({"code": S, "deleted": B}))),
    ("GET", "/api/groups/{code}/members"): dict(summary="members of a group (masked)", tag="groups",
                                                params=[CODE] + PAGE,
                                                responses=ok("a page of subscribers", page(ref("User")))),
    ("PUT", "/api/groups/{code}/members/{user_id}"): dict(summary="add a member", tag="groups",
                                                          role="OPERATOR", params=[CODE, USER_ID],
                                                          responses=ok("a member (idempotent)", ANY_OBJ)),
    ("DELETE", "/api/groups/{code}/members/{user_id}"): dict(summary="remove a member", tag="groups",
                                                             role="OPERATOR", params=[CODE, USER_ID],
                                                             responses=ok("not a member (idempotent)", ANY_OBJ)),
    ("GET", "/api/templates"): dict(summary="latest version of every template", tag="templates", params=PAGE,
                                    responses=ok("a page of templates", page(ANY_OBJ))),
    ("POST", "/api/templates"): dict(summary="create a template (version 1) or a new version", tag="templates",
                                     role="OPERATOR", body=TEMPLATE_BODY,
                                     responses={**ok("created (version 1)", ANY_OBJ, "201"),
                                                **ok("a new version", ANY_OBJ)}),
    ("GET", "/api/templates/{code}"): dict(summary="a template version (?version=N)", tag="templates",
                                           params=[CODE, q("version", "0 or absent: the latest", "integer")],
                                           responses=ok("the template", ANY_OBJ)),
    ("PUT", "/api/templates/{code}"): dict(summary="save a new version", tag="templates", role="OPERATOR",
                                           params=[CODE], body=TEMPLATE_BODY,
                                           responses={**ok("the new version", ANY_OBJ),
                                                      **ok("created (version 1)", ANY_OBJ, "201")}),
    ("GET", "/api/templates/{code}/versions"): dict(summary="all versions, newest first", tag="templates",
                                                    params=[CODE] + PAGE,
                                                    responses=ok("a page of versions", page(ANY_OBJ))),
    ("POST", "/api/templates/{code}/enable"): dict(summary="enable a template", tag="templates",
                                                   role="OPERATOR", params=[CODE],
                                                   responses=ok("enabled", obj({"code": S, "enabled": B}))),
    ("POST", "/api/templates/{code}/disable"): dict(summary="disable a template", tag="templates",
                                                    role="OPERATOR", params=[CODE],
                                                    responses=ok("disabled", obj({"code": S, "enabled": B}))),
    ("POST", "/api/templates/{code}/preview"): dict(summary="render with sample data or a statement",
                                                    tag="templates", params=[CODE],
                                                    body=obj({"version": I, "sample": ANY_OBJ, "statement_id": I}),
                                                    responses=ok("rendered (phone and e-mail masked)", obj(
                                                        {"subject": S, "html": S, "text": S, "kind": S,
                                                         "bytes": I}))),
    ("GET", "/api/reservations"): dict(summary="reservations", tag="reservations",
                                       params=[q("status", "WAITING, PROCESSING, SENT or CANCELED")] + PAGE,
                                       responses=ok("a page of reservations", page(ANY_OBJ))),
    ("POST", "/api/reservations"): dict(summary="create a reservation", tag="reservations", role="OPERATOR",
                                        body=obj({"template_code": S, "group_code": S, "month": S,
                                                  "scheduled_at": S, "params": ANY_OBJ}),
                                        responses=ok("created", ANY_OBJ, "201")),
    ("GET", "/api/reservations/{id}"): dict(summary="a reservation", tag="reservations", params=[ID],
                                            responses=ok("the reservation", ANY_OBJ)),
    ("POST", "/api/reservations/{id}/cancel"): dict(summary="cancel a reservation", tag="reservations",
                                                    role="OPERATOR", params=[ID],
                                                    responses=ok("canceled", ANY_OBJ)),
    ("GET", "/api/messages"): dict(summary="search messages", tag="messages", params=MSG_FILTER + PAGE,
                                   responses=ok("a page of messages", page(ANY_OBJ))),
    ("GET", "/api/messages/dead"): dict(summary="dead letters", tag="messages",
                                        params=[p for p in MSG_FILTER if p["name"] != "status"] + PAGE,
                                        responses=ok("a page of DEAD messages", page(ANY_OBJ))),
    ("POST", "/api/messages/retry"): dict(summary="retry FAILED/DEAD messages by filter", tag="messages",
                                          role="OPERATOR",
                                          body=obj({p["name"]: p["schema"] for p in MSG_FILTER}),
                                          responses=ok("queued again", obj({"retried": I}), "202")),
    ("GET", "/api/messages/{id}"): dict(summary="a message with its attempts", tag="messages", params=[ID],
                                        responses=ok("the message", ANY_OBJ)),
    ("POST", "/api/messages/{id}/retry"): dict(summary="retry one message", tag="messages", role="OPERATOR",
                                               params=[ID], responses=ok("queued again", obj(
                                                   {"message_id": I, "status": S}), "202")),
    ("GET", "/api/stats"): dict(summary="message and batch statistics (cached about 1 s)", tag="stats",
                                params=[q("window", "minutes of sends per minute", "integer", minimum=1,
                                          maximum=1440, default=60)],
                                responses=ok("statistics", ANY_OBJ)),
    ("GET", "/api/audit"): dict(summary="audit log, newest first", tag="admin", params=PAGE,
                                responses=ok("a page of audit entries", page(ANY_OBJ))),
    ("GET", "/unsubscribe"): dict(
        summary="Korean confirmation page of an unsubscribe link (HTML)", public=True, tag="unsubscribe",
        params=[{**q("t", "the token of the List-Unsubscribe link (signed; no personal data)"), "required": True}],
        responses={"200": {"description": "the confirmation page with its one-click form",
                           "content": {"text/html": {"schema": S}}},
                   "400": {"description": "a malformed or tampered token (an HTML page); nothing changes",
                           "content": {"text/html": {"schema": S}}},
                   "429": {"description": "too many requests from this client; see Retry-After"}}),
    ("POST", "/unsubscribe"): dict(
        summary="one-click unsubscribe (the page's form or RFC 8058 List-Unsubscribe=One-Click)", public=True,
        tag="unsubscribe",
        params=[q("t", "the token (else a form field t)")],
        form=True,
        responses={"200": {"description": "the consent for the token's channel is off (audited; e-mail: the "
                                          "address is suppressed); an HTML page",
                           "content": {"text/html": {"schema": S}}},
                   "400": {"description": "a malformed or tampered token: nothing changes (an HTML page)",
                           "content": {"text/html": {"schema": S}}},
                   "413": {"description": "a body over 4 KiB"},
                   "429": {"description": "too many requests from this client; see Retry-After"}}),
    ("GET", "/api/suppressions"): dict(summary="suppressed e-mail addresses (masked)", tag="email", params=PAGE,
                                       responses=ok("a page of entries", page(ref("Suppression")))),
    ("POST", "/api/suppressions"): dict(
        summary="suppress an e-mail address (audited)", tag="email", role="OPERATOR",
        body=obj({"email": S, "reason": {"type": "string", "enum": ["HARD_BOUNCE", "COMPLAINT", "UNSUBSCRIBE",
                                                                     "MANUAL"], "default": "MANUAL"},
                  "note": S}, ["email"]),
        responses=ok("suppressed", obj({"address": {"type": "string", "description": "masked"},
                                        "reason": S}), "201")),
    ("DELETE", "/api/suppressions/{id}"): dict(summary="remove a suppression (audited)", tag="email",
                                               role="OPERATOR", params=[ID],
                                               responses=ok("removed", obj({"id": I, "removed": B}))),
    ("GET", "/api/admins"): dict(summary="admin users", tag="admin", role="ADMIN", params=PAGE,
                                 responses=ok("a page of admin users", page(ANY_OBJ))),
    ("POST", "/api/admins"): dict(summary="create an admin user", tag="admin", role="ADMIN",
                                  body=obj({"username": S, "password": S, "role": {
                                      "type": "string", "enum": ["ADMIN", "OPERATOR", "VIEWER"]}},
                                      ["username", "password"]),
                                  responses=ok("created", obj({"id": I, "username": S, "role": S}), "201")),
}

ERRORS = {
    "400": "malformed parameter or body (the error names the field)",
    "401": "no valid session",
    "403": "role too low, or CSRF token missing or wrong",
    "404": "no such object",
    "409": "state conflict",
    "413": "body larger than BILLING_HTTP_MAX_BODY",
    "415": "body is not application/json",
    "422": "invalid value (templates: with line and column)",
    "503": "database or Redis unavailable",
}


def build():
    paths = {}
    for (method, path), d in OPS.items():
        op = {"summary": d["summary"], "tags": [d["tag"]],
              "operationId": (method.lower() + path.replace("/api", "").replace("/", "_")
                              .replace("{", "").replace("}", "").replace(".", "_")).strip("_"),
              "responses": dict(d["responses"])}
        if d.get("params"):
            op["parameters"] = d["params"]
        if d.get("body"):
            op["requestBody"] = body(d["body"])
        if d.get("form"):
            op["requestBody"] = {"required": False, "content": {
                "application/x-www-form-urlencoded": {"schema": obj({"List-Unsubscribe": S, "t": S})},
                "multipart/form-data": {"schema": obj({"List-Unsubscribe": S})}}}
        if d.get("public"):
            op["security"] = []
        else:
            op["x-min-role"] = d.get("role", "VIEWER")
            if method != "GET":
                op["x-csrf"] = True
        for code, desc in ERRORS.items():
            if d.get("public") and code in ("401", "403"):
                continue
            if code in ("413", "415") and not d.get("body"):
                continue
            op["responses"].setdefault(code, {"$ref": "#/components/responses/Error" + code})
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "billing-httpd admin API", "version": "0.1.0",
                 "description": "Admin REST API of libbilling (docs/http.md). Every route except "
                                "POST /api/session, /unsubscribe, /healthz and /metrics needs the session cookie; "
                                "state-changing requests also need the X-CSRF-Token header. Lists are "
                                "pages: pass next_cursor back as ?cursor=. Phone numbers and e-mail "
                                "addresses are always masked."},
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "security": [{"session": [], "csrf": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "bl_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
            "responses": {"Error" + code: {"description": desc, "content": {
                "application/json": {"schema": ref("Error")}}} for code, desc in ERRORS.items()},
            "schemas": {
                "Error": obj({"error": obj({"code": S, "message": S,
                                            "field": {"type": "string", "nullable": True},
                                            "line": I, "column": I}, ["code", "message", "field"])},
                             ["error"]),
                "Session": obj({"username": S, "role": S, "csrf_token": S, "expires_at": I}),
                "Health": obj({"status": S, "db": S, "redis": S}),
                "BatchRun": obj({"id": I, "target_month": S, "mode": S, "status": S,
                                 "processed_count": I, "total_count": I, "progress": ANY_OBJ,
                                 "failures": {"type": "array", "items": ANY_OBJ}}),
                "User": obj({"id": I, "name": S, "phone": {"type": "string", "description": "masked"},
                             "email": {"type": "string", "description": "masked"}}),
                "Suppression": obj({"id": I, "address": {"type": "string", "description": "masked"},
                                    "reason": S, "detail": {"type": "string", "nullable": True},
                                    "message_id": {"type": "integer", "nullable": True},
                                    "created_by": S, "created_at": S}),
                "Group": obj({"id": I, "code": S, "name": S, "description": S, "kind": S,
                              "member_count": I}),
            },
        },
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "openapi.json")
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(build(), fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
