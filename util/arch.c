#include "util/arch.h"
#include <elf.h>
#include <stdio.h>
#include <string.h>

/* Offsets into struct elf_prstatus, which is the same 64-bit layout on both (siginfo 12
 * bytes, cursig 2 + pad, sigpend and sighold 8 each, four pids, four timevals: 112), then
 * pr_reg, then pr_fpvalid padded to 8. */
#define PRSTATUS_REG_OFFSET 112

const struct arch arch_x86_64 = {
	.id = ARCH_X86_64,
	.name = "x86_64",
	.e_machine = EM_X86_64,
	.nwords = 27,
	.pc = 16, .sp = 19, .fp = 4, .lr = -1,
	.sysnr = 15,
	.args = { 14, 13, 12, 7, 9, 8 },	/* rdi rsi rdx r10 r8 r9 */
	.ret = 10,				/* rax */
	/* DWARF: rax rdx rcx rbx rsi rdi rbp rsp r8..r15, then the return address (rip) */
	.ndwarf = 17,
	.dwarf = { 10, 12, 11, 5, 13, 14, 4, 19, 9, 8, 7, 6, 3, 2, 1, 0, 16 },
	.dwarf_sp = 7, .dwarf_fp = 6,
	.prstatus_size = PRSTATUS_REG_OFFSET + 27 * 8 + 8,
	.pr_reg_offset = PRSTATUS_REG_OFFSET,
	.syscall_insn_len = 2,
};

const struct arch arch_aarch64 = {
	.id = ARCH_AARCH64,
	.name = "aarch64",
	.e_machine = EM_AARCH64,
	.nwords = 34,
	.pc = 32, .sp = 31, .fp = 29, .lr = 30,
	.sysnr = -1,
	.args = { 0, 1, 2, 3, 4, 5 },
	.ret = 0,
	/* DWARF: x0..x30 are 0..30, sp is 31; the PC is set apart */
	.ndwarf = 32,
	.dwarf = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
		   22, 23, 24, 25, 26, 27, 28, 29, 30, 31 },
	.dwarf_sp = 31, .dwarf_fp = 29,
	.prstatus_size = PRSTATUS_REG_OFFSET + 34 * 8 + 8,
	.pr_reg_offset = PRSTATUS_REG_OFFSET,
	.syscall_insn_len = 4,
};

_Static_assert(sizeof(struct x86_64_regs) == 27 * 8, "x86_64 pr_reg is 27 words");
_Static_assert(sizeof(struct aarch64_regs) == 34 * 8, "aarch64 pr_reg is 34 words");

const struct arch *arch_host(void)
{
#if defined(__x86_64__)
	return &arch_x86_64;
#elif defined(__aarch64__)
	return &arch_aarch64;
#else
	return NULL;
#endif
}

const struct arch *arch_by_machine(unsigned m)
{
	if (m == EM_X86_64)
		return &arch_x86_64;
	if (m == EM_AARCH64)
		return &arch_aarch64;
	return NULL;
}

const char *arch_machine_desc(unsigned m, char *buf, size_t len)
{
	static const struct { unsigned m; const char *name; } known[] = {
		{ EM_386, "i386 (EM_386" }, { EM_ARM, "32-bit ARM (EM_ARM" },
		{ EM_PPC, "PowerPC (EM_PPC" }, { EM_PPC64, "PowerPC 64 (EM_PPC64" },
		{ EM_S390, "s390 (EM_S390" }, { EM_MIPS, "MIPS (EM_MIPS" },
		{ EM_SPARCV9, "SPARC v9 (EM_SPARCV9" }, { EM_IA_64, "IA-64 (EM_IA_64" },
		{ EM_RISCV, "RISC-V (EM_RISCV" }, { EM_LOONGARCH, "LoongArch (EM_LOONGARCH" },
		{ EM_X86_64, "x86_64 (EM_X86_64" }, { EM_AARCH64, "aarch64 (EM_AARCH64" },
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
		if (known[i].m == m) {
			snprintf(buf, len, "%s, %u)", known[i].name, m);
			return buf;
		}
	snprintf(buf, len, "ELF machine %u", m);
	return buf;
}

int arch_is_syscall_insn(const struct arch *a, const unsigned char *code, size_t len)
{
	if (a->id == ARCH_X86_64)
		return len >= 2 && code[0] == 0x0f && code[1] == 0x05;
	/* svc #0: 0xd4000001, little-endian */
	static const unsigned char svc0[4] = { 0x01, 0x00, 0x00, 0xd4 };
	return len >= 4 && memcmp(code, svc0, 4) == 0;
}
