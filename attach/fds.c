#include "attach/fds.h"
#include "attach/procfs.h"
#include "attach/socktable.h"
#include "util/xalloc.h"
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Objects without an inode of their own (epoll instances, eventfds, timerfds: anon inodes)
 * all read the same link text; the kernel's kcmp tells whether two fds are one open file.
 * Compared only within the same text, and only for that kind of object (a pipe or socket
 * carries its inode in the text). */
#define SAME_FILE_MAX 512

static void same_files(pid_t pid, struct fdinfo *v, size_t n)
{
	size_t compared = 0;
	for (size_t i = 0; i < n; i++) {
		v[i].file_fd = v[i].fd;
		if (strncmp(v[i].target, "anon_inode:", 11) != 0)
			continue;
		for (size_t j = 0; j < i && compared < SAME_FILE_MAX * SAME_FILE_MAX; j++) {
			if (v[j].file_fd != v[j].fd || strcmp(v[i].target, v[j].target) != 0)
				continue;
			compared++;
			if (syscall(SYS_kcmp, pid, pid, KCMP_FILE, v[i].fd, v[j].fd) == 0) {
				v[i].file_fd = v[j].fd;
				break;
			}
		}
	}
}

static int cmp_fd(const void *a, const void *b)
{
	const struct fdinfo *x = a, *y = b;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

void fds_read(pid_t pid, struct snapshot *s)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct fdinfo *v = NULL;
	size_t n = 0, cap = 0;
	struct socktable socks = { 0 };
	bool socks_read = false;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char lp[96], target[4096];
		snprintf(lp, sizeof(lp), "/proc/%d/fd/%s", (int)pid, de->d_name);
		ssize_t l = readlink(lp, target, sizeof(target) - 1);
		if (l < 0)
			continue;
		target[l] = 0;
		VEC_RESERVE(v, cap, n + 1);
		v[n].fd = atoi(de->d_name);
		v[n].target = arena_strdup(&s->arena, target);
		v[n].detail = NULL;
		unsigned long ino;
		if (sscanf(target, "socket:[%lu]", &ino) == 1) {
			if (!socks_read)
				socks_read = socktable_read(pid, &socks) || true;
			const struct sockrow *r = socktable_find(&socks, ino);
			if (r) {
				char d[256];
				socktable_describe(r, d, sizeof(d));
				v[n].detail = arena_strdup(&s->arena, d);
			}
		}
		n++;
	}
	closedir(d);
	socktable_free(&socks);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_fd);
	same_files(pid, v, n);
	s->fds = arena_memdup(&s->arena, v, sizeof(*v) * n);
	s->nfds = n;
	free(v);
}
