#!/usr/bin/env bash
# Prints the path of the guest kernel image QEMU should boot.
#
#   prepare-kernel.sh --kernel /boot/vmlinuz-KVER --out-dir DIR
#
# Under TCG, decompressing Debian's XZ bzImage takes about 4 s of emulated time before the
# kernel even starts. When the kernel has CONFIG_PVH=y, QEMU can boot the uncompressed ELF
# vmlinux directly through its PVH entry point, so we extract it once (cached in DIR, keyed
# by the bzImage's hash) and boot that. Anything unexpected falls back to the bzImage itself.
set -euo pipefail

kernel=""
out_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) kernel=${2:?}; shift 2 ;;
    --out-dir) out_dir=${2:?}; shift 2 ;;
    *) echo "prepare-kernel: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
if ! [ -r "$kernel" ] || [ -z "$out_dir" ]; then
  echo "prepare-kernel: need a readable --kernel and --out-dir" >&2
  exit 2
fi

fallback() { echo "prepare-kernel: $*; booting the compressed image" >&2; echo "$kernel"; exit 0; }

# Already an ELF: boot as given.
if [ "$(head -c 4 "$kernel" | od -An -c | tr -d ' ')" = '177ELF' ]; then
  echo "$kernel"
  exit 0
fi

kver=$(basename "$kernel")
kver=${kver#vmlinuz-}
config=/boot/config-$kver
[ -r "$config" ] || fallback "no $config to tell whether the kernel supports PVH"
grep -qx 'CONFIG_PVH=y' "$config" || fallback "kernel built without CONFIG_PVH"

# Magic of the compressed payload inside the bzImage, and the matching decompressor.
if grep -qx 'CONFIG_KERNEL_XZ=y' "$config"; then
  magic='\xfd7zXZ\x00'; unpack=(xz -dc --single-stream)
elif grep -qx 'CONFIG_KERNEL_ZSTD=y' "$config"; then
  magic='\x28\xb5\x2f\xfd'; unpack=(zstd -qdc)
elif grep -qx 'CONFIG_KERNEL_GZIP=y' "$config"; then
  magic='\x1f\x8b\x08\x00'; unpack=(gzip -dc)
else
  fallback "unsupported kernel compression"
fi
command -v "${unpack[0]}" >/dev/null || fallback "${unpack[0]} not installed"

key=$(cat "$kernel" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
image=$out_dir/vmlinux-$kver-$key
if [ -s "$image" ]; then
  echo "$image"
  exit 0
fi
mkdir -p "$out_dir"

off=$(LC_ALL=C grep -obUaP "$magic" "$kernel" | head -n1 | cut -d: -f1) || true
[ -n "$off" ] || fallback "compressed payload not found in $kernel"
tmp=$(mktemp "$out_dir/vmlinux.tmp.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# gzip and zstd complain about the trailer after the stream; the ELF check below decides.
tail -c +$((off + 1)) "$kernel" | "${unpack[@]}" >"$tmp" 2>/dev/null || true
[ "$(head -c 4 "$tmp" | od -An -c | tr -d ' ')" = '177ELF' ] || fallback "extraction did not produce an ELF image"
[ "$(stat -c %s "$tmp")" -gt 1000000 ] || fallback "extracted image is implausibly small"
# Drop images of other kernels/builds.
find "$out_dir" -maxdepth 1 -name 'vmlinux-*' ! -name "$(basename "$image")" -delete
chmod 0644 "$tmp"
mv -f "$tmp" "$image"
echo "$image"
