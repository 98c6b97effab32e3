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
# pyenv installs console scripts behind shims that need a rehash.
command -v pyenv >/dev/null && pyenv rehash || true
