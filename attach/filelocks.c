#include "attach/filelocks.h"
#include "attach/procfs.h"
#include "util/xalloc.h"
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool filelocks_parse_line(const char *line, struct filelock *l)
{
	memset(l, 0, sizeof(*l));
	while (*line == ' ' || *line == '\t')
		line++;
	if (strncmp(line, "lock:", 5) == 0)
		line += 5;
	char type[16], mode[16], rw[16], dev[64];
	int id, pid, used = 0;
	if (sscanf(line, " %d: %n", &id, &used) != 1)
		return false;
	line += used;
	if (strncmp(line, "-> ", 3) == 0) {
		l->waiter = true;
		line += 3;
	}
	if (sscanf(line, "%15s %15s %15s %d %63s", type, mode, rw, &pid, dev) != 5)
		return false;
	unsigned maj, min;
	unsigned long long ino;
	if (sscanf(dev, "%x:%x:%llu", &maj, &min, &ino) != 3)
		return false;
	l->id = id;
	snprintf(l->type, sizeof(l->type), "%s", type);
	l->write = strcmp(rw, "WRITE") == 0;
	l->pid = pid;
	l->dev_major = maj;
	l->dev_minor = min;
	l->inode = ino;
	return true;
}

size_t filelocks_parse(const char *text, struct filelock **out)
{
	size_t n = 0, cap = 0;
	*out = NULL;
	while (text && *text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		char line[256];
		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), text);
		struct filelock l;
		if (filelocks_parse_line(line, &l)) {
			VEC_RESERVE(*out, cap, n + 1);
			(*out)[n++] = l;
		}
		text = nl ? nl + 1 : NULL;
	}
	return n;
}

/* Whether pid holds (not waits for) a lock on the file through one of its open files. */
static bool holds(pid_t pid, unsigned maj, unsigned min, uint64_t inode)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool found = false;
	struct dirent *e;
	char buf[4096];
	while (!found && (e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char p[96];
		snprintf(p, sizeof(p), "/proc/%d/fdinfo/%s", (int)pid, e->d_name);
		if (procfs_read(p, buf, sizeof(buf)) <= 0)
			continue;
		for (char *line = strstr(buf, "lock:"); line && !found; line = strstr(line + 5, "lock:")) {
			struct filelock l;
			char one[256];
			size_t len = strcspn(line, "\n");
			snprintf(one, sizeof(one), "%.*s", (int)(len < sizeof(one) ? len : sizeof(one) - 1), line);
			found = filelocks_parse_line(one, &l) && !l.waiter && l.inode == inode && l.dev_major == maj &&
				l.dev_minor == min;
		}
	}
	closedir(d);
	return found;
}

static void add(pid_t **out, size_t *n, size_t *cap, pid_t pid)
{
	for (size_t i = 0; i < *n; i++)
		if ((*out)[i] == pid)
			return;
	VEC_RESERVE(*out, *cap, *n + 1);
	(*out)[(*n)++] = pid;
}

size_t filelocks_holders(unsigned maj, unsigned min, uint64_t inode, pid_t pid_self, pid_t **out)
{
	*out = NULL;
	size_t n = 0, cap = 0;
	static char text[1 << 16];
	struct filelock *v = NULL;
	size_t nv = procfs_read("/proc/locks", text, sizeof(text)) > 0 ? filelocks_parse(text, &v) : 0;
	for (size_t i = 0; i < nv; i++)
		if (!v[i].waiter && v[i].inode == inode && v[i].dev_major == maj && v[i].dev_minor == min &&
		    v[i].pid > 0 && v[i].pid != pid_self && holds(v[i].pid, maj, min, inode))
			add(out, &n, &cap, v[i].pid);
	free(v);
	if (n)
		return n;
	/* OFD locks (pid -1) and flock locks whose taker is gone: ask every process. */
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid != pid_self && holds(pid, maj, min, inode))
			add(out, &n, &cap, pid);
	}
	closedir(d);
	return n;
}
