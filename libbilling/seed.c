/*
 * Seed: write the catalogue, the groups, the missing subscribers and one
 * month of charges.  The values come from seed_data.c; this file loads them.
 *
 * Loading is LOAD DATA LOCAL INFILE streamed straight from the generator
 * through Connector/C's local-infile callbacks (no temporary file), on two
 * connections: subscribers on a thread of their own, charges on the caller's
 * thread, with unique and foreign-key checks off for those sessions.  For
 * 1M subscribers and 3M charges on a fresh database that took ~15 s here,
 * against ~30 s with multi-row prepared INSERTs (bl__bulk): the server, not
 * the generator, is the bottleneck.
 *
 * The month's charges are one transaction, committed only when the
 * subscribers were written too: a failed run leaves the month empty (it can
 * be seeded again).  Subscribers are committed every USERS_PER_TX, or in one
 * transaction when the table is empty (InnoDB then bulk-loads it, building
 * the indexes sorted, ~1.5x faster); a rerun creates the ones still missing.
 */
#include <errmsg.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "db.h"
#include "seed_private.h"
#include "user_private.h"

#define PROGRESS_EVERY 50000
#define USERS_PER_TX 50000
#define MAX_USERS 100000000LL
#define CHUNK_BYTES (256 * 1024) /* generator output per refill */
#define MAX_LINE 1024            /* room for one subscriber or its charges */

int bl_seed_opts_init(bl_seed_opts *opts, unsigned version)
{
	if (!opts || version != BL_SEED_OPTS_VERSION)
		return bl__fail(BL_EINVAL, "bl_seed_opts_init: unsupported version %u", version);
	*opts = (bl_seed_opts)BL_SEED_OPTS_INIT;
	return BL_OK;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void infile_deny(MYSQL *db);

/* A connection of its own for a loader, checks off for the session, its
 * NOW() (column defaults) at the seeding context's time. */
MYSQL *bl__seed_connect(const bl_config *cfg, int64_t now_us)
{
	MYSQL *db = bl__db_connect_ex(cfg, true, true);
	if (db)
		infile_deny(db);
	if (db && (bl__db_query(db, "SET SESSION unique_checks = 0, foreign_key_checks = 0") ||
		   bl__db_set_clock(db, now_us))) {
		mysql_close(db);
		db = NULL;
	}
	return db;
}

/* ---- streaming LOAD DATA LOCAL INFILE ---- */

typedef struct infile_src infile_src;
struct infile_src {
	/* Generator: append lines to buf (CHUNK_BYTES) from len 0, set eof
	 * after the last; BL_OK or an error with its message.  NULL: buf/len
	 * hold all the data. */
	int (*fill)(infile_src *s);
	void *arg;
	char *buf;
	size_t len, pos;
	bool eof;
	int rc;       /* the generator's failure */
	int64_t rows; /* lines produced */
	const char *name; /* the stream's name in the statement: no other is served */
	bool refused;     /* the server asked for another name */
};

/* The seed's connections allow LOCAL INFILE, so a server (or someone in
 * between) could ask them for any file: the handler serves nothing but the
 * generator's stream, by its name, and never a file. */
static int inf_init(void **ptr, const char *name, void *userdata)
{
	infile_src *s = userdata;
	*ptr = s;
	if (!s || !s->name || !name || strcmp(name, s->name)) {
		if (s)
			s->refused = true;
		return 1;
	}
	return 0;
}

static int inf_read(void *p, char *out, unsigned int cap)
{
	infile_src *s = p;
	unsigned int done = 0;
	while (done < cap) {
		if (s->pos == s->len) {
			if (s->eof || !s->fill)
				break;
			s->len = s->pos = 0;
			int rc = s->fill(s);
			if (rc) {
				s->rc = rc;
				return -1;
			}
			continue;
		}
		size_t n = s->len - s->pos;
		if (n > cap - done)
			n = cap - done;
		memcpy(out + done, s->buf + s->pos, n);
		s->pos += n;
		done += (unsigned int)n;
	}
	return (int)done;
}

static void inf_end(void *p) { (void)p; }

static int inf_error(void *p, char *msg, unsigned int len)
{
	infile_src *s = p;
	snprintf(msg, len, "%s", !s || s->refused ? "the server asked for a file that is not the seed's stream: refused"
						 : "the seed generator failed");
	return CR_UNKNOWN_ERROR;
}

/* Between loads: every request for a local file is refused. */
static void infile_deny(MYSQL *db)
{
	mysql_set_local_infile_handler(db, inf_init, inf_read, inf_end, inf_error, NULL);
}

/* The first warning of the last statement as an error. */
static int load_warning(MYSQL *db, unsigned count, const char *what)
{
	unsigned code = 0;
	char msg[512] = "?";
	if (mysql_query(db, "SHOW WARNINGS LIMIT 1") == 0) {
		MYSQL_RES *r = mysql_store_result(db);
		MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
		if (row && row[1] && row[2]) {
			code = (unsigned)strtoul(row[1], NULL, 10);
			snprintf(msg, sizeof msg, "%s", row[2]);
		}
		if (r)
			mysql_free_result(r);
	}
	return bl__fail(code == ER_DUP_ENTRY ? BL_ECONFLICT : BL_EDB, "%s: %u warning(s), first: %s",
			what, count, msg);
}

/*
 * Run a LOAD DATA LOCAL INFILE statement fed by `s`.  Every line must load
 * without a warning; with `ignore`, duplicates are skipped and *loaded
 * tells how many rows went in.
 */
static int load_data(MYSQL *db, infile_src *s, const char *sql, const char *what, bool ignore,
		     uint64_t *loaded)
{
	mysql_set_local_infile_handler(db, inf_init, inf_read, inf_end, inf_error, s);
	int rc = BL_OK;
	if (mysql_real_query(db, sql, strlen(sql))) {
		rc = s->rc ? s->rc : bl__db_fail(db, what);
	} else if (s->rc) {
		rc = s->rc;
	} else if (!ignore && mysql_warning_count(db)) {
		rc = load_warning(db, mysql_warning_count(db), what);
	} else if (!ignore && mysql_affected_rows(db) != (uint64_t)s->rows) {
		rc = bl__fail(BL_EDB, "%s: %llu of %lld rows were loaded", what,
			      (unsigned long long)mysql_affected_rows(db), (long long)s->rows);
	}
	if (rc == BL_OK && loaded)
		*loaded = mysql_affected_rows(db);
	infile_deny(db);
	return rc;
}

/* Fast formatting into the generator's buffer. */
static char *put_i64(char *p, int64_t v)
{
	char tmp[24];
	int n = 0;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	if (v < 0)
		*p++ = '-';
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_str(char *p, const char *str)
{
	size_t n = strlen(str);
	memcpy(p, str, n);
	return p + n;
}

static char *put_hex(char *p, const unsigned char *b, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t k = 0; k < n; k++) {
		*p++ = hx[b[k] >> 4];
		*p++ = hx[b[k] & 15];
	}
	return p;
}

/* ---- subscribers (a thread of their own) ---- */

typedef struct {
	bl_ctx *ctx; /* its keys only: derived before the thread starts */
	const bl_config *cfg;
	uint64_t seed;
	int64_t users;
	const int64_t *existing; /* ids in 1..users that exist, ascending */
	size_t nexisting;
	int64_t group_ids[BL_SEED_NGROUPS];
	int64_t per_tx;          /* subscribers per transaction */
	atomic_llong created;    /* generated so far (progress) */
	atomic_bool stop;        /* set when the charges failed */
	atomic_bool finished;
	int64_t members;         /* committed group members */
	int rc;
	char err[1024];
} user_job;

/* A walk over the ids still to create: next .. end-1, skipping existing. */
typedef struct {
	user_job *j;
	int64_t next, end;
	size_t ex;    /* index of the next existing id */
	int64_t left; /* new subscribers still to take */
} id_walk;

static bool walk_next(id_walk *w, int64_t *id)
{
	while (w->left > 0 && w->next < w->end) {
		int64_t i = w->next++;
		if (w->ex < w->j->nexisting && w->j->existing[w->ex] == i) {
			w->ex++;
			continue;
		}
		w->left--;
		*id = i;
		return true;
	}
	return false;
}

/* Encrypted value and blind index, exactly as bl_user_create stores them. */
static int pii(bl_ctx *ctx, bl_pii_kind kind, const char *value,
	       unsigned char bidx[BL_BLIND_INDEX_BYTES], unsigned char **enc, size_t *len)
{
	_cleanup_free_ char *norm = NULL;
	int rc = bl_pii_normalize(kind, value, &norm);
	if (rc == BL_OK)
		rc = bl_pii_blind_index(ctx, kind, norm, bidx);
	if (rc == BL_OK)
		rc = bl_pii_encrypt(ctx, kind, norm, enc, len);
	return rc;
}

/* One line: id, name, then hex of phone_enc, phone_bidx, email_enc,
 * email_bidx (UNHEX()ed by the statement), channel, consents. */
static int user_line(user_job *j, infile_src *s, int64_t i)
{
	bl__seed_user u;
	bl__seed_user_make(j->seed, i, &u);
	unsigned char pb[BL_BLIND_INDEX_BYTES], eb[BL_BLIND_INDEX_BYTES];
	_cleanup_free_ unsigned char *pe = NULL, *ee = NULL;
	size_t pl = 0, el = 0;
	int rc;
	if ((rc = pii(j->ctx, BL_PII_PHONE, u.phone, pb, &pe, &pl)) ||
	    (rc = pii(j->ctx, BL_PII_EMAIL, u.email, eb, &ee, &el)))
		return bl__fail_wrap(rc, "subscriber %lld", (long long)i);
	char *p = s->buf + s->len;
	p = put_i64(p, i);
	*p++ = '\t';
	p = put_str(p, u.name);
	*p++ = '\t';
	p = put_hex(p, pe, pl);
	*p++ = '\t';
	p = put_hex(p, pb, sizeof pb);
	*p++ = '\t';
	p = put_hex(p, ee, el);
	*p++ = '\t';
	p = put_hex(p, eb, sizeof eb);
	p = put_str(p, u.sms_preferred ? "\tSMS\t" : "\tEMAIL\t");
	*p++ = u.consent_email ? '1' : '0';
	*p++ = '\t';
	*p++ = u.consent_sms ? '1' : '0';
	*p++ = '\n';
	s->len = (size_t)(p - s->buf);
	s->rows++;
	return BL_OK;
}

static int users_fill(infile_src *s)
{
	id_walk *w = s->arg;
	int64_t i;
	if (atomic_load(&w->j->stop))
		return bl__fail(BL_ESTOPPED, "stopped: the charges could not be written");
	while (s->len + MAX_LINE <= CHUNK_BYTES) {
		if (!walk_next(w, &i)) {
			s->eof = true;
			break;
		}
		int rc = user_line(w->j, s, i);
		if (rc)
			return rc;
		atomic_fetch_add(&w->j->created, 1);
	}
	return BL_OK;
}

/* The same subscribers again (no crypto): their group memberships. */
static int members_fill(infile_src *s)
{
	id_walk *w = s->arg;
	int64_t i;
	while (s->len + MAX_LINE <= CHUNK_BYTES) {
		if (!walk_next(w, &i)) {
			s->eof = true;
			break;
		}
		bl__seed_user u;
		bl__seed_user_make(w->j->seed, i, &u);
		char *p = s->buf + s->len;
		for (int g = 0; g < BL_SEED_NGROUPS; g++) {
			if (!(u.profile.groups & (1u << g)))
				continue;
			p = put_i64(p, w->j->group_ids[g]);
			*p++ = '\t';
			p = put_i64(p, i);
			*p++ = '\n';
			s->rows++;
		}
		s->len = (size_t)(p - s->buf);
	}
	return BL_OK;
}

static const char USERS_SQL[] =
	"LOAD DATA LOCAL INFILE 'bl-seed-users' INTO TABLE users CHARACTER SET utf8mb4 "
	"FIELDS TERMINATED BY '\\t' ESCAPED BY '' LINES TERMINATED BY '\\n' "
	"(id, name, @pe, @pb, @ee, @eb, preferred_channel, consent_email, consent_sms) "
	"SET phone_enc = UNHEX(@pe), phone_bidx = UNHEX(@pb), email_enc = UNHEX(@ee), "
	"email_bidx = UNHEX(@eb)";
/* IGNORE: rows left by deleted subscribers whose ids are created again */
static const char MEMBERS_SQL[] =
	"LOAD DATA LOCAL INFILE 'bl-seed-members' IGNORE INTO TABLE user_group_members "
	"FIELDS TERMINATED BY '\\t' ESCAPED BY '' LINES TERMINATED BY '\\n' (group_id, user_id)";

/*
 * Transactions of j->per_tx new subscribers: one LOAD DATA for them, one
 * for their group memberships, COMMIT.  (InnoDB bulk-loads a table that is
 * empty at a transaction's first insert — sorted index builds — but only
 * within that one statement, so a fresh database gets one transaction.)
 */
static int write_users(user_job *j)
{
	MYSQL *db = bl__seed_connect(j->cfg, bl_ctx_now(j->ctx));
	if (!db)
		return bl_error_last_code();
	_cleanup_free_ char *buf = malloc(CHUNK_BYTES);
	int rc = buf ? BL_OK : bl__fail(BL_ENOMEM, "out of memory");
	id_walk w = { .j = j, .next = 1, .end = j->users + 1 };
	while (rc == BL_OK && w.next <= j->users) {
		id_walk start = w;
		w.left = j->per_tx;
		infile_src us = { .name = "bl-seed-users", .fill = users_fill, .arg = &w, .buf = buf };
		if ((rc = bl__db_begin(db)) ||
		    (rc = load_data(db, &us, USERS_SQL, "loading subscribers", false, NULL)))
			break;
		id_walk again = { .j = j, .next = start.next, .end = w.next, .ex = start.ex,
				  .left = INT64_MAX };
		infile_src ms = { .name = "bl-seed-members", .fill = members_fill, .arg = &again, .buf = buf };
		uint64_t members = 0;
		if ((rc = load_data(db, &ms, MEMBERS_SQL, "loading group members", true, &members)) ||
		    (rc = bl__db_commit(db)))
			break;
		j->members += (int64_t)members;
	}
	if (rc) {
		bl__db_rollback(db);
		bl__fail_wrap(rc, "writing subscribers");
	}
	mysql_close(db);
	return rc;
}

static void *user_thread(void *arg)
{
	user_job *j = arg;
	j->rc = write_users(j);
	if (j->rc)
		snprintf(j->err, sizeof j->err, "%s", bl_error_last());
	atomic_store(&j->finished, true);
	return NULL;
}

/* ---- small reads and writes on the context's connection ---- */

static int check_month(MYSQL *db, const char *month, int y, int m)
{
	char from[40], to[40];
	snprintf(from, sizeof from, "%04d-%02d-01 00:00:00", y, m);
	snprintf(to, sizeof to, "%04d-%02d-01 00:00:00", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
	bl__param p[] = { BP_STR(from), BP_STR(to) };
	int64_t n = 0;
	int rc = bl__db_i64(db,
			    "SELECT COUNT(*) FROM charged_histories WHERE created_at >= ? AND created_at < ?",
			    p, 2, &n, NULL);
	if (rc == BL_OK && n > 0)
		rc = bl__fail(BL_ECONFLICT,
			      "month %s already has %lld charge rows: seeding it again would double "
			      "them; nothing was written (choose another month or a fresh database)",
			      month, (long long)n);
	return rc;
}

static int write_catalogue(MYSQL *db)
{
	bl__bulk *b = NULL;
	int rc = bl__bulk_new(&b, db, "INSERT IGNORE INTO services (id, code, name, type, price) VALUES",
			      5, (unsigned)bl__seed_nservices, "");
	for (size_t k = 0; rc == BL_OK && k < bl__seed_nservices; k++) {
		const bl__seed_service *s = &bl__seed_services[k];
		bl__param row[] = { BP_I64(s->id), BP_STR(s->code), BP_STR(s->name), BP_STR(s->type),
				    BP_I64(s->price) };
		rc = bl__bulk_add(b, row);
	}
	if (rc == BL_OK)
		rc = bl__bulk_flush(b);
	bl__bulk_free(b);
	return rc ? bl__fail_wrap(rc, "writing the service catalogue") : BL_OK;
}

static int write_groups(MYSQL *db, int64_t ids[BL_SEED_NGROUPS])
{
	for (int g = 0; g < BL_SEED_NGROUPS; g++) {
		const bl__seed_group *sg = &bl__seed_groups[g];
		bl__param p[] = { BP_STR(sg->code), BP_STR(sg->name), BP_STR(sg->description) };
		int rc = bl__db_exec(db,
				     "INSERT IGNORE INTO user_groups (code, name, description, kind) "
				     "VALUES (?, ?, ?, 'STATIC')",
				     p, 3, NULL, NULL);
		bool found = false;
		if (rc == BL_OK)
			rc = bl__db_i64(db, "SELECT id FROM user_groups WHERE code = ?", p, 1, &ids[g],
					&found);
		if (rc == BL_OK && !found)
			rc = bl__fail(BL_EDB, "group %s vanished after it was created", sg->code);
		if (rc)
			return bl__fail_wrap(rc, "creating group %s", sg->code);
	}
	return BL_OK;
}

typedef struct {
	int64_t *ids;
	size_t n, cap;
} id_list;

static int id_cb(void *p, char **vals, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	id_list *l = p;
	if (l->n == l->cap)
		return bl__fail(BL_ECONFLICT, "subscribers changed while seeding");
	l->ids[l->n++] = strtoll(vals[0], NULL, 10);
	return BL_OK;
}

/* The ids in 1..users that exist already (*count of them; the list only
 * when some but not all exist). */
static int existing_users(MYSQL *db, int64_t users, int64_t *count, id_list *l)
{
	bl__param p[] = { BP_I64(users) };
	int rc = bl__db_i64(db, "SELECT COUNT(*) FROM users WHERE id BETWEEN 1 AND ?", p, 1, count,
			    NULL);
	if (rc || *count == 0 || *count >= users)
		return rc;
	l->cap = (size_t)*count;
	l->ids = malloc(l->cap * sizeof *l->ids);
	if (!l->ids)
		return bl__fail(BL_ENOMEM, "out of memory for %lld subscriber ids", (long long)*count);
	return bl__db_rows(db, "SELECT id FROM users WHERE id BETWEEN 1 AND ? ORDER BY id", p, 1,
			   id_cb, l);
}

/* ---- charges (the caller's thread) ---- */

typedef struct {
	const bl_seed_opts *o;
	int year, mon;
	int64_t total; /* progress total */
	user_job *uj;  /* NULL when no subscriber is created */
	int64_t next;  /* generator position */
	int64_t charges, invalid_users, done_users;
} charge_job;

static void progress(const charge_job *c)
{
	if (!c->o->progress_cb)
		return;
	int64_t created = c->uj ? atomic_load(&c->uj->created) : 0;
	c->o->progress_cb(created + c->done_users, c->total, c->o->progress_payload);
}

static int charges_fill(infile_src *s)
{
	charge_job *c = s->arg;
	bl__seed_charge rows[BL_SEED_MAX_CHARGES];
	while (s->len + MAX_LINE <= CHUNK_BYTES) {
		if (c->next > c->o->users) {
			s->eof = true;
			break;
		}
		int64_t i = c->next++;
		bool invalid = false;
		int n = bl__seed_charges_make(c->o->seed, c->year, c->mon, i,
					      (unsigned)c->o->invalid_permille, rows, &invalid);
		char *p = s->buf + s->len;
		for (int k = 0; k < n; k++) {
			const bl__seed_charge *ch = &rows[k];
			p = put_i64(p, i);
			*p++ = '\t';
			p = put_i64(p, ch->service_id);
			*p++ = '\t';
			p = put_str(p, ch->created_at);
			*p++ = '\t';
			p = put_i64(p, ch->price);
			*p++ = '\t';
			p = put_i64(p, ch->contract);
			*p++ = '\t';
			p = put_i64(p, ch->bundle);
			*p++ = '\t';
			p = put_i64(p, ch->premier);
			*p++ = '\n';
		}
		s->len = (size_t)(p - s->buf);
		s->rows += n;
		c->charges += n;
		c->invalid_users += invalid;
		c->done_users = i;
		if (i % PROGRESS_EVERY == 0)
			progress(c);
	}
	return BL_OK;
}

static const char CHARGES_SQL[] =
	"LOAD DATA LOCAL INFILE 'bl-seed-charges' INTO TABLE charged_histories "
	"FIELDS TERMINATED BY '\\t' ESCAPED BY '' LINES TERMINATED BY '\\n' "
	"(user_id, service_id, created_at, charged_price, contract_discount_price, "
	"bundled_discount_price, premier_discount_price)";

/* All the month's charges in the connection's open transaction. */
static int write_charges(MYSQL *db, charge_job *c)
{
	_cleanup_free_ char *buf = malloc(CHUNK_BYTES);
	if (!buf)
		return bl__fail(BL_ENOMEM, "out of memory");
	c->next = 1;
	infile_src s = { .name = "bl-seed-charges", .fill = charges_fill, .arg = c, .buf = buf };
	int rc = load_data(db, &s, CHARGES_SQL, "loading charges", false, NULL);
	return rc ? bl__fail_wrap(rc, "writing the charges of %s", c->o->month) : BL_OK;
}

/* Wait for the subscriber thread, reporting its progress. */
static void join_users(pthread_t th, charge_job *c)
{
	int64_t last = 0;
	while (!atomic_load(&c->uj->finished)) {
		int64_t now = atomic_load(&c->uj->created);
		if (now / PROGRESS_EVERY != last / PROGRESS_EVERY) {
			progress(c);
			last = now;
		}
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
	pthread_join(th, NULL);
}

/* ---- the run ---- */

static int validate(bl_ctx *ctx, const bl_seed_opts *o, int *y, int *m)
{
	if (!ctx || !o || o->version != BL_SEED_OPTS_VERSION)
		return bl__fail(BL_EINVAL, "bl_seed_run: bad argument or options version");
	int rc = bl_month_parse(o->month, y, m);
	if (rc)
		return rc;
	if (o->users < 1 || o->users > MAX_USERS)
		return bl__fail(BL_EINVAL, "users: %lld is out of range (1 .. 100,000,000)",
				(long long)o->users);
	if (o->invalid_permille < 0 || o->invalid_permille > 1000)
		return bl__fail(BL_EINVAL, "invalid_permille: %d is out of range (0 .. 1000 ‰)",
				o->invalid_permille);
	return BL_OK;
}

static int lock_seed(MYSQL *db)
{
	int64_t got = 0;
	int rc = bl__db_i64(db, "SELECT GET_LOCK(CONCAT('bl_seed:', DATABASE()), 0)", NULL, 0, &got,
			    NULL);
	if (rc == BL_OK && got != 1)
		rc = bl__fail(BL_ECONFLICT, "another seed is running on this database");
	return rc;
}

static void unlock_seed(MYSQL *db)
{
	/* keep the caller's error message */
	const char *sql = "DO RELEASE_LOCK(CONCAT('bl_seed:', DATABASE()))";
	if (mysql_real_query(db, sql, strlen(sql)) == 0) {
		MYSQL_RES *r = mysql_store_result(db);
		if (r)
			mysql_free_result(r);
	}
}

static int seed_locked(bl_ctx *ctx, MYSQL *db, const bl_seed_opts *o, int y, int m,
		       bl_seed_stats *st)
{
	int rc = check_month(db, o->month, y, m);
	/* derive the keys now: the subscriber thread only reads them */
	unsigned char probe[BL_BLIND_INDEX_BYTES];
	if (rc == BL_OK)
		rc = bl_pii_blind_index(ctx, BL_PII_PHONE, "010-0000-0000", probe);
	user_job uj = { .ctx = ctx, .cfg = bl_ctx_config(ctx), .seed = o->seed, .users = o->users };
	if (rc == BL_OK)
		rc = write_catalogue(db);
	if (rc == BL_OK)
		rc = write_groups(db, uj.group_ids);
	int64_t existing = 0;
	id_list ids = { 0 };
	if (rc == BL_OK)
		rc = existing_users(db, o->users, &existing, &ids);
	int64_t any = 0;
	if (rc == BL_OK)
		rc = bl__db_i64(db, "SELECT EXISTS (SELECT 1 FROM users)", NULL, 0, &any, NULL);
	uj.per_tx = any == 0 ? o->users : USERS_PER_TX;
	if (rc) {
		free(ids.ids);
		return rc;
	}
	uj.existing = ids.ids;
	uj.nexisting = ids.n;

	MYSQL *cdb = bl__seed_connect(bl_ctx_config(ctx), bl_ctx_now(ctx));
	if (cdb && bl__db_begin(cdb)) {
		mysql_close(cdb);
		cdb = NULL;
	}
	if (!cdb) {
		free(ids.ids);
		return bl_error_last_code();
	}
	charge_job cj = { .o = o, .year = y, .mon = m, .total = o->users - existing + o->users };
	pthread_t th;
	bool threaded = existing < o->users;
	if (threaded) {
		cj.uj = &uj;
		int e = pthread_create(&th, NULL, user_thread, &uj);
		if (e) {
			threaded = false;
			rc = bl__fail(BL_ERROR, "cannot start the subscriber thread: %s", strerror(e));
		}
	}
	if (rc == BL_OK)
		rc = write_charges(cdb, &cj);
	if (threaded) {
		if (rc)
			atomic_store(&uj.stop, true);
		join_users(th, &cj);
		if (rc == BL_OK && uj.rc)
			rc = bl__fail(uj.rc, "%s", uj.err);
	}
	if (rc == BL_OK)
		rc = bl__db_commit(cdb);
	if (rc)
		bl__db_rollback(cdb);
	mysql_close(cdb);
	free(ids.ids);
	if (rc)
		return rc;
	progress(&cj);

	/* the groups' member counters, after the bulk writes (one count) */
	if ((rc = bl__group_recount(db)))
		return rc;
	st->users_created = o->users - existing;
	st->charges = cj.charges;
	st->invalid_users = cj.invalid_users;
	st->group_members = uj.members;
	if ((rc = bl__db_i64(db, "SELECT COUNT(*) FROM users", NULL, 0, &st->users_total, NULL)))
		return rc;
	return bl__db_i64(db, "SELECT COUNT(*) FROM services", NULL, 0, &st->services, NULL);
}

int bl_seed_run(bl_ctx *ctx, const bl_seed_opts *o, bl_seed_stats *stats)
{
	int y = 0, m = 0;
	int rc = validate(ctx, o, &y, &m);
	if (rc)
		return rc;
	double t0 = now_seconds();
	bl_seed_stats st = { 0 };
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	if ((rc = lock_seed(db)))
		return rc;
	rc = seed_locked(ctx, db, o, y, m, &st);
	unlock_seed(db);
	st.seconds = now_seconds() - t0;
	if (rc == BL_OK && stats)
		*stats = st;
	return rc;
}
