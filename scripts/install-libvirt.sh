#!/usr/bin/env bash
# install-libvirt.sh: what the real-hypervisor tests (pytest -m libvirt) need.
# Idempotent: installs only what is missing; `apt-get update` at most once.
# Debian packages need root; without root it only reports what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS="qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-clients libvirt-dev
      pkg-config busybox-static cpio linux-image-cloud-amd64 iproute2 util-linux"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-libvirt: not root; missing Debian packages:$missing" >&2
  else
    echo "install-libvirt: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # libvirt-daemon-system's postinst may try to start services: harmless
    # without systemd; the tests run their own daemons.
    apt-get install -y -q --no-install-recommends $missing
  fi
fi
PY=.venv/bin/python
if [ -x "$PY" ] && ! "$PY" -c "import libvirt, lxml" 2>/dev/null; then
  if command -v pkg-config >/dev/null && pkg-config --exists libvirt; then
    .venv/bin/pip install -q "libvirt-python>=10.0" "lxml>=5.0"
  else
    echo "install-libvirt: libvirt-dev missing; cannot build libvirt-python" >&2
  fi
fi
exit 0
