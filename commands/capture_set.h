/* Capturing several processes (a command's tree) and reporting them together, the ones
 * with hangs first: shared by chang run and chang watch. */
#ifndef CHANG_CAPTURE_SET_H
#define CHANG_CAPTURE_SET_H
#include <stdio.h>
#include <sys/types.h>
#include "commands/options.h"
#include "model/snapshot.h"

struct captured {
	struct snapshot *snap;
	struct target *target;
};

/* Attach to every pid at once (all frozen, all copied, all thawed) and run the pipeline up
 * to the analyzers on each; out[i].snap is NULL where that failed (errs[i] set). Returns how
 * many were captured. */
size_t capture_many(const pid_t *pids, size_t n, const struct cmd_options *o, struct captured *out,
		    struct err *errs);
/* Attach to pid and run the pipeline up to the analyzers; NULL snap on failure (e set). */
struct captured capture_one(pid_t pid, const struct cmd_options *o, struct err *e);
void captured_free(struct captured *c);
/* Write the reports: hangs first, each separated by a rule in text formats; with
 * o->save_dir also chang-PID.json and chang-PID-TIME.pb.gz there. */
int capture_write_all(struct captured *cs, size_t n, const struct cmd_options *o, FILE *out,
		      struct err *e);
/* capture_write_all into -o (through util/outfile) or, without -o, into dflt. When the file
 * cannot be opened: with fallback the reports go to dflt all the same (the error is printed
 * first), else that is the error. */
int capture_report(struct captured *cs, size_t n, const struct cmd_options *o, FILE *dflt, bool fallback,
		   struct err *e);
#endif
