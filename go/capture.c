#include "go/go.h"

int go_capture(struct target *t, struct snapshot *s, int exe_fd, struct err *e)
{
	(void)t;
	(void)exe_fd;
	s->go_version = "go";
	return err_set(e, ERR_FAIL, "this is a Go program; reading its goroutines is not supported "
		       "yet, so only its OS threads are shown");
}
