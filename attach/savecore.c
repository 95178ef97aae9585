#include "attach/savecore.h"
#include "attach/copy.h"
#include "attach/procfs.h"
#include "core/coreemit.h"
#include "core/elfcore.h"
#include "util/clock.h"
#include "util/outfile.h"
#include "util/sigdefer.h"
#include "util/xalloc.h"
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

#define PAGE 4096ULL
#define STAGE (1024 * 1024)
/* Caps on what the mini core takes from one mapping or one link-map walk: a corrupt link
 * map or a huge .bss must not turn a mini core into a full one. */
#define MINI_MAP_MAX (16ULL << 20)
#define LINK_MAP_MAX 4096
#define LINK_MAP_NODE 1152	/* glibc's struct link_map, public part and the TLS fields */
#define NAME_MAX_READ 512
#define TCB_BELOW 4096		/* static TLS blocks sit below the thread pointer */
#define TCB_ABOVE 4096		/* struct pthread above it */


struct fpregs {
	pid_t tid;
	bool valid;
	elf_fpregset_t fp;	/* the host's floating-point registers (NT_PRFPREG's layout) */
};

struct core_save {
	pid_t pid;
	bool full;
	enum core_comp comp;
	struct outfile out;	/* util/outfile: atomic for a regular file, in place otherwise */
	/* read before the freeze: they do not change while the process lives */
	struct elf_prpsinfo ps;
	pid_t ppid, pgrp, sid;
	unsigned char *auxv;
	size_t auxv_len;
	/* from the freeze */
	struct fpregs *fp;
	size_t nfp;
	/* full: thread names read before the freeze (the notes are written inside it, before
	 * the capture reads names); sorted by tid */
	struct prename { pid_t tid; char name[CHANG_THREAD_NAME_LEN + 1]; } *names;
	size_t nnames;
	uint64_t pause_ns;
	bool written;		/* full: the file is complete */
	uint64_t file_size;
	struct err err;		/* the first problem met in the freeze */
};

static int fp_cmp(const void *x, const void *y)
{
	const struct fpregs *a = x, *b = y;
	return (a->tid > b->tid) - (a->tid < b->tid);
}

static const struct fpregs *find_fp(const struct core_save *cs, pid_t tid)
{
	struct fpregs key = { .tid = tid };
	return cs->nfp ? bsearch(&key, cs->fp, cs->nfp, sizeof(*cs->fp), fp_cmp) : NULL;
}

static bool is_file_path(const char *p)
{
	return p && p[0] == '/';
}

/* Thread names, which the kernel's cores lack: chang core shows them as attach did. */
static int prename_cmp(const void *a, const void *b)
{
	const struct prename *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static const char *prename_of(const struct core_save *cs, pid_t tid)
{
	struct prename key = { .tid = tid };
	const struct prename *p = cs->nnames ? bsearch(&key, cs->names, cs->nnames, sizeof(*cs->names), prename_cmp) : NULL;
	return p ? p->name : NULL;
}


/* The core's description: threads whose registers were read (those that did not stop in
 * time are left out: the core cannot say where they were), the main thread first, as the
 * kernel orders them. Returns the thread array, which d points into. */
static struct core_thread *describe(const struct core_save *cs, const struct snapshot *s, struct core_desc *d)
{
	struct core_thread *th = xcalloc(s->ntasks ? s->ntasks : 1, sizeof(*th));
	size_t n = 0;
	for (int main_first = 1; main_first >= 0; main_first--)
		for (size_t i = 0; i < s->ntasks; i++) {
			const struct task *k = &s->tasks[i];
			if (!k->have_regs || (k->tid == cs->pid) != main_first)
				continue;
			const struct fpregs *fp = find_fp(cs, k->tid);
			th[n++] = (struct core_thread){ .tid = k->tid, .regs = &k->regs, .fp = fp && fp->valid ? &fp->fp : NULL,
							.name = k->name && k->name[0] ? k->name : prename_of(cs, k->tid) };
		}
	*d = (struct core_desc){ .ps = &cs->ps, .ppid = cs->ppid, .pgrp = cs->pgrp, .sid = cs->sid, .auxv = cs->auxv,
				 .auxv_len = cs->auxv_len, .threads = th, .nthreads = n, .maps = s->maps, .nmaps = s->nmaps };
	return th;
}

/* ---- reading the stopped process ---- */

static size_t read_mem(pid_t pid, int memfd, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n <= 0 && memfd >= 0)
		n = pread(memfd, buf, len, (off_t)addr);
	return n > 0 ? (size_t)n : 0;
}

/* Copy [addr, addr+len) into the image, clipped to the mapping holding addr. */
static void grab(struct target *t, const struct snapshot *s, int memfd, uint64_t addr, uint64_t len)
{
	const struct mapping *m = mapping_find(s->maps, s->nmaps, addr);
	if (!m || m->perms[0] != 'r' || len == 0)
		return;
	if (len > m->end - addr)
		len = m->end - addr;
	if (len > MINI_MAP_MAX)
		len = MINI_MAP_MAX;
	copy_range(t->pid, memfd, &t->mem, addr, len);
}

/* grab, unless the image already holds every byte (a stack copy often does). */
static void grab_missing(struct target *t, const struct snapshot *s, int memfd, uint64_t addr, uint64_t len)
{
	const struct mapping *m = mapping_find(s->maps, s->nmaps, addr);
	if (!m)
		return;
	if (len > m->end - addr)
		len = m->end - addr;
	uint64_t a = memimage_copied_to(&t->mem, addr, addr + len);
	if (a < addr + len)
		grab(t, s, memfd, a, addr + len - a);
}

static bool auxv_get(const struct core_save *cs, uint64_t type, uint64_t *val)
{
	for (size_t i = 0; i + 16 <= cs->auxv_len; i += 16) {
		uint64_t kv[2];
		memcpy(kv, cs->auxv + i, 16);
		if (kv[0] == type) {
			*val = kv[1];
			return true;
		}
		if (kv[0] == AT_NULL)
			break;
	}
	return false;
}

/* From an ELF image's program headers in the copied memory: its load bias and the address
 * ranges of PT_DYNAMIC and PT_GNU_RELRO (zero when absent). */
struct elfinfo {
	uint64_t bias, dyn, dynsz, relro, relrosz;
};

static bool elf_info(struct target *t, uint64_t base, uint64_t phdr_addr, struct elfinfo *ei)
{
	Elf64_Ehdr eh;
	memset(ei, 0, sizeof(*ei));
	if (memimage_read(&t->mem, base, &eh, sizeof(eh)) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
		return false;
	if (!phdr_addr)
		phdr_addr = base + eh.e_phoff;
	Elf64_Phdr ph[256];
	size_t want = eh.e_phnum * sizeof(Elf64_Phdr);
	if (memimage_read(&t->mem, phdr_addr, ph, want) != want)
		return false;
	uint64_t lowest = UINT64_MAX, phdr_vaddr = 0;
	bool have_phdr = false;
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr < lowest)
			lowest = ph[i].p_vaddr;
		if (ph[i].p_type == PT_PHDR) {
			phdr_vaddr = ph[i].p_vaddr;
			have_phdr = true;
		}
	}
	if (lowest == UINT64_MAX)
		return false;
	ei->bias = have_phdr ? phdr_addr - phdr_vaddr : base - (lowest & ~(PAGE - 1));
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_DYNAMIC) {
			ei->dyn = ei->bias + ph[i].p_vaddr;
			ei->dynsz = ph[i].p_memsz < 65536 ? ph[i].p_memsz : 65536;
		} else if (ph[i].p_type == PT_GNU_RELRO) {
			ei->relro = ei->bias + ph[i].p_vaddr;
			ei->relrosz = ph[i].p_memsz;
		}
	}
	return true;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

struct ival {
	uint64_t start, end;
};

/* The libraries whose data gdb and libthread_db read to list threads and libraries. */
static bool is_runtime_lib(const char *path, const char *ldso)
{
	if (!path)
		return false;
	if (ldso && strcmp(path, ldso) == 0)
		return true;
	const char *b = base_name(path);
	return strncmp(b, "libc.so", 7) == 0 || strncmp(b, "libc-2.", 7) == 0 ||
	       strncmp(b, "libpthread", 10) == 0;
}

/* Follow r_debug.r_map: every link_map node and its name, so gdb finds the libraries. */
static void grab_link_map(struct target *t, const struct snapshot *s, int memfd, uint64_t r_debug)
{
	grab_missing(t, s, memfd, r_debug, 40);
	uint64_t lm;
	if (memimage_read(&t->mem, r_debug + 8, &lm, 8) != 8)
		return;
	for (int i = 0; lm && i < LINK_MAP_MAX; i++) {
		grab_missing(t, s, memfd, lm, LINK_MAP_NODE);
		uint64_t name, next;
		if (memimage_read(&t->mem, lm + 8, &name, 8) != 8 || memimage_read(&t->mem, lm + 24, &next, 8) != 8)
			return;
		if (name)
			grab_missing(t, s, memfd, name, NAME_MAX_READ);
		lm = next;
	}
}

static void gather_mini(struct core_save *cs, struct target *t, struct snapshot *s, int memfd)
{
	uint64_t at_base = 0, at_phdr = 0;
	auxv_get(cs, AT_BASE, &at_base);
	auxv_get(cs, AT_PHDR, &at_phdr);
	const struct mapping *ldm = at_base ? mapping_find(s->maps, s->nmaps, at_base) : NULL;
	const char *ldso = ldm ? ldm->path : NULL;

	/* The first page of every mapped ELF: its header and program headers, and in them
	 * the build-id note, which is how gdb and chang match files to the core. */
	for (size_t i = 0; i < s->nmaps; i++) {
		const struct mapping *m = &s->maps[i];
		if (is_file_path(m->path) && m->offset == 0 && m->perms[0] == 'r' && strncmp(m->path, "/dev/", 5) != 0) {
			unsigned char mg[4];
			if (read_mem(cs->pid, memfd, m->start, mg, 4) == 4 && memcmp(mg, ELFMAG, SELFMAG) == 0)
				grab(t, s, memfd, m->start, PAGE);
		}
		if (m->path && strcmp(m->path, "[vdso]") == 0)
			grab(t, s, memfd, m->start, m->end - m->start);
	}
	/* The dynamic linker's and libc's writable data with the .bss after it, and their
	 * RELRO (relocated, so it differs from the file): r_debug, _rtld_global, the thread
	 * lists libthread_db walks. */
	for (size_t i = 0; i < s->nmaps; i++) {
		const struct mapping *m = &s->maps[i];
		if (!is_runtime_lib(m->path, ldso))
			continue;
		if (m->offset == 0) {
			struct elfinfo ei;
			if (elf_info(t, m->start, 0, &ei) && ei.relrosz)
				grab_missing(t, s, memfd, ei.relro, ei.relrosz);
		}
		if (m->perms[1] != 'w')
			continue;
		grab(t, s, memfd, m->start, m->end - m->start);
		const struct mapping *n = i + 1 < s->nmaps ? &s->maps[i + 1] : NULL;
		if (n && n->start == m->end && !n->path && n->perms[0] == 'r' && n->perms[1] == 'w')
			grab(t, s, memfd, n->start, n->end - n->start);
	}
	/* The executable's dynamic section holds DT_DEBUG, gdb's way to r_debug. */
	const struct mapping *em = at_phdr ? mapping_find(s->maps, s->nmaps, at_phdr) : NULL;
	if (em) {
		uint64_t base = em->start - em->offset;
		const struct mapping *b0 = mapping_find(s->maps, s->nmaps, base);
		struct elfinfo ei;
		if (b0 && b0->offset == 0)
			grab_missing(t, s, memfd, at_phdr, 64 * sizeof(Elf64_Phdr));
		if (b0 && elf_info(t, base, at_phdr, &ei) && ei.dynsz) {
			grab_missing(t, s, memfd, ei.dyn, ei.dynsz);
			for (uint64_t a = ei.dyn; a + 16 <= ei.dyn + ei.dynsz; a += 16) {
				uint64_t d[2];
				if (memimage_read(&t->mem, a, d, 16) != 16 || d[0] == DT_NULL)
					break;
				if (d[0] == DT_DEBUG && d[1])
					grab_link_map(t, s, memfd, d[1]);
			}
		}
	}
	/* Each thread's TCB (struct pthread) and static TLS: libthread_db maps LWPs to
	 * threads through them. Other threads have theirs at the top of the stack copied
	 * already; the main thread's lies in memory the dynamic linker allocated. */
	/* What is missing is listed first and copied after: a copy unsorts the image, and
	 * re-sorting it for every one of thousands of threads would double the pause. */
	struct ival *miss = xcalloc(s->ntasks ? s->ntasks : 1, sizeof(*miss));
	size_t nmiss = 0;
	for (size_t i = 0; i < s->ntasks; i++) {
		const struct task *k = &s->tasks[i];
		if (!k->have_regs || !k->regs.x.fs_base)
			continue;
		uint64_t fs = k->regs.x.fs_base;
		const struct mapping *m = mapping_find(s->maps, s->nmaps, fs);
		if (!m)
			continue;
		uint64_t lo = fs - m->start > TCB_BELOW ? fs - TCB_BELOW : m->start;
		/* on a thread's own stack, what lies below SP is dead: only the TLS above it counts */
		uint64_t sp = k->regs.x.rsp - COPY_RED_ZONE;
		if (mapping_find(s->maps, s->nmaps, k->regs.x.rsp) == m && sp < fs && sp > lo)
			lo = sp;
		uint64_t hi = m->end - fs > TCB_ABOVE ? fs + TCB_ABOVE : m->end;
		uint64_t a = memimage_copied_to(&t->mem, lo, hi);
		if (a < hi)
			miss[nmiss++] = (struct ival){ a, hi };
	}
	for (size_t i = 0; i < nmiss; i++)
		grab(t, s, memfd, miss[i].start, miss[i].end - miss[i].start);
	free(miss);
}

/* /proc/PID/smaps facts the kernel's dump filter uses, per mapping start. */
struct smaps_info {
	uint64_t start;
	bool anon_pages, io, dontdump;
};

static int smaps_cmp(const void *x, const void *y)
{
	const struct smaps_info *a = x, *b = y;
	return (a->start > b->start) - (a->start < b->start);
}

static struct smaps_info *read_smaps(pid_t pid, size_t *count)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*count = 0;
	if (fd < 0)
		return NULL;
	size_t cap = 1 << 20, len = 0;
	char *text = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap)
			text = xrealloc(text, cap *= 2);
		ssize_t k = read(fd, text + len, cap - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	text[len] = 0;
	struct smaps_info *v = NULL;
	size_t n = 0, vcap = 0;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		unsigned long long a, b;
		char c;
		if (sscanf(line, "%llx-%llx %c", &a, &b, &c) == 3) {
			VEC_RESERVE(v, vcap, n + 1);
			v[n++] = (struct smaps_info){ .start = a };
		} else if (n && strncmp(line, "Anonymous:", 10) == 0) {
			v[n - 1].anon_pages = strtoull(line + 10, NULL, 10) > 0;
		} else if (n && strncmp(line, "VmFlags:", 8) == 0) {
			for (char *f = line + 8; *f;) {
				while (*f == ' ')
					f++;
				if (strncmp(f, "io", 2) == 0 && (f[2] == ' ' || !f[2]))
					v[n - 1].io = true;
				if (strncmp(f, "dd", 2) == 0 && (f[2] == ' ' || !f[2]))
					v[n - 1].dontdump = true;
				while (*f && *f != ' ')
					f++;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	qsort(v, n, sizeof(*v), smaps_cmp);
	*count = n;
	return v;
}

static bool anon_like(const char *p)
{
	return !p || p[0] == '[' || strncmp(p, "/memfd:", 7) == 0 || strncmp(p, "/SYSV", 5) == 0 ||
	       strncmp(p, "/dev/zero", 9) == 0 || strncmp(p, "/dev/shm/", 9) == 0;
}

/* How many bytes of mapping m a full core holds, as the kernel decides with the default
 * coredump_filter (and gcore alike): anonymous memory, private file mappings that were
 * written to, and the first page of mapped ELF files; never device memory, what
 * MADV_DONTDUMP excluded, or what cannot be read. */
static uint64_t full_dump_size(const struct core_save *cs, const struct mapping *m, const struct smaps_info *si,
			       size_t nsi, int memfd)
{
	uint64_t size = m->end - m->start;
	if (m->perms[0] != 'r')
		return 0;
	if (m->path && (strcmp(m->path, "[vvar]") == 0 || strcmp(m->path, "[vsyscall]") == 0 ||
			strncmp(m->path, "[vvar", 5) == 0))
		return 0;
	const struct smaps_info key = { .start = m->start };
	const struct smaps_info *i = nsi ? bsearch(&key, si, nsi, sizeof(*si), smaps_cmp) : NULL;
	if (i && (i->io || i->dontdump))
		return 0;
	if (anon_like(m->path))
		return size;
	if (strncmp(m->path, "/dev/", 5) == 0)
		return 0;
	if (m->perms[3] == 'p' && (i ? i->anon_pages : m->perms[1] == 'w'))
		return size;
	unsigned char mg[4];
	if (m->offset == 0 && read_mem(cs->pid, memfd, m->start, mg, 4) == 4 && memcmp(mg, ELFMAG, SELFMAG) == 0)
		return PAGE < size ? PAGE : size;
	return 0;
}

/* A full core's bytes, streamed from the stopped process: pages that cannot be read (beyond
 * a file's end, a racing munmap) are zeros, as the kernel writes them. */
struct live_fill {
	pid_t pid;
	int memfd;
};

static void fill_live(void *arg, uint64_t a, unsigned char *buf, size_t k)
{
	const struct live_fill *lf = arg;
	size_t got = read_mem(lf->pid, lf->memfd, a, buf, k);
	if (got == k)
		return;
	/* salvage page by page after the first fault */
	size_t pos = got & ~(size_t)(PAGE - 1);
	while (pos < k) {
		size_t pk = k - pos < PAGE ? k - pos : PAGE;
		size_t g = read_mem(lf->pid, lf->memfd, a + pos, buf + pos, pk);
		if (g < pk)
			memset(buf + pos + g, 0, pk - g);
		pos += pk;
	}
}

static void write_full(struct core_save *cs, struct snapshot *s, int memfd)
{
	size_t nsi;
	struct smaps_info *si = read_smaps(cs->pid, &nsi);
	struct core_seg *segs = xcalloc(s->nmaps ? s->nmaps : 1, sizeof(*segs));
	size_t n = 0;
	for (size_t i = 0; i < s->nmaps; i++) {
		const struct mapping *m = &s->maps[i];
		segs[n++] = (struct core_seg){ .start = m->start, .memsz = m->end - m->start,
					       .filesz = full_dump_size(cs, m, si, nsi, memfd),
					       .flags = core_seg_flags(m->perms) };
	}
	free(si);
	struct core_desc d;
	struct core_thread *th = describe(cs, s, &d);
	struct live_fill lf = { cs->pid, memfd };
	cs->written = core_emit(&cs->out, cs->comp, &d, segs, n, fill_live, &lf, &cs->file_size, &cs->err) == 0;
	free(th);
	free(segs);
}

static int ival_cmp(const void *x, const void *y)
{
	const struct ival *a = x, *b = y;
	return (a->start > b->start) - (a->start < b->start);
}

/* The mini core's segments: the image's copied regions, merged where they touch or
 * overlap and cut where a mapping ends (each segment has one mapping's permissions). */
static struct core_seg *mini_segments(struct target *t, const struct snapshot *s, size_t *count)
{
	size_t nr = memimage_copied_regions(&t->mem), k = 0;
	struct ival *iv = xcalloc(nr ? nr : 1, sizeof(*iv));
	for (size_t i = 0; i < nr; i++) {
		uint64_t start, len;
		memimage_copied_region(&t->mem, i, &start, &len);
		if (len)
			iv[k++] = (struct ival){ start, start + len };
	}
	qsort(iv, k, sizeof(*iv), ival_cmp);
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		if (m && iv[i].start <= iv[m - 1].end) {
			if (iv[i].end > iv[m - 1].end)
				iv[m - 1].end = iv[i].end;
		} else {
			iv[m++] = iv[i];
		}
	}
	struct core_seg *segs = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < m; i++) {
		uint64_t a = iv[i].start;
		while (a < iv[i].end) {
			const struct mapping *mp = mapping_find(s->maps, s->nmaps, a);
			uint64_t e = iv[i].end;
			uint32_t fl = PF_R | PF_W;
			if (mp) {
				if (mp->end < e)
					e = mp->end;
				fl = core_seg_flags(mp->perms);
			} else {
				/* no mapping here: cut at the next one that starts inside */
				for (size_t j = 0; j < s->nmaps; j++)
					if (s->maps[j].start > a && s->maps[j].start < e) {
						e = s->maps[j].start;
						break;
					}
			}
			VEC_RESERVE(segs, cap, n + 1);
			segs[n++] = (struct core_seg){ .start = a, .memsz = e - a, .filesz = e - a, .flags = fl };
			a = e;
		}
	}
	free(iv);
	*count = n;
	return segs;
}

static void fill_image(void *arg, uint64_t a, unsigned char *buf, size_t k)
{
	size_t got = memimage_read(arg, a, buf, k);
	memset(buf + got, 0, k - got);
}

static int write_mini(struct core_save *cs, struct target *t, struct snapshot *s, struct err *e)
{
	size_t n;
	struct core_seg *segs = mini_segments(t, s, &n);
	struct core_desc d;
	struct core_thread *th = describe(cs, s, &d);
	int r = core_emit(&cs->out, cs->comp, &d, segs, n, fill_image, &t->mem, &cs->file_size, e);
	free(th);
	free(segs);
	return r;
}

/* ---- the process facts read before the freeze ---- */

static void read_process(struct core_save *cs)
{
	char path[64], buf[4096];
	pid_t pid = cs->pid;
	struct elf_prpsinfo *ps = &cs->ps;
	ps->pr_pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (procfs_read(path, buf, sizeof(buf)) > 0) {
		char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
		if (lp && rp && rp > lp) {
			size_t cl = (size_t)(rp - lp - 1);
			memcpy(ps->pr_fname, lp + 1, cl < sizeof(ps->pr_fname) - 1 ? cl : sizeof(ps->pr_fname) - 1);
			char st;
			int ppid, pgrp, sid, tty, tpgid;
			unsigned flags;
			long nice;
			/* fields 3.. of stat; nice is field 19 */
			if (sscanf(rp + 2, "%c %d %d %d %d %d %u %*u %*u %*u %*u %*u %*u %*d %*d %*d %ld", &st, &ppid, &pgrp,
				   &sid, &tty, &tpgid, &flags, &nice) == 8) {
				static const char states[] = "RSDTZW";
				const char *p = strchr(states, st);
				ps->pr_sname = st;
				ps->pr_state = p ? (char)(p - states) : 0;
				ps->pr_zomb = st == 'Z';
				ps->pr_nice = (char)nice;
				ps->pr_flag = flags;
				ps->pr_ppid = cs->ppid = ppid;
				ps->pr_pgrp = cs->pgrp = pgrp;
				ps->pr_sid = cs->sid = sid;
			}
		}
	}
	char v[64];
	if (procfs_status_field(pid, "Uid", v, sizeof(v)))
		ps->pr_uid = (unsigned)strtoul(v, NULL, 10);
	if (procfs_status_field(pid, "Gid", v, sizeof(v)))
		ps->pr_gid = (unsigned)strtoul(v, NULL, 10);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	ssize_t n = procfs_read(path, buf, sizeof(ps->pr_psargs));
	for (ssize_t i = 0; i < n; i++)
		ps->pr_psargs[i] = buf[i] ? buf[i] : ' ';
	while (n > 0 && ps->pr_psargs[n - 1] == ' ')
		ps->pr_psargs[--n] = 0;

	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		unsigned char a[4096];
		ssize_t k = read(fd, a, sizeof(a));
		if (k > 0) {
			cs->auxv_len = (size_t)k - (size_t)k % 16;
			cs->auxv = xmalloc(cs->auxv_len ? cs->auxv_len : 1);
			memcpy(cs->auxv, a, cs->auxv_len);
		}
		close(fd);
	}
}

/* ---- the file ---- */

static void free_save(struct core_save *cs)
{
	outfile_abort(&cs->out);	/* nothing once committed */
	free(cs->auxv);
	free(cs->fp);
	free(cs->names);
	free(cs);
}

static void read_names(struct core_save *cs)
{
	pid_t *tids = NULL;
	ssize_t n = procfs_list_tasks(cs->pid, &tids);
	if (n <= 0) {
		free(tids);
		return;
	}
	cs->names = xcalloc((size_t)n, sizeof(*cs->names));
	for (ssize_t i = 0; i < n; i++) {
		char path[96], buf[64];
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)cs->pid, (int)tids[i]);
		if (procfs_read(path, buf, sizeof(buf)) <= 0)
			continue;
		buf[strcspn(buf, "\n")] = 0;
		struct prename *p = &cs->names[cs->nnames++];
		p->tid = tids[i];
		snprintf(p->name, sizeof(p->name), "%s", buf);
	}
	free(tids);
	qsort(cs->names, cs->nnames, sizeof(*cs->names), prename_cmp);
}


struct core_save *core_save_begin(pid_t pid, const char *path, bool full, struct err *e)
{
	struct core_save *cs = xcalloc(1, sizeof(*cs));
	cs->pid = pid;
	cs->full = full;
	cs->comp = core_comp_of(path);
	if (outfile_open(&cs->out, path, e) != 0) {
		err_prefix(e, "--save-core ");
		free_save(cs);
		return NULL;
	}
	read_process(cs);
	if (full)
		read_names(cs);
	return cs;
}

void core_save_frozen(struct core_save *cs, struct target *t, struct snapshot *s, int memfd)
{
	uint64_t t0 = mono_ns();
	cs->fp = xcalloc(s->ntasks ? s->ntasks : 1, sizeof(*cs->fp));
	for (size_t i = 0; i < s->ntasks; i++) {
		const struct task *k = &s->tasks[i];
		if (!k->have_regs)
			continue;
		struct fpregs *f = &cs->fp[cs->nfp++];
		f->tid = k->tid;
		struct iovec iov = { &f->fp, sizeof(f->fp) };
		f->valid = ptrace(PTRACE_GETREGSET, k->tid, (void *)(uintptr_t)NT_PRFPREG, &iov) == 0 &&
			   iov.iov_len == sizeof(f->fp);
	}
	qsort(cs->fp, cs->nfp, sizeof(*cs->fp), fp_cmp);
	if (cs->full)
		write_full(cs, s, memfd);
	else
		gather_mini(cs, t, s, memfd);
	cs->pause_ns = mono_ns() - t0;
}

int core_save_finish(struct core_save *cs, struct target *t, struct snapshot *s, struct err *e)
{
	struct saved_core *sc = ARENA_NEW(&s->arena, struct saved_core, 1);
	sc->path = arena_strdup(&s->arena, cs->out.path);
	sc->size_kind = cs->full ? "full" : "mini";
	sc->pause_ns = cs->pause_ns;
	s->saved_core = sc;
	/* SIGINT and SIGTERM wait until the file is complete and named, or removed. */
	sigset_t old;
	signals_defer(&old);
	int r;
	if (cs->full) {
		r = cs->written ? 0 : -1;
		if (r != 0)
			*e = cs->err;
	} else {
		r = write_mini(cs, t, s, e);
	}
	if (r == 0) {
		r = outfile_commit(&cs->out, e);
		if (r != 0)
			err_prefix(e, "--save-core ");
	}
	sc->size = cs->file_size;
	if (r != 0)
		sc->error = arena_strdup(&s->arena, e->msg);
	free_save(cs);
	signals_restore(&old);
	return r;
}

void core_save_abort(struct core_save *cs)
{
	if (cs)
		free_save(cs);
}
