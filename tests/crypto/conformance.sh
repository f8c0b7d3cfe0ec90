#!/usr/bin/env bash
# crypto conformance: vtrust-probe's core cases (protocol, rings, lifecycle)
# and the crypto.* cases against `vtrustd --type crypto`, then the QEMU 7.2
# preset (features 0x40000000, no SET_VRING_ENABLE, indirect rings).
# usage: conformance.sh PROBE VTRUSTD
set -u
probe=$1 vtrustd=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/crypto-conf.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
# config_space=true: the probe reads the config space (GET_CONFIG); QEMU 7.2 does not.
"$vtrustd" --control-socket none --type crypto --socket-path "$work/c.sock" --opt config_space=true \
	>"$work/vtrustd.log" 2>&1 &
pid=$!
rc=0
"$probe" --socket "$work/c.sock" --device crypto conformance || rc=1
"$probe" --socket "$work/c.sock" --device crypto --indirect conformance 'crypto.*' || rc=1
kill -0 "$pid" 2>/dev/null || { echo "FAIL: vtrustd died"; rc=1; }
[ $rc -ne 0 ] && tail -20 "$work/vtrustd.log"
exit $rc
