#include "util/progress.h"
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char *label;
static size_t total;
static double started;
static bool shown, tty;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_begin(const char *what, size_t n)
{
	label = what;
	total = n;
	shown = false;
	tty = isatty(STDERR_FILENO);
	started = tty ? now() : 0;
}

void progress_step(size_t done)
{
	if (!tty || (done & 255) != 0)
		return;
	if (!shown && now() - started < 1.0)
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
