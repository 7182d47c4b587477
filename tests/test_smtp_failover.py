#!/usr/bin/env python3
"""SMTP relay failover (docs/email.md, libbilling/smtp.c): BILLING_SMTP_RELAYS
lists two relays, A then B, both minimal SMTP sinks written here (plain
SMTP, no TLS).  One billing-worker runs through three phases:

  1. A is down (its port closed): every message goes to B;
  2. A comes back: once BILLING_SMTP_RELAY_RETRY_MS is over, new sends go to
     A again, and none to B;
  3. A goes away again while the worker holds its connection open: the
     rest goes to B.

Every message ends SUCCESS, has one message_ledger row (no refused second
send) and reached the sinks exactly once overall (Message-IDs).

Prints TAP.  Needs MariaDB and Redis (scripts/services start), not Postfix.
"""
import email.parser
import email.policy
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_python import TapResult, settings  # noqa: E402
from test_smtp import RUN_DIR, WORKER, sql  # noqa: E402
import billing                              # noqa: E402

PER_PHASE = int(os.environ.get("BL_SMTP_FAILOVER_PER_PHASE", "30"))
RETRY_MS = 500
FAIL_AFTER = 2


class _Handler(socketserver.StreamRequestHandler):
    """One SMTP session: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def reply(self, line):
        self.wfile.write(line.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def handle(self):
        sink = self.server.sink
        sink.opened(self.connection)
        try:
            self.session(sink)
        except (OSError, ValueError):
            pass  # the sink was stopped under this session, or the client went away
        finally:
            sink.closed(self.connection)

    def session(self, sink):
        self.reply("220 %s ESMTP sink" % sink.name)
        mail_from, rcpts = None, []
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.decode("ascii", "replace").strip()
            verb = cmd[:4].upper()
            if verb == "EHLO":
                self.wfile.write(("250-%s\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n" % sink.name).encode())
                self.wfile.flush()
            elif verb == "HELO":
                self.reply("250 %s" % sink.name)
            elif verb == "MAIL":
                mail_from, rcpts = cmd[10:].strip(), []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                if mail_from is None:
                    self.reply("503 5.5.1 MAIL first")
                    continue
                rcpts.append(cmd[8:].strip())
                self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                if not rcpts:
                    self.reply("503 5.5.1 RCPT first")
                    continue
                self.reply("354 end with <CRLF>.<CRLF>")
                body = []
                while True:
                    data = self.rfile.readline(1 << 20)
                    if not data:
                        return  # cut off in DATA: nothing accepted
                    if data in (b".\r\n", b".\n"):
                        break
                    body.append(data[1:] if data.startswith(b"..") else data)
                n = sink.accept(mail_from, rcpts, b"".join(body))
                mail_from, rcpts = None, []
                self.reply("250 2.0.0 queued as %s-%d" % (sink.name, n))
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self.reply("250 2.0.0 ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("502 5.5.2 unknown command")


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class SmtpSink:
    """A plain SMTP relay on a fixed port that accepts everything, keeps each
    accepted message's Message-ID, and can be stopped and started again.
    stop() closes the port and every open session (a relay that went away)."""

    def __init__(self, name, port):
        self.name, self.port = name, port
        self.lock = threading.Lock()
        self.accepted = []   # Message-IDs, in order
        self.sessions = 0
        self.conns = set()
        self.server = None

    def start(self):
        assert self.server is None
        self.server = _Server(("127.0.0.1", self.port), _Handler)
        self.server.sink = self
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def stop(self):
        srv, self.server = self.server, None
        srv.shutdown()
        srv.server_close()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def opened(self, conn):
        with self.lock:
            self.sessions += 1
            self.conns.add(conn)

    def closed(self, conn):
        with self.lock:
            self.conns.discard(conn)

    def accept(self, mail_from, rcpts, raw):
        hdr = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
        with self.lock:
            self.accepted.append(str(hdr["Message-ID"]))
            return len(self.accepted)

    def count(self):
        with self.lock:
            return len(self.accepted)

    def ids(self):
        with self.lock:
            return list(self.accepted)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SmtpFailover(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = SmtpSink("relay-a", free_port())
        cls.b = SmtpSink("relay-b", free_port())
        cls.cfg = settings("smtpfo", BILLING_EMAIL_PROVIDER="smtp",
                           BILLING_SMTP_RELAYS="smtp://127.0.0.1:%d, smtp://127.0.0.1:%d" % (cls.a.port, cls.b.port),
                           BILLING_SMTP_STARTTLS="off", BILLING_SMTP_TLS_VERIFY="0",
                           BILLING_SMTP_HELO="worker.billing.test",
                           BILLING_SMTP_CONNECT_TIMEOUT_MS="1000", BILLING_SMTP_TIMEOUT_MS="5000",
                           BILLING_SMTP_FAILOVER_AFTER=str(FAIL_AFTER),
                           BILLING_SMTP_RELAY_RETRY_MS=str(RETRY_MS),
                           BILLING_MAIL_FROM="billing@billing.test", BILLING_MAIL_DOMAIN="billing.test",
                           BILLING_MAIL_REPLY_TO="help@billing.test",
                           BILLING_UNSUBSCRIBE_URL="https://billing.test/unsubscribe",
                           BILLING_RETRY_EMAIL_ATTEMPTS="30", BILLING_RETRY_BASE_MS="200",
                           BILLING_RETRY_CAP_MS="1000", BILLING_PENDING_IDLE_MS="3000",
                           BILLING_SCHEDULER="0")
        cls.ctx = billing.connect(env_file="/nonexistent", **cls.cfg)
        ctx = cls.ctx
        ctx.drop_database()
        ctx.create_database()
        ctx.migrate()
        ctx.template_save("FO_NOTICE", "failover notice", channel="EMAIL", purpose="NOTICE",
                          subject="점검 안내", body_text="안내입니다.", body_html="<p>안내입니다.</p>",
                          variables={})
        cls.users = [ctx.user_create("가입자%d" % i, "010-5%03d-%04d" % (i // 10000, i % 10000),
                                     "fo%d@customers.test" % i, consent_sms=False)
                     for i in range(1, 3 * PER_PHASE + 1)]
        cls.phase = {}
        cls.run_phases()

    @classmethod
    def send(cls, users, tag):
        return [cls.ctx.message_send(u, "FO_NOTICE", idempotency_key="fo-%s-%d" % (tag, u)) for u in users]

    @classmethod
    def wait_success(cls, mids, timeout=20):
        deadline = time.monotonic() + timeout
        want = ",".join(map(str, mids))
        while time.monotonic() < deadline:
            n = int(sql(cls.cfg, "SELECT COUNT(*) FROM messages WHERE status = 'SUCCESS' "
                                 "AND id IN (%s)" % want)[0][0])
            if n == len(mids):
                return True
            if cls.w.poll() is not None:
                return False
            time.sleep(0.1)
        return False

    @classmethod
    def run_phases(cls):
        log = open(os.path.join(RUN_DIR, "test-smtp-failover-worker.log"), "a")
        cls.b.start()
        cls.w = subprocess.Popen([WORKER, "--threads", "2", "--idle-exit-ms", "60000"],
                                 env=dict(os.environ, **cls.cfg), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=log, cwd=RUN_DIR)
        try:
            u = cls.users
            # 1: A's port is closed
            m1 = cls.send(u[:PER_PHASE], "1")
            ok1 = cls.wait_success(m1)
            cls.phase[1] = (m1, ok1, cls.a.count(), cls.b.count())
            # 2: A is back; after the retry time new sends go to A
            cls.a.start()
            time.sleep(3 * RETRY_MS / 1000.0)
            a0, b0 = cls.a.count(), cls.b.count()
            m2 = cls.send(u[PER_PHASE:2 * PER_PHASE], "2")
            ok2 = cls.wait_success(m2)
            cls.phase[2] = (m2, ok2, cls.a.count() - a0, cls.b.count() - b0)
            # 3: A goes away while the worker's connection to it is open
            cls.a.stop()
            a0, b0 = cls.a.count(), cls.b.count()
            m3 = cls.send(u[2 * PER_PHASE:], "3")
            ok3 = cls.wait_success(m3, timeout=30)
            cls.phase[3] = (m3, ok3, cls.a.count() - a0, cls.b.count() - b0)
        finally:
            if cls.w.poll() is None:
                cls.w.send_signal(signal.SIGTERM)
                cls.w.wait(30)
            log.close()
            if cls.a.server:
                cls.a.stop()
            cls.b.stop()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.ctx.drop_database()
        finally:
            cls.ctx.close()

    def test_01_first_relay_down_goes_to_second(self):
        mids, ok, at_a, at_b = self.phase[1]
        self.assertTrue(ok, "phase 1: not every message was sent")
        self.assertEqual(at_a, 0)
        self.assertEqual(at_b, PER_PHASE)

    def test_02_back_to_first_relay_after_retry_time(self):
        mids, ok, at_a, at_b = self.phase[2]
        self.assertTrue(ok, "phase 2: not every message was sent")
        self.assertEqual((at_a, at_b), (PER_PHASE, 0), "after the retry time every send goes to relay A")

    def test_03_first_relay_gone_again_goes_to_second(self):
        mids, ok, at_a, at_b = self.phase[3]
        self.assertTrue(ok, "phase 3: not every message was sent")
        self.assertEqual((at_a, at_b), (0, PER_PHASE))

    def test_04_each_accepted_exactly_once(self):
        mids = [m for p in (1, 2, 3) for m in self.phase[p][0]]
        self.assertEqual(len(set(mids)), 3 * PER_PHASE)
        ids = self.a.ids() + self.b.ids()
        self.assertEqual(len(ids), len(set(ids)), "a message accepted twice")
        self.assertEqual(set(ids), {"<msg-%d@billing.test>" % m for m in mids})
        st = dict(sql(self.cfg, "SELECT status, COUNT(*) FROM messages GROUP BY status"))
        self.assertEqual(st, {"SUCCESS": str(3 * PER_PHASE)})
        ledger = sql(self.cfg, "SELECT COUNT(*), COUNT(DISTINCT message_id), COALESCE(SUM(duplicate_requests), 0) "
                               "FROM message_ledger")[0]
        self.assertEqual(ledger, [str(3 * PER_PHASE), str(3 * PER_PHASE), "0"])

    def test_05_attempts(self):
        # phases 1 and 2: A unreachable is failed over within the same send,
        # so every message took one attempt; phase 3 may have cost retries
        # (a dead connection is not known to be unreachable)
        first = [m for p in (1, 2) for m in self.phase[p][0]]
        rows = sql(self.cfg, "SELECT attempts, COUNT(*) FROM messages WHERE id IN (%s) GROUP BY attempts"
                   % ",".join(map(str, first)))
        self.assertEqual(rows, [["1", str(len(first))]])


def main():
    suite = unittest.TestLoader().loadTestsFromTestCase(SmtpFailover)
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
