/* The decoding rules for waits an earlier stop restarted, and for what a futex word may be
 * read as: the code before the PC (bytes recorded from glibc 2.36 and Go on x86_64), the
 * frames' names, the argument registers; a lock word is a glibc type only when glibc's
 * function for that type waits on it, and locks that record no owner are given none. */
#include "analyzers/analyze.h"
#include "analyzers/restart.h"
#include "analyzers/waits.h"
#include "image/target.h"
#include "tests/unit/synthetic.h"
#include "tests/unit/unit.h"
#include "util/xalloc.h"
#include <stdlib.h>

static size_t unhex(const char *h, unsigned char *out)
{
	size_t n = 0;
	for (; h[0] && h[1]; h += 2)
		out[n++] = (unsigned char)strtoul((char[]){ h[0], h[1], 0 }, NULL, 16);
	return n;
}

static long from_code(const char *hex)
{
	unsigned char b[64];
	size_t n = unhex(hex, b);
	return restart_nr_from_code(b, n);
}

static void code_rules(void)
{
	/* glibc 2.36 __futex_abstimed_wait_common (condvar and timedlock waits) */
	CHECK(from_code("4c8b5424188b74240889ea89c3488b7c241041b9ffffffff4531c0b8ca0000000f05") == 202);
	CHECK(from_code("81f6000100004080ce894431c64584c9755441b9ffffffff4531c089eab8ca0000000f05") == 202);
	/* poll */
	CHECK(from_code("1c488974241048897c2408e8c995f8ff8b54241c488b7424104189c0488b7c2408b8070000000f05") == 7);
	/* clock_nanosleep (glibc's nanosleep too) */
	CHECK(from_code("893c2448894c2418e8f662fbff4c8b542418488b5424104189c08b74240c8b3c24b8e60000000f05") == 230);
	/* Go's runtime.futex: MOVL $SYS_futex, AX; SYSCALL */
	CHECK(from_code("488b7c2408448b5424108b542414b8ca0000000f05") == 202);
	/* Go's runtime.usleep: nanosleep */
	CHECK(from_code("4889e7be00000000b8230000000f05") == 35);
	/* ppoll, pselect6, epoll_wait and pause are never continued by restart_syscall: a
	 * REX-prefixed b8 (mov $8, %r8d) before ppoll's number is an argument, not a call */
	CHECK(from_code("08e8dc94f8ff4c8b542418488b74241041b8080000004189c1488b7c24084c89e2b80f0100000f05") == -1);
	CHECK(from_code("f36cf8ff4c8b4c24104c8b4424084c89ea89c54c8b542428488b742420b80e0100008b7c241c0f05") == -1);
	CHECK(from_code("7c240c894c241ce806c9f7ff448b54241c8b5424184189c0488b7424108b7c240cb8e80000000f05") == -1);
	CHECK(from_code("220000000f05483d00f0ffff7738c30f1f80000000004883ec18e8371afbff89c7b8220000000f05") == -1);
	/* glibc's syscall(): the number comes from a register */
	CHECK(from_code("4889f84889f74889d64889ca4d89c24d89c84c8b4c24080f05") == -1);
	/* no syscall instruction before the PC */
	CHECK(from_code("b8ca000000909090") == -1);
	CHECK(from_code("0f05") == -1);
}

static struct module libc_mod = { .name = "/usr/lib/x86_64-linux-gnu/libc.so.6" };
static struct module app_mod = { .name = "/srv/app" };

static struct task *add_task(struct snapshot *s, pid_t tid, long nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct task *t = &s->tasks[s->ntasks++];
	t->tid = tid;
	t->name = "t";
	t->kstate = 'S';
	t->syscall_nr = nr;
	t->syscall_args[0] = a0;
	t->syscall_args[1] = a1;
	t->syscall_args[2] = a2;
	t->have_regs = true;
	t->regs.arch = &arch_x86_64;
	t->regs.x.orig_rax = (unsigned long long)nr;
	t->regs.x.rax = (unsigned long long)-516;	/* -ERESTART_RESTARTBLOCK */
	t->regs.x.fs_base = 0x7f0000000000ull + (uint64_t)tid * 0x1000;
	return t;
}

/* Frames innermost first; names before "|" in libc, after it in the program. */
static void frames(struct snapshot *s, struct task *t, const char *const *names)
{
	set_named_stack(s, t, &libc_mod, &app_mod, names);
}

static struct snapshot *new_snap(void)
{
	struct snapshot *s = snapshot_new(SOURCE_ATTACH);
	s->arch = &arch_x86_64;	/* the tasks below are x86_64's, whatever the host */
	s->tasks = ARENA_NEW(&s->arena, struct task, 32);
	s->target = xcalloc(1, sizeof(*s->target));
	s->libc = LIBC_GLIBC;
	return s;
}

static void free_snap(struct snapshot *s)
{
	target_close(s->target);
	snapshot_free(s);
}

static long orig(struct snapshot *s, struct task *t, enum restart_evidence *how)
{
	return restart_original_nr(s, t, how);
}

/* Without the code (the target has none), the frames tell the call; the registers must fit. */
static void frame_rules(void)
{
	struct snapshot *s = new_snap();
	enum restart_evidence how;
	struct task *cv = add_task(s, 10, 219, 0x5000, 0x189, 0);
	frames(s, cv, (const char *const[]){ "__futex_abstimed_wait_common", "___pthread_cond_timedwait64", "|",
					     "worker", NULL });
	CHECK(orig(s, cv, &how) == 202 && how == RESTART_FROM_FRAMES);
	struct task *ns = add_task(s, 11, 219, 0, 0, 0x7ffd0000);
	frames(s, ns, (const char *const[]){ "__GI___clock_nanosleep", "__nanosleep", "|", "main", NULL });
	CHECK(orig(s, ns, &how) == 230);
	struct task *gons = add_task(s, 12, 219, 0xc000012345, 0, 0);
	frames(s, gons, (const char *const[]){ "|", "runtime.usleep", "runtime.sysmon", NULL });
	CHECK(orig(s, gons, &how) == 35);
	struct task *pl = add_task(s, 13, 219, 0x7ffd1000, 1, 3600000);
	frames(s, pl, (const char *const[]){ "__poll", "|", "serve", NULL });
	CHECK(orig(s, pl, &how) == 7);
	/* names that say futex over registers that are no futex wait: not trusted */
	struct task *bad = add_task(s, 14, 219, 0x5001, 0x55, 0);
	frames(s, bad, (const char *const[]){ "__futex_abstimed_wait_common", NULL });
	CHECK(orig(s, bad, &how) == -1 && how == RESTART_UNKNOWN);
	struct task *none = add_task(s, 15, 219, 0x5000, 0x189, 0);
	CHECK(orig(s, none, &how) == -1);

	/* decoded as the waits they continue, and said to be restarted */
	analyze_snapshot(s, NULL);
	CHECKF(cv->wait && cv->wait->kind == WAIT_CONDVAR && cv->wait->restarted &&
	       strcmp(cv->wait->syscall, "futex") == 0, "cv %s", cv->wait ? wait_kind_name(cv->wait->kind) : "-");
	CHECK(ns->wait && ns->wait->kind == WAIT_SLEEP && ns->wait->restarted &&
	      strcmp(ns->wait->syscall, "clock_nanosleep") == 0);
	CHECK(pl->wait && pl->wait->kind == WAIT_POLL && pl->wait->restarted);
	CHECK(none->wait && none->wait->kind == WAIT_SYSCALL && !none->wait->restarted &&
	      strstr(none->wait->detail, "restart_syscall"));
	free_snap(s);
}

/* The code before the PC, read from the target's memory, decides first. */
static void code_in_target(void)
{
	struct snapshot *s = new_snap();
	unsigned char *code = xmalloc(64);
	size_t n = unhex("90909090909090909090909090909090488b7c2408448b5424108b542414b8ca0000000f05", code);
	memimage_add_buf(&s->target->mem, 0x400000, code, n);
	struct task *t = add_task(s, 20, 219, 0xc000050000, 0x80, 0);
	t->regs.x.rip = 0x400000 + n;
	frames(s, t, (const char *const[]){ "|", "runtime.futex", "runtime.lock2", NULL });
	enum restart_evidence how;
	CHECK(restart_original_nr(s, t, &how) == 202 && how == RESTART_FROM_CODE);
	analyze_snapshot(s, NULL);
	/* Go's runtime lock: a futex that records no owner */
	CHECK(t->wait && t->wait->kind == WAIT_FUTEX && t->wait->owner_tid == 0 && !t->wait->owner_known);
	free_snap(s);
}

/* A word shaped like a contended glibc mutex owned by thread 100, at 0x600000, and a stdio
 * lock (_IO_lock_t: word, count, owner's struct pthread) at 0x600100 held by thread 101. */
static void put_words(struct snapshot *s, uint64_t stdio_owner)
{
	uint32_t *m = xcalloc(1, 0x800);
	m[0] = 2;		/* __lock: contended */
	m[2] = 100;		/* __owner */
	m[0x100 / 4] = 2;	/* _IO_lock_t.lock */
	m[0x104 / 4] = 1;	/* cnt */
	memcpy((char *)m + 0x108, &stdio_owner, 8);
	/* a struct pthread at 0x600200 whose tid field names thread 102 */
	m[0x200 / 4 + 0x2d0 / 4] = 102;
	memimage_add_buf(&s->target->mem, 0x600000, (unsigned char *)m, 0x800);
}

static struct task *lock_waiter(struct snapshot *s, pid_t tid, uint64_t word, const char *const *names)
{
	struct task *t = add_task(s, tid, 202, word, 128 /* FUTEX_WAIT_PRIVATE */, 2);
	if (names)
		frames(s, t, names);
	return t;
}

static void lock_rules(void)
{
	struct snapshot *s = new_snap();
	put_words(s, 0x7f0000000000ull + 101 * 0x1000);	/* thread 101's fs_base */
	for (pid_t tid = 100; tid <= 102; tid++)
		add_task(s, tid, 34, 0, 0, 0);	/* holders, in pause() */
	struct task *named = lock_waiter(s, 110, 0x600000, (const char *const[]){ "futex_wait", "__lll_lock_wait",
			"lll_mutex_lock_optimized", "___pthread_mutex_lock", "|", "take", NULL });
	struct task *bare = lock_waiter(s, 111, 0x600000, NULL);
	/* glibc linked statically: its frames are in the program's module */
	struct task *stat = lock_waiter(s, 117, 0x600000, (const char *const[]){ "|", "futex_wait",
			"__lll_lock_wait", "lll_mutex_lock_optimized", "___pthread_mutex_lock", "take", NULL });
	struct task *go = lock_waiter(s, 112, 0x600000, (const char *const[]){ "|", "runtime.futex",
			"runtime.futexsleep", "runtime.lock2", NULL });
	/* a program's own lock: a pthread name further up the stack is not the waiting frame */
	struct task *own = lock_waiter(s, 113, 0x600000, (const char *const[]){ "syscall", "|",
			"my_lock_contended", "my_lock", "pthread_mutex_lock_wrapper", NULL });
	/* malloc's arena lock: __lll_lock_wait_private called by malloc, never an owner, even
	 * with a stdio function further up */
	struct task *arena = lock_waiter(s, 114, 0x600000, (const char *const[]){ "__lll_lock_wait_private",
			"_int_malloc", "__libc_malloc", "__vfprintf_internal", "|", "log_line", NULL });
	struct task *stdio = lock_waiter(s, 115, 0x600100, (const char *const[]){ "__lll_lock_wait_private",
			"_IO_puts", "|", "say", NULL });
	/* the same stdio lock shape without the stdio frame: no owner */
	struct task *stdio_bare = lock_waiter(s, 116, 0x600100, (const char *const[]){
			"__lll_lock_wait_private", "|", "say", NULL });
	analyze_snapshot(s, NULL);

	CHECK(named->wait->kind == WAIT_MUTEX && named->wait->owner_tid == 100 && named->wait->owner_known);
	CHECK(stat->wait->kind == WAIT_MUTEX && stat->wait->owner_tid == 100);
	CHECK(bare->wait->kind == WAIT_FUTEX && bare->wait->owner_tid == 0 && !bare->wait->owner_known &&
	      strstr(bare->wait->detail, "owner is not known"));
	CHECK(go->wait->kind == WAIT_FUTEX && go->wait->owner_tid == 0);
	CHECK(own->wait->kind == WAIT_FUTEX && own->wait->owner_tid == 0);
	CHECKF(arena->wait->kind == WAIT_MUTEX && arena->wait->owner_tid == 0 && !arena->wait->owner_known &&
	       strstr(arena->wait->detail, "records no owner"), "arena: %s owner %d",
	       wait_kind_name(arena->wait->kind), (int)arena->wait->owner_tid);
	CHECK(stdio->wait->kind == WAIT_MUTEX && stdio->wait->owner_tid == 101 &&
	      strstr(stdio->wait->detail, "stdio FILE lock"));
	CHECK(stdio_bare->wait->kind == WAIT_MUTEX && stdio_bare->wait->owner_tid == 0);
	free_snap(s);
}

/* _IO_lock_t's owner is a struct pthread: when it is no captured thread's fs_base (a core
 * without fs_base), its tid field names the holder. */
static void stdio_tid_field(void)
{
	struct snapshot *s = new_snap();
	put_words(s, 0x600200);
	add_task(s, 102, 34, 0, 0, 0);
	struct task *w = lock_waiter(s, 120, 0x600100, (const char *const[]){ "__lll_lock_wait_private",
			"__GI__IO_fwrite", "|", "say", NULL });
	analyze_snapshot(s, NULL);
	CHECKF(w->wait->kind == WAIT_MUTEX && w->wait->owner_tid == 102, "owner %d", (int)w->wait->owner_tid);
	free_snap(s);
}

/* glibc's rules are read only on glibc: the same words and names on a musl target or one
 * whose C library is not known give no owner (musl's normal mutex holds EBUSY, 16, where
 * glibc keeps its state). */
static void glibc_rules_only(void)
{
	for (int k = 0; k < 2; k++) {
		struct snapshot *s = new_snap();
		s->libc = k ? LIBC_MUSL : LIBC_UNKNOWN;
		put_words(s, 0);
		add_task(s, 100, 34, 0, 0, 0);
		struct task *named = lock_waiter(s, 110, 0x600000, (const char *const[]){ "futex_wait",
				"__lll_lock_wait", "___pthread_mutex_lock", "|", "take", NULL });
		analyze_snapshot(s, NULL);
		CHECKF(named->wait->owner_tid == 0 && !named->wait->owner_known && named->wait->kind != WAIT_BARRIER,
		       "libc %s: %s owner %d", libc_kind_name(s->libc), wait_kind_name(named->wait->kind),
		       (int)named->wait->owner_tid);
		free_snap(s);
	}
}

static void unit_tests(void)
{
	glibc_rules_only();
	code_rules();
	frame_rules();
	code_in_target();
	lock_rules();
	stdio_tid_field();
}
