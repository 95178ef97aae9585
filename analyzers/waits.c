#include "analyzers/waits.h"
#include "analyzers/describe.h"
#include "analyzers/musl_waits.h"
#include "analyzers/restart.h"
#include "analyzers/rust_locks.h"
#include "analyzers/spinlock.h"
#include "model/syscalls.h"
#include "symbols/symbols.h"
#include "image/target.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum lock_hint {
	HINT_NONE, HINT_LLL, HINT_MUTEX, HINT_CONDVAR, HINT_RWLOCK, HINT_SEMAPHORE, HINT_BARRIER,
	HINT_JOIN, HINT_STDIO
};

/* Matched against function names without leading underscores or symbol versions, so the
 * same entry covers ___pthread_mutex_lock, pthread_mutex_lock@@GLIBC_2.2.5 and friends. */
static const struct {
	const char *prefix;
	enum lock_hint hint;
} hint_names[] = {
	{ "lll_lock_wait", HINT_LLL },
	{ "pthread_mutex_", HINT_MUTEX },
	{ "gthread_mutex_lock", HINT_MUTEX },
	{ "gthread_recursive_mutex_lock", HINT_MUTEX },
	{ "std::mutex::lock", HINT_MUTEX },
	{ "std::recursive_mutex::lock", HINT_MUTEX },
	{ "std::timed_mutex::", HINT_MUTEX },
	{ "std::recursive_timed_mutex::", HINT_MUTEX },
	{ "pthread_cond_", HINT_CONDVAR },
	{ "gthread_cond_", HINT_CONDVAR },
	{ "std::condition_variable", HINT_CONDVAR },
	{ "std::_V2::condition_variable_any", HINT_CONDVAR },
	{ "pthread_rwlock_", HINT_RWLOCK },
	{ "std::shared_mutex", HINT_RWLOCK },
	{ "std::shared_timed_mutex", HINT_RWLOCK },
	{ "std::__shared_mutex_pthread", HINT_RWLOCK },
	{ "sem_wait", HINT_SEMAPHORE },
	{ "sem_timedwait", HINT_SEMAPHORE },
	{ "sem_clockwait", HINT_SEMAPHORE },
	{ "new_sem_wait", HINT_SEMAPHORE },
	{ "old_sem_wait", HINT_SEMAPHORE },
	{ "pthread_barrier_wait", HINT_BARRIER },
	{ "pthread_join", HINT_JOIN },
	{ "pthread_clockjoin", HINT_JOIN },
	{ "pthread_timedjoin", HINT_JOIN },
	{ "std::thread::join", HINT_JOIN },
};

/* glibc's stdio functions that take a FILE's _IO_lock_t (directly, through the inlined
 * _IO_acquire_lock, or through flockfile). */
static const char *const stdio_names[] = { "IO_", "flockfile", "ftrylockfile", "fputs", "fputc",
	"putc", "puts", "fwrite", "fread", "fgets", "fgetc", "getc", "fflush", "fclose", "new_fclose",
	"vfprintf", "vfwprintf", "printf_positional", "getdelim", "getline", "fseek", "ftell",
	"rewind", "setvbuf", "ungetc", "fprintf", "printf", "vprintf", "fscanf", "vfscanf", NULL };

#define HINT_FRAMES 12

static enum lock_hint hint_of(const char *fn)
{
	for (size_t h = 0; h < sizeof(hint_names) / sizeof(*hint_names); h++)
		if (strncmp(fn, hint_names[h].prefix, strlen(hint_names[h].prefix)) == 0)
			return hint_names[h].hint;
	return HINT_NONE;
}

static bool stdio_function(const char *fn)
{
	if (strncmp(fn, "GI_", 3) == 0)	/* __GI__IO_puts: glibc's internal alias */
		for (fn += 3; *fn == '_'; fn++)
			;
	for (const char *const *p = stdio_names; *p; p++)
		if (strncmp(fn, *p, strlen(*p)) == 0)
			return true;
	return false;
}

/* Code of the program itself, where the C library's wait functions have been left: the
 * lock type must be named before it (C++ wrappers inlined into it are library code). */
static bool program_frame(const struct pcsym *ps, const char *raw, const char *fn)
{
	/* A C library linked statically lives in the program's module: its internal names
	 * (reserved: a leading underscore; futex_wait, lll_* inlined) are still library code. */
	return ps->module && !describe_is_runtime_module(ps->module) && strncmp(fn, "std::", 5) != 0 &&
	       strncmp(fn, "gthread", 7) != 0 && strncmp(fn, "gnu_cxx::", 9) != 0 && raw[0] != '_' &&
	       !strstr(fn, "futex") && strncmp(fn, "lll_", 4) != 0;
}

/* The lock type, from the C library's frames between the syscall and the program's code
 * (a finding must rest on the function that waits, not on any name further up the stack).
 * __lll_lock_wait is shared by pthread mutexes and glibc's own locks: its direct caller
 * says which (___pthread_mutex_lock, __pthread_mutex_cond_lock, _IO_puts, or malloc's
 * _int_free, whose lock records no owner). */
static enum lock_hint frame_hint(const struct task *t)
{
	if (!t->syms)
		return HINT_NONE;
	bool lll = false;
	char buf[128];
	for (int i = 0; i < t->npcs && i < HINT_FRAMES; i++) {
		const struct pcsym *ps = t->syms[i];
		if (!ps)
			continue;
		for (int k = 0; k < ps->nframes; k++) {
			if (!ps->frames[k].function)
				continue;
			const char *fn = describe_plain_function(ps->frames[k].function, buf, sizeof(buf));
			enum lock_hint h = hint_of(fn);
			if (lll) {
				/* glibc's inlined helpers on the way (lll_mutex_lock_optimized) */
				if (h == HINT_LLL || strncmp(fn, "lll_", 4) == 0 || strstr(fn, "futex"))
					continue;
				if (h != HINT_NONE)
					return h;
				return stdio_function(fn) ? HINT_STDIO : HINT_LLL;
			}
			if (h == HINT_LLL) {
				lll = true;
				continue;
			}
			if (h != HINT_NONE)
				return h;
			if (program_frame(ps, ps->frames[k].function, fn))
				return HINT_NONE;
		}
	}
	return lll ? HINT_LLL : HINT_NONE;
}

struct ctx {
	struct snapshot *s;
	struct task *t;
	struct wait *w;
	uint64_t uaddr;
	unsigned op, cmd;
	uint32_t val;
};

static bool rd32(struct snapshot *s, uint64_t addr, uint32_t *v)
{
	return s->target && target_read_u32(s->target, addr, v);
}

static bool rd64(struct snapshot *s, uint64_t addr, uint64_t *v)
{
	return s->target && target_read_u64(s->target, addr, v);
}

static const char *data_name(struct snapshot *s, uint64_t addr)
{
	if (!s->symbolizer)
		return NULL;
	char *name = (char *)symbolizer_data_name(s->symbolizer, addr, &s->arena);
	/* The lock is the whole object: forks[1], not forks[1].__data.__lock (glibc's private
	 * members all start with "__"). */
	char *inner = name ? strstr(name, ".__") : NULL;
	if (inner && inner != name)
		*inner = 0;
	return name;
}

static void set_object(struct ctx *c, enum wait_kind kind, uint64_t base)
{
	c->w->kind = kind;
	c->w->address = base;
	c->w->symbol = data_name(c->s, base);
}

static void set_owner_tid(struct ctx *c, pid_t owner)
{
	c->w->owner_tid = owner;
	c->w->owner_known = owner != 0;
}

/* An owner as the lock word records it: a TID of the target's own pid namespace, mapped
 * to the snapshot's (a container's target, model/snapshot.h). */
static void set_owner(struct ctx *c, pid_t word_tid)
{
	set_owner_tid(c, snapshot_tid_from_target(c->s, word_tid));
}

static bool try_mutex(struct ctx *c)
{
	uint64_t base = c->uaddr;
	uint32_t lock, count, owner, kind;
	if ((base & 7) || !rd32(c->s, base + GLIBC_MUTEX_LOCK, &lock) ||
	    !rd32(c->s, base + GLIBC_MUTEX_COUNT, &count) ||
	    !rd32(c->s, base + GLIBC_MUTEX_OWNER, &owner) || !rd32(c->s, base + GLIBC_MUTEX_KIND, &kind))
		return false;
	if (kind & ~GLIBC_MUTEX_KIND_VALID)
		return false;
	bool pi = c->cmd == FUTEX_OP_LOCK_PI || c->cmd == FUTEX_OP_LOCK_PI2;
	bool robust = kind & GLIBC_MUTEX_KIND_ROBUST;
	pid_t who = (pid_t)owner;
	if (pi) {
		if (!(kind & GLIBC_MUTEX_KIND_PI))
			return false;
		if (!who)
			who = (pid_t)(lock & FUTEX_WORD_TID_MASK);
	} else if (robust) {
		/* Robust waiters sleep on the word holding the owner's TID and the waiters bit. */
		if ((c->cmd != FUTEX_OP_WAIT && c->cmd != FUTEX_OP_WAIT_BITSET) ||
		    !(c->val & FUTEX_WORD_WAITERS))
			return false;
		if (!who)
			who = (pid_t)(c->val & FUTEX_WORD_TID_MASK);
	} else if ((c->cmd != FUTEX_OP_WAIT && c->cmd != FUTEX_OP_WAIT_BITSET) || c->val != 2) {
		/* lll_lock sleeps only on the "locked, with waiters" value; timedlock and
		 * clocklock sleep on it with FUTEX_WAIT_BITSET. */
		return false;
	}
	if (who < 0 || who > TID_MAX)
		return false;
	set_object(c, WAIT_MUTEX, base);
	set_owner(c, who);
	static const char *const types[] = { "normal", "recursive", "error-checking", "adaptive" };
	const char *type = types[kind & GLIBC_MUTEX_KIND_TYPE];
	const char *proto = pi ? "priority-inheritance " : (kind & GLIBC_MUTEX_KIND_PP) ? "priority-protect " : "";
	const char *rob = robust ? "robust " : "";
	if ((kind & GLIBC_MUTEX_KIND_TYPE) == 1 && count > 0)
		c->w->detail = arena_printf(&c->s->arena, "%s%s%s mutex, locked %u times by its owner",
					    rob, proto, type, count);
	else if (robust || pi || (kind & (GLIBC_MUTEX_KIND_TYPE | GLIBC_MUTEX_KIND_PP)))
		c->w->detail = arena_printf(&c->s->arena, "%s%s%s mutex", rob, proto, type);
	if (!who)
		c->w->detail = "the mutex records no owner (it is being released or handed over)";
	return true;
}

static bool try_rwlock(struct ctx *c)
{
	if (c->cmd != FUTEX_OP_WAIT_BITSET)
		return false;
	uint64_t base;
	bool writer_waits;	/* the sleeper wants to write */
	if ((c->uaddr & 7) == 4) {
		base = c->uaddr - GLIBC_RW_WRITERS_FUTEX;
		if (!(c->val & GLIBC_RW_FUTEX_USED))
			return false;
		writer_waits = true;
	} else if (c->val & GLIBC_RW_RWAITING) {
		base = c->uaddr - GLIBC_RW_READERS;
		writer_waits = false;
	} else {
		base = c->uaddr - GLIBC_RW_WRPHASE_FUTEX;
		if (!(c->val & GLIBC_RW_FUTEX_USED) || (c->val & ~3u))
			return false;
		/* Readers wait for a write phase to end (1|USED); writers for readers (USED). */
		writer_waits = c->val == GLIBC_RW_FUTEX_USED;
	}
	uint32_t pad3, pad4, cur_writer, shared, flags;
	uint64_t pad2;
	if ((base & 7) || !rd32(c->s, base + GLIBC_RW_PAD3, &pad3) ||
	    !rd32(c->s, base + GLIBC_RW_PAD3 + 4, &pad4) ||
	    !rd32(c->s, base + GLIBC_RW_CUR_WRITER, &cur_writer) ||
	    !rd32(c->s, base + GLIBC_RW_SHARED, &shared) || !rd64(c->s, base + GLIBC_RW_PAD2, &pad2) ||
	    !rd32(c->s, base + GLIBC_RW_FLAGS, &flags))
		return false;
	if (pad3 || pad4 || pad2 || shared > 1 || flags > 2 || cur_writer > TID_MAX)
		return false;
	set_object(c, WAIT_RWLOCK, base);
	set_owner(c, (pid_t)cur_writer);
	if (cur_writer)
		c->w->detail = writer_waits ? "wants to write; held by a writer"
					    : "wants to read; held by a writer";
	else
		c->w->detail = writer_waits
			? "wants to write; held by readers, whom glibc does not record"
			: "wants to read; a writer is taking it from readers, whom glibc does not record";
	return true;
}

static bool try_condvar(struct ctx *c)
{
	if (c->cmd != FUTEX_OP_WAIT_BITSET)
		return false;
	uint64_t base = (c->uaddr & 7) == 0 ? c->uaddr - GLIBC_COND_G_SIGNALS
					    : c->uaddr - GLIBC_COND_G_SIGNALS - 4;
	uint32_t wrefs;
	if ((base & 7) || !rd32(c->s, base + GLIBC_COND_WREFS, &wrefs) || (wrefs >> 3) == 0)
		return false;
	set_object(c, WAIT_CONDVAR, base);
	/* glibc 2.25+ condvars no longer store their mutex; only the waiter's frame knows it. */
	c->w->detail = arena_printf(&c->s->arena, "%u thread%s in pthread_cond_wait on it",
				    wrefs >> 3, (wrefs >> 3) == 1 ? "" : "s");
	return true;
}

static bool try_semaphore(struct ctx *c)
{
	if (c->cmd != FUTEX_OP_WAIT_BITSET || c->val != 0 || (c->uaddr & 7))
		return false;
	uint32_t nwaiters, priv;
	if (!rd32(c->s, c->uaddr + GLIBC_SEM_NWAITERS, &nwaiters) ||
	    !rd32(c->s, c->uaddr + GLIBC_SEM_PRIVATE, &priv) || nwaiters == 0 ||
	    (priv != 0 && priv != FUTEX_OP_PRIVATE))
		return false;
	set_object(c, WAIT_SEMAPHORE, c->uaddr);
	c->w->detail = arena_printf(&c->s->arena, "value 0, %u waiter%s", nwaiters, nwaiters == 1 ? "" : "s");
	return true;
}

static bool try_barrier(struct ctx *c)
{
	if (c->cmd != FUTEX_OP_WAIT || (c->uaddr & 7) != 4)
		return false;
	uint64_t base = c->uaddr - GLIBC_BARRIER_ROUND;
	uint32_t count, shared;
	if (!rd32(c->s, base + GLIBC_BARRIER_COUNT, &count) ||
	    !rd32(c->s, base + GLIBC_BARRIER_SHARED, &shared) || count == 0 ||
	    (shared != 0 && shared != FUTEX_OP_PRIVATE))
		return false;
	set_object(c, WAIT_BARRIER, base);
	c->w->detail = arena_printf(&c->s->arena, "a barrier for %u threads", count);
	return true;
}

/* glibc's struct pthread.tid offset on the target's architecture. */
static uint64_t pthread_tid_off(const struct snapshot *s)
{
	return s->arch && s->arch->id == ARCH_AARCH64 ? GLIBC_PTHREAD_TID_AARCH64 : GLIBC_PTHREAD_TID;
}

/* A thread's struct pthread from its registers: x86_64's fs_base points at it. aarch64's
 * thread pointer (TPIDR_EL0) is in no general register, and the descriptor lies
 * sizeof(struct pthread) below it, which changes with glibc's version: 0, not known. */
static uint64_t task_pthread(const struct task *t)
{
	return t->have_regs && t->regs.arch->id == ARCH_X86_64 ? t->regs.x.fs_base : 0;
}

/* pthread_join sleeps on the joined thread's tid field, which the kernel clears and wakes
 * (a shared futex) when that thread exits: the value waited for is the TID itself. */
static bool try_join(struct ctx *c)
{
	if ((c->cmd != FUTEX_OP_WAIT && c->cmd != FUTEX_OP_WAIT_BITSET) || (c->op & FUTEX_OP_PRIVATE))
		return false;
	uint32_t word;
	pid_t tid = snapshot_tid_from_target(c->s, (pid_t)c->val);
	if (!c->val || tid == c->t->tid || !rd32(c->s, c->uaddr, &word) || word != c->val)
		return false;
	struct task *joined = snapshot_find_task(c->s, tid);
	c->w->kind = WAIT_JOIN;
	c->w->address = c->uaddr - pthread_tid_off(c->s);
	set_owner(c, joined ? (pid_t)c->val : 0);
	if (!joined)
		c->w->detail = arena_printf(&c->s->arena, "joins thread %u, which is not in the process",
					    c->val);
	return true;
}

/* Without names, a join is still told by the registers: the word is the tid field of a
 * thread's own descriptor (its fs_base + the field's offset), which the kernel clears and
 * wakes when that thread exits, and the value slept on is that thread's TID. Where the
 * registers do not give the descriptor (aarch64), by where it is: glibc puts a thread's
 * struct pthread at the top of the thread's own stack block, so a word above the thread's
 * SP in the mapping of its stack, holding its TID, is that field. */
static bool try_join_by_thread(struct ctx *c)
{
	for (size_t i = 0; i < c->s->ntasks; i++) {
		const struct task *o = &c->s->tasks[i];
		if (snapshot_tid_from_target(c->s, (pid_t)c->val) != o->tid || !o->have_regs)
			continue;
		uint64_t pd = task_pthread(o);
		if (pd && pd + pthread_tid_off(c->s) == c->uaddr)
			return try_join(c);
		if (pd || o->regs.arch->id == ARCH_X86_64)
			continue;
		uint64_t sp = regs_sp(&o->regs);
		const struct mapping *m = snapshot_mapping_at(c->s, sp);
		if (m && c->uaddr > sp && c->uaddr >= m->start + pthread_tid_off(c->s) && c->uaddr < m->end &&
		    o != c->t)
			return try_join(c);
	}
	return false;
}

/* The thread whose thread pointer (fs_base, which is its struct pthread) is p; with
 * read_tid, also the one whose struct pthread at p says so. */
static struct task *task_with_pthread(struct snapshot *s, uint64_t p, bool read_tid)
{
	for (size_t i = 0; i < s->ntasks; i++)
		if (task_pthread(&s->tasks[i]) == p)
			return &s->tasks[i];
	uint32_t tid;
	if (!read_tid)
		return NULL;
	if (rd32(s, p + pthread_tid_off(s), &tid) && tid && tid <= TID_MAX)
		return snapshot_find_task(s, snapshot_tid_from_target(s, (pid_t)tid));
	return NULL;
}

/* glibc's own locks sleep through __lll_lock_wait too. The stdio FILE lock (_IO_lock_t:
 * lock word, count, owner) records its holder as a struct pthread pointer, the holder's
 * fs_base, whose tid field names it; malloc's and the loader's plain locks record nobody.
 * Only a stdio function calling __lll_lock_wait says the word is an _IO_lock_t. */
static bool try_internal_lock(struct ctx *c, bool stdio)
{
	if (c->cmd != FUTEX_OP_WAIT || c->val != 2)
		return false;
	uint32_t cnt;
	uint64_t owner;
	struct task *holder = NULL;
	if (stdio && !(c->uaddr & 7) && rd32(c->s, c->uaddr + GLIBC_IO_LOCK_CNT, &cnt) && cnt > 0 &&
	    rd64(c->s, c->uaddr + GLIBC_IO_LOCK_OWNER, &owner) && owner)
		holder = task_with_pthread(c->s, owner, true);
	set_object(c, WAIT_MUTEX, c->uaddr);
	if (holder) {
		set_owner_tid(c, holder->tid);
		c->w->detail = arena_printf(&c->s->arena, "a stdio FILE lock, taken %u time%s by its owner",
					    cnt, cnt == 1 ? "" : "s");
	} else if (stdio) {
		c->w->detail = "a stdio FILE lock whose owner field names no thread of the process";
	} else {
		c->w->detail = "a glibc-internal lock (malloc, loader, ...) that records no owner";
	}
	return true;
}

static bool try_hint(struct ctx *c, enum lock_hint h)
{
	switch (h) {
	case HINT_MUTEX: return try_mutex(c);
	case HINT_CONDVAR: return try_condvar(c);
	case HINT_RWLOCK: return try_rwlock(c);
	case HINT_SEMAPHORE: return try_semaphore(c);
	case HINT_BARRIER: return try_barrier(c);
	case HINT_JOIN: return try_join(c);
	case HINT_LLL: return try_internal_lock(c, false);
	case HINT_STDIO: return try_internal_lock(c, true);
	default: return false;
	}
}

/* An aarch64 futex call that had returned when the core was written (into the signal that
 * made it): x0, the word's address, now holds the call's result. The names still say the
 * type; a join still names its thread, by the TID the call waited on (x2). */
static void lost_futex_address(struct ctx *c, enum lock_hint h)
{
	static const enum wait_kind hint_kind[] = {
		[HINT_NONE] = WAIT_FUTEX, [HINT_MUTEX] = WAIT_MUTEX, [HINT_CONDVAR] = WAIT_CONDVAR,
		[HINT_RWLOCK] = WAIT_RWLOCK, [HINT_SEMAPHORE] = WAIT_SEMAPHORE, [HINT_BARRIER] = WAIT_BARRIER,
		[HINT_JOIN] = WAIT_JOIN, [HINT_LLL] = WAIT_MUTEX, [HINT_STDIO] = WAIT_MUTEX,
	};
	set_object(c, h < sizeof(hint_kind) / sizeof(*hint_kind) ? hint_kind[h] : WAIT_FUTEX, 0);
	const char *lost = "the call had returned when the core was written (into the signal that made it), and "
			   "x0, the futex word's address, holds its result";
	pid_t tid = snapshot_tid_from_target(c->s, (pid_t)c->val);
	if (h == HINT_JOIN && c->val && tid != c->t->tid && snapshot_find_task(c->s, tid)) {
		set_owner(c, (pid_t)c->val);
		c->w->detail = arena_printf(&c->s->arena, "%s; the thread joined is the one whose TID it waited "
					    "on (x2)", lost);
		return;
	}
	c->w->detail = arena_printf(&c->s->arena, "%s, so its owner is not known", lost);
}

/* A lock word is read as a glibc type only when the waiting frame is glibc's function for
 * that type: the same futex shapes are Go's runtime locks, Rust's std locks, or any
 * program's own, and none of them records an owner. */
static void decode_futex(struct ctx *c)
{
	struct task *t = c->t;
	c->uaddr = t->syscall_args[0];
	c->op = (unsigned)t->syscall_args[1];
	c->cmd = c->op & ~(unsigned)(FUTEX_OP_PRIVATE | FUTEX_OP_CLOCK_REALTIME);
	c->val = (uint32_t)t->syscall_args[2];
	enum lock_hint h = frame_hint(t);
	if (t->syscall_returned) {
		lost_futex_address(c, h);
		return;
	}
	/* glibc's layouts are read only on glibc: musl keeps other words at the same places
	 * (a normal mutex's lock word holds EBUSY, not a state; its owner is nowhere). */
	bool glibc = c->s->libc == LIBC_GLIBC;
	if (glibc && (try_hint(c, h) || (h == HINT_NONE && try_join_by_thread(c))))
		return;
	if (c->s->libc == LIBC_MUSL && (!c->s->arch || c->s->arch->id == ARCH_X86_64) && musl_wait(c->s, t, c->w))
		return;
	if (h == HINT_NONE && rust_lock_wait(c->s, t, c->w, c->uaddr, c->val))
		return;
	/* The names say which type, but its words do not fit glibc 2.36's layout: keep the
	 * type, claim no owner. */
	static const enum wait_kind hint_kind[] = {
		[HINT_MUTEX] = WAIT_MUTEX, [HINT_CONDVAR] = WAIT_CONDVAR, [HINT_RWLOCK] = WAIT_RWLOCK,
		[HINT_SEMAPHORE] = WAIT_SEMAPHORE, [HINT_BARRIER] = WAIT_BARRIER, [HINT_JOIN] = WAIT_JOIN,
		[HINT_LLL] = WAIT_MUTEX, [HINT_STDIO] = WAIT_MUTEX,
	};
	if (h != HINT_NONE && glibc) {
		set_object(c, hint_kind[h], c->uaddr);
		c->w->detail = arena_printf(&c->s->arena, "its futex word at %#llx does not match "
					    "glibc's layout, so its owner is not known",
					    (unsigned long long)c->uaddr);
		return;
	}
	if (h != HINT_NONE && c->s->libc == LIBC_UNKNOWN) {
		set_object(c, hint_kind[h], c->uaddr);
		c->w->detail = arena_printf(&c->s->arena, "the C library is not known (%s), so its futex "
					    "word at %#llx is not read and its owner is not known",
					    c->s->libc_evidence ? c->s->libc_evidence : "not looked for",
					    (unsigned long long)c->uaddr);
		return;
	}
	set_object(c, WAIT_FUTEX, c->uaddr);
	c->w->detail = arena_printf(&c->s->arena, "futex op %#x, sleeping while the word is %u; no "
				    "C library lock function on the stack says what the word belongs "
				    "to, so its owner is not known", c->op, c->val);
}

static int cmp_fd(const void *key, const void *elem)
{
	int k = *(const int *)key, f = ((const struct fdinfo *)elem)->fd;
	return (k > f) - (k < f);
}

static const struct fdinfo *find_fd(const struct snapshot *s, int fd)
{
	return s->nfds ? bsearch(&fd, s->fds, s->nfds, sizeof(*s->fds), cmp_fd) : NULL;
}

static void set_fd(struct snapshot *s, struct wait *w, enum wait_kind kind, uint64_t arg)
{
	w->kind = kind;
	w->fd = (int)arg;
	if (w->fd < 0)
		return;
	w->fd_file = w->fd;
	const struct fdinfo *f = find_fd(s, w->fd);
	if (!f)
		return;
	w->fd_file = f->file_fd;
	w->fd_target = f->detail ? arena_printf(&s->arena, "%s %s", f->target, f->detail) : f->target;
}

void wait_describe_fd(struct snapshot *s, struct wait *w)
{
	if (w->fd >= 0 && !w->fd_target)
		set_fd(s, w, w->kind, (uint64_t)w->fd);
}

static void sleep_detail(struct snapshot *s, struct wait *w, uint64_t req, bool absolute)
{
	uint64_t ts[2];
	if (!s->target || target_read(s->target, req, ts, sizeof(ts)) != sizeof(ts))
		return;
	if (absolute)
		w->detail = "until an absolute time";
	else
		w->detail = arena_printf(&s->arena, "for %llu.%03llu s", (unsigned long long)ts[0],
					 (unsigned long long)(ts[1] / 1000000));
}

/* Whether the task still sits in its syscall, or got out of it before the stop. A stop
 * interrupts a blocking call with a kernel-internal restart code, or with the partial
 * count of a read or write that the C library then simply repeats: both mean blocked.
 * Only a futex that already returned (woken, value changed, timed out) means the task is
 * on its way back to user code. Without registers, /proc's syscall file means inside. */
static bool syscall_in_progress(const struct task *t, long nr)
{
	if (!t->have_regs || nr != SYS_NR_FUTEX)
		return true;
	const struct arch *a = t->regs.arch;
	if (a->sysnr >= 0 && (long)t->regs.w[a->sysnr] != t->syscall_nr)
		return true;
	/* aarch64: a call the kernel rewound to its svc is still to be made; x0 is its result
	 * only once it has returned */
	if (a->sysnr < 0 && !t->syscall_returned)
		return true;
	long rax = (long)t->regs.w[a->ret];
	return rax != 0 && rax != -EAGAIN && rax != -ETIMEDOUT;
}

/* Identifier words, split at '_', ':', digits and lower-to-upper case changes. */
static bool has_word(const char *s, const char *const *words)
{
	if (!s)
		return false;
	char w[64];
	size_t n = 0;
	for (const char *p = s;; p++) {
		bool boundary = !isalpha((unsigned char)*p) ||
				(n > 0 && isupper((unsigned char)*p) && islower((unsigned char)p[-1]));
		if (boundary && n > 0) {
			w[n] = 0;
			for (const char *const *k = words; *k; k++)
				if (strcmp(w, *k) == 0)
					return true;
			n = 0;
		}
		if (!*p)
			break;
		if (isalpha((unsigned char)*p) && n + 1 < sizeof(w))
			w[n++] = (char)tolower((unsigned char)*p);
	}
	return false;
}

/* A worker waiting for work looks like any thread stuck on a condvar; the words the
 * program chose for the waiting function, the object and the thread tell them apart
 * (queue_get / has_work / "worker-3" against queue_put / not_full). Producer words win. */
static bool looks_like_idle_worker(const struct task *t, const struct wait *w)
{
	static const char *const producer[] = { "put", "push", "enqueue", "submit", "produce",
		"producer", "send", "post", "offer", "full", "space", "add", "insert", "write",
		"writer", "publish", "reply", "response", "result", "done", "finish", NULL };
	static const char *const idle[] = { "worker", "workers", "idle", "pool", "pop", "take",
		"dequeue", "consume", "consumer", "fetch", "steal", "get", "work", "task", "tasks",
		"job", "jobs", "empty", "available", NULL };
	/* The object, the waiting function and its caller (worker_main -> wait_for_job). */
	const char *texts[3] = { w->symbol, NULL, NULL };
	const struct sym_frame *site = describe_wait_site(t);
	bool after_site = false;
	for (int i = 0; site && i < t->npcs && !texts[2]; i++) {
		const struct pcsym *ps = t->syms[i];
		for (int k = 0; ps && k < ps->nframes && !texts[2]; k++) {
			if (&ps->frames[k] == site) {
				texts[1] = site->function;
				after_site = true;
			} else if (after_site && ps->frames[k].function) {
				texts[2] = ps->frames[k].function;
			}
		}
	}
	for (int i = 0; i < 3; i++)
		if (has_word(texts[i], producer))
			return false;
	for (int i = 0; i < 3; i++)
		if (has_word(texts[i], idle))
			return true;
	/* A thread name alone is weak evidence, but "worker-3" on a condvar is the pattern. */
	return !has_word(t->name, producer) &&
	       has_word(t->name, (const char *const[]){ "worker", "workers", "pool", "idle", NULL });
}

void wait_decode_task(struct snapshot *s, struct task *t)
{
	t->wait = NULL;
	if (t->kstate == 'Z' || t->kstate == 'X') {
		t->state = t->kstate == 'Z' ? "zombie" : "dead";
		return;
	}
	const char *base_state = t->kstate == 'T' ? "stopped" : NULL;
	long nr = t->syscall_nr;
	enum restart_evidence restarted = RESTART_UNKNOWN;
	if (nr == SYS_NR_RESTART_SYSCALL) {
		/* An earlier stop turned the wait into restart_syscall: decode the original. */
		long orig = restart_original_nr(s, t, &restarted);
		if (orig >= 0)
			nr = orig;
	}
	if (t->syscall_nr < 0 || !syscall_in_progress(t, nr)) {
		/* No registers and no syscall: the task never stopped (D state), nothing is known. */
		if (!base_state && spinlock_wait(s, t))
			return;
		t->state = base_state ? base_state : !t->have_regs ? "unknown" : "running";
		return;
	}
	if (nr == 24 /* sched_yield */) {
		t->state = base_state ? base_state : "runnable";
		return;
	}
	struct wait *w = ARENA_NEW(&s->arena, struct wait, 1);
	w->fd = -1;
	w->fd_file = -1;
	w->syscall = syscall_name(nr);
	if (!w->syscall)
		w->syscall = arena_printf(&s->arena, "syscall_%ld", nr);
	const uint64_t *a = t->syscall_args;
	struct ctx c = { .s = s, .t = t, .w = w };
	switch (nr) {
	case SYS_NR_FUTEX: {
		unsigned cmd = (unsigned)a[1] & ~(unsigned)(FUTEX_OP_PRIVATE | FUTEX_OP_CLOCK_REALTIME);
		if (cmd != FUTEX_OP_WAIT && cmd != FUTEX_OP_WAIT_BITSET && cmd != FUTEX_OP_LOCK_PI &&
		    cmd != FUTEX_OP_LOCK_PI2 && cmd != FUTEX_OP_WAIT_REQUEUE_PI) {
			/* Waking others or requeueing: on its way, not waiting. */
			t->state = base_state ? base_state : "runnable";
			return;
		}
		decode_futex(&c);
		break;
	}
	case SYS_NR_FUTEX_WAITV:
		w->kind = WAIT_FUTEX;
		w->detail = "futex_waitv on several words";
		break;
	case SYS_NR_READ: case SYS_NR_READV: case SYS_NR_PREAD64: case SYS_NR_PREADV:
	case SYS_NR_PREADV2:
		set_fd(s, w, WAIT_READ, a[0]);
		break;
	case SYS_NR_WRITE: case SYS_NR_WRITEV: case SYS_NR_PWRITE64: case SYS_NR_PWRITEV:
	case SYS_NR_PWRITEV2: case SYS_NR_SENDFILE:
		set_fd(s, w, WAIT_WRITE, a[0]);
		break;
	case SYS_NR_RECVFROM: case SYS_NR_RECVMSG: case SYS_NR_RECVMMSG:
		set_fd(s, w, WAIT_RECV, a[0]);
		break;
	case SYS_NR_SENDTO: case SYS_NR_SENDMSG: case SYS_NR_SENDMMSG:
		set_fd(s, w, WAIT_SEND, a[0]);
		break;
	case SYS_NR_ACCEPT: case SYS_NR_ACCEPT4:
		set_fd(s, w, WAIT_ACCEPT, a[0]);
		w->idle = true;
		break;
	case SYS_NR_CONNECT:
		set_fd(s, w, WAIT_CONNECT, a[0]);
		break;
	case SYS_NR_POLL: case SYS_NR_PPOLL: {
		/* no fds and no timeout: only a signal ends it. glibc's pause() is this ppoll
		 * where there is no pause call (aarch64 and every generic-table architecture) */
		bool forever = nr == SYS_NR_PPOLL ? a[2] == 0 : (int32_t)a[2] < 0;
		if (a[1] == 0 && forever) {
			w->kind = WAIT_SIGNAL;
			w->detail = arena_printf(&s->arena, "%s on no fds without a timeout: only a signal ends it",
						 nr == SYS_NR_PPOLL ? "ppoll" : "poll");
			break;
		}
		w->kind = WAIT_POLL;
		w->idle = true;
		int32_t pfd[2];
		if (a[1] == 1 && s->target && target_read(s->target, a[0], pfd, sizeof(pfd)) == sizeof(pfd))
			set_fd(s, w, WAIT_POLL, (uint64_t)(int64_t)pfd[0]);
		else
			w->detail = arena_printf(&s->arena, "%llu fds", (unsigned long long)a[1]);
		break;
	}
	case SYS_NR_SELECT: case SYS_NR_PSELECT6:
		w->kind = WAIT_SELECT;
		w->idle = true;
		w->detail = arena_printf(&s->arena, "fds below %llu", (unsigned long long)a[0]);
		break;
	case SYS_NR_EPOLL_WAIT: case SYS_NR_EPOLL_PWAIT: case SYS_NR_EPOLL_PWAIT2:
		set_fd(s, w, WAIT_EPOLL, a[0]);
		w->idle = true;
		break;
	case SYS_NR_NANOSLEEP:
		w->kind = WAIT_SLEEP;
		sleep_detail(s, w, a[0], false);
		break;
	case SYS_NR_CLOCK_NANOSLEEP:
		w->kind = WAIT_SLEEP;
		sleep_detail(s, w, a[2], a[1] & 1 /* TIMER_ABSTIME */);
		break;
	case SYS_NR_PAUSE: case SYS_NR_RT_SIGSUSPEND: case SYS_NR_RT_SIGTIMEDWAIT:
		w->kind = WAIT_SIGNAL;
		break;
	case SYS_NR_WAIT4:
		w->kind = WAIT_WAITPID;
		if ((int)a[0] > 0)
			w->detail = arena_printf(&s->arena, "for process %d", (int)a[0]);
		break;
	case SYS_NR_WAITID:
		w->kind = WAIT_WAITPID;
		break;
	case SYS_NR_FLOCK:
		set_fd(s, w, WAIT_FILELOCK, a[0]);
		break;
	case SYS_NR_FCNTL:
		if (a[1] == 7 /* F_SETLKW */ || a[1] == 38 /* F_OFD_SETLKW */)
			set_fd(s, w, WAIT_FILELOCK, a[0]);
		else
			w->kind = WAIT_SYSCALL;
		break;
	default:
		w->kind = WAIT_SYSCALL;
		break;
	}
	if ((w->kind == WAIT_CONDVAR || w->kind == WAIT_SEMAPHORE || w->kind == WAIT_FUTEX) &&
	    looks_like_idle_worker(t, w))
		w->idle = true;
	if (restarted != RESTART_UNKNOWN) {
		w->restarted = true;
		w->detail = arena_printf(&s->arena, "%s%srestarted after an earlier stop (restart_syscall; "
					 "the call told by %s)", w->detail ? w->detail : "",
					 w->detail ? "; " : "",
					 restarted == RESTART_FROM_CODE ? "the code before the PC" : "the frames");
	} else if (t->syscall_nr == SYS_NR_RESTART_SYSCALL) {
		w->detail = "restarted after an earlier stop (restart_syscall); neither the code before "
			    "the PC nor the frames tell which call it continues";
	}
	if (t->kstate == 'D' && !w->detail)
		w->detail = "in uninterruptible sleep (D state)";
	t->wait = w;
	t->state = base_state ? base_state : wait_kind_name(w->kind);
}
