/* --format=dot: the wait-for graph for graphviz. Threads and locks are nodes; a thread
 * points at the lock it waits for, a lock at the thread holding it; deadlock cycles are
 * red, root blockers orange, owners that exited dashed. Crowds of plain waiters on one
 * object are drawn as one "N threads" node, so 2,000 threads still render. */
#ifndef CHANG_DOT_H
#define CHANG_DOT_H
#include <stdio.h>
#include "model/snapshot.h"
#include "util/err.h"

int report_dot(FILE *out, const struct snapshot *s, struct err *e);
#endif
