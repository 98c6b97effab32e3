#!/usr/bin/env bash
# The protected site on this machine: the local edge emulator with the
# development identity provider. Prints the site URL and demo credentials.
#   scripts/dev.sh [--port 8080] [--idp-port 8081] [--provider-discovery URL ...]
# Every option: scripts/dev.sh --help. Needs Rust (rustup) and Node.js, which
# runs the CloudFront Function (--authorizer lambda-edge needs no Node.js).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}
if [ ! -x "$target_dir/debug/edge-auth-dev" ]; then
  echo "edge-auth-dev: the first start builds the project; this takes a few minutes (about 6 on 2 cores)." >&2
fi
# Cargo's own progress shows while it builds.
cargo build --locked -p edge-auth-emulator --bin edge-auth-dev
if ! command -v "${EDGE_AUTH_NODE:-node}" >/dev/null && [[ " $* " != *" lambda-edge "* ]]; then
  echo "edge-auth-dev runs the CloudFront Function with Node.js, which is not on the PATH: install Node.js 20 or later (or set EDGE_AUTH_NODE), or pass --authorizer lambda-edge" >&2
  exit 1
fi
# The local site opens what the deployed one would: the path rules and
# [site] public of deploy/prod.toml, unless other settings are named.
if [[ " $* " != *" --settings "* ]]; then
  set -- --settings deploy/prod.toml "$@"
fi
exec "$target_dir/debug/edge-auth-dev" "$@"
