/* --format=text, the default: a header, what chang found, then the groups of identical
 * stacks in the grammar of Go's goroutine?debug=1 (thread names as "# " comment lines). */
#include "report/report.h"
#include "report/debug1.h"
#include "report/findings_text.h"
#include "report/signal.h"
#include "report/symsummary.h"
#include "util/hex.h"

/* How many frames lack a name, and for each module without symbols what would name them:
 * its build-id (for debuginfod or a debug directory) and the Debian -dbgsym package. */
static void symbols_header(FILE *out, const struct snapshot *s)
{
	struct symsummary sum;
	symsummary_build(s, &sum);
	if (sum.unnamed)
		fprintf(out, "symbols: %zu of %zu frames without a function name (%zu with a nearby symbol as a "
			"guess, \"near\"); they show MODULE+OFFSET\n", sum.unnamed, sum.frames, sum.near);
	for (size_t i = 0; i < sum.nmodules; i++) {
		const struct module *m = sum.modules[i];
		const char *has = m->missing ? "file missing" : m->has_minidebuginfo ? "only .dynsym and .gnu_debugdata"
				  : m->has_dynsym ? "only .dynsym" : "no symbol table";
		fprintf(out, "no symbols: %s (%zu frame%s; %s)", m->name, sum.module_frames[i],
			sum.module_frames[i] == 1 ? "" : "s", has);
		char hex[81];
		int idlen = m->target_build_id_len ? m->target_build_id_len : m->build_id_len;
		hex_encode(m->target_build_id_len ? m->target_build_id : m->build_id, idlen > 0 ? (size_t)idlen : 0, hex);
		if (hex[0])
			fprintf(out, " build-id %s", hex);
		if (m->package)
			fprintf(out, ", Debian package %s-dbgsym", m->package);
		fputc('\n', out);
	}
	for (size_t i = 0; i < s->nmodules; i++) {
		const struct module *m = &s->modules[i];
		if (m->debuginfod_fetched)
			fprintf(out, "debuginfod: %s: %s from a server\n", m->name, m->debuginfod_fetched);
		if (m->debuginfod_error)
			fprintf(out, "debuginfod: %s: no %s\n", m->name, m->debuginfod_error);
	}
	if (sum.nmodules)
		fprintf(out, "(to name them: install the -dbgsym package from the debian-debug archive, whose files "
			"/usr/lib/debug holds and chang reads; or put the debug file, e.g. from `debuginfod-find "
			"debuginfo BUILD-ID`, at DIR/.build-id/XX/REST.debug and give --debuginfo-path=DIR%s)\n",
			s->debuginfod_urls || !s->debuginfod_possible ? "" : "; or have chang fetch them: DEBUGINFOD_URLS=https://debuginfod.debian.net "
			"chang ...");
	symsummary_free(&sum);
}

int report_text(FILE *out, const struct snapshot *s, struct err *e)
{
	char tbuf[64];
	report_format_time(s->capture_time_ns, tbuf, sizeof(tbuf));
	fprintf(out, "chang %s: process %d (%s), %s", CHANG_VERSION, (int)s->pid,
		s->executable ? s->executable : "?", s->arch ? s->arch->name : "unknown architecture");
	if (s->ns_pid)
		fprintf(out, "\npid namespace: the process is %d in its own pid namespace (a container); "
			"TIDs in lock words are mapped to the ones shown", (int)s->ns_pid);
	if (s->cmdline && *s->cmdline)
		fprintf(out, "\ncommand: %s", s->cmdline);
	if (s->libc_evidence)
		fprintf(out, "\nC library: %s (%s)", libc_kind_name(s->libc), s->libc_evidence);
	fprintf(out, "\n%zu thread%s, %zu group%s", s->ntasks, s->ntasks == 1 ? "" : "s", s->ngroups,
		s->ngroups == 1 ? "" : "s");
	if (s->source == SOURCE_ATTACH)
		fprintf(out, "; attached at %s, target paused %.1f ms\n", tbuf, (double)s->pause_ns / 1e6);
	else
		fprintf(out, "; from a core written at %s\n", tbuf);
	if (s->saved_core && !s->saved_core->error)
		fprintf(out, "saved core: %s (%s, %.1f MiB; reading it added %.1f ms to the pause)\n",
			s->saved_core->path, s->saved_core->size_kind, (double)s->saved_core->size / (1 << 20),
			(double)s->saved_core->pause_ns / 1e6);
	else if (s->saved_core)
		fprintf(out, "saved core: none: %s\n", s->saved_core->error);
	signal_text(out, s);
	if (s->job_stopped)
		fprintf(out, "note: the process is stopped by job control (SIGSTOP/SIGTSTP) and was left stopped\n");
	for (size_t i = 0; i < s->nwarnings; i++)
		fprintf(out, "warning: %s\n", s->warnings[i]);
	symbols_header(out, s);
	fputc('\n', out);
	report_findings_text(out, s);
	report_xproc_text(out, s);
	report_debug1_groups(out, s, true);
	return ferror(out) ? err_set(e, ERR_FAIL, "writing the report failed") : 0;
}
