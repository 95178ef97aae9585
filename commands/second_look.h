/* A second look at a live process, without stopping it: a finding that no owner field
 * proves (mass blocking, a blocking chain) stands only if its threads are seen in the same
 * waits, with no CPU time and no wake-ups, over a short interval after the capture (the
 * /proc sampling chang watch does). A busy, healthy service passes through such states all
 * the time; a hang stays in them. With --no-stop, where threads and lock words were read at
 * different moments, every finding needs the look. Goroutine findings of that kind stand
 * when their goroutines' g structs (status, wait reason, saved PC and SP, the count of
 * times each stopped running) read as at the capture at both ends of the interval
 * (process_vm_readv, no stop; go/watch.c says what is read); when at least half of a mass finding's goroutines did and others moved on, it
 * stays, marked maybe normal. */
#ifndef CHANG_SECOND_LOOK_H
#define CHANG_SECOND_LOOK_H
#include "model/snapshot.h"

/* Default length of the look, in ms (--second-look). */
#define SECOND_LOOK_DEFAULT_MS 150

/* For a live snapshot with such findings: sample, wait ms, sample again; keep the findings
 * whose threads or goroutines held still (confirmed_ms set), drop the others
 * (dropped_findings counts them). Nothing happens for cores, for ms == 0, or when the process is gone. */
void second_look(struct snapshot *s, unsigned ms);

struct sample;
/* The judgement alone, on two samples taken ms apart (for tests). */
void second_look_judge(struct snapshot *s, const struct sample *a, const struct sample *b, int ms);
#endif
