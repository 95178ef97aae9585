/* The goroutine?debug=1 writer and its tabwriter against Go's own output: the fixtures in
 * tests/fixtures/go are re-padded and rebuilt from a snapshot and must come out byte for
 * byte; hand-made snapshots check the thread comments and native-thread rules. */
#include "unit.h"
#include "synthetic.h"
#include "model/snapshot.h"
#include "report/debug1.h"
#include "report/report.h"
#include "report/tabwriter.h"
#include "util/arena.h"
#include <glob.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ---- */

static char *render_groups(const struct snapshot *s, bool comments)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	report_debug1_groups(f, s, comments);
	fclose(f);
	return buf;
}

static char *render_goroutine(const struct snapshot *s, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct err e = { 0 };
	*rc = report_goroutine(f, s, &e);
	fclose(f);
	return buf;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (*len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
		}
		size_t n = fread(buf + *len, 1, cap - *len - 1, f);
		if (n == 0)
			break;
		*len += n;
	}
	fclose(f);
	buf[*len] = 0;
	return buf;
}

static void check_same(const char *what, const char *got, const char *want)
{
	CHECKF(strcmp(got, want) == 0, "%s differs:\n--- got ---\n%s--- want ---\n%s", what, got, want);
}

/* ---- tabwriter against the fixtures ---- */

static const char *fixture_dir(void)
{
	const char *d = getenv("CHANG_GO_FIXTURES");
	return d ? d : "tests/fixtures/go";
}

/* Go pads with runs of tabs and no fixture cell is empty, so collapsing each run to one tab
 * gives back exactly what Go's printCountProfile wrote into its tabwriter. */
static char *unpad(const char *text)
{
	char *out = malloc(strlen(text) + 1), *o = out;
	for (const char *p = text; *p; p++) {
		if (*p == '\t' && o > out && o[-1] == '\t')
			continue;
		*o++ = *p;
	}
	*o = 0;
	return out;
}

static int glob_fixtures(glob_t *g)
{
	char pat[4096];
	snprintf(pat, sizeof(pat), "%s/*/goroutine.debug1.txt", fixture_dir());
	int rc = glob(pat, 0, NULL, g);
	snprintf(pat, sizeof(pat), "%s/*/go1.*/goroutine.debug1.txt", fixture_dir());
	glob(pat, rc == 0 ? GLOB_APPEND : 0, NULL, g);
	return (int)g->gl_pathc;
}

static void test_tabwriter_fixtures(void)
{
	glob_t g;
	memset(&g, 0, sizeof(g));
	if (glob_fixtures(&g) == 0) {
		UNIT_SKIP("no Go fixtures under %s: tabwriter round-trip skipped", fixture_dir());
		return;
	}
	int repadded = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		size_t len;
		char *want = read_file(g.gl_pathv[i], &len);
		CHECKF(want != NULL, "cannot read %s", g.gl_pathv[i]);
		if (!want)
			continue;
		char *plain = unpad(want);
		repadded += strcmp(plain, want) != 0;

		/* all at once, then line by line, then in odd-sized pieces: the same bytes */
		for (int mode = 0; mode < 3; mode++) {
			char *got = NULL;
			size_t glen = 0;
			FILE *f = open_memstream(&got, &glen);
			struct tabwriter *tw = tabwriter_new(f, 1, 8, 1, '\t');
			size_t n = strlen(plain);
			if (mode == 0) {
				tabwriter_write(tw, plain, n);
			} else if (mode == 1) {
				for (const char *p = plain; *p;) {
					const char *nl = strchr(p, '\n');
					size_t l = nl ? (size_t)(nl - p + 1) : strlen(p);
					tabwriter_write(tw, p, l);
					p += l;
				}
			} else {
				for (size_t off = 0; off < n; off += 7)
					tabwriter_write(tw, plain + off, n - off < 7 ? n - off : 7);
			}
			CHECK(tabwriter_flush(tw) == 0);
			tabwriter_free(tw);
			fclose(f);
			CHECKF(glen == len && memcmp(got, want, len) == 0, "%s: re-padded text differs (mode %d)",
			       g.gl_pathv[i], mode);
			free(got);
		}
		free(plain);
		free(want);
	}
	CHECKF(repadded > 0, "no fixture had padding to reproduce");
	globfree(&g);
}

/* ---- the whole debug=1 writer against the fixtures ---- */

struct fx_frame {
	uint64_t pc;		/* as printed: the symbolized address */
	char *function, *file;
	uint64_t offset;
	int line;
};

struct fx_group {
	int count;
	uint64_t *pcs;
	int npcs;
	struct fx_frame *frames;
	int nframes;
	bool labelled;
	char *text;		/* the block as Go wrote it, with its blank line */
};

static bool parse_frame(char *line, struct fx_frame *fr)
{
	/* "#\t0xPC\tFUNC+0xOFF\tFILE:LINE" with the padding tabs collapsed */
	char *p = line + 2, *tab = strchr(p, '\t');
	if (!tab)
		return false;
	*tab = 0;
	fr->pc = strtoull(p, NULL, 16);
	char *fn = tab + 1, *tab2 = strchr(fn, '\t');
	if (!tab2)
		return false;
	*tab2 = 0;
	char *plus = strstr(fn, "+0x"), *last = plus;
	while (plus) {
		last = plus;
		plus = strstr(plus + 1, "+0x");
	}
	if (!last)
		return false;
	*last = 0;
	fr->function = strdup(fn);
	fr->offset = strtoull(last + 3, NULL, 16);
	char *file = tab2 + 1, *colon = strrchr(file, ':');
	if (!colon)
		return false;
	*colon = 0;
	fr->file = strdup(file);
	fr->line = atoi(colon + 1);
	return true;
}

/* Splits a debug=1 file into its groups; returns the count, or -1 if it does not parse. */
static int parse_debug1(const char *text, struct fx_group **out, long *total)
{
	char *copy = unpad(text);
	int n = 0, cap = 0;
	struct fx_group *gs = NULL;
	char *save = NULL, *line = strtok_r(copy, "\n", &save);
	if (!line || sscanf(line, "goroutine profile: total %ld", total) != 1) {
		free(copy);
		return -1;
	}
	/* strtok_r drops empty lines; blocks are rebuilt from the parts instead */
	const char *block = strchr(text, '\n') + 1;
	for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, " @") && line[0] != '#') {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				gs = realloc(gs, sizeof(*gs) * (size_t)cap);
			}
			struct fx_group *g = &gs[n++];
			memset(g, 0, sizeof(*g));
			g->count = atoi(line);
			g->pcs = calloc(strlen(line), sizeof(uint64_t));
			for (char *p = strchr(line, '@') + 1; *p;) {
				char *end;
				uint64_t pc = strtoull(p, &end, 16);
				if (end == p)
					break;
				g->pcs[g->npcs++] = pc;
				p = end;
			}
			g->frames = calloc(64, sizeof(*g->frames));
			const char *next = strstr(block, "\n\n");
			if (!next) {
				free(copy);
				return -1;
			}
			g->text = strndup(block, (size_t)(next + 2 - block));
			block = next + 2;
		} else if (n && strncmp(line, "# labels:", 9) == 0) {
			gs[n - 1].labelled = true;
		} else if (n && line[0] == '#' && line[1] == '\t') {
			struct fx_group *g = &gs[n - 1];
			if (g->nframes == 64 || !parse_frame(line, &g->frames[g->nframes++])) {
				free(copy);
				return -1;
			}
		}
	}
	free(copy);
	*out = gs;
	return n;
}

/* Rebuilds each group as goroutines whose PCs symbolize as the "#" lines say: a PC with no
 * "#" line was hidden by Go, so it gets a runtime name (the last one is runtime.goexit), and
 * the writer must hide exactly those again. */
static void test_debug1_fixture(const char *path)
{
	size_t len;
	char *text = read_file(path, &len);
	CHECKF(text != NULL, "cannot read %s", path);
	if (!text)
		return;
	struct fx_group *gs = NULL;
	long total = 0;
	int ng = parse_debug1(text, &gs, &total);
	CHECKF(ng > 0, "%s does not parse", path);
	if (ng <= 0) {
		free(text);
		return;
	}

	struct snapshot *s = snapshot_new(SOURCE_CORE);
	size_t ntasks = 0;
	long sum = 0;
	for (int i = 0; i < ng; i++) {
		sum += gs[i].count;
		if (!gs[i].labelled)
			ntasks += (size_t)gs[i].count;
	}
	CHECKF(sum == total, "%s: counts add up to %ld, header says %ld", path, sum, total);
	s->goroutines = ARENA_NEW(&s->arena, struct task, ntasks);
	uint64_t goid = 1;
	for (int i = 0; i < ng; i++) {
		struct fx_group *g = &gs[i];
		if (g->labelled)
			continue;	/* the model has no pprof labels; Go keys these groups apart */
		const struct pcsym **syms = ARENA_NEW(&s->arena, const struct pcsym *, g->npcs);
		int f = 0;
		for (int k = 0; k < g->npcs; k++) {
			uint64_t pc = g->pcs[k];
			if (f < g->nframes && (g->frames[f].pc == pc - 1 || g->frames[f].pc == pc)) {
				struct fx_frame *fr = &g->frames[f++];
				struct sym_frame sf = frame(fr->function, fr->file, fr->line, fr->pc - fr->offset, false);
				syms[k] = mk_pcsym(s, pc, fr->pc, NULL, 1, &sf);
			} else {
				struct sym_frame sf = frame(k == g->npcs - 1 ? "runtime.goexit" : "runtime.hidden",
							    "/usr/lib/go/src/runtime/x.go", 1, pc - 1, false);
				syms[k] = mk_pcsym(s, pc, pc - 1, NULL, 1, &sf);
			}
		}
		CHECKF(f == g->nframes, "%s: group %d: %d of %d frame lines matched to PCs", path, i, f, g->nframes);
		for (int t = 0; t < g->count; t++) {
			struct task *tk = &s->goroutines[s->ngoroutines++];
			tk->kind = TASK_GOROUTINE;
			tk->goid = goid++;
			tk->tid = (pid_t)tk->goid;
			set_stack(s, tk, g->npcs, syms);
		}
	}
	snapshot_group(s);

	char *want = NULL;
	size_t wlen = 0;
	FILE *wf = open_memstream(&want, &wlen);
	fprintf(wf, "goroutine profile: total %zu\n", ntasks);
	for (int i = 0; i < ng; i++)
		if (!gs[i].labelled)
			fputs(gs[i].text, wf);
	fclose(wf);
	int rc;
	char *got = render_goroutine(s, &rc);
	CHECK(rc == 0);
	CHECKF(strcmp(got, want) == 0, "%s: rebuilt profile differs:\n--- got ---\n%s--- want ---\n%s", path, got, want);

	free(got);
	free(want);
	for (int i = 0; i < ng; i++) {
		for (int k = 0; k < gs[i].nframes; k++) {
			free(gs[i].frames[k].function);
			free(gs[i].frames[k].file);
		}
		free(gs[i].frames);
		free(gs[i].pcs);
		free(gs[i].text);
	}
	free(gs);
	free(text);
	snapshot_free(s);
}

static void test_debug1_fixtures(void)
{
	glob_t g;
	memset(&g, 0, sizeof(g));
	if (glob_fixtures(&g) == 0) {
		UNIT_SKIP("no Go fixtures under %s: debug=1 rebuild skipped", fixture_dir());
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++)
		test_debug1_fixture(g.gl_pathv[i]);
	globfree(&g);
}

/* ---- native threads, built by hand ---- */

static struct module mods[2];

static struct snapshot *native_snapshot(void)
{
	struct snapshot *s = snapshot_new(SOURCE_ATTACH);
	mods[0] = (struct module){ .name = "/lib/x86_64-linux-gnu/libc.so.6", .start = 0x7f0000000000,
				   .end = 0x7f0000200000 };
	mods[1] = (struct module){ .name = "/usr/bin/app", .start = 0x400000, .end = 0x500000 };
	s->modules = mods;
	s->nmodules = 2;
	s->executable = "/usr/bin/app";
	s->pid = 100;

	struct sym_frame f_lock = frame("__lll_lock_wait", NULL, 0, 0x7f0000011200, false);
	struct sym_frame f_mutex = frame("pthread_mutex_lock", NULL, 0, 0x7f0000022300, false);
	struct sym_frame f_worker[2] = { frame("take_lock", "/src/app/app.c", 12, 0x401200, true),
					 frame("worker", "/src/app/app.c", 40, 0x401200, false) };
	struct sym_frame f_start = frame("start_thread", NULL, 0, 0x7f0000033400, false);
	struct sym_frame f_futex = frame("__futex_abstimed_wait_common", "./nptl/futex-internal.c", 57,
					 0x7f0000044500, false);
	struct sym_frame f_main = frame("main", "/src/app/app.c", 77, 0x401380, false);
	struct sym_frame f_cxx = frame("ns::Pool::run(int)", "/src/app/pool.cc", 9, 0x401480, false);
	f_cxx.mangled = "_ZN2ns4Pool3runEi";

	const struct pcsym *lock = mk_pcsym(s, 0x7f0000011234, 0x7f0000011234, &mods[0], 1, &f_lock);
	const struct pcsym *mutex = mk_pcsym(s, 0x7f0000022345, 0x7f0000022344, &mods[0], 1, &f_mutex);
	const struct pcsym *worker = mk_pcsym(s, 0x401234, 0x401233, &mods[1], 2, f_worker);
	const struct pcsym *start = mk_pcsym(s, 0x7f0000033456, 0x7f0000033455, &mods[0], 1, &f_start);
	const struct pcsym *futex = mk_pcsym(s, 0x7f0000044567, 0x7f0000044567, &mods[0], 1, &f_futex);
	const struct pcsym *mainp = mk_pcsym(s, 0x401400, 0x4013ff, &mods[1], 1, &f_main);
	const struct pcsym *unknown = mk_pcsym(s, 0xdead0000, 0xdead0000, NULL, 0, NULL);
	const struct pcsym *cxx = mk_pcsym(s, 0x401500, 0x4014ff, &mods[1], 1, &f_cxx);

	s->ntasks = 4;
	s->tasks = ARENA_NEW(&s->arena, struct task, 4);
	const struct pcsym *st_worker[] = { lock, mutex, worker, start };
	const struct pcsym *st_main[] = { futex, mainp };
	const struct pcsym *st_pool[] = { unknown, cxx, start };
	struct task *t = s->tasks;
	t[0] = (struct task){ .tid = 100, .name = "worker", .state = "mutex" };
	t[1] = (struct task){ .tid = 101, .name = "worker", .state = "mutex" };
	t[2] = (struct task){ .tid = 102, .name = "main", .state = "join" };
	t[3] = (struct task){ .tid = 103, .name = "pool" };
	set_stack(s, &t[0], 4, st_worker);
	set_stack(s, &t[1], 4, st_worker);
	set_stack(s, &t[2], 2, st_main);
	set_stack(s, &t[3], 3, st_pool);
	struct wait *w = ARENA_NEW(&s->arena, struct wait, 3);
	w[0] = (struct wait){ .kind = WAIT_MUTEX, .address = 0x404040, .symbol = "lock_a", .owner_tid = 101,
			      .owner_known = true, .fd = -1 };
	w[1] = (struct wait){ .kind = WAIT_MUTEX, .address = 0x404080, .symbol = "lock_b", .owner_tid = 100,
			      .owner_known = true, .fd = -1 };
	w[2] = (struct wait){ .kind = WAIT_JOIN, .owner_tid = 100, .owner_known = true, .fd = -1 };
	t[0].wait = &w[0];
	t[1].wait = &w[1];
	t[2].wait = &w[2];
	snapshot_group(s);
	return s;
}

/* Worked out from Go's rules: a column is max(len)+1 rounded up to 8, and a cell is padded
 * with ceil((width-len)/8) tabs; "#\t0xdead0000" has a cell only in column 0. */
static const char native_groups[] =
	"2 @ 0x7f0000011234 0x7f0000022345 0x401234 0x7f0000033456\n"
	"#\t0x7f0000011234\t__lll_lock_wait+0x34\t?:0\n"
	"#\t0x7f0000022344\tpthread_mutex_lock+0x44\t?:0\n"
	"#\t0x401233\ttake_lock+0x33\t\t/src/app/app.c:12\n"
	"#\t0x401233\tworker+0x33\t\t/src/app/app.c:40\n"
	"#\t0x7f0000033455\tstart_thread+0x55\t?:0\n"
	"\n"
	"1 @ 0x7f0000044567 0x401400\n"
	"#\t0x7f0000044567\t__futex_abstimed_wait_common+0x67\t./nptl/futex-internal.c:57\n"
	"#\t0x4013ff\tmain+0x7f\t\t\t\t/src/app/app.c:77\n"
	"\n"
	"1 @ 0xdead0000 0x401500 0x7f0000033456\n"
	"#\t0xdead0000\n"
	"#\t0x4014ff\tns::Pool::run(int)+0x7f\t/src/app/pool.cc:9\n"
	"#\t0x7f0000033455\tstart_thread+0x55\t?:0\n"
	"\n";

static void test_native(void)
{
	struct snapshot *s = native_snapshot();
	char *got = render_groups(s, false);
	check_same("native groups", got, native_groups);
	free(got);

	int rc;
	got = render_goroutine(s, &rc);
	CHECK(rc == 0);
	CHECK(strncmp(got, "threads profile: total 4\n", 25) == 0);
	check_same("goroutine format body", got + 25, native_groups);
	free(got);

	got = render_groups(s, true);
	check_same("native groups with comments", got,
		   "2 @ 0x7f0000011234 0x7f0000022345 0x401234 0x7f0000033456\n"
		   "# threads: 100 \"worker\", 101 \"worker\"\n"
		   "# state: mutex on lock_a (0x404040) held by 101 (1 of 2 threads)\n"
		   "# state: mutex on lock_b (0x404080) held by 100 (1 of 2 threads)\n"
		   "#\t0x7f0000011234\t__lll_lock_wait+0x34\t?:0\n"
		   "#\t0x7f0000022344\tpthread_mutex_lock+0x44\t?:0\n"
		   "#\t0x401233\ttake_lock+0x33\t\t/src/app/app.c:12\n"
		   "#\t0x401233\tworker+0x33\t\t/src/app/app.c:40\n"
		   "#\t0x7f0000033455\tstart_thread+0x55\t?:0\n"
		   "\n"
		   "1 @ 0x7f0000044567 0x401400\n"
		   "# threads: 102 \"main\"\n"
		   "# state: join on thread 100\n"
		   "#\t0x7f0000044567\t__futex_abstimed_wait_common+0x67\t./nptl/futex-internal.c:57\n"
		   "#\t0x4013ff\tmain+0x7f\t\t\t\t/src/app/app.c:77\n"
		   "\n"
		   "1 @ 0xdead0000 0x401500 0x7f0000033456\n"
		   "# threads: 103 \"pool\"\n"
		   "#\t0xdead0000\n"
		   "#\t0x4014ff\tns::Pool::run(int)+0x7f\t/src/app/pool.cc:9\n"
		   "#\t0x7f0000033455\tstart_thread+0x55\t?:0\n"
		   "\n");
	free(got);
	snapshot_free(s);
}

/* ---- frames without a full symbol table: where they are, and how far a name holds ---- */

static struct module partial_mods[2];

/* One thread through a stripped libevent (.dynsym only) and a stripped executable, as
 * symbols/ leaves them: a nearby symbol's guess, an exported name, no name at all, a
 * MiniDebugInfo name, a PC without frames in the executable, one outside any module. */
static struct snapshot *partial_snapshot(void)
{
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	partial_mods[0] = (struct module){ .name = "/usr/lib/x86_64-linux-gnu/libevent-2.1.so.7.0.1",
					   .start = 0x7f1000000000, .end = 0x7f1000060000, .symbols_known = true,
					   .has_dynsym = true, .build_id = { 0xd3, 0xac }, .build_id_len = 2 };
	partial_mods[1] = (struct module){ .name = "/usr/bin/memcached", .start = 0x560000000000,
					   .end = 0x560000040000, .symbols_known = true, .has_dynsym = true,
					   .has_minidebuginfo = true, .package = "memcached" };
	s->modules = partial_mods;
	s->nmodules = 2;
	s->executable = "/usr/bin/memcached";
	struct sym_frame near = frame(NULL, NULL, 0, 0, false);
	near.near_symbol = "event_strlcpy_";
	near.source = SYM_DYNSYM;
	struct sym_frame exported = frame("event_base_loop", NULL, 0, 0x7f1000021780, false);
	exported.source = SYM_DYNSYM;
	struct sym_frame unnamed = frame(NULL, NULL, 0, 0, false);
	struct sym_frame mini = frame("conn_worker", NULL, 0, 0x560000000f00, false);
	mini.source = SYM_MINIDEBUGINFO;
	const struct pcsym *st[] = {
		mk_pcsym(s, 0x7f100002af14, 0x7f100002af13, &partial_mods[0], 1, &near),
		mk_pcsym(s, 0x7f1000021a15, 0x7f1000021a14, &partial_mods[0], 1, &exported),
		mk_pcsym(s, 0x560000007d21, 0x560000007d20, &partial_mods[1], 1, &unnamed),
		mk_pcsym(s, 0x560000001000, 0x560000000fff, &partial_mods[1], 1, &mini),
		mk_pcsym(s, 0x560000009000, 0x560000008fff, &partial_mods[1], 0, NULL),
		mk_pcsym(s, 0xdead0000, 0xdead0000, NULL, 0, NULL),
	};
	s->ntasks = 1;
	s->tasks = ARENA_NEW(&s->arena, struct task, 1);
	s->tasks[0] = (struct task){ .tid = 7, .name = "memcached", .state = "epoll" };
	set_stack(s, &s->tasks[0], 6, st);
	snapshot_group(s);
	return s;
}

/* The lines of a tabwriter's output with each run of tabs made one, so that a check
 * does not depend on the padding. */
static char *squeeze_tabs(const char *in)
{
	char *out = strdup(in), *o = out;
	for (const char *p = in; *p; p++)
		if (*p != '\t' || o == out || o[-1] != '\t')
			*o++ = *p;
	*o = 0;
	return out;
}

static void test_partial_symbols(void)
{
	struct snapshot *s = partial_snapshot();
	char *got = render_groups(s, false);
	char *sq = squeeze_tabs(got);
	check_same("frames without a full symbol table", sq,
		   "1 @ 0x7f100002af14 0x7f1000021a15 0x560000007d21 0x560000001000 0x560000009000 0xdead0000\n"
		   "#\t0x7f100002af13\t[near event_strlcpy_, .dynsym] libevent-2.1.so.7.0.1+0x2af13\t?:0\n"
		   "#\t0x7f1000021a14\t[.dynsym] event_base_loop+0x294\t?:0\n"
		   "#\t0x560000007d20\tmemcached+0x7d20\t?:0\n"
		   "#\t0x560000000fff\t[.gnu_debugdata] conn_worker+0xff\t?:0\n"
		   "#\t0x560000008fff\tmemcached+0x8fff\t?:0\n"
		   "#\t0xdead0000\n"
		   "\n");
	free(sq);
	free(got);

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct err e = { 0 };
	CHECK(report_threads(f, s, &e) == 0);
	fclose(f);
	check_same("threads format", buf,
		   "thread 7 \"memcached\" [epoll]:\n"
		   "[near event_strlcpy_, .dynsym] libevent-2.1.so.7.0.1+0x2af13(...)\n\t?:0\n"
		   "[.dynsym] event_base_loop(...)\n\t?:0 +0x294\n"
		   "memcached+0x7d20(...)\n\t?:0\n"
		   "[.gnu_debugdata] conn_worker(...)\n\t?:0 +0xff\n"
		   "memcached+0x8fff()\n\t?:0 pc=0x560000009000\n"
		   "0xdead0000()\n\t?:0 pc=0xdead0000\n"
		   "\n");
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	CHECK(report_text(f, s, &e) == 0);
	fclose(f);
	CHECKF(strstr(buf, "symbols: 4 of 6 frames without a function name (1 with a nearby symbol as a guess, "
			   "\"near\"); they show MODULE+OFFSET\n"), "%s", buf);
	CHECKF(strstr(buf, "no symbols: /usr/lib/x86_64-linux-gnu/libevent-2.1.so.7.0.1 (2 frames; only .dynsym) "
			   "build-id d3ac\n"), "%s", buf);
	CHECKF(strstr(buf, "no symbols: /usr/bin/memcached (3 frames; only .dynsym and .gnu_debugdata), "
			   "Debian package memcached-dbgsym\n"), "%s", buf);
	free(buf);
	snapshot_free(s);
}

/* A native thread whose innermost frames have runtime-like names keeps them: the hiding is
 * Go's, for goroutines only. */
static void test_native_not_hidden(void)
{
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	struct sym_frame f1 = frame("runtime.futex", "/usr/lib/go/src/runtime/sys_linux_amd64.s", 560, 0x4651c0, false);
	struct sym_frame f2 = frame("runtime.goexit", "/usr/lib/go/src/runtime/asm_amd64.s", 1594, 0x4679c0, false);
	const struct pcsym *st[] = { mk_pcsym(s, 0x4651e3, 0x4651e3, NULL, 1, &f1),
				     mk_pcsym(s, 0x4679c1, 0x4679c0, NULL, 1, &f2) };
	s->ntasks = 1;
	s->tasks = ARENA_NEW(&s->arena, struct task, 1);
	s->tasks[0] = (struct task){ .tid = 7, .name = "a\tb\"\xff" };
	set_stack(s, &s->tasks[0], 2, st);
	snapshot_group(s);
	char *got = render_groups(s, true);
	check_same("native runtime frames", got,
		   "1 @ 0x4651e3 0x4679c1\n"
		   "# threads: 7 \"a\\tb\\\"\\xff\"\n"
		   "#\t0x4651e3\truntime.futex+0x23\t/usr/lib/go/src/runtime/sys_linux_amd64.s:560\n"
		   "#\t0x4679c0\truntime.goexit+0x0\t/usr/lib/go/src/runtime/asm_amd64.s:1594\n"
		   "\n");
	free(got);
	snapshot_free(s);
}

static void test_goroutines(void)
{
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	struct sym_frame park = frame("runtime.gopark", "/usr/lib/go/src/runtime/proc.go", 363, 0x43b260, false);
	struct sym_frame send = frame("runtime.chansend", "/usr/lib/go/src/runtime/chan.go", 259, 0x44c200, false);
	struct sym_frame prod = frame("main.producer", "/src/x/main.go", 20, 0x672260, false);
	struct sym_frame exit = frame("runtime.goexit", "/usr/lib/go/src/runtime/asm_amd64.s", 1594, 0x46b9c0, false);
	struct sym_frame block = frame("runtime.block", "/usr/lib/go/src/runtime/select.go", 104, 0x44a960, false);
	const struct pcsym *p_park = mk_pcsym(s, 0x43b296, 0x43b295, NULL, 1, &park);
	const struct pcsym *p_exit = mk_pcsym(s, 0x46b9c1, 0x46b9c0, NULL, 1, &exit);
	const struct pcsym *st1[] = { p_park, mk_pcsym(s, 0x44c23e, 0x44c23d, NULL, 1, &send),
				      mk_pcsym(s, 0x672279, 0x672278, NULL, 1, &prod), p_exit };
	const struct pcsym *st2[] = { p_park, mk_pcsym(s, 0x44a9ac, 0x44a9ab, NULL, 1, &block), p_exit };
	/* the OS threads of a Go target stay out of its goroutine profile */
	struct sym_frame fx = frame("runtime.futex", NULL, 0, 0x4651c0, false);
	const struct pcsym *stt[] = { mk_pcsym(s, 0x4651e3, 0x4651e3, NULL, 1, &fx) };
	s->ntasks = 1;
	s->tasks = ARENA_NEW(&s->arena, struct task, 1);
	s->tasks[0] = (struct task){ .tid = 300, .name = "x" };
	set_stack(s, &s->tasks[0], 1, stt);
	s->ngoroutines = 2;
	s->goroutines = ARENA_NEW(&s->arena, struct task, 2);
	s->goroutines[0] = (struct task){ .kind = TASK_GOROUTINE, .goid = 5, .state = "chan send" };
	s->goroutines[1] = (struct task){ .kind = TASK_GOROUTINE, .goid = 6, .state = "select (no cases)" };
	set_stack(s, &s->goroutines[0], 4, st1);
	set_stack(s, &s->goroutines[1], 3, st2);
	snapshot_group(s);
	CHECK(report_go_target(s));
	int rc;
	char *got = render_goroutine(s, &rc);
	CHECK(rc == 0);
	/* "0x44a9ac" < "0x44c23e" as strings, so the all-runtime goroutine comes first, shown
	 * in full but for runtime.goexit, as Go's second printStackRecord pass does */
	check_same("goroutines", got,
		   "goroutine profile: total 2\n"
		   "1 @ 0x43b296 0x44a9ac 0x46b9c1\n"
		   "#\t0x43b295\truntime.gopark+0x35\t/usr/lib/go/src/runtime/proc.go:363\n"
		   "#\t0x44a9ab\truntime.block+0x4b\t/usr/lib/go/src/runtime/select.go:104\n"
		   "\n"
		   "1 @ 0x43b296 0x44c23e 0x672279 0x46b9c1\n"
		   "#\t0x672278\tmain.producer+0x18\t/src/x/main.go:20\n"
		   "\n");
	free(got);
	got = render_groups(s, true);
	CHECK(strstr(got, "1 @ 0x43b296 0x44c23e 0x672279 0x46b9c1\n# goroutines: 5\n# state: chan send\n#\t0x672278") != NULL);
	free(got);
	snapshot_free(s);
}

static void test_bounded_list(void)
{
	struct snapshot *s = snapshot_new(SOURCE_ATTACH);
	struct sym_frame f = frame("pause", NULL, 0, 0x1000, false);
	const struct pcsym *st[] = { mk_pcsym(s, 0x1010, 0x1010, NULL, 1, &f) };
	s->ntasks = 20;
	s->tasks = ARENA_NEW(&s->arena, struct task, 20);
	struct wait *w = ARENA_NEW(&s->arena, struct wait, 6);
	for (int i = 0; i < 20; i++) {
		s->tasks[i] = (struct task){ .tid = 1000 + i, .name = "t", .state = "condvar" };
		set_stack(s, &s->tasks[i], 1, st);
		/* six condvars, so more distinct states than the comment lists */
		w[i % 6] = (struct wait){ .kind = WAIT_CONDVAR, .address = 0x5000 + 0x40 * (uint64_t)(i % 6), .fd = -1 };
		s->tasks[i].wait = &w[i % 6];
	}
	snapshot_group(s);
	char *got = render_groups(s, true);
	check_same("bounded comments", got,
		   "20 @ 0x1010\n"
		   "# threads: 1000 \"t\", 1001 \"t\", 1002 \"t\", 1003 \"t\", 1004 \"t\", 1005 \"t\", 1006 \"t\", "
		   "1007 \"t\", 1008 \"t\", 1009 \"t\", 1010 \"t\", 1011 \"t\", 1012 \"t\", 1013 \"t\", 1014 \"t\", "
		   "1015 \"t\" and 4 more\n"
		   "# state: condvar on 0x5000 (4 of 20 threads)\n"
		   "# state: condvar on 0x5040 (4 of 20 threads)\n"
		   "# state: condvar on 0x5080 (3 of 20 threads)\n"
		   "# state: condvar on 0x50c0 (3 of 20 threads)\n"
		   "# state: 6 more threads in other states\n"
		   "#\t0x1010\tpause+0x10\t?:0\n"
		   "\n");
	free(got);
	snapshot_free(s);
}

static void test_empty(void)
{
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	snapshot_group(s);
	int rc;
	char *got = render_goroutine(s, &rc);
	CHECK(rc == 0);
	check_same("empty snapshot", got, "threads profile: total 0\n");
	free(got);
	snapshot_free(s);
}

/* `go tool pprof` reads a debug=1 file as a legacy count profile: the "#" lines (the frame
 * lines and chang's comments alike) are skipped and each "N @ …" line is a sample of N. */
static void test_go_tool_reads_it(void)
{
	FILE *v = popen("go version 2>/dev/null", "r");
	char line[256] = "";
	if (v) {
		if (!fgets(line, sizeof(line), v))
			line[0] = 0;
		pclose(v);
	}
	if (!strstr(line, "go version")) {
		UNIT_SKIP("go is not installed: go tool pprof check skipped");
		return;
	}
	struct snapshot *s = native_snapshot();
	for (int comments = 0; comments < 2; comments++) {
		char path[] = "/tmp/chang-test-debug1-XXXXXX";
		int fd = mkstemp(path);
		CHECK(fd >= 0);
		if (fd < 0)
			break;
		FILE *f = fdopen(fd, "w");
		fputs("threads profile: total 4\n", f);
		report_debug1_groups(f, s, comments);
		fclose(f);
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "go tool pprof -raw %s 2>&1", path);
		FILE *p = popen(cmd, "r");
		long total = 0;
		int samples = 0;
		bool in_samples = false, typed = false;
		while (p && fgets(line, sizeof(line), p)) {
			if (strncmp(line, "threads/count", 13) == 0)
				typed = true;
			if (strncmp(line, "Samples:", 8) == 0)
				in_samples = true;
			else if (strncmp(line, "Locations", 9) == 0)
				in_samples = false;
			else if (in_samples) {
				char *end;
				long n = strtol(line, &end, 10);
				if (end != line && *end == ':')
					total += n, samples++;
			}
		}
		int st = p ? pclose(p) : -1;
		CHECKF(st == 0 && typed && total == 4 && samples == 3,
		       "pprof -raw on the goroutine text (comments %d): status %d, %ld in %d samples", comments, st,
		       total, samples);
		unlink(path);
	}
	snapshot_free(s);
}

static void unit_tests(void)
{
	test_tabwriter_fixtures();
	test_debug1_fixtures();
	test_native();
	test_partial_symbols();
	test_native_not_hidden();
	test_goroutines();
	test_bounded_list();
	test_empty();
	test_go_tool_reads_it();
}
