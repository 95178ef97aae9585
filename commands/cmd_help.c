#include <stdbool.h>
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
			"                         snapshot is not atomic; running threads have no stack)\n"
			"  --save-core=FILE       also write an ELF core of the same freeze to FILE (gdb and\n"
			"                         chang core open it; .gz or .zst: compressed); the report\n"
			"                         says where it went and what it added to the pause\n"
			"  --core-size=SIZE       mini (default): the stacks, lock words and what gdb needs\n"
			"                         to list threads and libraries, for a pause close to a\n"
			"                         plain attach; full: every dumpable mapping, like gcore\n\n%s",
			common_opts);
	} else if (strcmp(cmd, "core") == 0) {
		fprintf(out,
			"usage: chang core [EXECUTABLE] CORE [options]\n"
			"       chang core --coredump PID|NAME [EXECUTABLE] [options]\n\n"
			"Analyse an ELF core (from gcore, the kernel or chang attach --save-core) the same\n"
			"way as a live process. Without EXECUTABLE it is found from the core. A core\n"
			"compressed with gzip, zstd, xz or lz4 is recognised by its content and decoded\n"
			"into a sparse temporary file in $TMPDIR (default /var/tmp), removed when chang\n"
			"ends. Bytes the core did not dump come from the mapped files (under --sysroot).\n\n"
			"  --coredump=PID|NAME    the newest core systemd-coredump kept for that process\n"
			"                         or program (asks coredumpctl; says which file it used)\n\n%s",
			common_opts);
	} else if (strcmp(cmd, "run") == 0) {
		fprintf(out,
			"usage: chang run [--timeout=DURATION] [--signal=SIG] [options] -- COMMAND [ARGS...]\n\n"
			"Run COMMAND. If it is still running at the timeout, or chang gets SIGQUIT, capture\n"
			"every process of its tree, print the report (hangs first) on stderr, then end the\n"
			"tree with SIG (default TERM) and SIGKILL after --kill-after. Otherwise transparent:\n"
			"same stdin/stdout/stderr, signals sent to chang are forwarded, same exit status.\n\n"
			"  --timeout=DURATION     e.g. 30s, 500ms, 5m (a bare number is seconds)\n"
			"  --signal=SIG           signal that ends the tree after the report (TERM)\n"
			"  --kill-after=DURATION  then SIGKILL what is left (5s)\n"
			"  --save=DIR             also write chang-PID.json and a pprof file per process\n\n"
			"Exit status: the command's, or 124 when chang captured a hang (as timeout(1)),\n"
			"125 when chang failed, 126/127 when COMMAND cannot be run or is not found.\n\n%s",
			common_opts);
	} else if (strcmp(cmd, "watch") == 0) {
		fprintf(out,
			"usage: chang watch --pid N [--interval=DURATION] [--after=DURATION] [--once] [options]\n\n"
			"Sample process N cheaply, without stopping it (/proc: syscalls, CPU time, wake-ups).\n"
			"A hang is declared when its threads stay blocked on the same objects with no\n"
			"progress for --after, or at once when a deadlock is seen in the lock words; then\n"
			"chang takes a full report (stdout or -o) and keeps watching, or exits with --once.\n"
			"Each decision is explained in one line on stderr.\n\n"
			"  --interval=DURATION    time between samples (1s)\n"
			"  --after=DURATION       no progress for this long is a hang (30s)\n"
			"  --once                 exit after the first hang (status 3)\n"
			"  --save=DIR             also write chang-PID.json and a pprof file\n\n%s",
			common_opts);
	} else {
		fprintf(out,
			"usage: chang <command> [options]\n\n"
			"Diagnose a hung process: who is stuck, on what, held by whom, and why.\n\n"
			"Commands:\n"
			"  attach --pid N         inspect a live process (paused for milliseconds)\n"
			"  core [EXE] CORE        inspect an ELF core file\n"
			"  run -- COMMAND         run a command; report and end it if it hangs\n"
			"  watch --pid N          watch a process; report when it hangs\n"
			"  help [COMMAND]         show help for a command\n\n"
			"  --version              print the version\n\n"
			"Exit status: 0 success, 1 failure, 2 usage error, 3 hang found (--exit-code),\n"
			"4 a Go program's goroutines could not be read (threads only; why on stderr).\n"
			"See chang(1) and README.md.\n");
	}
}

int cmd_help(int argc, char **argv)
{
	static const char *const known[] = { "attach", "core", "run", "watch", "help" };
	bool ok = argc <= 1;
	for (size_t i = 0; !ok && i < sizeof(known) / sizeof(*known); i++)
		ok = strcmp(argv[1], known[i]) == 0;
	if (!ok) {
		fprintf(stderr, "chang: help: no command named %s\n", argv[1]);
		return 2;
	}
	usage_command(argc > 1 ? argv[1] : "", stdout);
	return 0;
}
