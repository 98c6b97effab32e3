#!/usr/bin/env bash
# Proves nix/extra-sources complete: copies only what the flake's source
# filter keeps (crane's Cargo sources, *.rs *.toml Cargo.lock, plus the
# listed paths) into an empty folder and runs the Cargo tests there, as
# `nix flake check` would. A test or build step that reads a file the filter
# drops fails here instead of on a Nix machine.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
repo=$PWD
# The copy and the checkout share the target folder, and Cargo keys the
# workspace crates' artifacts by their path inside the workspace, not by the
# checkout's location. The copy's files are new (cp without -p), so Cargo
# rebuilds the workspace crates from the copy, with the copy's paths
# compiled in (env!("CARGO_MANIFEST_DIR")); afterwards the checkout's
# sources are touched, so later steps rebuild them from the checkout again.
# Without this the check ran the checkout's binaries and proved nothing.
cleanup() {
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
  (cd "$repo" && git ls-files -z -- '*.rs' | xargs -0 touch)
}
trap cleanup EXIT

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
    cp "$file" "$work/$file"
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
# This step proves that the kept files suffice; the CloudFront Function's
# 100,000-case differential run belongs to the cargo test step, so here a
# few thousand cases do (the function's template is read all the same).
EDGE_AUTH_CF_CASES=${EDGE_AUTH_CF_CASES:-3000} \
  CARGO_TARGET_DIR="$target_dir" cargo test --workspace --locked --quiet "$@"
