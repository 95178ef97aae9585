/* Which C library a target runs on, glibc or musl: from the interpreter the executable
 * names (PT_INTERP), else the libraries mapped, else (a static executable) functions only
 * one of them defines. Sets s->libc and s->libc_evidence; the wait decoder reads lock
 * words with that library's rules only. */
#ifndef CHANG_LIBC_ID_H
#define CHANG_LIBC_ID_H
#include "model/snapshot.h"

/* After symbolizer_new (which opens the modules' files). */
void libc_identify(struct snapshot *s);
#endif
