#!/usr/bin/env bash
# The whole test suite, as CI runs it: `scripts/test.sh`.
# Installs its own dependencies (scripts/setup.sh), then checks formatting,
# lints, and runs every test. Each step prints its duration.
set -euo pipefail
cd "$(dirname "$0")/.."
# setup.sh puts the Python tools (moto, cargo-zigbuild, cfn-lint, pytest)
# into the project's virtual environment.
export PATH="$PWD/.venv/bin:$PATH"
# A run from a clean checkout gains nothing from incremental builds, which
# roughly double what target/ holds on disk.
export CARGO_INCREMENTAL=0

step() {
  local name=$1; shift
  local start=$SECONDS
  echo "::: $name"
  "$@"
  echo "::: $name: $((SECONDS - start)) s ($(df -Pk . | awk 'NR==2 {printf "%.1f", $4 / 1048576}') GiB free)"
}

step "setup" scripts/setup.sh
step "the Python set-up on a clean Debian 12 (debootstrap)" scripts/check-setup-debian12.sh
step "cargo fmt" cargo fmt --all -- --check
step "nix files (parse, nixfmt, deadnix, lock)" scripts/check-nix.sh
step "flake evaluates on all four systems (nix-eval kit)" scripts/check-flake-eval.sh
step "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo clippy (origin addon)" cargo clippy -p edge-auth-addon --features provider --locked -- -D warnings
step "cargo test" cargo test --workspace --locked
# The CloudFront Function against core::authorize runs under Node.js in the
# step above (100,000 cases); here the same cases' first 5,000 under njs.
step "the CloudFront Function under njs (differential, 5,000 cases)" env EDGE_AUTH_CF_RUNTIMES=njs EDGE_AUTH_CF_CASES=5000 cargo test --locked -p edge-auth-core --test cloudfront_function
step "cargo test on the flake's source filter (nix/extra-sources)" scripts/check-source-filter.sh
step "package the edge zips" scripts/package.py
step "package the regional arm64 functions" scripts/package.py --regional
# The deploy tool against the real tools: every `sam deploy` command line
# through SAM CLI's own parser (first deploy, and a re-run against moto),
# the policy against CloudFormation's resource schemas, and the tool's real
# run against moto with a `sam` stand-in (parser, SAM's translator, moto).
step "deploy tool: SAM CLI's parser, the resource schemas, a run against moto" python3 -m pytest -q tests/deploy
step "regional arm64 functions under qemu (emulated Runtime API, and AWS's Runtime Interface Emulator)" node --test --test-concurrency=1 tests/regional/
step "zips are deterministic" scripts/check-deterministic.sh
step "edge packages in Node" node --test tests/edge/
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
step "build the local edge" cargo build --locked -p edge-auth-emulator
export EDGE_AUTH_DEV_BIN="$target_dir/debug/edge-auth-dev"
# `check --url` against the local edge (built by `cargo test` above).
export EDGE_AUTH_DEPLOY_BIN="$target_dir/debug/edge-auth-deploy"
step "browser tests (Chromium)" node --test --test-concurrency=1 tests/browser/
# The default arrangement above (the CloudFront Function, regional auth
# endpoints); here the other one end to end: Lambda@Edge authorize and
# index-path, sign-in, refresh and sign-out as origin-request functions.
step "browser tests, Lambda@Edge authorizer and auth endpoints (Chromium)" env EDGE_AUTH_AUTHORIZER=lambda-edge EDGE_AUTH_AUTH_ENDPOINTS=edge node --test --test-concurrency=1 tests/browser/local-edge.test.mjs
step "fuzz every target (30 s each)" scripts/fuzz.sh 30
step "cfn-lint" cfn-lint sam/user-pool/template.yaml sam/edge-functions/template.yaml sam/auth-endpoints/template.yaml sam/viewer-function/template.yaml sam/distribution/template.yaml sam/waf/template.yaml sam/monitoring/template.yaml sam/site-grants/template.yaml
# The user pool as the deploy renders it with a SAML and an OIDC provider.
rendered_pool="${TMPDIR:-/tmp}/edge-auth-user-pool-corporate.yaml"
step "cfn-lint, the user pool with corporate identity providers" sh -c "\"$EDGE_AUTH_DEPLOY_BIN\" federation --settings examples/corporate/corporate.toml --template > \"$rendered_pool\" && cfn-lint \"$rendered_pool\""
step "template checks, and the docs' links stay in the repository" python3 -m pytest -q tests/templates tests/docs
