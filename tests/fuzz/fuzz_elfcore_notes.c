/* The core reader's pure parsers: elfcore_check_header on the input's first bytes, and
 * elfcore_parse_notes on the input as a PT_NOTE segment, once whole and once fed in
 * windows the way read_notes reads a file. Both must stay inside the buffer (ASan checks
 * that, the buffers being exact-size heap copies) and must agree on what they found. */
#include "core/elfcore.h"
#include "fuzz.h"
#include <elf.h>

static void check_notes(const struct elfcore_notes *n, size_t len)
{
	FUZZ_CHECK(n->nthreads <= n->capthreads || n->threads == NULL);
	FUZZ_CHECK(n->nthreads <= len / 12);
	FUZZ_CHECK(memchr(n->fname, 0, sizeof(n->fname)) != NULL);
	FUZZ_CHECK(memchr(n->psargs, 0, sizeof(n->psargs)) != NULL);
	for (size_t i = 0; i < n->nauxv; i++)
		FUZZ_CHECK(n->auxv[i][0] != AT_NULL);
	for (size_t i = 0; i < n->nfiles; i++) {
		FUZZ_CHECK(n->files[i].start < n->files[i].end);
		if (n->files[i].path)
			FUZZ_CHECK(strlen(n->files[i].path) < len);
	}
	uint64_t v;
	elfcore_auxv(n, AT_ENTRY, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	struct err e = { 0 };
	if (elfcore_check_header(buf, size, "fuzz", &e) != 0)
		FUZZ_CHECK(e.msg[0] && strncmp(e.msg, "fuzz: ", 6) == 0);

	struct arena a = { 0 };
	struct elfcore_notes whole;
	memset(&whole, 0, sizeof(whole));
	size_t used = elfcore_parse_notes(buf, size, &whole, &a, NULL);
	FUZZ_CHECK(used <= size);
	check_notes(&whole, size);

	/* As read_notes does: windows from a size the input picks, grown to a note's whole
	 * size when one does not fit, the last window parsed without `need`. */
	struct elfcore_notes win;
	memset(&win, 0, sizeof(win));
	size_t w = size ? 12 + buf[size - 1] * 4u : 12, pos = 0;
	while (pos < size) {
		size_t want = size - pos < w ? size - pos : w;
		bool final = want == size - pos;
		uint64_t need = 0;
		size_t u = elfcore_parse_notes(buf + pos, want, &win, &a, final ? NULL : &need);
		FUZZ_CHECK(u <= want);
		pos += u;
		if (final)
			break;
		if (u == 0) {
			/* the note that did not fit must be larger than the window */
			FUZZ_CHECK(need > want);
			w = (size_t)need;
		} else {
			FUZZ_CHECK(need == 0 || need > want - u);
		}
	}
	FUZZ_CHECK(pos == used);
	check_notes(&win, size);
	FUZZ_CHECK(win.nthreads == whole.nthreads && win.nfiles == whole.nfiles && win.nauxv == whole.nauxv);
	FUZZ_CHECK(win.have_psinfo == whole.have_psinfo && win.pid == whole.pid && win.cut == whole.cut);
	for (size_t i = 0; i < whole.nthreads; i++)
		FUZZ_CHECK(memcmp(&win.threads[i], &whole.threads[i], sizeof(whole.threads[i])) == 0);

	elfcore_notes_free(&whole);
	elfcore_notes_free(&win);
	arena_free(&a);
	free(buf);
	return 0;
}
