#!/usr/bin/env bash
# Every conformance case (core protocol and ring cases, then rpmb.*) against
# vtrustd's rpmb device on a fresh store with a migration key.
set -euo pipefail
probe=$1 vtrustd=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/rpmb-conf.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
head -c 32 /dev/urandom > "$work/mig.key"; chmod 600 "$work/mig.key"
"$vtrustd" --type rpmb --socket-path "$work/s.sock" --opt store="$work/c.rpmb" \
  --opt capacity=1 --opt max-wr-cnt=8 --opt max-rd-cnt=4 --opt migration-key="$work/mig.key" \
  --log-level err &
pid=$!
"$probe" --socket "$work/s.sock" --device rpmb conformance | tee "$work/out"
grep -q '^PASS rpmb.device_state' "$work/out"
grep -q '^PASS rpmb.no_key' "$work/out"
