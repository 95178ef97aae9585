/* --format=pprof: the snapshot as a gzipped perftools.profiles Profile, so that
 * `go tool pprof` (-top, -traces, -tags, -tagfocus, -http, -base) opens it directly. */
#ifndef CHANG_PPROF_H
#define CHANG_PPROF_H
#include <stddef.h>
#include <stdio.h>
#include "model/snapshot.h"
#include "util/err.h"

/* One sample (value 1, leaf first) per thread, or per goroutine for a Go target, labelled
 * with tid (goid for goroutines), thread, state, wait,
 * wait_object, owner_tid and finding; locations per distinct PC with their inlined frames,
 * functions, one mapping per module, and the findings' summaries as comments. */
int report_pprof(FILE *out, const struct snapshot *s, struct err *e);

/* The file name used when -o names a directory: "chang-PID-YYYYmmdd-HHMMSS.pb.gz", the
 * capture time in UTC as the text report's header gives it, joined to dir unless dir is NULL
 * or empty. */
int report_pprof_default_name(char *buf, size_t size, const char *dir, const struct snapshot *s,
			      struct err *e);
#endif
