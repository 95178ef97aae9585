/* A minimal streaming JSON writer: commas, nesting and string escaping in one place so
 * the JSON report cannot emit invalid JSON whatever the target's strings hold. */
#ifndef CHANG_JSONW_H
#define CHANG_JSONW_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct jsonw {
	FILE *out;
	int depth;
	bool first[64];
	bool after_key;
	int indent;		/* 0 = compact */
};

void jw_init(struct jsonw *w, FILE *out, int indent);
void jw_obj(struct jsonw *w);
void jw_obj_end(struct jsonw *w);
void jw_arr(struct jsonw *w);
void jw_arr_end(struct jsonw *w);
void jw_key(struct jsonw *w, const char *k);
void jw_str(struct jsonw *w, const char *s);	/* NULL -> null */
void jw_int(struct jsonw *w, long long v);
void jw_uint(struct jsonw *w, unsigned long long v);
void jw_double(struct jsonw *w, double v);
void jw_bool(struct jsonw *w, bool v);
void jw_null(struct jsonw *w);
void jw_hex(struct jsonw *w, uint64_t v);	/* "0x..." string */
#endif
