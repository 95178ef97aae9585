/* Following a live target's waits out of the process, without stopping anyone: the
 * processes holding the other end of a pipe or socket it blocks on, the child it waits
 * for, the holder of a file lock it wants, the process whose thread owns a process-shared
 * mutex; then what each of those processes is doing, and where its own waits lead, up to
 * a bound. Fills s->xprocs and s->xedges (model/snapshot.h); runs after the target's own
 * waits were decoded and before the findings. */
#ifndef CHANG_XPROC_H
#define CHANG_XPROC_H
#include "model/snapshot.h"

#define XPROC_MAX_PROCESSES 64

void xproc_follow(struct snapshot *s);
#endif
