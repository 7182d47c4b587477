/*
 * The statistics cache (bl_stats_cache): answers from memory, computes in
 * its own thread on a context of its own, reports its age, refuses bad
 * windows, and frees cleanly.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static json_t *parse(char *s)
{
	json_t *j = json_loads(s, 0, NULL);
	bl_free(s);
	cr_assert_not_null(j);
	return j;
}

Test(stats_cache, answers_from_memory_and_follows_the_database, .timeout = 120)
{
	bl_ctx *ctx = tu_ctx_fresh("stats_cache");
	bl_stats_cache *c = NULL;
	cr_assert_eq(bl_stats_cache_new(ctx, &c), BL_OK, "%s", bl_error_last());
	char *s = NULL;
	int64_t age = -1;
	/* the first reader of a window waits for its computation */
	cr_assert_eq(bl_stats_cache_get(c, 60, &s, &age), BL_OK, "%s", bl_error_last());
	cr_assert_geq(age, 0);
	cr_assert_lt(age, 15000);
	json_t *j = parse(s);
	cr_assert_eq(json_integer_value(json_object_get(j, "window_minutes")), 60);
	long long before = json_integer_value(json_object_get(json_object_get(j, "messages"), "total"));
	json_decref(j);
	uint64_t n = bl_stats_cache_computations(c);
	cr_assert_geq(n, 1);

	/* a second read within the interval is the same computation */
	cr_assert_eq(bl_stats_cache_get(c, 60, &s, NULL), BL_OK);
	bl_free(s);
	cr_assert_leq(bl_stats_cache_computations(c), n + 1);

	/* a new message shows after a refresh (at most every second here) */
	tu_sql(ctx, "INSERT INTO users (name, phone_enc, phone_bidx, email_enc, email_bidx, consent_sms) "
		    "VALUES ('u1', 'x', UNHEX(MD5('p1')), 'x', UNHEX(MD5('e1')), 1)");
	tu_sql(ctx, "INSERT INTO messages (idempotency_key, user_id, template_id, channel, purpose, status) "
		    "SELECT 'sc:1', u.id, t.id, 'SMS', 'NOTICE', 'SUCCESS' FROM users u JOIN message_templates t "
		    "ORDER BY u.id, t.id LIMIT 1");
	cr_assert_eq(tu_i64(ctx, "SELECT COUNT(*) FROM messages"), before + 1);
	long long seen = before;
	for (int i = 0; i < 100 && seen == before; i++) {
		usleep(100000);
		cr_assert_eq(bl_stats_cache_get(c, 60, &s, NULL), BL_OK);
		j = parse(s);
		seen = json_integer_value(json_object_get(json_object_get(j, "messages"), "total"));
		json_decref(j);
	}
	cr_assert_eq(seen, before + 1, "the cache never saw the new message");

	/* other windows get their own slots */
	for (int w = 1; w <= 5; w++) {
		cr_assert_eq(bl_stats_cache_get(c, w, &s, NULL), BL_OK, "%s", bl_error_last());
		j = parse(s);
		cr_assert_eq(json_integer_value(json_object_get(j, "window_minutes")), w);
		json_decref(j);
	}

	cr_assert_eq(bl_stats_cache_get(c, 0, &s, NULL), BL_EINVAL);
	cr_assert(strstr(bl_error_last(), "window_minutes"), "%s", bl_error_last());
	cr_assert_null(s);
	cr_assert_eq(bl_stats_cache_get(c, 1441, &s, NULL), BL_EINVAL);
	cr_assert_eq(bl_stats_cache_get(NULL, 60, &s, NULL), BL_EINVAL);
	bl_stats_cache_free(c);
	bl_stats_cache_free(NULL);
	cr_assert_eq(bl_stats_cache_new(ctx, NULL), BL_EINVAL);
	tu_ctx_drop(ctx);
}

Test(stats_cache, outlives_the_context_it_came_from, .timeout = 120)
{
	bl_ctx *ctx = tu_ctx_fresh("stats_cache2");
	bl_ctx *other = NULL;
	cr_assert_eq(bl_ctx_new(&other, bl_ctx_config(ctx)), BL_OK);
	bl_stats_cache *c = NULL;
	cr_assert_eq(bl_stats_cache_new(other, &c), BL_OK);
	bl_ctx_free(other);
	char *s = NULL;
	cr_assert_eq(bl_stats_cache_get(c, 60, &s, NULL), BL_OK, "%s", bl_error_last());
	bl_free(s);
	bl_stats_cache_free(c);
	tu_ctx_drop(ctx);
}
