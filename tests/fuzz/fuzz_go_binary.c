/* A Go executable as go_capture reads it: libelf on the file (sections, .symtab, the PIE
 * bias), .go.buildinfo, the pclntab, moduledata, the runtime's type descriptors and the
 * globals behind allgs, then the goroutine analyzers and the Go report formats. The input
 * is the executable, and the target's memory is the executable's PT_LOAD segments as the
 * loader would map them (a PIE at a fixed base): the process image before main ran, with
 * the read-only data real and every variable at its initial value. */
#include "analyzers/analyze.h"
#include "fuzz.h"
#include "go/go.h"
#include "report/report.h"
#include <elf.h>

#define PIE_BASE 0x555555554000ull
#define MAX_LOADS 16

static FILE *devnull;

/* The PT_LOADs as mappings and memory; returns how many, 0 when the ELF header is bad. */
static size_t map_loads(const uint8_t *data, size_t size, int fd, struct target *t, struct snapshot *s)
{
	Elf64_Ehdr eh;
	if (size < sizeof(eh))
		return 0;
	memcpy(&eh, data, sizeof(eh));
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff >= size)
		return 0;
	uint64_t bias = eh.e_type == ET_DYN ? PIE_BASE : 0;
	size_t n = 0, fit = (size - (size_t)eh.e_phoff) / sizeof(Elf64_Phdr);
	struct mapping *maps = ARENA_NEW(&s->arena, struct mapping, MAX_LOADS);
	for (size_t i = 0; i < eh.e_phnum && i < fit && n < MAX_LOADS; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0 || ph.p_memsz > (1ull << 32) ||
		    ph.p_vaddr > (1ull << 46) || ph.p_offset > size)
			continue;
		uint64_t pad = ph.p_vaddr & 0xfff;
		if ((ph.p_offset & 0xfff) != pad || ph.p_offset < pad)
			continue;
		uint64_t start = bias + ph.p_vaddr - pad, end = (bias + ph.p_vaddr + ph.p_memsz + 0xfff) & ~0xfffull;
		if (n && start < maps[n - 1].end)
			continue;
		uint64_t filesz = ph.p_filesz < ph.p_memsz ? ph.p_filesz : ph.p_memsz;
		uint64_t have = size - ph.p_offset < filesz ? size - ph.p_offset : filesz;
		memimage_add_file(&t->mem, start, end - start, fd, ph.p_offset - pad, have + pad);
		struct mapping *m = &maps[n++];
		m->start = start;
		m->end = end;
		m->offset = ph.p_offset - pad;
		memcpy(m->perms, ph.p_flags & PF_X ? "r-xp" : ph.p_flags & PF_W ? "rw-p" : "r--p", 5);
		m->path = s->executable;
		m->dumped = true;
	}
	s->maps = maps;
	s->nmaps = n;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	int fd = fuzz_memfd("go", data, size);
	if (fd < 0)
		abort();
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	s->executable = "/fuzz/go";
	s->pid = 1;
	struct target t;
	memset(&t, 0, sizeof(t));
	t.snap = s;
	s->target = &t;
	if (map_loads(data, size, fd, &t, s) > 0 && go_is_go_binary(fd)) {
		struct err e = { 0 };
		if (go_capture(&t, s, fd, &e) == 0) {
			for (size_t i = 0; i < s->ngoroutines; i++)
				FUZZ_CHECK(s->goroutines[i].npcs >= 0);
			snapshot_group(s);
			struct analyze_options ao = { 0 };
			analyze_snapshot(s, &ao);
			struct err we = { 0 };
			report_write(devnull, FMT_GOROUTINE, s, &we);
			report_write(devnull, FMT_JSON, s, &we);
			fflush(devnull);
		} else {
			FUZZ_CHECK(e.msg[0] && !strchr(e.msg, '\n'));
			fuzz_note("go_capture", e.msg);
		}
	}
	memimage_free(&t.mem);
	snapshot_free(s);
	close(fd);
	return 0;
}
