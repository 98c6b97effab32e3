#!/usr/bin/env bash
# Zips the addons in dist/build twice more, a second apart, into fresh
# directories, and compares all three sets byte for byte: fixed timestamps,
# entry order and permissions make the zips a function of their contents.
set -euo pipefail
cd "$(dirname "$0")/.."
a=$(mktemp -d) b=$(mktemp -d)
trap 'rm -rf "$a" "$b"' EXIT
scripts/package.py --reuse-build dist --out "$a" >/dev/null
sleep 1 # a different wall-clock second must not change anything
scripts/package.py --reuse-build dist --out "$b" >/dev/null
for zip in "$a"/*.zip; do
  cmp "$zip" "$b/$(basename "$zip")"
  cmp "$zip" "dist/$(basename "$zip")"
done
echo "identical: $(cd "$a" && ls *.zip | tr '\n' ' ')"
