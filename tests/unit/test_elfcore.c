/* The core reader against hand-built cores (valid, truncated at every byte, lying sizes,
 * hostile NT_FILE entries, many threads) and, when gdb's gcore is installed, against a real
 * core of a child process this test starts. */
#include "core/core_target.h"
#include "core/elfcore.h"
#include "model/syscalls.h"
#include "analyzers/restart.h"
#include "tests/unit/unit.h"
#include "util/xalloc.h"
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[256];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- building cores ---- */

struct buf {
	unsigned char *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
	VEC_RESERVE(b->p, b->cap, b->n + n + 1);
	if (d)
		memcpy(b->p + b->n, d, n);
	else
		memset(b->p + b->n, 0, n);
	b->n += n;
}

static void put_u32(struct buf *b, uint32_t v)
{
	put(b, &v, 4);
}

static void put_u64(struct buf *b, uint64_t v)
{
	put(b, &v, 8);
}

static void pad4(struct buf *b)
{
	while (b->n % 4)
		put(b, NULL, 1);
}

static void put_note(struct buf *b, const char *name, uint32_t type, const void *desc, uint32_t descsz)
{
	uint32_t nsz = (uint32_t)strlen(name) + 1;
	put_u32(b, nsz);
	put_u32(b, descsz);
	put_u32(b, type);
	put(b, name, nsz);
	pad4(b);
	put(b, desc, descsz);
	pad4(b);
}

/* pr_cursig of the PRSTATUS notes written: gdb's stop signal unless a test sets another. */
static int16_t prstatus_sig = 19;

static void put_prstatus(struct buf *b, pid_t tid, int64_t orig_rax, uint64_t rdi, uint64_t rip)
{
	/* an x86_64 core's note whatever the host (the unit tests also run on aarch64) */
	unsigned char d[336];
	_Static_assert(sizeof(d) == 112 + sizeof(struct x86_64_regs) + 8, "x86_64 elf_prstatus");
	memset(d, 0, sizeof(d));
	struct x86_64_regs r;
	memset(&r, 0, sizeof(r));
	r.orig_rax = (uint64_t)orig_rax;
	r.rdi = rdi;
	r.rsi = rdi + 1;
	r.rdx = rdi + 2;
	r.r10 = rdi + 3;
	r.r8 = rdi + 4;
	r.r9 = rdi + 5;
	r.rip = rip;
	r.rsp = 0x7ffd00000f00;
	int32_t t = tid;
	int16_t sig = prstatus_sig;
	memcpy(d + 32, &t, 4);		/* pr_pid */
	memcpy(d + 12, &sig, 2);	/* pr_cursig */
	memcpy(d + 112, &r, sizeof(r));	/* pr_reg */
	put_note(b, "CORE", NT_PRSTATUS, d, sizeof(d));
}

static void put_prpsinfo(struct buf *b, pid_t pid, char sname, const char *fname, const char *args)
{
	unsigned char d[sizeof(struct elf_prpsinfo)];
	memset(d, 0, sizeof(d));
	int32_t p = pid;
	memcpy(d + offsetof(struct elf_prpsinfo, pr_pid), &p, 4);
	d[offsetof(struct elf_prpsinfo, pr_sname)] = (unsigned char)sname;
	memcpy(d + offsetof(struct elf_prpsinfo, pr_fname), fname, strnlen(fname, 16));
	memcpy(d + offsetof(struct elf_prpsinfo, pr_psargs), args, strnlen(args, ELF_PRARGSZ));
	put_note(b, "CORE", NT_PRPSINFO, d, sizeof(d));
}

struct fentry {
	uint64_t start, end, pgofs;
	const char *path;
};

static void put_file(struct buf *b, uint64_t count, uint64_t page, const struct fentry *f, size_t n)
{
	struct buf d = { 0 };
	put_u64(&d, count);
	put_u64(&d, page);
	for (size_t i = 0; i < n; i++) {
		put_u64(&d, f[i].start);
		put_u64(&d, f[i].end);
		put_u64(&d, f[i].pgofs);
	}
	for (size_t i = 0; i < n; i++)
		put(&d, f[i].path, strlen(f[i].path) + 1);
	put_note(b, "CORE", NT_FILE, d.p, (uint32_t)d.n);
	free(d.p);
}

struct seg {
	uint64_t vaddr, memsz, filesz;
	uint32_t flags;
	unsigned char fill;	/* the segment's bytes; byte i is fill + i */
};

/* ELF header, one PT_NOTE, the PT_LOADs, the notes, the segments' bytes. */
static struct buf build_core(const struct buf *notes, const struct seg *segs, int nsegs)
{
	struct buf b = { 0 };
	Elf64_Ehdr eh;
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (uint16_t)(1 + nsegs);
	put(&b, &eh, sizeof(eh));
	uint64_t off = sizeof(eh) + sizeof(Elf64_Phdr) * (uint64_t)(1 + nsegs);
	Elf64_Phdr ph;
	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_NOTE;
	ph.p_offset = off;
	ph.p_filesz = notes->n;
	put(&b, &ph, sizeof(ph));
	off += notes->n;
	for (int i = 0; i < nsegs; i++) {
		memset(&ph, 0, sizeof(ph));
		ph.p_type = PT_LOAD;
		ph.p_vaddr = segs[i].vaddr;
		ph.p_memsz = segs[i].memsz;
		ph.p_filesz = segs[i].filesz;
		ph.p_offset = off;
		ph.p_flags = segs[i].flags;
		ph.p_align = 4096;
		put(&b, &ph, sizeof(ph));
		off += segs[i].filesz;
	}
	put(&b, notes->p, notes->n);
	for (int i = 0; i < nsegs; i++)
		for (uint64_t k = 0; k < segs[i].filesz; k++) {
			unsigned char c = (unsigned char)(segs[i].fill + k);
			put(&b, &c, 1);
		}
	return b;
}

static Elf64_Phdr *phdr_at(struct buf *b, int i)
{
	return (Elf64_Phdr *)(b->p + sizeof(Elf64_Ehdr) + (size_t)i * sizeof(Elf64_Phdr));
}

static const char *write_file(const char *name, const void *p, size_t n)
{
	static char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n)) {
		perror(path);
		exit(2);
	}
	close(fd);
	return path;
}

/* The standard synthetic core: three threads recorded out of tid order, a process description,
 * an auxv whose AT_EXECFN points into the stack, two files (an executable whose text was not
 * dumped and a library), a heap and a stack. */
#define STACK 0x7ffd00000000ULL
static struct buf std_notes(void)
{
	struct buf n = { 0 };
	put_prstatus(&n, 300, 202, 0x1000, 0x401010);
	put_prstatus(&n, 100, -1, 0x2000, 0x401020);
	put_prstatus(&n, 200, 0, 5, 0x401030);
	put_prpsinfo(&n, 100, 'S', "myprog", "./myprog --flag   ");
	uint64_t auxv[] = { AT_PAGESZ, 4096, AT_ENTRY, 0x401000, AT_EXECFN, STACK + 0x800, AT_NULL, 0 };
	put_note(&n, "CORE", NT_AUXV, auxv, sizeof(auxv));
	struct fentry f[] = {
		{ 0x400000, 0x401000, 0, "/nonexistent/myprog" },
		{ 0x401000, 0x403000, 1, "/nonexistent/myprog" },
		{ 0x7f0000000000, 0x7f0000002000, 0, "/nonexistent/libfoo.so.1" },
	};
	put_file(&n, 3, 4096, f, 3);
	/* A note chang does not use, as kernels write after each PRSTATUS. */
	unsigned char fp[512] = { 0 };
	put_note(&n, "CORE", NT_FPREGSET, fp, sizeof(fp));
	return n;
}

static const struct seg std_segs[] = {
	{ 0x400000, 0x1000, 0x1000, PF_R, 0x10 },
	{ 0x401000, 0x2000, 0, PF_R | PF_X, 0 },
	{ 0x600000, 0x1000, 0x1000, PF_R | PF_W, 0x20 },
	{ 0x7f0000000000, 0x2000, 0x1000, PF_R, 0x30 },
	{ STACK, 0x1000, 0x1000, PF_R | PF_W, 0x40 },
};
#define NSTD ((int)(sizeof(std_segs) / sizeof(std_segs[0])))

static struct buf std_core(void)
{
	struct buf n = std_notes();
	struct buf b = build_core(&n, std_segs, NSTD);
	free(n.p);
	/* "./myprog" at AT_EXECFN, inside the stack segment's bytes (the last segment). */
	memcpy(b.p + b.n - 0x1000 + 0x800, "./myprog", 9);
	return b;
}

static bool has_warning(const struct snapshot *s, const char *needle)
{
	for (size_t i = 0; i < s->nwarnings; i++)
		if (strstr(s->warnings[i], needle))
			return true;
	return false;
}

static void dump_warnings(const struct snapshot *s)
{
	for (size_t i = 0; i < s->nwarnings; i++)
		fprintf(stderr, "  warning: %s\n", s->warnings[i]);
}

/* What must hold of any snapshot the reader returns, whatever the core. */
static bool sane(const struct snapshot *s)
{
	for (size_t i = 0; i < s->nmaps; i++) {
		if (s->maps[i].start >= s->maps[i].end)
			return false;
		if (i && s->maps[i].start < s->maps[i - 1].end)
			return false;
	}
	for (size_t i = 1; i < s->ntasks; i++)
		if (s->tasks[i].tid <= s->tasks[i - 1].tid)
			return false;
	return s->ntasks > 0;
}

struct opened {
	struct snapshot *s;
	struct target *t;
	struct err e;
};

static struct opened open_core(const char *exe, const char *path, const struct target_options *o)
{
	struct opened r;
	memset(&r, 0, sizeof(r));
	r.s = snapshot_new(SOURCE_CORE);
	r.t = core_target_open(exe, path, o, r.s, &r.e);
	return r;
}

static void close_core(struct opened *r)
{
	target_close(r->t);
	snapshot_free(r->s);
}

/* ---- the pure note parser ---- */

static void test_parse_notes(void)
{
	struct buf n = std_notes();
	struct arena a = { 0 };
	struct elfcore_notes out;
	memset(&out, 0, sizeof(out));
	size_t used = elfcore_parse_notes(n.p, n.n, &out, &a, NULL);
	CHECK(used == n.n);
	CHECK(!out.cut && out.short_notes == 0 && !out.file_problem);
	CHECK(out.nthreads == 3);
	CHECK(out.nthreads == 3 && out.threads[0].tid == 300 && out.threads[0].regs.x.orig_rax == 202 &&
	      out.threads[0].cursig == 19 && out.threads[2].regs.x.rdi == 5 &&
	      out.threads[1].regs.x.rip == 0x401020);
	CHECK(out.have_psinfo && out.pid == 100 && out.sname == 'S');
	CHECK(strcmp(out.fname, "myprog") == 0);
	CHECKF(strcmp(out.psargs, "./myprog --flag") == 0, "psargs '%s'", out.psargs);
	uint64_t v = 0;
	CHECK(out.nauxv == 3 && elfcore_auxv(&out, AT_ENTRY, &v) && v == 0x401000);
	CHECK(!elfcore_auxv(&out, AT_PHDR, &v));
	CHECK(out.have_files && out.page_size == 4096 && out.nfiles == 3);
	CHECK(out.nfiles == 3 && out.files[1].offset == 4096 && out.files[1].end == 0x403000 &&
	      strcmp(out.files[2].path, "/nonexistent/libfoo.so.1") == 0);
	elfcore_notes_free(&out);

	/* Fed in pieces, as the file reader does: stop at the cut note, ask for its size. */
	memset(&out, 0, sizeof(out));
	uint64_t need = 0;
	size_t cut = 400;	/* inside the second PRSTATUS */
	used = elfcore_parse_notes(n.p, cut, &out, &a, &need);
	CHECKF(used == 356 && need == 356, "used %zu need %llu", used, (unsigned long long)need);
	size_t used2 = elfcore_parse_notes(n.p + used, n.n - used, &out, &a, &need);
	CHECK(used + used2 == n.n && out.nthreads == 3 && need == 0);
	elfcore_notes_free(&out);

	/* Every prefix: never past the end, threads only ever fewer, cut said when it is. */
	size_t prev = 0;
	bool ok = true, mono = true;
	for (size_t len = 0; len <= n.n; len++) {
		unsigned char *copy = xmalloc(len ? len : 1);
		memcpy(copy, n.p, len);
		memset(&out, 0, sizeof(out));
		used = elfcore_parse_notes(copy, len, &out, &a, NULL);
		if (used > len || out.nthreads > 3)
			ok = false;
		if (out.nthreads < prev)
			mono = false;
		if (len < n.n && len % 4 == 0 && len > 0 && used < len && !out.cut)
			ok = false;
		prev = out.nthreads;
		elfcore_notes_free(&out);
		free(copy);
	}
	CHECK(ok);
	CHECK(mono);

	/* Huge and "negative" sizes. */
	struct buf h = { 0 };
	put_prstatus(&h, 7, -1, 0, 0);
	put_u32(&h, 5);
	put_u32(&h, 0xfffffff0u);
	put_u32(&h, NT_PRSTATUS);
	put(&h, "CORE\0\0\0", 8);
	put(&h, NULL, 64);
	memset(&out, 0, sizeof(out));
	used = elfcore_parse_notes(h.p, h.n, &out, &a, NULL);
	CHECK(out.nthreads == 1 && out.cut && used == 356);
	need = 0;
	used = elfcore_parse_notes(h.p, h.n, &out, &a, &need);
	CHECK(used == 356 && need == 12 + 8 + 0xfffffff0ull);
	elfcore_notes_free(&out);

	h.n = 0;
	put_u32(&h, 0xffffffffu);
	put_u32(&h, 0xffffffffu);
	put_u32(&h, NT_FILE);
	put(&h, NULL, 100);
	memset(&out, 0, sizeof(out));
	used = elfcore_parse_notes(h.p, h.n, &out, &a, NULL);
	CHECK(used == 0 && out.cut && !out.have_files);
	elfcore_notes_free(&out);

	/* A PRSTATUS too small for its registers, an auxv without AT_NULL. */
	h.n = 0;
	unsigned char small[100] = { 0 };
	put_note(&h, "CORE", NT_PRSTATUS, small, sizeof(small));
	uint64_t auxv[] = { AT_ENTRY, 0x1234, AT_PHDR };	/* half an entry at the end */
	put_note(&h, "CORE", NT_AUXV, auxv, sizeof(auxv));
	put_note(&h, "LINUX", NT_PRSTATUS, small, sizeof(small));	/* not a CORE note */
	memset(&out, 0, sizeof(out));
	used = elfcore_parse_notes(h.p, h.n, &out, &a, NULL);
	CHECK(used == h.n && out.nthreads == 0 && out.short_notes == 1);
	CHECK(out.nauxv == 1 && elfcore_auxv(&out, AT_ENTRY, &v) && v == 0x1234);
	elfcore_notes_free(&out);

	/* NT_FILE that lies: more entries than it holds, names missing, bad page size. */
	struct fentry f[] = { { 0x1000, 0x2000, 3, "/a" }, { 0x3000, 0x2000, 0, "/backwards" } };
	h.n = 0;
	put_file(&h, 1ull << 60, 4096, f, 2);
	memset(&out, 0, sizeof(out));
	elfcore_parse_notes(h.p, h.n, &out, &a, NULL);
	CHECK(out.file_problem && strstr(out.file_problem, "claims"));
	CHECK(out.nfiles <= 2);
	elfcore_notes_free(&out);

	h.n = 0;
	put_file(&h, 2, 4096, f, 2);
	memset(&out, 0, sizeof(out));
	elfcore_parse_notes(h.p, h.n, &out, &a, NULL);
	CHECK(out.nfiles == 1 && out.files[0].offset == 3 * 4096 && out.file_problem);
	elfcore_notes_free(&out);

	h.n = 0;
	put_u64(&h, 0);	/* placeholder, rebuilt below */
	h.n = 0;
	{
		struct buf d = { 0 };
		put_u64(&d, 3);
		put_u64(&d, 0);	/* page size 0 */
		for (int i = 0; i < 3; i++) {
			put_u64(&d, 0x1000 * (uint64_t)(2 * i + 1));
			put_u64(&d, 0x1000 * (uint64_t)(2 * i + 2));
			put_u64(&d, 5);
		}
		put(&d, "/only-one-name", 15);	/* and no more names */
		put_note(&h, "CORE", NT_FILE, d.p, (uint32_t)d.n);
		free(d.p);
	}
	memset(&out, 0, sizeof(out));
	elfcore_parse_notes(h.p, h.n, &out, &a, NULL);
	CHECK(out.nfiles == 3 && out.file_problem && out.files[0].offset == 0 &&
	      strcmp(out.files[0].path, "/only-one-name") == 0 && out.files[1].path == NULL &&
	      out.files[2].path == NULL);
	elfcore_notes_free(&out);

	/* Deterministic mutation: the parser must stay inside whatever it is given. */
	unsigned seed = 12345;
	bool in_bounds = true;
	for (int it = 0; it < 20000; it++) {
		unsigned char *m = xmalloc(n.n);
		memcpy(m, n.p, n.n);
		int flips = 1 + it % 8;
		for (int k = 0; k < flips; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % n.n;
			seed = seed * 1103515245u + 12345u;
			m[at] = (it & 1) ? (unsigned char)(seed >> 16) : (unsigned char)(m[at] ^ (1u << ((seed >> 16) & 7)));
		}
		seed = seed * 1103515245u + 12345u;
		size_t len = it % 3 ? n.n : (seed >> 8) % (n.n + 1);
		memset(&out, 0, sizeof(out));
		used = elfcore_parse_notes(m, len, &out, &a, (it % 5 == 0) ? &need : NULL);
		if (used > len || out.nthreads > 3 || out.nfiles > n.n / 24)
			in_bounds = false;
		elfcore_notes_free(&out);
		free(m);
	}
	CHECK(in_bounds);
	free(h.p);
	free(n.p);
	arena_free(&a);
}

/* ---- aarch64: its pr_reg, and the syscall inferred from the code at the PC ---- */

static void test_aarch64_notes(void)
{
	/* struct elf_prstatus of aarch64: pr_reg (user_pt_regs, 34 words) at 112, then
	 * pr_fpvalid padded to 8: 392 bytes */
	unsigned char d[392];
	memset(d, 0, sizeof(d));
	int32_t tid = 4242;
	memcpy(d + 32, &tid, 4);
	uint64_t w[34];
	for (int i = 0; i < 34; i++)
		w[i] = 0x1000 + (uint64_t)i;
	w[8] = 98;			/* futex in the generic table */
	w[31] = 0x7ffff000;		/* sp */
	w[32] = 0x400800;		/* pc */
	memcpy(d + 112, w, sizeof(w));
	struct buf n = { 0 };
	put_note(&n, "CORE", NT_PRSTATUS, d, sizeof(d));
	struct arena a = { 0 };
	struct elfcore_notes out = { .arch = &arch_aarch64 };
	CHECK(elfcore_parse_notes(n.p, n.n, &out, &a, NULL) == n.n);
	CHECK(out.nthreads == 1 && out.short_notes == 0);
	struct task t = { .have_regs = true, .regs = out.threads[0].regs };
	CHECK(t.regs.arch == &arch_aarch64 && regs_pc(&t.regs) == 0x400800 && regs_sp(&t.regs) == 0x7ffff000);
	CHECK(t.regs.a.x[0] == 0x1000 && t.regs.a.x[30] == 0x1000 + 30 && t.regs.a.pstate == 0x1000 + 33);
	/* the registers alone say no call */
	task_syscall_from_regs(&t);
	CHECK(t.syscall_nr == -1);
	/* svc #0 at the PC: rewound for a restart, every argument there */
	static const unsigned char rewound[8] = { 0x1f, 0x20, 0x03, 0xd5, 0x01, 0x00, 0x00, 0xd4 };
	task_syscall_from_code(&t, rewound, false);
	CHECK(t.syscall_nr == SYS_NR_FUTEX && !t.syscall_returned && t.syscall_args[0] == 0x1000 &&
	      t.syscall_args[5] == 0x1005);
	/* svc #0 before it: returned, x0 is the result */
	static const unsigned char returned[8] = { 0x01, 0x00, 0x00, 0xd4, 0x1f, 0x20, 0x03, 0xd5 };
	task_syscall_from_code(&t, returned, false);
	CHECK(t.syscall_nr == SYS_NR_FUTEX && t.syscall_returned && t.syscall_args[0] == 0 &&
	      t.syscall_args[1] == 0x1001);
	/* the same under qemu-user: still inside the call */
	task_syscall_from_code(&t, returned, true);
	CHECK(t.syscall_nr == SYS_NR_FUTEX && !t.syscall_returned && t.syscall_args[0] == 0x1000);
	/* ... unless x0 holds an error code: then it had returned */
	t.regs.a.x[0] = (uint64_t)-4;	/* -EINTR */
	task_syscall_from_code(&t, returned, true);
	CHECK(t.syscall_nr == SYS_NR_FUTEX && t.syscall_returned && t.syscall_args[0] == 0);
	t.regs.a.x[0] = 0x1000;
	/* no svc near: no call, whatever x8 holds */
	static const unsigned char nops[8] = { 0x1f, 0x20, 0x03, 0xd5, 0x1f, 0x20, 0x03, 0xd5 };
	task_syscall_from_code(&t, nops, false);
	CHECK(t.syscall_nr == -1);
	task_syscall_from_code(&t, NULL, false);
	CHECK(t.syscall_nr == -1);
	/* the generic table, by name into chang's (x86_64's) numbering */
	CHECK(syscall_from_generic(63) == SYS_NR_READ && syscall_from_generic(73) == SYS_NR_PPOLL &&
	      syscall_from_generic(115) == SYS_NR_CLOCK_NANOSLEEP && syscall_from_generic(22) == SYS_NR_EPOLL_PWAIT &&
	      syscall_from_generic(128) == SYS_NR_RESTART_SYSCALL && syscall_from_generic(0) == 206 &&
	      syscall_from_generic(244) == -1 && syscall_from_generic(100000) == -1 && syscall_from_generic(-1) == -1);
	elfcore_notes_free(&out);
	arena_free(&a);
	free(n.p);
}

/* ---- the header check ---- */

static void test_header(void)
{
	struct err e = { 0 };
	struct buf b = std_core();
	CHECK(elfcore_check_header(b.p, 64, "c", &e) == 0);
	CHECK(elfcore_check_header(b.p, 0, "c", &e) != 0 && strcmp(e.msg, "c: empty file") == 0);
	CHECK(elfcore_check_header((const unsigned char *)"hello world", 11, "c", &e) != 0 &&
	      strcmp(e.msg, "c: not an ELF file") == 0);
	CHECK(elfcore_check_header(b.p, 3, "c", &e) != 0 && strcmp(e.msg, "c: not an ELF file") == 0);
	CHECK(elfcore_check_header(b.p, 40, "c", &e) != 0 && strstr(e.msg, "truncated"));
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b.p;
	eh->e_type = ET_DYN;
	CHECK(elfcore_check_header(b.p, 64, "c", &e) != 0 && strstr(e.msg, "not a core file"));
	eh->e_type = ET_CORE;
	eh->e_machine = EM_AARCH64;
	CHECK(elfcore_check_header(b.p, 64, "c", &e) == 0);
	eh->e_machine = EM_RISCV;
	CHECK(elfcore_check_header(b.p, 64, "c", &e) != 0 &&
	      strcmp(e.msg, "c: core of RISC-V (EM_RISCV, 243): chang reads x86_64 and aarch64 cores only") == 0);
	eh->e_machine = 4242;
	CHECK(elfcore_check_header(b.p, 64, "c", &e) != 0 && strstr(e.msg, "core of ELF machine 4242:"));
	eh->e_machine = EM_X86_64;
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	CHECK(elfcore_check_header(b.p, 64, "c", &e) != 0 && strstr(e.msg, "32-bit"));
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2MSB;
	CHECK(elfcore_check_header(b.p, 64, "c", &e) != 0 && strstr(e.msg, "big-endian"));
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_phentsize = 32;
	CHECK(elfcore_check_header(b.p, 64, "c", &e) != 0 && strstr(e.msg, "program header size"));
	free(b.p);
}

/* ---- whole synthetic cores through core_target_open ---- */

/* A core made by cursig, with NT_SIGINFO (signo, code, then si_pid/si_uid or si_addr) when
 * info is given. */
static struct snapshot *signal_core(int16_t cursig, const int32_t *info, uint64_t addr, struct opened *r)
{
	prstatus_sig = cursig;
	struct buf n = { 0 };
	put_prstatus(&n, 300, 202, 0x1000, 0x401010);
	if (info) {
		unsigned char si[128] = { 0 };
		memcpy(si, &info[0], 4);
		memcpy(si + 8, &info[1], 4);
		if (addr) {
			memcpy(si + 16, &addr, 8);
		} else {
			memcpy(si + 16, &info[2], 4);
			memcpy(si + 20, &info[3], 4);
		}
		put_note(&n, "CORE", NT_SIGINFO, si, sizeof(si));
	}
	put_prstatus(&n, 100, -1, 0x2000, 0x401020);
	put_prpsinfo(&n, 100, 'D', "myprog", "./myprog");
	prstatus_sig = 19;
	struct buf b = build_core(&n, std_segs, NSTD);
	free(n.p);
	const char *path = write_file("signal.core", b.p, b.n);
	free(b.p);
	*r = open_core(NULL, path, NULL);
	CHECKF(r->t != NULL, "open: %s", r->e.msg);
	return r->t ? r->s : NULL;
}

static void test_signal_that_made_the_core(void)
{
	struct opened r;
	/* a watchdog's kill(SIGABRT): sender known; the thread that took it is the first record */
	struct snapshot *s = signal_core(SIGABRT, (const int32_t[]){ SIGABRT, SI_USER, 4242, 1000 }, 0, &r);
	if (s) {
		const struct core_signal *cs = s->core_signal;
		CHECK(cs && cs->signo == SIGABRT && cs->have_info && cs->code == SI_USER && cs->have_sender &&
		      cs->sender_pid == 4242 && cs->sender_uid == 1000 && !cs->have_addr && cs->tid == 300);
		/* the leader's D is the dumping kernel's, not the program's */
		struct task *leader = snapshot_find_task(s, 100);
		CHECK(leader && leader->kstate == '?');
	}
	close_core(&r);
	/* a fault: the address, no sender */
	s = signal_core(SIGSEGV, (const int32_t[]){ SIGSEGV, 1 /* SEGV_MAPERR */, 0, 0 }, 0xdead0, &r);
	if (s) {
		const struct core_signal *cs = s->core_signal;
		CHECK(cs && cs->signo == SIGSEGV && cs->code == 1 && cs->have_addr && cs->addr == 0xdead0 &&
		      !cs->have_sender);
	}
	close_core(&r);
	/* no NT_SIGINFO, or one about another signal (gdb's own stop): the signal without details */
	s = signal_core(SIGQUIT, NULL, 0, &r);
	if (s)
		CHECK(s->core_signal && s->core_signal->signo == SIGQUIT && !s->core_signal->have_info);
	close_core(&r);
	s = signal_core(SIGABRT, (const int32_t[]){ SIGSTOP, SI_KERNEL, 0, 0 }, 0, &r);
	if (s)
		CHECK(s->core_signal && s->core_signal->signo == SIGABRT && !s->core_signal->have_info &&
		      !s->core_signal->have_sender);
	close_core(&r);
	/* cursig 0 (gcore, chang's own cores): no signal, the leader's state kept */
	s = signal_core(0, NULL, 0, &r);
	if (s) {
		CHECK(s->core_signal == NULL);
		struct task *leader = snapshot_find_task(s, 100);
		CHECK(leader && leader->kstate == 'D');
	}
	close_core(&r);
}

static void test_std_core(void)
{
	struct buf b = std_core();
	const char *path = write_file("std.core", b.p, b.n);
	struct timespec ts[2] = { { 1700000000, 123456789 }, { 1700000000, 123456789 } };
	utimensat(AT_FDCWD, path, ts, 0);
	char cpath[PATH_MAX];
	snprintf(cpath, sizeof(cpath), "%s", path);
	struct opened r = open_core(NULL, cpath, NULL);
	CHECKF(r.t != NULL, "open: %s", r.e.msg);
	if (!r.t) {
		free(b.p);
		return;
	}
	struct snapshot *s = r.s;
	CHECK(sane(s));
	CHECK(s->target == r.t && r.t->pid == 100 && s->pid == 100);
	CHECK(s->source == SOURCE_CORE);
	CHECK(s->capture_time_ns == 1700000000123456789ULL);
	CHECKF(s->executable && strcmp(s->executable, "/nonexistent/myprog") == 0, "exe %s", s->executable);
	CHECK(s->cmdline && strcmp(s->cmdline, "./myprog --flag") == 0);
	CHECK(s->ntasks == 3);
	if (s->ntasks == 3) {
		CHECK(s->tasks[0].tid == 100 && s->tasks[1].tid == 200 && s->tasks[2].tid == 300);
		CHECK(s->tasks[0].syscall_nr == -1 && s->tasks[1].syscall_nr == 0 &&
		      s->tasks[2].syscall_nr == 202);
		CHECK(s->tasks[2].syscall_args[0] == 0x1000 && s->tasks[2].syscall_args[3] == 0x1003 &&
		      s->tasks[2].syscall_args[5] == 0x1005);
		CHECK(s->tasks[1].regs.x.rip == 0x401030 && s->tasks[1].have_regs);
		CHECK(s->tasks[0].kind == TASK_THREAD && s->tasks[0].kstate == 'S' &&
		      strcmp(s->tasks[0].name, "myprog") == 0 && s->tasks[0].state == NULL &&
		      s->tasks[0].group == 0);
		/* PRPSINFO describes the leader only. */
		CHECK(s->tasks[1].kstate == '?' && s->tasks[2].kstate == '?');
	}
	/* a debugger's stop signal in pr_cursig did not make the core */
	CHECK(s->core_signal == NULL);
	CHECKF(s->nmaps == 5, "nmaps %zu", s->nmaps);
	if (s->nmaps == 5) {
		const struct mapping *m = s->maps;
		CHECK(m[0].start == 0x400000 && m[0].end == 0x401000 && strcmp(m[0].perms, "r--p") == 0 &&
		      m[0].dumped && m[0].offset == 0 && strcmp(m[0].path, "/nonexistent/myprog") == 0);
		CHECK(m[1].start == 0x401000 && m[1].end == 0x403000 && strcmp(m[1].perms, "r-xp") == 0 &&
		      !m[1].dumped && m[1].offset == 0x1000 && m[1].path);
		CHECK(m[2].start == 0x600000 && !m[2].path && strcmp(m[2].perms, "rw-p") == 0 && m[2].dumped);
		CHECK(m[3].start == 0x7f0000000000 && m[3].path && m[3].dumped);
		CHECK(m[4].start == STACK && !m[4].path);
	}
	/* Memory: dumped bytes read back, the undumped text does not read as zeros. */
	unsigned char x[4];
	CHECK(target_read(r.t, 0x600010, x, 4) == 4 && x[0] == 0x30 && x[3] == 0x33);
	CHECK(target_read(r.t, 0x401000, x, 4) == 0);
	CHECK(target_read(r.t, 0x7f0000000ffe, x, 4) == 2);
	uint64_t w;
	CHECK(target_read_u64(r.t, 0x400000, &w) && (w & 0xff) == 0x10);
	/* The mapped files do not exist: modules reported missing, nothing opened. */
	CHECK(s->nmodules == 2);
	CHECK(has_warning(s, "libfoo.so.1: cannot open"));
	close_core(&r);

	/* EXE given: a real ELF whose name is not the core's, no build-id to compare: a warning. */
	char self[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[k > 0 ? k : 0] = 0;
	r = open_core(self, cpath, NULL);
	CHECKF(r.t != NULL, "open with exe: %s", r.e.msg);
	if (r.t) {
		CHECK(has_warning(r.s, "no build-id to compare"));
		CHECK(r.s->nmodules >= 1 && r.s->modules[0].file && strcmp(r.s->modules[0].file, self) == 0 &&
		      !r.s->modules[0].missing);
		/* Text the core did not dump now comes from the file given. */
		CHECK(target_read(r.t, 0x401000, x, 4) == 4);
	}
	close_core(&r);

	/* EXE errors. */
	r = open_core("/nonexistent/exe", cpath, NULL);
	CHECK(!r.t && strstr(r.e.msg, "/nonexistent/exe: ") == r.e.msg);
	close_core(&r);
	r = open_core(cpath, cpath, NULL);
	CHECK(!r.t && strstr(r.e.msg, "a core file, not an executable"));
	close_core(&r);
	const char *txt = write_file("notelf", "#!/bin/sh\n", 10);
	char tpath[PATH_MAX];
	snprintf(tpath, sizeof(tpath), "%s", txt);
	r = open_core(tpath, cpath, NULL);
	CHECK(!r.t && strstr(r.e.msg, "not an ELF file"));
	close_core(&r);
	free(b.p);
}

static void test_bad_files(void)
{
	char p[PATH_MAX];
	struct opened r;
	snprintf(p, sizeof(p), "%s", write_file("empty", "", 0));
	r = open_core(NULL, p, NULL);
	CHECKF(!r.t && strstr(r.e.msg, ": empty file"), "%s", r.e.msg);
	close_core(&r);
	snprintf(p, sizeof(p), "%s", write_file("text", "not a core at all\n", 18));
	r = open_core(NULL, p, NULL);
	CHECK(!r.t && strstr(r.e.msg, ": not an ELF file"));
	close_core(&r);
	r = open_core(NULL, "/nonexistent/core", NULL);
	CHECK(!r.t && strcmp(r.e.msg, "/nonexistent/core: No such file or directory") == 0);
	close_core(&r);
	r = open_core(NULL, "/dev/null", NULL);
	CHECK(!r.t && strcmp(r.e.msg, "/dev/null: not a regular file") == 0);
	close_core(&r);
	r = open_core(NULL, tmpdir, NULL);
	CHECK(!r.t && strstr(r.e.msg, "not a regular file"));
	close_core(&r);
	char self[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[k > 0 ? k : 0] = 0;
	r = open_core(NULL, self, NULL);
	CHECK(!r.t && strstr(r.e.msg, "not a core file"));
	close_core(&r);

	/* A core with notes but no thread. */
	struct buf n = { 0 };
	put_prpsinfo(&n, 1, 'R', "x", "x");
	struct buf b = build_core(&n, std_segs, 1);
	snprintf(p, sizeof(p), "%s", write_file("nothreads", b.p, b.n));
	r = open_core(NULL, p, NULL);
	CHECK(!r.t && strstr(r.e.msg, "no thread"));
	close_core(&r);
	free(b.p);
	free(n.p);
}

/* Cut the standard core at every length: a clean error or a snapshot that holds together,
 * with the cut said, and never a crash. */
static void test_truncated(void)
{
	struct buf b = std_core();
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", write_file("trunc.core", b.p, b.n));
	size_t notes_end = sizeof(Elf64_Ehdr) + (1 + NSTD) * sizeof(Elf64_Phdr) + phdr_at(&b, 0)->p_filesz;
	bool ok = true, said = true, errs_ok = true;
	size_t opened = 0, failed = 0;
	for (size_t len = b.n; len-- > 0;) {
		if (len > notes_end && len % 97 != 0)
			continue;
		if (truncate(p, (off_t)len) != 0)
			break;
		struct opened r = open_core(NULL, p, NULL);
		if (r.t) {
			opened++;
			if (!sane(r.s))
				ok = false;
			if (!has_warning(r.s, "truncated"))
				said = false;
		} else {
			failed++;
			if (strncmp(r.e.msg, p, strlen(p)) != 0 || !r.e.msg[strlen(p)])
				errs_ok = false;
		}
		close_core(&r);
	}
	CHECK(ok);
	CHECK(said);
	CHECK(errs_ok);
	CHECK(opened > 0 && failed > 0);

	/* Cut inside the second thread's note: the first thread is kept. */
	size_t notes_start = sizeof(Elf64_Ehdr) + (1 + NSTD) * sizeof(Elf64_Phdr);
	write_file("trunc.core", b.p, notes_start + 500);
	struct opened r = open_core(NULL, p, NULL);
	CHECKF(r.t && r.s->ntasks == 1 && r.s->tasks[0].tid == 300, "%s", r.e.msg);
	if (r.t)
		CHECK(has_warning(r.s, "notes are cut short"));
	close_core(&r);

	/* Cut inside the stack segment: memory there is short, a warning tells. */
	write_file("trunc.core", b.p, b.n - 0x400);
	r = open_core(NULL, p, NULL);
	CHECK(r.t && has_warning(r.s, "1 of 5 memory segments are cut short (1 KiB missing)"));
	unsigned char x[16];
	if (r.t) {
		CHECK(target_read(r.t, STACK + 0xbf8, x, 16) == 8);
		CHECK(r.s->nmaps == 5 && r.s->maps[4].dumped);
	}
	close_core(&r);
	free(b.p);
}

static void test_lying_headers(void)
{
	char p[PATH_MAX];
	struct opened r;
	struct buf n = std_notes();

	/* Overlapping, wrapping and empty PT_LOADs. */
	struct seg segs[] = {
		{ 0x400000, 0x3000, 0x3000, PF_R, 1 },
		{ 0x401000, 0x1000, 0x1000, PF_R | PF_W, 2 },	/* inside the first */
		{ 0x402000, 0x4000, 0x10, PF_R, 3 },		/* straddles its end */
		{ UINT64_MAX - 0x800, 0x1000, 0, PF_R, 4 },	/* wraps */
		{ 0x900000, 0, 0, PF_R, 5 },			/* empty */
		{ 0x800000, 0x1000, 0x100000, PF_R, 6 },	/* filesz > memsz */
	};
	struct buf b = build_core(&n, segs, 6);
	snprintf(p, sizeof(p), "%s", write_file("overlap.core", b.p, b.n));
	r = open_core(NULL, p, NULL);
	CHECKF(r.t && sane(r.s), "%s", r.e.msg);
	if (r.t) {
		CHECK(has_warning(r.s, "4 memory segments are empty, wrap around or overlap"));
		const struct mapping *m = snapshot_mapping_at(r.s, 0x403000);
		CHECK(m && m->start == 0x403000 && m->end == 0x406000 && !m->dumped);
		unsigned char x;
		CHECK(target_read(r.t, 0x401000, &x, 1) == 1 && x == 1);
	}
	close_core(&r);
	free(b.p);

	/* PT_NOTE and PT_LOAD offsets and sizes far past the end of the file. */
	b = build_core(&n, std_segs, NSTD);
	phdr_at(&b, 0)->p_filesz = 100000 * 356ull;	/* "100,000 threads" */
	phdr_at(&b, 1)->p_offset = 1ull << 62;
	phdr_at(&b, 3)->p_filesz = UINT64_MAX;
	phdr_at(&b, 3)->p_offset = UINT64_MAX - 10;
	snprintf(p, sizeof(p), "%s", write_file("far.core", b.p, b.n));
	r = open_core(NULL, p, NULL);
	CHECKF(r.t && sane(r.s), "%s", r.e.msg);
	if (r.t) {
		CHECK(r.s->ntasks == 3);
		CHECK(has_warning(r.s, "notes are cut short"));
		unsigned char x;
		CHECK(target_read(r.t, 0x600000, &x, 1) == 0);
	}
	close_core(&r);

	/* Program headers claimed beyond the file; e_phoff beyond the file. */
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b.p;
	eh->e_phnum = 60000;
	snprintf(p, sizeof(p), "%s", write_file("phnum.core", b.p, b.n));
	r = open_core(NULL, p, NULL);
	CHECKF(r.t != NULL, "%s", r.e.msg);
	if (r.t)
		CHECK(has_warning(r.s, "program headers could be read"));
	close_core(&r);
	eh->e_phnum = (uint16_t)(1 + NSTD);
	eh->e_phoff = 1ull << 40;
	snprintf(p, sizeof(p), "%s", write_file("phoff.core", b.p, b.n));
	r = open_core(NULL, p, NULL);
	CHECK(!r.t && strstr(r.e.msg, "program headers are missing"));
	close_core(&r);
	free(b.p);

	/* PN_XNUM: the real count in section header 0. */
	b = std_core();
	size_t shoff = b.n;
	Elf64_Shdr sh;
	memset(&sh, 0, sizeof(sh));
	sh.sh_info = 1 + NSTD;
	put(&b, &sh, sizeof(sh));
	eh = (Elf64_Ehdr *)b.p;
	eh->e_phnum = PN_XNUM;
	eh->e_shoff = shoff;
	eh->e_shnum = 0;
	snprintf(p, sizeof(p), "%s", write_file("xnum.core", b.p, b.n));
	r = open_core(NULL, p, NULL);
	CHECKF(r.t && r.s->ntasks == 3 && r.s->nmaps == 5, "%s", r.e.msg);
	close_core(&r);
	eh = (Elf64_Ehdr *)b.p;
	eh->e_shoff = 1ull << 50;
	snprintf(p, sizeof(p), "%s", write_file("xnum2.core", b.p, b.n));
	r = open_core(NULL, p, NULL);
	CHECK(!r.t && strstr(r.e.msg, "extended program header count"));
	close_core(&r);
	free(b.p);

	/* A note claiming more than the reader's limit, in a (sparse) file that holds it. */
	struct buf big = { 0 };
	put_prstatus(&big, 42, -1, 0, 0);
	put_u32(&big, 5);
	put_u32(&big, 100u << 20);
	put_u32(&big, NT_FILE);
	put(&big, "CORE\0\0\0", 8);
	b = build_core(&big, std_segs, 1);
	phdr_at(&b, 0)->p_filesz = big.n + (100u << 20);
	snprintf(p, sizeof(p), "%s", write_file("bignote.core", b.p, b.n));
	CHECK(truncate(p, (off_t)(b.n + (110u << 20))) == 0);
	r = open_core(NULL, p, NULL);
	CHECKF(r.t && r.s->ntasks == 1, "%s", r.e.msg);
	if (r.t)
		CHECK(has_warning(r.s, "more than 64 MiB"));
	close_core(&r);
	unlink(p);
	free(b.p);
	free(big.p);

	/* Duplicate tids. */
	struct buf d = { 0 };
	put_prstatus(&d, 5, -1, 1, 0);
	put_prstatus(&d, 5, -1, 2, 0);
	put_prstatus(&d, 4, -1, 3, 0);
	b = build_core(&d, std_segs, 1);
	snprintf(p, sizeof(p), "%s", write_file("dup.core", b.p, b.n));
	r = open_core(NULL, p, NULL);
	CHECK(r.t && r.s->ntasks == 2 && r.s->tasks[1].tid == 5 && r.s->tasks[1].regs.x.rdi == 1 &&
	      has_warning(r.s, "recorded twice"));
	/* No PRPSINFO: the pid is the lowest tid, names are unknown. */
	CHECK(r.t && r.s->pid == 4 && strcmp(r.s->tasks[0].name, "?") == 0 && r.s->tasks[0].kstate == '?');
	CHECK(r.t && has_warning(r.s, "no NT_FILE note"));
	close_core(&r);
	free(b.p);
	free(d.p);
	free(n.p);
}

static void alarm_handler(int sig)
{
	(void)sig;
	static const char msg[] = "test_elfcore: timed out opening a hostile NT_FILE path\n";
	ssize_t k = write(2, msg, sizeof(msg) - 1);
	(void)k;
	_exit(3);
}

/* NT_FILE naming a FIFO, devices, /etc/shadow and a directory: nothing blocks, nothing is
 * treated as an ELF file. */
static void test_hostile_paths(void)
{
	char fifo[PATH_MAX];
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	unlink(fifo);
	CHECK(mkfifo(fifo, 0600) == 0);
	struct buf n = { 0 };
	put_prstatus(&n, 9, 0, 0, 0x1000);
	struct fentry f[] = {
		{ 0x1000, 0x2000, 0, fifo },
		{ 0x2000, 0x3000, 0, "/dev/zero" },
		{ 0x3000, 0x4000, 0, "/dev/tty" },
		{ 0x4000, 0x5000, 0, "/etc/shadow" },
		{ 0x5000, 0x6000, 0, "/" },
		{ 0x6000, 0x7000, 0, "/proc/self/mem" },
	};
	put_file(&n, 6, 4096, f, 6);
	struct seg segs[] = { { 0x1000, 0x6000, 0x10, PF_R | PF_X, 0 } };
	struct buf b = build_core(&n, segs, 1);
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", write_file("hostile.core", b.p, b.n));
	signal(SIGALRM, alarm_handler);
	alarm(20);
	struct opened r = open_core(NULL, p, NULL);
	alarm(0);
	CHECKF(r.t && sane(r.s), "%s", r.e.msg);
	if (r.t) {
		bool none_opened = true;
		for (size_t i = 0; i < r.s->nmodules; i++)
			if (r.s->modules[i].file)
				none_opened = false;
		CHECK(none_opened);
		CHECK(r.s->nmaps == 6);
	}
	close_core(&r);
	free(b.p);
	free(n.p);
	unlink(fifo);
}

/* Many threads and a large NT_FILE: notes read in windows must lose nothing at the window
 * boundaries, and the cost must stay small. */
static void test_many_threads(void)
{
	enum { NT = 20000, NF = 20000 };
	struct buf n = { 0 };
	for (int i = 0; i < NT; i++)
		put_prstatus(&n, (pid_t)(1000 + (i * 7919) % NT), i % 3 ? 202 : -1, (uint64_t)i, 0x401000);
	put_prpsinfo(&n, 1000, 'S', "many", "many");
	struct fentry *f = xmalloc(NF * sizeof(*f));
	char (*names)[80] = xmalloc(NF * sizeof(*names));
	for (int i = 0; i < NF; i++) {
		snprintf(names[i], sizeof(names[i]), "/usr/lib/nonexistent/a-rather-long-library-name-%06d.so", i);
		f[i] = (struct fentry){ 0x10000000ull + 0x2000ull * (uint64_t)i,
					0x10000000ull + 0x2000ull * (uint64_t)i + 0x1000, 0, names[i] };
	}
	put_file(&n, NF, 4096, f, NF);
	struct buf b = build_core(&n, std_segs, NSTD);
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", write_file("many.core", b.p, b.n));
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	struct err e = { 0 };
	double t0 = now();
	struct arena a = { 0 };
	struct elfcore c;
	int fd = open(p, O_RDONLY);
	int rc = elfcore_read(fd, p, &c, &a, &e);
	double t1 = now();
	CHECKF(rc == 0, "%s", e.msg);
	if (rc == 0) {
		CHECK(c.notes.nthreads == NT && c.notes.nfiles == NF && !c.notes.cut && !c.notes_cut);
		bool all = true;
		for (size_t i = 0; i < c.notes.nthreads; i++)
			if (c.notes.threads[i].regs.x.rdi != i)
				all = false;
		CHECK(all);
		CHECK(c.notes.nfiles == NF && strcmp(c.notes.files[NF - 1].path, names[NF - 1]) == 0);
		const struct elfcore_load *l = elfcore_find_load(&c, 0x600fff);
		CHECK(l && l->vaddr == 0x600000);
		CHECK(elfcore_find_load(&c, 0x601000) == NULL && elfcore_find_load(&c, 0) == NULL);
		elfcore_free(&c);
	}
	close(fd);
	arena_free(&a);
	CHECKF(t1 - t0 < 2.0, "reading %d thread notes took %.3f s", NT, t1 - t0);

	struct target *t = core_target_open(NULL, p, NULL, s, &e);
	CHECKF(t && s->ntasks == NT && sane(s), "%s", e.msg);
	if (t) {
		CHECK(s->tasks[0].tid == 1000 && s->tasks[NT - 1].tid == 1000 + NT - 1);
		CHECK(s->nmaps >= NF);
	}
	target_close(t);
	snapshot_free(s);
	free(b.p);
	free(n.p);
	free(f);
	free(names);
}

/* ---- a real core from gcore ---- */

static int chpipe[2], blockpipe[2];
static volatile uint64_t marker = 0x1122334455667788ULL;

static void *blocked_thread(void *arg)
{
	(void)arg;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	if (write(chpipe[1], &tid, sizeof(tid)) != sizeof(tid))
		_exit(1);
	char c;
	for (;;)
		if (read(blockpipe[0], &c, 1) <= 0)
			pause();
	return NULL;
}

static bool have_gcore(void)
{
	return system("command -v gcore >/dev/null 2>&1") == 0;
}

static void copy_prefix(const char *from, const char *to, off_t len)
{
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char buf[65536];
	off_t done = 0;
	while (in >= 0 && out >= 0 && done < len) {
		ssize_t k = read(in, buf, (size_t)(len - done < (off_t)sizeof(buf) ? len - done : (off_t)sizeof(buf)));
		if (k <= 0 || write(out, buf, (size_t)k) != k)
			break;
		done += k;
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
}

/* gcore the child: the core's path in core, or false (with a note) when gcore failed. */
static bool run_gcore(pid_t child, char *core, size_t cap)
{
	char prefix[300], cmd[1024];
	snprintf(prefix, sizeof(prefix), "%s/g", tmpdir);
	snprintf(core, cap, "%s.%d", prefix, (int)child);
	snprintf(cmd, sizeof(cmd), "gcore -o '%s' %d >/dev/null 2>&1", prefix, (int)child);
	int rc = system(cmd);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (rc != 0 || access(core, R_OK) != 0) {
		UNIT_SKIP("gcore failed (status %d): the real-core part is skipped", rc);
		return false;
	}
	return true;
}

/* What holds for any gcore core of a process running exe: modules found with agreeing
 * build-ids, text the core left out read from the files, the executable check, a sysroot
 * without the files, truncated copies. */
static void check_real_core(const char *core, const char *exe, size_t nthreads)
{
	double t0 = now();
	struct opened r = open_core(NULL, core, NULL);
	double t1 = now();
	CHECKF(r.t != NULL, "%s", r.e.msg);
	if (!r.t) {
		close_core(&r);
		return;
	}
	struct snapshot *s = r.s;
	CHECK(sane(s));
	CHECKF(s->executable && strcmp(s->executable, exe) == 0, "executable %s", s->executable);
	bool have_exe = false, have_libc = false, ids_agree = true;
	for (size_t i = 0; i < s->nmodules; i++) {
		const struct module *m = &s->modules[i];
		if (strcmp(m->name, exe) == 0)
			have_exe = true;
		if (strstr(m->name, "/libc.so.6"))
			have_libc = m->file && m->build_id_len > 0 && m->target_build_id_len > 0;
		if (m->mismatched)
			ids_agree = false;
	}
	CHECK(have_exe);
	CHECK(have_libc);
	CHECK(ids_agree);
	/* gcore leaves libc's text out of the core (no PT_LOAD at all): its permissions come
	 * from libc's program headers and its bytes from the file. */
	bool text = false;
	for (size_t i = 0; i < s->nmaps; i++)
		if (s->maps[i].path && strstr(s->maps[i].path, "/libc.so.6") && s->maps[i].perms[2] == 'x') {
			unsigned char x[16];
			CHECK(target_read(r.t, s->maps[i].start + 0x100, x, sizeof(x)) == sizeof(x));
			CHECK(strcmp(s->maps[i].perms, "r-xp") == 0);
			text = true;
			break;
		}
	CHECK(text);
	/* The leader gets no state from gdb's own ptrace stop. */
	struct task *leader = snapshot_find_task(s, s->pid);
	CHECK(leader && leader->kstate == '?');
	if (s->nwarnings) {
		UNIT_NOTE("warnings on the gcore core:");
		dump_warnings(s);
	}
	UNIT_NOTE("gcore core of %zu threads opened in %.1f ms", nthreads, (t1 - t0) * 1e3);
	close_core(&r);

	/* The right executable given; then a wrong one. */
	r = open_core(exe, core, NULL);
	CHECKF(r.t != NULL, "%s", r.e.msg);
	close_core(&r);
	const char *other = strcmp(exe, "/usr/bin/true") != 0 ? "/usr/bin/true" : "/usr/bin/false";
	if (access(other, R_OK) == 0) {
		r = open_core(other, core, NULL);
		CHECKF(!r.t && strstr(r.e.msg, ": does not match the core (build-id "), "%s", r.e.msg);
		close_core(&r);
	}

	/* A sysroot that holds nothing: every module missing, the analysis still stands. */
	struct target_options o = { .sysroot = tmpdir };
	r = open_core(NULL, core, &o);
	CHECKF(r.t && r.s->ntasks == nthreads && has_warning(r.s, "cannot open the mapped file"),
	       "%s", r.e.msg);
	close_core(&r);

	/* Truncated copies of the real core. */
	struct stat st;
	stat(core, &st);
	char cut[400];
	snprintf(cut, sizeof(cut), "%s.cut", core);
	/* gdb writes the notes after the memory: half a gcore core has no thread left. */
	copy_prefix(core, cut, st.st_size / 2);
	r = open_core(NULL, cut, NULL);
	CHECKF(!r.t && strstr(r.e.msg, "no thread in the core") && strstr(r.e.msg, "truncated"),
	       "%s", r.e.msg);
	close_core(&r);
	copy_prefix(core, cut, 300);
	r = open_core(NULL, cut, NULL);
	CHECK(!r.t || has_warning(r.s, "truncated"));
	close_core(&r);
	copy_prefix(core, cut, 40);
	r = open_core(NULL, cut, NULL);
	CHECK(!r.t && strstr(r.e.msg, "truncated"));
	close_core(&r);
	unlink(cut);
	unlink(core);
}

/* A fork of this test with three threads blocked in read(): tids, registers, syscalls and
 * a word of its memory are known, so the core's must agree. */
static void test_gcore_threads(void)
{
	if (pipe(chpipe) != 0 || pipe(blockpipe) != 0)
		return;
	marker ^= 0xff;	/* a value only this run's memory holds */
	pid_t child = fork();
	if (child == 0) {
		prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
		pthread_t th[2];
		for (int i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, blocked_thread, NULL);
		blocked_thread(NULL);
		_exit(0);
	}
	pid_t tids[3];
	for (int i = 0; i < 3; i++)
		if (read(chpipe[0], &tids[i], sizeof(tids[i])) != sizeof(tids[i]))
			tids[i] = -1;
	usleep(100 * 1000);	/* into read() for sure */
	char core[340];
	if (!run_gcore(child, core, sizeof(core)))
		return;
	char self[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[k > 0 ? k : 0] = 0;

	struct opened r = open_core(NULL, core, NULL);
	CHECKF(r.t != NULL, "%s", r.e.msg);
	if (r.t) {
		struct snapshot *s = r.s;
		CHECKF(s->pid == child, "pid %d child %d", s->pid, child);
		CHECKF(s->ntasks == 3, "ntasks %zu", s->ntasks);
		for (int i = 0; i < 3; i++) {
			struct task *t = snapshot_find_task(s, tids[i]);
			CHECKF(t != NULL, "tid %d", tids[i]);
			if (!t)
				continue;
			CHECK(t->have_regs && t->regs.x.rip != 0);
			CHECKF(t->syscall_nr == SYS_read && t->syscall_args[0] == (uint64_t)blockpipe[0],
			       "tid %d syscall %ld arg0 %llu", t->tid, t->syscall_nr,
			       (unsigned long long)t->syscall_args[0]);
			const struct mapping *m = snapshot_mapping_at(s, t->regs.x.rsp);
			CHECK(m && m->dumped && strchr(m->perms, 'w'));
			CHECK(t->name && strncmp(t->name, "test_elfcore", 12) == 0);
		}
		CHECK(s->cmdline && strstr(s->cmdline, "test_elfcore"));
		uint64_t v = 0;
		CHECK(target_read_u64(r.t, (uint64_t)(uintptr_t)&marker, &v) && v == marker);
	}
	close_core(&r);
	check_real_core(core, self, 3);
	close(chpipe[0]);
	close(chpipe[1]);
	close(blockpipe[0]);
	close(blockpipe[1]);
}

/* Under a sanitizer a fork of this test maps terabytes of shadow that gcore cannot dump in
 * reasonable time, so the child is /usr/bin/sleep instead. */
static void test_gcore_sleep(void)
{
	char exe[PATH_MAX];
	if (!realpath("/usr/bin/sleep", exe))
		return;
	pid_t child = fork();
	if (child == 0) {
		prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
		execl(exe, "sleep", "60", (char *)NULL);
		_exit(127);
	}
	char link[64], got[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)child);
	for (int i = 0; i < 200; i++) {
		ssize_t k = readlink(link, got, sizeof(got) - 1);
		got[k > 0 ? k : 0] = 0;
		if (strcmp(got, exe) == 0)
			break;
		usleep(10 * 1000);
	}
	usleep(100 * 1000);	/* into nanosleep for sure */
	char core[340];
	if (!run_gcore(child, core, sizeof(core)))
		return;
	struct opened r = open_core(NULL, core, NULL);
	CHECKF(r.t && r.s->ntasks == 1 && r.s->pid == child, "%s", r.e.msg);
	if (r.t) {
		const struct task *t = &r.s->tasks[0];
		CHECKF(t->tid == child && t->syscall_nr == SYS_clock_nanosleep, "syscall %ld", t->syscall_nr);
		CHECK(r.s->cmdline && strncmp(r.s->cmdline, "sleep", 5) == 0);
	}
	close_core(&r);
	check_real_core(core, exe, 1);
}

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static void test_gcore(void)
{
	if (!have_gcore()) {
		UNIT_SKIP("gcore not found: the real-core part is skipped");
		return;
	}
	if (!SANITIZED)
		test_gcore_threads();
	test_gcore_sleep();
}

static void rm_tmpdir(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		UNIT_NOTE("could not remove %s", tmpdir);
}

static void unit_tests(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_elfcore.XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror(tmpdir);
		exit(2);
	}
	test_parse_notes();
	test_header();
	test_aarch64_notes();
	test_std_core();
	test_signal_that_made_the_core();
	test_bad_files();
	test_truncated();
	test_lying_headers();
	test_hostile_paths();
	test_many_threads();
	test_gcore();
	rm_tmpdir();
}
