#!/usr/bin/env python3
"""Check every e-mail the mock provider delivered into a Maildir.

usage: parse_maildir.py MAILDIR [EXPECTED.json]

Each file in new/ (and cur/) must be a well-formed RFC 5322 / MIME message:
CRLF line ends only, no line over 998 bytes, header lines holding RFC 2047
encoded-words at most 76 characters, 7-bit headers; parsed with Python's
email package (policy.default) without defects; multipart/alternative with
a text/plain and a text/html part, UTF-8, base64; From, To, Date,
Message-ID present and parseable.  tmp/ must be empty (no half deliveries)
and no message may be delivered twice.

EXPECTED.json (optional): {"count": N, "messages": {"<message id>":
{"subject", "to", "to_name", "text", "html"}}} -- the decoded values each
message must carry.

Exit status 0 when every check passes, else 1 with a message on stderr.
"""
import datetime
import email
import email.header
import email.policy
import email.utils
import json
import os
import re
import sys

FROM_NAME = "LG U+ 요금안내"
# Mail that went through an MTA (tests/test_smtp.py): its own From and
# Message-ID domain, and LF line ends as Postfix stores a Maildir file.
FROM_ADDR = os.environ.get("PARSE_MAILDIR_FROM", "billing@example.invalid")
MSGID_RE = re.compile(r"^<msg-(\d+)@%s>$" % re.escape(os.environ.get("PARSE_MAILDIR_DOMAIN", "libbilling.invalid")))
LF_FILES = os.environ.get("PARSE_MAILDIR_LF") == "1"
# ids that may legitimately arrive twice: their relay died after the message
# data and before its reply (RFC 1047), and the attempt recorded it
MAY_REPEAT = {int(x) for x in os.environ.get("PARSE_MAILDIR_MAY_REPEAT", "").split(",") if x}
B64_LINE_RE = re.compile(rb"^[A-Za-z0-9+/]*={0,2}$")


class Bad(Exception):
    pass


def check_raw(raw):
    """Line-level checks on the bytes as delivered."""
    if not raw.endswith(b"\r\n"):
        raise Bad("does not end with CRLF")
    lines = raw[:-2].split(b"\r\n")
    in_headers = True
    for no, line in enumerate(lines, 1):
        if b"\n" in line or b"\r" in line:
            raise Bad(f"line {no}: bare LF or CR (line ends must be CRLF)")
        if len(line) > 998:
            raise Bad(f"line {no}: {len(line)} bytes, more than 998")
        if in_headers:
            if line == b"":
                in_headers = False
                continue
            if any(b > 0x7E or (b < 0x20 and b != 0x09) for b in line):
                raise Bad(f"header line {no}: not 7-bit printable: {line[:60]!r}")
            if b"=?" in line and len(line) > 76:
                raise Bad(f"header line {no}: {len(line)} characters with an encoded-word "
                          f"(RFC 2047 allows 76)")
        elif any(b > 0x7E for b in line):
            raise Bad(f"body line {no}: 8-bit data in a base64 message")
    if in_headers:
        raise Bad("no blank line between headers and body")


def mailbox(msg, legacy, name):
    """(display name, address) of a single-mailbox header.

    policy.default must parse it into exactly one address.  The display name
    is decoded per RFC 2047 section 6.2 (white space between adjacent
    encoded-words ignored) through the legacy email.header API: the
    policy.default address parser keeps that space in display names, so it
    is trusted for the name only when the name is a single encoded-word.
    """
    addrs = msg[name].addresses
    if len(addrs) != 1:
        raise Bad(f"{name}: {len(addrs)} addresses in {msg[name]!r}")
    raw_name, addr = email.utils.parseaddr(str(legacy[name]))
    if addr != addrs[0].addr_spec:
        raise Bad(f"{name}: address {addr!r} vs {addrs[0].addr_spec!r}")
    decoded = str(email.header.make_header(email.header.decode_header(raw_name))) if raw_name else ""
    if raw_name.count("=?") <= 1 and decoded != addrs[0].display_name:
        raise Bad(f"{name}: display name {decoded!r} vs {addrs[0].display_name!r}")
    return decoded, addr


def norm(text):
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_part(part, ctype):
    if part.get_content_type() != ctype:
        raise Bad(f"expected {ctype}, got {part.get_content_type()}")
    if (part.get_content_charset() or "").lower() != "utf-8":
        raise Bad(f"{ctype}: charset {part.get_content_charset()!r}, expected UTF-8")
    cte = part.get("Content-Transfer-Encoding", "").lower()
    if cte not in ("base64", "quoted-printable"):
        raise Bad(f"{ctype}: Content-Transfer-Encoding {cte!r}")
    if cte == "base64":
        for line in part.get_payload(decode=False).splitlines():
            if len(line) > 76:
                raise Bad(f"{ctype}: base64 line of {len(line)} characters (76 allowed)")
            if not B64_LINE_RE.match(line.encode("ascii")):
                raise Bad(f"{ctype}: not base64: {line[:40]!r}")
    if part.defects:
        raise Bad(f"{ctype}: defects {part.defects}")
    content = part.get_content()
    if not isinstance(content, str):
        raise Bad(f"{ctype}: content is not text")
    return content


def check_message(path, expected):
    with open(path, "rb") as f:
        raw = f.read()
    if LF_FILES:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    check_raw(raw)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if msg.defects:
        raise Bad(f"defects: {msg.defects}")
    for name in ("Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Type"):
        if len(msg.get_all(name) or []) != 1:
            raise Bad(f"header {name}: expected once, found {len(msg.get_all(name) or [])}")
    if msg["MIME-Version"] != "1.0":
        raise Bad(f"MIME-Version {msg['MIME-Version']!r}")

    date = msg["Date"].datetime
    if date is None or date.utcoffset() != datetime.timedelta(hours=9):
        raise Bad(f"Date {msg['Date']!r}: not a date in +0900")

    m = MSGID_RE.match(str(msg["Message-ID"]).strip())
    if not m:
        raise Bad(f"Message-ID {msg['Message-ID']!r}")
    mid = m.group(1)
    if msg.get("X-Billing-Message-Id", mid) != mid:
        raise Bad(f"X-Billing-Message-Id {msg['X-Billing-Message-Id']} differs from Message-ID")

    legacy = email.message_from_bytes(raw, policy=email.policy.compat32)
    frm_name, frm_addr = mailbox(msg, legacy, "From")
    if frm_addr != FROM_ADDR or frm_name != FROM_NAME:
        raise Bad(f"From {msg['From']!r}: decoded {frm_name!r} <{frm_addr}>")
    to_name, to_addr = mailbox(msg, legacy, "To")
    if "@" not in to_addr:
        raise Bad(f"To {msg['To']!r}")

    if msg.get_content_type() != "multipart/alternative":
        raise Bad(f"Content-Type {msg.get_content_type()}, expected multipart/alternative")
    parts = list(msg.iter_parts())
    if len(parts) != 2:
        raise Bad(f"{len(parts)} parts, expected 2")
    text = check_part(parts[0], "text/plain")
    html = check_part(parts[1], "text/html")

    if expected is not None:
        e = expected.get(mid)
        if e is None:
            raise Bad(f"message {mid} was not expected")
        if str(msg["Subject"]) != e["subject"]:
            raise Bad(f"Subject {str(msg['Subject'])!r}, expected {e['subject']!r}")
        if to_addr != e["to"]:
            raise Bad(f"To address {to_addr!r}, expected {e['to']!r}")
        if to_name != e.get("to_name", ""):
            raise Bad(f"To name {to_name!r}, expected {e.get('to_name')!r}")
        if norm(text) != norm(e["text"]):
            raise Bad(f"text/plain differs: {text[:80]!r} vs {e['text'][:80]!r}")
        if norm(html) != norm(e["html"]):
            raise Bad(f"text/html differs: {html[:80]!r} vs {e['html'][:80]!r}")
    return mid


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 1
    maildir = argv[1]
    expected = None
    count = None
    if len(argv) == 3:
        with open(argv[2], encoding="utf-8") as f:
            side = json.load(f)
        expected = side.get("messages", {})
        count = side.get("count")
    for sub in ("tmp", "new", "cur"):
        if not os.path.isdir(os.path.join(maildir, sub)):
            print(f"parse_maildir: {maildir}: no {sub}/ directory", file=sys.stderr)
            return 1
    leftover = os.listdir(os.path.join(maildir, "tmp"))
    if leftover:
        print(f"parse_maildir: {maildir}/tmp is not empty: {leftover[:5]}", file=sys.stderr)
        return 1
    files = [os.path.join(maildir, sub, n) for sub in ("new", "cur")
             for n in sorted(os.listdir(os.path.join(maildir, sub))) if not n.startswith(".")]
    seen = {}
    for path in files:
        try:
            mid = check_message(path, expected)
        except Bad as e:
            print(f"parse_maildir: {path}: {e}", file=sys.stderr)
            return 1
        except Exception as e:  # a parser crash is a failure too
            print(f"parse_maildir: {path}: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        if mid in seen and mid not in MAY_REPEAT:
            print(f"parse_maildir: message {mid} delivered twice: {seen[mid]} and {path}",
                  file=sys.stderr)
            return 1
        seen[mid] = path
    if count is not None and len(files) != count:
        print(f"parse_maildir: {len(files)} messages, expected {count}", file=sys.stderr)
        return 1
    if expected is not None:
        missing = sorted(set(expected) - set(seen))
        if missing:
            print(f"parse_maildir: expected messages missing: {missing}", file=sys.stderr)
            return 1
    print(f"parse_maildir: {len(files)} message(s) OK in {maildir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
