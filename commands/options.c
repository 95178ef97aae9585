#include "commands/options.h"
#include "symbols/debuginfod.h"
#include "commands/second_look.h"
#include "commands/optable.h"
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

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

/* "chang attach and chang watch" */
static void cmds_text(unsigned cmds, char *buf, size_t cap)
{
	static const char *const names[] = { "attach", "core", "run", "watch" };
	size_t n = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < 4; i++)
		if (cmds & (1u << i))
			n += (size_t)snprintf(buf + n, cap - n, "%schang %s", n ? " and " : "", names[i]);
}

void options_defaults(const char *cmd, struct cmd_options *o)
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
	o->second_look_ms = SECOND_LOOK_DEFAULT_MS;
}

static void duration_text(uint64_t ms, char *buf, size_t cap)
{
	if (ms % 1000 == 0)
		snprintf(buf, cap, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, cap, "%llums", (unsigned long long)ms);
}

bool options_value_text(const struct cmd_options *o, int id, char *buf, size_t cap)
{
	switch (id) {
	case OPT_FORMAT:
		snprintf(buf, cap, "%s", report_format_name(o->format));
		return true;
	case OPT_UNWINDER:
		snprintf(buf, cap, "%s", o->unwinder == UNWINDER_LIBDW ? "libdw" : "libunwind");
		return true;
	case OPT_TIMEOUT:
		snprintf(buf, cap, "%u", o->target.attach_timeout_ms);
		return true;
	case OPT_MAX_FRAMES:
		snprintf(buf, cap, "%d", o->target.max_frames);
		return true;
	case OPT_CORE_SIZE:
		snprintf(buf, cap, "%s", o->target.core_full ? "full" : "mini");
		return true;
	case OPT_SIGNAL:
		snprintf(buf, cap, "%s", sigabbrev_np(o->term_signal));
		return true;
	case OPT_KILL_AFTER:
		duration_text(o->kill_after_ms, buf, cap);
		return true;
	case OPT_INTERVAL:
		duration_text(o->interval_ms, buf, cap);
		return true;
	case OPT_AFTER:
		duration_text(o->after_ms, buf, cap);
		return true;
	case OPT_SECOND_LOOK:
		duration_text(o->second_look_ms, buf, cap);
		return true;
	default:
		return false;
	}
}

int options_parse(const char *cmd, int argc, char **argv, struct cmd_options *o, int *first_pos,
		  struct err *e)
{
	options_defaults(cmd, o);
	unsigned bit = optable_cmd_bit(cmd);
	optind = 1;
	opterr = 0;
	int c;
	long v;
	bool have_core_size = false;
	/* run stops at its COMMAND: what follows belongs to the command */
	const char *optstring = strcmp(cmd, "run") == 0 ? "+o:h" : "o:p:h";
	while ((c = getopt_long(argc, argv, optstring, optable_getopt(), NULL)) != -1) {
		const struct optdesc *d = optable_lookup(c, bit);
		if (d && !(d->cmds & bit)) {
			char cmds[128];
			cmds_text(d->cmds, cmds, sizeof(cmds));
			return err_set(e, ERR_USAGE, "--%s: only for %s", d->name, cmds);
		}
		switch (c) {
		case OPT_FORMAT:
			if (report_parse_format(optarg, &o->format) != 0)
				return err_set(e, ERR_USAGE, "--format=%s: unknown format (text, threads, json, "
					       "goroutine, pprof, dot)", optarg);
			break;
		case 'o':
		case OPT_OUTPUT:
			o->output = optarg;
			break;
		case OPT_DEBUGINFO:
			o->target.debuginfo_path = optarg;
			break;
		case OPT_SYSROOT:
			o->target.sysroot = optarg;
			break;
		case OPT_NO_DEBUGINFOD:
			debuginfod_disable();
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
			if (!options_parse_long(optarg, 1, 0x7fffffff, &o->pid))
				return err_set(e, ERR_USAGE, "--pid=%s: not a process id (a positive number)", optarg);
			if (o->npids == OPTIONS_MAX_PIDS)
				return err_set(e, ERR_USAGE, "--pid: at most %d processes", OPTIONS_MAX_PIDS);
			o->pids[o->npids++] = (pid_t)o->pid;
			o->have_pid = true;
			break;
		case OPT_TREE:
			o->tree = true;
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
			o->target.no_stop = true;
			break;
		case OPT_SIGNAL:
			if (!options_parse_signal(optarg, &o->term_signal))
				return err_set(e, ERR_USAGE, "--signal=%s: a signal name or number", optarg);
			break;
		case OPT_KILL_AFTER:
			if (!options_parse_duration(optarg, &o->kill_after_ms))
				return err_set(e, ERR_USAGE, "--kill-after=%s: a duration such as 5s", optarg);
			break;
		case OPT_SAVE:
			o->save_dir = optarg;
			break;
		case OPT_INTERVAL:
		case OPT_AFTER:
			if (!options_parse_duration(optarg, c == OPT_AFTER ? &o->after_ms : &o->interval_ms) ||
			    (c == OPT_INTERVAL && o->interval_ms == 0))
				return err_set(e, ERR_USAGE, "--%s=%s: a duration such as 1s, 500ms",
					       c == OPT_AFTER ? "after" : "interval", optarg);
			break;
		case OPT_ONCE:
			o->once = true;
			break;
		case OPT_SECOND_LOOK: {
			uint64_t ms;
			if (!options_parse_duration(optarg, &ms) || ms > 10000)
				return err_set(e, ERR_USAGE, "--second-look=%s: a duration up to 10s, such as "
					       "150ms (0: none)", optarg);
			o->second_look_ms = (unsigned)ms;
			break;
		}
		case OPT_SAVE_CORE:
			if (!*optarg)
				return err_set(e, ERR_USAGE, "--save-core: give a file name");
			o->target.save_core = optarg;
			break;
		case OPT_CORE_SIZE:
			if (strcmp(optarg, "mini") != 0 && strcmp(optarg, "full") != 0)
				return err_set(e, ERR_USAGE, "--core-size=%s: mini or full", optarg);
			o->target.core_full = strcmp(optarg, "full") == 0;
			have_core_size = true;
			break;
		case OPT_COREDUMP:
			if (!*optarg)
				return err_set(e, ERR_USAGE, "--coredump: give a PID or a program name");
			o->coredump = optarg;
			break;
		case 'h':
		case OPT_HELP:
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
