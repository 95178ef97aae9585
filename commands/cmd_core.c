/* chang core EXECUTABLE CORE: the same analysis from an ELF core. */
#include <stdio.h>
#include <string.h>
#include "commands/commands.h"
#include "commands/pipeline.h"
#include "core/core_target.h"
#include "go/go.h"
#include <unistd.h>

int cmd_core(int argc, char **argv)
{
	struct report_options o;
	struct err e = { 0 };
	int pos;
	if (options_parse("core", argc, argv, &o, &pos, &e) != 0) {
		if (strcmp(e.msg, "help") == 0) {
			usage_command("core", stdout);
			return 0;
		}
		return pipeline_fail(&e);
	}
	int npos = argc - pos;
	if (npos < 1 || npos > 2) {
		err_set(&e, ERR_USAGE, "core: give the core file, optionally after the executable: "
			"chang core [EXECUTABLE] CORE");
		return pipeline_fail(&e);
	}
	const char *exe = npos == 2 ? argv[pos] : NULL;
	const char *core = argv[pos + npos - 1];
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	struct target *t = core_target_open(exe, core, &o.target, s, &e);
	if (!t) {
		snapshot_free(s);
		return pipeline_fail(&e);
	}
	/* The executable is the module mapped at the lowest address named like s->executable;
	 * for a Go program, its goroutines come from the runtime's structures in the core. */
	for (size_t i = 0; i < s->nmodules; i++) {
		int fd = target_module_fd(t, i);
		if (fd < 0)
			continue;
		bool is_exe = s->executable && strcmp(s->modules[i].name, s->executable) == 0;
		if (is_exe && go_is_go_binary(fd)) {
			struct err ge = { 0 };
			if (go_capture(t, s, fd, &ge) != 0)
				snapshot_warn(s, "goroutines: %s", ge.msg);
		}
		close(fd);
		if (is_exe)
			break;
	}
	int r = pipeline_run(s, &o);
	target_close(t);
	snapshot_free(s);
	return r;
}
