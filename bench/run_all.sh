#!/bin/sh
# The full comparison as run for bench/RESULTS.md (about 20 minutes).
cd "$(dirname "$0")/.." || exit 1
for step in "avail 1000 --defaults" "avail 10000" "full 1000" "full 10000 --rounds 2" "verify 1000" "archive --rounds 2" "inspect"; do
  echo "== $step" >&2
  python bench/compare.py $step
done
