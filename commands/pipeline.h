/* The shared pipeline every report command runs after its capture: unwind, symbolize,
 * group, analyze, write. One implementation for live processes and cores alike. */
#ifndef CHANG_PIPELINE_H
#define CHANG_PIPELINE_H
#include "commands/options.h"
#include "model/snapshot.h"
#include "image/target.h"

/* Capture a live process (freeze, copy, thaw), then read what needs no freeze while the
 * debug files its modules will need are inflated in the background (symbols/debugfile.h). */
/* What a live capture does once its process runs again: debug files prefetched, thread
 * names, fds and module files read. */
void pipeline_after_thaw(struct target *t, struct snapshot *s, const struct cmd_options *o);
struct target *pipeline_capture_live(pid_t pid, const struct cmd_options *o, struct snapshot *s,
				    struct err *e);
/* Returns the process exit status (0, 3 with --exit-code and a hang found, 1 on error
 * after printing it). */
/* Exit status when a Go program's goroutines could not be read: its threads were still
 * reported (not 2, 3, 124 or 125, which usage, --exit-code and `chang run` use). */
#define EXIT_GO_UNREAD 4
int pipeline_run(struct snapshot *s, const struct cmd_options *o);
/* The stages before output: unwind, symbolize, group, analyze. */
int pipeline_prepare(struct snapshot *s, const struct cmd_options *o, struct err *e);
/* Write the report where the options say (stdout, a file, a directory). */
int pipeline_write(struct snapshot *s, const struct cmd_options *o, struct err *e);
void pipeline_print_stats(const struct snapshot *s);
/* Print "chang: msg" to stderr and return e->code. */
int pipeline_fail(const struct err *e);
/* The opening every command shares: parse its options, print the help when asked. Returns -1
 * to go on, else the exit status to return (0 after the help, 2 for a usage error). */
int command_parse(const char *cmd, int argc, char **argv, struct cmd_options *o, int *pos);
#endif
