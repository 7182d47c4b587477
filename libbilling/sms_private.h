/*
 * Real SMS delivery (docs/senders.md, "SMS gateways"): gateways in priority
 * order (sms_gateway.c) with a circuit breaker and a rate limit each, shared
 * by a worker's threads; the NAVER Cloud SENS v2 adapter (sms_sens.c) and a
 * generic JSON webhook adapter (sms_webhook.c) over libcurl (sms_http.c);
 * delivery results by polling or webhook (sms_result.c).
 */
#ifndef BL_SMS_PRIVATE_H
#define BL_SMS_PRIVATE_H

#include <curl/curl.h>
#include "db.h"

#define BL_SMS_MAX_GATEWAYS 3
#define BL_SMS_NAME_MAX 32     /* message_ledger.provider */
#define BL_SMS_REQID_MAX 100   /* message_ledger.request_id */
#define BL_SMS_SENS_SMS_BYTES 90    /* SENS: content of an SMS, EUC-KR bytes */
#define BL_SMS_SENS_SUBJECT_BYTES 40 /* SENS: subject of an LMS, EUC-KR bytes */

typedef enum { BL_GW_SENS = 1, BL_GW_WEBHOOK = 2 } bl__gw_type;
typedef enum { BL_BRK_CLOSED = 0, BL_BRK_OPEN = 1, BL_BRK_HALF_OPEN = 2 } bl__brk_state;

/* One gateway as configured (BILLING_SMS_<n>_*). */
typedef struct {
	bl__gw_type type;
	char name[BL_SMS_NAME_MAX + 1];
	char *url;        /* base URL, no trailing '/' */
	char *service_id; /* SENS */
	char *access_key; /* SENS */
	char *secret;     /* SENS secret key; webhook bearer token or HMAC key */
	char *hook_secret;
	bool bearer;      /* webhook: Authorization: Bearer (else HMAC signature) */
	int64_t rate;     /* per second per worker process, 0: unlimited */
} bl__gw_conf;

/* One message as a gateway gets it. */
typedef struct {
	int64_t message_id;
	int attempt;
	const char *to;      /* digits only */
	const char *from;    /* digits only */
	const char *subject; /* LMS only (cut to the gateway's limit) */
	const char *text;
	bool lms, ad;
	int64_t now_ms;      /* unix ms by the library's clock (SENS timestamp) */
} bl__sms_msg;

/* What a gateway answered. */
typedef enum {
	BL_GWR_ACCEPTED = 0,  /* 2xx with a request id */
	BL_GWR_REFUSED = 1,   /* transient, certainly not accepted: 429, 5xx, 401/403, no connection */
	BL_GWR_UNSURE = 2,    /* transient, maybe accepted: timeout after sending, 2xx without an id */
	BL_GWR_PERMANENT = 3  /* 4xx about the message: never retry */
} bl__gw_result;

typedef struct {
	bl__gw_result result;
	long http;
	int64_t retry_after_ms;
	char request_id[BL_SMS_REQID_MAX + 1];
	char error[200];
} bl__gw_out;

/* ---- sms_http.c: one request over a kept-alive curl handle ---- */
typedef struct {
	long status;          /* 0: no HTTP answer */
	CURLcode curl;
	bool sent;            /* the request left (a timeout after it is ambiguous) */
	int64_t retry_after_ms;
	bl_strbuf body;       /* at most 64 KiB are kept */
	char err[CURL_ERROR_SIZE];
} bl__http_res;
BL_PRIVATE int bl__http_do(CURL **h, const char *method, const char *url, struct curl_slist *hdrs,
			   const char *body, size_t len, long connect_ms, long timeout_ms, bl__http_res *res);
BL_PRIVATE void bl__http_res_free(bl__http_res *res);
BL_PRIVATE void bl__http_global_init(void);

/* ---- sms_sens.c ---- */
/* 429/5xx/401/403/404/408/no connection: refused (transient); a timeout
 * after sending: unsure; other 4xx: permanent. */
BL_PRIVATE void bl__gw_map_failure(const bl__http_res *r, const char *who, bl__gw_out *o);
/* base64(HMAC-SHA256(secret, "METHOD url\ntimestamp\naccessKey")) into out[64]. */
BL_PRIVATE void bl__sens_signature(const char *secret, const char *method, const char *url, const char *ts,
				   const char *access_key, char out[64]);
BL_PRIVATE int bl__sens_send(const bl__gw_conf *g, CURL **h, long cto, long to, const bl__sms_msg *m,
			     bl__gw_out *out);
/* One result query by request id: *done false while the gateway has no
 * final result; else *delivered and code (carrier status code). */
BL_PRIVATE int bl__sens_query(const bl__gw_conf *g, CURL **h, long cto, long to, int64_t now_ms,
			      const char *request_id, bool *found, bool *done, bool *delivered, char *code,
			      size_t cap, char *err, size_t errcap);

/* ---- sms_webhook.c ---- */
BL_PRIVATE int bl__webhook_send(const bl__gw_conf *g, CURL **h, long cto, long to, const bl__sms_msg *m,
				bl__gw_out *out);

/* ---- sms_gateway.c ---- */
/* The breakers and rate limits of a worker process (all its threads). */
typedef struct bl__sms_shared bl__sms_shared;
BL_PRIVATE int bl__sms_shared_new(bl__sms_shared **out, const bl_config *cfg);
BL_PRIVATE int bl__sms_shared_count(const bl__sms_shared *sh);
BL_PRIVATE void bl__sms_shared_ref(bl__sms_shared *sh);
BL_PRIVATE void bl__sms_shared_unref(bl__sms_shared *sh);
/* Write the breakers' state into sms_provider_state (for /metrics). */
BL_PRIVATE int bl__sms_shared_publish(bl__sms_shared *sh, MYSQL *db, const char *worker);

/* A thread's gateway client (curl handles) over the shared state. */
typedef struct bl__sms bl__sms;
/* *out NULL when no gateway is configured (the mock SMS provider is used). */
BL_PRIVATE int bl__sms_new(bl__sms **out, const bl_config *cfg, bl__sms_shared *shared);
BL_PRIVATE void bl__sms_free(bl__sms *s);
BL_PRIVATE void bl__sms_use_shared(bl__sms *s, bl__sms_shared *shared);
BL_PRIVATE const char *bl__sms_from(const bl__sms *s);
/* Through the first gateway in priority order whose breaker lets it: a
 * refusal (certainly not accepted) moves on to the next one; an accept,
 * a permanent refusal or an ambiguous failure ends the send.  `provider`
 * gets the name of the gateway that answered. */
BL_PRIVATE int bl__sms_send(bl__sms *s, const bl__sms_msg *m, bl__gw_out *out, char provider[BL_SMS_NAME_MAX + 1]);
BL_PRIVATE const bl__gw_conf *bl__sms_gateway(const bl__sms *s, const char *name, CURL ***h);
BL_PRIVATE void bl__sms_timeouts(const bl__sms *s, long *cto, long *to);

/* Gateway settings by name, without a client (the webhook of billing-httpd). */
BL_PRIVATE int bl__gw_conf_load(const bl_config *cfg, int slot, bl__gw_conf *g, bool *used);
BL_PRIVATE void bl__gw_conf_clear(bl__gw_conf *g);

/* ---- sms_result.c ---- */
/* Apply one delivery result (POLL or WEBHOOK): *outcome APPLIED, RETRY,
 * IGNORED or UNKNOWN (static strings). */
BL_PRIVATE int bl__sms_result_apply(bl_ctx *ctx, MYSQL *db, const char *provider, const char *request_id,
				    bool delivered, const char *code, const char *source, const char **outcome);
/* One polling pass over accepted SMS without a result. */
BL_PRIVATE int bl__sms_poll(bl_ctx *ctx, MYSQL *db, bl__sms *s, int64_t *applied);

#endif
