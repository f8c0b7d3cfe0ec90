#!/usr/bin/env bash
# Builds vtrust_vmgenid.ko against installed kernel headers without writing into the source
# tree (kbuild puts its objects next to the sources, so they are copied to WORKDIR first).
#
#   build-out-of-tree.sh --kver KVER --workdir DIR --out FILE.ko
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kver="" workdir="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kver) kver=${2:?}; shift 2 ;;
    --workdir) workdir=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    *) echo "build-out-of-tree: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
if [ -z "$kver" ] || [ -z "$workdir" ] || [ -z "$out" ]; then
  echo "build-out-of-tree: need --kver, --workdir and --out" >&2
  exit 2
fi
kdir=/lib/modules/$kver/build
[ -f "$kdir/Makefile" ] || { echo "build-out-of-tree: no kernel headers at $kdir: install linux-headers-$kver (linux-headers-amd64)" >&2; exit 1; }
mkdir -p "$workdir"
cp "$src/Kbuild" "$src/vtrust_vmgenid.c" "$workdir/"
# Warnings are errors here as everywhere in vtrust.
make -s -C "$kdir" M="$(cd "$workdir" && pwd)" KCFLAGS=-Werror modules >"$workdir/build.log" 2>&1 || {
  cat "$workdir/build.log" >&2
  echo "build-out-of-tree: kbuild failed for $kver (log above)" >&2
  exit 1
}
cp "$workdir/vtrust_vmgenid.ko" "$out"
