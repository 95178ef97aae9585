/* Go targets: the goroutines of a Go process, read from the runtime's own structures. */
#ifndef CHANG_GO_H
#define CHANG_GO_H
#include <stdbool.h>
#include "model/snapshot.h"
#include "image/target.h"
#include "util/err.h"

/* Cheap test on an open executable: does it carry Go's build info / pclntab? */
bool go_is_go_binary(int exe_fd);
/* What a Go executable's file holds of what go_capture needs (sections, pclntab, moduledata,
 * struct layouts, where the runtime's globals are), read before a live target's freeze so
 * that the pause pays only for what lives in the process. As far as the file allows: a
 * position-independent executable's part is read from the process, by go_capture. Never
 * NULL; go_prep_free it after go_capture (which takes what it uses). */
struct go_prep;
struct go_prep *go_prepare(struct snapshot *s, int exe_fd);
void go_prep_free(struct go_prep *p);
/* Read every goroutine of a Go target into s->goroutines (unwound and symbolized from the
 * pclntab, kind TASK_GOROUTINE) and set s->go_version; on failure also s->go_error. Live
 * targets call it while frozen (target_read then reaches the process); cores after
 * opening. exe_fd is the executable; prep is go_prepare's for the same s and exe_fd, or NULL. */
int go_capture(struct target *t, struct snapshot *s, int exe_fd, struct go_prep *prep, struct err *e);

#endif
