#include "core/decompress.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define IN_CHUNK (256 * 1024)
/* Output is flushed in whole multiples of HOLE_BLOCK from offset 0, so every block the sink
 * tests for zeros is file-aligned and can become a hole. */
#define HOLE_BLOCK 4096
#define OUT_CHUNK (1024 * 1024)
/* xz -9 needs 65 MiB to decode; a header asking for more is not from a sane compressor. */
#define XZ_MEMLIMIT (256ULL << 20)
/* zstd's own default, stated so that a frame cannot talk the decoder into a larger window
 * (systemd-coredump uses default parameters, 8 MiB windows at most). */
#define ZSTD_WINDOWLOG_MAX 27

enum compress_kind decompress_detect(const unsigned char *b, size_t n)
{
	if (n >= 3 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8)
		return COMPRESS_GZIP;
	if (n >= 4 && memcmp(b, "\x28\xb5\x2f\xfd", 4) == 0)
		return COMPRESS_ZSTD;
	if (n >= 6 && memcmp(b, "\xfd" "7zXZ\0", 6) == 0)
		return COMPRESS_XZ;
	if (n >= 4 && memcmp(b, "\x04\x22\x4d\x18", 4) == 0)
		return COMPRESS_LZ4;
	if (n >= 4 && memcmp(b, "\x02\x21\x4c\x18", 4) == 0)
		return COMPRESS_UNSUPPORTED;
	if (n >= 4 && memcmp(b, "BZh", 3) == 0 && b[3] >= '1' && b[3] <= '9')
		return COMPRESS_UNSUPPORTED;
	return COMPRESS_NONE;
}

const char *decompress_kind_name(enum compress_kind k, const unsigned char *b, size_t n)
{
	switch (k) {
	case COMPRESS_GZIP: return "gzip";
	case COMPRESS_ZSTD: return "zstd";
	case COMPRESS_XZ: return "xz";
	case COMPRESS_LZ4: return "lz4";
	case COMPRESS_UNSUPPORTED:
		if (n >= 3 && b && memcmp(b, "BZh", 3) == 0)
			return "bzip2";
		return "legacy lz4 (lz4 -l)";
	default: return "uncompressed";
	}
}

const char *decompress_tmpdir(void)
{
	const char *d = getenv("TMPDIR");
	return d && *d ? d : "/var/tmp";
}

struct job {
	int in_fd;
	const char *name, *dir, *kind;
	unsigned char *in;
	size_t in_len;
	uint64_t in_off;
	bool in_eof;
	int out_fd;
	unsigned char *out;	/* pending output, file offset out_off */
	size_t out_len;
	uint64_t out_off, max_out;
	uint64_t expected;	/* output size a header announced, 0 when unknown */
	struct decompress_result *r;
	struct err *e;
};

static int fill(struct job *j)
{
	j->in_len = 0;
	if (j->in_eof)
		return 0;
	ssize_t n;
	do
		n = pread(j->in_fd, j->in, IN_CHUNK, (off_t)j->in_off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_set(j->e, ERR_FAIL, "%s: read failed: %s", j->name, strerror(errno));
	j->in_len = (size_t)n;
	j->in_off += (uint64_t)n;
	j->in_eof = n == 0;
	return 0;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int no_space(struct job *j)
{
	if (j->expected)
		return err_set(j->e, ERR_FAIL, "decompressing %s needs %llu MiB in %s: no space left", j->name,
			       (unsigned long long)((j->expected + (1 << 20) - 1) >> 20), j->dir);
	return err_set(j->e, ERR_FAIL, "decompressing %s needs more than %llu MiB in %s: no space left",
		       j->name, (unsigned long long)(j->out_off >> 20), j->dir);
}

static int write_all(struct job *j, const unsigned char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(j->out_fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == ENOSPC || errno == EDQUOT))
			return no_space(j);
		if (w <= 0)
			return err_set(j->e, ERR_FAIL, "decompressing %s: writing to %s failed: %s", j->name,
				       j->dir, w < 0 ? strerror(errno) : "no progress");
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
		j->r->disk_bytes += (uint64_t)w;
	}
	return 0;
}

/* Write the pending output, leaving holes where whole blocks are zero. */
static int flush(struct job *j)
{
	size_t i = 0;
	while (i < j->out_len) {
		size_t bl = j->out_len - i < HOLE_BLOCK ? j->out_len - i : HOLE_BLOCK;
		if (all_zero(j->out + i, bl)) {
			i += bl;
			continue;
		}
		size_t k = i + bl;
		while (k < j->out_len) {
			size_t b2 = j->out_len - k < HOLE_BLOCK ? j->out_len - k : HOLE_BLOCK;
			if (all_zero(j->out + k, b2))
				break;
			k += b2;
		}
		if (write_all(j, j->out + i, k - i, j->out_off + i) != 0)
			return -1;
		i = k;
	}
	j->out_off += j->out_len;
	j->out_len = 0;
	return 0;
}

/* Where a decoder writes next, and how much room there is. */
static unsigned char *out_ptr(struct job *j, size_t *cap)
{
	*cap = OUT_CHUNK - j->out_len;
	return j->out + j->out_len;
}

/* Account for n bytes a decoder produced at out_ptr. */
static int produced(struct job *j, size_t n)
{
	j->out_len += n;
	if (j->out_off + j->out_len > j->max_out)
		return err_set(j->e, ERR_FAIL, "%s: decompresses to more than %llu MiB; refused (not a core, "
			       "or a compression bomb)", j->name, (unsigned long long)(j->max_out >> 20));
	return j->out_len == OUT_CHUNK ? flush(j) : 0;
}

/* detail: the decoder's reason for a corrupt stream; NULL for one that is cut short. */
static void problem(struct job *j, const char *detail)
{
	unsigned long long kib = (j->out_off + j->out_len) >> 10;
	if (!detail) {
		j->r->truncated = true;
		snprintf(j->r->problem, sizeof(j->r->problem), "the %s stream is truncated after %llu KiB "
			 "of output", j->kind, kib);
	} else {
		j->r->corrupt = true;
		snprintf(j->r->problem, sizeof(j->r->problem), "the %s stream is corrupt after %llu KiB of "
			 "output: %s", j->kind, kib, detail);
	}
}

static int run_gzip(struct job *j)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return err_set(j->e, ERR_FAIL, "%s: zlib: cannot initialise", j->name);
	bool in_member = true, out_full = false;
	int r = 0;
	for (;;) {
		if (z.avail_in == 0 && !out_full) {
			if ((r = fill(j)) != 0)
				break;
			if (j->in_eof)
				break;
			z.next_in = j->in;
			z.avail_in = (uInt)j->in_len;
		}
		size_t cap;
		z.next_out = out_ptr(j, &cap);
		z.avail_out = (uInt)cap;
		int rc = inflate(&z, Z_NO_FLUSH);
		size_t got = cap - z.avail_out;
		out_full = z.avail_out == 0;
		if ((r = produced(j, got)) != 0)
			break;
		if (rc == Z_STREAM_END) {
			in_member = false;
			/* gzip files may hold several members; anything else after one (padding)
			 * is ignored, as gzip itself does. */
			if (z.avail_in == 0) {
				if ((r = fill(j)) != 0 || j->in_eof)
					break;
				z.next_in = j->in;
				z.avail_in = (uInt)j->in_len;
			}
			if (z.avail_in < 2 || z.next_in[0] != 0x1f || z.next_in[1] != 0x8b)
				break;
			inflateReset(&z);
			in_member = true;
			out_full = false;
		} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			problem(j, z.msg ? z.msg : "invalid data");
			break;
		}
	}
	if (r == 0 && in_member && !j->r->corrupt)
		problem(j, NULL);
	inflateEnd(&z);
	return r;
}

static int run_zstd(struct job *j)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	if (!d)
		return err_set(j->e, ERR_FAIL, "%s: zstd: cannot initialise", j->name);
	ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, ZSTD_WINDOWLOG_MAX);
	ZSTD_inBuffer in = { j->in, 0, 0 };
	size_t last = 1;	/* 0 only between frames */
	bool out_full = false, first = true;
	int r = 0;
	for (;;) {
		if (in.pos == in.size && !out_full) {
			if ((r = fill(j)) != 0 || j->in_eof)
				break;
			in = (ZSTD_inBuffer){ j->in, j->in_len, 0 };
			if (first) {
				unsigned long long cs = ZSTD_getFrameContentSize(j->in, j->in_len);
				if (cs != ZSTD_CONTENTSIZE_UNKNOWN && cs != ZSTD_CONTENTSIZE_ERROR)
					j->expected = cs;
				first = false;
			}
		}
		size_t cap;
		unsigned char *o = out_ptr(j, &cap);
		ZSTD_outBuffer out = { o, cap, 0 };
		size_t before = in.pos;
		size_t rc = ZSTD_decompressStream(d, &out, &in);
		out_full = out.pos == out.size;
		if ((r = produced(j, out.pos)) != 0)
			break;
		if (ZSTD_isError(rc)) {
			if (last != 0)
				problem(j, ZSTD_getErrorName(rc));
			last = 0;	/* garbage after the last frame is ignored */
			break;
		}
		/* a call that could do nothing (the output was full exactly at a frame's end)
		 * says what the next frame would need, not that this one is unfinished */
		if (out.pos || in.pos != before)
			last = rc;
	}
	if (r == 0 && last != 0)
		problem(j, NULL);
	ZSTD_freeDCtx(d);
	return r;
}

static const char *lzma_error_name(lzma_ret rc)
{
	switch (rc) {
	case LZMA_MEMLIMIT_ERROR: return "needs more than 256 MiB of memory to decode";
	case LZMA_FORMAT_ERROR: return "not in the xz format";
	case LZMA_OPTIONS_ERROR: return "unsupported options";
	case LZMA_DATA_ERROR: return "data error";
	case LZMA_BUF_ERROR: return "unexpected end";
	default: return "decoder error";
	}
}

static int run_xz(struct job *j)
{
	lzma_stream s = LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&s, XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK)
		return err_set(j->e, ERR_FAIL, "%s: liblzma: cannot initialise", j->name);
	lzma_action action = LZMA_RUN;
	bool out_full = false, done = false;
	int r = 0;
	for (;;) {
		if (s.avail_in == 0 && !out_full && action == LZMA_RUN) {
			if ((r = fill(j)) != 0)
				break;
			if (j->in_eof)
				action = LZMA_FINISH;
			s.next_in = j->in;
			s.avail_in = j->in_len;
		}
		size_t cap;
		s.next_out = out_ptr(j, &cap);
		s.avail_out = cap;
		lzma_ret rc = lzma_code(&s, action);
		out_full = s.avail_out == 0;
		if ((r = produced(j, cap - s.avail_out)) != 0)
			break;
		if (rc == LZMA_STREAM_END) {
			done = true;
			break;
		}
		if (rc == LZMA_OK)
			continue;
		if (rc == LZMA_BUF_ERROR && action == LZMA_FINISH)
			break;
		problem(j, lzma_error_name(rc));
		break;
	}
	if (r == 0 && !done && !j->r->corrupt)
		problem(j, NULL);
	lzma_end(&s);
	return r;
}

static int run_lz4(struct job *j)
{
	LZ4F_dctx *d = NULL;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
		return err_set(j->e, ERR_FAIL, "%s: lz4: cannot initialise", j->name);
	size_t in_pos = 0, hint = 1;	/* hint 0: between frames */
	bool out_full = false, first = true;
	int r = 0;
	for (;;) {
		if (in_pos == j->in_len && !out_full) {
			if ((r = fill(j)) != 0 || j->in_eof)
				break;
			in_pos = 0;
			if (first) {
				LZ4F_frameInfo_t fi;
				memset(&fi, 0, sizeof(fi));
				LZ4F_dctx *peek = NULL;
				size_t sz = j->in_len;
				if (!LZ4F_isError(LZ4F_createDecompressionContext(&peek, LZ4F_VERSION)) &&
				    !LZ4F_isError(LZ4F_getFrameInfo(peek, &fi, j->in, &sz)))
					j->expected = fi.contentSize;
				LZ4F_freeDecompressionContext(peek);
				first = false;
			}
		}
		size_t cap, src = j->in_len - in_pos;
		unsigned char *o = out_ptr(j, &cap);
		size_t dst = cap;
		size_t rc = LZ4F_decompress(d, o, &dst, j->in + in_pos, &src, NULL);
		in_pos += src;
		out_full = dst == cap;
		if ((r = produced(j, dst)) != 0)
			break;
		if (LZ4F_isError(rc)) {
			if (hint != 0) {
				problem(j, LZ4F_getErrorName(rc));
			}
			hint = 0;
			break;
		}
		if (dst || src)
			hint = rc;
	}
	if (r == 0 && hint != 0)
		problem(j, NULL);
	LZ4F_freeDecompressionContext(d);
	return r;
}

/* An unlinked file in dir: O_TMPFILE where the file system has it, else a named file
 * unlinked at once; either way it vanishes with its last descriptor. */
static int make_temp(const char *dir, const char *name, struct err *e)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/chang-core-XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0) {
			unlink(path);
			return fd;
		}
	}
	return err_set(e, ERR_FAIL, "decompressing %s: cannot create a temporary file in %s: %s "
		       "(set TMPDIR to another directory)", name, dir, strerror(errno));
}

int decompress_to_temp(int in_fd, const char *name, const char *dir, uint64_t max_out,
		       struct decompress_result *r, struct err *e)
{
	memset(r, 0, sizeof(*r));
	unsigned char magic[8];
	ssize_t n = pread(in_fd, magic, sizeof(magic), 0);
	if (n < 0)
		return err_set(e, ERR_FAIL, "%s: %s", name, strerror(errno));
	r->kind = decompress_detect(magic, (size_t)n);
	const char *kind = decompress_kind_name(r->kind, magic, (size_t)n);
	if (r->kind == COMPRESS_NONE)
		return err_set(e, ERR_FAIL, "%s: not compressed", name);
	if (r->kind == COMPRESS_UNSUPPORTED)
		return err_set(e, ERR_FAIL, "%s: %s-compressed, which chang cannot decode; decompress it "
			       "first (or recompress with zstd, xz, gzip or lz4)", name, kind);
	struct job j = {
		.in_fd = in_fd, .name = name, .dir = dir ? dir : decompress_tmpdir(), .kind = kind,
		.max_out = max_out ? max_out : DECOMPRESS_MAX_OUT, .r = r, .e = e,
	};
	j.out_fd = make_temp(j.dir, name, e);
	if (j.out_fd < 0)
		return -1;
	j.in = xmalloc(IN_CHUNK);
	j.out = xmalloc(OUT_CHUNK);
	int rc;
	switch (r->kind) {
	case COMPRESS_GZIP: rc = run_gzip(&j); break;
	case COMPRESS_ZSTD: rc = run_zstd(&j); break;
	case COMPRESS_XZ: rc = run_xz(&j); break;
	default: rc = run_lz4(&j); break;
	}
	if (rc == 0)
		rc = flush(&j);
	r->out_size = j.out_off;
	/* Holes at the end are not written: the size makes them part of the file. */
	if (rc == 0 && ftruncate(j.out_fd, (off_t)j.out_off) != 0)
		rc = errno == ENOSPC || errno == EDQUOT ? no_space(&j) :
		     err_set(e, ERR_FAIL, "decompressing %s: %s: %s", name, j.dir, strerror(errno));
	if (rc == 0 && r->out_size == 0 && (r->corrupt || r->truncated))
		rc = err_set(e, ERR_FAIL, "%s: %s-compressed, but nothing could be decoded: %s", name, kind,
			     r->problem);
	free(j.in);
	free(j.out);
	if (rc != 0) {
		close(j.out_fd);
		return -1;
	}
	return j.out_fd;
}
