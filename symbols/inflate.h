/* Debug files with compressed DWARF (SHF_COMPRESSED, as Debian's -dbg packages ship them).
 * libdw inflates every such section with zlib, one after the other, the first time a module's
 * DWARF is asked for: 36 ms for glibc's debug file, most of a 1,000-thread attach. chang
 * inflates them itself instead, with libdeflate (zlib) or libzstd, on all CPUs, skipping the
 * sections it never reads, into an in-memory ELF that libdw then maps as it is. */
#ifndef CHANG_INFLATE_H
#define CHANG_INFLATE_H
#include <stddef.h>
#include <stdint.h>

/* Build the inflated image of the ELF file open on fd: the same file with its compressed
 * sections replaced by their contents. It is written to out_fd (an empty file) when that is
 * given and its blocks can be reserved, else to a new memfd. Returns the fd holding it, or
 * -1 when there is nothing to inflate or the file cannot be trusted to inflate (then the
 * caller uses fd as it is and libdw does what it can). max_bytes caps the image (hostile
 * size fields); sections are inflated on up to `threads` threads. */
int inflate_elf(int fd, uint64_t max_bytes, unsigned threads, int out_fd);

/* The same, over a file already in memory (fuzzing and tests). */
int inflate_elf_memory(const unsigned char *file, size_t size, uint64_t max_bytes, unsigned threads,
		       int out_fd);
#endif
