/* chang core EXECUTABLE CORE: the same analysis from an ELF core. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include "commands/commands.h"
#include "commands/pipeline.h"
#include "core/core_target.h"
#include "core/decompress.h"
#include "util/sigdefer.h"
#include <unistd.h>

extern char **environ;

static bool find_in_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4200];
	for (const char *p = path ? path : "/usr/bin:/bin"; p && *p;) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? p : ".", name);
		if (access(buf, X_OK) == 0)
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

/* Run argv[0] from PATH with its stdout in out (cut at cap-1 bytes) and the first line of its
 * stderr in errline; gives up after 60 s. Returns its exit status, or -1. */
static int run_capture(char *const argv[], char *out, size_t cap, char *errline, size_t ecap)
{
	int po[2], pe[2];
	out[0] = errline[0] = 0;
	if (pipe2(po, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(pe, O_CLOEXEC) != 0) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	if (rc != 0) {
		close(po[0]);
		close(pe[0]);
		errno = rc;
		return -1;
	}
	size_t n = 0, en = 0;
	struct pollfd pf[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
	int open_fds = 2;
	char sink[4096];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (open_fds > 0) {
		if (poll(pf, 2, 1000) < 0 && errno != EINTR)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 60) {
			kill(pid, SIGKILL);
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char *dst = i == 0 ? out + n : errline + en;
			size_t room = i == 0 ? cap - 1 - n : ecap - 1 - en;
			ssize_t k = read(pf[i].fd, room ? dst : sink, room ? room : sizeof(sink));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open_fds--;
				continue;
			}
			if (room)
				*(i == 0 ? &n : &en) += (size_t)k;
		}
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	out[n] = 0;
	errline[en] = 0;
	errline[strcspn(errline, "\n")] = 0;
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The value of "Key: value" in coredumpctl info's output, trimmed, into v. */
static bool info_field(const char *text, const char *key, char *v, size_t cap)
{
	size_t kl = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		while (*l == ' ')
			l++;
		if (strncmp(l, key, kl) != 0 || l[kl] != ':')
			continue;
		l += kl + 1;
		while (*l == ' ')
			l++;
		size_t n = strcspn(l, "\n");
		snprintf(v, cap, "%.*s", (int)n, l);
		return true;
	}
	return false;
}

/* --coredump PID|NAME: the newest core systemd-coredump kept for it. Its file when it has
 * one (compressed or not), else (stored in the journal) a copy coredumpctl dumps into a
 * temporary file, *temp then set. Says on stderr which core it took. */
static int coredump_resolve(const char *match, char *path, size_t cap, bool *temp, struct err *e)
{
	*temp = false;
	if (!find_in_path("coredumpctl"))
		return err_set(e, ERR_FAIL, "--coredump: coredumpctl is not installed (it comes with "
			       "systemd-coredump); give the core file: chang core [EXECUTABLE] CORE");
	static char out[1 << 20];
	char errline[512];
	char *info[] = { "coredumpctl", "--no-pager", "-1", "info", "--", (char *)match, NULL };
	int rc = run_capture(info, out, sizeof(out), errline, sizeof(errline));
	if (rc != 0)
		return err_set(e, ERR_FAIL, "--coredump %s: coredumpctl found no core%s%s", match,
			       errline[0] ? ": " : "", errline);
	char storage[4200], pidv[200] = "?", when[200] = "?";
	info_field(out, "PID", pidv, sizeof(pidv));
	info_field(out, "Timestamp", when, sizeof(when));
	if (!info_field(out, "Storage", storage, sizeof(storage)))
		return err_set(e, ERR_FAIL, "--coredump %s: coredumpctl info names no storage", match);
	static const char present[] = " (present)";
	size_t sl = strlen(storage), pl = sizeof(present) - 1;
	/* systemd before 246 printed the bare path, later ones add " (present)" or say why not */
	if (storage[0] == '/' && (!strstr(storage, " (") ||
				  (sl > pl && strcmp(storage + sl - pl, present) == 0))) {
		snprintf(path, cap, "%.*s", (int)(strstr(storage, " (") ? sl - pl : sl), storage);
	} else if (strncmp(storage, "journal", 7) == 0) {
		/* kept inside the journal: only coredumpctl can extract it */
		snprintf(path, cap, "%s/chang-coredump-XXXXXX", decompress_tmpdir());
		int fd = mkstemp(path);
		if (fd < 0)
			return err_set(e, ERR_FAIL, "--coredump %s: cannot create a file in %s: %s", match,
				       decompress_tmpdir(), strerror(errno));
		close(fd);
		*temp = true;
		char *dump[] = { "coredumpctl", "--no-pager", "-1", "dump", "-o", path, "--", (char *)match, NULL };
		if (run_capture(dump, out, sizeof(out), errline, sizeof(errline)) != 0)
			return err_set(e, ERR_FAIL, "--coredump %s: coredumpctl dump failed%s%s", match,
				       errline[0] ? ": " : "", errline);
	} else {
		return err_set(e, ERR_FAIL, "--coredump %s: the newest matching core (PID %s, %s) is not "
			       "available: %s", match, pidv, when, storage);
	}
	fprintf(stderr, "chang: core of PID %s from %s: %s\n", pidv, when, *temp ? "(from the journal)" : path);
	return 0;
}

int cmd_core(int argc, char **argv)
{
	struct cmd_options o;
	struct err e = { 0 };
	int pos, r = command_parse("core", argc, argv, &o, &pos);
	if (r >= 0)
		return r;
	int npos = argc - pos;
	if (o.coredump && npos > 1) {
		err_set(&e, ERR_USAGE, "core: with --coredump, give at most the executable: "
			"chang core --coredump PID|NAME [EXECUTABLE]");
		return pipeline_fail(&e);
	}
	if (!o.coredump && (npos < 1 || npos > 2)) {
		err_set(&e, ERR_USAGE, "core: give the core file, optionally after the executable: "
			"chang core [EXECUTABLE] CORE");
		return pipeline_fail(&e);
	}
	const char *exe = !o.coredump && npos == 2 ? argv[pos] : o.coredump && npos == 1 ? argv[pos] : NULL;
	const char *core = o.coredump ? NULL : argv[pos + npos - 1];
	char dumped[4200];
	bool temp = false;
	sigset_t old;
	if (o.coredump) {
		/* a core coredumpctl extracts is removed once open, even if chang is interrupted */
		signals_defer(&old);
		if (coredump_resolve(o.coredump, dumped, sizeof(dumped), &temp, &e) != 0) {
			if (temp)
				unlink(dumped);
			signals_restore(&old);
			return pipeline_fail(&e);
		}
		core = dumped;
	}
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	struct target *t = core_target_open(exe, core, &o.target, s, &e);
	if (o.coredump) {
		if (temp)
			unlink(dumped);
		signals_restore(&old);
	}
	if (!t) {
		snapshot_free(s);
		return pipeline_fail(&e);
	}
	r = pipeline_run(s, &o);
	target_close(t);
	snapshot_free(s);
	return r;
}
