#!/usr/bin/env bash
# Installs what the tests and the local stack need on a fresh Debian machine
# with Rust (rustup), Python 3 with pip, and Node.js. Idempotent: a second
# run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pip() { python3 -m pip install --quiet --disable-pip-version-check "$@"; }

# The toolchain pinned in rust-toolchain.toml, with rustfmt and clippy.
rustup show active-toolchain >/dev/null
rustup component add rustfmt clippy >/dev/null 2>&1 || true

# moto's AWS API emulator: the Secrets Manager tests run it on 127.0.0.1.
command -v moto_server >/dev/null || need_pip 'moto[server]'
# zig + cargo-zigbuild: the edge addons, cross-built against glibc 2.17.
command -v cargo-zigbuild >/dev/null || need_pip ziglang cargo-zigbuild
# cfn-lint for the SAM templates, pytest for the checks cfn-lint does not make.
command -v cfn-lint >/dev/null || need_pip cfn-lint
python3 -c 'import pytest' 2>/dev/null || need_pip pytest
command -v node >/dev/null || { echo "Node.js is required (Debian: apt-get install nodejs)" >&2; exit 1; }
command -v objdump >/dev/null || { echo "objdump is required (Debian: apt-get install binutils)" >&2; exit 1; }

# Debian's Chromium for the browser tests (playwright-core drives it; no
# browser download).
if ! command -v chromium >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# cargo-fuzz (libFuzzer): scripts/fuzz.sh uses the nightly toolchain when the
# machine has one, else the pinned stable one with RUSTC_BOOTSTRAP=1.
command -v cargo-fuzz >/dev/null || cargo install --locked --quiet cargo-fuzz
# The flake's checks that run here: Debian's Nix (parse only), nixfmt, deadnix.
command -v nix-instantiate >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nix-bin >/dev/null; }
command -v nixfmt >/dev/null || cargo install --locked --quiet nixfmt_rs
command -v deadnix >/dev/null || cargo install --locked --quiet deadnix
# debootstrap: the flake evaluation kit (../shared/nix-eval) builds its
# Debian chroot with it on the first run.
command -v debootstrap >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
# playwright-core and oidc-provider, exactly as locked.
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
# pyenv installs console scripts behind shims that need a rehash.
command -v pyenv >/dev/null && pyenv rehash || true
