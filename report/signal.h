/* How reports name the signal that made a core: its name, what its si_code says, and who
 * sent it, in one sentence for the text header and as fields for JSON. */
#ifndef CHANG_REPORT_SIGNAL_H
#define CHANG_REPORT_SIGNAL_H
#include <stdio.h>
#include "model/snapshot.h"

/* "SIGABRT", or "signal 42" (in a static buffer for unknown numbers; not reentrant). */
const char *signal_name(int signo);
/* "SI_USER", "SI_TKILL", "SEGV_MAPERR", ...; NULL when chang has no name for it. */
const char *signal_code_name(int signo, int code);
/* One line: "signal: SIGABRT sent by process 812 (uid 0) with kill(); taken by thread 815
 * "worker"", and the note that thread states in a core are inferred. */
void signal_text(FILE *out, const struct snapshot *s);
#endif
