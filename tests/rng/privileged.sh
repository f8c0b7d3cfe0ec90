#!/usr/bin/env bash
# The privileged lane: three unprivileged rng devices flood at full speed
# while the privileged one still gets at least its floor. First with a
# process-wide budget (the unprivileged share is what the floor leaves),
# then with a budget far above what the CPU can serve.
. "$(dirname "$0")/common.sh"
rate() { # socket seconds -> bytes/s read through the probe (large requests, deep queue)
	local t0 t1 n
	t0=$(now_ns)
	n=$(timeout "$2" "$probe" --socket "$1" --timeout-ms 10000 rng read 100000000000 \
		--chunk 65536 --depth 32 2>/dev/null | wc -c)
	t1=$(now_ns)
	python3 -c "print(int($n / (($t1 - $t0) / 1e9)))"
}
run() { # budget floor
	local budget=$1 floor=$2
	start m --run-dir "$work" --state-dir "$work" \
		--device "u1:rng,budget_bytes_per_sec=$budget" --device u2:rng --device u3:rng \
		--device "p:rng,privileged=true,floor_bytes_per_sec=$floor,socket_mode=0600"
	local fl=()
	for u in u1 u2 u3; do
		rate "$work/$u.sock" 4 > "$work/$u.rate" &
		fl+=($!)
	done
	sleep 0.5 # the flood is on
	local p
	p=$(rate "$work/p.sock" 3)
	for f in "${fl[@]}"; do wait "$f"; done
	local u1 u2 u3
	u1=$(cat "$work/u1.rate") u2=$(cat "$work/u2.rate") u3=$(cat "$work/u3.rate")
	echo "budget $budget B/s, floor $floor B/s: privileged $p B/s; unprivileged $u1 + $u2 + $u3 B/s"
	python3 -c "import sys; sys.exit(0 if $p >= 0.95 * $floor else 1)" \
		|| fail "the privileged lane got $p B/s, below its floor $floor"
	if [ "$budget" -lt 1000000000 ]; then
		python3 -c "import sys; sys.exit(0 if $u1 + $u2 + $u3 <= 1.05 * ($budget - $floor) else 1)" \
			|| fail "unprivileged devices exceeded the shared budget"
	fi
	C m metrics | grep -q '^vtrust_rng_privileged{device="p"[^}]*} 1' || fail "privileged metric"
	stop_last
}
run 40000000 8000000      # 40 MB/s budget, 8 MB/s floor
run 100000000000 50000000 # budget beyond the CPU: the floor still holds
echo "PASS rng privileged"
