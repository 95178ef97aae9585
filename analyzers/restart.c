#include "analyzers/restart.h"
#include "analyzers/describe.h"
#include "model/syscalls.h"
#include "analyzers/waits.h"
#include "image/target.h"
#include <string.h>

/* The calls whose interrupted wait the kernel resumes as restart_syscall (signal(7) and each
 * call's kernel code: they return -ERESTART_RESTARTBLOCK). select, pselect6 and ppoll are
 * re-run under their own number instead, epoll_wait returns EINTR. */
static bool restartable(long nr)
{
	return nr == SYS_NR_FUTEX || nr == SYS_NR_NANOSLEEP || nr == SYS_NR_CLOCK_NANOSLEEP ||
	       nr == SYS_NR_POLL;
}

long restart_nr_from_code(const unsigned char *code, size_t n)
{
	if (n < 7 || code[n - 2] != 0x0f || code[n - 1] != 0x05)
		return -1;
	/* Nearest "b8 imm32" (mov $imm32, %eax) first: wrappers set up the other arguments
	 * around it, and a REX-prefixed b8 (41 b8: mov to %r8d) is an argument, not the number. */
	for (size_t p = n - 7;; p--) {
		if (code[p] == 0xb8 && !(p > 0 && (code[p - 1] & 0xf0) == 0x40)) {
			long v = (long)((uint32_t)code[p + 1] | (uint32_t)code[p + 2] << 8 |
					(uint32_t)code[p + 3] << 16 | (uint32_t)code[p + 4] << 24);
			if (restartable(v))
				return v;
		}
		if (p == 0)
			break;
	}
	return -1;
}

/* Whether the argument registers fit the call: a futex wait's operation, poll's count,
 * clock_nanosleep's clock and flags. */
static bool args_fit(long nr, const uint64_t *a)
{
	switch (nr) {
	case SYS_NR_FUTEX: {
		unsigned cmd = (unsigned)a[1] & ~(unsigned)(FUTEX_OP_PRIVATE | FUTEX_OP_CLOCK_REALTIME);
		return a[0] && !(a[0] & 3) && a[1] >> 32 == 0 &&
		       (cmd == FUTEX_OP_WAIT || cmd == FUTEX_OP_WAIT_BITSET || cmd == FUTEX_OP_LOCK_PI ||
			cmd == FUTEX_OP_LOCK_PI2 || cmd == FUTEX_OP_WAIT_REQUEUE_PI);
	}
	case SYS_NR_POLL:
		return a[1] < (1u << 20);
	case SYS_NR_CLOCK_NANOSLEEP:
		return a[0] < 16 && a[1] <= 1 && a[2] != 0;
	case SYS_NR_NANOSLEEP:
		return a[0] != 0;
	default:
		return false;
	}
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* The call a waiting function makes, by its name without glibc's underscores and versions
 * (glibc, Go's runtime, musl). */
static long nr_of_function(const char *fn, const uint64_t *a)
{
	if (strstr(fn, "futex") || has_prefix(fn, "lll_lock_wait") || has_prefix(fn, "pthread_cond_") ||
	    has_prefix(fn, "pthread_mutex_") || has_prefix(fn, "pthread_rwlock_") ||
	    has_prefix(fn, "pthread_barrier_") || has_prefix(fn, "pthread_join") ||
	    has_prefix(fn, "pthread_clockjoin") || has_prefix(fn, "pthread_timedjoin") ||
	    has_prefix(fn, "sem_") || has_prefix(fn, "new_sem_") || has_prefix(fn, "do_futex"))
		return SYS_NR_FUTEX;
	if (strcmp(fn, "poll") == 0 || strcmp(fn, "libc_poll") == 0 || strcmp(fn, "poll_chk") == 0)
		return SYS_NR_POLL;
	if (has_prefix(fn, "clock_nanosleep"))
		return SYS_NR_CLOCK_NANOSLEEP;
	if (has_prefix(fn, "nanosleep") || has_prefix(fn, "libc_nanosleep") || strcmp(fn, "sleep") == 0 ||
	    strcmp(fn, "usleep") == 0 || strcmp(fn, "thrd_sleep") == 0 || strcmp(fn, "runtime.usleep") == 0)
		/* glibc's nanosleep calls clock_nanosleep; musl's and Go's call nanosleep */
		return args_fit(SYS_NR_CLOCK_NANOSLEEP, a) ? SYS_NR_CLOCK_NANOSLEEP : SYS_NR_NANOSLEEP;
	return -1;
}

#define RESTART_NAME_FRAMES 6

long restart_original_nr(struct snapshot *s, const struct task *t, enum restart_evidence *how)
{
	*how = RESTART_UNKNOWN;
	const uint64_t *a = t->syscall_args;
	/* the code read is x86_64's (mov $nr, %eax; syscall) */
	if (t->have_regs && t->regs.arch->id == ARCH_X86_64 && s->target && t->regs.x.rip >= RESTART_CODE_WINDOW) {
		unsigned char code[RESTART_CODE_WINDOW];
		if (target_read(s->target, t->regs.x.rip - RESTART_CODE_WINDOW, code, sizeof(code)) ==
		    sizeof(code)) {
			long nr = restart_nr_from_code(code, sizeof(code));
			if (nr >= 0 && args_fit(nr, a)) {
				*how = RESTART_FROM_CODE;
				return nr;
			}
		}
	}
	char buf[128];
	for (int i = 0; t->syms && i < t->npcs && i < RESTART_NAME_FRAMES; i++) {
		const struct pcsym *ps = t->syms[i];
		for (int k = 0; ps && k < ps->nframes; k++) {
			if (!ps->frames[k].function)
				continue;
			long nr = nr_of_function(describe_plain_function(ps->frames[k].function, buf, sizeof(buf)), a);
			if (nr < 0)
				continue;
			if (!args_fit(nr, a))
				return -1;
			*how = RESTART_FROM_FRAMES;
			return nr;
		}
	}
	return -1;
}
