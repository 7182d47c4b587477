#!/usr/bin/env python3
"""The security findings that are reachable over HTTP, against billing-httpd
on the MariaDB and Redis of scripts/services.  Prints TAP.

A server of its own (the helpers of test_http.py) behind a "reverse proxy"
(127.0.0.1 is a trusted proxy, so X-Forwarded-For names the client), with
short deadlines and small limits: bounded template previews, the phone and
e-mail search (OPERATOR+, POST, audited, limited), the login backoff per
(account, client), connection limits and request deadlines, bodies of
requests without a session, control characters in the log, the
dashboard's statistics cache, and 409s without SQL.
"""
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_http as h  # noqa: E402

EXTRA = {
    "BILLING_HTTP_TRUSTED_PROXIES": "127.0.0.1",
    "BILLING_CONTACT_SEARCH_LIMIT": "3",
    "BILLING_HTTP_REQUEST_TIMEOUT_S": "3",
    "BILLING_HTTP_IDLE_TIMEOUT_S": "2",
    "BILLING_HTTP_MAX_PER_IP": "16",
    "MYSQL_LOCK_WAIT_TIMEOUT": "2",
}
_base_env = h.env


def env():
    e = _base_env()
    e.update(EXTRA)
    return e


h.env = env
Client, PASSWORD, sql, cli = h.Client, h.PASSWORD, h.sql, h.cli


def setUpModule():
    h.setUpModule()


def tearDownModule():
    h.tearDownModule()


def form(c, path, fields):
    return c.call("POST", path, raw=urllib.parse.urlencode(fields).encode(),
                  ctype="application/x-www-form-urlencoded")


def raw_conn():
    s = socket.create_connection(("127.0.0.1", h.SERVER["port"]), timeout=10)
    return s


def closed_within(s, seconds, trickle=None):
    """Seconds until the server closes `s` (None: still open), sending one
    byte of `trickle` every 0.5 s meanwhile."""
    t0 = time.monotonic()
    s.settimeout(0.5)
    i = 0
    while time.monotonic() - t0 < seconds:
        try:
            if trickle is not None:
                s.sendall(trickle[i % len(trickle):i % len(trickle) + 1])
                i += 1
            data = s.recv(4096)
            if data == b"":
                return time.monotonic() - t0
            if trickle is None:
                continue
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0
    return None


class S(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.admin = Client("admin")
        cls.oper = Client("oper")
        cls.viewer = Client("viewer")

    err = h.T.err

    # ---- 1. template previews are bounded ----

    def test_preview_of_a_hostile_draft_is_bounded(self):
        lists = {k: list(range(30)) for k in "abcdef"}
        decl = json.dumps({k: {"type": "list", "items": {}} for k in "abcdef"})
        body = "".join("{{#%s}}" % k for k in "abcdef") + "x" + "".join("{{/%s}}" % k for k in "fedcba")
        t0 = time.monotonic()
        r = form(self.viewer, "/admin/templates/NEW/preview",
                 {"code": "HOSTILE", "name": "x", "channel": "SMS", "purpose": "NOTICE", "body_text": body,
                  "variables": decl, "sample": json.dumps(lists)})
        took = time.monotonic() - t0
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json["ok"], r)
        self.assertIn("BILLING_TEMPLATE_MAX_STEPS", r.json["error"]["message"])
        self.assertLess(took, 5, "a 729-million-step draft took %.1f s" % took)
        r = form(self.viewer, "/admin/templates/NEW/preview",
                 {"code": "HOSTILE", "name": "x", "channel": "SMS", "purpose": "NOTICE",
                  "body_text": "{{#a}}{{#a}}{{#a}}x{{/a}}{{/a}}{{/a}}", "variables": decl,
                  "sample": json.dumps({"a": [1, 2, 3]})})
        self.assertFalse(r.json["ok"], r)
        self.assertIn("{{#a}} is inside {{#a}} already", r.json["error"]["message"])

    # ---- 3. phone and e-mail search ----

    def test_contact_search_needs_operator_post_and_is_audited_and_limited(self):
        phone = h.revealed_user(1)["phone"]
        r = self.viewer.call("GET", "/api/users?phone=" + urllib.parse.quote(phone))
        e = self.err(r, 400)
        self.assertIn("POST /api/users/search", e["message"])
        self.err(self.viewer.call("POST", "/api/users/search", {"phone": phone}), 403, "forbidden")
        r = self.oper.call("POST", "/api/users/search", {"phone": phone})
        self.assertEqual(r.status, 200, r)
        self.assertEqual([u["id"] for u in r.json["items"]], [1])
        self.assertNotIn(phone, r.raw.decode())
        # by name: no limit, no audit
        for _ in range(5):
            self.assertEqual(self.oper.call("POST", "/api/users/search", {"name": "김"}).status, 200)
        self.assertEqual(self.oper.call("POST", "/api/users/search", {"email": "nobody@example.com"}).status, 200)
        self.assertEqual(self.oper.call("POST", "/api/users/search", {"phone": "010-0000-0000"}).status, 200)
        r = self.oper.call("POST", "/api/users/search", {"phone": phone})
        self.err(r, 429, "too_many_requests")
        self.assertGreater(int(r.headers["Retry-After"]), 0)
        # another admin has a budget of their own; the pages post too
        r = form(self.admin, "/admin/groups/USER_ALL/search", {"q_phone": phone})
        self.assertEqual(r.status, 200, r)
        self.assertIn('id="found"', r.raw.decode())
        r = self.admin.call("GET", "/admin/groups/USER_ALL?q_phone=" + urllib.parse.quote(phone))
        self.assertEqual(r.status, 400, r)
        self.assertNotIn('id="found"', r.raw.decode())
        page = self.viewer.call("GET", "/admin/groups/USER_ALL").raw.decode()
        self.assertNotIn('name="q_phone"', page, "a viewer is offered the phone search")
        audit = self.admin.call("GET", "/api/audit?limit=200").json["items"]
        searches = [a for a in audit if a["action"] == "user.search"]
        self.assertEqual(len(searches), 5, searches)
        self.assertNotIn(phone, json.dumps(audit, ensure_ascii=False))
        self.assertTrue(any(a["actor"] == "oper" and (a.get("detail") or {}).get("refused") for a in searches))
        self.assertNotIn(phone, h.log_text())

    # ---- 5. logins behind the proxy ----

    def test_login_backoff_per_forwarded_client(self):
        attacker = {"X-Forwarded-For": "203.0.113.66"}
        for _ in range(3):
            r = Client().call("POST", "/api/session", {"username": "admin", "password": "wrong password!"},
                              headers=attacker)
            self.err(r, 401, "unauthenticated")
        # a client that claims another hop still is 203.0.113.66 (the rightmost untrusted)
        spoof = {"X-Forwarded-For": "10.9.9.9, 203.0.113.66"}
        r = Client().call("POST", "/api/session", {"username": " Admin", "password": PASSWORD}, headers=spoof)
        self.err(r, 429, "too_many_requests")
        # the real admin, elsewhere, is not locked out
        c = Client()
        r = c.call("POST", "/api/session", {"username": "admin", "password": PASSWORD},
                   headers={"X-Forwarded-For": "198.51.100.7"})
        self.assertEqual(r.status, 200, r)
        audit = self.admin.call("GET", "/api/audit?limit=100").json["items"]
        clients = {(a.get("detail") or {}).get("client") for a in audit if a["action"].startswith("login")}
        self.assertIn("203.0.113.66", clients)
        self.assertIn("198.51.100.7", clients)
        self.assertIn("203.0.113.66 POST /api/session", h.log_text())

    # ---- 6. connection limits and deadlines ----

    def test_a_trickled_request_is_cut_at_its_deadline(self):
        s = raw_conn()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        took = closed_within(s, 10, trickle=b"X-Slow: a\r\n")
        s.close()
        self.assertIsNotNone(took, "a header trickle held the connection for 10 s")
        self.assertLess(took, 6)
        s = raw_conn()
        s.sendall(b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n{")
        took = closed_within(s, 10, trickle=b" ")
        s.close()
        self.assertIsNotNone(took, "a body trickle held the connection for 10 s")
        # a normal request still works
        self.assertEqual(Client().call("GET", "/healthz").status, 200)

    def test_connections_per_address_are_limited(self):
        socks = [raw_conn() for _ in range(24)]
        try:
            time.sleep(0.5)
            closed = sum(1 for s in socks if closed_within(s, 1) is not None)
            self.assertGreaterEqual(closed, 8, "%d of 24 connections refused (limit 16)" % closed)
        finally:
            for s in socks:
                s.close()
        time.sleep(0.5)
        self.assertEqual(Client().call("GET", "/healthz").status, 200)

    def test_bodies_of_requests_without_a_session_are_not_read(self):
        # the API: 401 from the headers, the 8 MB never sent
        s = raw_conn()
        s.sendall(b"POST /api/groups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 8000000\r\n\r\n")
        s.settimeout(5)
        head = s.recv(4096)
        s.close()
        self.assertTrue(head.startswith(b"HTTP/1.1 401"), head[:100])
        # a page's form: dropped unread, the login page as always
        t0 = time.monotonic()
        r = Client().call("POST", "/admin/groups", raw=b"code=X&name=" + b"y" * 200000,
                          ctype="application/x-www-form-urlencoded")
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn(r.status, (200, 303, 401), r)
        self.assertEqual(self.admin.call("GET", "/api/groups/X").status, 404)

    # ---- 7. the log ----

    def test_control_characters_are_escaped_in_the_log(self):
        Client().call("GET", "/api/nothing%0Afake%20line%1B%5B31m")
        want = "/api/nothing\\x0afake line\\x1b[31m"
        deadline = time.monotonic() + 5  # the line is written once the answer has gone out
        while want not in h.log_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        text = h.log_text()
        self.assertIn(want, text)
        self.assertFalse(any(line.startswith("fake line") for line in text.splitlines()))
        self.assertNotIn("\x1b", text)

    # ---- 8. the dashboard reads the cached statistics ----

    def test_dashboard_uses_the_statistics_cache(self):
        def computed():
            m = Client().call("GET", "/metrics").raw.decode()
            for line in m.splitlines():
                if line.startswith("billing_stats_computations_total "):
                    return int(line.split()[1])
            self.fail("no billing_stats_computations_total in /metrics")
        self.assertEqual(self.viewer.call("GET", "/admin").status, 200)
        before = computed()
        for _ in range(12):
            self.assertEqual(self.viewer.call("GET", "/admin").status, 200)
        self.assertLessEqual(computed() - before, 3, "12 dashboards computed the statistics each time")

    # ---- 11. 409 without SQL ----

    def test_lock_wait_answers_409_without_sql(self):
        self.assertEqual(self.admin.call("POST", "/api/groups", {"code": "LOCKED", "name": "x"}).status, 201)
        e = env()
        e["MYSQL_PWD"] = e["MYSQL_PASSWORD"]
        holder = subprocess.Popen(
            ["mariadb", "--no-defaults", "--protocol=TCP", "-h" + e["MYSQL_HOST"], "-P" + e["MYSQL_PORT"],
             "-u" + e["MYSQL_USER"], h.DB, "-e",
             "START TRANSACTION; SELECT id FROM user_groups WHERE code = 'LOCKED' FOR UPDATE; "
             "SELECT SLEEP(6); COMMIT;"], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1)
            r = self.admin.call("PATCH", "/api/groups/LOCKED", {"name": "y"})
            err = self.err(r, 409)
            self.assertNotIn("SQL", err["message"])
            self.assertNotIn("MariaDB", err["message"])
            self.assertNotIn("user_groups", err["message"])
            self.assertIn("MariaDB error 1205", h.log_text())
        finally:
            holder.wait(timeout=30)

    # ---- 12. saturation: 503 with Retry-After, not an unbounded queue ----

    def test_a_saturated_server_answers_503_with_retry_after(self):
        """A server with one context (--threads 1) that waits 300 ms for it:
        while a request holds the context (its write waits for a row lock),
        another request is answered 503 with Retry-After within about the
        wait, not queued; then the server answers again."""
        self.assertEqual(self.admin.call("POST", "/api/groups", {"code": "BUSY", "name": "x"}).status, 201)
        tmp = h.SERVER["tmp"]
        log = open(os.path.join(tmp, "httpd-busy.log"), "w+b")
        e = env()
        e.update({"BILLING_HTTP_QUEUE_WAIT_MS": "300", "BILLING_HTTP_QUEUE_MAX": "4"})
        proc = subprocess.Popen([h.HTTPD, "--port", "0", "--bind", "127.0.0.1", "--threads", "1"], env=e, cwd=tmp,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        main_port = h.SERVER["port"]
        holder = None
        try:
            port = None
            for _ in range(200):
                m = re.search(r"listening on 127\.0\.0\.1:(\d+)", open(log.name, errors="replace").read())
                if m:
                    port = int(m.group(1))
                    break
                self.assertIsNone(proc.poll(), "billing-httpd --threads 1 exited")
                time.sleep(0.05)
            self.assertIsNotNone(port, "billing-httpd --threads 1 did not start")
            h.SERVER["port"] = port  # Client.call reads it
            c = Client("oper")
            self.assertEqual(c.call("GET", "/api/groups").status, 200)
            e2 = env()
            e2["MYSQL_PWD"] = e2["MYSQL_PASSWORD"]
            holder = subprocess.Popen(
                ["mariadb", "--no-defaults", "--protocol=TCP", "-h" + e2["MYSQL_HOST"], "-P" + e2["MYSQL_PORT"],
                 "-u" + e2["MYSQL_USER"], h.DB, "-e",
                 "START TRANSACTION; SELECT id FROM user_groups WHERE code = 'BUSY' FOR UPDATE; "
                 "SELECT SLEEP(4); COMMIT;"], env=e2, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
            slow = {}
            t = threading.Thread(target=lambda: slow.update(r=c.call("PATCH", "/api/groups/BUSY", {"name": "y"})))
            t.start()
            time.sleep(0.5)  # the PATCH holds the only context, waiting for the row lock (2 s)
            t0 = time.monotonic()
            r = c.call("GET", "/api/groups")
            took = time.monotonic() - t0
            err = self.err(r, 503)
            self.assertEqual(err["code"], "unavailable")
            self.assertTrue((r.headers.get("Retry-After") or "").isdigit(), r.headers)
            self.assertGreaterEqual(int(r.headers["Retry-After"]), 1)
            self.assertLess(took, 1.5, "answered after the queue wait, not after the slow request")
            # cheap requests that need no context still answer
            self.assertEqual(c.call("GET", "/api/stats").status, 200)
            t.join(30)
            self.assertEqual(slow["r"].status, 409, slow["r"])  # the lock wait ran out
            self.assertEqual(c.call("GET", "/api/groups").status, 200, "the context is back")
            metrics = c.call("GET", "/metrics").raw.decode()
            m = re.search(r"^billing_http_busy_total (\d+)$", metrics, re.M)
            self.assertTrue(m and int(m.group(1)) >= 1, metrics[-500:])
        finally:
            h.SERVER["port"] = main_port
            if holder:
                holder.wait(timeout=30)
            proc.terminate()
            proc.wait(timeout=20)
            log.close()


def main():
    # the suite runs setUpModule/tearDownModule itself (module fixtures)
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = h.Tap()
    suite.run(result)
    print("1..%d" % result.n)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
