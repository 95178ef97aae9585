/* The target behind `chang core`: an ELF core's threads, mappings and memory, with the
 * files it mapped (the executable given on the command line, the libraries under
 * --sysroot) as the source of what the core did not dump. */
#ifndef CHANG_CORE_TARGET_H
#define CHANG_CORE_TARGET_H
#include "model/snapshot.h"
#include "image/target.h"
#include "util/err.h"

/* Open core_path and fill s from it: pid, executable, cmdline, capture time (the core's
 * mtime), one task per thread (sorted by tid), the mappings, the modules. exe, when given,
 * is used for the main executable instead of the path recorded in the core, and must match
 * it (build-id). A truncated core loads what is readable and says what was cut through
 * snapshot_warn. Returns the target (also s->target; close with target_close, which keeps
 * the core open until then), or NULL with e set. */
struct target *core_target_open(const char *exe, const char *core_path,
				const struct target_options *o, struct snapshot *s, struct err *e);
#endif
