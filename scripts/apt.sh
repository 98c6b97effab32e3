# Sourced by the set-up scripts: `apt_install PACKAGE...` installs Debian
# packages quietly, running `apt-get update` once, as root or through sudo.
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { $SUDO apt-get update -qq; apt_updated=1; }
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
