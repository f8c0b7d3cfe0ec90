# Shared by the rng integration tests: a scratch dir, vtrustd instances started
# by this script only (killed by pid at exit), and probe/ctl helpers.
set -u
probe=$1 vtrustd=$2 ctl=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/rng-it.XXXXXX")
pids=()
fail() {
	echo "FAIL: $*"
	for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -8 "$f"; }; done
	exit 1
}
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
# start NAME ARGS...: vtrustd with a control socket $work/NAME.ctl, log $work/NAME.log
start() {
	local name=$1
	shift
	"$vtrustd" --control-socket "$work/$name.ctl" --log-level info "$@" >>"$work/$name.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do [ -S "$work/$name.ctl" ] && return 0; sleep 0.05; done
	fail "vtrustd $name did not start"
}
stop_last() {
	local p=${pids[-1]}
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	unset 'pids[-1]'
}
C() { "$ctl" --socket "$work/$1.ctl" "${@:2}"; }
now_ns() { date +%s%N; }
