/* Struct layouts from the runtime's own type descriptors, which even -ldflags='-s -w'
 * binaries keep (the runtime allocates g, m, sudog, hchan... with new()). A descriptor is
 * found by its name "*runtime.g" (stored with tflagExtraStar) among [types, etypes), then
 * its structType lists every field's name and offset. Offsets move between Go versions
 * (g.goid is at 152 in 1.19 and 160 in 1.23), so none is written down here. */
#include "go/internal.h"
#include "util/xalloc.h"
#include "util/bsearch.h"
#include <stdlib.h>
#include <string.h>

#define KIND_MASK 31
#define KIND_MAP 21
#define KIND_STRUCT 25
#define TFLAG_EXTRASTAR 2
#define TYPE_HDR 48		/* abi.Type / runtime._type on 64-bit, 1.18 to 1.23 */
#define MAX_FIELDS 512

static bool tbuf_at(const struct goreader *r, uint64_t addr, uint64_t len, const unsigned char **p)
{
	if (addr < r->types || addr - r->types > r->typelen || len > r->typelen - (addr - r->types))
		return false;
	*p = r->typebuf + (addr - r->types);
	return true;
}

/* A runtime name: flags byte, uvarint length, bytes. */
static bool read_name(struct goreader *r, uint64_t addr, char *out, size_t cap)
{
	unsigned char b[2 + 5 + 256];
	const unsigned char *p;
	if (tbuf_at(r, addr, 8, &p)) {
		size_t avail = r->typelen - (size_t)(addr - r->types);
		memcpy(b, p, avail < sizeof(b) ? avail : sizeof(b));
		if (avail < sizeof(b))
			memset(b + avail, 0, sizeof(b) - avail);
	} else if (go_read_some(r, addr, b, sizeof(b)) < 8) {
		return false;
	}
	size_t pos = 1, len = 0;
	for (unsigned shift = 0; pos < 6; shift += 7) {
		unsigned char c = b[pos++];
		len |= (size_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
	}
	if (len >= cap || pos + len > sizeof(b))
		return false;
	memcpy(out, b + pos, len);
	out[len] = 0;
	return true;
}

struct go_typeidx {
	int32_t nameoff;
	uint8_t kind;
	uint64_t off;
};

static int cmp_tix(const void *a, const void *b)
{
	const struct go_typeidx *x = a, *y = b;
	if (x->nameoff != y->nameoff)
		return x->nameoff < y->nameoff ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return (x->off > y->off) - (x->off < y->off);
}

/* One pass over [types, etypes): every 8-aligned place that looks like a descriptor whose
 * name has the extra star, by (name offset, kind), lowest address first. A name found by
 * its bytes is then looked up, not searched for again across the whole region. */
static void build_index(struct goreader *r)
{
	size_t cap = 1024;
	r->tix = xmalloc(cap * sizeof(*r->tix));
	r->ntix = 0;
	uint64_t first = (8 - (r->types & 7)) & 7;
	for (uint64_t off = first; off + TYPE_HDR + 24 <= r->typelen; off += 8) {
		const unsigned char *t = r->typebuf + off;
		int32_t nameoff = (int32_t)go_le32(t + 40);
		if (!(t[20] & TFLAG_EXTRASTAR) || nameoff <= 0 || (uint64_t)nameoff >= r->typelen)
			continue;
		VEC_RESERVE(r->tix, cap, r->ntix + 1);
		r->tix[r->ntix++] = (struct go_typeidx){ nameoff, (uint8_t)(t[23] & KIND_MASK), off };
	}
	qsort(r->tix, r->ntix, sizeof(*r->tix), cmp_tix);
}

static uint64_t lookup_index(const struct goreader *r, int32_t nameoff, unsigned kind)
{
	/* the first of (nameoff, kind): the lowest address, as cmp_tix sorts them */
	struct go_typeidx key = { .nameoff = nameoff, .kind = (uint8_t)kind, .off = 0 };
	size_t lo = lower_bound(r->tix, r->ntix, sizeof(*r->tix), &key, cmp_tix);
	if (lo < r->ntix && r->tix[lo].nameoff == nameoff && r->tix[lo].kind == kind)
		return r->types + r->tix[lo].off;
	return 0;
}

/* The descriptor named name whose kind is kind, 0 if the binary has none. */
static uint64_t find_type(struct goreader *r, const char *name, unsigned kind)
{
	if (!r->tix)
		build_index(r);
	char pat[130];
	size_t nl = strlen(name) + 1;
	if (nl > 127)
		return 0;
	pat[0] = (char)nl;
	pat[1] = '*';
	memcpy(pat + 2, name, nl - 1);
	const unsigned char *hay = r->typebuf, *end = r->typebuf + r->typelen;
	while (hay < end) {
		const unsigned char *m = memmem(hay, (size_t)(end - hay), pat, nl + 1);
		if (!m)
			break;
		hay = m + 1;
		if (m == r->typebuf)
			continue;
		uint64_t found = lookup_index(r, (int32_t)(m - 1 - r->typebuf), kind);
		if (found)
			return found;
	}
	return 0;
}

static uint64_t find_struct(struct goreader *r, const char *name)
{
	return find_type(r, name, KIND_STRUCT);
}

/* Offset and type of field fname of the struct descriptor at type. */
static bool struct_field(struct goreader *r, uint64_t type, const char *fname, uint64_t *off, uint64_t *ftype)
{
	const unsigned char *t;
	if (!type || !tbuf_at(r, type, TYPE_HDR + 24, &t) || (t[23] & KIND_MASK) != KIND_STRUCT)
		return false;
	uint64_t fields = go_le64(t + TYPE_HDR + 8), n = go_le64(t + TYPE_HDR + 16);
	if (n > MAX_FIELDS)
		return false;
	for (uint64_t i = 0; i < n; i++) {
		unsigned char f[24];
		const unsigned char *fp;
		if (tbuf_at(r, fields + i * 24, 24, &fp))
			memcpy(f, fp, 24);
		else if (!go_read(r, fields + i * 24, f, 24))
			return false;
		char nm[256];
		if (!read_name(r, go_le64(f), nm, sizeof(nm)) || strcmp(nm, fname) != 0)
			continue;
		uint64_t o = go_le64(f + 16);
		/* Go 1.18 stored offset<<1 | embedded */
		if (r->major == 1 && r->minor == 18)
			o >>= 1;
		*off = o;
		*ftype = go_le64(f + 8);
		return true;
	}
	return false;
}

/* "sched.pc": the offset of a field, following nested struct fields. */
static uint64_t field_path(struct goreader *r, uint64_t type, const char *path)
{
	uint64_t total = 0;
	char part[128];
	while (*path) {
		size_t l = strcspn(path, ".");
		if (l >= sizeof(part))
			return GO_NOFIELD;
		memcpy(part, path, l);
		part[l] = 0;
		uint64_t off, ft;
		if (!struct_field(r, type, part, &off, &ft))
			return GO_NOFIELD;
		total += off;
		type = ft;
		path += l;
		if (*path == '.')
			path++;
	}
	return total;
}

static uint64_t type_size(struct goreader *r, uint64_t type)
{
	const unsigned char *t;
	return type && tbuf_at(r, type, 8, &t) ? go_le64(t) : 0;
}

const char *go_type_name(struct goreader *r, uint64_t type)
{
	const unsigned char *t;
	if (!type || !tbuf_at(r, type, TYPE_HDR, &t))
		return NULL;
	int32_t str = (int32_t)go_le32(t + 40);
	char nm[256];
	if (str < 0 || !read_name(r, r->types + (uint64_t)str, nm, sizeof(nm)))
		return NULL;
	const char *s = nm;
	if ((t[20] & TFLAG_EXTRASTAR) && *s == '*')
		s++;
	return arena_strdup(&r->s->arena, s);
}

struct field_spec {
	const char *type, *path;
	size_t at;		/* offsetof(struct go_layout, ...) */
	bool required;
};

#define F(t, p, m, req) { t, p, offsetof(struct go_layout, m), req }
static const struct field_spec specs[] = {
	F("runtime.g", "stack.lo", g_stack_lo, true),
	F("runtime.g", "stack.hi", g_stack_hi, true),
	F("runtime.g", "m", g_m, true),
	F("runtime.g", "sched.sp", g_sched_sp, true),
	F("runtime.g", "sched.pc", g_sched_pc, true),
	F("runtime.g", "sched.lr", g_sched_lr, false),
	F("runtime.g", "syscallsp", g_syscallsp, true),
	F("runtime.g", "syscallpc", g_syscallpc, true),
	F("runtime.g", "atomicstatus", g_status, true),
	F("runtime.g", "goid", g_goid, true),
	F("runtime.g", "waitsince", g_waitsince, false),
	F("runtime.g", "waitreason", g_waitreason, true),
	F("runtime.g", "lockedm", g_lockedm, false),
	F("runtime.g", "gopc", g_gopc, true),
	F("runtime.g", "startpc", g_startpc, true),
	F("runtime.g", "waiting", g_waiting, false),
	F("runtime.g", "labels", g_labels, false),
	F("runtime.g", "parentGoid", g_parentgoid, false),
	F("runtime.g", "trackingSeq", g_trackingseq, false),
	F("runtime.m", "procid", m_procid, true),
	F("runtime.sudog", "g", sudog_g, false),
	F("runtime.sudog", "next", sudog_next, false),
	F("runtime.sudog", "prev", sudog_prev, false),
	F("runtime.sudog", "elem", sudog_elem, false),
	F("runtime.sudog", "isSelect", sudog_isselect, false),
	F("runtime.sudog", "waitlink", sudog_waitlink, false),
	F("runtime.sudog", "c", sudog_c, false),
	F("runtime.hchan", "qcount", hchan_qcount, false),
	F("runtime.hchan", "dataqsiz", hchan_dataqsiz, false),
	F("runtime.hchan", "elemsize", hchan_elemsize, false),
	F("runtime.hchan", "closed", hchan_closed, false),
	F("runtime.hchan", "elemtype", hchan_elemtype, false),
	F("runtime.hchan", "recvq.first", hchan_recvq, false),
	F("runtime.hchan", "sendq.first", hchan_sendq, false),
	F("runtime.hmap", "count", hmap_count, false),
	F("runtime.hmap", "B", hmap_b, false),
	F("runtime.hmap", "buckets", hmap_buckets, false),
	F("runtime.hmap", "oldbuckets", hmap_oldbuckets, false),
	F("sync.Mutex", "state", mutex_state, false),
	F("sync.Mutex", "sema", mutex_sema, false),
	F("sync.RWMutex", "w", rw_w, false),
	F("sync.RWMutex", "writerSem", rw_writersem, false),
	F("sync.RWMutex", "readerSem", rw_readersem, false),
	F("sync.RWMutex", "readerCount", rw_readercount, false),
	F("sync.RWMutex", "readerWait", rw_readerwait, false),
};
#undef F

int go_layout_load(struct goreader *r, struct err *e)
{
	struct go_layout *L = &r->L;
	uint64_t *slots = (uint64_t *)L;
	for (size_t i = 0; i < sizeof(*L) / sizeof(uint64_t); i++)
		slots[i] = GO_NOFIELD;
	const char *last = NULL;
	uint64_t type = 0;
	for (size_t i = 0; i < sizeof(specs) / sizeof(*specs); i++) {
		const struct field_spec *sp = &specs[i];
		if (!last || strcmp(last, sp->type) != 0) {
			type = find_struct(r, sp->type);
			last = sp->type;
		}
		uint64_t off = type ? field_path(r, type, sp->path) : GO_NOFIELD;
		if (off == GO_NOFIELD && sp->required)
			return err_set(e, ERR_FAIL, "type descriptors: %s.%s not found%s", sp->type, sp->path,
				       type ? "" : " (no descriptor for the type)");
		*(uint64_t *)((char *)L + sp->at) = off;
	}
	uint64_t gt = find_struct(r, "runtime.g");
	L->g_size = type_size(r, gt);
	if (L->g_size < 64 || L->g_size > 8192)
		return err_set(e, ERR_FAIL, "type descriptors: implausible sizeof(runtime.g) %llu",
			       (unsigned long long)L->g_size);
	const uint64_t gfields[] = { L->g_stack_lo, L->g_stack_hi, L->g_m, L->g_sched_sp, L->g_sched_pc,
		L->g_syscallsp, L->g_syscallpc, L->g_status, L->g_goid, L->g_waitsince, L->g_waitreason,
		L->g_lockedm, L->g_gopc, L->g_startpc, L->g_waiting, L->g_labels, L->g_parentgoid };
	for (size_t i = 0; i < sizeof(gfields) / sizeof(*gfields); i++)
		if (gfields[i] != GO_NOFIELD && gfields[i] + 8 > L->g_size)
			return err_set(e, ERR_FAIL, "type descriptors: a runtime.g field lies past its size");
	L->sudog_size = type_size(r, find_struct(r, "runtime.sudog"));
	L->hchan_size = type_size(r, find_struct(r, "runtime.hchan"));

	/* The sync types' descriptors are present when the program allocates them with new();
	 * otherwise their layouts, unchanged since Go 1.0 (Mutex) and 1.9 (RWMutex), stand in. */
	if (L->mutex_sema == GO_NOFIELD || L->mutex_state == GO_NOFIELD) {
		L->mutex_state = 0;
		L->mutex_sema = 4;
	}
	if (L->rw_writersem == GO_NOFIELD || L->rw_readersem == GO_NOFIELD || L->rw_readercount == GO_NOFIELD) {
		L->rw_w = 0;
		L->rw_writersem = 8;
		L->rw_readersem = 12;
		L->rw_readercount = 16;
		L->rw_readerwait = 20;
	}
	/* WaitGroup: 1.18 kept {state, sema} in state1 [3]uint32 placed by alignment, 1.19 in
	 * state1 uint64 + state2 uint32, 1.20+ in state + sema. */
	uint64_t wg = find_struct(r, "sync.WaitGroup");
	uint64_t st = wg ? field_path(r, wg, "state") : GO_NOFIELD, se = wg ? field_path(r, wg, "sema") : GO_NOFIELD;
	if (st == GO_NOFIELD || se == GO_NOFIELD) {
		st = wg ? field_path(r, wg, "state1") : GO_NOFIELD;
		se = wg ? field_path(r, wg, "state2") : GO_NOFIELD;
	}
	if (st == GO_NOFIELD || se == GO_NOFIELD) {
		st = 0;
		se = 8;
	}
	L->wg_state = st;
	L->wg_sema = se;
	/* pprof's labelMap: a map[string]string to 1.23, a struct around a sorted []{key, value
	 * string} from 1.24 on; its descriptor's kind says which, and the version only when the
	 * binary has no descriptor for it */
	if (find_struct(r, "pprof.labelMap"))
		L->labels_slice = true;
	else if (find_type(r, "pprof.labelMap", KIND_MAP))
		L->labels_slice = false;
	else
		L->labels_slice = r->major == 1 && r->minor >= 24;
	return 0;
}
