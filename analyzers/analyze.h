/* The analyzers: from what the capture froze (registers, syscall, lock words, frames) to what
 * each task waits on, who holds it, and the findings an on-call engineer reads first. */
#ifndef CHANG_ANALYZE_H
#define CHANG_ANALYZE_H
#include "model/snapshot.h"

struct analyze_options {
	int mass_threshold;	/* 0 = default: >=10 threads and >=10% of the process */
};

/* Set every task's state and wait, then fill s->findings ordered by severity. */
void analyze_snapshot(struct snapshot *s, const struct analyze_options *o);

/* The first half of analyze_snapshot: each task's state and wait. A live capture follows
 * the waits that leave the process (attach/xproc.c) between the two halves. */
void analyze_waits(struct snapshot *s);

/* The second half of analyze_snapshot: findings from waits already set on the tasks
 * (tasks sorted by tid). Separate so that hand-built wait graphs can be tested. */
void analyze_findings(struct snapshot *s, const struct analyze_options *o);

/* True when the findings include a deadlock, self-deadlock or abandoned lock (exit code 3). */
bool analyze_found_hang(const struct snapshot *s);
#endif
