#!/usr/bin/env bash
# End-to-end RPMB benchmark: vtrustd serving a fresh store, `vtrust-probe rpmb
# bench` driving it (kick -> call per request) with the fdatasync baseline
# measured by the probe in the same directory. Ends with ratio=.
set -euo pipefail
probe=$1 vtrustd=$2 dir=$3
work=$(mktemp -d "$dir/rpmb-e2e.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
"$vtrustd" --type rpmb --socket-path "$work/s.sock" --opt store="$work/b.rpmb" \
  --opt capacity=16 --opt max-wr-cnt=32 --log-level warning &
pid=$!
key=$(printf '%064x' 7)
"$probe" --socket "$work/s.sock" --device rpmb rpmb bench --key "$key" --dir "$work" --iterations 1000
