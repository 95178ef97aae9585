#include "analyzers/analyze.h"
#include "analyzers/findings.h"
#include "analyzers/waits.h"
#include "analyzers/go_findings.h"
#include "analyzers/xproc_findings.h"

void analyze_findings(struct snapshot *s, const struct analyze_options *o)
{
	struct finding_list l = { 0 };
	waitgraph_findings(s, &l);
	xproc_findings(s, &l);
	mass_findings(s, o ? o->mass_threshold : 0, &l);
	go_findings(s, o ? o->mass_threshold : 0, &l);
	findings_commit(s, &l);
}

void analyze_snapshot(struct snapshot *s, const struct analyze_options *o)
{
	analyze_waits(s);
	analyze_findings(s, o);
}

void analyze_waits(struct snapshot *s)
{
	for (size_t i = 0; i < s->ntasks; i++) {
		struct task *t = &s->tasks[i];
		/* A goroutine's registers are not its wait: go/ sets state and wait from the
		 * runtime's own wait reason, and the graphs below take them as they are. */
		if (t->kind == TASK_GOROUTINE) {
			if (!t->state)
				t->state = "unknown";
			continue;
		}
		wait_decode_task(s, t);
	}
}

bool analyze_found_hang(const struct snapshot *s)
{
	for (size_t i = 0; i < s->nfindings; i++)
		if (s->findings[i].kind == FINDING_DEADLOCK || s->findings[i].kind == FINDING_SELF_DEADLOCK ||
		    s->findings[i].kind == FINDING_ABANDONED_LOCK)
			return true;
	return false;
}
