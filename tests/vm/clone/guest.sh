#!/bin/sh
# Guest side of the clone test (tests/vm/run-clone.py), run by /init (vtrust.run=).
# Loads the module built on the host, starts two fortuna-tickers on the console (one with the
# module's signals, one without: the negative control) and waits; the host snapshots,
# restores and stops the VM.
d=/vtrust/clone
if err=$(insmod $d/vtrust_vmgenid.ko 2>&1); then
  echo "VTRUST-CLONE-MODULE loaded $(stat -c %A /dev/vtrust-vmgenid 2>&1)"
else
  echo "VTRUST-CLONE-MODULE failed: $err"
  dmesg | grep -i vtrust_vmgenid | tail -n 3
fi
$d/fortuna-ticker --watch &
$d/fortuna-ticker --name mod --period-ms 50 &
$d/fortuna-ticker --name nomod --no-vmgenid --period-ms 50 &
# The kernel RNG of this guest (TCG, no RDRAND, no virtio-rng) is not ready for a long time
# after boot: the tickers start without getrandom. A blocking read makes the kernel gather
# jitter entropy (try_to_generate_entropy); once it is ready, the tickers must pick getrandom
# up on their own (the library re-probes it), which the host checks before the snapshot.
(t0=$(cut -d' ' -f1 /proc/uptime); head -c 1 /dev/random >/dev/null
 echo "VTRUST-CLONE-CRNG ready after $(awk -v a="$t0" '{ printf "%.2f", $1 - a }' /proc/uptime)s") &
echo "VTRUST-CLONE-READY"
while :; do sleep 3600; done
