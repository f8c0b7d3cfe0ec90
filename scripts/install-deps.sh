#!/usr/bin/env bash
# Installs the Debian bookworm packages vtrust needs to build, run and test.
# Idempotent: only missing packages are installed; apt-get update runs only then.
set -euo pipefail

PKGS=(
  # build
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  libssl-dev openssl libinih-dev libjson-c-dev libseccomp-dev libsystemd-dev
  scdoc
  # tests
  rng-tools5 prometheus python3 python3-cryptography procps systemd
  # real-guest test (tests/vm)
  qemu-system-x86 linux-image-amd64 busybox-static kcapi-tools cpio kmod
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
