#!/usr/bin/env bash
# vtrustd --type rng end to end through vtrust-probe: raw bytes (QEMU 7.2's
# shape too), 1 MiB through rngtest with a negative control, the leak-queue
# protocol over DEVICE_STATE and over the control socket, vtrustctl leak,
# status and metrics.
. "$(dirname "$0")/common.sh"
start d --type rng --socket-path "$work/rng.sock"
P() { "$probe" --socket "$work/rng.sock" "$@"; }

# Exact byte counts, the Linux driver's shape with QEMU 7.2's features and queue size.
[ "$(P rng read 100000 | wc -c)" = 100000 ] || fail "read 100000"
[ "$(P --features qemu-rng --queue-size 4 rng read 4096 --chunk 64 --depth 1 | wc -c)" = 4096 ] \
	|| fail "QEMU 7.2 shaped read"
a=$(P rng read 64 | od -An -tx1 | tr -d ' \n')
b=$(P rng read 64 | od -An -tx1 | tr -d ' \n')
[ "$a" != "$b" ] || fail "two reads returned the same bytes"

# rngtest (FIPS 140-2) on 1 MiB: 419 blocks of 2500 bytes after 4 seed bytes.
# An ideal source fails ~0.8 blocks in 1000, so allow 3 (P(>3) ~ 4e-4).
P rng read 1048576 > "$work/out" || fail "read 1 MiB"
[ "$(stat -c %s "$work/out")" = 1048576 ] || fail "1 MiB read is short"
count() { sed -n "s/^rngtest: FIPS 140-2 $1: //p"; }
out=$(rngtest < "$work/out" 2>&1)
ok=$(printf '%s\n' "$out" | count successes)
bad=$(printf '%s\n' "$out" | count failures)
echo "rngtest on 1 MiB of device output: $ok passed, $bad failed"
[ -n "$ok" ] && [ $((ok + bad)) -eq 419 ] || fail "rngtest did not test 419 blocks: $out"
[ "$bad" -le 3 ] || fail "rngtest: $bad of 419 blocks failed"
# Negative control: the same bytes with every fourth byte's top bit cleared must fail.
python3 -c "
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
for i in range(0, len(d), 4): d[i] &= 0x7f
open(sys.argv[2], 'wb').write(d)" "$work/out" "$work/biased"
badc=$(rngtest < "$work/biased" 2>&1 | count failures)
[ "${badc:-0}" -gt 3 ] || fail "the biased control passed rngtest: this test cannot fail"

# Leak protocol: DEVICE_STATE load (a VM restore) and the control socket.
P rng leak-test --events 6 --buffers 8 > "$work/lt1" || fail "leak-test (state): $(cat "$work/lt1")"
grep -q "PASS leak-test: 6 events via DEVICE_STATE" "$work/lt1" || fail "leak-test output"
P rng leak-test --events 4 --control "$work/d.ctl" --name rng0 > "$work/lt2" \
	|| fail "leak-test (control): $(cat "$work/lt2")"

# vtrustctl leak bumps the epoch shown by status and metrics.
e0=$(C d --json status | python3 -c "
import json, sys
s = json.load(sys.stdin)
d = [x for x in s['devices'] if x['name'] == 'rng0'][0]
print(d['device']['leak']['epoch'] if 'device' in d else d['leak']['epoch'])") || fail "status json"
C d leak rng0 >/dev/null || fail "vtrustctl leak"
e1=$(C d metrics | sed -n 's/^vtrust_rng_leak_epoch{[^}]*} //p')
[ "${e1%.*}" = $((e0 + 1)) ] || fail "epoch $e0 -> metrics $e1"
C d metrics | grep -q '^vtrust_rng_degraded{[^}]*} 0' || fail "rng_degraded metric"
C d metrics | grep -q '^vtrust_rng_leak_buffers_total{[^}]*kind="fill"' || fail "leak metrics"
C d status | grep -q "ok" || fail "status"
echo "PASS rng basic"
