#include "analyzers/analyze.h"
#include "analyzers/findings.h"
#include "analyzers/waits.h"
#include "analyzers/go_findings.h"
#include "analyzers/inferred.h"
#include "analyzers/likely_holders.h"
#include "analyzers/signals.h"
#include "analyzers/xproc_findings.h"

/* Waits whose object records no owner, so the wait-for graph has no edge for them: a cycle
 * through them (two threads each waiting on a semaphore the other would post, Python's
 * threading.Lock, which is a sem_t) cannot be seen. Idle event loops and workers waiting
 * for work are left out; so are a Go program's OS threads parked in the runtime's futexes
 * (its goroutines carry the waits). */
static int count_unchecked(const struct snapshot *s)
{
	int n = 0;
	for (size_t i = 0; i < s->ntasks; i++) {
		const struct wait *w = s->tasks[i].wait;
		if (!w || w->idle || w->likely_owner)	/* checked through its likely holder */
			continue;
		bool ownerless = w->kind == WAIT_SEMAPHORE ||
				 (w->kind == WAIT_FUTEX && !s->ngoroutines) ||
				 ((w->kind == WAIT_MUTEX || w->kind == WAIT_RWLOCK) && !w->owner_known);
		n += ownerless;
	}
	return n;
}

void analyze_findings(struct snapshot *s, const struct analyze_options *o)
{
	infer_likely_holders(s);
	s->unchecked_waits = count_unchecked(s);
	s->inferred_holder_waits = 0;
	for (size_t i = 0; i < s->ntasks; i++) {
		const struct wait *w = s->tasks[i].wait;
		s->inferred_holder_waits += w && !w->idle && w->likely_owner && !w->owner_known;
	}
	struct finding_list l = { 0 };
	waitgraph_findings(s, &l);
	inferred_findings(s, &l);
	signal_findings(s, &l);
	xproc_findings(s, &l);
	mass_findings(s, o ? o->mass_threshold : 0, &l);
	netwait_findings(s, &l);
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
	signal_frames_name(s);
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
	/* goroutines in the netpoller: go/ found their fd, the fd table says what it is */
	for (size_t i = 0; i < s->ngoroutines; i++)
		if (s->goroutines[i].wait)
			wait_describe_fd(s, s->goroutines[i].wait);
}

bool analyze_found_hang(const struct snapshot *s)
{
	for (size_t i = 0; i < s->nfindings; i++)
		if (s->findings[i].kind == FINDING_DEADLOCK || s->findings[i].kind == FINDING_SELF_DEADLOCK ||
		    s->findings[i].kind == FINDING_ABANDONED_LOCK)
			return true;
	return false;
}
