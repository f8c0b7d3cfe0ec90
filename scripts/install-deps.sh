#!/usr/bin/env bash
# Installs the Debian bookworm packages vtrust needs.
#   install-deps.sh            everything: build, run and test (`make check`)
#   install-deps.sh --runtime  only what builds and runs vtrustd (`make run`): no QEMU, no
#                              guest kernel, no Prometheus, no clang on a hypervisor host
#   install-deps.sh --list [--runtime]   print the package names, install nothing
# Idempotent: only missing packages are installed; apt-get update runs only then.
set -euo pipefail

# Build and run vtrustd, vtrustctl and vtrust-probe.
RUNTIME_PKGS=(
  build-essential meson ninja-build pkg-config
  libssl-dev openssl libinih-dev libjson-c-dev libseccomp-dev libsystemd-dev
  # the RPMB store's rollback anchor (TPM 2.0 NV counter through tpm2-tss ESAPI)
  libtss2-dev
)
# The test suite (make check): sanitizer and fuzz builds, man pages, tools the tests drive,
# and the real-guest test (tests/vm).
TEST_PKGS=(
  clang libclang-rt-14-dev scdoc
  rng-tools5 prometheus python3 python3-cryptography procps systemd
  python3-cryptography-vectors  # NIST CAVP files (crypto-cavp*, crypto-kat-e2e)
  # a software TPM the rpmb rollback tests start themselves (tests/rpmb/tpm.sh)
  swtpm swtpm-tools tpm2-tools
  # the real-guest tests (tests/vm); linux-headers-amd64 builds the guest module
  # (guest/vmgenid) for the clone test against the same kernel as linux-image-amd64
  qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static kcapi-tools cpio kmod
)

runtime=0 list=0
for a in "$@"; do
  case "$a" in
    --runtime) runtime=1 ;;
    --list) list=1 ;;
    *) echo "usage: install-deps.sh [--runtime] [--list]" >&2; exit 2 ;;
  esac
done
PKGS=("${RUNTIME_PKGS[@]}")
if [ $runtime -eq 0 ]; then PKGS+=("${TEST_PKGS[@]}"); fi
if [ $list -eq 1 ]; then printf '%s\n' "${PKGS[@]}"; exit 0; fi

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
