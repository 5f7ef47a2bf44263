#!/bin/bash
# enter.sh ROOT SCRIPT: runs SCRIPT (the rendered user data) as root in a user and mount namespace in which /etc,
# /var/lib and /var/log are overlays whose writes land in ROOT/upper, so the script runs unchanged and the host is
# untouched. One overlay per directory the script writes in: without real root, an overlay can add entries at its top
# but not copy up a directory the host's root owns (/var/log inside an overlay of /var).
set -euo pipefail
root=$1 script=$2
for dir in etc var/lib var/log; do
  mkdir -p "$root/upper/$dir" "$root/work/$dir"
  mount -t overlay overlay -o "lowerdir=/$dir,upperdir=$root/upper/$dir,workdir=$root/work/$dir" "/$dir"
done
exec bash "$script"
