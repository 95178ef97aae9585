/* --format=threads: one block per thread, like Go's goroutine?debug=2 dump. */
#include "report/report.h"
#include "report/frame_label.h"
#include <string.h>

/* runtime.showfuncinfo at GOTRACEBACK=single: runtime internals are hidden except exported
 * runtime.X functions (and gopanic below the top), as is anything without a package. */
static bool go_shows(const char *name, bool first)
{
	if (!name || !strchr(name, '.'))
		return false;
	if (strncmp(name, "runtime.", 8) != 0)
		return true;
	if (!first && strcmp(name, "runtime.gopanic") == 0)
		return true;
	return name[8] >= 'A' && name[8] <= 'Z';
}

/* One goroutine as runtime.Stack(buf, true) prints it; "(...)" for the arguments of an
 * inlined frame, as Go, or of a frame whose arguments could not be read. */
static void go_goroutine(FILE *out, const struct task *t)
{
	const struct goroutine_info *gi = t->go;
	fprintf(out, "goroutine %llu [%s", (unsigned long long)t->goid, gi && gi->status ? gi->status : "unknown");
	if (gi && gi->scan)
		fputs(" (scan)", out);
	if (gi && gi->wait_minutes >= 1)
		fprintf(out, ", %lld minutes", (long long)gi->wait_minutes);
	if (gi && gi->locked_to_thread)
		fputs(", locked to thread", out);
	fputs("]:\n", out);
	/* a running goroutine's first PC is where it was interrupted, not a return address */
	bool trap = gi && gi->status && strcmp(gi->status, "running") == 0;
	int shown = 0;
	for (int k = 0; k < t->npcs; k++) {
		const struct pcsym *ps = t->syms ? t->syms[k] : NULL;
		if (!ps || ps->nframes == 0) {
			fprintf(out, "?()\n\t?:0 pc=%#llx\n", (unsigned long long)t->pcs[k]);
			continue;
		}
		const struct sym_frame *fr = &ps->frames[0];
		if (!go_shows(fr->function, shown == 0 && k == 0))
			continue;
		shown++;
		const char *args = !fr->inlined && gi && gi->args && gi->args[k] ? gi->args[k] : "...";
		fprintf(out, "%s(%s)\n\t%s:%d", fr->function, args, fr->file ? fr->file : "?", fr->line);
		/* Go prints the physical frame's own PC: that of its innermost inlined call, the
		 * PCs after it being the inline marks Go records for the outer calls */
		int j = k;
		while (j > 0 && t->syms[j - 1] && t->syms[j - 1]->nframes && t->syms[j - 1]->frames[0].inlined &&
		       t->syms[j - 1]->frames[0].func_entry == fr->func_entry)
			j--;
		uint64_t pc = j == 0 && trap ? t->syms[0]->lookup_pc : t->pcs[j];
		if (!fr->inlined && fr->func_entry && pc > fr->func_entry && ps->lookup_pc != fr->func_entry)
			fprintf(out, " +%#llx", (unsigned long long)(pc - fr->func_entry));
		fputc('\n', out);
	}
	if (t->unwind_error)
		fprintf(out, "...stack incomplete: %s\n", t->unwind_error);
	else if (t->truncated)
		fputs("...additional frames elided...\n", out);
	if (gi && gi->created_by && go_shows(gi->created_by, false)) {
		fprintf(out, "created by %s", gi->created_by);
		if (gi->parent_goid)
			fprintf(out, " in goroutine %llu", (unsigned long long)gi->parent_goid);
		fprintf(out, "\n\t%s:%d", gi->created_file ? gi->created_file : "?", gi->created_line);
		if (gi->created_off)
			fprintf(out, " +%#llx", (unsigned long long)gi->created_off);
		fputc('\n', out);
	}
	fputc('\n', out);
}

int report_threads(FILE *out, const struct snapshot *s, struct err *e)
{
	struct arena a = { 0 };
	/* Go targets: the goroutines first, as Go's goroutine?debug=2 lists them */
	for (size_t i = 0; i < s->ngoroutines; i++)
		go_goroutine(out, &s->goroutines[i]);
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
		else if (t->wait && t->wait->likely_owner)
			fprintf(out, ", likely held by %d (inferred)", (int)t->wait->likely_owner);
		fputs("]:\n", out);
		for (int k = 0; k < t->npcs; k++) {
			const struct pcsym *ps = t->syms ? t->syms[k] : NULL;
			if (!ps || ps->nframes == 0) {
				fprintf(out, "%s()\n\t?:0 pc=0x%llx%s\n", frame_label(s, ps, t->pcs[k], NULL, false, &a),
					(unsigned long long)t->pcs[k], t->scanned && t->scanned[k] ? " [scanned]" : "");
				continue;
			}
			for (int f = 0; f < ps->nframes; f++) {
				const struct sym_frame *fr = &ps->frames[f];
				fprintf(out, "%s(...)\n\t%s:%d", frame_label(s, ps, t->pcs[k], fr, false, &a),
					fr->file ? fr->file : "?", fr->line);
				if (frame_named(fr) && !fr->inlined && fr->func_entry && ps->lookup_pc >= fr->func_entry)
					fprintf(out, " +0x%llx", (unsigned long long)(ps->lookup_pc - fr->func_entry));
				if (t->scanned && t->scanned[k])
					fputs(" [scanned]", out);
				fputc('\n', out);
			}
		}
		if (t->unwind_error)
			fprintf(out, "...stack incomplete: %s\n", t->unwind_error);
		else if (t->truncated)
			fputs("...additional frames elided...\n", out);
		fputc('\n', out);
	}
	arena_free(&a);
	return ferror(out) ? err_set(e, ERR_FAIL, "writing the report failed") : 0;
}
