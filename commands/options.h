/* Options shared by the commands that produce a report (attach, core). */
#ifndef CHANG_OPTIONS_H
#define CHANG_OPTIONS_H
#include <stdbool.h>
#include "report/report.h"
#include "target/target.h"
#include "unwind/unwind.h"
#include "util/err.h"

struct report_options {
	enum report_format format;
	const char *output;	/* NULL or "-" = stdout; a directory gets a default file name */
	struct target_options target;
	enum unwinder unwinder;
	bool stats;
	bool exit_code;		/* exit 3 when a deadlock/self-deadlock/abandoned lock is found */
	int mass_threshold;
	/* command-specific */
	long pid;
	bool have_pid;
};

/* Parse argv for command cmd ("attach" or "core"); positional arguments are left in
 * argv[*first_pos .. argc). */
int options_parse(const char *cmd, int argc, char **argv, struct report_options *o, int *first_pos,
		  struct err *e);
/* A strict integer parse: the whole string, in range. */
bool options_parse_long(const char *s, long min, long max, long *out);
#endif
