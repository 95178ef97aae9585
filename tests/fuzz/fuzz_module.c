/* A mapped ELF file that lies: the executable or library a core names is only as
 * trustworthy as the machine it came from (--sysroot, a replaced binary). The input is the
 * file; it is mapped as the loader would, three threads are parked at PCs in its text over
 * a stack of addresses into it, one of them in futex() on a word of its data, and the
 * whole pipeline runs: modules and build-ids (target_load_modules), the unwinder with its
 * .eh_frame_hdr table, libdw symbolization with inline expansion, data-address names from
 * DWARF types, the analyzers and every report. */
#include "commands/options.h"
#include "commands/pipeline.h"
#include "fuzz.h"
#include "report/report.h"
#include "util/xalloc.h"
#include <fcntl.h>

#define PATH "/fuzz/module.so"
#define STACK 0x7ffd00000000ull
#define STACK_WORDS 512

static int module_fd = -1;

static int open_module(struct target *t, const struct module *m, const char **path)
{
	*path = PATH;
	return fcntl(module_fd, F_DUPFD_CLOEXEC, 0);
}

static const struct target_ops ops = { .name = "fuzz", .open_module = open_module };

/* A deterministic spread of addresses inside [lo, hi). */
static uint64_t pick(uint64_t lo, uint64_t hi, uint64_t i)
{
	uint64_t h = (i + 1) * 0x9e3779b97f4a7c15ull;
	return hi > lo ? lo + (h ^ (h >> 29)) % (hi - lo) : lo;
}

/* The bytes of the first executable and the first writable PT_LOAD, load-biased as
 * fuzz_map_elf maps them (its mappings are rounded to pages, past the code). */
static void ranges(const uint8_t *data, size_t size, uint64_t *text, uint64_t *rw)
{
	Elf64_Ehdr eh;
	memcpy(&eh, data, sizeof(eh));
	uint64_t bias = eh.e_type == ET_DYN ? FUZZ_PIE_BASE : 0;
	size_t fit = (size - (size_t)eh.e_phoff) / sizeof(Elf64_Phdr);
	for (size_t i = 0; i < eh.e_phnum && i < fit && i < FUZZ_MAX_LOADS; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		uint64_t *r = ph.p_flags & PF_X ? text : ph.p_flags & PF_W ? rw : NULL;
		if (ph.p_type != PT_LOAD || !r || r[1] || ph.p_memsz > (1ull << 32) || ph.p_vaddr > (1ull << 46))
			continue;
		r[0] = bias + ph.p_vaddr;
		r[1] = bias + ph.p_vaddr + ph.p_memsz;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	module_fd = fuzz_memfd("module", data, size);
	if (module_fd < 0)
		abort();
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	struct target *t = xcalloc(1, sizeof(*t));
	t->ops = &ops;
	t->snap = s;
	s->target = t;
	s->pid = 100;
	s->executable = PATH;
	if (fuzz_map_elf(data, size, module_fd, PATH, t, s) == 0)
		goto out;
	uint64_t text[2] = { 0, 0 }, rw[2] = { 0, 0 };
	ranges(data, size, text, rw);
	if (!text[1])
		goto out;
	if (!rw[1])
		memcpy(rw, text, sizeof(rw));
	uint64_t text_lo = text[0], text_hi = text[1], data_lo = rw[0], data_hi = rw[1];
	uint64_t *stack = xmalloc(STACK_WORDS * 8);
	for (uint64_t i = 0; i < STACK_WORDS; i++)
		stack[i] = i % 4 == 3 ? STACK + 8 * (i + 5) : pick(text_lo, text_hi, i);
	memimage_add_buf(&t->mem, STACK, (unsigned char *)stack, STACK_WORDS * 8);
	struct mapping *maps = ARENA_NEW(&s->arena, struct mapping, s->nmaps + 1);
	memcpy(maps, s->maps, s->nmaps * sizeof(*maps));
	maps[s->nmaps] = (struct mapping){ .start = STACK, .end = STACK + STACK_WORDS * 8, .perms = "rw-p",
					   .dumped = true };
	s->maps = maps;
	s->nmaps++;

	s->ntasks = 3;
	s->tasks = ARENA_NEW(&s->arena, struct task, 3);
	for (int i = 0; i < 3; i++) {
		struct task *k = &s->tasks[i];
		k->kind = TASK_THREAD;
		k->tid = 100 + i;
		k->name = "fuzz";
		k->kstate = 'S';
		k->have_regs = true;
		k->regs.arch = &arch_x86_64;
		k->regs.x.rip = pick(text_lo, text_hi, 1000 + (uint64_t)i);
		k->regs.x.rsp = STACK + 64 * (uint64_t)i;
		k->regs.x.rbp = STACK + 64 * (uint64_t)i + 32;
		k->syscall_nr = i == 0 ? 202 : -1;	/* futex */
		k->regs.x.orig_rax = (uint64_t)k->syscall_nr;
		k->syscall_args[0] = k->regs.x.rdi = pick(data_lo, data_hi, 2000) & ~3ull;
		k->syscall_args[1] = k->regs.x.rsi = 128;	/* FUTEX_WAIT_PRIVATE */
	}
	target_load_modules(t);
	for (size_t i = 0; i < s->nwarnings; i++)
		fuzz_note("warning", s->warnings[i]);
	for (size_t i = 0; i < s->nmodules; i++)
		FUZZ_CHECK(s->modules[i].build_id_len >= 0 && s->modules[i].build_id_len <= 40);

	struct cmd_options o;
	memset(&o, 0, sizeof(o));
	o.unwinder = size & 1 ? UNWINDER_LIBDW : UNWINDER_LIBUNWIND;
	o.target.max_frames = UNWIND_MAX_FRAMES_DEFAULT;
	struct err e = { 0 };
	if (pipeline_prepare(s, &o, &e) == 0) {
		for (size_t i = 0; i < s->ntasks; i++)
			FUZZ_CHECK(s->tasks[i].npcs >= 0 && s->tasks[i].npcs <= UNWIND_MAX_FRAMES_DEFAULT);
		for (int f = FMT_TEXT; f <= FMT_DOT; f++) {
			struct err we = { 0 };
			report_write(fuzz_sink(f == FMT_TEXT), (enum report_format)f, s, &we);
		}
	} else {
		fuzz_note("pipeline", e.msg);
	}
out:
	target_close(t);
	snapshot_free(s);
	close(module_fd);
	return 0;
}
