#include "image/buildid.h"
#include "util/hex.h"
#include "image/target.h"
#include <elf.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <elfutils/libdwelf.h>

int buildid_from_fd(int fd, unsigned char *out, int cap)
{
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return 0;
	const void *id = NULL;
	ssize_t n = dwelf_elf_gnu_build_id(e, &id);
	int len = 0;
	if (n > 0 && id) {
		len = n < cap ? (int)n : cap;
		memcpy(out, id, (size_t)len);
	}
	elf_end(e);
	return len;
}

int buildid_from_notes(const unsigned char *p, uint64_t len, unsigned char *out, int cap)
{
	uint64_t off = 0;
	while (off <= len && len - off >= 12) {
		uint32_t namesz, descsz, type;
		memcpy(&namesz, p + off, 4);
		memcpy(&descsz, p + off + 4, 4);
		memcpy(&type, p + off + 8, 4);
		uint64_t name_off = off + 12;
		uint64_t desc_off = name_off + (((uint64_t)namesz + 3) & ~3ULL);
		uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ULL);
		if (desc_off > len || next > len || desc_off + descsz > len)
			return 0;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(p + name_off, "GNU", 4) == 0 &&
		    descsz > 0) {
			int n = descsz < (uint32_t)cap ? (int)descsz : cap;
			memcpy(out, p + desc_off, (size_t)n);
			return n;
		}
		off = next;
	}
	return 0;
}

int buildid_from_memory(struct target *t, uint64_t start, unsigned char *out, int cap)
{
	Elf64_Ehdr eh;
	if (target_read(t, start, &eh, sizeof(eh)) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64)
		return 0;
	Elf64_Phdr ph[64];
	size_t sz = sizeof(Elf64_Phdr) * eh.e_phnum;
	if (target_read(t, start + eh.e_phoff, ph, sz) != sz)
		return 0;
	/* The bias maps the first PT_LOAD (file offset 0) onto the mapping's start. */
	uint64_t bias = 0;
	int have_bias = 0;
	for (int i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD) {
			bias = start - (ph[i].p_vaddr & ~(ph[i].p_align ? ph[i].p_align - 1 : 0xfff));
			have_bias = 1;
			break;
		}
	if (!have_bias)
		return 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_NOTE || ph[i].p_filesz == 0 || ph[i].p_filesz > 4096)
			continue;
		unsigned char buf[4096];
		size_t n = (size_t)ph[i].p_filesz;
		if (target_read(t, bias + ph[i].p_vaddr, buf, n) != n)
			continue;
		int len = buildid_from_notes(buf, n, out, cap);
		if (len)
			return len;
	}
	return 0;
}

void buildid_hex(const unsigned char *id, int len, char *out)
{
	hex_encode(id, len > 0 ? (size_t)len : 0, out);
}
