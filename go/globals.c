/* The runtime globals: allglen/allgptr (the goroutine list), semtable (sync waiters),
 * waitReasonStrings and the finalizer flag. By symbol when .symtab exists; in stripped
 * binaries by decoding the RIP-relative loads of the functions that use them (their code
 * is found by name in the pclntab, which stripping keeps), each result validated on data. */
#include "go/internal.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEMTAB_SIZE 251		/* runtime.semTabSize, unchanged since Go 1.3 */
#define SEMTAB_STRIDE 64	/* semaRoot padded to cpu.CacheLinePadSize on amd64 */
#define CODE_MAX 4096
#define MAX_REASONS 256

/* The code of function name, up to CODE_MAX bytes; returns its length, 0 if none. */
static size_t func_code(struct goreader *r, const char *name, unsigned char *buf, uint64_t *entry)
{
	struct go_func f;
	for (uint64_t i = 0; i < r->nfunc; i++) {
		if (!go_func_by_index(r, i, &f))
			continue;
		const char *n = go_funcname(r, f.nameoff);
		if (!n || strcmp(n, name) != 0)
			continue;
		struct go_func next;
		uint64_t end = go_func_by_index(r, i + 1, &next) ? next.entry : f.entry + CODE_MAX;
		uint64_t len = end > f.entry ? end - f.entry : 0;
		if (len > CODE_MAX)
			len = CODE_MAX;
		*entry = f.entry;
		return len && go_read(r, f.entry, buf, (size_t)len) ? (size_t)len : 0;
	}
	return 0;
}

/* Targets of the RIP-relative instructions `REX.W opcode modrm(mod=00,rm=101) disp32` in
 * code, in order; opcode 0x8b is MOV r64, m64 and 0x8d is LEA. */
static int rip_targets(const unsigned char *code, size_t n, uint64_t entry, unsigned char opcode, uint64_t *out,
		       int max)
{
	int k = 0;
	for (size_t i = 0; i + 7 <= n && k < max; i++) {
		if ((code[i] != 0x48 && code[i] != 0x4c) || code[i + 1] != opcode || (code[i + 2] & 0xc7) != 0x05)
			continue;
		int32_t disp = (int32_t)go_le32(code + i + 3);
		out[k++] = entry + i + 7 + (uint64_t)(int64_t)disp;
		i += 6;
	}
	return k;
}

static bool in_section(const struct goreader *r, uint64_t addr, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct go_section *sc = go_section(r, names[i]);
		if (sc && sc->addr && addr >= sc->addr && addr - sc->addr < sc->size)
			return true;
	}
	return false;
}

static const char *const bss_like[] = { ".bss", ".noptrbss", ".data", ".noptrdata" };

static void find_allgs(struct goreader *r)
{
	r->allglen_addr = go_symbol(r, "runtime.allglen", NULL);
	r->allgptr_addr = go_symbol(r, "runtime.allgptr", NULL);
	if (r->allglen_addr && r->allgptr_addr)
		return;
	/* forEachGRace loads allglen, then allgptr (atomicAllG) */
	unsigned char code[CODE_MAX];
	uint64_t entry = 0, t[2];
	size_t n = func_code(r, "runtime.forEachGRace", code, &entry);
	if (n && rip_targets(code, n, entry, 0x8b, t, 2) == 2 && in_section(r, t[0], bss_like, 4) &&
	    in_section(r, t[1], bss_like, 4)) {
		r->allglen_addr = t[0];
		r->allgptr_addr = t[1];
	}
}

static void find_semtable(struct goreader *r)
{
	uint64_t size = 0;
	r->semtable_addr = go_symbol(r, "runtime.semtable", &size);
	r->semtab_stride = SEMTAB_STRIDE;
	if (r->semtable_addr) {
		if (size && size % SEMTAB_SIZE == 0)
			r->semtab_stride = size / SEMTAB_SIZE;
		return;
	}
	/* semrelease1 starts with root := semtable.rootFor(addr): a LEA of semtable */
	unsigned char code[CODE_MAX];
	uint64_t entry = 0, t[1];
	size_t n = func_code(r, "runtime.semrelease1", code, &entry);
	if (n && rip_targets(code, n, entry, 0x8d, t, 1) == 1 && in_section(r, t[0], bss_like, 4))
		r->semtable_addr = t[0];
}

static bool plausible_reason(const char *s, uint64_t len)
{
	if (len == 0 || len >= 64)
		return false;
	for (uint64_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static void read_reasons(struct goreader *r, uint64_t arr, uint64_t max)
{
	if (max > MAX_REASONS)
		max = MAX_REASONS;
	unsigned char *hdr = xmalloc((size_t)max * 16);
	if (!go_read(r, arr, hdr, (size_t)max * 16)) {
		free(hdr);
		return;
	}
	const char **v = ARENA_NEW(&r->s->arena, const char *, max);
	v[0] = "";
	int n = 1;
	for (uint64_t i = 1; i < max; i++) {
		uint64_t p = go_le64(hdr + i * 16), l = go_le64(hdr + i * 16 + 8);
		const char *s = l < 64 ? go_read_string(r, p, l, 64) : NULL;
		if (!s || !plausible_reason(s, l))
			break;
		v[n++] = s;
	}
	r->waitreasons = v;
	r->nwaitreasons = n;
	free(hdr);
}

/* Stripped: "GC assist marking" is reason 1 in every supported version; the array's
 * second string header points at it, the first ({"", 0}) precedes it. */
static uint64_t scan_reasons(struct goreader *r)
{
	static const char needle[] = "GC assist marking";
	const struct go_section *ro = go_section(r, ".rodata"), *data = go_section(r, ".data");
	if (!ro || !data || !ro->addr || !data->addr || ro->size > (256u << 20) || data->size > (64u << 20))
		return 0;
	unsigned char *rob = xmalloc((size_t)ro->size), *db = xmalloc((size_t)data->size);
	uint64_t found = 0;
	if (pread(r->exe_fd, rob, (size_t)ro->size, (off_t)ro->offset) == (ssize_t)ro->size &&
	    go_read(r, data->addr, db, (size_t)data->size)) {
		const unsigned char *h = rob, *end = rob + ro->size;
		while (!found && h < end) {
			const unsigned char *m = memmem(h, (size_t)(end - h), needle, sizeof(needle) - 1);
			if (!m)
				break;
			h = m + 1;
			uint64_t a = ro->addr + (uint64_t)(m - rob);
			for (uint64_t off = 16; off + 16 <= data->size; off += 8)
				if (go_le64(db + off) == a && go_le64(db + off + 8) == sizeof(needle) - 1 &&
				    go_le64(db + off - 8) == 0) {
					found = data->addr + off - 16;
					break;
				}
		}
	}
	free(rob);
	free(db);
	return found;
}

static void find_reasons(struct goreader *r)
{
	uint64_t size = 0, arr = go_symbol(r, "runtime.waitReasonStrings", &size);
	if (arr && size >= 32 && size % 16 == 0) {
		read_reasons(r, arr, size / 16);
		return;
	}
	arr = scan_reasons(r);
	const struct go_section *data = go_section(r, ".data");
	if (arr && data)
		read_reasons(r, arr, (data->addr + data->size - arr) / 16);
}

int go_globals_load(struct goreader *r, struct err *e)
{
	find_allgs(r);
	if (!r->allglen_addr || !r->allgptr_addr)
		return err_set(e, ERR_FAIL, "runtime: allglen/allgptr not found (no symbols, and "
			       "runtime.forEachGRace did not decode)");
	find_semtable(r);
	find_reasons(r);
	if (r->nwaitreasons < 2) {
		/* not in the binary's data: the strings of its release, from chang's own table */
		int n, minor;
		const char *const *v = go_waitreason_table(r->minor, &n, &minor);
		r->waitreasons = v;
		r->nwaitreasons = n;
		if (minor != r->minor)
			snapshot_warn(r->s, "goroutines: the runtime's wait reason strings were not found in "
				      "the binary; Go 1.%d's are shown for %s", minor, r->version);
	}
	r->fing_addr = go_symbol(r, "runtime.fingRunning", NULL);
	r->fing_kind = r->fing_addr ? 1 : 0;
	if (!r->fing_addr) {
		r->fing_addr = go_symbol(r, "runtime.fingStatus", NULL);
		r->fing_kind = r->fing_addr ? 2 : 0;
	}
	return 0;
}
