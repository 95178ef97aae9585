/* The output formats: each is a translation of the snapshot, never a second model. */
#ifndef CHANG_REPORT_H
#define CHANG_REPORT_H
#include <stdio.h>
#include "model/snapshot.h"
#include "util/err.h"

enum report_format { FMT_TEXT, FMT_THREADS, FMT_JSON, FMT_GOROUTINE, FMT_PPROF, FMT_DOT };

int report_parse_format(const char *name, enum report_format *out);
const char *report_format_name(enum report_format f);
int report_write(FILE *out, enum report_format f, const struct snapshot *s, struct err *e);

int report_text(FILE *out, const struct snapshot *s, struct err *e);
int report_threads(FILE *out, const struct snapshot *s, struct err *e);
int report_json(FILE *out, const struct snapshot *s, struct err *e);
/* Several processes captured together: {"processes": [each as report_json], "findings":
 * [the findings across processes, once each]}. */
int report_json_set(FILE *out, const struct snapshot *const *ss, size_t n, struct err *e);
/* "2026-11-22 02:40:00 UTC" */
void report_format_time(uint64_t ns, char *buf, size_t cap);
#endif
