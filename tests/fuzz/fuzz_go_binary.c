/* A Go executable as go_prepare and go_capture read it: libelf on the file (sections, .symtab, the PIE
 * bias), .go.buildinfo, the pclntab, moduledata, the runtime's type descriptors and the
 * globals behind allgs, then the goroutine analyzers and the Go report formats. The input
 * is the executable, and the target's memory is the executable's PT_LOAD segments as the
 * loader would map them (a PIE at a fixed base): the process image before main ran, with
 * the read-only data real and every variable at its initial value. */
#include "analyzers/analyze.h"
#include "fuzz.h"
#include "go/go.h"
#include "report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = fuzz_memfd("go", data, size);
	if (fd < 0)
		abort();
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	s->executable = "/fuzz/go";
	s->pid = 1;
	struct target t;
	memset(&t, 0, sizeof(t));
	t.snap = s;
	s->target = &t;
	if (fuzz_map_elf(data, size, fd, s->executable, &t, s) > 0 && go_is_go_binary(fd)) {
		struct err e = { 0 };
		/* the file as go_prepare reads it before a freeze, then the rest from the image */
		struct go_prep *gp = go_prepare(s, fd);
		int rc = go_capture(&t, s, fd, gp, &e);
		go_prep_free(gp);
		if (rc == 0) {
			for (size_t i = 0; i < s->ngoroutines; i++)
				FUZZ_CHECK(s->goroutines[i].npcs >= 0);
			snapshot_group(s);
			struct analyze_options ao = { 0 };
			analyze_snapshot(s, &ao);
			struct err we = { 0 };
			report_write(fuzz_sink(true), FMT_GOROUTINE, s, &we);
			report_write(fuzz_sink(false), FMT_JSON, s, &we);
		} else {
			FUZZ_CHECK(e.msg[0] && !strchr(e.msg, '\n'));
			fuzz_note("go_capture", e.msg);
		}
	}
	memimage_free(&t.mem);
	snapshot_free(s);
	close(fd);
	return 0;
}
