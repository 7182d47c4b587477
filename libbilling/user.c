/* Subscribers: create, blind-index lookup, masked reads, search. */
#include "user_private.h"

int bl_user_opts_init(bl_user_opts *opts, unsigned version)
{
	if (!opts || version != BL_USER_OPTS_VERSION)
		return bl__fail(BL_EINVAL, "bl_user_opts_init: unsupported version %u", version);
	*opts = (bl_user_opts)BL_USER_OPTS_INIT;
	return BL_OK;
}

int bl_user_create(bl_ctx *ctx, const bl_user_opts *o, int64_t *id)
{
	if (!ctx || !o || o->version != BL_USER_OPTS_VERSION)
		return bl__fail(BL_EINVAL, "bl_user_create: bad argument or options version");
	if (!o->name || !*o->name || strlen(o->name) > 100)
		return bl__fail(BL_EINVAL, "name: must be 1-100 characters");
	if (!o->phone || !o->email)
		return bl__fail(BL_EINVAL, "%s: required", !o->phone ? "phone" : "email");
	unsigned char pb[BL_BLIND_INDEX_BYTES], eb[BL_BLIND_INDEX_BYTES];
	_cleanup_free_ unsigned char *pe = NULL, *ee = NULL;
	_cleanup_free_ char *pn = NULL, *en = NULL;
	size_t pl, el;
	int rc;
	if ((rc = bl_pii_normalize(BL_PII_PHONE, o->phone, &pn)) ||
	    (rc = bl_pii_normalize(BL_PII_EMAIL, o->email, &en)) ||
	    (rc = bl_pii_blind_index(ctx, BL_PII_PHONE, pn, pb)) ||
	    (rc = bl_pii_blind_index(ctx, BL_PII_EMAIL, en, eb)) ||
	    (rc = bl_pii_encrypt(ctx, BL_PII_PHONE, pn, &pe, &pl)) ||
	    (rc = bl_pii_encrypt(ctx, BL_PII_EMAIL, en, &ee, &el)))
		return rc;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__param p[] = { BP_STR(o->name), BP_BLOB(pe, pl), BP_BLOB(pb, sizeof pb), BP_BLOB(ee, el),
			  BP_BLOB(eb, sizeof eb),
			  BP_STR(o->preferred_channel == BL_CHANNEL_SMS ? "SMS" : "EMAIL"),
			  BP_I64(o->consent_email), BP_I64(o->consent_sms) };
	uint64_t newid = 0;
	if ((rc = bl__db_begin(db)))
		return rc;
	rc = bl__db_exec(db,
			 "INSERT INTO users (name, phone_enc, phone_bidx, email_enc, email_bidx, "
			 "preferred_channel, consent_email, consent_sms) VALUES (?,?,?,?,?,?,?,?)",
			 p, 8, NULL, &newid);
	if (rc == BL_OK) /* USER_ALL's member count, in the same transaction */
		rc = bl__group_count_users(db, 1);
	if (rc == BL_OK)
		rc = bl__db_commit(db);
	if (rc)
		bl__db_rollback(db); /* keeps the error */
	/* the message holds the SQL text too (which names both columns): match the key */
	if (rc == BL_ECONFLICT && strstr(bl_error_last(), "Duplicate entry"))
		return bl__fail(BL_ECONFLICT, "a subscriber with this %s already exists",
				strstr(bl_error_last(), "uk_users_email") ? "e-mail" : "phone");
	if (rc == BL_OK && id)
		*id = (int64_t)newid;
	return rc;
}

static int find_by(bl_ctx *ctx, bl_pii_kind kind, const char *value, int64_t *id)
{
	if (!ctx || !value || !id)
		return bl__fail(BL_EINVAL, "user lookup: NULL argument");
	unsigned char b[BL_BLIND_INDEX_BYTES];
	int rc = bl_pii_blind_index(ctx, kind, value, b);
	if (rc)
		return rc;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__param p[] = { BP_BLOB(b, sizeof b) };
	bool found = false;
	rc = bl__db_i64(db,
			kind == BL_PII_PHONE ? "SELECT id FROM users WHERE phone_bidx = ?"
					     : "SELECT id FROM users WHERE email_bidx = ?",
			p, 1, id, &found);
	if (rc == BL_OK && !found) {
		_cleanup_free_ char *masked = NULL;
		bl_pii_mask(kind, value, &masked);
		return bl__fail(BL_ENOTFOUND, "no subscriber with %s %s",
				kind == BL_PII_PHONE ? "phone" : "e-mail", masked ? masked : "?");
	}
	return rc;
}

int bl_user_find_by_phone(bl_ctx *ctx, const char *phone, int64_t *id)
{
	return find_by(ctx, BL_PII_PHONE, phone, id);
}

int bl_user_find_by_email(bl_ctx *ctx, const char *email, int64_t *id)
{
	return find_by(ctx, BL_PII_EMAIL, email, id);
}

struct get_state {
	bl_ctx *ctx;
	bool reveal;
	json_t *obj;
};

static int pii_field(struct get_state *s, bl_pii_kind kind, const char *key, const char *enc,
		     unsigned long len)
{
	_cleanup_free_ char *plain = NULL, *masked = NULL;
	int rc = bl_pii_decrypt(s->ctx, kind, (const unsigned char *)enc, len, &plain);
	if (rc)
		return bl__fail_wrap(rc, "user %lld", /* the message names the field already */
				     (long long)json_integer_value(json_object_get(s->obj, "id")));
	if (s->reveal)
		json_object_set_new(s->obj, key, json_string(plain));
	else if ((rc = bl_pii_mask(kind, plain, &masked)) == BL_OK)
		json_object_set_new(s->obj, key, json_string(masked));
	return rc;
}

static int get_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)nc;
	struct get_state *s = p;
	s->obj = json_pack("{s:I,s:s,s:s,s:b,s:b,s:s}", "id", (json_int_t)atoll(v[0]), "name", v[1],
			   "preferred_channel", v[4], "consent_email", atoi(v[5]) != 0, "consent_sms",
			   atoi(v[6]) != 0, "created_at", v[7]);
	if (!s->obj)
		return bl__fail(BL_ENOMEM, "out of memory");
	int rc = pii_field(s, BL_PII_PHONE, "phone", v[2], lens[2]);
	if (rc == BL_OK)
		rc = pii_field(s, BL_PII_EMAIL, "email", v[3], lens[3]);
	return rc;
}

int bl_user_get(bl_ctx *ctx, int64_t id, bool reveal, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_user_get: NULL argument");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	struct get_state s = { ctx, reveal, NULL };
	bl__param p[] = { BP_I64(id) };
	int rc = bl__db_rows(db,
			     "SELECT id, name, phone_enc, email_enc, preferred_channel, consent_email, "
			     "consent_sms, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') FROM users "
			     "WHERE id = ?",
			     p, 1, get_cb, &s);
	if (rc == BL_OK && !s.obj)
		rc = bl__fail(BL_ENOTFOUND, "no subscriber with id %lld", (long long)id);
	if (rc == BL_OK)
		rc = bl__json_out(s.obj, json);
	json_decref(s.obj);
	return rc;
}

/* ---- many rows, masked (search, group members) ---- */

struct rows_state {
	struct get_state one;
	json_t *arr;
};

static int rows_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	struct rows_state *s = p;
	s->one.obj = NULL;
	int rc = get_cb(&s->one, v, lens, nc);
	if (rc) {
		json_decref(s->one.obj);
		return rc;
	}
	if (json_array_append_new(s->arr, s->one.obj))
		return bl__fail(BL_ENOMEM, "out of memory");
	return BL_OK;
}

int bl__user_rows_masked(bl_ctx *ctx, MYSQL *db, const char *sql, const bl__param *ps, unsigned n,
			 json_t **out)
{
	struct rows_state s = { { ctx, false, NULL }, json_array() };
	if (!s.arr)
		return bl__fail(BL_ENOMEM, "out of memory");
	int rc = bl__db_rows(db, sql, ps, n, rows_cb, &s);
	if (rc) {
		json_decref(s.arr);
		return rc;
	}
	*out = s.arr;
	return BL_OK;
}

int bl_user_filter_init(bl_user_filter *f, unsigned version)
{
	if (!f || version != BL_USER_FILTER_VERSION)
		return bl__fail(BL_EINVAL, "bl_user_filter_init: unsupported version %u", version);
	*f = (bl_user_filter)BL_USER_FILTER_INIT;
	return BL_OK;
}

/* "abc%_\\" → "abc\\%\\_\\\\%": a LIKE pattern matching the literal prefix. */
static char *like_prefix(const char *s)
{
	size_t n = strlen(s);
	char *o = malloc(2 * n + 2), *w = o;
	if (!o)
		return NULL;
	for (; *s; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			*w++ = '\\';
		*w++ = *s;
	}
	*w++ = '%';
	*w = '\0';
	return o;
}

/* Start of the latest month with charges (and of the month after it). */
static int latest_charge_month(MYSQL *db, char from[32], char to[32], bool *any)
{
	json_t *rows = NULL;
	int rc = bl__db_json(db,
			     "SELECT DATE_FORMAT(MAX(created_at), '%Y-%m') AS m FROM charged_histories",
			     NULL, 0, &rows);
	if (rc)
		return rc;
	const char *m = json_string_value(json_object_get(json_array_get(rows, 0), "m"));
	*any = m != NULL;
	bl__month ym;
	if (m && (rc = bl__month_read(m, &ym)) == BL_OK)
		bl__month_bounds(ym, from, to);
	json_decref(rows);
	return rc;
}

int bl_user_search_as(bl_ctx *ctx, const bl_session *who, const bl_user_filter *f, char **json,
		      int *retry_after_s)
{
	if (retry_after_s)
		*retry_after_s = 0;
	if (!ctx || !who || !f || !json)
		return bl__fail(BL_EINVAL, "bl_user_search_as: NULL argument");
	bool contact = (f->phone && *f->phone) || (f->email && *f->email);
	if (!contact)
		return bl_user_search(ctx, f, json);
	if (who->role != BL_ROLE_ADMIN && who->role != BL_ROLE_OPERATOR)
		return bl__fail(BL_EAUTH, "searching subscribers by phone or e-mail needs OPERATOR or ADMIN "
					  "(%s is %s)", who->username, bl_admin_role_name(who->role));
	const bl_config *cfg = bl_ctx_config(ctx);
	char id[32];
	snprintf(id, sizeof id, "%lld", (long long)who->admin_id);
	int64_t wait = 0;
	int rc = bl__rate_take(ctx, "contact searches", id, bl__config_int(cfg, "BILLING_CONTACT_SEARCH_LIMIT"),
			       bl__config_int(cfg, "BILLING_CONTACT_SEARCH_WINDOW_S"), &wait);
	if (retry_after_s)
		*retry_after_s = (int)wait;
	/* audited whether it finds anyone or not, refused or not: masked */
	char *mp = NULL, *me = NULL;
	if (f->phone && *f->phone && bl_pii_mask(BL_PII_PHONE, f->phone, &mp) != BL_OK)
		mp = bl__strdup("****");
	if (f->email && *f->email && bl_pii_mask(BL_PII_EMAIL, f->email, &me) != BL_OK)
		me = bl__strdup("****");
	json_t *d = json_pack("{s:s?,s:s?,s:b}", "phone", mp, "email", me, "refused", rc != BL_OK);
	char *ds = d ? json_dumps(d, JSON_COMPACT) : NULL;
	int saved = rc;
	char msg[256];
	snprintf(msg, sizeof msg, "%s", bl_error_last());
	int arc = bl_audit_record(ctx, who->username, "user.search", "users", ds);
	free(ds);
	json_decref(d);
	bl_free(mp);
	bl_free(me);
	if (saved)
		return bl__fail(saved, "%s", msg);
	if (arc)
		return arc; /* no audit, no search */
	return bl_user_search(ctx, f, json);
}

int bl_user_search(bl_ctx *ctx, const bl_user_filter *f, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_user_search: NULL argument");
	if (!f || f->version != BL_USER_FILTER_VERSION)
		return bl__fail(BL_EINVAL, "user filter: missing or wrong version (use bl_user_filter_init)");
	if (f->limit < 1 || f->limit > 1000)
		return bl__fail(BL_EINVAL, "limit %d: must be 1-1000", f->limit);
	if (f->after_id < 0)
		return bl__fail(BL_EINVAL, "after_id %lld: must not be negative", (long long)f->after_id);
	if (f->name && strlen(f->name) > 100)
		return bl__fail(BL_EINVAL, "name prefix: at most 100 characters");
	unsigned char pb[BL_BLIND_INDEX_BYTES], eb[BL_BLIND_INDEX_BYTES];
	int rc;
	if (f->phone && (rc = bl_pii_blind_index(ctx, BL_PII_PHONE, f->phone, pb)))
		return rc;
	if (f->email && (rc = bl_pii_blind_index(ctx, BL_PII_EMAIL, f->email, eb)))
		return rc;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();

	bl__param p[8];
	unsigned n = 0;
	bl_strbuf sql = { 0 };
	_cleanup_free_ char *pattern = NULL;
	char from[32], to[32];
	bl__sb_puts(&sql, "SELECT " BL_USER_ROW_COLUMNS " FROM users u WHERE u.id > ?");
	p[n++] = BP_I64(f->after_id);
	if (f->name && *f->name) {
		if (!(pattern = like_prefix(f->name)))
			return bl__fail(BL_ENOMEM, "out of memory");
		bl__sb_puts(&sql, " AND u.name LIKE ?");
		p[n++] = BP_STR(pattern);
	}
	if (f->phone) {
		bl__sb_puts(&sql, " AND u.phone_bidx = ?");
		p[n++] = BP_BLOB(pb, sizeof pb);
	}
	if (f->email) {
		bl__sb_puts(&sql, " AND u.email_bidx = ?");
		p[n++] = BP_BLOB(eb, sizeof eb);
	}
	if (f->plan_code) {
		int64_t service_id = 0;
		bool found = false, any = false;
		bl__param cp[] = { BP_STR(f->plan_code) };
		rc = bl__db_i64(db, "SELECT id FROM services WHERE code = ? AND type = 'PLAN'", cp, 1,
				&service_id, &found);
		if (rc == BL_OK && !found)
			rc = bl__fail(BL_ENOTFOUND, "no PLAN service with code '%s'", f->plan_code);
		if (rc == BL_OK)
			rc = latest_charge_month(db, from, to, &any);
		if (rc) {
			bl__sb_free(&sql);
			return rc;
		}
		if (!any) { /* no charges at all: nobody is on any plan */
			bl__sb_free(&sql);
			return bl__json_out(json_array(), json);
		}
		/* a scalar subquery, looked up for each subscriber in id order until the
		 * page is full: MariaDB turns an EXISTS into a semi-join that first
		 * reads every charge of the table (0.5-0.8 s at 1 M subscribers) */
		bl__sb_puts(&sql, " AND (SELECT 1 FROM charged_histories ch WHERE ch.user_id = u.id "
				  "AND ch.service_id = ? AND ch.created_at >= ? AND ch.created_at < ? LIMIT 1) "
				  "IS NOT NULL");
		p[n++] = BP_I64(service_id);
		p[n++] = BP_STR(from);
		p[n++] = BP_STR(to);
	}
	bl__sb_puts(&sql, " ORDER BY u.id LIMIT ?");
	p[n++] = BP_I64(f->limit);
	if (sql.oom) {
		bl__sb_free(&sql);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	json_t *rows = NULL;
	rc = bl__user_rows_masked(ctx, db, sql.s, p, n, &rows);
	bl__sb_free(&sql);
	if (rc)
		return bl__fail_wrap(rc, "user search");
	rc = bl__json_out(rows, json);
	json_decref(rows);
	return rc;
}
