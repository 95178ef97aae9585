/* chang attach: freeze a live process, copy what later stages need, thaw it, and hand
 * back a target that is just a memory image from then on. */
#ifndef CHANG_LIVE_TARGET_H
#define CHANG_LIVE_TARGET_H
#include "model/snapshot.h"
#include "image/target.h"
#include "util/err.h"

/* Freeze, copy, thaw: returns with the process running again and the copy in the target. */
struct target *live_target_capture(pid_t pid, const struct target_options *o, struct snapshot *s,
				   struct err *e);

/* Several processes in one snapshot of time: each prepared first (what costs nothing), then
 * all frozen, all copied, all thawed, so that waits between them are consistent. */
struct live_capture;
struct live_capture *live_capture_prepare(pid_t pid, const struct target_options *o, struct snapshot *s,
					  struct err *e);
/* Freeze, copy and thaw every prepared cs[i] (NULL entries are skipped); out[i] is the
 * target, or NULL with errs[i] set. The cs are consumed. Returns how many were captured. */
size_t live_capture_many(size_t n, struct live_capture **cs, struct target **out, struct err *errs);
/* After the thaw, what needs no freeze: thread names and states, open files, the module
 * files. Other work (symbols/debugfile.h) may run beside it. */
void live_target_inspect(struct target *t);
/* The files behind the captured process's executable mappings, as chang can open them
 * (through /proc/PID/root), for work that can start before live_target_inspect opens them;
 * the array and its strings are malloc'ed. Returns the count. */
size_t live_target_mapped_files(const struct snapshot *s, char ***out);
#endif
