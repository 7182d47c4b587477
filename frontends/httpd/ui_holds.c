/*
 * What holds work back, on the page of the thing held and on the dashboard
 * (issue 21): each hold with its reason and the way out, in Korean, from
 * bl_hold_list and the reservation's "hold", "quiet_until" and "delivery"
 * (hold.c in the library decides; this file only words it).
 */
#include <stdio.h>
#include <string.h>
#include "ui.h"

static const char *pair_label(const char *channel, const char *purpose)
{
	bool sms = channel && !strcmp(channel, "SMS"), notice = purpose && !strcmp(purpose, "NOTICE");
	return sms ? (notice ? "SMS 공지" : "SMS 청구") : (notice ? "이메일 공지" : "이메일 청구");
}

/* "2026-12-04 08:00:00" → "12월 4일 08:00" */
static void kst_short(hbuf *b, const char *ts)
{
	int y, mo, d, h, mi;
	char out[48];
	if (ts && sscanf(ts, "%d-%d-%d %d:%d", &y, &mo, &d, &h, &mi) == 5)
		snprintf(out, sizeof out, "%d월 %d일 %02d:%02d", mo, d, h, mi);
	else
		snprintf(out, sizeof out, "%s", ts ? ts : "");
	hb_printf(b, "%s", out); /* hb_printf knows no widths */
}

/* When the counts on it were counted (they may come from the count cache,
 * a few seconds old; docs/http.md, "Counts"). */
void ui_counted_at(hbuf *b, json_t *v)
{
	json_t *at = json_object_get(v, "counted_at");
	if (json_is_string(at))
		hb_printf(b, " <span class=\"hint counted-at\">(%s 기준 집계)</span>", json_string_value(at));
	else if (json_object_get(v, "counted_at"))
		hb_raw(b, " <span class=\"hint counted-at\">(집계 중: 잠시 후 다시 보세요)</span>");
}

static void hold_item(hbuf *b, json_t *h)
{
	const char *kind = js(h, "kind");
	hb_printf(b, "<li class=\"hold\" data-kind=\"%s\">", kind);
	if (!strcmp(kind, "TEMPLATE_DISABLED")) {
		hb_printf(b, "<b>템플릿 <a href=\"/admin/templates/%u\">%s</a> 사용 중지</b> — 대기 메시지 %N건, 예약 %N건이 "
			     "멈춰 있습니다. <span class=\"way-out\">해결: 템플릿 화면에서 <b>사용</b>을 다시 켜거나, 대기 중인 예약을 "
			     "취소하세요.</span>",
			  js(h, "subject"), js(h, "subject"), ji(h, "messages"), ji(h, "reservations"));
	} else if (!strcmp(kind, "QUIET_HOURS")) {
		hb_printf(b, "<b>발송 제한 시간 (%s)</b> — 메시지 %N건이 ", pair_label(js(h, "channel"), js(h, "purpose")),
			  ji(h, "messages"));
		kst_short(b, js(h, "until"));
		hb_raw(b, " (KST)까지 기다립니다. <span class=\"way-out\">해결: 그 시각에 자동으로 발송됩니다 "
			  "(설정 BILLING_QUIET_START/END).</span>");
	} else if (!strcmp(kind, "BATCH_STOPPED")) {
		hb_printf(b, "<b><a href=\"/admin/batch/%D\">정산 실행 #%D</a> (%s) %s</b> — 이 달의 정산서가 다 발행되지 "
			     "않았습니다. <span class=\"way-out\">해결: 실행 화면에서 <b>재개</b>하세요.</span>",
			  ji(h, "run_id"), ji(h, "run_id"), js(h, "month"),
			  !strcmp(js(h, "status"), "FAILED") ? "실패" : "중지됨");
	} else if (!strcmp(kind, "PROVIDER_OPEN")) {
		hb_printf(b, "<b>문자 게이트웨이 %s 차단됨 (회로 차단기 %s)</b> — 연속 실패로 ", js(h, "subject"),
			  !strcmp(js(h, "state"), "OPEN") ? "열림" : "시험 중");
		kst_short(b, js(h, "since"));
		hb_raw(b, " (KST)부터 이 게이트웨이로 보내지 않고 다음 게이트웨이로 보냅니다 (없으면 대기). "
			  "<span class=\"way-out\">해결: 게이트웨이 상태와 워커 로그를 확인하세요. 차단기는 스스로 다시 시험하고 "
			  "성공하면 닫힙니다.</span>");
	} else if (!strcmp(kind, "REDIS_DOWN")) {
		hb_printf(b, "<b>Redis 연결 안 됨</b> — 발송할 메시지 %N건이 대기열에 올라가지 못합니다. "
			     "<span class=\"way-out\">해결: Redis를 시작하거나 REDIS_HOST/REDIS_PORT 설정을 확인하세요.</span>",
			  ji(h, "messages"));
	} else {
		hb_printf(b, "<b>%s</b> — %s", kind, js(h, "reason"));
	}
	ui_counted_at(b, h);
	hb_raw(b, "</li>");
}

void ui_holds_panel(hbuf *b, req *r)
{
	char *json = NULL;
	if (bl_hold_list(r->ctx, &json) != BL_OK) {
		bl_free(json);
		hb_raw(b, "<section class=\"card holds\" id=\"holds\"><h2>멈춰 있는 작업</h2>"
			  "<p class=\"hint\">지금은 확인할 수 없습니다 (데이터베이스 연결을 확인하세요).</p></section>");
		return;
	}
	json_t *all = json_loads(json, 0, NULL);
	bl_free(json);
	hb_raw(b, "<section class=\"card holds\" id=\"holds\"><h2>멈춰 있는 작업</h2>");
	if (!json_array_size(all)) {
		hb_raw(b, "<p class=\"hint\" id=\"holds-none\">멈춰 있는 작업이 없습니다.</p>");
	} else {
		hb_raw(b, "<ul class=\"holds\">");
		size_t i;
		json_t *h;
		json_array_foreach(all, i, h)
			hold_item(b, h);
		hb_raw(b, "</ul>");
	}
	hb_raw(b, "</section>");
	json_decref(all);
}

void ui_reservation_holds(hbuf *b, req *r, json_t *v)
{
	(void)r;
	json_t *hold = json_object_get(v, "hold");
	if (json_is_object(hold) && !strcmp(js(hold, "kind"), "TEMPLATE_DISABLED")) {
		hb_printf(b, "<div class=\"hold\" id=\"reservation-hold\" data-kind=\"TEMPLATE_DISABLED\" role=\"alert\">"
			     "<b>멈춤: <a href=\"/admin/templates/%u\">%s</a> 템플릿이 사용 중지되어 메시지를 만들 수 없습니다.</b> "
			     "<span class=\"way-out\">해결: 템플릿 화면에서 <b>사용</b>을 다시 켜면 다음 순간 이어서 진행합니다%s.</span></div>",
			  js(hold, "subject"), js(hold, "subject"),
			  !strcmp(js(v, "status"), "WAITING") ? ". 보내지 않으려면 이 예약을 취소하세요" : "");
	}
	if (json_is_string(json_object_get(v, "quiet_until"))) {
		hb_printf(b, "<div class=\"hold\" id=\"reservation-quiet\" data-kind=\"QUIET_HOURS\"><b>발송 제한 시간 (%s)</b> — "
			     "이 예약의 메시지는 ",
			  pair_label(js(v, "channel"), js(v, "purpose")));
		kst_short(b, js(v, "quiet_until"));
		hb_raw(b, " (KST)에 발송됩니다. <span class=\"way-out\">그때까지 기다리면 자동으로 나갑니다.</span></div>");
	}
}

static const char *delivery_label(const char *state)
{
	static const char *const m[] = { "NOT_STARTED", "발송 전", "HELD", "발송 대기", "SENDING", "발송 중", "DONE",
					 "발송 끝남", "UNKNOWN", "집계 생략", NULL };
	for (size_t i = 0; m[i]; i += 2)
		if (!strcmp(m[i], state))
			return m[i + 1];
	return state;
}

void ui_reservation_delivery(hbuf *b, json_t *v)
{
	json_t *d = json_object_get(v, "delivery");
	const char *state = js(d, "state");
	if (!*state)
		return;
	hb_raw(b, "<p class=\"delivery\" id=\"delivery\">메시지 생성 ");
	const char *exp = js(v, "expansion");
	ui_badge(b, !strcmp(exp, "DONE") ? "SENT" : js(v, "status"),
		 !strcmp(exp, "DONE") ? "완료" : !strcmp(exp, "EXPANDING") ? "진행 중" : !strcmp(exp, "CANCELED") ? "취소됨" : "예정");
	hb_raw(b, " · 발송 ");
	ui_badge(b, state, delivery_label(state));
	if (strcmp(state, "UNKNOWN") && strcmp(state, "NOT_STARTED")) {
		hb_printf(b, " <span id=\"delivery-counts\">대기 %N · 성공 %N · 최종 실패 %N</span>", ji(d, "pending"),
			  ji(d, "sent"), ji(d, "failed"));
		if (!strcmp(state, "HELD") && json_is_string(json_object_get(d, "next_at"))) {
			hb_raw(b, " — 첫 발송 ");
			kst_short(b, js(d, "next_at"));
		}
	}
	hb_raw(b, "</p>");
}
