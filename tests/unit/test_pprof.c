/* The pprof writer: its gzip stream is inflated and the Profile unpacked with protobuf-c to
 * check every field against the hand-made snapshot it came from, then (when Go is
 * installed) `go tool pprof` itself must read it. */
#include "unit.h"
#include "synthetic.h"
#include "model/snapshot.h"
#include "report/pprof.h"
#include "report/profile.pb-c.h"
#include "util/arena.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

typedef Perftools__Profiles__Profile PbProfile;

/* ---- the snapshot ---- */

enum { M_LIBC, M_APP, M_PLAIN, M_UNUSED, NMODS };

/* 2024-01-02 03:04:05 UTC */
#define CAPTURE_NS (1704164645ull * 1000000000ull + 123456789ull)

static struct snapshot *native_snapshot(void)
{
	struct snapshot *s = snapshot_new(SOURCE_ATTACH);
	struct module *m = ARENA_NEW(&s->arena, struct module, NMODS);
	/* the executable is not first here, yet must be the profile's first mapping */
	m[M_LIBC] = (struct module){ .name = "/lib/x86_64-linux-gnu/libc.so.6", .start = 0x7f0000000000,
				     .end = 0x7f0000200000, .build_id = { 0xde, 0xad, 0xbe, 0xef }, .build_id_len = 4 };
	m[M_APP] = (struct module){ .name = "/usr/bin/app", .start = 0x400000, .end = 0x500000,
				    .build_id = { 0xff, 0xee }, .build_id_len = 2,
				    .target_build_id = { 0x01, 0x23, 0xab }, .target_build_id_len = 3 };
	m[M_PLAIN] = (struct module){ .name = "/usr/lib/libplain.so", .start = 0x7f1000000000, .end = 0x7f1000010000 };
	m[M_UNUSED] = (struct module){ .name = "/usr/lib/libunused.so", .start = 0x7f2000000000, .end = 0x7f2000010000 };
	s->modules = m;
	s->nmodules = NMODS;
	s->executable = "/usr/bin/app";
	s->pid = 4242;
	s->capture_time_ns = CAPTURE_NS;
	s->pause_ns = 1500000;

	struct sym_frame f_lock = frame("__lll_lock_wait", NULL, 0, 0x7f0000011200, false);
	struct sym_frame f_mutex = frame("pthread_mutex_lock", NULL, 0, 0x7f0000022300, false);
	struct sym_frame f_worker[2] = { frame("take_lock", "/src/app/app.c", 12, 0x401200, true),
					 frame("worker", "/src/app/app.c", 40, 0x401200, false) };
	struct sym_frame f_worker2 = frame("worker", "/src/app/app.c", 42, 0x401200, false);
	struct sym_frame f_start = frame("start_thread", NULL, 0, 0x7f0000033400, false);
	struct sym_frame f_futex = frame("__futex_abstimed_wait_common", "./nptl/futex-internal.c", 57,
					 0x7f0000044500, false);
	struct sym_frame f_main = frame("main", "/src/app/app.c", 77, 0x401380, false);
	struct sym_frame f_cxx = frame("ns::Pool::run(int)", "/src/app/pool.cc", 9, 0x401480, false);
	f_cxx.mangled = "_ZN2ns4Pool3runEi";
	struct sym_frame f_plain = frame("plain_wait", NULL, 0, 0x7f1000000100, false);

	const struct pcsym *lock = mk_pcsym(s, 0x7f0000011234, 0x7f0000011234, &m[M_LIBC], 1, &f_lock);
	const struct pcsym *mutex = mk_pcsym(s, 0x7f0000022345, 0x7f0000022344, &m[M_LIBC], 1, &f_mutex);
	const struct pcsym *worker = mk_pcsym(s, 0x401234, 0x401233, &m[M_APP], 2, f_worker);
	const struct pcsym *worker2 = mk_pcsym(s, 0x401260, 0x40125f, &m[M_APP], 1, &f_worker2);
	const struct pcsym *start = mk_pcsym(s, 0x7f0000033456, 0x7f0000033455, &m[M_LIBC], 1, &f_start);
	const struct pcsym *futex = mk_pcsym(s, 0x7f0000044567, 0x7f0000044567, &m[M_LIBC], 1, &f_futex);
	const struct pcsym *mainp = mk_pcsym(s, 0x401400, 0x4013ff, &m[M_APP], 1, &f_main);
	const struct pcsym *unknown = mk_pcsym(s, 0xdead0000, 0xdead0000, NULL, 0, NULL);
	const struct pcsym *cxx = mk_pcsym(s, 0x401500, 0x4014ff, &m[M_APP], 1, &f_cxx);
	const struct pcsym *plain = mk_pcsym(s, 0x7f1000000123, 0x7f1000000123, &m[M_PLAIN], 1, &f_plain);

	s->ntasks = 5;
	s->tasks = ARENA_NEW(&s->arena, struct task, 5);
	const struct pcsym *st_worker[] = { lock, mutex, worker, start };
	const struct pcsym *st_main[] = { futex, mainp };
	const struct pcsym *st_pool[] = { unknown, cxx, start };
	const struct pcsym *st_plain[] = { plain, worker2, start };
	struct task *t = s->tasks;
	t[0] = (struct task){ .tid = 4242, .name = "app", .state = "join" };
	t[1] = (struct task){ .tid = 4243, .name = "worker", .state = "mutex" };
	t[2] = (struct task){ .tid = 4244, .name = "worker", .state = "mutex" };
	t[3] = (struct task){ .tid = 4245, .name = "pool" };
	t[4] = (struct task){ .tid = 4246, .name = "plain", .state = "read" };
	set_stack(s, &t[0], 2, st_main);
	set_stack(s, &t[1], 4, st_worker);
	set_stack(s, &t[2], 4, st_worker);
	set_stack(s, &t[3], 3, st_pool);
	set_stack(s, &t[4], 3, st_plain);
	struct wait *w = ARENA_NEW(&s->arena, struct wait, 4);
	w[0] = (struct wait){ .kind = WAIT_JOIN, .owner_tid = 4243, .owner_known = true, .fd = -1 };
	w[1] = (struct wait){ .kind = WAIT_MUTEX, .address = 0x404040, .symbol = "lock_a", .owner_tid = 4244,
			      .owner_known = true, .fd = -1 };
	w[2] = (struct wait){ .kind = WAIT_MUTEX, .address = 0x7f00deadbee0, .owner_tid = 4243,
			      .owner_known = true, .fd = -1 };
	w[3] = (struct wait){ .kind = WAIT_READ, .fd = 3, .fd_target = "pipe:[123]" };
	t[0].wait = &w[0];
	t[1].wait = &w[1];
	t[2].wait = &w[2];
	t[4].wait = &w[3];

	struct finding *f = ARENA_NEW(&s->arena, struct finding, 2);
	pid_t *dl = ARENA_NEW(&s->arena, pid_t, 2), *ch = ARENA_NEW(&s->arena, pid_t, 3);
	dl[0] = 4244, dl[1] = 4243;
	ch[0] = 4242, ch[1] = 4243, ch[2] = 4244;
	f[0] = (struct finding){ .kind = FINDING_DEADLOCK, .seq = 1, .tids = dl, .ntids = 2,
				 .summary = "threads 4243 and 4244 wait for each other's mutex" };
	f[1] = (struct finding){ .kind = FINDING_BLOCKING_CHAIN, .seq = 1, .tids = ch, .ntids = 3, .root_tid = 4243,
				 .summary = "thread 4242 waits, through join, on the deadlock" };
	s->findings = f;
	s->nfindings = 2;
	snapshot_group(s);
	return s;
}

/* ---- reading the output back ---- */

static unsigned char *write_profile(const struct snapshot *s, size_t *len)
{
	char *buf = NULL;
	*len = 0;
	FILE *f = open_memstream(&buf, len);
	struct err e = { 0 };
	int rc = report_pprof(f, s, &e);
	fclose(f);
	CHECKF(rc == 0, "report_pprof: %s", e.msg);
	return (unsigned char *)buf;
}

static PbProfile *decode(const unsigned char *gz, size_t len)
{
	CHECK(len > 18 && gz[0] == 0x1f && gz[1] == 0x8b && gz[2] == 8);	/* a gzip member, deflate */
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* 16 + 15: accept only the gzip wrapper, as pprof's reader does */
	if (inflateInit2(&z, 16 + 15) != Z_OK)
		return NULL;
	size_t cap = 1 << 16, out = 0;
	unsigned char *raw = malloc(cap);
	z.next_in = (Bytef *)gz;
	z.avail_in = (uInt)len;
	int rc;
	do {
		if (out == cap)
			raw = realloc(raw, cap *= 2);
		z.next_out = raw + out;
		z.avail_out = (uInt)(cap - out);
		rc = inflate(&z, Z_NO_FLUSH);
		out = cap - z.avail_out;
	} while (rc == Z_OK);
	CHECKF(rc == Z_STREAM_END, "inflate: %d", rc);
	CHECK(z.avail_in == 0);	/* nothing after the one member */
	inflateEnd(&z);
	PbProfile *p = perftools__profiles__profile__unpack(NULL, out, raw);
	free(raw);
	CHECK(p != NULL);
	return p;
}

static const char *str(const PbProfile *p, int64_t i)
{
	return i >= 0 && (size_t)i < p->n_string_table ? p->string_table[i] : "<bad string index>";
}

static const Perftools__Profiles__Location *location(const PbProfile *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_location; i++)
		if (p->location[i]->id == id)
			return p->location[i];
	return NULL;
}

static const Perftools__Profiles__Function *function(const PbProfile *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_function; i++)
		if (p->function[i]->id == id)
			return p->function[i];
	return NULL;
}

static const Perftools__Profiles__Mapping *mapping(const PbProfile *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_mapping; i++)
		if (p->mapping[i]->id == id)
			return p->mapping[i];
	return NULL;
}

/* The string values of key on a sample, joined by ",", or "" if none. */
static const char *labels(const PbProfile *p, const Perftools__Profiles__Sample *sm, const char *key)
{
	static char buf[256];
	buf[0] = 0;
	for (size_t i = 0; i < sm->n_label; i++) {
		const Perftools__Profiles__Label *l = sm->label[i];
		if (strcmp(str(p, l->key), key) != 0 || l->str == 0)
			continue;
		if (buf[0])
			strcat(buf, ",");
		strncat(buf, str(p, l->str), sizeof(buf) - strlen(buf) - 2);
	}
	return buf;
}

static int64_t num_label(const PbProfile *p, const Perftools__Profiles__Sample *sm, const char *key)
{
	for (size_t i = 0; i < sm->n_label; i++)
		if (strcmp(str(p, sm->label[i]->key), key) == 0 && sm->label[i]->str == 0)
			return sm->label[i]->num;
	return -1;
}

/* Every sample's stack must name, frame by frame, what the task's pcsyms say. */
static void check_stacks(const PbProfile *p, const struct snapshot *s)
{
	CHECK(p->n_sample == s->ntasks);
	for (size_t i = 0; i < p->n_sample && i < s->ntasks; i++) {
		const Perftools__Profiles__Sample *sm = p->sample[i];
		const struct task *t = &s->tasks[i];
		CHECK(sm->n_value == 1 && sm->value[0] == 1);
		CHECKF(sm->n_location_id == (size_t)t->npcs, "tid %d: %zu locations for %d pcs", (int)t->tid,
		       sm->n_location_id, t->npcs);
		for (size_t k = 0; k < sm->n_location_id && k < (size_t)t->npcs; k++) {
			const struct pcsym *ps = t->syms[k];
			const Perftools__Profiles__Location *l = location(p, sm->location_id[k]);
			CHECK(l != NULL);
			if (!l)
				continue;
			CHECKF(l->address == ps->lookup_pc, "location %#llx for pc %#llx",
			       (unsigned long long)l->address, (unsigned long long)ps->pc);
			if (ps->module) {
				const Perftools__Profiles__Mapping *m = mapping(p, l->mapping_id);
				CHECK(m && strcmp(str(p, m->filename), ps->module->name) == 0);
			} else {
				CHECK(l->mapping_id == 0);
			}
			CHECK(l->n_line == (size_t)ps->nframes);
			for (size_t j = 0; j < l->n_line && j < (size_t)ps->nframes; j++) {
				const struct sym_frame *fr = &ps->frames[j];
				const Perftools__Profiles__Function *fn = function(p, l->line[j]->function_id);
				CHECK(fn != NULL);
				if (!fn)
					continue;
				CHECK(l->line[j]->line == fr->line);
				CHECK(strcmp(str(p, fn->name), fr->function) == 0);
				CHECK(strcmp(str(p, fn->system_name), fr->mangled ? fr->mangled : fr->function) == 0);
				CHECK(strcmp(str(p, fn->filename), fr->file ? fr->file : "") == 0);
				CHECK(fn->start_line == 0);
			}
		}
	}
}

static void test_native_profile(void)
{
	struct snapshot *s = native_snapshot();
	size_t len;
	unsigned char *gz = write_profile(s, &len);
	PbProfile *p = decode(gz, len);
	if (!p) {
		free(gz);
		snapshot_free(s);
		return;
	}
	CHECK(p->n_string_table > 0 && strcmp(p->string_table[0], "") == 0);
	const char *twice = NULL;
	for (size_t i = 1; i < p->n_string_table; i++)
		for (size_t j = i + 1; j < p->n_string_table; j++)
			if (strcmp(p->string_table[i], p->string_table[j]) == 0)
				twice = p->string_table[i];
	CHECKF(!twice, "string \"%s\" twice in the table", twice);

	CHECK(p->n_sample_type == 1);
	CHECK(strcmp(str(p, p->sample_type[0]->type), "threads") == 0);
	CHECK(strcmp(str(p, p->sample_type[0]->unit), "count") == 0);
	CHECK(p->period_type && strcmp(str(p, p->period_type->type), "threads") == 0 &&
	      strcmp(str(p, p->period_type->unit), "count") == 0);
	CHECK(p->period == 1);
	CHECK(p->time_nanos == (int64_t)CAPTURE_NS);
	CHECK(p->duration_nanos == 1500000);
	CHECK(p->drop_frames == 0 && p->keep_frames == 0 && p->default_sample_type == 0);

	check_stacks(p, s);

	/* ten pcs in all, one location each; nine named functions, "worker" once */
	CHECK(p->n_location == 10);
	CHECK(p->n_function == 9);
	for (size_t i = 0; i < p->n_location; i++)
		CHECK(p->location[i]->id == i + 1 && !p->location[i]->is_folded);
	for (size_t i = 0; i < p->n_function; i++)
		CHECK(p->function[i]->id == i + 1);
	/* the inlined callee comes first in its location */
	const Perftools__Profiles__Location *inl = location(p, p->sample[1]->location_id[2]);
	CHECK(inl && inl->n_line == 2 && strcmp(str(p, function(p, inl->line[0]->function_id)->name), "take_lock") == 0 &&
	      strcmp(str(p, function(p, inl->line[1]->function_id)->name), "worker") == 0);
	/* the unknown pc: a location with its address and nothing else */
	const Perftools__Profiles__Location *unk = location(p, p->sample[3]->location_id[0]);
	CHECK(unk && unk->address == 0xdead0000 && unk->n_line == 0 && unk->mapping_id == 0);

	/* mappings: the executable first, then the rest in order, flags from their frames */
	CHECK(p->n_mapping == NMODS);
	const char *order[NMODS] = { "/usr/bin/app", "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/libplain.so",
				     "/usr/lib/libunused.so" };
	const char *ids[NMODS] = { "0123ab", "deadbeef", "", "" };
	/* functions, filenames, line numbers, inline frames */
	const bool flags[NMODS][4] = { { 1, 1, 1, 1 }, { 1, 1, 1, 0 }, { 1, 0, 0, 0 }, { 0, 0, 0, 0 } };
	for (size_t i = 0; i < p->n_mapping && i < NMODS; i++) {
		const Perftools__Profiles__Mapping *m = p->mapping[i];
		const struct module *mod = NULL;
		for (size_t k = 0; k < s->nmodules; k++)
			if (strcmp(s->modules[k].name, order[i]) == 0)
				mod = &s->modules[k];
		CHECK(m->id == i + 1);
		CHECKF(strcmp(str(p, m->filename), order[i]) == 0, "mapping %zu is %s", i, str(p, m->filename));
		CHECK(mod && m->memory_start == mod->start && m->memory_limit == mod->end);
		CHECK(m->file_offset == 0);
		CHECKF(strcmp(str(p, m->build_id), ids[i]) == 0, "%s: build id %s", order[i], str(p, m->build_id));
		CHECKF(m->has_functions == flags[i][0] && m->has_filenames == flags[i][1] &&
		       m->has_line_numbers == flags[i][2] && m->has_inline_frames == flags[i][3],
		       "%s: flags %d%d%d%d", order[i], m->has_functions, m->has_filenames, m->has_line_numbers,
		       m->has_inline_frames);
	}

	/* labels, one sample per task in tid order */
	const Perftools__Profiles__Sample *const *sm = (const Perftools__Profiles__Sample *const *)p->sample;
	CHECK(strcmp(labels(p, sm[0], "tid"), "4242") == 0 && num_label(p, sm[0], "tid") == 4242);
	CHECK(strcmp(labels(p, sm[0], "thread"), "app") == 0);
	CHECK(strcmp(labels(p, sm[0], "state"), "join") == 0);
	CHECK(strcmp(labels(p, sm[0], "wait"), "join") == 0);
	CHECK(strcmp(labels(p, sm[0], "wait_object"), "") == 0);
	CHECK(strcmp(labels(p, sm[0], "owner_tid"), "4243") == 0);
	CHECK(strcmp(labels(p, sm[0], "finding"), "blocking-chain#1") == 0);
	CHECK(strcmp(labels(p, sm[1], "tid"), "4243") == 0 && num_label(p, sm[1], "tid") == 4243);
	CHECK(strcmp(labels(p, sm[1], "state"), "mutex") == 0);
	CHECK(strcmp(labels(p, sm[1], "wait"), "mutex") == 0);
	CHECK(strcmp(labels(p, sm[1], "wait_object"), "lock_a") == 0);
	CHECK(strcmp(labels(p, sm[1], "owner_tid"), "4244") == 0);
	CHECK(strcmp(labels(p, sm[1], "finding"), "deadlock#1,blocking-chain#1") == 0);
	CHECK(strcmp(labels(p, sm[2], "wait_object"), "0x7f00deadbee0") == 0);
	CHECK(strcmp(labels(p, sm[2], "finding"), "deadlock#1,blocking-chain#1") == 0);
	CHECK(strcmp(labels(p, sm[3], "thread"), "pool") == 0);
	/* pid, tid twice and thread (and the process name when the leader is known): no state,
	 * no wait, no finding */
	CHECK(sm[3]->n_label == 4 + (labels(p, sm[3], "process")[0] != 0));
	CHECK(num_label(p, sm[0], "pid") == s->pid);
	CHECK(strcmp(labels(p, sm[4], "wait"), "read") == 0);
	CHECK(strcmp(labels(p, sm[4], "wait_object"), "fd 3 (pipe:[123])") == 0);
	CHECK(strcmp(labels(p, sm[4], "owner_tid"), "") == 0);

	CHECK(p->n_comment == 2);
	if (p->n_comment == 2) {
		CHECK(strcmp(str(p, p->comment[0]), s->findings[0].summary) == 0);
		CHECK(strcmp(str(p, p->comment[1]), s->findings[1].summary) == 0);
	}

	/* the same snapshot gives the same bytes (pprof -base of two equal snapshots is empty) */
	size_t len2;
	unsigned char *gz2 = write_profile(s, &len2);
	CHECK(len2 == len && memcmp(gz, gz2, len) == 0);
	free(gz2);

	perftools__profiles__profile__free_unpacked(p, NULL);
	free(gz);
	snapshot_free(s);
}

static void test_go_profile(void)
{
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	struct sym_frame park = frame("runtime.gopark", "/usr/lib/go/src/runtime/proc.go", 363, 0x43b260, false);
	struct sym_frame prod = frame("main.producer", "/src/x/main.go", 20, 0x672260, false);
	struct sym_frame exit = frame("runtime.goexit", "/usr/lib/go/src/runtime/asm_amd64.s", 1594, 0x46b9c0, false);
	const struct pcsym *st[] = { mk_pcsym(s, 0x43b296, 0x43b295, NULL, 1, &park),
				     mk_pcsym(s, 0x672279, 0x672278, NULL, 1, &prod),
				     mk_pcsym(s, 0x46b9c1, 0x46b9c0, NULL, 1, &exit) };
	/* the OS threads of a Go target stay out of its goroutine profile */
	struct sym_frame fx = frame("runtime.futex", NULL, 0, 0x4651c0, false);
	const struct pcsym *stt[] = { mk_pcsym(s, 0x4651e3, 0x4651e3, NULL, 1, &fx) };
	s->ntasks = 3;
	s->tasks = ARENA_NEW(&s->arena, struct task, 3);
	for (int i = 0; i < 3; i++) {
		s->tasks[i] = (struct task){ .tid = 76 + i, .name = "x" };
		set_stack(s, &s->tasks[i], 1, stt);
	}
	s->ngoroutines = 2;
	s->goroutines = ARENA_NEW(&s->arena, struct task, 2);
	s->goroutines[0] = (struct task){ .kind = TASK_GOROUTINE, .goid = 1, .tid = 0 };
	s->goroutines[1] = (struct task){ .kind = TASK_GOROUTINE, .goid = 7, .tid = 77, .state = "chan send" };
	set_stack(s, &s->goroutines[0], 3, st);
	set_stack(s, &s->goroutines[1], 3, st);
	/* findings name OS threads: thread 77 is not goroutine 7 even while it runs it */
	pid_t *ft = ARENA_NEW(&s->arena, pid_t, 1);
	ft[0] = 77;
	s->findings = ARENA_NEW(&s->arena, struct finding, 1);
	s->findings[0] = (struct finding){ .kind = FINDING_MASS_BLOCKING, .seq = 1, .tids = ft, .ntids = 1,
					   .summary = "thread 77 blocks" };
	s->nfindings = 1;
	snapshot_group(s);
	size_t len;
	unsigned char *gz = write_profile(s, &len);
	PbProfile *p = decode(gz, len);
	if (p) {
		CHECK(strcmp(str(p, p->sample_type[0]->type), "goroutine") == 0);
		CHECK(strcmp(str(p, p->period_type->type), "goroutine") == 0);
		/* Go leaves runtime.goexit out of its profiles' locations */
		CHECK(p->n_location == 2 && p->n_sample == 2);
		CHECK(p->n_sample == 2 && p->sample[0]->n_location_id == 2);
		CHECK(p->n_sample == 2 && strcmp(labels(p, p->sample[0], "goid"), "1") == 0 &&
		      num_label(p, p->sample[0], "goid") == 1 && strcmp(labels(p, p->sample[0], "tid"), "") == 0);
		CHECK(p->n_sample == 2 && strcmp(labels(p, p->sample[1], "tid"), "77") == 0 &&
		      strcmp(labels(p, p->sample[1], "state"), "chan send") == 0);
		CHECK(p->n_sample == 2 && strcmp(labels(p, p->sample[1], "finding"), "") == 0);
		CHECK(p->n_mapping == 0 && p->n_comment == 1);
		perftools__profiles__profile__free_unpacked(p, NULL);
	}
	free(gz);
	snapshot_free(s);
}

static void test_default_name(void)
{
	struct snapshot *s = snapshot_new(SOURCE_ATTACH);
	s->pid = 4242;
	s->capture_time_ns = CAPTURE_NS;
	char buf[256];
	struct err e = { 0 };
	CHECK(report_pprof_default_name(buf, sizeof(buf), NULL, s, &e) == 0);
	CHECK(strcmp(buf, "chang-4242-20240102-030405.pb.gz") == 0);
	CHECK(report_pprof_default_name(buf, sizeof(buf), "/tmp/out", s, &e) == 0);
	CHECK(strcmp(buf, "/tmp/out/chang-4242-20240102-030405.pb.gz") == 0);
	CHECK(report_pprof_default_name(buf, sizeof(buf), "/tmp/out/", s, &e) == 0);
	CHECK(strcmp(buf, "/tmp/out/chang-4242-20240102-030405.pb.gz") == 0);
	CHECK(report_pprof_default_name(buf, 10, "/tmp/out", s, &e) == -1 && e.code == ERR_FAIL && e.msg[0]);
	snapshot_free(s);
}

static void test_write_error(void)
{
	struct snapshot *s = native_snapshot();
	FILE *f = fopen("/dev/full", "w");
	if (!f) {
		UNIT_SKIP("no /dev/full: write-error check skipped");
	} else {
		struct err e = { 0 };
		CHECK(report_pprof(f, s, &e) == -1 && e.code == ERR_FAIL && strncmp(e.msg, "pprof: ", 7) == 0);
		fclose(f);
	}
	snapshot_free(s);
}

/* ---- go tool pprof ---- */

static char *run(const char *cmd, int *status)
{
	FILE *f = popen(cmd, "r");
	if (!f)
		return NULL;
	char *out = NULL;
	size_t len = 0, cap = 0;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n + 1 > cap)
			out = realloc(out, cap = (len + n + 1) * 2);
		memcpy(out + len, chunk, n);
		len += n;
	}
	if (!out)
		out = calloc(1, 1);
	out[len] = 0;
	*status = pclose(f);
	return out;
}

/* The per-sample counts of `pprof -raw`: lines "   N: id id …" between "Samples:" and
 * "Locations" (label lines there start with a key, not a number). */
static long raw_total(const char *raw, int *nsamples)
{
	const char *p = strstr(raw, "Samples:\n"), *end = strstr(raw, "\nLocations");
	long total = 0;
	*nsamples = 0;
	if (!p || !end)
		return -1;
	for (p = strchr(p, '\n') + 1; p && p < end; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *q = p;
		while (*q == ' ')
			q++;
		char *colon;
		long v = strtol(q, &colon, 10);
		if (colon != q && *colon == ':') {
			total += v;
			++*nsamples;
		}
	}
	return total;
}

static void test_go_tool(void)
{
	int st;
	char *v = run("go version 2>/dev/null", &st);
	bool have_go = v && st == 0 && strstr(v, "go version");
	free(v);
	if (!have_go) {
		UNIT_SKIP("go is not installed: go tool pprof checks skipped");
		return;
	}
	struct snapshot *s = native_snapshot();
	char path[] = "/tmp/chang-test-pprof-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0) {
		snapshot_free(s);
		return;
	}
	FILE *f = fdopen(fd, "w");
	struct err e = { 0 };
	CHECK(report_pprof(f, s, &e) == 0);
	fclose(f);

	char cmd[512];
	snprintf(cmd, sizeof(cmd), "go tool pprof -raw %s 2>&1", path);
	char *out = run(cmd, &st);
	int nsamples;
	long total = out ? raw_total(out, &nsamples) : -1;
	CHECKF(st == 0 && total == (long)s->ntasks && nsamples == (int)s->ntasks,
	       "pprof -raw: status %d, %ld in %d samples for %zu tasks:\n%s", st, total, nsamples, s->ntasks, out);
	CHECK(out && strstr(out, "threads/count") && strstr(out, "take_lock /src/app/app.c:12"));
	free(out);

	snprintf(cmd, sizeof(cmd), "go tool pprof -top -nodecount=100 %s 2>&1", path);
	out = run(cmd, &st);
	CHECKF(st == 0 && out && strstr(out, "Type: threads") && strstr(out, "of 5 total") &&
	       strstr(out, "__lll_lock_wait") && strstr(out, "ns::Pool::run(int)"),
	       "pprof -top: status %d:\n%s", st, out);
	free(out);

	snprintf(cmd, sizeof(cmd), "go tool pprof -traces %s 2>&1", path);
	out = run(cmd, &st);
	CHECKF(st == 0 && out && strstr(out, "take_lock (inline)"), "pprof -traces: status %d:\n%s", st, out);
	free(out);

	snprintf(cmd, sizeof(cmd), "go tool pprof -tags %s 2>&1", path);
	out = run(cmd, &st);
	CHECKF(st == 0 && out && strstr(out, "state:") && strstr(out, "mutex") && strstr(out, "deadlock#1") &&
	       strstr(out, "wait_object:") && strstr(out, "lock_a") && strstr(out, "thread:") &&
	       strstr(out, "owner_tid:"),
	       "pprof -tags: status %d:\n%s", st, out);
	free(out);

	/* -tagfocus keeps the two mutex waiters; the numeric tid label takes a number */
	snprintf(cmd, sizeof(cmd), "go tool pprof -raw -tagfocus=state=mutex %s 2>&1", path);
	out = run(cmd, &st);
	total = out ? raw_total(out, &nsamples) : -1;
	CHECKF(st == 0 && total == 2, "pprof -tagfocus=state=mutex: status %d, %ld:\n%s", st, total, out);
	free(out);
	snprintf(cmd, sizeof(cmd), "go tool pprof -raw -tagfocus=tid=4245 %s 2>&1", path);
	out = run(cmd, &st);
	total = out ? raw_total(out, &nsamples) : -1;
	CHECKF(st == 0 && total == 1, "pprof -tagfocus=tid=4245: status %d, %ld:\n%s", st, total, out);
	free(out);

	snprintf(cmd, sizeof(cmd), "go tool pprof -comments %s 2>&1", path);
	out = run(cmd, &st);
	CHECKF(st == 0 && out && strstr(out, s->findings[0].summary) && strstr(out, s->findings[1].summary),
	       "pprof -comments: status %d:\n%s", st, out);
	free(out);

	/* the profile against itself: nothing left */
	snprintf(cmd, sizeof(cmd), "go tool pprof -raw -base %s %s 2>&1", path, path);
	out = run(cmd, &st);
	total = out ? raw_total(out, &nsamples) : -1;
	CHECKF(st == 0 && total == 0, "pprof -base: status %d, %ld:\n%s", st, total, out);
	free(out);

	if (getenv("CHANG_KEEP_PPROF"))
		UNIT_NOTE("profile kept in %s", path);
	else
		unlink(path);
	snapshot_free(s);
}

static void unit_tests(void)
{
	test_native_profile();
	test_go_profile();
	test_default_name();
	test_write_error();
	test_go_tool();
}
