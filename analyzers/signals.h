/* Signal frames: the signal a handler runs for (from the kernel's frame on the stack), and
 * handlers blocked in what a handler must not call. */
#ifndef CHANG_SIGNALS_H
#define CHANG_SIGNALS_H
#include "analyzers/findings.h"

/* Give every signal frame of every thread its signal's name, read from the rt_sigframe the
 * kernel pushed ("<signal handler called> (SIGHUP)"). */
void signal_frames_name(struct snapshot *s);
/* "SIGHUP" when the thread's wait runs inside a signal handler ("a signal" when its name
 * could not be read), NULL otherwise. */
const char *signal_handler_of(const struct task *t);
/* A handler blocked inside a function that is not async-signal-safe (malloc, stdio, a mutex):
 * a finding even when nothing records an owner. */
void signal_findings(struct snapshot *s, struct finding_list *out);
#endif
