#!/bin/sh
# vtrust restart test, guest side (busybox ash; run by /init with vtrust.run=/vtrust/restart.sh).
#
# Two loops run while the host kills and restarts vtrustd under them: one reads 4 KiB from
# /dev/hwrng again and again, the other runs every AES-CBC known answer (encrypt and decrypt)
# through AF_ALG and virtio_crypto_aes_cbc. Every operation is timed; one that fails, gives a
# wrong answer or takes longer than 2 s is reported. Lines on the console:
#   VTRUST-PLAN n=2 restart-rng restart-crypto
#   VTRUST-LOOPS-RUNNING                      the host may start killing
#   (the host writes VTRUST-STOP on the console when it is done)
#   VTRUST-CHECK restart-rng|restart-crypto PASS|FAIL <counts, longest operation>
#   VTRUST-DONE passed=N failed=N
set -u

DRV=virtio_crypto_aes_cbc
KAT=/vtrust/kat
SLOW_MS=2000

now_ms() { # uptime in ms (centisecond resolution)
  awk '{ split($1, a, "."); print a[1] * 1000 + substr(a[2] "00", 1, 2) * 10 }' /proc/uptime
}

echo "VTRUST-PLAN n=2 restart-rng restart-crypto"

# rng loop: stats in /tmp/rng.st as "ops errors slow max_ms"
rng_loop() {
  ops=0 errs=0 slow=0 max=0
  while ! [ -e /tmp/stop ]; do
    t0=$(now_ms)
    timeout 30 head -c 4096 /dev/hwrng >/tmp/rng.out 2>/dev/null
    rc=$?
    dt=$(($(now_ms) - t0))
    n=$(stat -c %s /tmp/rng.out 2>/dev/null || echo 0)
    ops=$((ops + 1))
    if [ $rc -ne 0 ] || [ "$n" -ne 4096 ]; then
      errs=$((errs + 1))
      echo "VTRUST-LOG rng error: rc=$rc bytes=$n after ${dt}ms"
    fi
    [ $dt -gt $max ] && max=$dt
    if [ $dt -gt $SLOW_MS ]; then
      slow=$((slow + 1))
      echo "VTRUST-LOG rng slow: ${dt}ms"
    fi
    echo "$ops $errs $slow $max" >/tmp/rng.st
  done
}

kat_one() { # dir enc|dec -> 0 when right
  if [ "$2" = enc ]; then _in=$1/pt _want=$1/ct _op=-e; else _in=$1/ct _want=$1/pt _op="-d --nounpad"; fi
  # shellcheck disable=SC2086 # _op is two words for decryption
  timeout 30 kcapi-enc -c "$DRV" $_op --iv "$(cat "$1/iv")" --keyfd 3 -i "$_in" \
    -o /tmp/kat.out 3<"$1/key" 2>/tmp/kat.err && cmp -s /tmp/kat.out "$_want"
}

crypto_loop() {
  ops=0 errs=0 slow=0 max=0
  while ! [ -e /tmp/stop ]; do
    while read -r name _bits _size; do
      [ -e /tmp/stop ] && break
      for op in enc dec; do
        t0=$(now_ms)
        kat_one "$KAT/$name" $op
        rc=$?
        dt=$(($(now_ms) - t0))
        ops=$((ops + 1))
        if [ $rc -ne 0 ]; then
          errs=$((errs + 1))
          echo "VTRUST-LOG crypto error: $name $op rc=$rc after ${dt}ms $(head -c 200 /tmp/kat.err)"
        fi
        [ $dt -gt $max ] && max=$dt
        if [ $dt -gt $SLOW_MS ]; then
          slow=$((slow + 1))
          echo "VTRUST-LOG crypto slow: $name $op ${dt}ms"
        fi
        echo "$ops $errs $slow $max" >/tmp/crypto.st
      done
    done <"$KAT/index"
  done
}

# The crypto driver registers once its self-tests ran against the device.
i=0
while [ $i -lt 100 ] && ! grep -q "$DRV" /proc/crypto; do sleep 0.2; i=$((i + 1)); done

rm -f /tmp/stop /tmp/rng.st /tmp/crypto.st
rng_loop &
rng_pid=$!
crypto_loop &
crypto_pid=$!
sleep 1
echo "VTRUST-LOOPS-RUNNING"

stty -echo 2>/dev/null
i=0
while [ $i -lt 120 ]; do
  # shellcheck disable=SC3045 # busybox ash has read -t
  if read -r -t 5 line; then
    case "$line" in *VTRUST-STOP*) break ;; esac
  fi
  i=$((i + 1))
done
stty echo 2>/dev/null
touch /tmp/stop
wait "$rng_pid" "$crypto_pid"

passed=0 failed=0
for dev in rng crypto; do
  read -r ops errs slow max <"/tmp/$dev.st" 2>/dev/null || { ops=0 errs=0 slow=0 max=0; }
  detail="$ops operations, $errs errors, $slow slower than ${SLOW_MS}ms, longest ${max}ms"
  if [ "$ops" -gt 0 ] && [ "$errs" -eq 0 ] && [ "$slow" -eq 0 ]; then
    echo "VTRUST-CHECK restart-$dev PASS $detail"
    passed=$((passed + 1))
  else
    echo "VTRUST-CHECK restart-$dev FAIL $detail"
    failed=$((failed + 1))
  fi
done
echo "VTRUST-DONE passed=$passed failed=$failed"
