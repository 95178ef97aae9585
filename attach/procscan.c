#include "attach/procscan.h"
#include "attach/procfs.h"
#include "util/xalloc.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct held {
	bool socket;		/* else a pipe */
	uint64_t inode;
	struct fd_owner o;
};

struct procscan {
	bool scanned;
	struct held *v;
	size_t n, cap;
	pid_t *unreadable;
	size_t nunreadable, capu;
	struct fd_owner *found;	/* procscan_inode_owners' answer */
	size_t capf;
};

struct procscan *procscan_new(void)
{
	return xcalloc(1, sizeof(struct procscan));
}

void procscan_free(struct procscan *ps)
{
	if (!ps)
		return;
	free(ps->v);
	free(ps->unreadable);
	free(ps->found);
	free(ps);
}

bool procscan_parse_anon(const char *link, char *kind, size_t cap, uint64_t *inode)
{
	const char *lb = strchr(link, '[');
	if (!lb || lb == link || lb[-1] != ':' || (size_t)(lb - link) >= cap)
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(lb + 1, &end, 10);
	if (errno || end == lb + 1 || strcmp(end, "]") != 0)
		return false;
	memcpy(kind, link, (size_t)(lb - 1 - link));
	kind[lb - 1 - link] = 0;
	*inode = v;
	return true;
}

static int accmode_of(pid_t pid, int fd)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	if (procfs_read(path, buf, sizeof(buf)) <= 0)
		return -1;
	const char *f = strstr(buf, "flags:");
	if (!f)
		return -1;
	return (int)(strtoul(f + 6, NULL, 8) & O_ACCMODE);
}

static bool is_pid(const char *name)
{
	if (!*name)
		return false;
	for (const char *p = name; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return true;
}

/* One pass over /proc/[0-9]+/fd: every pipe and socket each process holds. */
static void scan(struct procscan *ps)
{
	ps->scanned = true;
	DIR *proc = opendir("/proc");
	if (!proc)
		return;
	struct dirent *d;
	while ((d = readdir(proc))) {
		if (!is_pid(d->d_name))
			continue;
		pid_t pid = (pid_t)atoi(d->d_name);
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		DIR *fds = opendir(path);
		if (!fds) {
			if (errno == EACCES || errno == EPERM) {
				VEC_RESERVE(ps->unreadable, ps->capu, ps->nunreadable + 1);
				ps->unreadable[ps->nunreadable++] = pid;
			}
			continue;
		}
		struct dirent *f;
		while ((f = readdir(fds))) {
			if (!is_pid(f->d_name))
				continue;
			char link[128], lp[96];
			snprintf(lp, sizeof(lp), "/proc/%d/fd/%s", (int)pid, f->d_name);
			ssize_t k = readlink(lp, link, sizeof(link) - 1);
			if (k <= 0)
				continue;
			link[k] = 0;
			char kind[16];
			uint64_t ino;
			if (!procscan_parse_anon(link, kind, sizeof(kind), &ino))
				continue;
			bool sock = strcmp(kind, "socket") == 0;
			if (!sock && strcmp(kind, "pipe") != 0)
				continue;
			int fd = atoi(f->d_name);
			VEC_RESERVE(ps->v, ps->cap, ps->n + 1);
			ps->v[ps->n++] = (struct held){ .socket = sock, .inode = ino,
							.o = { .pid = pid, .fd = fd, .accmode = accmode_of(pid, fd) } };
		}
		closedir(fds);
	}
	closedir(proc);
}

size_t procscan_inode_owners(struct procscan *ps, const char *kind, uint64_t inode, const struct fd_owner **out)
{
	if (!ps->scanned)
		scan(ps);
	bool sock = strcmp(kind, "socket") == 0;
	/* Few blocked fds are looked up per run: a linear pass keeps the table in /proc order. */
	size_t n = 0;
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].inode == inode && ps->v[i].socket == sock) {
			VEC_RESERVE(ps->found, ps->capf, n + 1);
			ps->found[n++] = ps->v[i].o;
		}
	*out = ps->found;
	return n;
}

size_t procscan_unreadable(struct procscan *ps, const pid_t **out)
{
	if (!ps->scanned)
		scan(ps);
	*out = ps->unreadable;
	return ps->nunreadable;
}

pid_t procscan_tid_owner(pid_t tid)
{
	/* /proc/TID exists for every thread, listed or not; its status names the group. */
	char path[64], buf[2048];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	if (procfs_read(path, buf, sizeof(buf)) <= 0)
		return 0;
	const char *t = strstr(buf, "\nTgid:");
	return t ? (pid_t)atoi(t + 6) : 0;
}

size_t procscan_children(pid_t pid, pid_t **out)
{
	*out = NULL;
	size_t n = 0, cap = 0;
	char path[64], buf[1024];
	/* The kernel lists each thread's children; a child of any thread is the process's. */
	pid_t *tids = NULL;
	ssize_t nt = procfs_list_tasks(pid, &tids);
	for (ssize_t i = 0; i < nt; i++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)tids[i]);
		if (procfs_read(path, buf, sizeof(buf)) <= 0)
			continue;
		for (char *p = buf; *p;) {
			char *end;
			long c = strtol(p, &end, 10);
			if (end == p)
				break;
			VEC_RESERVE(*out, cap, n + 1);
			(*out)[n++] = (pid_t)c;
			p = end;
		}
	}
	free(tids);
	return n;
}

const char *procscan_comm(pid_t pid, char *buf, size_t cap)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (procfs_read(path, buf, cap) <= 0)
		snprintf(buf, cap, "?");
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}
