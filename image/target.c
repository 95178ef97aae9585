#include "image/target.h"
#include "image/buildid.h"
#include "util/strmap.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

size_t target_read(struct target *t, uint64_t addr, void *buf, size_t len)
{
	size_t n = memimage_read(&t->mem, addr, buf, len);
	if (n < len && t->read_live) {
		size_t got = t->read_live(t, addr + n, (unsigned char *)buf + n, len - n);
		if (got && t->log_live) {
			/* appended, not inserted: the image is re-sorted once, at the end */
			VEC_RESERVE(t->live_log, t->caplive_log, t->nlive_log + 1);
			unsigned char *copy = xmalloc(got);
			memcpy(copy, (unsigned char *)buf + n, got);
			t->live_log[t->nlive_log++] = (struct live_read){ addr + n, copy, got };
		}
		n += got;
	}
	return n;
}

static int cmp_live(const void *a, const void *b)
{
	const struct live_read *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

void target_keep_live_reads(struct target *t)
{
	t->log_live = false;
	if (t->nlive_log > 1)
		qsort(t->live_log, t->nlive_log, sizeof(*t->live_log), cmp_live);
	/* Blocks read twice (a cache evicted them) overlap; the freeze makes their bytes
	 * equal, so overlapping and touching reads merge into one region. */
	for (size_t i = 0; i < t->nlive_log;) {
		uint64_t lo = t->live_log[i].addr, hi = lo + t->live_log[i].len;
		size_t j = i + 1;
		while (j < t->nlive_log && t->live_log[j].addr <= hi) {
			uint64_t e = t->live_log[j].addr + t->live_log[j].len;
			if (e > hi)
				hi = e;
			j++;
		}
		unsigned char *merged = xmalloc(hi - lo);
		for (size_t k = i; k < j; k++)
			memcpy(merged + (t->live_log[k].addr - lo), t->live_log[k].buf, t->live_log[k].len);
		for (size_t k = i; k < j; k++)
			free(t->live_log[k].buf);
		memimage_add_buf(&t->mem, lo, merged, hi - lo);
		i = j;
	}
	free(t->live_log);
	t->live_log = NULL;
	t->nlive_log = t->caplive_log = 0;
}

size_t target_read_for_unwind(struct target *t, uint64_t addr, void *buf, size_t len)
{
	return memimage_read_stale_ok(&t->mem, addr, buf, len);
}

bool target_read_u64(struct target *t, uint64_t addr, uint64_t *v)
{
	return target_read(t, addr, v, sizeof(*v)) == sizeof(*v);
}

bool target_read_u32(struct target *t, uint64_t addr, uint32_t *v)
{
	return target_read(t, addr, v, sizeof(*v)) == sizeof(*v);
}

int target_open_module(struct target *t, const struct module *m, const char **path)
{
	*path = NULL;
	return t->ops->open_module ? t->ops->open_module(t, m, path) : -1;
}

void target_keep_fd(struct target *t, int fd)
{
	if (fd < 0)
		return;
	VEC_RESERVE(t->fds, t->capfds, t->nfds + 1);
	t->fds[t->nfds++] = fd;
}

int target_module_fd(struct target *t, size_t i)
{
	if (!t->modfds || i >= t->snap->nmodules || t->modfds[i] < 0)
		return -1;
	return fcntl(t->modfds[i], F_DUPFD_CLOEXEC, 0);
}

void target_settle(struct target *t)
{
	if (t && t->ops->settle)
		t->ops->settle(t);
}

void target_close(struct target *t)
{
	if (!t)
		return;
	memimage_free(&t->mem);
	for (size_t i = 0; i < t->nlive_log; i++)
		free(t->live_log[i].buf);
	free(t->live_log);
	for (size_t i = 0; i < t->nfds; i++)
		close(t->fds[i]);
	free(t->fds);
	free(t->modfds);
	if (t->ops && t->ops->close)
		t->ops->close(t);
	else
		free(t);
}

int target_open_regular(const char *sysroot, const char *path, const char **opened, struct arena *a)
{
	char buf[4096];
	if (sysroot && *sysroot && path[0] == '/')
		snprintf(buf, sizeof(buf), "%s%s", sysroot, path);
	else
		snprintf(buf, sizeof(buf), "%s", path);
	/* A lying core may name devices or FIFOs: refuse anything that is not a regular file
	 * before opening it, and open with O_NONBLOCK in case the path changes in between. */
	struct stat pre;
	if (stat(buf, &pre) != 0)
		return -1;
	if (!S_ISREG(pre.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	int fd = open(buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	if (opened)
		*opened = a ? arena_strdup(a, buf) : NULL;
	return fd;
}

static bool is_elf_fd(int fd)
{
	unsigned char m[4];
	return pread(fd, m, 4, 0) == 4 && memcmp(m, "\177ELF", 4) == 0;
}

static bool is_pseudo_path(const char *p)
{
	/* "[heap]", "[stack]", "/dev/zero (deleted)", "/memfd:..." and SysV shm are no ELF files;
	 * a relative path (a core from another tool) may well be one */
	return !p || !p[0] || p[0] == '[' || strncmp(p, "/dev/", 5) == 0 || strncmp(p, "/memfd:", 7) == 0 ||
	       strncmp(p, "/SYSV", 5) == 0;
}

/* Read-only file mappings never change, so their bytes can come from the file of module k;
 * writable ones only for readers that accept stale bytes (unwinders). */
static void add_file_fallbacks(struct target *t, size_t k)
{
	struct snapshot *s = t->snap;
	struct module *m = &s->modules[k];
	int fd = t->modfds[k];
	if (fd < 0)
		return;
	for (size_t i = 0; i < s->nmaps; i++) {
		const struct mapping *mp = &s->maps[i];
		if (!mp->path || mp->start < m->start || mp->start >= m->end || strcmp(m->name, mp->path) != 0)
			continue;
		struct stat st;
		if (fstat(fd, &st) != 0)
			break;
		uint64_t flen = (uint64_t)st.st_size > mp->offset ? (uint64_t)st.st_size - mp->offset : 0;
		memimage_add_fallback(&t->mem, mp->start, mp->end - mp->start, fd, mp->offset, flen,
				      mp->perms[1] == 'w');
	}
}

void target_load_modules(struct target *t)
{
	struct snapshot *s = t->snap;
	size_t cap = 0, n = 0;
	struct module *mods = NULL;
	int *fds = NULL;
	/* each file's latest module: the mappings come in address order, so a mapping of the
	 * same file belongs to it if it lies above it, within 4 GiB */
	struct strmap latest = { 0 };

	for (size_t i = 0; i < s->nmaps; i++) {
		const struct mapping *mp = &s->maps[i];
		if (is_pseudo_path(mp->path))
			continue;
		/* A module is the run of mappings of one file that starts at file offset 0. */
		size_t j;
		if (strmap_get(&latest, mp->path, &j) && mp->start >= mods[j].start &&
		    mp->start - mods[j].end < (1ULL << 32)) {
			if (mp->end > mods[j].end)
				mods[j].end = mp->end;
			continue;
		}
		if (mp->offset != 0)
			continue;
		VEC_RESERVE(mods, cap, n + 1);
		fds = xreallocarray(fds, cap, sizeof(int));
		memset(&mods[n], 0, sizeof(mods[n]));
		mods[n].name = mp->path;
		mods[n].start = mp->start;
		mods[n].end = mp->end;
		fds[n] = -1;
		strmap_put(&latest, mp->path, n);
		n++;
	}
	strmap_free(&latest);

	/* Open each candidate; keep ELF files and files that could not be opened (they are
	 * still modules, reported missing), drop data files (locale-archive, fonts). */
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		struct module *m = &mods[i];
		const char *opened = NULL;
		int fd = target_open_module(t, m, &opened);
		m->target_build_id_len = buildid_from_memory(t, m->start, m->target_build_id,
							     sizeof(m->target_build_id));
		if (fd >= 0 && !is_elf_fd(fd)) {
			close(fd);
			continue;
		}
		if (fd < 0) {
			/* Without the file, only memory tells it was ELF (a core's first page). */
			if (m->target_build_id_len == 0) {
				unsigned char mg[4];
				if (target_read(t, m->start, mg, 4) != 4 || memcmp(mg, "\177ELF", 4) != 0) {
					if (strstr(m->name, ".so") == NULL && i != 0)
						continue;
				}
			}
			m->missing = true;
			snapshot_warn(s, "%s: cannot open the mapped file (%s); its frames stay unsymbolized",
				      m->name, strerror(errno ? errno : ENOENT));
		} else {
			m->file = opened ? opened : m->name;
			m->build_id_len = buildid_from_fd(fd, m->build_id, sizeof(m->build_id));
			if (m->target_build_id_len && m->build_id_len &&
			    (m->build_id_len != m->target_build_id_len ||
			     memcmp(m->build_id, m->target_build_id, (size_t)m->build_id_len) != 0)) {
				char a[81], b[81];
				buildid_hex(m->target_build_id, m->target_build_id_len, a);
				buildid_hex(m->build_id, m->build_id_len, b);
				m->mismatched = true;
				snapshot_warn(s, "%s: build-id %s differs from the target's %s; "
					      "symbols for it may be wrong", m->file, b, a);
			}
		}
		mods[kept] = *m;
		fds[kept] = fd;
		kept++;
	}
	s->modules = arena_memdup(&s->arena, mods, sizeof(*mods) * kept);
	s->nmodules = kept;
	free(mods);
	t->modfds = fds;

	for (size_t k = 0; k < kept; k++) {
		add_file_fallbacks(t, k);
		target_keep_fd(t, fds[k]);
	}
}

int target_adopt_module_file(struct target *t, size_t i, int fd, const char *path)
{
	struct snapshot *s = t->snap;
	if (i >= s->nmodules || !s->modules[i].missing || !t->modfds || !is_elf_fd(fd))
		return -1;
	struct module *m = &s->modules[i];
	unsigned char id[sizeof(m->build_id)];
	int len = buildid_from_fd(fd, id, sizeof(id));
	if (m->target_build_id_len &&
	    (len != m->target_build_id_len || memcmp(id, m->target_build_id, (size_t)len) != 0))
		return -1;
	memcpy(m->build_id, id, sizeof(id));
	m->build_id_len = len;
	m->file = arena_strdup(&s->arena, path);
	m->missing = false;
	t->modfds[i] = fd;
	add_file_fallbacks(t, i);
	target_keep_fd(t, fd);
	return 0;
}
