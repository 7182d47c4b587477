/*
 * Charts drawn on the server as inline SVG: readable without JavaScript,
 * each bar or point with a <title> tooltip, colours from app.css (with
 * fill attributes as a fallback).  Every text goes through the escaping
 * formatter.
 */
#include <stdio.h>
#include <string.h>
#include "ui.h"

#define W 640
#define H 220
#define L 56 /* left margin (y labels) */
#define R 12
#define T 16
#define B 36 /* bottom margin (x labels) */

/* 1, 2, 5 × 10^k at or above v (v > 0). */
static double nice_max(double v)
{
	if (v <= 1)
		return 1;
	for (double p = 1;; p *= 10)
		for (int i = 0; i < 3; i++) {
			double m = (i == 0 ? 1 : i == 1 ? 2 : 5) * p;
			if (m >= v)
				return m;
		}
}

/* A tick value: whole numbers grouped, else up to two decimals without trailing zeros. */
static void num(hbuf *b, double v)
{
	if (v >= 10000 || v == (double)(int64_t)v) {
		hb_printf(b, "%N", (int64_t)(v + 0.5));
		return;
	}
	char s[32];
	snprintf(s, sizeof s, "%.2f", v);
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '0')
		s[--n] = '\0';
	hb_raw(b, s);
}

static void frame_begin(hbuf *b, const char *title, const char *cls)
{
	hb_printf(b, "<figure class=\"chart %s\"><figcaption>%s</figcaption>"
		     "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\" xmlns=\"http://www.w3.org/2000/svg\">"
		     "<title>%s</title>",
		  cls, title, W, H, title, title);
}

static void y_axis(hbuf *b, double max, const char *unit)
{
	for (int i = 0; i <= 4; i++) {
		double v = max * i / 4;
		int y = H - B - (int)((H - B - T) * i / 4);
		hb_printf(b, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#e3e6ea\"/>", L,
			  W - R, y, y);
		hb_printf(b, "<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"end\">", L - 6, y + 4);
		num(b, v);
		hb_printf(b, "%s</text>", unit);
	}
}

static void x_labels(hbuf *b, const chart_point *p, size_t n, double step)
{
	size_t every = n <= 12 ? 1 : (n + 11) / 12;
	for (size_t i = 0; i < n; i++)
		if (i % every == 0 || i == n - 1)
			hb_printf(b, "<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>",
				  L + (int)(step * (double)i + step / 2), H - B + 16, p[i].label ? p[i].label : "");
}

static void empty(hbuf *b)
{
	hb_printf(b, "<text class=\"empty\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">데이터 없음</text>", W / 2,
		  H / 2);
}

void chart_bars(hbuf *b, const char *title, const char *unit, const chart_point *p, size_t n,
		const char *legend_a, const char *legend_b)
{
	double max = 0;
	for (size_t i = 0; i < n; i++)
		if (p[i].a + p[i].b > max)
			max = p[i].a + p[i].b;
	max = nice_max(max);
	frame_begin(b, title, "bars");
	y_axis(b, max, unit);
	double ph = H - B - T, step = n ? (double)(W - L - R) / (double)n : 0;
	double bw = step * 0.7 < 1 ? 1 : step * 0.7 > 48 ? 48 : step * 0.7;
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if (p[i].a + p[i].b <= 0)
			continue;
		any = true;
		double x = L + step * (double)i + (step - bw) / 2;
		double ha = ph * p[i].a / max, hb = ph * p[i].b / max;
		char xs[32], ws[32], ya[32], has[32], yb[32], hbs[32];
		snprintf(xs, sizeof xs, "%.1f", x);
		snprintf(ws, sizeof ws, "%.1f", bw);
		snprintf(ya, sizeof ya, "%.1f", H - B - ha);
		snprintf(has, sizeof has, "%.1f", ha);
		snprintf(yb, sizeof yb, "%.1f", H - B - ha - hb);
		snprintf(hbs, sizeof hbs, "%.1f", hb);
		hb_printf(b, "<g class=\"bar\"><title>%s</title>", p[i].tip ? p[i].tip : "");
		if (ha > 0)
			hb_printf(b, "<rect class=\"a\" x=\"%r\" y=\"%r\" width=\"%r\" height=\"%r\" fill=\"#2e7d32\"/>",
				  xs, ya, ws, has);
		if (hb > 0)
			hb_printf(b, "<rect class=\"b\" x=\"%r\" y=\"%r\" width=\"%r\" height=\"%r\" fill=\"#c62828\"/>",
				  xs, yb, ws, hbs);
		hb_raw(b, "</g>");
	}
	if (!any)
		empty(b);
	x_labels(b, p, n, step);
	hb_raw(b, "</svg>");
	if (legend_a) {
		hb_printf(b, "<p class=\"legend\"><span class=\"key a\"></span>%s", legend_a);
		if (legend_b)
			hb_printf(b, " <span class=\"key b\"></span>%s", legend_b);
		hb_raw(b, "</p>");
	}
	hb_raw(b, "</figure>");
}

void chart_line_pct(hbuf *b, const char *title, const chart_point *p, size_t n)
{
	frame_begin(b, title, "line");
	y_axis(b, 100, "%");
	double ph = H - B - T, step = n ? (double)(W - L - R) / (double)n : 0;
	hbuf pts = { 0 };
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i].b <= 0) /* b: how many the rate is of; no sends, no point */
			continue;
		char xy[64];
		snprintf(xy, sizeof xy, "%.1f,%.1f ", L + step * (double)i + step / 2, H - B - ph * p[i].a / 100);
		hb_raw(&pts, xy);
		shown++;
	}
	if (shown > 1)
		hb_printf(b, "<polyline class=\"rate\" fill=\"none\" stroke=\"#1565c0\" stroke-width=\"2\" points=\"%s\"/>",
			  pts.s);
	hb_free(&pts);
	for (size_t i = 0; i < n; i++) {
		if (p[i].b <= 0)
			continue;
		char cx[32], cy[32];
		snprintf(cx, sizeof cx, "%.1f", L + step * (double)i + step / 2);
		snprintf(cy, sizeof cy, "%.1f", H - B - ph * p[i].a / 100);
		hb_printf(b, "<circle class=\"pt\" cx=\"%r\" cy=\"%r\" r=\"3\" fill=\"#1565c0\"><title>%s</title></circle>",
			  cx, cy, p[i].tip ? p[i].tip : "");
	}
	if (!shown)
		empty(b);
	x_labels(b, p, n, step);
	hb_raw(b, "</svg></figure>");
}
