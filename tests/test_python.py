#!/usr/bin/env python3
"""Tests of the Python binding (bindings/python/billing), with unittest only.

Runs against the real MariaDB and Redis of scripts/services, in its own
database bltest_py_<pid> (created and dropped through the binding), and
prints TAP for meson.  Environment (set by tests/meson.build):
  BILLING_LIB     the build tree's libbilling.so.0
  BL_SOURCE_DIR   the source tree (headers, the package, the example)
  MYSQL_*, REDIS_*  as `scripts/services env` prints them
Run alone: BILLING_LIB=build/libbilling.so.0 tests/test_python.py [-k pattern]
"""

import ctypes
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest

SRC = os.environ.get("BL_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG_DIR = os.path.join(SRC, "bindings", "python")
sys.dont_write_bytecode = True          # keep the source tree clean
sys.path.insert(0, PKG_DIR)

import billing                            # noqa: E402
from billing import _ffi                  # noqa: E402

MONTH = "2026-10"
USERS = 500
DATA_KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
WORKER_IDLE_MS = 300


def load_header_parser():
    path = os.path.join(SRC, "scripts", "api-doc-skeleton")
    loader = importlib.machinery.SourceFileLoader("api_doc_skeleton", path)
    spec = importlib.util.spec_from_loader("api_doc_skeleton", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def settings(name, **extra):
    """Settings of a scratch database for this process."""
    s = {"MYSQL_DATABASE": "bltest_%s_%d" % (name, os.getpid()),
         "REDIS_PREFIX": "bltest:%s:%d:" % (name, os.getpid()),
         "BILLING_DATA_KEY": DATA_KEY}
    if "BILLING_QUIET_START" in billing.config_keys():
        # no quiet hours: a NOTICE SMS sent at night would wait until 08:00
        s.update(BILLING_QUIET_START="00:00", BILLING_QUIET_END="00:00")
    s.update(extra)
    return s


def after(seconds, fn):
    """threading.Timer that fires by polling with time.sleep: a timed lock
    wait (Timer, Event.wait) never returns under libfaketime, whose shifted
    CLOCK_MONOTONIC the kernel's sem_clockwait does not know (scripts/test
    runs this suite under shifted clocks).  Returns the cancel function."""
    cancelled = threading.Event()

    def run():
        end = time.monotonic() + seconds
        while not cancelled.is_set() and time.monotonic() < end:
            time.sleep(0.02)
        if not cancelled.is_set():
            fn()
    threading.Thread(target=run, daemon=True).start()
    return cancelled.set


def run_worker(ctx, limit_s=60, **kw):
    """worker_run with idle exit, stopped by a watchdog after `limit_s`.

    One sender thread: with two, libbilling's worker can hit a MariaDB
    deadlock (1213) and leave a batch PROCESSING until the stale-row recovery
    30 s later (reported; this test is about the binding)."""
    flag = billing.StopFlag()
    cancel = after(limit_s, flag.set)
    t0 = time.monotonic()
    try:
        ctx.worker_run(threads=1, idle_exit_ms=WORKER_IDLE_MS, stop=flag, **kw)
    finally:
        cancel()
    if flag.is_set():
        raise AssertionError("the worker did not become idle within %d s" % limit_s)
    return time.monotonic() - t0


# ================================================================ offline ==

class T1Loading(unittest.TestCase):
    """The library, its version, lazy functions."""

    def test_loads_the_library_named_by_the_environment(self):
        want = os.environ.get("BILLING_LIB")
        if want:
            self.assertEqual(billing.library_path(), want)
        self.assertRegex(billing.version(), r"^\d+\.\d+\.\d+$")

    def test_missing_function_fails_only_when_called(self):
        lib = _ffi.lib()
        saved = dict(_ffi.SIGNATURES)
        try:
            _ffi.SIGNATURES["bl_no_such_function"] = (_ffi.RC, [ctypes.c_void_p])
            fn = lib.function("bl_no_such_function")     # declaring it does not fail
            with self.assertRaises(billing.NotAvailable) as cm:
                fn(None)
            self.assertIsInstance(cm.exception, NotImplementedError)
            self.assertIn("bl_no_such_function", str(cm.exception))
        finally:
            _ffi.SIGNATURES.clear()
            _ffi.SIGNATURES.update(saved)
            lib._funcs.pop("bl_no_such_function", None)
        self.assertFalse(billing.has_function("bl_no_such_function"))
        self.assertTrue(billing.has_function("bl_version"))

    def test_library_search_order(self):
        saved = os.environ.pop("BILLING_LIB", None)
        try:
            cands = _ffi.library_candidates()
            in_tree = os.path.join(PKG_DIR, "..", "..", "build", "libbilling.so.0")
            if os.path.exists(in_tree):          # the checkout's build tree first
                self.assertEqual(os.path.realpath(cands[0]), os.path.realpath(in_tree))
                cands = cands[1:]
            self.assertEqual(cands[0], "libbilling.so.0")   # then the installed soname
            os.environ["BILLING_LIB"] = "/x/libbilling.so.0"
            self.assertEqual(_ffi.library_candidates(), ["/x/libbilling.so.0"])
        finally:
            os.environ.pop("BILLING_LIB", None)
            if saved is not None:
                os.environ["BILLING_LIB"] = saved

    def test_library_not_found_is_a_clear_error(self):
        with self.assertRaises(billing.LibraryNotFound) as cm:
            _ffi.Library("/nonexistent/libbilling.so.0")
        self.assertIn("BILLING_LIB", str(cm.exception))

    def test_error_codes_map_to_classes(self):
        self.assertIs(billing.error_class(-3), billing.NotFound)
        self.assertIs(billing.error_class(-11), billing.Stopped)
        self.assertIs(billing.error_class(-14), billing.RateLimited)
        self.assertIs(billing.error_class(-999), billing.BillingError)
        self.assertEqual(billing.strerror(-3), "not found")


class T2Signatures(unittest.TestCase):
    """The binding's declarations against the C headers and compiler."""

    C_SCALARS = {
        "int": ctypes.c_int, "unsigned": ctypes.c_uint, "bool": ctypes.c_bool,
        "size_t": ctypes.c_size_t, "int64_t": ctypes.c_int64, "uint64_t": ctypes.c_uint64,
        "bl_won": ctypes.c_int64, "void*": ctypes.c_void_p, "char*": ctypes.c_char_p,
        "unsigned char*": ctypes.c_char_p, "char**": ctypes.POINTER(ctypes.c_void_p),
        "unsigned char**": ctypes.POINTER(ctypes.c_void_p),
    }
    ENUMS = {"bl_role", "bl_channel", "bl_pii_kind", "bl_batch_mode", "bl_charge_problem",
             "bl_service_type", "bl_purpose", "bl_created_by", "bl_message_kind"}
    HANDLES = {"bl_ctx", "bl_config"}
    CALLBACKS = {"bl_clock_fn": _ffi.CLOCK_FN}

    @classmethod
    def setUpClass(cls):
        cls.decl = {n: p for _, n, p, _ in load_header_parser().parse_headers(SRC)}
        cls.structs = {s._c_type_: s for s in _ffi.STRUCTURES}

    def c_to_ctypes(self, ctype):
        """The ctypes type the binding must use for a C parameter/return type."""
        t = re.sub(r"\b(const|volatile)\b", "", ctype)
        arr = re.search(r"\[.*\]$", t)
        t = re.sub(r"\[.*\]$", "", t)
        t = re.sub(r"\s*\*", "*", re.sub(r"\s+", " ", t)).strip()
        if arr:                      # an array parameter is a pointer; char[] → c_char_p
            t += "*"
        base, stars = t.rstrip("*").strip(), len(t) - len(t.rstrip("*"))
        if t in self.C_SCALARS:
            return self.C_SCALARS[t]
        if base in self.CALLBACKS and stars == 0:
            return self.CALLBACKS[base]
        if base in self.HANDLES:
            return {1: ctypes.c_void_p, 2: ctypes.POINTER(ctypes.c_void_p)}[stars]
        if base in self.ENUMS:
            return ctypes.c_int if stars == 0 else ctypes.POINTER(ctypes.c_int)
        if base in self.structs and stars == 1:
            return ctypes.POINTER(self.structs[base])
        if base in self.C_SCALARS and stars == 1:
            return ctypes.POINTER(self.C_SCALARS[base])
        if base == "void" and stars == 0:
            return None
        raise AssertionError("no ctypes mapping for C type %r" % ctype)

    @staticmethod
    def split_params(proto):
        m = re.match(r"^(.*?)\b(bl_\w+)\((.*)\);$", proto)
        ret, params = m.group(1).strip(), m.group(3).strip()
        out = []
        if params != "void":
            for p in params.split(","):
                p = p.strip()
                pm = re.match(r"^(.*?)(\w+)(\s*\[[^\]]*\])?$", p)      # drop the name
                out.append((pm.group(1) + (pm.group(3) or "")).strip())
        return ret, out

    def test_every_declared_function_matches_its_prototype(self):
        for name, (restype, argtypes) in sorted(_ffi.SIGNATURES.items()):
            with self.subTest(function=name):
                self.assertIn(name, self.decl, "the binding declares %s; no public header does" % name)
                ret, params = self.split_params(self.decl[name])
                want_ret = self.c_to_ctypes(ret)
                got_ret = ctypes.c_int if restype is _ffi.RC else restype
                if ret.replace(" ", "") in ("constbl_config*", "bl_config*"):
                    want_ret = ctypes.c_void_p
                self.assertEqual(got_ret, want_ret, "%s returns %s" % (name, ret))
                want = [self.c_to_ctypes(p) for p in params]
                self.assertEqual(len(argtypes), len(want), "%s: %s" % (name, self.decl[name]))
                for i, (g, w) in enumerate(zip(argtypes, want)):
                    self.assertEqual(g, w, "%s parameter %d is %r" % (name, i + 1, params[i]))

    def test_rc_functions_are_exactly_the_int_returning_ones(self):
        not_codes = {"bl_error_last_code"}
        for name, (restype, _) in _ffi.SIGNATURES.items():
            if name in self.decl:
                ret = self.split_params(self.decl[name])[0]
                self.assertEqual(restype is _ffi.RC, ret == "int" and name not in not_codes, name)

    def test_every_public_function_is_bound(self):
        missing = sorted(set(self.decl) - set(_ffi.SIGNATURES))
        if missing:
            self.skipTest("not bound in Python yet: " + ", ".join(missing))

    def test_structures_match_the_c_layout(self):
        cc = os.environ.get("CC", "cc").split()
        if not shutil.which(cc[0]):
            self.skipTest("no C compiler")
        lines = ["#include <stddef.h>", "#include <stdio.h>", "#include <billing/billing.h>",
                 "int main(void) {"]
        for s in _ffi.STRUCTURES:
            lines.append('printf("%s %%zu\\n", sizeof(%s));' % (s._c_type_, s._c_type_))
            for f in s._fields_:
                lines.append('printf("%s.%s %%zu\\n", offsetof(%s, %s));'
                             % (s._c_type_, f[0], s._c_type_, f[0]))
            if hasattr(s, "VERSION"):
                macro = re.sub(r"^BL_", "BL_", s._c_type_.upper()) + "_VERSION"
                lines.append('printf("%s.VERSION %%u\\n", (unsigned)%s);' % (s._c_type_, macro))
        lines.append("return 0; }")
        with tempfile.TemporaryDirectory() as d:
            src, exe = os.path.join(d, "layout.c"), os.path.join(d, "layout")
            with open(src, "w") as fh:
                fh.write("\n".join(lines) + "\n")
            r = subprocess.run(cc + ["-std=c11", "-I", os.path.join(SRC, "include"), src, "-o", exe],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            got = dict(l.rsplit(" ", 1) for l in subprocess.check_output([exe], text=True).split("\n") if l)
        for s in _ffi.STRUCTURES:
            with self.subTest(struct=s._c_type_):
                self.assertEqual(int(got[s._c_type_]), ctypes.sizeof(s), "sizeof")
                for f in s._fields_:
                    self.assertEqual(int(got["%s.%s" % (s._c_type_, f[0])]),
                                     getattr(s, f[0]).offset, "offset of " + f[0])
                if hasattr(s, "VERSION"):
                    self.assertEqual(int(got[s._c_type_ + ".VERSION"]), s.VERSION)


class T3Offline(unittest.TestCase):
    """Calls that need no server."""

    def test_statement_compute_worked_example(self):
        charges = [
            {"charge_id": 1, "service_id": 101, "type": "PLAN", "price": 85000,
             "contract": 21250, "bundle": 5500, "premier": 0},
            (2, 201, "VAS", 3300, 0, 0, 0),
            (3, 301, "MCP", 12000, 0, 0, 0),
        ]
        r = billing.compute_statement(charges, "2026-10", 25)
        t = r["totals"]
        self.assertEqual((t["billed_amount"], t["vat_amount"], t["truncated_amount"]), (79700, 6155, 5))
        self.assertEqual((t["due_year"], t["due_month"], t["due_day"]), (2026, 11, 25))
        self.assertEqual(r["lines"][0]["discount"], 26750)
        with self.assertRaises(billing.InvalidArgument) as cm:
            billing.compute_statement([(1, 1, "PLAN", -5, 0, 0, 0)], "2026-10")
        self.assertEqual(cm.exception.problem, "INVALID_CHARGE")
        with self.assertRaises(billing.InvalidArgument) as cm:
            billing.compute_statement([(1, 1, "UNKNOWN", 5, 0, 0, 0)], "2026-10")
        self.assertEqual(cm.exception.problem, "UNKNOWN_SERVICE")
        with self.assertRaises(billing.Overflow):
            billing.compute_statement([(1, 1, "PLAN", 2 ** 62, 0, 0, 0)] * 3, "2026-10")

    def test_errors_carry_code_function_and_message(self):
        with self.assertRaises(billing.InvalidArgument) as cm:
            billing.parse_month("2026-13")
        e = cm.exception
        self.assertEqual(e.code, billing.errors.EINVAL)
        self.assertEqual(e.function, "bl_month_parse")
        self.assertIn("2026-13", e.message)
        self.assertIsInstance(e, ValueError)
        self.assertEqual(billing.parse_month("2026-02"), (2026, 2))

    def test_config(self):
        with billing.Config.defaults() as cfg:
            self.assertEqual(cfg["MYSQL_PORT"], "13306")
            cfg["MYSQL_PORT"] = 3307
            self.assertEqual(cfg.get("MYSQL_PORT"), "3307")
            with self.assertRaises(billing.ConfigError) as cm:
                cfg["MYSQL_PORT"] = "port"
            self.assertIn("MYSQL_PORT", str(cm.exception))
            with self.assertRaises(billing.ConfigError):
                cfg.set("MYSQL_PORTT", "1")
            cfg["BILLING_DATA_KEY"] = DATA_KEY
            self.assertEqual(cfg.as_dict()["BILLING_DATA_KEY"], "********")
            with cfg.copy() as c2:
                self.assertEqual(c2["MYSQL_PORT"], "3307")
        self.assertIsNone(cfg._h.value)               # closed by the with block
        with self.assertRaises(billing.BillingError):
            cfg.get("MYSQL_PORT")
        keys = billing.config_keys()
        self.assertIn("MYSQL_HOST", keys)
        self.assertTrue(billing.config_is_secret("MYSQL_PASSWORD"))
        self.assertTrue(billing.config_describe("MYSQL_HOST"))
        with tempfile.NamedTemporaryFile("w", suffix=".env") as fh:
            fh.write("BILLING_DUE_DAY=17\n")         # the environment would win: not set there
            fh.flush()
            with billing.Config.load(fh.name, required=True) as cfg:
                self.assertEqual(cfg["BILLING_DUE_DAY"], "17")
        with self.assertRaises(billing.BillingError):
            billing.Config.load("/nonexistent/.env", required=True)

    def test_templates_render_offline(self):
        self.assertEqual(billing.render("{{n|won}} {{s}}", {"n": 79700, "s": "<b>"}, html=True),
                         "79,700원 &lt;b&gt;")
        self.assertEqual(billing.sms_bytes("안녕 hi"), 7)
        billing.template_validate("PY_OK", "ok", channel="SMS", purpose="NOTICE",
                                  body_text="{{userName}}님 안녕하세요")
        with self.assertRaises(billing.InvalidArgument) as cm:
            billing.template_validate("PY_BAD", "bad", channel="SMS", purpose="NOTICE",
                                      body_text="hello {{usrName}}")
        self.assertRegex(str(cm.exception), r"body_text:1:7: unknown variable")

    def test_pii_and_keys(self):
        self.assertEqual(billing.pii_mask("phone", "01012345678"), "010-****-5678")
        self.assertEqual(billing.pii_normalize("email", " Kim@Example.COM "), "kim@example.com")
        self.assertEqual(billing.pii_normalize("PHONE", "010-1234-5678"), "01012345678")
        k1, k2 = billing.data_key_generate(), billing.data_key_generate()
        self.assertRegex(k1, r"^[0-9a-f]{64}$")
        self.assertNotEqual(k1, k2)
        with billing.connect(env_file="/nonexistent", BILLING_DATA_KEY=DATA_KEY) as ctx:
            ct = ctx.pii_encrypt("phone", "010-1234-5678")
            self.assertEqual(ctx.pii_decrypt("phone", ct), "010-1234-5678")
            self.assertNotEqual(ct, ctx.pii_encrypt("phone", "010-1234-5678"))
            with self.assertRaises(billing.CryptoError):
                ctx.pii_decrypt("email", ct)              # the field is bound as AD
            self.assertEqual(ctx.pii_blind_index("phone", "010-1234-5678"),
                             ctx.pii_blind_index("phone", "01012345678"))

    def test_retry_policy(self):
        p = billing.retry_policy_default()
        self.assertEqual(p["max_attempts"], 3)
        self.assertIsNone(billing.retry_next(p, 3, 1))
        self.assertTrue(0 <= billing.retry_next(dict(p, jitter=False), 1, 1) <= p["cap_ms"])

    def test_months_samples_escaping(self):
        self.assertEqual(billing.month_add("2026-12", 1), "2027-01")
        self.assertEqual(billing.month_add("2027-01", -1), "2026-12")
        with self.assertRaises(billing.InvalidArgument):
            billing.month_add("2026-13", 1)
        sample = billing.template_sample("NOTICE", {"flag": {"type": "bool"}})
        self.assertIs(sample["flag"], True)
        self.assertEqual(sample["userName"], "홍길동")
        self.assertEqual(len(billing.template_sample("BILLING")["lines"]), 3)
        self.assertEqual(billing.html_escape("<a href='x'>&</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;")

    def test_clock(self):
        us = 1801407598 * 10 ** 6                        # 2027-01-31 23:59:58 in Seoul
        self.assertEqual(billing.clock_format(us), "2027-01-31 23:59:58")
        self.assertEqual(billing.clock_month(us), "2027-01")
        self.assertEqual(billing.clock_month(us + 2 * 10 ** 6, -1), "2027-01")
        self.assertEqual(billing.clock_parse("2027-01-31 23:59:58"), us)
        with self.assertRaises(billing.InvalidArgument) as cm:
            billing.clock_parse("2027-02-29 10:00")
        self.assertIn("2027-02-29", str(cm.exception))
        with billing.connect(env_file="/nonexistent") as ctx:
            ctx.set_time(us)
            self.assertEqual(ctx.now(), us)
            ticks = iter(range(us, us + 10 ** 7, 10 ** 6))
            ctx.set_clock(lambda: next(ticks))
            self.assertEqual((ctx.now(), ctx.now()), (us, us + 10 ** 6))
            ctx.set_clock(None)
            self.assertGreater(ctx.now(), 0)
            with self.assertRaises(billing.InvalidArgument):
                ctx.set_time(0)

    def test_context_closes(self):
        ctx = billing.connect(env_file="/nonexistent")
        with ctx:
            self.assertEqual(ctx.setting("MYSQL_PORT"), os.environ.get("MYSQL_PORT", "13306"))
        with self.assertRaises(billing.BillingError):
            ctx.ping_db()
        ctx.close()                                      # idempotent


class T4Packaging(unittest.TestCase):
    def test_pip_install_offline(self):
        """pip install bindings/python works offline (the build backend is in-tree)."""
        pip = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True)
        if pip.returncode != 0:
            self.skipTest("pip is not installed for %s" % sys.executable)
        with tempfile.TemporaryDirectory() as d:
            target = os.path.join(d, "site")
            env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
                       PYTHONDONTWRITEBYTECODE="1", PIP_NO_CACHE_DIR="1")
            env.pop("PYTHONPATH", None)
            r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                                "--target", target, PKG_DIR], capture_output=True, text=True,
                               env=env, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            code = ("import billing, sys; assert billing.__file__.startswith(sys.argv[1]), "
                    "billing.__file__; print(billing.__version__, billing.version())")
            r = subprocess.run([sys.executable, "-c", code, target], capture_output=True,
                               text=True, env=python_child_env(dict(env, PYTHONPATH=target)), cwd=d)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"^0\.1\.0 \d+\.\d+\.\d+")


# ============================================================ integration ==

class T5Database(unittest.TestCase):
    """One scratch database: migrate, seed a month, run the batch."""

    ctx = None

    @classmethod
    def setUpClass(cls):
        cls.maildir = tempfile.mkdtemp(prefix="bl-py-maildir.")
        cls.ctx = billing.connect(env_file="/nonexistent", **settings(
            "py", BILLING_MAILDIR=cls.maildir, BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE=0,
            BILLING_MOCK_SMS_PERMANENT_PERMILLE=150, BILLING_RETRY_BASE_MS=5,
            BILLING_RETRY_CAP_MS=50))
        ctx = cls.ctx
        ctx.drop_database()
        ctx.create_database()
        cls.applied = ctx.migrate()
        cls.seed_progress = []
        cls.seed_stats = ctx.seed(USERS, MONTH, seed=11,
                                  progress=lambda done, total: cls.seed_progress.append((done, total)))
        cls.progress, cls.completed = [], []
        cls.run_id = ctx.batch_run(MONTH, partitions=2, chunk_size=50,
                                   progress=cls.progress.append,
                                   on_complete=lambda r, m: cls.completed.append((r, m)))

    @classmethod
    def tearDownClass(cls):
        if cls.ctx:
            try:
                cls.ctx.drop_database()
            finally:
                cls.ctx.close()
        shutil.rmtree(cls.maildir, ignore_errors=True)

    def other_ctx(self):
        return billing.connect(env_file="/nonexistent", **settings("py"))

    # -- setup results --
    def test_10_migrate_and_seed(self):
        self.assertGreaterEqual(self.applied, 3)
        self.assertEqual(self.ctx.migrate(), 0)                 # applying twice is a no-op
        self.assertEqual(self.ctx.migrate_version(), self.applied)
        self.assertEqual(self.seed_stats["users_created"], USERS)
        self.assertGreater(self.seed_stats["charges"], USERS)
        self.assertTrue(self.seed_progress)
        with self.assertRaises(billing.Conflict):                # a month is seeded once
            self.ctx.seed(USERS, MONTH)
        self.ctx.ping_db()
        self.ctx.ping_redis()

    def test_11_batch_run_with_progress(self):
        p = self.progress
        self.assertGreaterEqual(len(p), USERS // 50)
        self.assertEqual([x["processed"] for x in p], sorted(x["processed"] for x in p))
        self.assertTrue(all(x["run_id"] == self.run_id for x in p))
        last = p[-1]
        self.assertEqual(last["processed"], USERS)
        self.assertEqual(last["issued"] + last["failed"] + last["skipped"], USERS)
        self.assertEqual(self.completed, [(self.run_id, MONTH)])
        status = self.ctx.batch_status(self.run_id)
        self.assertEqual(status, last)
        run = self.ctx.batch_get(self.run_id)
        self.assertEqual(run["status"], "COMPLETED")
        self.assertEqual(len(run["failures"]), last["failed"])
        runs = self.ctx.batch_list(MONTH)
        self.assertEqual(runs[0]["id"], self.run_id)
        with self.assertRaises(billing.NotFound):
            self.ctx.batch_status(987654)
        self.assertEqual(self.ctx.batch_recover(), 0)

    def test_12_statement_lookup(self):
        st = self.ctx.statement(1, MONTH)
        self.assertEqual((st["user_id"], st["target_month"]), (1, MONTH))
        self.assertIsInstance(st["lines"], list)
        self.assertEqual(len(st["lines"]), st["line_count"])
        self.assertEqual(sum(l["net"] for l in st["lines"]), st["net_amount"])
        self.assertEqual(st["billed_amount"] % 10, 0)
        self.assertEqual(st["billed_amount"] + st["truncated_amount"], st["total_amount"])
        with self.assertRaises(billing.NotFound) as cm:
            self.ctx.statement(USERS + 1000, MONTH)
        self.assertIn(str(USERS + 1000), str(cm.exception))

    def test_13_statement_search(self):
        if not billing.has_function("bl_statement_search"):
            self.skipTest("bl_statement_search is not implemented in this libbilling")
        issued = self.ctx.batch_status(self.run_id)["issued"]
        every = list(self.ctx.statements(MONTH, page=97))
        self.assertEqual(len(every), issued)
        self.assertEqual(len({s["id"] for s in every}), issued)
        big = self.ctx.statement_search(MONTH, min_billed=100000, limit=1000)
        self.assertEqual(sorted(s["id"] for s in big),
                         sorted(s["id"] for s in every if s["billed_amount"] >= 100000))

    def test_12_batch_refuses_future_and_empty_months(self):
        # issue 21: refused unless forced or confirmed, nothing created
        with self.assertRaises(billing.InvalidArgument) as cm:
            self.ctx.batch_check("2999-01")
        self.assertIn("is in the future", str(cm.exception))
        with self.assertRaises(billing.Conflict) as cm:
            self.ctx.batch_run("2020-01")
        self.assertIn("has no charges", str(cm.exception))
        self.ctx.batch_check("2020-01", allow_empty=True)
        self.ctx.batch_check(MONTH)

    def test_20_batch_stop_and_resume(self):
        """Stop from another thread through bl_batch_stop, then resume."""
        seen, result = threading.Event(), {}

        def slow(p):
            result.setdefault("run_id", p["run_id"])
            seen.set()
            time.sleep(0.05)

        def run():
            with self.other_ctx() as c:
                try:
                    c.batch_run(MONTH, mode="dry-run", chunk_size=10, progress=slow)
                except billing.BillingError as e:
                    result["error"] = e

        t = threading.Thread(target=run)
        t.start()
        self.assertTrue(seen.wait(60), "no progress from the dry run")
        self.ctx.batch_stop(result["run_id"])
        t.join(120)
        self.assertFalse(t.is_alive())
        e = result.get("error")
        self.assertIsInstance(e, billing.Stopped)
        self.assertEqual(e.run_id, result["run_id"])
        st = self.ctx.batch_status(e.run_id)
        self.assertLess(st["processed"], USERS)
        self.assertEqual(self.ctx.batch_get(e.run_id)["status"], "STOPPED")
        self.ctx.batch_resume(e.run_id)
        self.assertEqual(self.ctx.batch_status(e.run_id)["processed"], USERS)

    def test_21_progress_callback_stops_and_errors_propagate(self):
        # returning False stops the run
        with self.assertRaises(billing.Stopped) as cm:
            self.ctx.batch_run(MONTH, mode="DRY_RUN", chunk_size=25, progress=lambda p: False)
        self.assertEqual(self.ctx.batch_get(cm.exception.run_id)["status"], "STOPPED")
        # an exception in the callback stops the run and is re-raised here
        with self.assertRaises(ZeroDivisionError):
            self.ctx.batch_run(MONTH, mode="dry-run", chunk_size=25, progress=lambda p: 1 / 0)
        # a StopFlag set from outside
        flag = billing.StopFlag()
        flag.set()
        with self.assertRaises(billing.Stopped):
            self.ctx.batch_run(MONTH, mode="dry-run", stop=flag)
        with self.assertRaises(billing.InvalidArgument):
            self.ctx.batch_run(MONTH, mode="sideways")
        with self.assertRaises(billing.InvalidArgument):
            self.ctx.batch_run(MONTH, chunk_size=0)

    # -- users --
    def test_30_users(self):
        uid = self.ctx.user_create("파이썬", "010-9876-5432", "py@example.com", "SMS")
        self.assertEqual(self.ctx.user_find_by_phone("01098765432"), uid)
        self.assertEqual(self.ctx.user_find_by_email(" PY@example.com"), uid)
        u = self.ctx.user_get(uid)
        self.assertEqual(u["phone"], "010-****-5432")
        self.assertEqual(self.ctx.user_get(uid, reveal=True)["email"], "py@example.com")
        with self.assertRaises(billing.Conflict):
            self.ctx.user_create("dup", "010-9876-5432", "other@example.com")
        with self.assertRaises(billing.NotFound):
            self.ctx.user_find_by_phone("010-0000-0001")
        if billing.has_function("bl_user_search"):
            found = self.ctx.user_search(phone="010-9876-5432")
            self.assertEqual([x["id"] for x in found], [uid])

    # -- templates --
    def test_40_templates(self):
        ctx = self.ctx
        tid, ver = ctx.template_save("PY_NOTICE", "파이썬 공지", channel="SMS", purpose="NOTICE",
                                     body_text="{{userName}}님, {{eventDate|date}} 점검",
                                     variables={"eventDate": {"type": "date", "required": True}},
                                     created_by="test_python")
        self.assertEqual(ver, 1)
        # creating never replaces (issue 21): an existing code is a Conflict, nothing stored
        with self.assertRaises(billing.Conflict) as cm:
            ctx.template_create("PY_NOTICE", "x", channel="SMS", purpose="BILLING", body_text="hi")
        self.assertIn("exists already", str(cm.exception))
        self.assertEqual(ctx.template_get("PY_NOTICE")["version"], 1)
        tid2, ver2 = ctx.template_save("PY_NOTICE", "파이썬 공지", channel="SMS", purpose="NOTICE",
                                       body_text="{{userName}}님, {{eventDate|date}} 점검 안내",
                                       variables='{"eventDate": {"type": "date", "required": true}}')
        self.assertEqual(ver2, 2)
        self.assertEqual(ctx.template_usage("PY_NOTICE"),
                         {"code": "PY_NOTICE", "enabled": True, "pending_messages": 0, "reservations": 0})
        self.assertNotEqual(tid, tid2)
        self.assertEqual(ctx.template_get("PY_NOTICE")["version"], 2)
        self.assertEqual(ctx.template_get("PY_NOTICE", 1)["version"], 1)
        self.assertEqual([v["version"] for v in ctx.template_versions("PY_NOTICE")], [2, 1])
        self.assertIn("PY_NOTICE", [t["code"] for t in ctx.template_list()])
        pv = ctx.template_preview("PY_NOTICE", sample={"userName": "김민수", "eventDate": "2026-12-01"})
        self.assertEqual(pv["text"], "김민수님, 2026년 12월 1일 점검 안내")
        self.assertEqual(pv["kind"], "SMS")
        st = ctx.statement(1, MONTH)
        pv = ctx.template_preview("DEFAULT_BILLING_SMS", statement_id=st["id"])
        self.assertIn("{:,}".format(st["billed_amount"]), pv["text"])
        with self.assertRaises(billing.InvalidArgument) as cm:
            ctx.template_save("PY_NOTICE", "x", channel="SMS", purpose="NOTICE", body_text="{{totl}}")
        self.assertIn("body_text:1:1", str(cm.exception))
        self.assertEqual(ctx.template_get("PY_NOTICE")["version"], 2)   # nothing stored
        with self.assertRaises(billing.NotFound):
            ctx.template_get("PY_NOSUCH")
        ctx.template_set_enabled("PY_NOTICE", False)
        self.assertFalse(ctx.template_get("PY_NOTICE")["enabled"])
        ctx.template_set_enabled("PY_NOTICE", True)

    # -- messages --
    def test_50_messages_send_retry_search(self):
        ctx = self.ctx
        st = ctx.message_enqueue_statements(MONTH)
        issued = ctx.batch_status(self.run_id)["issued"]
        self.assertEqual(st["statements"], issued)
        self.assertEqual(st["created"] + st["no_consent"], issued)
        again = ctx.message_enqueue_statements(MONTH)
        self.assertEqual((again["created"], again["existing"]), (0, st["created"]))
        # a NOTICE, idempotent by key
        m1 = ctx.message_send(2, "PY_NOTICE", {"eventDate": "2026-12-01"}, "py-key-1")
        self.assertEqual(ctx.message_send(2, "PY_NOTICE", {"eventDate": "2026-12-01"}, "py-key-1"), m1)
        with self.assertRaises(billing.NotFound):
            ctx.message_send(2, "PY_NOSUCH")
        lines = []
        run_worker(ctx, log=lines.append)
        self.assertTrue(any("sender thread" in l for l in lines), lines[:5])
        waiting = ctx.message_search(status="WAITING")
        self.assertEqual(waiting, [])
        sent = list(ctx.messages(status="SUCCESS", page=100))
        dead = list(ctx.messages(status="DEAD"))
        self.assertGreater(len(sent), 0)
        self.assertGreater(len(dead), 0, "BILLING_MOCK_SMS_PERMANENT_PERMILLE=150 makes dead letters")
        self.assertEqual(len(sent) + len(dead), st["created"] + 1)
        self.assertTrue(all(m["channel"] == "SMS" for m in dead))
        one = ctx.message_get(m1)
        self.assertEqual(one["template_code"], "PY_NOTICE")
        self.assertTrue(one["attempt_log"])
        # retry one dead letter, then the rest by filter: new attempts, no new messages
        ctx.message_retry(dead[0]["id"])
        self.assertEqual(ctx.message_get(dead[0]["id"])["status"], "WAITING")
        with self.assertRaises(billing.Conflict):
            ctx.message_retry(sent[0]["id"])
        with self.assertRaises(billing.NotFound):
            ctx.message_retry(10 ** 9)
        self.assertEqual(ctx.message_retry_filter(status="DEAD"), len(dead) - 1)
        with self.assertRaises(billing.InvalidArgument):
            ctx.message_search(status="LOST")
        total = len(list(ctx.messages()))
        run_worker(ctx)
        self.assertEqual(len(list(ctx.messages())), total)
        self.assertEqual(ctx.message_search(status="WAITING"), [])
        retried = ctx.message_get(dead[0]["id"])
        self.assertGreaterEqual(len(retried["attempt_log"]), 2)
        stats = ctx.message_stats()
        counts = {(r["status"], r["channel"]): r["count"] for r in stats["by_status_channel"]}
        self.assertEqual(sum(counts.values()), total)
        self.assertEqual(ctx.relay_publish(), 0)
        self.assertGreaterEqual(ctx.message_maintain(), 0)

    def test_51_worker_stop_flag(self):
        flag = billing.StopFlag()
        after(0.3, flag.set)
        t0 = time.monotonic()
        self.ctx.worker_run(threads=1, stop=flag)          # no idle exit: only the flag ends it
        self.assertLess(time.monotonic() - t0, 30)

    def test_52_stats(self):
        if not billing.has_function("bl_stats_get"):
            self.skipTest("bl_stats_get is not implemented in this libbilling")
        s = self.ctx.stats(60)
        self.assertIn("messages", s)
        self.assertGreater(s["messages"]["total"], 0)
        with self.assertRaises(billing.InvalidArgument):
            self.ctx.stats(0)

    # -- reservations --
    def test_60_reservations(self):
        if not billing.has_function("bl_reservation_create"):
            self.skipTest("reservations are not implemented in this libbilling")
        ctx = self.ctx
        rid = ctx.reservation_create("PY_NOTICE", group_code="USER_ALL",
                                     scheduled_unix=int(time.time()) + 30 * 86400,
                                     params={"eventDate": "2026-12-01"}, created_by="test_python")
        r = ctx.reservation_get(rid)
        self.assertEqual(r["status"], "WAITING")
        self.assertIn(rid, [x["id"] for x in ctx.reservation_list("WAITING")])
        ctx.reservation_cancel(rid)
        self.assertEqual(ctx.reservation_get(rid)["status"], "CANCELED")
        with self.assertRaises(billing.Conflict):
            ctx.reservation_cancel(rid)
        with self.assertRaises(billing.NotFound):
            ctx.reservation_get(10 ** 9)
        with self.assertRaises(billing.InvalidArgument):      # no template variable eventDate
            ctx.reservation_create("PY_NOTICE", group_code="USER_ALL")
        with self.assertRaises(billing.InvalidArgument):
            ctx.reservation_create("PY_NOTICE", group_code="USER_ALL", scheduled_at="2020-01-01 09:00",
                                   params={"eventDate": "2026-12-01"})
        # due now: the next tick expands it into one message per subscriber
        group_size = [g for g in ctx.group_list() if g["code"] == "USER_ALL"][0]["member_count"]
        now_id = ctx.reservation_create("PY_NOTICE", group_code="USER_ALL",
                                        params={"eventDate": "2026-12-01"})
        created = 0
        for _ in range(50):
            created += ctx.reservation_tick()
            if ctx.reservation_get(now_id)["status"] == "SENT":
                break
            time.sleep(0.1)
        r = ctx.reservation_get(now_id)
        self.assertEqual(r["status"], "SENT")
        msgs = list(ctx.messages(reservation_id=now_id))
        self.assertEqual(len(msgs), created)
        self.assertEqual(r["message_count"], created)
        self.assertEqual(r["message_count"] + r["skipped_count"], group_size)   # skipped: no consent

    # -- groups, admin --
    def test_70_groups(self):
        if not billing.has_function("bl_group_create"):
            self.skipTest("groups are not implemented in this libbilling")
        ctx = self.ctx
        gid = ctx.group_create("PY_GROUP", "파이썬 그룹", "test")
        self.assertGreater(gid, 0)
        ctx.group_add("PY_GROUP", 1)
        ctx.group_add("PY_GROUP", 2)
        ctx.group_add("PY_GROUP", 2)                                 # idempotent
        self.assertEqual([m["id"] for m in ctx.group_members("PY_GROUP")], [1, 2])
        ctx.group_remove("PY_GROUP", 1)
        ctx.group_update("PY_GROUP", "새 이름", None)
        self.assertEqual(ctx.group_get("PY_GROUP")["name"], "새 이름")
        self.assertIn("PY_GROUP", [g["code"] for g in ctx.group_list()])
        with self.assertRaises(billing.Conflict):
            ctx.group_create("PY_GROUP", "again")
        ctx.group_delete("PY_GROUP")
        with self.assertRaises(billing.NotFound):
            ctx.group_get("PY_GROUP")

    def test_71_admin_and_sessions(self):
        if not billing.has_function("bl_admin_create"):
            self.skipTest("admin users are not implemented in this libbilling")
        ctx = self.ctx
        aid = ctx.admin_create("py_admin", "correct horse battery", "operator")
        self.assertEqual(ctx.admin_verify("py_admin", "correct horse battery"), (aid, "OPERATOR"))
        with self.assertRaises(billing.AuthError):
            ctx.admin_verify("py_admin", "wrong password!")
        ctx.admin_passwd("py_admin", "another long password")
        self.assertEqual(ctx.admin_verify("py_admin", "another long password")[0], aid)
        self.assertIn("py_admin", [a["username"] for a in ctx.admin_list()])
        ctx.audit_record("py_admin", "test.action", "thing:1", {"why": "test"})
        self.assertEqual(ctx.audit_list(limit=1000)[0]["action"], "test.action")
        if billing.has_function("bl_ctx_set_actor"):
            # the library audits its own changes under the context's actor (docs/audit.md)
            entry = [e for e in ctx.audit_list(limit=1000) if e["action"] == "admin.passwd"][0]
            self.assertEqual((entry["actor"], entry["target"]), ("system", "admin:py_admin"))
            self.assertIsNone(ctx.actor)
            ctx.actor = "py_actor"
            try:
                self.assertEqual(ctx.actor, "py_actor")
                ctx.group_create("PY_AUDIT", "audited")
                entry = ctx.audit_list(limit=1)[0]
                self.assertEqual((entry["actor"], entry["action"], entry["target"]), ("py_actor", "group.create", "group:PY_AUDIT"))
                with self.assertRaises(billing.Conflict):
                    ctx.group_create("PY_AUDIT", "again")
                self.assertEqual(ctx.audit_list(limit=1)[0]["id"], entry["id"], "a refused change: no entry")
                with self.assertRaises(billing.InvalidArgument):
                    ctx.actor = ""
            finally:
                ctx.actor = None
            self.assertIsNone(ctx.actor)
        self.assertEqual(billing.role_parse("viewer"), 3)
        self.assertEqual(billing.role_name(1), "ADMIN")
        if not billing.has_function("bl_session_login"):
            return
        sid, s = ctx.session_login("py_admin", "another long password", "127.0.0.1")
        self.assertRegex(sid, r"^[0-9a-f]{64}$")
        self.assertEqual((s["admin_id"], s["username"], s["role"]), (aid, "py_admin", "OPERATOR"))
        self.assertEqual(ctx.session_check(sid)["admin_id"], aid)
        billing.session_csrf_check(s, s["csrf_token"])
        with self.assertRaises(billing.AuthError):
            billing.session_csrf_check(s, "0" * 64)
        if billing.has_function("bl_user_search_as"):
            self.assertEqual(ctx.user_search_as(sid, phone="010-0000-0000"), [])
            entry = ctx.audit_list(limit=1)[0]
            self.assertEqual((entry["actor"], entry["action"]), ("py_admin", "user.search"))
            self.assertNotIn("010-0000-0000", json.dumps(entry))
        if billing.has_function("bl_template_draft_render"):
            self.assertEqual(ctx.template_draft_render("{{#a}}{{v}}{{/a}}", {"a": [{"v": 1}, {"v": 2}]}), "12")
            with self.assertRaises(billing.InvalidArgument):
                ctx.template_draft_render("{{#a}}{{#a}}x{{/a}}{{/a}}", {"a": [1, 2]})
        ctx.session_end(sid)
        with self.assertRaises(billing.AuthError):
            ctx.session_check(sid)
        with self.assertRaises(billing.AuthError):
            ctx.session_login("py_admin", "wrong password!", "127.0.0.1")

    # -- e-mail: suppression list, unsubscribe tokens, bounces (email.h) --
    def test_72_email_suppression_unsubscribe_bounces(self):
        if not billing.has_function("bl_unsubscribe_verify"):
            self.skipTest("e-mail suppression is not implemented in this libbilling")
        ctx = self.ctx
        addr = "py-suppress@customers.test"
        self.assertFalse(ctx.suppression_check(addr))
        ctx.suppression_add(addr, "MANUAL", "by hand: call 010-1234-5678", actor="py_admin")
        self.assertTrue(ctx.suppression_check(addr))
        with self.assertRaises(billing.Conflict):
            ctx.suppression_add(addr)
        with self.assertRaises(billing.InvalidArgument):
            ctx.suppression_add("other@customers.test", "BORED")
        entries = [e for e in ctx.suppression_list(limit=1000) if e["created_by"] == "py_admin"]
        self.assertEqual(len(entries), 1)
        self.assertNotIn(addr, json.dumps(entries))
        self.assertNotIn("010-1234-5678", json.dumps(entries))
        self.assertEqual(entries[0]["reason"], "MANUAL")
        ctx.suppression_remove(entries[0]["id"], actor="py_admin")
        self.assertFalse(ctx.suppression_check(addr))
        with self.assertRaises(billing.NotFound):
            ctx.suppression_remove(entries[0]["id"])
        # tokens: verify changes nothing, a tampered one is refused, apply turns the consent off
        uid = next(u for u in range(1, 200) if ctx.user_get(u)["consent_sms"])
        token = ctx.unsubscribe_token(uid, "SMS")
        self.assertRegex(token, r"^[A-Za-z0-9_-]+$")
        self.assertEqual(ctx.unsubscribe_verify(token), (uid, "SMS"))
        bad = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
        with self.assertRaises((billing.CryptoError, billing.InvalidArgument)):
            ctx.unsubscribe_verify(bad)
        with self.assertRaises((billing.CryptoError, billing.InvalidArgument)):
            ctx.unsubscribe_apply(bad, "127.0.0.1")
        self.assertTrue(ctx.user_get(uid)["consent_sms"])
        self.assertEqual(ctx.unsubscribe_apply(token, "127.0.0.1"), (uid, "SMS"))
        self.assertFalse(ctx.user_get(uid)["consent_sms"])
        # the per-client limit (BILLING_UNSUBSCRIBE_LIMIT, default 60 a minute)
        client = "198.51.100.%d" % (os.getpid() % 250)
        for _ in range(int(ctx.setting("BILLING_UNSUBSCRIBE_LIMIT"))):
            ctx.unsubscribe_rate_take(client)
        with self.assertRaises(billing.RateLimited) as cm:
            ctx.unsubscribe_rate_take(client)
        self.assertGreater(cm.exception.retry_after, 0)
        # bounces: an empty Maildir reads nothing; a file that is no DSN is kept aside
        md = tempfile.mkdtemp(prefix="bl-py-bounces.")
        try:
            for sub in ("new", "cur", "tmp"):
                os.mkdir(os.path.join(md, sub))
            self.assertEqual(ctx.bounces_ingest(md), dict(files=0, hard=0, soft=0, ignored=0, rejected=0))
            with open(os.path.join(md, "new", "1.x"), "w") as fh:
                fh.write("From: someone@example.test\nSubject: hello\n\nnot a report\n")
            self.assertEqual(ctx.bounces_ingest(md), dict(files=1, hard=0, soft=0, ignored=0, rejected=1))
            self.assertEqual(os.listdir(os.path.join(md, "new")), [])
        finally:
            shutil.rmtree(md, ignore_errors=True)

    # -- the README example --
    def test_90_readme_example(self):
        """bindings/python/examples/month_report.py runs, and README.md shows it."""
        path = os.path.join(PKG_DIR, "examples", "month_report.py")
        with open(path, encoding="utf-8") as fh:
            code = fh.read()
        with open(os.path.join(SRC, "README.md"), encoding="utf-8") as fh:
            readme = fh.read()
        body = code.split("\n\n", 1)[1] if code.startswith("#!") else code
        self.assertIn(body.strip(), readme, "README.md's Python example differs from " + path)
        env = python_child_env(dict(os.environ, PYTHONPATH=PKG_DIR, PYTHONDONTWRITEBYTECODE="1"))
        env.update(settings("py"))
        env.pop("BILLING_ENV_FILE", None)
        with tempfile.TemporaryDirectory() as d:              # no ./.env
            r = subprocess.run([sys.executable, path, MONTH], capture_output=True, text=True,
                               env=env, cwd=d, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"issued \d+ statements")
        self.assertEqual(len(re.findall(r"^ *\d+\. subscriber", r.stdout, re.M)), 10, r.stdout)
        self.assertRegex(r.stdout, r"retried \d+ dead letters")


# ==================================================================== TAP ==

class TapResult(unittest.TestResult):
    """Prints one TAP line per test as it ends (meson: protocol 'tap')."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.n = 0

    @staticmethod
    def name(test):
        method = getattr(test, "_testMethodName", None)
        if method is None:                   # a setUpClass/tearDownClass failure
            return str(test)
        return "%s.%s" % (type(test).__name__, method)

    def line(self, ok, test, directive="", detail=None):
        self.n += 1
        print("%s %d - %s%s" % ("ok" if ok else "not ok", self.n, self.name(test), directive))
        if detail:
            for l in detail.rstrip().splitlines():
                print("#   " + l)
        sys.stdout.flush()

    def startTest(self, test):
        super().startTest(test)
        self.t0 = time.monotonic()

    def addSuccess(self, test):
        super().addSuccess(test)
        self.line(True, test)
        if os.environ.get("BL_PY_TIMES"):
            print("#   %.2fs" % (time.monotonic() - self.t0))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.line(False, test, detail=self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self.line(False, test, detail=self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.line(True, test, " # SKIP " + reason.replace("\n", " "))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:                  # report failing subtests by name
            self.n += 1
            print("not ok %d - %s" % (self.n, subtest.id().split(".", 1)[-1]))
            for l in self._exc_info_to_string(err, test).rstrip().splitlines():
                print("#   " + l)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.line(True, test, " # TODO expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.line(False, test, detail="unexpected success")


def asan_reexec():
    """An ASan-instrumented libbilling (a -Db_sanitize build) only loads into a
    process that starts with the ASan runtime: re-run under LD_PRELOAD, with
    leak checks off (the interpreter itself is not leak-clean)."""
    lib = os.environ.get("BILLING_LIB")
    if not lib or "BL_PY_ASAN_PRELOAD" in os.environ or not shutil.which("ldd"):
        return
    out = subprocess.run(["ldd", lib], capture_output=True, text=True).stdout
    m = re.search(r"(\S*libasan\.so\S*) => (\S+)", out)
    if not m:
        return
    env = dict(os.environ, BL_PY_ASAN_PRELOAD=m.group(2),
               BL_PY_ORIG_LD_PRELOAD=os.environ.get("LD_PRELOAD", ""),
               BL_PY_ORIG_ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", ""))
    env.update(python_child_env(env))
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def python_child_env(env):
    """Environment for a Python child that loads libbilling (ASan: preloaded)."""
    env = dict(env)
    pre = env.get("BL_PY_ASAN_PRELOAD")
    if pre:
        env["LD_PRELOAD"] = " ".join(filter(None, [pre, env.get("BL_PY_ORIG_LD_PRELOAD")]))
        env["ASAN_OPTIONS"] = env.get("BL_PY_ORIG_ASAN_OPTIONS", "") + ":detect_leaks=0"
    return env


if "BL_PY_ASAN_PRELOAD" in os.environ:
    # re-executed by asan_reexec: other children (cc, ldd) get the plain environment
    for _k in ("LD_PRELOAD", "ASAN_OPTIONS"):
        _v = os.environ.get("BL_PY_ORIG_" + _k, "")
        if _v:
            os.environ[_k] = _v
        else:
            os.environ.pop(_k, None)


def main():
    asan_reexec()
    import faulthandler                      # a hang prints every thread's stack
    faulthandler.dump_traceback_later(540, exit=True)      # meson kills at 600 s
    loader = unittest.TestLoader()
    if "-k" in sys.argv:
        loader.testNamePatterns = ["*%s*" % sys.argv[sys.argv.index("-k") + 1]]
    suite = loader.loadTestsFromModule(sys.modules[__name__])
    result = TapResult()
    try:
        suite.run(result)
    except Exception:                        # a setUpClass crash is reported by unittest itself
        traceback.print_exc(file=sys.stdout)
        print("Bail out! the test suite crashed")
        return 1
    print("1..%d" % result.n)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
