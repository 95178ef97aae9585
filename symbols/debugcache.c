#include "symbols/debugcache.h"
#include "image/buildid.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char cache_dir[4096];	/* empty: no cache */
static unsigned long long cache_max = 512ull << 20;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static bool mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		int r = mkdir(path, 0700);
		*p = '/';
		if (r != 0 && errno != EEXIST)
			return false;
	}
	return mkdir(path, 0700) == 0 || errno == EEXIST;
}

static void find_dir(void)
{
	const char *env = getenv("CHANG_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (env) {
		if (env[0] && strcmp(env, "off") != 0)
			snprintf(cache_dir, sizeof(cache_dir), "%s", env);
	} else if (xdg && xdg[0] == '/') {
		snprintf(cache_dir, sizeof(cache_dir), "%s/chang/debuginfo", xdg);
	} else if (home && home[0] == '/') {
		snprintf(cache_dir, sizeof(cache_dir), "%s/.cache/chang/debuginfo", home);
	}
	if (cache_dir[0] && !mkdirs(cache_dir))
		cache_dir[0] = 0;	/* read-only home, no permission: chang works without */
	const char *max = getenv("CHANG_CACHE_MAX_MB");
	if (max && *max)
		cache_max = strtoull(max, NULL, 10) << 20;
}

static bool entry_path(char *out, size_t cap, const unsigned char *id, int len, const struct stat *src)
{
	pthread_once(&once, find_dir);
	if (!cache_dir[0] || len < 2 || len > 64)
		return false;
	char hex[2 * 64 + 1];
	buildid_hex(id, len, hex);
	int n = snprintf(out, cap, "%s/%s-%lld-%lld.%09ld.debug", cache_dir, hex, (long long)src->st_size,
			 (long long)src->st_mtim.tv_sec, (long)src->st_mtim.tv_nsec);
	return n > 0 && (size_t)n < cap;
}

int debugcache_open(const unsigned char *id, int len, const struct stat *src)
{
	char path[4200];
	if (!entry_path(path, sizeof(path), id, len, src))
		return -1;
	/* Non-blocking: a FIFO planted under an entry's name must not hang chang. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return -1;	/* not an entry chang wrote: left alone */
	}
	/* A file cut short by a crash or a full disk, or not ours: dropped and made again. */
	unsigned char got[64];
	if (buildid_from_fd(fd, got, sizeof(got)) != len || memcmp(got, id, (size_t)len) != 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	futimens(fd, NULL);	/* recently used: kept longest */
	return fd;
}

int debugcache_create(void)
{
	pthread_once(&once, find_dir);
	if (!cache_dir[0])
		return -1;
	/* Unnamed until whole: an interrupted chang leaves nothing behind. */
	return open(cache_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

struct old {
	char name[256];
	long long bytes;
	struct timespec used;
};

static int cmp_used(const void *a, const void *b)
{
	const struct old *x = a, *y = b;
	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	return (x->used.tv_nsec > y->used.tv_nsec) - (x->used.tv_nsec < y->used.tv_nsec);
}

/* Only chang's own entries are ever removed: "<hex build-id>-<size>-<sec>.<nsec>.debug". A
 * cache pointed at a directory of real debug files must not lose them. */
static bool ours(const char *name)
{
	const char *p = name;
	size_t hex = strspn(p, "0123456789abcdef");
	if (hex < 4 || p[hex] != '-')
		return false;
	p += hex + 1;
	size_t d = strspn(p, "0123456789");
	if (!d || p[d] != '-')
		return false;
	p += d + 1;
	d = strspn(p, "0123456789");
	if (!d || p[d] != '.')
		return false;
	p += d + 1;
	d = strspn(p, "0123456789");
	return d == 9 && strcmp(p + d, ".debug") == 0;
}

static void trim(void)
{
	DIR *d = opendir(cache_dir);
	if (!d)
		return;
	struct old *v = NULL;
	size_t n = 0, cap = 0;
	unsigned long long total = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		struct stat st;
		if (l >= sizeof(v->name) || !ours(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid())
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			struct old *nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		memcpy(v[n].name, de->d_name, l + 1);
		v[n].bytes = (long long)st.st_blocks * 512;
		v[n].used = st.st_mtim;
		total += (unsigned long long)v[n].bytes;
		n++;
	}
	if (total > cache_max && n > 1) {
		qsort(v, n, sizeof(*v), cmp_used);
		/* the newest entry (just written) stays even when it alone is over the size */
		for (size_t i = 0; i + 1 < n && total > cache_max; i++)
			if (unlinkat(dirfd(d), v[i].name, 0) == 0)
				total -= (unsigned long long)v[i].bytes;
	}
	closedir(d);
	free(v);
}

void debugcache_commit(int fd, const unsigned char *id, int len, const struct stat *src)
{
	char path[4200], self[64];
	if (!entry_path(path, sizeof(path), id, len, src))
		return;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	/* EEXIST: another chang cached the same file first; either copy is whole. */
	if (linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
		trim();
}
