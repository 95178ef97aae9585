/* The CPU architectures chang reads. The host's (what attach/ captures) and a core's (an
 * aarch64 core read on an x86_64 laptop) are different things: every stage asks the target's
 * arch, never the compiler's, except attach/, which only ever sees the host's.
 * Registers are kept as the raw words of the kernel's pr_reg (NT_PRSTATUS, PTRACE_GETREGS)
 * in the architecture's own order, with a named view per architecture for the code that is
 * specific to one (x86_64's signal frames, its PLT stubs); this table says which word is the
 * PC, the SP, the syscall number and arguments, and which word each DWARF register is. */
#ifndef CHANG_ARCH_H
#define CHANG_ARCH_H
#include <stddef.h>
#include <stdint.h>

enum arch_id { ARCH_X86_64, ARCH_AARCH64 };

/* x86_64's struct user_regs_struct (pr_reg), defined here so that it exists on any host. */
struct x86_64_regs {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax,
		rip, cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs;
};
/* aarch64's struct user_pt_regs (pr_reg). */
struct aarch64_regs {
	uint64_t x[31], sp, pc, pstate;
};

#define REGS_MAX_WORDS 34
struct regs {
	const struct arch *arch;	/* NULL until filled */
	union {
		uint64_t w[REGS_MAX_WORDS];
		struct x86_64_regs x;	/* arch->id == ARCH_X86_64 */
		struct aarch64_regs a;	/* arch->id == ARCH_AARCH64 */
	};
};

struct arch {
	enum arch_id id;
	const char *name;		/* as `uname -m` says it */
	uint16_t e_machine;
	size_t nwords;			/* words of pr_reg */
	int pc, sp, fp;			/* word indexes */
	int lr;				/* link register's word, -1 when calls push the return address */
	/* The syscall a stopped thread sits in: its number's word (x86_64's orig_rax), or -1 when
	 * a stop or a dump forgets it (aarch64: it must be inferred from the code, see
	 * arch_syscall_insn); the arguments' words; the return value's (which on aarch64 is
	 * also the first argument's: x0 is lost once the call returns or is interrupted). */
	int sysnr;
	int args[6];
	int ret;
	int ndwarf;			/* DWARF registers 0..ndwarf-1 start an unwind */
	int8_t dwarf[34];		/* the word of DWARF register k, -1 for none */
	int dwarf_sp, dwarf_fp;		/* DWARF numbers of the SP and the frame pointer */
	size_t prstatus_size;		/* sizeof(struct elf_prstatus) */
	size_t pr_reg_offset;		/* offsetof(struct elf_prstatus, pr_reg) */
	unsigned syscall_insn_len;	/* bytes of the syscall instruction */
};

extern const struct arch arch_x86_64, arch_aarch64;
/* The architecture chang itself was built for (what attach/ captures), NULL on another. */
const struct arch *arch_host(void);
/* The architecture of ELF machine m, NULL when chang does not read it. */
const struct arch *arch_by_machine(unsigned m);
/* "ARM (EM_ARM, 40)", "RISC-V (EM_RISCV, 243)", "machine 1234": for the one-line error. */
const char *arch_machine_desc(unsigned m, char *buf, size_t len);
/* Whether code (the bytes at the PC, len of them) is the architecture's system call
 * instruction (x86_64 `syscall`, aarch64 `svc #0`). */
int arch_is_syscall_insn(const struct arch *a, const unsigned char *code, size_t len);

static inline uint64_t regs_pc(const struct regs *r)
{
	return r->w[r->arch->pc];
}
static inline uint64_t regs_sp(const struct regs *r)
{
	return r->w[r->arch->sp];
}
static inline uint64_t regs_fp(const struct regs *r)
{
	return r->w[r->arch->fp];
}
#endif
