#include "commands/optable.h"
#include <string.h>

const struct optdesc optable[] = {
	/* the commands' own options */
	{ OPT_PID, "pid", 'p', "N", CMD_ATTACH | CMD_WATCH, false, NULL,
	  "the process to inspect; attach takes several (--pid A --pid B), frozen, copied and thawed "
	  "together so that the waits between them are consistent" },
	{ OPT_TREE, "tree", 0, NULL, CMD_ATTACH, false, NULL,
	  "also every descendant of each --pid process (found by parent links), in the same capture" },
	{ OPT_TIMEOUT, "timeout", 0, "MS", CMD_ATTACH, false, "5000",
	  "give up on threads that do not stop within MS milliseconds" },
	{ OPT_NO_STOP, "no-stop", 0, NULL, CMD_ATTACH, false, NULL,
	  "no ptrace at all: read blocked threads from /proc while the process runs (works beside "
	  "another debugger; the snapshot is not atomic; running threads have no stack)" },
	{ OPT_SAVE_CORE, "save-core", 0, "FILE", CMD_ATTACH, false, NULL,
	  "also write an ELF core of the same freeze to FILE (gdb and chang core open it; .gz or "
	  ".zst: compressed); the report says where it went and what it added to the pause" },
	{ OPT_CORE_SIZE, "core-size", 0, "SIZE", CMD_ATTACH, false, "mini",
	  "mini: the stacks, lock words, what gdb needs to list threads and libraries, and for a Go "
	  "program what its goroutines were read from; full: every dumpable mapping, like gcore" },
	{ OPT_COREDUMP, "coredump", 0, "PID|NAME", CMD_CORE, false, NULL,
	  "the newest core systemd-coredump kept for that process or program (asks coredumpctl; "
	  "says which file it used)" },
	{ OPT_RUN_TIMEOUT, "timeout", 0, "DURATION", CMD_RUN, false, NULL,
	  "capture the tree after this long, e.g. 30s, 500ms, 5m (a bare number is seconds); "
	  "without it, only SIGQUIT to chang captures" },
	{ OPT_SIGNAL, "signal", 0, "SIG", CMD_RUN, false, "TERM", "the signal that ends the tree after the report" },
	{ OPT_KILL_AFTER, "kill-after", 0, "DURATION", CMD_RUN, false, "5s", "then SIGKILL what is left" },
	{ OPT_SAVE, "save", 0, "DIR", CMD_RUN | CMD_WATCH, false, NULL,
	  "also write chang-PID.json and a pprof file per process into DIR" },
	{ OPT_INTERVAL, "interval", 0, "DURATION", CMD_WATCH, false, "1s", "time between samples" },
	{ OPT_AFTER, "after", 0, "DURATION", CMD_WATCH, false, "30s", "no progress for this long is a hang" },
	{ OPT_ONCE, "once", 0, NULL, CMD_WATCH, false, NULL, "exit after the first hang (status 3)" },
	{ OPT_SECOND_LOOK, "second-look", 0, "DURATION", CMD_ATTACH | CMD_RUN | CMD_WATCH, false, "150ms",
	  "after the capture, watch the process this long without stopping it: a mass-blocking or "
	  "blocking-chain finding stays only if its threads sit in the same waits with no CPU time "
	  "and no wake-ups meanwhile, its goroutines parked at the same PCs on objects in the same "
	  "state (0: no second look)" },
	/* report options, shared */
	{ OPT_FORMAT, "format", 0, "FORMAT", CMD_REPORTING, true, "text",
	  "text, threads, json, goroutine, pprof or dot" },
	{ OPT_OUTPUT, "output", 'o', "FILE", CMD_REPORTING, true, NULL,
	  "write there instead of stdout; a directory gets a default name (pprof: "
	  "chang-PID-TIME.pb.gz); a device, FIFO, /dev/stdout or hard-linked file is written in "
	  "place, a symlink through, anything else replaced atomically" },
	{ OPT_DEBUGINFO, "debuginfo-path", 0, "PATH", CMD_REPORTING, true, NULL,
	  "where separate debug files are looked for (elfutils syntax: colon-separated; "
	  ".build-id/xx/yyyy.debug and .gnu_debuglink)" },
	{ OPT_NO_DEBUGINFOD, "no-debuginfod", 0, NULL, CMD_REPORTING, true, NULL,
	  "never ask the debuginfod servers of DEBUGINFOD_URLS for missing debug files and "
	  "executables (by default chang asks them after the target is thawed, waiting at most "
	  "DEBUGINFOD_TIMEOUT seconds, 10 unless set, for a server that sends nothing)" },
	{ OPT_SYSROOT, "sysroot", 0, "DIR", CMD_REPORTING, true, NULL,
	  "look the target's executable and libraries up under DIR (cores from another machine)" },
	{ OPT_MAX_FRAMES, "max-frames", 0, "N", CMD_REPORTING, true, "256", "deepest stack walked per thread" },
	{ OPT_UNWINDER, "unwinder", 0, "NAME", CMD_REPORTING, true, "libdw",
	  "the CFI unwinder: libdw or libunwind; both are tested to give identical stacks, and where they cannot (CFI only libdw reads) the walk says so in unwind_error" },
	{ OPT_MASS, "mass-threshold", 0, "N", CMD_REPORTING, true, NULL,
	  "how many threads on one object make a mass-blocking finding (by default 10 and at least "
	  "10% of the threads)" },
	{ OPT_EXIT_CODE, "exit-code", 0, NULL, CMD_REPORTING, true, NULL,
	  "exit 3 when a deadlock, self-deadlock or abandoned lock is found" },
	{ OPT_STATS, "stats", 0, NULL, CMD_REPORTING, true, NULL, "the time of each phase and counts, on stderr" },
	{ OPT_HELP, "help", 'h', NULL, CMD_REPORTING, true, NULL, "this help" },
};
const size_t optable_len = sizeof(optable) / sizeof(optable[0]);

unsigned optable_cmd_bit(const char *cmd)
{
	static const char *const names[] = { "attach", "core", "run", "watch" };
	for (unsigned i = 0; i < 4; i++)
		if (strcmp(cmd, names[i]) == 0)
			return 1u << i;
	return 0;
}

const struct optdesc *optable_lookup(int c, unsigned cmd)
{
	const char *name = NULL;
	for (size_t i = 0; i < optable_len && !name; i++)
		if ((int)optable[i].id == c || (optable[i].short_name && optable[i].short_name == c))
			name = optable[i].name;
	if (!name)
		return NULL;
	const struct optdesc *any = NULL;
	for (size_t i = 0; i < optable_len; i++) {
		if (strcmp(optable[i].name, name) != 0)
			continue;
		if (optable[i].cmds & cmd)
			return &optable[i];
		any = any ? any : &optable[i];
	}
	return any;
}

const struct option *optable_getopt(void)
{
	static struct option opts[sizeof(optable) / sizeof(optable[0]) + 1];
	if (opts[0].name)
		return opts;
	size_t n = 0;
	for (size_t i = 0; i < optable_len; i++) {
		bool seen = false;
		for (size_t j = 0; j < n && !seen; j++)
			seen = strcmp(opts[j].name, optable[i].name) == 0;
		if (seen)
			continue;
		opts[n].name = optable[i].name;
		opts[n].has_arg = optable[i].arg ? required_argument : no_argument;
		opts[n].val = optable[i].short_name ? optable[i].short_name : (int)optable[i].id;
		n++;
	}
	return opts;
}

/* "  -o, --output=FILE" */
static int synopsis(const struct optdesc *d, char *buf, size_t cap)
{
	int n = 0;
	if (d->short_name)
		n = snprintf(buf, cap, "-%c, ", d->short_name);
	return n + snprintf(buf + n, cap - (size_t)n, "--%s%s%s", d->name, d->arg ? "=" : "", d->arg ? d->arg : "");
}

/* Words of text wrapped at 90 columns, every line after the first indented by indent. */
static void wrapped(FILE *out, const char *text, int col, int indent)
{
	const int width = 90;
	const char *p = text;
	while (*p) {
		size_t w = strcspn(p, " ");
		if (col > indent && col + 1 + (int)w > width) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', out);
			col++;
		}
		fprintf(out, "%.*s", (int)w, p);
		col += (int)w;
		p += w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}

void optable_print_help(FILE *out, unsigned cmd, bool report)
{
	for (size_t i = 0; i < optable_len; i++) {
		const struct optdesc *d = &optable[i];
		if (!(d->cmds & cmd) || d->report != report)
			continue;
		char syn[64], text[512];
		int n = synopsis(d, syn, sizeof(syn));
		snprintf(text, sizeof(text), "%s%s%s%s", d->help, d->def ? " (default " : "", d->def ? d->def : "",
			 d->def ? ")" : "");
		fprintf(out, "  %s", syn);
		int col = 2 + n;
		if (col >= 25) {
			fprintf(out, "\n%25s", "");
		} else {
			fprintf(out, "%*s", 25 - col, "");
		}
		wrapped(out, text, 25, 25);
	}
}

static const char *const cmd_names[] = { "attach", "core", "run", "watch" };

static void cmds_of(const struct optdesc *d, char *buf, size_t cap)
{
	buf[0] = 0;
	if (d->cmds == CMD_REPORTING)
		return;
	size_t n = 0;
	for (unsigned i = 0; i < 4; i++)
		if (d->cmds & (1u << i))
			n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", cmd_names[i]);
}

/* roff: a leading dot or quote would start a request; backslashes and dashes are escaped. */
static void roff(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '-')
			fputs("\\-", out);
		else if (*s == '\\')
			fputs("\\e", out);
		else
			fputc(*s, out);
	}
}

void optable_print_man(FILE *out)
{
	for (size_t i = 0; i < optable_len; i++) {
		const struct optdesc *d = &optable[i];
		if (d->id == OPT_HELP)
			continue;
		char cmds[64];
		cmds_of(d, cmds, sizeof(cmds));
		fputs(".TP\n", out);
		if (d->short_name)
			fprintf(out, "\\fB\\-%c\\fR, ", d->short_name);
		fputs("\\fB\\-\\-", out);
		roff(out, d->name);
		fputs("\\fR", out);
		if (d->arg) {
			fputs("=\\fI", out);
			roff(out, d->arg);
			fputs("\\fR", out);
		}
		fputs("\n", out);
		if (cmds[0]) {
			fputs("(", out);
			roff(out, cmds);
			fputs(") ", out);
		}
		roff(out, d->help);
		if (d->def) {
			fputs(" (default ", out);
			roff(out, d->def);
			fputs(")", out);
		}
		fputs(".\n", out);
	}
}

void optable_print_markdown(FILE *out)
{
	fputs("| option | commands | meaning |\n|---|---|---|\n", out);
	for (size_t i = 0; i < optable_len; i++) {
		const struct optdesc *d = &optable[i];
		if (d->id == OPT_HELP)
			continue;
		char syn[64], cmds[64];
		synopsis(d, syn, sizeof(syn));
		cmds_of(d, cmds, sizeof(cmds));
		fputs("| `", out);
		for (const char *p = syn; *p; p++)
			fputs(*p == '|' ? "\\|" : (char[]){ *p, 0 }, out);
		fprintf(out, "` | %s | ", cmds[0] ? cmds : "all");
		for (const char *p = d->help; *p; p++)
			fputs(*p == '|' ? "\\|" : (char[]){ *p, 0 }, out);
		if (d->def)
			fprintf(out, " (default `%s`)", d->def);
		fputs(" |\n", out);
	}
}
