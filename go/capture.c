/* go_capture: from an executable and a frozen image to the goroutines of the snapshot.
 * Order matters: the ELF gives the pclntab's address, the pclntab the function table and
 * moduledata the text start and the type descriptors, the code the stripped-binary
 * matchers decode, the descriptors the
 * layouts that make allgs readable. Live targets call this inside the freeze, so it does
 * all its reading (goroutines, channels, semaphores) here and leaves nothing for later. */
#include "go/go.h"
#include "go/internal.h"
#include "unwind/unwind.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

/* The newest Go release chang was tested with (README: supported Go versions). Goroutines of
 * a newer one are read the same way and then checked (verify.c) before they are believed. */
#define GO_NEWEST_KNOWN_MINOR 27

static void parse_version(struct goreader *r, const char *v)
{
	const char *p = v ? strstr(v, "go1.") : NULL;
	if (!p)
		return;
	r->major = 1;
	r->minor = atoi(p + 4);
}

/* funcIDs and special functions, from their own _func records: one pass over the table. */
static void scan_functions(struct goreader *r, bool *has_unwinder, bool *has_corostart)
{
	struct go_funcids *id = &r->fid;
	*id = (struct go_funcids){ -1, -1, -1, -1, -1, -1, -1 };
	static const struct {
		const char *name;
		size_t at;
	} named[] = {
		{ "runtime.goexit", offsetof(struct go_funcids, goexit) },
		{ "runtime.gopanic", offsetof(struct go_funcids, gopanic) },
		{ "runtime.sigpanic", offsetof(struct go_funcids, sigpanic) },
		{ "runtime.panicwrap", offsetof(struct go_funcids, panicwrap) },
		{ "runtime.asyncPreempt", offsetof(struct go_funcids, asyncpreempt) },
		{ "runtime.debugCallV2", offsetof(struct go_funcids, debugcallv2) },
	};
	int maxid = -1;
	struct go_func f;
	for (uint64_t i = 0; i < r->nfunc; i++) {
		if (!go_func_by_index(r, i, &f))
			continue;
		if (f.funcid > maxid)
			maxid = f.funcid;
		const char *n = go_funcname(r, f.nameoff);
		if (!n || strncmp(n, "runtime.", 8) != 0)
			continue;
		for (size_t k = 0; k < sizeof(named) / sizeof(*named); k++)
			if (strcmp(n, named[k].name) == 0)
				*(int *)((char *)id + named[k].at) = f.funcid;
		if (strcmp(n, "runtime.main") == 0)
			r->f_runtime_main = f.entry;
		else if (strcmp(n, "runtime.runfinq") == 0)
			r->f_runfinq = f.entry;
		else if (strcmp(n, "runtime.handleAsyncEvent") == 0)
			r->f_handleasync = f.entry;
		else if (strcmp(n, "runtime.corostart") == 0) {
			r->f_corostart = f.entry;
			*has_corostart = true;
		} else if (strcmp(n, "runtime.(*unwinder).next") == 0)
			*has_unwinder = true;
	}
	/* funcID_wrapper is the last value of the enum in every version */
	id->wrapper = maxid;
}

/* What the status alone says a goroutine waits for, when no object was found. */
static void plain_waits(struct goreader *r)
{
	static const struct {
		const char *status;
		enum wait_kind kind;
	} map[] = {
		{ "sleep", WAIT_SLEEP }, { "IO wait", WAIT_POLL }, { "sync.Cond.Wait", WAIT_CONDVAR },
		{ "syscall", WAIT_SYSCALL }, { "semacquire", WAIT_SEMAPHORE }, { "sync.Mutex.Lock", WAIT_MUTEX },
		{ "sync.RWMutex.Lock", WAIT_RWLOCK }, { "sync.RWMutex.RLock", WAIT_RWLOCK },
		{ "sync.WaitGroup.Wait", WAIT_JOIN },
	};
	for (size_t i = 0; i < r->ngs; i++) {
		struct task *task = &r->gs[i];
		if (task->wait)
			continue;
		for (size_t k = 0; k < sizeof(map) / sizeof(*map); k++) {
			if (strcmp(task->go->status, map[k].status) != 0)
				continue;
			struct wait *w = ARENA_NEW(&r->s->arena, struct wait, 1);
			w->kind = map[k].kind;
			w->fd = -1;
			task->wait = w;
			break;
		}
	}
}

/* A goroutine inside a C call (its traceback starts in runtime.cgocall) runs it on its M's
 * thread: that thread's native frames (the C code, down to runtime.asmcgocall, where the
 * stack switches) are the rest of the goroutine's stack, and its pthread waits are the
 * goroutine's. */
static void link_cgo_threads(struct goreader *r)
{
	for (size_t i = 0; i < r->ngs; i++) {
		const struct task *g = &r->gs[i];
		const struct pcsym *ps = g->npcs && g->syms ? g->syms[0] : NULL;
		const char *fn = ps && ps->nframes ? ps->frames[0].function : NULL;
		if (!g->tid || !fn || strcmp(fn, "runtime.cgocall") != 0)
			continue;
		for (size_t k = 0; k < r->s->ntasks; k++)
			if (r->s->tasks[k].tid == g->tid && r->s->tasks[k].kind == TASK_THREAD)
				r->s->tasks[k].cgo_goroutine = g;
	}
}

static void reader_free(struct goreader *r)
{
	go_elf_free(&r->elf);
	free(r->pcln);
	free(r->typebuf);
	free(r->tix);
	free(r->gidx);
	go_cache_free(r);
	go_pccache_free(r);
	go_symcache_free(r);
	go_argscache_free(r);
}

/* The stages that read only what the executable's file holds (for a non-PIE binary, its
 * sections are the process's memory as loaded; moduledata's fields used here and the type
 * descriptors never change at run time). Each can be run again after it failed. */
static int stage_binary(struct goreader *r, struct err *e)
{
	int rc = go_elf_load(r, e);
	if (rc == 0) {
		r->version = go_buildinfo_version(r);
		parse_version(r, r->version);
		if (r->major == 1 && r->minor > 0 && r->minor < 18)
			rc = err_set(e, ERR_FAIL, "built by %s; chang reads goroutines of Go 1.18 and later only",
				     r->version);
	}
	return rc;
}

static int stage_functions(struct goreader *r, struct err *e)
{
	bool has_unwinder = false, has_corostart = false;
	scan_functions(r, &has_unwinder, &has_corostart);
	r->unwinder = has_unwinder;
	if (!r->major) {
		/* no build info: the pclntab and the runtime's own functions date it */
		r->major = 1;
		r->minor = r->magic == 0xfffffff0 ? 19 : has_corostart ? 23 : has_unwinder ? 21 : 20;
		r->version = arena_printf(&r->s->arena, "go1.%d (guessed)", r->minor);
	}
	if (r->fid.goexit < 0 || r->fid.wrapper <= 0)
		return err_set(e, ERR_FAIL, "pclntab: runtime.goexit not found; not a Go runtime this chang knows");
	return 0;
}

static int (*const stages[])(struct goreader *, struct err *) = {
	stage_binary,
	go_pclntab_load,
	/* moduledata holds the text start every function entry is an offset from */
	go_moduledata_load,
	stage_functions,
	go_layout_load,
	go_globals_load,
};
#define NSTAGES (sizeof(stages) / sizeof(*stages))

/* Runs the stages from r->stage on; in prepare mode a stage that fails only stops it, to be
 * run again against the target. */
static int run_stages(struct goreader *r, struct err *e)
{
	while (r->stage < NSTAGES) {
		int rc = stages[r->stage](r, e);
		if (rc != 0)
			return rc;
		r->stage++;
	}
	return 0;
}

struct go_prep {
	struct goreader r;
};

struct go_prep *go_prepare(struct snapshot *s, int exe_fd)
{
	struct go_prep *p = xcalloc(1, sizeof(*p));
	p->r = (struct goreader){ .s = s, .exe_fd = exe_fd, .from_file = true };
	/* many small reads: from a mapping of the file rather than one pread each */
	struct stat st;
	void *m = fstat(exe_fd, &st) == 0 && st.st_size > 0
			  ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, exe_fd, 0)
			  : MAP_FAILED;
	if (m != MAP_FAILED) {
		p->r.file = m;
		p->r.file_len = (size_t)st.st_size;
	}
	struct err e = { 0 };
	run_stages(&p->r, &e);
	if (m != MAP_FAILED)
		munmap(m, (size_t)st.st_size);
	p->r.file = NULL;
	p->r.from_file = false;
	return p;
}

void go_prep_free(struct go_prep *p)
{
	if (!p)
		return;
	reader_free(&p->r);
	free(p);
}

int go_capture(struct target *t, struct snapshot *s, int exe_fd, struct go_prep *prep, struct err *e)
{
	struct goreader r = { .t = t, .s = s, .exe_fd = exe_fd };
	if (prep && prep->r.s == s && prep->r.exe_fd == exe_fd) {
		/* what go_prepare read from the file: this capture owns it now */
		r = prep->r;
		r.t = t;
		memset(&prep->r, 0, sizeof(prep->r));
	}
	if (s->source == SOURCE_ATTACH) {
		/* nanotime() is CLOCK_MONOTONIC, shared by every process of the machine */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r.now_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	}
	int rc = run_stages(&r, e);
	s->go_version = r.version ? r.version : "go";
	if (rc == 0) {
		int go_depth = r.minor >= 23 ? 128 : 32;
		/* Go's own profile depth unless --max-frames asked for another */
		r.max_depth = t->opts && t->opts->max_frames > 0 && t->opts->max_frames != UNWIND_MAX_FRAMES_DEFAULT
				      ? t->opts->max_frames
				      : go_depth;
		rc = go_read_goroutines(&r, e);
	}
	if (rc == 0 && r.major == 1 && r.minor > GO_NEWEST_KNOWN_MINOR) {
		struct go_verdict v;
		if (!go_verify(&r, &v))
			rc = err_set(e, ERR_FAIL, "%s is newer than any Go this chang knows (go1.%d), and what was "
				     "read fails the checks: %zu of %llu runtime.allgs entries unreadable, %zu of "
				     "%zu stacks with a PC in no function, %zu not ending in runtime.goexit, %zu "
				     "not walked to their end", r.version, GO_NEWEST_KNOWN_MINOR, r.unreadable,
				     (unsigned long long)r.allglen, v.unresolved, v.checked, v.unended, v.unwalked);
		else
			snapshot_warn(s, "goroutines: %s is newer than any Go this chang knows (go1.%d); its "
				      "%zu goroutines passed the checks (all %llu runtime.allgs entries read, "
				      "every PC in a function, every whole stack ending in runtime.goexit)",
				      r.version, GO_NEWEST_KNOWN_MINOR, r.ngs, (unsigned long long)r.allglen);
	}
	if (rc == 0) {
		go_chan_waits(&r);
		go_sema_waits(&r);
		go_guess_holders(&r);
		go_netpoll_waits(&r);
		go_watch_waits(&r);
		plain_waits(&r);
		link_cgo_threads(&r);
		s->goroutines = r.gs;
		s->ngoroutines = r.ngs;
	}
	if (rc != 0)
		s->go_error = arena_strdup(&s->arena, e->msg);
	reader_free(&r);
	return rc;
}
