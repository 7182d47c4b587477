/*
 * The SMTP e-mail provider as sender.c calls it: compose the message
 * (headers, VERP envelope sender), hand it to a relay (smtp.c), map the
 * reply onto the retry policy, and record an accept in the ledger like the
 * mock provider does (the ledger keeps the message id as the idempotency
 * key: a retry of a message a relay accepted before is not sent again).
 */
#include <limits.h>
#include "sender_private.h"

int bl__smtp_send_email(bl__smtp *smtp, const bl__mail_ident *id, bl__sender *s, MYSQL *db,
			const bl__send_req *req, const char *to, const char *masked, bl__send_res *res)
{
	bl_strbuf mail = { 0 };
	char env_from[320], reply[200];
	int rc = bl__mail_compose(id, req, to, &mail, env_from, sizeof env_from);
	if (rc) {
		bl__sb_free(&mail);
		return rc;
	}
	bl__smtp_status st = BL_SMTP_TRANSIENT;
	rc = bl__smtp_send(smtp, env_from, to, mail.s, mail.len, &st, reply, sizeof reply);
	int64_t bytes = mail.len > INT_MAX ? INT_MAX : (int64_t)mail.len;
	bl__sb_free(&mail);
	if (rc)
		return rc;
	if (st == BL_SMTP_OK)
		return bl__sender_accept(s, db, req, masked, bytes, res);
	res->status = st == BL_SMTP_PERMANENT ? BL_SEND_PERMANENT : BL_SEND_TRANSIENT;
	/* "550 5.1.1 ...": the mailbox (5.1.x address, 5.2.x mailbox) is refused */
	const char *sp = strchr(reply, ':');
	sp = sp ? sp + 1 : reply;
	while (*sp == ' ')
		sp++;
	if (st == BL_SMTP_PERMANENT && strlen(sp) > 8 && sp[3] == ' ' && sp[4] == '5' && sp[5] == '.' &&
	    (sp[6] == '1' || sp[6] == '2') && sp[7] == '.')
		res->status = BL_SEND_REJECTED;
	snprintf(res->error, sizeof res->error, "%s", reply);
	return BL_OK;
}
