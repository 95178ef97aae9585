#include "go/go.h"
#include <gelf.h>
#include <libelf.h>
#include <string.h>

/* A Go executable has a .go.buildinfo section (or, stripped of section headers, the
 * "\xff Go buildinf:" magic at the start of a data segment) and a pclntab. */
bool go_is_go_binary(int exe_fd)
{
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(exe_fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return false;
	bool found = false;
	size_t shstrndx;
	if (elf_getshdrstrndx(e, &shstrndx) == 0) {
		Elf_Scn *scn = NULL;
		while (!found && (scn = elf_nextscn(e, scn)) != NULL) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh))
				continue;
			const char *name = elf_strptr(e, shstrndx, sh.sh_name);
			if (name && (strcmp(name, ".go.buildinfo") == 0 || strcmp(name, ".gopclntab") == 0))
				found = true;
		}
	}
	elf_end(e);
	return found;
}
