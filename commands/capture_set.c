#include "commands/capture_set.h"
#include "analyzers/analyze.h"
#include "commands/pipeline.h"
#include "report/pprof.h"
#include "report/report.h"
#include "util/outfile.h"
#include "util/xalloc.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct captured capture_one(pid_t pid, const struct report_options *o, struct err *e)
{
	struct captured c = { 0 };
	c.snap = snapshot_new(SOURCE_ATTACH);
	c.target = pipeline_capture_live(pid, o, c.snap, e);
	if (!c.target || pipeline_prepare(c.snap, o, e) != 0) {
		captured_free(&c);
		return c;
	}
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

int capture_write_all(struct captured *cs, size_t n, const struct report_options *o, FILE *out,
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
	bool json_array = o->format == FMT_JSON && k != 1;
	if (json_array)
		fputs("[\n", out);
	for (size_t i = 0; i < k && r == 0; i++) {
		const struct snapshot *s = order[i]->snap;
		if (i > 0 && (o->format == FMT_TEXT || o->format == FMT_THREADS))
			fputs("\n========================================================================\n\n", out);
		if (i > 0 && json_array)
			fputs(",\n", out);
		r = report_write(out, o->format, s, e);
		if (r == 0 && o->save_dir)
			r = save_one(s, o->save_dir, e);
	}
	if (json_array)
		fputs("]\n", out);
	fflush(out);
	free(order);
	return r;
}
