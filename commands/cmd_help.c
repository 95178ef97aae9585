#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "commands/commands.h"
#include "commands/optable.h"

/* The option lines come from commands/optable.c, the one table the parser reads too. */
static void options_of(const char *cmd, FILE *out)
{
	unsigned bit = optable_cmd_bit(cmd);
	optable_print_help(out, bit, false);
	fputs("\nReport options:\n", out);
	optable_print_help(out, bit, true);
}

void usage_command(const char *cmd, FILE *out)
{
	if (strcmp(cmd, "attach") == 0) {
		fprintf(out,
			"usage: chang attach --pid N [options]\n\n"
			"Freeze every thread of process N with PTRACE_SEIZE/INTERRUPT (no signal is sent),\n"
			"copy registers, stacks and lock words, detach at once, then analyse the copy.\n"
			"The target is left as it was: pending signals are delivered, a job-control stop\n"
			"is kept, nothing stays traced.\n\n");
		options_of(cmd, out);
	} else if (strcmp(cmd, "core") == 0) {
		fprintf(out,
			"usage: chang core [EXECUTABLE] CORE [options]\n"
			"       chang core --coredump PID|NAME [EXECUTABLE] [options]\n\n"
			"Analyse an ELF core (from gcore, the kernel or chang attach --save-core) the same\n"
			"way as a live process. Without EXECUTABLE it is found from the core. A core\n"
			"compressed with gzip, zstd, xz or lz4 is recognised by its content and decoded\n"
			"into a sparse temporary file in $TMPDIR (default /var/tmp), removed when chang\n"
			"ends. Bytes the core did not dump come from the mapped files (under --sysroot).\n\n");
		options_of(cmd, out);
	} else if (strcmp(cmd, "run") == 0) {
		fprintf(out,
			"usage: chang run [--timeout=DURATION] [--signal=SIG] [options] -- COMMAND [ARGS...]\n\n"
			"Run COMMAND. If it is still running at the timeout, or chang gets SIGQUIT, capture\n"
			"every process of its tree, print the report (hangs first) on stderr, then end the\n"
			"tree with SIG (default TERM) and SIGKILL after --kill-after. Otherwise transparent:\n"
			"same stdin/stdout/stderr, signals sent to chang are forwarded, same exit status.\n\n"
			"Exit status: the command's, or 124 when chang captured a hang (as timeout(1)),\n"
			"125 when chang failed, 126/127 when COMMAND cannot be run or is not found.\n\n");
		options_of(cmd, out);
	} else if (strcmp(cmd, "watch") == 0) {
		fprintf(out,
			"usage: chang watch --pid N [--interval=DURATION] [--after=DURATION] [--once] [options]\n\n"
			"Sample process N cheaply, without stopping it (/proc: syscalls, CPU time, wake-ups).\n"
			"A hang is declared when its threads stay blocked on the same objects with no\n"
			"progress for --after, or at once when a deadlock is seen in the lock words; then\n"
			"chang takes a full report (stdout or -o) and keeps watching, or exits with --once.\n"
			"Each decision is explained in one line on stderr.\n\n");
		options_of(cmd, out);
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
	/* For the maintainers: the documents' option sections are made from the table
	 * (make docs), and the tests compare them with what is committed. */
	if (argc == 2 && strcmp(argv[1], "--options=man") == 0) {
		optable_print_man(stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--options=markdown") == 0) {
		optable_print_markdown(stdout);
		return 0;
	}
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
