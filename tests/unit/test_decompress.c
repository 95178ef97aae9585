/* The decompressor against streams made here with each library's own encoder: byte-exact
 * round trips into sparse files, several gzip members and zstd frames, every kind cut short
 * and corrupted at many points (no crash, a flag, output only a prefix), the output bound,
 * unsupported formats, and the temporary file never visible in its directory. */
#include "core/decompress.h"
#include "tests/unit/unit.h"
#include "util/xalloc.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

static char dir[256];

/* Data shaped like a core: headers, long zero runs (holes), text-like and random bytes,
 * and a length that is no multiple of any block size. */
static unsigned char *make_data(size_t n)
{
	unsigned char *d = xcalloc(n, 1);
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		size_t blk = i / 65536;
		if (blk % 3 == 1)
			continue;	/* zeros */
		x = x * 1103515245 + 12345;
		d[i] = blk % 3 == 0 ? (unsigned char)(x >> 16) : (unsigned char)("stack frame "[i % 12]);
	}
	return d;
}

static unsigned char *gzip_buf(const unsigned char *d, size_t n, size_t *out)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	size_t cap = deflateBound(&z, n) + 64;
	unsigned char *o = xmalloc(cap);
	z.next_in = (unsigned char *)d;
	z.avail_in = (uInt)n;
	z.next_out = o;
	z.avail_out = (uInt)cap;
	deflate(&z, Z_FINISH);
	*out = cap - z.avail_out;
	deflateEnd(&z);
	return o;
}

static unsigned char *zstd_buf(const unsigned char *d, size_t n, size_t *out)
{
	size_t cap = ZSTD_compressBound(n);
	unsigned char *o = xmalloc(cap);
	*out = ZSTD_compress(o, cap, d, n, 3);
	return o;
}

static unsigned char *xz_buf(const unsigned char *d, size_t n, size_t *out)
{
	size_t cap = lzma_stream_buffer_bound(n);
	unsigned char *o = xmalloc(cap);
	*out = 0;
	lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, NULL, d, n, o, out, cap);
	return o;
}

static unsigned char *lz4_buf(const unsigned char *d, size_t n, size_t *out)
{
	LZ4F_preferences_t p;
	memset(&p, 0, sizeof(p));
	p.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	p.frameInfo.contentSize = n;
	size_t cap = LZ4F_compressFrameBound(n, &p);
	unsigned char *o = xmalloc(cap);
	*out = LZ4F_compressFrame(o, cap, d, n, &p);
	return o;
}

static int write_file(const char *name, const unsigned char *d, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, d, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	unlink(path);	/* the fd is all the tests need */
	return fd;
}

static unsigned char *read_all(int fd, size_t n)
{
	unsigned char *b = xmalloc(n ? n : 1);
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, b + got, n - got, (off_t)got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return b;
}

static size_t dir_entries(void)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

typedef unsigned char *(*encoder)(const unsigned char *, size_t, size_t *);

/* n: an odd size, and an exact multiple of the decoder's output buffer (the stream then ends
 * just as the buffer fills). */
static void round_trip(const char *kind, encoder enc, enum compress_kind want, size_t n)
{
	size_t cn;
	unsigned char *d = make_data(n);
	unsigned char *c = enc(d, n, &cn);
	CHECKF(decompress_detect(c, cn) == want, "%s: detected as %d", kind, decompress_detect(c, cn));
	int in = write_file("in", c, cn);
	struct decompress_result r;
	struct err e = { 0 };
	int fd = decompress_to_temp(in, kind, dir, 0, &r, &e);
	CHECKF(fd >= 0, "%s: %s", kind, e.msg);
	if (fd >= 0) {
		CHECKF(dir_entries() == 0, "%s: the temporary file is visible in %s", kind, dir);
		struct stat st;
		fstat(fd, &st);
		CHECKF((size_t)st.st_size == n && r.out_size == n, "%s: size %lld, want %zu", kind,
		       (long long)st.st_size, n);
		unsigned char *back = read_all(fd, n);
		CHECKF(memcmp(back, d, n) == 0, "%s: decoded bytes differ", kind);
		CHECKF(!r.truncated && !r.corrupt, "%s: flagged %s", kind, r.problem);
		/* a third of the data is zeros: holes, not written */
		CHECKF(r.disk_bytes < n * 3 / 4, "%s: %llu bytes written for %zu", kind,
		       (unsigned long long)r.disk_bytes, n);
		CHECKF((uint64_t)st.st_blocks * 512 < n * 3 / 4 + 65536, "%s: not sparse (%lld blocks)", kind,
		       (long long)st.st_blocks);
		free(back);
		close(fd);
	}

	/* Cut short anywhere, corrupted anywhere: never a crash, never more than the data,
	 * always a prefix of it when something decoded, and a flag saying what went wrong. */
	size_t cuts[] = { 1, 3, 10, 20, cn / 7, cn / 3, cn / 2, cn - 9, cn - 1 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		if (cuts[i] >= cn)
			continue;
		int cfd = write_file("cut", c, cuts[i]);
		struct err ce = { 0 };
		int o = decompress_to_temp(cfd, kind, dir, 0, &r, &ce);
		if (o >= 0) {
			CHECKF(r.truncated || r.corrupt, "%s cut at %zu: not flagged", kind, cuts[i]);
			CHECKF(r.out_size <= n, "%s cut at %zu: %llu bytes", kind, cuts[i], (unsigned long long)r.out_size);
			unsigned char *back = read_all(o, (size_t)r.out_size);
			CHECKF(memcmp(back, d, (size_t)r.out_size) == 0, "%s cut at %zu: not a prefix", kind, cuts[i]);
			CHECKF(strstr(r.problem, "truncated") || strstr(r.problem, "corrupt"), "%s: %s", kind, r.problem);
			free(back);
			close(o);
		} else {
			CHECKF(ce.msg[0] != 0, "%s cut at %zu: failed without a message", kind, cuts[i]);
		}
		close(cfd);
	}
	unsigned char *bad = xmalloc(cn);
	for (size_t pos = 4; pos < cn; pos += cn / 23 + 1) {
		memcpy(bad, c, cn);
		bad[pos] ^= 0x5a;
		int bfd = write_file("bad", bad, cn);
		struct err be = { 0 };
		int o = decompress_to_temp(bfd, kind, dir, 0, &r, &be);
		if (o >= 0) {
			CHECKF(r.out_size <= 2 * n, "%s flipped at %zu: %llu bytes", kind, pos, (unsigned long long)r.out_size);
			close(o);
		}
		close(bfd);
	}
	free(bad);

	/* the output bound */
	struct err me = { 0 };
	int o = decompress_to_temp(in, kind, dir, 1 << 20, &r, &me);
	CHECKF(o < 0 && strstr(me.msg, "refused"), "%s: bound not enforced: %s", kind, me.msg);
	if (o >= 0)
		close(o);
	CHECKF(dir_entries() == 0, "%s: files left in %s", kind, dir);
	close(in);
	free(c);
	free(d);
}

/* Two gzip members and two zstd frames decode as one stream, as gzip -d and zstd -d do. */
static void concatenated(void)
{
	size_t n = 200000, c1, c2;
	unsigned char *d = make_data(n);
	encoder encs[] = { gzip_buf, zstd_buf, xz_buf, lz4_buf };
	const char *names[] = { "gzip", "zstd", "xz", "lz4" };
	for (int k = 0; k < 4; k++) {
		unsigned char *a = encs[k](d, n / 2, &c1), *b = encs[k](d + n / 2, n - n / 2, &c2);
		unsigned char *both = xmalloc(c1 + c2);
		memcpy(both, a, c1);
		memcpy(both + c1, b, c2);
		int in = write_file("two", both, c1 + c2);
		struct decompress_result r;
		struct err e = { 0 };
		int fd = decompress_to_temp(in, names[k], dir, 0, &r, &e);
		CHECKF(fd >= 0 && r.out_size == n && !r.truncated && !r.corrupt, "%s two members: %s %s size %llu",
		       names[k], e.msg, r.problem, (unsigned long long)r.out_size);
		if (fd >= 0) {
			unsigned char *back = read_all(fd, n);
			CHECKF(memcmp(back, d, n) == 0, "%s two members: bytes differ", names[k]);
			free(back);
			close(fd);
		}
		close(in);
		free(a);
		free(b);
		free(both);
	}
	free(d);
}

static void formats(void)
{
	static const unsigned char bz[] = "BZh91AY&SY", l4[] = "\x02\x21\x4c\x18xxxx", elf[] = "\177ELF\2\1\1";
	CHECK(decompress_detect(bz, sizeof(bz) - 1) == COMPRESS_UNSUPPORTED);
	CHECK(decompress_detect(l4, sizeof(l4) - 1) == COMPRESS_UNSUPPORTED);
	CHECK(decompress_detect(elf, sizeof(elf) - 1) == COMPRESS_NONE);
	CHECK(decompress_detect((const unsigned char *)"\x1f", 1) == COMPRESS_NONE);
	CHECK(strcmp(decompress_kind_name(COMPRESS_UNSUPPORTED, bz, 3), "bzip2") == 0);
	struct decompress_result r;
	struct err e = { 0 };
	int in = write_file("bz", bz, sizeof(bz) - 1);
	CHECK(decompress_to_temp(in, "x.bz2", dir, 0, &r, &e) < 0 && strstr(e.msg, "bzip2"));
	close(in);
	in = write_file("elf", elf, sizeof(elf) - 1);
	CHECK(decompress_to_temp(in, "core", dir, 0, &r, &e) < 0 && strstr(e.msg, "not compressed"));
	close(in);
	/* nothing decodable: one line, naming the file and the format */
	in = write_file("gz", (const unsigned char *)"\x1f\x8b\x08\x00garbage-garbage-garbage", 26);
	CHECK(decompress_to_temp(in, "x.gz", dir, 0, &r, &e) < 0 && strstr(e.msg, "x.gz") && strstr(e.msg, "gzip"));
	close(in);
	e.msg[0] = 0;
	in = write_file("gz", bz, sizeof(bz) - 1);
	CHECK(decompress_to_temp(in, "x", "/nonexistent-dir", 0, &r, &e) < 0);
	close(in);
	size_t cn;
	unsigned char *d = make_data(1000), *c = gzip_buf(d, 1000, &cn);
	in = write_file("gz", c, cn);
	CHECK(decompress_to_temp(in, "x.gz", "/nonexistent-dir", 0, &r, &e) < 0 &&
	      strstr(e.msg, "/nonexistent-dir") && strstr(e.msg, "TMPDIR"));
	close(in);
	free(c);
	free(d);
	/* TMPDIR is honoured, /var/tmp otherwise */
	setenv("TMPDIR", dir, 1);
	CHECK(strcmp(decompress_tmpdir(), dir) == 0);
	setenv("TMPDIR", "", 1);
	CHECK(strcmp(decompress_tmpdir(), "/var/tmp") == 0);
	unsetenv("TMPDIR");
	CHECK(strcmp(decompress_tmpdir(), "/var/tmp") == 0);
}

static void unit_tests(void)
{
	snprintf(dir, sizeof(dir), "/tmp/chang-unit-decompress-%d", (int)getpid());
	mkdir(dir, 0700);
	formats();
	for (int i = 0; i < 2; i++) {
		size_t n = i ? 2 << 20 : (3 << 20) + 777;
		round_trip("gzip", gzip_buf, COMPRESS_GZIP, n);
		round_trip("zstd", zstd_buf, COMPRESS_ZSTD, n);
		round_trip("xz", xz_buf, COMPRESS_XZ, n);
		round_trip("lz4", lz4_buf, COMPRESS_LZ4, n);
	}
	concatenated();
	rmdir(dir);
}
