#include "attach/epollregs.h"
#include "util/xalloc.h"
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Enough for a busy server; a process with more registrations keeps the first ones. */
#define REGS_MAX (1u << 20)

static void read_instance(pid_t pid, int epfd, struct epoll_reg **v, size_t *n, size_t *cap)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, epfd);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char line[256];
	while (fgets(line, sizeof(line), f) && *n < REGS_MAX) {
		int tfd;
		unsigned long long data;
		unsigned events;
		if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3)
			continue;
		VEC_RESERVE(*v, *cap, *n + 1);
		(*v)[(*n)++] = (struct epoll_reg){ .epfd = epfd, .fd = tfd, .data = data };
	}
	fclose(f);
}

void epoll_regs_read(pid_t pid, struct snapshot *s)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct epoll_reg *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char lp[96], target[64];
		snprintf(lp, sizeof(lp), "/proc/%d/fd/%s", (int)pid, de->d_name);
		ssize_t l = readlink(lp, target, sizeof(target) - 1);
		if (l < 0)
			continue;
		target[l] = 0;
		if (strcmp(target, "anon_inode:[eventpoll]") == 0)
			read_instance(pid, atoi(de->d_name), &v, &n, &cap);
	}
	closedir(d);
	s->epoll_regs = n ? arena_memdup(&s->arena, v, sizeof(*v) * n) : NULL;
	s->nepoll_regs = n;
	free(v);
}
