/* Debug files chang inflates itself (symbols/inflate.c): the input as an ELF file whose
 * SHF_COMPRESSED sections (zlib, zstd) are inflated into a new image, which libelf and
 * libdw must then read as an ordinary ELF: every section header in bounds, every DIE of
 * every compile unit walkable. */
#include "fuzz.h"
#include "symbols/inflate.h"
#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>

static void walk(Dwarf_Die *die, int depth)
{
	if (depth > 64)
		return;
	Dwarf_Die child;
	(void)dwarf_diename(die);
	if (dwarf_child(die, &child) == 0)
		do
			walk(&child, depth + 1);
		while (dwarf_siblingof(&child, &child) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	int fd = inflate_elf_memory(buf, size, 16u << 20, 1 + (size & 1), -1);
	free(buf);
	if (fd < 0)
		return 0;
	struct stat st;
	FUZZ_CHECK(fstat(fd, &st) == 0 && (uint64_t)st.st_size >= size);
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	FUZZ_CHECK(e != NULL);
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn)) != NULL;) {
		GElf_Shdr sh;
		Elf_Data *d;
		/* the sections it inflated read back whole (the others are the input's own) */
		if (gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS && !(sh.sh_flags & SHF_COMPRESSED) &&
		    sh.sh_offset >= size && (d = elf_getdata(scn, NULL)) != NULL)
			FUZZ_CHECK(d->d_size == sh.sh_size);
	}
	Dwarf *dw = dwarf_begin_elf(e, DWARF_C_READ, NULL);
	if (dw) {
		Dwarf_Off off = 0, next;
		size_t hsize;
		for (int n = 0; n < 256 && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0; n++) {
			Dwarf_Die cu;
			if (dwarf_offdie(dw, off + hsize, &cu))
				walk(&cu, 0);
			off = next;
		}
		dwarf_end(dw);
	}
	elf_end(e);
	close(fd);
	return 0;
}
