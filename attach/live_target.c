#include "attach/live_target.h"
#include "attach/pidns.h"
#include "attach/copy.h"
#include "attach/fds.h"
#include "attach/epollregs.h"
#include "attach/freeze.h"
#include "attach/nostop.h"
#include "attach/procfs.h"
#include "attach/tasknames.h"
#include "attach/savecore.h"
#include "go/go.h"
#include "util/sigdefer.h"
#include "util/xalloc.h"
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

struct live_target {
	struct target base;
	/* A thread whose memory map /proc and process_vm_readv can reach: the leader, unless
	 * it is a zombie (after pthread_exit it has no mm, though its threads run on). */
	pid_t mm_tid;
	struct core_save *save;	/* --save-core, finished by live_target_inspect */
	struct tasknames *names;	/* being read beside the unwinding, until settle */
	uint64_t t_thawed;
};

/* Open the file a live process mapped: the plain path when it is the same inode, else
 * through the process's own root (containers), else map_files (deleted or replaced). */
static int live_open_module(struct target *t, const struct module *m, const char **path)
{
	struct snapshot *s = t->snap;
	const struct mapping *mp = snapshot_mapping_at(s, m->start);
	uint64_t inode = mp ? mp->inode : 0;
	char buf[4200];
	const char *cands[3];
	char rootpath[4200], mapfiles[128];
	pid_t mm = ((struct live_target *)t)->mm_tid;
	/* /proc/TID/ reaches any thread, and only process-level directories have map_files */
	snprintf(rootpath, sizeof(rootpath), "/proc/%d/root%s", (int)mm, m->name);
	snprintf(mapfiles, sizeof(mapfiles), "/proc/%d/map_files/%llx-%llx", (int)mm,
		 (unsigned long long)(mp ? mp->start : m->start), (unsigned long long)(mp ? mp->end : m->end));
	cands[0] = m->name;
	cands[1] = rootpath;
	cands[2] = mapfiles;
	for (int i = 0; i < 3; i++) {
		const char *opened = NULL;
		int fd = target_open_regular(NULL, cands[i], &opened, &s->arena);
		if (fd < 0)
			continue;
		struct stat st;
		if (inode && fstat(fd, &st) == 0 && st.st_ino != inode && i < 2) {
			close(fd);
			continue;
		}
		snprintf(buf, sizeof(buf), "%s", opened ? opened : cands[i]);
		*path = arena_strdup(&s->arena, buf);
		return fd;
	}
	errno = ENOENT;
	return -1;
}

/* Only called while the process is frozen (t->read_live is cleared at thaw). */
static size_t live_read(struct target *t, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(((struct live_target *)t)->mm_tid, &local, 1, &remote, 1, 0);
	return n > 0 ? (size_t)n : 0;
}

static void live_settle(struct target *t)
{
	struct live_target *lt = (struct live_target *)t;
	tasknames_finish(lt->names, &t->snap->arena);
	lt->names = NULL;
}

static void live_close(struct target *t)
{
	struct live_target *lt = (struct live_target *)t;
	if (lt->names)
		live_settle(t);
	if (lt->save)
		core_save_abort(lt->save);
	free(t);
}

static const struct target_ops live_ops = {
	.name = "attach",
	.open_module = live_open_module,
	.settle = live_settle,
	.close = live_close,
};

/* The stopped thread's general registers, in the host architecture's pr_reg layout:
 * PTRACE_GETREGSET, which every architecture has (aarch64 has no PTRACE_GETREGS). */
static bool get_regs(pid_t tid, struct regs *r)
{
	const struct arch *a = arch_host();
	if (!a)
		return false;
	memset(r, 0, sizeof(*r));
	r->arch = a;
	struct iovec iov = { r->w, a->nwords * 8 };
	return ptrace(PTRACE_GETREGSET, tid, (void *)(uintptr_t)NT_PRSTATUS, &iov) == 0 && iov.iov_len == a->nwords * 8;
}

static int cmp_task(const void *a, const void *b)
{
	const struct task *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}


size_t live_target_mapped_files(const struct snapshot *s, char ***out)
{
	char **files = NULL;
	size_t n = 0;
	for (size_t i = 0; i < s->nmaps; i++) {
		const struct mapping *m = &s->maps[i];
		if (!m->path || m->path[0] != '/' || m->perms[2] != 'x')
			continue;
		char full[4200];
		snprintf(full, sizeof(full), "/proc/%d/root%s", (int)s->pid, m->path);
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = strcmp(files[k], full) == 0;
		if (seen)
			continue;
		files = xrealloc(files, (n + 1) * sizeof(*files));
		files[n++] = xstrdup(full);
	}
	*out = files;
	return n;
}

/* One process between the steps of a capture; every step reads and fills it, and
 * live_capture_free undoes whatever was done, whatever step failed. */
struct live_capture {
	struct live_target *lt;
	const struct target_options *o;
	struct snapshot *s;
	pid_t pid;
	struct core_save *cs;
	int go_exe_fd;
	struct go_prep *go_prep;	/* what the Go executable's file holds, read before the freeze */
	int memfd;
	struct freeze fz;
	bool frozen, have_fz;
	uint64_t t_begin, t0, t_frozen, t_copied, t_thawed;
};

static void live_capture_free(struct live_capture *c)
{
	if (!c)
		return;
	if (c->frozen)
		thaw_process(&c->fz);
	if (c->have_fz)
		freeze_free(&c->fz);
	if (c->memfd >= 0)
		close(c->memfd);
	go_prep_free(c->go_prep);
	if (c->go_exe_fd >= 0)
		close(c->go_exe_fd);
	core_save_abort(c->cs);
	if (c->lt) {
		c->s->target = NULL;
		target_close(&c->lt->base);
	}
	free(c);
}

/* Before the freeze, what costs the target nothing: checks, names, the command line, the
 * --save-core file (one that cannot be created fails before the target is touched), Go
 * recognised, memory for the copies faulted in. */
struct live_capture *live_capture_prepare(pid_t pid, const struct target_options *o, struct snapshot *s,
					  struct err *e)
{
	uint64_t t_begin = mono_ns();
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	struct stat st;
	if (stat(path, &st) != 0)
		return err_set(e, ERR_FAIL, "process %d: no such process", (int)pid), NULL;
	char tgid[32] = "";
	if (procfs_status_field(pid, "Tgid", tgid, sizeof(tgid)) && atoi(tgid) != pid)
		return err_set(e, ERR_FAIL, "process %d: is a thread of process %s; give the process id",
			       (int)pid, tgid), NULL;

	struct live_capture *c = xcalloc(1, sizeof(*c));
	c->o = o;
	c->s = s;
	c->pid = pid;
	c->go_exe_fd = c->memfd = -1;
	c->t_begin = t_begin;
	struct live_target *lt = c->lt = xcalloc(1, sizeof(*lt));
	struct target *t = &lt->base;
	t->ops = &live_ops;
	t->pid = pid;
	t->opts = o;
	t->snap = s;
	s->target = t;
	s->pid = pid;
	s->arch = arch_host();

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	char exe[4096];
	ssize_t el = readlink(path, exe, sizeof(exe) - 1);
	if (el > 0) {
		exe[el] = 0;
		static const char del[] = " (deleted)";
		size_t l = strlen(exe);
		if (l > sizeof(del) - 1 && strcmp(exe + l - (sizeof(del) - 1), del) == 0)
			exe[l - (sizeof(del) - 1)] = 0;
		s->executable = arena_strdup(&s->arena, exe);
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	char cmd[4096];
	ssize_t cl = procfs_read(path, cmd, sizeof(cmd));
	if (cl > 0) {
		for (ssize_t i = 0; i < cl - 1; i++)
			if (cmd[i] == 0)
				cmd[i] = ' ';
		s->cmdline = arena_strdup(&s->arena, cmd);
	}
	if (o->save_core && !(c->cs = core_save_begin(pid, o->save_core, o->core_full, e))) {
		live_capture_free(c);
		return NULL;
	}
	/* A Go executable is recognised before the freeze so the pause pays only for reading
	 * goroutines, not for parsing the binary. */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	c->go_exe_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->go_exe_fd >= 0 && !go_is_go_binary(c->go_exe_fd)) {
		close(c->go_exe_fd);
		c->go_exe_fd = -1;
	}
	/* and what its file holds (pclntab, type descriptors...) is read now, not in the pause */
	if (c->go_exe_fd >= 0)
		c->go_prep = go_prepare(s, c->go_exe_fd);
	/* its netpoll's registrations tell which goroutine waits on which fd */
	if (c->go_exe_fd >= 0)
		epoll_regs_read(pid, s);
	/* Stack copies go to memory faulted in now, not while the target waits: about 5 KiB
	 * per thread covers a blocked thread's live stack; deeper ones fall back to the heap. */
	if (!o->no_stop) {
		char threads[32] = "";
		long npre = procfs_status_field(pid, "Threads", threads, sizeof(threads)) ? atol(threads) : 0;
		if (npre > 0)
			memimage_reserve_pool(&t->mem, (size_t)npre * 5120 + (1 << 20));
	}
	return c;
}

/* Stop every thread (PTRACE_SEIZE + INTERRUPT), or with --no-stop list them. */
static int live_capture_freeze(struct live_capture *c, struct err *e)
{
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	c->s->capture_time_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
	c->t0 = mono_ns();
	c->have_fz = true;
	int fr = c->o->no_stop ? nostop_list(&c->fz, c->pid, e)
			       : freeze_process(&c->fz, c->pid, c->o->attach_timeout_ms, e);
	if (fr != 0)
		return -1;
	c->frozen = !c->o->no_stop;
	if (c->o->no_stop) {
		c->s->not_atomic = true;
		snapshot_warn(c->s, "--no-stop: threads were read one by one while running, so the snapshot "
			      "is not atomic; running threads have no stack");
	}
	c->t_frozen = mono_ns();
	return 0;
}

/* While frozen, copy only: maps, registers, stacks, lock words, goroutines, the core's
 * extra memory. */
static void live_capture_copy(struct live_capture *c)
{
	struct snapshot *s = c->s;
	struct target *t = &c->lt->base;
	const struct target_options *o = c->o;
	pid_t pid = c->pid;
	struct freeze *fz = &c->fz;
	char path[96];
	pid_t mm = pid;
	for (size_t i = 0; i < fz->n; i++)
		if (fz->t[i].tid == pid && fz->t[i].stop == TS_ZOMBIE)
			for (size_t k = 0; k < fz->n && mm == pid; k++)
				if (fz->t[k].stop != TS_ZOMBIE && fz->t[k].stop != TS_EXITED)
					mm = fz->t[k].tid;
	c->lt->mm_tid = mm;
	if (!s->executable && mm != pid) {
		char ep[96], exe2[4096];
		snprintf(ep, sizeof(ep), "/proc/%d/task/%d/exe", (int)pid, (int)mm);
		ssize_t l2 = readlink(ep, exe2, sizeof(exe2) - 1);
		if (l2 > 0) {
			exe2[l2] = 0;
			s->executable = arena_strdup(&s->arena, exe2);
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/mem", (int)pid, (int)mm);
	c->memfd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/maps", (int)pid, (int)mm);
	size_t mcap = 1 << 20;
	char *maps = xmalloc(mcap);
	ssize_t ml;
	while ((ml = procfs_read(path, maps, mcap)) >= 0 && (size_t)ml >= mcap - 1) {
		mcap *= 2;
		maps = xrealloc(maps, mcap);
	}
	s->nmaps = ml > 0 ? procfs_parse_maps(maps, &s->maps, &s->arena) : 0;
	free(maps);

	struct task *tasks = ARENA_NEW(&s->arena, struct task, fz->n ? fz->n : 1);
	size_t nt = 0;
	for (size_t i = 0; i < fz->n; i++) {
		struct frozen_thread *ft = &fz->t[i];
		if (ft->stop == TS_EXITED)
			continue;
		struct task *tk = &tasks[nt++];
		tk->kind = TASK_THREAD;
		tk->tid = ft->tid;
		tk->syscall_nr = -1;
		if (o->no_stop) {
			if (nostop_regs(pid, tk))
				copy_task_stack(mm, c->memfd, &t->mem, tk, s->maps, s->nmaps);
		} else if (ft->stop != TS_TIMEOUT && get_regs(ft->tid, &tk->regs)) {
			tk->have_regs = true;
			task_syscall_from_regs(tk);
			copy_task_stack(mm, c->memfd, &t->mem, tk, s->maps, s->nmaps);
		} else if (ft->stop == TS_TIMEOUT) {
			snapshot_warn(s, "thread %d did not stop within %u ms (uninterruptible sleep or "
				      "traced by another debugger); its stack is missing", (int)ft->tid,
				      o->attach_timeout_ms);
		}
		if (ft->stop == TS_GROUP)
			s->job_stopped = true;
	}
	copy_futex_windows(mm, c->memfd, &t->mem, tasks, nt, s->maps, s->nmaps);
	s->tasks = tasks;
	s->ntasks = nt;
	if (c->go_exe_fd >= 0) {
		/* Goroutines live in the heap, not on thread stacks: read them while frozen. */
		t->read_live = live_read;
		/* a mini core must hold what the goroutines were read from */
		t->log_live = c->cs && !o->core_full;
		struct err ge = { 0 };
		if (go_capture(t, s, c->go_exe_fd, c->go_prep, &ge) != 0)
			snapshot_warn(s, "goroutines: %s", ge.msg);
		t->read_live = NULL;
		if (t->log_live)
			target_keep_live_reads(t);
	}
	/* What the core needs beyond the copy is read here, before the thaw. */
	if (c->cs)
		core_save_frozen(c->cs, t, s, c->memfd);
	c->t_copied = mono_ns();
}

/* Let the process run again; from here the target is a memory image. Frees c. */
static struct target *live_capture_thaw(struct live_capture *c)
{
	struct snapshot *s = c->s;
	struct target *t = &c->lt->base;
	if (c->frozen)
		thaw_process(&c->fz);
	c->frozen = false;
	c->t_thawed = mono_ns();
	s->pause_ns = c->o->no_stop ? 0 : c->fz.t_thawed_ns - c->fz.t_start_ns;
	s->stats.t_prepare = (double)(c->t0 - c->t_begin) / 1e9;
	s->stats.t_freeze = (double)(c->t_frozen - c->t0) / 1e9;
	s->stats.t_copy = (double)(c->t_copied - c->t_frozen) / 1e9;
	s->stats.t_detach = (double)(c->t_thawed - c->t_copied) / 1e9;
	s->stats.bytes_copied = t->mem.bytes_copied;
	if (c->fz.job_stopped)
		s->job_stopped = true;
	for (size_t i = 0; i < c->fz.n; i++)
		if (c->fz.t[i].stop == TS_SIGNAL)
			snapshot_warn(s, "thread %d was receiving signal %d when frozen; it was delivered "
				      "on detach", (int)c->fz.t[i].tid, c->fz.t[i].sig);
	c->lt->save = c->cs;
	c->lt->t_thawed = c->t_thawed;
	c->cs = NULL;
	c->lt = NULL;	/* the caller owns the target now */
	live_capture_free(c);
	return t;
}

size_t live_capture_many(size_t n, struct live_capture **cs, struct target **out, struct err *errs)
{
	/* chang's own SIGINT/SIGTERM/SIGHUP wait until every target is thawed: they are
	 * blocked over the frozen window and take effect, with their default action, after. */
	sigset_t old;
	signals_defer(&old);
	size_t ok = 0;
	for (size_t i = 0; i < n; i++)
		if (cs[i] && live_capture_freeze(cs[i], &errs[i]) != 0) {
			live_capture_free(cs[i]);
			cs[i] = NULL;
		}
	for (size_t i = 0; i < n; i++)
		if (cs[i])
			live_capture_copy(cs[i]);
	for (size_t i = 0; i < n; i++) {
		out[i] = cs[i] ? live_capture_thaw(cs[i]) : NULL;
		cs[i] = NULL;
		ok += out[i] != NULL;
	}
	signals_restore(&old);
	return ok;
}

struct target *live_target_capture(pid_t pid, const struct target_options *o, struct snapshot *s,
				   struct err *e)
{
	struct live_capture *c = live_capture_prepare(pid, o, s, e);
	if (!c)
		return NULL;
	struct target *t = NULL;
	live_capture_many(1, &c, &t, e);
	return t;
}

void live_target_inspect(struct target *t)
{
	struct live_target *lt = (struct live_target *)t;
	struct snapshot *s = t->snap;
	qsort(s->tasks, s->ntasks, sizeof(*s->tasks), cmp_task);
	/* before anything reads a TID from a lock word (analyzers/) */
	pidns_fill(t->pid, s);
	lt->names = tasknames_start(t->pid, s->tasks, s->ntasks);
	fds_read(t->pid, s);
	target_load_modules(t);
	if (lt->save) {
		/* the core carries the thread names: they are needed now */
		live_settle(t);
		/* A core that could not be written does not spoil the report: s->saved_core
		 * says why, and the command fails after printing it. */
		struct err ce = { 0 };
		core_save_finish(lt->save, t, s, &ce);
		lt->save = NULL;
	}
	s->stats.t_inspect = (double)(mono_ns() - lt->t_thawed) / 1e9;
}
