/* The core reader alone, fast: core_target_open on the input as a core file (the ELF and
 * program headers, the PT_LOAD index with its overlap trimming, the notes read in windows,
 * tasks, the mappings swept from NT_FILE and the segments, modules and build-ids), then
 * reads through the target at every mapping's edges. fuzz_core runs the same inputs
 * through the whole analysis, at a hundredth of the speed. */
#include "core/core_target.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_core_file(data, size, path, sizeof(path));
	if (fd < 0)
		return 0;
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	struct err e = { 0 };
	struct target *t = core_target_open(NULL, path, NULL, s, &e);
	if (!t) {
		FUZZ_CHECK(e.code != 0 && e.msg[0] && !strchr(e.msg, '\n'));
		fuzz_note("core_target_open", e.msg);
	} else {
		FUZZ_CHECK(s->target == t);
		fuzz_check_core_snapshot(s);
		unsigned char buf[64];
		for (size_t i = 0; i < s->nmaps; i++) {
			const struct mapping *m = &s->maps[i];
			FUZZ_CHECK(snapshot_mapping_at(s, m->start) == m && snapshot_mapping_at(s, m->end - 1) == m);
			FUZZ_CHECK(target_read(t, m->start, buf, sizeof(buf)) <= sizeof(buf));
			target_read(t, m->end - 8, buf, sizeof(buf));
			target_read_for_unwind(t, m->start, buf, sizeof(buf));
		}
		for (size_t i = 0; i < s->nmodules; i++)
			FUZZ_CHECK(s->modules[i].start <= s->modules[i].end);
		for (size_t i = 0; i < s->nwarnings; i++)
			fuzz_note("warning", s->warnings[i]);
		target_close(t);
	}
	snapshot_free(s);
	close(fd);
	return 0;
}
