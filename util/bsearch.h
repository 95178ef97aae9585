/* Binary search over sorted arrays, once for the whole tree (maps, regions, symbols, tasks,
 * findings all need "the first element at or above" or "the last at or below" a key).
 * cmp(key, elem) < 0, 0, > 0 as key is before, at, after elem, the way bsearch(3) calls it. */
#ifndef CHANG_BSEARCH_H
#define CHANG_BSEARCH_H
#include <stddef.h>

typedef int (*bsearch_cmp)(const void *key, const void *elem);

/* The index of the first element not before key (n when every element is before it). */
size_t lower_bound(const void *base, size_t n, size_t size, const void *key, bsearch_cmp cmp);
/* The index of the first element after key (n when none is): the elements at or below key
 * are base[0 .. upper_bound). */
size_t upper_bound(const void *base, size_t n, size_t size, const void *key, bsearch_cmp cmp);
#endif
