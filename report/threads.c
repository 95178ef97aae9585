/* --format=threads: one block per thread, like Go's goroutine?debug=2 dump. */
#include "report/report.h"

int report_threads(FILE *out, const struct snapshot *s, struct err *e)
{
	for (size_t i = 0; i < s->ntasks; i++) {
		const struct task *t = &s->tasks[i];
		fprintf(out, "thread %d \"%s\" [%s", (int)t->tid, t->name ? t->name : "",
			t->state ? t->state : "unknown");
		if (t->wait && t->wait->symbol)
			fprintf(out, " on %s", t->wait->symbol);
		else if (t->wait && t->wait->address)
			fprintf(out, " on 0x%llx", (unsigned long long)t->wait->address);
		if (t->wait && t->wait->owner_tid)
			fprintf(out, ", held by %d", (int)t->wait->owner_tid);
		fputs("]:\n", out);
		for (int k = 0; k < t->npcs; k++) {
			const struct pcsym *ps = t->syms ? t->syms[k] : NULL;
			if (!ps || ps->nframes == 0) {
				fprintf(out, "?()\n\t?:0 pc=0x%llx\n", (unsigned long long)t->pcs[k]);
				continue;
			}
			for (int f = 0; f < ps->nframes; f++) {
				const struct sym_frame *fr = &ps->frames[f];
				fprintf(out, "%s(...)\n\t%s:%d", fr->function ? fr->function : "?",
					fr->file ? fr->file : "?", fr->line);
				if (!fr->inlined && fr->func_entry && ps->lookup_pc >= fr->func_entry)
					fprintf(out, " +0x%llx", (unsigned long long)(ps->lookup_pc - fr->func_entry));
				fputc('\n', out);
			}
		}
		if (t->unwind_error)
			fprintf(out, "...stack incomplete: %s\n", t->unwind_error);
		else if (t->truncated)
			fputs("...additional frames elided...\n", out);
		fputc('\n', out);
	}
	return ferror(out) ? err_set(e, ERR_FAIL, "writing the report failed") : 0;
}
