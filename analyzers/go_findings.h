/* Findings about the goroutines go/ read into the model. */
#ifndef CHANG_GO_FINDINGS_H
#define CHANG_GO_FINDINGS_H
#include "analyzers/findings.h"
#include "model/snapshot.h"

/* Mass blocking on a channel or sync object (threshold as for threads: 0 means >=10
 * goroutines and >=10%), lock cycles (inferred, as Go mutexes record no owner), and a
 * warning when there are very many goroutines. */
void go_findings(struct snapshot *s, int threshold, struct finding_list *l);
#endif
