#include "attach/nostop.h"
#include "model/syscalls.h"
#include "attach/procfs.h"
#include "util/xalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nostop_list(struct freeze *f, pid_t pid, struct err *e)
{
	memset(f, 0, sizeof(*f));
	f->pid = pid;
	pid_t *tids = NULL;
	ssize_t n = procfs_list_tasks(pid, &tids);
	if (n < 0) {
		free(tids);
		return err_set(e, ERR_FAIL, "process %d: %s", (int)pid,
			       errno == ENOENT ? "no such process" : strerror(errno));
	}
	f->t = xcalloc((size_t)(n ? n : 1), sizeof(*f->t));
	for (ssize_t i = 0; i < n; i++)
		f->t[i] = (struct frozen_thread){ .tid = tids[i], .stop = TS_NONE };
	f->n = f->cap = (size_t)n;
	free(tids);
	char st[32] = "";
	if (procfs_status_field(pid, "State", st, sizeof(st)) && st[0] == 'T')
		f->job_stopped = true;
	return 0;
}

bool nostop_regs(pid_t pid, struct task *t)
{
	char path[96], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)t->tid);
	if (procfs_read(path, buf, sizeof(buf)) <= 0)
		return false;
	long nr;
	uint64_t args[6] = { 0 }, sp = 0, pc = 0;
	int k = procfs_parse_syscall(buf, &nr, args, &sp, &pc);
	if (k <= 0)
		return false;
	/* Only SP and PC are known: enough for CFI unwinding of -O2 code, whose frames are
	 * found from SP; callee-saved registers are recovered from the stack as it goes. */
	memset(&t->regs, 0, sizeof(t->regs));
	const struct arch *a = t->regs.arch = arch_host();
	t->regs.w[a->sp] = sp;
	t->regs.w[a->pc] = pc;
	nr = k == 1 ? syscall_from_arch(a, nr) : -1;
	if (a->sysnr >= 0) {
		t->regs.w[a->sysnr] = (uint64_t)nr;
		/* inside a syscall, as a tracer would see it at syscall entry */
		t->regs.w[a->ret] = (uint64_t)(k == 1 ? -ENOSYS : 0);
	}
	for (int i = 0; i < 6; i++)
		t->regs.w[a->args[i]] = args[i];
	t->have_regs = true;
	t->syscall_nr = nr;
	memcpy(t->syscall_args, args, sizeof(args));
	return true;
}
