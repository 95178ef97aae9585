/* One allocator per snapshot: every stage allocates into it, one call frees it all,
 * so no stage has to know who owns what another stage produced. */
#ifndef CHANG_ARENA_H
#define CHANG_ARENA_H
#include <stddef.h>

struct arena_chunk;
struct arena {
	struct arena_chunk *head;
	size_t total;		/* bytes handed out, for --stats */
};

void *arena_alloc(struct arena *a, size_t n);	/* zeroed, 16-byte aligned */
void *arena_memdup(struct arena *a, const void *p, size_t n);
char *arena_strdup(struct arena *a, const char *s);	/* NULL stays NULL */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(struct arena *a);

/* n zeroed objects of type in the arena. */
#define ARENA_NEW(a, type, n) ((type *)arena_alloc((a), sizeof(type) * (size_t)(n)))
#endif
