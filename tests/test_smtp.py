#!/usr/bin/env python3
"""Real e-mail end to end (issue 26, docs/email.md): billing-worker sends the
statements of a month through a private Postfix (scripts/services start mta)
over STARTTLS with certificate checks; every delivered file is parsed with
Python's email package; recipients refused at RCPT and recipients that
bounce after acceptance (a real DSN) end BOUNCED and suppressed; the MTA is
stopped in the middle of the run and every message is still delivered
exactly once; the one-click unsubscribe through billing-httpd's real
/unsubscribe (the URL taken from a delivered notice's List-Unsubscribe),
then a NOTICE → SUPPRESSED; bad DSNs, a
forged VERP tag and SMTP servers that answer garbage or hang.

Prints TAP.  BL_SMTP_E2E_USERS (default 1000) scales the run.
"""
import email
import email.policy
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_python import SRC, DATA_KEY, MONTH, TapResult, settings  # noqa: E402
import billing                                                      # noqa: E402

USERS = int(os.environ.get("BL_SMTP_E2E_USERS", "1000"))
MTA_PORT = int(os.environ.get("MTA_PORT", "12525"))
RUN_DIR = os.environ.get("BL_RUN_DIR") or os.path.join(SRC, ".run")
PF = os.path.join(RUN_DIR, "postfix")
INBOX, BOUNCES = os.path.join(PF, "mail", "inbox"), os.path.join(PF, "mail", "bounces")
BUILD = os.environ.get("BL_BUILD_DIR") or os.path.join(SRC, "build")
WORKER = os.path.join(BUILD, "frontends", "worker", "billing-worker")
HTTPD = os.path.join(BUILD, "frontends", "httpd", "billing-httpd")
SERVICES = os.path.join(SRC, "scripts", "services")
NOUSER = set(range(7, USERS + 1, 97))          # refused at RCPT: 550 5.1.1
GONE = set(range(11, USERS + 1, 89)) - NOUSER  # accepted, then a DSN
PLAIN = re.compile(r"[A-Za-z0-9._%+-]+@customers\.test")


def services(*args):
    env = dict(os.environ, MTA_PORT=str(MTA_PORT), BL_RUN_DIR=RUN_DIR)
    return subprocess.run([SERVICES, *args], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)


def maildir_files(md):
    return [p for sub in ("new", "cur") for p in glob.glob(os.path.join(md, sub, "*"))]


def wipe(md):
    for sub in ("new", "cur", "tmp"):
        for p in glob.glob(os.path.join(md, sub, "*")):
            os.unlink(p)


def address(i):
    if i in NOUSER:
        return "nouser-%d@customers.test" % i
    if i in GONE:
        return "gone-%d@customers.test" % i
    return "subscriber%d@customers.test" % i


def smtp_settings(**extra):
    s = settings("smtp", BILLING_EMAIL_PROVIDER="smtp",
                 BILLING_SMTP_RELAYS="smtp://127.0.0.1:%d" % MTA_PORT,
                 BILLING_SMTP_STARTTLS="required", BILLING_SMTP_TLS_VERIFY="1",
                 BILLING_SMTP_CA_FILE=os.path.join(PF, "tls", "cert.pem"),
                 BILLING_SMTP_HELO="worker.billing.test",
                 BILLING_SMTP_CONNECT_TIMEOUT_MS="2000", BILLING_SMTP_TIMEOUT_MS="5000",
                 BILLING_SMTP_RELAY_RETRY_MS="300",
                 BILLING_MAIL_FROM="billing@billing.test", BILLING_MAIL_DOMAIN="billing.test",
                 BILLING_MAIL_REPLY_TO="help@billing.test",
                 BILLING_UNSUBSCRIBE_URL="https://billing.test/unsubscribe",
                 BILLING_RETRY_EMAIL_ATTEMPTS="30", BILLING_RETRY_BASE_MS="200",
                 BILLING_RETRY_CAP_MS="1000", BILLING_PENDING_IDLE_MS="3000",
                 BILLING_MOCK_SMS_TRANSIENT_PERMILLE="0", BILLING_SCHEDULER="0")
    s.update(extra)
    return s


def sql(ctx_settings, query):
    env = dict(os.environ, MYSQL_PWD=os.environ.get("MYSQL_PASSWORD", "app"))
    out = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", "-P" + os.environ.get("MYSQL_PORT", "13306"),
                          "-u" + os.environ.get("MYSQL_USER", "app"), "-N", "-B",
                          ctx_settings["MYSQL_DATABASE"]], input=query, env=env,
                         capture_output=True, text=True, timeout=120)
    if out.returncode:
        raise AssertionError("mariadb: " + out.stderr)
    return [line.split("\t") for line in out.stdout.splitlines()]


class SmtpEndToEnd(unittest.TestCase):
    started_mta = False

    @classmethod
    def setUpClass(cls):
        st = services("status")
        cls.started_mta = "postfix: running" not in st.stdout
        r = services("start", "mta")
        if r.returncode:
            raise AssertionError("scripts/services start mta failed: " + r.stderr[-2000:])
        wipe(INBOX)
        wipe(BOUNCES)
        cls.cfg = smtp_settings(BILLING_BOUNCE_MAILDIR=BOUNCES)
        cls.ctx = billing.connect(env_file="/nonexistent", **cls.cfg)
        ctx = cls.ctx
        ctx.drop_database()
        ctx.create_database()
        ctx.migrate()
        ctx.seed(USERS, MONTH, seed=5, invalid_permille=0)
        # every subscriber an address of the test MTA, e-mail preferred
        rows = []
        for i in range(1, USERS + 1):
            enc = ctx.pii_encrypt("EMAIL", address(i)).hex()
            bidx = ctx.pii_blind_index("EMAIL", address(i)).hex()
            rows.append("UPDATE users SET email_enc = UNHEX('%s'), email_bidx = UNHEX('%s'), "
                        "preferred_channel = 'EMAIL', consent_email = 1, consent_sms = 0 "
                        "WHERE id = %d;" % (enc, bidx, i))
        sql(cls.cfg, "\n".join(rows))
        ctx.batch_run(MONTH, partitions=2)
        cls.enqueued = ctx.message_enqueue_statements(MONTH)
        cls.run_worker_with_outage()

    @classmethod
    def worker(cls, extra_env=None):
        env = dict(os.environ, **cls.cfg)
        env.update(extra_env or {})
        return subprocess.Popen([WORKER, "--threads", "2", "--idle-exit-ms", "4000"], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(RUN_DIR, "test-smtp-worker.log"), "a"),
                                cwd=RUN_DIR)

    @classmethod
    def open_count(cls):
        return int(sql(cls.cfg, "SELECT COUNT(*) FROM messages WHERE status IN "
                                "('WAITING','PROCESSING','FAILED')")[0][0])

    @classmethod
    def run_worker_with_outage(cls):
        w = cls.worker()
        t0 = time.monotonic()
        # the MTA goes away once a quarter of the mail is through
        while len(maildir_files(INBOX)) < USERS // 4 and time.monotonic() - t0 < 120 and w.poll() is None:
            time.sleep(0.05)
        cls.delivered_before_outage = len(maildir_files(INBOX))
        r = services("stop", "mta")
        assert r.returncode == 0, r.stderr
        time.sleep(2)
        cls.attempts_during_outage = int(sql(cls.cfg, "SELECT COUNT(*) FROM message_attempts "
                                                      "WHERE error LIKE 'smtp relay%'")[0][0])
        r = services("start", "mta")
        assert r.returncode == 0, r.stderr
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            if w.poll() is not None:
                if cls.open_count() == 0:
                    break
                w = cls.worker()
            time.sleep(0.2)
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)
            w.wait(30)
        # the DSNs of gone-* arrive a moment later; the worker ingests them
        deadline = time.monotonic() + 60
        while len(maildir_files(BOUNCES)) < len(GONE) and time.monotonic() < deadline:
            time.sleep(0.2)
        w = cls.worker()
        w.wait(60)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.ctx.drop_database()
        finally:
            cls.ctx.close()
            if cls.started_mta:
                services("stop", "mta")

    def may_repeat(self):
        """Messages whose attempt lost the relay's reply after the data was sent."""
        return {int(m) for (m,) in sql(self.cfg, "SELECT DISTINCT message_id FROM message_attempts "
                                                 "WHERE error LIKE '%it may have been delivered%'")}

    def statuses(self):
        return {int(i): s for i, s in sql(self.cfg, "SELECT user_id, status FROM messages "
                                                    "WHERE purpose = 'BILLING'")}

    def test_01_all_enqueued_and_final(self):
        self.assertEqual(self.enqueued["created"], USERS)
        self.assertEqual(self.open_count(), 0)

    def test_02_outage_caused_transient_retries(self):
        self.assertGreater(self.delivered_before_outage, 0)
        failed = sql(self.cfg, "SELECT COUNT(*), COUNT(DISTINCT message_id) FROM message_attempts "
                               "WHERE status = 'FAILED' AND error LIKE 'smtp relay%'")[0]
        self.assertGreater(int(failed[0]), 0, "no transient failure while the MTA was down")
        errs = [e for (e,) in sql(self.cfg, "SELECT DISTINCT LEFT(error, 120) FROM message_attempts "
                                            "WHERE error LIKE 'smtp relay%' LIMIT 20")]
        self.assertTrue(any("onnect" in e or "refused" in e or "not SMTP" in e or "timeout" in e for e in errs),
                        errs)

    def test_03_each_delivered_exactly_once(self):
        st = self.statuses()
        ok = {u for u, s in st.items() if s == "SUCCESS"}
        self.assertEqual(ok, set(range(1, USERS + 1)) - NOUSER - GONE)
        ids = []
        for p in maildir_files(INBOX):
            with open(p, "rb") as f:
                m = email.message_from_binary_file(f, policy=email.policy.default)
            ids.append(str(m["Message-ID"]))
        # Exactly once, except where SMTP cannot tell: a relay stopped after the
        # message data and before its reply (RFC 1047) may have queued it, and
        # the message is sent again (at least once, same Message-ID).  Every such
        # repeat must be one whose attempt recorded exactly that.
        twice = {i for i in ids if ids.count(i) > 1}
        may = self.may_repeat()
        self.assertEqual({i for i in twice if i not in {"<msg-%d@billing.test>" % m for m in may}}, set(),
                         "a message delivered twice without a lost reply to explain it")
        ids = list(dict.fromkeys(ids))
        want = {"<msg-%s@billing.test>" % mid for (mid,) in
                sql(self.cfg, "SELECT id FROM messages WHERE status = 'SUCCESS' AND purpose = 'BILLING'")}
        self.assertEqual(set(ids) - {i for i in ids if i not in want}, want)
        self.assertEqual(len([i for i in ids if i in want]), len(want))

    def test_04_files_parse(self):
        # tmp/: what Postfix's virtual(8) was writing when the MTA was stopped
        # (never delivered, as Maildir readers ignore tmp/): set aside
        for p in glob.glob(os.path.join(INBOX, "tmp", "*")):
            os.unlink(p)
        env = dict(os.environ, PARSE_MAILDIR_FROM="billing@billing.test",
                   PARSE_MAILDIR_DOMAIN="billing.test", PARSE_MAILDIR_LF="1",
                   PARSE_MAILDIR_MAY_REPEAT=",".join(str(m) for m in self.may_repeat()))
        r = subprocess.run([sys.executable, os.path.join(HERE, "parse_maildir.py"), INBOX], env=env,
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_05_headers(self):
        verp = re.compile(r"^<bounce\+(\d+)\.[0-9a-f]{16}@billing\.test>$")
        for p in maildir_files(INBOX)[:200]:
            with open(p, "rb") as f:
                m = email.message_from_binary_file(f, policy=email.policy.default)
            rp = verp.match(str(m["Return-Path"]))
            self.assertTrue(rp, m["Return-Path"])
            self.assertEqual("<msg-%s@billing.test>" % rp.group(1), str(m["Message-ID"]))
            self.assertEqual(m["Reply-To"].addresses[0].addr_spec, "help@billing.test")
            self.assertIsNotNone(m["Date"].datetime)
            self.assertIsNone(m["List-Unsubscribe"], "a billing statement is transactional")
            self.assertEqual(m.get_content_type(), "multipart/alternative")
            self.assertIn("=?UTF-8?B?", m.as_string(policy=email.policy.compat32).split("\n\n")[0])
            for h in ("Message-ID", "Return-Path", "Subject", "From", "Reply-To"):
                self.assertFalse(PLAIN.search(str(m[h])), "%s holds an address: %s" % (h, m[h]))

    def test_06_rejected_at_rcpt_bounced_and_suppressed(self):
        st = self.statuses()
        for u in NOUSER:
            self.assertEqual(st[u], "BOUNCED", "user %d" % u)
        errs = sql(self.cfg, "SELECT a.error, a.attempt_no = m.attempts FROM message_attempts a "
                             "JOIN messages m ON m.id = a.message_id "
                             "WHERE m.user_id IN (%s)" % ",".join(map(str, NOUSER)))
        self.assertGreaterEqual(len(errs), len(NOUSER))
        for e, last in errs:
            if last == "1":     # earlier ones may be the outage's
                self.assertIn("550 5.1.1", e)
            self.assertFalse(PLAIN.search(e), e)
        for u in NOUSER:
            self.assertTrue(self.ctx.suppression_check(address(u)), address(u))

    def test_07_bounced_after_acceptance(self):
        st = self.statuses()
        for u in GONE:
            self.assertEqual(st[u], "BOUNCED", "user %d" % u)
        rows = sql(self.cfg, "SELECT outcome, status, COUNT(*) FROM email_bounces GROUP BY outcome, status")
        self.assertIn(["HARD", "5.1.1", str(len(GONE))], rows)
        n = int(sql(self.cfg, "SELECT COUNT(*) FROM email_suppressions WHERE reason = 'HARD_BOUNCE'")[0][0])
        self.assertEqual(n, len(GONE) + len(NOUSER))

    def write_dsn(self, name, rcpt_verp, status="5.1.1", action="failed", body=None):
        raw = body if body is not None else (
            "Delivered-To: %s\nFrom: MAILER-DAEMON@billing.test\nTo: %s\nSubject: Undelivered\n"
            "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;\n"
            "\tboundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nsorry\n\n--b1\n"
            "Content-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\n"
            "Final-Recipient: rfc822; someone@customers.test\nAction: %s\nStatus: %s\n\n--b1--\n"
            % (rcpt_verp, rcpt_verp, action, status))
        os.makedirs(os.path.join(BOUNCES, "new"), exist_ok=True)
        with open(os.path.join(BOUNCES, "new", name), "w") as f:
            f.write(raw)

    def ingest(self):
        st = self.ctx.bounces_ingest(BOUNCES)
        return [st[k] for k in ("files", "hard", "soft", "ignored", "rejected")]

    def test_08_bad_dsns_kept_aside(self):
        ok_id, = sql(self.cfg, "SELECT id FROM messages WHERE status = 'SUCCESS' LIMIT 1")[0]
        bounced_id, = sql(self.cfg, "SELECT id FROM messages WHERE status = 'BOUNCED' LIMIT 1")[0]
        with open(glob.glob(os.path.join(INBOX, "*", "*"))[0], "rb") as f:
            good = email.message_from_binary_file(f, policy=email.policy.default)
        verp = str(good["Return-Path"]).strip("<>")
        mid = verp.split("+")[1].split(".")[0]
        forged = "bounce+%s.%s@billing.test" % (ok_id, "0123456789abcdef")
        self.write_dsn("t-forged", forged)
        self.write_dsn("t-malformed", verp, body="this is not a DSN at all\n")
        self.write_dsn("t-nostatus", verp, status="")
        self.write_dsn("t-final", verp.replace("+%s." % mid, "+%s." % mid), status="5.1.1")
        self.write_dsn("t-unknown", "bounce+999999999.0123456789abcdef@billing.test")
        self.write_dsn("t-already", "bounce+%s.0000000000000000@billing.test" % bounced_id)
        self.write_dsn("t-soft", verp, status="4.2.2", action="delayed")
        before = sql(self.cfg, "SELECT id, status FROM messages ORDER BY id")
        files, hard, soft, ignored, rejected = self.ingest()
        self.assertEqual(files, 7)
        self.assertEqual(soft, 1)
        self.assertEqual(rejected, 5)   # forged, malformed, no Status, unknown (forged tag), already (forged tag)
        # the one valid hard DSN is for a message that is SUCCESS: it bounces;
        # everything else left every message as it was
        after = dict((i, s) for i, s in sql(self.cfg, "SELECT id, status FROM messages ORDER BY id"))
        changed = {i for i, s in before if after[i] != s}
        self.assertEqual(changed, {mid})
        reasons = dict(sql(self.cfg, "SELECT file, reason FROM email_bounces WHERE file LIKE 't-%'"))
        self.assertIn("forged", reasons["t-forged"])
        self.assertIn("not a DSN", reasons["t-malformed"])
        self.assertIn("Status", reasons["t-nostatus"])
        # the same DSN again: already final → ignored
        self.write_dsn("t-again", verp)
        files, hard, soft, ignored, rejected = self.ingest()
        self.assertEqual((files, hard, ignored), (1, 0, 1))
        self.assertIn("already BOUNCED", dict(sql(self.cfg, "SELECT file, reason FROM email_bounces "
                                                            "WHERE file = 't-again'"))["t-again"])

    @classmethod
    def start_httpd(cls):
        """billing-httpd on a free port: the public /unsubscribe the e-mails link to."""
        log = open(os.path.join(RUN_DIR, "test-smtp-httpd.log"), "w+b")
        proc = subprocess.Popen([HTTPD, "--port", "0", "--bind", "127.0.0.1", "--threads", "2"],
                                env=dict(os.environ, **cls.cfg), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=log, cwd=RUN_DIR)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", open(log.name, errors="replace").read())
            if m:
                return proc, int(m.group(1))
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
        raise AssertionError("billing-httpd did not start: " + open(log.name, errors="replace").read()[-2000:])

    def delivered(self, message_id):
        for p in maildir_files(INBOX):
            with open(p, "rb") as f:
                m = email.message_from_binary_file(f, policy=email.policy.default)
            if str(m["Message-ID"]) == "<msg-%s@billing.test>" % message_id:
                return m
        return None

    def http(self, method, url, body=None, ctype=None):
        h = {"Content-Type": ctype} if ctype else {}
        rq = urllib.request.Request(url, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(rq, timeout=30) as f:
                return f.status, f.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8")

    def test_09_unsubscribe_then_notice_suppressed(self):
        user = max(set(range(1, USERS + 1)) - NOUSER - GONE)
        other = user - 1 if (user - 1) not in NOUSER | GONE else user - 2
        self.ctx.template_save("SMTP_NOTICE", "notice", channel="EMAIL", purpose="NOTICE",
                               subject="(광고) 새 요금제 안내", body_text="안내입니다. 수신거부: 링크",
                               body_html="<p>안내입니다.</p>", variables={})
        httpd, port = self.start_httpd()
        try:
            base = "http://127.0.0.1:%d/unsubscribe" % port
            # a first notice carries the link to this server
            m0 = self.ctx.message_send(user, "SMTP_NOTICE", idempotency_key="notice-0-%d" % user)
            self.worker({"BILLING_UNSUBSCRIBE_URL": base}).wait(60)
            first = self.delivered(m0)
            self.assertIsNotNone(first)
            lu = str(first["List-Unsubscribe"])
            self.assertRegex(lu, r"^<%s\?t=[A-Za-z0-9_-]+>,\s*<mailto:" % re.escape(base))
            self.assertEqual(str(first["List-Unsubscribe-Post"]), "List-Unsubscribe=One-Click")
            url = re.match(r"^<([^>]+)>", lu).group(1)
            token = url.split("?t=", 1)[1]
            # the link opens the Korean confirmation page; nothing changes yet
            status, page = self.http("GET", url)
            self.assertEqual(status, 200, page)
            self.assertIn("수신거부 확인", page)
            self.assertEqual(sql(self.cfg, "SELECT consent_email FROM users WHERE id = %d" % user)[0][0], "1")
            # tampered: an error page, nothing changes
            bad = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
            for method in ("GET", "POST"):
                status, page = self.http(method, base + "?t=" + bad, b"List-Unsubscribe=One-Click"
                                         if method == "POST" else None, "application/x-www-form-urlencoded")
                self.assertEqual(status, 400, page)
                self.assertIn("변조", page)
            self.assertEqual(sql(self.cfg, "SELECT consent_email FROM users WHERE id = %d" % user)[0][0], "1")
            # RFC 8058 one-click: the mailbox provider POSTs the header's URL, no session, no CSRF token
            status, page = self.http("POST", url, b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded")
            self.assertEqual(status, 200, page)
            self.assertIn("수신거부가 처리되었습니다", page)
        finally:
            httpd.send_signal(signal.SIGTERM)
            httpd.wait(30)
        self.assertEqual(sql(self.cfg, "SELECT consent_email FROM users WHERE id = %d" % user)[0][0], "0")
        self.assertEqual(sql(self.cfg, "SELECT COUNT(*) FROM audit_log WHERE action = 'consent.unsubscribe' "
                                       "AND target = 'user #%d'" % user)[0][0], "1")
        m1 = self.ctx.message_send(user, "SMTP_NOTICE", idempotency_key="notice-1-%d" % user)
        m2 = self.ctx.message_send(other, "SMTP_NOTICE", idempotency_key="notice-1-%d" % other)
        w = self.worker()
        w.wait(60)
        st = dict(sql(self.cfg, "SELECT id, status FROM messages WHERE id IN (%s, %s)" % (m1, m2)))
        self.assertEqual(st[str(m1)], "SUPPRESSED")
        self.assertEqual(st[str(m2)], "SUCCESS")
        found = self.delivered(m2)
        self.assertIsNotNone(found)
        lu = str(found["List-Unsubscribe"])
        self.assertRegex(lu, r"^<https://billing\.test/unsubscribe\?t=[A-Za-z0-9_-]+>,\s*<mailto:")
        self.assertEqual(str(found["List-Unsubscribe-Post"]), "List-Unsubscribe=One-Click")
        self.assertFalse(PLAIN.search(lu))


class BadServers(unittest.TestCase):
    """SMTP servers that answer garbage, hang or refuse: a clear transient outcome."""

    def serve(self, behaviour):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        stop = threading.Event()

        def run():
            srv.settimeout(0.2)
            conns = []
            while not stop.is_set():
                try:
                    c, _ = srv.accept()
                except socket.timeout:
                    continue
                conns.append(c)
                if behaviour == "garbage":
                    c.sendall(b"HTTP/1.1 200 OK\r\n\r\n<html>hello</html>\r\n999 what?\r\n")
                # "hang": accept, never answer
            for c in conns:
                c.close()
            srv.close()
        threading.Thread(target=run, daemon=True).start()
        self.addCleanup(stop.set)
        return srv.getsockname()[1]

    def run_one(self, port):
        cfg = smtp_settings(BILLING_SMTP_RELAYS="smtp://127.0.0.1:%d" % port, BILLING_SMTP_STARTTLS="off",
                            BILLING_SMTP_TIMEOUT_MS="1500", BILLING_RETRY_EMAIL_ATTEMPTS="1",
                            MYSQL_DATABASE="bltest_smtpbad_%d" % os.getpid())
        ctx = billing.connect(env_file="/nonexistent", **cfg)
        self.addCleanup(ctx.close)
        self.addCleanup(ctx.drop_database)
        ctx.drop_database()
        ctx.create_database()
        ctx.migrate()
        uid = ctx.user_create("테스트", "010-1234-5678", "someone@customers.test", consent_sms=False)
        ctx.template_save("BAD_NOTICE", "n", channel="EMAIL", purpose="NOTICE", subject="s",
                          body_text="t", body_html="<p>t</p>", variables={})
        mid = ctx.message_send(uid, "BAD_NOTICE")
        env = dict(os.environ, **cfg)
        t0 = time.monotonic()
        subprocess.run([WORKER, "--threads", "1", "--idle-exit-ms", "1500"], env=env, cwd=RUN_DIR,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        return ctx.message_get(mid), time.monotonic() - t0

    def test_garbage(self):
        msg, _ = self.run_one(self.serve("garbage"))
        self.assertEqual(msg["status"], "DEAD")
        self.assertIn("not SMTP", msg["last_error"])

    def test_hang(self):
        msg, took = self.run_one(self.serve("hang"))
        self.assertEqual(msg["status"], "DEAD")
        self.assertIn("timeout", msg["last_error"].lower())
        self.assertLess(took, 30)


def main():
    loader = unittest.TestLoader()
    suite = unittest.TestSuite([loader.loadTestsFromTestCase(SmtpEndToEnd),
                                loader.loadTestsFromTestCase(BadServers)])
    result = TapResult()
    try:
        suite.run(result)
    except Exception:
        import traceback
        traceback.print_exc(file=sys.stdout)
        print("Bail out! the test suite crashed")
        return 1
    print("1..%d" % result.n)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
