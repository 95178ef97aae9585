/* Every option of every command, once: the parser, `chang help`, the man page's OPTIONS
 * section and the README's option table are all made from this table, so they cannot drift
 * (tests/e2e/test_options.py regenerates the documents and compares, and checks each stated
 * default against what the parser really sets). */
#ifndef CHANG_OPTABLE_H
#define CHANG_OPTABLE_H
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

enum {
	CMD_ATTACH = 1, CMD_CORE = 2, CMD_RUN = 4, CMD_WATCH = 8,
	CMD_REPORTING = CMD_ATTACH | CMD_CORE | CMD_RUN | CMD_WATCH,
};

enum opt_id {
	OPT_FORMAT = 256, OPT_OUTPUT, OPT_DEBUGINFO, OPT_SYSROOT, OPT_MAX_FRAMES, OPT_UNWINDER, OPT_STATS,
	OPT_EXIT_CODE, OPT_MASS, OPT_PID, OPT_TIMEOUT, OPT_NO_STOP, OPT_SIGNAL, OPT_KILL_AFTER,
	OPT_SAVE, OPT_INTERVAL, OPT_AFTER, OPT_ONCE, OPT_SAVE_CORE, OPT_CORE_SIZE, OPT_COREDUMP,
	OPT_RUN_TIMEOUT, OPT_SECOND_LOOK, OPT_NO_DEBUGINFOD, OPT_HELP, OPT_TREE,
};

struct optdesc {
	enum opt_id id;
	const char *name;	/* long name, without "--" */
	char short_name;	/* 0, or the one-letter form */
	const char *arg;	/* the value's name in the help ("FILE"); NULL for a flag */
	unsigned cmds;		/* CMD_* that take it */
	bool report;		/* a report option (shared section of the help) */
	const char *def;	/* the default as the help states it, or NULL */
	const char *help;	/* what it does; the default is appended from def */
};

extern const struct optdesc optable[];
extern const size_t optable_len;

unsigned optable_cmd_bit(const char *cmd);
/* The entry for getopt's return value c in command cmd (--timeout differs by command). */
const struct optdesc *optable_lookup(int c, unsigned cmd);
/* getopt_long's table (one entry per distinct long name) and its short-option string. */
const struct option *optable_getopt(void);

/* The option lines of `chang help CMD`: the command's own, then (report) the shared ones. */
void optable_print_help(FILE *out, unsigned cmd, bool report);
/* The man page's OPTIONS section body (roff) and the README's option table (markdown). */
void optable_print_man(FILE *out);
void optable_print_markdown(FILE *out);
#endif
