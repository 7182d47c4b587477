"""The ctypes layer: finding libbilling, the C structures, every signature.

Nothing here is loaded at import time.  The library is opened on first use
and each function is looked up the first time it is called, so a function
that the loaded library lacks (an older libbilling) only fails when it is
used, with NotAvailable.

Handles (bl_ctx *, bl_config *) are c_void_p: the default c_int restype would
truncate pointers.  Returned `char *` strings are taken as c_void_p, copied
and released with the library's own bl_free().
"""

import ctypes
import ctypes.util
import os
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, c_bool, c_char, c_char_p, c_double, c_int,
                    c_int64, c_size_t, c_uint, c_uint64, c_void_p)

from . import errors

SONAME = "libbilling.so.0"
SESSION_TOKEN_LEN = 64          # BL_SESSION_TOKEN_LEN
BLIND_INDEX_BYTES = 16          # BL_BLIND_INDEX_BYTES

# --------------------------------------------------------------- structures --
# Each mirrors its C struct field by field, in order, with the same names
# (tests/test_python.py compares sizes and offsets with the C compiler's).
# _c_type_ names the C type; VERSION is its *_VERSION macro.


class BatchProgress(Structure):
    _c_type_ = "bl_batch_progress"
    _fields_ = [("run_id", c_int64), ("total", c_int64), ("processed", c_int64),
                ("issued", c_int64), ("skipped", c_int64), ("failed", c_int64)]


BATCH_PROGRESS_CB = CFUNCTYPE(None, POINTER(BatchProgress), c_void_p)
BATCH_COMPLETE_CB = CFUNCTYPE(None, c_int64, c_char_p, c_void_p)
BATCH_END_CB = CFUNCTYPE(None, c_int64, c_char_p, c_int, c_char_p, c_void_p)
SEED_PROGRESS_CB = CFUNCTYPE(None, c_int64, c_int64, c_void_p)
WORKER_LOG_CB = CFUNCTYPE(None, c_char_p, c_void_p)
CLOCK_FN = CFUNCTYPE(c_int64, c_void_p)  # bl_clock_fn


class BatchOpts(Structure):
    _c_type_ = "bl_batch_opts"
    VERSION = 3
    _fields_ = [("version", c_uint), ("mode", c_int), ("partitions", c_int),
                ("chunk_size", c_int), ("created_by", c_int),
                ("progress_cb", BATCH_PROGRESS_CB), ("progress_payload", c_void_p),
                ("complete_cb", BATCH_COMPLETE_CB), ("complete_payload", c_void_p),
                ("cancel", POINTER(c_int)), ("allow_future", c_bool), ("allow_empty", c_bool),
                ("end_cb", BATCH_END_CB), ("end_payload", c_void_p)]


class SeedStats(Structure):
    _c_type_ = "bl_seed_stats"
    _fields_ = [("users_total", c_int64), ("users_created", c_int64), ("services", c_int64),
                ("charges", c_int64), ("invalid_users", c_int64), ("group_members", c_int64),
                ("seconds", c_double)]


class SeedOpts(Structure):
    _c_type_ = "bl_seed_opts"
    VERSION = 1
    _fields_ = [("version", c_uint), ("users", c_int64), ("month", c_char_p),
                ("seed", c_uint64), ("invalid_permille", c_int),
                ("progress_cb", SEED_PROGRESS_CB), ("progress_payload", c_void_p)]


class Charge(Structure):
    _c_type_ = "bl_charge"
    _fields_ = [("charge_id", c_int64), ("service_id", c_int64), ("type", c_int),
                ("price", c_int64), ("contract", c_int64), ("bundle", c_int64),
                ("premier", c_int64)]


class Line(Structure):
    _c_type_ = "bl_line"
    _fields_ = [("contract", c_int64), ("bundle", c_int64), ("premier", c_int64),
                ("discount", c_int64), ("net", c_int64)]


class Totals(Structure):
    _c_type_ = "bl_totals"
    _fields_ = [("usage_amount", c_int64), ("discount_amount", c_int64),
                ("net_amount", c_int64), ("taxable_amount", c_int64),
                ("vat_amount", c_int64), ("total_amount", c_int64),
                ("billed_amount", c_int64), ("truncated_amount", c_int64),
                ("due_year", c_int), ("due_month", c_int), ("due_day", c_int)]


class UserOpts(Structure):
    _c_type_ = "bl_user_opts"
    VERSION = 1
    _fields_ = [("version", c_uint), ("name", c_char_p), ("phone", c_char_p),
                ("email", c_char_p), ("preferred_channel", c_int),
                ("consent_email", c_bool), ("consent_sms", c_bool)]


class UserFilter(Structure):
    _c_type_ = "bl_user_filter"
    VERSION = 1
    _fields_ = [("version", c_uint), ("name", c_char_p), ("phone", c_char_p),
                ("email", c_char_p), ("plan_code", c_char_p), ("after_id", c_int64),
                ("limit", c_int)]


class TemplateOpts(Structure):
    _c_type_ = "bl_template_opts"
    VERSION = 3
    _fields_ = [("version", c_uint), ("code", c_char_p), ("name", c_char_p),
                ("channel", c_int), ("purpose", c_int), ("subject", c_char_p),
                ("body_html", c_char_p), ("body_text", c_char_p),
                ("variables_json", c_char_p), ("enabled", c_bool), ("created_by", c_char_p),
                ("create_only", c_bool), ("confirmed", c_bool), ("advertising", c_bool)]


class EnqueueStats(Structure):
    _c_type_ = "bl_enqueue_stats"
    _fields_ = [("statements", c_int64), ("created", c_int64), ("existing", c_int64),
                ("no_consent", c_int64)]


class WorkerOpts(Structure):
    _c_type_ = "bl_worker_opts"
    VERSION = 1
    _fields_ = [("version", c_uint), ("threads", c_int), ("consumer", c_char_p),
                ("relay", c_bool), ("maintenance", c_bool), ("stop", POINTER(c_int)),
                ("idle_exit_ms", c_int64), ("log_cb", WORKER_LOG_CB),
                ("log_payload", c_void_p)]


class MessageFilter(Structure):
    _c_type_ = "bl_message_filter"
    VERSION = 2
    _fields_ = [("version", c_uint), ("run_id", c_int64), ("user_id", c_int64),
                ("reservation_id", c_int64), ("status", c_char_p), ("channel", c_char_p),
                ("template_code", c_char_p), ("from", c_char_p), ("to", c_char_p),
                ("limit", c_int), ("after_id", c_int64), ("newest_first", c_bool),
                ("before_id", c_int64)]


class RetryPolicy(Structure):
    _c_type_ = "bl_retry_policy"
    VERSION = 1
    _fields_ = [("version", c_uint), ("max_attempts", c_int), ("base_ms", c_int64),
                ("multiplier", c_int), ("cap_ms", c_int64), ("jitter", c_bool)]


class Session(Structure):
    _c_type_ = "bl_session"
    _fields_ = [("admin_id", c_int64), ("username", c_char * 65), ("role", c_int),
                ("csrf_token", c_char * (SESSION_TOKEN_LEN + 1)), ("expires_at", c_int64)]


class LoginOpts(Structure):
    _c_type_ = "bl_login_opts"
    VERSION = 1
    _fields_ = [("version", c_uint), ("username", c_char_p), ("password", c_char_p),
                ("client", c_char_p)]


class ReservationOpts(Structure):
    _c_type_ = "bl_reservation_opts"
    VERSION = 1
    _fields_ = [("version", c_uint), ("template_code", c_char_p), ("group_code", c_char_p),
                ("month", c_char_p), ("scheduled_at", c_char_p), ("scheduled_unix", c_int64),
                ("params_json", c_char_p), ("created_by", c_char_p)]


class AuditFilter(Structure):
    _c_type_ = "bl_audit_filter"
    VERSION = 1
    _fields_ = [("version", c_uint), ("actor", c_char_p), ("action", c_char_p), ("from", c_char_p),
                ("to", c_char_p), ("limit", c_int), ("before_id", c_int64)]
class BounceStats(Structure):
    _c_type_ = "bl_bounce_stats"
    _fields_ = [("files", c_int64), ("hard", c_int64), ("soft", c_int64), ("ignored", c_int64),
                ("rejected", c_int64)]


STRUCTURES = [BatchProgress, BatchOpts, SeedStats, SeedOpts, Charge, Line, Totals, UserOpts,
              UserFilter, TemplateOpts, EnqueueStats, WorkerOpts, MessageFilter, RetryPolicy,
              Session, LoginOpts, ReservationOpts, AuditFilter, BounceStats]

# --------------------------------------------------------------- signatures --
# name: (restype, argtypes).  RC means "int return code": c_int with an
# errcheck that raises the BillingError subclass of a negative code.


class _RC:
    pass


RC = _RC
P = POINTER
vp = c_void_p
s = c_char_p
i64 = c_int64
out_s = P(c_void_p)     # char ** (the string is copied, then bl_free'd)

SIGNATURES = {
    # common.h / error.h
    "bl_free": (None, [vp]),
    "bl_version": (s, []),
    "bl_error_last": (s, []),
    "bl_error_last_code": (c_int, []),
    "bl_error_clear": (None, []),
    "bl_strerror": (s, [c_int]),
    # config.h
    "bl_config_new": (RC, [P(vp)]),
    "bl_config_load": (RC, [P(vp), s, c_bool]),
    "bl_config_load_file": (RC, [vp, s]),
    "bl_config_set": (RC, [vp, s, s]),
    "bl_config_get": (s, [vp, s]),
    "bl_config_is_secret": (c_bool, [s]),
    "bl_config_count": (c_size_t, []),
    "bl_config_key": (s, [c_size_t]),
    "bl_config_describe": (s, [s]),
    "bl_config_copy": (RC, [P(vp), vp]),
    "bl_config_free": (None, [vp]),
    # context.h
    "bl_ctx_new": (RC, [P(vp), vp]),
    "bl_ctx_free": (None, [vp]),
    "bl_ctx_config": (vp, [vp]),
    "bl_ctx_set_actor": (RC, [vp, s]),
    "bl_ctx_actor": (s, [vp]),
    "bl_ctx_ping_db": (RC, [vp]),
    "bl_ctx_ping_redis": (RC, [vp]),
    "bl_ctx_create_database": (RC, [vp]),
    "bl_ctx_drop_database": (RC, [vp]),
    # clock.h
    "bl_ctx_set_clock": (RC, [vp, CLOCK_FN, vp]),
    "bl_ctx_set_time": (RC, [vp, i64]),
    "bl_ctx_now": (i64, [vp]),
    "bl_clock_month": (RC, [i64, c_int, s]),
    "bl_clock_format": (RC, [i64, s, c_size_t]),
    "bl_clock_parse": (RC, [s, P(i64)]),
    "bl_month_add": (RC, [s, c_int, s]),
    # migrate.h
    "bl_migrate": (RC, [vp, P(c_int)]),
    "bl_migrate_dir": (RC, [vp, s, P(c_int)]),
    "bl_migrate_version": (RC, [vp, P(c_int)]),
    # crypto.h
    "bl_pii_normalize": (RC, [c_int, s, out_s]),
    "bl_pii_encrypt": (RC, [vp, c_int, s, P(c_void_p), P(c_size_t)]),
    "bl_pii_decrypt": (RC, [vp, c_int, s, c_size_t, out_s]),
    "bl_pii_blind_index": (RC, [vp, c_int, s, s]),
    "bl_pii_mask": (RC, [c_int, s, out_s]),
    "bl_pii_scrub": (RC, [s, out_s]),
    "bl_data_key_generate": (RC, [out_s]),
    # user.h
    "bl_user_opts_init": (RC, [P(UserOpts), c_uint]),
    "bl_user_create": (RC, [vp, P(UserOpts), P(i64)]),
    "bl_user_find_by_phone": (RC, [vp, s, P(i64)]),
    "bl_user_find_by_email": (RC, [vp, s, P(i64)]),
    "bl_user_filter_init": (RC, [P(UserFilter), c_uint]),
    "bl_user_search": (RC, [vp, P(UserFilter), out_s]),
    "bl_user_search_as": (RC, [vp, P(Session), P(UserFilter), out_s, P(c_int)]),
    "bl_user_get": (RC, [vp, i64, c_bool, out_s]),
    # statement.h
    "bl_charge_problem_name": (s, [c_int]),
    "bl_statement_compute": (RC, [P(Charge), c_size_t, s, c_int, P(Line), P(Totals), P(c_int)]),
    "bl_month_parse": (RC, [s, P(c_int), P(c_int)]),
    "bl_statement_get": (RC, [vp, i64, s, out_s]),
    "bl_statement_search": (RC, [vp, s, i64, i64, i64, i64, c_int, out_s]),
    # seed.h
    "bl_seed_opts_init": (RC, [P(SeedOpts), c_uint]),
    "bl_seed_run": (RC, [vp, P(SeedOpts), P(SeedStats)]),
    # batch.h
    "bl_batch_opts_init": (RC, [P(BatchOpts), c_uint]),
    "bl_batch_mode_name": (s, [c_int]),
    "bl_batch_mode_parse": (RC, [s, P(c_int)]),
    "bl_batch_run": (RC, [vp, s, P(BatchOpts), P(i64)]),
    "bl_batch_check": (RC, [vp, s, P(BatchOpts)]),
    "bl_batch_resume": (RC, [vp, i64, P(BatchOpts)]),
    "bl_batch_join": (RC, [vp, i64, P(BatchOpts)]),
    "bl_batch_stop": (RC, [vp, i64]),
    "bl_batch_recover": (RC, [vp, P(c_int)]),
    "bl_batch_progress_get": (RC, [vp, i64, P(BatchProgress)]),
    "bl_batch_get": (RC, [vp, i64, out_s]),
    "bl_batch_current": (RC, [vp, out_s]),
    "bl_batch_list": (RC, [vp, s, c_int, out_s]),
    "bl_batch_due": (RC, [vp, i64, P(c_bool), s]),
    # template.h
    "bl_template_opts_init": (RC, [P(TemplateOpts), c_uint]),
    "bl_template_validate": (RC, [P(TemplateOpts)]),
    "bl_template_save": (RC, [vp, P(TemplateOpts), P(i64), P(c_int)]),
    "bl_template_get": (RC, [vp, s, c_int, out_s]),
    "bl_template_list": (RC, [vp, out_s]),
    "bl_template_versions": (RC, [vp, s, out_s]),
    "bl_template_set_enabled": (RC, [vp, s, c_bool]),
    "bl_template_usage": (RC, [vp, s, out_s]),
    "bl_template_preview": (RC, [vp, s, c_int, s, i64, out_s]),
    "bl_template_render": (RC, [s, s, c_bool, out_s]),
    "bl_template_draft_render": (RC, [vp, s, s, c_bool, out_s]),
    "bl_template_sample": (RC, [c_int, s, out_s]),
    "bl_html_escape": (RC, [s, out_s]),
    "bl_sms_bytes": (RC, [s, P(c_size_t)]),
    # retry.h
    "bl_retry_policy_init": (RC, [P(RetryPolicy), c_uint]),
    "bl_retry_policy_from_config": (RC, [vp, c_int, P(RetryPolicy)]),
    "bl_retry_next": (RC, [P(RetryPolicy), c_int, c_uint64, P(c_bool), P(i64)]),
    # message.h
    "bl_message_enqueue_statements": (RC, [vp, s, i64, P(EnqueueStats)]),
    "bl_message_send": (RC, [vp, i64, s, s, s, P(i64)]),
    "bl_relay_publish": (RC, [vp, P(i64)]),
    "bl_worker_opts_init": (RC, [P(WorkerOpts), c_uint]),
    "bl_worker_run": (RC, [vp, P(WorkerOpts)]),
    "bl_message_maintain": (RC, [vp, s, P(i64)]),
    "bl_message_filter_init": (RC, [P(MessageFilter), c_uint]),
    "bl_message_search": (RC, [vp, P(MessageFilter), out_s]),
    "bl_message_count": (RC, [vp, P(MessageFilter), P(i64)]),
    "bl_message_get": (RC, [vp, i64, out_s]),
    "bl_message_retry": (RC, [vp, i64]),
    "bl_message_retry_filter": (RC, [vp, P(MessageFilter), P(i64)]),
    "bl_message_stats": (RC, [vp, out_s]),
    # reservation.h
    "bl_reservation_opts_init": (RC, [P(ReservationOpts), c_uint]),
    "bl_reservation_create": (RC, [vp, P(ReservationOpts), P(i64)]),
    "bl_reservation_cancel": (RC, [vp, i64]),
    "bl_reservation_get": (RC, [vp, i64, out_s]),
    "bl_reservation_list": (RC, [vp, s, i64, c_int, out_s]),
    "bl_reservation_tick": (RC, [vp, i64, P(i64)]),
    "bl_reservation_after_batch": (RC, [vp, i64, s, P(i64)]),
    # stats.h
    "bl_stats_get": (RC, [vp, c_int, out_s]),
    "bl_hold_list": (RC, [vp, out_s]),
    # group.h
    "bl_group_create": (RC, [vp, s, s, s, P(i64)]),
    "bl_group_list": (RC, [vp, out_s]),
    "bl_group_get": (RC, [vp, s, out_s]),
    "bl_group_update": (RC, [vp, s, s, s]),
    "bl_group_delete": (RC, [vp, s]),
    "bl_group_add": (RC, [vp, s, i64]),
    "bl_group_remove": (RC, [vp, s, i64]),
    "bl_group_members": (RC, [vp, s, i64, c_int, out_s]),
    # admin.h
    "bl_admin_role_name": (s, [c_int]),
    "bl_admin_role_parse": (RC, [s, P(c_int)]),
    "bl_admin_create": (RC, [vp, s, s, c_int, P(i64)]),
    "bl_admin_passwd": (RC, [vp, s, s]),
    "bl_admin_verify": (RC, [vp, s, s, P(i64), P(c_int)]),
    "bl_admin_list": (RC, [vp, out_s]),
    "bl_audit_record": (RC, [vp, s, s, s, s]),
    "bl_audit_list": (RC, [vp, i64, c_int, out_s]),
    "bl_audit_filter_init": (RC, [P(AuditFilter), c_uint]),
    "bl_audit_search": (RC, [vp, P(AuditFilter), out_s]),
    # session.h
    "bl_login_opts_init": (RC, [P(LoginOpts), c_uint]),
    "bl_session_login": (RC, [vp, P(LoginOpts), s, P(Session), P(c_int)]),
    "bl_session_create": (RC, [vp, i64, s, s, P(Session)]),
    "bl_session_check": (RC, [vp, s, P(Session)]),
    "bl_session_end": (RC, [vp, s]),
    "bl_session_purge": (RC, [vp, P(i64)]),
    "bl_session_csrf_check": (RC, [P(Session), s]),
    # email.h
    "bl_suppression_add": (RC, [vp, s, s, s, s]),
    "bl_suppression_remove": (RC, [vp, i64, s]),
    "bl_suppression_check": (RC, [vp, s, P(c_bool)]),
    "bl_suppression_list": (RC, [vp, i64, c_int, out_s]),
    "bl_unsubscribe_token": (RC, [vp, i64, c_int, out_s]),
    "bl_unsubscribe_verify": (RC, [vp, s, P(i64), P(c_int)]),
    "bl_unsubscribe_rate_take": (RC, [vp, s, P(i64)]),
    "bl_unsubscribe_apply": (RC, [vp, s, s, P(i64), P(c_int)]),
    "bl_bounces_ingest": (RC, [vp, s, P(BounceStats)]),
}

# ------------------------------------------------------------------ loading --


def _source_tree_candidates():
    """libbilling in the build tree when this package runs from a checkout."""
    here = os.path.dirname(os.path.abspath(__file__))          # bindings/python/billing
    root = os.path.normpath(os.path.join(here, "..", "..", ".."))
    if not os.path.isfile(os.path.join(root, "include", "billing", "billing.h")):
        return []
    return [os.path.join(root, "build", SONAME)]


def library_candidates():
    """Where the library is looked for, in order.

    1. $BILLING_LIB (a path; when set, nothing else is tried);
    2. build/libbilling.so.0 of the source tree this package sits in;
    3. the installed soname libbilling.so.0 (the dynamic loader's search:
       LD_LIBRARY_PATH, ld.so.cache), then what ctypes.util finds.
    """
    env = os.environ.get("BILLING_LIB")
    if env:
        return [env]
    found = [p for p in _source_tree_candidates() if os.path.exists(p)]
    found.append(SONAME)
    other = ctypes.util.find_library("billing")
    if other and other != SONAME:
        found.append(other)
    return found


def _check_rc(result, func, args):
    if result < 0:
        raise make_error(result, func.__name__)
    return result


class Library:
    """The loaded libbilling; attributes are its functions, declared lazily."""

    def __init__(self, path=None):
        tried = []
        self._dll = None
        for cand in [path] if path else library_candidates():
            try:
                self._dll = ctypes.CDLL(cand)
                self.path = cand
                break
            except OSError as e:
                tried.append("%s (%s)" % (cand, e))
        if self._dll is None:
            raise errors.LibraryNotFound(
                "cannot load libbilling; tried: " + "; ".join(tried)
                + ". Set BILLING_LIB to the path of libbilling.so.0 (e.g. build/libbilling.so.0)")
        self._funcs = {}
        self._lock = threading.Lock()
        # needed by every error path: declared now, and required
        self._error_last = self.function("bl_error_last")

    def has(self, name):
        """True when the loaded library exports `name`."""
        try:
            getattr(self._dll, name)
            return True
        except AttributeError:
            return False

    def function(self, name):
        """The declared ctypes function `name` (NotAvailable when missing)."""
        fn = self._funcs.get(name)
        if fn is not None:
            return fn
        try:
            restype, argtypes = SIGNATURES[name]
        except KeyError:
            raise AttributeError("billing binding does not declare %s" % name) from None
        with self._lock:
            try:
                fn = getattr(self._dll, name)
            except AttributeError:
                fn = _missing(name, self.path)
            else:
                fn.argtypes = argtypes
                if restype is RC:
                    fn.restype = c_int
                    fn.errcheck = _check_rc
                else:
                    fn.restype = restype
            self._funcs[name] = fn
        return fn

    def __getattr__(self, name):
        if name.startswith("bl_"):
            return self.function(name)
        raise AttributeError(name)

    def error_last(self):
        msg = self._error_last()
        return msg.decode("utf-8", "replace") if msg else ""


def _missing(name, path):
    def call(*args):
        raise errors.NotAvailable("%s is not in %s (a libbilling older than this binding)"
                                  % (name, path), function=name)
    call.__name__ = name
    return call


_lib = None
_lib_lock = threading.Lock()


def lib():
    """The process-wide Library, loaded on first use."""
    global _lib
    if _lib is None:
        with _lib_lock:
            if _lib is None:
                _lib = Library()
    return _lib


def make_error(code, function):
    """The exception for a failed call, with the thread's last-error message."""
    msg = lib().error_last() or "failed (%d)" % code
    return errors.error_class(code)(msg, code=code, function=function)


# ------------------------------------------------------------------ helpers --

def enc(value):
    """A Python argument as a C string (UTF-8); None stays NULL."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError("expected str, bytes or None, not %s" % type(value).__name__)


def dec(value):
    return None if value is None else value.decode("utf-8", "replace")


def take_string(ptr):
    """Copy a returned `char *` and release it with bl_free (None stays None)."""
    if not ptr.value:
        return None
    try:
        return ctypes.string_at(ptr.value).decode("utf-8", "replace")
    finally:
        lib().bl_free(ptr.value)
        ptr.value = None


def take_bytes(ptr, size):
    if not ptr.value:
        return b""
    try:
        return ctypes.string_at(ptr.value, size)
    finally:
        lib().bl_free(ptr.value)
        ptr.value = None
