#!/usr/bin/env bash
# Evaluates the flake with a current Nix (2.26) against real crane,
# rust-overlay and nixpkgs `lib` sources and a stand-in package set, on all
# four systems, using the offline kit in ../shared/nix-eval (root: it
# debootstraps a Debian chroot on its first run). Fails on any error or
# evaluation warning. Nothing is built. Skipped, with a message, where the
# kit is not present (a clone outside this workplace).
set -euo pipefail
cd "$(dirname "$0")/.."
kit=../shared/nix-eval/check-flake.sh
if [ ! -f "$kit" ]; then
  echo "SKIPPED: $kit not found; the flake's evaluation is not checked on this machine"
  exit 0
fi
bash "$kit" .
