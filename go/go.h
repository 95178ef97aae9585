/* Go targets: the goroutines of a Go process, read from the runtime's own structures. */
#ifndef CHANG_GO_H
#define CHANG_GO_H
#include <stdbool.h>
#include "model/snapshot.h"
#include "target/target.h"
#include "util/err.h"

/* Cheap test on an open executable: does it carry Go's build info / pclntab? */
bool go_is_go_binary(int exe_fd);
/* Read every goroutine of a Go target into s->goroutines (unwound and symbolized from the
 * pclntab, kind TASK_GOROUTINE) and set s->go_version. Live targets call it while frozen
 * (target_read then reaches the process); cores after opening. exe_fd is the executable. */
int go_capture(struct target *t, struct snapshot *s, int exe_fd, struct err *e);

#endif
