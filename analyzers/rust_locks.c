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

bool rust_lock_wait(struct snapshot *s, const struct task *t, struct wait *w, uint64_t uaddr, uint32_t val)
{
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
