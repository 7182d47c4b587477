#!/usr/bin/env python3
"""The billing-cli console (REPL) driven through a pseudo-terminal.

Tab completion of commands, options and live values (template codes, group
codes), Ctrl-C dropping the line being edited, history recalled across
sessions, the month context in the prompt, colours only without NO_COLOR,
and Ctrl-C during a batch run: the run ends STOPPED, the console stays, and
the run resumes.  Runs against the MariaDB of scripts/services in its own
database.  Prints TAP.  Environment as tests/test_cli.sh (BILLING_CLI, MYSQL_*).
"""
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

CLI = os.environ.get("BILLING_CLI")
if not CLI or not os.access(CLI, os.X_OK):
    print("Bail out! BILLING_CLI must name the billing-cli binary")
    sys.exit(1)
if not shutil.which("mariadb"):
    print("Bail out! the mariadb client is not installed")
    sys.exit(1)

DB = "bltest_repl_%d" % os.getpid()
TMP = tempfile.mkdtemp(prefix="bl-repl-test.")
HIST = os.path.join(TMP, "history")
ENV = dict(os.environ)
ENV.update({
    "MYSQL_HOST": os.environ.get("MYSQL_HOST", "127.0.0.1"),
    "MYSQL_PORT": os.environ.get("MYSQL_PORT", "13306"),
    "MYSQL_USER": os.environ.get("MYSQL_USER", "app"),
    "MYSQL_PASSWORD": os.environ.get("MYSQL_PASSWORD", "app"),
    "MYSQL_DATABASE": DB,
    "REDIS_PREFIX": "bltest:repl:%d:" % os.getpid(),
    "BILLING_DATA_KEY": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    "BILLING_CLI_HISTORY": HIST,
    "TERM": "xterm",
    "NO_COLOR": "1",
    "HOME": TMP,
})
for k in ("BILLING_ENV_FILE", "BILLING_MIGRATIONS_DIR", "COLUMNS", "LINES", "VISUAL", "EDITOR"):
    ENV.pop(k, None)

n = 0
failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    if cond:
        print("ok %d - %s" % (n, name))
    else:
        failed += 1
        print("not ok %d - %s" % (n, name))
        for line in str(detail).splitlines()[-25:]:
            print("#   " + line)
    sys.stdout.flush()


def sql(q, db=True):
    args = ["mariadb", "--no-defaults", "--protocol=TCP", "-h", ENV["MYSQL_HOST"], "-P", ENV["MYSQL_PORT"],
            "-u", ENV["MYSQL_USER"], "-N", "-B"]
    if db:
        args.append(DB)
    r = subprocess.run(args + ["-e", q], env=dict(ENV, MYSQL_PWD=ENV["MYSQL_PASSWORD"]),
                       capture_output=True, text=True, timeout=60)
    if r.returncode:
        raise RuntimeError("sql %s: %s" % (q, r.stderr))
    return r.stdout.strip()


def cli(*args):
    return subprocess.run([CLI, *args], env=ENV, cwd=TMP, capture_output=True, text=True, timeout=300)


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|[\x01\x02\x07]")
SGR = re.compile(rb"\x1b\[[0-9;]*m")  # colours (not readline's other escapes)


class Console:
    """billing-cli on a pty, 120x40."""

    def __init__(self, env=None):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(TMP)
            os.execve(CLI, [CLI], env or ENV)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.buf = b""

    def read(self, timeout=0.1):
        end = time.time() + timeout
        while True:
            left = end - time.time()
            if left <= 0:
                return
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                return
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            self.buf += data

    def text(self):
        return ANSI.sub("", self.buf.decode("utf-8", "replace"))

    def mark(self):
        """Position after which expect() looks."""
        return len(self.text())

    def expect(self, pattern, since=0, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            m = re.search(pattern, self.text()[since:])
            if m:
                return m
            self.read(0.05)
        return None

    def send(self, s):
        os.write(self.fd, s.encode() if isinstance(s, str) else s)

    def wait(self, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            self.read(0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        return None


PROMPT = r"%s\[(\d{4}-\d{2})\]> " % DB


def tail(c):
    return c.text()[-1500:]


def main():
    sql("DROP DATABASE IF EXISTS `%s`; CREATE DATABASE `%s`" % (DB, DB), db=False)
    for args in (["migrate"], ["seed", "--users", "300", "--month", "2026-10"], ["batch", "run", "--month", "2026-10"],
                 ["seed", "--users", "4000", "--month", "2026-09"]):
        r = cli(*args)
        if r.returncode:
            print("Bail out! billing-cli %s: %s" % (" ".join(args), r.stderr))
            return 1

    # ---- session 1: completion, Ctrl-C on a line, month context, history ----
    c = Console()
    m = c.expect(PROMPT)
    ok(m is not None, "the prompt shows the database and the month", tail(c))
    ok(m is not None and not SGR.search(c.buf), "NO_COLOR: no colour escapes", repr(c.buf[-300:]))

    at = c.mark()
    c.send("templ\t")
    ok(c.expect(r"template $", at, 5) is not None, "Tab completes a command", tail(c))
    c.send("sh\t")
    ok(c.expect(r"template show $", at, 5) is not None, "Tab completes a sub-command", tail(c))
    c.send("DEF\t")
    ok(c.expect(r"template show DEFAULT_BILLING_$", at, 5) is not None,
       "Tab completes a template code to the common prefix (live values)", tail(c))
    c.send("S\t")
    ok(c.expect(r"template show DEFAULT_BILLING_SMS $", at, 5) is not None, "Tab completes the template code",
       tail(c))
    c.send("\r")
    ok(c.expect(r"DEFAULT_BILLING_SMS v1 .*SMS BILLING", at, 10) is not None, "the completed command runs",
       tail(c))
    c.expect(PROMPT, c.mark() - 40)

    at = c.mark()
    c.send("group members VI\t")
    ok(c.expect(r"group members VIP $", at, 5) is not None, "Tab completes a group code", tail(c))
    c.send("--li\t")
    ok(c.expect(r"group members VIP --limit $", at, 5) is not None, "Tab completes an option name", tail(c))
    c.send("\x15")  # Ctrl-U: clear the line
    at = c.mark()
    c.send("--json group show VI\t")
    ok(c.expect(r"--json group show VIP $", at, 5) is not None, "completion after a leading --json", tail(c))
    c.send("\r")
    ok(c.expect(r'\{"id":\d+,"code":"VIP"', at, 10) is not None, "--json in the console prints JSON", tail(c))
    c.expect(PROMPT, at + 20)

    runs_before = sql("SELECT COUNT(*) FROM batch_runs")
    at = c.mark()
    c.send("batch run --month 2026-09 --mode dr\t")
    ok(c.expect(r"--mode dry-run $", at, 5) is not None, "Tab completes an option value", tail(c))
    c.send("\x03")  # Ctrl-C drops the line
    ok(c.expect(r"\^C\r?\n" + PROMPT, at, 5) is not None, "Ctrl-C drops the line and shows a fresh prompt",
       tail(c))
    c.read(0.5)
    ok(sql("SELECT COUNT(*) FROM batch_runs") == runs_before, "the dropped line did not run")

    at = c.mark()
    c.send("month 2026-09\r")
    ok(c.expect(r"\[2026-09\]> $", at, 5) is not None, "month changes the prompt's context", tail(c))
    at = c.mark()
    c.send("group list\r")
    ok(c.expect(r"USER_ALL\s+ALL\s+4,000", at, 10) is not None, "group list in the console", tail(c))
    c.expect(PROMPT, at)
    at = c.mark()
    c.send("nosuchcommand 010-2222-3333 kim.minsu@example.com\r")
    ok(c.expect(r"unknown command 'nosuchcommand'[\s\S]*" + PROMPT, at, 5) is not None,
       "an error is shown and the console stays", tail(c))
    c.send("\x04")  # Ctrl-D
    code = c.wait()
    ok(code == 0, "Ctrl-D leaves with exit 0", "exit %r\n%s" % (code, tail(c)))
    hist = open(HIST, encoding="utf-8").read() if os.path.exists(HIST) else ""
    ok("group list" in hist and "template show DEFAULT_BILLING_SMS" in hist and "batch run" not in hist,
       "history saved to $BILLING_CLI_HISTORY (without the dropped line)", hist)
    ok("010-2222-3333" not in hist and "kim.minsu@" not in hist and
       "nosuchcommand 010-****-3333 k***@example.com" in hist,
       "the history file keeps typed phone numbers and e-mails masked", hist)

    # ---- session 2: history recall, Ctrl-C during a batch run ----
    c = Console(dict(ENV, NO_COLOR=""))
    ok(c.expect(PROMPT) is not None, "second session starts", tail(c))
    ok(SGR.search(c.buf) is not None, "colours on a TTY without NO_COLOR")
    at = c.mark()
    c.send("\x1b[A\x1b[A")  # Up, Up: "group list" is two lines back ("nosuchcommand" is the last)
    ok(c.expect(r"group list$", at, 5) is not None, "Up recalls a line of the previous session", tail(c))
    c.send("\r")
    ok(c.expect(r"USER_ALL", at, 10) is not None, "the recalled line runs", tail(c))
    c.expect(PROMPT, c.mark() - 40)

    at = c.mark()
    c.send("batch run --month 2026-09 --chunk 10 --partitions 1\r")
    started = False
    for _ in range(400):
        if sql("SELECT COALESCE(MAX(processed_count), 0) FROM batch_runs WHERE target_month = '2026-09'") != "0":
            started = True
            break
        time.sleep(0.025)
    bar = c.expect(r"batch \S*\s*\d+%.*ETA", at, 5)
    c.send("\x03")
    m = c.expect(r"batch run #(\d+) STOPPED[\s\S]*" + PROMPT, at, 30)
    ok(started and m is not None, "Ctrl-C during a batch run stops it cleanly; the console stays", tail(c))
    ok(bar is not None, "the batch run shows a progress bar with ETA", tail(c))
    run = m.group(1) if m else "0"
    status = sql("SELECT status FROM batch_runs WHERE id = %s" % run) if m else ""
    ok(status == "STOPPED", "the interrupted run is STOPPED in the database", status)
    at = c.mark()
    c.send("batch resume %s --partitions 4\r" % run)
    ok(c.expect(r"batch run #%s COMPLETED[\s\S]*" % run + PROMPT, at, 60) is not None,
       "the run resumes to COMPLETED in the same console (Ctrl-C state reset)", tail(c))
    dup = sql("SELECT COUNT(*) - COUNT(DISTINCT user_id) FROM statements WHERE target_month = '2026-09'")
    ok(dup == "0", "one statement per subscriber after stop + resume", dup)
    c.send("exit\r")
    code = c.wait()
    ok(code == 0, "exit leaves with exit 0", "exit %r" % code)
    return 0


if __name__ == "__main__":
    rc = 1
    try:
        rc = main()
    except Exception as e:  # report, then clean up
        ok(False, "unexpected error", repr(e))
    finally:
        try:
            sql("DROP DATABASE IF EXISTS `%s`" % DB, db=False)
        except Exception:
            pass
        shutil.rmtree(TMP, ignore_errors=True)
    print("1..%d" % n)
    sys.exit(1 if failed or rc else 0)
