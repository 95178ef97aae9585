/* chang attach: freeze a live process, copy what later stages need, thaw it, and hand
 * back a target that is just a memory image from then on. */
#ifndef CHANG_LIVE_TARGET_H
#define CHANG_LIVE_TARGET_H
#include "model/snapshot.h"
#include "target/target.h"
#include "util/err.h"

struct target *live_target_capture(pid_t pid, const struct target_options *o, struct snapshot *s,
				   struct err *e);
#endif
