/* Deadlocks through likely holders (locks that record no owner): "inferred deadlock"
 * findings, ranked after the proven ones and worded as inferred, with each edge's evidence. */
#ifndef CHANG_INFERRED_H
#define CHANG_INFERRED_H
#include "analyzers/findings.h"

/* Cycles in the wait-for graph that take at least one likely-holder edge (cycles of
 * recorded owners only are waitgraph_findings'). */
void inferred_findings(struct snapshot *s, struct finding_list *out);
#endif
