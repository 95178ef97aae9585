/* Mirrors Go's text/tabwriter closely (names follow its Writer) so that a difference from
 * Go's padding can be traced to one function of the original. */
#include "report/tabwriter.h"
#include "util/xalloc.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TW_ESCAPE 0xff

struct tw_cell {
	size_t size;		/* bytes in buf */
	int width;		/* runes, as Go counts them */
	bool htab;		/* ended by '\t' rather than '\v' */
};

struct tabwriter {
	FILE *out;
	int minwidth, tabwidth, padding;
	char padchar;
	bool failed;

	char *buf;		/* the text of all buffered cells, without their terminators */
	size_t len, cap;
	size_t pos;		/* start of text whose width is not yet counted */
	struct tw_cell cell;	/* the cell being built */
	unsigned char endchar;	/* inside an escape: the byte that ends it; else 0 */

	/* All buffered lines' cells back to back; line i starts at line_start[i] and the last
	 * line is the one being built. */
	struct tw_cell *cells;
	size_t ncells, cellcap;
	size_t *line_start;
	size_t nlines, linecap;

	int *widths;		/* the column widths known at this depth of format() */
	size_t nwidths, widthcap;
};

/* Go's utf8.RuneCount: a valid sequence is one rune, each byte of an invalid one is one. */
static int rune_count(const unsigned char *p, size_t n)
{
	int runes = 0;
	size_t i = 0;
	while (i < n) {
		unsigned char c = p[i];
		size_t need = 0;
		unsigned char lo = 0x80, hi = 0xbf;
		if (c < 0x80)
			need = 0;
		else if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c == 0xe0)
			need = 2, lo = 0xa0;
		else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
			need = 2;
		else if (c == 0xed)
			need = 2, hi = 0x9f;
		else if (c == 0xf0)
			need = 3, lo = 0x90;
		else if (c >= 0xf1 && c <= 0xf3)
			need = 3;
		else if (c == 0xf4)
			need = 3, hi = 0x8f;
		else {
			runes++, i++;
			continue;
		}
		bool ok = i + need < n;
		if (ok && need) {
			ok = p[i + 1] >= lo && p[i + 1] <= hi;
			for (size_t k = 2; ok && k <= need; k++)
				ok = p[i + k] >= 0x80 && p[i + k] <= 0xbf;
		}
		runes++;
		i += ok ? need + 1 : 1;
	}
	return runes;
}

struct tabwriter *tabwriter_new(FILE *out, int minwidth, int tabwidth, int padding, char padchar)
{
	struct tabwriter *tw = xcalloc(1, sizeof(*tw));
	tw->out = out;
	tw->minwidth = minwidth;
	tw->tabwidth = tabwidth;
	tw->padding = padding;
	tw->padchar = padchar;
	VEC_RESERVE(tw->line_start, tw->linecap, 1);
	tw->line_start[tw->nlines++] = 0;
	return tw;
}

void tabwriter_free(struct tabwriter *tw)
{
	if (!tw)
		return;
	free(tw->buf);
	free(tw->cells);
	free(tw->line_start);
	free(tw->widths);
	free(tw);
}

static void out_write(struct tabwriter *tw, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, tw->out) != n)
		tw->failed = true;
}

static void out_repeat(struct tabwriter *tw, char c, int n)
{
	for (int i = 0; i < n; i++)
		if (putc(c, tw->out) == EOF)
			tw->failed = true;
}

static void append_text(struct tabwriter *tw, const char *p, size_t n)
{
	if (!n)
		return;
	VEC_RESERVE(tw->buf, tw->cap, tw->len + n);
	memcpy(tw->buf + tw->len, p, n);
	tw->len += n;
	tw->cell.size += n;
}

static void update_width(struct tabwriter *tw)
{
	tw->cell.width += rune_count((const unsigned char *)tw->buf + tw->pos, tw->len - tw->pos);
	tw->pos = tw->len;
}

/* Returns the number of cells now in the current line. */
static size_t terminate_cell(struct tabwriter *tw, bool htab)
{
	tw->cell.htab = htab;
	VEC_RESERVE(tw->cells, tw->cellcap, tw->ncells + 1);
	tw->cells[tw->ncells++] = tw->cell;
	memset(&tw->cell, 0, sizeof(tw->cell));
	return tw->ncells - tw->line_start[tw->nlines - 1];
}

static void add_line(struct tabwriter *tw)
{
	VEC_RESERVE(tw->line_start, tw->linecap, tw->nlines + 1);
	tw->line_start[tw->nlines++] = tw->ncells;
}

static void line_cells(const struct tabwriter *tw, size_t i, size_t *first, size_t *n)
{
	size_t end = i + 1 < tw->nlines ? tw->line_start[i + 1] : tw->ncells;
	*first = tw->line_start[i];
	*n = end - *first;
}

static void end_escape(struct tabwriter *tw)
{
	update_width(tw);
	tw->cell.width -= 2;	/* the two escape bytes are written but take no room */
	tw->pos = tw->len;
	tw->endchar = 0;
}

static void write_padding(struct tabwriter *tw, int textw, int cellw)
{
	if (tw->padchar == '\t') {
		if (tw->tabwidth == 0)
			return;	/* tabs have no width: no padding can be done */
		cellw = (cellw + tw->tabwidth - 1) / tw->tabwidth * tw->tabwidth;
		int n = cellw - textw;
		out_repeat(tw, '\t', (n + tw->tabwidth - 1) / tw->tabwidth);
		return;
	}
	out_repeat(tw, tw->padchar, cellw - textw);
}

static size_t write_lines(struct tabwriter *tw, size_t pos, size_t line0, size_t line1)
{
	for (size_t i = line0; i < line1; i++) {
		size_t first, n;
		line_cells(tw, i, &first, &n);
		for (size_t j = 0; j < n; j++) {
			const struct tw_cell *c = &tw->cells[first + j];
			if (c->size > 0) {
				out_write(tw, tw->buf + pos, c->size);
				pos += c->size;
			}
			if (j < tw->nwidths)
				write_padding(tw, c->width, tw->widths[j]);
		}
		if (i + 1 == tw->nlines) {
			/* the line being built has no newline yet: only its open cell's text */
			out_write(tw, tw->buf + pos, tw->cell.size);
			pos += tw->cell.size;
		} else {
			out_write(tw, "\n", 1);
		}
	}
	return pos;
}

/* Go's Writer.format: finds the block of lines that have a cell in the next column, fixes
 * that column's width, and recurses for the columns to its right within the block. The last
 * cell of a line is text after its last tab and belongs to no column. */
static size_t format(struct tabwriter *tw, size_t pos, size_t line0, size_t line1)
{
	size_t column = tw->nwidths;
	for (size_t this = line0; this < line1; this++) {
		size_t first, n;
		line_cells(tw, this, &first, &n);
		if (n == 0 || column >= n - 1)
			continue;
		pos = write_lines(tw, pos, line0, this);
		line0 = this;

		int width = tw->minwidth;
		for (; this < line1; this++) {
			line_cells(tw, this, &first, &n);
			if (n == 0 || column >= n - 1)
				break;
			int w = tw->cells[first + column].width + tw->padding;
			if (w > width)
				width = w;
		}

		VEC_RESERVE(tw->widths, tw->widthcap, tw->nwidths + 1);
		tw->widths[tw->nwidths++] = width;
		pos = format(tw, pos, line0, this);
		tw->nwidths--;
		line0 = this;
	}
	return write_lines(tw, pos, line0, line1);
}

static void reset(struct tabwriter *tw)
{
	tw->len = 0;
	tw->pos = 0;
	memset(&tw->cell, 0, sizeof(tw->cell));
	tw->endchar = 0;
	tw->ncells = 0;
	tw->nlines = 0;
	tw->nwidths = 0;
	add_line(tw);
}

static void flush_buffered(struct tabwriter *tw)
{
	if (tw->cell.size > 0) {
		if (tw->endchar)
			end_escape(tw);	/* an unterminated escape ends here */
		terminate_cell(tw, false);
	}
	format(tw, 0, 0, tw->nlines);
	reset(tw);
}

void tabwriter_write(struct tabwriter *tw, const char *buf, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if (tw->endchar) {
			if (ch == tw->endchar) {
				append_text(tw, buf + n, i + 1 - n);
				n = i + 1;
				end_escape(tw);
			}
			continue;
		}
		switch (ch) {
		case '\t': case '\v': case '\n': case '\f': {
			append_text(tw, buf + n, i - n);
			update_width(tw);
			n = i + 1;
			size_t ncells = terminate_cell(tw, ch == '\t');
			if (ch == '\n' || ch == '\f') {
				add_line(tw);
				/* A line of one cell cannot widen any column, so nothing buffered
				 * can change: Go flushes here, which also bounds the buffer. */
				if (ch == '\f' || ncells == 1)
					flush_buffered(tw);
			}
			break;
		}
		case TW_ESCAPE:
			append_text(tw, buf + n, i - n);
			update_width(tw);
			n = i;
			tw->endchar = TW_ESCAPE;
			break;
		default:
			break;
		}
	}
	append_text(tw, buf + n, len - n);
}

void tabwriter_puts(struct tabwriter *tw, const char *s)
{
	tabwriter_write(tw, s, strlen(s));
}

void tabwriter_printf(struct tabwriter *tw, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		tw->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		tabwriter_write(tw, small, (size_t)n);
		return;
	}
	char *big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	tabwriter_write(tw, big, (size_t)n);
	free(big);
}

int tabwriter_flush(struct tabwriter *tw)
{
	flush_buffered(tw);
	if (fflush(tw->out) == EOF || ferror(tw->out))
		tw->failed = true;
	return tw->failed ? -1 : 0;
}
