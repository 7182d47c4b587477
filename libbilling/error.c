/* Thread-local last error. */
#include "internal.h"

static _Thread_local char last_msg[2048];
static _Thread_local int last_code;

static int vset(int code, const char *prefix_fmt, va_list ap, bool wrap)
{
	char tmp[2048];
	vsnprintf(tmp, sizeof tmp, prefix_fmt, ap);
	if (wrap && last_msg[0]) {
		char old[2048];
		memcpy(old, last_msg, sizeof old);
		size_t n = strnlen(tmp, sizeof tmp - 1);
		memcpy(last_msg, tmp, n);
		if (n + 2 < sizeof last_msg) {
			memcpy(last_msg + n, ": ", 2);
			n += 2;
		}
		size_t rest = sizeof last_msg - n - 1, ol = strnlen(old, rest);
		memcpy(last_msg + n, old, ol);
		last_msg[n + ol] = '\0';
	} else {
		memcpy(last_msg, tmp, sizeof last_msg);
	}
	/* Messages end up in logs and API answers: a phone number or e-mail that
	 * came in with a value (a typed filter, a JSON fragment, a database
	 * error) is masked here, once for every path. */
	if (strpbrk(last_msg, "@0+")) {
		bl__pii_scrub_buf(last_msg, tmp, sizeof tmp);
		memcpy(last_msg, tmp, sizeof last_msg);
	}
	last_code = code;
	return code;
}

int bl__fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(code, fmt, ap, false);
	va_end(ap);
	return code;
}

int bl__fail_wrap(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(code, fmt, ap, true);
	va_end(ap);
	return code;
}

const char *bl_error_last(void) { return last_msg; }
int bl_error_last_code(void) { return last_code; }

void bl_error_clear(void)
{
	last_msg[0] = '\0';
	last_code = BL_OK;
}

const char *bl_strerror(int code)
{
	switch (code) {
	case BL_OK: return "success";
	case BL_ERROR: return "error";
	case BL_EINVAL: return "invalid argument";
	case BL_ENOTFOUND: return "not found";
	case BL_ECONFLICT: return "conflict";
	case BL_EDB: return "database error";
	case BL_EREDIS: return "redis error";
	case BL_ENOMEM: return "out of memory";
	case BL_ECONFIG: return "configuration error";
	case BL_ECRYPTO: return "cryptographic failure";
	case BL_EIO: return "I/O error";
	case BL_ESTOPPED: return "stopped";
	case BL_EOVERFLOW: return "arithmetic overflow";
	case BL_EAUTH: return "authentication failed";
	case BL_ELIMIT: return "rate limit reached";
	default: return "unknown error code";
	}
}

void bl_free(void *ptr) { free(ptr); }

const char *bl_version(void) { return BL_VERSION_STRING; }
