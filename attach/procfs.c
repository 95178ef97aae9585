#include "attach/procfs.h"
#include "util/xalloc.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ssize_t procfs_read(const char *path, char *buf, size_t cap)
{
	return procfs_read_at(AT_FDCWD, path, buf, cap);
}

ssize_t procfs_read_at(int dirfd, const char *path, char *buf, size_t cap)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t k = read(fd, buf + n, cap - 1 - n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = 0;
	return (ssize_t)n;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

ssize_t procfs_list_tasks(pid_t pid, pid_t **out)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	pid_t *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		VEC_RESERVE(v, cap, n + 1);
		v[n++] = (pid_t)strtol(de->d_name, NULL, 10);
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_pid);
	*out = v;
	return (ssize_t)n;
}

/* Hand-parsed: a thousand-thread process has two thousand lines, and sscanf spent more
 * time measuring the rest of the text on each call than reading the line. */
static const char *skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static const char *parse_num(const char *p, unsigned base, unsigned long long *v)
{
	const char *s = p;
	unsigned long long x = 0;
	for (;; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			break;
		if (x > (~0ull - d) / base)
			return NULL;	/* overflow: not a line the kernel wrote */
		x = x * base + d;
	}
	*v = x;
	return p == s ? NULL : p;
}

bool procfs_parse_maps_line(const char *line, struct mapping *m, struct arena *a)
{
	unsigned long long start, end, off, inode, dmaj, dmin;
	char perms[5];
	memset(m, 0, sizeof(*m));
	const char *p = parse_num(skip_spaces(line), 16, &start);
	if (!p || *p++ != '-' || !(p = parse_num(p, 16, &end)))
		return false;
	p = skip_spaces(p);
	size_t pl = 0;
	while (p[pl] && p[pl] != ' ' && p[pl] != '\t' && p[pl] != '\n' && pl < 5)
		pl++;
	if (pl != 4 || (p[pl] != ' ' && p[pl] != '\t'))
		return false;
	memcpy(perms, p, 4);
	perms[4] = 0;
	if (!(p = parse_num(skip_spaces(p + 4), 16, &off)) || !(p = parse_num(skip_spaces(p), 16, &dmaj)) ||
	    *p++ != ':' || !(p = parse_num(p, 16, &dmin)) || !(p = parse_num(skip_spaces(p), 10, &inode)))
		return false;
	if (*p && *p != ' ' && *p != '\t' && *p != '\n')
		return false;
	(void)dmaj;
	(void)dmin;
	if (end <= start)
		return false;
	m->start = start;
	m->end = end;
	m->offset = off;
	memcpy(m->perms, perms, 5);
	m->inode = inode;
	m->dumped = true;
	p = skip_spaces(p);
	size_t len = strcspn(p, "\n");
	/* A replaced or deleted file keeps its old name plus " (deleted)"; the name still
	 * identifies the module, and map_files/ still reaches its bytes. */
	static const char del[] = " (deleted)";
	if (len > sizeof(del) - 1 && memcmp(p + len - (sizeof(del) - 1), del, sizeof(del) - 1) == 0)
		len -= sizeof(del) - 1;
	m->path = len ? arena_strndup(a, p, len) : NULL;
	return true;
}

static int cmp_map(const void *a, const void *b)
{
	const struct mapping *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

size_t procfs_parse_maps(const char *text, struct mapping **out, struct arena *a)
{
	size_t n = 0, cap = 0;
	struct mapping *v = NULL;
	for (const char *p = text; p && *p;) {
		struct mapping m;
		if (procfs_parse_maps_line(p, &m, a)) {
			VEC_RESERVE(v, cap, n + 1);
			v[n++] = m;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_map);
	*out = arena_memdup(a, v, sizeof(*v) * n);
	free(v);
	return n;
}

bool procfs_parse_stat(const char *line, char *state, uint64_t *cpu_ticks)
{
	const char *rp = strrchr(line, ')');
	if (!rp || rp[1] != ' ' || !rp[2])
		return false;
	*state = rp[2];
	if (cpu_ticks) {
		/* fields after the state: ppid pgrp session tty tpgid flags minflt cminflt majflt
		 * cmajflt utime stime */
		unsigned long long ut = 0, st = 0;
		if (sscanf(rp + 3, "%*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
			*cpu_ticks = ut + st;
		else
			*cpu_ticks = 0;
	}
	return true;
}

bool procfs_status_field(pid_t pid, const char *key, char *val, size_t cap)
{
	char path[64], buf[8192];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (procfs_read(path, buf, sizeof(buf)) < 0)
		return false;
	size_t kl = strlen(key);
	for (char *p = buf; p && *p;) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
			p += kl + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			size_t l = strcspn(p, "\n");
			if (l >= cap)
				l = cap - 1;
			memcpy(val, p, l);
			val[l] = 0;
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

int procfs_parse_syscall(const char *line, long *nr, uint64_t args[6], uint64_t *sp, uint64_t *pc)
{
	if (strncmp(line, "running", 7) == 0)
		return 0;
	long n;
	unsigned long long a[8];
	int k = sscanf(line, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &n, &a[0], &a[1], &a[2],
		       &a[3], &a[4], &a[5], &a[6], &a[7]);
	if (k == 3 && n == -1) {
		*nr = -1;
		*sp = a[0];
		*pc = a[1];
		return 2;
	}
	if (k != 9 || n < 0)
		return -1;
	*nr = n;
	for (int i = 0; i < 6; i++)
		args[i] = a[i];
	*sp = a[6];
	*pc = a[7];
	return 1;
}
