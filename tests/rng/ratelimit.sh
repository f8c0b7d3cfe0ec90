#!/usr/bin/env bash
# Rate limits: the measured rate over ~3 s is within 5 % of the configured one
# (bytes and requests), and a throttled device still answers other work.
# Bursts of 1/8 s absorb scheduling delays of that much on this shared 2-vCPU
# machine (a token bucket loses throughput only when its consumer is late by
# more than burst/rate).
. "$(dirname "$0")/common.sh"
check() { # name configured measured
	python3 -c "
import sys
cfg, got = float(sys.argv[2]), float(sys.argv[3])
err = abs(got - cfg) / cfg
print('%s: configured %.0f, measured %.0f (%+.2f %%)' % (sys.argv[1], cfg, got, 100 * (got - cfg) / cfg))
sys.exit(0 if err <= 0.05 else 1)" "$@" || fail "$1 off by more than 5 %"
}
stat() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" "$work/stats"; }
# Bytes: 2 MB/s, burst 256 KiB; read 6 MB + the burst: ~3 s after the burst.
start b --type rng --socket-path "$work/b.sock" --opt rate_bytes_per_sec=2000000 \
	--opt burst_bytes=262144
n=$("$probe" --socket "$work/b.sock" --timeout-ms 5000 rng read $((6000000 + 262144)) --chunk 4096 \
	--depth 8 --stats 2>"$work/stats" | wc -c)
[ "$n" = $((6000000 + 262144)) ] || fail "short read $n"
check "bytes/s" 2000000 "$(python3 -c "print(6000000 / $(stat seconds))")"

# Requests: 400/s, burst 50, 64-byte requests, 1200 + 50 requests: ~3 s after the burst.
start r --type rng --socket-path "$work/r.sock" --opt rate_requests_per_sec=400 \
	--opt burst_requests=50
n=$("$probe" --socket "$work/r.sock" --timeout-ms 5000 rng read $(((1200 + 50) * 64)) --chunk 64 \
	--depth 16 --stats 2>"$work/stats" | wc -c)
[ "$n" = $(((1200 + 50) * 64)) ] || fail "short read $n"
check "requests/s" 400 "$(python3 -c "print(1200 / $(stat seconds))")"
C r metrics | grep -q '^vtrust_rng_throttled_total{[^}]*reason="requests"} [1-9]' \
	|| fail "throttling not counted"
# A throttled device does not hold up the daemon: the control socket answers at once.
t0=$(now_ns)
C r status >/dev/null || fail "status while throttled"
t1=$(now_ns)
[ $(((t1 - t0) / 1000000)) -lt 1000 ] || fail "control socket slow while throttled"
echo "PASS rng ratelimit"
