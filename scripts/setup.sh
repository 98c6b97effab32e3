#!/usr/bin/env bash
# Installs what the tests and the local stack need on a fresh Debian 12 or
# Ubuntu machine with Rust (rustup) and Node.js. Idempotent: a second run
# only checks. apt-get needs root (run as root, or the script uses sudo).
#
# Python tools (moto, ziglang, cargo-zigbuild, cfn-lint, pytest) go into a
# project virtual environment, .venv/ (git-ignored): Debian's own python3
# refuses system-wide pip installs (PEP 668). The scripts put .venv/bin first
# on PATH themselves; for a shell of your own: `. .venv/bin/activate`.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/apt.sh
. scripts/apt.sh

# The Python tools, in .venv/ (scripts/setup-python.sh).
scripts/setup-python.sh
export PATH="$PWD/.venv/bin:$PATH"

# The toolchain pinned in rust-toolchain.toml, with rustfmt and clippy.
rustup show active-toolchain >/dev/null
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# The regional sign-in, refresh and sign-out functions are arm64; qemu-user
# with Debian's arm64 C library runs them in the tests.
rustup target add aarch64-unknown-linux-gnu >/dev/null
command -v qemu-aarch64 >/dev/null || apt_install qemu-user
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || apt_install libc6-arm64-cross

command -v node >/dev/null || { echo "Node.js 20 or later is required (Debian: apt-get install nodejs npm)" >&2; exit 1; }
command -v objdump >/dev/null || apt_install binutils
command -v cc >/dev/null || apt_install gcc

# Debian's Chromium for the browser tests (playwright-core drives it; no
# browser download).
command -v chromium >/dev/null || apt_install chromium
# Debian's njs (the nginx JavaScript engine): the CloudFront Function's
# tests run in it too, the dialect CloudFront Functions share.
command -v njs >/dev/null || apt_install njs
# cargo-fuzz (libFuzzer): scripts/fuzz.sh uses the nightly toolchain when the
# machine has one, else the pinned stable one with RUSTC_BOOTSTRAP=1.
command -v cargo-fuzz >/dev/null || cargo install --locked --quiet cargo-fuzz
# The flake's checks that run here: Debian's Nix (parse only), nixfmt, deadnix.
command -v nix-instantiate >/dev/null || apt_install nix-bin
command -v nixfmt >/dev/null || cargo install --locked --quiet nixfmt_rs
command -v deadnix >/dev/null || cargo install --locked --quiet deadnix
# debootstrap: the flake evaluation kit (../shared/nix-eval) builds its
# Debian chroot with it on the first run.
command -v debootstrap >/dev/null || apt_install debootstrap
# playwright-core and oidc-provider, exactly as locked.
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
