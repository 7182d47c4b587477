/* billing-cli: output — colours, tables sized to the terminal, progress bars. */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

int cli_term_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *c = getenv("COLUMNS");
	long long n;
	if (c && cli_num(c, 20, 10000, &n))
		return (int)n;
	return 0;
}

const char *cli_c(const cli_state *st, const char *code)
{
	static char buf[8][16];
	static int k;
	if (!st->color)
		return "";
	char *b = buf[k++ % 8];
	snprintf(b, sizeof buf[0], "\033[%sm", code);
	return b;
}

const char *cli_status_color(const char *s)
{
	static const struct {
		const char *word, *color;
	} M[] = {
		{ "COMPLETED", C_GREEN }, { "SUCCESS", C_GREEN },   { "SENT", C_GREEN },
		{ "FAILED", C_RED },      { "DEAD", C_RED },        { "STOPPED", C_YELLOW },
		{ "EXCEEDED", C_YELLOW }, { "WAITING", C_YELLOW },  { "CANCELED", C_DIM },
		{ "STARTED", C_CYAN },    { "PROCESSING", C_CYAN },  { "BOUNCED", C_RED },
		{ "SUPPRESSED", C_DIM },  { "DELIVERED", C_GREEN },  { "UNDELIVERED", C_RED },
	};
	for (size_t i = 0; s && i < sizeof M / sizeof M[0]; i++)
		if (!strcmp(s, M[i].word))
			return M[i].color;
	return NULL;
}

/* ---- display width of UTF-8 text (locale-independent) ---- */

static unsigned cp_width(unsigned cp)
{
	if (cp >= 0x300 && cp <= 0x36F)
		return 0; /* combining marks */
	if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
	    (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
	    (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
	    (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1FAFF) ||
	    (cp >= 0x20000 && cp <= 0x3FFFD))
		return 2; /* Hangul, CJK, full-width forms, emoji */
	return 1;
}

/* Decode one code point at s (n bytes); returns its length in bytes. */
static size_t utf8_next(const char *s, unsigned *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	int len = u[0] >= 0xF0 ? 4 : u[0] >= 0xE0 ? 3 : u[0] >= 0xC0 ? 2 : 1;
	unsigned v = len == 4 ? u[0] & 7u : len == 3 ? u[0] & 15u : u[0] & 31u;
	for (int i = 1; i < len; i++) {
		if ((u[i] & 0xC0) != 0x80) {
			*cp = 0xFFFD;
			return (size_t)i;
		}
		v = v << 6 | (u[i] & 63u);
	}
	*cp = len == 1 ? 0xFFFD : v;
	return (size_t)len;
}

int cli_text_width(const char *s)
{
	int w = 0;
	unsigned cp;
	while (*s) {
		s += utf8_next(s, &cp);
		w += cp < 0x20 ? 0 : (int)cp_width(cp);
	}
	return w;
}

/* Print `s` in exactly `w` columns: truncated with '…' or padded. */
static void put_cell(FILE *f, const char *s, int w, bool right, bool last, const char *color,
		     const cli_state *st)
{
	int tw = cli_text_width(s);
	const char *on = color ? cli_c(st, color) : "", *off = color && st->color ? "\033[0m" : "";
	if (tw <= w) {
		if (right)
			fprintf(f, "%*s", w - tw, "");
		fprintf(f, "%s", on);
		for (; *s; s++) /* control characters (newlines) as spaces */
			fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
		fprintf(f, "%s", off);
		if (!right && !last)
			fprintf(f, "%*s", w - tw, "");
		return;
	}
	int used = 0;
	unsigned cp;
	fprintf(f, "%s", on);
	while (*s) {
		size_t n = utf8_next(s, &cp);
		int cw = cp < 0x20 ? 0 : (int)cp_width(cp);
		if (used + cw > w - 1)
			break;
		if (cp >= 0x20)
			fwrite(s, 1, n, f);
		used += cw;
		s += n;
	}
	fprintf(f, "…%s%*s", off, last ? 0 : w - 1 - used, "");
}

/* ---- tables ---- */

struct cli_table {
	int ncols;
	char **head;
	bool *right;
	char ***rows;
	size_t nrows, cap;
};

cli_table *cli_table_new(int ncols, const char *const *headers)
{
	cli_table *t = calloc(1, sizeof *t);
	if (!t)
		abort();
	t->ncols = ncols;
	t->head = calloc((size_t)ncols, sizeof *t->head);
	t->right = calloc((size_t)ncols, sizeof *t->right);
	if (!t->head || !t->right)
		abort();
	for (int i = 0; i < ncols; i++)
		t->head[i] = strdup(headers[i]);
	return t;
}

void cli_table_right(cli_table *t, int col)
{
	if (col >= 0 && col < t->ncols)
		t->right[col] = true;
}

void cli_table_row(cli_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->rows = realloc(t->rows, t->cap * sizeof *t->rows);
		if (!t->rows)
			abort();
	}
	char **r = calloc((size_t)t->ncols, sizeof *r);
	if (!r)
		abort();
	for (int i = 0; i < t->ncols; i++)
		r[i] = strdup(cells[i] ? cells[i] : "-");
	t->rows[t->nrows++] = r;
}

void cli_table_row_json(cli_table *t, const json_t *obj, const char *const *keys)
{
	char **cells = calloc((size_t)t->ncols, sizeof *cells);
	if (!cells)
		abort();
	for (int i = 0; i < t->ncols; i++) {
		const char *k = keys[i];
		bool money = k[0] == '$';
		if (k[0] == '$' || k[0] == '#')
			k++;
		json_t *v = json_object_get(obj, k);
		char buf[64];
		if (json_is_string(v))
			cells[i] = strdup(json_string_value(v));
		else if (json_is_integer(v) && money)
			cells[i] = strdup(cli_won(json_integer_value(v), buf));
		else if (json_is_integer(v)) {
			snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
			cells[i] = strdup(buf);
		} else if (json_is_real(v)) {
			snprintf(buf, sizeof buf, "%.2f", json_real_value(v));
			cells[i] = strdup(buf);
		} else if (json_is_boolean(v))
			cells[i] = strdup(json_is_true(v) ? "yes" : "no");
		else if (v && !json_is_null(v))
			cells[i] = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	}
	cli_table_row(t, (const char *const *)cells);
	for (int i = 0; i < t->ncols; i++)
		free(cells[i]);
	free(cells);
}

void cli_table_print(const cli_state *st, cli_table *t)
{
	int n = t->ncols, *w = calloc((size_t)n, sizeof *w), *minw = calloc((size_t)n, sizeof *minw);
	if (!w || !minw)
		abort();
	for (int i = 0; i < n; i++) {
		w[i] = cli_text_width(t->head[i]);
		for (size_t r = 0; r < t->nrows; r++) {
			int cw = cli_text_width(t->rows[r][i]);
			w[i] = cw > w[i] ? cw : w[i];
		}
		minw[i] = w[i] < 8 ? w[i] : 8; /* short columns stay whole */
	}
	int limit = cli_term_width();
	if (limit > 0) {
		/* shrink the widest column one step at a time until the row fits */
		for (;;) {
			int total = 2 * (n - 1), widest = -1;
			for (int i = 0; i < n; i++) {
				total += w[i];
				if (w[i] > minw[i] && (widest < 0 || w[i] > w[widest]))
					widest = i;
			}
			if (total <= limit || widest < 0)
				break;
			w[widest]--;
		}
	}
	for (int i = 0; i < n; i++) {
		if (i)
			fputs("  ", stdout);
		put_cell(stdout, t->head[i], w[i], t->right[i], i == n - 1, C_BOLD, st);
	}
	fputc('\n', stdout);
	for (size_t r = 0; r < t->nrows; r++) {
		for (int i = 0; i < n; i++) {
			if (i)
				fputs("  ", stdout);
			put_cell(stdout, t->rows[r][i], w[i], t->right[i], i == n - 1,
				 cli_status_color(t->rows[r][i]), st);
		}
		fputc('\n', stdout);
	}
	free(w);
	free(minw);
}

void cli_table_free(cli_table *t)
{
	if (!t)
		return;
	for (size_t r = 0; r < t->nrows; r++) {
		for (int i = 0; i < t->ncols; i++)
			free(t->rows[r][i]);
		free(t->rows[r]);
	}
	for (int i = 0; i < t->ncols; i++)
		free(t->head[i]);
	free(t->rows);
	free(t->head);
	free(t->right);
	free(t);
}

const char *cli_i64(int64_t v, char buf[32])
{
	snprintf(buf, 32, "%lld", (long long)v);
	return buf;
}

void cli_table_done(const cli_state *st, cli_table *t)
{
	if (t->nrows)
		cli_table_print(st, t);
	else
		printf("(none)\n");
	cli_table_free(t);
}

void cli_print_rows(const cli_state *st, const char *json, const char *const *headers,
		    const char *const *keys, int ncols)
{
	if (st->json) {
		puts(json);
		return;
	}
	json_t *a = json_loads(json, 0, NULL), *r;
	cli_table *t = cli_table_new(ncols, headers);
	for (int i = 0; i < ncols; i++)
		if (keys[i][0] == '$' || keys[i][0] == '#')
			cli_table_right(t, i);
	size_t i;
	json_array_foreach(a, i, r)
		cli_table_row_json(t, r, keys);
	if (json_array_size(a))
		cli_table_print(st, t);
	else
		printf("(none)\n");
	cli_table_free(t);
	json_decref(a);
}

/* ---- progress ---- */

double cli_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void cli_progress_start(cli_progress *p, const cli_state *st, const char *label)
{
	memset(p, 0, sizeof *p);
	p->on = st->progress;
	p->label = label;
	p->t0 = cli_now();
}

static void fmt_secs(double s, char out[16])
{
	unsigned v = s < 0 ? 0 : s > 359999 ? 359999 : (unsigned)(s + 0.5); /* < 100 h */
	if (v >= 3600)
		snprintf(out, 16, "%u:%02u:%02u", v / 3600 % 100, v / 60 % 60, v % 60);
	else
		snprintf(out, 16, "%u:%02u", v / 60 % 60, v % 60);
}

void cli_progress_update(cli_progress *p, int64_t done, int64_t total)
{
	p->done = done;
	p->total = total;
	if (!p->on)
		return;
	double now = cli_now();
	if (now - p->last < 0.1 && done < total)
		return;
	p->last = now;
	double el = now - p->t0, rate = el > 0 ? (double)done / el : 0;
	char a[32], b[32], r[32], eta[16] = "-";
	if (rate > 0 && total > done)
		fmt_secs((double)(total - done) / rate, eta);
	int width = cli_term_width();
	int barw = width >= 100 ? 30 : width >= 70 ? 20 : 10;
	if (total > 0) {
		int pct = (int)(done * 100 / total), fill = (int)(done * barw / total);
		fprintf(stderr, "\r\033[K%s [", p->label);
		for (int i = 0; i < barw; i++)
			fputs(i < fill ? "█" : "░", stderr);
		fprintf(stderr, "] %3d%% %s/%s  %s/s  ETA %s", pct, cli_won(done, a), cli_won(total, b),
			cli_won((int64_t)rate, r), eta);
	} else {
		fprintf(stderr, "\r\033[K%s %s  %s/s", p->label, cli_won(done, a), cli_won((int64_t)rate, r));
	}
	fflush(stderr);
}

void cli_progress_end(cli_progress *p)
{
	if (p->on && p->last > 0) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

void cli_print_json(const char *json)
{
	json_error_t err;
	json_t *j = json_loads(json, 0, &err);
	if (!j) {
		puts(json);
		return;
	}
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(s ? s : json);
	free(s);
	json_decref(j);
}

const char *cli_won(int64_t v, char buf[32])
{
	char tmp[32];
	bool neg = v < 0;
	uint64_t u = neg ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
	int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)u), o = 0;
	if (neg)
		buf[o++] = '-';
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

void cli_print_obj(json_t *obj)
{
	char *s = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) : NULL;
	puts(s ? s : "{}");
	free(s);
	json_decref(obj);
}
