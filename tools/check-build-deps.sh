#!/bin/sh
# Say which of chang's build dependencies this machine lacks, by Debian package, and how to
# get them, instead of a compiler error about the first missing header.
CC=${CC:-cc}
missing=""
command -v protoc-c >/dev/null 2>&1 || missing="$missing protobuf-c-compiler"
command -v "$CC" >/dev/null 2>&1 || missing="$missing gcc"
for pair in libunwind-ptrace.h:libunwind-dev elfutils/libdwfl.h:libdw-dev gelf.h:libelf-dev \
	protobuf-c/protobuf-c.h:libprotobuf-c-dev zlib.h:zlib1g-dev zstd.h:libzstd-dev lzma.h:liblzma-dev \
	lz4frame.h:liblz4-dev libdeflate.h:libdeflate-dev libiberty/demangle.h:libiberty-dev \
	capstone/capstone.h:libcapstone-dev; do
	h=${pair%%:*}
	printf '#include <%s>\n' "$h" | "$CC" -E -x c - >/dev/null 2>&1 || missing="$missing ${pair#*:}"
done
if [ -n "$missing" ]; then
	echo "chang: cannot build: missing Debian packages:$missing" >&2
	echo "chang: run 'make deps' (it installs them; needs root or sudo), then make again" >&2
	exit 1
fi
