#include "analyzers/findings.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

struct finding *findings_push(struct finding_list *l, enum finding_kind kind)
{
	VEC_RESERVE(l->v, l->cap, l->n + 1);
	struct finding *f = &l->v[l->n++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->object.fd = -1;
	return f;
}

void findings_commit(struct snapshot *s, struct finding_list *l)
{
	/* Counting sort by kind keeps each analyzer's order within its kind. */
	struct finding *v = ARENA_NEW(&s->arena, struct finding, l->n ? l->n : 1);
	size_t k = 0;
	/* Within a kind, what owner fields prove comes before what is inferred. */
	for (int kind = 0; kind < FINDING__COUNT; kind++) {
		int seq = 0;
		for (int inferred = 0; inferred < 2; inferred++)
			for (size_t i = 0; i < l->n; i++) {
				if ((int)l->v[i].kind != kind || l->v[i].inferred != inferred)
					continue;
				v[k] = l->v[i];
				v[k].seq = ++seq;
				k++;
			}
	}
	s->findings = v;
	s->nfindings = k;
	free(l->v);
	memset(l, 0, sizeof(*l));
}
