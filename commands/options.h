/* The options of a command (attach, core, run, watch), as commands/optable.c declares
 * them: the report's, the capture's, and run's and watch's own. */
#ifndef CHANG_OPTIONS_H
#define CHANG_OPTIONS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "report/report.h"
#include "image/target.h"
#include "unwind/unwind.h"
#include "util/err.h"

#define OPTIONS_MAX_PIDS 64

struct cmd_options {
	enum report_format format;
	const char *output;	/* NULL or "-" = stdout; a directory gets a default file name */
	struct target_options target;
	enum unwinder unwinder;
	bool stats;
	bool exit_code;		/* exit 3 when a deadlock/self-deadlock/abandoned lock is found */
	int mass_threshold;
	unsigned second_look_ms;	/* live: confirm unproven findings over this long; 0 = off */
	/* command-specific */
	long pid;
	bool have_pid;
	/* attach: every --pid given (several make one capture), and --tree */
	pid_t pids[OPTIONS_MAX_PIDS];
	int npids;
	bool tree;
	/* run and watch */
	uint64_t timeout_ms;	/* run: capture after this long (0 = never) */
	int term_signal;	/* run: signal that ends the tree after the capture */
	uint64_t kill_after_ms;	/* run: then SIGKILL after this grace period */
	const char *save_dir;	/* run/watch: also write JSON and pprof per process here */
	uint64_t interval_ms;	/* watch: sampling period */
	uint64_t after_ms;	/* watch: no progress for this long is a hang */
	bool once;		/* watch: exit after the first hang */
	const char *coredump;	/* core: a PID or name coredumpctl knows */
};

/* What options_parse starts from for command cmd. */
void options_defaults(const char *cmd, struct cmd_options *o);
/* The value option id (enum opt_id) holds in o, written as the help states defaults. */
bool options_value_text(const struct cmd_options *o, int id, char *buf, size_t cap);
/* Parse argv for command cmd ("attach" or "core"); positional arguments are left in
 * argv[*first_pos .. argc). */
int options_parse(const char *cmd, int argc, char **argv, struct cmd_options *o, int *first_pos,
		  struct err *e);
/* "2s", "500ms", "1m", "1h", or a bare number of seconds (as timeout(1) reads them). */
bool options_parse_duration(const char *s, uint64_t *ms);
/* "TERM", "SIGTERM" or a number. */
bool options_parse_signal(const char *s, int *sig);
/* A strict integer parse: the whole string, in range. */
bool options_parse_long(const char *s, long min, long max, long *out);
#endif
