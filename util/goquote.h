#ifndef CHANG_GOQUOTE_H
#define CHANG_GOQUOTE_H
#include <stddef.h>
#include "util/arena.h"
/* s[0..len) quoted as Go's strconv.Quote would, in the arena. */
char *go_quote(struct arena *a, const char *s, size_t len);
#endif
