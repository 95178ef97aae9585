#!/bin/sh
# Run the unit test binaries of a cross build (make cross-aarch64) under qemu-user: the
# arm64 libraries come from the multiarch packages (dpkg --add-architecture arm64), so the
# guest's / is the host's. A test that needs what qemu-user lacks (ptrace: the live path)
# fails here and is named; nothing is hidden. Exit status 1 when any failed.
dir=${1:?usage: run-cross-units.sh DIR}
qemu=${QEMU:-qemu-aarch64}
command -v "$qemu" >/dev/null 2>&1 || { echo "run-cross-units: no $qemu (apt-get install qemu-user)" >&2; exit 1; }
pass=0 fail=0 failed=""
for t in "$dir"/test_*; do
	case "$t" in *.d) continue ;; esac
	[ -x "$t" ] || continue
	name=$(basename "$t")
	out=$(timeout 600 "$qemu" "$t" 2>&1)
	rc=$?
	last=$(printf '%s\n' "$out" | tail -n 1)
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		printf 'PASS %-28s %s\n' "$name" "$last"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		printf 'FAIL %-28s (exit %d) %s\n' "$name" "$rc" "$last"
		printf '%s\n' "$out" | grep -E 'FAIL|failed|error' | head -n 8 | sed 's/^/     /'
	fi
done
echo "aarch64 unit tests under $qemu: $pass passed, $fail failed${failed:+ ($failed )}"
[ $fail -eq 0 ]
