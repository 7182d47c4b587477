/*
 * Quiet hours: a daily window (Asia/Seoul) in which messages of some
 * channel/purpose pairs are not sent — by default NOTICE SMS from 21:00 to
 * 08:00, the Korean rule for advertising messages.
 *
 * Two places apply it, both with an injectable clock:
 *   - creation: reservation expansion sets next_attempt_at of a held message
 *     to the window's end (bl__quiet_release_ms), so it simply is not due;
 *   - the relay: of the rows it is about to publish, held ones that are due
 *     inside the window (manual sends, retries, anything created elsewhere)
 *     are deferred to the window's end instead (bl__quiet_hold_rows).  The
 *     relay decides "due" by the connection's NOW(), so this check uses it
 *     too; the library sets NOW() to its clock (clock.c).
 */
#include <time.h>
#include "reservation_private.h"

#define DAY_MS (86400 * 1000LL)

static int hhmm_s(const char *v, int def)
{
	/* validated by config.c (V_HHMM); the default covers a missing key */
	if (!v || strlen(v) != 5)
		return def;
	return (atoi(v) * 60 + atoi(v + 3)) * 60;
}

static bool flag(const bl_config *cfg, const char *key, bool def)
{
	const char *v = bl_config_get(cfg, key);
	return v ? strcmp(v, "0") != 0 : def;
}

void bl__quiet_load(const bl_config *cfg, bl__quiet *q)
{
	memset(q, 0, sizeof *q);
	q->start_s = hhmm_s(bl_config_get(cfg, "BILLING_QUIET_START"), 21 * 3600);
	q->end_s = hhmm_s(bl_config_get(cfg, "BILLING_QUIET_END"), 8 * 3600);
	q->hold[0][0] = flag(cfg, "BILLING_QUIET_EMAIL_BILLING", false);
	q->hold[0][1] = flag(cfg, "BILLING_QUIET_EMAIL_NOTICE", false);
	q->hold[1][0] = flag(cfg, "BILLING_QUIET_SMS_BILLING", false);
	q->hold[1][1] = flag(cfg, "BILLING_QUIET_SMS_NOTICE", true);
}

static bool any_held(const bl__quiet *q)
{
	return q->start_s != q->end_s && (q->hold[0][0] || q->hold[0][1] || q->hold[1][0] || q->hold[1][1]);
}

bool bl__quiet_holds(const bl__quiet *q, const char *channel, const char *purpose)
{
	if (!channel || !purpose || q->start_s == q->end_s)
		return false;
	return q->hold[!strcmp(channel, "SMS")][!strcmp(purpose, "NOTICE")];
}

/* The end of the window now_ms is in, or 0 when it is outside. */
static int64_t window_end(const bl__quiet *q, int64_t now_ms)
{
	int64_t day = bl__seoul_day_start_ms(now_ms); /* the Seoul midnight before now_ms */
	int64_t t = now_ms - day, s = q->start_s * 1000LL, e = q->end_s * 1000LL, end;
	if (s < e) {
		if (t < s || t >= e)
			return 0;
		end = day + e;
	} else if (t >= s) {
		end = day + DAY_MS + e; /* wraps midnight: ends tomorrow */
	} else if (t < e) {
		end = day + e;
	} else {
		return 0;
	}
	return end;
}

int64_t bl__quiet_release_ms(const bl__quiet *q, const char *channel, const char *purpose, int64_t now_ms)
{
	if (!bl__quiet_holds(q, channel, purpose))
		return now_ms;
	int64_t end = window_end(q, now_ms);
	return end ? end : now_ms;
}

typedef struct {
	int64_t id;
	size_t at;
} id_at;

typedef struct {
	id_at *sorted; /* the rows' ids, sorted, with their positions */
	size_t n;
	bool *held;
	size_t nheld;
} hold_scan;

static int cmp_id(const void *a, const void *b)
{
	int64_t x = ((const id_at *)a)->id, y = ((const id_at *)b)->id;
	return (x > y) - (x < y);
}

static int hold_cb(void *p, char **v, unsigned long *lens, unsigned nc)
{
	(void)lens;
	(void)nc;
	hold_scan *h = p;
	id_at key = { atoll(v[0]), 0 };
	id_at *f = bsearch(&key, h->sorted, h->n, sizeof key, cmp_id);
	if (f && !h->held[f->at]) {
		h->held[f->at] = true;
		h->nheld++;
	}
	return BL_OK;
}

/* "id IN (?,?,...)" for n ids, after `head`, with params from ps[first]. */
static int id_list_sql(bl_strbuf *sql, const char *head, bl__param *ps, size_t first, const int64_t *ids,
		       const bool *only, size_t n, size_t *np)
{
	size_t k = first;
	for (size_t i = 0; i < n; i++)
		if (!only || only[i])
			ps[k++] = BP_I64(ids[i]);
	bl__sb_puts(sql, head);
	bl__sb_placeholders(sql, k - first);
	bl__sb_puts(sql, ")");
	*np = k;
	return sql->oom ? bl__fail(BL_ENOMEM, "out of memory") : BL_OK;
}

int bl__quiet_hold_rows(const bl_config *cfg, MYSQL *db, const int64_t *ids, size_t n, bool *held,
			size_t *nheld)
{
	*nheld = 0;
	memset(held, 0, n * sizeof *held);
	bl__quiet q;
	bl__quiet_load(cfg, &q);
	if (!n || !any_held(&q))
		return BL_OK; /* nothing is ever held: no query at all */
	int64_t now_ms = 0;
	int rc = bl__db_i64(db, "SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)", NULL, 0, &now_ms, NULL);
	int64_t end = rc ? 0 : window_end(&q, now_ms);
	if (rc || !end)
		return rc; /* outside the window: one small query per published batch */
	/* which of the rows are of a held pair (constants of the code, no input) */
	bl_strbuf sql = { 0 };
	bl__sb_puts(&sql, "SELECT id FROM messages WHERE (");
	static const char *const CH[] = { "EMAIL", "SMS" }, *const PU[] = { "BILLING", "NOTICE" };
	bool first = true;
	for (int c = 0; c < 2; c++)
		for (int p = 0; p < 2; p++)
			if (q.hold[c][p]) {
				bl__sb_printf(&sql, "%s(channel = '%s' AND purpose = '%s')", first ? "" : " OR ",
					      CH[c], PU[p]);
				first = false;
			}
	bl__param *ps = malloc((n + 1) * sizeof *ps);
	size_t np = 0;
	rc = ps ? id_list_sql(&sql, ") AND id IN (", ps, 0, ids, NULL, n, &np)
		: bl__fail(BL_ENOMEM, "out of memory");
	hold_scan h = { malloc(n * sizeof(id_at)), n, held, 0 };
	if (rc == BL_OK && !h.sorted)
		rc = bl__fail(BL_ENOMEM, "out of memory");
	if (rc == BL_OK) {
		for (size_t i = 0; i < n; i++)
			h.sorted[i] = (id_at){ ids[i], i };
		qsort(h.sorted, n, sizeof *h.sorted, cmp_id);
		rc = bl__db_rows(db, sql.s, ps, (unsigned)np, hold_cb, &h);
	}
	free(h.sorted);
	bl__sb_free(&sql);
	char until[32];
	bl__seoul_datetime(end, until);
	if (rc == BL_OK && h.nheld) {
		ps[0] = BP_STR(until);
		rc = id_list_sql(&sql, "UPDATE messages SET next_attempt_at = ? WHERE id IN (", ps, 1, ids, held,
				 n, &np);
		if (rc == BL_OK)
			rc = bl__db_exec(db, sql.s, ps, (unsigned)np, NULL, NULL);
		bl__sb_free(&sql);
	}
	free(ps);
	if (rc) {
		memset(held, 0, n * sizeof *held);
		return rc;
	}
	*nheld = h.nheld;
	return BL_OK;
}
