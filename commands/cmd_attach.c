/* chang attach --pid N: freeze, copy, thaw, then the shared pipeline offline. */
#include <stdio.h>
#include <string.h>
#include "commands/commands.h"
#include "commands/pipeline.h"

int cmd_attach(int argc, char **argv)
{
	struct report_options o;
	struct err e = { 0 };
	int pos, r = command_parse("attach", argc, argv, &o, &pos);
	if (r >= 0)
		return r;
	if (!o.have_pid && pos < argc) {
		/* "chang attach 1234" reads naturally too */
		if (!options_parse_long(argv[pos], 1, 0x7fffffff, &o.pid)) {
			err_set(&e, ERR_USAGE, "%s: not a process id (a positive number)", argv[pos]);
			return pipeline_fail(&e);
		}
		o.have_pid = true;
		pos++;
	}
	if (!o.have_pid) {
		err_set(&e, ERR_USAGE, "attach: which process? give --pid N");
		return pipeline_fail(&e);
	}
	if (pos < argc) {
		err_set(&e, ERR_USAGE, "attach: unexpected argument %s", argv[pos]);
		return pipeline_fail(&e);
	}
	struct snapshot *s = snapshot_new(SOURCE_ATTACH);
	struct target *t = pipeline_capture_live((pid_t)o.pid, &o, s, &e);
	if (!t) {
		snapshot_free(s);
		return pipeline_fail(&e);
	}
	r = pipeline_run(s, &o);
	/* The report says the core is missing; the exit status must too. */
	if (s->saved_core && s->saved_core->error && (r == 0 || r == 3)) {
		err_set(&e, ERR_FAIL, "%s", s->saved_core->error);
		r = pipeline_fail(&e);
	}
	target_close(t);
	snapshot_free(s);
	return r;
}
