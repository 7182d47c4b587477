#!/usr/bin/env python3
"""A stand-in SMS gateway for the tests (docs/senders.md, "Tests"): the NAVER
Cloud SENS SMS v2 API as documented, checked strictly, plus the generic JSON
webhook gateway, a delivery-result webhook sender and switches.

    sms_standin.py --port P --service-id S --access-key A --secret K
                   [--from 0212345678] [--hook-url URL --hook-secret H]
                   [--webhook-secret W] [--webhook-auth hmac|bearer]

SENS (any difference from the documented format is refused with 400/401 and
counted in "format_errors"):
  POST /sms/v2/services/{serviceId}/messages   headers x-ncp-apigw-timestamp
       (ms, within 5 minutes), x-ncp-iam-access-key, x-ncp-apigw-signature-v2
       = base64(HMAC-SHA256(secret, "POST {path}\\n{timestamp}\\n{accessKey}"));
       body keys among the documented ones, type SMS|LMS|MMS, contentType
       COMM|AD, countryCode, from (the registered number), subject only for
       LMS/MMS and at most 40 EUC-KR bytes, content at most 90 (SMS) or 2000
       bytes, messages 1-100 objects {to digits[, subject, content]}
       → 202 {requestId, requestTime, statusCode "202", statusName "success"}
  GET  /sms/v2/services/{serviceId}/messages?requestId=R   → the request's messages
  GET  /sms/v2/services/{serviceId}/messages/{messageId}    → the result
Generic webhook gateway: POST /webhook/sms (Idempotency-Key, X-Timestamp,
  X-Signature-SHA256 or Authorization: Bearer) → 200 {"requestId"}.

Control (JSON): POST /_control {"mode": "ok|5xx|429|hang|garbage",
  "latency_ms": n, "retry_after": s, "undelivered_mod": n, "result_ms": n,
  "webhook": bool, "bad_signature": bool}; POST /_replay (send the last
  webhook again); GET /_stats.
"""
import argparse
import base64
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SENS_KEYS = {"type", "contentType", "countryCode", "from", "subject", "content", "messages", "files",
             "reserveTime", "reserveTimeZone"}
MSG_KEYS = {"to", "subject", "content"}


def euckr_bytes(s):
    return sum(1 if ord(c) < 0x80 else 2 for c in s)


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.ctl = {"mode": "ok", "latency_ms": 0, "retry_after": 0, "undelivered_mod": 0, "result_ms": 0,
                    "webhook": False, "bad_signature": False}
        self.requests = {}      # requestId -> {"messageId", "to", "at", "fail", "content", "type"}
        self.by_message = {}    # messageId -> requestId
        self.accepts = {}       # to -> number of accepts
        self.idem = {}          # webhook gateway: Idempotency-Key -> requestId
        self.stats = {"accepted": 0, "refused": 0, "format_errors": 0, "errors": [], "queries": 0,
                      "hooks_sent": 0, "hook_status": {}, "webhook_accepted": 0, "webhook_duplicates": 0}
        self.delivered_once = set()
        self.last_hook = None
        self.outbox = []

    def error(self, msg):
        with self.lock:
            self.stats["format_errors"] += 1
            if len(self.stats["errors"]) < 50:
                self.stats["errors"].append(msg)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server_version = "sens-standin/1"

    def log_message(self, *a):
        pass

    @property
    def st(self):
        return self.server.st

    def reply(self, code, obj=None, raw=None, headers=None):
        body = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # ---- SENS signature ----
    def check_signature(self, method, path):
        a = self.st.args
        ts = self.headers.get("x-ncp-apigw-timestamp") or ""
        ak = self.headers.get("x-ncp-iam-access-key") or ""
        sig = self.headers.get("x-ncp-apigw-signature-v2") or ""
        if not re.fullmatch(r"\d{13}", ts) or abs(int(ts) - time.time() * 1000) > 300000:
            return "x-ncp-apigw-timestamp missing or more than 5 minutes off: %r" % ts
        if ak != a.access_key:
            return "x-ncp-iam-access-key unknown"
        msg = "%s %s\n%s\n%s" % (method, path, ts, a.access_key)
        want = base64.b64encode(hmac.new(a.secret.encode(), msg.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(want, sig):
            return "x-ncp-apigw-signature-v2 does not match"
        return None

    def switches(self):
        """Latency and failure switches; True when a reply was sent."""
        c = dict(self.st.ctl)
        if c["latency_ms"]:
            time.sleep(c["latency_ms"] / 1000)
        mode = c["mode"]
        if mode == "hang":
            time.sleep(30)
            self.close_connection = True
            return True
        if mode == "5xx":
            with self.st.lock:
                self.st.stats["refused"] += 1
            self.reply(503, {"status": 503, "errorMessage": "Service Unavailable"})
            return True
        if mode == "429":
            with self.st.lock:
                self.st.stats["refused"] += 1
            self.reply(429, {"status": 429, "errorMessage": "Too Many Requests"},
                       headers={"Retry-After": str(c["retry_after"] or 1)})
            return True
        if mode == "garbage":
            self.reply(202, raw=b"<html>proxy error</html>")
            return True
        return False

    def sens_validate(self, raw):
        a = self.st.args
        if not (self.headers.get("Content-Type") or "").lower().startswith("application/json"):
            return "Content-Type is not application/json"
        try:
            b = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return "body is not UTF-8 JSON"
        if not isinstance(b, dict):
            return "body is not an object"
        extra = set(b) - SENS_KEYS
        if extra:
            return "undocumented body fields: %s" % sorted(extra)
        t = b.get("type")
        if t not in ("SMS", "LMS", "MMS"):
            return "type %r" % t
        if "contentType" in b and b["contentType"] not in ("COMM", "AD"):
            return "contentType %r" % b["contentType"]
        if "countryCode" in b and b["countryCode"] != "82":
            return "countryCode %r" % b["countryCode"]
        if not isinstance(b.get("from"), str) or not b["from"].isdigit() or b["from"] != a.sender:
            return "from %r is not the registered number" % b.get("from")
        if "subject" in b:
            if t == "SMS":
                return "subject on an SMS"
            if not isinstance(b["subject"], str) or euckr_bytes(b["subject"]) > 40:
                return "subject over 40 bytes"
        c = b.get("content")
        if not isinstance(c, str):
            return "content missing"
        if euckr_bytes(c) > (90 if t == "SMS" else 2000):
            return "content %d bytes for %s" % (euckr_bytes(c), t)
        ms = b.get("messages")
        if not isinstance(ms, list) or not 1 <= len(ms) <= 100:
            return "messages must be 1-100 entries"
        for m in ms:
            if not isinstance(m, dict) or set(m) - MSG_KEYS or not isinstance(m.get("to"), str) \
                    or not m["to"].isdigit():
                return "messages entry %r" % (m,)
        if t != "SMS" and b.get("subject") is None and not all("subject" in m for m in ms):
            pass  # the subject is optional
        return b

    def accept(self, to, content, typ):
        st = self.st
        rid = "R" + uuid.uuid4().hex
        mid = str(uuid.uuid4())
        with st.lock:
            n = st.accepts.get(to, 0) + 1
            st.accepts[to] = n
            mod = st.ctl["undelivered_mod"]
            fail = bool(mod) and int(to[-4:]) % mod == 0 and to not in st.delivered_once
            if fail:
                st.delivered_once.add(to)
            st.requests[rid] = {"messageId": mid, "to": to, "at": time.time(), "fail": fail,
                                "content": content, "type": typ, "hooked": False}
            st.by_message[mid] = rid
            st.stats["accepted"] += 1
            if st.ctl["webhook"]:
                st.outbox.append(rid)
        return rid

    # ---- routes ----
    def do_POST(self):
        st = self.st
        u = urlsplit(self.path)
        raw = self.body()
        if u.path == "/_control":
            with st.lock:
                st.ctl.update(json.loads(raw or b"{}"))
            return self.reply(200, st.ctl)
        if u.path == "/_replay":
            ok = st.last_hook is not None
            if ok:
                send_hook(st, st.last_hook, st.ctl["bad_signature"])
            return self.reply(200 if ok else 404, {"replayed": ok})
        if u.path == "/webhook/sms":
            return self.webhook_gateway(raw)
        m = re.fullmatch(r"/sms/v2/services/([^/]+)/messages", u.path)
        if not m or u.query:
            st.error("POST %s: not a SENS endpoint" % self.path)
            return self.reply(404, {"status": 404, "errorMessage": "Not Found"})
        err = self.check_signature("POST", u.path)
        if err:
            st.error(err)
            return self.reply(401, {"status": 401, "errorMessage": err})
        if m.group(1).replace("%3A", ":") != st.args.service_id:
            st.error("serviceId %r" % m.group(1))
            return self.reply(404, {"status": 404, "errorMessage": "unknown serviceId"})
        b = self.sens_validate(raw)
        if isinstance(b, str):
            st.error(b)
            return self.reply(400, {"status": 400, "errorMessage": b})
        if self.switches():
            return
        rid = None
        for msg in b["messages"]:
            rid = self.accept(msg["to"], msg.get("content", b["content"]), b["type"])
        self.reply(202, {"requestId": rid, "requestTime": time.strftime("%Y-%m-%dT%H:%M:%S.000"),
                         "statusCode": "202", "statusName": "success"})

    def webhook_gateway(self, raw):
        st, a = self.st, self.st.args
        key = self.headers.get("Idempotency-Key") or ""
        ts = self.headers.get("X-Timestamp") or ""
        if a.webhook_auth == "bearer":
            ok = hmac.compare_digest(self.headers.get("Authorization") or "", "Bearer " + a.webhook_secret)
        else:
            want = hmac.new(a.webhook_secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(want, self.headers.get("X-Signature-SHA256") or "")
        if not ok:
            st.error("webhook gateway: bad authentication")
            return self.reply(401, {"error": {"message": "unauthorized"}})
        try:
            b = json.loads(raw)
            assert b["idempotencyKey"] == key and key.startswith("bl-") and b["to"].isdigit() \
                and b["type"] in ("SMS", "LMS") and isinstance(b["content"], str)
        except (ValueError, KeyError, AssertionError, AttributeError):
            st.error("webhook gateway: bad body")
            return self.reply(400, {"error": {"message": "bad request"}})
        if self.switches():
            return
        with st.lock:
            rid = st.idem.get(key)
            if rid:
                st.stats["webhook_duplicates"] += 1
        if not rid:
            rid = self.accept(b["to"], b["content"], b["type"])
            with st.lock:
                st.idem[key] = rid
                st.stats["webhook_accepted"] += 1
        self.reply(200, {"requestId": rid})

    def do_GET(self):
        st = self.st
        u = urlsplit(self.path)
        if u.path == "/_stats":
            with st.lock:
                s = dict(st.stats, accepts_per_to=st.accepts, request_ids=sorted(st.requests),
                         ctl=st.ctl)
            return self.reply(200, s)
        m = re.fullmatch(r"/sms/v2/services/([^/]+)/messages(?:/([^/]+))?", u.path)
        if not m:
            return self.reply(404, {"status": 404})
        err = self.check_signature("GET", self.path)
        if err:
            st.error("GET: " + err)
            return self.reply(401, {"status": 401, "errorMessage": err})
        with st.lock:
            st.stats["queries"] += 1
        if m.group(2) is None:
            q = parse_qs(u.query)
            rid = (q.get("requestId") or [""])[0]
            r = st.requests.get(rid)
            if not r:
                return self.reply(404, {"status": 404, "errorMessage": "requestId not found"})
            return self.reply(200, {"requestId": rid, "statusCode": "202", "statusName": "success",
                                    "messages": [{"messageId": r["messageId"], "requestTime": "",
                                                  "contentType": "COMM", "countryCode": "82",
                                                  "from": st.args.sender, "to": r["to"]}]})
        rid = st.by_message.get(m.group(2))
        if not rid:
            return self.reply(404, {"status": 404, "errorMessage": "messageId not found"})
        self.reply(200, {"statusCode": "202", "statusName": "success",
                         "messages": [result(st, rid)]})


def result(st, rid):
    r = st.requests[rid]
    done = time.time() - r["at"] >= st.ctl["result_ms"] / 1000
    m = {"requestId": rid, "messageId": r["messageId"], "requestTime": "", "contentType": "COMM",
         "type": r["type"], "countryCode": "82", "from": st.args.sender, "to": r["to"],
         "status": "COMPLETED" if done else "PROCESSING"}
    if done:
        m.update(statusCode="3018" if r["fail"] else "0", statusName="fail" if r["fail"] else "success",
                 statusMessage="전원꺼짐" if r["fail"] else "성공", telcoCode="SKT",
                 completeTime=time.strftime("%Y-%m-%d %H:%M:%S"))
    return m


def send_hook(st, body, bad):
    a = st.args
    ts = str(int(time.time() * 1000))
    sig = hmac.new((a.hook_secret + ("x" if bad else "")).encode(), ts.encode() + b"." + body,
                   hashlib.sha256).hexdigest()
    req = urllib.request.Request(a.hook_url, data=body, method="POST",
                                 headers={"Content-Type": "application/json", "X-Timestamp": ts,
                                          "X-Signature-SHA256": sig})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            code = r.status
    except urllib.error.HTTPError as e:
        code = e.code
    except OSError:
        code = 0
    with st.lock:
        st.stats["hooks_sent"] += 1
        st.stats["hook_status"][str(code)] = st.stats["hook_status"].get(str(code), 0) + 1
    return code


def hook_sender(st):
    """Delivery results to billing-httpd's /hooks/sms/<name>; 409 (accept not
    recorded yet) and failures are sent again later."""
    while True:
        time.sleep(0.05)
        with st.lock:
            batch, st.outbox = st.outbox, []
        later = []
        for rid in batch:
            r = st.requests[rid]
            if time.time() - r["at"] < st.ctl["result_ms"] / 1000:
                later.append(rid)
                continue
            body = json.dumps(result(st, rid)).encode()
            code = send_hook(st, body, st.ctl["bad_signature"])
            st.last_hook = body
            if code not in (200, 204) and not st.ctl["bad_signature"]:
                later.append(rid)
        with st.lock:
            st.outbox.extend(later)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--service-id", required=True)
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--from", dest="sender", default="0212345678")
    p.add_argument("--hook-url", default="")
    p.add_argument("--hook-secret", default="")
    p.add_argument("--webhook-secret", default="webhook-secret")
    p.add_argument("--webhook-auth", default="hmac")
    a = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.st = State(a)
    if a.hook_url:
        threading.Thread(target=hook_sender, args=(srv.st,), daemon=True).start()
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
