/* chang run -- COMMAND: run a command like timeout(1) does, and if it hangs (timeout,
 * or SIGQUIT to chang), capture every process of its tree, report, then end the tree.
 * Otherwise transparent: same exit status, same stdio, signals forwarded. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "attach/proctree.h"
#include "commands/capture_set.h"
#include "symbols/debuginfod.h"
#include "commands/commands.h"
#include "commands/pipeline.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define EXIT_HANG 124		/* as timeout(1) */
#define EXIT_CHANG_FAILED 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT,
				 SIGTSTP, SIGTTIN, SIGTTOU };

static int status_to_exit(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return EXIT_CHANG_FAILED;
}

/* Start argv with chang's own signal mask restored; an exec failure comes back through a
 * close-on-exec pipe so that chang, not the child, reports it. */
static pid_t spawn(char **argv, const sigset_t *orig_mask, int *exec_errno)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	/* the command sees DEBUGINFOD_URLS, which chang keeps from libdwfl (symbols/debuginfod.h) */
	debuginfod_env_for_child(true);
	pid_t pid = fork();
	if (pid != 0)
		debuginfod_env_for_child(false);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		sigprocmask(SIG_SETMASK, orig_mask, NULL);
		execvp(argv[0], argv);
		int en = errno;
		if (write(p[1], &en, sizeof(en)) < 0)
			_exit(EXIT_CANNOT_EXEC);
		_exit(en == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
	}
	close(p[1]);
	*exec_errno = 0;
	if (read(p[0], exec_errno, sizeof(*exec_errno)) != sizeof(*exec_errno))
		*exec_errno = 0;
	close(p[0]);
	return pid;
}

static void command_line(char **argv, int argc, char *buf, size_t cap)
{
	buf[0] = 0;
	for (int i = 0; i < argc; i++) {
		size_t l = strlen(buf);
		snprintf(buf + l, cap - l, "%s%s", i ? " " : "", argv[i]);
	}
}

/* Capture and report every process of the tree; returns 0 when reports were written. */
static int capture_tree(pid_t child, const struct cmd_options *o, const char *why)
{
	pid_t *pids;
	size_t n = proctree_list(child, &pids);
	fprintf(stderr, "chang run: %s; capturing %zu process%s\n", why, n, n == 1 ? "" : "es");
	struct captured *cs = xcalloc(n ? n : 1, sizeof(*cs));
	struct err *errs = xcalloc(n ? n : 1, sizeof(*errs));
	/* one snapshot of time: the whole tree frozen, copied, thawed together */
	capture_many(pids, n, o, cs, errs);
	for (size_t i = 0; i < n; i++)
		if (!cs[i].snap)
			fprintf(stderr, "chang run: process %d: %s\n", (int)pids[i], errs[i].msg);
	free(errs);
	/* The reports still reach stderr when the file cannot be written. */
	struct err e = { 0 };
	int r = capture_report(cs, n, o, stderr, true, &e);
	if (r != 0)
		fprintf(stderr, "chang: %s\n", e.msg);
	for (size_t i = 0; i < n; i++)
		captured_free(&cs[i]);
	free(cs);
	free(pids);
	return r;
}

/* End the tree: the chosen signal, then SIGKILL for whatever is left after the grace. */
static void end_tree(pid_t child, const struct cmd_options *o, const sigset_t *waitset)
{
	proctree_kill(child, o->term_signal);
	uint64_t deadline = mono_ms() + o->kill_after_ms;
	for (;;) {
		int st;
		pid_t r = waitpid(child, &st, WNOHANG);
		if (r == child) {
			/* the child is gone; its orphans are no longer in its tree by parent links,
			 * so they were signalled above or never existed */
			break;
		}
		uint64_t now = mono_ms();
		if (now >= deadline) {
			proctree_kill(child, SIGKILL);
			waitpid(child, &st, 0);
			break;
		}
		struct timespec ts = { 0, 20 * 1000000 };
		siginfo_t si;
		sigtimedwait(waitset, &si, &ts);
	}
}

int cmd_run(int argc, char **argv)
{
	struct cmd_options o;
	int pos, pr = command_parse("run", argc, argv, &o, &pos);
	if (pr >= 0)
		return pr == 0 ? 0 : EXIT_CHANG_FAILED;	/* run's own failures are 125, as timeout(1)'s */
	if (pos < argc && strcmp(argv[pos], "--") == 0)
		pos++;
	if (pos >= argc) {
		fprintf(stderr, "chang: run: which command? chang run [options] -- COMMAND [ARGS...]\n");
		return EXIT_CHANG_FAILED;
	}

	/* Every signal chang cares about is taken synchronously with sigtimedwait. */
	sigset_t waitset, orig;
	sigemptyset(&waitset);
	sigaddset(&waitset, SIGCHLD);
	sigaddset(&waitset, SIGQUIT);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(*forwarded); i++)
		sigaddset(&waitset, forwarded[i]);
	sigprocmask(SIG_BLOCK, &waitset, &orig);

	int exec_errno;
	pid_t child = spawn(argv + pos, &orig, &exec_errno);
	if (child < 0) {
		fprintf(stderr, "chang: run: cannot start %s: %s\n", argv[pos], strerror(errno));
		return EXIT_CHANG_FAILED;
	}
	if (exec_errno) {
		int st;
		waitpid(child, &st, 0);
		fprintf(stderr, "chang: run: %s: %s\n", argv[pos], strerror(exec_errno));
		return exec_errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
	}
	char cmdline[1024];
	command_line(argv + pos, argc - pos, cmdline, sizeof(cmdline));

	uint64_t deadline = o.timeout_ms ? mono_ms() + o.timeout_ms : 0;
	for (;;) {
		int st;
		pid_t r = waitpid(child, &st, WNOHANG);
		if (r == child)
			return status_to_exit(st);
		struct timespec ts = { 1, 0 };
		if (deadline) {
			uint64_t now = mono_ms();
			if (now >= deadline) {
				char why[1200];
				snprintf(why, sizeof(why), "%s still running after %.3g s", cmdline,
					 (double)o.timeout_ms / 1000.0);
				capture_tree(child, &o, why);
				end_tree(child, &o, &waitset);
				return EXIT_HANG;
			}
			uint64_t left = deadline - now;
			if (left < 1000) {
				ts.tv_sec = 0;
				ts.tv_nsec = (long)(left * 1000000);
			}
		}
		siginfo_t si;
		int sig = sigtimedwait(&waitset, &si, &ts);
		if (sig < 0 || sig == SIGCHLD)
			continue;
		if (sig == SIGQUIT) {
			capture_tree(child, &o, "SIGQUIT received");
			end_tree(child, &o, &waitset);
			return EXIT_HANG;
		}
		/* A signal from the terminal reached the child too (same process group); one
		 * sent to chang alone is passed on, as timeout(1) does. */
		if (si.si_code == SI_USER || si.si_code == SI_QUEUE)
			kill(child, sig);
		if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
			/* stop chang too, as the shell expects of a job */
			sigprocmask(SIG_SETMASK, &orig, NULL);
			raise(SIGSTOP);
			sigprocmask(SIG_BLOCK, &waitset, NULL);
		}
	}
}
