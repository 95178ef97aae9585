/* Build-ids, the identity chang checks mapped files against: the note scanner on the input
 * as a buffer of ELF notes, the reader of a mapped ELF's first bytes in a target's memory
 * (a core's dumped header page) on the input placed at a load address, and libelf's reader
 * (buildid_from_fd) on the input as a file. */
#include "fuzz.h"
#include "image/buildid.h"
#include "image/target.h"
#include "util/xalloc.h"

#define LOAD 0x555555554000ull

static void check_id(const unsigned char *id, int len, int cap)
{
	FUZZ_CHECK(len >= 0 && len <= cap);
	char *hex = malloc(2 * (size_t)cap + 1);
	if (!hex)
		abort();
	buildid_hex(id, len, hex);
	FUZZ_CHECK(strlen(hex) == 2 * (size_t)len);
	free(hex);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size copies: a read past the input is a heap overflow ASan reports */
	unsigned char *buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	int caps[2] = { 40, size ? 1 + data[0] % 20 : 1 };
	for (int k = 0; k < 2; k++) {
		unsigned char *out = malloc((size_t)caps[k]);
		if (!out)
			abort();
		int len = buildid_from_notes(buf, size, out, caps[k]);
		check_id(out, len, caps[k]);
		free(out);
	}

	struct snapshot *s = snapshot_new(SOURCE_CORE);
	struct target t;
	memset(&t, 0, sizeof(t));
	t.snap = s;
	if (size) {
		unsigned char *img = xmalloc(size);
		memcpy(img, data, size);
		memimage_add_buf(&t.mem, LOAD, img, size);
	}
	unsigned char id[40];
	check_id(id, buildid_from_memory(&t, LOAD, id, sizeof(id)), sizeof(id));
	memimage_free(&t.mem);
	snapshot_free(s);

	int fd = fuzz_memfd("elf", data, size);
	if (fd < 0)
		abort();
	check_id(id, buildid_from_fd(fd, id, sizeof(id)), sizeof(id));
	close(fd);
	free(buf);
	return 0;
}
