#!/usr/bin/env bash
# The Python tools the tests use, in the project's virtual environment
# .venv/ (git-ignored): moto (AWS API emulator), ziglang + cargo-zigbuild
# (the edge addons' cross build), cfn-lint and pytest (the templates).
# Debian's own python3 refuses system-wide pip installs (PEP 668), so
# nothing here touches the system Python. Called by scripts/setup.sh;
# scripts/check-setup-debian12.sh runs it on a clean Debian 12.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/apt.sh
. scripts/apt.sh

# Debian splits venv and ensurepip into python3-venv.
command -v python3 >/dev/null || apt_install python3
if [ ! -x .venv/bin/python3 ] || ! .venv/bin/python3 -m pip --version >/dev/null 2>&1; then
  rm -rf .venv
  if ! python3 -m venv .venv >/dev/null 2>&1; then
    rm -rf .venv
    apt_install python3-venv
    python3 -m venv .venv
  fi
fi
need_pip() { .venv/bin/python3 -m pip install --quiet --disable-pip-version-check "$@"; }

# moto's AWS API emulator: the Secrets Manager and deploy tests run it on 127.0.0.1.
[ -x .venv/bin/moto_server ] || need_pip 'moto[server]'
# zig + cargo-zigbuild: the edge addons, cross-built against glibc 2.17.
[ -x .venv/bin/cargo-zigbuild ] || need_pip ziglang cargo-zigbuild
# cfn-lint for the SAM templates, pytest for the checks cfn-lint does not make.
[ -x .venv/bin/cfn-lint ] || need_pip cfn-lint
.venv/bin/python3 -c 'import pytest' 2>/dev/null || need_pip pytest
# The real SAM CLI, pinned: the deploy tool runs `sam deploy`, and the tests
# hand every command line it builds to SAM's own option parser, transform
# templates with the translator it pins (aws-sam-translator), and run the
# regional functions under the Runtime Interface Emulator it ships
# (samcli/local/rapid). Installed last: it pins boto3 and cfn-lint ranges.
SAM_CLI_VERSION=1.170.0
[ "$(.venv/bin/python3 -c 'import samcli; print(samcli.__version__)' 2>/dev/null)" = "$SAM_CLI_VERSION" ] ||
  need_pip "aws-sam-cli==$SAM_CLI_VERSION"
