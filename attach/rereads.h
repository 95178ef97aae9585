/* Words of a live process read again while it runs (process_vm_readv, no stop): for the
 * second look at goroutine findings, which has no /proc state to sample. */
#ifndef CHANG_REREADS_H
#define CHANG_REREADS_H
#include <stdbool.h>
#include <sys/types.h>
#include "model/snapshot.h"
/* Every word still holds its value (under its mask); false when one changed or cannot be
 * read (unmapped, or the process is gone). */
bool rereads_unchanged(pid_t pid, const struct watch_word *w, int n);
#endif
