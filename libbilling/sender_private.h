/*
 * The mock EMAIL/SMS providers (sender.c): a documented product feature with
 * configurable latency and failure rates (BILLING_MOCK_*), deterministic for
 * a seed.  Accepted sends are recorded in message_ledger keyed by message id
 * (the provider's idempotency key).
 */
#ifndef BL_SENDER_PRIVATE_H
#define BL_SENDER_PRIVATE_H

#include "db.h"

typedef enum {
	BL_SEND_OK = 0,        /* accepted now */
	BL_SEND_DUPLICATE = 1, /* accepted before: not delivered again */
	BL_SEND_TRANSIENT = 2, /* timeout, throttling: retry later */
	BL_SEND_PERMANENT = 3  /* invalid address, unsubscribed: never retry */
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
} bl__send_req;

typedef struct {
	bl__send_status status;
	char error[256];
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
} bl__mime_msg;

/* An RFC 5322 / MIME message (multipart/alternative, text/plain + text/html,
 * UTF-8, base64, RFC 2047 headers folded to 76 columns, CRLF line ends),
 * appended to `out`.  Deterministic: the same input gives the same bytes. */
BL_PRIVATE int bl__mime_build(const bl__mime_msg *m, bl_strbuf *out);

#endif
