/* Writing an ELF core from a neutral description: the notes (NT_PRSTATUS and NT_FPREGSET per
 * thread, NT_PRPSINFO, NT_AUXV, NT_FILE, and chang's own thread-name note), the PT_LOAD
 * segments and their bytes, which a callback supplies. Where the description comes from (a
 * stopped process: attach/savecore.c) is not this file's business. The output is sparse
 * when plain (all-zero blocks become holes), or gzip or zstd by the file's name; a file that
 * cannot seek (a FIFO, a device) is written in order. */
#ifndef CHANG_COREEMIT_H
#define CHANG_COREEMIT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/procfs.h>
#include <sys/types.h>
#include <sys/user.h>
#include "model/snapshot.h"
#include "util/err.h"
#include "util/outfile.h"

enum core_comp { CORE_COMP_NONE, CORE_COMP_GZIP, CORE_COMP_ZSTD };
/* .gz and .zst compress; anything else is plain. */
enum core_comp core_comp_of(const char *path);

struct core_thread {
	pid_t tid;
	const struct regs *regs;		/* the host's (coreemit writes the host's notes) */
	const elf_fpregset_t *fp;		/* the host's; NULL: not read */
	const char *name;			/* NULL or "": none */
};

struct core_desc {
	const struct elf_prpsinfo *ps;
	pid_t ppid, pgrp, sid;
	const unsigned char *auxv;
	size_t auxv_len;
	const struct core_thread *threads;	/* the first is gdb's current thread */
	size_t nthreads;
	const struct mapping *maps;		/* NT_FILE: those with an absolute path */
	size_t nmaps;
};

struct core_seg {
	uint64_t start, memsz, filesz;
	uint32_t flags;		/* PF_R, PF_W, PF_X */
};
/* PF_* from a mapping's "rwxp". */
uint32_t core_seg_flags(const char perms[5]);

/* Fill buf with the len bytes at addr (what cannot be read as zeros). */
typedef void (*core_fill_fn)(void *arg, uint64_t addr, unsigned char *buf, size_t len);

/* Write the core into f (compressed as comp); *size is the file's size. */
int core_emit(const struct outfile *f, enum core_comp comp, const struct core_desc *d, const struct core_seg *segs,
	      size_t nsegs, core_fill_fn fill, void *arg, uint64_t *size, struct err *e);
#endif
