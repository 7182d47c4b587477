"""Config, the calls that need no handle, and helpers of the other modules.

Every method maps to one bl_* function (named in its docstring) and raises
the BillingError subclass of the code it returns.  Read functions that
return JSON in C return parsed Python objects (dicts and lists) here.
"""

import ctypes
import json
import threading
from ctypes import byref, c_bool, c_int, c_int64, c_size_t, c_void_p

from . import _ffi, errors
from ._ffi import dec, enc, lib, take_string

CHANNELS = {"EMAIL": 1, "SMS": 2}
PURPOSES = {"BILLING": 1, "NOTICE": 2}
ROLES = {"ADMIN": 1, "OPERATOR": 2, "VIEWER": 3}
CREATED_BY = {"AUTO": 0, "ADMIN": 1}
PII_KINDS = {"PHONE": 1, "EMAIL": 2}
SERVICE_TYPES = {"UNKNOWN": 0, "PLAN": 1, "VAS": 2, "MCP": 3}


def _enum(table, value, what):
    if isinstance(value, int):
        return value
    try:
        return table[str(value).upper()]
    except KeyError:
        raise errors.InvalidArgument("%s %r: expected one of %s" % (what, value, ", ".join(table)),
                                     code=errors.EINVAL) from None


def _json_arg(value):
    """dict/list → JSON text; str passes through; None stays NULL."""
    if value is None or isinstance(value, (str, bytes)):
        return enc(value)
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _json_out(ptr):
    text = take_string(ptr)
    return None if text is None else json.loads(text)


def _out():
    return c_void_p()


class StopFlag:
    """A flag C code polls (bl_batch_opts.cancel, bl_worker_opts.stop).

    Set it from another thread, a signal handler or a callback to make a
    running batch or worker finish its current work and return.
    """

    def __init__(self):
        self._c = c_int(0)

    def set(self):
        self._c.value = 1

    def clear(self):
        self._c.value = 0

    def is_set(self):
        return bool(self._c.value)


class _Callback:
    """A Python callable behind a C callback: kept referenced, errors kept.

    An exception raised by the Python function cannot cross the C frames;
    it is stored, `stop` (a StopFlag, if any) is set, and the caller
    re-raises it when the C call returns.
    """

    def __init__(self, cfunctype, wrapper, stop=None):
        self.error = None
        self.stop = stop
        self._lock = threading.Lock()

        def trampoline(*args):
            try:
                wrapper(*args)
            except BaseException as e:      # noqa: B902 - must not unwind into C
                with self._lock:
                    if self.error is None:
                        self.error = e
                if self.stop is not None:
                    self.stop.set()
        self.c = cfunctype(trampoline)

    def reraise(self):
        if self.error is not None:
            raise self.error


# ------------------------------------------------------------- no handle --

def version():
    """bl_version: the library version, e.g. "0.1.0"."""
    return dec(lib().bl_version())


def library_path():
    """The path (or soname) the library was loaded from."""
    return lib().path


def has_function(name):
    """True when the loaded library has the C function `name`."""
    return lib().has(name)


def strerror(code):
    """bl_strerror: the static description of a return code."""
    return dec(lib().bl_strerror(code))


def config_keys():
    """bl_config_count/bl_config_key: the names of all known settings."""
    L = lib()
    return [dec(L.bl_config_key(i)) for i in range(L.bl_config_count())]


def config_describe(key):
    """bl_config_describe: the documentation line of a setting (None if unknown)."""
    return dec(lib().bl_config_describe(enc(key)))


def config_is_secret(key):
    """bl_config_is_secret."""
    return bool(lib().bl_config_is_secret(enc(key)))


def parse_month(month):
    """bl_month_parse: "YYYY-MM" → (year, month); InvalidArgument otherwise."""
    y, m = c_int(), c_int()
    lib().bl_month_parse(enc(month), byref(y), byref(m))
    return y.value, m.value


def clock_month(unix_us, add_months=0):
    """bl_clock_month: the Asia/Seoul month "YYYY-MM" of unix_us moved by add_months."""
    buf = ctypes.create_string_buffer(8)
    lib().bl_clock_month(int(unix_us), int(add_months), buf)
    return buf.value.decode()


def month_add(month, add_months):
    """bl_month_add: the month "YYYY-MM" add_months after `month` (negative: before)."""
    buf = ctypes.create_string_buffer(8)
    lib().bl_month_add(enc(month), int(add_months), buf)
    return buf.value.decode()


def clock_format(unix_us):
    """bl_clock_format: unix_us as Asia/Seoul "YYYY-MM-DD HH:MM:SS"."""
    buf = ctypes.create_string_buffer(32)
    lib().bl_clock_format(int(unix_us), buf, len(buf))
    return buf.value.decode()


def clock_parse(text):
    """bl_clock_parse: Asia/Seoul "YYYY-MM-DD HH:MM[:SS[.ffffff]]" → µs since the epoch."""
    out = c_int64()
    lib().bl_clock_parse(enc(text), byref(out))
    return out.value


def batch_mode_parse(mode):
    """bl_batch_mode_parse: "normal", "failed-only", "DRY_RUN", ... → code."""
    if isinstance(mode, int):
        return mode
    out = c_int()
    lib().bl_batch_mode_parse(enc(mode), byref(out))
    return out.value


def batch_mode_name(mode):
    """bl_batch_mode_name."""
    return dec(lib().bl_batch_mode_name(mode))


def charge_problem_name(problem):
    """bl_charge_problem_name: "OK", "INVALID_CHARGE", "UNKNOWN_SERVICE"."""
    return dec(lib().bl_charge_problem_name(problem))


def compute_statement(charges, month, due_day=25):
    """bl_statement_compute: the pure calculation of one subscriber's statement.

    `charges`: sequence of dicts (charge_id, service_id, type, price,
    contract, bundle, premier; type "PLAN"/"VAS"/"MCP" or its number) or of
    7-tuples in that order.  Returns {"lines": [...], "totals": {...}}.
    An ineligible subscriber raises InvalidArgument with `.problem`
    ("INVALID_CHARGE", "UNKNOWN_SERVICE" or "OK" for no rows).
    """
    n = len(charges)
    arr = (_ffi.Charge * max(n, 1))()
    names = [f[0] for f in _ffi.Charge._fields_]
    for i, ch in enumerate(charges):
        row = ch if isinstance(ch, dict) else dict(zip(names, ch))
        for k in names:
            v = row.get(k, 0)
            if k == "type":
                v = _enum(SERVICE_TYPES, v, "service type")
            setattr(arr[i], k, v)
    lines = (_ffi.Line * max(n, 1))()
    totals = _ffi.Totals()
    problem = c_int(0)
    try:
        lib().bl_statement_compute(arr, n, enc(month), due_day, lines, byref(totals),
                                   byref(problem))
    except errors.InvalidArgument as e:
        e.problem = charge_problem_name(problem.value)
        raise
    return {"lines": [_struct_dict(lines[i]) for i in range(n)], "totals": _struct_dict(totals)}


def render(src, data=None, html=False):
    """bl_template_render: render template text with variables (no database)."""
    out = _out()
    lib().bl_template_render(enc(src), _json_arg(data if data is not None else {}), html,
                             byref(out))
    return take_string(out)


def template_sample(purpose="BILLING", variables=None):
    """bl_template_sample: the example data of a preview, as a dict."""
    out = _out()
    lib().bl_template_sample(_enum(PURPOSES, purpose, "purpose"),
                             None if variables is None else enc(json.dumps(variables)), byref(out))
    return json.loads(take_string(out))


def html_escape(text):
    """bl_html_escape: `text` with & < > " ' escaped for HTML."""
    out = _out()
    lib().bl_html_escape(enc(text), byref(out))
    return take_string(out)


def sms_bytes(text):
    """bl_sms_bytes: bytes of `text` as Korean carriers count them."""
    n = c_size_t()
    lib().bl_sms_bytes(enc(text), byref(n))
    return n.value


def template_validate(code, name, **fields):
    """bl_template_validate: check a template without storing it (InvalidArgument)."""
    opts = _template_opts(code, name, **fields)
    lib().bl_template_validate(byref(opts))


def pii_normalize(kind, value):
    """bl_pii_normalize: kind "phone"/"email" → the normalised value."""
    out = _out()
    lib().bl_pii_normalize(_enum(PII_KINDS, kind, "kind"), enc(value), byref(out))
    return take_string(out)


def pii_mask(kind, value):
    """bl_pii_mask: 010-****-5678, k***@example.com."""
    out = _out()
    lib().bl_pii_mask(_enum(PII_KINDS, kind, "kind"), enc(value), byref(out))
    return take_string(out)


def pii_scrub(text):
    """bl_pii_scrub: every phone number and e-mail in free text masked."""
    out = _out()
    lib().bl_pii_scrub(enc(text), byref(out))
    return take_string(out)


def data_key_generate():
    """bl_data_key_generate: a fresh BILLING_DATA_KEY (64 hex digits)."""
    out = _out()
    lib().bl_data_key_generate(byref(out))
    return take_string(out)


def retry_policy_default():
    """bl_retry_policy_init: the default retry policy as a dict."""
    p = _ffi.RetryPolicy()
    lib().bl_retry_policy_init(byref(p), _ffi.RetryPolicy.VERSION)
    return _struct_dict(p, skip=("version",))


def retry_next(policy, attempts_done, random):
    """bl_retry_next: → the delay in ms before the next attempt, or None when exhausted."""
    p = _ffi.RetryPolicy()
    lib().bl_retry_policy_init(byref(p), _ffi.RetryPolicy.VERSION)
    for k, v in policy.items():
        setattr(p, k, v)
    again, delay = c_bool(), c_int64()
    lib().bl_retry_next(byref(p), attempts_done, random, byref(again), byref(delay))
    return delay.value if again.value else None


def _struct_dict(st, skip=()):
    return {name: getattr(st, name) for name, _ in st._fields_ if name not in skip}


def _template_opts(code, name, channel="EMAIL", purpose="BILLING", subject=None,
                   body_html=None, body_text=None, variables=None, enabled=True,
                   created_by=None, create_only=False, confirmed=False, advertising=False):
    o = _ffi.TemplateOpts()
    lib().bl_template_opts_init(byref(o), _ffi.TemplateOpts.VERSION)
    o.code = enc(code)
    o.name = enc(name)
    o.channel = _enum(CHANNELS, channel, "channel")
    o.purpose = _enum(PURPOSES, purpose, "purpose")
    o.subject = enc(subject)
    o.body_html = enc(body_html)
    o.body_text = enc(body_text)
    o.variables_json = _json_arg(variables)
    o.enabled = bool(enabled)
    o.created_by = enc(created_by)
    o.create_only = bool(create_only)
    o.confirmed = bool(confirmed)
    o.advertising = bool(advertising)
    return o


def _message_filter(status=None, channel=None, template_code=None, run_id=0, user_id=0,
                    reservation_id=0, date_from=None, date_to=None, limit=100, after_id=0):
    f = _ffi.MessageFilter()
    lib().bl_message_filter_init(byref(f), _ffi.MessageFilter.VERSION)
    f.status = enc(status)
    f.channel = enc(channel)
    f.template_code = enc(template_code)
    f.run_id, f.user_id, f.reservation_id = run_id, user_id, reservation_id
    setattr(f, "from", enc(date_from))
    setattr(f, "to", enc(date_to))
    f.limit, f.after_id = limit, after_id
    return f


# ------------------------------------------------------------------ Config --

class Config:
    """A bl_config: settings (defaults, .env, environment, explicit sets).

    Config.load() reads like the C library does; Config.defaults() holds only
    the built-in defaults.  Item access reads and writes settings; writes are
    validated (ConfigError names the setting).  Use as a context manager or
    call close(); a Context keeps its own copy.
    """

    def __init__(self, _handle):
        self._h = c_void_p(_handle)

    @classmethod
    def load(cls, env_file=None, required=False, **settings):
        """bl_config_load: defaults, then `env_file` (None: $BILLING_ENV_FILE or
        ./.env when present), then the environment, then `settings`."""
        h = c_void_p()
        lib().bl_config_load(byref(h), enc(env_file), bool(required))
        cfg = cls(h.value)
        cfg.update(settings)
        return cfg

    @classmethod
    def defaults(cls, **settings):
        """bl_config_new: only the documented defaults, then `settings`."""
        h = c_void_p()
        lib().bl_config_new(byref(h))
        cfg = cls(h.value)
        cfg.update(settings)
        return cfg

    @property
    def handle(self):
        if not self._h.value:
            raise errors.BillingError("the configuration is closed")
        return self._h

    def set(self, key, value):
        """bl_config_set."""
        lib().bl_config_set(self.handle, enc(key), enc(str(value)))

    def get(self, key, default=None):
        """bl_config_get (None/default when unknown or unset)."""
        v = lib().bl_config_get(self.handle, enc(key))
        return default if v is None else dec(v)

    def load_file(self, path):
        """bl_config_load_file: KEY=VALUE lines from `path`, overriding."""
        lib().bl_config_load_file(self.handle, enc(path))

    def update(self, settings):
        for k, v in settings.items():
            self.set(k, v)

    def copy(self):
        """bl_config_copy."""
        h = c_void_p()
        lib().bl_config_copy(byref(h), self.handle)
        return Config(h.value)

    def as_dict(self, reveal=False):
        """Every setting in effect; secrets masked unless `reveal`."""
        out = {}
        for k in config_keys():
            v = self.get(k)
            if v is not None and not reveal and config_is_secret(k):
                v = "********"
            out[k] = v
        return out

    def __getitem__(self, key):
        v = self.get(key)
        if v is None:
            raise KeyError(key)
        return v

    def __setitem__(self, key, value):
        self.set(key, value)

    def close(self):
        """bl_config_free (idempotent)."""
        if self._h.value:
            lib().bl_config_free(self._h)
            self._h.value = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:      # interpreter shutdown
            pass
