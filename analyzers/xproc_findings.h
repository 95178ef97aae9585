/* Findings across processes (deadlocks through pipes, sockets, file locks and waitpid;
 * locks held by a thread of another process), from s->xprocs and s->xedges. */
#ifndef CHANG_XPROC_FINDINGS_H
#define CHANG_XPROC_FINDINGS_H
#include "analyzers/findings.h"

void xproc_findings(struct snapshot *s, struct finding_list *out);
#endif
