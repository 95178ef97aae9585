#!/bin/sh
# make demo: start a bundled deadlocked program, run chang on it, show what it found.
set -e
cd "$(dirname "$0")/.."
mkdir -p tests/out/demo
gcc -O2 -g -pthread -D_GNU_SOURCE -Itests/programs -o tests/out/demo/abba tests/programs/abba.c
fifo=tests/out/demo/ready
rm -f "$fifo"
mkfifo "$fifo"
./tests/out/demo/abba > "$fifo" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
# the program says READY once both threads hold their first lock
read -r line < "$fifo"
echo "started tests/programs/abba.c (pid $pid): two threads take two locks in opposite order"
# give the two workers a moment to reach the futex wait, watching /proc rather than guessing
i=0
while [ $i -lt 500 ]; do
	n=$(cat /proc/$pid/task/*/stat 2>/dev/null | awk '{ s=$0; sub(/.*\) /, "", s); if (substr(s,1,1)=="S") c++ } END { print c+0 }')
	[ "$n" -ge 3 ] && break
	i=$((i+1)); sleep 0.01
done
echo "\$ ./chang attach --pid $pid"
./chang attach --pid "$pid"
./chang attach --pid "$pid" --format=dot -o tests/out/demo/waitgraph.dot
if command -v dot >/dev/null 2>&1; then
	dot -Tsvg tests/out/demo/waitgraph.dot -o tests/out/demo/waitgraph.svg
	echo "wait-for graph: tests/out/demo/waitgraph.svg"
fi
