/*
 * DSN ingestion (RFC 3464; docs/email.md).  Each file of <maildir>/new is
 * read once: the VERP address it was sent to (Delivered-To, X-Original-To or
 * To) names the message; the message/delivery-status part gives Action and
 * Status.  5.x.x on a message the relay had accepted (SUCCESS) → BOUNCED and
 * the address suppressed (HARD_BOUNCE); 4.x.x or "delayed" → noted (SOFT);
 * a message already final otherwise → IGNORED; anything unparsable, not a
 * DSN, forged or unknown → REJECTED with the reason.  Every file gets one
 * email_bounces row (its name is unique) and is moved to cur/.
 */
#include <dirent.h>
#include <errno.h>
#include <strings.h>
#include <sys/stat.h>
#include "context_private.h"
#include "db.h"
#include "email_private.h"

#define DSN_MAX (1 << 20)

typedef struct {
	const char *outcome; /* HARD SOFT IGNORED REJECTED */
	int64_t message_id;
	char status[16];
	char reason[200];
	char rcpt[256];
} dsn;

/* Value of header `name` in the header block [p, end) (first line only,
 * continuation lines appended), into out. */
static bool header(const char *p, const char *end, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	for (const char *l = p; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		const char *le = nl ? nl : end;
		if (le == l || (le == l + 1 && *l == '\r'))
			return false; /* end of the headers */
		if ((size_t)(le - l) > n && !strncasecmp(l, name, n) && l[n] == ':') {
			const char *v = l + n + 1;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			size_t k = 0;
			for (const char *c = v; c < le && k + 1 < cap; c++)
				if (*c != '\r')
					out[k++] = *c;
			out[k] = '\0';
			return true;
		}
		l = nl ? nl + 1 : end;
	}
	return false;
}

static const char *find_ci(const char *hay, const char *end, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *p = hay; p + n <= end; p++)
		if (!strncasecmp(p, needle, n))
			return p;
	return NULL;
}

static void address_of(const char *v, char *out, size_t cap)
{
	const char *lt = strchr(v, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt)
		snprintf(out, cap, "%.*s", (int)(gt - lt - 1), lt + 1);
	else
		snprintf(out, cap, "%s", v);
	for (char *c = out; *c; c++)
		if (*c == ' ' || *c == ',' || *c == '\t') {
			*c = '\0';
			break;
		}
}

static void parse(const bl__mail_keys *k, const char *buf, size_t len, dsn *d)
{
	const char *end = buf + len;
	char v[512], addr[512];
	d->outcome = "REJECTED";
	if (memchr(buf, '\0', len)) {
		snprintf(d->reason, sizeof d->reason, "not text (NUL bytes)");
		return;
	}
	if (!header(buf, end, "Content-Type", v, sizeof v) || !strcasestr(v, "multipart/report") ||
	    !strcasestr(v, "delivery-status")) {
		/* the parameter may be on a continuation line */
		const char *hend = strstr(buf, "\n\n");
		const char *hend2 = strstr(buf, "\r\n\r\n");
		const char *he = hend2 && (!hend || hend2 < hend) ? hend2 : hend ? hend : end;
		if (!find_ci(buf, he, "multipart/report") || !find_ci(buf, he, "report-type=delivery-status")) {
			snprintf(d->reason, sizeof d->reason, "not a DSN (no multipart/report; report-type=delivery-status)");
			return;
		}
	}
	if (!header(buf, end, "Delivered-To", v, sizeof v) && !header(buf, end, "X-Original-To", v, sizeof v) &&
	    !header(buf, end, "To", v, sizeof v)) {
		snprintf(d->reason, sizeof d->reason, "no recipient header (Delivered-To, X-Original-To, To)");
		return;
	}
	address_of(v, addr, sizeof addr);
	int rc = bl__verp_parse(k, addr, &d->message_id);
	if (rc) {
		d->message_id = 0;
		snprintf(d->reason, sizeof d->reason, "%s", bl_error_last());
		return;
	}
	const char *ds = find_ci(buf, end, "message/delivery-status");
	const char *body = ds ? strstr(ds, "\n") : NULL;
	if (!body) {
		snprintf(d->reason, sizeof d->reason, "no message/delivery-status part");
		return;
	}
	/* per-recipient fields: the first Action with a Status */
	char action[32] = "";
	const char *a = find_ci(body, end, "\nAction:");
	const char *s = find_ci(body, end, "\nStatus:");
	const char *r = find_ci(body, end, "\nFinal-Recipient:");
	if (a)
		sscanf(a + 8, " %31[A-Za-z]", action);
	if (s)
		sscanf(s + 8, " %15[0-9.]", d->status);
	if (r) {
		const char *semi = memchr(r, ';', (size_t)(end - r) < 300 ? (size_t)(end - r) : 300);
		if (semi)
			sscanf(semi + 1, " %255[^\r\n ]", d->rcpt);
	}
	if (!s || !d->status[0] || (d->status[0] != '2' && d->status[0] != '4' && d->status[0] != '5') ||
	    d->status[1] != '.') {
		snprintf(d->reason, sizeof d->reason, "no valid Status field in the delivery-status part");
		return;
	}
	if (d->status[0] == '5' && strcasecmp(action, "failed") == 0)
		d->outcome = "HARD";
	else if (d->status[0] == '4' || strcasecmp(action, "delayed") == 0)
		d->outcome = "SOFT";
	else
		d->outcome = "IGNORED", snprintf(d->reason, sizeof d->reason, "Action %s, Status %s: not a failure",
						 action, d->status);
}

/* Apply a parsed DSN in one transaction with its email_bounces row.
 * *fresh false when this file was recorded before. */
static int apply(MYSQL *db, const char *file, dsn *d, bool *fresh, bool *later)
{
	*later = false;
	int rc = bl__db_begin(db);
	if (rc)
		return rc;
	if (d->message_id) {
		char st[16] = "";
		bl__param p = BP_I64(d->message_id);
		int64_t code = 0;
		bool found = false;
		rc = bl__db_i64(db, "SELECT status + 0 FROM messages WHERE id = ? FOR UPDATE", &p, 1, &code, &found);
		static const char *const ST[] = { "", "WAITING", "PROCESSING", "SUCCESS", "FAILED", "EXCEEDED",
						  "DEAD", "BOUNCED", "SUPPRESSED" };
		if (rc == BL_OK && !found) {
			d->outcome = "REJECTED";
			snprintf(d->reason, sizeof d->reason, "unknown message %lld", (long long)d->message_id);
		} else if (rc == BL_OK) {
			snprintf(st, sizeof st, "%s", code >= 1 && code <= 8 ? ST[code] : "?");
			if (!strcmp(d->outcome, "HARD") && !strcmp(st, "PROCESSING")) {
				/* accepted by the relay, its SUCCESS not yet recorded: next pass */
				*later = true;
				bl__db_rollback(db);
				return BL_OK;
			}
			if (!strcmp(d->outcome, "HARD") && strcmp(st, "SUCCESS") != 0) {
				d->outcome = "IGNORED";
				snprintf(d->reason, sizeof d->reason, "message %lld is already %s", (long long)d->message_id, st);
			}
		}
	}
	bl__param b[] = { BP_STR(file), d->message_id ? BP_I64(d->message_id) : BP_NULL, BP_STR(d->outcome),
			  d->status[0] ? BP_STR(d->status) : BP_NULL, d->reason[0] ? BP_STR(d->reason) : BP_NULL };
	uint64_t n = 0;
	if (rc == BL_OK)
		rc = bl__db_exec(db, "INSERT IGNORE INTO email_bounces (file, message_id, outcome, status, reason) "
				     "VALUES (LEFT(?,255),?,?,?,LEFT(?,255))", b, 5, &n, NULL);
	*fresh = n == 1;
	if (rc == BL_OK && *fresh && !strcmp(d->outcome, "HARD")) {
		char err[120];
		snprintf(err, sizeof err, "bounced after acceptance: DSN %s", d->status);
		bl__param m[] = { BP_STR(err), BP_I64(d->message_id) };
		rc = bl__db_exec(db, "UPDATE messages SET status = 'BOUNCED', last_error = ? WHERE id = ? AND "
				     "status = 'SUCCESS'", m, 2, NULL, NULL);
		char masked[200] = "";
		char *mk = NULL;
		if (d->rcpt[0] && bl_pii_mask(BL_PII_EMAIL, d->rcpt, &mk) == BL_OK)
			snprintf(masked, sizeof masked, "%s", mk);
		free(mk);
		char detail[64];
		snprintf(detail, sizeof detail, "DSN %s", d->status);
		bl__param s[] = { BP_STR(masked), BP_STR(detail), BP_I64(d->message_id) };
		if (rc == BL_OK)
			rc = bl__db_exec(db, "INSERT IGNORE INTO email_suppressions (address_hash, address_masked, reason, "
					     "detail, message_id, created_by) SELECT u.email_bidx, ?, 'HARD_BOUNCE', ?, m.id, "
					     "'dsn' FROM messages m JOIN users u ON u.id = m.user_id WHERE m.id = ?",
					 s, 3, NULL, NULL);
	}
	if (rc == BL_OK)
		rc = bl__db_commit(db);
	if (rc)
		bl__db_rollback(db);
	return rc;
}

int bl_bounces_ingest(bl_ctx *ctx, const char *maildir, bl_bounce_stats *stats)
{
	if (!ctx || !maildir || !*maildir)
		return bl__fail(BL_EINVAL, "bl_bounces_ingest: ctx and maildir are required");
	bl_bounce_stats st = { 0 };
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__mail_keys k;
	int rc = bl__mail_keys_derive(bl_ctx_config(ctx), &k);
	if (rc)
		return rc;
	char dir[4096], cur[4096];
	snprintf(dir, sizeof dir, "%s/new", maildir);
	snprintf(cur, sizeof cur, "%s/cur", maildir);
	DIR *d = opendir(dir);
	if (!d) {
		memset(&k, 0, sizeof k);
		return bl__fail(BL_EIO, "bounces: cannot open %s: %s", dir, strerror(errno));
	}
	mkdir(cur, 0700);
	struct dirent *e;
	char *buf = malloc(DSN_MAX + 1);
	if (!buf)
		rc = bl__fail(BL_ENOMEM, "out of memory");
	while (rc == BL_OK && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[8192], to[8192];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		snprintf(to, sizeof to, "%s/%s%s", cur, e->d_name, strstr(e->d_name, ":2,") ? "" : ":2,S");
		FILE *f = fopen(path, "rb");
		if (!f)
			continue; /* taken by another reader */
		size_t n = fread(buf, 1, DSN_MAX + 1, f);
		fclose(f);
		buf[n > DSN_MAX ? DSN_MAX : n] = '\0';
		dsn x = { .outcome = "REJECTED" };
		if (n > DSN_MAX)
			snprintf(x.reason, sizeof x.reason, "larger than %d bytes", DSN_MAX);
		else
			parse(&k, buf, n, &x);
		bool fresh = false, later = false;
		rc = apply(db, e->d_name, &x, &fresh, &later);
		if (rc)
			break;
		if (later)
			continue;
		if (rename(path, to) != 0) {
			rc = bl__fail(BL_EIO, "bounces: cannot move %s to cur/: %s", e->d_name, strerror(errno));
			break;
		}
		if (!fresh)
			continue;
		st.files++;
		if (!strcmp(x.outcome, "HARD"))
			st.hard++;
		else if (!strcmp(x.outcome, "SOFT"))
			st.soft++;
		else if (!strcmp(x.outcome, "IGNORED"))
			st.ignored++;
		else
			st.rejected++;
	}
	closedir(d);
	free(buf);
	memset(&k, 0, sizeof k);
	if (stats)
		*stats = st;
	return rc;
}
