/* Parsing of x86_64 and aarch64 Linux ELF cores (kernel and gcore): the ELF header, the program headers
 * and the notes, nothing else. Every size and offset in a core is untrusted: the parsers
 * only ever look inside the bytes they were given, and a core that lies is reported through
 * the problem fields below, never by reading out of bounds or allocating what it claims.
 * Memory segments are indexed, not read: a 10,000-thread core is ~700 MiB and only the pages
 * the analysis touches should ever be read. */
#ifndef CHANG_ELFCORE_H
#define CHANG_ELFCORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/arch.h"
#include "util/arena.h"
#include "util/err.h"

/* One NT_PRSTATUS note. */
struct elfcore_thread {
	pid_t tid;				/* pr_pid */
	int cursig;				/* pr_cursig */
	struct regs regs;			/* pr_reg, of the notes' arch */
};

/* Thread names: not a note the kernel writes (its cores name only the process), but one
 * chang adds to the cores it writes (owner "CHANG", type NT_CHANG_THREAD_NAMES): per
 * thread a u32 TID and its 16-byte NUL-padded name. Other readers skip unknown notes. */
#define NT_CHANG_THREAD_NAMES 0x43484e47u
#define CHANG_THREAD_NAME_LEN 16
struct elfcore_name {
	pid_t tid;
	const char *name;			/* arena */
};

/* One NT_FILE entry, offset already converted from pages to bytes. */
struct elfcore_file {
	uint64_t start, end, offset;
	const char *path;			/* NULL when the note ran out of names */
};

/* NT_SIGINFO, raw: which union members mean something depends on signo and code. */
struct elfcore_siginfo {
	int32_t signo, err, code;
	int32_t pid;				/* union offset 0: si_pid (kill, sigqueue, tkill) */
	uint32_t uid;				/* union offset 4: si_uid */
	uint64_t addr;				/* union offset 0: si_addr (faults) */
};

struct elfcore_notes {
	/* Set by elfcore_read from the ELF header before the notes are parsed; NULL reads the
	 * registers as x86_64's (notes parsed on their own, as the unit tests and fuzzers do). */
	const struct arch *arch;
	struct elfcore_thread *threads;		/* heap, in note order; elfcore_notes_free */
	size_t nthreads, capthreads;

	bool have_psinfo;			/* NT_PRPSINFO */
	pid_t pid;
	char sname;				/* state letter, 0 when absent */
	char fname[17];				/* comm */
	char psargs[81];			/* arguments joined by spaces */

	uint64_t (*auxv)[2];			/* arena; up to and without AT_NULL */
	size_t nauxv;

	bool have_files;			/* NT_FILE */
	uint64_t page_size;
	struct elfcore_file *files;		/* arena, in note order */
	size_t nfiles;

	bool have_siginfo;			/* NT_SIGINFO (the first one) */
	size_t nfpregs;				/* NT_PRFPREG notes (the kernel writes one a thread) */
	struct elfcore_siginfo siginfo;

	struct elfcore_name *names;		/* arena, in note order */
	size_t nnames;

	/* What did not add up (reported as warnings by the caller). */
	bool cut;				/* a note runs past the end of the data */
	size_t short_notes;			/* PRSTATUS/PRPSINFO/AUXV too small to hold their struct */
	bool too_many_threads;			/* more PRSTATUS than any kernel allows */
	const char *file_problem;		/* what was wrong with NT_FILE, or NULL */
};

/* Parse the notes in buf[0..len) into out (which starts zeroed and may be fed several
 * buffers in turn). Returns the offset just past the last note parsed. When need is NULL,
 * buf is all there is and a note cut by its end sets out->cut; otherwise the parse stops at
 * a note that does not fit and *need gets that note's whole size, so that a caller reading
 * the notes in windows can read it whole. Strings and arrays go to a. */
size_t elfcore_parse_notes(const unsigned char *buf, size_t len, struct elfcore_notes *out,
			   struct arena *a, uint64_t *need);
void elfcore_notes_free(struct elfcore_notes *n);
/* Value of an auxv entry. */
bool elfcore_auxv(const struct elfcore_notes *n, uint64_t type, uint64_t *val);

/* One PT_LOAD. */
struct elfcore_load {
	uint64_t vaddr, memsz;
	uint64_t offset, filesz;		/* as the header claims */
	uint64_t avail;				/* bytes of the segment the file really holds */
	uint32_t flags;				/* PF_R | PF_W | PF_X */
};

struct elfcore {
	uint64_t file_size;
	const struct arch *arch;		/* from e_machine */
	size_t phnum;				/* program headers the ELF header claims */
	size_t phnum_read;			/* of those, how many the file holds */
	struct elfcore_load *loads;		/* heap, sorted by vaddr, non-overlapping */
	size_t nloads;
	size_t loads_bad;			/* dropped: wrapping, overlapping or empty */
	size_t loads_cut;			/* their file bytes end before p_filesz */
	uint64_t bytes_missing;			/* sum of what the cut ones lack */
	size_t nnotes_segments;
	bool notes_cut;				/* a PT_NOTE runs past the end of the file */
	bool note_too_big;			/* a single note larger than chang reads */
	struct elfcore_notes notes;
};

/* Check a core's ELF header (the first len bytes of the file). Fails with a one-line
 * "NAME: cause" error for an empty file, not ELF, not a core, an architecture chang does
 * not read (naming the machine). */
int elfcore_check_header(const unsigned char *buf, size_t len, const char *name, struct err *e);
/* Read the headers and notes of the core open on fd: validate, index the PT_LOADs, parse
 * every PT_NOTE. Only headers and notes are read (bounded by the file's size). On success
 * c must be released with elfcore_free; on failure it needs no release. */
int elfcore_read(int fd, const char *name, struct elfcore *c, struct arena *a, struct err *e);
void elfcore_free(struct elfcore *c);
/* The PT_LOAD containing addr, or NULL (binary search). */
const struct elfcore_load *elfcore_find_load(const struct elfcore *c, uint64_t addr);
/* "rwxp" from p_flags (cores do not say private/shared). */
void elfcore_perms(uint32_t flags, char out[5]);
#endif
