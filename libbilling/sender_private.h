/*
 * The mock EMAIL/SMS providers (sender.c): a documented product feature with
 * configurable latency and failure rates (BILLING_MOCK_*), deterministic for
 * a seed.  Accepted sends are recorded in message_ledger keyed by message id
 * (the provider's idempotency key).
 */
#ifndef BL_SENDER_PRIVATE_H
#define BL_SENDER_PRIVATE_H

#include "db.h"
#include "email_private.h"
#include "sms_private.h"

typedef enum {
	BL_SEND_OK = 0,        /* accepted now */
	BL_SEND_DUPLICATE = 1, /* accepted before: not delivered again */
	BL_SEND_TRANSIENT = 2, /* timeout, throttling: retry later */
	BL_SEND_PERMANENT = 3, /* invalid address, unsubscribed: never retry */
	BL_SEND_REJECTED = 4   /* the recipient's server refused the mailbox (5.1.x/5.2.x): a hard bounce */
} bl__send_status;

typedef struct {
	int64_t message_id;
	int attempt; /* 1-based */
	bl_channel channel;
	const char *to; /* plain e-mail address or phone digits */
	const char *to_name;
	const char *subject, *html, *text;
	bl_message_kind kind;
	size_t bytes;
	int64_t at_ms; /* when it is sent, by the library's clock (0: bl_ctx_now(NULL)) */
	int64_t user_id; /* for the unsubscribe link of a NOTICE (0: none) */
	bool notice;     /* purpose NOTICE: List-Unsubscribe (docs/email.md) */
} bl__send_req;

typedef struct {
	bl__send_status status;
	char error[256];
	int64_t retry_after_ms; /* the gateway's Retry-After (0: none) */
	char provider[33];      /* SMS gateway that accepted it ("" : mock / e-mail) */
	char request_id[101];   /* its request id */
} bl__send_res;

typedef struct bl__sender bl__sender;
BL_PRIVATE int bl__sender_new(bl__sender **out, const bl_config *cfg, const char *worker);
/* `db` is used (autocommit) for the ledger.  Returns BL_OK whatever the
 * provider answered (see res->status); an error only when the ledger write
 * or the Maildir write itself failed. */
BL_PRIVATE int bl__sender_send(bl__sender *s, MYSQL *db, const bl__send_req *req, bl__send_res *res);
BL_PRIVATE void bl__sender_free(bl__sender *s);
/*
 * Batch mode: between begin and flush, accepted sends are not yet in the
 * ledger; their res->status is BL_SEND_OK provisionally.  flush records them
 * all in one upsert and then settles each res (OK, DUPLICATE, or TRANSIENT
 * when the ledger or the Maildir write failed).  Failures decided at send
 * time (TRANSIENT/PERMANENT) are final at once.
 */
BL_PRIVATE void bl__sender_batch_begin(bl__sender *s);
BL_PRIVATE int bl__sender_batch_flush(bl__sender *s, MYSQL *db);
/* The SMS gateways' breakers and rate limits of the worker process (all threads). */
BL_PRIVATE void bl__sender_use_sms_shared(bl__sender *s, bl__sms_shared *shared);
/* The sender's SMS gateway client (NULL: mock SMS). */
BL_PRIVATE bl__sms *bl__sender_sms(bl__sender *s);
/* Drop what the sender prepared on its connection (call before closing it). */
BL_PRIVATE void bl__sender_forget_db(bl__sender *s);

/* ---- added: the e-mail the mock provider delivers (mime.c) ---- */

/* Headers and parts of one e-mail.  All strings UTF-8; NULL = empty. */
typedef struct {
	int64_t message_id; /* Message-ID <msg-ID@libbilling.invalid>, boundary */
	int attempt;
	int64_t date;       /* unix seconds; Date: in +0900 (Asia/Seoul) */
	const char *from_name, *from_addr;
	const char *to_name, *to_addr; /* to_addr: a validated address */
	const char *subject, *text, *html;
	const char *msgid_domain; /* NULL: libbilling.invalid */
	const char *reply_to;     /* NULL: no Reply-To */
	const char *unsub_url, *unsub_mailto; /* NULL: no List-Unsubscribe */
} bl__mime_msg;

/* An RFC 5322 / MIME message (multipart/alternative, text/plain + text/html,
 * UTF-8, base64, RFC 2047 headers folded to 76 columns, CRLF line ends),
 * appended to `out`.  Deterministic: the same input gives the same bytes. */
BL_PRIVATE int bl__mime_build(const bl__mime_msg *m, bl_strbuf *out);

/* ---- Maildir helpers (maildir.c) ---- */
/* gethostname() for Maildir names: '/' and ':' escaped, ≤ 64 characters. */
BL_PRIVATE void bl__maildir_host(char *out, size_t cap);
BL_PRIVATE int bl__mkdir_p(const char *path);
/* Write `data` to `path` (a new file, fsync'ed). */
BL_PRIVATE int bl__maildir_write_tmp(const char *path, const bl_strbuf *data);

/* ---- the outgoing identity of e-mails (mailsig.c) ---- */
typedef struct {
	bl__mail_keys keys;
	bool keys_ok; /* BILLING_DATA_KEY set: VERP and unsubscribe links */
	char *from_name, *from_addr, *reply_to, *domain, *unsub_url;
} bl__mail_ident;
BL_PRIVATE int bl__mail_ident_init(bl__mail_ident *id, const bl_config *cfg);
BL_PRIVATE void bl__mail_ident_clear(bl__mail_ident *id);
/* The message of `req` to `to` (validated) with its headers: Message-ID
 * in our domain, Date, From/Reply-To, List-Unsubscribe on NOTICEs; and its
 * envelope sender (VERP when the keys are there, else the From address). */
BL_PRIVATE int bl__mail_compose(const bl__mail_ident *id, const bl__send_req *req, const char *to,
				bl_strbuf *out, char *env_from, size_t cap);

/* ---- for the providers of sender.c (sender_smtp.c) ---- */
/* An accepted send: the ledger row now, or at the batch's flush. */
BL_PRIVATE int bl__sender_accept(bl__sender *s, MYSQL *db, const bl__send_req *req, const char *masked,
				 int64_t bytes, bl__send_res *res);
BL_PRIVATE int bl__sender_accept_kind(bl__sender *s, MYSQL *db, const bl__send_req *req, const char *kind,
				      const char *masked, int64_t bytes, bool now, bl__send_res *res);
/* An SMS through the gateways (sender_sms.c): `to` validated, `masked` its masked form. */
BL_PRIVATE int bl__sender_sms_gateway(bl__sender *s, bl__sms *sms, MYSQL *db, const bl__send_req *req,
				      const char *to, const char *masked, bl__send_res *res);
BL_PRIVATE int bl__smtp_send_email(bl__smtp *smtp, const bl__mail_ident *id, bl__sender *s, MYSQL *db,
				   const bl__send_req *req, const char *to, const char *masked,
				   bl__send_res *res);

#endif
