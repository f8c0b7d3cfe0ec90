#!/usr/bin/env bash
# rng end to end: vtrustd (busy-poll 50 µs, as a throughput deployment would
# run it) driven by vtrust-probe as a sleeping EVENT_IDX driver with deep
# queues (on 2 vCPUs a spinning driver takes the device's CPU): throughput at 64 B, 4 KiB
# and 64 KiB against raw EVP_RAND fills and read(/dev/urandom) measured in the
# same run, then the leak latency from the control-socket command to 64
# parked buffers used and the call signalled. Ends with the probe's
# `ratio=<device / raw DRBG at 4 KiB>`.
set -u
probe=$1 vtrustd=$2 ctl=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/rng-bench.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$vtrustd" --type rng --socket-path "$work/rng.sock" --control-socket "$work/ctl.sock" \
	--busy-poll-us "${BUSY_POLL_US:-50}" --log-level warning >"$work/d.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "$work/ctl.sock" ] && break; sleep 0.05; done
"$probe" --socket "$work/rng.sock" rng bench --reps "${REPS:-5}" --seconds 1 \
	--control "$work/ctl.sock" --name rng0 || { cat "$work/d.log"; exit 1; }
echo "device-internal leak latency of the last event (vtrust_rng_leak_last_fill_seconds):"
"$ctl" --socket "$work/ctl.sock" metrics | grep '^vtrust_rng_leak_last_fill_seconds'
