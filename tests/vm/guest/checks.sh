#!/bin/sh
# vtrust real-guest checks (run by /init inside the test VM; busybox ash).
#
# Prints one machine-readable line per check on the console:
#   VTRUST-PLAN n=<count> <name>...            once, before the checks
#   VTRUST-CHECK <name> PASS|FAIL <detail>     one per check
#   VTRUST-PAUSE-ME                            asks the host to stop/cont the VM; the host answers
#                                              with a line "VTRUST-RESUMED ..." on the console
#   VTRUST-DONE passed=<n> failed=<n>          last
# Environment: VTRUST_PAUSE=host|skip (default host), VTRUST_DUMP=1 to dump dmesg at the end.
set -u

DRV=virtio_crypto_aes_cbc
KAT=/vtrust/kat
PAUSE=${VTRUST_PAUSE:-host}
passed=0
failed=0

# One line, no control characters, bounded length.
oneline() { tr -d '\r' | tr '\n\t' '  ' | cut -c1-300; }

report() { # name PASS|FAIL detail...
  _name=$1 _st=$2
  shift 2
  if [ "$_st" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); _st=FAIL; fi
  echo "VTRUST-CHECK $_name $_st $(echo "$*" | oneline)"
}

now_cs() { # uptime in centiseconds
  awk '{ split($1, a, "."); print a[1] * 100 + substr(a[2] "00", 1, 2) }' /proc/uptime
}

fsize() { stat -c %s "$1" 2>/dev/null || echo 0; }

# ---- plan ------------------------------------------------------------------------------------
kat_names=""
while read -r name _bits _size; do
  kat_names="$kat_names kat-$name-enc kat-$name-dec"
done <"$KAT/index"
plan="rng-current rng-rngtest crypto-selftest$kat_names irq-rng irq-crypto"
if [ "$PAUSE" = host ]; then
  plan="$plan pause-resume-rng pause-resume-session pause-resume-kat"
fi
# shellcheck disable=SC2086 # split the plan into words to count them
set -- $plan
echo "VTRUST-PLAN n=$# $plan"

# ---- devices -------------------------------------------------------------------------------
# virtioN bus name of the device bound to driver $1 (virtio_rng / virtio_crypto), or "".
virtio_dev_of() {
  for d in /sys/bus/virtio/devices/virtio*; do
    [ -e "$d/driver" ] || continue
    if [ "$(basename "$(readlink "$d/driver")")" = "$1" ]; then
      basename "$d"
      return
    fi
  done
}

# Sum over all CPUs of the /proc/interrupts lines that name virtioN (INTx: "virtioN";
# MSI-X: "virtioN-config", "virtioN-<queue>").
irq_count() {
  [ -n "$1" ] || { echo 0; return; }
  awk -v dev="$1" '
    NR == 1 { ncpu = NF; next }
    {
      hit = 0
      for (i = ncpu + 2; i <= NF; i++) {
        f = $i; sub(/,$/, "", f)
        if (f == dev || index(f, dev "-") == 1) hit = 1
      }
      if (hit) for (i = 2; i <= ncpu + 1; i++) n += $i
    }
    END { print n + 0 }' /proc/interrupts
}

rng_dev=$(virtio_dev_of virtio_rng)
crypto_dev=$(virtio_dev_of virtio_crypto)
echo "VTRUST-LOG devices: rng=${rng_dev:-none} crypto=${crypto_dev:-none}"
irq_rng_0=$(irq_count "$rng_dev")
irq_crypto_0=$(irq_count "$crypto_dev")

# ---- rng-current -----------------------------------------------------------------------------
rng_current_file=/sys/class/misc/hw_random/rng_current
[ -r "$rng_current_file" ] || rng_current_file=/sys/devices/virtual/misc/hw_random/rng_current
cur=""
i=0
[ -n "$rng_dev" ] || i=50 # no virtio_rng device bound: nothing to wait for
while [ $i -lt 50 ]; do
  cur=$(cat "$rng_current_file" 2>/dev/null)
  case "$cur" in virtio_rng.*) break ;; esac
  sleep 0.1
  i=$((i + 1))
done
avail=$(cat "${rng_current_file%/*}/rng_available" 2>/dev/null)
case "$cur" in
  virtio_rng.*) report rng-current PASS "rng_current=$cur device=${rng_dev:-?}" ;;
  *) report rng-current FAIL "rng_current='$cur' rng_available='$avail' (want virtio_rng.N)" ;;
esac

# ---- rng-rngtest: 1 MiB from /dev/hwrng through FIPS 140-2 -----------------------------------
# A perfect source fails about 1 in 1250 FIPS blocks, so 1 MiB (419 blocks) allows up to 3.
rngtest_eval() { # file min_blocks max_failures -> prints detail, returns 0 on pass
  rngtest <"$1" 2>/tmp/rngtest.log
  s=$(sed -n 's/.*FIPS 140-2 successes: *\([0-9]*\).*/\1/p' /tmp/rngtest.log)
  f=$(sed -n 's/.*FIPS 140-2 failures: *\([0-9]*\).*/\1/p' /tmp/rngtest.log)
  echo "fips_successes=${s:-?} fips_failures=${f:-?}"
  [ -n "$s" ] && [ -n "$f" ] && [ $((s + f)) -ge "$2" ] && [ "$f" -le "$3" ]
}
t0=$(now_cs)
timeout 60 head -c 1048576 /dev/hwrng >/tmp/rng.bin 2>/tmp/rng.err
rc=$?
t1=$(now_cs)
got=$(fsize /tmp/rng.bin)
ms=$(((t1 - t0) * 10))
if [ "$rc" -ne 0 ] || [ "$got" -ne 1048576 ]; then
  report rng-rngtest FAIL "read $got/1048576 bytes from /dev/hwrng rc=$rc in ${ms}ms $(cat /tmp/rng.err)"
elif detail=$(rngtest_eval /tmp/rng.bin 419 3); then
  report rng-rngtest PASS "1048576 bytes in ${ms}ms $detail"
else
  report rng-rngtest FAIL "1048576 bytes in ${ms}ms $detail"
fi
rm -f /tmp/rng.bin

# ---- crypto-selftest: the kernel's testmgr ran against the device ----------------------------
selftest_of() {
  awk -v drv="$DRV" '
    $1 == "name" { in_drv = 0 }
    $1 == "driver" && $3 == drv { in_drv = 1 }
    in_drv && $1 == "selftest" { print $3; exit }' /proc/crypto
}
st=""
i=0
[ -n "$crypto_dev" ] || i=100 # no virtio_crypto device bound: nothing to wait for
while [ $i -lt 100 ]; do
  st=$(selftest_of)
  [ "$st" = passed ] && break
  sleep 0.2
  i=$((i + 1))
done
if [ "$st" = passed ]; then
  report crypto-selftest PASS "/proc/crypto: driver $DRV selftest passed (device=${crypto_dev:-?})"
elif [ -z "$st" ]; then
  report crypto-selftest FAIL "driver $DRV not in /proc/crypto (device=${crypto_dev:-none}; without HW_READY, i.e. no back-end at realize, Linux registers nothing)"
else
  report crypto-selftest FAIL "driver $DRV selftest: $st (unknown: testmgr got no answer in time; failed: a wrong result)"
fi

# ---- AES-CBC known answers through AF_ALG, selected by driver name ---------------------------
# A request the device never completes would block kcapi-enc for good: each run is bounded, and
# after one timeout the remaining KATs fail at once instead of each waiting out its own.
KAT_TIMEOUT=20
crypto_hung=""
kat_run() { # dir enc|dec -> detail in $kat_detail; returns 0 when the output matches
  _d=$1
  if [ -n "$crypto_hung" ]; then
    kat_detail="not run: $crypto_hung"
    return 1
  fi
  if [ "$2" = enc ]; then _in=$_d/pt _want=$_d/ct _op=-e; else _in=$_d/ct _want=$_d/pt _op="-d --nounpad"; fi
  rm -f /tmp/kat.out /tmp/kat.err
  _t0=$(now_cs)
  # shellcheck disable=SC2086 # _op is two words for decryption
  timeout $KAT_TIMEOUT kcapi-enc -c "$DRV" $_op --iv "$(cat "$_d/iv")" --keyfd 3 -i "$_in" \
    -o /tmp/kat.out 3<"$_d/key" 2>/tmp/kat.err
  _rc=$?
  _ms=$((($(now_cs) - _t0) * 10))
  if [ $_rc -ne 0 ] && [ $_ms -ge $((KAT_TIMEOUT * 1000 - 500)) ]; then
    crypto_hung="an earlier request got no answer within ${KAT_TIMEOUT}s"
    kat_detail="no answer within ${KAT_TIMEOUT}s (kcapi-enc killed)"
    return 1
  fi
  if [ $_rc -ne 0 ]; then
    kat_detail="kcapi-enc rc=$_rc ($(cat /tmp/kat.err))"
    return 1
  fi
  if cmp -s /tmp/kat.out "$_want"; then
    kat_detail="$(fsize "$_in") bytes in ${_ms}ms"
    return 0
  fi
  kat_detail="output differs: $(fsize /tmp/kat.out)/$(fsize "$_want") bytes, $(cmp /tmp/kat.out "$_want" 2>&1 | head -n1)"
  return 1
}
while read -r name bits size; do
  for op in enc dec; do
    if kat_run "$KAT/$name" $op; then
      report "kat-$name-$op" PASS "aes-$bits-cbc $kat_detail"
    else
      report "kat-$name-$op" FAIL "aes-$bits-cbc $size bytes: $kat_detail"
    fi
  done
done <"$KAT/index"

# ---- interrupts: the devices signalled completions during the checks -----------------------
irq_rng_1=$(irq_count "$rng_dev")
irq_crypto_1=$(irq_count "$crypto_dev")
if [ -n "$rng_dev" ] && [ "$irq_rng_1" -gt "$irq_rng_0" ]; then
  report irq-rng PASS "$rng_dev interrupts $irq_rng_0 -> $irq_rng_1"
else
  report irq-rng FAIL "${rng_dev:-no virtio_rng device} interrupts $irq_rng_0 -> $irq_rng_1"
fi
if [ -n "$crypto_dev" ] && [ "$irq_crypto_1" -gt "$irq_crypto_0" ]; then
  report irq-crypto PASS "$crypto_dev interrupts $irq_crypto_0 -> $irq_crypto_1"
else
  report irq-crypto FAIL "${crypto_dev:-no virtio_crypto device} interrupts $irq_crypto_0 -> $irq_crypto_1"
fi
grep virtio /proc/interrupts | sed 's/^/VTRUST-LOG irq: /' | tr -s ' '

# ---- pause/resume ----------------------------------------------------------------------------
# One kcapi-enc process keys the device (two sessions) and encrypts the first 64 KiB before the
# pause; the second 64 KiB goes through the same sessions after the host's stop/cont. Then a
# fresh rng read and a fresh KAT (new sessions).
if [ "$PAUSE" = host ]; then
  d=$KAT/pause-aes256
  rm -f /tmp/pause.fifo /tmp/pause.out /tmp/pause.rc
  mkfifo /tmp/pause.fifo
  (
    timeout 90 kcapi-enc -c "$DRV" -e --iv "$(cat "$d/iv")" --keyfd 3 3<"$d/key" \
      </tmp/pause.fifo >/tmp/pause.out 2>/tmp/pause.err
    echo $? >/tmp/pause.rc
  ) &
  enc_pid=$!
  exec 5>/tmp/pause.fifo
  cat "$d/pt1" >&5
  # Wait until the first half has come out (kcapi-enc's stdio buffer may hold back the tail):
  # all 64 KiB, or a non-zero size that stopped growing.
  i=0 same=0 prev=-1
  while [ $i -lt 100 ] && [ $same -lt 3 ] && ! [ -e /tmp/pause.rc ]; do
    before=$(fsize /tmp/pause.out)
    [ "$before" -ge 65536 ] && break
    if [ "$before" -gt 0 ] && [ "$before" -eq "$prev" ]; then same=$((same + 1)); else same=0; fi
    prev=$before
    sleep 0.1
    i=$((i + 1))
  done
  before=$(fsize /tmp/pause.out)

  echo "VTRUST-PAUSE-ME"
  stty -echo 2>/dev/null
  resumed=""
  nopause=""
  i=0
  while [ $i -lt 24 ]; do
    # shellcheck disable=SC3045 # busybox ash has read -t
    if read -r -t 5 line; then
      case "$line" in
        *VTRUST-RESUMED*) resumed=${line#*VTRUST-RESUMED}; break ;;
        *VTRUST-NOPAUSE*) nopause=${line#*VTRUST-NOPAUSE}; break ;;
      esac
    fi
    i=$((i + 1))
  done
  stty echo 2>/dev/null
  if [ -n "$nopause" ]; then
    resumed=" (host could not pause the VM:$nopause)"
    pause_ok=0
  elif [ -z "$resumed" ]; then
    resumed=" (no VTRUST-RESUMED from the host within 120 s: VM probably not paused)"
    pause_ok=0
  else
    pause_ok=1
  fi
  echo "VTRUST-LOG resumed:$resumed"

  timeout 30 head -c 65536 /dev/hwrng >/tmp/rng2.bin 2>/tmp/rng2.err
  rc=$?
  got=$(fsize /tmp/rng2.bin)
  if [ $rc -ne 0 ] || [ "$got" -ne 65536 ]; then
    report pause-resume-rng FAIL "read $got/65536 bytes after resume rc=$rc$resumed"
  elif [ $pause_ok = 1 ] && detail=$(rngtest_eval /tmp/rng2.bin 26 1); then
    report pause-resume-rng PASS "65536 bytes after resume, $detail"
  else
    report pause-resume-rng FAIL "65536 bytes after resume, ${detail:-}$resumed"
  fi

  cat "$d/pt2" >&5
  exec 5>&-
  wait "$enc_pid"
  enc_rc=$(cat /tmp/pause.rc 2>/dev/null || echo '?')
  if [ "$before" -eq 0 ]; then
    report pause-resume-session FAIL "no output before the pause (kcapi-enc rc=$enc_rc: $(cat /tmp/pause.err))"
  elif [ "$enc_rc" != 0 ]; then
    report pause-resume-session FAIL "kcapi-enc rc=$enc_rc after resume: $(cat /tmp/pause.err)"
  elif ! cmp -s /tmp/pause.out "$d/ct"; then
    report pause-resume-session FAIL "131072-byte stream differs: $(cmp /tmp/pause.out "$d/ct" 2>&1 | head -n1)"
  elif [ $pause_ok = 1 ]; then
    report pause-resume-session PASS "one key, $before bytes before and $((131072 - before)) after the pause match"
  else
    report pause-resume-session FAIL "stream matched but$resumed"
  fi

  crypto_hung=""
  if kat_run "$KAT/nist-aes256" enc && detail=$kat_detail && kat_run "$KAT/nist-aes256" dec; then
    if [ $pause_ok = 1 ]; then
      report pause-resume-kat PASS "new sessions after resume: nist-aes256 enc $detail, dec $kat_detail"
    else
      report pause-resume-kat FAIL "KAT ok but$resumed"
    fi
  else
    report pause-resume-kat FAIL "nist-aes256 after resume: $kat_detail"
  fi
fi

echo "VTRUST-DONE passed=$passed failed=$failed"

if [ "${VTRUST_DUMP:-0}" = 1 ]; then
  echo "VTRUST-DMESG-BEGIN"
  dmesg
  echo "VTRUST-DMESG-END"
fi
[ "$failed" -eq 0 ]
