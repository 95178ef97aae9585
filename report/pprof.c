#include "report/pprof.h"
#include "report/debug1.h"
#include "report/profile.pb-c.h"
#include "util/arena.h"
#include "util/xalloc.h"
#include "util/bsearch.h"
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

typedef Perftools__Profiles__Profile PbProfile;
typedef Perftools__Profiles__ValueType PbValueType;
typedef Perftools__Profiles__Sample PbSample;
typedef Perftools__Profiles__Label PbLabel;
typedef Perftools__Profiles__Mapping PbMapping;
typedef Perftools__Profiles__Location PbLocation;
typedef Perftools__Profiles__Line PbLine;
typedef Perftools__Profiles__Function PbFunction;

/* Interning tables: a snapshot of 10,000 threads shares a few dozen PCs, functions and
 * strings, so every lookup must be O(1) to keep the writer linear. */
struct ht_slot {
	uint64_t hash;
	uint32_t idx1;		/* index + 1; 0 marks an empty slot */
};
struct htab {
	struct ht_slot *slot;
	size_t cap, n;
};
typedef bool (*ht_eq_fn)(const void *ctx, uint32_t idx, const void *key);

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 1099511628211ull;
	return h;
}
#define FNV_SEED 14695981039346656037ull

static long ht_lookup(const struct htab *h, uint64_t hash, ht_eq_fn eq, const void *ctx, const void *key)
{
	if (!h->cap)
		return -1;
	for (size_t i = hash & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
		const struct ht_slot *sl = &h->slot[i];
		if (!sl->idx1)
			return -1;
		if (sl->hash == hash && eq(ctx, sl->idx1 - 1, key))
			return (long)(sl->idx1 - 1);
	}
}

static void ht_place(struct ht_slot *slot, size_t cap, uint64_t hash, uint32_t idx1)
{
	size_t i = hash & (cap - 1);
	while (slot[i].idx1)
		i = (i + 1) & (cap - 1);
	slot[i].hash = hash;
	slot[i].idx1 = idx1;
}

static void ht_insert(struct htab *h, uint64_t hash, uint32_t idx)
{
	if ((h->n + 1) * 2 > h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct ht_slot *slot = xcalloc(cap, sizeof(*slot));
		for (size_t i = 0; i < h->cap; i++)
			if (h->slot[i].idx1)
				ht_place(slot, cap, h->slot[i].hash, h->slot[i].idx1);
		free(h->slot);
		h->slot = slot;
		h->cap = cap;
	}
	ht_place(h->slot, h->cap, hash, idx + 1);
	h->n++;
}

struct loc_key {
	uint64_t pc, lookup_pc;
};

/* What the symbolized frames of one module showed, for its mapping's has_* flags. */
struct module_seen {
	bool functions, filenames, line_numbers, inline_frames;
	/* a location without a name, or with only a nearby symbol's: pprof may name it later */
	bool unnamed;
};

struct builder {
	struct arena a;		/* the protobuf-c messages; freed as one after writing */
	const struct snapshot *s;
	bool go;

	char **strs;
	size_t nstrs, strcap;
	struct htab strh;

	PbFunction **funcs;
	size_t nfuncs, funccap;
	struct htab funch;

	PbLocation **locs;
	struct loc_key *lockeys;
	size_t nlocs, loccap, lockeycap;
	struct htab loch;

	PbMapping **maps;
	size_t nmaps;
	uint64_t *mapid;	/* by index into s->modules */
	struct module_seen *seen;	/* by index into s->modules */

	PbSample **samples;
	size_t nsamples;
	const char *process;	/* the process's name (its main thread's), for the labels */

	PbLabel **labels;	/* scratch for the sample being built */
	size_t nlabels, labelcap;
};

static bool str_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct builder *b = ctx;
	return strcmp(b->strs[idx], key) == 0;
}

static int64_t str_id(struct builder *b, const char *s)
{
	if (!s)
		s = "";
	size_t len = strlen(s);
	uint64_t h = fnv(FNV_SEED, s, len);
	long i = ht_lookup(&b->strh, h, str_eq, b, s);
	if (i >= 0)
		return i;
	VEC_RESERVE(b->strs, b->strcap, b->nstrs + 1);
	/* protobuf-c wants char *; the table is only read while packing. */
	b->strs[b->nstrs] = (char *)s;
	ht_insert(&b->strh, h, (uint32_t)b->nstrs);
	return (int64_t)b->nstrs++;
}

struct func_key {
	int64_t name, system_name, filename;
};

static bool func_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct builder *b = ctx;
	const struct func_key *k = key;
	const PbFunction *f = b->funcs[idx];
	return f->name == k->name && f->system_name == k->system_name && f->filename == k->filename;
}

static uint64_t function_id(struct builder *b, const struct sym_frame *fr)
{
	struct func_key k = {
		.name = str_id(b, fr->function),
		/* pprof shows system_name where the linkage name matters (C++ overloads); a
		 * C function's linkage name is its name. */
		.system_name = str_id(b, fr->mangled ? fr->mangled : fr->function),
		.filename = str_id(b, fr->file),
	};
	uint64_t h = fnv(FNV_SEED, &k, sizeof(k));
	long i = ht_lookup(&b->funch, h, func_eq, b, &k);
	if (i >= 0)
		return (uint64_t)i + 1;
	PbFunction *f = arena_alloc(&b->a, sizeof(*f));
	perftools__profiles__function__init(f);
	f->id = b->nfuncs + 1;
	f->name = k.name;
	f->system_name = k.system_name;
	f->filename = k.filename;
	f->start_line = 0;	/* the symbolizer does not report where a function starts */
	VEC_RESERVE(b->funcs, b->funccap, b->nfuncs + 1);
	b->funcs[b->nfuncs] = f;
	ht_insert(&b->funch, h, (uint32_t)b->nfuncs);
	return ++b->nfuncs;
}

static long module_index(const struct snapshot *s, const struct module *m)
{
	if (!m || !s->modules || m < s->modules || m >= s->modules + s->nmodules)
		return -1;
	return (long)(m - s->modules);
}

static bool loc_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct builder *b = ctx;
	const struct loc_key *k = key;
	return b->lockeys[idx].pc == k->pc && b->lockeys[idx].lookup_pc == k->lookup_pc;
}

/* One location per distinct PC. Its address is the one symbolized (pc-1 for a return
 * address), as Go writes it and as profile.proto describes: were pprof to symbolize it
 * again, it finds the call rather than the line after it. */
static uint64_t location_id(struct builder *b, uint64_t pc, const struct pcsym *ps, bool leaf)
{
	struct loc_key k = { .pc = pc, .lookup_pc = ps ? ps->lookup_pc : leaf || !pc ? pc : pc - 1 };
	uint64_t h = fnv(FNV_SEED, &k, sizeof(k));
	long i = ht_lookup(&b->loch, h, loc_eq, b, &k);
	if (i >= 0)
		return (uint64_t)i + 1;

	PbLocation *l = arena_alloc(&b->a, sizeof(*l));
	perftools__profiles__location__init(l);
	l->id = b->nlocs + 1;
	l->address = k.lookup_pc;
	long mi = module_index(b->s, ps ? ps->module : NULL);
	if (mi < 0)
		mi = module_index(b->s, snapshot_module_at(b->s, pc));
	if (mi >= 0)
		l->mapping_id = b->mapid[mi];
	struct module_seen *seen = mi >= 0 ? &b->seen[mi] : NULL;

	int nframes = ps ? ps->nframes : 0;
	l->line = ARENA_NEW(&b->a, PbLine *, nframes ? nframes : 1);
	for (int f = 0; f < nframes; f++) {
		const struct sym_frame *fr = &ps->frames[f];
		if (seen) {
			seen->functions |= fr->function != NULL;
			seen->filenames |= fr->file != NULL;
			seen->line_numbers |= fr->line > 0;
			seen->inline_frames |= fr->inlined;
		}
		/* A frame without a name has nothing pprof could show but the address, which
		 * the location and its mapping already carry (a nearby symbol's guess would
		 * merge unrelated functions into one). */
		if (!fr->function)
			continue;
		PbLine *ln = arena_alloc(&b->a, sizeof(*ln));
		perftools__profiles__line__init(ln);
		ln->function_id = function_id(b, fr);
		ln->line = fr->line;
		l->line[l->n_line++] = ln;
	}

	if (seen && l->n_line == 0)
		seen->unnamed = true;
	VEC_RESERVE(b->locs, b->loccap, b->nlocs + 1);
	VEC_RESERVE(b->lockeys, b->lockeycap, b->nlocs + 1);
	b->locs[b->nlocs] = l;
	b->lockeys[b->nlocs] = k;
	ht_insert(&b->loch, h, (uint32_t)b->nlocs);
	return ++b->nlocs;
}

static void hex_build_id(char *out, const unsigned char *id, int len)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < len; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * len] = 0;
}

/* The first executable mapping of the module's file, or NULL. */
static const struct mapping *text_mapping(const struct snapshot *s, const struct module *m)
{
	for (size_t i = 0; i < s->nmaps; i++) {
		const struct mapping *mp = &s->maps[i];
		if (mp->perms[2] == 'x' && mp->path && m->name && mp->start >= m->start && mp->end <= m->end &&
		    strcmp(mp->path, m->name) == 0)
			return mp;
	}
	return NULL;
}

/* pprof takes the first mapping for the main binary (its name heads every report), so the
 * executable goes first; the others keep the snapshot's order. */
static void add_mappings(struct builder *b)
{
	const struct snapshot *s = b->s;
	size_t n = s->nmodules;
	b->mapid = xcalloc(n ? n : 1, sizeof(*b->mapid));
	b->seen = xcalloc(n ? n : 1, sizeof(*b->seen));
	b->maps = ARENA_NEW(&b->a, PbMapping *, n ? n : 1);
	long exe = -1;
	for (size_t i = 0; i < n && s->executable; i++)
		if (s->modules[i].name && strcmp(s->modules[i].name, s->executable) == 0) {
			exe = (long)i;
			break;
		}
	for (size_t k = 0; k < n; k++) {
		/* k == 0 takes the executable, then the rest in order without it */
		size_t i = exe < 0 ? k : k == 0 ? (size_t)exe : k <= (size_t)exe ? k - 1 : k;
		const struct module *m = &s->modules[i];
		PbMapping *pm = arena_alloc(&b->a, sizeof(*pm));
		perftools__profiles__mapping__init(pm);
		pm->id = b->nmaps + 1;
		/* The module's code: pprof takes a mapping whose program header is not
		 * executable for data and will not symbolize it later. Without its mappings
		 * (a synthetic snapshot), the whole module from file offset 0. */
		const struct mapping *text = text_mapping(s, m);
		pm->memory_start = text ? text->start : m->start;
		pm->memory_limit = text ? text->end : m->end;
		pm->file_offset = text ? text->offset : 0;
		pm->filename = str_id(b, m->name);
		/* The ID the process ran with, when the target recorded one, is the one that
		 * finds the right binary; else the file's. */
		const unsigned char *id = m->target_build_id_len > 0 ? m->target_build_id : m->build_id;
		int idlen = m->target_build_id_len > 0 ? m->target_build_id_len : m->build_id_len;
		if (idlen > 0 && idlen <= (int)sizeof(m->build_id)) {
			char hex[2 * sizeof(m->build_id) + 1];
			hex_build_id(hex, id, idlen);
			pm->build_id = str_id(b, arena_strdup(&b->a, hex));
		}
		b->mapid[i] = pm->id;
		b->maps[b->nmaps++] = pm;
	}
}

static void add_label(struct builder *b, const char *key, const char *str, bool numeric, int64_t num)
{
	PbLabel *l = arena_alloc(&b->a, sizeof(*l));
	perftools__profiles__label__init(l);
	l->key = str_id(b, key);
	if (numeric)
		l->num = num;
	else
		l->str = str_id(b, str);
	VEC_RESERVE(b->labels, b->labelcap, b->nlabels + 1);
	b->labels[b->nlabels++] = l;
}

struct tid_finding {
	pid_t tid;
	size_t finding;
};

static int cmp_tid_tf(const void *key, const void *elem)
{
	pid_t k = *(const pid_t *)key, t = ((const struct tid_finding *)elem)->tid;
	return (k > t) - (k < t);
}

static int cmp_tid_finding(const void *x, const void *y)
{
	const struct tid_finding *a = x, *c = y;
	if (a->tid != c->tid)
		return a->tid < c->tid ? -1 : 1;
	return (a->finding > c->finding) - (a->finding < c->finding);
}

static bool is_goexit(const struct pcsym *ps)
{
	return ps && ps->nframes == 1 && ps->frames[0].function &&
	       strcmp(ps->frames[0].function, "runtime.goexit") == 0;
}

static void add_sample(struct builder *b, const struct task *t, const struct tid_finding *tf, size_t ntf)
{
	PbSample *sm = arena_alloc(&b->a, sizeof(*sm));
	perftools__profiles__sample__init(sm);
	sm->location_id = ARENA_NEW(&b->a, uint64_t, t->npcs > 0 ? t->npcs : 1);
	for (int i = 0; i < t->npcs; i++) {
		const struct pcsym *ps = t->syms ? t->syms[i] : NULL;
		/* Go leaves the goroutine entry trampoline out of its own profiles. */
		if (t->kind == TASK_GOROUTINE && is_goexit(ps))
			continue;
		sm->location_id[sm->n_location_id++] = location_id(b, t->pcs[i], ps, i == 0);
	}
	sm->value = ARENA_NEW(&b->a, int64_t, 1);
	sm->value[0] = 1;
	sm->n_value = 1;

	b->nlabels = 0;
	if (t->kind == TASK_GOROUTINE) {
		add_label(b, "goid", arena_printf(&b->a, "%" PRIu64, t->goid), false, 0);
		add_label(b, "goid", NULL, true, (int64_t)t->goid);
	}
	/* which process: profiles of several processes (attach --tree, run --save) can be given
	 * to go tool pprof together, and -tagfocus=pid=N picks one out */
	add_label(b, "pid", NULL, true, b->s->pid);
	if (b->process)
		add_label(b, "process", b->process, false, 0);
	if (t->kind != TASK_GOROUTINE || t->tid) {
		/* string for -tags/-tagshow, numeric so that -tagfocus=tid=1234 compares numbers */
		add_label(b, "tid", arena_printf(&b->a, "%d", (int)t->tid), false, 0);
		add_label(b, "tid", NULL, true, t->tid);
	}
	if (t->name)
		add_label(b, "thread", t->name, false, 0);
	if (t->state)
		add_label(b, "state", t->state, false, 0);
	const struct wait *w = t->wait;
	if (w && w->kind != WAIT_NONE) {
		add_label(b, "wait", wait_kind_name(w->kind), false, 0);
		const char *obj = w->symbol;
		if (!obj && w->address)
			obj = arena_printf(&b->a, "0x%" PRIx64, w->address);
		if (!obj && w->fd >= 0)
			obj = w->fd_target ? arena_printf(&b->a, "fd %d (%s)", w->fd, w->fd_target)
					   : arena_printf(&b->a, "fd %d", w->fd);
		if (obj)
			add_label(b, "wait_object", obj, false, 0);
		if (w->owner_tid)
			add_label(b, "owner_tid", arena_printf(&b->a, "%d", (int)w->owner_tid), false, 0);
	}
	/* Findings name OS threads; a goroutine is not one, even while it runs on one. */
	if (t->kind == TASK_GOROUTINE)
		ntf = 0;
	/* tf is sorted by tid: find this task's run of findings */
	size_t lo = lower_bound(tf, ntf, sizeof(*tf), &t->tid, cmp_tid_tf);
	for (size_t i = lo; i < ntf && tf[i].tid == t->tid; i++) {
		if (i > lo && tf[i].finding == tf[i - 1].finding)
			continue;
		const struct finding *f = &b->s->findings[tf[i].finding];
		add_label(b, "finding", arena_printf(&b->a, "%s#%d", finding_kind_name(f->kind), f->seq), false, 0);
	}
	if (b->nlabels) {
		sm->label = arena_memdup(&b->a, b->labels, b->nlabels * sizeof(*b->labels));
		sm->n_label = b->nlabels;
	}
	b->samples[b->nsamples++] = sm;
}

static void builder_free(struct builder *b)
{
	free(b->strs);
	free(b->strh.slot);
	free(b->funcs);
	free(b->funch.slot);
	free(b->locs);
	free(b->lockeys);
	free(b->loch.slot);
	free(b->mapid);
	free(b->seen);
	free(b->labels);
	arena_free(&b->a);
}

static int write_gzip(FILE *out, const uint8_t *data, size_t len, struct err *e)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16 asks zlib for a gzip header and trailer rather than zlib's own */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return err_set(e, ERR_FAIL, "pprof: cannot start gzip compression: %s", z.msg ? z.msg : "zlib error");
	unsigned char obuf[64 * 1024];
	size_t off = 0;
	int rc = Z_OK;
	bool failed = false;
	do {
		size_t chunk = len - off > (1u << 30) ? (1u << 30) : len - off;
		z.next_in = (Bytef *)(data + off);
		z.avail_in = (uInt)chunk;
		off += chunk;
		int flush = off == len ? Z_FINISH : Z_NO_FLUSH;
		do {
			z.next_out = obuf;
			z.avail_out = sizeof(obuf);
			rc = deflate(&z, flush);
			if (rc == Z_STREAM_ERROR)
				break;
			size_t have = sizeof(obuf) - z.avail_out;
			if (have && fwrite(obuf, 1, have, out) != have)
				failed = true;
		} while (z.avail_out == 0 && !failed);
	} while (off < len && rc != Z_STREAM_ERROR && !failed);
	deflateEnd(&z);
	if (rc == Z_STREAM_ERROR)
		return err_set(e, ERR_FAIL, "pprof: gzip compression failed");
	if (failed || fflush(out) == EOF || ferror(out))
		return err_set(e, ERR_FAIL, "pprof: cannot write the output");
	if (rc != Z_STREAM_END)
		return err_set(e, ERR_FAIL, "pprof: gzip stream did not end");
	return 0;
}

int report_pprof(FILE *out, const struct snapshot *s, struct err *e)
{
	struct builder b;
	memset(&b, 0, sizeof(b));
	b.s = s;
	b.go = report_go_target(s);
	const struct task *leader = snapshot_find_task(s, s->pid);
	b.process = leader && leader->name ? leader->name : NULL;
	str_id(&b, "");		/* string_table[0] must be "" */

	add_mappings(&b);

	size_t ntf = 0;
	for (size_t i = 0; i < s->nfindings; i++)
		ntf += (size_t)(s->findings[i].ntids > 0 ? s->findings[i].ntids : 0);
	struct tid_finding *tf = xcalloc(ntf ? ntf : 1, sizeof(*tf));
	ntf = 0;
	for (size_t i = 0; i < s->nfindings; i++)
		for (int k = 0; k < s->findings[i].ntids; k++)
			tf[ntf++] = (struct tid_finding){ s->findings[i].tids[k], i };
	qsort(tf, ntf, sizeof(*tf), cmp_tid_finding);

	size_t ntasks;
	const struct task *tasks = report_profiled_tasks(s, &ntasks);
	b.samples = ARENA_NEW(&b.a, PbSample *, ntasks ? ntasks : 1);
	for (size_t i = 0; i < ntasks; i++)
		add_sample(&b, &tasks[i], tf, ntf);
	free(tf);

	for (size_t i = 0; i < s->nmodules; i++) {
		PbMapping *pm = b.maps[b.mapid[i] - 1];
		/* pprof symbolizes the locations without lines of a mapping without functions,
		 * given the binary (-symbolize, PPROF_BINARY_PATH) */
		pm->has_functions = b.seen[i].functions && !b.seen[i].unnamed;
		pm->has_filenames = b.seen[i].filenames;
		pm->has_line_numbers = b.seen[i].line_numbers;
		pm->has_inline_frames = b.seen[i].inline_frames;
	}

	PbProfile p;
	perftools__profiles__profile__init(&p);
	PbValueType st, pt;
	perftools__profiles__value_type__init(&st);
	st.type = str_id(&b, b.go ? "goroutine" : "threads");
	st.unit = str_id(&b, "count");
	pt = st;
	PbValueType *stp = &st;
	p.sample_type = &stp;
	p.n_sample_type = 1;
	p.period_type = &pt;
	p.period = 1;
	p.time_nanos = (int64_t)s->capture_time_ns;
	p.duration_nanos = (int64_t)s->pause_ns;
	p.sample = b.samples;
	p.n_sample = b.nsamples;
	p.mapping = b.maps;
	p.n_mapping = b.nmaps;
	p.location = b.locs;
	p.n_location = b.nlocs;
	p.function = b.funcs;
	p.n_function = b.nfuncs;

	int64_t *comments = ARENA_NEW(&b.a, int64_t, s->nfindings ? s->nfindings : 1);
	for (size_t i = 0; i < s->nfindings; i++)
		if (s->findings[i].summary)
			comments[p.n_comment++] = str_id(&b, s->findings[i].summary);
	p.comment = comments;

	/* Last: every string above must be interned before the table is handed over. */
	p.string_table = b.strs;
	p.n_string_table = b.nstrs;

	size_t len = perftools__profiles__profile__get_packed_size(&p);
	uint8_t *buf = xmalloc(len ? len : 1);
	size_t packed = perftools__profiles__profile__pack(&p, buf);
	int rc = packed == len ? write_gzip(out, buf, len, e)
			       : err_set(e, ERR_FAIL, "pprof: protobuf encoding gave %zu bytes, expected %zu", packed, len);
	free(buf);
	builder_free(&b);
	return rc;
}

int report_pprof_default_name(char *buf, size_t size, const char *dir, const struct snapshot *s,
			      struct err *e)
{
	time_t t = (time_t)(s->capture_time_ns / 1000000000ull);
	struct tm tm;
	char stamp[32];
	if (!gmtime_r(&t, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm) == 0)
		return err_set(e, ERR_FAIL, "pprof: cannot format the capture time %" PRIu64, s->capture_time_ns);
	int n;
	if (dir && *dir)
		n = snprintf(buf, size, "%s%schang-%d-%s.pb.gz", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
			     (int)s->pid, stamp);
	else
		n = snprintf(buf, size, "chang-%d-%s.pb.gz", (int)s->pid, stamp);
	if (n < 0 || (size_t)n >= size)
		return err_set(e, ERR_FAIL, "%s: output path too long", dir && *dir ? dir : "pprof");
	return 0;
}
