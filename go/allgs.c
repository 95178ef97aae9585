/* The goroutines: runtime.allgs (allglen/allgptr), each g decoded with the layout from the
 * type descriptors, dead and system goroutines left out as Go's goroutine profile leaves
 * them out, then each unwound from where the runtime would start (the thread's registers
 * for a running goroutine, syscallpc/sp in a syscall, g.sched otherwise). Every g and every
 * stack top is fetched in a few coalesced reads before any of them is decoded. */
#include "go/internal.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

#define MAX_GS 10000000ull
#define G_SCAN 0x1000
#define G_RUNNING 2
#define G_SYSCALL 3
#define G_WAITING 4
#define G_DEAD 6
#define G_LEAKED 10	/* Go 1.26+: a leaked goroutine the GC found; still in the profile */
#define G_DEADEXTRA 11	/* Go 1.26+: dead, kept for an extra M's cgo callbacks */
#define G_MAXSTATUS 11
#define STACK_PREFETCH (64u << 10)
#define G_GAP 4096
#define STACK_GAP 4096

static const char *const gstatus_names[] = {
	"idle", "runnable", "running", "syscall", "waiting", "moribund", "dead", "enqueue", "copystack", "preempted",
	"leaked", "waiting for cgo callback",
};

static bool is_dead(uint32_t status)
{
	return status == G_DEAD || status == G_DEADEXTRA;
}

struct graw {
	uint64_t gp, goid, m, lo, hi, pc, sp, lr, startpc, gopc, waitsince, lockedm, labels, waiting, parent;
	uint32_t status;
	uint8_t reason;
	bool trap, syscall, scan, nostack, badsp;
	pid_t tid;
};

static bool starts_with(const char *s, const char *p)
{
	return s && strncmp(s, p, strlen(p)) == 0;
}

/* runtime.isSystemGoroutine as the goroutine profile applies it (fixed=false). */
static bool is_system(struct goreader *r, uint64_t startpc)
{
	struct go_func f;
	if (!go_findfunc(r, startpc, &f))
		return false;
	if (f.entry == r->f_runtime_main || f.entry == r->f_handleasync || (r->f_corostart && f.entry == r->f_corostart))
		return false;
	if (r->f_runfinq && f.entry == r->f_runfinq) {
		/* the finalizer goroutine counts while it runs user finalizers */
		uint32_t v = 0;
		if (r->fing_kind == 1 && go_read(r, r->fing_addr, &v, 1))
			return (v & 0xff) == 0;
		if (r->fing_kind == 2 && go_u32(r, r->fing_addr, &v))
			return (v & 2) == 0;	/* fingRunningFinalizer */
		return true;
	}
	return starts_with(go_funcname(r, f.nameoff), "runtime.");
}

static const struct task *thread_of(const struct snapshot *s, pid_t tid)
{
	for (size_t i = 0; i < s->ntasks; i++)
		if (s->tasks[i].tid == tid && s->tasks[i].kind == TASK_THREAD)
			return &s->tasks[i];
	return NULL;
}

static bool decode_g(struct goreader *r, uint64_t gp, const unsigned char *b, struct graw *g)
{
	const struct go_layout *L = &r->L;
	memset(g, 0, sizeof(*g));
	g->gp = gp;
	uint32_t st = go_le32(b + L->g_status);
	g->scan = (st & G_SCAN) != 0;
	g->status = st & ~(uint32_t)G_SCAN;
	g->goid = go_le64(b + L->g_goid);
	g->lo = go_le64(b + L->g_stack_lo);
	g->hi = go_le64(b + L->g_stack_hi);
	g->m = go_le64(b + L->g_m);
	g->startpc = go_le64(b + L->g_startpc);
	g->gopc = go_le64(b + L->g_gopc);
	g->reason = b[L->g_waitreason];
	g->waitsince = L->g_waitsince != GO_NOFIELD ? go_le64(b + L->g_waitsince) : 0;
	g->lockedm = L->g_lockedm != GO_NOFIELD ? go_le64(b + L->g_lockedm) : 0;
	g->labels = L->g_labels != GO_NOFIELD ? go_le64(b + L->g_labels) : 0;
	g->waiting = L->g_waiting != GO_NOFIELD ? go_le64(b + L->g_waiting) : 0;
	g->parent = L->g_parentgoid != GO_NOFIELD ? go_le64(b + L->g_parentgoid) : 0;
	/* implausible g: a layout that does not fit this binary must not print garbage (dead
	 * goroutines may have given their stack back) */
	return g->status <= G_MAXSTATUS && (is_dead(g->status) || (g->lo < g->hi && g->hi - g->lo <= (1ull << 30)));
}

/* Where Go would start this goroutine's traceback. */
static void start_point(struct goreader *r, const unsigned char *b, struct graw *g)
{
	const struct go_layout *L = &r->L;
	uint64_t procid = 0;
	if (g->m && go_u64(r, g->m + L->m_procid, &procid) && procid > 0 && procid < 0x7fffffff)
		g->tid = (pid_t)procid;
	if (g->status == G_RUNNING && g->tid) {
		const struct task *th = thread_of(r->s, g->tid);
		if (th && th->have_regs && regs_sp(&th->regs) >= g->lo && regs_sp(&th->regs) < g->hi) {
			g->pc = regs_pc(&th->regs);
			g->sp = regs_sp(&th->regs);
			g->lr = th->regs.arch->lr >= 0 ? th->regs.w[th->regs.arch->lr] : 0;
			g->trap = true;
			return;
		}
		if (r->t->opts && r->t->opts->no_stop) {
			/* running on a CPU right now: its saved context is stale, and nothing stopped it */
			g->nostack = true;
			return;
		}
	}
	uint64_t ssp = go_le64(b + L->g_syscallsp);
	if (ssp) {
		g->pc = go_le64(b + L->g_syscallpc);
		g->sp = ssp;
		g->syscall = true;
		return;
	}
	g->pc = go_le64(b + L->g_sched_pc);
	g->sp = go_le64(b + L->g_sched_sp);
	g->lr = L->g_sched_lr ? go_le64(b + L->g_sched_lr) : 0;
}

static int cmp_goid(const void *a, const void *b)
{
	const struct task *x = a, *y = b;
	return (x->goid > y->goid) - (x->goid < y->goid);
}

static int cmp_gidx(const void *a, const void *b)
{
	const struct go_gidx *x = a, *y = b;
	return (x->g > y->g) - (x->g < y->g);
}

struct task *go_task_by_g(const struct goreader *r, uint64_t g)
{
	struct go_gidx key = { .g = g };
	const struct go_gidx *x = r->ngidx ? bsearch(&key, r->gidx, r->ngidx, sizeof(*r->gidx), cmp_gidx) : NULL;
	return x ? x->t : NULL;
}

/* Goroutines inherit their parent's labels pointer: decode each map once. */
struct label_memo {
	uint64_t ptr;
	struct goroutine_info *gi;
};

static void labels_for(struct goreader *r, uint64_t ptr, struct goroutine_info *gi, struct label_memo *memo,
		       size_t cap)
{
	if (!ptr)
		return;
	size_t h = (size_t)((ptr * 0x9e3779b97f4a7c15ull) >> 40) & (cap - 1);
	for (size_t probes = 0; probes < cap; probes++, h = (h + 1) & (cap - 1)) {
		if (memo[h].ptr == ptr) {
			gi->labels = memo[h].gi->labels;
			gi->nlabels = memo[h].gi->nlabels;
			gi->labels_text = memo[h].gi->labels_text;
			return;
		}
		if (!memo[h].ptr) {
			go_read_labels(r, ptr, gi);
			memo[h] = (struct label_memo){ ptr, gi };
			return;
		}
	}
	go_read_labels(r, ptr, gi);
}

static void created_by(struct goreader *r, const struct graw *g, struct goroutine_info *gi)
{
	struct go_func f;
	/* the main goroutine has no creator Go would name */
	if (g->goid == 1 || !g->gopc || !go_findfunc(r, g->gopc, &f))
		return;
	/* the symbols of gopc are those of its call (gopc-1), which is what Go prints */
	const struct pcsym *ps = go_symbolize(r, g->gopc);
	if (!ps->nframes)
		return;
	const struct sym_frame *fr = &ps->frames[0];
	gi->created_by = !fr->inlined ? fr->function : arena_strdup(&r->s->arena, go_funcname(r, f.nameoff));
	gi->created_file = fr->file;
	gi->created_line = fr->line;
	gi->created_off = g->gopc - f.entry;
	gi->parent_goid = g->parent;
}

static const char *status_text(struct goreader *r, const struct graw *g)
{
	if ((g->status == G_WAITING || g->status == G_LEAKED) && g->reason) {
		const char *why = g->reason < r->nwaitreasons
					  ? r->waitreasons[g->reason]
					  : arena_printf(&r->s->arena, "waiting (reason %u)", g->reason);
		/* as Go's traceback: "[chan send (leaked)" */
		return g->status == G_LEAKED ? arena_printf(&r->s->arena, "%s (leaked)", why) : why;
	}
	return g->status < sizeof(gstatus_names) / sizeof(*gstatus_names) ? gstatus_names[g->status] : "???";
}

/* Each physical frame's argument words, read now (the stack is the target's), at the PC Go
 * evaluates their liveness at: from Go 1.21 (runtime.(*unwinder)) that of the frame's
 * innermost inlined call, its first entry here; before, the frame's own (outermost) PC. */
static void frame_args(struct goreader *r, const struct task *t, struct goroutine_info *gi, const uint64_t *argps)
{
	if (t->npcs <= 0)
		return;
	gi->args = ARENA_NEW(&r->s->arena, const char *, t->npcs);
	int first = 0;
	for (int k = 0; k < t->npcs; k++) {
		const struct pcsym *ps = t->syms[k];
		if (!ps || !ps->nframes)
			continue;
		if (k == 0 || !t->syms[k - 1] || !t->syms[k - 1]->nframes || !t->syms[k - 1]->frames[0].inlined ||
		    t->syms[k - 1]->frames[0].func_entry != ps->frames[0].func_entry)
			first = k;
		if (ps->frames[0].inlined)
			continue;
		gi->args[k] = go_args_text(r, t->syms[r->unwinder ? first : k]->lookup_pc, argps[k]);
	}
}

int go_read_goroutines(struct goreader *r, struct err *e)
{
	struct snapshot *s = r->s;
	const struct go_layout *L = &r->L;
	uint64_t n, arr;
	if (!go_u64(r, r->allglen_addr, &n) || !go_u64(r, r->allgptr_addr, &arr))
		return err_set(e, ERR_FAIL, "runtime.allgs: cannot read allglen/allgptr");
	if (n == 0 || n > MAX_GS || !arr)
		return err_set(e, ERR_FAIL, "runtime.allgs: implausible length %llu", (unsigned long long)n);
	uint64_t *gps = xmalloc((size_t)n * 8);
	if (!go_read(r, arr, gps, (size_t)n * 8)) {
		free(gps);
		return err_set(e, ERR_FAIL, "runtime.allgs: cannot read the %llu-entry array", (unsigned long long)n);
	}
	struct go_range *rg = xmalloc(sizeof(*rg) * (size_t)n);
	size_t nr = 0;
	for (uint64_t i = 0; i < n; i++)
		if (gps[i])
			rg[nr++] = (struct go_range){ gps[i], gps[i] + L->g_size };
	go_prefetch(r, rg, nr, G_GAP);

	struct graw *gs = xcalloc((size_t)n, sizeof(*gs));
	unsigned char *gb = xmalloc((size_t)L->g_size);
	size_t ng = 0, bad = 0;
	nr = 0;
	for (uint64_t i = 0; i < n; i++) {
		struct graw *g = &gs[ng];
		if (!gps[i] || !go_read(r, gps[i], gb, (size_t)L->g_size) || !decode_g(r, gps[i], gb, g)) {
			bad++;
			continue;
		}
		if (is_dead(g->status) || is_system(r, g->startpc))
			continue;
		start_point(r, gb, g);
		if (!g->nostack && (g->sp < g->lo || g->sp >= g->hi)) {
			/* a stack pointer outside the goroutine's stack is no place to start */
			g->badsp = true;
		} else if (g->sp && !g->nostack) {
			uint64_t top = g->hi > g->sp && g->hi - g->sp < STACK_PREFETCH ? g->hi : g->sp + STACK_PREFETCH;
			rg[nr++] = (struct go_range){ g->sp, top };
		}
		ng++;
	}
	free(gb);
	free(gps);
	if (bad > n / 2 + 1) {
		free(gs);
		free(rg);
		return err_set(e, ERR_FAIL, "runtime.allgs: %zu of %llu goroutines unreadable or implausible; "
			       "the runtime layout does not fit", bad, (unsigned long long)n);
	}
	if (bad)
		snapshot_warn(s, "goroutines: %zu entries of runtime.allgs could not be read", bad);
	r->allglen = n;
	r->unreadable = bad;
	go_prefetch(r, rg, nr, STACK_GAP);
	free(rg);

	struct task *tasks = ARENA_NEW(&s->arena, struct task, ng ? ng : 1);
	struct goroutine_info *infos = ARENA_NEW(&s->arena, struct goroutine_info, ng ? ng : 1);
	uint64_t *pcbuf = xmalloc(sizeof(uint64_t) * (size_t)(r->max_depth > 0 ? r->max_depth : 1));
	uint64_t *argps = xmalloc(sizeof(uint64_t) * (size_t)(r->max_depth > 0 ? r->max_depth : 1));
	r->unwind_argps = argps;
	size_t memocap = 1024;
	while (memocap < ng * 2)
		memocap *= 2;
	struct label_memo *memo = xcalloc(memocap, sizeof(*memo));
	size_t unwind_errors = 0;
	for (size_t i = 0; i < ng; i++) {
		const struct graw *g = &gs[i];
		struct task *t = &tasks[i];
		struct goroutine_info *gi = &infos[i];
		t->kind = TASK_GOROUTINE;
		t->goid = g->goid;
		t->tid = g->tid;
		t->kstate = '?';
		t->syscall_nr = -1;
		t->go = gi;
		gi->g = g->gp;
		gi->scan = g->scan;
		gi->status = status_text(r, g);
		gi->wait_reason = g->status == G_WAITING && g->reason ? gi->status : NULL;
		gi->locked_to_thread = g->lockedm != 0;
		gi->wait_minutes = -1;
		if (r->now_ns && g->waitsince && (g->status == G_WAITING || g->status == G_SYSCALL) &&
		    r->now_ns >= g->waitsince)
			gi->wait_minutes = (int64_t)((r->now_ns - g->waitsince) / 60000000000ull);
		t->state = gi->status;
		created_by(r, g, gi);
		labels_for(r, g->labels, gi, memo, memocap);

		struct go_unwind_result ur = { .error = g->badsp ? "its stack pointer lies outside its stack"
								  : "running, and not stopped (--no-stop): no stack" };
		if (!g->nostack && !g->badsp)
			go_unwind(r, g->pc, g->sp, g->lr, g->trap, g->syscall, pcbuf, r->max_depth, &ur);
		t->npcs = ur.n;
		t->truncated = ur.truncated;
		t->unwind_error = ur.error;
		if (ur.error && !g->nostack)
			unwind_errors++;
		t->pcs = arena_memdup(&s->arena, pcbuf, sizeof(uint64_t) * (size_t)(ur.n ? ur.n : 1));
		t->syms = ARENA_NEW(&s->arena, const struct pcsym *, ur.n ? ur.n : 1);
		for (int k = 0; k < ur.n; k++)
			t->syms[k] = go_symbolize(r, pcbuf[k]);
		frame_args(r, t, gi, argps);
	}
	r->unwind_argps = NULL;
	free(argps);
	free(memo);
	free(pcbuf);
	free(gs);
	if (unwind_errors)
		snapshot_warn(s, "goroutines: %zu stacks could not be walked to their end", unwind_errors);
	qsort(tasks, ng, sizeof(*tasks), cmp_goid);
	r->gs = tasks;
	r->ngs = ng;
	r->gidx = xmalloc(sizeof(*r->gidx) * (ng ? ng : 1));
	for (size_t i = 0; i < ng; i++)
		r->gidx[i] = (struct go_gidx){ tasks[i].go->g, &tasks[i] };
	r->ngidx = ng;
	qsort(r->gidx, ng, sizeof(*r->gidx), cmp_gidx);
	return 0;
}
