/* The glibc facts the wait decoder relies on, checked against the glibc these tests run on:
 * threads of this process block for real on every lock type, then the decoder sees them
 * exactly as a live capture would (the syscall from /proc/self/task/T/syscall, a 128-byte
 * window around each futex word) and must name the object and its owner once glibc's
 * function for the type is on the stack, and claim nothing without it. */
#include "analyzers/analyze.h"
#include "analyzers/waits.h"
#include "attach/fds.h"
#include "image/target.h"
#include "tests/unit/unit.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum who {
	HOLDER, W_NORMAL, W_RECURSIVE, W_ERRCHECK, W_ADAPTIVE, W_PI, W_ROBUST, W_RW_WRITER,
	W_RW_READER, W_RW_READHELD, W_COND, W_SEM, W_BARRIER, W_JOIN, SELF, W_ABANDONED, W_READ,
	W_EPOLL, W_SLEEP, W_STDIO, NWHO
};
static const char *const who_name[NWHO] = { "holder", "normal", "recursive", "errcheck",
	"adaptive", "pi", "robust", "rw-writer", "rw-reader", "rw-readheld", "cond", "sem",
	"barrier", "join", "self", "abandoned", "read", "epoll", "sleep", "stdio" };

/* What each sits in: futex (202) unless said otherwise. */
static long who_syscall(enum who w)
{
	switch (w) {
	case HOLDER: return 34;		/* pause */
	case W_READ: return 0;
	case W_EPOLL: return 232;
	case W_SLEEP: return 230;	/* glibc's nanosleep is clock_nanosleep */
	default: return 202;
	}
}

static volatile pid_t tids[NWHO];
static pthread_t selves[NWHO];	/* each thread's struct pthread: its fs_base */
static pid_t gone_tid;
static pthread_t holder_thread;

static pthread_mutex_t m_normal = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t m_recursive, m_errcheck, m_adaptive, m_pi, m_robust;
static pthread_mutex_t m_self = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t m_abandoned = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw_written = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t rw_read = PTHREAD_RWLOCK_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t cv_mutex = PTHREAD_MUTEX_INITIALIZER;
static sem_t sem;
static pthread_barrier_t barrier;
static int pipe_fds[2];
static pthread_barrier_t holder_ready;
static FILE *stdio_file;

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void *holder(void *arg)
{
	pthread_mutex_lock(&m_normal);
	pthread_mutex_lock(&m_recursive);
	pthread_mutex_lock(&m_recursive);
	pthread_mutex_lock(&m_errcheck);
	pthread_mutex_lock(&m_adaptive);
	pthread_mutex_lock(&m_pi);
	pthread_mutex_lock(&m_robust);
	pthread_rwlock_wrlock(&rw_written);
	pthread_rwlock_rdlock(&rw_read);
	flockfile(stdio_file);
	selves[HOLDER] = pthread_self();
	tids[HOLDER] = gettid_();
	pthread_barrier_wait(&holder_ready);
	for (;;)
		pause();
	return arg;
}

static void *leaver(void *arg)
{
	pthread_mutex_lock(&m_abandoned);
	gone_tid = gettid_();
	return arg;
}

static void *waiter(void *arg)
{
	enum who w = (enum who)(long)arg;
	selves[w] = pthread_self();
	tids[w] = gettid_();
	switch (w) {
	case W_NORMAL: pthread_mutex_lock(&m_normal); break;
	case W_RECURSIVE: pthread_mutex_lock(&m_recursive); break;
	case W_ERRCHECK: pthread_mutex_lock(&m_errcheck); break;
	case W_ADAPTIVE: pthread_mutex_lock(&m_adaptive); break;
	case W_PI: pthread_mutex_lock(&m_pi); break;
	case W_ROBUST: pthread_mutex_lock(&m_robust); break;
	case W_RW_WRITER: pthread_rwlock_wrlock(&rw_written); break;
	case W_RW_READER: pthread_rwlock_rdlock(&rw_written); break;
	case W_RW_READHELD: pthread_rwlock_wrlock(&rw_read); break;
	case W_COND:
		pthread_mutex_lock(&cv_mutex);
		for (;;)
			pthread_cond_wait(&cv, &cv_mutex);
	case W_SEM: sem_wait(&sem); break;
	case W_BARRIER: pthread_barrier_wait(&barrier); break;
	case W_JOIN: pthread_join(holder_thread, NULL); break;
	case SELF:
		pthread_mutex_lock(&m_self);
		pthread_mutex_lock(&m_self);
		break;
	case W_ABANDONED: pthread_mutex_lock(&m_abandoned); break;
	case W_READ: {
		char c;
		if (read(pipe_fds[0], &c, 1) < 0)
			break;
		break;
	}
	case W_EPOLL: {
		int ep = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event ev;
		for (;;)
			epoll_wait(ep, &ev, 1, -1);
	}
	case W_STDIO: fputc('x', stdio_file); break;
	case W_SLEEP: {
		struct timespec ts = { 1000, 0 };
		nanosleep(&ts, NULL);
		break;
	}
	default: break;
	}
	for (;;)
		pause();
	return NULL;
}

/* The syscall line of a task: "202 0x55ee423e0280 0x80 0x2 ...". */
static bool read_syscall(pid_t tid, long *nr, uint64_t args[6])
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	unsigned long long a[6];
	if (!ok || sscanf(buf, "%ld %llx %llx %llx %llx %llx %llx", nr, &a[0], &a[1], &a[2], &a[3],
			  &a[4], &a[5]) != 7)
		return false;
	for (int i = 0; i < 6; i++)
		args[i] = a[i];
	return true;
}

static char kstate_of(pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return '?';
	bool ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	char *p = ok ? strrchr(buf, ')') : NULL;
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Blocked: asleep in the syscall expected of it, twice in a row 10 ms apart. */
static bool wait_blocked(enum who w)
{
	long want = who_syscall(w);
	int stable = 0;
	for (int i = 0; i < 500 && stable < 2; i++) {
		long nr;
		uint64_t a[6];
		if (tids[w] && read_syscall(tids[w], &nr, a) && nr == want && kstate_of(tids[w]) == 'S')
			stable++;
		else
			stable = 0;
		usleep(10000);
	}
	return stable >= 2;
}

static void copy_window(struct target *t, uint64_t addr, uint64_t before, uint64_t len)
{
	unsigned char *buf = xmalloc(len);
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)(addr - before), len };
	ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	if (n <= 0) {
		free(buf);
		return;
	}
	memimage_add_buf(&t->mem, addr - before, buf, (uint64_t)n);
}

static int cmp_tid(const void *a, const void *b)
{
	const struct task *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static struct task *task_of(struct snapshot *s, enum who w)
{
	return snapshot_find_task(s, tids[w]);
}

/* A snapshot of the blocked threads as `chang attach` sees them. */
static struct snapshot *capture(void)
{
	struct snapshot *s = snapshot_new(SOURCE_ATTACH);
	struct target *t = xcalloc(1, sizeof(*t));
	s->target = t;
	s->pid = getpid();
	s->libc = LIBC_GLIBC;	/* these tests run on glibc */
	s->tasks = ARENA_NEW(&s->arena, struct task, NWHO);
	for (int w = 0; w < NWHO; w++) {
		struct task *k = &s->tasks[s->ntasks++];
		k->tid = tids[w];
		k->name = who_name[w];
		k->kstate = kstate_of(k->tid);
		if (!read_syscall(k->tid, &k->syscall_nr, k->syscall_args))
			k->syscall_nr = -1;
		/* The registers a stop leaves: the interrupted call's number and restart code. */
		k->have_regs = true;
		k->regs.arch = &arch_x86_64;
		k->regs.x.orig_rax = (unsigned long long)k->syscall_nr;
		k->regs.x.rax = (unsigned long long)-512;	/* -ERESTARTSYS */
		k->regs.x.fs_base = (unsigned long long)selves[w];
		if (k->syscall_nr == 202)
			copy_window(t, k->syscall_args[0], 64, 128);
		if (k->syscall_nr == 230)
			copy_window(t, k->syscall_args[2], 0, 16);
	}
	qsort(s->tasks, s->ntasks, sizeof(*s->tasks), cmp_tid);
	fds_read(getpid(), s);
	return s;
}

static void check_lock(struct snapshot *s, enum who w, enum wait_kind kind, const void *addr,
		       pid_t owner, const char *detail_has)
{
	struct task *t = task_of(s, w);
	const struct wait *wt = t ? t->wait : NULL;
	CHECKF(wt && wt->kind == kind, "%s: kind %s, want %s", who_name[w],
	       wt ? wait_kind_name(wt->kind) : "none", wait_kind_name(kind));
	if (!wt)
		return;
	CHECKF(wt->address == (uint64_t)(uintptr_t)addr, "%s: address %#llx, want %p", who_name[w],
	       (unsigned long long)wt->address, addr);
	CHECKF(wt->owner_tid == owner, "%s: owner %d, want %d", who_name[w], (int)wt->owner_tid, (int)owner);
	CHECKF(wt->owner_known == (owner != 0), "%s: owner_known", who_name[w]);
	if (detail_has)
		CHECKF(wt->detail && strstr(wt->detail, detail_has), "%s: detail %s lacks %s", who_name[w],
		       wt->detail ? wt->detail : "(none)", detail_has);
	CHECKF(strcmp(t->state, wait_kind_name(kind)) == 0, "%s: state %s", who_name[w], t->state);
}

static void check_decoded(struct snapshot *s)
{
	pid_t h = tids[HOLDER];
	check_lock(s, W_NORMAL, WAIT_MUTEX, &m_normal, h, NULL);
	check_lock(s, W_RECURSIVE, WAIT_MUTEX, &m_recursive, h, "recursive mutex, locked 2 times");
	check_lock(s, W_ERRCHECK, WAIT_MUTEX, &m_errcheck, h, "error-checking");
	check_lock(s, W_ADAPTIVE, WAIT_MUTEX, &m_adaptive, h, "adaptive");
	check_lock(s, W_PI, WAIT_MUTEX, &m_pi, h, "priority-inheritance");
	check_lock(s, W_ROBUST, WAIT_MUTEX, &m_robust, h, "robust");
	check_lock(s, W_RW_WRITER, WAIT_RWLOCK, &rw_written, h, "wants to write");
	check_lock(s, W_RW_READER, WAIT_RWLOCK, &rw_written, h, "wants to read");
	check_lock(s, W_RW_READHELD, WAIT_RWLOCK, &rw_read, 0, "held by readers");
	check_lock(s, W_COND, WAIT_CONDVAR, &cv, 0, "1 thread in pthread_cond_wait");
	check_lock(s, W_SEM, WAIT_SEMAPHORE, &sem, 0, "1 waiter");
	check_lock(s, W_BARRIER, WAIT_BARRIER, &barrier, 0, "for 3 threads");
	check_lock(s, W_JOIN, WAIT_JOIN, (void *)holder_thread, h, NULL);
	check_lock(s, SELF, WAIT_MUTEX, &m_self, tids[SELF], NULL);
	check_lock(s, W_ABANDONED, WAIT_MUTEX, &m_abandoned, gone_tid, NULL);

	check_lock(s, W_STDIO, WAIT_MUTEX, stdio_file->_lock, h, "a stdio FILE lock");

	struct task *t = task_of(s, W_READ);
	CHECK(t && t->wait && t->wait->kind == WAIT_READ && t->wait->fd == pipe_fds[0] &&
	      t->wait->fd_target && strncmp(t->wait->fd_target, "pipe:[", 6) == 0 && !t->wait->idle);
	t = task_of(s, W_EPOLL);
	CHECK(t && t->wait && t->wait->kind == WAIT_EPOLL && t->wait->idle && t->wait->fd_target &&
	      strstr(t->wait->fd_target, "eventpoll"));
	t = task_of(s, W_SLEEP);
	CHECKF(t && t->wait && t->wait->kind == WAIT_SLEEP && t->wait->detail &&
	       strcmp(t->wait->detail, "for 1000.000 s") == 0, "sleep detail %s",
	       t && t->wait && t->wait->detail ? t->wait->detail : "-");
	t = task_of(s, HOLDER);
	CHECK(t && t->wait && t->wait->kind == WAIT_SIGNAL && strcmp(t->wait->syscall, "pause") == 0);
}

static void check_findings(struct snapshot *s)
{
	int self = 0, abandoned = 0, chains = 0, dead = 0;
	for (size_t i = 0; i < s->nfindings; i++) {
		const struct finding *f = &s->findings[i];
		switch (f->kind) {
		case FINDING_SELF_DEADLOCK:
			self++;
			CHECK(f->ntids == 1 && f->tids[0] == tids[SELF]);
			break;
		case FINDING_ABANDONED_LOCK:
			abandoned++;
			CHECK(f->ntids == 1 && f->tids[0] == tids[W_ABANDONED] &&
			      f->locks[0].owner_tid == gone_tid);
			break;
		case FINDING_BLOCKING_CHAIN:
			chains++;
			/* everyone waiting on a lock the holder has, plus its joiner; not the
			 * writer waiting for readers, whom glibc does not name */
			CHECKF(f->root_tid == tids[HOLDER] && f->ntids == 10, "chain root %d, %d threads",
			       (int)f->root_tid, f->ntids);
			CHECKF(strstr(f->summary, "waiting for a signal in pause()") != NULL, "%s", f->summary);
			break;
		case FINDING_DEADLOCK:
			dead++;
			break;
		default:
			break;
		}
	}
	CHECK(self == 1 && abandoned == 1 && chains == 1 && dead == 0);
}

/* Without names nothing says what a futex word belongs to: every lock wait is a bare futex
 * with no owner, and no finding rests on a guess (a join is told by the registers). */
static void check_unnamed(struct snapshot *s)
{
	static const enum who locks[] = { W_NORMAL, W_RECURSIVE, W_ERRCHECK, W_ADAPTIVE, W_PI, W_ROBUST,
		W_RW_WRITER, W_RW_READER, W_RW_READHELD, W_COND, W_SEM, W_BARRIER, SELF,
		W_ABANDONED, W_STDIO };
	for (size_t i = 0; i < sizeof(locks) / sizeof(*locks); i++) {
		struct task *t = task_of(s, locks[i]);
		CHECKF(t && t->wait && t->wait->kind == WAIT_FUTEX && !t->wait->owner_known &&
		       t->wait->owner_tid == 0, "%s: unnamed wait decoded as %s", who_name[locks[i]],
		       t && t->wait ? wait_kind_name(t->wait->kind) : "-");
	}
	/* a join is told by the registers: the word is the joined thread's own tid field */
	check_lock(s, W_JOIN, WAIT_JOIN, (void *)holder_thread, tids[HOLDER], NULL);
	for (size_t i = 0; i < s->nfindings; i++)
		CHECKF(s->findings[i].kind == FINDING_MASS_BLOCKING, "finding without names: %s",
		       s->findings[i].summary);
}

/* glibc's function for each type, as this glibc names it (versions and underscores vary
 * across builds), is what lets the decoder read the words. */
static void check_hints(struct snapshot *s)
{
	static const char *const fn[NWHO][2] = { [W_NORMAL] = { "__lll_lock_wait", "___pthread_mutex_lock" },
		[W_RECURSIVE] = { "__lll_lock_wait", "___pthread_mutex_lock" },
		[W_ERRCHECK] = { "__lll_lock_wait", "pthread_mutex_lock@@GLIBC_2.2.5" },
		[W_ADAPTIVE] = { "__lll_lock_wait", "___pthread_mutex_lock" },
		[W_PI] = { "__pthread_mutex_lock_full" },
		[W_ROBUST] = { "__pthread_mutex_lock_full" },
		[W_RW_WRITER] = { "___pthread_rwlock_wrlock" }, [W_RW_READER] = { "__pthread_rwlock_rdlock_full64" },
		[W_RW_READHELD] = { "__futex_abstimed_wait_common", "___pthread_rwlock_wrlock" },
		[W_COND] = { "___pthread_cond_wait" }, [W_SEM] = { "__new_sem_wait_slow64" },
		[W_BARRIER] = { "___pthread_barrier_wait" }, [W_JOIN] = { "__pthread_clockjoin_ex" },
		[SELF] = { "__lll_lock_wait", "___pthread_mutex_lock" },
		[W_ABANDONED] = { "__lll_lock_wait", "___pthread_mutex_lock" },
		[W_STDIO] = { "__lll_lock_wait_private", "_IO_putc" } };
	for (int w = 0; w < NWHO; w++) {
		if (!fn[w][0])
			continue;
		struct task *t = task_of(s, (enum who)w);
		int n = fn[w][1] ? 2 : 1;
		t->pcs = ARENA_NEW(&s->arena, uint64_t, n);
		t->npcs = n;
		t->syms = ARENA_NEW(&s->arena, const struct pcsym *, n);
		for (int k = 0; k < n; k++) {
			struct sym_frame *f = ARENA_NEW(&s->arena, struct sym_frame, 1);
			f->function = fn[w][k];
			struct pcsym *ps = ARENA_NEW(&s->arena, struct pcsym, 1);
			ps->nframes = 1;
			ps->frames = f;
			t->syms[k] = ps;
		}
	}
	analyze_snapshot(s, NULL);
	check_decoded(s);
	check_findings(s);
}

static void check_layouts(void)
{
	CHECK(offsetof(pthread_mutex_t, __data.__lock) == GLIBC_MUTEX_LOCK);
	CHECK(offsetof(pthread_mutex_t, __data.__count) == GLIBC_MUTEX_COUNT);
	CHECK(offsetof(pthread_mutex_t, __data.__owner) == GLIBC_MUTEX_OWNER);
	CHECK(offsetof(pthread_mutex_t, __data.__kind) == GLIBC_MUTEX_KIND);
	CHECK(offsetof(pthread_rwlock_t, __data.__readers) == GLIBC_RW_READERS);
	CHECK(offsetof(pthread_rwlock_t, __data.__wrphase_futex) == GLIBC_RW_WRPHASE_FUTEX);
	CHECK(offsetof(pthread_rwlock_t, __data.__writers_futex) == GLIBC_RW_WRITERS_FUTEX);
	CHECK(offsetof(pthread_rwlock_t, __data.__pad3) == GLIBC_RW_PAD3);
	CHECK(offsetof(pthread_rwlock_t, __data.__cur_writer) == GLIBC_RW_CUR_WRITER);
	CHECK(offsetof(pthread_rwlock_t, __data.__shared) == GLIBC_RW_SHARED);
	CHECK(offsetof(pthread_rwlock_t, __data.__pad2) == GLIBC_RW_PAD2);
	CHECK(offsetof(pthread_rwlock_t, __data.__flags) == GLIBC_RW_FLAGS);
	CHECK(offsetof(pthread_cond_t, __data.__wrefs) == GLIBC_COND_WREFS);
	CHECK(offsetof(pthread_cond_t, __data.__g_signals) == GLIBC_COND_G_SIGNALS);
	/* struct pthread is private: find the TID in it the way the decoder relies on. */
	int *self = (int *)(uintptr_t)pthread_self();
	size_t tid_off = arch_host()->id == ARCH_AARCH64 ? GLIBC_PTHREAD_TID_AARCH64 : GLIBC_PTHREAD_TID;
	CHECK(self[tid_off / 4] == gettid_());
}

static void unit_tests(void)
{
	check_layouts();
	pthread_mutexattr_t a;
	int types[] = { PTHREAD_MUTEX_RECURSIVE, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_ADAPTIVE_NP };
	pthread_mutex_t *ms[] = { &m_recursive, &m_errcheck, &m_adaptive };
	for (int i = 0; i < 3; i++) {
		pthread_mutexattr_init(&a);
		pthread_mutexattr_settype(&a, types[i]);
		pthread_mutex_init(ms[i], &a);
	}
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(&m_pi, &a);
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&m_robust, &a);
	sem_init(&sem, 0, 0);
	pthread_barrier_init(&barrier, NULL, 3);
	pthread_barrier_init(&holder_ready, NULL, 2);
	int stdio_pipe[2];
	if (pipe(pipe_fds) != 0 || pipe(stdio_pipe) != 0) {
		CHECK(!"pipe");
		return;
	}
	stdio_file = fdopen(stdio_pipe[1], "w");
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_create(&holder_thread, &attr, holder, NULL);
	pthread_barrier_wait(&holder_ready);
	pthread_t t;
	pthread_create(&t, &attr, leaver, NULL);
	pthread_join(t, NULL);
	for (int w = HOLDER + 1; w < NWHO; w++) {
		pthread_create(&t, &attr, waiter, (void *)(long)w);
		pthread_detach(t);
	}
	for (int w = 0; w < NWHO; w++)
		CHECKF(wait_blocked((enum who)w), "%s did not block", who_name[w]);

	struct snapshot *s = capture();
	analyze_snapshot(s, NULL);
	check_unnamed(s);
	check_hints(s);
	target_close(s->target);
	snapshot_free(s);
}
