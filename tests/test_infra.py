#!/usr/bin/env python3
"""Checks infra/ (docker-compose.yml, Dockerfile, .env.example, scripts)
against the code, as far as a machine without a Docker engine allows.

A YAML parse, then: every flag a compose command (or infra/billing-init)
passes is in the binary's --help and is not refused by the binary; every
variable is a libbilling setting (accepted by `billing-cli config show`) or a
documented compose-only variable; container ports match the binaries' flags
and defaults; the Dockerfile builds with the packages meson needs and installs
the libraries the built programs link.

Prints TAP (meson suite "infra").  Environment: BL_SOURCE_DIR (the source
tree), BL_BUILD_DIR (the build tree; else derived from BILLING_CLI, else
./build).  unittest only (no PyPI here); PyYAML is Debian's python3-yaml.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

try:
    import yaml
except ImportError:  # pragma: no cover - reported as a skip
    yaml = None

SRC = os.path.abspath(os.environ.get("BL_SOURCE_DIR")
                      or os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def _build_dir():
    if os.environ.get("BL_BUILD_DIR"):
        return os.path.abspath(os.environ["BL_BUILD_DIR"])
    cli = os.environ.get("BILLING_CLI")
    if cli:
        return os.path.abspath(os.path.join(os.path.dirname(cli), "..", ".."))
    return os.path.join(SRC, "build")


BUILD = _build_dir()
INFRA = os.path.join(SRC, "infra")
COMPOSE = os.path.join(INFRA, "docker-compose.yml")
COMPOSE_MYSQL = os.path.join(INFRA, "docker-compose.mysql.yml")
ENV_EXAMPLE = os.path.join(INFRA, ".env.example")
DOCKERFILE = os.path.join(INFRA, "Dockerfile")
DOCKERIGNORE = os.path.join(INFRA, "Dockerfile.dockerignore")
OPERATIONS = os.path.join(SRC, "docs", "operations.md")

# Our services and the programs (built executables or infra/ scripts) they run.
BILLING_SERVICES = ("init", "httpd", "worker")
BINARIES = {
    "billing-cli": "frontends/cli/billing-cli",
    "billing-worker": "frontends/worker/billing-worker",
    "billing-httpd": "frontends/httpd/billing-httpd",
}
SCRIPTS = ("billing-init", "billing-healthz")
# Variables of infra/.env.example that are not libbilling settings: used by
# compose itself (ports, images) or by the server images / infra scripts.
# None of them may start with MYSQL_/REDIS_/BILLING_ (libbilling's .env reader
# refuses unknown such keys) except MYSQL_ROOT_PASSWORD, which it ignores.
COMPOSE_ONLY = {"MYSQL_ROOT_PASSWORD", "PUBLISH_ADDR", "HTTP_PORT", "IMAGE_MARIADB", "IMAGE_MYSQL",
                "IMAGE_REDIS", "SEED_USERS", "SEED_MONTH", "ADMIN_USER", "ADMIN_PASSWORD"}
# Ports inside the compose network (the servers' images listen there).
MYSQL_CONTAINER_PORT = 3306
REDIS_CONTAINER_PORT = 6379
DUMMY_KEY = "00" * 32
BOGUS = "--zz-not-an-option"
# sample values for "$VARIABLE" arguments of infra/billing-init, by flag
SAMPLE_BY_FLAG = {"--users": "10", "--month": "2024-01", "--role": "ADMIN"}


def read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


# ------------------------------------------------------------ env handling --

def parse_env_file(path):
    """KEY=VALUE lines like libbilling's .env reader (no expansion)."""
    out = {}
    for n, line in enumerate(read(path).splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("export "):
            s = s[7:].strip()
        if "=" not in s:
            raise ValueError(f"{path}:{n}: expected KEY=VALUE, got {s!r}")
        k, v = s.split("=", 1)
        k, v = k.strip(), v.strip()
        if len(v) >= 2 and v[0] in "'\"" and v[-1] == v[0]:
            v = v[1:-1]
        out[k] = v
    return out


INTERP = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}"
                    r"|\$([A-Za-z_][A-Za-z0-9_]*)")


def walk_strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from walk_strings(k)
            yield from walk_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_strings(v)


def interp_refs(s):
    """[(name, op, arg)] of the compose interpolations in s ($$ is a literal $)."""
    s = s.replace("$$", "\0")
    return [(m.group(1) or m.group(4), m.group(2) or "", m.group(3) or "")
            for m in INTERP.finditer(s)]


def interpolate(s, env):
    """Compose's interpolation of one string; raises KeyError for ${X:?msg}."""
    def sub(m):
        name = m.group(1) or m.group(4)
        op, arg = m.group(2) or "", m.group(3) or ""
        val = env.get(name)
        empty = val is None or (op.startswith(":") and val == "")
        if op in ("-", ":-"):
            return arg if empty else val
        if op in ("?", ":?"):
            if empty:
                raise KeyError(f"{name}: {arg}")
            return val
        if op in ("+", ":+"):
            return "" if empty else arg
        return val or ""
    return INTERP.sub(sub, s.replace("$$", "\0")).replace("\0", "$")


# --------------------------------------------------------------- programs --

def clean_env(extra=None):
    """An environment with no MYSQL_/REDIS_/BILLING_ settings from outside;
    the servers are unreachable (nothing here may touch a database)."""
    env = {k: v for k, v in os.environ.items()
           if not re.match(r"(MYSQL_|REDIS_|BILLING_|BL_)", k)}
    env.update({"MYSQL_HOST": "127.0.0.1", "MYSQL_PORT": "1", "REDIS_HOST": "127.0.0.1",
                "REDIS_PORT": "1", "LC_ALL": "C", "NO_COLOR": "1"})
    env.update(extra or {})
    return env


_TMP = tempfile.mkdtemp(prefix="bl-test-infra.")


def run(argv, env=None, timeout=15):
    """(exit status, stdout + stderr); cwd is an empty directory (no .env)."""
    try:
        p = subprocess.run(argv, cwd=_TMP, env=env or clean_env(), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode("utf-8", "replace") if e.stdout else ""
        return None, out
    return p.returncode, p.stdout.decode("utf-8", "replace")


def binary(name):
    path = os.path.join(BUILD, BINARIES[name])
    return path if os.access(path, os.X_OK) else None


_help_cache = {}


def help_text(name):
    """(text, origin) of a program's --help; for a program not built yet,
    the option names found in its sources (origin says so)."""
    if name in _help_cache:
        return _help_cache[name]
    path = binary(name)
    if path:
        rc, out = run([path, "--help"])
        if rc != 0:
            raise AssertionError(f"{name} --help exited {rc}: {out[:500]}")
        res = (out, "--help")
    else:
        srcdir = os.path.join(SRC, os.path.dirname(BINARIES[name]))
        srcs = [os.path.join(srcdir, f) for f in sorted(os.listdir(srcdir))
                if f.endswith((".c", ".h"))] if os.path.isdir(srcdir) else []
        if not srcs:
            raise AssertionError(f"{name} is neither built ({os.path.join(BUILD, BINARIES[name])})"
                                 f" nor in the source tree ({srcdir})")
        text = "\n".join(read(f) for f in srcs)
        names = set(re.findall(r'"(--[a-z][a-z0-9-]*)', text))
        names |= {"--" + n for n in re.findall(r'\{\s*"([a-z][a-z0-9-]*)"\s*,\s*'
                                              r'(?:no|required|optional)_argument', text)}
        res = ("\n".join(sorted(names)), "sources (not built in %s)" % BUILD)
    _help_cache[name] = res
    return res


def cli_command_help(cmd):
    """`billing-cli help CMD` when this CLI has it, else ''."""
    path = binary("billing-cli")
    if not path:
        return ""
    rc, out = run([path, "help", cmd])
    return out if rc == 0 else ""


def flags_of(argv):
    return [a.split("=", 1)[0] for a in argv if a.startswith("--")]


def lists_flag(text, flag):
    """Is this exact flag in a help text?  (Not a prefix: getopt_long would
    take an abbreviation, but it breaks when another option shares it.)"""
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(flag), text) is not None


def probe(name, argv):
    """Run the program with argv plus an unknown option.  'accepted' when it
    complains about that option (so it took all of ours), 'rejected:FLAG'
    when it names one of ours as unknown, 'ran' when it did not refuse the
    unknown option, else 'unclear'."""
    path = binary(name)
    if not path:
        return "unbuilt"
    args = list(argv)
    for i, a in enumerate(args[:-1]):
        if a == "--bind":           # a probe never listens beyond loopback
            args[i + 1] = "127.0.0.1"
    args = [a if not a.startswith("--bind=") else "--bind=127.0.0.1" for a in args]
    rc, out = run([path] + args + [BOGUS], timeout=10)
    if rc is None or rc == 0:
        return "ran"
    for f in flags_of(argv):
        if re.search(r"(unknown|unrecognized|unexpected|invalid)[^\n]*'%s'" % re.escape(f), out) \
                or re.search(r"'%s'[^\n]*(unknown|unrecognized|not recognized)" % re.escape(f), out):
            return "rejected:" + f
    if BOGUS in out:
        return "accepted"
    return "unclear:" + out.strip()[:300]


# ---------------------------------------------------------------- library --

_settings = None


def library_settings():
    """{KEY: default} of libbilling's settings: `billing-cli --json config
    show` of an empty environment, else libbilling/config.c's table."""
    global _settings
    if _settings is not None:
        return _settings
    path = binary("billing-cli")
    if path:
        for argv in ([path, "--json", "config", "show"], [path, "config", "show", "--json"]):
            rc, out = run(argv, env=_empty_settings_env())
            if rc != 0:
                continue
            try:
                data = json.loads(out)
            except ValueError:
                continue
            if isinstance(data, list):
                merged = {}
                for item in data:
                    merged.update(item)
                data = merged
            if isinstance(data, dict) and "MYSQL_HOST" in data:
                _settings = {k: ("" if v in ("(unset)",) else str(v)) for k, v in data.items()}
                return _settings
    text = read(os.path.join(SRC, "libbilling", "config.c"))
    _settings = dict(re.findall(r'\{\s*"((?:MYSQL|REDIS|BILLING)_[A-Z0-9_]+)"\s*,\s*"([^"]*)"', text))
    return _settings


def _empty_settings_env():
    return {k: v for k, v in os.environ.items()
            if not re.match(r"(MYSQL_|REDIS_|BILLING_|BL_)", k)}


def config_accepts(values):
    """Does libbilling accept these settings?  (rc, output) of `billing-cli
    config show` with exactly them in the environment."""
    path = binary("billing-cli")
    if not path:
        return None, "billing-cli not built"
    env = _empty_settings_env()
    env.update(values)
    return run([path, "config", "show"], env=env)


# ------------------------------------------------------------- dockerfile --

def dockerfile_instructions(path):
    """[(INSTRUCTION, args)] with continuation lines joined, comments dropped."""
    lines, cur = [], ""
    for raw in read(path).splitlines():
        s = raw.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        lines.append(cur)
        cur = ""
    if cur:
        lines.append(cur)
    out = []
    for line in lines:
        parts = line.split(None, 1)
        out.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
    return out


def dockerfile_stages(path):
    """[{name, base, instrs}] with ARG defaults substituted in FROM."""
    args, stages = {}, []
    for ins, rest in dockerfile_instructions(path):
        if ins == "ARG" and not stages:
            k, _, v = rest.partition("=")
            args[k.strip()] = v.strip()
            continue
        if ins == "FROM":
            base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""),
                          rest)
            m = re.match(r"(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", base, re.I)
            stages.append({"base": m.group(1), "name": (m.group(2) or "").lower(), "instrs": []})
            continue
        if stages:
            stages[-1]["instrs"].append((ins, rest))
    return stages


def apt_packages(stage):
    pkgs = set()
    for ins, rest in stage["instrs"]:
        if ins != "RUN":
            continue
        for m in re.finditer(r"apt-get\s+install\s+(.*?)(?:&&|;|\|\||$)", rest):
            pkgs |= {t for t in m.group(1).split() if not t.startswith("-")}
    return pkgs


def dpkg_package_of(path):
    """Debian package owning a file (tries the /usr-merged variants)."""
    cands = [path, os.path.realpath(path)]
    for p in list(cands):
        if p.startswith("/usr/"):
            cands.append(p[4:])
        elif p.startswith("/lib"):
            cands.append("/usr" + p)
    for p in cands:
        rc, out = run(["dpkg", "-S", p])
        if rc == 0 and out.strip():
            return out.split(":", 1)[0].split(",")[0].strip()
    return None


def needed_libs(path):
    rc, out = run(["readelf", "-d", path])
    if rc != 0:
        raise AssertionError(f"readelf -d {path}: {out[:300]}")
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def ldd_paths(path):
    rc, out = run(["ldd", path])
    return dict(re.findall(r"^\s*(\S+) => (/\S+)", out, re.M)) if rc == 0 else {}


def meson_files():
    out = []
    for root, dirs, files in os.walk(SRC):
        rel = os.path.relpath(root, SRC)
        dirs[:] = [d for d in dirs if not d.startswith((".", "build")) and d != "subprojects"]
        if rel.split(os.sep)[0] in ("tests",):
            continue
        if "meson.build" in files:
            out.append(os.path.join(root, "meson.build"))
    return out


def meson_executables():
    names = set()
    for f in meson_files():
        names |= set(re.findall(r"executable\(\s*'(billing-[a-z-]+)'", read(f)))
    return names


# ------------------------------------------------------------------ tests --

def load_compose(path=COMPOSE):
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


class ComposeFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.compose = load_compose()
        cls.example = parse_env_file(ENV_EXAMPLE)
        cls.services = cls.compose.get("services", {})

    def test_01_yaml_parses_with_the_services(self):
        """docker-compose.yml parses; MariaDB, Redis, init, httpd, worker"""
        self.assertIsInstance(self.compose, dict)
        for s in ("mariadb", "redis") + BILLING_SERVICES:
            self.assertIn(s, self.services, f"service {s} missing")
        override = load_compose(COMPOSE_MYSQL)
        self.assertEqual(set(override["services"]), {"mariadb"},
                         "docker-compose.mysql.yml should only replace the database service")
        self.assertRegex(override["services"]["mariadb"]["image"], r"mysql:8")

    def test_02_health_checks_volumes_and_order(self):
        """health checks, named volumes, init before httpd/worker; worker scalable"""
        for s in ("mariadb", "redis", "httpd"):
            hc = self.services[s].get("healthcheck", {})
            self.assertTrue(hc.get("test"), f"{s} has no health check")
        declared = set((self.compose.get("volumes") or {}).keys())
        used = set()
        for name, svc in self.services.items():
            for v in svc.get("volumes", []) or []:
                src = v.split(":", 1)[0] if isinstance(v, str) else v.get("source")
                if src and not src.startswith((".", "/", "~")):
                    self.assertIn(src, declared, f"{name}: volume {src} is not declared")
                    used.add(src)
        self.assertEqual(declared, used, "declared but unused volumes")
        for s in ("mariadb", "redis"):
            self.assertTrue(any(":" in v for v in self.services[s].get("volumes", [])),
                            f"{s} keeps its data in no volume")
        for s in ("httpd", "worker"):
            dep = self.services[s].get("depends_on", {})
            self.assertEqual(dep.get("init", {}).get("condition"), "service_completed_successfully",
                             f"{s} must wait for init")
            for d in ("mariadb", "redis"):
                self.assertEqual(dep.get(d, {}).get("condition"), "service_healthy")
        for d in ("mariadb", "redis"):
            self.assertEqual(self.services["init"]["depends_on"][d]["condition"], "service_healthy")
        w = self.services["worker"]
        # --scale worker=N: no fixed name, no host port, no fixed consumer
        self.assertNotIn("container_name", w)
        self.assertFalse(w.get("ports"), "a scaled worker cannot publish a fixed port")
        self.assertNotIn("--consumer", w.get("command", []))

    def test_03_interpolated_variables_are_in_env_example(self):
        """every ${VAR} of the compose files is in .env.example, and used"""
        used = set()
        for path in (COMPOSE, COMPOSE_MYSQL):
            for s in walk_strings(load_compose(path)):
                for name, _op, _arg in interp_refs(s):
                    used.add(name)
        missing = sorted(used - set(self.example))
        self.assertFalse(missing, f"not in infra/.env.example: {missing}")
        unused = sorted(set(self.example) - used)
        self.assertFalse(unused, f"in infra/.env.example but unused by compose: {unused}")

    def test_04_env_example_variables_are_known(self):
        """.env.example: libbilling settings (valid values) or compose-only"""
        settings = library_settings()
        unknown = sorted(k for k in self.example if k not in settings and k not in COMPOSE_ONLY)
        self.assertFalse(unknown, f"neither libbilling settings nor compose-only: {unknown}")
        values = {k: v for k, v in self.example.items() if k in settings and v != ""}
        rc, out = config_accepts(values)
        if rc is None:
            self.skipTest(out)
        self.assertEqual(rc, 0, f"libbilling refuses the values of infra/.env.example: {out[:500]}")
        # also as a file: its strict reader refuses unknown MYSQL_/REDIS_/BILLING_ keys,
        # and the file may well be copied to ./.env
        rc, out = config_accepts({"BILLING_ENV_FILE": ENV_EXAMPLE})
        self.assertEqual(rc, 0, f"libbilling's .env reader refuses infra/.env.example: {out[:500]}")
        # the seed's names and ports, same as the no-Docker path
        self.assertEqual(self.example.get("MYSQL_DATABASE"), "billing_system")
        self.assertEqual(self.example.get("MYSQL_PORT"), settings["MYSQL_PORT"])
        self.assertEqual(self.example.get("REDIS_PORT"), settings["REDIS_PORT"])
        self.assertEqual(self.example.get("HTTP_PORT"), settings.get("BILLING_HTTP_PORT", "8080"))
        # required secrets are required
        self.assertEqual(self.example.get("BILLING_DATA_KEY"), "", "never ship a data key")
        self.assertEqual(self.example.get("REDIS_PASSWORD"), "", "never ship a Redis password")

    def resolved_env(self, service):
        env = dict(self.example)
        env["BILLING_DATA_KEY"] = DUMMY_KEY
        env["REDIS_PASSWORD"] = "dummy-redis-password"  # required, like the key
        raw = self.services[service].get("environment") or {}
        if isinstance(raw, list):
            raw = dict(x.split("=", 1) if "=" in x else (x, "") for x in raw)
        return {k: interpolate(str(v), env) for k, v in raw.items()}

    def test_05_service_environment_is_known_and_valid(self):
        """billing services: every variable is a setting (accepted) or read by billing-init"""
        settings = library_settings()
        init_script = read(os.path.join(INFRA, "billing-init"))
        for s in BILLING_SERVICES:
            env = self.resolved_env(s)
            for k in env:
                if k in settings:
                    continue
                self.assertTrue(s == "init" and re.search(r"\$\{?%s\b" % k, init_script),
                                f"{s}: {k} is no libbilling setting (and billing-init does not read it)")
            values = {k: v for k, v in env.items() if k in settings}
            rc, out = config_accepts(values)
            if rc is None:
                self.skipTest(out)
            self.assertEqual(rc, 0, f"{s}: libbilling refuses its environment: {out[:500]}")
            # defaults written into compose equal the library's
            for k, v in (self.services[s].get("environment") or {}).items():
                for name, op, arg in interp_refs(str(v)):
                    if name == k and name in settings and op in ("-", ":-"):
                        self.assertEqual(arg, settings[name], f"{s}: default of {name}")
            self.assertEqual(env.get("BILLING_DATA_KEY"), DUMMY_KEY,
                             f"{s}: BILLING_DATA_KEY must come from infra/.env")

    def test_06_commands_name_existing_programs_and_flags(self):
        """every command flag exists in that program's --help and is accepted"""
        built = {os.path.basename(p) for p in BINARIES}
        notes = []
        commands = [(s, self.services[s]["command"]) for s in BILLING_SERVICES]
        hc = self.services["httpd"]["healthcheck"]["test"]
        commands.append(("httpd healthcheck", hc[1:] if hc[0] == "CMD" else shlex.split(hc[1])))
        for where, cmd in commands:
            self.assertIsInstance(cmd, list, f"{where}: use the exec form (a list)")
            prog = cmd[0]
            if prog in SCRIPTS:
                self.assertTrue(os.access(os.path.join(INFRA, prog), os.X_OK),
                                f"{where}: infra/{prog} missing or not executable")
                continue
            self.assertIn(prog, built, f"{where}: unknown program {prog}")
            text, origin = help_text(prog)
            if origin != "--help":
                notes.append(f"{prog}: flags read from its {origin}")
            for f in flags_of(cmd[1:]):
                self.assertTrue(lists_flag(text, f), f"{where}: {prog} does not list {f} ({origin})")
            res = probe(prog, cmd[1:])
            self.assertFalse(res.startswith(("rejected", "ran")),
                             f"{where}: {prog} {' '.join(cmd[1:])}: {res}")
        for n in notes:
            print("# " + n)

    def test_07_billing_init_uses_existing_cli_commands(self):
        """infra/billing-init: every billing-cli command and flag exists"""
        path = binary("billing-cli")
        if not path:
            self.fail(f"billing-cli is not built in {BUILD}")
        rc, top = run([path, "--help"])
        self.assertEqual(rc, 0, top)
        calls = []
        for line in read(os.path.join(INFRA, "billing-init")).splitlines():
            s = line.strip()
            if s.startswith("#") or "billing-cli " not in s:
                continue
            tail = s.split("billing-cli ", 1)[1]
            tail = re.split(r"\s(?:\|\||&&|\||;)\s?|\)\s*$", tail)[0]
            calls.append(shlex.split(tail))
        self.assertTrue(calls, "billing-init calls no billing-cli command")
        for argv in calls:
            cmd = argv[0]
            self.assertRegex(top, r"(?m)^\s+%s\b" % re.escape(cmd),
                             f"billing-cli --help lists no command '{cmd}'")
            args = []
            for i, a in enumerate(argv):
                if a.startswith("$"):
                    a = SAMPLE_BY_FLAG.get(argv[i - 1] if i else "", "probe1")
                args.append(a)
            text = top + cli_command_help(cmd)
            if len(args) > 1 and not args[1].startswith("-"):
                # "  admin      create|passwd|list" or "admin create USERNAME ..."
                subs = set()
                for m in re.finditer(r"(?m)^\s*%s\s+(\S+)" % re.escape(cmd), text):
                    subs |= set(re.split(r"[|\[\]]", m.group(1)))
                self.assertIn(args[1], subs, f"billing-cli {cmd}: no sub-command '{args[1]}'")
            res = probe("billing-cli", args)
            for f in flags_of(args):
                self.assertTrue(lists_flag(text, f) or res == "accepted",
                                f"billing-cli {' '.join(args)}: {f} is neither in the help nor accepted")
            self.assertFalse(res.startswith(("rejected", "ran")), f"billing-cli {' '.join(args)}: {res}")

    def test_08_ports_match_the_programs(self):
        """container ports = the programs' flags/defaults; host ports = .env.example"""
        settings = library_settings()

        def targets(svc):
            out = []
            for p in self.services[svc].get("ports", []):
                m = re.match(r"^(?:(.+):)?(\$\{[^}]+\}|\d+):(\d+)(?:/tcp)?$", str(p))
                self.assertIsNotNone(m, f"{svc}: unexpected port syntax {p!r}")
                out.append((m.group(2), int(m.group(3))))
            return out

        httpd_cmd = self.services["httpd"]["command"]
        env = self.resolved_env("httpd")

        def flag_value(cmd, flag):
            for i, a in enumerate(cmd):
                if a == flag and i + 1 < len(cmd):
                    return cmd[i + 1]
                if a.startswith(flag + "="):
                    return a.split("=", 1)[1]
            return None

        listen = int(flag_value(httpd_cmd, "--port") or env.get("BILLING_HTTP_PORT")
                     or settings.get("BILLING_HTTP_PORT", "8080"))
        self.assertEqual([t for _h, t in targets("httpd")], [listen],
                         "httpd publishes a port it does not listen on")
        bind = flag_value(httpd_cmd, "--bind") or env.get("BILLING_HTTP_BIND") \
            or settings.get("BILLING_HTTP_BIND")
        self.assertEqual(bind, "0.0.0.0", "in a container billing-httpd must bind 0.0.0.0")
        hc = self.services["httpd"]["healthcheck"]["test"]
        self.assertIn(str(listen), hc, "the health check asks another port")
        self.assertEqual(targets("mariadb"), [("${MYSQL_PORT:-13306}", MYSQL_CONTAINER_PORT)])
        self.assertEqual(targets("redis"), [("${REDIS_PORT:-16379}", REDIS_CONTAINER_PORT)])
        self.assertEqual(targets("httpd")[0][0], "${HTTP_PORT:-8080}")
        self.assertIn("--port %d" % REDIS_CONTAINER_PORT, " ".join(self.services["redis"]["command"]))
        for s in BILLING_SERVICES:
            e = self.resolved_env(s)
            self.assertEqual((e.get("MYSQL_HOST"), int(e.get("MYSQL_PORT", 0))),
                             ("mariadb", MYSQL_CONTAINER_PORT), f"{s}: MariaDB address")
            self.assertEqual((e.get("REDIS_HOST"), int(e.get("REDIS_PORT", 0))),
                             ("redis", REDIS_CONTAINER_PORT), f"{s}: Redis address")
        # host defaults in compose = .env.example = the library's defaults
        self.assertEqual(self.example["MYSQL_PORT"], "13306")
        self.assertEqual(self.example["REDIS_PORT"], "16379")

    def test_09_docker_compose_config(self):
        """`docker compose config` accepts the files (when Docker Compose is installed)"""
        docker = shutil.which("docker")
        if not docker or run([docker, "compose", "version"])[0] != 0:
            self.skipTest("no Docker Compose on this machine")
        env = dict(os.environ)
        env["BILLING_DATA_KEY"] = DUMMY_KEY
        rc, out = run([docker, "compose", "--env-file", ENV_EXAMPLE, "-f", COMPOSE, "-f",
                       COMPOSE_MYSQL, "config", "-q"], env=env, timeout=60)
        self.assertEqual(rc, 0, out[:1000])


class DockerFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = dockerfile_stages(DOCKERFILE)

    def test_10_multi_stage_on_bookworm(self):
        """Dockerfile: meson build on bookworm, slim runtime, non-root user"""
        self.assertGreaterEqual(len(self.stages), 2)
        build, runtime = self.stages[0], self.stages[-1]
        self.assertEqual(build["base"], "debian:bookworm")
        self.assertEqual(runtime["base"], "debian:bookworm-slim")
        runs = " ".join(r for i, r in build["instrs"] if i == "RUN")
        self.assertRegex(runs, r"meson setup")
        self.assertRegex(runs, r"ninja -C")
        self.assertIn("-Dtests=disabled", runs)
        users = [r for i, r in runtime["instrs"] if i == "USER"]
        self.assertTrue(users, "the runtime stage sets no USER")
        self.assertNotRegex(users[-1].split(":")[0], r"^(root|0)$")

    def test_11_runtime_has_the_programs_and_the_library(self):
        """runtime COPYs the three executables meson builds, libbilling.so.0 and infra scripts"""
        runtime = self.stages[-1]
        copies = " ".join(r for i, r in runtime["instrs"] if i == "COPY")
        exes = meson_executables()
        for prog in BINARIES:
            self.assertIn(prog, exes, f"no meson.build builds {prog}")
            self.assertRegex(copies, r"/bin/%s\b" % prog, f"runtime stage lacks {prog}")
        self.assertIn("libbilling.so.0", copies)
        for i, r in runtime["instrs"]:
            if i == "COPY" and "--from" not in r:
                srcs = [t for t in r.split() if not t.startswith("--")][:-1]
                for s in srcs:
                    self.assertTrue(os.path.exists(os.path.join(SRC, s)), f"COPY {s}: no such file")
        for s in SCRIPTS:
            self.assertIn("infra/" + s, copies, f"runtime stage lacks infra/{s}")
        final_cmd = [r for i, r in runtime["instrs"] if i == "CMD"]
        if final_cmd:
            cmd = json.loads(final_cmd[-1])
            text, _origin = help_text(cmd[0])
            for f in flags_of(cmd[1:]):
                self.assertTrue(lists_flag(text, f), f"CMD: {cmd[0]} does not list {f}")

    def test_12_build_stage_installs_what_meson_needs(self):
        """build stage installs the -dev package of every meson dependency()"""
        pkgs = apt_packages(self.stages[0])
        for tool in ("meson", "ninja-build", "pkg-config", "gcc", "python3"):
            self.assertIn(tool, pkgs)
        names = set()
        for f in meson_files():
            names |= set(re.findall(r"dependency\(\s*'([^']+)'", read(f)))
        names -= {"threads", "criterion"}  # built in; tests are disabled in the image
        self.assertTrue(names)
        if not shutil.which("pkg-config") or not shutil.which("dpkg"):
            self.skipTest("no pkg-config/dpkg to map dependencies to packages")
        for n in sorted(names):
            rc, pcdir = run(["pkg-config", "--variable=pcfiledir", n])
            self.assertEqual(rc, 0, f"pkg-config does not know {n}")
            pkg = dpkg_package_of(os.path.join(pcdir.strip(), n + ".pc"))
            self.assertIsNotNone(pkg, f"no Debian package owns {n}.pc")
            self.assertIn(pkg, pkgs, f"meson needs {n}: the build stage must install {pkg}")

    def test_13_runtime_installs_the_linked_libraries(self):
        """runtime stage installs the package of every library the built programs link"""
        if not shutil.which("readelf") or not shutil.which("dpkg"):
            self.skipTest("no readelf/dpkg")
        pkgs = apt_packages(self.stages[-1])
        objs = [os.path.join(BUILD, "libbilling.so.0")]
        missing_bins = []
        for name in BINARIES:
            p = binary(name)
            if p:
                objs.append(p)
            else:
                missing_bins.append(name)
        for obj in objs:
            self.assertTrue(os.path.exists(obj), f"{obj} is not built")
            paths = ldd_paths(obj)
            for so in needed_libs(obj):
                # ours; the loader; sanitizer runtimes of a -Db_sanitize build
                # (the image is built without them)
                if so.startswith(("libbilling.so", "ld-linux", "libasan", "libubsan", "liblsan",
                                  "libtsan")):
                    continue
                path = paths.get(so)
                self.assertIsNotNone(path, f"{obj}: ldd does not resolve {so}")
                pkg = dpkg_package_of(path)
                self.assertIsNotNone(pkg, f"no Debian package owns {path}")
                if pkg in ("libc6",):
                    continue
                self.assertIn(pkg, pkgs, f"{os.path.basename(obj)} links {so}: "
                                         f"the runtime stage must install {pkg}")
        if missing_bins:
            self.fail(f"not built in {BUILD}: {missing_bins} (their libraries are unchecked)")

    def test_14_secrets_stay_out_of_the_image(self):
        """Dockerfile.dockerignore keeps every .env, .run and build trees out"""
        ign = read(DOCKERIGNORE).split()
        for pat in ("**/.env", ".run", ".git"):
            self.assertIn(pat, ign)
        self.assertTrue(any(p.startswith("build") for p in ign))
        self.assertNotIn("ENV BILLING_DATA_KEY", read(DOCKERFILE))


class Docs(unittest.TestCase):
    def test_15_operations_documents_every_variable(self):
        """docs/operations.md: every .env.example variable; links configuration.md"""
        doc = read(OPERATIONS)
        self.assertIn("configuration.md", doc)
        for k in parse_env_file(ENV_EXAMPLE):
            self.assertTrue(f"`{k}`" in doc, f"docs/operations.md does not describe {k}")
        for k in COMPOSE_ONLY:
            self.assertTrue(f"`{k}`" in doc, f"docs/operations.md does not describe {k}")


# ------------------------------------------------------------------- TAP --

class TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    @staticmethod
    def _name(test):
        doc = test.shortDescription()
        return f"{test._testMethodName.split('_', 2)[-1]}: {doc}" if doc else test.id()

    def _line(self, ok, test, extra=""):
        self.n += 1
        print(f"{'ok' if ok else 'not ok'} {self.n} - {self._name(test)}{extra}", flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(True, test, f" # SKIP {reason}")

    def _fail(self, test, err):
        self._line(False, test)
        msg = self._exc_info_to_string(err, test)
        for l in msg.strip().splitlines()[-12:]:
            print("#   " + l, flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err)


def main():
    if yaml is None:
        print("1..0 # SKIP PyYAML is missing: apt-get install python3-yaml")
        return 0
    suite = unittest.TestSuite()
    for cls in (ComposeFile, DockerFile, Docs):
        suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(cls))
    print(f"1..{suite.countTestCases()}", flush=True)
    print(f"# source {SRC}, build {BUILD}", flush=True)
    res = TapResult()
    suite.run(res)
    shutil.rmtree(_TMP, ignore_errors=True)
    return 0 if res.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
