#!/bin/sh
# Stands in for k3s's install.sh: records how it was run.
set -eu
config=missing
if [ -f /etc/rancher/k3s/config.yaml ]; then config=present; fi
sandbox record installer "$@" "INSTALL_K3S_VERSION=${INSTALL_K3S_VERSION:-}" "INSTALL_K3S_SKIP_START=${INSTALL_K3S_SKIP_START:-}" \
  "INSTALL_K3S_SKIP_SELINUX_RPM=${INSTALL_K3S_SKIP_SELINUX_RPM:-}" "config.yaml=$config"
if sandbox fault install; then
  echo "[ERROR]  Download failed" >&2
  exit 1
fi
echo "[INFO]  Using ${INSTALL_K3S_VERSION:-} as release"
