/*
 * The mock e-mail and SMS providers (docs/senders.md).
 *
 * A send waits the configured latency, then the outcome is decided from a
 * BLAKE2b hash of (seed, channel, message id, attempt) alone, so a seed
 * gives the same outcomes whatever the thread scheduling:
 *
 *   roll = hash % 1000;  roll < PERMANENT‰            → permanent failure
 *                        roll < PERMANENT‰+TRANSIENT‰ → transient failure
 *                        otherwise                    → accepted
 *
 * Malformed destinations always fail permanently.  An accepted send is
 * recorded in message_ledger keyed by message id (the idempotency key): a
 * second accept of the same message is only counted (BL_SEND_DUPLICATE).
 * An accepted e-mail is also delivered into a Maildir: tmp/ file first
 * (written, fsync'ed), then the ledger row, then rename(2) into new/.
 *
 * A bl__sender is used by one thread at a time (one per worker thread);
 * there is no global mutable state.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "sender_private.h"

#define LEDGER_WORKER_MAX 128 /* message_ledger.worker VARCHAR(128) */
#define LEDGER_DEST_MAX 200   /* message_ledger.destination_masked VARCHAR(200) */

enum { CH_EMAIL = 0, CH_SMS = 1 };

/* An e-mail provider (BILLING_EMAIL_PROVIDER): called with a validated,
 * trimmed address and its masked form; sets res (BL_OK unless the library
 * side failed).  SMS always goes to the mock SMS provider. */
typedef struct {
	const char *name;
	int (*send_email)(bl__sender *s, MYSQL *db, const bl__send_req *req, const char *to,
			  const char *masked, bl__send_res *res);
} email_provider;

struct bl__sender {
	const email_provider *email;
	bl__smtp *smtp;       /* provider smtp */
	bl__sms *sms;         /* SMS gateways (NULL: the mock SMS provider) */
	bl__mail_ident ident; /* From, domain, keys */
	uint64_t seed;
	int64_t latency_ms[2];
	int transient[2], permanent[2]; /* permille */
	char *maildir;                  /* NULL: deliver no files */
	bool maildir_ready;
	char *worker;
	char host[72]; /* for Maildir names: '/' and ':' escaped, ≤ 64 characters */
	uint64_t seq;   /* deliveries by this sender (unique names) */
	bl__stmt_cache ledger; /* the ledger upsert, prepared once per connection */
	/* batch mode (bl__sender_batch_begin/flush): accepts wait for one upsert */
	bool batching;
	struct pending *pend;
	size_t npend, cappend;
};

/* An accept of batch mode, recorded in the ledger by bl__sender_batch_flush. */
struct pending {
	int64_t message_id;
	int attempt;
	bool email;
	char kind[6];
	char *masked;
	int64_t bytes;
	char *rel, *tmp, *nw; /* e-mail file: ledger name, tmp/ path, new/ path */
	bl__send_res *res;
};

static void pending_free(struct pending *p);
static int send_email(bl__sender *s, MYSQL *db, const bl__send_req *req, const char *to,
		      const char *masked, bl__send_res *res);
static int smtp_email(bl__sender *s, MYSQL *db, const bl__send_req *req, const char *to,
		      const char *masked, bl__send_res *res);
static const email_provider MOCK_EMAIL = { "mock", send_email };
static const email_provider SMTP_EMAIL = { "smtp", smtp_email };

/* ---- construction ---- */

int bl__sender_new(bl__sender **out, const bl_config *cfg, const char *worker)
{
	if (!out || !cfg)
		return bl__fail(BL_EINVAL, "bl__sender_new: NULL argument");
	if (sodium_init() < 0)
		return bl__fail(BL_ECRYPTO, "libsodium could not be initialised");
	bl__sender *s = calloc(1, sizeof *s);
	if (!s)
		return bl__fail(BL_ENOMEM, "out of memory");
	s->seed = (uint64_t)bl__config_int(cfg, "BILLING_MOCK_SEED");
	s->latency_ms[CH_EMAIL] = bl__config_int(cfg, "BILLING_MOCK_EMAIL_LATENCY_MS");
	s->latency_ms[CH_SMS] = bl__config_int(cfg, "BILLING_MOCK_SMS_LATENCY_MS");
	s->transient[CH_EMAIL] = (int)bl__config_int(cfg, "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE");
	s->permanent[CH_EMAIL] = (int)bl__config_int(cfg, "BILLING_MOCK_EMAIL_PERMANENT_PERMILLE");
	s->transient[CH_SMS] = (int)bl__config_int(cfg, "BILLING_MOCK_SMS_TRANSIENT_PERMILLE");
	s->permanent[CH_SMS] = (int)bl__config_int(cfg, "BILLING_MOCK_SMS_PERMANENT_PERMILLE");
	const char *md = bl_config_get(cfg, "BILLING_MAILDIR");
	if (md && *md) {
		size_t n = strlen(md);
		while (n > 1 && md[n - 1] == '/')
			n--;
		s->maildir = strndup(md, n);
	}
	/* the ledger column holds 128 characters: cut at a character boundary */
	const char *w = worker ? worker : "";
	size_t wn = strlen(w);
	if (wn > LEDGER_WORKER_MAX) {
		wn = LEDGER_WORKER_MAX;
		while (wn > 0 && ((unsigned char)w[wn] & 0xC0) == 0x80)
			wn--;
	}
	s->worker = strndup(w, wn);
	if ((md && *md && !s->maildir) || !s->worker) {
		bl__sender_free(s);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	bl__maildir_host(s->host, sizeof s->host);
	int rc = bl__mail_ident_init(&s->ident, cfg);
	const char *prov = bl_config_get(cfg, "BILLING_EMAIL_PROVIDER");
	if (rc == BL_OK && !strcmp(prov, "mock")) {
		s->email = &MOCK_EMAIL;
	} else if (rc == BL_OK && !strcmp(prov, "smtp")) {
		s->email = &SMTP_EMAIL;
		if (!s->ident.keys_ok)
			rc = bl__fail(BL_ECONFIG, "BILLING_EMAIL_PROVIDER=smtp needs BILLING_DATA_KEY "
						  "(VERP bounce addresses are signed with it)");
		else
			rc = bl__smtp_new(&s->smtp, cfg);
	} else if (rc == BL_OK) {
		rc = bl__fail(BL_ECONFIG, "BILLING_EMAIL_PROVIDER: '%.32s' is not mock or smtp", prov);
	}
	if (rc == BL_OK)
		rc = bl__sms_new(&s->sms, cfg, NULL);
	if (rc) {
		bl__sender_free(s);
		return rc;
	}
	*out = s;
	return BL_OK;
}

void bl__sender_free(bl__sender *s)
{
	if (!s)
		return;
	bl__stmt_cache_clear(&s->ledger);
	for (size_t i = 0; i < s->npend; i++)
		pending_free(&s->pend[i]);
	free(s->pend);
	free(s->maildir);
	free(s->worker);
	bl__smtp_free(s->smtp);
	bl__sms_free(s->sms);
	bl__mail_ident_clear(&s->ident);
	free(s);
}

void bl__sender_use_sms_shared(bl__sender *s, bl__sms_shared *shared)
{
	if (s)
		bl__sms_use_shared(s->sms, shared);
}

bl__sms *bl__sender_sms(bl__sender *s)
{
	return s ? s->sms : NULL;
}

void bl__sender_forget_db(bl__sender *s)
{
	if (s)
		bl__stmt_cache_clear(&s->ledger);
}

/* ---- destinations ---- */

static bool email_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* local@domain.tld: dot-atom local part, LDH labels, a dot in the domain,
 * ≤ 254 characters.  No spaces or control characters (no header injection). */
static bool email_valid(const char *a)
{
	size_t n = strlen(a);
	const char *at = strchr(a, '@');
	if (n == 0 || n > 254 || !at || at == a || strchr(at + 1, '@') || at - a > 64)
		return false;
	for (const char *p = a; p < at; p++) {
		if (*p == '.') {
			if (p == a || p + 1 == at || p[1] == '.')
				return false;
		} else if (!email_atext((unsigned char)*p)) {
			return false;
		}
	}
	const char *d = at + 1;
	if (!strchr(d, '.'))
		return false;
	size_t label = 0;
	for (const char *p = d;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-')
				return false;
			if (*p == '\0')
				break;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || (*p == '-' && label > 0)) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

/* A Korean mobile number: 010 + 8 digits, or 011/016/017/018/019 + 7-8
 * digits; '-' and ' ' are allowed between digits. */
static bool phone_valid(const char *p)
{
	char d[16];
	size_t n = 0;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n + 1 >= sizeof d)
				return false;
			d[n++] = *p;
		} else if (*p != '-' && *p != ' ') {
			return false;
		}
	}
	d[n] = '\0';
	if (n < 10 || n > 11 || d[0] != '0' || d[1] != '1' || !strchr("016789", d[2]))
		return false;
	return d[2] != '0' || n == 11;
}

/* ---- outcome ---- */

static void sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec t = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

static uint64_t le64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/* BLAKE2b-128 of (tag, seed, channel, message id, attempt), little-endian. */
static void outcome_hash(uint64_t seed, int ch, int64_t message_id, int attempt, uint64_t out[2])
{
	unsigned char in[8 + 8 + 1 + 8 + 4], h[16];
	memcpy(in, "blmock01", 8);
	for (int i = 0; i < 8; i++) {
		in[8 + i] = (unsigned char)(seed >> (8 * i));
		in[17 + i] = (unsigned char)((uint64_t)message_id >> (8 * i));
	}
	in[16] = (unsigned char)ch;
	for (int i = 0; i < 4; i++)
		in[25 + i] = (unsigned char)((uint32_t)attempt >> (8 * i));
	crypto_generichash(h, sizeof h, in, sizeof in, NULL, 0);
	out[0] = le64(h);
	out[1] = le64(h + 8);
}

static const char *const EMAIL_PERMANENT[] = {
	"550 5.1.1 mailbox unavailable: no such user",
	"550 5.7.1 recipient unsubscribed from billing mail",
	"552 5.2.2 mailbox disabled",
};
static const char *const EMAIL_TRANSIENT[] = {
	"421 4.7.0 try again later",
	"451 4.4.2 timeout waiting for the remote server",
	"452 4.3.1 insufficient system storage, throttled",
};
static const char *const SMS_PERMANENT[] = {
	"invalid number: not in service",
	"unsubscribed: the subscriber refuses messages (수신거부)",
	"blocked: spam-blocked number",
};
static const char *const SMS_TRANSIENT[] = {
	"429 throttled: too many requests",
	"504 gateway timeout",
	"503 carrier network busy",
};
#define PICK(arr, r) ((arr)[(r) % (sizeof(arr) / sizeof((arr)[0]))])

static void set_result(bl__send_res *res, bl__send_status st, const char *fmt, ...) BL_PRINTF(3, 4);
static void set_result(bl__send_res *res, bl__send_status st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof res->error, fmt, ap);
	va_end(ap);
	res->status = st;
}

/* ---- Maildir ---- */

static int maildir_prepare(bl__sender *s)
{
	if (s->maildir_ready)
		return BL_OK;
	static const char *const subs[] = { "tmp", "new", "cur" };
	for (size_t i = 0; i < 3; i++) {
		char path[PATH_MAX];
		if (snprintf(path, sizeof path, "%s/%s", s->maildir, subs[i]) >= (int)sizeof path)
			return bl__fail(BL_EIO, "BILLING_MAILDIR: path '%s' is too long", s->maildir);
		int rc = bl__mkdir_p(path);
		if (rc)
			return rc;
	}
	s->maildir_ready = true;
	return BL_OK;
}

/* ---- the ledger ---- */

static const char LEDGER_SQL[] =
	"INSERT INTO message_ledger (message_id, channel, kind, destination_masked, bytes, "
	"attempt_no, worker, maildir_file, provider, request_id) VALUES (?,?,?,?,?,?,?,?,?,?) "
	"ON DUPLICATE KEY UPDATE duplicate_requests = duplicate_requests + 1";

/* Insert or count a duplicate; *dup tells which. */
static int ledger_accept(bl__sender *s, MYSQL *db, const bl__send_req *req, const char *kind,
			 const char *masked, int64_t bytes, const char *maildir_file, bool *dup,
			 const bl__send_res *res)
{
	bl__param ps[10] = {
		BP_I64(req->message_id),
		BP_STR(req->channel == BL_CHANNEL_EMAIL ? "EMAIL" : "SMS"),
		BP_STR(kind),
		BP_STR(masked),
		BP_I64(bytes),
		BP_I64(req->attempt),
		BP_STR(s->worker),
		maildir_file ? BP_STR(maildir_file) : BP_NULL,
		res->provider[0] ? BP_STR(res->provider) : BP_NULL,
		res->provider[0] ? BP_STR(res->request_id) : BP_NULL,
	};
	uint64_t affected = 0;
	int rc = bl__stmt_cache_exec(&s->ledger, db, LEDGER_SQL, ps, 10, &affected);
	if (rc)
		return bl__fail_wrap(rc, "message ledger: message %lld", (long long)req->message_id);
	if (affected != 1 && affected != 2)
		return bl__fail(BL_EDB, "message ledger: message %lld: %llu rows affected, expected 1 "
					"or 2 [SQL: %.80s]", (long long)req->message_id,
				(unsigned long long)affected, LEDGER_SQL);
	*dup = affected == 2;
	return BL_OK;
}

struct file_row {
	char *file;
};

static int file_cb(void *p, char **vals, unsigned long *lens, unsigned nc)
{
	(void)lens;
	struct file_row *r = p;
	if (nc >= 1 && vals[0] && !r->file)
		r->file = bl__strdup(vals[0]);
	return BL_OK;
}

/*
 * A duplicate of an e-mail: when an earlier accept stopped between the
 * ledger row and the rename (crash), its file is still tmp/<name>; the
 * repeated send finishes that delivery.  Best effort: errors are ignored.
 */
static void maildir_finish_interrupted(bl__sender *s, MYSQL *db, int64_t message_id)
{
	struct file_row r = { NULL };
	bl__param p = BP_I64(message_id);
	if (bl__db_rows(db, "SELECT maildir_file FROM message_ledger WHERE message_id = ?", &p, 1,
			file_cb, &r) != BL_OK || !r.file || strncmp(r.file, "new/", 4) != 0 ||
	    strchr(r.file + 4, '/')) {
		free(r.file);
		return;
	}
	char nw[PATH_MAX], tmp[PATH_MAX];
	struct stat st;
	if (snprintf(nw, sizeof nw, "%s/%s", s->maildir, r.file) < (int)sizeof nw &&
	    snprintf(tmp, sizeof tmp, "%s/tmp/%s", s->maildir, r.file + 4) < (int)sizeof tmp &&
	    stat(nw, &st) != 0 && errno == ENOENT && stat(tmp, &st) == 0)
		(void)rename(tmp, nw);
	free(r.file);
}

/* ---- batch mode ---- */

static void pending_free(struct pending *p)
{
	free(p->masked);
	free(p->rel);
	free(p->tmp);
	free(p->nw);
}

static int queue_accept(bl__sender *s, const bl__send_req *req, const char *kind, const char *masked,
			int64_t bytes, const char *rel, const char *tmp, const char *nw, bl__send_res *res)
{
	if (s->npend == s->cappend) {
		size_t nc = s->cappend ? s->cappend * 2 : 256;
		struct pending *np = realloc(s->pend, nc * sizeof *np);
		if (!np) {
			if (tmp)
				unlink(tmp);
			return bl__fail(BL_ENOMEM, "out of memory");
		}
		s->pend = np;
		s->cappend = nc;
	}
	struct pending *p = &s->pend[s->npend];
	memset(p, 0, sizeof *p);
	p->message_id = req->message_id;
	p->attempt = req->attempt;
	p->email = !strcmp(kind, "EMAIL");
	snprintf(p->kind, sizeof p->kind, "%s", kind);
	p->bytes = bytes;
	p->masked = bl__strdup(masked);
	p->rel = rel ? bl__strdup(rel) : NULL;
	p->tmp = tmp ? bl__strdup(tmp) : NULL;
	p->nw = nw ? bl__strdup(nw) : NULL;
	p->res = res;
	if (!p->masked || (rel && (!p->rel || !p->tmp || !p->nw))) {
		pending_free(p);
		if (tmp)
			unlink(tmp);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	s->npend++;
	return BL_OK;
}

void bl__sender_batch_begin(bl__sender *s)
{
	s->batching = true;
	s->npend = 0;
}

struct id_set {
	int64_t *v;
	size_t n;
};

static int id_cb(void *p, char **vals, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	struct id_set *ids = p;
	ids->v[ids->n++] = atoll(vals[0]);
	return BL_OK;
}

static bool in_set(const struct id_set *ids, int64_t id)
{
	for (size_t i = 0; i < ids->n; i++)
		if (ids->v[i] == id)
			return true;
	return false;
}

/* "<head>?,?,…)" for n ids, with the ids as parameters. */
static char *id_list_sql(const char *head, const struct pending *pend, size_t n, bl__param *ps)
{
	for (size_t i = 0; i < n; i++)
		ps[i] = BP_I64(pend[i].message_id);
	return bl__sql_in(head, n, ")");
}

int bl__sender_batch_flush(bl__sender *s, MYSQL *db)
{
	s->batching = false;
	size_t n = s->npend;
	s->npend = 0;
	if (n == 0)
		return BL_OK;
	struct pending *pend = s->pend;
	struct id_set dup = { calloc(n, sizeof(int64_t)), 0 };
	bl__param *ps = calloc(n, sizeof *ps);
	char *sql = NULL;
	bl__bulk *b = NULL;
	int rc = dup.v && ps ? BL_OK : bl__fail(BL_ENOMEM, "out of memory");
	/* 1. which were accepted before (retries after a crash): duplicates */
	if (rc == BL_OK && (sql = id_list_sql("SELECT message_id FROM message_ledger WHERE message_id IN (",
					       pend, n, ps)))
		rc = bl__db_rows(db, sql, ps, (unsigned)n, id_cb, &dup);
	free(sql);
	sql = NULL;
	/* 2. one upsert for all (a concurrent duplicate only bumps its counter) */
	if (rc == BL_OK)
		rc = bl__bulk_new(&b, db,
				  "INSERT INTO message_ledger (message_id, channel, kind, destination_masked, "
				  "bytes, attempt_no, worker, maildir_file, provider, request_id) VALUES",
				  10, (unsigned)n, " ON DUPLICATE KEY UPDATE duplicate_requests = duplicate_requests + 1");
	for (size_t i = 0; rc == BL_OK && i < n; i++) {
		struct pending *p = &pend[i];
		const bl__send_res *pr = p->res;
		bl__param row[10] = { BP_I64(p->message_id), BP_STR(p->email ? "EMAIL" : "SMS"), BP_STR(p->kind),
				      BP_STR(p->masked), BP_I64(p->bytes), BP_I64(p->attempt), BP_STR(s->worker),
				      p->rel && !in_set(&dup, p->message_id) ? BP_STR(p->rel) : BP_NULL,
				      pr->provider[0] ? BP_STR(pr->provider) : BP_NULL,
				      pr->provider[0] ? BP_STR(pr->request_id) : BP_NULL };
		rc = bl__bulk_add(b, row);
	}
	if (rc == BL_OK)
		rc = bl__bulk_flush(b);
	bl__bulk_free(b);
	/* 3. outcomes and files */
	for (size_t i = 0; i < n; i++) {
		struct pending *p = &pend[i];
		if (rc) {
			set_result(p->res, BL_SEND_TRANSIENT, "message ledger: %s", bl_error_last());
			if (p->tmp)
				unlink(p->tmp);
		} else if (in_set(&dup, p->message_id)) {
			if (p->tmp)
				unlink(p->tmp);
			if (p->email && s->maildir)
				maildir_finish_interrupted(s, db, p->message_id);
			set_result(p->res, BL_SEND_DUPLICATE, "already accepted (message %lld)",
				   (long long)p->message_id);
		} else if (p->tmp && rename(p->tmp, p->nw) != 0) {
			int e = errno;
			bl__param d[2] = { BP_I64(p->message_id), BP_STR(p->rel) };
			bl__db_exec(db, "DELETE FROM message_ledger WHERE message_id = ? AND maildir_file = ? "
					"AND duplicate_requests = 0", d, 2, NULL, NULL);
			unlink(p->tmp);
			set_result(p->res, BL_SEND_TRANSIENT, "Maildir: cannot move %s: %s", p->tmp, strerror(e));
		}
		pending_free(p);
	}
	free(dup.v);
	free(ps);
	return rc;
}

/* ---- sending ---- */

static int send_email(bl__sender *s, MYSQL *db, const bl__send_req *req, const char *to,
		      const char *masked, bl__send_res *res)
{
	int64_t bytes = (int64_t)req->bytes;
	if (bytes <= 0)
		bytes = (int64_t)(strlen(req->text ? req->text : "") + strlen(req->html ? req->html : ""));
	if (bytes > INT_MAX)
		bytes = INT_MAX;
	if (!s->maildir) {
		if (s->batching)
			return queue_accept(s, req, "EMAIL", masked, bytes, NULL, NULL, NULL, res);
		bool dup = false;
		int rc = ledger_accept(s, db, req, "EMAIL", masked, bytes, NULL, &dup, res);
		if (rc)
			return rc;
		if (dup)
			set_result(res, BL_SEND_DUPLICATE, "already accepted (message %lld)",
				   (long long)req->message_id);
		return BL_OK;
	}

	int rc = maildir_prepare(s);
	if (rc)
		return rc;
	int64_t at_us = req->at_ms ? req->at_ms * 1000 : bl_ctx_now(NULL);
	bl_strbuf mail = { 0 };
	char env_from[320];
	rc = bl__mail_compose(&s->ident, req, to, &mail, env_from, sizeof env_from);
	if (rc) {
		bl__sb_free(&mail);
		return rc;
	}

	/* time.unique.host; unique = M<usec>P<pid>T<tid>Q<seq>_<message id> */
	char name[192], tmp[PATH_MAX], nw[PATH_MAX], rel[200];
	snprintf(name, sizeof name, "%lld.M%06ldP%ldT%ldQ%llu_%lld.%s", (long long)(at_us / 1000000),
		 (long)(at_us % 1000000), (long)getpid(), (long)gettid(), (unsigned long long)++s->seq,
		 (long long)req->message_id, s->host);
	snprintf(rel, sizeof rel, "new/%s", name);
	if (snprintf(tmp, sizeof tmp, "%s/tmp/%s", s->maildir, name) >= (int)sizeof tmp ||
	    snprintf(nw, sizeof nw, "%s/new/%s", s->maildir, name) >= (int)sizeof nw) {
		bl__sb_free(&mail);
		return bl__fail(BL_EIO, "BILLING_MAILDIR: path '%s' is too long", s->maildir);
	}

	/* 1. the file, complete and on disk, where readers do not look */
	rc = bl__maildir_write_tmp(tmp, &mail);
	bl__sb_free(&mail);
	if (rc)
		return rc;
	if (s->batching)
		return queue_accept(s, req, "EMAIL", masked, bytes, rel, tmp, nw, res);
	/* 2. the ledger row naming its final place */
	bool dup = false;
	rc = ledger_accept(s, db, req, "EMAIL", masked, bytes, rel, &dup, res);
	if (rc || dup) {
		unlink(tmp);
		if (rc)
			return rc;
		maildir_finish_interrupted(s, db, req->message_id);
		set_result(res, BL_SEND_DUPLICATE, "already accepted (message %lld)",
			   (long long)req->message_id);
		return BL_OK;
	}
	/* 3. delivery: atomically visible in new/ */
	if (rename(tmp, nw) != 0) {
		int e = errno;
		/* undo the accept so that a retry delivers again */
		bl__param p[2] = { BP_I64(req->message_id), BP_STR(rel) };
		bl__db_exec(db, "DELETE FROM message_ledger WHERE message_id = ? AND maildir_file = ? "
				"AND duplicate_requests = 0", p, 2, NULL, NULL);
		unlink(tmp);
		return bl__fail(BL_EIO, "Maildir: cannot move %s to %s: %s", tmp, nw, strerror(e));
	}
	return BL_OK;
}

static int send_sms(bl__sender *s, MYSQL *db, const bl__send_req *req, const char *masked,
		    bl__send_res *res)
{
	bl_message_kind kind = req->kind;
	if (kind != BL_KIND_SMS && kind != BL_KIND_LMS)
		kind = req->bytes <= BL_SMS_MAX_BYTES ? BL_KIND_SMS : BL_KIND_LMS;
	size_t limit = kind == BL_KIND_SMS ? BL_SMS_MAX_BYTES : BL_LMS_MAX_BYTES;
	if (req->bytes > limit) {
		set_result(res, BL_SEND_PERMANENT, "mock sms: message too long: %zu bytes for %s (max %zu)",
			   req->bytes, kind == BL_KIND_SMS ? "SMS" : "LMS", limit);
		return BL_OK;
	}
	if (s->batching)
		return queue_accept(s, req, kind == BL_KIND_SMS ? "SMS" : "LMS", masked, (int64_t)req->bytes,
				    NULL, NULL, NULL, res);
	bool dup = false;
	int rc = ledger_accept(s, db, req, kind == BL_KIND_SMS ? "SMS" : "LMS", masked,
			       (int64_t)req->bytes, NULL, &dup, res);
	if (rc)
		return rc;
	if (dup)
		set_result(res, BL_SEND_DUPLICATE, "already accepted (message %lld)",
			   (long long)req->message_id);
	return BL_OK;
}

int bl__sender_accept(bl__sender *s, MYSQL *db, const bl__send_req *req, const char *masked, int64_t bytes,
		      bl__send_res *res)
{
	return bl__sender_accept_kind(s, db, req, "EMAIL", masked, bytes, false, res);
}

int bl__sender_accept_kind(bl__sender *s, MYSQL *db, const bl__send_req *req, const char *kind, const char *masked,
			   int64_t bytes, bool now, bl__send_res *res)
{
	res->status = BL_SEND_OK;
	if (s->batching && !now)
		return queue_accept(s, req, kind, masked, bytes, NULL, NULL, NULL, res);
	bool dup = false;
	int rc = ledger_accept(s, db, req, kind, masked, bytes, NULL, &dup, res);
	if (rc == BL_OK && dup)
		set_result(res, BL_SEND_DUPLICATE, "already accepted (message %lld)", (long long)req->message_id);
	return rc;
}

static int smtp_email(bl__sender *s, MYSQL *db, const bl__send_req *req, const char *to, const char *masked,
		      bl__send_res *res)
{
	return bl__smtp_send_email(s->smtp, &s->ident, s, db, req, to, masked, res);
}

/* Copy of `in` without surrounding blanks. */
static char *trimmed(const char *in)
{
	const char *b = in, *e = in + strlen(in);
	while (*b == ' ' || *b == '\t')
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return strndup(b, (size_t)(e - b));
}

int bl__sender_send(bl__sender *s, MYSQL *db, const bl__send_req *req, bl__send_res *res)
{
	if (!s || !db || !req || !res)
		return bl__fail(BL_EINVAL, "bl__sender_send: NULL argument");
	memset(res, 0, sizeof *res);
	res->status = BL_SEND_TRANSIENT;
	if (req->channel != BL_CHANNEL_EMAIL && req->channel != BL_CHANNEL_SMS)
		return bl__fail(BL_EINVAL, "bl__sender_send: message %lld: channel %d is neither EMAIL "
					   "nor SMS", (long long)req->message_id, (int)req->channel);
	if (req->message_id <= 0 || req->attempt < 1)
		return bl__fail(BL_EINVAL, "bl__sender_send: message %lld attempt %d: id and attempt "
					   "must be positive", (long long)req->message_id, req->attempt);
	if ((req->channel == BL_CHANNEL_EMAIL) != (req->kind == BL_KIND_EMAIL) && req->kind != 0)
		return bl__fail(BL_EINVAL, "bl__sender_send: message %lld: kind %d does not fit "
					   "channel %s", (long long)req->message_id, (int)req->kind,
				req->channel == BL_CHANNEL_EMAIL ? "EMAIL" : "SMS");
	const bool email = req->channel == BL_CHANNEL_EMAIL;
	const int ch = email ? CH_EMAIL : CH_SMS;
	const char *who = email ? "mock email" : "mock sms";

	sleep_ms(s->latency_ms[ch]);

	/* a malformed destination is refused whatever the seed */
	_cleanup_free_ char *to = trimmed(req->to ? req->to : "");
	if (!to)
		return bl__fail(BL_ENOMEM, "out of memory");
	if (email ? !email_valid(to) : !phone_valid(to)) {
		if (email)
			set_result(res, BL_SEND_PERMANENT, "%s: 553 5.1.3 invalid recipient address%s", who,
				   *to ? "" : " (empty)");
		else
			set_result(res, BL_SEND_PERMANENT, "%s: invalid number: not a Korean mobile "
				   "number (010…)%s", who, *to ? "" : " (empty)");
		return BL_OK;
	}
	_cleanup_free_ char *masked = NULL;
	if (bl_pii_mask(email ? BL_PII_EMAIL : BL_PII_PHONE, to, &masked) != BL_OK) {
		/* validated above; only out of memory remains */
		return bl__fail_wrap(bl_error_last_code(), "message %lld: masking the destination",
				     (long long)req->message_id);
	}
	if (strlen(masked) > LEDGER_DEST_MAX) {
		set_result(res, BL_SEND_PERMANENT, "%s: invalid recipient: address too long", who);
		return BL_OK;
	}

	/* Idempotency first, as a real provider answers a repeated request
	 * with its first result: a message accepted before (a re-send after
	 * a crash between accept and record) is never given a fresh failure
	 * draw, which could end it DEAD although it was delivered.  The first
	 * attempt cannot have been accepted: no query then. */
	int64_t accepted_before = 0;
	if (req->attempt > 1) {
		bl__param lp[] = { BP_I64(req->message_id) };
		int lrc = bl__db_i64(db, "SELECT COUNT(*) FROM message_ledger WHERE message_id = ?", lp, 1,
				     &accepted_before, NULL);
		if (lrc) {
			set_result(res, BL_SEND_TRANSIENT, "message ledger: %s", bl_error_last());
			return lrc;
		}
	}
	if (email && s->email != &MOCK_EMAIL) {
		if (!accepted_before)
			return s->email->send_email(s, db, req, to, masked, res);
		set_result(res, BL_SEND_DUPLICATE, "already accepted (message %lld)", (long long)req->message_id);
		return BL_OK;
	}
	if (!email && s->sms) {
		if (!accepted_before)
			return bl__sender_sms_gateway(s, s->sms, db, req, to, masked, res);
		set_result(res, BL_SEND_DUPLICATE, "already accepted (message %lld)", (long long)req->message_id);
		return BL_OK;
	}
	uint64_t h[2];
	outcome_hash(s->seed, ch, req->message_id, req->attempt, h);
	uint64_t roll = accepted_before ? UINT64_MAX : h[0] % 1000;
	if (roll < (uint64_t)s->permanent[ch]) {
		set_result(res, BL_SEND_PERMANENT, "%s: %s", who,
			   email ? PICK(EMAIL_PERMANENT, h[1]) : PICK(SMS_PERMANENT, h[1]));
		return BL_OK;
	}
	if (roll < (uint64_t)s->permanent[ch] + (uint64_t)s->transient[ch]) {
		set_result(res, BL_SEND_TRANSIENT, "%s: %s", who,
			   email ? PICK(EMAIL_TRANSIENT, h[1]) : PICK(SMS_TRANSIENT, h[1]));
		return BL_OK;
	}

	res->status = BL_SEND_OK;
	int rc = email ? send_email(s, db, req, to, masked, res) : send_sms(s, db, req, masked, res);
	if (rc) {
		/* the write failed: nothing was accepted; the caller may retry */
		set_result(res, BL_SEND_TRANSIENT, "%s", bl_error_last());
		return rc;
	}
	return BL_OK;
}
