#include "attach/pidns.h"
#include "util/xalloc.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pidns_parse_status(const char *status, pid_t *last)
{
	const char *p = strstr(status, "\nNSpid:");
	if (!p)
		return 0;
	p += 7;
	int levels = 0;
	for (;;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (v <= 0 || v > 0x3fffffff)
			return 0;
		*last = (pid_t)v;
		levels++;
		p = end;
		if (*p == '\n' || !*p)
			break;
	}
	return levels;
}

/* The NSpid of a /proc status file: levels, and the last in *last. */
static int read_nspid(const char *path, pid_t *last)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char buf[4096];
	buf[0] = '\n';	/* the parser looks for "\nNSpid:"; Name: is the first line */
	ssize_t n = read(fd, buf + 1, sizeof(buf) - 2);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n + 1] = 0;
	return pidns_parse_status(buf, last);
}

/* The threads of the other processes of the target's pid namespace (same /proc/N/ns/pid),
 * into s->ns_tids: a lock word of a process-shared lock may name one of them. */
static void other_processes(pid_t pid, struct snapshot *s)
{
	char path[96], want[64], link[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	ssize_t wl = readlink(path, want, sizeof(want) - 1);
	if (wl <= 0)
		return;
	want[wl] = 0;
	DIR *proc = opendir("/proc");
	if (!proc)
		return;
	struct ns_tid_map *map = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(proc))) {
		long p = strtol(de->d_name, NULL, 10);
		if (p <= 0 || p == pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/pid", p);
		ssize_t l = readlink(path, link, sizeof(link) - 1);
		if (l != wl || memcmp(link, want, (size_t)wl) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task", p);
		DIR *tasks = opendir(path);
		if (!tasks)
			continue;
		struct dirent *te;
		while ((te = readdir(tasks))) {
			long tid = strtol(te->d_name, NULL, 10);
			pid_t ns = 0;
			if (tid <= 0)
				continue;
			snprintf(path, sizeof(path), "/proc/%ld/task/%ld/status", p, tid);
			if (read_nspid(path, &ns) < 2)
				continue;
			VEC_RESERVE(map, cap, n + 1);
			map[n++] = (struct ns_tid_map){ .ns = ns, .host = (pid_t)tid };
		}
		closedir(tasks);
	}
	closedir(proc);
	if (n) {
		s->ns_tids = ARENA_NEW(&s->arena, struct ns_tid_map, n);
		memcpy(s->ns_tids, map, n * sizeof(*map));
		s->nns_tids = n;
	}
	free(map);
}

void pidns_fill(pid_t pid, struct snapshot *s)
{
	char path[64];
	pid_t nspid = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_nspid(path, &nspid) < 2)
		return;	/* chang's own namespace (or a kernel without NSpid, before 4.1) */
	s->ns_pid = nspid;
	size_t unmapped = 0;
	for (size_t i = 0; i < s->ntasks; i++) {
		struct task *t = &s->tasks[i];
		if (t->kind != TASK_THREAD)
			continue;
		pid_t ns = 0;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)t->tid);
		if (read_nspid(path, &ns) >= 2)
			t->ns_tid = ns;
		else
			unmapped++;
	}
	other_processes(pid, s);
	if (unmapped)
		snapshot_warn(s, "%zu thread%s exited before %s TID in the target's pid namespace could be "
			      "read: lock owners naming %s are not recognised", unmapped, unmapped == 1 ? "" : "s",
			      unmapped == 1 ? "its" : "their", unmapped == 1 ? "it" : "them");
}
