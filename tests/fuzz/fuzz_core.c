/* A whole core file, analysed as `chang core CORE` does (commands/cmd_core.c): the core
 * reader, the mapped files it names (ELF, build-ids, DWARF through libdw), Go's runtime
 * structures when the executable is a Go program, the unwinder, the symbolizer, the
 * analyzers, and every report format. The input is a memfd named by /proc/self/fd/N.
 * Compressed inputs are left to fuzz_decompress: here they would decode up to the
 * default 256 GiB bound into a temporary file on disk. */
#include "commands/options.h"
#include "commands/pipeline.h"
#include "core/core_target.h"
#include "fuzz.h"
#include "report/report.h"

/* tests/programs/abba.c as the e2e tests build it; the fuzzers run in the checkout */
#define ABBA "tests/out/bin/abba"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_core_file(data, size, path, sizeof(path));
	if (fd < 0)
		return 0;

	struct cmd_options o;
	memset(&o, 0, sizeof(o));
	/* the input's length picks the unwinder, so that one input always takes one path */
	o.unwinder = size & 1 ? UNWINDER_LIBDW : UNWINDER_LIBUNWIND;
	o.target.max_frames = UNWIND_MAX_FRAMES_DEFAULT;

	/* a third of the inputs come with EXECUTABLE, as `chang core EXE CORE`: the seeds are
	 * cores of abba, so its build-id check and the file standing in for the core's path run */
	const char *exe = size % 3 == 0 && access(ABBA, R_OK) == 0 ? ABBA : NULL;
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	struct err e = { 0 };
	struct target *t = core_target_open(exe, path, &o.target, s, &e);
	if (!t) {
		FUZZ_CHECK(e.code != 0 && e.msg[0] && !strchr(e.msg, '\n'));
		fuzz_note("core_target_open", e.msg);
		snapshot_free(s);
		close(fd);
		return 0;
	}
	fuzz_check_core_snapshot(s);
	/* a Go program's goroutines were read by core_target_open, or go_error says why not */
	if (s->go_error) {
		FUZZ_CHECK(s->go_error[0] && !strchr(s->go_error, '\n'));
		fuzz_note("go_capture", s->go_error);
	}
	for (size_t i = 0; i < s->nwarnings; i++)
		fuzz_note("warning", s->warnings[i]);
	if (pipeline_prepare(s, &o, &e) == 0) {
		for (int f = FMT_TEXT; f <= FMT_DOT; f++) {
			struct err we = { 0 };
			report_write(fuzz_sink(f == FMT_TEXT), (enum report_format)f, s, &we);
		}
	}
	target_close(t);
	snapshot_free(s);
	close(fd);
	return 0;
}
