#!/bin/sh
# rngtest.sh DUMP: FIPS 140-2 tests (rngtest from rng-tools5) on 1000 blocks
# (2.5 MB) of fresh generator output.
#
# Pass rule: all 1000 blocks tested and at most 5 failed. rngtest exits 1 if
# even one block fails, and an ideal source fails about 0.8 blocks in 1000
# (FIPS 140-2 bounds are ~3.9 sigma per test): /dev/urandom on the project VM
# gave a non-zero count in 16 of 30 runs. So the exit code alone would fail
# half the time; P(>= 6 failures) for an ideal source is ~2e-4.
# A negative control (every fourth byte's top bit cleared) must fail.
set -eu
dump=$1
if ! command -v rngtest >/dev/null 2>&1; then
	echo "rngtest (rng-tools5) not installed"
	exit 77
fi
blocks=1000
bytes=$((blocks * 2500 + 4)) # rngtest's first 32 bits seed its continuous-run test
max_fail=5

count() { # $1: successes|failures, $2: rngtest output
	printf '%s\n' "$2" | sed -n "s/^rngtest: FIPS 140-2 $1: //p"
}

out=$("$dump" "$bytes" | rngtest -c "$blocks" 2>&1) && rc=0 || rc=$?
printf '%s\n' "$out"
ok=$(count successes "$out")
bad=$(count failures "$out")
echo "rngtest exit status $rc; $ok passed, $bad failed (allowed: $max_fail)"
if [ -z "$ok" ] || [ -z "$bad" ] || [ "$rc" -gt 1 ] || [ $((ok + bad)) -ne "$blocks" ]; then
	echo "FAIL rngtest did not test $blocks blocks"
	exit 1
fi
if [ "$bad" -gt "$max_fail" ]; then
	echo "FAIL generator output: $bad of $blocks blocks failed"
	exit 1
fi
echo "PASS generator output"

out=$("$dump" "$bytes" --biased | rngtest -c "$blocks" 2>&1) && rc=0 || rc=$?
bad=$(count failures "$out")
echo "control (biased stream): rngtest exit status $rc; $bad of $blocks blocks failed"
if [ -z "$bad" ] || [ "$bad" -le "$max_fail" ]; then
	echo "FAIL the biased control passed: this test cannot detect bias"
	exit 1
fi
echo "PASS biased control rejected"
