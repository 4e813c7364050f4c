#!/bin/bash
# prepare.sh — fetch the example's base system: Debian's busybox-static for amd64, arm64 and
# armhf (arm/v7), unpacked into rootfs/<arch><variant>/ beside the Dockerfile. The build then
# needs no registry at all. Uses a private apt state (lists and cache under rootfs/.apt), so
# the system's dpkg architectures and apt lists are left as they are. A second run with the
# packages present does nothing.
set -euo pipefail
cd "$(dirname "$0")"
#        debian  directory (TARGETARCH + TARGETVARIANT)
targets=("amd64 amd64" "arm64 arm64" "armhf armv7")

need=()
for t in "${targets[@]}"; do
  read -r _ dir <<<"$t"
  [[ -x rootfs/$dir/bin/busybox ]] || need+=("$t")
done
((${#need[@]} == 0)) && exit 0

command -v apt-get >/dev/null || { echo "prepare.sh: needs apt-get (Debian or Ubuntu)" >&2; exit 1; }
apt=rootfs/.apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d"
cp /etc/apt/sources.list "$apt/sources.list" 2>/dev/null || : >"$apt/sources.list"
cp /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list "$apt/sources.list.d/" 2>/dev/null || true
opts=(-o "Dir::State::Lists=$PWD/$apt/lists" -o "Dir::Cache=$PWD/$apt/cache"
      -o "Dir::Etc::SourceList=$PWD/$apt/sources.list" -o "Dir::Etc::SourceParts=$PWD/$apt/sources.list.d"
      -o "APT::Sandbox::User=root" -o "APT::Architecture=$(dpkg --print-architecture)")
for t in "${targets[@]}"; do read -r arch _ <<<"$t"; opts+=(-o "APT::Architectures::=$arch"); done
echo "prepare.sh: fetching package lists for ${#targets[@]} architectures" >&2
apt-get "${opts[@]}" -qq update 2>"$apt/update.log" || echo "prepare.sh: apt-get update reported errors (see examples/hello/$apt/update.log); trying anyway" >&2
for t in "${need[@]}"; do
  read -r arch dir <<<"$t"
  (cd "$apt" && apt-get "${opts[@]}" -qq download "busybox-static:$arch")
  rm -rf "rootfs/$dir" && mkdir -p "rootfs/$dir"
  dpkg-deb -x "$(ls "$apt"/busybox-static_*_"$arch".deb | tail -1)" "rootfs/$dir"
  rm -rf "rootfs/$dir/usr/share"
  mkdir -p "rootfs/$dir"/{sbin,usr/bin,usr/sbin,etc,tmp,root}
  chmod 1777 "rootfs/$dir/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"rootfs/$dir/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"rootfs/$dir/etc/group"
  echo "prepare.sh: rootfs/$dir ($(dpkg-deb -f "$(ls "$apt"/busybox-static_*_"$arch".deb | tail -1)" Version))" >&2
done
