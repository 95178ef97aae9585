#include "commands/pipeline.h"
#include "commands/second_look.h"
#include "commands/commands.h"
#include "analyzers/analyze.h"
#include "attach/live_target.h"
#include "attach/xproc.h"
#include "symbols/debugfile.h"
#include "symbols/debuginfod.h"
#include "report/pprof.h"
#include "report/report.h"
#include "symbols/libc_id.h"
#include "symbols/symbols.h"
#include "unwind/unwind.h"
#include "util/clock.h"
#include "util/outfile.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int pipeline_fail(const struct err *e)
{
	fprintf(stderr, "chang: %s\n", e->msg);
	return e->code ? e->code : 1;
}

int command_parse(const char *cmd, int argc, char **argv, struct cmd_options *o, int *pos)
{
	struct err e = { 0 };
	if (options_parse(cmd, argc, argv, o, pos, &e) == 0)
		return -1;
	if (strcmp(e.msg, "help") == 0) {
		usage_command(cmd, stdout);
		return 0;
	}
	return pipeline_fail(&e);
}

/* The report goes to stdout, or through util/outfile (atomic where that loses nothing). */
static int write_output(const struct snapshot *s, const struct cmd_options *o, struct err *e)
{
	if (!o->output || strcmp(o->output, "-") == 0) {
		if (report_write(stdout, o->format, s, e) != 0)
			return -1;
		if (fflush(stdout) != 0)
			return err_set(e, ERR_FAIL, "stdout: %s", strerror(errno));
		return 0;
	}
	char path[4096];
	struct stat st;
	if (stat(o->output, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (o->format == FMT_PPROF) {
			if (report_pprof_default_name(path, sizeof(path), o->output, s, e) != 0)
				return -1;
		} else {
			static const char *const ext[] = { [FMT_TEXT] = "txt", [FMT_THREADS] = "threads.txt",
				[FMT_JSON] = "json", [FMT_GOROUTINE] = "goroutine.txt", [FMT_PPROF] = "pb.gz",
				[FMT_DOT] = "dot" };
			snprintf(path, sizeof(path), "%s/chang-%d.%s", o->output, (int)s->pid, ext[o->format]);
		}
	} else {
		snprintf(path, sizeof(path), "%s", o->output);
	}
	struct outfile of;
	if (outfile_open(&of, path, e) != 0)
		return -1;
	FILE *f = outfile_stream(&of, e);
	if (!f || report_write(f, o->format, s, e) != 0) {
		outfile_abort(&of);
		return -1;
	}
	return outfile_commit(&of, e);
}

struct target *pipeline_capture_live(pid_t pid, const struct cmd_options *o, struct snapshot *s,
				    struct err *e)
{
	struct target *t = live_target_capture(pid, &o->target, s, e);
	if (t)
		pipeline_after_thaw(t, s, o);
	return t;
}

void pipeline_after_thaw(struct target *t, struct snapshot *s, const struct cmd_options *o)
{
	/* Inflating debug files starts now, beside the reading of /proc, not before the
	 * freeze: on a machine of two CPUs it would have slowed the freeze by half. */
	char **files = NULL;
	size_t n = live_target_mapped_files(s, &files);
	char path[8192];
	debugfile_search_path(&o->target, t->pid, path, sizeof(path));
	debugfile_prefetch((const char *const *)files, n, path);
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	live_target_inspect(t);
}

int pipeline_prepare(struct snapshot *s, const struct cmd_options *o, struct err *e)
{
	double t0 = mono_s();
	/* The capture has thawed the target (or there was none): the network may be used now. */
	debuginfod_allow();
	struct symbolizer *sz = symbolizer_new(s->target, e);
	if (!sz)
		return -1;
	libc_identify(s);
	if (unwind_snapshot(s, sz, o->unwinder, o->target.max_frames, e) != 0) {
		symbolizer_free(sz);
		s->symbolizer = NULL;
		return -1;
	}
	double t1 = mono_s();
	symbolize_snapshot(sz, s);
	target_settle(s->target);
	snapshot_group(s);
	double t2 = mono_s();
	struct analyze_options ao = { .mass_threshold = o->mass_threshold };
	analyze_waits(s);
	/* A live target's waits that leave the process are followed from /proc (nothing else is
	 * stopped) before the findings, which then see across processes. */
	xproc_follow(s);
	analyze_findings(s, &ao);
	double t3 = mono_s();
	/* After the analysis, so that the threads the capture stopped have long gone back to
	 * their waits before the first sample. */
	second_look(s, o->second_look_ms);
	/* Reports read only the model: names were resolved into the arena above. */
	symbolizer_free(sz);
	s->symbolizer = NULL;
	s->stats.t_unwind = t1 - t0;
	s->stats.t_symbolize = t2 - t1;
	s->stats.t_analyze = t3 - t2;
	return 0;
}

void pipeline_print_stats(const struct snapshot *s)
{
	const struct snapshot_stats *st = &s->stats;
	unsigned inflated, cached;
	debugfile_stats(&inflated, &cached);
	fprintf(stderr,
		"chang stats: prepare %.2f ms, freeze %.2f ms, copy %.2f ms, detach %.2f ms "
		"(pause %.2f ms), inspect %.2f ms, unwind %.2f ms, symbolize %.2f ms, analyze %.2f ms, write %.2f ms\n"
		"chang stats: %zu threads, %zu frames, %zu distinct PCs, %zu modules, "
		"%llu bytes copied, %zu bytes of model, debug files %u inflated and %u cached\n",
		st->t_prepare * 1e3, st->t_freeze * 1e3, st->t_copy * 1e3, st->t_detach * 1e3,
		(double)s->pause_ns / 1e6, st->t_inspect * 1e3,
		st->t_unwind * 1e3, st->t_symbolize * 1e3, st->t_analyze * 1e3, st->t_write * 1e3,
		s->ntasks, st->frames, st->distinct_pcs, s->nmodules,
		(unsigned long long)st->bytes_copied, s->arena.total, inflated, cached);
}

int pipeline_write(struct snapshot *s, const struct cmd_options *o, struct err *e)
{
	double t0 = mono_s();
	int r = write_output(s, o, e);
	s->stats.t_write = mono_s() - t0;
	return r;
}

int pipeline_run(struct snapshot *s, const struct cmd_options *o)
{
	struct err e = { 0 };
	if (pipeline_prepare(s, o, &e) != 0)
		return pipeline_fail(&e);
	int r = pipeline_write(s, o, &e);
	if (o->stats)
		pipeline_print_stats(s);
	if (r != 0)
		return pipeline_fail(&e);
	/* never a silent downgrade to threads */
	if (s->go_error)
		fprintf(stderr, "chang: %s (%s): goroutines not read, threads only: %s\n",
			s->executable ? s->executable : "Go program", s->go_version ? s->go_version : "go",
			s->go_error);
	if (o->exit_code && analyze_found_hang(s))
		return 3;
	return s->go_error ? EXIT_GO_UNREAD : 0;
}
