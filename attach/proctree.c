#include "attach/proctree.h"
#include "attach/procfs.h"
#include "util/xalloc.h"
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pp {
	pid_t pid, ppid;
};

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

size_t proctree_list(pid_t root, pid_t **out)
{
	struct pp *all = NULL;
	size_t n = 0, cap = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char path[64], buf[1024];
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if (procfs_read(path, buf, sizeof(buf)) <= 0)
			continue;
		const char *rp = strrchr(buf, ')');
		int ppid;
		if (!rp || sscanf(rp + 2, "%*c %d", &ppid) != 1)
			continue;
		VEC_RESERVE(all, cap, n + 1);
		all[n].pid = (pid_t)atoi(de->d_name);
		all[n].ppid = (pid_t)ppid;
		n++;
	}
	if (d)
		closedir(d);
	pid_t *tree = xcalloc(n + 1, sizeof(*tree));
	size_t nt = 0;
	tree[nt++] = root;
	/* breadth-first over parent links: each round adds the children of what we have */
	for (size_t i = 0; i < nt; i++)
		for (size_t k = 0; k < n; k++)
			if (all[k].ppid == tree[i] && all[k].pid != root)
				tree[nt++] = all[k].pid;
	free(all);
	if (nt > 1)
		qsort(tree + 1, nt - 1, sizeof(*tree), cmp_pid);
	*out = tree;
	return nt;
}

size_t proctree_kill(pid_t root, int sig)
{
	pid_t *tree;
	size_t n = proctree_list(root, &tree), done = 0;
	/* children first, so a parent cannot restart what was just stopped */
	for (size_t i = n; i-- > 0;)
		if (kill(tree[i], sig) == 0)
			done++;
	free(tree);
	return done;
}
