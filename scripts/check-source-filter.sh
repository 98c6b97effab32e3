#!/usr/bin/env bash
# Proves nix/extra-sources complete: copies only what the flake's source
# filter keeps (crane's Cargo sources, *.rs *.toml Cargo.lock, plus the
# listed paths) into an empty folder and runs the Cargo tests there, as
# `nix flake check` would. A test or build step that reads a file the filter
# drops fails here instead of on a Nix machine.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mapfile -t extras < <(grep -v '^\s*\(#\|$\)' nix/extra-sources)
kept=0
while IFS= read -r file; do
  keep=
  case $file in *.rs | *.toml | Cargo.lock | */Cargo.lock) keep=1 ;; esac
  for extra in "${extras[@]}"; do
    [[ $file == "$extra" || $file == "$extra"/* ]] && keep=1
  done
  if [ -n "$keep" ]; then
    mkdir -p "$work/$(dirname "$file")"
    cp -p "$file" "$work/$file"
    kept=$((kept + 1))
  fi
done < <(git ls-files)
for extra in "${extras[@]}"; do
  [ -e "$work/$extra" ] || { echo "nix/extra-sources names $extra, which git does not track" >&2; exit 1; }
done
echo "source filter keeps $kept files"
# The same target folder: only the workspace crates are built again (their
# paths differ), the dependencies are reused.
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
cd "$work"
CARGO_TARGET_DIR="$target_dir" cargo test --workspace --locked --quiet
