/* A map from strings to indexes, for lookups by name in loops over many items (a core's
 * 20,000 mapped files were matched to modules by a linear search each: quadratic). The map
 * keeps the callers' string pointers, which must outlive it; it never removes. */
#ifndef CHANG_STRMAP_H
#define CHANG_STRMAP_H
#include <stdbool.h>
#include <stddef.h>

struct strmap {
	const char **keys;
	size_t *vals;
	size_t cap, n;		/* cap: a power of two, or 0 before the first put */
};

/* Sets key's value (adding the key or replacing its value). */
void strmap_put(struct strmap *m, const char *key, size_t val);
bool strmap_get(const struct strmap *m, const char *key, size_t *val);
void strmap_free(struct strmap *m);
#endif
