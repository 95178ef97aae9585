/* GNU build-ids: the identity chang uses to tell whether the file it opened is the one the
 * target mapped (containers, replaced binaries, cores from other machines). */
#ifndef CHANG_BUILDID_H
#define CHANG_BUILDID_H
#include <stdint.h>
struct target;
/* From an open ELF file; returns the length (0 if none), at most cap bytes copied. */
int buildid_from_fd(int fd, unsigned char *out, int cap);
/* From the ELF headers the target has in memory at load address start (a core's first
 * page of each mapped ELF); returns the length, 0 if unreadable. */
int buildid_from_memory(struct target *t, uint64_t start, unsigned char *out, int cap);
/* Scan a buffer of ELF notes for NT_GNU_BUILD_ID. */
int buildid_from_notes(const unsigned char *p, uint64_t len, unsigned char *out, int cap);
void buildid_hex(const unsigned char *id, int len, char *out /* 2*len+1 */);
#endif
