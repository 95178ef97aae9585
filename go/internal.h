/* What the go/ files share while reading one Go target: the executable's ELF facts, the
 * pclntab, moduledata, struct layouts taken from the runtime's type descriptors, the
 * runtime globals, and the caches that keep 100,000 goroutines cheap. Private to go/. */
#ifndef CHANG_GO_INTERNAL_H
#define CHANG_GO_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/snapshot.h"
#include "image/target.h"
#include "util/err.h"

/* A field no layout has: optional fields (g.parentGoid before 1.21) read as absent. */
#define GO_NOFIELD UINT64_MAX

/* One symbol of the executable's .symtab (absent in stripped builds), load-biased. */
struct go_sym {
	uint64_t addr, size;
	const char *name;
};

struct go_section {
	const char *name;
	uint64_t addr, size, offset;	/* addr is load-biased */
	uint32_t type;
};

struct go_elf {
	bool pie;
	uint64_t bias;
	struct go_section *secs;
	size_t nsecs;
	struct go_sym *objs;	/* data objects sorted by address, for naming globals */
	size_t nobjs;
	struct go_sym *funcsyms;	/* the few runtime symbols looked up by name */
	size_t nfuncsyms;
	char *strtab;		/* owns the names above */
};

/* A decoded runtime._func. */
struct go_func {
	uint64_t entry;
	const unsigned char *raw;	/* the _func record inside the pclntab copy */
	int32_t nameoff;
	uint32_t pcsp, pcfile, pcln, npcdata, cuoff;
	uint8_t funcid, flag, nfuncdata;
};

/* Special functions, by funcID read from their own _func records (the numbering moved in
 * Go 1.23); -1 when the binary has no such function. */
struct go_funcids {
	int goexit, gopanic, sigpanic, panicwrap, asyncpreempt, debugcallv2, wrapper;
};

/* Offsets of the runtime's structures, all from type descriptors. */
struct go_layout {
	uint64_t g_size, g_stack_lo, g_stack_hi, g_m, g_sched_sp, g_sched_pc, g_syscallsp, g_syscallpc;
	uint64_t g_sched_lr;	/* gobuf.lr: 0 when the field is missing (it is there on every arch) */
	uint64_t g_status, g_goid, g_waitsince, g_waitreason, g_lockedm, g_gopc, g_startpc, g_waiting;
	uint64_t g_labels, g_parentgoid;
	uint64_t g_trackingseq;	/* uint8, +1 each time the goroutine stops running (1.19 on) */
	uint64_t m_procid;
	uint64_t sudog_size, sudog_g, sudog_next, sudog_prev, sudog_elem, sudog_isselect, sudog_waitlink;
	uint64_t sudog_c;
	uint64_t hchan_size, hchan_qcount, hchan_dataqsiz, hchan_elemsize, hchan_closed, hchan_elemtype;
	uint64_t hchan_recvq, hchan_sendq;	/* of recvq.first and sendq.first */
	uint64_t hmap_count, hmap_b, hmap_buckets, hmap_oldbuckets;
	/* sync objects: the offset of each semaphore inside its object */
	uint64_t mutex_state, mutex_sema;
	uint64_t rw_w, rw_writersem, rw_readersem, rw_readercount, rw_readerwait;
	uint64_t wg_state, wg_sema;
	bool labels_slice;	/* pprof labels are a sorted slice (1.24+), not a map */
};

struct pc_cache;
struct sym_cache;
struct go_cache;

struct goreader {
	struct target *t;
	struct snapshot *s;
	int exe_fd;
	struct go_elf elf;
	/* go_prepare: reads come from the executable's file (a non-PIE's sections hold what the
	 * process has loaded there); stage counts the stages of capture.c done so far */
	bool from_file;
	size_t stage;
	const unsigned char *file;	/* the executable mapped while preparing, else NULL */
	size_t file_len;

	/* linux/arm64 (a link-register machine: a call leaves its return address in x30, which
	 * a function with a frame saves at the bottom of it) rather than linux/amd64 */
	bool uses_lr;
	unsigned pcquantum;	/* the pclntab's PC step: 1 on amd64, 4 on arm64 */
	/* version: from the build info, else guessed from the pclntab magic */
	const char *version;
	int major, minor;
	uint32_t magic;
	int max_depth;		/* frames Go's goroutine profile keeps */

	/* pclntab, copied once from the target (PIE relocates textStart) */
	uint64_t pcln_addr;
	unsigned char *pcln;
	size_t pcln_len;
	uint64_t nfunc, text_start;
	uint64_t funcname_off, cu_off, filetab_off, pctab_off, functab_off;
	size_t func_hdr;	/* bytes of _func before its pcdata offsets */
	size_t funcid_at;	/* where funcID sits in _func */
	size_t inl_size;	/* bytes of one inlinedCall */
	struct go_funcids fid;
	/* entries of functions named by the system-goroutine rule */
	uint64_t f_runtime_main, f_runfinq, f_handleasync, f_corostart;

	/* moduledata */
	uint64_t md_addr, types, etypes, gofunc;
	unsigned char *typebuf;	/* [types, etypes) */
	size_t typelen;
	struct go_typeidx *tix;	/* types.c: named descriptors by name offset, built once */
	size_t ntix;

	struct go_layout L;

	/* runtime globals */
	uint64_t allglen_addr, allgptr_addr, semtable_addr, fing_addr;
	int fing_kind;		/* 0 unknown, 1 bool fingRunning, 2 fingStatus bits */
	uint64_t semtab_stride;
	const char *const *waitreasons;
	int nwaitreasons;

	/* the goroutines read, and their g addresses sorted for lookups by pointer */
	struct task *gs;
	size_t ngs;
	uint64_t allglen;	/* entries of runtime.allgs, of which unreadable could not be decoded */
	size_t unreadable;
	struct go_gidx *gidx;
	size_t ngidx;

	struct go_cache *cache;	/* mem.c: prefetched ranges and blocks */

	/* when set, go_unwind also stores beside each PC its physical frame's argument pointer
	 * (the frame's fp: where a call's spilled register arguments and stack arguments are) */
	uint64_t *unwind_argps;
	struct args_cache *argsc;	/* args.c: per PC, what its arguments' printing needs */
	bool unwinder;		/* runtime.(*unwinder) exists: Go 1.21's traceback rewrite */

	struct pc_cache *pcc;
	struct sym_cache *symc;
	uint64_t now_ns;	/* the target's nanotime() at capture, 0 when unknown */
};

/* binary.c */
int go_elf_load(struct goreader *r, struct err *e);
void go_elf_free(struct go_elf *el);
const struct go_section *go_section(const struct goreader *r, const char *name);
uint64_t go_symbol(const struct goreader *r, const char *name, uint64_t *size);
/* "main.accountsMu", "main.cfg+0x8", ".noptrbss+0xc8"; NULL for heap and stack addresses. */
const char *go_data_name(struct goreader *r, uint64_t addr);
/* Version from .go.buildinfo ("go1.19.8"), or NULL. */
const char *go_buildinfo_version(struct goreader *r);

/* pclntab.c */
int go_pclntab_load(struct goreader *r, struct err *e);
bool go_findfunc(struct goreader *r, uint64_t pc, struct go_func *f);
bool go_func_by_index(struct goreader *r, uint64_t i, struct go_func *f);
const char *go_funcname(struct goreader *r, int32_t nameoff);
/* Where the function holding pc ends (the next one's entry); 0 when pc is in none. */
uint64_t go_func_end(struct goreader *r, uint64_t pc);
/* pcvalue: the table's value at targetpc, -1 when none. */
int32_t go_pcvalue(struct goreader *r, const struct go_func *f, uint32_t off, uint64_t targetpc);
int32_t go_pcdata(struct goreader *r, const struct go_func *f, uint32_t table, uint64_t pc);
uint64_t go_funcdata(struct goreader *r, const struct go_func *f, uint32_t i);
const char *go_file(struct goreader *r, const struct go_func *f, int32_t fileno);
/* One entry of a function's inline tree. */
struct go_inl {
	uint8_t funcid;
	int32_t nameoff, parentpc;
};
bool go_inl_at(struct goreader *r, uint64_t tree, int32_t ix, struct go_inl *out);
uint64_t go_func_entry_by_name(struct goreader *r, const char *name);

/* moduledata.c */
int go_moduledata_load(struct goreader *r, struct err *e);

/* types.c */
int go_layout_load(struct goreader *r, struct err *e);
/* Name of a runtime type descriptor ("string", "*main.Event"), or NULL. */
const char *go_type_name(struct goreader *r, uint64_t type);

/* waitreasons.c: the runtime's wait reason strings of the newest release chang has a table
 * for that is not newer than go1.<minor> (the oldest table for older ones). */
const char *const *go_waitreason_table(int minor, int *n, int *table_minor);

/* globals.c */
int go_globals_load(struct goreader *r, struct err *e);

/* mem.c: reads and bulk prefetches through target_read */
struct go_range {
	uint64_t lo, hi;
};
void go_prefetch(struct goreader *r, struct go_range *v, size_t n, uint64_t max_gap);
bool go_read(struct goreader *r, uint64_t addr, void *buf, size_t len);
/* As much of [addr, addr+len) as can be read from its start; the count. */
size_t go_read_some(struct goreader *r, uint64_t addr, void *buf, size_t len);
void go_cache_free(struct goreader *r);
bool go_u64(struct goreader *r, uint64_t addr, uint64_t *v);
bool go_u32(struct goreader *r, uint64_t addr, uint32_t *v);
uint64_t go_le64(const unsigned char *p);
uint32_t go_le32(const unsigned char *p);
/* NUL-terminated or length-bounded string from the target, into the arena; NULL on failure. */
const char *go_read_string(struct goreader *r, uint64_t ptr, uint64_t len, uint64_t max);

/* unwind.c: Go's pcbuf traceback. Starts at pc/sp (trap: a thread's interrupted PC) and
 * fills up to max return-address-style PCs, as runtime.gentraceback/tracebackPCs do. */
struct go_unwind_result {
	int n;
	bool truncated;
	const char *error;
};
/* lr: on arm64, the link register of the innermost frame (a frameless function's return
 * address), 0 when not known; ignored on amd64. */
void go_unwind(struct goreader *r, uint64_t pc, uint64_t sp, uint64_t lr, bool trap, bool syscall, uint64_t *pcs,
	       int max, struct go_unwind_result *res);
void go_pccache_free(struct goreader *r);

/* args.c: the argument words of the function at pc (a symbolic PC, as Go's symPC) whose
 * frame's argument pointer is argp, as Go's debug=2 prints them; "" when the function has
 * no argument info, NULL when they cannot be read. */
const char *go_args_text(struct goreader *r, uint64_t pc, uint64_t argp);
void go_argscache_free(struct goreader *r);

/* symbolize.c: the pcsym of a recorded PC, as runtime.CallersFrames resolves it. */
const struct pcsym *go_symbolize(struct goreader *r, uint64_t pc);
void go_symcache_free(struct goreader *r);

/* allgs.c */
struct go_gidx {
	uint64_t g;
	struct task *t;
};
int go_read_goroutines(struct goreader *r, struct err *e);
/* The goroutine whose runtime.g is at g, or NULL (dead, system or unknown). */
struct task *go_task_by_g(const struct goreader *r, uint64_t g);

/* verify.c: the checks that vouch for goroutines read from a Go newer than chang knows. */
struct go_verdict {
	size_t checked;		/* goroutines with a stack */
	size_t unresolved;	/* goroutines with a PC in no function */
	size_t unended;		/* whole stacks not ending in runtime.goexit */
	size_t unwalked;	/* stacks whose walk stopped on an error */
};
/* true when every check holds; the verdict counts what failed. */
bool go_verify(struct goreader *r, struct go_verdict *v);

/* labels.c */
void go_read_labels(struct goreader *r, uint64_t labels, struct goroutine_info *gi);
/* Go's strconv.Quote into the arena. */

/* chan.c / sema.c: each goroutine's wait object, while the target is still readable */
void go_chan_waits(struct goreader *r);
void go_sema_waits(struct goreader *r);
/* netpoll.c: the fd each goroutine in IO wait waits on, from the netpoll's registrations */
void go_netpoll_waits(struct goreader *r);
/* watch.c: the words a live second look re-reads for each goroutine a finding can be about
 * (model/snapshot.h, goroutine_info.watch); go_watch_add appends one, read now */
void go_watch_add(struct goreader *r, struct task *t, uint64_t addr, unsigned size, uint64_t mask);
void go_watch_waits(struct goreader *r);
/* holders.c: which contended global mutexes each blocked goroutine likely holds */
void go_guess_holders(struct goreader *r);
#endif
