#!/usr/bin/env bash
# End-to-end RPMB benchmark: vtrustd serving a fresh store, `vtrust-probe rpmb
# bench` driving it (kick -> call per request) with the fdatasync baseline
# measured by the probe in the same directory. Ends with ratio=.
set -euo pipefail
probe=$1 vtrustd=$2 dir=$3 ctl=${4:-}
seccomp=${RPMB_BENCH_SECCOMP:-}
work=$(mktemp -d "$dir/rpmb-e2e.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
"$vtrustd" --type rpmb --socket-path "$work/s.sock" --opt store="$work/b.rpmb" \
  --control-socket "$work/c.sock" ${seccomp:+--seccomp "$seccomp"} \
  --opt capacity=16 --opt max-wr-cnt=32 --log-level err &
pid=$!
key=$(printf '%064x' 7)
"$probe" --socket "$work/s.sock" --device rpmb rpmb bench --key "$key" --dir "$work" \
  --iterations 1000 > "$work/out"
# Device-side DATA_WRITE latency as vtrustd measured it (request in -> answer ready).
if [ -x "$ctl" ]; then
  "$ctl" --socket "$work/c.sock" --json rpmb info rpmb0 > "$work/info" 2>/dev/null &&
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d=d.get("result", d); print("device-side DATA_WRITE p50 %.1f us, p99 %.1f us (vtrustd histogram, all writes)" % (d["write_latency_p50_us"], d["write_latency_p99_us"]))' "$work/info" || true
fi
cat "$work/out"
