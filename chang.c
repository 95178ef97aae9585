/* chang: diagnose hung processes from the outside. Each command is a small function
 * over the shared library (capture -> target -> unwind -> symbols -> analyzers -> report). */
#include <stdio.h>
#include <string.h>
#include "commands/commands.h"
#include "symbols/debuginfod.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "attach", cmd_attach },
	{ "core", cmd_core },
	{ "run", cmd_run },
	{ "watch", cmd_watch },
	{ "help", cmd_help },
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage_command("", stderr);
		return 2;
	}
	/* before libdwfl can see DEBUGINFOD_URLS (symbols/debuginfod.h says why) */
	debuginfod_init();
	const char *cmd = argv[1];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("chang %s\n%s\n", CHANG_VERSION, debuginfod_support());
		return 0;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage_command("", stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (strcmp(commands[i].name, cmd) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "chang: '%s' is not a command; see chang --help\n", cmd);
	return 2;
}
