#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each) on nightly,
# seeded from fuzz/corpus/<target> (left untouched: new inputs go to a
# scratch directory). A crash fails the script; its input is in
# fuzz/artifacts/<target>/.
#   scripts/fuzz.sh [seconds-per-target] [target ...]
# Long local run: scripts/fuzz.sh 3600, or one target for 10M executions:
#   (cd fuzz && cargo +nightly fuzz run authorize_event -- -runs=10000000)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
cargo +nightly fuzz build
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target"
  echo "::: fuzz $target for ${seconds} s"
  cargo +nightly fuzz run "$target" "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 2>&1 |
    grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss|SUMMARY|panicked|ERROR' || true
  # grep hides the noise; the fuzzer's exit status is what counts.
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz target $target failed" >&2; exit 1; }
done
