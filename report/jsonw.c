#include "report/jsonw.h"
#include <string.h>

void jw_init(struct jsonw *w, FILE *out, int indent)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->indent = indent;
	w->first[0] = true;
}

static void newline(struct jsonw *w)
{
	if (!w->indent)
		return;
	fputc('\n', w->out);
	for (int i = 0; i < w->depth * w->indent; i++)
		fputc(' ', w->out);
}

static void value_prefix(struct jsonw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0) {
		if (!w->first[w->depth])
			fputc(',', w->out);
		w->first[w->depth] = false;
		newline(w);
	}
}

static void open(struct jsonw *w, char c)
{
	value_prefix(w);
	fputc(c, w->out);
	if (w->depth < 63)
		w->depth++;
	w->first[w->depth] = true;
}

static void close_(struct jsonw *w, char c)
{
	bool empty = w->first[w->depth];
	if (w->depth > 0)
		w->depth--;
	if (!empty)
		newline(w);
	fputc(c, w->out);
	if (w->depth == 0 && w->indent)
		fputc('\n', w->out);
}

void jw_obj(struct jsonw *w) { open(w, '{'); }
void jw_obj_end(struct jsonw *w) { close_(w, '}'); }
void jw_arr(struct jsonw *w) { open(w, '['); }
void jw_arr_end(struct jsonw *w) { close_(w, ']'); }

static void put_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\t': fputs("\\t", out); break;
		case '\r': fputs("\\r", out); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\u%04x", *p);
			else if (*p >= 0x80) {
				/* Pass valid UTF-8 through; escape stray bytes so the output stays valid. */
				int len = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
				int ok = len > 0;
				for (int i = 1; ok && i < len; i++)
					ok = (p[i] & 0xc0) == 0x80;
				if (ok) {
					fwrite(p, 1, (size_t)len, out);
					p += len - 1;
				} else {
					fprintf(out, "\\u%04x", *p);
				}
			} else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

void jw_key(struct jsonw *w, const char *k)
{
	value_prefix(w);
	put_string(w->out, k);
	fputs(w->indent ? ": " : ":", w->out);
	w->after_key = true;
}

void jw_str(struct jsonw *w, const char *s)
{
	if (!s) {
		jw_null(w);
		return;
	}
	value_prefix(w);
	put_string(w->out, s);
}

void jw_int(struct jsonw *w, long long v)
{
	value_prefix(w);
	fprintf(w->out, "%lld", v);
}

void jw_uint(struct jsonw *w, unsigned long long v)
{
	value_prefix(w);
	fprintf(w->out, "%llu", v);
}

void jw_double(struct jsonw *w, double v)
{
	value_prefix(w);
	fprintf(w->out, "%.3f", v);
}

void jw_bool(struct jsonw *w, bool v)
{
	value_prefix(w);
	fputs(v ? "true" : "false", w->out);
}

void jw_null(struct jsonw *w)
{
	value_prefix(w);
	fputs("null", w->out);
}

void jw_hex(struct jsonw *w, uint64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "0x%llx", (unsigned long long)v);
	jw_str(w, b);
}
