/* chang attach --pid N: freeze, copy, thaw, then the shared pipeline offline. */
#include <stdio.h>
#include <string.h>
#include "analyzers/analyze.h"
#include "attach/proctree.h"
#include "commands/capture_set.h"
#include "commands/commands.h"
#include "commands/pipeline.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <sys/stat.h>

/* Several processes (--pid A --pid B, --tree): one capture, one report of them all. */
static int attach_many(const struct cmd_options *o)
{
	struct err e = { 0 };
	if (o->target.save_core) {
		err_set(&e, ERR_USAGE, "--save-core: one process at a time");
		return pipeline_fail(&e);
	}
	struct stat st;
	bool to_dir = o->output && stat(o->output, &st) == 0 && S_ISDIR(st.st_mode);
	if (o->format == FMT_PPROF && !to_dir) {
		err_set(&e, ERR_USAGE, "--format=pprof with several processes: give -o DIR (one profile per "
			"process, each sample labelled with its pid; go tool pprof merges them)");
		return pipeline_fail(&e);
	}
	pid_t *pids = NULL;
	size_t n = 0, cap = 0;
	for (int i = 0; i < o->npids; i++) {
		pid_t *tree = NULL;
		size_t nt = o->tree ? proctree_list(o->pids[i], &tree) : 0;
		if (!o->tree || nt == 0) {
			free(tree);
			tree = xcalloc(1, sizeof(*tree));
			tree[0] = o->pids[i];
			nt = 1;
		}
		for (size_t k = 0; k < nt; k++) {
			bool seen = false;
			for (size_t q = 0; q < n && !seen; q++)
				seen = pids[q] == tree[k];
			if (seen)
				continue;
			VEC_RESERVE(pids, cap, n + 1);
			pids[n++] = tree[k];
		}
		free(tree);
	}
	struct captured *cs = xcalloc(n, sizeof(*cs));
	struct err *errs = xcalloc(n, sizeof(*errs));
	size_t ok = capture_many(pids, n, o, cs, errs);
	for (size_t i = 0; i < n; i++)
		if (!cs[i].snap)
			fprintf(stderr, "chang: process %d: %s\n", (int)pids[i], errs[i].msg);
	int r = 0;
	if (ok && o->format == FMT_PPROF) {
		struct cmd_options each = *o;
		each.save_dir = NULL;
		for (size_t i = 0; i < n && r == 0; i++)
			if (cs[i].snap && pipeline_write(cs[i].snap, &each, &e) != 0)
				r = pipeline_fail(&e);
	} else if (ok) {
		if (capture_report(cs, n, o, stdout, false, &e) != 0)
			r = pipeline_fail(&e);
	}
	bool hang = false;
	for (size_t i = 0; i < n; i++) {
		hang |= cs[i].snap && analyze_found_hang(cs[i].snap);
		captured_free(&cs[i]);
	}
	free(cs);
	free(errs);
	free(pids);
	if (r == 0 && ok < n)
		r = 1;	/* said above, per process */
	if (r == 0 && o->exit_code && hang)
		r = 3;
	return r;
}

int cmd_attach(int argc, char **argv)
{
	struct cmd_options o;
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
	if (o.npids == 0)
		o.pids[o.npids++] = (pid_t)o.pid;
	if (o.npids > 1 || o.tree)
		return attach_many(&o);
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
