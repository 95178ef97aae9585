#include "commands/capture_set.h"
#include "analyzers/analyze.h"
#include "attach/live_target.h"
#include "commands/pipeline.h"
#include "report/pprof.h"
#include "report/report.h"
#include "util/outfile.h"
#include "util/xalloc.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

size_t capture_many(const pid_t *pids, size_t n, const struct cmd_options *o, struct captured *out,
		    struct err *errs)
{
	struct live_capture **lc = xcalloc(n ? n : 1, sizeof(*lc));
	struct target **t = xcalloc(n ? n : 1, sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		out[i] = (struct captured){ 0 };
		out[i].snap = snapshot_new(SOURCE_ATTACH);
		lc[i] = live_capture_prepare(pids[i], &o->target, out[i].snap, &errs[i]);
	}
	live_capture_many(n, lc, t, errs);
	size_t ok = 0;
	for (size_t i = 0; i < n; i++) {
		out[i].target = t[i];
		if (t[i]) {
			pipeline_after_thaw(t[i], out[i].snap, o);
			if (pipeline_prepare(out[i].snap, o, &errs[i]) == 0) {
				ok++;
				continue;
			}
		}
		captured_free(&out[i]);
	}
	free(lc);
	free(t);
	return ok;
}

struct captured capture_one(pid_t pid, const struct cmd_options *o, struct err *e)
{
	struct captured c;
	capture_many(&pid, 1, o, &c, e);
	return c;
}

void captured_free(struct captured *c)
{
	if (c->target)
		target_close(c->target);
	snapshot_free(c->snap);
	c->target = NULL;
	c->snap = NULL;
}

static int severity(const struct snapshot *s)
{
	if (analyze_found_hang(s))
		return 0;
	return s->nfindings ? 1 : 2;
}

typedef int (*write_fn)(FILE *, const struct snapshot *, struct err *);

static int save_file(const char *path, write_fn write, const struct snapshot *s, struct err *e)
{
	struct outfile of;
	if (outfile_open(&of, path, e) != 0)
		return -1;
	FILE *f = outfile_stream(&of, e);
	if (!f || write(f, s, e) != 0) {
		outfile_abort(&of);
		return -1;
	}
	return outfile_commit(&of, e);
}

static int save_one(const struct snapshot *s, const char *dir, struct err *e)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/chang-%d.json", dir, (int)s->pid);
	if (save_file(path, report_json, s, e) != 0)
		return -1;
	if (report_pprof_default_name(path, sizeof(path), dir, s, e) != 0)
		return -1;
	return save_file(path, report_pprof, s, e);
}

int capture_write_all(struct captured *cs, size_t n, const struct cmd_options *o, FILE *out,
		      struct err *e)
{
	struct captured **order = xcalloc(n ? n : 1, sizeof(*order));
	size_t k = 0;
	for (int sev = 0; sev <= 2; sev++)
		for (size_t i = 0; i < n; i++)
			if (cs[i].snap && severity(cs[i].snap) == sev)
				order[k++] = &cs[i];
	int r = 0;
	if (o->save_dir && mkdir(o->save_dir, 0755) != 0 && errno != EEXIST)
		r = err_set(e, ERR_FAIL, "%s: %s", o->save_dir, strerror(errno));
	bool json_set = o->format == FMT_JSON && k != 1;
	if (json_set && r == 0) {
		const struct snapshot **ss = xcalloc(k ? k : 1, sizeof(*ss));
		for (size_t i = 0; i < k; i++)
			ss[i] = order[i]->snap;
		r = report_json_set(out, ss, k, e);
		free(ss);
	}
	if (k > 1 && (o->format == FMT_TEXT || o->format == FMT_THREADS)) {
		fprintf(out, "chang: %zu processes, frozen, copied and thawed together:", k);
		for (size_t i = 0; i < k; i++)
			fprintf(out, " %d", (int)order[i]->snap->pid);
		fputs("\n\n", out);
	}
	for (size_t i = 0; i < k && r == 0; i++) {
		const struct snapshot *s = order[i]->snap;
		if (i > 0 && (o->format == FMT_TEXT || o->format == FMT_THREADS))
			fputs("\n========================================================================\n\n", out);
		if (!json_set)
			r = report_write(out, o->format, s, e);
		if (r == 0 && o->save_dir)
			r = save_one(s, o->save_dir, e);
	}
	fflush(out);
	free(order);
	return r;
}

int capture_report(struct captured *cs, size_t n, const struct cmd_options *o, FILE *dflt, bool fallback,
		   struct err *e)
{
	FILE *out = dflt;
	struct outfile of = { .fd = -1 };
	if (o->output && strcmp(o->output, "-") != 0 &&
	    (outfile_open(&of, o->output, e) != 0 || !(out = outfile_stream(&of, e)))) {
		outfile_abort(&of);
		if (!fallback)
			return -1;
		fprintf(stderr, "chang: %s\n", e->msg);
		out = dflt;
	}
	int r = capture_write_all(cs, n, o, out, e);
	if (out != dflt)
		r = r == 0 ? outfile_commit(&of, e) : (outfile_abort(&of), r);
	return r;
}
