/* A tiny assertion header for unit tests. A test file includes it and defines
 * `static void unit_tests(void)`; main() runs them and prints exactly one line on stdout,
 * `unit NAME: N passed, N failed[, N skipped]` (NAME from the file name test_NAME.c), exiting
 * non-zero on any failure. CHECK never aborts, so one run shows every failure (on stderr). */
#ifndef CHANG_UNIT_H
#define CHANG_UNIT_H
#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed, unit_skipped;
static int unit_argc;
static char **unit_argv;

#define CHECK(cond) CHECKF(cond, "%s", #cond)

/* CHECK with a message that can show the values involved. */
#define CHECKF(cond, ...) do { \
	if (cond) { \
		unit_passed++; \
	} else { \
		unit_failed++; \
		fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} } while (0)

/* A part of the test that could not run here (no tool, no fixture): counted in the summary
 * line as skipped, with the reason on stderr. */
#define UNIT_SKIP(...) do { \
	unit_skipped++; \
	fprintf(stderr, "skipped: "); \
	fprintf(stderr, __VA_ARGS__); \
	fputc('\n', stderr); \
	} while (0)

/* A note about the run, kept off stdout. */
#define UNIT_NOTE(...) do { \
	fprintf(stderr, "note: "); \
	fprintf(stderr, __VA_ARGS__); \
	fputc('\n', stderr); \
	} while (0)

static void unit_tests(void);

int main(int argc, char **argv)
{
	unit_argc = argc;
	unit_argv = argv;
	unit_tests();
	const char *f = __BASE_FILE__, *s = strrchr(f, '/');
	f = s ? s + 1 : f;
	if (strncmp(f, "test_", 5) == 0)
		f += 5;
	int len = (int)strcspn(f, ".");
	fflush(stderr);
	if (unit_skipped)
		printf("unit %.*s: %d passed, %d failed, %d skipped\n", len, f, unit_passed, unit_failed, unit_skipped);
	else
		printf("unit %.*s: %d passed, %d failed\n", len, f, unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}
#endif
