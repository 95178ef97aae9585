#include "report/debug1.h"
#include "report/frame_label.h"
#include "report/tabwriter.h"
#include "util/goquote.h"
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

/* Go's own writer: tabwriter.NewWriter(w, 1, 8, 1, '\t', 0) in printCountProfile. */
#define D1_MINWIDTH 1
#define D1_TABWIDTH 8
#define D1_PADDING 1

/* Beyond these a comment line would swamp the stack it annotates. */
#define MAX_LISTED_TASKS 16
#define MAX_LISTED_STATES 4

bool report_go_target(const struct snapshot *s)
{
	return s->goroutines && s->ngoroutines > 0;
}

const struct task *report_profiled_tasks(const struct snapshot *s, size_t *n)
{
	*n = report_go_target(s) ? s->ngoroutines : s->ntasks;
	return report_go_target(s) ? s->goroutines : s->tasks;
}

/* Names and paths go out verbatim unless a byte would change the grammar: a tab or newline
 * would split cells or lines, 0xff would open a tabwriter escape. */
static bool breaks_grammar(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == 0xff;
}

static void put_clean(struct tabwriter *tw, const char *s)
{
	const char *run = s;
	for (; *s; s++) {
		if (!breaks_grammar((unsigned char)*s))
			continue;
		tabwriter_write(tw, run, (size_t)(s - run));
		tabwriter_printf(tw, "\\x%02x", (unsigned char)*s);
		run = s + 1;
	}
	tabwriter_write(tw, run, (size_t)(s - run));
}

/* Thread names are arbitrary bytes; quote them as Go's %q would so a reader can split the
 * list unambiguously. */
static void put_quoted(struct tabwriter *tw, const char *s)
{
	struct arena a = { 0 };
	tabwriter_puts(tw, go_quote(&a, s, strlen(s)));
	arena_free(&a);
}

static void put_task_list(struct tabwriter *tw, const struct group *g)
{
	bool go = g->count > 0 && g->tasks[0]->kind == TASK_GOROUTINE;
	tabwriter_puts(tw, go ? "# goroutines: " : "# threads: ");
	int shown = g->count < MAX_LISTED_TASKS ? g->count : MAX_LISTED_TASKS;
	for (int i = 0; i < shown; i++) {
		const struct task *t = g->tasks[i];
		if (i)
			tabwriter_puts(tw, ", ");
		if (t->kind == TASK_GOROUTINE)
			tabwriter_printf(tw, "%" PRIu64, t->goid);
		else
			tabwriter_printf(tw, "%d", (int)t->tid);
		if (t->name) {
			tabwriter_puts(tw, " ");
			put_quoted(tw, t->name);
		}
	}
	if (shown < g->count)
		tabwriter_printf(tw, " and %d more", g->count - shown);
	tabwriter_puts(tw, "\n");
}

/* "mutex on lock_a (0x601040) held by 1234"; empty when the task has no known state. */
static void describe_state(const struct task *t, char *buf, size_t size)
{
	const struct wait *w = t->wait && t->wait->kind != WAIT_NONE ? t->wait : NULL;
	const char *state = t->state ? t->state : w ? wait_kind_name(w->kind) : NULL;
	buf[0] = 0;
	if (!state)
		return;
	size_t len = 0;
#define APPEND(...) do { \
		if (len < size) { \
			int n__ = snprintf(buf + len, size - len, __VA_ARGS__); \
			if (n__ > 0) len += (size_t)n__; \
		} } while (0)
	APPEND("%s", state);
	if (w) {
		if (w->symbol && w->address)
			APPEND(" on %s (0x%" PRIx64 ")", w->symbol, w->address);
		else if (w->symbol)
			APPEND(" on %s", w->symbol);
		else if (w->address)
			APPEND(" on 0x%" PRIx64, w->address);
		else if (w->fd >= 0 && w->fd_target)
			APPEND(" on fd %d (%s)", w->fd, w->fd_target);
		else if (w->fd >= 0)
			APPEND(" on fd %d", w->fd);
		/* a join's "owner" is the thread waited for, which holds nothing */
		if (w->owner_tid && w->kind == WAIT_JOIN)
			APPEND(" on thread %d", (int)w->owner_tid);
		else if (w->owner_tid)
			APPEND(" held by %d", (int)w->owner_tid);
		else if (w->likely_owner)
			APPEND(" likely held by %d (inferred)", (int)w->likely_owner);
		if (w->idle)
			APPEND(" (idle)");
	}
#undef APPEND
}

/* Tasks with one stack can still wait on different objects (two mutexes locked from one
 * call site), so every distinct state is named, with how many tasks are in it when they
 * differ. */
static void put_states(struct tabwriter *tw, const struct group *g)
{
	char states[MAX_LISTED_STATES][256];
	int counts[MAX_LISTED_STATES];
	int nstates = 0, without = 0, elsewhere = 0;
	char desc[256];
	for (int i = 0; i < g->count; i++) {
		describe_state(g->tasks[i], desc, sizeof(desc));
		if (!desc[0]) {
			without++;
			continue;
		}
		int k;
		for (k = 0; k < nstates; k++)
			if (strcmp(states[k], desc) == 0)
				break;
		if (k < nstates) {
			counts[k]++;
		} else if (nstates < MAX_LISTED_STATES) {
			memcpy(states[nstates], desc, sizeof(desc));
			counts[nstates++] = 1;
		} else {
			elsewhere++;
		}
	}
	if (nstates == 0)
		return;
	const char *noun = g->tasks[0]->kind == TASK_GOROUTINE ? "goroutines" : "threads";
	bool uniform = nstates == 1 && without == 0;
	for (int k = 0; k < nstates; k++) {
		tabwriter_puts(tw, "# state: ");
		put_clean(tw, states[k]);
		if (!uniform)
			tabwriter_printf(tw, " (%d of %d %s)", counts[k], g->count, noun);
		tabwriter_puts(tw, "\n");
	}
	if (elsewhere)
		tabwriter_printf(tw, "# state: %d more %s in other states\n", elsewhere, noun);
}

/* Why the threads' walks stopped early, when they did: the stack below is not all there
 * is. Threads with one stack nearly always stop for one reason; the first two are named. */
static void put_unwind_errors(struct tabwriter *tw, const struct group *g)
{
	const char *seen[2] = { NULL, NULL };
	int n = 0, with = 0;
	for (int i = 0; i < g->count; i++) {
		const struct task *t = g->tasks[i];
		if (t->kind != TASK_THREAD || !t->unwind_error)
			continue;
		with++;
		if (n < 2 && (!n || strcmp(seen[0], t->unwind_error) != 0))
			seen[n++] = t->unwind_error;
	}
	for (int k = 0; k < n; k++) {
		tabwriter_puts(tw, "# stack incomplete: ");
		put_clean(tw, seen[k]);
		if (with != g->count || n > 1)
			tabwriter_printf(tw, " (%d of %d threads stopped early)", with, g->count);
		tabwriter_puts(tw, "\n");
	}
}

static bool is_runtime(const char *name)
{
	return strncmp(name, "runtime.", 8) == 0;
}

/* Frames a scan of the stack found (unwind/scan.c) are marked, after the file:line. */
static const char *scan_mark(const struct group *g, int i)
{
	return g->count && g->tasks[0]->scanned && g->tasks[0]->scanned[i] ? " [scanned]" : "";
}

/* One pass of Go's printStackRecord over the logical frames. For goroutines (go), Go leaves
 * out runtime.goexit and, unless all, the leading runtime.* frames; an unknown PC ends the
 * hiding. Returns how many lines it wrote (or would write, if !tw). */
static int put_frames(struct tabwriter *tw, const struct snapshot *s, const struct group *g, bool go, bool all)
{
	const struct pcsym *const *syms = g->count ? g->tasks[0]->syms : NULL;
	bool show = all;
	int lines = 0;
	struct arena a = { 0 };
	for (int i = 0; i < g->npcs; i++) {
		const struct pcsym *ps = syms ? syms[i] : NULL;
		if (!ps || ps->nframes == 0) {
			/* As Go prints a PC it has no name for, the address alone; where it is in
			 * a module, that place in the function's column. */
			show = true;
			lines++;
			const char *where = tw ? frame_where(s, ps, g->pcs[i], &a) : NULL;
			if (where) {
				tabwriter_printf(tw, "#\t0x%" PRIx64 "\t", ps ? ps->lookup_pc : g->pcs[i]);
				put_clean(tw, where);
				tabwriter_printf(tw, "\t?:0%s\n", scan_mark(g, i));
			} else if (tw) {
				tabwriter_printf(tw, "#\t0x%" PRIx64 "\n", g->pcs[i]);
			}
			continue;
		}
		bool said_unknown = false;
		for (int k = 0; k < ps->nframes; k++) {
			const struct sym_frame *f = &ps->frames[k];
			if (!frame_named(f)) {
				/* no name, or only a guess: once per PC, the module and offset */
				show = true;
				if (said_unknown)
					continue;
				said_unknown = true;
			} else if (go && (strcmp(f->function, "runtime.goexit") == 0 || (!show && is_runtime(f->function)))) {
				continue;
			}
			show = true;
			lines++;
			if (!tw)
				continue;
			if (!frame_named(f) && !frame_where(s, ps, g->pcs[i], &a)) {
				tabwriter_printf(tw, "#\t0x%" PRIx64 "\n", ps->pc);	/* in no module */
				continue;
			}
			tabwriter_printf(tw, "#\t0x%" PRIx64 "\t", ps->lookup_pc);
			put_clean(tw, frame_label(s, ps, g->pcs[i], f, true, &a));
			tabwriter_puts(tw, "\t");
			if (f->file)
				put_clean(tw, f->file);
			else
				tabwriter_puts(tw, "?");	/* Go's name for a file it does not know */
			tabwriter_printf(tw, ":%d%s\n", f->line, scan_mark(g, i));
		}
	}
	arena_free(&a);
	return lines;
}

static void put_group(struct tabwriter *tw, const struct snapshot *s, const struct group *g, bool thread_comments)
{
	tabwriter_printf(tw, "%d @", g->count);
	for (int i = 0; i < g->npcs; i++)
		tabwriter_printf(tw, " 0x%" PRIx64, g->pcs[i]);
	tabwriter_puts(tw, "\n");
	/* Go's pprof labels, part of the group's key; already %q-quoted, so free of tabs. */
	const struct goroutine_info *gi = g->count > 0 ? g->tasks[0]->go : NULL;
	if (gi && gi->labels_text)
		tabwriter_printf(tw, "# labels: %s\n", gi->labels_text);
	if (thread_comments && g->count > 0) {
		put_task_list(tw, g);
		put_states(tw, g);
		put_unwind_errors(tw, g);
	}
	/* Go's hiding is for goroutines, whose stacks begin in the scheduler; a native thread's
	 * innermost frames are exactly what the reader needs. */
	bool go = g->count > 0 && g->tasks[0]->kind == TASK_GOROUTINE;
	/* If hiding would leave nothing, Go prints the record again with its runtime frames. */
	bool all = !go || put_frames(NULL, s, g, true, false) == 0;
	put_frames(tw, s, g, go, all);
	tabwriter_puts(tw, "\n");
}

void report_debug1_groups(FILE *out, const struct snapshot *s, bool thread_comments)
{
	struct tabwriter *tw = tabwriter_new(out, D1_MINWIDTH, D1_TABWIDTH, D1_PADDING, '\t');
	for (size_t i = 0; i < s->ngroups; i++)
		put_group(tw, s, &s->groups[i], thread_comments);
	tabwriter_flush(tw);
	tabwriter_free(tw);
}

int report_goroutine(FILE *out, const struct snapshot *s, struct err *e)
{
	size_t total = 0;
	for (size_t i = 0; i < s->ngroups; i++)
		total += (size_t)s->groups[i].count;
	/* The header has no tab, so writing it around the tabwriter pads nothing differently. */
	fprintf(out, "%s profile: total %zu\n", report_go_target(s) ? "goroutine" : "threads", total);
	report_debug1_groups(out, s, false);
	if (fflush(out) == EOF || ferror(out))
		return err_set(e, ERR_FAIL, "goroutine profile: cannot write the output");
	return 0;
}
