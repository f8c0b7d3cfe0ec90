#!/usr/bin/env bash
# Proves the conformance harness can fail: runs vtrust-probe against the
# test-only mock back-end (mock_backend.h) in three modes and checks the
# verdicts. usage: conformance-selftest.sh PROBE MOCK
set -u
probe=$1
mock=$2
dir=$(mktemp -d /tmp/probe-selftest.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
fail=0
check() { # check NAME CONDITION-RESULT
	if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1"; fail=1; fi
}
start_mock() { # start_mock SOCKET ARGS...
	local sock=$1
	shift
	"$mock" --socket "$sock" "$@" &
	pids+=($!)
}

# 1. A mock that serves correct requests correctly: the lifecycle and null cases pass.
start_mock "$dir/good.sock"
"$probe" --socket "$dir/good.sock" --timeout-ms 1000 --device null conformance 'flow.*' 'null.*' >"$dir/good.out" 2>&1
rc=$?
check "good-mock-null-cases-pass" $((rc != 0))
tail -1 "$dir/good.out" | grep -Eq '^[0-9]+ passed, 0 failed$'
check "good-mock-final-line" $?

# 2. A naive back-end that accepts every message, serves malformed chains and leaks fds.
start_mock "$dir/naive.sock" --naive --leak-fds
"$probe" --socket "$dir/naive.sock" --timeout-ms 500 conformance >"$dir/naive.out" 2>&1
rc=$?
check "naive-mock-exit-nonzero" $((rc == 0))
grep -q '^FAIL proto.vring_num.zero: accepted (REPLY_ACK 0)' "$dir/naive.out"
check "naive-mock-accepts-bad-num" $?
grep -q '^FAIL ring.desc_loop: the back-end completed a malformed chain' "$dir/naive.out"
check "naive-mock-serves-loop" $?
grep -q '^FAIL proto.fd.get_features_with_fd: the back-end kept an fd' "$dir/naive.out"
check "naive-mock-leaks-fd" $?
tail -1 "$dir/naive.out" | grep -Eq '^[0-9]+ passed, [1-9][0-9]* failed$'
check "naive-mock-final-line" $?

# 3. A back-end that dies on an unknown request: that case fails, later ones too.
start_mock "$dir/die.sock" --die-on 1000
"$probe" --socket "$dir/die.sock" --timeout-ms 500 conformance 'proto.unknown.*' >"$dir/die.out" 2>&1
rc=$?
check "dying-mock-exit-nonzero" $((rc == 0))
grep -q '^FAIL proto.unknown.1000: afterwards: the back-end process [0-9]* died' "$dir/die.out"
check "dying-mock-detected" $?
grep -q '^FAIL proto.unknown.max: not run: the back-end is unreachable since proto.unknown.1000' "$dir/die.out"
check "dying-mock-later-cases-fail" $?

if [ $fail -ne 0 ]; then
	for f in "$dir"/*.out; do echo "== $f"; cat "$f"; done
fi
exit $fail
