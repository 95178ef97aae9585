/* Compressed cores: format detection and the streaming decoders (gzip, zstd, xz, lz4) into
 * a sparse temporary file, on the input as the compressed file. The output bound is small
 * here (4 MiB) so that bombs are cheap to refuse and the temporary files, in a private
 * directory on tmpfs, stay small; the decoders' own limits are the production ones. */
#include "core/decompress.h"
#include "fuzz.h"
#include <sys/stat.h>

#define MAX_OUT (4ull << 20)

static char dir[256];

static void rm_dir(void)
{
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(dir, sizeof(dir), "%s/chang-fuzz-XXXXXX", base);
		if (!mkdtemp(dir))
			abort();
		atexit(rm_dir);
	}
	enum compress_kind k = decompress_detect(data, size);
	FUZZ_CHECK(decompress_kind_name(k, data, size) != NULL);
	int in = fuzz_memfd("compressed", data, size);
	if (in < 0)
		abort();
	struct decompress_result r;
	struct err e = { 0 };
	int out = decompress_to_temp(in, "fuzz", dir, MAX_OUT, &r, &e);
	if (out < 0) {
		FUZZ_CHECK(e.msg[0] && !strchr(e.msg, '\n'));
	} else {
		FUZZ_CHECK(k != COMPRESS_NONE && k != COMPRESS_UNSUPPORTED && r.kind == k);
		FUZZ_CHECK(r.out_size <= MAX_OUT);
		FUZZ_CHECK(r.disk_bytes <= r.out_size);
		FUZZ_CHECK(memchr(r.problem, 0, sizeof(r.problem)) != NULL);
		struct stat st;
		FUZZ_CHECK(fstat(out, &st) == 0 && (uint64_t)st.st_size == r.out_size);
		close(out);
	}
	close(in);
	return 0;
}
