/* A progress line on stderr for long captures: shown only when stderr is a terminal and
 * the work has taken more than a second, so scripts and quick runs see nothing. */
#ifndef CHANG_PROGRESS_H
#define CHANG_PROGRESS_H
#include <stddef.h>
void progress_begin(const char *what, size_t total);
void progress_step(size_t done);	/* cheap: looks at the clock every 256 steps */
void progress_end(void);
#endif
