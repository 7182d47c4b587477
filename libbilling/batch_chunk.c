/*
 * One chunk of a batch run: read the subscribers' charges for the month in
 * one keyset range, apply the statement rules, write statements, lines and
 * failures with multi-row inserts, and record the checkpoint — all inside
 * the caller's transaction.
 */
#include "batch_private.h"

#define CHARGE_SQL                                                                           \
	"SELECT ch.user_id, ch.id, ch.service_id, COALESCE(s.type + 0, 0), ch.charged_price, " \
	"ch.contract_discount_price, ch.bundled_discount_price, ch.premier_discount_price "     \
	"FROM charged_histories ch LEFT JOIN services s ON s.id = ch.service_id "              \
	"WHERE ch.user_id > ? AND ch.user_id <= ? AND ch.created_at >= ? AND ch.created_at < ? " \
	"ORDER BY ch.user_id, ch.id"

typedef struct {
	int64_t user_id;
	bl_charge ch;
} row_t;

struct bl__chunker {
	MYSQL *db;
	bl__chunk_job job;
	char from_ts[32], to_ts[32], due_date[32];
	MYSQL_STMT *charges;
	/* bound parameters/results of `charges` */
	int64_t p_from, p_to;
	unsigned long ts_len;
	int64_t r[8];
	row_t *rows;
	size_t nrows, cap;
	bl_line *lines;
	size_t lines_cap;
	int64_t *skip; /* sorted user ids to skip (existing statements) */
	size_t nskip, skip_cap;
	int64_t *only; /* failed-only: sorted user ids to process */
	size_t nonly, only_cap;
};

int bl__chunker_new(bl__chunker **out, MYSQL *db, const bl__chunk_job *job, int chunk_size)
{
	(void)chunk_size;
	bl__chunker *c = calloc(1, sizeof *c);
	if (!c)
		return bl__fail(BL_ENOMEM, "out of memory");
	c->db = db;
	c->job = *job;
	bl__month_bounds(job->ym, c->from_ts, c->to_ts);
	bl__date due = bl__month_due(job->ym, job->due_day);
	snprintf(c->due_date, sizeof c->due_date, "%04u-%02u-%02u", (unsigned)due.year % 10000u,
		 (unsigned)due.mon % 100u, (unsigned)due.day % 100u);
	c->ts_len = 19;
	c->charges = mysql_stmt_init(db);
	if (!c->charges || mysql_stmt_prepare(c->charges, CHARGE_SQL, strlen(CHARGE_SQL))) {
		int rc = c->charges ? bl__stmt_fail(c->charges, CHARGE_SQL) : bl__db_fail(db, CHARGE_SQL);
		bl__chunker_free(c);
		return rc;
	}
	MYSQL_BIND p[4], r[8];
	memset(p, 0, sizeof p);
	memset(r, 0, sizeof r);
	p[0].buffer_type = p[1].buffer_type = MYSQL_TYPE_LONGLONG;
	p[0].buffer = &c->p_from;
	p[1].buffer = &c->p_to;
	p[2].buffer_type = p[3].buffer_type = MYSQL_TYPE_STRING;
	p[2].buffer = c->from_ts;
	p[3].buffer = c->to_ts;
	p[2].buffer_length = p[3].buffer_length = 19;
	p[2].length = p[3].length = &c->ts_len;
	for (int i = 0; i < 8; i++) {
		r[i].buffer_type = MYSQL_TYPE_LONGLONG;
		r[i].buffer = &c->r[i];
	}
	if (mysql_stmt_bind_param(c->charges, p) || mysql_stmt_bind_result(c->charges, r)) {
		int rc = bl__stmt_fail(c->charges, CHARGE_SQL);
		bl__chunker_free(c);
		return rc;
	}
	*out = c;
	return BL_OK;
}

void bl__chunker_free(bl__chunker *c)
{
	if (!c)
		return;
	if (c->charges)
		mysql_stmt_close(c->charges);
	free(c->rows);
	free(c->lines);
	free(c->skip);
	free(c->only);
	free(c);
}

static int push_id(int64_t **v, size_t *n, size_t *cap, int64_t id)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		int64_t *nv = realloc(*v, nc * sizeof *nv);
		if (!nv)
			return bl__fail(BL_ENOMEM, "out of memory");
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = id;
	return BL_OK;
}

static bool has_id(const int64_t *v, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v[mid] == id)
			return true;
		if (v[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

struct ids_state {
	int64_t **v;
	size_t *n, *cap;
};

static int ids_cb(void *p, char **vals, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	struct ids_state *s = p;
	return push_id(s->v, s->n, s->cap, atoll(vals[0]));
}

static int load_ids(bl__chunker *c, const char *sql, int64_t from, int64_t to, int64_t **v,
		    size_t *n, size_t *cap)
{
	*n = 0;
	struct ids_state s = { v, n, cap };
	bl__param p[] = { BP_STR(c->job.month), BP_I64(from), BP_I64(to) };
	return bl__db_rows(c->db, sql, p, 3, ids_cb, &s);
}

static int load_charges(bl__chunker *c, int64_t from, int64_t to)
{
	c->p_from = from;
	c->p_to = to;
	c->nrows = 0;
	if (mysql_stmt_execute(c->charges))
		return bl__stmt_fail(c->charges, CHARGE_SQL);
	int rc = BL_OK, fr;
	while ((fr = mysql_stmt_fetch(c->charges)) == 0) {
		if (c->nrows == c->cap) {
			size_t nc = c->cap ? c->cap * 2 : 4096;
			row_t *nv = realloc(c->rows, nc * sizeof *nv);
			if (!nv) {
				rc = bl__fail(BL_ENOMEM, "out of memory");
				break;
			}
			c->rows = nv;
			c->cap = nc;
		}
		row_t *r = &c->rows[c->nrows++];
		r->user_id = c->r[0];
		r->ch = (bl_charge){ .charge_id = c->r[1], .service_id = c->r[2],
				     .type = (bl_service_type)c->r[3], .price = c->r[4],
				     .contract = c->r[5], .bundle = c->r[6], .premier = c->r[7] };
	}
	if (rc == BL_OK && fr == 1)
		rc = bl__stmt_fail(c->charges, CHARGE_SQL);
	mysql_stmt_free_result(c->charges);
	return rc;
}

static const char *TYPE_NAMES[] = { "", "PLAN", "VAS", "MCP" };

/* Statement columns in the order of the bulk insert below. */
#define ST_HEAD                                                                             \
	"INSERT INTO statements (user_id, target_month, batch_run_id, usage_amount, "        \
	"discount_amount, net_amount, taxable_amount, vat_amount, total_amount, billed_amount, " \
	"truncated_amount, due_date, line_count) VALUES"
#define ST_REISSUE_TAIL                                                                      \
	" ON DUPLICATE KEY UPDATE version = version + 1, batch_run_id = VALUES(batch_run_id), " \
	"usage_amount = VALUES(usage_amount), discount_amount = VALUES(discount_amount), "    \
	"net_amount = VALUES(net_amount), taxable_amount = VALUES(taxable_amount), "          \
	"vat_amount = VALUES(vat_amount), total_amount = VALUES(total_amount), "              \
	"billed_amount = VALUES(billed_amount), truncated_amount = VALUES(truncated_amount), " \
	"due_date = VALUES(due_date), line_count = VALUES(line_count), issued_at = NOW()"

typedef struct {
	int64_t user_id;
	size_t first, n; /* rows[first .. first+n) */
} ok_user;

struct idmap_state {
	ok_user *users;
	size_t n;
	int64_t *ids; /* statement id per ok user */
};

static int idmap_cb(void *p, char **vals, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	struct idmap_state *s = p;
	int64_t sid = atoll(vals[0]), uid = atoll(vals[1]);
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->users[mid].user_id == uid) {
			s->ids[mid] = sid;
			return BL_OK;
		}
		if (s->users[mid].user_id < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return BL_OK;
}

static int write_failure(bl__bulk *fb, const bl__chunk_job *job, int64_t uid,
			 bl_charge_problem prob, const char *detail)
{
	bl__param p[] = { BP_I64(job->run_id), BP_I64(uid), BP_STR(job->month),
			  BP_STR(bl_charge_problem_name(prob)), BP_STR(detail) };
	return bl__bulk_add(fb, p);
}

static int write_statements(bl__chunker *c, ok_user *ok, size_t nok, const bl_totals *tot,
			    int64_t from, int64_t to)
{
	const bl__chunk_job *job = &c->job;
	bool reissue = job->mode == BL_BATCH_REISSUE;
	bl__bulk *sb = NULL, *lb = NULL;
	int64_t *ids = NULL;
	int rc = bl__bulk_new(&sb, c->db, ST_HEAD, 13, 1000, reissue ? ST_REISSUE_TAIL : "");
	for (size_t i = 0; rc == BL_OK && i < nok; i++) {
		const bl_totals *t = &tot[i];
		bl__param p[] = { BP_I64(ok[i].user_id), BP_STR(job->month), BP_I64(job->run_id),
				  BP_I64(t->usage_amount), BP_I64(t->discount_amount),
				  BP_I64(t->net_amount), BP_I64(t->taxable_amount), BP_I64(t->vat_amount),
				  BP_I64(t->total_amount), BP_I64(t->billed_amount),
				  BP_I64(t->truncated_amount), BP_STR(c->due_date), BP_I64(ok[i].n) };
		rc = bl__bulk_add(sb, p);
	}
	if (rc == BL_OK)
		rc = bl__bulk_flush(sb);
	bl__bulk_free(sb);
	if (rc)
		return rc;
	/* statement ids of this chunk's subscribers */
	ids = calloc(nok ? nok : 1, sizeof *ids);
	if (!ids)
		return bl__fail(BL_ENOMEM, "out of memory");
	struct idmap_state st = { ok, nok, ids };
	bl__param q[] = { BP_STR(job->month), BP_I64(from), BP_I64(to), BP_I64(job->run_id) };
	rc = bl__db_rows(c->db,
			 "SELECT id, user_id FROM statements WHERE target_month = ? AND user_id > ? "
			 "AND user_id <= ? AND batch_run_id = ?",
			 q, 4, idmap_cb, &st);
	if (rc == BL_OK && reissue)
		rc = bl__db_exec(c->db,
				 "DELETE l FROM statement_lines l JOIN statements s ON s.id = l.statement_id "
				 "WHERE s.target_month = ? AND s.user_id > ? AND s.user_id <= ? "
				 "AND s.batch_run_id = ?",
				 q, 4, NULL, NULL);
	if (rc == BL_OK)
		rc = bl__bulk_new(&lb, c->db,
				  "INSERT INTO statement_lines (statement_id, line_no, charge_id, service_id, "
				  "service_type, price, contract_discount, bundle_discount, premier_discount, "
				  "discount, net) VALUES",
				  11, 4000, "");
	for (size_t i = 0; rc == BL_OK && i < nok; i++) {
		if (!ids[i]) {
			rc = bl__fail(BL_EDB, "run %lld: statement of user %lld not found after insert",
				      (long long)job->run_id, (long long)ok[i].user_id);
			break;
		}
		for (size_t k = 0; rc == BL_OK && k < ok[i].n; k++) {
			const bl_charge *ch = &c->rows[ok[i].first + k].ch;
			const bl_line *l = &c->lines[ok[i].first + k];
			bl__param p[] = { BP_I64(ids[i]), BP_I64(k + 1), BP_I64(ch->charge_id),
					  BP_I64(ch->service_id), BP_STR(TYPE_NAMES[ch->type]),
					  BP_I64(ch->price), BP_I64(l->contract), BP_I64(l->bundle),
					  BP_I64(l->premier), BP_I64(l->discount), BP_I64(l->net) };
			rc = bl__bulk_add(lb, p);
		}
	}
	if (rc == BL_OK)
		rc = bl__bulk_flush(lb);
	bl__bulk_free(lb);
	free(ids);
	return rc;
}

int bl__chunk_process(bl__chunker *c, int chunk_no, int64_t from, int64_t to,
		      bl__chunk_counts *cnt)
{
	const bl__chunk_job *job = &c->job;
	memset(cnt, 0, sizeof *cnt);
	int rc = BL_OK;
	c->nskip = c->nonly = 0;
	if (job->mode != BL_BATCH_REISSUE)
		rc = load_ids(c, "SELECT user_id FROM statements WHERE target_month = ? AND user_id > ? "
				 "AND user_id <= ? ORDER BY user_id",
			      from, to, &c->skip, &c->nskip, &c->skip_cap);
	if (rc == BL_OK && job->mode == BL_BATCH_FAILED_ONLY)
		rc = load_ids(c, "SELECT DISTINCT user_id FROM batch_failures WHERE target_month = ? "
				 "AND user_id > ? AND user_id <= ? ORDER BY user_id",
			      from, to, &c->only, &c->nonly, &c->only_cap);
	if (rc == BL_OK)
		rc = load_charges(c, from, to);
	if (rc)
		return rc;
	if (c->lines_cap < c->nrows) {
		bl_line *nl = realloc(c->lines, c->nrows * sizeof *nl);
		if (!nl)
			return bl__fail(BL_ENOMEM, "out of memory");
		c->lines = nl;
		c->lines_cap = c->nrows;
	}
	ok_user *ok = malloc((c->nrows ? c->nrows : 1) * sizeof *ok);
	bl_totals *tot = malloc((c->nrows ? c->nrows : 1) * sizeof *tot);
	bl__bulk *fb = NULL;
	if (!ok || !tot) {
		rc = bl__fail(BL_ENOMEM, "out of memory");
		goto out;
	}
	rc = bl__bulk_new(&fb, c->db,
			  "INSERT INTO batch_failures (run_id, user_id, target_month, reason, detail) VALUES",
			  5, 1000, " ON DUPLICATE KEY UPDATE reason = VALUES(reason), detail = VALUES(detail)");
	size_t nok = 0;
	for (size_t i = 0; rc == BL_OK && i < c->nrows;) {
		int64_t uid = c->rows[i].user_id;
		size_t j = i;
		while (j < c->nrows && c->rows[j].user_id == uid)
			j++;
		size_t first = i;
		i = j;
		if (job->mode == BL_BATCH_FAILED_ONLY && !has_id(c->only, c->nonly, uid))
			continue;
		if (has_id(c->skip, c->nskip, uid)) {
			cnt->skipped++;
			continue;
		}
		bl_charge_problem prob = BL_CHARGE_OK;
		bl_charge *chs = malloc((j - first) * sizeof *chs);
		if (!chs) {
			rc = bl__fail(BL_ENOMEM, "out of memory");
			break;
		}
		for (size_t k = first; k < j; k++)
			chs[k - first] = c->rows[k].ch;
		int crc = bl_statement_compute(chs, j - first, job->month, job->due_day, c->lines + first,
					       &tot[nok], &prob);
		free(chs);
		if (crc == BL_EOVERFLOW)
			prob = BL_CHARGE_INVALID; /* absurd amounts: bill nobody wrongly */
		if (crc == BL_OK) {
			ok[nok++] = (ok_user){ uid, first, j - first };
			cnt->issued++;
			cnt->usage += tot[nok - 1].usage_amount;
			cnt->discount += tot[nok - 1].discount_amount;
			cnt->vat += tot[nok - 1].vat_amount;
			cnt->billed += tot[nok - 1].billed_amount;
		} else if (prob != BL_CHARGE_OK) {
			cnt->failed++;
			if (job->mode != BL_BATCH_DRY_RUN)
				rc = write_failure(fb, job, uid, prob, bl_error_last());
		} else {
			rc = bl__fail_wrap(crc, "user %lld", (long long)uid);
		}
	}
	if (rc == BL_OK && job->mode != BL_BATCH_DRY_RUN) {
		rc = bl__bulk_flush(fb);
		if (rc == BL_OK && nok)
			rc = write_statements(c, ok, nok, tot, from, to);
	}
	if (rc == BL_OK) {
		bl__param p[] = { BP_STR(job->worker), BP_I64(job->run_id), BP_I64(chunk_no) };
		rc = bl__db_exec(c->db,
				 "UPDATE batch_chunks SET status = 'DONE', worker = ?, done_at = NOW(3) "
				 "WHERE run_id = ? AND chunk_no = ? AND status = 'PENDING'",
				 p, 3, NULL, NULL);
	}
	if (rc == BL_OK) {
		bl__param p[] = { BP_I64(cnt->issued + cnt->skipped + cnt->failed), BP_I64(cnt->issued),
				  BP_I64(cnt->skipped), BP_I64(cnt->failed), BP_I64(cnt->usage),
				  BP_I64(cnt->discount), BP_I64(cnt->vat), BP_I64(cnt->billed),
				  BP_I64(job->run_id) };
		rc = bl__db_exec(c->db,
				 "UPDATE batch_runs SET processed_count = processed_count + ?, "
				 "issued_count = issued_count + ?, skipped_count = skipped_count + ?, "
				 "failed_count = failed_count + ?, usage_sum = usage_sum + ?, "
				 "discount_sum = discount_sum + ?, vat_sum = vat_sum + ?, "
				 "billed_sum = billed_sum + ? WHERE id = ?",
				 p, 9, NULL, NULL);
	}
out:
	bl__bulk_free(fb);
	free(ok);
	free(tot);
	return rc;
}
