/*
 * Dashboard and batch-run pages: the current run with a live progress bar
 * (processed/total, rate, ETA), message counts, SVG charts (sends per
 * minute, success rate, run durations by month), the run list, start /
 * stop / resume, and a run's detail with its failures.
 *
 * Starting or resuming a run is a library job (batch_launch in h_batch.c,
 * shared with the API): the same run, the same graceful stop on SIGTERM and
 * the same audit entry as over the API.  Runs are read as bl_run objects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ui.h"

typedef struct {
	int64_t id, total, processed, issued, skipped, failed;
	double percent, rate; /* rate: subscribers per second */
	int64_t elapsed_ms, eta_s;
	const char *status, *month, *mode;
	bool done;
} run_prog;

static void prog_of(req *r, const bl_run *run, run_prog *p)
{
	memset(p, 0, sizeof *p);
	p->id = bl_run_id(run);
	p->status = bl_run_status_name(bl_run_status_of(run));
	p->month = bl_run_month(run);
	p->mode = bl_batch_mode_name(bl_run_mode(run));
	p->done = bl_run_status_of(run) != BL_RUN_STARTED;
	bl_run_pace pace;
	if (bl_run_pace_get(r->ctx, run, &pace) != BL_OK) {
		bl_run_progress(run, &pace.progress); /* the counts read with the run */
		pace.permille = 0;
		pace.elapsed_ms = 0;
		pace.per_second = 0;
		pace.eta_s = p->done ? 0 : -1;
	}
	p->total = pace.progress.total;
	p->processed = pace.progress.processed;
	p->issued = pace.progress.issued;
	p->skipped = pace.progress.skipped;
	p->failed = pace.progress.failed;
	p->percent = pace.permille / 10.0;
	p->elapsed_ms = pace.elapsed_ms;
	p->rate = pace.per_second;
	p->eta_s = pace.eta_s;
}

/* The formatted values of a progress box, by data-k key (for the page and the JSON). */
static void prog_field(hbuf *b, const run_prog *p, const char *k)
{
	if (!strcmp(k, "percent"))
		hb_printf(b, "%f%%", p->percent);
	else if (!strcmp(k, "processed"))
		hb_printf(b, "%N", p->processed);
	else if (!strcmp(k, "total"))
		hb_printf(b, "%N", p->total);
	else if (!strcmp(k, "issued"))
		hb_printf(b, "%N", p->issued);
	else if (!strcmp(k, "skipped"))
		hb_printf(b, "%N", p->skipped);
	else if (!strcmp(k, "failed"))
		hb_printf(b, "%N", p->failed);
	else if (!strcmp(k, "rate"))
		hb_printf(b, "%N건/초", (int64_t)(p->rate + 0.5));
	else if (!strcmp(k, "elapsed"))
		ui_duration_ms(b, p->elapsed_ms);
	else if (!strcmp(k, "eta")) {
		if (p->done)
			hb_raw(b, "완료");
		else
			ui_duration(b, p->eta_s);
	}
}

static const char *const PROG_KEYS[] = { "percent", "processed", "total", "issued", "skipped",
					 "failed", "rate", "elapsed", "eta" };

static void kv(hbuf *b, const run_prog *p, const char *label, const char *k)
{
	hb_printf(b, "<div><dt>%s</dt><dd data-k=\"%s\">", label, k);
	prog_field(b, p, k);
	hb_raw(b, "</dd></div>");
}

static void progress_box(hbuf *b, req *r, const bl_run *run, bool title)
{
	run_prog p;
	prog_of(r, run, &p);
	hb_printf(b, "<section class=\"progress-box\" id=\"run-progress\" data-run=\"%D\" data-status=\"%s\"%r",
		  p.id, p.status, p.done ? "" : " data-progress-url=\"");
	if (!p.done)
		hb_printf(b, "/admin/batch/%D/progress\"", p.id);
	hb_raw(b, ">");
	if (title)
		hb_printf(b, "<h2><a href=\"/admin/batch/%D\">실행 #%D</a> · %s 정산 · %s ", p.id, p.id, p.month,
			  ui_mode_label(p.mode));
	else
		hb_raw(b, "<h2>진행 상황 ");
	bool empty = p.done && !strcmp(p.status, "COMPLETED") && p.total == 0;
	if (empty) /* not a success: the month had nothing to bill (issue 21) */
		ui_badge(b, "EMPTY", "완료 · 청구 0건");
	else
		ui_badge(b, p.status, ui_run_status(p.status));
	hb_raw(b, "</h2>");
	if (empty)
		hb_raw(b, "<p class=\"hold\" id=\"zero-charges\">이 달에는 청구 내역이 없어 정산서를 발행하지 않았고, 청구서 "
			  "발송 예약도 만들지 않았습니다.</p>");
	hb_printf(b, "<div class=\"bar\"><progress max=\"100\" value=\"%f\" data-k=\"bar\" aria-label=\"진행률\">"
		     "</progress><strong data-k=\"percent\">%f%%</strong></div>",
		  p.percent, p.percent);
	hb_raw(b, "<dl class=\"kv\">");
	hb_raw(b, "<div><dt>처리</dt><dd><span data-k=\"processed\">");
	prog_field(b, &p, "processed");
	hb_raw(b, "</span> / <span data-k=\"total\">");
	prog_field(b, &p, "total");
	hb_raw(b, "</span>명</dd></div>");
	kv(b, &p, "발행", "issued");
	kv(b, &p, "건너뜀", "skipped");
	kv(b, &p, "실패", "failed");
	kv(b, &p, "처리 속도", "rate");
	kv(b, &p, "경과", "elapsed");
	kv(b, &p, "남은 시간(예상)", "eta");
	hb_raw(b, "</dl>");
	if (!p.done)
		hb_raw(b, "<noscript><p class=\"hint\">자바스크립트 없이 보는 중이면 새로 고침하여 진행 상황을 확인하세요.</p></noscript>");
	hb_raw(b, "</section>");
}

void ui_batch_progress(req *r)
{
	bl_run *run = NULL;
	int rc = bl_run_get(r->ctx, param_i64(r, 0), &run);
	if (rc) {
		ui_send_json(r, rc == BL_ENOTFOUND ? 404 : 503,
			     json_pack("{s:{s:s,s:s}}", "error", "code", rc == BL_ENOTFOUND ? "not_found" : "unavailable",
				       "message", rc == BL_ENOTFOUND ? "실행이 없습니다." : "잠시 후 다시 시도하세요."));
		return;
	}
	run_prog p;
	prog_of(r, run, &p);
	json_t *fields = json_object();
	for (size_t i = 0; i < sizeof PROG_KEYS / sizeof PROG_KEYS[0]; i++) {
		hbuf f = { 0 };
		prog_field(&f, &p, PROG_KEYS[i]);
		json_object_set_new(fields, PROG_KEYS[i], json_string(f.s ? f.s : ""));
		hb_free(&f);
	}
	ui_send_json(r, 200,
		     json_pack("{s:I,s:s,s:s,s:f,s:b,s:I,s:I,s:f,s:I,s:o}", "id", (json_int_t)p.id, "status", p.status,
			       "status_label", ui_run_status(p.status), "percent", p.percent, "done", p.done,
			       "processed", (json_int_t)p.processed, "total", (json_int_t)p.total, "rate", p.rate,
			       "eta_s", (json_int_t)p.eta_s, "fields", fields));
	bl_run_free(run);
}

/* ---- charts ---- */

/* "YYYY-MM-DD HH:MM" (full) or "HH:MM" of a unix time in KST. */
static void kst_label(int64_t unix_s, bool full, char *out, size_t n)
{
	char t[20] = "0000-00-00 00:00:00";
	bl_clock_format(unix_s * 1000000, t, sizeof t); /* "YYYY-MM-DD HH:MM:SS", Asia/Seoul */
	snprintf(out, n, "%.*s", full ? 16 : 5, full ? t : t + 11);
}

static void sends_charts(hbuf *b, json_t *stats)
{
	int window = (int)ji(stats, "window_minutes");
	if (window <= 0 || window > 1440)
		window = 60;
	int64_t end = ui_kst_unix(js(stats, "generated_at"));
	if (!end)
		end = wall_now_s();
	end -= end % 60;
	chart_point *pts = calloc((size_t)window, sizeof *pts);
	chart_point *rate = calloc((size_t)window, sizeof *rate);
	char(*labels)[8] = calloc((size_t)window, 8); /* "HH:MM" */
	char(*tips)[96] = calloc((size_t)window, 96);
	char(*rtips)[96] = calloc((size_t)window, 96);
	if (!pts || !rate || !labels || !tips || !rtips)
		goto out;
	json_t *spm = json_object_get(stats, "sends_per_minute");
	for (int i = 0; i < window; i++) {
		int64_t t = end - (int64_t)(window - 1 - i) * 60;
		char key[48];
		kst_label(t, true, key, sizeof key);
		kst_label(t, false, labels[i], 8);
		double ok = 0, bad = 0;
		size_t k;
		json_t *row;
		json_array_foreach(spm, k, row)
			if (!strcmp(js(row, "minute"), key)) {
				ok = (double)ji(row, "success");
				bad = (double)ji(row, "failed");
			}
		snprintf(tips[i], 96, "%s — 성공 %lld, 실패 %lld", labels[i], (long long)ok, (long long)bad);
		pts[i] = (chart_point){ labels[i], ok, bad, tips[i] };
		double pct = ok + bad > 0 ? ok * 100 / (ok + bad) : 0;
		snprintf(rtips[i], 96, "%s — 성공률 %.1f%% (%lld건)", labels[i], pct, (long long)(ok + bad));
		rate[i] = (chart_point){ labels[i], pct, ok + bad, rtips[i] };
	}
	hb_raw(b, "<div class=\"grid2\">");
	chart_bars(b, "분당 발송 (최근 60분)", "", pts, (size_t)window, "성공", "실패");
	chart_line_pct(b, "발송 성공률 (분 단위)", rate, (size_t)window);
	hb_raw(b, "</div>");
out:
	free(pts);
	free(rate);
	free(labels);
	free(tips);
	free(rtips);
}

/* The run's counts. */
static bl_batch_progress counts(const bl_run *run)
{
	bl_batch_progress p;
	bl_run_progress(run, &p);
	return p;
}

void ui_durations_chart(hbuf *b, const bl_run_list *runs)
{
	/* the newest COMPLETED, non-dry run of each month; runs come newest first */
	enum { MAXM = 12 };
	const bl_run *pick[MAXM];
	size_t n = 0;
	for (size_t i = 0; i < bl_run_list_count(runs); i++) {
		const bl_run *run = bl_run_list_at(runs, i);
		/* a run with no charges measured nothing (issue 21) */
		if (bl_run_status_of(run) != BL_RUN_COMPLETED || bl_run_mode(run) == BL_BATCH_DRY_RUN ||
		    counts(run).total == 0)
			continue;
		bool seen = false;
		for (size_t k = 0; k < n; k++)
			seen |= !strcmp(bl_run_month(pick[k]), bl_run_month(run));
		if (!seen && n < MAXM)
			pick[n++] = run;
	}
	/* oldest month first */
	for (size_t a = 0; a < n; a++)
		for (size_t c = a + 1; c < n; c++)
			if (strcmp(bl_run_month(pick[c]), bl_run_month(pick[a])) < 0) {
				const bl_run *t = pick[a];
				pick[a] = pick[c];
				pick[c] = t;
			}
	chart_point pts[MAXM];
	char tips[MAXM][160];
	for (size_t k = 0; k < n; k++) {
		hbuf d = { 0 };
		int64_t ms = bl_run_duration_ms(pick[k]) < 0 ? 0 : bl_run_duration_ms(pick[k]);
		ui_duration_ms(&d, ms);
		snprintf(tips[k], sizeof tips[k], "%s — %s (실행 #%lld, %lld명)", bl_run_month(pick[k]),
			 d.s ? d.s : "", (long long)bl_run_id(pick[k]), (long long)counts(pick[k]).processed);
		hb_free(&d);
		pts[k] = (chart_point){ bl_run_month(pick[k]), (double)ms / 1000.0, 0, tips[k] };
	}
	chart_bars(b, "월별 정산 실행 시간 (완료된 실행)", "초", pts, n, NULL, NULL);
}

/* ---- dashboard ---- */

static const char *const MSG_STATUSES[] = { "WAITING", "PROCESSING", "SUCCESS", "FAILED", "EXCEEDED", "DEAD",
					    "BOUNCED", "SUPPRESSED", "DELIVERED", "UNDELIVERED" };

/* Runs newest first (at most `limit`); NULL after a failure page. */
static bl_run_list *runs_page(req *r, const char *month, int64_t before_id, int limit)
{
	bl_run_filter f;
	bl_run_filter_init(&f, BL_RUN_FILTER_VERSION);
	f.month = month;
	f.before_id = before_id;
	f.limit = limit;
	bl_run_list *l = NULL;
	int rc = bl_run_list_get(r->ctx, &f, &l);
	if (rc)
		ui_fail_page(r, rc);
	return l;
}

void ui_dashboard(req *r)
{
	size_t slen = 0;
	int64_t age = 0;
	char *sj = stats_copy(60, &slen, &age); /* the cache /api/stats answers from */
	json_t *stats = sj ? json_loads(sj, 0, NULL) : NULL;
	free(sj);
	if (!stats) {
		ui_fail_page(r, BL_EDB);
		return;
	}
	bl_run_list *runs = runs_page(r, NULL, 0, 200);
	if (!runs) {
		json_decref(stats);
		return;
	}
	hbuf b = { 0 };
	ui_page_begin(&b, r, "대시보드", "dashboard");
	ui_holds_panel(&b, r);
	/* the running run, else the newest real one: a dry run issues nothing (issue 21) */
	bl_run *cur = NULL;
	bl_run_current(r->ctx, &cur);
	json_t *ms = json_object_get(stats, "messages"), *bys = json_object_get(ms, "by_status");
	hb_raw(&b, "<div class=\"grid3\"><div class=\"card span2\">");
	if (cur) {
		progress_box(&b, r, cur, true);
	} else {
		hb_raw(&b, "<h2>정산 실행</h2><p>아직 실행이 없습니다.</p>");
	}
	if (ui_can(r, BL_ROLE_OPERATOR))
		hb_raw(&b, "<p><a class=\"button\" href=\"/admin/batch\">정산 배치 실행하기</a></p>");
	hb_raw(&b, "</div><div class=\"card\"><h2>최종 실패 (DLQ)</h2>");
	hb_printf(&b, "<p class=\"big\"><a href=\"/admin/dead\" id=\"dead-count\">%N</a>건</p>", ji(bys, "DEAD"));
	json_t *sw = json_object_get(stats, "sends_in_window");
	int64_t ok = ji(sw, "success"), bad = ji(sw, "failed");
	hb_printf(&b, "<p id=\"attempts-window\">최근 60분 발송 시도: 성공 %N회 · 실패한 시도 %N회 "
		      "<span class=\"hint\">(실패한 시도는 재시도될 수 있어 아래 메시지 상태의 실패 건수와 다릅니다)</span>",
		  ok, bad);
	if (ok + bad > 0)
		hb_printf(&b, " · 성공률 %f%%", (double)ok * 100.0 / (double)(ok + bad));
	hb_raw(&b, "</p></div></div>");

	hb_raw(&b, "<div class=\"grid2\"><div class=\"card\"><h2>메시지 현황 (메시지 수, 현재 상태별)</h2><table class=\"counts\"><thead><tr>"
		   "<th>상태</th><th class=\"num\">이메일</th><th class=\"num\">SMS</th><th class=\"num\">합계</th></tr></thead><tbody>");
	json_t *bsc = json_object_get(ms, "by_status_channel");
	for (size_t s = 0; s < sizeof MSG_STATUSES / sizeof MSG_STATUSES[0]; s++) {
		int64_t e = 0, m = 0;
		size_t i;
		json_t *row;
		json_array_foreach(bsc, i, row)
			if (!strcmp(js(row, "status"), MSG_STATUSES[s]))
				*(strcmp(js(row, "channel"), "EMAIL") ? &m : &e) += ji(row, "count");
		hb_printf(&b, "<tr><td><a href=\"/admin/messages?status=%u\">", MSG_STATUSES[s]);
		ui_badge(&b, MSG_STATUSES[s], ui_msg_status(MSG_STATUSES[s]));
		hb_printf(&b, "</a></td><td class=\"num\">%N</td><td class=\"num\">%N</td><td class=\"num\">%N</td></tr>", e,
			  m, ji(bys, MSG_STATUSES[s]));
	}
	hb_printf(&b, "</tbody><tfoot><tr><th>전체</th><td class=\"num\">%N</td><td class=\"num\">%N</td>"
		      "<td class=\"num\">%N</td></tr></tfoot></table></div>",
		  ji(json_object_get(ms, "by_channel"), "EMAIL"), ji(json_object_get(ms, "by_channel"), "SMS"),
		  ji(ms, "total"));
	hb_raw(&b, "<div class=\"card\"><h2>실행 상태별 건수</h2><dl class=\"kv\">");
	json_t *rbs = json_object_get(json_object_get(stats, "batch"), "runs_by_status");
	const char *k;
	json_t *v;
	json_object_foreach(rbs, k, v)
		hb_printf(&b, "<div><dt>%s</dt><dd>%N</dd></div>", ui_run_status(k), (int64_t)json_integer_value(v));
	hb_raw(&b, "</dl>");
	ui_durations_chart(&b, runs);
	hb_raw(&b, "</div></div>");
	sends_charts(&b, stats);
	hb_printf(&b, "<p class=\"hint\">통계 기준 시각 %s (KST)</p>", js(stats, "generated_at"));
	ui_page_end(&b, r);
	ui_send_html(r, 200, &b);
	bl_run_free(cur);
	json_decref(stats);
	bl_run_list_free(runs);
}

/* ---- runs ---- */

static const char *const MODES[] = { "NORMAL", "FAILED_ONLY", "DRY_RUN", "REISSUE" };

static const char *const START_FIELDS[] = { "month", "mode", "partitions", "chunk_size", NULL };
/* set by ui_batch_start when bl_batch_check refused: the form asks to force */
static __thread int ask_future, ask_empty;

static void start_form(hbuf *b, req *r)
{
	ui_form_fields(r, START_FIELDS);
	const char *month = form(r, "month"), *mode = form(r, "mode");
	if (!month) {
		/* default: the previous month (Asia/Seoul) by the library's clock */
		static __thread char prev[8];
		bl_clock_month(bl_ctx_now(r->ctx), -1, prev);
		month = prev;
	}
	hb_raw(b, "<form method=\"post\" action=\"/admin/batch\" class=\"card form-row\" id=\"batch-start\"><h2>새 실행</h2>");
	ui_csrf(b, r);
	ui_field_error(b, r, NULL);
	/* each field with its own error below it, so the row keeps its layout */
	hb_printf(b, "<div class=\"field\"><label>대상 월<input name=\"month\" value=\"%s\" placeholder=\"YYYY-MM\" "
		     "inputmode=\"numeric\" size=\"10\" class=\"month\" required></label>",
		  month);
	ui_field_error(b, r, "month");
	hb_raw(b, "</div><div class=\"field\"><label>실행 방식<select name=\"mode\">");
	for (size_t i = 0; i < sizeof MODES / sizeof MODES[0]; i++)
		hb_printf(b, "<option value=\"%s\"%r>%s</option>", MODES[i],
			  mode && !strcmp(mode, MODES[i]) ? " selected" : "", ui_mode_label(MODES[i]));
	hb_raw(b, "</select></label>");
	ui_field_error(b, r, "mode");
	hb_printf(b, "</div><div class=\"field\"><label>파티션<input name=\"partitions\" value=\"%s\" placeholder=\"기본\" "
		     "size=\"4\" inputmode=\"numeric\"></label>",
		  form(r, "partitions") ? form(r, "partitions") : "");
	ui_field_error(b, r, "partitions");
	hb_printf(b, "</div><div class=\"field\"><label>청크 크기<input name=\"chunk_size\" value=\"%s\" placeholder=\"기본\" "
		     "size=\"6\" inputmode=\"numeric\"></label>",
		  form(r, "chunk_size") ? form(r, "chunk_size") : "");
	ui_field_error(b, r, "chunk_size");
	hb_raw(b, "</div>");
	if (ask_future || form(r, "force"))
		hb_printf(b, "<label class=\"check\" id=\"ask-future\"><input type=\"checkbox\" name=\"force\" value=\"1\"%r> "
			     "미래 월이지만 실행</label>",
			  form(r, "force") ? " checked" : "");
	if (ask_empty || form(r, "allow_empty"))
		hb_printf(b, "<label class=\"check\" id=\"ask-empty\"><input type=\"checkbox\" name=\"allow_empty\" value=\"1\"%r> "
			     "청구 내역이 없는 달이지만 실행</label>",
			  form(r, "allow_empty") ? " checked" : "");
	hb_raw(b, "<button type=\"submit\" class=\"primary\">실행</button></form>");
}

static void list_page(req *r, int status)
{
	int64_t cursor = 0;
	parse_int64(query(r, "cursor"), &cursor);
	/* the durations chart looks at the newest runs; the table at one page */
	bl_run_list *all = runs_page(r, NULL, 0, 1000), *page = all ? runs_page(r, NULL, cursor, 50) : NULL;
	if (!page) {
		bl_run_list_free(all);
		return;
	}
	hbuf b = { 0 };
	ui_page_begin(&b, r, "정산 배치", "batch");
	hb_raw(&b, "<div class=\"grid2\">");
	if (ui_can(r, BL_ROLE_OPERATOR))
		start_form(&b, r);
	hb_raw(&b, "<div class=\"card\">");
	ui_durations_chart(&b, all);
	hb_raw(&b, "</div></div><h2>실행 이력</h2><table class=\"list\" id=\"runs\"><thead><tr><th>ID</th><th>대상 월</th>"
		   "<th>방식</th><th>상태</th><th>시작</th><th class=\"num\">소요</th><th class=\"num\">처리/전체</th>"
		   "<th class=\"num\">발행</th><th class=\"num\">실패</th><th class=\"num\">청구 합계</th><th>실행 주체</th></tr></thead><tbody>");
	size_t shown = bl_run_list_count(page);
	char next[24] = "";
	if (bl_run_list_next(page))
		snprintf(next, sizeof next, "%lld", (long long)bl_run_list_next(page));
	for (size_t i = 0; i < shown; i++) {
		const bl_run *run = bl_run_list_at(page, i);
		const char *st = bl_run_status_name(bl_run_status_of(run));
		bl_batch_progress c = counts(run);
		hb_printf(&b, "<tr><td><a href=\"/admin/batch/%D\">#%D</a></td><td>%s</td><td>%s</td><td>", bl_run_id(run),
			  bl_run_id(run), bl_run_month(run), ui_mode_label(bl_batch_mode_name(bl_run_mode(run))));
		if (bl_run_status_of(run) == BL_RUN_COMPLETED && c.total == 0)
			ui_badge(&b, "EMPTY", "완료 · 청구 0건");
		else
			ui_badge(&b, st, ui_run_status(st));
		hb_printf(&b, "</td><td>%s</td><td class=\"num\">", bl_run_started_at(run));
		if (bl_run_duration_ms(run) >= 0)
			ui_duration_ms(&b, bl_run_duration_ms(run));
		else
			hb_raw(&b, "-");
		hb_printf(&b, "</td><td class=\"num\">%N / %N</td><td class=\"num\">%N</td><td class=\"num\">%N</td>"
			      "<td class=\"num\">%W</td><td>%s</td></tr>",
			  c.processed, c.total, c.issued, c.failed, bl_run_billed_sum(run),
			  bl_run_created_by(run) == BL_CREATED_AUTO ? "자동(스케줄)" : "관리자");
	}
	if (!shown)
		hb_raw(&b, "<tr><td colspan=\"11\" class=\"empty\">실행 이력이 없습니다.</td></tr>");
	hb_raw(&b, "</tbody></table>");
	ui_next_link(&b, r, "/admin/batch", next, NULL);
	ui_page_end(&b, r);
	ui_send_html(r, status, &b);
	bl_run_list_free(all);
	bl_run_list_free(page);
}

void ui_batch_list(req *r)
{
	list_page(r, 200);
}

static bool opt_int(req *r, const char *key, int64_t min, int64_t max, int *out)
{
	const char *s = form(r, key);
	int64_t v;
	if (!s)
		return true;
	if (!parse_int64(s, &v) || v < min || v > max) {
		ui_error_also(r, key, "%lld에서 %lld 사이의 정수를 입력하세요.", (long long)min, (long long)max);
		return false;
	}
	*out = (int)v;
	return true;
}

void ui_batch_start(req *r)
{
	const char *month = form(r, "month"), *mode = form(r, "mode");
	static const char *const fields[] = { "month", "month", "mode", "mode", NULL };
	bl_batch_mode m = BL_BATCH_NORMAL;
	int rc;
	if (!month) {
		ui_error(r, "month", "대상 월을 입력하세요 (YYYY-MM).");
		list_page(r, 422);
		return;
	}
	if ((rc = bl_month_parse(month, NULL, NULL)) != BL_OK || (mode && (rc = bl_batch_mode_parse(mode, &m)))) {
		ui_error_lib(r, rc, fields);
		list_page(r, 422);
		return;
	}
	bl_batch_opts o;
	batch_default_opts(&o);
	o.mode = m;
	o.allow_future = form(r, "force") != NULL;
	o.allow_empty = form(r, "allow_empty") != NULL;
	/* both numbers are checked, each error next to its own field */
	bool parts_ok = opt_int(r, "partitions", 1, 64, &o.partitions),
	     chunk_ok = opt_int(r, "chunk_size", 1, 100000, &o.chunk_size);
	if (!parts_ok || !chunk_ok) {
		list_page(r, 422);
		return;
	}
	/* a future month or one without charges: ask before forcing (bl_batch_check decides) */
	if ((rc = bl_batch_check(r->ctx, month, &o)) == BL_EINVAL || rc == BL_ECONFLICT) {
		char now[8] = "";
		bl_clock_month(bl_ctx_now(r->ctx), 0, now);
		if (rc == BL_EINVAL) {
			ask_future = 1;
			ui_error(r, "month", "대상 월(%s)이 미래입니다 (지금은 %s). 아직 청구 내역이 없습니다. 그래도 실행하려면 "
					     "'미래 월이지만 실행'을 선택하세요.",
				 month, now);
		} else {
			ask_empty = 1;
			ui_error(r, "month", "%s에는 청구 내역이 없습니다. 실행해도 정산서는 0건이고 청구서 발송 예약도 만들지 "
					     "않습니다. 그래도 실행하려면 '청구 내역이 없는 달이지만 실행'을 선택하세요.",
				 month);
		}
		list_page(r, rc == BL_EINVAL ? 422 : 409);
		ask_future = ask_empty = 0;
		return;
	}
	int64_t started = 0;
	char *warning = NULL;
	rc = batch_launch(r, month, 0, &o, &started, &warning);
	bl_free(warning); /* the run's page shows how it ended */
	if (rc == BL_OK) {
		/* the run just started, even when it ended before this line */
		char loc[64];
		snprintf(loc, sizeof loc, "/admin/batch/%lld?ok=started", (long long)started);
		ui_redirect(r, loc);
		return;
	}
	int status = http_status_of(rc, true, r->authed);
	bl_run_list *runs = NULL;
	bl_run_filter f;
	bl_run_filter_init(&f, BL_RUN_FILTER_VERSION);
	f.month = month;
	f.limit = 5;
	const bl_run *active = NULL;
	if (rc == BL_ECONFLICT && bl_run_list_get(r->ctx, &f, &runs) == BL_OK)
		for (size_t i = 0; !active && i < bl_run_list_count(runs); i++)
			if (bl_run_status_of(bl_run_list_at(runs, i)) == BL_RUN_STARTED)
				active = bl_run_list_at(runs, i);
	if (active)
		ui_error(r, "month", "%s 정산은 이미 실행 중입니다 (실행 #%lld). 끝난 뒤 다시 시도하세요.", month,
			 (long long)bl_run_id(active));
	else
		ui_error(r, NULL, "실행을 시작하지 못했습니다 (HTTP %d). 자세한 내용은 서버 로그를 확인하세요.", status);
	bl_run_list_free(runs);
	list_page(r, status >= 400 ? status : 500);
}

void ui_batch_get(req *r)
{
	bl_run *run = NULL;
	int rc = bl_run_get(r->ctx, param_i64(r, 0), &run);
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	hbuf b = { 0 };
	char title[64];
	int64_t id = bl_run_id(run);
	bl_run_status st = bl_run_status_of(run);
	bl_batch_progress c = counts(run);
	snprintf(title, sizeof title, "정산 실행 #%lld", (long long)id);
	ui_page_begin(&b, r, title, "batch");
	hb_raw(&b, "<div class=\"grid3\"><div class=\"card span2\">");
	progress_box(&b, r, run, false);
	if (ui_can(r, BL_ROLE_OPERATOR)) {
		if (st == BL_RUN_STARTED && !bl_run_stop_requested(run)) {
			hb_printf(&b, "<form method=\"post\" action=\"/admin/batch/%D/stop\" class=\"inline\" data-confirm=\"이 실행을 중지할까요?\">",
				  id);
			ui_csrf(&b, r);
			hb_raw(&b, "<button type=\"submit\" class=\"danger\" id=\"stop-run\">중지</button></form>");
		} else if (st == BL_RUN_STOPPED || st == BL_RUN_FAILED) {
			hb_printf(&b, "<form method=\"post\" action=\"/admin/batch/%D/resume\" class=\"inline\">", id);
			ui_csrf(&b, r);
			hb_raw(&b, "<button type=\"submit\" class=\"primary\">체크포인트에서 재개</button></form>");
		}
		if (bl_run_stop_requested(run) && st == BL_RUN_STARTED)
			hb_raw(&b, "<p class=\"hint\">중지 요청됨: 진행 중인 청크를 마치면 멈춥니다.</p>");
	}
	ui_field_error(&b, r, NULL);
	hb_printf(&b, "</div><div class=\"card\"><h2>실행 정보</h2><dl class=\"kv\"><div><dt>대상 월</dt><dd>%s</dd></div>"
		      "<div><dt>방식</dt><dd>%s</dd></div><div><dt>실행 주체</dt><dd>%s</dd></div>"
		      "<div><dt>시작</dt><dd>%s</dd></div><div><dt>종료</dt><dd>%s</dd></div>"
		      "<div><dt>파티션 × 청크</dt><dd>%D × %N</dd></div><div><dt>청크</dt><dd>%N / %N</dd></div>"
		      "<div><dt>담당 프로세스</dt><dd>%s</dd></div></dl>",
		  bl_run_month(run), ui_mode_label(bl_batch_mode_name(bl_run_mode(run))),
		  bl_run_created_by(run) == BL_CREATED_AUTO ? "자동(스케줄)" : "관리자", bl_run_started_at(run),
		  bl_run_ended_at(run) ? bl_run_ended_at(run) : "-", (int64_t)bl_run_partitions(run),
		  (int64_t)bl_run_chunk_size(run), bl_run_chunks_done(run), bl_run_chunks(run), bl_run_owner(run));
	if (bl_run_fail_reason(run))
		hb_printf(&b, "<p class=\"error\">실패 사유: %s</p>", bl_run_fail_reason(run));
	hb_raw(&b, "</div></div>");
	hb_printf(&b, "<div class=\"card\"><h2>금액 합계</h2><dl class=\"kv wide\"><div><dt>이용 금액</dt><dd>%W</dd></div>"
		      "<div><dt>할인</dt><dd>%W</dd></div><div><dt>부가세</dt><dd>%W</dd></div>"
		      "<div><dt>청구 금액</dt><dd>%W</dd></div></dl>",
		  bl_run_usage_sum(run), bl_run_discount_sum(run), bl_run_vat_sum(run), bl_run_billed_sum(run));
	hb_printf(&b, "<p><a href=\"/admin/statements?month=%u\">이 달의 정산서 보기</a> · "
		      "<a href=\"/admin/messages?run_id=%D\">이 실행의 메시지</a></p></div>",
		  bl_run_month(run), id);
	hb_printf(&b, "<h2>실패 내역 <small>(최대 100건, 총 %N건)</small></h2><table class=\"list\" id=\"failures\"><thead><tr>"
		      "<th>고객 ID</th><th>사유</th><th>상세</th></tr></thead><tbody>",
		  c.failed);
	size_t nf = bl_run_failure_count(run);
	for (size_t i = 0; i < nf; i++) {
		int64_t user = 0;
		const char *reason = NULL, *detail = NULL;
		bl_run_failure(run, i, &user, &reason, &detail);
		hb_printf(&b, "<tr><td>%D</td><td>%s</td><td>%s</td></tr>", user, reason ? reason : "",
			  detail ? detail : "");
	}
	if (!nf)
		hb_raw(&b, "<tr><td colspan=\"3\" class=\"empty\">실패가 없습니다.</td></tr>");
	hb_raw(&b, "</tbody></table>");
	ui_page_end(&b, r);
	ui_send_html(r, 200, &b);
	bl_run_free(run);
}

static void back_to_run(req *r, const char *ok)
{
	char loc[80];
	snprintf(loc, sizeof loc, "/admin/batch/%lld?ok=%s", (long long)param_i64(r, 0), ok);
	ui_redirect(r, loc);
}

void ui_batch_stop(req *r)
{
	int64_t id = param_i64(r, 0);
	int rc = bl_batch_stop(r->ctx, id);
	if (rc) {
		ui_fail_page(r, rc);
		return;
	}
	back_to_run(r, "stopping");
}

void ui_batch_resume(req *r)
{
	bl_batch_opts o;
	batch_default_opts(&o);
	int64_t started = 0;
	char *warning = NULL;
	int rc = batch_launch(r, NULL, param_i64(r, 0), &o, &started, &warning);
	bl_free(warning);
	if (rc == BL_OK) {
		back_to_run(r, "resumed");
		return;
	}
	if (rc == BL_ENOTFOUND) {
		ui_not_found(r);
		return;
	}
	ui_error(r, NULL, "재개하지 못했습니다 (HTTP %d). 실행 상태를 확인하세요.", http_status_of(rc, true, r->authed));
	ui_batch_get(r);
}
