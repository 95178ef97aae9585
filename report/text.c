/* --format=text, the default: a header, what chang found, then the groups of identical
 * stacks in the grammar of Go's goroutine?debug=1 (thread names as "# " comment lines). */
#include "report/report.h"
#include "report/debug1.h"
#include "report/findings_text.h"
#include "report/signal.h"

int report_text(FILE *out, const struct snapshot *s, struct err *e)
{
	char tbuf[64];
	report_format_time(s->capture_time_ns, tbuf, sizeof(tbuf));
	fprintf(out, "chang %s: process %d (%s)", CHANG_VERSION, (int)s->pid,
		s->executable ? s->executable : "?");
	if (s->cmdline && *s->cmdline)
		fprintf(out, "\ncommand: %s", s->cmdline);
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
	fputc('\n', out);
	report_findings_text(out, s);
	report_debug1_groups(out, s, true);
	return ferror(out) ? err_set(e, ERR_FAIL, "writing the report failed") : 0;
}
