#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each) on nightly
# (or, on a machine without one, on the pinned stable toolchain with
# RUSTC_BOOTSTRAP=1, which accepts the -Z flags cargo-fuzz passes), seeded
# from fuzz/corpus/<target> (left untouched: new inputs go to a scratch
# directory). A crash fails the script; its input is in
# fuzz/artifacts/<target>/.
#   scripts/fuzz.sh [seconds-per-target] [target ...]
# Long local run: scripts/fuzz.sh 3600, or one target for 10M executions:
#   (cd fuzz && cargo +nightly fuzz run authorize_event -- -runs=10000000)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
shift || true
targets=("$@")
if rustup toolchain list | grep -q '^nightly'; then
  cargo() { command cargo +nightly "$@"; }
else
  echo "no nightly toolchain: fuzzing on $(rustc --version) with RUSTC_BOOTSTRAP=1"
  export RUSTC_BOOTSTRAP=1
fi
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
cargo fuzz build
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target"
  echo "::: fuzz $target for ${seconds} s"
  log="$scratch/$target.log"
  # The fuzzer's own exit status decides; the log is filtered only for display.
  if ! cargo fuzz run "$target" "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz target $target failed (input, if any, in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss' "$log" || true
done
