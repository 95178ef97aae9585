/* Groups of identical stacks in the grammar of Go's goroutine?debug=1 profile, padded by a
 * port of Go's tabwriter, so that `go tool pprof` and tools that parse Go dumps read it. */
#ifndef CHANG_DEBUG1_H
#define CHANG_DEBUG1_H
#include <stdbool.h>
#include <stdio.h>
#include "model/snapshot.h"
#include "util/err.h"

/* A Go target is one whose snapshot holds goroutines: its groups, and so its profiles, are
 * of goroutines and are named as Go names them ("goroutine profile"). */
bool report_go_target(const struct snapshot *s);
/* What a profile counts, the set snapshot_group() grouped: the goroutines of a Go target,
 * else the threads. */
const struct task *report_profiled_tasks(const struct snapshot *s, size_t *n);

/* Each of s->groups (in their order): "COUNT @ 0xPC …", then "#\t0xPC\tFUNC+0xOFF\tFILE:LINE"
 * per logical frame (inlined callees first), then an empty line. With thread_comments, "# "
 * lines naming the group's threads and what they wait on follow the "@" line, where Go puts
 * its "# labels:" line. Write errors are left in the stream's error flag. */
void report_debug1_groups(FILE *out, const struct snapshot *s, bool thread_comments);

/* The whole --format=goroutine file: "threads profile: total N" ("goroutine profile: …" for
 * Go targets) and the groups, byte-compatible with Go's debug=1 output. */
int report_goroutine(FILE *out, const struct snapshot *s, struct err *e);
#endif
