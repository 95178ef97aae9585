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
		struct task *t = &r->gs[i];
		if (t->wait)
			continue;
		for (size_t k = 0; k < sizeof(map) / sizeof(*map); k++) {
			if (strcmp(t->go->status, map[k].status) != 0)
				continue;
			struct wait *w = ARENA_NEW(&r->s->arena, struct wait, 1);
			w->kind = map[k].kind;
			w->fd = -1;
			t->wait = w;
			break;
		}
	}
}

static void reader_free(struct goreader *r)
{
	go_elf_free(&r->elf);
	free(r->pcln);
	free(r->typebuf);
	free(r->gidx);
	go_cache_free(r);
	go_pccache_free(r);
	go_symcache_free(r);
}

int go_capture(struct target *t, struct snapshot *s, int exe_fd, struct err *e)
{
	struct goreader r = { .t = t, .s = s, .exe_fd = exe_fd };
	if (s->source == SOURCE_ATTACH) {
		/* nanotime() is CLOCK_MONOTONIC, shared by every process of the machine */
		r.now_ns = mono_ns();
	}
	int rc = go_elf_load(&r, e);
	if (rc == 0) {
		r.version = go_buildinfo_version(&r);
		parse_version(&r, r.version);
		if (r.major == 1 && r.minor > 0 && r.minor < 18)
			rc = err_set(e, ERR_FAIL, "built by %s; chang reads goroutines of Go 1.18 and later only",
				     r.version);
	}
	if (rc == 0)
		rc = go_pclntab_load(&r, e);
	/* moduledata holds the text start every function entry is an offset from */
	if (rc == 0)
		rc = go_moduledata_load(&r, e);
	if (rc == 0) {
		bool has_unwinder = false, has_corostart = false;
		scan_functions(&r, &has_unwinder, &has_corostart);
		if (!r.major) {
			/* no build info: the pclntab and the runtime's own functions date it */
			r.major = 1;
			r.minor = r.magic == 0xfffffff0 ? 19 : has_corostart ? 23 : has_unwinder ? 21 : 20;
			r.version = arena_printf(&s->arena, "go1.%d (guessed)", r.minor);
		}
		if (r.fid.goexit < 0 || r.fid.wrapper <= 0)
			rc = err_set(e, ERR_FAIL, "pclntab: runtime.goexit not found; not a Go runtime this chang knows");
	}
	s->go_version = r.version ? r.version : "go";
	if (rc == 0)
		rc = go_layout_load(&r, e);
	if (rc == 0)
		rc = go_globals_load(&r, e);
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
		plain_waits(&r);
		s->goroutines = r.gs;
		s->ngoroutines = r.ngs;
	}
	if (rc != 0)
		s->go_error = arena_strdup(&s->arena, e->msg);
	reader_free(&r);
	return rc;
}
