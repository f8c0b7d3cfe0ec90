#!/usr/bin/env bash
# Crypto end to end (issue 18's probe goal): vtrustd's crypto device driven by vtrust-probe as
# QEMU 7.2 drives it (legacy layouts, no ring enable), AES-256-GCM / AES-128-CBC / SHA-256 /
# HMAC-SHA256 at 64 B depth 1 and 16 KiB depth 64, each device run interleaved with the same EVP
# calls in the probe (raw OpenSSL) in the same run. The worker_ns column is vtrustd's own time
# per request (its metrics through the control socket), drv_ns the probe's own CPU per request.
# Each rep interleaves device and raw in 5 turns (a shared host's drift weighs on both); the
# goal cell runs 11 reps of 0.3 s a side. Ends with the probe's
# `ratio=<median of the reps' e2e / raw, AES-256-GCM 16 KiB depth 64>` (goal >= 0.90).
set -u
probe=$1 vtrustd=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/crypto-bench.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$vtrustd" --type crypto --socket-path "$work/c.sock" --control-socket "$work/ctl.sock" \
	--opt config_space=true --log-level warning >"$work/d.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "$work/ctl.sock" ] && break; sleep 0.05; done
# Small requests one at a time first (what a notification costs), the goal cell last (headline).
"$probe" --socket "$work/c.sock" --device crypto --features qemu-crypto --no-vring-enable \
	crypto bench --sizes 64 --depths 1 --reps "${REPS:-5}" --seconds "${SECONDS_PER_RUN:-0.5}" \
	--control "$work/ctl.sock" | grep -v '^ratio=' || { cat "$work/d.log"; exit 1; }
"$probe" --socket "$work/c.sock" --device crypto --features qemu-crypto --no-vring-enable \
	crypto bench --sizes 16384 --depths 64 --reps "${REPS:-11}" --seconds "${SECONDS_PER_RUN:-0.3}" \
	--control "$work/ctl.sock" || { cat "$work/d.log"; exit 1; }
