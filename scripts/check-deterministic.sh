#!/usr/bin/env bash
# Zips the addons in dist/build twice more, a second apart, into fresh
# directories, and compares all three sets byte for byte: fixed timestamps,
# entry order and permissions make the zips a function of their contents.
# With dist/regional there, the regional zips are made again and compared too.
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
# The regional bootstrap zips, from the (cached) release build, the same way.
if [ -d dist/regional ]; then
  scripts/package.py --regional --out "$a" >/dev/null
  for zip in "$a"/regional/*.zip; do
    cmp "$zip" "dist/regional/$(basename "$zip")"
  done
fi
echo "identical: $(cd "$a" && ls *.zip regional/*.zip 2>/dev/null | tr '\n' ' ')"
