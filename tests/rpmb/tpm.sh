#!/usr/bin/env bash
# Rollback detection with a real software TPM (issue 12, attack 2): vtrustd's
# rpmb store anchored in an NV counter of a swtpm this test starts (TCP on
# loopback, its own state directory). A restored older copy of the store file
# is refused (one log line, state rolled_back in the status, a metric); so is
# a copy of a migration destination taken before its import; a store
# anchored in a TPM never starts without it; without a TPM the daemon says
# that rollback is not detected.
set -u
probe=$1 vtrustd=$2 ctl=$3
command -v swtpm >/dev/null || { echo "SKIP: swtpm not installed (apt-get install swtpm)"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/rpmb-tpm.XXXXXX")
tpmpid= pids=()
fail() { echo "FAIL: $*"; tail -5 "$work/d.log" 2>/dev/null; exit 1; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ -n "$tpmpid" ] && kill "$tpmpid" 2>/dev/null && wait "$tpmpid" 2>/dev/null
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

# swtpm on a free loopback port pair.
mkdir -p "$work/tpm"
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  swtpm socket --tpm2 --tpmstate dir="$work/tpm" --flags not-need-init,startup-clear \
    --server type=tcp,port=$port,bindaddr=127.0.0.1 --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
    >"$work/swtpm.log" 2>&1 &
  tpmpid=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  kill -0 "$tpmpid" 2>/dev/null && break
  tpmpid=
done
[ -n "$tpmpid" ] || fail "swtpm did not start: $(cat "$work/swtpm.log")"
tcti="swtpm:host=127.0.0.1,port=$port"
# The swtpm TCTI connects anew for every command (socket(AF_INET) + connect), which the
# enforcing seccomp allow-lists refuse: the daemons run with --seccomp log here.

key=$(printf '%064x' 0x77)
head -c 32 /dev/urandom > "$work/mig"; chmod 600 "$work/mig"
head -c 512 /dev/urandom > "$work/data"
daemon() { # NAME [OPTS...]: vhost $work/NAME.sock, control $work/NAME.ctl, store $work/NAME.rpmb
  local n=$1; shift
  rm -f "$work/$n.ctl"
  "$vtrustd" --type rpmb --socket-path "$work/$n.sock" --control-socket "$work/$n.ctl" \
    --opt store="$work/$n.rpmb" --opt capacity=1 --opt migration_key="$work/mig" "$@" \
    --seccomp log >>"$work/d.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -S "$work/$n.ctl" ] && return 0; kill -0 "${pids[-1]}" 2>/dev/null || return 1; sleep 0.05; done
  return 1
}
stopall() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; pids=(); }
killall9() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; pids=(); }
P() { local n=$1; shift; "$probe" --socket "$work/$n.sock" --device rpmb "$@"; }
C() { local n=$1; shift; "$ctl" --socket "$work/$n.ctl" "$@"; }
counter() { P "$1" rpmb counter --key "$key" 2>&1; }
write() { P "$1" rpmb write --key "$key" --address "$2" < "$work/data" >/dev/null || fail "write on $1"; }

# 1. A restored copy of the store file, taken while the daemon ran: refused.
daemon a --opt tpm="$tcti" || fail "daemon with a TPM"
C a rpmb info rpmb0 | grep -q "rollback_detection: tpm" || fail "status: rollback_detection"
P a rpmb program-key --key "$key" >/dev/null || fail "program-key"
write a 0
cp -p "$work/a.rpmb" "$work/a.old"
write a 2; write a 4
[ "$(counter a)" = "counter=3" ] || fail "counter 3"
stopall
cp -p "$work/a.rpmb" "$work/a.new"
cp -p "$work/a.old" "$work/a.rpmb"
daemon a --opt tpm="$tcti" || fail "daemon on the restored copy did not start (it must start, refusing)"
counter a | grep -q GENERAL_FAILURE || fail "a restored older copy served: $(counter a)"
C a rpmb info rpmb0 | grep -q "state: rolled_back" || fail "status does not say rolled_back"
C a metrics | grep -q '^vtrust_rpmb_rolled_back.* 1$' || fail "metric vtrust_rpmb_rolled_back"
grep -q "ROLLED BACK: the store file is older than its TPM anchor" "$work/d.log" || fail "no clear log line"
C a rpmb export rpmb0 "$work/x" "vtrpmb1-$(printf '%032x' 1)-$(printf '%032x' 2)" >/dev/null 2>&1 \
  && fail "a rolled-back store exported"
stopall
# The newest store is served again, and the refusal wrote nothing.
cp -p "$work/a.new" "$work/a.rpmb"
daemon a --opt tpm="$tcti" || fail "daemon on the newest store"
[ "$(counter a)" = "counter=3" ] || fail "newest store: $(counter a)"

# 2. Writes advance the anchor without a restart: after 80 writes and a SIGKILL
#    (no clean shutdown), a copy from before them is refused.
cp -p "$work/a.rpmb" "$work/a.old"
P a rpmb bench --key "$key" --iterations 30 --dir "$work" >/dev/null || fail "70 writes (probe bench)"
killall9
cp -p "$work/a.old" "$work/a.rpmb"
daemon a --opt tpm="$tcti" || fail "daemon (after SIGKILL)"
counter a | grep -q GENERAL_FAILURE || fail "a copy 80 writes old served after a crash"
stopall

# 3. A copy of a migration destination taken before its import (ticket outstanding):
#    restored after the import, it cannot import the blob a second time.
rm -f "$work/a.rpmb" "$work/b.rpmb"
daemon a --opt tpm="$tcti" && daemon b --opt tpm="$tcti" || fail "daemons a, b"
P a rpmb program-key --key "$key" >/dev/null || fail "program-key a"
write a 0
t=$(C b rpmb ticket rpmb0) || fail "ticket"
cp -p "$work/b.rpmb" "$work/b.old"
C a rpmb export rpmb0 "$work/blob" "$t" >/dev/null || fail "export"
C b rpmb import rpmb0 "$work/blob" >/dev/null || fail "import"
write b 2
stopall
cp -p "$work/b.old" "$work/b.rpmb"
daemon b --opt tpm="$tcti" || fail "daemon on the old destination copy"
C b rpmb import rpmb0 "$work/blob" >/dev/null 2>&1 && fail "the blob was imported twice through a store copy"
C b rpmb info rpmb0 | grep -q "state: rolled_back" || fail "old destination copy not refused"
stopall

# 3b. The same with a failed migration (issue 12, void receipt): a copy of the destination
#     taken while its ticket was outstanding, restored after the source resumed on the
#     receipt, neither imports the old blob nor prints a receipt.
rm -f "$work/a.rpmb" "$work/b.rpmb" "$work/blob"
daemon a --opt tpm="$tcti" && daemon b --opt tpm="$tcti" || fail "daemons a, b (3b)"
P a rpmb program-key --key "$key" >/dev/null || fail "program-key a (3b)"
write a 0
t=$(C b rpmb ticket rpmb0) || fail "ticket (3b)"
cp -p "$work/b.rpmb" "$work/b.old"
C a rpmb export rpmb0 "$work/blob" "$t" >/dev/null || fail "export (3b)"
r=$(C b rpmb ticket-cancel rpmb0) || fail "ticket-cancel (3b)"
C a rpmb cancel-export rpmb0 "$r" >/dev/null || fail "cancel-export with the receipt (3b)"
write a 1
killall9 # no shutdown bump: only ticket-cancel's own bump tells the copy from the newest
cp -p "$work/b.old" "$work/b.rpmb"
daemon b --opt tpm="$tcti" || fail "daemon on the old destination copy (3b)"
C b rpmb import rpmb0 "$work/blob" >/dev/null 2>&1 && fail "old blob imported through a pre-cancel store copy"
C b rpmb ticket-cancel rpmb0 >/dev/null 2>&1 && fail "a rolled-back store printed a receipt"
stopall

# 4. A store anchored in a TPM does not start without it.
cp -p "$work/a.rpmb" "$work/a.keep"
if "$vtrustd" --type rpmb --socket-path "$work/z.sock" --opt store="$work/a.rpmb" >"$work/z.log" 2>&1; then
  fail "an anchored store started without its TPM"
fi
grep -q "anchored in TPM NV index" "$work/z.log" || fail "no clear error: $(cat "$work/z.log")"

# 5. Without a TPM the daemon says rollback is not detected: log, status, metrics.
daemon c || fail "daemon without a TPM"
grep -q "rollback of the store file .* is NOT detected" "$work/d.log" || fail "no log line without a TPM"
C c rpmb info rpmb0 | grep -q "rollback_detection: NONE" || fail "status without a TPM"
C c metrics | grep -q '^vtrust_rpmb_rollback_detection.* 0$' || fail "metric without a TPM"
stopall
echo "rpmb-tpm: all checks passed"
