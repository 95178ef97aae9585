#!/bin/sh
# Install, from Debian's packages, whatever chang's build and tests need and this machine
# lacks. Quiet when everything is there already.
set -e
PKGS="gcc g++ make pkg-config libunwind-dev libdw-dev libelf-dev libprotobuf-c-dev
protobuf-c-compiler zlib1g-dev libzstd-dev liblzma-dev liblz4-dev gdb elfutils binutils python3
golang-go graphviz zstd xz-utils lz4 gzip"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
