#!/bin/sh
# A healthy parent (this shell, waiting) whose child hangs in a deadlock.
"$1"
echo "child finished"
