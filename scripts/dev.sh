#!/usr/bin/env bash
# The protected site on this machine: the local edge emulator with the
# development identity provider. Prints the site URL and demo credentials.
#   scripts/dev.sh [--port 8080] [--idp-port 8081] [--provider-discovery URL ...]
# Every option: scripts/dev.sh --help. Needs only Rust (rustup).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}
if [ ! -x "$target_dir/debug/edge-auth-dev" ]; then
  echo "edge-auth-dev: the first start builds the project; this takes a few minutes (about 6 on 2 cores)." >&2
fi
# Cargo's own progress shows while it builds.
cargo build --locked -p edge-auth-emulator --bin edge-auth-dev
exec "$target_dir/debug/edge-auth-dev" "$@"
