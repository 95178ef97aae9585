#!/bin/sh
# `make deb`: a Debian package of the chang just built (BIN), with its man page, from a
# staged tree (dpkg-deb --build; no debian/ source directory is needed for one binary).
# Depends come from dpkg-shlibdeps on the binary, as a source package's build would compute
# them; libdebuginfod1, which chang loads with dlopen when present, is a Recommends.
# Usage: tools/mkdeb.sh BIN VERSION OUTDIR
set -e
bin=$1 version=$2 out=$3
arch=$(dpkg --print-architecture)
stage=$out/deb/chang_${version}_${arch}
rm -rf "$out/deb"
mkdir -p "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/share/man/man1" "$stage/usr/share/doc/chang"
install -m 755 "$bin" "$stage/usr/bin/chang"
strip --strip-debug "$stage/usr/bin/chang"
gzip -9n < chang.1 > "$stage/usr/share/man/man1/chang.1.gz"
gzip -9n < README.md > "$stage/usr/share/doc/chang/README.md.gz"
chmod 644 "$stage/usr/share/man/man1/chang.1.gz" "$stage/usr/share/doc/chang/README.md.gz"

# dpkg-shlibdeps wants a debian/control beside it
shl=$out/deb/shlibdeps
mkdir -p "$shl/debian"
printf 'Source: chang\n\nPackage: chang\nArchitecture: any\n' > "$shl/debian/control"
depends=$(cd "$shl" && dpkg-shlibdeps -O -e "$OLDPWD/$stage/usr/bin/chang" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "mkdeb: dpkg-shlibdeps gave no dependencies (is dpkg-dev installed?)" >&2; exit 1; }
rm -rf "$shl"

size=$(du -k -s "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: chang
Version: $version
Architecture: $arch
Maintainer: chang maintainers <maintainers@users.noreply.b-seed-f6bd3a46.example>
Installed-Size: $size
Depends: $depends
Recommends: libdebuginfod1
Section: devel
Priority: optional
Description: diagnose hung processes: who is stuck, on what, held by whom
 chang attaches to a hung Linux process (or reads its core), freezes it for
 milliseconds, and reports each thread's stack, what it waits for and who
 holds it: lock cycles, self-deadlocks, abandoned locks, blocking chains and
 mass blocking, for C, C++, Rust and Go programs.
CONTROL
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out/chang_${version}_${arch}.deb" >/dev/null
rm -rf "$out/deb"
echo "  deb: $out/chang_${version}_${arch}.deb"
