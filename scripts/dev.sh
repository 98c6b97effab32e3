#!/usr/bin/env bash
# The protected site on this machine: the local edge emulator with the
# development identity provider. Prints the site URL and demo credentials.
#   scripts/dev.sh [--port 8080] [--idp-port 8081] [--provider-discovery URL ...]
# Every option: scripts/dev.sh --help. Needs only Rust (rustup).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --locked -p edge-auth-emulator --bin edge-auth-dev -- "$@"
