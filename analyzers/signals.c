/* x86_64 Linux pushes a struct rt_sigframe for a handler: pretcode (the address the handler
 * returns to: the rt_sigreturn trampoline), the kernel's ucontext (uc_flags, uc_link,
 * uc_stack, then uc_mcontext, whose rip is the interrupted PC), then the siginfo. Found on
 * the stack as the trampoline's address followed, at rip's place, by the PC of the frame
 * the unwinder gives after the signal frame. */
#include "analyzers/signals.h"
#include "analyzers/describe.h"
#include "image/target.h"
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define SIGFRAME_RIP 176	/* 8 (pretcode) + 40 (uc up to uc_mcontext) + 16 * 8 */
#define SIGFRAME_SIGINFO 312	/* 8 + sizeof(struct ucontext) (304): si_signo, si_errno, si_code */
#define SIGFRAME_SCAN (64u << 10)

static bool is_signal_frame(const struct pcsym *ps)
{
	return ps && ps->nframes == 1 && ps->frames[0].function &&
	       strncmp(ps->frames[0].function, SIGNAL_FRAME_FUNCTION, strlen(SIGNAL_FRAME_FUNCTION)) == 0;
}

static int read_signo(struct snapshot *s, const struct task *t, int i)
{
	/* the layout above is x86_64's */
	if (!t->have_regs || !s->target || i + 1 >= t->npcs || t->regs.arch->id != ARCH_X86_64)
		return 0;
	uint64_t sp = t->regs.x.rsp, v, rip;
	for (uint64_t a = sp & ~7ull; a < sp + SIGFRAME_SCAN; a += 8) {
		if (!target_read_u64(s->target, a, &v))
			return 0;
		if (v != t->pcs[i] || !target_read_u64(s->target, a + SIGFRAME_RIP, &rip) || rip != t->pcs[i + 1])
			continue;
		/* The kernel fills the siginfo only for handlers installed with SA_SIGINFO; for
		 * the others it is whatever the stack held. Only a siginfo that reads as one (no
		 * errno, a code the kernel uses) names the signal. */
		int32_t info[3];
		if (target_read(s->target, a + SIGFRAME_SIGINFO, info, sizeof(info)) != sizeof(info))
			return 0;
		bool code_ok = (info[2] >= -6 && info[2] <= 0) || info[2] == 0x80 || (info[2] > 0 && info[2] <= 8);
		return info[0] > 0 && info[0] < 65 && info[1] == 0 && code_ok ? info[0] : 0;
	}
	return 0;
}

void signal_frames_name(struct snapshot *s)
{
	for (size_t k = 0; k < s->ntasks; k++) {
		struct task *t = &s->tasks[k];
		for (int i = 0; t->syms && i < t->npcs; i++) {
			if (!is_signal_frame(t->syms[i]))
				continue;
			int signo = read_signo(s, t, i);
			const char *abbrev = signo ? sigabbrev_np(signo) : NULL;
			struct pcsym *copy = ARENA_NEW(&s->arena, struct pcsym, 1);
			*copy = *t->syms[i];
			copy->frames = ARENA_NEW(&s->arena, struct sym_frame, 1);
			copy->frames[0] = t->syms[i]->frames[0];
			copy->frames[0].function = abbrev
				? arena_printf(&s->arena, "%s (SIG%s)", SIGNAL_FRAME_FUNCTION, abbrev)
				: signo ? arena_printf(&s->arena, "%s (signal %d)", SIGNAL_FRAME_FUNCTION, signo)
					: SIGNAL_FRAME_FUNCTION;
			t->syms[i] = copy;
		}
	}
}

/* The innermost signal frame's index, or -1. */
static int signal_frame(const struct task *t)
{
	for (int i = 0; t->syms && i < t->npcs; i++)
		if (is_signal_frame(t->syms[i]))
			return i;
	return -1;
}

const char *signal_handler_of(const struct task *t)
{
	int i = signal_frame(t);
	if (i < 0)
		return NULL;
	const char *fn = t->syms[i]->frames[0].function, *open = strstr(fn, "(SIG");
	if (!open)
		return "a signal";
	static __thread char name[16];
	size_t n = strcspn(open + 1, ")");
	snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) - 1 ? n : sizeof(name) - 1), open + 1);
	return name;
}

/* Functions a signal handler must not call (signal-safety(7)): they take locks that the
 * interrupted code may hold. Matched on names without glibc's leading underscores. */
static const char *const unsafe[] = { "malloc", "free", "calloc", "realloc", "int_malloc", "int_free",
	"libc_malloc", "libc_free", "pthread_mutex_lock", "lll_lock_wait", "printf", "fprintf",
	"vfprintf", "puts", "fputs", "fwrite", "fflush", "IO_", "syslog", "vsyslog", NULL };

static const char *unsafe_function(const struct task *t, int upto)
{
	char buf[128];
	const char *found = NULL;
	/* the outermost unsafe function under the handler: what the handler called */
	for (int i = 0; i < upto; i++) {
		const struct pcsym *ps = t->syms[i];
		for (int k = 0; ps && k < ps->nframes; k++) {
			const char *fn = ps->frames[k].function;
			if (!fn)
				continue;
			const char *p = describe_plain_function(fn, buf, sizeof(buf));
			for (const char *const *u = unsafe; *u; u++)
				if (strncmp(p, *u, strlen(*u)) == 0)
					found = fn;
		}
	}
	return found;
}

void signal_findings(struct snapshot *s, struct finding_list *out)
{
	for (size_t k = 0; k < s->ntasks; k++) {
		struct task *t = &s->tasks[k];
		int i = signal_frame(t);
		if (i < 0 || !t->wait || (t->wait->owner_known && t->wait->owner_tid == t->tid))
			continue;	/* a re-entered lock is the self-deadlock finding's */
		const char *fn = unsafe_function(t, i);
		if (!fn)
			continue;
		struct finding *f = findings_push(out, FINDING_SIGNAL_UNSAFE);
		f->tids = ARENA_NEW(&s->arena, pid_t, 1);
		f->tids[0] = t->tid;
		f->ntids = f->count = 1;
		const char *obj = describe_wait_object(s, t->wait, &s->arena);
		char buf[128];
		const char *plain = arena_strdup(&s->arena, describe_plain_function(fn, buf, sizeof(buf)));
		const struct task *h = t->wait->owner_known && t->wait->owner_tid
			? snapshot_find_task(s, t->wait->owner_tid) : NULL;
		const char *why = h
			? arena_printf(&s->arena, "here it waits for %s held by %s, and the code it interrupted "
				       "cannot go on until the handler returns", obj, describe_thread(h, 0, &s->arena))
			: arena_printf(&s->arena, "if the code the signal interrupted was inside it, or held what "
				       "it waits for%s%s, the handler waits for its own thread and never returns",
				       obj ? " (" : "", obj ? arena_printf(&s->arena, "%s)", obj) : "");
		f->summary = arena_printf(&s->arena, "%s is blocked in %s, called from a %s handler, and %s is not "
					  "async-signal-safe (signal-safety(7)): %s.", describe_thread(t, 0, &s->arena),
					  plain, signal_handler_of(t), plain, why);
	}
}
