#include "analyzers/rust_locks.h"
#include "analyzers/describe.h"
#include "symbols/symbols.h"
#include "image/target.h"
#include <string.h>

/* std's internal paths move between releases (std::sys::unix::locks::futex::Mutex in 1.63,
 * std::sys::sync::mutex::futex::Mutex since 1.77, v0 symbols print <..::Mutex>::), but the
 * type and method names of the futex implementations have stayed: match those, inside std. */
enum rust_op { R_NONE, R_MUTEX, R_READ, R_WRITE, R_CONDVAR, R_ONCE };

static const struct {
	const char *tail;
	enum rust_op op;
} rust_waits[] = {
	{ "::Mutex::lock_contended", R_MUTEX },
	{ "::RwLock::read_contended", R_READ },
	{ "::RwLock::write_contended", R_WRITE },
	{ "::Condvar::wait", R_CONDVAR },	/* wait, wait_timeout, wait_optional_timeout */
	{ "::Once::call", R_ONCE },
};

/* Before the futex Once (Rust 1.63), std's Once queued its waiters and parked them in
 * Once::call_inner, which also runs the initialiser (inlined): a waiter and an initialiser
 * that parks look the same, so neither is claimed (a bare futex). */

#define RUST_FRAMES 8

/* The name without the angle brackets v0 symbols put around a type's impl. */
static void plain(const char *fn, char *buf, size_t cap)
{
	size_t n = 0;
	for (; *fn && n + 1 < cap; fn++)
		if (*fn != '<' && *fn != '>')
			buf[n++] = *fn;
	buf[n] = 0;
}

static enum rust_op rust_op_of(const struct task *t)
{
	if (!t->syms)
		return R_NONE;
	char buf[256];
	bool parked = false;	/* in std::thread::park: waits for an unpark, not on a lock word */
	for (int i = 0; i < t->npcs && i < RUST_FRAMES; i++) {
		const struct pcsym *ps = t->syms[i];
		for (int k = 0; ps && k < ps->nframes; k++) {
			const char *fn = ps->frames[k].function;
			if (!fn || describe_is_runtime_module(ps->module))
				continue;
			plain(fn, buf, sizeof(buf));
			/* only std's own frames between the syscall and the program: a program
			 * frame further up (a Once's initialiser that itself waits) is not this
			 * wait's */
			if (strncmp(buf, "std::", 5) != 0 && strncmp(buf, "core::", 6) != 0)
				return R_NONE;
			if (strstr(buf, "::park")) {
				parked = true;
				continue;
			}
			/* a Once's initialiser that parks: its Once::call is further up, not the wait */
			if (parked || !strstr(buf, "futex"))
				continue;
			for (size_t r = 0; r < sizeof(rust_waits) / sizeof(*rust_waits); r++)
				if (strstr(buf, rust_waits[r].tail))
					return rust_waits[r].op;
		}
	}
	return R_NONE;
}

/* parking_lot parks a thread on a futex in its own ThreadData (thread-local), not on the
 * lock: the lock is the key park() was given, which ThreadData keeps beside the futex, and
 * which the waiting lock_slow still has on its stack (self). The type is the waiting
 * frame's: parking_lot::raw_mutex::RawMutex::lock_slow, raw_rwlock::RawRwLock's
 * lock_exclusive_slow / lock_shared_slow / lock_upgradable_slow. */
enum pl_op { PL_NONE, PL_MUTEX, PL_READ, PL_WRITE };

static enum pl_op parking_lot_op(const struct task *t)
{
	char buf[256];
	for (int i = 0; t->syms && i < t->npcs && i < RUST_FRAMES; i++) {
		const struct pcsym *ps = t->syms[i];
		for (int k = 0; ps && k < ps->nframes; k++) {
			const char *fn = ps->frames[k].function;
			if (!fn)
				continue;
			plain(fn, buf, sizeof(buf));
			/* park() is inlined into lock_slow (older rustc's DWARF, 1.63's, names only
			 * lock_slow), whose one futex wait is park's */
			if (strncmp(buf, "parking_lot::raw_", 17) != 0)
				continue;
			if (strstr(buf, "RawMutex::lock_slow"))
				return PL_MUTEX;
			if (strstr(buf, "RawRwLock::lock_shared_slow"))
				return PL_READ;
			if (strstr(buf, "RawRwLock::lock_exclusive_slow") || strstr(buf, "RawRwLock::lock_upgradable_slow") ||
			    strstr(buf, "RawRwLock::wait_for_readers"))
				return PL_WRITE;
		}
	}
	return PL_NONE;
}

/* ThreadData (parking_lot_core 0.9: key, next_in_queue, the tokens, the parker's futex, a
 * flag; about 48 bytes) around its futex: the words before it and one after; the thread-local
 * variables beyond are not searched */
#define PL_BEFORE 48
#define PL_AFTER 16
#define PL_STACK_WORDS 2048	/* words of the waiting thread's stack searched for self */

/* The key: a word of the ThreadData around the futex that the thread's stack or registers
 * also hold and that points at writable memory outside the ThreadData; exactly one, or
 * nothing is claimed. */
static uint64_t parking_lot_key(struct snapshot *s, const struct task *t, uint64_t uaddr)
{
	if (!s->target || !t->have_regs)
		return 0;
	uint64_t stack[PL_STACK_WORDS];
	size_t n = target_read(s->target, regs_sp(&t->regs), stack, sizeof(stack)) / 8;
	uint64_t found = 0;
	int nfound = 0;
	for (uint64_t a = (uaddr & ~7ull) - PL_BEFORE; a < uaddr + PL_AFTER; a += 8) {
		uint64_t v;
		if (!target_read_u64(s->target, a, &v) || !v || (v + 256 > uaddr && v < uaddr + 256))
			continue;
		const struct mapping *m = snapshot_mapping_at(s, v & ~1ull);
		if (!m || m->perms[1] != 'w' || v == found)
			continue;
		/* self stays in a callee-saved register across a leaf syscall wrapper, or is on
		 * the stack */
		bool on_stack = false;
		for (size_t k = 0; k < n && !on_stack; k++)
			on_stack = stack[k] == v || stack[k] == (v & ~1ull);
		for (size_t k = 0; k < t->regs.arch->nwords && !on_stack; k++)
			on_stack = (int)k != t->regs.arch->sp && (t->regs.w[k] == v || t->regs.w[k] == (v & ~1ull));
		if (on_stack) {
			found = v;
			nfound++;
		}
	}
	/* a writer waiting for readers to leave parks on the lock's address + 1 */
	return nfound == 1 ? found & ~1ull : 0;
}

static bool parking_lot_wait(struct snapshot *s, const struct task *t, struct wait *w, uint64_t uaddr)
{
	enum pl_op op = parking_lot_op(t);
	if (op == PL_NONE)
		return false;
	uint64_t key = parking_lot_key(s, t, uaddr);
	if (!key)
		return false;	/* a bare futex: no lock is claimed without its key */
	w->kind = op == PL_MUTEX ? WAIT_MUTEX : WAIT_RWLOCK;
	w->holder_inferable = true;
	w->detail = op == PL_MUTEX ? "a parking_lot Mutex (parked in RawMutex::lock_slow; the lock is the key its "
				     "thread was parked with), which records no owner"
		    : arena_printf(&s->arena, "a parking_lot RwLock (wants to %s; the lock is the key its thread was "
				   "parked with), which records neither its writer nor its readers",
				   op == PL_READ ? "read" : "write");
	w->address = key;
	w->symbol = s->symbolizer ? symbolizer_data_name(s->symbolizer, key, &s->arena) : NULL;
	return true;
}

bool rust_lock_wait(struct snapshot *s, const struct task *t, struct wait *w, uint64_t uaddr, uint32_t val)
{
	if (parking_lot_wait(s, t, w, uaddr))
		return true;
	enum rust_op op = rust_op_of(t);
	if (op == R_NONE)
		return false;
	/* The lock's words (std's own layout, the same from 1.62 to today): a Mutex's futex
	 * is 0 unlocked, 1 locked, 2 locked with waiters; an RwLock is a state word, where
	 * readers sleep, then a writer_notify word, where writers sleep. */
	uint64_t base = op == R_WRITE ? uaddr - 4 : uaddr;
	uint32_t word = 0;
	bool have = s->target && target_read_u32(s->target, base, &word);
	switch (op) {
	case R_MUTEX:
		w->kind = WAIT_MUTEX;
		w->holder_inferable = true;
		w->detail = arena_printf(&s->arena, "a Rust std::sync::Mutex (waits in lock_contended; word %s%u), which "
					 "records no owner", have ? "" : "unreadable, slept on ", have ? word : val);
		break;
	case R_READ: case R_WRITE:
		w->kind = WAIT_RWLOCK;
		w->holder_inferable = true;
		w->detail = arena_printf(&s->arena, "a Rust std::sync::RwLock (wants to %s; state %#x), which records "
					 "neither its writer nor its readers", op == R_READ ? "read" : "write", word);
		break;
	case R_CONDVAR:
		w->kind = WAIT_CONDVAR;
		w->detail = "a Rust std::sync::Condvar; nothing records who would notify it";
		break;
	case R_ONCE:
		w->kind = WAIT_ONCE;
		w->detail = "a Rust std::sync::Once (or OnceLock, LazyLock) that another thread is initialising";
		break;
	default:
		return false;
	}
	w->address = base;
	w->symbol = s->symbolizer ? symbolizer_data_name(s->symbolizer, base, &s->arena) : NULL;
	return true;
}
