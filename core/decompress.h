/* Compressed cores, as people really have them: systemd-coredump stores zstd, bug reports
 * attach .gz, .xz or .lz4. A core is recognised by its magic, never by its name, and is
 * decoded as a stream into a sparse temporary file (all-zero blocks become holes), so that
 * the core reader can index it like any other core without the whole core ever being held in
 * memory. The temporary file is unlinked as soon as it exists: nothing is left behind when
 * chang ends, however it ends (error, SIGINT, SIGKILL).
 * Compressed data is untrusted: the decoders' memory and the output size are bounded. */
#ifndef CHANG_DECOMPRESS_H
#define CHANG_DECOMPRESS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

enum compress_kind {
	COMPRESS_NONE, COMPRESS_GZIP, COMPRESS_ZSTD, COMPRESS_XZ, COMPRESS_LZ4,
	COMPRESS_UNSUPPORTED,	/* recognised, but chang has no decoder (bzip2, legacy lz4) */
};

/* Largest output decoded by default: a stream claiming more is refused rather than
 * filling a disk with a compression bomb. */
#define DECOMPRESS_MAX_OUT (256ULL << 30)

/* What the first bytes of a file say it is. */
enum compress_kind decompress_detect(const unsigned char *buf, size_t len);
/* "gzip", "zstd", "xz", "lz4"; for COMPRESS_UNSUPPORTED the format the magic names. */
const char *decompress_kind_name(enum compress_kind k, const unsigned char *buf, size_t len);
/* Where temporary files go: $TMPDIR when set and not empty, else /var/tmp (cores can be
 * larger than a tmpfs /tmp). */
const char *decompress_tmpdir(void);

struct decompress_result {
	enum compress_kind kind;
	uint64_t out_size;	/* bytes decoded (the temporary file's size) */
	uint64_t disk_bytes;	/* bytes actually written: out_size less the holes */
	/* A stream that ends early or turns corrupt is not an error: what decoded before is
	 * kept (a core reader can use a cut core) and problem says what went wrong. */
	bool truncated, corrupt;
	char problem[200];
};

/* Decode the file open on in_fd (read from offset 0; name is for messages) into a new
 * unlinked temporary file in dir (NULL: decompress_tmpdir()). max_out bounds the output
 * (0: DECOMPRESS_MAX_OUT). Returns the temporary file's fd (the caller closes it) or -1 with
 * e set to one line: not compressed, an unsupported format, nothing decodable, the output
 * bound, or "decompressing NAME needs N MiB in DIR: no space left". */
int decompress_to_temp(int in_fd, const char *name, const char *dir, uint64_t max_out,
		       struct decompress_result *r, struct err *e);
#endif
