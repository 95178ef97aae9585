/* chang attach --save-core: an ELF core written from the same freeze that makes the report,
 * so that the evidence can be kept (and opened in gdb or chang core) after the process is
 * restarted. The core has what the kernel's has: NT_PRSTATUS and NT_FPREGSET per thread,
 * NT_PRPSINFO, NT_AUXV, NT_FILE, and PT_LOAD segments; and the thread names, which the
 * kernel's lacks, in a note of chang's own (core/elfcore.h) that gdb skips.
 *
 * Two sizes. mini keeps the pause close to a plain attach: it holds the memory the capture
 * copied anyway (stacks, lock words, Go runtime structures) plus what gdb needs to list
 * threads and libraries (the dynamic linker's and libc's writable data, the link map, each
 * thread's TCB, the executable's dynamic section) and the ELF header page of every mapped
 * ELF (build-ids); those extra reads happen in the freeze, the file is written after the
 * thaw. full holds every dumpable mapping, as the kernel and gcore choose them, streamed
 * from the stopped process to the file during the freeze.
 * This file does what runs inside the freeze (reading the stopped process); core/coreemit.c
 * writes the ELF file from the description it is given. FILE is written through
 * util/outfile (whole or not at all where it can be replaced; in place for a device or FIFO). */
#ifndef CHANG_SAVECORE_H
#define CHANG_SAVECORE_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "model/snapshot.h"
#include "image/target.h"
#include "util/err.h"

struct core_save;

/* Before the freeze: create the temporary file beside path (so that a path that cannot be
 * written fails before the target is touched) and read what does not change while the
 * process lives (auxv, ids, command line). Returns NULL with e set. */
struct core_save *core_save_begin(pid_t pid, const char *path, bool full, struct err *e);
/* During the freeze, after registers, stacks and lock words were copied into t->mem and
 * s->maps/s->tasks are filled: read the floating-point registers and, for mini, add the
 * extra memory to t->mem; for full, write the whole core. memfd is /proc/PID/mem or -1.
 * Problems are kept for core_save_finish. */
void core_save_frozen(struct core_save *cs, struct target *t, struct snapshot *s, int memfd);
/* After the thaw: write the core (mini), put the file in place, and record in s->saved_core
 * where it went, its size and the pause it cost. Returns 0, or -1 with e set (the temporary
 * file is then removed and s->saved_core carries the error too). Frees cs. */
int core_save_finish(struct core_save *cs, struct target *t, struct snapshot *s, struct err *e);
/* Give up (the capture failed): remove the temporary file, free cs. */
void core_save_abort(struct core_save *cs);
#endif
