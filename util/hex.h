/* Bytes as lowercase hex (build-ids in file names, reports and messages). */
#ifndef CHANG_HEX_H
#define CHANG_HEX_H
#include <stddef.h>

/* out holds 2*n+1 bytes. */
void hex_encode(const unsigned char *p, size_t n, char *out);
#endif
