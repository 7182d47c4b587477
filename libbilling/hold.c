/*
 * Holds: what keeps work back now (bl_hold_list), and the expansion and
 * delivery state of one reservation (bl__hold_reservation), so that a
 * disabled template, quiet hours, a stopped run, an SMS gateway's open
 * circuit breaker or Redis being down show on
 * the page of the thing held and on the dashboard, with the way out.
 *
 * Nothing here changes state; every question is one small query, answered
 * by the context's clock (NOW() of its connection is that clock).
 */
#include "reservation_private.h"
#include "counts_private.h"

static json_t *hold_new(const char *kind, const char *subject, const char *reason, const char *way_out)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:n,s:n,s:n}", "kind", kind, "subject", subject, "reason", reason,
			 "way_out", way_out, "messages", "reservations", "until");
}

/* ---- disabled templates that pending work uses ---- */

typedef struct {
	json_t *out;
	int rc;
} collect;

/* Count functions of the count cache (counts_private.h). */

/* {"messages", "reservations"}: the pending work template `code` holds */
static int count_template_pending(MYSQL *db, const char *code, json_t **value)
{
	json_t *rows = NULL;
	bl__param p[] = { BP_STR(code), BP_STR(code), BP_STR(code) };
	/* a month's reservation picks DEFAULT_BILLING_EMAIL or _SMS per subscriber when it expands */
	int rc = bl__db_json(db,
			     "SELECT (SELECT COUNT(*) FROM messages m JOIN message_templates t ON t.id = m.template_id "
			     " WHERE t.code = ? AND m.status IN ('WAITING','PROCESSING','FAILED')) AS messages, "
			     "(SELECT COUNT(*) FROM message_reservations r JOIN message_templates t ON t.id = r.template_id "
			     " WHERE r.status IN ('WAITING','PROCESSING') AND (t.code = ? OR (r.target_month IS NOT NULL "
			     " AND ? IN ('DEFAULT_BILLING_EMAIL','DEFAULT_BILLING_SMS')))) AS reservations",
			     p, 3, &rows);
	if (rc == BL_OK)
		*value = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return rc == BL_OK && !*value ? bl__fail(BL_EDB, "template counts: no row") : rc;
}

/* WAITING messages of "CHANNEL/PURPOSE" not yet published (quiet hours) */
static int count_quiet(MYSQL *db, const char *arg, json_t **value)
{
	char ch[16], pu[16];
	if (sscanf(arg, "%15[A-Z]/%15[A-Z]", ch, pu) != 2)
		return bl__fail(BL_EINVAL, "quiet count: '%s'", arg);
	int64_t n = 0;
	bl__param ps[] = { BP_STR(ch), BP_STR(pu) };
	int rc = bl__db_i64(db,
			    "SELECT COUNT(*) FROM messages WHERE status = 'WAITING' AND channel = ? "
			    "AND purpose = ? AND published_at IS NULL",
			    ps, 2, &n, NULL);
	if (rc == BL_OK)
		*value = json_integer(n);
	return rc;
}

/* due messages not yet published (Redis down) */
static int count_unpublished(MYSQL *db, const char *arg, json_t **value)
{
	(void)arg;
	int64_t n = 0;
	int rc = bl__db_i64(db,
			    "SELECT COUNT(*) FROM messages WHERE published_at IS NULL AND status = 'WAITING' "
			    "AND next_attempt_at <= NOW(3)",
			    NULL, 0, &n, NULL);
	if (rc == BL_OK)
		*value = json_integer(n);
	return rc;
}

/* A count for the dashboard: from the count cache when this process runs
 * one (null until first counted, then with "counted_at"), else now. */
static int dash_count(bl_ctx *ctx, MYSQL *db, bl__count_fn fn, const char *arg, json_t **value, int64_t *as_of)
{
	if (bl__counts_cached(ctx, fn, arg, value, as_of) == BL_OK)
		return BL_OK;
	*as_of = bl__ctx_now_ms(ctx);
	return fn(db, arg, value);
}

static void stamp(bl_ctx *ctx, json_t *h, json_t *v, int64_t as_of)
{
	if (v)
		bl__counts_stamp(ctx, h, as_of);
	else
		json_object_set_new(h, "counted_at", json_null());
}

/* ---- disabled templates that pending work uses ---- */

static int code_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	json_array_append_new(p, json_string(v[0]));
	return BL_OK;
}

static int disabled_templates(bl_ctx *ctx, MYSQL *db, json_t *out)
{
	json_t *codes = json_array(), *c;
	int rc = bl__db_rows(db, "SELECT DISTINCT code FROM message_templates WHERE enabled = 0 ORDER BY code", NULL,
			     0, code_cb, codes);
	size_t i;
	json_array_foreach(codes, i, c) {
		if (rc)
			break;
		const char *code = json_string_value(c);
		json_t *v = NULL;
		int64_t as_of = 0;
		if ((rc = dash_count(ctx, db, count_template_pending, code, &v, &as_of)))
			break;
		json_t *msgs = json_object_get(v, "messages"), *resv = json_object_get(v, "reservations");
		if (v && json_integer_value(msgs) == 0 && json_integer_value(resv) == 0) {
			json_decref(v);
			continue;
		}
		char reason[200], way[300];
		snprintf(reason, sizeof reason, "template '%s' is disabled", code);
		snprintf(way, sizeof way,
			 "enable it (billing-cli template enable %s, or its admin page), or cancel what waits on it",
			 code);
		json_t *h = hold_new("TEMPLATE_DISABLED", code, reason, way);
		if (v) { /* null: not counted yet */
			json_object_set(h, "messages", msgs);
			json_object_set(h, "reservations", resv);
		}
		stamp(ctx, h, v, as_of);
		json_array_append_new(out, h);
		json_decref(v);
	}
	json_decref(codes);
	return rc;
}

/* ---- quiet hours ---- */

static const char *const CHANNELS[] = { "EMAIL", "SMS" };
static const char *const PURPOSES[] = { "BILLING", "NOTICE" };

static int quiet_hours(bl_ctx *ctx, MYSQL *db, int64_t now_ms, json_t *out)
{
	bl__quiet q;
	bl__quiet_load(bl_ctx_config(ctx), &q);
	for (int c = 0; c < 2; c++)
		for (int p = 0; p < 2; p++) {
			int64_t until = bl__quiet_release_ms(&q, CHANNELS[c], PURPOSES[p], now_ms);
			if (until == now_ms)
				continue;
			char key[32];
			snprintf(key, sizeof key, "%s/%s", CHANNELS[c], PURPOSES[p]);
			json_t *n = NULL;
			int64_t as_of = 0;
			int rc = dash_count(ctx, db, count_quiet, key, &n, &as_of);
			if (rc)
				return rc;
			char at[32], reason[200], way[300];
			bl__seoul_datetime(until, at);
			at[19] = '\0'; /* to the second */
			snprintf(reason, sizeof reason, "quiet hours: %s %s messages are not sent until %s KST",
				 PURPOSES[p], CHANNELS[c], at);
			snprintf(way, sizeof way,
				 "they go out by themselves at %s KST (BILLING_QUIET_START/END, BILLING_QUIET_%s_%s)",
				 at, CHANNELS[c], PURPOSES[p]);
			char subject[32];
			snprintf(subject, sizeof subject, "%s/%s", CHANNELS[c], PURPOSES[p]);
			json_t *h = hold_new("QUIET_HOURS", subject, reason, way);
			if (n)
				json_object_set_new(h, "messages", n);
			stamp(ctx, h, n, as_of);
			json_object_set_new(h, "until", json_string(at));
			json_object_set_new(h, "channel", json_string(CHANNELS[c]));
			json_object_set_new(h, "purpose", json_string(PURPOSES[p]));
			json_array_append_new(out, h);
		}
	return BL_OK;
}

/* ---- the newest run of a month STOPPED or FAILED ---- */

static int stopped_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	collect *c = p;
	char subject[48], reason[700], way[200];
	snprintf(subject, sizeof subject, "run #%s", v[0]);
	snprintf(reason, sizeof reason, "batch run #%s of %s is %s%s%s: the month's statements are incomplete", v[0],
		 v[1], v[2], v[3] ? ": " : "", v[3] ? v[3] : "");
	snprintf(way, sizeof way, "resume it (billing-cli batch resume %s, or its admin page)", v[0]);
	json_t *h = hold_new("BATCH_STOPPED", subject, reason, way);
	json_object_set_new(h, "run_id", json_integer(atoll(v[0])));
	json_object_set_new(h, "month", json_string(v[1]));
	json_object_set_new(h, "status", json_string(v[2]));
	json_array_append_new(c->out, h);
	return BL_OK;
}

static int stopped_runs(MYSQL *db, json_t *out)
{
	collect c = { out, BL_OK };
	return bl__db_rows(db,
			   "SELECT b.id, b.target_month, b.status, LEFT(b.fail_reason, 300) FROM batch_runs b "
			   "WHERE b.status IN ('STOPPED','FAILED') AND b.mode <> 'DRY_RUN' AND NOT EXISTS "
			   "(SELECT 1 FROM batch_runs n WHERE n.target_month = b.target_month AND n.id > b.id "
			   " AND n.mode <> 'DRY_RUN') ORDER BY b.id DESC LIMIT 12",
			   NULL, 0, stopped_cb, &c);
}

/* ---- an SMS gateway whose circuit breaker is open ---- */

static int provider_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	collect *c = p;
	char reason[300], way[300];
	snprintf(reason, sizeof reason,
		 "SMS gateway '%s' failed repeatedly: its circuit breaker is %s on %s worker(s) since %s KST; "
		 "SMS go to the next gateway in BILLING_SMS_n order, or wait when there is none",
		 v[0], v[1], v[2], v[3]);
	snprintf(way, sizeof way,
		 "check the gateway (its status page, the worker log); the breaker probes it again by itself "
		 "and closes on the first success");
	json_t *h = hold_new("PROVIDER_OPEN", v[0], reason, way);
	json_object_set_new(h, "state", json_string(v[1]));
	json_object_set_new(h, "since", json_string(v[3]));
	json_array_append_new(c->out, h);
	return BL_OK;
}

/* Breaker states as the workers published them in the last 10 minutes
 * (an older row is of a worker that is gone). */
static int providers_open(MYSQL *db, json_t *out)
{
	collect c = { out, BL_OK };
	return bl__db_rows(db,
			   "SELECT provider, IF(SUM(state = 'OPEN') > 0, 'OPEN', 'HALF_OPEN'), COUNT(*), "
			   "DATE_FORMAT(MIN(updated_at), '%Y-%m-%d %H:%i:%s') FROM sms_provider_state "
			   "WHERE state <> 'CLOSED' AND updated_at > NOW(3) - INTERVAL 10 MINUTE "
			   "GROUP BY provider ORDER BY provider",
			   NULL, 0, provider_cb, &c);
}

/* ---- Redis ---- */

static int redis_down(bl_ctx *ctx, MYSQL *db, json_t *out)
{
	if (bl_ctx_ping_redis(ctx) == BL_OK)
		return BL_OK;
	char reason[400];
	snprintf(reason, sizeof reason, "Redis does not answer (%s): due messages are not published",
		 bl_error_last());
	json_t *h = hold_new("REDIS_DOWN", "redis", reason,
			     "start Redis or fix REDIS_HOST/REDIS_PORT; the worker publishes what waited when it is back");
	json_t *n = NULL;
	int64_t as_of = 0;
	int rc = dash_count(ctx, db, count_unpublished, "", &n, &as_of);
	if (rc == BL_OK && n)
		json_object_set_new(h, "messages", n);
	stamp(ctx, h, n, as_of);
	json_array_append_new(out, h);
	return rc;
}

int bl_hold_list(bl_ctx *ctx, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_hold_list: NULL argument");
	*json = NULL;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	json_t *out = json_array();
	if (!out)
		return bl__fail(BL_ENOMEM, "out of memory");
	int rc = disabled_templates(ctx, db, out);
	if (rc == BL_OK)
		rc = quiet_hours(ctx, db, bl__ctx_now_ms(ctx), out);
	if (rc == BL_OK)
		rc = stopped_runs(db, out);
	if (rc == BL_OK)
		rc = providers_open(db, out);
	if (rc == BL_OK)
		rc = redis_down(ctx, db, out);
	if (rc == BL_OK)
		rc = bl__json_out(out, json);
	json_decref(out);
	return rc;
}

/* ---- one reservation ---- */

static int template_enabled(MYSQL *db, const char *code, bool *enabled)
{
	int64_t en = 1;
	bl__param p[] = { BP_STR(code) };
	int rc = bl__db_i64(db, "SELECT enabled FROM message_templates WHERE code = ? ORDER BY version DESC LIMIT 1",
			    p, 1, &en, NULL);
	*enabled = en != 0;
	return rc;
}

/* Expansion and delivery, told apart (issue 21: "SENT" only means the messages exist). */
int bl__hold_reservation(bl_ctx *ctx, MYSQL *db, json_t *r)
{
	const char *status = json_string_value(json_object_get(r, "status"));
	const char *channel = json_string_value(json_object_get(r, "channel"));
	const char *purpose = json_string_value(json_object_get(r, "purpose"));
	bool month = json_is_string(json_object_get(r, "month"));
	int64_t id = json_integer_value(json_object_get(r, "id")), now_ms = bl__ctx_now_ms(ctx);
	if (!status || !channel || !purpose)
		return BL_OK;
	const char *expansion = !strcmp(status, "WAITING")      ? "SCHEDULED"
				: !strcmp(status, "PROCESSING") ? "EXPANDING"
				: !strcmp(status, "SENT")       ? "DONE"
								: "CANCELED";
	json_object_set_new(r, "expansion", json_string(expansion));

	/* what holds it: a disabled template (it cannot expand) */
	json_t *hold = json_null();
	if (!strcmp(status, "WAITING") || !strcmp(status, "PROCESSING")) {
		const char *codes[2] = { json_string_value(json_object_get(r, "template_code")), NULL };
		if (month) {
			codes[0] = "DEFAULT_BILLING_EMAIL";
			codes[1] = "DEFAULT_BILLING_SMS";
		}
		for (int i = 0; i < 2 && codes[i] && json_is_null(hold); i++) {
			bool en = true;
			int rc = template_enabled(db, codes[i], &en);
			if (rc)
				return rc;
			if (!en) {
				char reason[200];
				snprintf(reason, sizeof reason, "template '%s' is disabled: the reservation cannot expand",
					 codes[i]);
				json_decref(hold);
				hold = json_pack("{s:s,s:s,s:s,s:s}", "kind", "TEMPLATE_DISABLED", "subject", codes[i],
						 "reason", reason, "way_out",
						 "enable the template, or cancel the reservation while it is WAITING");
			}
		}
	}
	json_object_set_new(r, "hold", hold);

	/* quiet hours: when its messages may go out, if later than now (or than its time) */
	bl__quiet q;
	bl__quiet_load(bl_ctx_config(ctx), &q);
	int64_t from = now_ms;
	const char *sched = json_string_value(json_object_get(r, "scheduled_at"));
	int64_t sched_ms = 0;
	if (!strcmp(status, "WAITING") && sched && bl_clock_parse(sched, &sched_ms) == BL_OK) {
		sched_ms /= 1000; /* microseconds → milliseconds */
		if (sched_ms > from)
			from = sched_ms;
	}
	int64_t release = bl__quiet_release_ms(&q, channel, purpose, from);
	if (release != from && strcmp(status, "CANCELED")) {
		char at[32];
		bl__seoul_datetime(release, at);
		at[19] = '\0';
		json_object_set_new(r, "quiet_until", json_string(at));
	} else {
		json_object_set_new(r, "quiet_until", json_null());
	}

	/* delivery: counted from the messages (null when they were not counted) */
	json_t *by = json_object_get(r, "messages");
	json_t *delivery = json_object();
	if (!json_is_object(by)) {
		json_object_set_new(delivery, "state", json_string("UNKNOWN"));
		json_object_set_new(r, "delivery", delivery);
		return BL_OK;
	}
#define N(k) json_integer_value(json_object_get(by, k))
	int64_t pending = N("WAITING") + N("PROCESSING") + N("FAILED"), sent = N("SUCCESS"),
		failed = N("DEAD") + N("EXCEEDED");
#undef N
	int64_t later = 0;
	char first[32] = "";
	json_t *cl = json_object_get(r, "_later"); /* counted with the messages (the count cache) */
	if (pending > 0 && json_is_integer(cl)) {
		later = json_integer_value(cl);
		snprintf(first, sizeof first, "%s", json_string_value(json_object_get(r, "_later_at")) ?: "");
	} else if (pending > 0) {
		bl__param p[] = { BP_I64(id) };
		int rc = bl__db_i64(db,
				    "SELECT COUNT(*) FROM messages FORCE INDEX (ix_messages_reservation) "
				    "WHERE reservation_id = ? AND status = 'WAITING' AND next_attempt_at > NOW(3)",
				    p, 1, &later, NULL);
		if (rc)
			return rc;
		if (later) {
			json_t *rows = NULL;
			rc = bl__db_json(db,
					 "SELECT DATE_FORMAT(MIN(next_attempt_at), '%Y-%m-%d %H:%i:%s') AS at FROM messages "
					 "FORCE INDEX (ix_messages_reservation) WHERE reservation_id = ? "
					 "AND status = 'WAITING' AND next_attempt_at > NOW(3)",
					 p, 1, &rows);
			if (rc)
				return rc;
			snprintf(first, sizeof first, "%s",
				 json_string_value(json_object_get(json_array_get(rows, 0), "at")) ?: "");
			json_decref(rows);
		}
	}
	const char *state = sent + failed + pending == 0 ? "NOT_STARTED"
			    : pending == 0		  ? "DONE"
			    : later == pending		  ? "HELD"
							  : "SENDING";
	json_object_set_new(delivery, "state", json_string(state));
	json_object_set_new(delivery, "pending", json_integer(pending));
	json_object_set_new(delivery, "sent", json_integer(sent));
	json_object_set_new(delivery, "failed", json_integer(failed));
	json_object_set_new(delivery, "held", json_integer(later));
	json_object_set_new(delivery, "next_at", first[0] ? json_string(first) : json_null());
	json_object_set_new(r, "delivery", delivery);
	return BL_OK;
}
