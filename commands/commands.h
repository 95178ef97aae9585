#ifndef CHANG_COMMANDS_H
#define CHANG_COMMANDS_H
#include <stdio.h>
int cmd_attach(int argc, char **argv);
int cmd_core(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_watch(int argc, char **argv);
void usage_command(const char *cmd, FILE *out);
#endif
