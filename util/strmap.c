#include "util/strmap.h"
#include "util/xalloc.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t slot(const struct strmap *m, const char *key)
{
	size_t i = (size_t)hash(key) & (m->cap - 1);
	while (m->keys[i] && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void grow(struct strmap *m)
{
	struct strmap g = { .cap = m->cap ? m->cap * 2 : 64 };
	g.keys = xcalloc(g.cap, sizeof(*g.keys));
	g.vals = xcalloc(g.cap, sizeof(*g.vals));
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i]) {
			size_t k = slot(&g, m->keys[i]);
			g.keys[k] = m->keys[i];
			g.vals[k] = m->vals[i];
			g.n++;
		}
	strmap_free(m);
	*m = g;
}

void strmap_put(struct strmap *m, const char *key, size_t val)
{
	if ((m->n + 1) * 2 > m->cap)	/* at most half full: probes stay short */
		grow(m);
	size_t k = slot(m, key);
	if (!m->keys[k]) {
		m->keys[k] = key;
		m->n++;
	}
	m->vals[k] = val;
}

bool strmap_get(const struct strmap *m, const char *key, size_t *val)
{
	if (!m->cap)
		return false;
	size_t k = slot(m, key);
	if (!m->keys[k])
		return false;
	*val = m->vals[k];
	return true;
}

void strmap_free(struct strmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->n = 0;
}
