#include "attach/copy.h"
#include "util/xalloc.h"
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

size_t copy_range(pid_t pid, int memfd, struct memimage *m, uint64_t addr, uint64_t len)
{
	if (len == 0)
		return 0;
	unsigned char *buf = memimage_pool_alloc(m, len);
	bool pooled = buf != NULL;
	if (!buf)
		buf = xmalloc(len);
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n <= 0 && memfd >= 0)
		n = pread(memfd, buf, len, (off_t)addr);
	if (n < 0)
		n = 0;
	if (pooled) {
		memimage_pool_shrink(m, buf, len, (size_t)n);
		if (n > 0)
			memimage_add_pooled(m, addr, buf, (uint64_t)n);
		return (size_t)n;
	}
	if (n == 0) {
		free(buf);
		return 0;
	}
	if ((uint64_t)n < len)
		buf = xrealloc(buf, (size_t)n);
	memimage_add_buf(m, addr, buf, (uint64_t)n);
	return (size_t)n;
}

void copy_task_stack(pid_t pid, int memfd, struct memimage *m, const struct task *t,
		      const struct mapping *maps, size_t nmaps)
{
	if (!t->have_regs)
		return;
	uint64_t sp = regs_sp(&t->regs);
	const struct mapping *mp = mapping_find(maps, nmaps, sp);
	if (mp) {
		uint64_t lo = sp - COPY_RED_ZONE;
		if (lo < mp->start || lo > sp)
			lo = mp->start;
		uint64_t hi = mp->end;
		if (hi - lo > COPY_STACK_MAX)
			hi = lo + COPY_STACK_MAX;
		copy_range(pid, memfd, m, lo, hi - lo);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

void copy_futex_windows(pid_t pid, int memfd, struct memimage *m, const struct task *tasks,
			size_t ntasks, const struct mapping *maps, size_t nmaps)
{
	/* Hundreds of waiters usually share a handful of locks: copy each window once. */
	uint64_t *addrs = xcalloc(ntasks ? ntasks : 1, sizeof(*addrs));
	size_t n = 0;
	for (size_t i = 0; i < ntasks; i++)
		/* 219: restart_syscall, which keeps the interrupted futex wait's arguments; a
		 * first argument that is no address (a clock id) lies in no mapping below. */
		if ((tasks[i].syscall_nr == 202 || tasks[i].syscall_nr == 219) && tasks[i].syscall_args[0])
			addrs[n++] = tasks[i].syscall_args[0];
		/* A thread outside the kernel may be spinning in pthread_spin_lock, which keeps the
		 * lock's address in its first argument register: the word tells whether it is
		 * taken (only writable data can be a lock; checked below). */
		else if (tasks[i].syscall_nr < 0 && tasks[i].have_regs &&
			 tasks[i].regs.w[tasks[i].regs.arch->args[0]])
			addrs[n++] = tasks[i].regs.w[tasks[i].regs.arch->args[0]];
	if (n > 1)
		qsort(addrs, n, sizeof(*addrs), cmp_u64);
	uint64_t covered_to = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t ua = addrs[i];
		const struct mapping *fm = mapping_find(maps, nmaps, ua);
		if (!fm || fm->perms[1] != 'w')
			continue;
		uint64_t lo = ua >= fm->start + COPY_FUTEX_BEFORE ? ua - COPY_FUTEX_BEFORE : fm->start;
		uint64_t hi = ua + COPY_FUTEX_AFTER <= fm->end ? ua + COPY_FUTEX_AFTER : fm->end;
		if (lo < covered_to)
			lo = covered_to;
		if (hi <= lo)
			continue;
		copy_range(pid, memfd, m, lo, hi - lo);
		covered_to = hi;
	}
	free(addrs);
}
