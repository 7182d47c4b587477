/*
 * SMS gateways in priority order (docs/senders.md, "SMS gateways").
 *
 * Each gateway has a circuit breaker and a rate limit shared by all the
 * threads of a worker process (bl__sms_shared, under one mutex):
 *   CLOSED     sends go through; BILLING_SMS_BREAKER_FAILURES consecutive
 *              transient failures, or an error rate over
 *              BILLING_SMS_BREAKER_ERROR_PERMILLE among at least
 *              BILLING_SMS_BREAKER_MIN_REQUESTS in BILLING_SMS_BREAKER_WINDOW_MS,
 *              open it;
 *   OPEN       skipped for BILLING_SMS_BREAKER_OPEN_MS, then
 *   HALF_OPEN  one probe at a time: success closes, failure opens again.
 * A send goes to the first gateway whose breaker lets it.  A refusal that
 * certainly did not accept the message (429, 5xx, no connection) moves
 * the same attempt on to the next gateway; an ambiguous failure (a timeout
 * after the request left) does not, so one attempt never reaches two
 * gateways unless the first certainly refused it.  Elapsed times come from
 * bl__mono_ms(); the SENS timestamp from the library's clock.
 */
#include <pthread.h>
#include <time.h>
#include <sodium.h>
#include "sms_private.h"

typedef struct {
	bl__brk_state state;
	int consecutive;
	int64_t win_start_ms, win_total, win_errors;
	int64_t open_until_ms;
	bool probing;
	int64_t next_slot_ns; /* rate limit */
	int64_t accepted, transient, permanent, opened;
	bool dirty;
} gw_state;

struct bl__sms_shared {
	pthread_mutex_t mu;
	int refs;
	int n;
	char names[BL_SMS_MAX_GATEWAYS][BL_SMS_NAME_MAX + 1];
	int64_t rate[BL_SMS_MAX_GATEWAYS];
	gw_state st[BL_SMS_MAX_GATEWAYS];
	int fail_n;
	int64_t window_ms, err_permille, min_req, open_ms;
};

struct bl__sms {
	bl__gw_conf g[BL_SMS_MAX_GATEWAYS];
	CURL *h[BL_SMS_MAX_GATEWAYS];
	int n;
	char from[16];
	long cto, to;
	bl__sms_shared *shared;
};

/* ---- settings ---- */

static char *dup_trim_slash(const char *v)
{
	size_t n = strlen(v);
	while (n && v[n - 1] == '/')
		n--;
	return strndup(v, n);
}

int bl__gw_conf_load(const bl_config *cfg, int slot, bl__gw_conf *g, bool *used)
{
	memset(g, 0, sizeof *g);
	*used = false;
	char k[64];
#define GET(f) (snprintf(k, sizeof k, "BILLING_SMS_%d_%s", slot, f), bl_config_get(cfg, k))
	const char *type = GET("TYPE");
	if (!type || !*type)
		return BL_OK;
	if (!strcmp(type, "sens"))
		g->type = BL_GW_SENS;
	else if (!strcmp(type, "webhook"))
		g->type = BL_GW_WEBHOOK;
	else
		return bl__fail(BL_ECONFIG, "BILLING_SMS_%d_TYPE: '%.32s' is not sens or webhook", slot, type);
	const char *name = GET("NAME");
	if (strlen(name) > BL_SMS_NAME_MAX)
		return bl__fail(BL_ECONFIG, "BILLING_SMS_%d_NAME: at most %d characters", slot, BL_SMS_NAME_MAX);
	snprintf(g->name, sizeof g->name, "%s", name);
	const char *url = GET("URL");
	if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7))
		return bl__fail(BL_ECONFIG, "BILLING_SMS_%d_URL: '%.100s' is not an http(s):// URL", slot, url);
	g->url = dup_trim_slash(url);
	g->service_id = strdup(GET("SERVICE_ID"));
	g->access_key = strdup(GET("ACCESS_KEY"));
	g->secret = strdup(GET("SECRET"));
	g->hook_secret = strdup(GET("HOOK_SECRET"));
	const char *auth = GET("AUTH");
	g->bearer = !strcmp(auth, "bearer");
	snprintf(k, sizeof k, "BILLING_SMS_%d_RATE", slot);
	g->rate = bl__config_int(cfg, k);
#undef GET
	if (!g->url || !g->service_id || !g->access_key || !g->secret || !g->hook_secret) {
		bl__gw_conf_clear(g);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	if (!g->bearer && strcmp(auth, "hmac")) {
		bl__gw_conf_clear(g);
		return bl__fail(BL_ECONFIG, "BILLING_SMS_%d_AUTH: '%.16s' is not bearer or hmac", slot, auth);
	}
	if (g->type == BL_GW_SENS && (!*g->service_id || !*g->access_key || !*g->secret)) {
		bl__gw_conf_clear(g);
		return bl__fail(BL_ECONFIG, "SMS gateway %d (sens): BILLING_SMS_%d_SERVICE_ID, _ACCESS_KEY and _SECRET "
					    "are needed", slot, slot);
	}
	if (g->type == BL_GW_WEBHOOK && !*g->secret) {
		bl__gw_conf_clear(g);
		return bl__fail(BL_ECONFIG, "SMS gateway %d (webhook): BILLING_SMS_%d_SECRET is needed", slot, slot);
	}
	*used = true;
	return BL_OK;
}

void bl__gw_conf_clear(bl__gw_conf *g)
{
	free(g->url);
	free(g->service_id);
	free(g->access_key);
	if (g->secret)
		sodium_memzero(g->secret, strlen(g->secret));
	free(g->secret);
	if (g->hook_secret)
		sodium_memzero(g->hook_secret, strlen(g->hook_secret));
	free(g->hook_secret);
	memset(g, 0, sizeof *g);
}

/* ---- shared state ---- */

int bl__sms_shared_new(bl__sms_shared **out, const bl_config *cfg)
{
	bl__sms_shared *sh = calloc(1, sizeof *sh);
	if (!sh)
		return bl__fail(BL_ENOMEM, "out of memory");
	pthread_mutex_init(&sh->mu, NULL);
	sh->refs = 1;
	for (int i = 1; i <= BL_SMS_MAX_GATEWAYS; i++) {
		bl__gw_conf g;
		bool used;
		int rc = bl__gw_conf_load(cfg, i, &g, &used);
		if (rc) {
			bl__sms_shared_unref(sh);
			return rc;
		}
		if (!used)
			continue;
		snprintf(sh->names[sh->n], sizeof sh->names[0], "%s", g.name);
		sh->rate[sh->n++] = g.rate;
		bl__gw_conf_clear(&g);
	}
	sh->fail_n = (int)bl__config_int(cfg, "BILLING_SMS_BREAKER_FAILURES");
	sh->window_ms = bl__config_int(cfg, "BILLING_SMS_BREAKER_WINDOW_MS");
	sh->err_permille = bl__config_int(cfg, "BILLING_SMS_BREAKER_ERROR_PERMILLE");
	sh->min_req = bl__config_int(cfg, "BILLING_SMS_BREAKER_MIN_REQUESTS");
	sh->open_ms = bl__config_int(cfg, "BILLING_SMS_BREAKER_OPEN_MS");
	*out = sh;
	return BL_OK;
}

void bl__sms_shared_ref(bl__sms_shared *sh)
{
	pthread_mutex_lock(&sh->mu);
	sh->refs++;
	pthread_mutex_unlock(&sh->mu);
}

void bl__sms_shared_unref(bl__sms_shared *sh)
{
	if (!sh)
		return;
	pthread_mutex_lock(&sh->mu);
	int left = --sh->refs;
	pthread_mutex_unlock(&sh->mu);
	if (left == 0) {
		pthread_mutex_destroy(&sh->mu);
		free(sh);
	}
}

int bl__sms_shared_count(const bl__sms_shared *sh)
{
	return sh ? sh->n : 0;
}

static const char *STATE_NAMES[] = { "CLOSED", "OPEN", "HALF_OPEN" };

int bl__sms_shared_publish(bl__sms_shared *sh, MYSQL *db, const char *worker)
{
	if (!sh || sh->n == 0)
		return BL_OK;
	int rc = BL_OK;
	for (int i = 0; rc == BL_OK && i < sh->n; i++) {
		pthread_mutex_lock(&sh->mu);
		gw_state s = sh->st[i];
		sh->st[i].dirty = false;
		pthread_mutex_unlock(&sh->mu);
		bl__param p[] = { BP_STR(sh->names[i]), BP_STR(worker), BP_STR(STATE_NAMES[s.state]), BP_I64(s.consecutive),
				  BP_I64(s.accepted), BP_I64(s.transient), BP_I64(s.permanent), BP_I64(s.opened) };
		rc = bl__db_exec(db,
				 "INSERT INTO sms_provider_state (provider, worker, state, consecutive, accepted, transient, "
				 "permanent, opened) VALUES (?,LEFT(?,128),?,?,?,?,?,?) ON DUPLICATE KEY UPDATE "
				 "state = VALUES(state), consecutive = VALUES(consecutive), accepted = VALUES(accepted), "
				 "transient = VALUES(transient), permanent = VALUES(permanent), opened = VALUES(opened), "
				 "updated_at = NOW(3)",
				 p, 8, NULL, NULL);
	}
	return rc;
}

static void open_breaker(bl__sms_shared *sh, gw_state *s, int64_t now)
{
	if (s->state != BL_BRK_OPEN)
		s->opened++;
	s->state = BL_BRK_OPEN;
	s->open_until_ms = now + sh->open_ms;
	s->probing = false;
	s->win_start_ms = now;
	s->win_total = s->win_errors = 0;
}

/* May gateway i take a send now?  Turns an OPEN breaker past its time into
 * HALF_OPEN and lets exactly one probe through. */
static bool brk_allow(bl__sms_shared *sh, int i, int64_t now, int64_t *wait_ms)
{
	pthread_mutex_lock(&sh->mu);
	gw_state *s = &sh->st[i];
	bool ok = true;
	if (s->state == BL_BRK_OPEN && now >= s->open_until_ms) {
		s->state = BL_BRK_HALF_OPEN;
		s->probing = false;
		s->dirty = true;
	}
	if (s->state == BL_BRK_OPEN) {
		ok = false;
		if (*wait_ms == 0 || s->open_until_ms - now < *wait_ms)
			*wait_ms = s->open_until_ms - now;
	} else if (s->state == BL_BRK_HALF_OPEN) {
		ok = !s->probing;
		s->probing = true;
	}
	pthread_mutex_unlock(&sh->mu);
	return ok;
}

static void brk_record(bl__sms_shared *sh, int i, const bl__gw_out *o, int64_t now)
{
	pthread_mutex_lock(&sh->mu);
	gw_state *s = &sh->st[i];
	s->dirty = true;
	bool fail = o->result == BL_GWR_REFUSED || o->result == BL_GWR_UNSURE;
	if (now - s->win_start_ms > sh->window_ms) {
		s->win_start_ms = now;
		s->win_total = s->win_errors = 0;
	}
	s->win_total++;
	if (o->result == BL_GWR_ACCEPTED)
		s->accepted++;
	else if (o->result == BL_GWR_PERMANENT)
		s->permanent++;
	else
		s->transient++;
	if (fail) {
		s->win_errors++;
		s->consecutive++;
		if (s->state == BL_BRK_HALF_OPEN || s->consecutive >= sh->fail_n ||
		    (s->win_total >= sh->min_req && s->win_errors * 1000 > s->win_total * sh->err_permille))
			open_breaker(sh, s, now);
	} else {
		/* an answer about the message (accept or permanent): the gateway works */
		s->consecutive = 0;
		if (s->state == BL_BRK_HALF_OPEN) {
			s->state = BL_BRK_CLOSED;
			s->win_start_ms = now;
			s->win_total = s->win_errors = 0;
		}
		s->probing = false;
	}
	/* 429 / 503 with Retry-After: no request before then, from any thread */
	if (o->retry_after_ms > 0) {
		int64_t until = (int64_t)bl__mono_ms() * 1000000 + o->retry_after_ms * 1000000;
		if (until > s->next_slot_ns)
			s->next_slot_ns = until;
	}
	pthread_mutex_unlock(&sh->mu);
}

/* The rate limit: a slot every 1/rate s for the worker's threads together.
 * A slot more than a second away (a gateway's Retry-After) is not waited
 * for: false, and *wait_ms how long until it. */
static bool rate_wait(bl__sms_shared *sh, int i, int64_t *wait_ms)
{
	int64_t now = (int64_t)bl__mono_ms() * 1000000, slot;
	pthread_mutex_lock(&sh->mu);
	gw_state *s = &sh->st[i];
	slot = s->next_slot_ns > now ? s->next_slot_ns : now;
	if (slot - now > 1000000000LL) {
		pthread_mutex_unlock(&sh->mu);
		int64_t w = (slot - now) / 1000000;
		if (*wait_ms == 0 || w < *wait_ms)
			*wait_ms = w;
		return false;
	}
	if (sh->rate[i] > 0)
		s->next_slot_ns = slot + 1000000000 / sh->rate[i];
	pthread_mutex_unlock(&sh->mu);
	if (slot > now) {
		int64_t d = slot - now;
		struct timespec ts = { (time_t)(d / 1000000000), (long)(d % 1000000000) };
		nanosleep(&ts, NULL);
	}
	return true;
}

/* ---- the client ---- */

int bl__sms_new(bl__sms **out, const bl_config *cfg, bl__sms_shared *shared)
{
	*out = NULL;
	bl__sms *s = calloc(1, sizeof *s);
	if (!s)
		return bl__fail(BL_ENOMEM, "out of memory");
	int rc = BL_OK;
	for (int i = 1; rc == BL_OK && i <= BL_SMS_MAX_GATEWAYS; i++) {
		bool used;
		rc = bl__gw_conf_load(cfg, i, &s->g[s->n], &used);
		if (rc == BL_OK && used)
			s->n++;
	}
	if (rc == BL_OK && s->n == 0) {
		free(s);
		return BL_OK; /* no gateway: the mock SMS provider */
	}
	const char *from = bl_config_get(cfg, "BILLING_SMS_FROM");
	size_t k = 0;
	for (const char *p = from; rc == BL_OK && *p && k + 1 < sizeof s->from; p++)
		if (*p >= '0' && *p <= '9')
			s->from[k++] = *p;
	if (rc == BL_OK && k == 0)
		rc = bl__fail(BL_ECONFIG, "BILLING_SMS_FROM: the registered sender number (발신번호) is needed "
					  "to send through an SMS gateway");
	s->cto = (long)bl__config_int(cfg, "BILLING_SMS_CONNECT_TIMEOUT_MS");
	s->to = (long)bl__config_int(cfg, "BILLING_SMS_TIMEOUT_MS");
	if (rc == BL_OK) {
		if (shared) {
			bl__sms_shared_ref(shared);
			s->shared = shared;
		} else {
			rc = bl__sms_shared_new(&s->shared, cfg);
		}
	}
	if (rc) {
		bl__sms_free(s);
		return rc;
	}
	bl__http_global_init();
	*out = s;
	return BL_OK;
}

void bl__sms_free(bl__sms *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++) {
		if (s->h[i])
			curl_easy_cleanup(s->h[i]);
		bl__gw_conf_clear(&s->g[i]);
	}
	bl__sms_shared_unref(s->shared);
	free(s);
}

void bl__sms_use_shared(bl__sms *s, bl__sms_shared *shared)
{
	if (!s || !shared || s->shared == shared)
		return;
	bl__sms_shared_ref(shared);
	bl__sms_shared_unref(s->shared);
	s->shared = shared;
}

const char *bl__sms_from(const bl__sms *s) { return s->from; }

void bl__sms_timeouts(const bl__sms *s, long *cto, long *to)
{
	*cto = s->cto;
	*to = s->to;
}

const bl__gw_conf *bl__sms_gateway(const bl__sms *s, const char *name, CURL ***h)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->g[i].name, name)) {
			if (h)
				*h = (CURL **)&s->h[i];
			return &s->g[i];
		}
	return NULL;
}

int bl__sms_send(bl__sms *s, const bl__sms_msg *m, bl__gw_out *out, char provider[BL_SMS_NAME_MAX + 1])
{
	memset(out, 0, sizeof *out);
	provider[0] = '\0';
	bool tried = false;
	int64_t wait_ms = 0;
	char errs[200] = "";
	for (int i = 0; i < s->n; i++) {
		int64_t now = (int64_t)bl__mono_ms();
		if (!brk_allow(s->shared, i, now, &wait_ms))
			continue;
		if (!rate_wait(s->shared, i, &wait_ms)) {
			/* throttled by the gateway: a half-open probe slot goes back */
			pthread_mutex_lock(&s->shared->mu);
			s->shared->st[i].probing = false;
			pthread_mutex_unlock(&s->shared->mu);
			continue;
		}
		bl__gw_out o;
		int rc = s->g[i].type == BL_GW_SENS ? bl__sens_send(&s->g[i], &s->h[i], s->cto, s->to, m, &o)
						    : bl__webhook_send(&s->g[i], &s->h[i], s->cto, s->to, m, &o);
		if (rc) {
			/* the library side failed (memory): nothing was sent; let the probe go */
			pthread_mutex_lock(&s->shared->mu);
			s->shared->st[i].probing = false;
			pthread_mutex_unlock(&s->shared->mu);
			return rc;
		}
		brk_record(s->shared, i, &o, (int64_t)bl__mono_ms());
		tried = true;
		*out = o;
		snprintf(provider, BL_SMS_NAME_MAX + 1, "%s", s->g[i].name);
		if (o.result != BL_GWR_REFUSED)
			return BL_OK;
		/* certainly not accepted: the next gateway may take this attempt */
		size_t l = strlen(errs);
		snprintf(errs + l, sizeof errs - l, "%s%.90s", l ? "; " : "", o.error);
	}
	if (!tried) {
		out->result = BL_GWR_REFUSED;
		out->retry_after_ms = wait_ms;
		snprintf(out->error, sizeof out->error, "no SMS gateway takes requests now (breakers open or "
			 "Retry-After): next in %lld ms", (long long)wait_ms);
	} else {
		snprintf(out->error, sizeof out->error, "%s", errs);
	}
	return BL_OK;
}
