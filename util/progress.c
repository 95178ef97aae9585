#include "util/progress.h"
#include "util/clock.h"
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char *label;
static size_t total;
static double started;
static bool shown, tty;

void progress_begin(const char *what, size_t n)
{
	label = what;
	total = n;
	shown = false;
	tty = isatty(STDERR_FILENO);
	started = tty ? mono_s() : 0;
}

void progress_step(size_t done)
{
	if (!tty || (done & 255) != 0)
		return;
	if (!shown && mono_s() - started < 1.0)
		return;
	shown = true;
	fprintf(stderr, "\rchang: %s %zu/%zu ", label, done, total);
	fflush(stderr);
}

void progress_end(void)
{
	if (shown)
		fputs("\r\033[K", stderr);
	shown = false;
	tty = false;
}
