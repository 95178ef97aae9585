#include "commands/options.h"
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_FORMAT = 256, OPT_DEBUGINFO, OPT_SYSROOT, OPT_MAX_FRAMES, OPT_UNWINDER, OPT_STATS,
	OPT_EXIT_CODE, OPT_MASS, OPT_PID, OPT_TIMEOUT, OPT_NO_STOP,
};

static const struct option long_opts[] = {
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "output", required_argument, NULL, 'o' },
	{ "debuginfo-path", required_argument, NULL, OPT_DEBUGINFO },
	{ "sysroot", required_argument, NULL, OPT_SYSROOT },
	{ "max-frames", required_argument, NULL, OPT_MAX_FRAMES },
	{ "unwinder", required_argument, NULL, OPT_UNWINDER },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "exit-code", no_argument, NULL, OPT_EXIT_CODE },
	{ "mass-threshold", required_argument, NULL, OPT_MASS },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "no-stop", no_argument, NULL, OPT_NO_STOP },
	{ NULL, 0, NULL, 0 },
};

bool options_parse_long(const char *s, long min, long max, long *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int options_parse(const char *cmd, int argc, char **argv, struct report_options *o, int *first_pos,
		  struct err *e)
{
	memset(o, 0, sizeof(*o));
	o->format = FMT_TEXT;
	o->unwinder = UNWINDER_DEFAULT;
	o->target.attach_timeout_ms = 5000;
	o->target.max_frames = UNWIND_MAX_FRAMES_DEFAULT;
	optind = 1;
	opterr = 0;
	int c;
	long v;
	while ((c = getopt_long(argc, argv, "o:p:h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (report_parse_format(optarg, &o->format) != 0)
				return err_set(e, ERR_USAGE, "--format=%s: unknown format (text, threads, json, "
					       "goroutine, pprof, dot)", optarg);
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_DEBUGINFO:
			o->target.debuginfo_path = optarg;
			break;
		case OPT_SYSROOT:
			o->target.sysroot = optarg;
			break;
		case OPT_MAX_FRAMES:
			if (!options_parse_long(optarg, 1, 100000, &v))
				return err_set(e, ERR_USAGE, "--max-frames=%s: not a number from 1 to 100000", optarg);
			o->target.max_frames = (int)v;
			break;
		case OPT_UNWINDER:
			if (unwind_parse_name(optarg, &o->unwinder) != 0)
				return err_set(e, ERR_USAGE, "--unwinder=%s: use libunwind or libdw", optarg);
			break;
		case OPT_STATS:
			o->stats = true;
			break;
		case OPT_EXIT_CODE:
			o->exit_code = true;
			break;
		case OPT_MASS:
			if (!options_parse_long(optarg, 1, 10000000, &v))
				return err_set(e, ERR_USAGE, "--mass-threshold=%s: not a positive number", optarg);
			o->mass_threshold = (int)v;
			break;
		case OPT_PID:
		case 'p':
			if (strcmp(cmd, "attach") != 0)
				return err_set(e, ERR_USAGE, "--pid: only for chang attach");
			if (!options_parse_long(optarg, 1, 0x7fffffff, &o->pid))
				return err_set(e, ERR_USAGE, "--pid=%s: not a process id (a positive number)", optarg);
			o->have_pid = true;
			break;
		case OPT_TIMEOUT:
			if (!options_parse_long(optarg, 1, 3600000, &v))
				return err_set(e, ERR_USAGE, "--timeout=%s: milliseconds from 1 to 3600000", optarg);
			o->target.attach_timeout_ms = (unsigned)v;
			break;
		case OPT_NO_STOP:
			if (strcmp(cmd, "core") == 0)
				return err_set(e, ERR_USAGE, "--no-stop: only for live processes");
			o->target.no_stop = true;
			break;
		case 'h':
			return err_set(e, ERR_USAGE, "help");
		default:
			if (optopt)
				return err_set(e, ERR_USAGE, "chang %s: option -%c is unknown or needs a value; "
					       "see chang help %s", cmd, optopt, cmd);
			return err_set(e, ERR_USAGE, "chang %s: unknown option %s; see chang help %s", cmd,
				       argv[optind - 1], cmd);
		}
	}
	*first_pos = optind;
	return 0;
}
