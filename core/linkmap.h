/* The files a core's own memory says were loaded, for cores whose NT_FILE note is missing,
 * cut short or names files by relative or truncated paths (cores from other tools and
 * machines): the executable where AUXV's AT_PHDR puts its program headers, and every library
 * on the dynamic linker's list (PT_DYNAMIC -> DT_DEBUG -> struct r_debug -> link_map: l_addr,
 * l_name, l_ld). Each module's segments come from its file's program headers when the file
 * can be opened, else from the ELF header the kernel dumps as the first page of a mapping.
 * Everything read is untrusted: walks are bounded and checked, and what did not add up is
 * said in the problem string. */
#ifndef CHANG_LINKMAP_H
#define CHANG_LINKMAP_H
#include <elf.h>
#include "core/elfcore.h"
#include "image/target.h"

struct linkmap {
	/* One entry per file-backed PT_LOAD of each module found, as NT_FILE would give it
	 * (offset in bytes); paths are the link map's l_name, or for the executable exe,
	 * AT_EXECFN's string, or "[exe]". Arena. */
	struct elfcore_file *files;
	size_t nfiles;
	size_t nmodules;		/* modules found (the executable counts) */
	size_t nlibs_listed;		/* entries of the dynamic linker's list, vDSO and main excluded */
	size_t from_memory;		/* modules whose segments came from the core's memory */
	size_t no_segments;		/* listed modules whose segments could not be found */
	const char *problem;		/* why the walk stopped early, or NULL */
};

/* Walk the core's memory (t must already read the core's segments). exe: the executable
 * the user named, or NULL; execfn: AT_EXECFN's string, or NULL. */
void linkmap_read(struct target *t, const struct elfcore *c, const char *exe, const char *execfn,
		  struct linkmap *out, struct arena *a);
/* The program headers of the ELF file open on fd, at most cap; 0 if it is not 64-bit ELF. */
int elf_read_phdrs_fd(int fd, Elf64_Phdr *ph, int cap);
#endif
