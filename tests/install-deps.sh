#!/bin/sh
# Install, from Debian's packages, whatever chang's build and tests need and this machine
# lacks. Quiet when everything is there already.
set -e
PKGS="gcc g++ make pkg-config libunwind-dev libdw-dev libelf-dev libprotobuf-c-dev
protobuf-c-compiler zlib1g-dev libzstd-dev liblzma-dev liblz4-dev libdeflate-dev gdb elfutils binutils python3
golang-go graphviz zstd xz-utils lz4 gzip clang-14 libclang-rt-14-dev valgrind"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
if [ -n "$missing" ]; then
	echo "installing:$missing"
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Optional: Debian's stripped memcached (no -dbgsym), a real program without symbols for the
# stripped-frames tests; they start it on 127.0.0.1 themselves. Best effort: skipped if missing.
if ! dpkg-query -W -f='${Status}' memcached 2>/dev/null | grep -q "install ok installed"; then
	echo "installing (optional): memcached"
	$SUDO apt-get install -y -qq --no-install-recommends memcached >/dev/null 2>&1 ||
		echo "memcached not installed; its test will be skipped"
fi

# Optional: Debian's debuginfod server (and its client library, which chang loads with
# dlopen), for tests/e2e/test_debuginfod.py. Best effort: those tests are skipped without it.
if ! dpkg-query -W -f='${Status}' debuginfod 2>/dev/null | grep -q "install ok installed"; then
	echo "installing (optional): debuginfod libdebuginfod1"
	$SUDO apt-get install -y -qq --no-install-recommends debuginfod libdebuginfod1 >/dev/null 2>&1 ||
		echo "debuginfod not installed; its tests will be skipped"
fi

# Optional: newer Go toolchains from the machine's own Debian mirror's backports suite, so
# the Go tests also run against 1.21, 1.22 and 1.23. Best effort: the tests skip what is missing.
[ -n "${CHANG_NO_GO_BACKPORTS:-}" ] && exit 0
go_missing=""
for p in golang-1.21-go golang-1.22-go golang-1.23-go; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || go_missing="$go_missing $p"
done
[ -z "$go_missing" ] && exit 0
src=/etc/apt/sources.list.d/debian.sources
bp=/etc/apt/sources.list.d/bookworm-backports.sources
if [ ! -f "$bp" ] && [ -f "$src" ] && grep -q "^Suites:.*bookworm" "$src"; then
	uri=$(awk '/^URIs:/ { print $2; exit }' "$src")
	[ -n "$uri" ] && printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" | $SUDO tee "$bp" >/dev/null
fi
if [ -f "$bp" ]; then
	echo "installing (optional):$go_missing"
	{ $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends $go_missing; } >/dev/null 2>&1 ||
		echo "optional Go toolchains not installed; their tests will be skipped"
fi
exit 0
