#include "commands/options.h"
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_FORMAT = 256, OPT_DEBUGINFO, OPT_SYSROOT, OPT_MAX_FRAMES, OPT_UNWINDER, OPT_STATS,
	OPT_EXIT_CODE, OPT_MASS, OPT_PID, OPT_TIMEOUT, OPT_NO_STOP, OPT_SIGNAL, OPT_KILL_AFTER,
	OPT_SAVE, OPT_INTERVAL, OPT_AFTER, OPT_ONCE, OPT_SAVE_CORE, OPT_CORE_SIZE, OPT_COREDUMP,
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
	{ "signal", required_argument, NULL, OPT_SIGNAL },
	{ "kill-after", required_argument, NULL, OPT_KILL_AFTER },
	{ "save", required_argument, NULL, OPT_SAVE },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "after", required_argument, NULL, OPT_AFTER },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "save-core", required_argument, NULL, OPT_SAVE_CORE },
	{ "core-size", required_argument, NULL, OPT_CORE_SIZE },
	{ "coredump", required_argument, NULL, OPT_COREDUMP },
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

bool options_parse_duration(const char *s, uint64_t *ms)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0 || v != v)
		return false;
	double mult = 1000;
	if (*end == 0 || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60000;
	else if (strcmp(end, "h") == 0)
		mult = 3600000;
	else if (strcmp(end, "d") == 0)
		mult = 86400000;
	else
		return false;
	double r = v * mult;
	if (r > 1e15)
		return false;
	*ms = (uint64_t)(r + 0.5);
	return true;
}

bool options_parse_signal(const char *s, int *sig)
{
	long v;
	if (options_parse_long(s, 1, 64, &v)) {
		*sig = (int)v;
		return true;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (int i = 1; i < 32; i++) {
		const char *abbr = sigabbrev_np(i);
		if (abbr && strcasecmp(abbr, s) == 0) {
			*sig = i;
			return true;
		}
	}
	return false;
}

static bool cmd_is(const char *cmd, const char *a, const char *b)
{
	return strcmp(cmd, a) == 0 || (b && strcmp(cmd, b) == 0);
}

int options_parse(const char *cmd, int argc, char **argv, struct report_options *o, int *first_pos,
		  struct err *e)
{
	memset(o, 0, sizeof(*o));
	o->format = FMT_TEXT;
	o->unwinder = UNWINDER_DEFAULT;
	o->target.attach_timeout_ms = 5000;
	o->target.max_frames = UNWIND_MAX_FRAMES_DEFAULT;
	o->term_signal = SIGTERM;
	o->kill_after_ms = 5000;
	o->interval_ms = 1000;
	o->after_ms = 30000;
	optind = 1;
	opterr = 0;
	int c;
	long v;
	bool have_core_size = false;
	/* run stops at its COMMAND: what follows belongs to the command */
	const char *optstring = strcmp(cmd, "run") == 0 ? "+o:h" : "o:p:h";
	while ((c = getopt_long(argc, argv, optstring, long_opts, NULL)) != -1) {
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
			if (!cmd_is(cmd, "attach", "watch"))
				return err_set(e, ERR_USAGE, "--pid: only for chang attach and chang watch");
			if (!options_parse_long(optarg, 1, 0x7fffffff, &o->pid))
				return err_set(e, ERR_USAGE, "--pid=%s: not a process id (a positive number)", optarg);
			o->have_pid = true;
			break;
		case OPT_TIMEOUT:
			if (strcmp(cmd, "run") == 0) {
				if (!options_parse_duration(optarg, &o->timeout_ms))
					return err_set(e, ERR_USAGE, "--timeout=%s: a duration such as 30s, 500ms, 5m", optarg);
				break;
			}
			if (!options_parse_long(optarg, 1, 3600000, &v))
				return err_set(e, ERR_USAGE, "--timeout=%s: milliseconds from 1 to 3600000", optarg);
			o->target.attach_timeout_ms = (unsigned)v;
			break;
		case OPT_NO_STOP:
			if (strcmp(cmd, "core") == 0)
				return err_set(e, ERR_USAGE, "--no-stop: only for live processes");
			o->target.no_stop = true;
			break;
		case OPT_SIGNAL:
			if (strcmp(cmd, "run") != 0 || !options_parse_signal(optarg, &o->term_signal))
				return err_set(e, ERR_USAGE, "--signal=%s: a signal name or number (chang run only)", optarg);
			break;
		case OPT_KILL_AFTER:
			if (strcmp(cmd, "run") != 0 || !options_parse_duration(optarg, &o->kill_after_ms))
				return err_set(e, ERR_USAGE, "--kill-after=%s: a duration (chang run only)", optarg);
			break;
		case OPT_SAVE:
			if (!cmd_is(cmd, "run", "watch"))
				return err_set(e, ERR_USAGE, "--save: only for chang run and chang watch");
			o->save_dir = optarg;
			break;
		case OPT_INTERVAL:
		case OPT_AFTER:
			if (strcmp(cmd, "watch") != 0)
				return err_set(e, ERR_USAGE, "--%s: only for chang watch", c == OPT_AFTER ? "after" : "interval");
			if (!options_parse_duration(optarg, c == OPT_AFTER ? &o->after_ms : &o->interval_ms) ||
			    (c == OPT_INTERVAL && o->interval_ms == 0))
				return err_set(e, ERR_USAGE, "--%s=%s: a duration such as 1s, 500ms",
					       c == OPT_AFTER ? "after" : "interval", optarg);
			break;
		case OPT_ONCE:
			if (strcmp(cmd, "watch") != 0)
				return err_set(e, ERR_USAGE, "--once: only for chang watch");
			o->once = true;
			break;
		case OPT_SAVE_CORE:
			if (strcmp(cmd, "attach") != 0)
				return err_set(e, ERR_USAGE, "--save-core: only for chang attach");
			if (!*optarg)
				return err_set(e, ERR_USAGE, "--save-core: give a file name");
			o->target.save_core = optarg;
			break;
		case OPT_CORE_SIZE:
			if (strcmp(cmd, "attach") != 0)
				return err_set(e, ERR_USAGE, "--core-size: only for chang attach --save-core");
			if (strcmp(optarg, "mini") != 0 && strcmp(optarg, "full") != 0)
				return err_set(e, ERR_USAGE, "--core-size=%s: mini or full", optarg);
			o->target.core_full = strcmp(optarg, "full") == 0;
			have_core_size = true;
			break;
		case OPT_COREDUMP:
			if (strcmp(cmd, "core") != 0)
				return err_set(e, ERR_USAGE, "--coredump: only for chang core");
			if (!*optarg)
				return err_set(e, ERR_USAGE, "--coredump: give a PID or a program name");
			o->coredump = optarg;
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
	if (have_core_size && !o->target.save_core)
		return err_set(e, ERR_USAGE, "--core-size: only with --save-core FILE");
	if (o->target.save_core && o->target.no_stop)
		return err_set(e, ERR_USAGE, "--save-core: needs the freeze, so not with --no-stop");
	*first_pos = optind;
	return 0;
}
