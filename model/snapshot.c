#include "model/snapshot.h"
#include "util/strmap.h"
#include "model/syscalls.h"
#include "util/xalloc.h"
#include "util/bsearch.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const wait_names[WAIT__COUNT] = {
	[WAIT_NONE] = "none", [WAIT_MUTEX] = "mutex", [WAIT_RWLOCK] = "rwlock",
	[WAIT_CONDVAR] = "condvar", [WAIT_SEMAPHORE] = "semaphore", [WAIT_BARRIER] = "barrier",
	[WAIT_JOIN] = "join", [WAIT_SLEEP] = "sleep", [WAIT_READ] = "read", [WAIT_WRITE] = "write",
	[WAIT_RECV] = "recv", [WAIT_SEND] = "send", [WAIT_ACCEPT] = "accept",
	[WAIT_CONNECT] = "connect", [WAIT_POLL] = "poll", [WAIT_EPOLL] = "epoll",
	[WAIT_SELECT] = "select", [WAIT_FUTEX] = "futex", [WAIT_SIGNAL] = "signal",
	[WAIT_WAITPID] = "waitpid", [WAIT_SYSCALL] = "syscall", [WAIT_CHANNEL] = "channel", [WAIT_FILELOCK] = "filelock",
	[WAIT_ONCE] = "once", [WAIT_SPINLOCK] = "spinlock",
};

const char *libc_kind_name(enum libc_kind k)
{
	return k == LIBC_GLIBC ? "glibc" : k == LIBC_MUSL ? "musl" : "unknown";
}

const char *wait_kind_name(enum wait_kind k)
{
	return (unsigned)k < WAIT__COUNT && wait_names[k] ? wait_names[k] : "unknown";
}

static const char *const finding_names[FINDING__COUNT] = {
	[FINDING_DEADLOCK] = "deadlock", [FINDING_SELF_DEADLOCK] = "self-deadlock",
	[FINDING_ABANDONED_LOCK] = "abandoned-lock", [FINDING_BLOCKING_CHAIN] = "blocking-chain",
	[FINDING_MASS_BLOCKING] = "mass-blocking", [FINDING_SIGNAL_UNSAFE] = "signal-unsafe",
};

const char *finding_kind_name(enum finding_kind k)
{
	return (unsigned)k < FINDING__COUNT ? finding_names[k] : "unknown";
}

struct snapshot *snapshot_new(enum source_kind source)
{
	struct snapshot *s = xcalloc(1, sizeof(*s));
	s->source = source;
	s->arch = arch_host();	/* a core's replaces it */
	return s;
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	free(s->warnings);
	strmap_free(&s->warning_set);
	arena_free(&s->arena);
	free(s);
}

void snapshot_warn(struct snapshot *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* The same warning from many threads (one missing library) is said once. */
	size_t seen;
	if (strmap_get(&s->warning_set, buf, &seen))
		return;
	VEC_RESERVE(s->warnings, s->warnings_cap, s->nwarnings + 1);
	s->warnings[s->nwarnings] = arena_strdup(&s->arena, buf);
	strmap_put(&s->warning_set, s->warnings[s->nwarnings], s->nwarnings);
	s->nwarnings++;
}

void snapshot_replace_warning(struct snapshot *s, size_t k, const char *text)
{
	/* the old text stays known: saying it again would repeat what this one supersedes */
	s->warnings[k] = arena_strdup(&s->arena, text);
	strmap_put(&s->warning_set, s->warnings[k], k);
}

pid_t snapshot_tid_from_target(const struct snapshot *s, pid_t tid)
{
	if (!s->ns_pid || tid <= 0)
		return tid;
	for (size_t i = 0; i < s->ntasks; i++)
		if (s->tasks[i].kind == TASK_THREAD && s->tasks[i].ns_tid == tid)
			return s->tasks[i].tid;
	for (size_t i = 0; i < s->nns_tids; i++)
		if (s->ns_tids[i].ns == tid)
			return s->ns_tids[i].host;
	return tid;
}

static int cmp_tid_task(const void *key, const void *elem)
{
	pid_t k = *(const pid_t *)key, t = ((const struct task *)elem)->tid;
	return (k > t) - (k < t);
}

struct task *snapshot_find_task(const struct snapshot *s, pid_t tid)
{
	return s->ntasks ? bsearch(&tid, s->tasks, s->ntasks, sizeof(*s->tasks), cmp_tid_task) : NULL;
}

struct module *snapshot_module_at(const struct snapshot *s, uint64_t addr)
{
	for (size_t i = 0; i < s->nmodules; i++)
		if (addr >= s->modules[i].start && addr < s->modules[i].end)
			return &s->modules[i];
	return NULL;
}

const struct module *pcsym_module(const struct snapshot *s, const struct pcsym *ps, uint64_t pc,
				  uint64_t *offset)
{
	const struct module *m = ps && ps->module ? ps->module : snapshot_module_at(s, pc);
	uint64_t addr = ps ? ps->lookup_pc : pc;
	*offset = m && addr >= m->start ? addr - m->start : 0;
	return m;
}

const char *module_basename(const struct module *m)
{
	const char *n = m && m->name ? m->name : "?";
	const char *slash = strrchr(n, '/');
	return slash && slash[1] ? slash + 1 : n;
}

static const char *const source_names[] = {
	[SYM_SYMTAB] = "symtab", [SYM_DWARF] = "dwarf", [SYM_DYNSYM] = "dynsym",
	[SYM_MINIDEBUGINFO] = "minidebuginfo",
};

const char *sym_source_name(enum sym_source src)
{
	return (unsigned)src < sizeof(source_names) / sizeof(*source_names) ? source_names[src] : "unknown";
}

static int cmp_addr_mapping(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, a = ((const struct mapping *)elem)->start;
	return (k > a) - (k < a);
}

const struct mapping *mapping_find(const struct mapping *maps, size_t n, uint64_t addr)
{
	size_t lo = upper_bound(maps, n, sizeof(*maps), &addr, cmp_addr_mapping);
	if (lo > 0 && addr < maps[lo - 1].end)
		return &maps[lo - 1];
	return NULL;
}

const struct mapping *snapshot_mapping_at(const struct snapshot *s, uint64_t addr)
{
	return mapping_find(s->maps, s->nmaps, addr);
}

/* Go orders groups by count, then by the text "@ 0x.. 0x.." compared as a string;
 * comparing the hex digits of each PC the same way reproduces that order. */
static int cmp_pc_lists(const uint64_t *a, int na, const uint64_t *b, int nb)
{
	char sa[24], sb[24];
	int n = na < nb ? na : nb;
	for (int i = 0; i < n; i++) {
		if (a[i] == b[i])
			continue;
		snprintf(sa, sizeof(sa), "%#llx", (unsigned long long)a[i]);
		snprintf(sb, sizeof(sb), "%#llx", (unsigned long long)b[i]);
		int c = strcmp(sa, sb);
		/* "0x1 " vs "0x1f": the shorter one is followed by ' ' (or ends) and sorts first */
		if (c != 0)
			return strncmp(sa, sb, strlen(sa) < strlen(sb) ? strlen(sa) : strlen(sb)) == 0
				       ? (strlen(sa) < strlen(sb) ? -1 : 1)
				       : c;
	}
	return na == nb ? 0 : (na < nb ? -1 : 1);
}

/* Go's key continues "\n# labels: {...}" after the PCs: equal stacks with other labels are
 * other groups, and the unlabelled one sorts first. */
static int cmp_labels(const struct task *a, const struct task *b)
{
	const char *la = a->go ? a->go->labels_text : NULL, *lb = b->go ? b->go->labels_text : NULL;
	if (!la || !lb)
		return (la != NULL) - (lb != NULL);
	return strcmp(la, lb);
}

/* The same PCs, one found by CFI and the other by a scan of the stack, are not the same
 * stack: a group shows one mark per frame. */
static int cmp_scan_marks(const struct task *a, const struct task *b)
{
	for (int i = 0; i < a->npcs && i < b->npcs; i++) {
		bool x = a->scanned && a->scanned[i], y = b->scanned && b->scanned[i];
		if (x != y)
			return x ? 1 : -1;
	}
	return 0;
}

static int cmp_task_stacks(const void *x, const void *y)
{
	const struct task *a = *(struct task *const *)x, *b = *(struct task *const *)y;
	int c = cmp_pc_lists(a->pcs, a->npcs, b->pcs, b->npcs);
	if (c)
		return c;
	c = cmp_scan_marks(a, b);
	if (c)
		return c;
	c = cmp_labels(a, b);
	if (c)
		return c;
	if (a->kind == TASK_GOROUTINE && b->kind == TASK_GOROUTINE)
		return (a->goid > b->goid) - (a->goid < b->goid);
	return (a->tid > b->tid) - (a->tid < b->tid);
}

static int cmp_groups(const void *x, const void *y)
{
	const struct group *a = x, *b = y;
	if (a->count != b->count)
		return b->count - a->count;
	int c = cmp_pc_lists(a->pcs, a->npcs, b->pcs, b->npcs);
	return c ? c : cmp_labels(a->tasks[0], b->tasks[0]);
}

void snapshot_group(struct snapshot *s)
{
	struct task *set = s->ngoroutines ? s->goroutines : s->tasks;
	size_t n = s->ngoroutines ? s->ngoroutines : s->ntasks;
	struct task **order = xcalloc(n ? n : 1, sizeof(*order));
	for (size_t i = 0; i < n; i++)
		order[i] = &set[i];
	qsort(order, n, sizeof(*order), cmp_task_stacks);

	struct group *g = ARENA_NEW(&s->arena, struct group, n ? n : 1);
	size_t ng = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && cmp_pc_lists(order[i]->pcs, order[i]->npcs, order[j]->pcs, order[j]->npcs) == 0 &&
		       cmp_scan_marks(order[i], order[j]) == 0 && cmp_labels(order[i], order[j]) == 0)
			j++;
		g[ng].count = (int)(j - i);
		g[ng].tasks = arena_memdup(&s->arena, &order[i], sizeof(*order) * (j - i));
		g[ng].pcs = order[i]->pcs;
		g[ng].npcs = order[i]->npcs;
		ng++;
		i = j;
	}
	qsort(g, ng, sizeof(*g), cmp_groups);
	for (size_t k = 0; k < ng; k++)
		for (int t = 0; t < g[k].count; t++)
			g[k].tasks[t]->group = (int)k;
	s->groups = g;
	s->ngroups = ng;
	free(order);
}

const struct xprocess *snapshot_foreign_thread(const struct snapshot *s, pid_t tid)
{
	for (size_t i = 0; i < s->nxprocs; i++) {
		const struct xprocess *x = &s->xprocs[i];
		if (x->target)
			continue;
		for (int k = 0; k < x->nthreads; k++)
			if (x->threads[k].tid == tid)
				return x;
	}
	return NULL;
}

void task_syscall_from_regs(struct task *t)
{
	const struct arch *a = t->regs.arch;
	long nr = a->sysnr >= 0 ? (long)t->regs.w[a->sysnr] : -1;
	t->syscall_nr = nr >= 0 ? nr : -1;
	for (int i = 0; i < 6; i++)
		t->syscall_args[i] = t->regs.w[a->args[i]];
	t->syscall_returned = false;
}

void task_syscall_from_code(struct task *t, const unsigned char *code, bool in_call_past_svc)
{
	const struct arch *a = t->regs.arch;
	t->syscall_nr = -1;
	t->syscall_returned = false;
	memset(t->syscall_args, 0, sizeof(t->syscall_args));
	if (!code || a->id != ARCH_AARCH64)
		return;
	bool at_pc = arch_is_syscall_insn(a, code + 4, 4), before = arch_is_syscall_insn(a, code, 4);
	if (!at_pc && !before)
		return;
	t->syscall_nr = syscall_from_generic((long)t->regs.a.x[8]);
	if (t->syscall_nr < 0)
		return;
	for (int i = 0; i < 6; i++)
		t->syscall_args[i] = t->regs.w[a->args[i]];
	/* -4095..-1 in x0 is an error the call returned, never an argument it was given */
	int64_t x0 = (int64_t)t->regs.a.x[0];
	if (!at_pc && (!in_call_past_svc || (x0 < 0 && x0 >= -4095))) {
		t->syscall_returned = true;
		t->syscall_args[0] = 0;
	}
}
