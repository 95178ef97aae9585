/* The one interface both capture paths implement. A target is a frozen image of a process:
 * its memory (what was copied while it was stopped, or the core's segments) with the files
 * it mapped as the fallback for bytes that were never copied (text, read-only data).
 * attach/ builds one from a live process, core/ from an ELF core; everything downstream
 * (unwinding, symbols, analyzers) reads through it and cannot tell the two apart. */
#ifndef CHANG_TARGET_H
#define CHANG_TARGET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "model/snapshot.h"
#include "image/memimage.h"
#include "util/err.h"

struct target_options {
	const char *sysroot;		/* prefix for the target's file paths (cores from elsewhere) */
	const char *debuginfo_path;	/* elfutils syntax, for separate debug files */
	int max_frames;
	unsigned attach_timeout_ms;
	bool no_stop;		/* attach without ptrace: /proc/.../syscall and /proc/PID/mem only */
	const char *save_core;	/* attach: also write an ELF core there, from the same freeze */
	bool core_full;		/* every dumpable mapping, not just what the analysis and gdb need */
	bool verbose;
};

struct target;
struct target_ops {
	const char *name;
	/* Open the file behind a module for reading: returns an fd and sets *path to what was
	 * opened (owned by the target), or -1 when the file cannot be had. */
	int (*open_module)(struct target *t, const struct module *m, const char **path);
	/* Optional: wait for what the capture still reads in the background (a live target's
	 * thread names and states); the snapshot is whole after it. */
	void (*settle)(struct target *t);
	void (*close)(struct target *t);
};

struct target {
	const struct target_ops *ops;
	struct memimage mem;
	pid_t pid;
	const struct target_options *opts;
	struct snapshot *snap;	/* the snapshot this target filled */
	/* Set only while a live target is frozen: reads that miss the copied image go to the
	 * process itself (readers that run inside the freeze, such as go/). */
	size_t (*read_live)(struct target *t, uint64_t addr, void *buf, size_t len);
	/* With log_live set, what read_live returns is also kept, for a core written from
	 * this capture (a Go program's goroutines and heap are read live, not copied). */
	bool log_live;
	struct live_read { uint64_t addr; unsigned char *buf; size_t len; } *live_log;
	size_t nlive_log, caplive_log;
	int *modfds;		/* per snapshot module, -1 when missing */
	int *fds;		/* files the target opened, closed by target_close */
	size_t nfds, capfds;
};

/* Read len bytes at addr from the frozen image; returns the number of bytes read
 * (short when the range leaves what is known). */
size_t target_read(struct target *t, uint64_t addr, void *buf, size_t len);
/* As target_read, but data mappings never copied may be served from their file (possibly
 * stale): CFI parsing dereferences personality pointers there. */
size_t target_read_for_unwind(struct target *t, uint64_t addr, void *buf, size_t len);
bool target_read_u64(struct target *t, uint64_t addr, uint64_t *v);
bool target_read_u32(struct target *t, uint64_t addr, uint32_t *v);
int target_open_module(struct target *t, const struct module *m, const char **path);
/* Keep fd open for the target's lifetime and close it in target_close. */
void target_keep_fd(struct target *t, int fd);

/* Move what was read live and logged into the memory image (one sort for all of it) and
 * stop logging. */
void target_keep_live_reads(struct target *t);
/* Before anything reads task names or states: see target_ops.settle. */
void target_settle(struct target *t);
void target_close(struct target *t);

/* Build the snapshot's modules (one per mapped ELF file) from its mappings: open each
 * file through ops->open_module, keep only ELF files, note build-ids (the file's and the
 * one the target's memory holds), warn about missing and mismatched ones, and register
 * the files as fallback memory. */
void target_load_modules(struct target *t);
/* A fresh fd on module i's file (the caller owns it), or -1. */
int target_module_fd(struct target *t, size_t i);
/* Module i was missing; fd (an ELF file at path, e.g. fetched by build-id) now stands for it
 * when its build-id is the target's: the target keeps fd and serves file bytes from it.
 * Returns -1 (fd untouched) when it does not fit. */
int target_adopt_module_file(struct target *t, size_t i, int fd, const char *path);
/* Open a path under sysroot when one is given; never opens devices or FIFOs. */
int target_open_regular(const char *sysroot, const char *path, const char **opened, struct arena *a);
#endif
