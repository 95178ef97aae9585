/* Go's strconv.Quote (the %q verb): how Go prints strings in its profiles (pprof labels)
 * and how chang quotes thread names in the same files, so readers can split them. */
#include "util/goquote.h"
#include "util/xalloc.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *rune)
{
	unsigned char c = p[0];
	if (c < 0x80) {
		*rune = c;
		return 1;
	}
	size_t need;
	uint32_t r, min;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1, r = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, r = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, r = c & 0x07, min = 0x10000;
	else
		return 0;
	if (need >= n)
		return 0;
	for (size_t k = 1; k <= need; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		r = (r << 6) | (p[k] & 0x3f);
	}
	if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
		return 0;
	*rune = r;
	return need + 1;
}

/* unicode.IsPrint for runes above ASCII, close enough for label text: the controls,
 * format characters and separators Go escapes. */
static bool is_print(uint32_t r)
{
	if (r < 0xa1)
		return r >= 0x20 && r < 0x7f;
	if (r == 0xad || (r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
	    (r >= 0x205f && r <= 0x206f) || r == 0x3000 || r == 0xfeff || (r >= 0xfff9 && r <= 0xfffb) ||
	    (r >= 0xe000 && r <= 0xf8ff) || r >= 0xf0000 || (r & 0xfffe) == 0xfffe)
		return false;
	return true;
}

char *go_quote(struct arena *a, const char *s, size_t len)
{
	size_t cap = len * 10 + 3, o = 0;
	char *out = xmalloc(cap);
	const unsigned char *p = (const unsigned char *)s;
	out[o++] = '"';
	for (size_t i = 0; i < len;) {
		uint32_t r;
		size_t n = utf8_decode(p + i, len - i, &r);
		if (n == 0) {
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
			i++;
			continue;
		}
		const char *esc = NULL;
		switch (r) {
		case '\a': esc = "\\a"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\v': esc = "\\v"; break;
		case '\\': esc = "\\\\"; break;
		case '"': esc = "\\\""; break;
		default: break;
		}
		if (esc)
			o += (size_t)snprintf(out + o, cap - o, "%s", esc);
		else if (is_print(r)) {
			memcpy(out + o, p + i, n);
			o += n;
		} else if (r < 0x80)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", r);
		else if (r < 0x10000)
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", r);
		else
			o += (size_t)snprintf(out + o, cap - o, "\\U%08x", r);
		i += n;
	}
	out[o++] = '"';
	char *res = arena_strndup(a, out, o);
	free(out);
	return res;
}

