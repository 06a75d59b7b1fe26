#!/usr/bin/env bash
# System packages the reference stack needs (bubblewrap sandboxes the simulated EC2 boxes).
# As root: installed here. Otherwise: stop with one line saying exactly what to install.
set -euo pipefail
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${missing[*]}" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "missing system packages; run: sudo apt-get install -y ${missing[*]}" >&2
exit 1
