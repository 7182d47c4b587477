"""Exceptions: one BillingError subclass per libbilling return code.

Every failing call raises the subclass of its BL_E* code.  The exception
carries the code, the C function that failed and the library's message for
the failure (``bl_error_last()``, which names what failed and with what).
"""

# The codes of include/billing/common.h (bl_error_code).
OK = 0
ERROR = -1
EINVAL = -2
ENOTFOUND = -3
ECONFLICT = -4
EDB = -5
EREDIS = -6
ENOMEM = -7
ECONFIG = -8
ECRYPTO = -9
EIO = -10
ESTOPPED = -11
EOVERFLOW = -12
EAUTH = -13
ELIMIT = -14


class BillingError(Exception):
    """A libbilling call failed.

    Attributes: ``code`` (the negative BL_E* code, or None when the failure
    is the binding's own), ``function`` (the C function), ``message`` (the
    library's message).
    """

    code = ERROR

    def __init__(self, message, code=None, function=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.function = function

    def __str__(self):
        if self.function:
            return "%s: %s" % (self.function, self.message)
        return self.message


class InvalidArgument(BillingError, ValueError):
    """BL_EINVAL: invalid argument or input."""
    code = EINVAL


class NotFound(BillingError, LookupError):
    """BL_ENOTFOUND: the named object does not exist."""
    code = ENOTFOUND


class Conflict(BillingError):
    """BL_ECONFLICT: exists already, in use, or changed meanwhile."""
    code = ECONFLICT


class DatabaseError(BillingError):
    """BL_EDB: MariaDB failure."""
    code = EDB


class RedisError(BillingError):
    """BL_EREDIS: Redis failure."""
    code = EREDIS


class OutOfMemory(BillingError, MemoryError):
    """BL_ENOMEM."""
    code = ENOMEM


class ConfigError(BillingError):
    """BL_ECONFIG: missing or malformed configuration setting."""
    code = ECONFIG


class CryptoError(BillingError):
    """BL_ECRYPTO: encryption or authentication failure (wrong key, tampering)."""
    code = ECRYPTO


class IOFailure(BillingError):
    """BL_EIO: file or system I/O failure."""
    code = EIO


class Stopped(BillingError):
    """BL_ESTOPPED: the operation was stopped on request.

    For batch runs ``run_id`` names the run (resume it with batch_resume).
    """
    code = ESTOPPED
    run_id = None


class Overflow(BillingError, OverflowError):
    """BL_EOVERFLOW: arithmetic overflow of money or sizes."""
    code = EOVERFLOW


class AuthError(BillingError):
    """BL_EAUTH: authentication failed."""
    code = EAUTH


class RateLimited(BillingError):
    """BL_ELIMIT: a rate limit was reached; try again later."""
    code = ELIMIT


class NotAvailable(BillingError, NotImplementedError):
    """The loaded libbilling does not have this function (an older library)."""
    code = None


class LibraryNotFound(BillingError, OSError):
    """libbilling.so could not be loaded."""
    code = None


_BY_CODE = {cls.code: cls for cls in (
    InvalidArgument, NotFound, Conflict, DatabaseError, RedisError, OutOfMemory,
    ConfigError, CryptoError, IOFailure, Stopped, Overflow, AuthError, RateLimited)}


def error_class(code):
    """The exception class of a BL_E* code (BillingError for unknown ones)."""
    return _BY_CODE.get(code, BillingError)
