#!/usr/bin/env bash
# The whole conformance suite against the real null device of vtrustd.
# usage: conformance-vtrustd.sh PROBE VTRUSTD   (skips, exit 77, if VTRUSTD is absent)
set -u
probe=$1
vtrustd=$2
[ -x "$vtrustd" ] || { echo "SKIP: $vtrustd not built"; exit 77; }
dir=$(mktemp -d /tmp/probe-vtrustd.XXXXXX)
"$vtrustd" --type null --socket-path "$dir/null.sock" >"$dir/vtrustd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
fail=0
run() {
	echo "== vtrust-probe $*"
	"$probe" --socket "$dir/null.sock" --device null "$@" || fail=1
}
run conformance
# Same rings seen another way: indirect tables, four gpa-adjacent regions, QEMU 7.2 rng features.
run --indirect --mem-layout adjacent --mem-regions 4 --features qemu-rng conformance 'ring.*' 'null.*'
# QEMU 7.2 crypto: SET_FEATURES bit 30 only, no SET_VRING_ENABLE, guest-side indirect + EVENT_IDX.
run --features qemu-crypto --ring-features 0x30000000 --indirect conformance 'null.*'
if [ $fail -ne 0 ]; then echo "== vtrustd log"; tail -50 "$dir/vtrustd.log"; fi
exit $fail
