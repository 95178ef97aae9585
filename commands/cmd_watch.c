/* chang watch --pid N: sample a process cheaply (no ptrace) and, when it stops making
 * progress or a deadlock cycle appears, take the full report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "analyzers/analyze.h"
#include "attach/sampler.h"
#include "commands/capture_set.h"
#include "commands/commands.h"
#include "commands/pipeline.h"
#include "util/clock.h"

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A deadlock can be seen without stopping anything: lock owners are in memory. */
static const char *probe_deadlock(pid_t pid, const struct cmd_options *o, char *buf, size_t cap)
{
	struct cmd_options po = *o;
	po.target.no_stop = true;
	struct err e = { 0 };
	struct captured c = capture_one(pid, &po, &e);
	const char *r = NULL;
	if (c.snap && analyze_found_hang(c.snap)) {
		for (size_t i = 0; i < c.snap->nfindings; i++)
			if (c.snap->findings[i].kind <= FINDING_ABANDONED_LOCK) {
				snprintf(buf, cap, "%s", c.snap->findings[i].summary);
				r = buf;
				break;
			}
	}
	captured_free(&c);
	return r;
}

static int report_now(pid_t pid, const struct cmd_options *o)
{
	struct err e = { 0 };
	struct captured c = capture_one(pid, o, &e);
	if (!c.snap)
		return pipeline_fail(&e);
	int r = capture_report(&c, 1, o, stdout, false, &e);
	captured_free(&c);
	return r ? pipeline_fail(&e) : 0;
}

int cmd_watch(int argc, char **argv)
{
	struct cmd_options o;
	struct err e = { 0 };
	int pos, r = command_parse("watch", argc, argv, &o, &pos);
	if (r >= 0)
		return r;
	if (!o.have_pid || pos < argc) {
		err_set(&e, ERR_USAGE, "watch: give --pid N (and nothing else)");
		return pipeline_fail(&e);
	}
	pid_t pid = (pid_t)o.pid;
	struct sample prev, cur;
	if (sample_take(pid, &prev) != 0) {
		err_set(&e, ERR_FAIL, "process %d: no such process", (int)pid);
		return pipeline_fail(&e);
	}
	fprintf(stderr, "chang watch: watching process %d (%zu threads) every %.3g s; a hang is no "
		"progress for %.3g s or a deadlock\n", (int)pid, prev.n, (double)o.interval_ms / 1000,
		(double)o.after_ms / 1000);
	uint64_t last_progress = mono_ms();
	int same = 0;
	bool probed = false, reported = false;
	int status = 0;
	for (;;) {
		sleep_ms(o.interval_ms);
		if (sample_take(pid, &cur) != 0) {
			fprintf(stderr, "chang watch: process %d exited\n", (int)pid);
			break;
		}
		bool progress = sample_progress(&prev, &cur);
		bool same_waits = sample_same_waits(&prev, &cur);
		if (progress || !same_waits) {
			last_progress = mono_ms();
			same = 0;
			probed = false;
			reported = false;
		} else {
			same++;
		}
		size_t blocked = 0, locks = 0, busy = 0;
		for (size_t i = 0; i < cur.n; i++) {
			const struct thread_sample *t = &cur.t[i];
			if (t->syscall_nr < 0) {
				busy += t->state == 'R';
				continue;
			}
			if (!sample_idle_syscall(t->syscall_nr))
				blocked++;
			if (t->syscall_nr == 202)
				locks++;
		}
		const char *why = NULL;
		char buf[1200], dl[1024];
		if (!reported && same >= 1 && locks >= 1 && !probed) {
			probed = true;	/* once per unchanged set of waits */
			const char *d = probe_deadlock(pid, &o, dl, sizeof(dl));
			if (d) {
				snprintf(buf, sizeof(buf), "deadlock seen without stopping the process: %s", d);
				why = buf;
			}
		}
		uint64_t stuck = mono_ms() - last_progress;
		if (!why && !reported && stuck >= o.after_ms && blocked > 0) {
			snprintf(buf, sizeof(buf), "no progress for %.1f s: %zu of %zu threads blocked (%zu on "
				 "futexes), same waits in %d samples", (double)stuck / 1000, blocked, cur.n, locks,
				 same + 1);
			why = buf;
		}
		sample_free(&prev);
		prev = cur;
		if (!why)
			continue;
		fprintf(stderr, "chang watch: %s\n", why);
		status = report_now(pid, &o);
		reported = true;
		if (status != 0 || o.once)
			break;
		fprintf(stderr, "chang watch: watching for the next hang\n");
	}
	sample_free(&prev);
	if (status == 0 && reported && o.once)
		return 3;
	return status;
}
