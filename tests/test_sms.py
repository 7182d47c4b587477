#!/usr/bin/env python3
"""Real SMS end to end (issue 16, docs/senders.md "SMS gateways"): billing-worker
sends the statements of a month as billing SMS through two gateways in priority
order — gw1 speaks NAVER Cloud SENS v2 (results polled), gw2 the generic JSON
webhook (results by webhook into billing-httpd /hooks/sms/gw2) — both played by
tests/sms_standin.py, which refuses anything off the documented wire format.
gw1 fails every request for a window: its breaker opens, traffic moves to gw2
and comes back; each message is accepted exactly once (ledger and stand-ins
agree), every delivery result lands, undelivered ones are sent again.  Then
bad input: a hung gateway, a garbage answer, 429 with Retry-After, a refused
message, a bad webhook signature, a replayed webhook, an unknown request id.

Prints TAP.  BL_SMS_E2E_USERS (default 2000, the issue's size) scales the run.
"""
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_python import SRC, MONTH, TapResult, settings  # noqa: E402
from test_smtp import sql                                 # noqa: E402
import billing                                            # noqa: E402

USERS = int(os.environ.get("BL_SMS_E2E_USERS", "2000"))
RUN_DIR = os.environ.get("BL_RUN_DIR") or os.path.join(SRC, ".run")
BUILD = os.environ.get("BL_BUILD_DIR") or os.path.join(SRC, "build")
WORKER = os.path.join(BUILD, "frontends", "worker", "billing-worker")
HTTPD = os.path.join(BUILD, "frontends", "httpd", "billing-httpd")
STANDIN = os.path.join(HERE, "sms_standin.py")
SID, AK, SK, HOOK = "ncp:sms:kr:1234567:billing", "AKTESTKEY0001", "sens-secret-1", "hook-secret-2"
FROM = "0212345678"
PROCS = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(method, url, body=None, headers=None, timeout=10):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def start(args, log, ready=None):
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE if ready else subprocess.DEVNULL,
                         stderr=open(os.path.join(RUN_DIR, log), "a"), env=dict(os.environ, **ENV))
    PROCS.append(p)
    if ready:
        assert ready in p.stdout.readline().decode(), "%s did not start" % args[0]
    return p


def standin(port, hook_url=""):
    return start([sys.executable, STANDIN, "--port", str(port), "--service-id", SID, "--access-key", AK,
                  "--secret", SK, "--from", FROM, "--hook-url", hook_url, "--hook-secret", HOOK,
                  "--webhook-secret", "wh-secret"], "test-sms-standin.log", "ready")


def control(port, **kw):
    code, _ = http("POST", "http://127.0.0.1:%d/_control" % port, json.dumps(kw).encode())
    assert code == 200


def stats(port):
    return json.loads(http("GET", "http://127.0.0.1:%d/_stats" % port)[1])


def signed(body, secret=HOOK, ts=None):
    ts = ts or str(int(time.time() * 1000))
    sig = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Timestamp": ts, "X-Signature-SHA256": sig}


GW1, GW2, HTTP_PORT = free_port(), free_port(), free_port()
ENV = {}


def gateway_settings(**extra):
    s = settings("sms", BILLING_SMS_FROM="02-1234-5678",
                 BILLING_SMS_1_TYPE="sens", BILLING_SMS_1_NAME="gw1", BILLING_SMS_1_URL="http://127.0.0.1:%d" % GW1,
                 BILLING_SMS_1_SERVICE_ID=SID, BILLING_SMS_1_ACCESS_KEY=AK, BILLING_SMS_1_SECRET=SK,
                 BILLING_SMS_2_TYPE="webhook", BILLING_SMS_2_NAME="gw2",
                 BILLING_SMS_2_URL="http://127.0.0.1:%d/webhook/sms" % GW2, BILLING_SMS_2_SECRET="wh-secret",
                 BILLING_SMS_2_AUTH="hmac", BILLING_SMS_2_HOOK_SECRET=HOOK,
                 BILLING_SMS_CONNECT_TIMEOUT_MS="1000", BILLING_SMS_TIMEOUT_MS="2000",
                 BILLING_SMS_BREAKER_FAILURES="5", BILLING_SMS_BREAKER_OPEN_MS="1000",
                 BILLING_SMS_POLL_MS="300", BILLING_SMS_POLL_BATCH="500",
                 BILLING_RETRY_SMS_ATTEMPTS="10", BILLING_RETRY_BASE_MS="200", BILLING_RETRY_CAP_MS="1000",
                 BILLING_PENDING_IDLE_MS="5000", BILLING_SCHEDULER="0",
                 BILLING_HTTP_PORT=str(HTTP_PORT))
    s.update(extra)
    return s


class SmsEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cfg = gateway_settings()
        ENV.clear()
        ENV.update(cls.cfg)
        cls.ctx = billing.connect(env_file="/nonexistent", **cls.cfg)
        ctx = cls.ctx
        ctx.drop_database()
        ctx.create_database()
        ctx.migrate()
        ctx.seed(USERS, MONTH, seed=7, invalid_permille=0)
        sql(cls.cfg, "UPDATE users SET preferred_channel = 'SMS', consent_sms = 1, consent_email = 0")
        ctx.batch_run(MONTH, partitions=2)
        cls.enqueued = ctx.message_enqueue_statements(MONTH)
        cls.httpd = start([HTTPD, "--port", str(HTTP_PORT), "--threads", "4", "--no-access-log"], "test-sms-httpd.log")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if http("GET", "http://127.0.0.1:%d/healthz" % HTTP_PORT)[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        standin(GW1)
        standin(GW2, "http://127.0.0.1:%d/hooks/sms/gw2" % HTTP_PORT)
        # gw1: a few numbers are not delivered the first time; results after 200 ms
        control(GW1, undelivered_mod=37, result_ms=200)
        control(GW2, webhook=True, result_ms=200)
        cls.run_with_outage()

    @classmethod
    def open_count(cls):
        return int(sql(cls.cfg, "SELECT COUNT(*) FROM messages WHERE channel = 'SMS' AND status IN "
                                "('WAITING','PROCESSING','FAILED','SUCCESS')")[0][0])

    @classmethod
    def run_with_outage(cls):
        w = start([WORKER, "--threads", "4"], "test-sms-worker.log")
        t0 = time.monotonic()
        while stats(GW1)["accepted"] < USERS // 5 and time.monotonic() - t0 < 60:
            time.sleep(0.05)
        cls.gw1_before = stats(GW1)["accepted"]
        cls.gw2_before = stats(GW2)["accepted"]
        control(GW1, mode="5xx")                 # gw1 fails every request for a window
        t1 = time.monotonic()
        while stats(GW2)["accepted"] < cls.gw2_before + USERS // 5 and time.monotonic() - t1 < 60:
            time.sleep(0.05)
        cls.gw1_during = stats(GW1)["accepted"]
        cls.gw2_during = stats(GW2)["accepted"]
        cls.refused_during = stats(GW1)["refused"]
        control(GW1, mode="ok")                  # back: traffic returns after a half-open probe
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and cls.open_count() > 0:
            time.sleep(0.3)
        cls.metrics = http("GET", "http://127.0.0.1:%d/metrics" % HTTP_PORT)[1].decode()
        w.send_signal(signal.SIGTERM)
        w.wait(30)
        cls.s1, cls.s2 = stats(GW1), stats(GW2)

    @classmethod
    def tearDownClass(cls):
        for p in PROCS:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        try:
            if not os.environ.get("BL_SMS_KEEP_DB"):
                cls.ctx.drop_database()
        finally:
            cls.ctx.close()

    def test_01_every_statement_delivered(self):
        self.assertEqual(self.enqueued["created"], USERS)
        st = dict((s, int(n)) for s, n in sql(self.cfg, "SELECT status, COUNT(*) FROM messages "
                                                         "WHERE channel = 'SMS' GROUP BY status"))
        self.assertEqual(st, {"DELIVERED": USERS}, st)

    def test_02_wire_format_accepted_by_the_standins(self):
        self.assertEqual(self.s1["format_errors"], 0, self.s1["errors"])
        self.assertEqual(self.s2["format_errors"], 0, self.s2["errors"])

    def test_03_breaker_opened_traffic_moved_and_came_back(self):
        self.assertGreater(self.gw1_before, 0)
        self.assertGreater(self.refused_during, 0, "gw1 was never tried during its outage")
        self.assertGreaterEqual(self.gw2_during - self.gw2_before, USERS // 5)
        # while open, gw1 saw only probes: far fewer requests than were sent
        self.assertLess(self.refused_during, (self.gw2_during - self.gw2_before) // 2)
        self.assertGreater(self.s1["accepted"], self.gw1_during, "traffic did not return to gw1")
        opened = int(sql(self.cfg, "SELECT COALESCE(SUM(opened), 0) FROM sms_provider_state "
                                   "WHERE provider = 'gw1'")[0][0])
        self.assertGreaterEqual(opened, 1)
        self.assertIn('billing_sms_gateway_breaker_state{provider="gw1"', self.metrics)
        self.assertIn('billing_sms_gateway_breaker_opened_total{provider="gw1"', self.metrics)

    def test_04_each_message_accepted_exactly_once(self):
        undelivered = int(sql(self.cfg, "SELECT COUNT(*) FROM sms_results WHERE result = 'UNDELIVERED' "
                                        "AND outcome = 'RETRY'")[0][0])
        self.assertGreater(undelivered, 0, "no undelivered result was retried")
        accepted = self.s1["accepted"] + self.s2["accepted"]
        self.assertEqual(accepted, USERS + undelivered)
        # every accept of a gateway is the request id of exactly one attempt
        ids = [r[0] for r in sql(self.cfg, "SELECT request_id FROM message_attempts WHERE request_id IS NOT NULL")]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(set(ids), set(self.s1["request_ids"]) | set(self.s2["request_ids"]))
        # one ledger row per message, naming the gateway that delivered it
        rows = sql(self.cfg, "SELECT COUNT(*), COUNT(DISTINCT message_id), SUM(duplicate_requests), "
                             "SUM(result = 'DELIVERED') FROM message_ledger")[0]
        self.assertEqual([int(x) for x in rows], [USERS, USERS, 0, USERS])
        per_to = list(self.s1["accepts_per_to"].items()) + list(self.s2["accepts_per_to"].items())
        numbers = {}
        for to, n in per_to:
            numbers[to] = numbers.get(to, 0) + n
        self.assertEqual(len(numbers), USERS)
        self.assertEqual(sum(1 for n in numbers.values() if n > 2), 0)
        self.assertEqual(self.s2["webhook_duplicates"], 0)

    def test_05_every_result_landed_by_poll_and_webhook(self):
        src = dict((s, int(n)) for s, n in sql(self.cfg, "SELECT source, COUNT(*) FROM sms_results "
                                                          "WHERE outcome IN ('APPLIED','RETRY') GROUP BY source"))
        self.assertGreater(src.get("POLL", 0), 0)
        self.assertGreater(src.get("WEBHOOK", 0), 0)
        by_gw = dict(sql(self.cfg, "SELECT provider, COUNT(*) FROM message_ledger GROUP BY provider"))
        self.assertEqual(set(by_gw), {"gw1", "gw2"})
        missing = int(sql(self.cfg, "SELECT COUNT(*) FROM message_attempts WHERE request_id IS NOT NULL "
                                    "AND result IS NULL")[0][0])
        self.assertEqual(missing, 0)
        codes = dict(sql(self.cfg, "SELECT result, MIN(result_code) FROM message_attempts "
                                   "WHERE result IS NOT NULL GROUP BY result"))
        self.assertEqual(codes, {"DELIVERED": "0", "UNDELIVERED": "3018"})

    # ---- webhook bad input ----
    def hook(self, body, headers):
        code, out = http("POST", "http://127.0.0.1:%d/hooks/sms/gw2" % HTTP_PORT, body, headers)
        return code, json.loads(out or b"{}")

    def counts(self):
        return sql(self.cfg, "SELECT (SELECT COUNT(*) FROM sms_results), (SELECT SUM(repeats) FROM sms_results), "
                             "(SELECT GROUP_CONCAT(CONCAT(status, ':', n)) FROM (SELECT status, COUNT(*) n FROM messages "
                             "GROUP BY status) x)")[0]

    def test_06_bad_signature_401_nothing_changes(self):
        rid = sql(self.cfg, "SELECT request_id FROM message_ledger WHERE provider = 'gw2' LIMIT 1")[0][0]
        body = json.dumps({"requestId": rid, "status": "COMPLETED", "statusName": "fail",
                           "statusCode": "3018"}).encode()
        before = self.counts()
        for h in (signed(body, "wrong-secret"), {"Content-Type": "application/json"},
                  dict(signed(body), **{"X-Signature-SHA256": "zz" * 32})):
            code, _ = self.hook(body, h)
            self.assertEqual(code, 401)
        self.assertEqual(self.counts(), before)
        # the stand-in's own bad-signature switch is refused the same way
        control(GW2, bad_signature=True)
        code, _ = http("POST", "http://127.0.0.1:%d/_replay" % GW2)
        control(GW2, bad_signature=False)
        self.assertEqual(code, 200)
        self.assertGreaterEqual(stats(GW2)["hook_status"].get("401", 0), 1)
        self.assertEqual(self.counts(), before)

    def test_07_replayed_and_out_of_order_results_change_nothing(self):
        mid, rid = sql(self.cfg, "SELECT message_id, request_id FROM message_ledger WHERE provider = 'gw2' "
                                 "LIMIT 1")[0]
        ok = json.dumps({"requestId": rid, "status": "COMPLETED", "statusName": "success",
                         "statusCode": "0"}).encode()
        code, out = self.hook(ok, signed(ok))
        self.assertEqual((code, out["outcome"]), (200, "IGNORED"))
        # a later "fail" for a delivered message never moves it backwards
        fail = json.dumps({"requestId": rid, "status": "COMPLETED", "statusName": "fail",
                           "statusCode": "3018"}).encode()
        code, out = self.hook(fail, signed(fail))
        self.assertEqual((code, out["outcome"]), (200, "IGNORED"))
        self.assertEqual(sql(self.cfg, "SELECT status FROM messages WHERE id = %s" % mid)[0][0], "DELIVERED")
        self.assertGreaterEqual(int(sql(self.cfg, "SELECT repeats FROM sms_results WHERE provider = 'gw2' "
                                                  "AND request_id = '%s' AND result = 'DELIVERED'" % rid)[0][0]), 1)

    def test_08_unknown_request_id_and_garbage(self):
        body = json.dumps({"requestId": "Rnobody", "status": "COMPLETED", "statusName": "success",
                           "statusCode": "0"}).encode()
        code, out = self.hook(body, signed(body))
        self.assertEqual((code, out["outcome"]), (200, "UNKNOWN"))
        for junk in (b'{"foo": 1}', b'{"requestId": "R1", "status": "PROCESSING", "statusName": "success"}'):
            code, _ = self.hook(junk, signed(junk))
            self.assertEqual(code, 400)
        code, _ = http("POST", "http://127.0.0.1:%d/hooks/sms/nosuch" % HTTP_PORT, body, signed(body))
        self.assertEqual(code, 404)


class GatewayFaults(unittest.TestCase):
    """One SENS gateway misbehaving; each case re-sends a few messages with a short-lived worker."""
    N = 6

    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.cfg = settings("smsfault", BILLING_SMS_FROM="0212345678", BILLING_SMS_1_TYPE="sens",
                           BILLING_SMS_1_NAME="gw1", BILLING_SMS_1_URL="http://127.0.0.1:%d" % cls.port,
                           BILLING_SMS_1_SERVICE_ID=SID, BILLING_SMS_1_ACCESS_KEY=AK, BILLING_SMS_1_SECRET=SK,
                           BILLING_SMS_CONNECT_TIMEOUT_MS="500", BILLING_SMS_TIMEOUT_MS="1000",
                           BILLING_SMS_BREAKER_FAILURES="1000", BILLING_SMS_POLL_MS="0",
                           BILLING_RETRY_SMS_ATTEMPTS="1", BILLING_PENDING_IDLE_MS="5000", BILLING_SCHEDULER="0")
        cls.ctx = billing.connect(env_file="/nonexistent", **cls.cfg)
        cls.ctx.drop_database()
        cls.ctx.create_database()
        cls.ctx.migrate()
        cls.ctx.seed(cls.N, MONTH, seed=3, invalid_permille=0)
        sql(cls.cfg, "UPDATE users SET preferred_channel = 'SMS', consent_sms = 1, consent_email = 0")
        cls.ctx.batch_run(MONTH, partitions=1)
        cls.ctx.message_enqueue_statements(MONTH)
        ENV.clear()
        ENV.update(cls.cfg)
        standin(cls.port)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.ctx.drop_database()
        finally:
            cls.ctx.close()

    def run_case(self, env=None, **switches):
        sql(self.cfg, "DELETE FROM message_ledger; DELETE FROM message_attempts; UPDATE messages SET status = "
                      "'WAITING', attempts = 0, policy_attempts = 0, last_error = NULL, published_at = NULL, "
                      "next_attempt_at = NOW(3)")
        control(self.port, **dict({"mode": "ok", "latency_ms": 0, "retry_after": 0}, **switches))
        self.refused_before = stats(self.port)["refused"]
        e = dict(os.environ, **self.cfg)
        e.update(env or {})
        subprocess.run([WORKER, "--threads", "2", "--idle-exit-ms", "2500"], env=e, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=open(os.path.join(RUN_DIR, "test-sms-worker.log"), "a"),
                       timeout=120, check=False)
        return sql(self.cfg, "SELECT status, last_error FROM messages")

    def test_01_hung_gateway_is_transient_and_not_failed_over(self):
        rows = self.run_case(mode="hang")
        self.assertEqual({s for s, _ in rows}, {"DEAD"})
        self.assertTrue(all("maybe accepted" in e for _, e in rows), rows)

    def test_02_garbage_answer(self):
        rows = self.run_case(mode="garbage")
        self.assertEqual({s for s, _ in rows}, {"DEAD"})
        self.assertTrue(all("garbage answer" in e for _, e in rows), rows)

    def test_03_throttled_honours_retry_after(self):
        rows = self.run_case({"BILLING_RETRY_SMS_ATTEMPTS": "3"}, mode="429", retry_after=30)
        self.assertEqual({s for s, _ in rows}, {"FAILED"})
        # the first answers were 429; no request reached the gateway during its Retry-After
        n429 = sum(1 for _, e in rows if "HTTP 429" in e)
        self.assertGreaterEqual(n429, 1, rows)
        self.assertTrue(all("HTTP 429" in e or "Retry-After" in e for _, e in rows), rows)
        self.assertEqual(stats(self.port)["refused"] - self.refused_before, n429)
        wait = int(sql(self.cfg, "SELECT MIN(TIMESTAMPDIFF(SECOND, NOW(3), next_attempt_at)) FROM messages")[0][0])
        self.assertGreaterEqual(wait, 20)

    def test_04_refused_message_is_permanent(self):
        # a sender number the gateway has not registered: 400 → never retried
        rows = self.run_case({"BILLING_SMS_FROM": "0299998888", "BILLING_RETRY_SMS_ATTEMPTS": "5"})
        self.assertEqual({s for s, _ in rows}, {"DEAD"})
        self.assertTrue(all("permanent failure" in e and "HTTP 400" in e for _, e in rows), rows)

    def test_05_wrong_secret_is_refused_as_transient(self):
        rows = self.run_case({"BILLING_SMS_1_SECRET": "not-the-secret"})
        self.assertEqual({s for s, _ in rows}, {"DEAD"})
        self.assertTrue(all("HTTP 401" in e for _, e in rows), rows)

    def test_06_then_it_works(self):
        rows = self.run_case()
        self.assertEqual({s for s, _ in rows}, {"SUCCESS"})
        self.assertEqual(int(sql(self.cfg, "SELECT COUNT(*) FROM message_ledger WHERE request_id LIKE 'R%'")[0][0]),
                         self.N)


if __name__ == "__main__":
    suite = unittest.TestSuite()
    for c in (SmsEndToEnd, GatewayFaults):
        suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(c))
    runner = unittest.TextTestRunner(resultclass=TapResult, verbosity=0, stream=sys.stderr)
    res = runner.run(suite)
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    sys.exit(0 if res.wasSuccessful() else 1)
