/*
 * Configuration: a fixed table of known settings, each with a default, a
 * validator and a line of documentation.  Sources: defaults < .env file <
 * environment < bl_config_set().
 */
#include <ctype.h>
#include <errno.h>
#include "internal.h"

extern char **environ;

typedef enum { V_STR, V_NONEMPTY, V_PORT, V_INT, V_IDENT, V_HEXKEY, V_HHMM, V_ENV, V_SENDERNO } vkind;

typedef struct {
	const char *key;
	const char *def;
	vkind kind;
	int64_t min, max; /* V_INT */
	bool secret;
	const char *doc;
} setting;

/* One SMS gateway slot (docs/senders.md): type, name, URL, credentials. */
#define SMS_SLOT(n)                                                                                    \
	{ "BILLING_SMS_" n "_TYPE", "", V_STR, 0, 0, false, "SMS gateway " n ": sens, webhook or empty (unused)" }, \
	{ "BILLING_SMS_" n "_NAME", "gw" n, V_IDENT, 0, 0, false, "SMS gateway " n ": name (ledger, /hooks/sms/NAME)" }, \
	{ "BILLING_SMS_" n "_URL", "", V_STR, 0, 0, false, "SMS gateway " n ": base URL (https://sens.apigw.ntruss.com)" }, \
	{ "BILLING_SMS_" n "_SERVICE_ID", "", V_STR, 0, 0, false, "SMS gateway " n ": SENS serviceId" }, \
	{ "BILLING_SMS_" n "_ACCESS_KEY", "", V_STR, 0, 0, false, "SMS gateway " n ": SENS access key id" }, \
	{ "BILLING_SMS_" n "_SECRET", "", V_STR, 0, 0, true,                                           \
	  "SMS gateway " n ": SENS secret key; webhook: bearer token or HMAC key" },                    \
	{ "BILLING_SMS_" n "_AUTH", "hmac", V_NONEMPTY, 0, 0, false, "SMS gateway " n " (webhook): bearer or hmac" }, \
	{ "BILLING_SMS_" n "_HOOK_SECRET", "", V_STR, 0, 0, true,                                      \
	  "SMS gateway " n ": key of the delivery-result webhook's HMAC-SHA256 signature" },            \
	{ "BILLING_SMS_" n "_RATE", "0", V_INT, 0, 1000000, false,                                     \
	  "SMS gateway " n ": requests per second per worker process (0: unlimited)" }

static const setting SETTINGS[] = {
	{ "MYSQL_HOST", "127.0.0.1", V_NONEMPTY, 0, 0, false, "MariaDB/MySQL host" },
	{ "MYSQL_PORT", "13306", V_PORT, 0, 0, false, "MariaDB/MySQL TCP port" },
	{ "MYSQL_DATABASE", "billing_system", V_IDENT, 0, 0, false, "database name" },
	{ "MYSQL_USER", "app", V_NONEMPTY, 0, 0, false, "database user" },
	{ "MYSQL_PASSWORD", "", V_STR, 0, 0, true, "database password" },
	{ "MYSQL_SOCKET", "", V_STR, 0, 0, false, "Unix socket path (used instead of TCP when set)" },
	{ "MYSQL_CONNECT_TIMEOUT", "5", V_INT, 1, 600, false, "connect timeout in seconds" },
	{ "MYSQL_LOCK_WAIT_TIMEOUT", "50", V_INT, 1, 3600, false,
	  "seconds a statement waits for a row lock before giving up (innodb_lock_wait_timeout)" },
	{ "MYSQL_TLS", "0", V_INT, 0, 1, false, "1: the MariaDB link must use TLS (refused without it)" },
	{ "MYSQL_TLS_CA", "", V_STR, 0, 0, false, "CA certificate file (PEM) that signed the MariaDB server's certificate" },
	{ "MYSQL_TLS_VERIFY", "1", V_INT, 0, 1, false,
	  "1: check the server's certificate and host name against MYSQL_TLS_CA (0: encrypt only)" },
	{ "REDIS_HOST", "127.0.0.1", V_NONEMPTY, 0, 0, false, "Redis host" },
	{ "REDIS_PORT", "16379", V_PORT, 0, 0, false, "Redis TCP port" },
	{ "REDIS_PASSWORD", "", V_STR, 0, 0, true, "Redis password (AUTH) when set" },
	{ "REDIS_PREFIX", "bl:", V_STR, 0, 0, false, "prefix of every Redis key (isolates tenants/tests)" },
	{ "REDIS_TIMEOUT_MS", "2000", V_INT, 10, 600000, false, "Redis connect timeout in ms" },
	{ "BILLING_DATA_KEY", "", V_HEXKEY, 0, 0, true,
	  "64 hex digits: master key for personal-data encryption and blind indexes" },
	{ "BILLING_DUE_DAY", "25", V_INT, 1, 28, false, "payment due day of the month after the target month" },
	{ "BILLING_BATCH_CHUNK", "1000", V_INT, 1, 100000, false, "subscribers per batch chunk/transaction" },
	{ "BILLING_BATCH_PARTITIONS", "2", V_INT, 1, 64, false, "default batch worker threads" },
	{ "BILLING_BATCH_DAY", "1", V_INT, 1, 28, false, "day of month of the automatic monthly run" },
	{ "BILLING_BATCH_TIME", "02:00", V_HHMM, 0, 0, false, "Asia/Seoul time of the automatic monthly run" },
	{ "BILLING_MIGRATIONS_DIR", "", V_STR, 0, 0, false,
	  "read migrations from this directory instead of the compiled-in set" },
	/* messaging: stream, relay, worker */
	{ "BILLING_STREAM", "message-stream", V_NONEMPTY, 0, 0, false,
	  "Redis stream of message events (REDIS_PREFIX is prepended)" },
	{ "BILLING_STREAM_GROUP", "message-group", V_NONEMPTY, 0, 0, false, "consumer group of the workers" },
	{ "BILLING_STREAM_MAXLEN", "1000000", V_INT, 1000, 1000000000, false,
	  "approximate stream length kept (XADD MAXLEN ~)" },
	{ "BILLING_RELAY_BATCH", "1000", V_INT, 1, 10000, false, "outbox rows published per pipelined batch" },
	{ "BILLING_WORKER_THREADS", "8", V_INT, 1, 256, false, "sender threads per worker process" },
	{ "BILLING_WORKER_BATCH", "200", V_INT, 1, 10000, false, "entries per XREADGROUP (COUNT)" },
	{ "BILLING_RATE_EMAIL", "0", V_INT, 0, 1000000, false,
	  "e-mails per second per worker process (0: unlimited)" },
	{ "BILLING_RATE_SMS", "0", V_INT, 0, 1000000, false, "SMS per second per worker process (0: unlimited)" },
	{ "BILLING_PENDING_IDLE_MS", "30000", V_INT, 100, 86400000, false,
	  "stream entries pending longer than this are taken over (XAUTOCLAIM)" },
	{ "BILLING_MAX_DELIVERIES", "5", V_INT, 1, 1000, false,
	  "stream deliveries of one entry before its message is marked DEAD" },
	{ "BILLING_RETRY_EMAIL_ATTEMPTS", "3", V_INT, 1, 100, false, "attempts of an e-mail before EXCEEDED" },
	{ "BILLING_RETRY_SMS_ATTEMPTS", "3", V_INT, 1, 100, false, "attempts of an SMS before DEAD" },
	{ "BILLING_RETRY_BASE_MS", "1000", V_INT, 0, 86400000, false, "first retry delay (ms)" },
	{ "BILLING_RETRY_MULTIPLIER", "2", V_INT, 1, 100, false, "delay multiplier per attempt" },
	{ "BILLING_RETRY_CAP_MS", "300000", V_INT, 0, 86400000, false, "largest retry delay (ms), before jitter" },
	{ "BILLING_MOCK_SEED", "1", V_INT, 0, INT64_MAX, false, "seed of the mock senders' failures" },
	{ "BILLING_MOCK_EMAIL_LATENCY_MS", "0", V_INT, 0, 60000, false, "mock e-mail provider latency" },
	{ "BILLING_MOCK_SMS_LATENCY_MS", "0", V_INT, 0, 60000, false, "mock SMS provider latency" },
	{ "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE", "10", V_INT, 0, 1000, false,
	  "mock e-mail transient failures (timeouts, throttling), in thousandths" },
	{ "BILLING_MOCK_EMAIL_PERMANENT_PERMILLE", "0", V_INT, 0, 1000, false,
	  "mock e-mail permanent failures (invalid address, unsubscribed), in thousandths" },
	{ "BILLING_MOCK_SMS_TRANSIENT_PERMILLE", "0", V_INT, 0, 1000, false, "mock SMS transient failures, in thousandths" },
	{ "BILLING_MOCK_SMS_PERMANENT_PERMILLE", "0", V_INT, 0, 1000, false, "mock SMS permanent failures, in thousandths" },
	{ "BILLING_MAILDIR", ".run/maildir", V_STR, 0, 0, false,
	  "Maildir the mock e-mail provider delivers into (empty: do not write files)" },
	/* templates: what one render may cost (a draft in the live preview, a send) */
	{ "BILLING_TEMPLATE_MAX_STEPS", "1000000", V_INT, 1000, 100000000, false,
	  "steps of one template render (text pieces, tags and list items visited)" },
	{ "BILLING_TEMPLATE_MAX_OUTPUT", "1048576", V_INT, 4096, 67108864, false,
	  "bytes one rendered template part may have" },
	/* real e-mail (docs/email.md): provider, SMTP relays, identity, bounces */
	{ "BILLING_EMAIL_PROVIDER", "mock", V_NONEMPTY, 0, 0, false, "e-mail provider: mock or smtp" },
	{ "BILLING_SMTP_RELAYS", "", V_STR, 0, 0, false,
	  "SMTP relays in priority order, comma-separated smtp://host:port or smtps://host:port" },
	{ "BILLING_SMTP_HELO", "localhost", V_NONEMPTY, 0, 0, false, "name sent in EHLO/HELO" },
	{ "BILLING_SMTP_STARTTLS", "required", V_NONEMPTY, 0, 0, false,
	  "STARTTLS on smtp:// relays: required, opportunistic or off (smtps:// is always TLS)" },
	{ "BILLING_SMTP_TLS_VERIFY", "1", V_INT, 0, 1, false, "1: check the relay's certificate and name" },
	{ "BILLING_SMTP_CA_FILE", "", V_STR, 0, 0, false, "CA certificates (PEM) for the relays (empty: system's)" },
	{ "BILLING_SMTP_USER", "", V_STR, 0, 0, false, "SMTP AUTH user (empty: no AUTH)" },
	{ "BILLING_SMTP_PASSWORD", "", V_STR, 0, 0, true, "SMTP AUTH password" },
	{ "BILLING_SMTP_CONNECT_TIMEOUT_MS", "10000", V_INT, 100, 600000, false, "SMTP connect timeout (ms)" },
	{ "BILLING_SMTP_TIMEOUT_MS", "60000", V_INT, 100, 3600000, false, "longest SMTP transaction of one message (ms)" },
	{ "BILLING_SMTP_FAILOVER_AFTER", "3", V_INT, 1, 1000, false,
	  "failures in a row (connect, TLS, timeout, 4xx) after which a relay is skipped" },
	{ "BILLING_SMTP_RELAY_RETRY_MS", "30000", V_INT, 0, 86400000, false,
	  "how long a failed relay is skipped before it is tried again (ms)" },
	{ "BILLING_MAIL_FROM", "billing@example.invalid", V_NONEMPTY, 0, 0, false, "From address of e-mails" },
	{ "BILLING_MAIL_FROM_NAME", "LG U+ 요금안내", V_STR, 0, 0, false, "From display name of e-mails" },
	{ "BILLING_MAIL_REPLY_TO", "", V_STR, 0, 0, false, "Reply-To address of e-mails (empty: none)" },
	{ "BILLING_MAIL_DOMAIN", "libbilling.invalid", V_NONEMPTY, 0, 0, false,
	  "domain of Message-IDs and of the VERP bounce addresses bounce+<id>.<tag>@domain" },
	{ "BILLING_UNSUBSCRIBE_URL", "https://billing.example.invalid/unsubscribe", V_NONEMPTY, 0, 0, false,
	  "billing-httpd's public /unsubscribe URL; NOTICE e-mails link to it with ?t=<token>" },
	{ "BILLING_UNSUBSCRIBE_LIMIT", "60", V_INT, 1, 1000000, false,
	  "requests to the public /unsubscribe page per client address per BILLING_UNSUBSCRIBE_WINDOW_S" },
	{ "BILLING_UNSUBSCRIBE_WINDOW_S", "60", V_INT, 1, 86400, false,
	  "window of BILLING_UNSUBSCRIBE_LIMIT, in seconds" },
	{ "BILLING_BOUNCE_MAILDIR", "", V_STR, 0, 0, false,
	  "Maildir of bounces (DSNs) that billing-worker ingests (empty: none)" },
	/* admin users */
	{ "BILLING_ENV", "production", V_ENV, 0, 0, false,
	  "production, demo or test: settings meant for tests only are refused elsewhere" },
	{ "BILLING_PWHASH_FAST", "0", V_INT, 0, 1, false,
	  "1: hash admin passwords with argon2id's minimum cost (needs BILLING_ENV=test; 0: interactive cost)" },
	/* admin web server (billing-httpd) and its sessions */
	{ "BILLING_HTTP_PORT", "8080", V_PORT, 0, 0, false, "billing-httpd TCP port (--port overrides)" },
	{ "BILLING_HTTP_BIND", "127.0.0.1", V_NONEMPTY, 0, 0, false,
	  "billing-httpd listen address, IPv4 or IPv6 literal (--bind overrides)" },
	{ "BILLING_HTTP_THREADS", "8", V_INT, 1, 256, false,
	  "billing-httpd: requests handled at once, each on one of as many library contexts (--threads overrides)" },
	{ "BILLING_HTTP_QUEUE_MAX", "64", V_INT, 0, 100000, false,
	  "billing-httpd: requests that may wait for a free context; more: 503 with Retry-After" },
	{ "BILLING_HTTP_QUEUE_WAIT_MS", "2000", V_INT, 0, 60000, false,
	  "billing-httpd: how long a request waits for a free context before a 503 with Retry-After" },
	{ "BILLING_HTTP_MAX_BODY", "1048576", V_INT, 1024, 67108864, false,
	  "largest request body billing-httpd accepts, in bytes (larger: 413)" },
	{ "BILLING_HTTP_MAX_CONNECTIONS", "512", V_INT, 8, 100000, false, "billing-httpd: open connections at most" },
	{ "BILLING_HTTP_MAX_PER_IP", "64", V_INT, 0, 100000, false,
	  "billing-httpd: connections per client address (0: no limit; a reverse proxy counts as one address)" },
	{ "BILLING_HTTP_IDLE_TIMEOUT_S", "30", V_INT, 1, 3600, false,
	  "billing-httpd: a connection that sends nothing for this long is closed" },
	{ "BILLING_HTTP_REQUEST_TIMEOUT_S", "60", V_INT, 1, 3600, false,
	  "billing-httpd: a request (headers and body) must arrive whole within this, however slowly it trickles" },
	{ "BILLING_SESSION_TTL_S", "28800", V_INT, 60, 2592000, false,
	  "admin session lifetime in seconds after the last request" },
	{ "BILLING_CONTACT_SEARCH_LIMIT", "30", V_INT, 1, 100000, false,
	  "searches by phone or e-mail per admin per BILLING_CONTACT_SEARCH_WINDOW_S (admin UI and API)" },
	{ "BILLING_CONTACT_SEARCH_WINDOW_S", "3600", V_INT, 1, 86400, false,
	  "window of BILLING_CONTACT_SEARCH_LIMIT, in seconds" },
	{ "BILLING_SESSION_MAX_S", "43200", V_INT, 300, 2592000, false,
	  "absolute lifetime of an admin session in seconds, however busy (default 12 h)" },
	{ "BILLING_HTTP_TRUSTED_PROXIES", "", V_STR, 0, 0, false,
	  "addresses of reverse proxies whose X-Forwarded-For names the client (comma-separated)" },
	{ "BILLING_LOGIN_MAX_FAILS", "5", V_INT, 1, 1000, false,
	  "failed logins per username and client address before logins are refused for a while" },
	{ "BILLING_LOGIN_WINDOW_S", "300", V_INT, 1, 86400, false,
	  "window of BILLING_LOGIN_MAX_FAILS and how long refused logins wait, in seconds" },
	/* reservations, the scheduler, quiet hours (reservation.c, scheduler.c, quiet.c) */
	{ "BILLING_SCHEDULER", "1", V_INT, 0, 1, false,
	  "1: billing-worker expands due reservations and starts the monthly run; 0: it does not" },
	{ "BILLING_RESERVATION_DELAY_S", "300", V_INT, 0, 604800, false,
	  "seconds after a completed batch run that its billing reservation is due" },
	{ "BILLING_COUNT_TIMEOUT_MS", "1000", V_INT, 1, 600000, false,
	  "time a reservation's live counts may take before they are shown as not counted" },
	{ "BILLING_RESERVATION_CHUNK", "1000", V_INT, 1, 10000, false,
	  "targets per reservation expansion chunk/transaction" },
	{ "BILLING_QUIET_START", "21:00", V_HHMM, 0, 0, false,
	  "start of the daily quiet hours (Asia/Seoul); equal to the end: none" },
	{ "BILLING_QUIET_END", "08:00", V_HHMM, 0, 0, false, "end of the daily quiet hours (Asia/Seoul)" },
	{ "BILLING_QUIET_SMS_NOTICE", "1", V_INT, 0, 1, false, "1: NOTICE SMS wait for the end of the quiet hours" },
	/* real SMS (docs/senders.md, "SMS gateways"): gateways in priority order (slots 1-3) */
	{ "BILLING_SMS_FROM", "", V_SENDERNO, 0, 0, false,
	  "registered sender number (발신번호) of SMS sent through a gateway: digits, '-' allowed" },
	{ "BILLING_SMS_CONNECT_TIMEOUT_MS", "3000", V_INT, 100, 600000, false, "SMS gateway connect timeout (ms)" },
	{ "BILLING_SMS_TIMEOUT_MS", "10000", V_INT, 100, 600000, false, "longest SMS gateway request (ms)" },
	{ "BILLING_SMS_BREAKER_FAILURES", "5", V_INT, 1, 100000, false,
	  "consecutive transient failures that open a gateway's circuit breaker" },
	{ "BILLING_SMS_BREAKER_WINDOW_MS", "10000", V_INT, 100, 3600000, false,
	  "window of the breaker's error rate (ms)" },
	{ "BILLING_SMS_BREAKER_ERROR_PERMILLE", "500", V_INT, 1, 1000, false,
	  "error rate in the window that opens the breaker, in thousandths" },
	{ "BILLING_SMS_BREAKER_MIN_REQUESTS", "20", V_INT, 1, 1000000, false,
	  "requests in the window before the error rate counts" },
	{ "BILLING_SMS_BREAKER_OPEN_MS", "5000", V_INT, 10, 86400000, false,
	  "time an open breaker waits before a half-open probe (ms)" },
	{ "BILLING_SMS_POLL_MS", "1000", V_INT, 0, 3600000, false,
	  "worker: delivery results polled this often from gateways with a result query (0: never)" },
	{ "BILLING_SMS_POLL_BATCH", "200", V_INT, 1, 10000, false, "accepted SMS whose result one poll asks for" },
	SMS_SLOT("1"),
	SMS_SLOT("2"),
	SMS_SLOT("3"),
	{ "BILLING_QUIET_SMS_BILLING", "0", V_INT, 0, 1, false, "1: BILLING SMS wait for the end of the quiet hours" },
	{ "BILLING_QUIET_EMAIL_NOTICE", "0", V_INT, 0, 1, false,
	  "1: NOTICE e-mails wait for the end of the quiet hours" },
	{ "BILLING_QUIET_EMAIL_BILLING", "0", V_INT, 0, 1, false,
	  "1: BILLING e-mails wait for the end of the quiet hours" },
};
#define NSETTINGS (sizeof SETTINGS / sizeof SETTINGS[0])

/* Keys of the original system's .env that are accepted and ignored. */
static const char *IGNORED[] = { "MYSQL_ROOT_PASSWORD", NULL };

struct bl_config {
	char *values[NSETTINGS];
};

static int find(const char *key)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(SETTINGS[i].key, key) == 0)
			return (int)i;
	return -1;
}

static int validate(const setting *s, const char *v)
{
	int64_t n;
	switch (s->kind) {
	case V_STR:
		return BL_OK;
	case V_NONEMPTY:
		if (!*v)
			return bl__fail(BL_ECONFIG, "%s: must not be empty", s->key);
		return BL_OK;
	case V_PORT:
		if (bl__parse_i64(v, 1, 65535, &n))
			return bl__fail(BL_ECONFIG, "%s: '%s' is not a port number (1-65535)", s->key, v);
		return BL_OK;
	case V_INT:
		if (bl__parse_i64(v, s->min, s->max, &n))
			return bl__fail(BL_ECONFIG, "%s: '%s' is not a whole number from %lld to %lld",
					s->key, v, (long long)s->min, (long long)s->max);
		return BL_OK;
	case V_IDENT:
		if (!*v || strlen(v) > 64)
			return bl__fail(BL_ECONFIG, "%s: must be 1-64 characters", s->key);
		for (const char *p = v; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '_')
				return bl__fail(BL_ECONFIG,
						"%s: '%s' may only hold letters, digits and '_'", s->key, v);
		return BL_OK;
	case V_ENV:
		if (strcmp(v, "production") && strcmp(v, "demo") && strcmp(v, "test"))
			return bl__fail(BL_ECONFIG, "%s: '%s' is not production, demo or test", s->key, v);
		return BL_OK;
	case V_HEXKEY:
		if (!*v)
			return BL_OK; /* unset: checked when encryption is used */
		if (strlen(v) != 64)
			return bl__fail(BL_ECONFIG, "%s: must be 64 hex digits (32 bytes), got %zu characters",
					s->key, strlen(v));
		for (const char *p = v; *p; p++)
			if (!isxdigit((unsigned char)*p))
				return bl__fail(BL_ECONFIG, "%s: '%c' is not a hex digit", s->key, *p);
		return BL_OK;
	case V_SENDERNO: {
		/* 발신번호: 8-11 digits, '-' between them; a mobile (01x), an area (0x)
		 * or a representative number (15xx/16xx/18xx) */
		size_t nd = 0;
		for (const char *p = v; *p; p++) {
			if (isdigit((unsigned char)*p))
				nd++;
			else if (*p != '-' || p == v || !p[1] || p[1] == '-')
				return bl__fail(BL_ECONFIG, "%s: '%s' is not a phone number (digits, '-' between)",
						s->key, v);
		}
		if (*v && (nd < 8 || nd > 11 || (v[0] != '0' && v[0] != '1') || (v[0] == '1' && nd != 8)))
			return bl__fail(BL_ECONFIG, "%s: '%s' is not a Korean sender number (0x…, 01x…, 15xx-xxxx)",
					s->key, v);
		return BL_OK;
	}
	case V_HHMM: {
		int h, m;
		char extra;
		/* sscanf's %d skips blanks and takes a sign: check the digits first */
		if (strlen(v) != 5 || !isdigit((unsigned char)v[0]) || !isdigit((unsigned char)v[1]) ||
		    !isdigit((unsigned char)v[3]) || !isdigit((unsigned char)v[4]) ||
		    sscanf(v, "%2d:%2d%c", &h, &m, &extra) != 2 || h < 0 || h > 23 || m < 0 || m > 59)
			return bl__fail(BL_ECONFIG, "%s: '%s' is not a time HH:MM", s->key, v);
		return BL_OK;
	}
	}
	return BL_OK;
}

int bl_config_new(bl_config **out)
{
	if (!out)
		return bl__fail(BL_EINVAL, "bl_config_new: out is NULL");
	bl_config *c = calloc(1, sizeof *c);
	if (!c)
		return bl__fail(BL_ENOMEM, "out of memory");
	for (size_t i = 0; i < NSETTINGS; i++) {
		c->values[i] = bl__strdup(SETTINGS[i].def);
		if (!c->values[i]) {
			bl_config_free(c);
			return bl__fail(BL_ENOMEM, "out of memory");
		}
	}
	*out = c;
	return BL_OK;
}

void bl_config_free(bl_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NSETTINGS; i++)
		free(cfg->values[i]);
	free(cfg);
}

int bl_config_copy(bl_config **out, const bl_config *cfg)
{
	if (!cfg || !out)
		return bl__fail(BL_EINVAL, "bl_config_copy: NULL argument");
	int rc = bl_config_new(out);
	if (rc)
		return rc;
	for (size_t i = 0; i < NSETTINGS; i++) {
		char *v = bl__strdup(cfg->values[i]);
		if (!v) {
			bl_config_free(*out);
			*out = NULL;
			return bl__fail(BL_ENOMEM, "out of memory");
		}
		free((*out)->values[i]);
		(*out)->values[i] = v;
	}
	return BL_OK;
}

int bl_config_set(bl_config *cfg, const char *key, const char *value)
{
	if (!cfg || !key || !value)
		return bl__fail(BL_EINVAL, "bl_config_set: NULL argument");
	int i = find(key);
	if (i < 0)
		return bl__fail(BL_ECONFIG, "unknown setting %s", key);
	int rc = validate(&SETTINGS[i], value);
	if (rc)
		return rc;
	char *v = bl__strdup(value);
	if (!v)
		return bl__fail(BL_ENOMEM, "out of memory");
	free(cfg->values[i]);
	cfg->values[i] = v;
	return BL_OK;
}

const char *bl_config_get(const bl_config *cfg, const char *key)
{
	if (!cfg || !key)
		return NULL;
	int i = find(key);
	return i < 0 ? NULL : cfg->values[i];
}

int64_t bl__config_int(const bl_config *cfg, const char *key)
{
	int64_t n = 0;
	const char *v = bl_config_get(cfg, key);
	if (v)
		bl__parse_i64(v, INT64_MIN, INT64_MAX, &n);
	return n;
}

bool bl_config_is_secret(const char *key)
{
	int i = key ? find(key) : -1;
	return i >= 0 && SETTINGS[i].secret;
}

size_t bl_config_count(void) { return NSETTINGS; }
const char *bl_config_key(size_t i) { return i < NSETTINGS ? SETTINGS[i].key : NULL; }

const char *bl_config_describe(const char *key)
{
	int i = key ? find(key) : -1;
	return i < 0 ? NULL : SETTINGS[i].doc;
}

static bool ours(const char *key)
{
	return !strncmp(key, "MYSQL_", 6) || !strncmp(key, "REDIS_", 6) || !strncmp(key, "BILLING_", 8);
}

static bool ignored(const char *key)
{
	for (const char **p = IGNORED; *p; p++)
		if (!strcmp(*p, key))
			return true;
	return !strcmp(key, "BILLING_ENV_FILE");
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int bl_config_load_file(bl_config *cfg, const char *path)
{
	if (!cfg || !path)
		return bl__fail(BL_EINVAL, "bl_config_load_file: NULL argument");
	FILE *f = fopen(path, "r");
	if (!f)
		return bl__fail(errno == ENOENT ? BL_ENOTFOUND : BL_EIO, "%s: %s", path, strerror(errno));
	char line[4096];
	int lineno = 0, rc = BL_OK;
	while (rc == BL_OK && fgets(line, sizeof line, f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = bl__fail(BL_ECONFIG, "%s:%d: line longer than %zu bytes", path, lineno,
				      sizeof line - 2);
			break;
		}
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		if (!strncmp(s, "export ", 7))
			s = trim(s + 7);
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = bl__fail(BL_ECONFIG, "%s:%d: expected KEY=VALUE, got '%.60s'", path, lineno, s);
			break;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
			val[vl - 1] = '\0';
			val++;
		} else if (vl && (val[0] == '"' || val[0] == '\'')) {
			rc = bl__fail(BL_ECONFIG, "%s:%d: %s: unterminated quote", path, lineno, key);
			break;
		}
		if (find(key) < 0) {
			if (ours(key) && !ignored(key))
				rc = bl__fail(BL_ECONFIG, "%s:%d: unknown setting %s", path, lineno, key);
			continue;
		}
		rc = bl_config_set(cfg, key, val);
		if (rc)
			bl__fail_wrap(rc, "%s:%d", path, lineno);
	}
	fclose(f);
	return rc;
}

int bl_config_load(bl_config **out, const char *env_file, bool required)
{
	bl_config *cfg;
	int rc = bl_config_new(&cfg);
	if (rc)
		return rc;
	const char *path = env_file;
	if (!path) {
		path = getenv("BILLING_ENV_FILE");
		if (path && *path)
			required = true;
		else
			path = ".env";
	}
	rc = bl_config_load_file(cfg, path);
	if (rc == BL_ENOTFOUND && !required)
		rc = BL_OK;
	for (size_t i = 0; rc == BL_OK && i < NSETTINGS; i++) {
		const char *v = getenv(SETTINGS[i].key);
		if (v) {
			rc = bl_config_set(cfg, SETTINGS[i].key, v);
			if (rc)
				bl__fail_wrap(rc, "environment");
		}
	}
	if (rc) {
		bl_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return BL_OK;
}
