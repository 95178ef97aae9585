/* glibc's x86_64 pthread_spin_lock (sysdeps/x86_64/nptl/pthread_spin_lock.S, 2.36):
 *   lock decl (%rdi); jne spin; xor %eax,%eax; ret
 *   spin: pause; cmpl $0,(%rdi); jg retry; jmp spin
 * The lock's address stays in %rdi for the whole loop, and the word is 1 when free, 0 or
 * below while taken. Nothing records who took it: a holder can only be inferred. */
#include "analyzers/spinlock.h"
#include "analyzers/describe.h"
#include "symbols/symbols.h"
#include "image/target.h"
#include <string.h>

#define SPIN_LOCK_FN "pthread_spin_lock"

bool spinlock_wait(struct snapshot *s, struct task *t)
{
	/* the code above is x86_64's: elsewhere the lock's address is not known to stay put */
	if (!t->have_regs || t->regs.arch->id != ARCH_X86_64 || !t->npcs || !t->syms || !t->syms[0] || !t->syms[0]->nframes || !s->target)
		return false;
	const struct pcsym *ps = t->syms[0];
	const char *fn = ps->frames[ps->nframes - 1].function;
	char buf[64];
	if (!fn || !describe_is_runtime_module(ps->module) ||
	    strcmp(describe_plain_function(fn, buf, sizeof(buf)), SPIN_LOCK_FN) != 0)
		return false;
	uint64_t lock = t->regs.x.rdi;
	uint32_t word;
	/* glibc's word is 1 when free; musl's (src/thread/pthread_spin_lock.c, a_cas(s, 0,
	 * EBUSY)) 0 when free, EBUSY when taken. Neither is read on a library not known. */
	if ((lock & 3) || !target_read_u32(s->target, lock, &word) || s->libc == LIBC_UNKNOWN ||
	    (s->libc == LIBC_GLIBC ? (int32_t)word > 0 : word == 0))
		return false;	/* free by now: the thread is about to take it */
	struct wait *w = ARENA_NEW(&s->arena, struct wait, 1);
	w->kind = WAIT_SPINLOCK;
	w->fd = w->fd_file = -1;
	w->address = lock;
	w->symbol = s->symbolizer ? symbolizer_data_name(s->symbolizer, lock, &s->arena) : NULL;
	w->holder_inferable = true;
	w->detail = arena_printf(&s->arena, "spinning in pthread_spin_lock (the lock's address is in %%rdi; its "
				 "word is %d: taken); %s's spinlock records no owner", (int32_t)word,
				 libc_kind_name(s->libc));
	t->wait = w;
	t->state = wait_kind_name(WAIT_SPINLOCK);
	return true;
}
