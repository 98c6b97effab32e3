#!/usr/bin/env bash
# Packages twice into fresh directories and compares the zips byte for byte:
# fixed timestamps, entry order and permissions mean the same sources give
# the same zips. (The addon builds themselves come from cargo's cache here.)
set -euo pipefail
cd "$(dirname "$0")/.."
a=$(mktemp -d) b=$(mktemp -d)
trap 'rm -rf "$a" "$b"' EXIT
scripts/package.py --out "$a" >/dev/null
sleep 1 # a different wall-clock second must not change anything
scripts/package.py --out "$b" >/dev/null
for zip in "$a"/*.zip; do
  cmp "$zip" "$b/$(basename "$zip")"
  cmp "$zip" "dist/$(basename "$zip")"
done
echo "identical: $(cd "$a" && ls *.zip | tr '\n' ' ')"
