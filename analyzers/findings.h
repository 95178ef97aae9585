/* Findings as the analyzers build them: appended on the heap in each analyzer's own order,
 * then ordered by severity, numbered per kind and frozen into the snapshot's arena. */
#ifndef CHANG_FINDINGS_H
#define CHANG_FINDINGS_H
#include "model/snapshot.h"

struct finding_list {
	struct finding *v;
	size_t n, cap;
};

/* A zeroed finding appended to l (valid until the next push). */
struct finding *findings_push(struct finding_list *l, enum finding_kind kind);
/* Sort by severity (stable within a kind), set seq, copy into s->findings; frees l. */
void findings_commit(struct snapshot *s, struct finding_list *l);

/* Deadlocks, self-deadlocks, abandoned locks and blocking chains, from the wait-for graph
 * (task -> the thread holding what it waits on). Clears the idle mark of every thread
 * that others wait for: whatever it does, it is a suspect. */
void waitgraph_findings(struct snapshot *s, struct finding_list *out);
/* Several threads blocked on connections to one peer that does not answer. */
void netwait_findings(struct snapshot *s, struct finding_list *out);
/* Many threads on one object; threshold 0 means the default (>=10 and >=10%). */
void mass_findings(struct snapshot *s, int threshold, struct finding_list *out);
#endif
