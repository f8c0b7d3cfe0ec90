#!/usr/bin/env bash
# Builds the guest initramfs for the real-guest test (tests/vm) and prints its path.
#
#   mkinitramfs.sh --kver KERNEL_VERSION --out-dir DIR [--force] [--extra-bin FILE]...
#
# Contents: busybox-static (with applet links), the guest kernel's virtio_pci, virtio-rng,
# virtio_crypto (+crypto_engine), af_alg and algif_skcipher modules with their dependencies
# (resolved with `modprobe --show-depends`, decompressed if the kernel ships them compressed),
# kcapi-enc and rngtest with the shared libraries `ldd` names, the guest init and checks, and
# AES-CBC known-answer vectors whose expected outputs are computed here with `openssl enc`.
#
# The image is cached in DIR as initramfs-<key>.cpio, where <key> hashes the kernel version,
# this script, the guest scripts and every file copied in; a rerun with nothing changed costs
# a few hashes. Older images in DIR are removed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kver=""
out_dir=""
force=0
extra_bins=()   # static guest programs copied to /vtrust/bin (the benchmark's vtbench)

die() { echo "mkinitramfs: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --kver) kver=${2:?}; shift 2 ;;
    --out-dir) out_dir=${2:?}; shift 2 ;;
    --force) force=1; shift ;;
    --extra-bin) extra_bins+=("${2:?}"); shift 2 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[ -n "$kver" ] || die "--kver is required"
[ -n "$out_dir" ] || die "--out-dir is required"

moddir=/lib/modules/$kver
[ -f "$moddir/modules.dep" ] || die "no $moddir/modules.dep: install linux-image-amd64 (scripts/install-deps.sh)"
for tool in modprobe cpio openssl sha256sum ldd; do
  command -v "$tool" >/dev/null || die "'$tool' not found (scripts/install-deps.sh installs kmod, cpio, openssl)"
done

BUSYBOX=/usr/bin/busybox
[ -x /bin/busybox ] && ! [ -x "$BUSYBOX" ] && BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "busybox not found: install busybox-static"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
  die "$BUSYBOX is dynamically linked: install busybox-static"
fi
KCAPI_ENC=$(command -v kcapi-enc) || die "kcapi-enc not found: install kcapi-tools"
RNGTEST=$(command -v rngtest) || die "rngtest not found: install rng-tools5"

# The guest modules we need; their dependencies come from modules.dep.
MODULES=(virtio_pci virtio_rng crypto_engine virtio_crypto af_alg algif_skcipher crypto_user)

# Ordered, de-duplicated list of module files to load.
mod_files=()
declare -A seen=()
for m in "${MODULES[@]}"; do
  deps=$(modprobe -S "$kver" --show-depends "$m" 2>&1) || die "modprobe cannot resolve '$m' for $kver: $deps"
  while read -r verb path _; do
    case "$verb" in
      insmod)
        if [ -z "${seen[$path]:-}" ]; then
          seen[$path]=1
          mod_files+=("$path")
        fi ;;
      builtin) ;;  # compiled into the kernel: nothing to load
      *) die "unexpected modprobe output for '$m': $verb $path" ;;
    esac
  done <<<"$deps"
done
[ ${#mod_files[@]} -gt 0 ] || die "no module files resolved"

# Shared libraries (and the dynamic loader) of the guest tools.
libs_of() {
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}
mapfile -t libs < <( { libs_of "$KCAPI_ENC"; libs_of "$RNGTEST"; } | sort -u)

# ---- cache key -------------------------------------------------------------------------
key=$( {
  echo "kver=$kver"
  sha256sum "${BASH_SOURCE[0]}" "$here/guest/init" "$here/guest/checks.sh" "$here/guest/restart.sh" \
    "$BUSYBOX" "$KCAPI_ENC" "$RNGTEST" "${libs[@]}" "${mod_files[@]}" ${extra_bins[@]+"${extra_bins[@]}"} |
    awk '{ print $1 }'
  openssl version
} | sha256sum | cut -c1-16)
image="$out_dir/initramfs-$kver-$key.cpio"
mkdir -p "$out_dir"
if [ "$force" -eq 0 ] && [ -s "$image" ]; then
  echo "$image"
  exit 0
fi

stage=$(mktemp -d "$out_dir/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# ---- layout ------------------------------------------------------------------------------
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,root,vtrust/kat}
cp "$BUSYBOX" "$stage/bin/busybox"
while read -r applet; do
  [ -e "$stage/$applet" ] || [ -L "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
done < <("$BUSYBOX" --list-full)
[ -e "$stage/bin/sh" ] || ln -s /bin/busybox "$stage/bin/sh"

cp "$KCAPI_ENC" "$stage/usr/bin/kcapi-enc"
cp "$RNGTEST" "$stage/usr/bin/rngtest"
for lib in "${libs[@]}"; do
  mkdir -p "$stage$(dirname "$lib")"
  cp -L "$lib" "$stage$lib"
done

: >"$stage/vtrust/modules.order"
for f in "${mod_files[@]}"; do
  dst=$f
  case "$f" in
    *.ko.xz) dst=${f%.xz}; mkdir -p "$stage$(dirname "$f")"; xz -dc "$f" >"$stage$dst" ;;
    *.ko.zst) dst=${f%.zst}; mkdir -p "$stage$(dirname "$f")"; zstd -qdc "$f" >"$stage$dst" ;;
    *.ko.gz) dst=${f%.gz}; mkdir -p "$stage$(dirname "$f")"; gzip -dc "$f" >"$stage$dst" ;;
    *.ko) mkdir -p "$stage$(dirname "$f")"; cp "$f" "$stage$dst" ;;
    *) die "unexpected module file name: $f" ;;
  esac
  echo "$dst" >>"$stage/vtrust/modules.order"
done

install -m 0755 "$here/guest/init" "$stage/init"
install -m 0755 "$here/guest/checks.sh" "$stage/vtrust/checks.sh"
for b in ${extra_bins[@]+"${extra_bins[@]}"}; do
  mkdir -p "$stage/vtrust/bin"
  install -m 0755 "$b" "$stage/vtrust/bin/$(basename "$b")"
done
install -m 0755 "$here/guest/restart.sh" "$stage/vtrust/restart.sh"
echo "$kver" >"$stage/vtrust/kernel-version"

# ---- AES-CBC known-answer vectors ----------------------------------------------------------
# hex -> binary without xxd (not installed on CI).
unhex() { # hex string -> bytes on stdout
  local hex=$1 esc=""
  while [ -n "$hex" ]; do esc+="\\x${hex:0:2}"; hex=${hex:2}; done
  printf '%b' "$esc"
}
# Deterministic pseudo-random bytes: AES-256-CTR keystream keyed by sha256(label).
prbytes() { # label nbytes
  local k
  k=$(printf '%s' "$1" | sha256sum | cut -c1-64)
  head -c "$2" /dev/zero | openssl enc -aes-256-ctr -K "$k" -iv 00000000000000000000000000000000
}
prhex() { # label nhexchars
  printf '%s' "$1" | sha256sum | cut -c1-"$2"
}
kat_dir=$stage/vtrust/kat
: >"$kat_dir/index"
add_vector() { # name bits keyhex ivhex ptfile [expected_ct_hex]
  local name=$1 bits=$2 keyhex=$3 ivhex=$4 ptfile=$5 want=${6:-} d
  d=$kat_dir/$name
  mkdir -p "$d"
  unhex "$keyhex" >"$d/key"
  printf '%s\n' "$ivhex" >"$d/iv"
  cp "$ptfile" "$d/pt"
  openssl enc "-aes-$bits-cbc" -K "$keyhex" -iv "$ivhex" -nopad -in "$d/pt" -out "$d/ct"
  [ "$(stat -c %s "$d/ct")" -eq "$(stat -c %s "$d/pt")" ] || die "openssl produced a wrong-sized ciphertext for $name"
  if [ -n "$want" ]; then
    got=$(od -An -v -tx1 "$d/ct" | tr -d ' \n')
    [ "$got" = "$want" ] || die "host openssl disagrees with NIST SP 800-38A for $name: $got"
  fi
  echo "$name $bits $(stat -c %s "$d/pt")" >>"$kat_dir/index"
}

# NIST SP 800-38A appendix F.2: CBC-AES128/192/256 (F.2.1/F.2.3/F.2.5 encrypt, F.2.2/F.2.4/F.2.6
# decrypt: same key, IV and blocks, the other direction). The checks run both directions.
nist_iv=000102030405060708090a0b0c0d0e0f
nist_pt=6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710
unhex "$nist_pt" >"$stage/nist.pt"
add_vector nist-aes128 128 2b7e151628aed2a6abf7158809cf4f3c "$nist_iv" "$stage/nist.pt" \
  7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7
add_vector nist-aes192 192 8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b "$nist_iv" "$stage/nist.pt" \
  4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd
add_vector nist-aes256 256 603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4 "$nist_iv" "$stage/nist.pt" \
  f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b
rm -f "$stage/nist.pt"

# Generated vectors: one block, exactly one page, a page plus a block (crosses a page), and
# sixteen pages (AF_ALG's per-call limit in libkcapi, so one request of 64 KiB).
for bits in 128 192 256; do
  for size in 16 4096 4112 65536; do
    label="vtrust-vm-kat-aes$bits-$size"
    prbytes "$label-pt" "$size" >"$stage/gen.pt"
    add_vector "aes$bits-$size" "$bits" "$(prhex "$label-key" $((bits / 4)))" "$(prhex "$label-iv" 32)" "$stage/gen.pt"
  done
done
rm -f "$stage/gen.pt"

# Pause/resume vector: 128 KiB, fed in two 64 KiB halves to one kcapi-enc process (one key,
# so one pair of device sessions) on either side of the VM pause.
label=vtrust-vm-kat-pause
prbytes "$label-pt" 131072 >"$stage/pause.pt"
add_vector pause-aes256 256 "$(prhex "$label-key" 64)" "$(prhex "$label-iv" 32)" "$stage/pause.pt"
rm -f "$stage/pause.pt"
head -c 65536 "$kat_dir/pause-aes256/pt" >"$kat_dir/pause-aes256/pt1"
tail -c 65536 "$kat_dir/pause-aes256/pt" >"$kat_dir/pause-aes256/pt2"
# Keep it out of the ordinary KAT loop.
grep -v '^pause-' "$kat_dir/index" >"$kat_dir/index.tmp" && mv "$kat_dir/index.tmp" "$kat_dir/index"

# ---- archive -------------------------------------------------------------------------------
# Uncompressed: under TCG, copying is cheaper for the guest than decompressing.
tmp_image=$(mktemp "$out_dir/initramfs.tmp.XXXXXX")
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$tmp_image"
find "$out_dir" -maxdepth 1 -name 'initramfs-*.cpio' ! -name "$(basename "$image")" -delete
chmod 0644 "$tmp_image"
mv -f "$tmp_image" "$image"
echo "$image"
