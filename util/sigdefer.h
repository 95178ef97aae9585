/* chang's own SIGINT, SIGTERM, SIGHUP and SIGQUIT held back over a window that must not be
 * cut short (a frozen target, a file being named, a temporary core being opened): they stay
 * pending and take effect, with their default action, when the window closes. */
#ifndef CHANG_SIGDEFER_H
#define CHANG_SIGDEFER_H
#include <signal.h>

static inline void signals_defer(sigset_t *old)
{
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, old);
}

static inline void signals_restore(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}
#endif
