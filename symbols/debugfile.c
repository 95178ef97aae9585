#include "symbols/debugfile.h"
#include "symbols/debugcache.h"
#include "symbols/inflate.h"
#include "image/buildid.h"
#include "util/xalloc.h"
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

/* An image bigger than this is left to libdw (which would need as much memory itself). */
#define INFLATE_MAX_BYTES (4ull << 30)

/* One debug file, known by identity rather than name: libdwfl reaches the same file by
 * build-id link, debuglink or path. */
struct entry {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	unsigned char id[64];	/* build-id, when it has one (the cache's key) */
	int idlen;
	char *path;		/* where a prefetch finds it */
	bool claimed;		/* a thread is inflating it (or has) */
	bool done;
	int image;		/* inflated image, or -1 (nothing to inflate, or it failed) */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct entry *e;
	size_t n, cap;
	pthread_t thread;
	bool thread_running;	/* still taking work */
	bool thread_joinable;
	unsigned inflated, cached;	/* for --stats */
} reg = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* A live target whose root is not chang's (a container's mount namespace, a chroot): its
 * own /usr/lib/debug, through /proc/PID/root, or "" when its root is chang's. */
static void container_debug_dir(pid_t pid, char *buf, size_t cap)
{
	buf[0] = 0;
	if (pid <= 0)
		return;
	char root[64];
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	struct stat a, b;
	if (stat(root, &a) != 0 || stat("/", &b) != 0 || (a.st_dev == b.st_dev && a.st_ino == b.st_ino))
		return;
	snprintf(buf, cap, "%s/usr/lib/debug:", root);
}

void debugfile_search_path(const struct target_options *o, pid_t live_pid, char *buf, size_t cap)
{
	const char *dip = o ? o->debuginfo_path : NULL, *root = o ? o->sysroot : NULL;
	char container[96];
	container_debug_dir(live_pid, container, sizeof(container));
	snprintf(buf, cap, "%s%s%s%s%s%s.debug:/usr/lib/debug", dip ? dip : "", dip ? ":" : "",
		 root ? root : "", root ? "/usr/lib/debug" : "", root ? ":" : "", container);
	if (buf[0] == ':')	/* no leading empty component */
		memmove(buf, buf + 1, strlen(buf));
}

static bool same_file(const struct entry *e, const struct stat *st)
{
	return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Under reg.mu. */
static struct entry *find(const struct stat *st)
{
	for (size_t i = 0; i < reg.n; i++)
		if (same_file(&reg.e[i], st))
			return &reg.e[i];
	return NULL;
}

/* Under reg.mu; returns the index (entries move when the array grows). */
static size_t add(const struct stat *st, const char *path, const unsigned char *id, int idlen)
{
	if (reg.n == reg.cap) {
		reg.cap = reg.cap ? reg.cap * 2 : 8;
		reg.e = xrealloc(reg.e, reg.cap * sizeof(*reg.e));
	}
	reg.e[reg.n] = (struct entry){ .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size,
				       .mtime = st->st_mtim, .path = path ? xstrdup(path) : NULL, .image = -1 };
	if (idlen > 0 && idlen <= (int)sizeof(reg.e[reg.n].id)) {
		memcpy(reg.e[reg.n].id, id, (size_t)idlen);
		reg.e[reg.n].idlen = idlen;
	}
	return reg.n++;
}

/* The image of the debug file open on fd: the cached one, else inflated now (into the
 * cache when there is one); -1 when the file is best read as it is. */
static int make_image(int fd, const struct stat *st, const unsigned char *id, int idlen, unsigned threads)
{
	int image = idlen > 0 ? debugcache_open(id, idlen, st) : -1;
	if (image >= 0) {
		__atomic_add_fetch(&reg.cached, 1, __ATOMIC_RELAXED);
		return image;
	}
	int out = idlen > 0 ? debugcache_create() : -1;
	image = inflate_elf(fd, INFLATE_MAX_BYTES, threads, out);
	if (image >= 0)
		__atomic_add_fetch(&reg.inflated, 1, __ATOMIC_RELAXED);
	if (image >= 0 && image == out)
		debugcache_commit(out, id, idlen, st);
	else if (out >= 0)
		close(out);
	return image;
}

static void finish(size_t i, int image)
{
	pthread_mutex_lock(&reg.mu);
	reg.e[i].image = image;
	reg.e[i].done = true;
	pthread_cond_broadcast(&reg.cv);
	pthread_mutex_unlock(&reg.mu);
}

static void *prefetch_thread(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&reg.mu);
		size_t i = 0;
		while (i < reg.n && (reg.e[i].claimed || !reg.e[i].path))
			i++;
		if (i == reg.n) {
			reg.thread_running = false;
			pthread_mutex_unlock(&reg.mu);
			return NULL;
		}
		reg.e[i].claimed = true;
		char *path = xstrdup(reg.e[i].path);
		unsigned char id[64];
		int idlen = reg.e[i].idlen;
		memcpy(id, reg.e[i].id, sizeof(id));
		pthread_mutex_unlock(&reg.mu);
		int image = -1;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0) {
			pthread_mutex_lock(&reg.mu);
			bool same = same_file(&reg.e[i], &st);
			pthread_mutex_unlock(&reg.mu);
			if (same)
				image = make_image(fd, &st, id, idlen, 1);
		}
		if (fd >= 0)
			close(fd);
		free(path);
		finish(i, image);
	}
}

/* The k-th place a debug file with this build-id may be: <dir>/.build-id/ab/cdef….debug
 * under each absolute directory of the search path (elfutils' "+" and "-" prefixes only
 * concern CRC checks). Returns false past the last. */
static bool build_id_path(const char *search_path, const unsigned char *id, int len, int k, char *out,
			  size_t cap)
{
	char hex[2 * 64 + 1];
	if (len < 2 || len > 64)
		return false;
	buildid_hex(id, len, hex);
	for (const char *p = search_path; *p;) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *dir = p;
		while (n && (*dir == '+' || *dir == '-'))
			dir++, n--;
		if (n && dir[0] == '/' && k-- == 0) {
			snprintf(out, cap, "%.*s/.build-id/%.2s/%s.debug", (int)n, dir, hex, hex + 2);
			return true;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

static void queue_debug_files(const char *module, const char *search_path)
{
	int fd = open(module, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	unsigned char id[64];
	int len = buildid_from_fd(fd, id, sizeof(id));
	close(fd);
	char path[4096];
	for (int k = 0; build_id_path(search_path, id, len, k, path, sizeof(path)); k++) {
		struct stat st;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		pthread_mutex_lock(&reg.mu);
		if (!find(&st))
			add(&st, path, id, len);
		pthread_mutex_unlock(&reg.mu);
		break;
	}
}

void debugfile_prefetch(const char *const *module_paths, size_t n, const char *search_path)
{
	for (size_t i = 0; i < n; i++)
		queue_debug_files(module_paths[i], search_path);
	pthread_mutex_lock(&reg.mu);
	bool work = false;
	for (size_t i = 0; i < reg.n; i++)
		work |= !reg.e[i].claimed && reg.e[i].path;
	if (work && !reg.thread_running) {
		if (reg.thread_joinable)
			pthread_join(reg.thread, NULL);	/* it has found no more work: it is ending */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		reg.thread_running = reg.thread_joinable =
			pthread_create(&reg.thread, NULL, prefetch_thread, NULL) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		/* The module that starts the thread sees it end: whatever command runs, the thread
		 * is joined and the images released when chang exits. */
		static bool at_exit;
		if (reg.thread_joinable && !at_exit)
			at_exit = atexit(debugfile_shutdown) == 0;
	}
	pthread_mutex_unlock(&reg.mu);
}

/* The image to read for the debug file open on fd (closed when there is one), waiting for
 * the prefetch when it holds this file. */
static int image_for(int fd, const unsigned char *id, int idlen)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return fd;
	pthread_mutex_lock(&reg.mu);
	struct entry *e = find(&st);
	size_t i = e ? (size_t)(e - reg.e) : add(&st, NULL, id, idlen);
	if (!reg.e[i].claimed) {
		/* Not begun in the background: the calling thread does it, outside the lock. */
		reg.e[i].claimed = true;
		pthread_mutex_unlock(&reg.mu);
		finish(i, make_image(fd, &st, id, idlen, (unsigned)get_nprocs()));
		pthread_mutex_lock(&reg.mu);
	}
	while (!reg.e[i].done)
		pthread_cond_wait(&reg.cv, &reg.mu);
	int image = reg.e[i].image >= 0 ? fcntl(reg.e[i].image, F_DUPFD_CLOEXEC, 0) : -1;
	pthread_mutex_unlock(&reg.mu);
	if (image < 0)
		return fd;
	close(fd);
	return image;
}

int debugfile_substitute(int fd)
{
	unsigned char id[64];
	int idlen = buildid_from_fd(fd, id, sizeof(id));
	return image_for(fd, id, idlen);
}

void debugfile_stats(unsigned *inflated, unsigned *cached)
{
	*inflated = __atomic_load_n(&reg.inflated, __ATOMIC_RELAXED);
	*cached = __atomic_load_n(&reg.cached, __ATOMIC_RELAXED);
}

int debugfile_open_by_build_id(const unsigned char *id, int len, const char *search_path, char **name)
{
	char path[4096];
	for (int k = 0; build_id_path(search_path, id, len, k, path, sizeof(path)); k++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		unsigned char got[64];
		if (buildid_from_fd(fd, got, sizeof(got)) != len || memcmp(got, id, (size_t)len) != 0) {
			close(fd);
			continue;
		}
		*name = xstrdup(path);
		return image_for(fd, id, len);
	}
	return -1;
}

void debugfile_shutdown(void)
{
	pthread_mutex_lock(&reg.mu);
	bool joinable = reg.thread_joinable;
	reg.thread_joinable = false;
	/* no new work: the thread ends after the file it holds */
	for (size_t i = 0; i < reg.n; i++)
		reg.e[i].claimed = true;
	pthread_mutex_unlock(&reg.mu);
	if (joinable)
		pthread_join(reg.thread, NULL);
	for (size_t i = 0; i < reg.n; i++) {
		if (reg.e[i].image >= 0)
			close(reg.e[i].image);
		free(reg.e[i].path);
	}
	free(reg.e);
	reg.e = NULL;
	reg.n = reg.cap = 0;
}
