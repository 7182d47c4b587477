#!/usr/bin/env python3
"""Chaos drills for libbilling, driven by scripts/chaos (read that first).

Runs against the private MariaDB + Redis that scripts/chaos started (never the
shared ones): their ports and run directory come from the environment
(MYSQL_PORT, REDIS_PORT, CHAOS_RUN_DIR, CHAOS_SERVICES = the scripts/services
path).  Prints TAP on stdout; progress goes to stderr.

Drills:
  kill    a month of users: a batch (billing-cli batch run --partitions 2)
          and two billing-worker processes (relay included) run while a
          random one of them is killed with SIGKILL every few seconds and
          restarted (the batch with `batch recover` + `batch resume`); MariaDB
          is restarted once and Redis once in the middle.  The month's
          messages are enqueued while the batch runs and once after it.
  redis   Redis down for the whole batch: statements and outbox rows are
          complete without it; delivery completes after it returns.
  fail    a failing write (a trigger that SIGNALs on statement_lines) makes
          the run FAILED with that reason and leaves no partial chunk; after
          the fault is removed, resume completes the month exactly.

Checks after delivery: statements = eligible subscribers exactly and every
amount equals an independent SQL recomputation (the SQL of
tests/testutil.c tu_verify_month); every message SUCCESS, or DEAD with a
reason; the provider ledger has each delivered message exactly once (SUCCESS
count = ledger rows, Maildir files = EMAIL ledger rows); no stream entry left
pending (XPENDING 0).
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time

MONTH = "2026-10"


def log(msg):
    print(f"chaos: {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, detail=""):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {name}", flush=True)
            for line in str(detail).splitlines()[:20]:
                print(f"#   {line}", flush=True)
        return cond

    def note(self, msg):
        print(f"# {msg}", flush=True)

    def bail(self, msg):
        print(f"Bail out! {msg}", flush=True)
        sys.exit(1)


TAP = Tap()


class Env:
    def __init__(self, args):
        self.cli = args.cli
        self.worker = args.worker
        self.enqueue = args.enqueue
        self.services = os.environ["CHAOS_SERVICES"]
        self.run_dir = os.environ["CHAOS_RUN_DIR"]
        self.work = os.path.join(self.run_dir, "work")
        os.makedirs(self.work, exist_ok=True)
        self.base = dict(os.environ)
        for k in list(self.base):
            if k.startswith("BILLING_") and k not in ("BILLING_DATA_KEY",):
                del self.base[k]
        self.base.update({
            "MYSQL_HOST": "127.0.0.1",
            "REDIS_HOST": "127.0.0.1",
            "BILLING_DATA_KEY": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            # fast recovery of what killed processes left behind
            "BILLING_PENDING_IDLE_MS": "2000",
            "BILLING_RETRY_BASE_MS": "100",
            "BILLING_RETRY_CAP_MS": "1000",
            # some transient and permanent provider failures, as in life;
            # enough e-mail attempts that none is exhausted by chance
            "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE": "20",
            "BILLING_MOCK_EMAIL_PERMANENT_PERMILLE": "1",
            "BILLING_MOCK_SMS_TRANSIENT_PERMILLE": "10",
            "BILLING_MOCK_SMS_PERMANENT_PERMILLE": "1",
            "BILLING_RETRY_EMAIL_ATTEMPTS": "10",
            "BILLING_RETRY_SMS_ATTEMPTS": "10",
            "BILLING_MOCK_EMAIL_LATENCY_MS": "1",
            "BILLING_MOCK_SMS_LATENCY_MS": "1",
            "BILLING_WORKER_THREADS": "3",
            "BILLING_WORKER_BATCH": "100",
            # the batch is billing-cli's here, not the workers' scheduler's
            "BILLING_SCHEDULER": "0",
        })
        self.base.pop("BILLING_ENV_FILE", None)

    def for_db(self, db, prefix):
        e = dict(self.base)
        e["MYSQL_DATABASE"] = db
        e["REDIS_PREFIX"] = prefix
        e["BILLING_MAILDIR"] = os.path.join(self.run_dir, "maildir-" + db)
        return e


class Db:
    """One test database on the private server, through the mariadb client."""

    def __init__(self, env, name, prefix):
        self.env = env
        self.name = name
        self.prefix = prefix
        self.vars = env.for_db(name, prefix)
        self.maildir = self.vars["BILLING_MAILDIR"]

    def _client(self, sql, db=True, check=True, timeout=120):
        e = self.env.base
        cmd = ["mariadb", "--no-defaults", "--protocol=TCP", "-h127.0.0.1", "-P" + e["MYSQL_PORT"],
               "-u" + e.get("MYSQL_USER", "app"), "-N", "-B", "--connect-timeout=5"]
        if db:
            cmd.append(self.name)
        p = subprocess.run(cmd, input=sql, capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, MYSQL_PWD=e.get("MYSQL_PASSWORD", "app")))
        if check and p.returncode != 0:
            raise RuntimeError(f"SQL failed ({p.returncode}): {p.stderr.strip()}\n{sql[:300]}")
        return p

    def sql(self, sql, **kw):
        return self._client(sql, **kw).stdout

    def rows(self, sql):
        return [l.split("\t") for l in self.sql(sql).splitlines() if l != ""]

    def val(self, sql):
        out = self.sql(sql).strip().splitlines()
        return out[0] if out else None

    def i64(self, sql):
        v = self.val(sql)
        return int(v) if v not in (None, "NULL") else 0

    def wait_up(self, seconds=60):
        end = time.time() + seconds
        while time.time() < end:
            if self._client("SELECT 1", db=False, check=False, timeout=10).returncode == 0:
                return True
            time.sleep(0.5)
        return False

    def create(self):
        self.sql(f"DROP DATABASE IF EXISTS `{self.name}`; CREATE DATABASE `{self.name}` "
                 "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", db=False)
        redis(self.env, "EVAL", "for _,k in ipairs(redis.call('KEYS', ARGV[1])) do "
              "redis.call('DEL', k) end return 1", "0", self.prefix + "*")
        subprocess.run(["rm", "-rf", self.maildir])

    def drop(self):
        if TAP.failed and not os.environ.get("CHAOS_DROP_ALWAYS"):
            log(f"keeping database {self.name} for inspection (a check failed)")
            return
        self._client(f"DROP DATABASE IF EXISTS `{self.name}`", db=False, check=False)

    def cli(self, *args, check=True, timeout=600):
        p = subprocess.run([self.env.cli, *args], capture_output=True, text=True, env=self.vars,
                           cwd=self.env.work, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError(f"billing-cli {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
        return p

    def enqueue(self, timeout=300):
        p = subprocess.run([self.env.enqueue, MONTH], capture_output=True, text=True,
                           env=self.vars, cwd=self.env.work, timeout=timeout)
        if p.returncode == 0:
            return json.loads(p.stdout)
        return None

    def run_id(self):
        return self.i64(f"SELECT COALESCE(MAX(id), 0) FROM batch_runs WHERE target_month = '{MONTH}'")

    def run_status(self, rid):
        return self.val(f"SELECT status FROM batch_runs WHERE id = {rid}") if rid else None


def redis(env, *args, check=False):
    p = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", env.base["REDIS_PORT"], "--no-raw", *args],
                       capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise RuntimeError(f"redis-cli {args}: {p.stderr}")
    return p.stdout


def redis_raw(env, *args):
    p = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", env.base["REDIS_PORT"], "--raw", *args],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout


def xpending(db):
    """Entries pending in the group (None when Redis does not answer)."""
    rc, out = redis_raw(db.env, "XPENDING", db.prefix + "message-stream", "message-group")
    lines = out.strip().splitlines()
    if rc != 0 or not lines or not lines[0].strip().lstrip("-").isdigit():
        return None
    return int(lines[0])


# ------------------------------------------------------------------ services --

def pidfile_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def services_start(env):
    e = dict(os.environ)
    e.pop("MYSQL_HOST", None)
    e.pop("MYSQL_TCP_PORT", None)
    p = subprocess.run([env.services, "start"], capture_output=True, text=True, env=e, timeout=300)
    if p.returncode != 0:
        raise RuntimeError("scripts/services start failed: " + p.stderr[-2000:])


def stop_service(env, which):
    """SIGTERM our private mariadbd or redis-server (pid file of the private
    run dir) and wait until it is gone.  Returns the time it took."""
    t0 = time.time()
    pidf = {"mariadb": "mariadb/mariadbd.pid", "redis": "redis/redis-server.pid"}[which]
    pid = pidfile_pid(os.path.join(env.run_dir, pidf))
    if not pid or not alive(pid):
        raise RuntimeError(f"{which}: no running private instance (pid file {pidf})")
    os.kill(pid, signal.SIGTERM)
    end = time.time() + 60
    while alive(pid) and time.time() < end:
        time.sleep(0.1)
    if alive(pid):
        raise RuntimeError(f"{which} (pid {pid}) did not stop within 60 s")
    return time.time() - t0


def restart_service(env, which, down_s=1.0):
    stop_service(env, which)
    log(f"{which} stopped; starting it again in {down_s:.1f}s")
    time.sleep(down_s)
    services_start(env)
    log(f"{which} is back")


# ------------------------------------------------------------------ processes --

class Proc:
    """A supervised child: its own session, output to a log file."""

    def __init__(self, name, argv, env, cwd, logdir):
        self.name = name
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.logdir = logdir
        self.p = None
        self.gen = 0
        self.killed = 0
        self.exits = []

    def start(self):
        self.gen += 1
        path = os.path.join(self.logdir, f"{self.name}.{self.gen}.log")
        self.logf = open(path, "w")
        self.p = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=self.logf,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  start_new_session=True)
        log(f"started {self.name} #{self.gen} (pid {self.p.pid}): {' '.join(self.argv[1:])}")

    def running(self):
        return self.p is not None and self.p.poll() is None

    def poll_exit(self):
        """The exit status once the process has ended (then forgotten), else None."""
        if self.p is None:
            return None
        rc = self.p.poll()
        if rc is None:
            return None
        self.logf.close()
        self.exits.append(rc)
        self.p = None
        return rc

    def kill9(self):
        if not self.running():
            return False
        os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait()
        self.killed += 1
        self.poll_exit()
        return True

    def term(self, timeout=60):
        if not self.running():
            self.poll_exit()
            return None
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return self.poll_exit()


class Batch:
    """The month's run: started once, resumed after every kill or failure."""

    def __init__(self, db, logdir, partitions=2, chunk=100):
        self.db = db
        self.logdir = logdir
        self.partitions = partitions
        self.chunk = chunk
        self.proc = None
        self.rid = 0
        self.done = False
        self.starts = 0
        self.failed_exits = 0

    def _argv(self):
        common = ["--partitions", str(self.partitions)]
        if self.rid:
            return [self.db.env.cli, "--json", "batch", "resume", str(self.rid), *common]
        return [self.db.env.cli, "--json", "batch", "run", "--month", MONTH, "--chunk",
                str(self.chunk), *common]

    def start(self):
        self.rid = self.db.run_id()
        if self.rid:
            st = self.db.run_status(self.rid)
            if st == "COMPLETED":
                self.done = True
                return
            # a killed owner leaves its run STARTED: mark it FAILED first
            self.db.cli("batch", "recover")
        self.proc = Proc("batch", self._argv(), self.db.vars, self.db.env.work, self.logdir)
        self.proc.gen = self.starts
        self.proc.start()
        self.starts += 1

    def tick(self):
        """Restart when needed; True once the run is COMPLETED."""
        if self.done:
            return True
        if self.proc and self.proc.running():
            return False
        if self.proc:
            rc = self.proc.poll_exit()
            if rc not in (None, 0):
                self.failed_exits += 1
                log(f"batch exited with {rc}")
        try:
            self.rid = self.db.run_id()
            if self.rid and self.db.run_status(self.rid) == "COMPLETED":
                self.done = True
                log(f"batch run #{self.rid} COMPLETED")
                return True
            self.start()
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            log(f"batch restart postponed: {str(e).splitlines()[0]}")
            self.proc = None
            time.sleep(0.5)
        return False

    def kill9(self):
        return self.proc is not None and self.proc.kill9()


class Workers:
    def __init__(self, db, logdir, n=2, threads=3):
        self.procs = [Proc(f"worker{i}", [db.env.worker, "--threads", str(threads)], db.vars,
                           db.env.work, logdir) for i in range(n)]
        self.restarts = 0

    def start(self):
        for p in self.procs:
            if not p.running():
                p.start()

    def tick(self):
        for p in self.procs:
            if p.p is not None and not p.running():
                rc = p.poll_exit()
                log(f"{p.name} exited with {rc}: restarting")
                self.restarts += 1
                time.sleep(0.3)
                p.start()
            elif p.p is None:
                p.start()

    def stop(self):
        return [p.term() for p in self.procs]


# --------------------------------------------------------------------- checks --

def verify_month(db):
    """tests/testutil.c tu_verify_month, verbatim in SQL: (eligible, mismatches)."""
    y, m = map(int, MONTH.split("-"))
    frm = f"{y:04d}-{m:02d}-01"
    to = f"{y + (m == 12):04d}-{1 if m == 12 else m + 1:02d}-01"
    db.sql("DROP TABLE IF EXISTS tu_expected")
    db.sql(
        "CREATE TABLE tu_expected AS "
        "SELECT x.user_id, x.usage_a, x.disc, x.usage_a - x.disc AS net, x.taxable, "
        "  x.taxable DIV 10 AS vat, x.usage_a - x.disc + x.taxable DIV 10 AS total, "
        "  (x.usage_a - x.disc + x.taxable DIV 10) - MOD(x.usage_a - x.disc + x.taxable DIV 10, 10) AS billed, "
        "  x.n FROM ("
        " SELECT ch.user_id, SUM(ch.charged_price) AS usage_a, "
        "  SUM(LEAST(ch.charged_price, ch.contract_discount_price + ch.bundled_discount_price + "
        "      ch.premier_discount_price)) AS disc, "
        "  SUM(IF(s.type <> 'MCP', ch.charged_price - LEAST(ch.charged_price, "
        "      ch.contract_discount_price + ch.bundled_discount_price + ch.premier_discount_price), 0)) AS taxable, "
        "  COUNT(*) AS n, "
        "  SUM(s.id IS NULL OR ch.charged_price < 0 OR ch.contract_discount_price < 0 OR "
        "      ch.bundled_discount_price < 0 OR ch.premier_discount_price < 0) AS bad "
        " FROM charged_histories ch LEFT JOIN services s ON s.id = ch.service_id "
        f" WHERE ch.created_at >= '{frm}' AND ch.created_at < '{to}' GROUP BY ch.user_id) x "
        "WHERE x.bad = 0")
    expected = db.i64("SELECT COUNT(*) FROM tu_expected")
    mismatches = db.i64(
        "SELECT "
        " (SELECT COUNT(*) FROM tu_expected e LEFT JOIN statements st ON st.user_id = e.user_id "
        f"   AND st.target_month = '{MONTH}' WHERE st.id IS NULL OR st.usage_amount <> e.usage_a "
        "   OR st.discount_amount <> e.disc OR st.net_amount <> e.net OR st.taxable_amount <> e.taxable "
        "   OR st.vat_amount <> e.vat OR st.total_amount <> e.total OR st.billed_amount <> e.billed "
        "   OR st.truncated_amount <> e.total - e.billed OR st.line_count <> e.n "
        f"   OR st.due_date <> DATE_ADD('{frm}', INTERVAL 1 MONTH) + INTERVAL 24 DAY "
        "   OR (SELECT COUNT(*) FROM statement_lines l WHERE l.statement_id = st.id) <> e.n) "
        " + (SELECT COUNT(*) FROM statements st WHERE st.target_month = '{MONTH}' AND NOT EXISTS "
        "   (SELECT 1 FROM tu_expected e WHERE e.user_id = st.user_id))".replace("{MONTH}", MONTH))
    db.sql("DROP TABLE tu_expected")
    return expected, mismatches


def maildir_files(db):
    n = 0
    names = set()
    for sub in ("new", "cur"):
        d = os.path.join(db.maildir, sub)
        if os.path.isdir(d):
            for f in os.listdir(d):
                n += 1
                names.add(f"{sub}/{f}")
    return n, names


def open_messages(db):
    return db.i64("SELECT COUNT(*) FROM messages WHERE status IN ('WAITING','PROCESSING','FAILED')")


def wait_delivered(db, workers, deadline_s):
    """Until no message is open and nothing is pending in the stream."""
    end = time.time() + deadline_s
    last = None
    while time.time() < end:
        workers.tick()
        try:
            o = open_messages(db)
            pend = xpending(db)
        except (RuntimeError, subprocess.TimeoutExpired):
            time.sleep(0.5)
            continue
        if (o, pend) != last:
            log(f"delivery: {o} message(s) open, {pend} stream entr(ies) pending")
            last = (o, pend)
        if o == 0 and pend == 0:
            return True
        time.sleep(0.5)
    return False


def check_delivery(db, label, expect_messages):
    """Statuses, ledger, Maildir, stream: the TAP checks of a delivered month."""
    st = dict((r[0], int(r[1])) for r in db.rows("SELECT status, COUNT(*) FROM messages GROUP BY status"))
    total = sum(st.values())
    TAP.note(f"{label}: messages by status {json.dumps(st, sort_keys=True)}")
    TAP.ok(total >= expect_messages, f"{label}: every statement with a consenting subscriber has its message",
           f"{total} messages, expected at least {expect_messages}")
    TAP.ok(set(st) <= {"SUCCESS", "DEAD"}, f"{label}: every message ended SUCCESS or DEAD",
           json.dumps(st))
    no_reason = db.i64("SELECT COUNT(*) FROM messages WHERE status = 'DEAD' AND COALESCE(last_error, '') = ''")
    TAP.ok(no_reason == 0, f"{label}: every DEAD message has a reason", f"{no_reason} without last_error")
    succ = st.get("SUCCESS", 0)
    ledger = db.i64("SELECT COUNT(*) FROM message_ledger")
    TAP.ok(succ == ledger, f"{label}: ledger rows = SUCCESS messages ({ledger})", f"SUCCESS {succ}, ledger {ledger}")
    bad = db.i64("SELECT COUNT(*) FROM message_ledger l LEFT JOIN messages m ON m.id = l.message_id "
                 "WHERE m.id IS NULL OR m.status <> 'SUCCESS'")
    TAP.ok(bad == 0, f"{label}: every ledger row is a SUCCESS message (each delivered exactly once)",
           f"{bad} ledger rows of messages that are not SUCCESS")
    dups = db.i64("SELECT COALESCE(SUM(duplicate_requests), 0) FROM message_ledger")
    TAP.note(f"{label}: {dups} repeated send(s) refused by the provider's idempotency")
    email_rows = db.i64("SELECT COUNT(*) FROM message_ledger WHERE channel = 'EMAIL'")
    nfiles, names = maildir_files(db)
    TAP.ok(nfiles == email_rows, f"{label}: Maildir files = EMAIL ledger rows ({email_rows})",
           f"{nfiles} files, {email_rows} EMAIL ledger rows")
    recorded = set(r[0] for r in db.rows("SELECT maildir_file FROM message_ledger WHERE channel = 'EMAIL'"))
    missing = len(recorded - names)
    TAP.ok(missing == 0, f"{label}: every EMAIL ledger row names a delivered Maildir file",
           f"{missing} ledger rows whose file is missing, e.g. {sorted(recorded - names)[:3]}")
    pend = xpending(db)
    TAP.ok(pend == 0, f"{label}: no stream entry left pending (XPENDING 0)", f"XPENDING says {pend}")
    return st


def check_month(db, label):
    expected, mismatches = verify_month(db)
    issued = db.i64(f"SELECT COUNT(*) FROM statements WHERE target_month = '{MONTH}'")
    TAP.ok(issued == expected, f"{label}: statements = eligible subscribers ({expected})",
           f"{issued} statements, {expected} eligible")
    TAP.ok(mismatches == 0, f"{label}: every statement equals the independent SQL recomputation",
           f"{mismatches} missing, extra or different statements")
    return expected


def consenting(db):
    return db.i64(f"SELECT COUNT(*) FROM statements s JOIN users u ON u.id = s.user_id "
                  f"WHERE s.target_month = '{MONTH}' AND (u.consent_email = 1 OR u.consent_sms = 1)")


def seed(db, users):
    db.create()
    db.cli("migrate")
    t = time.time()
    db.cli("seed", "--users", str(users), "--month", MONTH, "--seed", "11", timeout=1800)
    log(f"{db.name}: seeded {users} users in {time.time() - t:.1f}s")


# --------------------------------------------------------------------- drills --

def drill_kill(env, users, kills_wanted, rng, logdir):
    db = Db(env, "chaos_kill", "chaos:kill:")
    seed(db, users)
    t0 = time.time()
    workers = Workers(db, logdir)
    workers.start()
    # small chunks: many commit points to die between, and a batch that
    # lasts long enough (about 20 s for 10,000 users) to be killed a few times
    batch = Batch(db, logdir, partitions=2, chunk=2 if users <= 20000 else 5)
    batch.start()
    kills = {"batch": 0, "worker": 0}
    restarted = {"mariadb": False, "redis": False}
    enq_runs = 0
    next_kill = time.time() + rng.uniform(1.5, 2.5)
    next_enqueue = time.time() + 1.0
    enqueue_proc = None
    # restart MariaDB right after the 1st kill, Redis after the 3rd: both
    # while the batch still runs
    plan = {1: "mariadb", 3: "redis"}
    deadline = time.time() + (1500 if users > 20000 else 150)
    while time.time() < deadline:
        done = batch.tick()
        workers.tick()
        now = time.time()
        # the month's messages, while statements appear
        if enqueue_proc is not None and enqueue_proc.poll() is not None:
            enq_runs += enqueue_proc.returncode == 0
            enqueue_proc = None
        if enqueue_proc is None and now >= next_enqueue and not done:
            enqueue_proc = subprocess.Popen([env.enqueue, MONTH], env=db.vars, cwd=env.work,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            next_enqueue = now + 1.5
        total_kills = kills["batch"] + kills["worker"]
        if total_kills >= kills_wanted and all(restarted.values()) and done:
            break
        if now >= next_kill and total_kills < kills_wanted:
            victims = [p for p in workers.procs if p.running()]
            # while it runs, every other victim is the batch (starting with
            # it), so that both kinds die several times; the worker is random
            if batch.proc is not None and batch.proc.running() and (not victims or total_kills % 2 == 0):
                victims = [batch]
            if victims:
                # the worker killed least so far (ties at random): both die
                least = min(getattr(p, "killed", 0) for p in victims)
                v = rng.choice([p for p in victims if getattr(p, "killed", 0) == least])
                name = "batch" if v is batch else v.name
                if v.kill9():
                    kills["batch" if v is batch else "worker"] += 1
                    log(f"kill -9 {name} (kill #{total_kills + 1})")
                    event = plan.get(total_kills + 1)
                    if event and not restarted[event]:
                        restart_service(env, event, down_s=rng.uniform(0.5, 2.0))
                        restarted[event] = True
            next_kill = time.time() + rng.uniform(1.5, 3.5)
        elif total_kills >= kills_wanted and not all(restarted.values()):
            for event, done_ in restarted.items():
                if not done_:
                    restart_service(env, event, down_s=1.0)
                    restarted[event] = True
        time.sleep(0.1)
    if enqueue_proc is not None:
        enqueue_proc.wait()
    batch_s = time.time() - t0
    TAP.ok(batch.done, "kill: the batch run COMPLETED despite the kills",
           f"run #{batch.rid} is {db.run_status(batch.rid)} after {batch_s:.0f}s")
    TAP.ok(all(restarted.values()), "kill: MariaDB and Redis were each restarted once mid-run",
           json.dumps(restarted))
    # the month's messages once more, now that every statement exists
    stats = None
    for _ in range(20):
        stats = db.enqueue()
        if stats:
            break
        time.sleep(1)
    TAP.ok(stats is not None, "kill: enqueue of the month's messages succeeds after the batch")
    # keep killing workers during delivery until the wanted number is reached
    t1 = time.time()
    while kills["batch"] + kills["worker"] < kills_wanted and open_messages(db) > 0:
        workers.tick()
        time.sleep(rng.uniform(2.0, 3.0))
        v = rng.choice(workers.procs)
        if v.kill9():
            kills["worker"] += 1
            log(f"kill -9 {v.name} during delivery")
    delivered = wait_delivered(db, workers, 600 if users > 20000 else 120)
    deliver_s = time.time() - t1
    TAP.ok(delivered, "kill: every message delivered or dead, nothing pending, in time",
           f"{open_messages(db)} open, XPENDING {xpending(db)}")
    exits = workers.stop()
    TAP.ok(all(rc == 0 for rc in exits), "kill: the workers stop cleanly on SIGTERM", f"exit codes {exits}")
    eligible = check_month(db, "kill")
    st = check_delivery(db, "kill", consenting(db))
    runs = db.i64(f"SELECT COUNT(*) FROM batch_runs WHERE target_month = '{MONTH}'")
    TAP.ok(runs == 1, "kill: one run for the month (resumed, never restarted from scratch)",
           f"{runs} runs")
    TAP.note(f"kill: {users} users, {eligible} statements, kills survived: {kills['batch']} batch + "
             f"{kills['worker']} worker; batch (re)starts {batch.starts}, worker restarts "
             f"{workers.restarts + sum(p.killed for p in workers.procs)}; enqueue runs {enq_runs + 1}; "
             f"batch phase {batch_s:.1f}s, delivery phase {deliver_s:.1f}s; "
             f"SUCCESS {st.get('SUCCESS', 0)}, DEAD {st.get('DEAD', 0)}")
    db.drop()
    return kills


def drill_redis_down(env, users, logdir):
    db = Db(env, "chaos_redis", "chaos:redis:")
    seed(db, users)
    stop_service(env, "redis")
    log("redis is down for the whole batch")
    try:
        p = db.cli("--json", "batch", "run", "--month", MONTH, "--partitions", "2", check=False)
        TAP.ok(p.returncode == 0, "redis down: the batch completes without Redis",
               f"exit {p.returncode}: {p.stderr.strip()[:300]}")
        check_month(db, "redis down")
        stats = db.enqueue()
        TAP.ok(stats is not None, "redis down: enqueue needs no Redis")
        want = consenting(db)
        outbox = db.i64("SELECT COUNT(*) FROM messages WHERE status = 'WAITING' AND published_at IS NULL")
        total = db.i64("SELECT COUNT(*) FROM messages")
        TAP.ok(outbox == want and total == want,
               f"redis down: the outbox holds every message, unpublished ({want})",
               f"{total} messages, {outbox} waiting unpublished, {want} expected")
        # a worker cannot start without Redis: it says so and exits
        w = subprocess.run([env.worker, "--threads", "1"], env=db.vars, cwd=env.work,
                           capture_output=True, text=True, timeout=60)
        TAP.ok(w.returncode != 0 and "redis" in w.stderr.lower(),
               "redis down: a worker refuses to start and names Redis",
               f"exit {w.returncode}: {w.stderr.strip()[:300]}")
    finally:
        services_start(env)
        log("redis is back")
    workers = Workers(db, logdir)
    workers.start()
    ok = wait_delivered(db, workers, 300 if users > 20000 else 120)
    TAP.ok(ok, "redis down: delivery completes after Redis returns",
           f"{open_messages(db)} open, XPENDING {xpending(db)}")
    workers.stop()
    check_delivery(db, "redis down", consenting(db))
    db.drop()


def drill_failing_write(env, users):
    db = Db(env, "chaos_fail", "chaos:fail:")
    seed(db, users)
    # the fault hits in the middle of a chunk (chunks of 100 users): the
    # rows of that chunk before it must be rolled back with it
    half = users // 2 + 37
    reason = "chaos: injected write failure on statement_lines"
    db.sql("DELIMITER //\nCREATE TRIGGER chaos_fail BEFORE INSERT ON statement_lines FOR EACH ROW BEGIN "
           f"IF (SELECT user_id FROM statements WHERE id = NEW.statement_id) > {half} THEN "
           f"SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{reason}'; END IF; END//\nDELIMITER ;\n")
    p = db.cli("--json", "batch", "run", "--month", MONTH, "--partitions", "2", "--chunk", "100",
               check=False)
    rid = db.run_id()
    st = db.run_status(rid)
    fr = db.val(f"SELECT COALESCE(fail_reason, '') FROM batch_runs WHERE id = {rid}") or ""
    TAP.ok(p.returncode != 0 and st == "FAILED", "failing write: the run ends FAILED and the CLI says so",
           f"exit {p.returncode}, run #{rid} {st}")
    TAP.ok(reason in fr, "failing write: the run's fail_reason carries the database's message",
           f"fail_reason: {fr[:300]}")
    TAP.ok(reason in p.stderr, "failing write: billing-cli prints the reason", p.stderr[:300])
    TAP.note(f"failing write: fail_reason = {fr[:200]}")
    partial = db.i64("SELECT COUNT(*) FROM statements s WHERE s.line_count <> "
                     "(SELECT COUNT(*) FROM statement_lines l WHERE l.statement_id = s.id)")
    TAP.ok(partial == 0, "failing write: every statement written has all its lines", f"{partial} partial")
    # chunk by chunk: DONE chunks are complete, PENDING chunks left nothing behind
    pending_written = db.i64(
        f"SELECT COUNT(*) FROM statements s JOIN batch_chunks c ON c.run_id = {rid} "
        "AND s.user_id > c.from_user_id AND s.user_id <= c.to_user_id "
        f"WHERE c.status = 'PENDING' AND s.target_month = '{MONTH}'")
    TAP.ok(pending_written == 0, "failing write: no chunk is half-written (unfinished chunks wrote nothing)",
           f"{pending_written} statements in unfinished chunks")
    hit = db.rows(f"SELECT chunk_no, from_user_id, to_user_id, status FROM batch_chunks WHERE run_id = {rid} "
                  f"AND from_user_id < {half} AND to_user_id >= {half}")
    if hit:
        no, lo, hi, cst = hit[0]
        before = db.i64(f"SELECT COUNT(*) FROM statements WHERE user_id > {lo} AND user_id <= {hi}")
        TAP.ok(cst == "PENDING" and before == 0,
               f"failing write: the chunk hit mid-way (users {lo}..{hi}] kept none of its rows before the fault",
               f"chunk {no} is {cst} with {before} statements")
    else:
        TAP.ok(False, "failing write: the chunk hit by the fault exists", f"no chunk holds user {half}")
    done_chunks = db.i64(f"SELECT COUNT(*) FROM batch_chunks WHERE run_id = {rid} AND status = 'DONE'")
    TAP.note(f"failing write: {done_chunks} chunk(s) committed before the fault, "
             f"{db.i64(f'SELECT COUNT(*) FROM statements')} statements")
    db.sql("DROP TRIGGER chaos_fail")
    p = db.cli("--json", "batch", "resume", str(rid), "--partitions", "2", check=False)
    TAP.ok(p.returncode == 0 and db.run_status(rid) == "COMPLETED",
           "failing write: once fixed, resume completes the same run", f"exit {p.returncode}: {p.stderr[:300]}")
    check_month(db, "failing write")
    db.drop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--worker", required=True)
    ap.add_argument("--enqueue", required=True)
    ap.add_argument("--long", action="store_true")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--only", choices=["kill", "redis", "fail"], action="append")
    args = ap.parse_args()
    env = Env(args)
    rng = random.Random(args.seed)
    logdir = os.path.join(env.run_dir, "logs")
    os.makedirs(logdir, exist_ok=True)
    users = 50000 if args.long else 10000
    kills = 15 if args.long else 6
    drills = args.only or ["kill", "redis", "fail"]
    TAP.note(f"chaos {'--long' if args.long else '--short'}: seed {args.seed}, {users} users, "
             f"{kills} kills; logs in {logdir}")
    probe = Db(env, "mysql", "")
    if not probe.wait_up(60):
        TAP.bail("the private MariaDB does not answer")
    t = time.time()
    try:
        if "kill" in drills:
            drill_kill(env, users, kills, rng, logdir)
        if "redis" in drills:
            drill_redis_down(env, users // 5, logdir)
        if "fail" in drills:
            drill_failing_write(env, 3000 if not args.long else 10000)
    except Exception as e:  # a drill that cannot go on is one failure, not a traceback
        import traceback
        TAP.ok(False, f"chaos drill aborted: {type(e).__name__}", traceback.format_exc())
    TAP.note(f"chaos: {time.time() - t:.0f}s")
    print(f"1..{TAP.n}", flush=True)
    return 1 if TAP.failed else 0


if __name__ == "__main__":
    sys.exit(main())
