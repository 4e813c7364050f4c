#!/bin/bash
# setup.sh — install what polyarch needs at run time on Debian 12 (as root), and what its
# tests use when called with --test.
#
#   scripts/setup.sh          runc, qemu-user-static (emulation), attr (xattrs), util-linux (mount),
#                             perl-base (essential on Debian: snapshot/syscalls makes the mount and
#                             xattr system calls through it, the programs above where it is missing),
#                             xz-utils, bzip2, zstd (ADD of compressed archives); g++, make,
#                             python3 (npm ci builds the zstd-napi binding, an optional dependency:
#                             without it polyarch works, and compression=zstd says what is missing)
#   scripts/setup.sh --test   also the oracles and peers the tests use: skopeo, umoci,
#                             docker-registry, docker.io, crun, jq, curl, apache2-utils
#                             (htpasswd), openssl (test token server), time (bench peak RSS),
#                             iproute2 (a dockerd in a network namespace as a remote BuildKit host),
#                             protobuf-compiler (protoc --decode_raw: an oracle for our BuildKit messages)
#
# Idempotent: a package already installed is not fetched again.
set -euo pipefail
want=(runc qemu-user-static attr util-linux perl-base ca-certificates xz-utils bzip2 zstd g++ make python3)
if [[ ${1:-} == --test ]]; then
  want+=(skopeo umoci docker-registry jq curl apache2-utils crun docker.io openssl time iproute2 protobuf-compiler)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || echo "setup: apt-get update reported errors; trying anyway" >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# binfmt_misc must be mounted for emulation checks and handler registration.
if [[ ! -e /proc/sys/fs/binfmt_misc/status ]]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
fi
