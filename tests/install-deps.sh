#!/bin/sh
# Install, from Debian's packages, whatever chang's build and tests need and this machine
# lacks. Quiet when everything is there already.
set -e
PKGS="gcc g++ make pkg-config libunwind-dev libdw-dev libelf-dev libprotobuf-c-dev
protobuf-c-compiler zlib1g-dev libzstd-dev liblzma-dev liblz4-dev libdeflate-dev libiberty-dev libcapstone-dev gdb elfutils binutils python3
dpkg-dev golang-go graphviz zstd xz-utils lz4 gzip clang-14 libclang-rt-14-dev valgrind"
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

# Optional: Debian's rustc (1.63 on bookworm), for the Rust std lock tests (tests/e2e/test_rust.py,
# which also use a newer rustup toolchain when there is one). Best effort: skipped if missing.
if ! dpkg-query -W -f='${Status}' rustc 2>/dev/null | grep -q "install ok installed"; then
	echo "installing (optional): rustc"
	$SUDO apt-get install -y -qq --no-install-recommends rustc >/dev/null 2>&1 ||
		echo "rustc not installed; the Rust tests will be skipped"
fi

# Optional: Debian's cargo and the parking_lot crate (librust-parking-lot-dev, in Debian's
# offline registry /usr/share/cargo/registry), for tests/e2e/test_rust_parking_lot.py.
# Best effort: skipped, counted, if missing.
if ! dpkg-query -W -f='${Status}' librust-parking-lot-dev 2>/dev/null | grep -q "install ok installed" ||
	! dpkg-query -W -f='${Status}' cargo 2>/dev/null | grep -q "install ok installed"; then
	echo "installing (optional): cargo librust-parking-lot-dev"
	$SUDO apt-get install -y -qq --no-install-recommends cargo librust-parking-lot-dev >/dev/null 2>&1 ||
		echo "cargo or librust-parking-lot-dev not installed; the parking_lot tests will be skipped"
fi

# Optional: Debian's musl-tools (musl-gcc, musl 1.2.3, and /lib/ld-musl-x86_64.so.1), for the
# musl targets' tests (tests/e2e/test_musl.py). Best effort: skipped, counted, if missing.
if ! dpkg-query -W -f='${Status}' musl-tools 2>/dev/null | grep -q "install ok installed"; then
	echo "installing (optional): musl-tools"
	$SUDO apt-get install -y -qq --no-install-recommends musl-tools musl-dev musl >/dev/null 2>&1 ||
		echo "musl-tools not installed; the musl tests will be skipped"
fi

# Optional: qemu-user and Debian's aarch64 cross compiler (with libc6-arm64-cross, the
# sysroot /usr/aarch64-linux-gnu), for tests/e2e/test_aarch64.py: programs cross-built for
# aarch64, run under qemu-aarch64, their guest cores read here. Best effort: skipped without.
missing_a64=""
for p in qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_a64="$missing_a64 $p"
done
if [ -n "$missing_a64" ]; then
	echo "installing (optional):$missing_a64"
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing_a64 >/dev/null 2>&1 ||
		echo "qemu-user or the aarch64 cross compiler not installed; the aarch64 tests will be skipped"
fi

# Opt-in (CHANG_CROSS_AARCH64=1): what `make cross-aarch64` needs, Debian's arm64 -dev
# packages through multiarch. They are Multi-Arch: same, so apt first brings the amd64 ones
# to the same versions (bookworm's point and security updates); nothing is removed.
if [ -n "${CHANG_CROSS_AARCH64:-}" ]; then
	dpkg --print-foreign-architectures | grep -qx arm64 || { $SUDO dpkg --add-architecture arm64 && $SUDO apt-get update -qq; }
	echo "installing (opt-in): the arm64 -dev packages for make cross-aarch64"
	$SUDO apt-get install -y -qq --no-install-recommends gcc-aarch64-linux-gnu qemu-user libdw-dev:arm64 \
		libelf-dev:arm64 libunwind-dev:arm64 libprotobuf-c-dev:arm64 zlib1g-dev:arm64 libzstd-dev:arm64 \
		liblzma-dev:arm64 liblz4-dev:arm64 libdeflate-dev:arm64 libiberty-dev:arm64 libcapstone-dev:arm64 \
		>/dev/null || echo "the arm64 -dev packages could not be installed; make cross-aarch64 will not build"
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

# Optional: Debian's etcd-server and caddy (go1.19, stripped, linked externally), for the
# real-world Go tests (tests/e2e/test_realworld_go.py), which start their own on 127.0.0.1
# with their data in a scratch directory. Where a service manager started the packages' own
# services on install (caddy's listens on every address's port 80), this script stops and
# disables them again. Best effort: the tests are skipped if missing.
for p in etcd-server caddy; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		echo "installing (optional): $p"
		if $SUDO apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1; then
			svc=$p
			[ "$p" = etcd-server ] && svc=etcd
			if [ -d /run/systemd/system ]; then
				$SUDO systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
			fi
		else
			echo "$p not installed; its tests will be skipped"
		fi
	fi
done

# Optional: mariadb-server, a large real C++ service for the real-world tests (wait kinds over
# three attaches, no finding while healthy); the test starts its own mariadbd on 127.0.0.1 from
# a private data directory. Heavy (about 200 MB): CHANG_NO_MARIADB=1 leaves it out, and the
# test is then a counted skip.
if [ -z "${CHANG_NO_MARIADB:-}" ] &&
	! dpkg-query -W -f='${Status}' mariadb-server 2>/dev/null | grep -q "install ok installed"; then
	echo "installing (optional): mariadb-server"
	$SUDO apt-get install -y -qq --no-install-recommends mariadb-server >/dev/null 2>&1 ||
		echo "mariadb-server not installed; its test will be skipped"
fi

# Optional, best effort (the tests skip, counted, what is missing):
# - Go toolchains from the machine's own Debian mirror: 1.21-1.23 from bookworm-backports,
#   1.24 from trixie, 1.26 and 1.27 from sid (Go 1.25 is in no suite). trixie and sid are
#   added with Pin-Priority 100, so nothing of bookworm's own is ever replaced by them: only
#   packages bookworm lacks (golang-1.2X-go and its golang-1.2X-src) come from there.
# - Debian's prometheus (go1.19, stripped, linked externally): the real-world Go test.
[ -n "${CHANG_NO_GO_BACKPORTS:-}" ] && exit 0
opt_missing=""
for p in golang-1.21-go golang-1.22-go golang-1.23-go golang-1.24-go golang-1.26-go golang-1.27-go prometheus; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || opt_missing="$opt_missing $p"
done
[ -z "$opt_missing" ] && exit 0
src=/etc/apt/sources.list.d/debian.sources
uri=""
[ -f "$src" ] && grep -q "^Suites:.*bookworm" "$src" && uri=$(awk '/^URIs:/ { print $2; exit }' "$src")
added=""
if [ -n "$uri" ]; then
	for suite in bookworm-backports trixie sid; do
		case $suite in
		bookworm-backports) f=/etc/apt/sources.list.d/bookworm-backports.sources ;;
		*) f=/etc/apt/sources.list.d/chang-go-$suite.sources ;;
		esac
		if [ ! -f "$f" ]; then
			printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" "$suite" | $SUDO tee "$f" >/dev/null
			added=1
		fi
		pin=/etc/apt/preferences.d/chang-go-$suite
		if [ "$suite" != bookworm-backports ] && [ ! -f "$pin" ]; then
			printf 'Package: *\nPin: release n=%s\nPin-Priority: 100\n' "$suite" | $SUDO tee "$pin" >/dev/null
		fi
	done
fi
[ -n "$added" ] && { $SUDO apt-get update -qq >/dev/null 2>&1 || true; }
echo "installing (optional):$opt_missing"
for p in $opt_missing; do
	# one at a time: a package one suite lacks does not keep the others out
	$SUDO apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 ||
		echo "optional package $p not installed; its tests will be skipped"
done
exit 0
