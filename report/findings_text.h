/* The findings section at the top of the text report: deadlocks as jstack prints them (who
 * waits for which lock held by whom, then the stacks of the threads in the cycle, then
 * "Found N deadlocks."), then the other findings, each with the stack that matters. */
#ifndef CHANG_FINDINGS_TEXT_H
#define CHANG_FINDINGS_TEXT_H
#include <stdio.h>
#include "model/snapshot.h"

void report_findings_text(FILE *out, const struct snapshot *s);
/* The waits that leave the process, one line each (live captures that found any). */
void report_xproc_text(FILE *out, const struct snapshot *s);
#endif
