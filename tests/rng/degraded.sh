#!/usr/bin/env bash
# Never weak output, end to end: a seed source that fails from the start or
# gets stuck at a later reseed makes vtrustd stop serving (requests wait, the
# probe times out) and report the degraded state in its log, metrics and
# status; once the source heals (test hook) it serves again.
. "$(dirname "$0")/common.sh"
P() { "$probe" --socket "$work/$1.sock" --timeout-ms 700 "${@:2}"; }
metric() { C "$1" metrics | sed -n "s/^vtrust_$2{[^}]*} //p" | head -1; }

# 1. getrandom() fails from the start: nothing is ever served.
start a --type rng --socket-path "$work/a.sock" --opt test_seed_fault=error \
	--opt test_hooks=true --opt seed_retry_ms=50
P a rng read 64 > "$work/a.out" 2>"$work/a.err" && fail "a failing seed source served bytes"
[ ! -s "$work/a.out" ] || fail "bytes were written to stdout by a degraded device"
grep -q "timeout" "$work/a.err" || fail "the request did not wait: $(cat "$work/a.err")"
grep -q "DEGRADED" "$work/a.log" || fail "no degraded log line"
[ "$(metric a rng_degraded)" = 1 ] || fail "rng_degraded metric"
C a status | grep -q "state: degraded" || fail "status does not show degraded"
C a status | grep -q "reason: seed source" || fail "status has no reason"
# The source heals: the next retry seeds and serves.
C a raw '{"cmd":"seed-fault","device":"rng0","args":{"fault":"none"}}' | grep -q '"ok":true' \
	|| fail "seed-fault hook"
[ "$(P a rng read 4096 | wc -c)" = 4096 ] || fail "no recovery after the source healed"
[ "$(metric a rng_degraded)" = 0 ] || fail "still degraded"

# 2. Healthy, then stuck at the third seed draw (reseed every 64 KiB): served
#    bytes stop; the repetition-count test caught it.
start b --type rng --socket-path "$work/b.sock" --opt test_seed_fault=stuck \
	--opt test_seed_fault_after=3 --opt reseed_bytes=65536
P b rng read 1048576 > "$work/b.out" 2>"$work/b.err" && fail "a stuck seed source kept serving"
n=$(stat -c %s "$work/b.out")
echo "stuck source: $n bytes served before the health test stopped the device"
[ "$n" -gt 0 ] && [ "$n" -le $((3 * 65536 + 16384 + 65536)) ] || fail "served $n bytes"
[ "$(metric b rng_health_failures_total)" -ge 1 ] 2>/dev/null || fail "no health failure counted"
grep -q "repetition count" "$work/b.log" || fail "the log does not name the RCT"
# 3. Biased source: the adaptive-proportion test.
start c --type rng --socket-path "$work/c.sock" --opt test_seed_fault=biased \
	--opt test_seed_fault_after=1 --opt reseed_bytes=4096
P c rng read 262144 > /dev/null 2>&1 && fail "a biased seed source kept serving"
grep -q "adaptive proportion" "$work/c.log" || fail "the log does not name the APT"
# The seed-fault hook is refused without test_hooks.
C b raw '{"cmd":"seed-fault","device":"rng0","args":{"fault":"none"}}' | grep -q test_hooks \
	|| fail "seed-fault accepted without test_hooks"
echo "PASS rng degraded"
