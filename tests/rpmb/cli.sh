#!/usr/bin/env bash
# vtrust-probe rpmb program-key/counter/write/read against vtrustd, and the
# store's safety rules: lock, mode, corruption, restart, key provisioning.
set -u
probe=$1 vtrustd=$2 ctl=${3:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/rpmb-cli.XXXXXX")
pid=
fail() { echo "FAIL: $*"; [ -f "$work/d.log" ] && tail -5 "$work/d.log"; exit 1; }
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=; fi; }
pids=()
cleanup() { stop; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
start() { "$vtrustd" --type rpmb --socket-path "$work/s.sock" --opt store="$work/a.rpmb" \
            --opt capacity=1 "$@" --log-level notice >>"$work/d.log" 2>&1 & pid=$!; }
P() { "$probe" --socket "$work/s.sock" --device rpmb "$@"; }
key=$(printf '%064x' 0x1234)

start
P rpmb counter | grep -q . && fail "counter without a key should fail"
P rpmb program-key --key "$key" | grep -q 'key programmed' || fail "program-key"
P rpmb program-key --key "$key" 2>&1 | grep -q 'WRITE_FAILURE' || fail "second program-key"
[ "$(P rpmb counter --key "$key")" = "counter=0" ] || fail "counter 0"
head -c 3072 /dev/urandom > "$work/data"
P rpmb write --key "$key" --address 100 < "$work/data" | grep -q 'counter=1' || fail "write"
P rpmb read --key "$key" --address 100 --blocks 12 > "$work/back" || fail "read"
cmp -s "$work/data" "$work/back" || fail "read back differs"
head -c 100 /dev/urandom | P rpmb write --key "$key" --address 0 2>&1 | grep -q 'multiple of 256' \
  || fail "partial block accepted"
P rpmb read --key "$key" --address 511 --blocks 2 2>&1 | grep -q ADDR_FAILURE || fail "addr"
P rpmb write --key "$(printf '%064x' 5)" --address 0 < "$work/data" 2>&1 | grep -qE 'AUTH_FAILURE|bad MAC' \
  || fail "wrong key accepted"
[ "$(stat -c %a "$work/a.rpmb")" = 600 ] || fail "store mode"

# A second daemon on the same store refuses to start, with a clear error.
"$vtrustd" --type rpmb --socket-path "$work/s2.sock" --opt store="$work/a.rpmb" >"$work/d2.log" 2>&1
[ $? -ne 0 ] || fail "second daemon started"
grep -q 'in use' "$work/d2.log" || fail "no clear lock error: $(cat "$work/d2.log")"
# Nor after a copy was renamed over the path under the running daemon (issue 12, attack 5).
cp -p "$work/a.rpmb" "$work/a.copy" && mv "$work/a.copy" "$work/a.rpmb"
timeout 20 "$vtrustd" --type rpmb --socket-path "$work/s2.sock" --opt store="$work/a.rpmb" >"$work/d2.log" 2>&1
[ $? -ne 0 ] || fail "second daemon served a copy renamed over the store"
grep -q 'copy of it' "$work/d2.log" || fail "no clear identity-lock error: $(cat "$work/d2.log")"

# Restart (process exit): key, counter and data persist.
stop; start
[ "$(P rpmb counter --key "$key")" = "counter=1" ] || fail "counter after restart"
P rpmb read --key "$key" --address 100 --blocks 12 | cmp -s - "$work/data" || fail "data after restart"
stop

# Corrupt or truncated stores are refused, never re-initialised.
cp "$work/a.rpmb" "$work/good"
printf 'X' | dd of="$work/a.rpmb" bs=1 seek=20 conv=notrunc 2>/dev/null
"$vtrustd" --type rpmb --socket-path "$work/s.sock" --opt store="$work/a.rpmb" >"$work/d3.log" 2>&1 \
  && fail "corrupt superblock accepted"
grep -q 'corrupt superblock' "$work/d3.log" || fail "no clear corruption error"
cp "$work/good" "$work/a.rpmb"; truncate -s -512 "$work/a.rpmb"
"$vtrustd" --type rpmb --socket-path "$work/s.sock" --opt store="$work/a.rpmb" >"$work/d4.log" 2>&1 \
  && fail "truncated store accepted"
grep -q 'truncated' "$work/d4.log" || fail "no clear truncation error"
cmp -s <(head -c 4096 "$work/good") <(head -c 4096 "$work/a.rpmb") || fail "store rewritten"
cp "$work/good" "$work/a.rpmb"; chmod 644 "$work/a.rpmb"
"$vtrustd" --type rpmb --socket-path "$work/s.sock" --opt store="$work/a.rpmb" >"$work/d5.log" 2>&1 \
  && fail "mode 644 accepted"
chmod 600 "$work/a.rpmb"

# Key provisioning: HKDF-SHA256(master, salt "vtrust-rpmb-key-v1", info vm-id).
head -c 32 /dev/urandom > "$work/master"; chmod 600 "$work/master"
rm -f "$work/a.rpmb"
start --opt master-key="$work/master" --opt vm-id=vm-42
derived=$(python3 - "$work/master" <<'PY'
import hashlib, hmac, sys
ikm = open(sys.argv[1], "rb").read()
prk = hmac.new(b"vtrust-rpmb-key-v1", ikm, hashlib.sha256).digest()
print(hmac.new(prk, b"vm-42" + b"\x01", hashlib.sha256).hexdigest())
PY
)
P rpmb program-key --key "$key" 2>&1 | grep -q WRITE_FAILURE || fail "PROGRAM_KEY after provisioning"
[ "$(P rpmb counter --key "$derived")" = "counter=0" ] || fail "derived key does not authenticate"
stop
# The same store with another vm-id is refused.
"$vtrustd" --type rpmb --socket-path "$work/s.sock" --opt store="$work/a.rpmb" \
  --opt master-key="$work/master" --opt vm-id=vm-43 >"$work/d6.log" 2>&1 && fail "vm-id mismatch accepted"
grep -q 'different key' "$work/d6.log" || fail "no clear provisioning error"

# Migration through the control socket: the destination issues a ticket, the
# source exports for it, the destination imports it once (issue 12, attack 1).
if [ -x "$ctl" ]; then
  head -c 32 /dev/urandom > "$work/mig"; chmod 600 "$work/mig"
  rm -f "$work/a.rpmb" "$work/b.rpmb" "$work/c.rpmb"
  daemon() { # NAME: vhost socket $work/NAME.sock, control $work/NAME.ctl, store $work/NAME.rpmb
    "$vtrustd" --type rpmb --socket-path "$work/$1.sock" --control-socket "$work/$1.ctl" \
      --opt store="$work/$1.rpmb" --opt capacity=1 --opt migration_key="$work/mig" >>"$work/d.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do [ -S "$work/$1.ctl" ] && break; sleep 0.05; done
  }
  stopall() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; pids=(); }
  PA() { "$probe" --socket "$work/a.sock" --device rpmb "$@"; }
  PB() { "$probe" --socket "$work/b.sock" --device rpmb "$@"; }
  PC() { "$probe" --socket "$work/c.sock" --device rpmb "$@"; }
  C() { local n=$1; shift; "$ctl" --socket "$work/$n.ctl" "$@"; }
  daemon a; daemon b; daemon c
  PA rpmb program-key --key "$key" >/dev/null || fail "program-key (migration)"
  PA rpmb write --key "$key" --address 7 < "$work/data" >/dev/null || fail "write (migration)"
  C a rpmb info rpmb0 | grep -q . || fail "rpmb info"
  # No ticket, no export; a live store issues none.
  C a rpmb export rpmb0 "$work/blob" >/dev/null 2>&1 && fail "export without a ticket"
  C a rpmb ticket rpmb0 >/dev/null 2>&1 && fail "a live store issued an import ticket"
  t=$(C b rpmb ticket rpmb0) || fail "rpmb ticket"
  [[ "$t" =~ ^vtrpmb1-[0-9a-f]{32}-[0-9a-f]{32}$ ]] || fail "ticket format: $t"
  C a rpmb export rpmb0 "$work/blob" "$t" >/dev/null || fail "rpmb export"
  [ "$(stat -c %a "$work/blob")" = 600 ] || fail "blob mode"
  PA rpmb counter --key "$key" 2>&1 | grep -q GENERAL_FAILURE || fail "source still serves after export"
  C a rpmb export rpmb0 "$work/blob2" "$t" >/dev/null 2>&1 && fail "second export accepted"
  # The blob into a third, pristine store (even one holding a ticket of its own): refused.
  C c rpmb ticket rpmb0 >/dev/null || fail "ticket on c"
  C c rpmb import rpmb0 "$work/blob" 2>"$work/err" && fail "blob imported into another pristine store"
  grep -q "ticket" "$work/err" || fail "no clear ticket error: $(cat "$work/err")"
  # Back into the exported source: refused.
  C a rpmb ticket rpmb0 >/dev/null || fail "ticket on the exported source"
  C a rpmb import rpmb0 "$work/blob" >/dev/null 2>&1 && fail "blob imported back into the source"
  # The export is durable.
  stopall; daemon a; daemon b; daemon c
  PA rpmb counter --key "$key" 2>&1 | grep -q GENERAL_FAILURE || fail "export not durable"
  PB rpmb counter 2>&1 | grep -q NO_AUTH_KEY || fail "destination not fresh"
  C b rpmb import rpmb0 "$work/blob" >/dev/null || fail "rpmb import"
  [ "$(PB rpmb counter --key "$key")" = "counter=1" ] || fail "counter after import"
  PB rpmb read --key "$key" --address 7 --blocks 12 | cmp -s - "$work/data" || fail "data after import"
  PB rpmb write --key "$key" --address 7 < "$work/data" >/dev/null || fail "write after import"
  # Once only: again now, and after a restart with a fresh ticket (b exported on to c).
  C b rpmb import rpmb0 "$work/blob" >/dev/null 2>&1 && fail "blob imported twice"
  stopall; daemon a; daemon b; daemon c
  tc=$(C c rpmb ticket rpmb0) || fail "ticket on c"
  C b rpmb export rpmb0 "$work/blob-bc" "$tc" >/dev/null || fail "export b to c"
  C b rpmb ticket rpmb0 >/dev/null || fail "ticket on exported b"
  C b rpmb import rpmb0 "$work/blob" >/dev/null 2>&1 && fail "old blob replayed into b"
  C c rpmb import rpmb0 "$work/blob-bc" >/dev/null || fail "import on c"
  [ "$(PC rpmb counter --key "$key")" = "counter=2" ] || fail "counter on c"
  # Status tells an operator what is outstanding.
  C b rpmb info rpmb0 | grep -q "import_ticket_outstanding: true" || fail "ticket not in status"
  # a's blob was imported by b: a cancel-export now would give two live copies. A cancel
  # needs the destination's void receipt for the very ticket a exported for.
  C a rpmb cancel-export rpmb0 >/dev/null 2>&1 && fail "cancel-export without a receipt accepted"
  rb=$(C b rpmb ticket-cancel rpmb0) || fail "ticket-cancel"
  [[ "$rb" =~ ^vtrpmbv1-[0-9a-f]{64}$ ]] || fail "receipt format: $rb"
  C a rpmb cancel-export rpmb0 "$rb" 2>"$work/err" && fail "receipt for another ticket accepted"
  grep -q "receipt" "$work/err" || fail "no clear receipt error: $(cat "$work/err")"
  # The documented override (destination lost) still resumes, with a warning in the log.
  C a rpmb cancel-export rpmb0 --no-receipt-override >/dev/null || fail "cancel-export override"
  grep -q "WITHOUT a void receipt" "$work/d.log" || fail "override not logged"
  [ "$(PA rpmb counter --key "$key")" = "counter=1" ] || fail "source after cancel"
  # The receipt flow (issue 12, rollback via cancel-export): a exports for b's ticket t1,
  # the migration fails, a resumes on b's void receipt and writes on; the old blob must not
  # import at b (a rollback of those writes, two live copies), nor a export for t1 again.
  t1=$(C b rpmb ticket rpmb0) || fail "ticket t1 on b"
  C a rpmb export rpmb0 "$work/blob-a1" "$t1" >/dev/null || fail "export for t1"
  C a rpmb cancel-export rpmb0 >/dev/null 2>&1 && fail "cancel-export without a receipt accepted"
  r1=$(C b rpmb ticket-cancel rpmb0) || fail "ticket-cancel t1"
  C a rpmb cancel-export rpmb0 "$r1" >/dev/null || fail "cancel-export with b's receipt"
  PA rpmb write --key "$key" --address 7 < "$work/data" | grep -q 'counter=2' || fail "write after cancel"
  C b rpmb import rpmb0 "$work/blob-a1" >/dev/null 2>&1 && fail "old blob imported after the receipt"
  C a rpmb export rpmb0 "$work/blob-a2" "$t1" 2>"$work/err" && fail "re-export for a voided ticket"
  grep -q "fresh" "$work/err" || fail "no clear re-export error: $(cat "$work/err")"
  stopall; daemon a; daemon b; daemon c
  C b rpmb import rpmb0 "$work/blob-a1" >/dev/null 2>&1 && fail "old blob imported after restart"
  C a rpmb export rpmb0 "$work/blob-a2" "$t1" >/dev/null 2>&1 && fail "re-export after restart"
  [ "$(C b rpmb ticket-cancel rpmb0)" = "$r1" ] || fail "lost receipt not printed again"
  [ "$(PA rpmb counter --key "$key")" = "counter=2" ] || fail "source after the receipt flow"
  stopall
else
  echo "vtrustctl not built: control-socket migration skipped"
fi
echo "rpmb-cli: all checks passed"
