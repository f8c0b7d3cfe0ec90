#!/usr/bin/env bash
# Crash torture: the probe writes through vtrustd while vtrustd is SIGKILLed at
# random instants (mid-request, mid-recovery) and restarted on the same store;
# after each restart: the counter never went back, every acknowledged write
# reads back, the interrupted write is all or nothing.
set -euo pipefail
probe=$1 vtrustd=$2 kills=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/rpmb-torture.XXXXXX")
trap 'rm -rf "$work"' EXIT
seed=${RPMB_TORTURE_SEED:-$RANDOM$RANDOM}
if ! "$probe" --socket "$work/s.sock" rpmb torture --daemon "$vtrustd" --store "$work/t.rpmb" \
     --kills "$kills" --seed "$seed"; then
  echo "--- daemon log (tail) ---"; tail -20 "$work/t.rpmb.log" || true
  echo "rerun with RPMB_TORTURE_SEED=$seed"
  exit 1
fi
