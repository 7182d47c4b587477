/*
 * Message reads: bl_message objects (with their attempts and the
 * provider's ledger row) filled from the rows, and the JSON of
 * bl_message_get / bl_message_search made from them.  The search's SQL is
 * message.c's (it shares the filter with count and retry).
 */
#include "record_private.h"
#include "message_read_private.h"

struct bl_message_attempt {
	bl__rec rec;
	int attempt_no;
	char *channel, *status, *error, *worker, *provider, *request_id, *result, *result_code;
	char *started_at, *finished_at;
};

struct bl_delivery {
	bl__rec rec;
	char *kind, *destination_masked;
	int bytes, attempt_no, duplicate_requests;
	char *provider, *request_id, *result, *result_code, *accepted_at;
};

struct bl_message {
	bl__rec rec;
	int64_t id, user_id, statement_id, reservation_id;
	char *template_code;
	int template_version;
	char *channel, *kind;
	int bytes;
	char *purpose, *status;
	int attempts;
	char *last_error;
	int64_t fallback_of;
	char *requested_at, *processed_at, *next_attempt_at, *user_name;
	/* not columns: bl_message_lookup only */
	bool detail;
	struct bl_message_attempt *log;
	size_t nlog;
	struct bl_delivery *delivery; /* NULL: none */
};

struct bl_message_array {
	struct bl_message *v;
	size_t n;
};

#define MF(m, k) BL__FIELD(struct bl_message, m, k)
static const bl__field MSG_FIELDS[] = {
	MF(id, BL__F_I64), MF(user_id, BL__F_I64), MF(statement_id, BL__F_I64),
	MF(reservation_id, BL__F_I64), MF(template_code, BL__F_STR), MF(template_version, BL__F_INT),
	MF(channel, BL__F_STR), MF(kind, BL__F_STR), MF(bytes, BL__F_INT), MF(purpose, BL__F_STR),
	MF(status, BL__F_STR), MF(attempts, BL__F_INT), MF(last_error, BL__F_STR),
	MF(fallback_of, BL__F_I64), MF(requested_at, BL__F_STR), MF(processed_at, BL__F_STR),
	MF(next_attempt_at, BL__F_STR), MF(user_name, BL__F_STR),
};
static const bl__shape MSG_SHAPE = BL__SHAPE(MSG_FIELDS);

#define AF(m, k) BL__FIELD(struct bl_message_attempt, m, k)
static const bl__field ATT_FIELDS[] = {
	AF(attempt_no, BL__F_INT), AF(channel, BL__F_STR), AF(status, BL__F_STR),
	AF(error, BL__F_STR), AF(worker, BL__F_STR), AF(provider, BL__F_STR),
	AF(request_id, BL__F_STR), AF(result, BL__F_STR), AF(result_code, BL__F_STR),
	AF(started_at, BL__F_STR), AF(finished_at, BL__F_STR),
};
static const bl__shape ATT_SHAPE = BL__SHAPE(ATT_FIELDS);

#define DF(m, k) BL__FIELD(struct bl_delivery, m, k)
static const bl__field DLV_FIELDS[] = {
	DF(kind, BL__F_STR), DF(destination_masked, BL__F_STR), DF(bytes, BL__F_INT),
	DF(attempt_no, BL__F_INT), DF(duplicate_requests, BL__F_INT), DF(provider, BL__F_STR),
	DF(request_id, BL__F_STR), DF(result, BL__F_STR), DF(result_code, BL__F_STR),
	DF(accepted_at, BL__F_STR),
};
static const bl__shape DLV_SHAPE = BL__SHAPE(DLV_FIELDS);

static void message_clear(struct bl_message *m)
{
	bl__recs_free(m->log, m->nlog, &ATT_SHAPE, sizeof *m->log);
	bl__recs_free(m->delivery, m->delivery ? 1 : 0, &DLV_SHAPE, sizeof *m->delivery);
	bl__rec_clear(m, &MSG_SHAPE);
}

void bl_message_free(bl_message *m)
{
	if (!m)
		return;
	message_clear(m);
	free(m);
}

void bl_message_array_free(bl_message_array *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		message_clear(&a->v[i]);
	free(a->v);
	free(a);
}

int bl__message_recs(MYSQL *db, const char *sql, const bl__param *ps, unsigned n, bl_message_array **out)
{
	struct bl_message_array *a = calloc(1, sizeof *a);
	if (!a)
		return bl__fail(BL_ENOMEM, "out of memory");
	int rc = db ? bl__db_recs(db, sql, ps, n, &MSG_SHAPE, sizeof *a->v, (void **)&a->v, &a->n) : BL_OK;
	if (rc) {
		free(a);
		return rc;
	}
	*out = a;
	return BL_OK;
}

int bl_message_lookup(bl_ctx *ctx, int64_t message_id, bl_message **out)
{
	if (out)
		*out = NULL;
	if (!ctx || !out)
		return bl__fail(BL_EINVAL, "bl_message_lookup: NULL argument");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	struct bl_message *m = NULL;
	size_t n = 0;
	bl__param p[] = { BP_I64(message_id) };
	int rc = bl__db_recs(db,
			     "SELECT " BL__MSG_COLUMNS " FROM messages m JOIN message_templates t ON "
			     "t.id = m.template_id WHERE m.id = ?",
			     p, 1, &MSG_SHAPE, sizeof *m, (void **)&m, &n);
	if (rc)
		return rc;
	if (n == 0) {
		free(m);
		return bl__fail(BL_ENOTFOUND, "message #%lld does not exist", (long long)message_id);
	}
	m->detail = true;
	rc = bl__db_recs(db,
			 "SELECT attempt_no, channel, status, error, worker, provider, request_id, result, result_code, "
			 "DATE_FORMAT(started_at, '%Y-%m-%d %H:%i:%s.%f') AS started_at, "
			 "DATE_FORMAT(finished_at, '%Y-%m-%d %H:%i:%s.%f') AS finished_at "
			 "FROM message_attempts WHERE message_id = ? ORDER BY attempt_no",
			 p, 1, &ATT_SHAPE, sizeof *m->log, (void **)&m->log, &m->nlog);
	size_t nd = 0;
	if (rc == BL_OK)
		rc = bl__db_recs(db,
				 "SELECT kind, destination_masked, bytes, attempt_no, duplicate_requests, provider, request_id, "
				 "result, result_code, "
				 "DATE_FORMAT(accepted_at, '%Y-%m-%d %H:%i:%s') AS accepted_at "
				 "FROM message_ledger WHERE message_id = ?",
				 p, 1, &DLV_SHAPE, sizeof *m->delivery, (void **)&m->delivery, &nd);
	if (rc == BL_OK && nd == 0) {
		free(m->delivery);
		m->delivery = NULL;
	}
	/* message_id is the ledger's key: at most one row */
	for (size_t i = 1; i < nd; i++)
		bl__rec_clear(&m->delivery[i], &DLV_SHAPE);
	if (rc) {
		bl_message_free(m);
		return rc;
	}
	*out = m;
	return BL_OK;
}

static json_t *message_json(const struct bl_message *m)
{
	json_t *o = bl__rec_json(m, &MSG_SHAPE, NULL, 0);
	if (!o || !m->detail)
		return o;
	json_t *log = json_array();
	for (size_t i = 0; log && i < m->nlog; i++)
		if (json_array_append_new(log, bl__rec_json(&m->log[i], &ATT_SHAPE, NULL, 0))) {
			json_decref(log);
			log = NULL;
		}
	json_t *d = m->delivery ? bl__rec_json(m->delivery, &DLV_SHAPE, NULL, 0) : json_null();
	if (!log || !d || json_object_set_new(o, "attempt_log", log) || json_object_set_new(o, "delivery", d)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *message_json_any(const void *rec) { return message_json(rec); }

int bl_message_to_json(const bl_message *m, char **json)
{
	if (!m || !json)
		return bl__fail(BL_EINVAL, "bl_message_to_json: NULL argument");
	json_t *o = message_json(m);
	int rc = bl__json_out(o, json);
	json_decref(o);
	return rc;
}

int bl_message_array_to_json(const bl_message_array *a, char **json)
{
	if (!a || !json)
		return bl__fail(BL_EINVAL, "bl_message_array_to_json: NULL argument");
	return bl__recs_json_out(a->v, a->n, sizeof *a->v, message_json_any, json);
}

int bl_message_get(bl_ctx *ctx, int64_t message_id, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_message_get: NULL argument");
	bl_message *m = NULL;
	int rc = bl_message_lookup(ctx, message_id, &m);
	if (rc == BL_OK)
		rc = bl_message_to_json(m, json);
	bl_message_free(m);
	return rc;
}

int bl_message_search(bl_ctx *ctx, const bl_message_filter *f, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_message_search: NULL argument");
	bl_message_array *a = NULL;
	int rc = bl_message_find(ctx, f, &a);
	if (rc == BL_OK)
		rc = bl_message_array_to_json(a, json);
	bl_message_array_free(a);
	return rc;
}

size_t bl_message_array_count(const bl_message_array *a) { return a ? a->n : 0; }

const bl_message *bl_message_array_at(const bl_message_array *a, size_t i)
{
	return a && i < a->n ? &a->v[i] : NULL;
}

/* ---- accessors: NULL-safe, 0 / NULL for a NULL object or a NULL value ---- */

#define GET(obj, type, name, zero) \
	type bl_##obj##_##name(const bl_##obj *o) { return o ? o->name : zero; }

GET(message, int64_t, id, 0)
GET(message, int64_t, user_id, 0)
GET(message, int64_t, statement_id, 0)
GET(message, int64_t, reservation_id, 0)
GET(message, const char *, template_code, NULL)
GET(message, int, template_version, 0)
GET(message, const char *, channel, NULL)
const char *bl_message_kind_name(const bl_message *o) { return o ? o->kind : NULL; }
GET(message, int, bytes, 0)
GET(message, const char *, purpose, NULL)
GET(message, const char *, status, NULL)
GET(message, int, attempts, 0)
GET(message, const char *, last_error, NULL)
GET(message, int64_t, fallback_of, 0)
GET(message, const char *, requested_at, NULL)
GET(message, const char *, processed_at, NULL)
GET(message, const char *, next_attempt_at, NULL)
GET(message, const char *, user_name, NULL)

size_t bl_message_attempt_log_count(const bl_message *m) { return m ? m->nlog : 0; }

const bl_message_attempt *bl_message_attempt_log_at(const bl_message *m, size_t i)
{
	return m && i < m->nlog ? &m->log[i] : NULL;
}

const bl_delivery *bl_message_delivery(const bl_message *m) { return m ? m->delivery : NULL; }

GET(message_attempt, int, attempt_no, 0)
GET(message_attempt, const char *, channel, NULL)
GET(message_attempt, const char *, status, NULL)
GET(message_attempt, const char *, error, NULL)
GET(message_attempt, const char *, worker, NULL)
GET(message_attempt, const char *, provider, NULL)
GET(message_attempt, const char *, request_id, NULL)
GET(message_attempt, const char *, result, NULL)
GET(message_attempt, const char *, result_code, NULL)
GET(message_attempt, const char *, started_at, NULL)
GET(message_attempt, const char *, finished_at, NULL)

#define GET_D(type, name, zero) \
	type bl_delivery_##name(const bl_delivery *o) { return o ? o->name : zero; }
GET_D(const char *, kind, NULL)
GET_D(const char *, destination_masked, NULL)
GET_D(int, bytes, 0)
GET_D(int, attempt_no, 0)
GET_D(int, duplicate_requests, 0)
GET_D(const char *, provider, NULL)
GET_D(const char *, request_id, NULL)
GET_D(const char *, result, NULL)
GET_D(const char *, result_code, NULL)
GET_D(const char *, accepted_at, NULL)
