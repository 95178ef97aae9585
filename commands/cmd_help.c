#include <stdio.h>
#include <string.h>
#include "commands/commands.h"

static const char common_opts[] =
	"Report options:\n"
	"  --format=FORMAT        text (default), threads, json, goroutine, pprof, dot\n"
	"  -o, --output=FILE      write there (atomically) instead of stdout; a directory\n"
	"                         gets a default name (pprof: chang-PID-TIME.pb.gz)\n"
	"  --debuginfo-path=PATH  where separate debug files are looked for (elfutils syntax:\n"
	"                         colon-separated; .build-id/xx/yyyy.debug and debuglink)\n"
	"  --sysroot=DIR          look up the target's executable and libraries under DIR\n"
	"  --max-frames=N         deepest stack walked per thread (default 256)\n"
	"  --unwinder=NAME        libunwind (default) or libdw\n"
	"  --mass-threshold=N     threads on one object that make a mass-blocking finding\n"
	"  --exit-code            exit 3 when a deadlock, self-deadlock or abandoned lock is found\n"
	"  --stats                print the time of each phase and counts to stderr\n";

void usage_command(const char *cmd, FILE *out)
{
	if (strcmp(cmd, "attach") == 0) {
		fprintf(out,
			"usage: chang attach --pid N [options]\n\n"
			"Freeze every thread of process N with PTRACE_SEIZE/INTERRUPT (no signal is sent),\n"
			"copy registers, stacks and lock words, detach at once, then analyse the copy.\n"
			"The target is left as it was: pending signals are delivered, a job-control stop\n"
			"is kept, nothing stays traced.\n\n"
			"  -p, --pid=N            the process to inspect\n"
			"  --timeout=MS           give up on threads that do not stop within MS (5000)\n"
			"  --no-stop              no ptrace at all: read blocked threads from /proc while\n"
			"                         the process runs (works beside another debugger; the\n"
			"                         snapshot is not atomic; running threads have no stack)\n\n%s",
			common_opts);
	} else if (strcmp(cmd, "core") == 0) {
		fprintf(out,
			"usage: chang core [EXECUTABLE] CORE [options]\n\n"
			"Analyse an ELF core (from gcore or the kernel) the same way as a live process.\n"
			"Bytes the core did not dump come from the mapped files (under --sysroot).\n\n%s",
			common_opts);
	} else {
		fprintf(out,
			"usage: chang <command> [options]\n\n"
			"Diagnose a hung process: who is stuck, on what, held by whom, and why.\n\n"
			"Commands:\n"
			"  attach --pid N         inspect a live process (paused for milliseconds)\n"
			"  core [EXE] CORE        inspect an ELF core file\n"
			"  help [COMMAND]         show help for a command\n\n"
			"  --version              print the version\n\n"
			"Exit status: 0 success, 1 failure, 2 usage error, 3 hang found (--exit-code).\n"
			"See chang(1) and README.md.\n");
	}
}

int cmd_help(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "attach") != 0 && strcmp(argv[1], "core") != 0 &&
	    strcmp(argv[1], "help") != 0) {
		fprintf(stderr, "chang: help: no command named %s\n", argv[1]);
		return 2;
	}
	usage_command(argc > 1 ? argv[1] : "", stdout);
	return 0;
}
