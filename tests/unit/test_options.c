/* The option table (commands/optable.c) is the one source of the parser, the help, the man
 * page and the README: each default the help states must be what the parser really sets,
 * every entry must parse for the commands that take it and be refused by the others. */
#include "unit.h"
#include "commands/optable.h"
#include "commands/options.h"
#include <stdlib.h>

static const char *const cmds[] = { "attach", "core", "run", "watch" };

static void defaults_are_the_code_s(void)
{
	for (size_t c = 0; c < 4; c++) {
		unsigned bit = optable_cmd_bit(cmds[c]);
		struct cmd_options o;
		char *argv[] = { (char *)cmds[c], NULL };
		struct err e = { 0 };
		int pos;
		CHECK(options_parse(cmds[c], 1, argv, &o, &pos, &e) == 0);
		for (size_t i = 0; i < optable_len; i++) {
			const struct optdesc *d = &optable[i];
			if (!(d->cmds & bit) || !d->def)
				continue;
			char got[64];
			CHECKF(options_value_text(&o, d->id == OPT_RUN_TIMEOUT ? OPT_TIMEOUT : (int)d->id, got, sizeof(got)),
			       "--%s states a default the code cannot show", d->name);
			CHECKF(strcmp(got, d->def) == 0, "chang %s --%s: help says %s, the code sets %s", cmds[c], d->name,
			       d->def, got);
		}
	}
}

/* A value each option accepts, for the parse test. */
static const char *sample(const struct optdesc *d)
{
	switch (d->id) {
	case OPT_FORMAT: return "json";
	case OPT_UNWINDER: return "libunwind";
	case OPT_CORE_SIZE: return "full";
	case OPT_SIGNAL: return "INT";
	case OPT_KILL_AFTER: case OPT_INTERVAL: case OPT_AFTER: case OPT_RUN_TIMEOUT: return "2s";
	default: return "7";
	}
}

static void every_entry_parses_where_it_belongs(void)
{
	for (size_t i = 0; i < optable_len; i++) {
		const struct optdesc *d = &optable[i];
		if (d->id == OPT_HELP)
			continue;
		for (size_t c = 0; c < 4; c++) {
			unsigned bit = optable_cmd_bit(cmds[c]);
			char opt[96];
			if (d->arg)
				snprintf(opt, sizeof(opt), "--%s=%s", d->name, sample(d));
			else
				snprintf(opt, sizeof(opt), "--%s", d->name);
			char *argv[] = { (char *)cmds[c], opt, NULL, NULL, NULL };
			int argc = 2;
			if (d->id == OPT_CORE_SIZE) {	/* only with --save-core */
				argv[argc++] = (char *)"--save-core=x";
			}
			struct cmd_options o;
			struct err e = { 0 };
			int pos;
			int r = options_parse(cmds[c], argc, argv, &o, &pos, &e);
			bool same_name_elsewhere = false;	/* --timeout: attach's and run's */
			for (size_t j = 0; j < optable_len; j++)
				same_name_elsewhere |= j != i && strcmp(optable[j].name, d->name) == 0 && (optable[j].cmds & bit);
			if (d->cmds & bit)
				CHECKF(r == 0, "chang %s %s: %s", cmds[c], opt, e.msg);
			else if (!same_name_elsewhere)
				CHECKF(r != 0 && e.code == ERR_USAGE && strstr(e.msg, "only for"),
				       "chang %s %s should be refused: %d %s", cmds[c], opt, r, e.msg);
		}
	}
}

static void help_lists_every_option(void)
{
	for (size_t c = 0; c < 4; c++) {
		unsigned bit = optable_cmd_bit(cmds[c]);
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		optable_print_help(f, bit, false);
		optable_print_help(f, bit, true);
		fclose(f);
		for (size_t i = 0; i < optable_len; i++) {
			const struct optdesc *d = &optable[i];
			char want[64];
			snprintf(want, sizeof(want), "--%s%s%s", d->name, d->arg ? "=" : "", d->arg ? d->arg : "");
			bool listed = strstr(buf, want) != NULL;
			CHECKF(listed == !!(d->cmds & bit), "chang help %s: %s %s", cmds[c], want,
			       listed ? "listed but not taken" : "missing");
		}
		free(buf);
	}
}

static void unit_tests(void)
{
	defaults_are_the_code_s();
	every_entry_parses_where_it_belongs();
	help_lists_every_option();
}
