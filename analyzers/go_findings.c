/* Findings about goroutines, from what go_capture put in the model (each goroutine's
 * object and operation, and the mutexes it likely holds): many goroutines stuck on one
 * channel or lock, lock cycles (inferred: Go mutexes record no owner), and a goroutine
 * explosion. Reads the model only; runs with the other analyzers. */
#include "analyzers/go_findings.h"
#include "util/xalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPLOSION 10000
#define MAX_CYCLE 16

static const char *base(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;
	return s ? s + 1 : path;
}

/* The goroutine's first frame outside the runtime and sync: "main.publish (bus.go:88)". */
static const char *site(struct arena *a, const struct task *t)
{
	for (int i = 0; i < t->npcs; i++) {
		const struct pcsym *ps = t->syms ? t->syms[i] : NULL;
		const struct sym_frame *f = ps && ps->nframes ? &ps->frames[0] : NULL;
		if (!f || !f->function)
			continue;
		if (strncmp(f->function, "runtime.", 8) == 0 || strncmp(f->function, "sync.", 5) == 0 ||
		    strncmp(f->function, "internal/", 9) == 0)
			continue;
		return f->file ? arena_printf(a, "%s (%s:%d)", f->function, base(f->file), f->line) : f->function;
	}
	return NULL;
}

static const char *object_name(struct arena *a, const struct go_object *o)
{
	if (o->symbol)
		return o->symbol;
	return arena_printf(a, "%#llx", (unsigned long long)o->address);
}

struct member {
	const struct go_object *o;
	const char *op;
	const struct task *t;
};

/* ", at main.publish (bus.go:88)", or ", mostly at ..." when the goroutines differ. */
static const char *common_site(struct arena *a, const struct member *v, size_t n)
{
	enum { SAMPLE = 512, SITES = 16 };
	const char *names[SITES];
	size_t counts[SITES], nsites = 0, seen = 0;
	for (size_t i = 0; i < n && i < SAMPLE; i++) {
		const char *w = site(a, v[i].t);
		if (!w)
			continue;
		seen++;
		size_t k;
		for (k = 0; k < nsites; k++)
			if (strcmp(names[k], w) == 0)
				break;
		if (k == nsites) {
			if (nsites == SITES)
				continue;
			names[nsites] = w;
			counts[nsites++] = 0;
		}
		counts[k]++;
	}
	size_t best = 0;
	for (size_t k = 1; k < nsites; k++)
		if (counts[k] > counts[best])
			best = k;
	if (!nsites)
		return "";
	return arena_printf(a, ", %sat %s", counts[best] == seen ? "" : "mostly ", names[best]);
}

static int cmp_member(const void *x, const void *y)
{
	const struct member *a = x, *b = y;
	if (a->o != b->o)
		return (uintptr_t)a->o < (uintptr_t)b->o ? -1 : 1;
	int c = strcmp(a->op, b->op);
	if (c)
		return c;
	return (a->t->goid > b->t->goid) - (a->t->goid < b->t->goid);
}

static const char *chan_facts(struct arena *a, const struct go_object *o)
{
	const char *buf = o->capacity ? arena_printf(a, "buffer %llu/%llu%s", (unsigned long long)o->qcount,
						     (unsigned long long)o->capacity,
						     o->qcount >= o->capacity ? " full" : "")
				      : "unbuffered";
	return arena_printf(a, "%s, %s%s, %d sender%s and %d receiver%s waiting", o->type ? o->type : "chan", buf,
			    o->closed ? ", closed" : "", o->senders, o->senders == 1 ? "" : "s", o->receivers,
			    o->receivers == 1 ? "" : "s");
}

/* The function that asked for the semaphore, past the runtime's own parking and semaphore
 * code: runtime.gcStart, runtime.stopTheWorld... when the semaphore is the runtime's own. */
static bool runtime_semaphore_wait(const struct task *t)
{
	static const char *const parking[] = { "runtime.gopark", "runtime.goparkunlock", "runtime.semacquire",
		"runtime.semrelease", "sync.runtime_Sem", "internal/sync.runtime_Sem", "runtime.mcall",
		"runtime.park_m", NULL };
	for (int i = 0; i < t->npcs; i++) {
		const struct pcsym *ps = t->syms ? t->syms[i] : NULL;
		for (int k = 0; ps && k < ps->nframes; k++) {
			const char *fn = ps->frames[k].function;
			if (!fn)
				return false;
			bool park = false;
			for (const char *const *p = parking; *p && !park; p++)
				park = strncmp(fn, *p, strlen(*p)) == 0;
			if (!park)
				return strncmp(fn, "runtime.", 8) == 0;
		}
	}
	return false;
}

/* Goroutines queued on one of the runtime's own semaphores (the garbage collector's
 * work.startSema, worldsema) wait for the runtime's housekeeping to finish: not a finding. */
static bool runtime_housekeeping(const struct member *v, size_t n)
{
	if (v[0].o->kind != WAIT_SEMAPHORE)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!runtime_semaphore_wait(v[i].t))
			return false;
	return true;
}

/* Is o where one of the chains in l from `from` on starts? That finding tells it all. */
static bool chain_start(const struct finding_list *l, size_t from, size_t to, const struct go_object *o)
{
	for (size_t k = from; k < to; k++)
		if (l->v[k].nchain && l->v[k].chain[0].object == o)
			return true;
	return false;
}

static void mass(struct snapshot *s, int threshold, struct finding_list *l, size_t chains_from)
{
	size_t chains_to = l->n;
	size_t n = s->ngoroutines, m = 0;
	struct member *v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		const struct task *t = &s->goroutines[i];
		if (t->go && t->go->object && t->go->object_op)
			v[m++] = (struct member){ t->go->object, t->go->object_op, t };
	}
	qsort(v, m, sizeof(*v), cmp_member);
	struct arena *a = &s->arena;
	for (size_t i = 0; i < m;) {
		size_t j = i + 1;
		while (j < m && v[j].o == v[i].o && strcmp(v[j].op, v[i].op) == 0)
			j++;
		size_t count = j - i;
		bool big = threshold > 0 ? count >= (size_t)threshold : count >= 10 && count * 10 >= n;
		const struct go_object *o = v[i].o;
		if (big && !runtime_housekeeping(&v[i], count) && !chain_start(l, chains_from, chains_to, o)) {
			struct finding *f = findings_push(l, FINDING_MASS_BLOCKING);
			f->count = (int)count;
			f->goids = ARENA_NEW(a, uint64_t, count);
			f->ngoids = (int)count;
			for (size_t k = 0; k < count; k++)
				f->goids[k] = v[i + k].t->goid;
			f->object.kind = o->kind;
			f->object.address = o->address;
			f->object.symbol = o->symbol;
			f->object.fd = -1;
			const char *at = common_site(a, &v[i], count);
			if (o->kind == WAIT_CHANNEL) {
				const char *why = "";
				bool sending = strcmp(v[i].op, "sending on") == 0;
				if (sending && o->receivers == 0 && o->capacity && o->qcount >= o->capacity)
					why = ": the buffer is full and nobody receives; its consumer is gone or stuck";
				else if (sending && o->receivers == 0)
					why = ": nobody receives";
				else if (!sending && o->senders == 0) {
					/* receivers waiting for work: what idle pools look like */
					why = ": nobody sends; this may be an idle pool waiting for work";
					f->maybe_normal = true;
				}
				f->object.detail = chan_facts(a, o);
				f->summary = arena_printf(a, "%zu goroutines blocked %s channel %s (%s)%s%s.", count, v[i].op,
							  object_name(a, o), f->object.detail, at, why);
			} else {
				f->object.detail = o->state;
				const char *owner = o->kind == WAIT_MUTEX || o->kind == WAIT_RWLOCK
							    ? "; Go mutexes record no owner" : "";
				/* workers waiting for a Cond to be signalled: what idle pools look like */
				f->maybe_normal = o->kind == WAIT_CONDVAR;
				f->summary = arena_printf(a, "%zu goroutines blocked %s %s %s (%s)%s%s.", count, v[i].op,
							  o->type, object_name(a, o), o->state ? o->state : "state unknown",
							  at, owner);
			}
		}
		i = j;
	}
	free(v);
}

/* Lock cycles: goroutine G waits for mutex M, which goroutine H likely holds (its blocked
 * function locked M and had not unlocked it), H waits for a mutex G likely holds, ...
 * Only contended mutexes can be held in this sense, so the holder table stays small. */
struct held {
	const struct go_object *o;
	const struct task *t;
};

static const struct task *holder_of(const struct held *h, size_t n, const struct go_object *o)
{
	for (size_t i = 0; i < n; i++)
		if (h[i].o == o)
			return h[i].t;
	return NULL;
}

static void cycles(struct snapshot *s, struct finding_list *l)
{
	struct arena *a = &s->arena;
	const struct go_object **reported = NULL;
	size_t nrep = 0, caprep = 0;
	struct held *held = NULL;
	size_t nheld = 0, capheld = 0;
	for (size_t i = 0; i < s->ngoroutines; i++) {
		const struct task *t = &s->goroutines[i];
		for (int k = 0; t->go && k < t->go->nlikely_holds; k++) {
			if (holder_of(held, nheld, t->go->likely_holds[k]) || nheld >= 4096)
				continue;
			VEC_RESERVE(held, capheld, nheld + 1);
			held[nheld++] = (struct held){ t->go->likely_holds[k], t };
		}
	}
	for (size_t i = 0; i < s->ngoroutines; i++) {
		const struct task *start = &s->goroutines[i];
		if (!start->go || !start->go->nlikely_holds || !start->go->object)
			continue;
		const struct task *path[MAX_CYCLE];
		int n = 0;
		bool closed = false;
		for (const struct task *t = start; t && n < MAX_CYCLE && t->go && t->go->object;
		     t = holder_of(held, nheld, t->go->object)) {
			int at = -1;
			for (int k = 0; k < n; k++)
				if (path[k] == t)
					at = k;
			if (at >= 0) {
				closed = at == 0;
				break;
			}
			path[n++] = t;
		}
		if (!closed || n == 0)
			continue;
		/* one finding per cycle: skip it when its first lock was reported already */
		bool dup = false;
		for (size_t k = 0; k < nrep; k++)
			for (int q = 0; q < n; q++)
				dup |= reported[k] == path[q]->go->object;
		if (dup)
			continue;
		VEC_RESERVE(reported, caprep, nrep + (size_t)n);
		for (int q = 0; q < n; q++)
			reported[nrep++] = path[q]->go->object;

		struct finding *f = findings_push(l, n == 1 ? FINDING_SELF_DEADLOCK : FINDING_DEADLOCK);
		f->inferred = true;
		f->goids = ARENA_NEW(a, uint64_t, n);
		f->ngoids = n;
		f->locks = ARENA_NEW(a, struct finding_lock, n);
		f->nlocks = n;
		char *text = arena_printf(a, "suspected %s (inferred: Go mutexes record no owner): ",
					  n == 1 ? "self-deadlock" : "deadlock");
		for (int q = 0; q < n; q++) {
			const struct task *g = path[q], *h = path[(q + 1) % n];
			const struct go_object *o = g->go->object;
			f->goids[q] = g->goid;
			f->locks[q] = (struct finding_lock){ .kind = o->kind, .address = o->address, .symbol = o->symbol };
			int waiters = 0;
			for (size_t k = 0; k < s->ngoroutines; k++)
				waiters += s->goroutines[k].go && s->goroutines[k].go->object == o;
			const char *ws = site(a, g);
			text = arena_printf(a, "%s%sgoroutine %llu%s%s waits to lock %s %s (%s%s), which goroutine %llu likely "
					    "holds", text, q ? "; " : "", (unsigned long long)g->goid, ws ? " in " : "",
					    ws ? ws : "", o->type, object_name(a, o), o->state ? o->state : "",
					    waiters > 1 ? arena_printf(a, "; %d goroutines wait for it", waiters) : "",
					    (unsigned long long)h->goid);
		}
		f->summary = arena_printf(a, "%s. Evidence: each function locked the mutex the next one waits for "
					  "and had not unlocked it when it blocked (read from its code).", text);
	}
	free(reported);
	free(held);
}

/* ---- Blocking chains: waiters -> who would release what they wait on -> ... -> root ----
 * The Go runtime records no mutex owner, no channel consumer and no one who will call a
 * WaitGroup's Done; go/holders.c read from each goroutine's code what it did with the
 * objects others wait on. Each edge is inferred from that, and labelled with it. */

#define MAX_CHAIN 16

static bool has(const struct go_ref *r, enum go_ref_how h)
{
	return r->hows & (1u << h);
}

static bool sending(const struct task *g)
{
	return strcmp(g->go->object_op, "sending on") == 0;
}

/* 2: strong evidence h releases what g waits on, 1: weak, 0: none */
static int release_evidence(const struct task *g, const struct task *h, const struct go_ref *r)
{
	const struct go_object *o = g->go->object;
	if (h == g || (h->go->object == o && h->go->object_op && strcmp(h->go->object_op, g->go->object_op) == 0))
		return 0;
	switch (o->kind) {
	case WAIT_MUTEX:
		return has(r, GO_REF_LOCKED) ? 2 : 0;
	case WAIT_CHANNEL:
		if (sending(g))
			return has(r, GO_REF_RECEIVED) ? 2 : has(r, GO_REF_SENT) ? 0 : 1;
		return has(r, GO_REF_SENT) || has(r, GO_REF_CLOSED) ? 2 : has(r, GO_REF_RECEIVED) ? 0 : 1;
	case WAIT_JOIN:
		/* a worker with a deferred Done took the WaitGroup's address and has not called
		 * Add or Done yet; one that called Add or Done (a spawner, a worker that finished)
		 * already did its part */
		if (h->go->object == o || has(r, GO_REF_ADDED))
			return 0;
		return 2;
	case WAIT_CONDVAR:
		/* a producer's loop that signals it, or at least uses it */
		return has(r, GO_REF_SIGNALED) ? 2 : 1;
	default:
		return 0;
	}
}

/* What the next goroutine is to the object, and why it is thought to be. */
static const char *relation(const struct go_object *o, const struct task *g)
{
	switch (o->kind) {
	case WAIT_MUTEX:
		return "likely holds it";
	case WAIT_CHANNEL:
		return sending(g) ? "likely receives from it (its consumer)" : "likely sends on it (its producer)";
	case WAIT_CONDVAR:
		return "likely signals it";
	default:
		return "likely calls its Done";
	}
}

static const char *evidence_words(struct arena *a, const struct go_ref *r, const char *obj, int others)
{
	const char *what = has(r, GO_REF_LOCKED)     ? "locked %s and had not unlocked it"
			   : has(r, GO_REF_RECEIVED) ? "received from %s (runtime.chanrecv)"
			   : has(r, GO_REF_SENT)     ? "sent on %s (runtime.chansend1)"
			   : has(r, GO_REF_CLOSED)   ? "closed %s"
			   : has(r, GO_REF_SELECTED) ? "selected on %s"
			   : has(r, GO_REF_ADDED)    ? "called Add or Done on %s"
			   : has(r, GO_REF_SIGNALED) ? "signalled %s (sync.(*Cond).Signal or Broadcast)"
						     : "took the address of %s";
	const char *did = arena_printf(a, what, obj);
	return arena_printf(a, "%s, where it is now, %s before (code at %#llx)%s", r->function, did,
			    (unsigned long long)r->at,
			    others ? arena_printf(a, "; weaker evidence for %d other goroutine%s", others,
						  others == 1 ? "" : "s")
				   : "; no other goroutine's code uses it");
}

struct next {
	const struct task *h;
	const struct go_ref *r;
	int others;		/* weaker candidates passed over */
	int candidates;		/* of the strongest evidence */
};

/* Every goroutine's refs, by object: who used what, found without a pass over all goroutines
 * per waiter (100,000 goroutines each on its own channel stay linear). */
struct obj_user {
	const struct go_object *o;
	const struct task *h;
	const struct go_ref *r;
};

static int cmp_user(const void *x, const void *y)
{
	const struct obj_user *a = x, *b = y;
	if (a->o != b->o)
		return (uintptr_t)a->o < (uintptr_t)b->o ? -1 : 1;
	return (a->h->goid > b->h->goid) - (a->h->goid < b->h->goid);
}

static struct next next_of(const struct obj_user *u, size_t nu, const struct task *g)
{
	struct next n = { 0 };
	const struct go_object *o = g->go ? g->go->object : NULL;
	if (!o || !g->go->object_op || strcmp(g->go->object_op, "selecting on") == 0)
		return n;
	size_t lo = 0, hi = nu;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if ((uintptr_t)u[mid].o < (uintptr_t)o)
			lo = mid + 1;
		else
			hi = mid;
	}
	int best = 0;
	for (size_t i = lo; i < nu && u[i].o == o; i++) {
		const struct task *h = u[i].h;
		int e = release_evidence(g, h, u[i].r);
		if (!e)
			continue;
		if (e > best) {
			n.others += n.candidates;
			best = e;
			n.candidates = 1;
			n.h = h;
			n.r = u[i].r;
		} else if (e == best) {
			n.candidates++;
		} else {
			n.others++;
		}
	}
	if (n.candidates != 1)
		n.h = NULL;
	return n;
}

/* A root that cannot move by itself: a channel nobody else's code uses (not a timer's), a
 * nil channel, an empty select. Anything else (sleeping, I/O, running, a lock whose holder
 * is not known) may be contention that moves. */
static bool stuck(const struct task *root, const struct next *n)
{
	const struct goroutine_info *gi = root->go;
	if (n->candidates)
		return false;
	if (!gi->object_op)
		return false;
	if (!gi->object)
		return strstr(gi->object_op, "nil channel") || strstr(gi->object_op, "no cases");
	/* only the users of a channel held in a global are seen in code: of a channel on the
	 * heap, "nobody else uses it" would be a guess */
	if (gi->object->kind != WAIT_CHANNEL || strcmp(gi->object_op, "selecting on") == 0 || !gi->object->holder)
		return false;
	return !(gi->object->type && strcmp(gi->object->type, "chan time.Time") == 0);
}

static const char *object_words(struct arena *a, const struct go_object *o)
{
	if (o->kind == WAIT_CHANNEL)
		return arena_printf(a, "channel %s", object_name(a, o));
	return arena_printf(a, "%s %s", o->type ? o->type : "object", object_name(a, o));
}

/* Cycles through inferred edges that are not all mutexes (cycles() has those): a consumer
 * locking a mutex whose holder sends on the consumer's full channel, and the like. One
 * finding per cycle, from its lowest goroutine ID. */
static void mixed_cycles(struct snapshot *s, const struct next *nx, struct finding_list *l)
{
	struct arena *a = &s->arena;
	for (size_t i = 0; i < s->ngoroutines; i++) {
		const struct task *start = &s->goroutines[i];
		const struct task *path[MAX_CHAIN];
		int np = 0;
		bool closed = false, mixed = false;
		if (!nx[i].h)
			continue;	/* every goroutine on a cycle has a next one */
		for (const struct task *t = start; t && np < MAX_CHAIN; t = nx[t - s->goroutines].h) {
			if (np && t == start) {
				closed = true;
				break;
			}
			if (t->goid < start->goid)
				break;	/* found from its lowest goroutine ID */
			bool seen = false;
			for (int k = 0; k < np; k++)
				seen |= path[k] == t;
			if (seen)
				break;
			path[np++] = t;
			mixed |= t->go->object && t->go->object->kind != WAIT_MUTEX;
		}
		if (!closed || !mixed)
			continue;
		struct finding *f = findings_push(l, np == 1 ? FINDING_SELF_DEADLOCK : FINDING_DEADLOCK);
		f->inferred = true;
		f->goids = ARENA_NEW(a, uint64_t, np);
		f->ngoids = np;
		f->chain = ARENA_NEW(a, struct chain_link, np);
		f->nchain = np;
		const char *text = "";
		for (int k = 0; k < np; k++) {
			const struct task *g = path[k], *h = path[(k + 1) % np];
			const struct go_object *o = g->go->object;
			struct chain_link *c = &f->chain[k];
			f->goids[k] = g->goid;
			c->goid = g->goid;
			c->count = 1;
			c->op = g->go->object_op;
			c->object = o;
			c->site = site(a, g);
			c->next_goid = h->goid;
			c->relation = relation(o, g);
			c->inferred = true;
			c->evidence = evidence_words(a, nx[g - s->goroutines].r, object_name(a, o),
						     nx[g - s->goroutines].others);
			text = arena_printf(a, "%s%sgoroutine %llu%s%s is %s %s; goroutine %llu %s", text, k ? "; " : "",
					    (unsigned long long)g->goid, c->site ? " in " : "", c->site ? c->site : "",
					    c->op, object_words(a, o), (unsigned long long)h->goid, c->relation);
		}
		f->summary = arena_printf(a, "suspected %s (inferred: Go records no lock owner or channel consumer): "
					  "%s.", np == 1 ? "self-deadlock" : "deadlock", text);
		f->evidence = "each next goroutine is the only one whose current code used the object: see each step's "
			      "evidence";
	}
}

static void chains(struct snapshot *s, struct finding_list *l)
{
	size_t n = s->ngoroutines;
	struct arena *a = &s->arena;
	/* the goroutines someone waits for: chains start only where nobody does */
	bool *reached = xcalloc(n ? n : 1, sizeof(*reached));
	struct next *nx = xcalloc(n ? n : 1, sizeof(*nx));
	struct obj_user *u = NULL;
	size_t nu = 0, capu = 0;
	for (size_t i = 0; i < n; i++) {
		const struct task *h = &s->goroutines[i];
		for (int k = 0; h->go && k < h->go->nrefs; k++) {
			VEC_RESERVE(u, capu, nu + 1);
			u[nu++] = (struct obj_user){ h->go->refs[k].o, h, &h->go->refs[k] };
		}
	}
	if (nu)
		qsort(u, nu, sizeof(*u), cmp_user);
	/* waiters of one object the same way share the answer (each is left out of its own:
	 * it waits the same way): 50,000 senders on one channel are all its users, and asking
	 * once each would be quadratic */
	struct member *w = xcalloc(n ? n : 1, sizeof(*w));
	size_t nw = 0;
	for (size_t i = 0; i < n; i++) {
		const struct task *t = &s->goroutines[i];
		if (t->go && t->go->object && t->go->object_op)
			w[nw++] = (struct member){ t->go->object, t->go->object_op, t };
	}
	qsort(w, nw, sizeof(*w), cmp_member);
	for (size_t i = 0; i < nw;) {
		size_t j = i + 1;
		while (j < nw && w[j].o == w[i].o && strcmp(w[j].op, w[i].op) == 0)
			j++;
		struct next r = next_of(u, nu, w[i].t);
		for (size_t k = i; k < j; k++)
			nx[w[k].t - s->goroutines] = r;
		if (r.h)
			reached[r.h - s->goroutines] = true;
		i = j;
	}
	free(w);
	mixed_cycles(s, nx, l);
	struct member *v = xcalloc(n ? n : 1, sizeof(*v));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct task *t = &s->goroutines[i];
		if (t->go && t->go->object && t->go->object_op && nx[i].h && !reached[i])
			v[m++] = (struct member){ t->go->object, t->go->object_op, t };
	}
	qsort(v, m, sizeof(*v), cmp_member);
	for (size_t i = 0; i < m;) {
		size_t j = i + 1;
		while (j < m && v[j].o == v[i].o && strcmp(v[j].op, v[i].op) == 0)
			j++;
		const struct task *path[MAX_CHAIN];
		int np = 0;
		bool cycle = false;
		for (const struct task *t = v[i].t; t && np < MAX_CHAIN; t = nx[t - s->goroutines].h) {
			for (int k = 0; k < np; k++)
				cycle |= path[k] == t;
			if (cycle)
				break;
			path[np++] = t;
		}
		const struct task *root = path[np - 1];
		if (cycle || np < 2 || !stuck(root, &nx[root - s->goroutines])) {
			i = j;
			continue;
		}
		struct finding *f = findings_push(l, FINDING_BLOCKING_CHAIN);
		f->inferred = true;
		f->count = (int)(j - i);
		f->ngoids = (int)(j - i) + np - 1;
		f->goids = ARENA_NEW(a, uint64_t, f->ngoids);
		for (size_t k = i; k < j; k++)
			f->goids[k - i] = v[k].t->goid;
		for (int k = 1; k < np; k++)
			f->goids[j - i + (size_t)k - 1] = path[k]->goid;
		f->chain = ARENA_NEW(a, struct chain_link, np);
		f->nchain = np;
		f->object.kind = v[i].o->kind;
		f->object.address = v[i].o->address;
		f->object.symbol = v[i].o->symbol;
		f->object.fd = -1;
		f->object.detail = v[i].o->kind == WAIT_CHANNEL ? chan_facts(a, v[i].o) : v[i].o->state;
		const char *text = "";
		for (int k = 0; k < np; k++) {
			const struct task *g = path[k];
			const struct go_object *o = g->go->object;
			struct chain_link *c = &f->chain[k];
			const char *ws = site(a, g);
			c->goid = g->goid;
			c->count = k ? 1 : (int)(j - i);
			c->op = g->go->object_op;
			c->object = o;
			c->site = ws;
			const char *facts = !o ? "" : o->kind == WAIT_CHANNEL ? chan_facts(a, o) : o->state ? o->state : "";
			const char *obj = o ? object_words(a, o) : "";
			const char *who = k == 0 && c->count > 1
						  ? arena_printf(a, "%d goroutines (e.g. %llu)%s%s", c->count,
								 (unsigned long long)g->goid, ws ? " in " : "", ws ? ws : "")
						  : arena_printf(a, "goroutine %llu%s%s", (unsigned long long)g->goid,
								 ws ? " in " : "", ws ? ws : "");
			const char *waits = o ? arena_printf(a, "%s %s %s%s%s%s", c->count > 1 ? "are" : "is", c->op, obj,
							     *facts ? " (" : "", facts, *facts ? ")" : "")
					      : arena_printf(a, "is %s", c->op);
			if (k + 1 < np) {
				const struct next *e = &nx[g - s->goroutines];
				c->next_goid = path[k + 1]->goid;
				c->relation = relation(o, g);
				c->inferred = true;
				c->evidence = evidence_words(a, e->r, object_name(a, o), e->others);
				text = arena_printf(a, "%s%s %s; goroutine %llu %s", text, who, waits,
						    (unsigned long long)c->next_goid, c->relation);
				text = arena_printf(a, "%s. Then ", text);
			} else {
				const char *why = !o ? "" : o->kind == WAIT_CHANNEL && sending(g) ? ", from which no other goroutine's code receives"
						  : o->kind == WAIT_CHANNEL ? ", on which no other goroutine's code sends" : "";
				c->relation = NULL;
				/* nobody to follow is itself read from code: say so */
				c->evidence = o && o->kind == WAIT_CHANNEL
						      ? arena_printf(a, "no other goroutine's current code %s %s",
								     sending(g) ? "receives from" : "sends on or closes",
								     object_name(a, o))
						      : NULL;
				text = arena_printf(a, "%sthe root: %s %s%s", text, who, waits, why);
			}
		}
		/* "Then goroutine 7 ..." reads better than repeating the subject */
		f->summary = arena_printf(a, "blocking chain (inferred: Go records no lock owner or channel "
					  "consumer): %s.", text);
		f->evidence = "each step's next goroutine is the only one whose current code used the object "
			      "(locked the mutex and had not unlocked it, received from or sent on the channel, "
			      "holds the WaitGroup): see each step's evidence";
		i = j;
	}
	free(v);
	free(u);
	free(nx);
	free(reached);
}

/* Many goroutines: the total and where they were created, as a warning. */
static void explosion(struct snapshot *s)
{
	if (s->ngoroutines < EXPLOSION)
		return;
	struct site_count {
		const char *fn, *file;
		int line;
		size_t n;
	} top[64];
	int ntop = 0;
	for (size_t i = 0; i < s->ngoroutines; i++) {
		const struct goroutine_info *gi = s->goroutines[i].go;
		if (!gi || !gi->created_by)
			continue;
		int k;
		for (k = 0; k < ntop; k++)
			if (top[k].fn == gi->created_by && top[k].line == gi->created_line && top[k].file == gi->created_file)
				break;
		if (k == ntop) {
			if (ntop == 64)
				continue;
			top[ntop++] = (struct site_count){ gi->created_by, gi->created_file, gi->created_line, 0 };
		}
		top[k].n++;
	}
	char buf[600];
	size_t len = 0;
	for (int shown = 0; shown < 3; shown++) {
		int best = -1;
		for (int k = 0; k < ntop; k++)
			if (top[k].n && (best < 0 || top[k].n > top[best].n))
				best = k;
		if (best < 0)
			break;
		int w = snprintf(buf + len, sizeof(buf) - len, "%s%zu by %s (%s:%d)", shown ? ", " : "", top[best].n,
				 top[best].fn, base(top[best].file) ? base(top[best].file) : "?", top[best].line);
		if (w < 0 || (size_t)w >= sizeof(buf) - len)
			break;
		len += (size_t)w;
		top[best].n = 0;
	}
	snapshot_warn(s, "%zu goroutines; created most by: %s", s->ngoroutines, len ? buf : "unknown");
}

void go_findings(struct snapshot *s, int threshold, struct finding_list *l)
{
	if (!s->ngoroutines)
		return;
	cycles(s, l);
	size_t before = l->n;
	chains(s, l);
	mass(s, threshold, l, before);
	explosion(s);
}
