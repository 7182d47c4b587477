"""billing — Python binding of libbilling (ctypes, no compiled extension).

    import billing

    with billing.connect(MYSQL_DATABASE="billing_system") as ctx:
        run_id = ctx.batch_run("2026-10", progress=lambda p: print(p["processed"], "/", p["total"]))
        print(ctx.statement(1, "2026-10")["billed_amount"])

The library is found through $BILLING_LIB (a path), the build tree of the
source checkout this package sits in (build/libbilling.so.0), or the
installed soname libbilling.so.0.  Every failure raises a BillingError
subclass carrying the library's message (bl_error_last()).
"""

from .admin import role_name, role_parse, session_csrf_check
from .context import Context, connect
from .core import (CHANNELS, CREATED_BY, PII_KINDS, PURPOSES, ROLES, SERVICE_TYPES, Config,
                   StopFlag, batch_mode_name, batch_mode_parse, charge_problem_name, clock_format,
                   clock_month, clock_parse, html_escape, month_add, template_sample,
                   compute_statement, config_describe, config_is_secret, config_keys,
                   data_key_generate, has_function, library_path, parse_month, pii_mask, pii_scrub,
                   pii_normalize, render, retry_next, retry_policy_default, sms_bytes, strerror,
                   template_validate, version)
from .errors import (AuthError, RateLimited, BillingError, Conflict, ConfigError, CryptoError, DatabaseError,
                     InvalidArgument, IOFailure, LibraryNotFound, NotAvailable, NotFound,
                     OutOfMemory, Overflow, RedisError, Stopped, error_class)

__version__ = "0.1.0"

__all__ = [
    "AuthError", "RateLimited", "BillingError", "CHANNELS", "CREATED_BY", "Config", "Conflict", "ConfigError",
    "Context", "CryptoError", "DatabaseError", "IOFailure", "InvalidArgument", "LibraryNotFound",
    "NotAvailable", "NotFound", "OutOfMemory", "Overflow", "PII_KINDS", "PURPOSES", "ROLES",
    "RedisError", "SERVICE_TYPES", "StopFlag", "Stopped", "batch_mode_name", "batch_mode_parse",
    "charge_problem_name", "clock_format", "clock_month", "clock_parse", "compute_statement", "config_describe", "config_is_secret",
    "html_escape", "month_add", "template_sample",
    "config_keys", "connect", "data_key_generate", "error_class", "has_function",
    "library_path", "parse_month", "pii_mask", "pii_scrub", "pii_normalize", "render", "retry_next",
    "retry_policy_default", "role_name", "role_parse", "session_csrf_check", "sms_bytes",
    "strerror", "template_validate", "version",
]
