#include "core/core_target.h"
#include "core/decompress.h"
#include "core/elfcore.h"
#include "core/linkmap.h"
#include "go/go.h"
#include "image/buildid.h"
#include "util/xalloc.h"
#include "util/bsearch.h"
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct core_target {
	struct target t;		/* first, so that the ops can cast back */
	struct elfcore core;
	const char *exe;		/* the executable the user named, or NULL */
	const char *main_path;		/* the core's path of the main executable, or NULL */
};

static const char deleted_suffix[] = " (deleted)";

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Length of p without the " (deleted)" the kernel appends to unlinked files. */
static size_t undeleted_len(const char *p)
{
	size_t n = strlen(p), k = sizeof(deleted_suffix) - 1;
	return n > k && strcmp(p + n - k, deleted_suffix) == 0 ? n - k : n;
}

/* Whether path (as a core names it) ends in the file name base. */
static bool same_base(const char *path, const char *base)
{
	const char *pb = base_name(path);
	size_t len = undeleted_len(pb);
	return strlen(base) == len && strncmp(pb, base, len) == 0;
}

static int core_open_module(struct target *t, const struct module *m, const char **path)
{
	struct core_target *ct = (struct core_target *)t;
	struct arena *a = &t->snap->arena;
	if (ct->exe && ct->main_path && strcmp(m->name, ct->main_path) == 0)
		return target_open_regular(NULL, ct->exe, path, a);
	const char *root = t->opts ? t->opts->sysroot : NULL;
	int fd = target_open_regular(root, m->name, path, a);
	size_t n = undeleted_len(m->name);
	if (fd < 0 && n < strlen(m->name)) {
		/* A file reinstalled where the deleted one was is fine if its build-id agrees with
		 * the core's, which target_load_modules checks. */
		int saved = errno;
		fd = target_open_regular(root, arena_strndup(a, m->name, n), path, a);
		if (fd < 0)
			errno = saved;
	}
	return fd;
}

static void core_close(struct target *t)
{
	struct core_target *ct = (struct core_target *)t;
	elfcore_free(&ct->core);
	free(ct);
}

static const struct target_ops core_ops = {
	.name = "core",
	.open_module = core_open_module,
	.close = core_close,
};

static const struct target_options default_options;

static int check_exe(const char *exe, struct err *e)
{
	int fd = target_open_regular(NULL, exe, NULL, NULL);
	if (fd < 0)
		return err_set(e, ERR_FAIL, "%s: %s", exe,
			       errno == EINVAL ? "not a regular file" : strerror(errno));
	unsigned char h[sizeof(Elf64_Ehdr)];
	ssize_t n = pread(fd, h, sizeof(h), 0);
	close(fd);
	if (n < SELFMAG || memcmp(h, ELFMAG, SELFMAG) != 0)
		return err_set(e, ERR_FAIL, "%s: not an ELF file", exe);
	Elf64_Ehdr eh;
	if ((size_t)n == sizeof(eh)) {
		memcpy(&eh, h, sizeof(eh));
		if (eh.e_type == ET_CORE)
			return err_set(e, ERR_FAIL, "%s: a core file, not an executable "
				       "(the executable comes first, then the core)", exe);
	}
	return 0;
}

/* The string at AT_EXECFN: the path execve was given, kept on the initial stack. */
static const char *read_execfn(struct target *t, struct arena *a)
{
	const struct elfcore_notes *n = &((struct core_target *)t)->core.notes;
	uint64_t addr;
	if (!elfcore_auxv(n, AT_EXECFN, &addr) || addr == 0)
		return NULL;
	char buf[4096];
	size_t got = target_read(t, addr, buf, sizeof(buf));
	size_t len = strnlen(buf, got);
	return len > 0 && len < got ? arena_strndup(a, buf, len) : NULL;
}

/* Which NT_FILE path is the main executable: the one holding the entry point or the program
 * headers the kernel told the process about; failing those, the path execve was given, a
 * file named like EXE, or the lowest mapped file (where executables sit). */
static const char *find_main_path(const struct elfcore_notes *n, const char *execfn, const char *exe)
{
	static const uint64_t keys[] = { AT_ENTRY, AT_PHDR };
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		uint64_t v;
		if (!elfcore_auxv(n, keys[k], &v) || v == 0)
			continue;
		for (size_t i = 0; i < n->nfiles; i++)
			if (n->files[i].path && v >= n->files[i].start && v < n->files[i].end)
				return n->files[i].path;
	}
	if (execfn)
		for (size_t i = 0; i < n->nfiles; i++)
			if (n->files[i].path && strcmp(n->files[i].path, execfn) == 0)
				return n->files[i].path;
	if (exe) {
		const char *b = base_name(exe);
		for (size_t i = 0; i < n->nfiles; i++)
			if (n->files[i].path && same_base(n->files[i].path, b))
				return n->files[i].path;
	}
	const struct elfcore_file *low = NULL;
	for (size_t i = 0; i < n->nfiles; i++)
		if (n->files[i].path && (!low || n->files[i].start < low->start))
			low = &n->files[i];
	return low ? low->path : NULL;
}

/* NT_PRPSINFO describes the thread group leader only, and at dump time: a kernel core's is
 * the dumping kernel's own R or D (signal-made cores, cursig set), and gcore's 't' is gdb's
 * own ptrace stop, not the target's. The other threads' states are not in a core at all. */
static char kstate_of(char sname, bool signal_made)
{
	return !signal_made && sname && sname != 't' && strchr("RSDTZXWIP", sname) ? sname : '?';
}

/* Whether the kernel dumps a core for sig's default action (signal(7)): a core whose first
 * thread's pr_cursig is one was made by it. Debuggers write their own stop signal there. */
static bool dumps_core(int sig)
{
	switch (sig) {
	case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
	case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS:
		return true;
	}
	return false;
}

/* si_code values of signals sent by a process, which carry si_pid and si_uid. */
static bool sent_by_process(int code)
{
	return code == 0 /* SI_USER */ || code == -1 /* SI_QUEUE */ || code == -6 /* SI_TKILL */;
}

/* The signal that made the core: every NT_PRSTATUS carries it as pr_cursig, and the first
 * is the thread that took it; NT_SIGINFO tells who sent it, or where a fault was. gcore's
 * and chang's own cores have cursig 0 or a debugger's stop signal (gdb's NT_SIGINFO is its
 * own SIGSTOP). */
static const struct core_signal *core_signal_of(const struct elfcore_notes *n, struct arena *a)
{
	if (n->nthreads == 0 || !dumps_core(n->threads[0].cursig))
		return NULL;
	struct core_signal *cs = ARENA_NEW(a, struct core_signal, 1);
	cs->signo = n->threads[0].cursig;
	cs->tid = n->threads[0].tid;
	const struct elfcore_siginfo *si = &n->siginfo;
	if (n->have_siginfo && si->signo == cs->signo) {
		cs->have_info = true;
		cs->code = si->code;
		if (sent_by_process(si->code)) {
			cs->have_sender = true;
			cs->sender_pid = si->pid;
			cs->sender_uid = si->uid;
		} else if (si->code > 0 && (cs->signo == SIGSEGV || cs->signo == SIGBUS || cs->signo == SIGILL ||
					    cs->signo == SIGFPE || cs->signo == SIGTRAP)) {
			cs->have_addr = true;
			cs->addr = si->addr;
		}
	}
	return cs;
}

struct tid_index {
	pid_t tid;
	size_t i;
};

static int tid_index_cmp(const void *x, const void *y)
{
	const struct tid_index *a = x, *b = y;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

static int name_cmp(const void *a, const void *b)
{
	const struct elfcore_name *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* The thread's own name when the core carries chang's note of them, else the process's. */
static const char *thread_name(const struct elfcore_name *v, size_t nv, pid_t tid, const char *process)
{
	struct elfcore_name key = { .tid = tid };
	const struct elfcore_name *n = nv ? bsearch(&key, v, nv, sizeof(*v), name_cmp) : NULL;
	return n && n->name[0] ? n->name : process;
}

/* One task per NT_PRSTATUS, sorted by tid; a tid recorded twice keeps its first record.
 * Returns how many duplicates were dropped. */
static size_t build_tasks(struct snapshot *s, const struct elfcore_notes *n, const char *name)
{
	struct elfcore_name *names = NULL;
	if (n->nnames) {
		names = xmalloc(n->nnames * sizeof(*names));
		memcpy(names, n->names, n->nnames * sizeof(*names));
		qsort(names, n->nnames, sizeof(*names), name_cmp);
	}
	size_t nt = n->nthreads, dups = 0;
	struct tid_index *ix = xmalloc((nt ? nt : 1) * sizeof(*ix));
	for (size_t i = 0; i < nt; i++)
		ix[i] = (struct tid_index){ n->threads[i].tid, i };
	qsort(ix, nt, sizeof(*ix), tid_index_cmp);
	s->tasks = ARENA_NEW(&s->arena, struct task, nt);
	size_t k = 0;
	for (size_t j = 0; j < nt; j++) {
		if (k && s->tasks[k - 1].tid == ix[j].tid) {
			dups++;
			continue;
		}
		const struct elfcore_thread *th = &n->threads[ix[j].i];
		struct task *task = &s->tasks[k++];
		task->kind = TASK_THREAD;
		task->tid = th->tid;
		task->name = thread_name(names, n->nnames, th->tid, name);
		task->kstate = n->have_psinfo && th->tid == n->pid ? kstate_of(n->sname, dumps_core(n->threads[0].cursig)) : '?';
		task->have_regs = true;
		task->regs = th->regs;
		task_syscall_from_regs(task);
		task->group = 0;
	}
	s->ntasks = k;
	free(ix);
	free(names);
	return dups;
}

/* Where the registers do not hold the number of the call a thread sits in (aarch64), the
 * code around its PC says whether it is at a system call instruction; read now that the
 * modules are there (a kernel core holds the first page of a text mapping only). */
static void infer_syscalls(struct target *t, struct snapshot *s)
{
	if (s->arch->sysnr >= 0)
		return;
	/* The kernel writes NT_FILE, NT_SIGINFO and one NT_PRFPREG a thread into every core, and
	 * rewinds a thread interrupted in a call to its svc. qemu-user writes none of those notes
	 * and dumps the other threads as they are, inside their calls, PC past the svc; the thread
	 * that took the signal, whose note comes first, has returned from its call (x0 = -EINTR). */
	const struct elfcore_notes *n = &((struct core_target *)t)->core.notes;
	bool qemu = !n->have_files && !n->have_siginfo && !n->nfpregs;
	if (qemu)
		snapshot_warn(s, "%s core without NT_FILE, NT_SIGINFO or NT_PRFPREG notes, as qemu-user writes "
			      "them: a thread whose PC is just past an svc is taken to be inside that call, its "
			      "arguments still in x0..x5 (qemu does not rewind it, as the kernel does)", s->arch->name);
	for (size_t i = 0; i < s->ntasks; i++) {
		struct task *task = &s->tasks[i];
		uint64_t pc = regs_pc(&task->regs);
		unsigned char code[8];
		bool got = pc >= 4 && target_read(t, pc - 4, code, sizeof(code)) == sizeof(code);
		task_syscall_from_code(task, got ? code : NULL, qemu && task->tid != n->threads[0].tid);
	}
}

static int file_cmp(const void *x, const void *y)
{
	const struct elfcore_file *a = x, *b = y;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->end > b->end ? -1 : a->end < b->end;
}

/* The mappings: NT_FILE says which ranges are which file, the PT_LOADs say the permissions
 * and what was dumped, and PT_LOADs no file covers are anonymous memory (heap, stacks).
 * One sweep over both sorted lists cuts the address space at every boundary of either.
 * Returns how many NT_FILE entries were dropped for overlapping another. */
static size_t build_maps(struct snapshot *s, const struct elfcore *c)
{
	size_t nf = c->notes.nfiles, dropped = 0;
	struct elfcore_file *f = xmalloc((nf ? nf : 1) * sizeof(*f));
	if (nf)
		memcpy(f, c->notes.files, nf * sizeof(*f));
	qsort(f, nf, sizeof(*f), file_cmp);
	size_t k = 0;
	for (size_t i = 0; i < nf; i++) {
		if (k && f[i].start < f[k - 1].end) {
			dropped++;
			continue;
		}
		f[k++] = f[i];
	}
	nf = k;

	const struct elfcore_load *l = c->loads;
	size_t nl = c->nloads, i = 0, j = 0, n = 0, cap = 0;
	struct mapping *maps = NULL;
	uint64_t pos = 0;
	while (i < nf || j < nl) {
		if (i < nf && f[i].end <= pos) {
			i++;
			continue;
		}
		if (j < nl && l[j].vaddr + l[j].memsz <= pos) {
			j++;
			continue;
		}
		uint64_t fs = i < nf ? f[i].start : UINT64_MAX, ls = j < nl ? l[j].vaddr : UINT64_MAX;
		uint64_t start = fs < ls ? fs : ls;
		if (start > pos)
			pos = start;
		bool fin = i < nf && f[i].start <= pos, lin = j < nl && l[j].vaddr <= pos;
		uint64_t end = UINT64_MAX, b;
		if (i < nf) {
			b = fin ? f[i].end : f[i].start;
			end = b < end ? b : end;
		}
		if (j < nl) {
			b = lin ? l[j].vaddr + l[j].memsz : l[j].vaddr;
			end = b < end ? b : end;
		}
		VEC_RESERVE(maps, cap, n + 1);
		struct mapping *m = &maps[n++];
		memset(m, 0, sizeof(*m));
		m->start = pos;
		m->end = end;
		if (fin) {
			m->path = f[i].path;
			m->offset = f[i].offset + (pos - f[i].start);
		}
		if (lin) {
			elfcore_perms(l[j].flags, m->perms);
			m->dumped = pos - l[j].vaddr < l[j].avail;
		} else {
			memcpy(m->perms, "---p", 5);	/* no segment: the core does not say */
		}
		pos = end;
	}
	s->maps = arena_memdup(&s->arena, maps, n * sizeof(*maps));
	s->nmaps = n;
	free(maps);
	free(f);
	return dropped;
}

static int cmp_addr_map_start(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, a = ((const struct mapping *)elem)->start;
	return (k > a) - (k < a);
}

/* gdb leaves out the segments it did not dump (text, read-only data), so for those mappings
 * the core has no permissions to give; the mapped file's own program headers have them. */
static void infer_perms(struct core_target *ct, struct snapshot *s)
{
	for (size_t k = 0; k < s->nmodules && ct->t.modfds; k++) {
		const struct module *md = &s->modules[k];
		if (ct->t.modfds[k] < 0)
			continue;
		Elf64_Phdr ph[64];
		int nph = -1;
		size_t lo = lower_bound(s->maps, s->nmaps, sizeof(*s->maps), &md->start, cmp_addr_map_start);
		for (size_t i = lo; i < s->nmaps && s->maps[i].start < md->end; i++) {
			struct mapping *m = &s->maps[i];
			if (!m->path || strcmp(m->path, md->name) != 0 || elfcore_find_load(&ct->core, m->start))
				continue;
			if (nph < 0)
				nph = elf_read_phdrs_fd(ct->t.modfds[k], ph, 64);
			for (int j = 0; j < nph; j++)
				if (ph[j].p_type == PT_LOAD && (ph[j].p_offset & ~0xfffULL) <= m->offset &&
				    m->offset - (ph[j].p_offset & ~0xfffULL) < ph[j].p_filesz + (ph[j].p_offset & 0xfff)) {
					elfcore_perms(ph[j].p_flags, m->perms);
					break;
				}
		}
	}
}

static void warn_core(struct snapshot *s, const char *name, const struct elfcore *c)
{
	const struct elfcore_notes *n = &c->notes;
	if (c->phnum_read < c->phnum)
		snapshot_warn(s, "%s: truncated: only %zu of %zu program headers could be read", name,
			      c->phnum_read, c->phnum);
	if (c->loads_cut)
		snapshot_warn(s, "%s: truncated: %zu of %zu memory segments are cut short (%llu KiB "
			      "missing); that memory is read from the mapped files or not at all",
			      name, c->loads_cut, c->nloads, (unsigned long long)(c->bytes_missing >> 10));
	if (c->loads_bad)
		snapshot_warn(s, "%s: %zu memory segments are empty, wrap around or overlap others; "
			      "ignored or trimmed", name, c->loads_bad);
	if (c->notes_cut || n->cut)
		snapshot_warn(s, "%s: truncated: the notes are cut short; %zu threads could be read",
			      name, n->nthreads);
	if (c->note_too_big)
		snapshot_warn(s, "%s: a note claims more than 64 MiB; the notes after it are ignored", name);
	if (c->nnotes_segments > 8)
		snapshot_warn(s, "%s: %zu note segments; only the first 8 are read", name, c->nnotes_segments);
	if (n->short_notes)
		snapshot_warn(s, "%s: %zu notes are too small for their type; ignored", name, n->short_notes);
	if (n->too_many_threads)
		snapshot_warn(s, "%s: more thread records than any kernel allows; only the first %zu read",
			      name, n->nthreads);
	if (n->file_problem)
		snapshot_warn(s, "%s: %s", name, n->file_problem);
}

/* Whether the core's name for a file opens (under the sysroot); " (deleted)" is dropped as
 * core_open_module drops it. */
static bool path_opens(const char *root, const char *path, struct arena *a)
{
	if (!path || !path[0])
		return false;
	int fd = target_open_regular(root, path, NULL, NULL);
	size_t n = undeleted_len(path);
	if (fd < 0 && n < strlen(path))
		fd = target_open_regular(root, arena_strndup(a, path, n), NULL, NULL);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int cmp_addr_file_end(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, a = ((const struct elfcore_file *)elem)->end;
	return (k > a) - (k < a);
}

static const struct elfcore_file *file_overlapping(const struct elfcore_file *v, size_t n, uint64_t start,
						   uint64_t end)
{
	size_t lo = upper_bound(v, n, sizeof(*v), &start, cmp_addr_file_end);	/* the first that ends after start */
	return lo < n && v[lo].start < end ? &v[lo] : NULL;
}

/* NT_FILE is what the kernel saw mapped; the link map is what the dynamic linker loaded.
 * When NT_FILE is missing, names a file by a path that does not open (relative, cut short,
 * moved) or lists fewer files than were loaded, the link map's names and segments fill in. */
static void use_linkmap(struct core_target *ct, struct snapshot *s, const char *execfn, const char *core_path)
{
	struct elfcore_notes *n = &ct->core.notes;
	struct arena *a = &s->arena;
	const char *root = ct->t.opts->sysroot;
	struct linkmap lm;
	linkmap_read(&ct->t, &ct->core, ct->exe, execfn, &lm, a);
	const char *why = lm.problem ? arena_printf(a, " (the list was cut short: %s)", lm.problem) : "";
	if (lm.no_segments)
		snapshot_warn(s, "%s: %zu libraries on the dynamic linker's list have neither their ELF "
			      "header in the core nor a file that opens; their frames stay unsymbolized",
			      core_path, lm.no_segments);
	if (!n->have_files || n->nfiles == 0) {
		if (lm.nmodules == 0) {
			snapshot_warn(s, "%s: no NT_FILE note, and the core's memory does not list the "
				      "loaded files%s: frames stay unsymbolized", core_path, why);
			return;
		}
		snapshot_warn(s, "%s: no NT_FILE note: %zu files found through AUXV and the dynamic "
			      "linker's list%s", core_path, lm.nmodules, why);
		n->files = lm.files;
		n->nfiles = lm.nfiles;
		return;
	}
	if (lm.nfiles == 0)
		return;
	struct elfcore_file *lf = xmalloc(lm.nfiles * sizeof(*lf));
	memcpy(lf, lm.files, lm.nfiles * sizeof(*lf));
	qsort(lf, lm.nfiles, sizeof(*lf), file_cmp);
	/* names that do not open, taken from the link map where it covers the same range */
	const char *prev = NULL, *prev_new = NULL;
	bool prev_opens = true;
	for (size_t i = 0; i < n->nfiles; i++) {
		struct elfcore_file *f = &n->files[i];
		if (!prev || !f->path || strcmp(f->path, prev) != 0) {
			prev = f->path;
			prev_opens = path_opens(root, f->path, a);
			prev_new = NULL;
		}
		if (prev_opens)
			continue;
		const struct elfcore_file *l = file_overlapping(lf, lm.nfiles, f->start, f->end);
		if (!l || (f->path && strcmp(l->path, f->path) == 0) || !path_opens(root, l->path, a))
			continue;
		if (prev_new != l->path)
			snapshot_warn(s, "%s: NT_FILE names %s%s%s, which cannot be opened; the dynamic "
				      "linker's list names %s there, which is used", core_path,
				      f->path ? "\"" : "no file", f->path ? f->path : "", f->path ? "\"" : "",
				      l->path);
		prev_new = l->path;
		f->path = l->path;
	}
	/* files NT_FILE does not list at all (a note cut short) */
	struct elfcore_file *nf = xmalloc(n->nfiles * sizeof(*nf));
	memcpy(nf, n->files, n->nfiles * sizeof(*nf));
	qsort(nf, n->nfiles, sizeof(*nf), file_cmp);
	size_t add = 0;
	for (size_t i = 0; i < lm.nfiles; i++)
		if (!file_overlapping(nf, n->nfiles, lf[i].start, lf[i].end))
			lf[add++] = lf[i];
	if (add) {
		struct elfcore_file *all = ARENA_NEW(a, struct elfcore_file, n->nfiles + add);
		memcpy(all, n->files, n->nfiles * sizeof(*all));
		memcpy(all + n->nfiles, lf, add * sizeof(*all));
		n->files = all;
		n->nfiles += add;
		snapshot_warn(s, "%s: NT_FILE leaves out %zu segments of files on the dynamic linker's "
			      "list; they are added from it", core_path, add);
	}
	free(nf);
	free(lf);
}

static bool same_build_id(const struct module *m)
{
	return m->build_id_len == m->target_build_id_len &&
	       memcmp(m->build_id, m->target_build_id, (size_t)m->build_id_len) == 0;
}

/* Whether EXE's name could be the dumped program's: its basename against the core's path
 * of the executable and against comm (the first 15 bytes of the basename execve saw). */
static bool names_agree(const char *exe, const char *main_path, const struct elfcore_notes *n)
{
	const char *b = base_name(exe);
	bool any = false;
	if (main_path) {
		any = true;
		if (same_base(main_path, b))
			return true;
	}
	if (n->have_psinfo && n->fname[0]) {
		any = true;
		if (strncmp(b, n->fname, 15) == 0)
			return true;
	}
	return !any;
}

static int check_main_module(struct core_target *ct, struct snapshot *s, struct err *e)
{
	struct module *mm = NULL;
	for (size_t i = 0; ct->main_path && i < s->nmodules; i++)
		if (strcmp(s->modules[i].name, ct->main_path) == 0) {
			mm = &s->modules[i];
			break;
		}
	if (!mm) {
		snapshot_warn(s, "%s: the core does not show where the executable was mapped; "
			      "it is not used", ct->exe);
		return 0;
	}
	if (mm->build_id_len && mm->target_build_id_len) {
		if (same_build_id(mm))
			return 0;
		char a[81], b[81];
		buildid_hex(mm->build_id, mm->build_id_len, a);
		buildid_hex(mm->target_build_id, mm->target_build_id_len, b);
		return err_set(e, ERR_FAIL, "%s: does not match the core (build-id %s, core has %s)",
			       ct->exe, a, b);
	}
	if (!names_agree(ct->exe, ct->main_path, &ct->core.notes))
		snapshot_warn(s, "%s: the core was dumped by \"%s\" (%s) and there is no build-id to "
			      "compare; its symbols may be wrong", ct->exe,
			      ct->core.notes.have_psinfo ? ct->core.notes.fname : "?", ct->main_path);
	return 0;
}

/* The core open for reading: the file itself, or for a compressed core (recognised by its
 * magic) its decoded copy in an unlinked temporary file. st gets the original's metadata:
 * its mtime is when the core was written. */
static int open_core(const char *core_path, struct stat *st, struct decompress_result *dr, struct err *e)
{
	memset(dr, 0, sizeof(*dr));
	int fd = target_open_regular(NULL, core_path, NULL, NULL);
	if (fd < 0)
		return err_set(e, ERR_FAIL, "%s: %s", core_path,
			       errno == EINVAL ? "not a regular file" : strerror(errno));
	if (fstat(fd, st) != 0)
		memset(st, 0, sizeof(*st));
	unsigned char magic[8];
	ssize_t n = pread(fd, magic, sizeof(magic), 0);
	if (n <= 0 || decompress_detect(magic, (size_t)n) == COMPRESS_NONE)
		return fd;
	int dfd = decompress_to_temp(fd, core_path, NULL, 0, dr, e);
	close(fd);
	return dfd;
}

/* A core that cannot be read because its compressed stream broke off says so. */
static void explain_stream(struct err *e, const struct decompress_result *dr)
{
	size_t n = strlen(e->msg);
	if ((dr->truncated || dr->corrupt) && n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - n, " (%s)", dr->problem);
}

/* A Go program's goroutines are part of what a capture holds, as attach/ reads them inside
 * its freeze: the executable is the module named like s->executable, and its runtime's
 * structures are in the core. Failing that, s->go_error says why (the threads stay). */
static void read_goroutines(struct target *t, struct snapshot *s)
{
	for (size_t i = 0; i < s->nmodules; i++) {
		bool is_exe = s->executable && strcmp(s->modules[i].name, s->executable) == 0;
		if (!is_exe)
			continue;
		int fd = target_module_fd(t, i);
		if (fd < 0)
			return;
		if (go_is_go_binary(fd)) {
			struct err ge = { 0 };
			if (go_capture(t, s, fd, NULL, &ge) != 0)
				snapshot_warn(s, "goroutines: %s", ge.msg);
		}
		close(fd);
		return;
	}
}

struct target *core_target_open(const char *exe, const char *core_path,
				const struct target_options *o, struct snapshot *s, struct err *e)
{
	if (!core_path) {
		err_set(e, ERR_USAGE, "core: no core file given");
		return NULL;
	}
	if (exe && check_exe(exe, e) != 0)
		return NULL;
	struct stat st;
	struct decompress_result dr;
	int fd = open_core(core_path, &st, &dr, e);
	if (fd < 0)
		return NULL;
	struct core_target *ct = xcalloc(1, sizeof(*ct));
	if (elfcore_read(fd, core_path, &ct->core, &s->arena, e) != 0) {
		explain_stream(e, &dr);
		close(fd);
		free(ct);
		return NULL;
	}
	const struct elfcore_notes *n = &ct->core.notes;
	if (n->nthreads == 0) {
		err_set(e, ERR_FAIL, "%s: no thread in the core (no readable NT_PRSTATUS note)%s",
			core_path, ct->core.notes_cut || n->cut ? "; the file is truncated" : "");
		explain_stream(e, &dr);
		elfcore_free(&ct->core);
		close(fd);
		free(ct);
		return NULL;
	}

	struct target *t = &ct->t;
	t->ops = &core_ops;
	t->opts = o ? o : &default_options;
	t->snap = s;
	target_keep_fd(t, fd);
	ct->exe = arena_strdup(&s->arena, exe);
	/* Only what the file holds: past it, reads fall back to the mapped files (a kernel
	 * core dumps just the first page of a text mapping) or fail, rather than read zeros. */
	for (size_t i = 0; i < ct->core.nloads; i++) {
		const struct elfcore_load *l = &ct->core.loads[i];
		if (l->avail)
			memimage_add_file(&t->mem, l->vaddr, l->avail, fd, l->offset, l->avail);
	}

	s->arch = ct->core.arch;
	s->capture_time_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec;
	s->source = SOURCE_CORE;
	if (dr.truncated || dr.corrupt)
		snapshot_warn(s, "%s: %s; the core is read as far as it goes", core_path, dr.problem);
	warn_core(s, core_path, &ct->core);

	const char *execfn = read_execfn(t, &s->arena);
	use_linkmap(ct, s, execfn, core_path);
	ct->main_path = find_main_path(n, execfn, exe);
	/* "[exe]": the link map found it but nothing names it */
	s->executable = ct->main_path && ct->main_path[0] != '[' ? ct->main_path : execfn;
	if (!s->executable && n->have_psinfo && n->fname[0])
		s->executable = arena_strdup(&s->arena, n->fname);
	if (n->have_psinfo && n->psargs[0])
		s->cmdline = arena_strdup(&s->arena, n->psargs);

	const char *name = NULL;
	if (n->have_psinfo && n->fname[0])
		name = arena_strdup(&s->arena, n->fname);
	else if (s->executable)
		name = arena_strndup(&s->arena, base_name(s->executable), 15);
	else
		name = "?";
	size_t dups = build_tasks(s, n, name);
	if (dups)
		snapshot_warn(s, "%s: %zu threads are recorded twice; the first record of each is used",
			      core_path, dups);
	s->pid = n->have_psinfo && n->pid > 0 ? n->pid : s->tasks[0].tid;
	s->core_signal = core_signal_of(n, &s->arena);
	t->pid = s->pid;
	size_t dropped = build_maps(s, &ct->core);
	if (dropped)
		snapshot_warn(s, "%s: %zu NT_FILE entries overlap others; ignored", core_path, dropped);

	s->target = t;
	target_load_modules(t);
	infer_perms(ct, s);
	infer_syscalls(t, s);
	if (exe && check_main_module(ct, s, e) != 0) {
		s->target = NULL;
		target_close(t);
		return NULL;
	}
	read_goroutines(t, s);
	return t;
}
