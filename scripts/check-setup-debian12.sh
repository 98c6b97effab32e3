#!/usr/bin/env bash
# Runs the Python part of the set-up (scripts/setup-python.sh) on a clean
# Debian 12 with Debian's own python3, as a new user's machine has it: a
# minimal bookworm made by debootstrap (root; the only network it needs is
# the Debian archive and PyPI), the repository's scripts copied in, then
# every tool the tests use is run from .venv. Prints the time each part took.
#
#   scripts/check-setup-debian12.sh            # keeps the bare chroot in
#                                              # /var/cache/edge-auth-debian12
# A stock python3 there refuses `pip install` system-wide (PEP 668), which
# is what the check proves the set-up copes with.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "needs debootstrap (apt-get install debootstrap)" >&2; exit 2; }
CACHE=${EDGE_AUTH_DEBIAN12_CACHE:-/var/cache/edge-auth-debian12}
MIRROR=${EDGE_AUTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE=$CACHE/bookworm
ROOT=$CACHE/run

start=$SECONDS
if [ ! -f "$BASE/etc/debian_version" ]; then
  rm -rf "$BASE"
  debootstrap --variant=minbase bookworm "$BASE.partial" "$MIRROR" >"$CACHE.debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE.debootstrap.log" >&2; exit 2; }
  mv "$BASE.partial" "$BASE"
fi
echo "bare Debian $(cat "$BASE/etc/debian_version") ready: $((SECONDS - start)) s"

# A fresh copy of the bare system for every run: nothing from a previous
# run (python3, python3-venv, a .venv) is left in it.
rm -rf "$ROOT"
cp -a "$BASE" "$ROOT"
cleanup() {
  umount "$ROOT/proc" 2>/dev/null || true
  umount "$ROOT/dev/pts" 2>/dev/null || true
  umount "$ROOT/dev" 2>/dev/null || true
  rm -rf "$ROOT"
}
trap cleanup EXIT
mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
mount --bind /dev/pts "$ROOT/dev/pts" 2>/dev/null || true
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mkdir -p "$ROOT/src/scripts"
cp scripts/setup-python.sh scripts/apt.sh "$ROOT/src/scripts/"

# The network is the host's: where the host reaches PyPI through its own
# certificate chain (PIP_CERT, or pip.conf's cert), pip in the chroot is
# given the same bundle. Nothing else of the host's Python comes along.
host_cert=${PIP_CERT:-$(sed -n 's/^cert *= *//p' /etc/pip.conf 2>/dev/null | head -1)}
pip_env=()
if [ -n "$host_cert" ] && [ -f "$host_cert" ]; then
  cp "$host_cert" "$ROOT/etc/host-ca-bundle.crt"
  pip_env=(PIP_CERT=/etc/host-ca-bundle.crt)
fi
in_chroot() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "${pip_env[@]}" "$@"; }
if in_chroot sh -c 'command -v python3' >/dev/null; then
  echo "python3 is in the bare system: $(in_chroot python3 --version)"
fi

step=$SECONDS
in_chroot bash /src/scripts/setup-python.sh
echo "scripts/setup-python.sh on clean Debian 12: $((SECONDS - step)) s"

echo "Debian's python3: $(in_chroot python3 --version)"
in_chroot test -f /usr/lib/python3.11/EXTERNALLY-MANAGED &&
  echo "system-wide pip refused here (EXTERNALLY-MANAGED, PEP 668)"
in_chroot sh -c 'cd /src && .venv/bin/python3 -c "import sys; print(\"venv python:\", sys.prefix)"'
in_chroot sh -c 'cd /src && .venv/bin/moto_server --help >/dev/null && echo "moto_server: ok"'
in_chroot sh -c 'cd /src && .venv/bin/cfn-lint --version'
in_chroot sh -c 'cd /src && .venv/bin/cargo-zigbuild --version'
in_chroot sh -c 'cd /src && echo "zig $(.venv/bin/python3 -m ziglang version)"'
in_chroot sh -c 'cd /src && .venv/bin/pytest --version'
# A second run only checks.
step=$SECONDS
in_chroot bash /src/scripts/setup-python.sh
echo "second run: $((SECONDS - step)) s"
echo "clean Debian 12 set-up: passed in $((SECONDS - start)) s"
