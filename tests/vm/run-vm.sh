#!/usr/bin/env bash
# shellcheck disable=SC2054 # QEMU options are comma-separated words by design
# vtrust real-guest test: boots Debian's Linux 6.1 under QEMU 7.2 (TCG) with vtrustd serving a
# virtio-rng and a virtio-crypto device over vhost-user, runs the guest checks
# (tests/vm/guest/checks.sh) and reads their results from the serial console.
#
# Usage: run-vm.sh [options]
#   --vtrustd PATH       vtrustd binary (default: BUILD/daemon/vtrustd)
#   --build DIR          build directory: initramfs cache and logs go to DIR/tests/vm (default: build)
#   --backend KIND       vtrustd (default) | builtin (QEMU's own virtio-rng/virtio-crypto back-ends,
#                        the reference the harness is proven against) | none (no devices: boot only)
#   --rng-backend KIND, --crypto-backend KIND   the same for one device (overrides --backend)
#   --interactive        serial console on this terminal with a busybox shell (make vm-demo)
#   --checks | --no-checks   run the guest checks before the shell (interactive default: --checks)
#   --timeout SECS       whole-run bound, boot included (default 240)
#   --kernel PATH        guest kernel (default: newest /boot/vmlinuz-* with /lib/modules)
#   --smp N              guest CPUs (default 1)
#   --no-pvh             boot the compressed bzImage instead of the extracted ELF (slower by ~4 s)
#   --vtrustd-arg ARG    extra argument for each vtrustd (repeatable)
#   --rebuild-initramfs  ignore the cached initramfs
#   --restart KILLS:TERMS  the restart test: one vtrustd serves both devices under a small service
#                        manager with systemd's fd store (tests/restart/supervisor.py); the guest
#                        loops on /dev/hwrng and AES-CBC known answers while the host SIGKILLs
#                        vtrustd KILLS times and restarts it gracefully (SIGTERM) TERMS times,
#                        at random moments; every guest operation must succeed within 2 s and
#                        QEMU must print nothing
#   --skip-missing-devices  a device type vtrustd does not list (`vtrustd --help`: "types: ...")
#                        runs on QEMU's own back-end instead; a run that then passes exits 77
#                        (meson: SKIP), a failure still fails
# Exit status: 0 when every planned guest check passed, 1 otherwise, 2 on usage errors,
# 77 with --skip-missing-devices when vtrustd lacks rng or crypto and the rest passed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=build
vtrustd=""
backend=""
rng_backend=""
crypto_backend=""
interactive=0
checks=""
timeout=240
kernel=""
smp=1
mem_mb=512
rebuild=0
pvh=1
skip_missing=0
restart=""
vtrustd_extra=()

usage() { awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "${BASH_SOURCE[0]}"; }
die_usage() { echo "run-vm: $*" >&2; usage >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --vtrustd) vtrustd=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    --backend) backend=${2:?}; shift 2 ;;
    --rng-backend) rng_backend=${2:?}; shift 2 ;;
    --crypto-backend) crypto_backend=${2:?}; shift 2 ;;
    --interactive) interactive=1; shift ;;
    --checks) checks=1; shift ;;
    --no-checks) checks=0; shift ;;
    --timeout) timeout=${2:?}; shift 2 ;;
    --kernel) kernel=${2:?}; shift 2 ;;
    --smp) smp=${2:?}; shift 2 ;;
    --vtrustd-arg) vtrustd_extra+=("${2:?}"); shift 2 ;;
    --rebuild-initramfs) rebuild=1; shift ;;
    --no-pvh) pvh=0; shift ;;
    --skip-missing-devices) skip_missing=1; shift ;;
    --restart) restart=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
done
[ -n "$checks" ] || checks=1
[ -n "$backend" ] || backend=vtrustd
[ -n "$rng_backend" ] || rng_backend=$backend
[ -n "$crypto_backend" ] || crypto_backend=$backend
for b in "$backend" "$rng_backend" "$crypto_backend"; do
  case "$b" in vtrustd|builtin|none) ;; *) die_usage "back-ends are vtrustd, builtin or none, not '$b'" ;; esac
done
[[ "$timeout" =~ ^[0-9]+$ ]] || die_usage "--timeout takes whole seconds"
[[ "$smp" =~ ^[1-9][0-9]*$ ]] || die_usage "--smp takes a positive number"
if [ -n "$restart" ]; then
  [[ "$restart" =~ ^[0-9]+:[0-9]+$ ]] || die_usage "--restart takes KILLS:TERMS, e.g. 20:5"
  [ "$rng_backend" = vtrustd ] && [ "$crypto_backend" = vtrustd ] && [ "$interactive" = 0 ] ||
    die_usage "--restart needs vtrustd for both devices and no --interactive"
fi

# ---- helpers ---------------------------------------------------------------------------------
t_start=${EPOCHREALTIME/./}
now_ms() { local t=${EPOCHREALTIME/./}; echo $(((t - t_start) / 1000)); }
host_log=/dev/null
log() { printf '[%6.1fs] %s\n' "$(awk -v m="$(now_ms)" 'BEGIN { print m / 1000 }')" "$*" | tee -a "$host_log" >&2; }
fail_setup() { echo "run-vm: error: $*" >&2; exit 1; }
describe_status() { # exit status -> words
  local st=$1 sig
  if [ "$st" -gt 128 ] && sig=$(kill -l $((st - 128)) 2>/dev/null); then
    case "$sig" in
      SYS) echo "status $st (SIGSYS: a seccomp violation?)" ;;
      *) echo "status $st (killed by SIG$sig)" ;;
    esac
  else
    echo "status $st"
  fi
}

# ---- preflight -------------------------------------------------------------------------------
QEMU=${QEMU:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null || fail_setup "$QEMU not found: install qemu-system-x86 (scripts/install-deps.sh)"

if [ -z "$kernel" ]; then
  while read -r k; do
    if [ -d "/lib/modules/${k#/boot/vmlinuz-}" ]; then kernel=$k; break; fi
  done < <(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -rV)
  [ -n "$kernel" ] || fail_setup "no /boot/vmlinuz-* with matching /lib/modules: install linux-image-amd64 (scripts/install-deps.sh)"
fi
[ -r "$kernel" ] || fail_setup "cannot read the guest kernel $kernel (needs root on some systems)"
kver=$(basename "$kernel")
kver=${kver#vmlinuz-}
[ -d "/lib/modules/$kver" ] || fail_setup "kernel $kernel has no /lib/modules/$kver"

substituted=()   # device types vtrustd lacks, run on QEMU's back-end (--skip-missing-devices)
if [ "$rng_backend" = vtrustd ] || [ "$crypto_backend" = vtrustd ]; then
  [ -n "$vtrustd" ] || vtrustd=$build/daemon/vtrustd
  [ -x "$vtrustd" ] || fail_setup "vtrustd not found at '$vtrustd' (build it, pass --vtrustd PATH, or use --backend builtin to try the harness with QEMU's own back-ends)"
  vtrustd=$(cd "$(dirname "$vtrustd")" && pwd)/$(basename "$vtrustd")
  # `vtrustd --help` ends with "types: a b c". Only a list without rng or crypto counts as
  # missing; an unexpected help format just lets the run go ahead.
  types_line=$("$vtrustd" --help 2>&1 | grep -m1 '^types:' || true)
  for t in rng crypto; do
    var=${t}_backend
    [ "${!var}" = vtrustd ] || continue
    [ -n "$types_line" ] || continue
    [[ " ${types_line#types:} " == *" $t "* ]] && continue
    [ "$skip_missing" = 1 ] ||
      fail_setup "$vtrustd serves no '$t' device yet ($types_line); use --$t-backend builtin (or --backend builtin) to run its checks against QEMU's own back-end"
    printf -v "$var" builtin
    substituted+=("$t")
  done
  if [ ${#substituted[@]} -gt 0 ]; then
    echo "run-vm: $vtrustd serves no '${substituted[*]}' device yet ($types_line): QEMU's own back-end stands in; a passing run exits 77 (skip)" >&2
  fi
fi
if [ "$rng_backend" = "$crypto_backend" ]; then
  backend_desc=$rng_backend
else
  backend_desc="rng=$rng_backend crypto=$crypto_backend"
fi

mkdir -p "$build/tests/vm/logs"
vmdir=$(cd "$build/tests/vm" && pwd)

# ---- initramfs (cached) ----------------------------------------------------------------------
mk_args=(--kver "$kver" --out-dir "$vmdir/initramfs")
[ "$rebuild" = 1 ] && mk_args+=(--force)
initrd=$(bash "$here/mkinitramfs.sh" "${mk_args[@]}") || fail_setup "initramfs build failed"
boot_kernel=$kernel
if [ "$pvh" = 1 ]; then
  boot_kernel=$(bash "$here/prepare-kernel.sh" --kernel "$kernel" --out-dir "$vmdir/kernel") ||
    fail_setup "kernel preparation failed"
fi

# ---- run directory, logs, cleanup ------------------------------------------------------------
run_id=$(date +%Y%m%d-%H%M%S)-$$
logdir=$vmdir/logs/$run_id
mkdir -p "$logdir"
ln -sfn "$run_id" "$vmdir/logs/latest"
# Keep the ten newest runs.
find "$vmdir/logs" -mindepth 1 -maxdepth 1 -type d -name '2*-*' | sort | head -n -10 | xargs -r rm -rf
host_log=$logdir/host.log
# Sockets and FIFOs live in a short private directory (sun_path is 108 bytes).
rt=$(mktemp -d "${TMPDIR:-/tmp}/vtrust-vm.XXXXXX")

declare -A child=()   # name -> pid of every process this script started
qmp_w="" qmp_r="" con_w=""

stop_child() { # name: TERM, then KILL after 3 s; only PIDs we started
  local name=$1 pid=${child[$1]:-} i
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) ignored SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  unset "child[$name]"
}

# shellcheck disable=SC2317 # invoked through the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for fd in "$qmp_w" "$qmp_r" "$con_w"; do
    [ -n "$fd" ] && exec {fd}>&- 2>/dev/null
  done
  # QEMU first (it is the vhost-user client), then the back-ends, then the console reader.
  stop_child qemu
  stop_child schedule
  stop_child supervisor
  stop_child vtrustd-rng
  stop_child vtrustd-crypto
  stop_child console
  rm -rf "$rt"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

log "run $run_id: back-ends: $backend_desc; kernel=$boot_kernel initramfs=$(basename "$initrd") logs=$logdir"

# ---- back-ends -------------------------------------------------------------------------------
start_vtrustd() { # type socket
  local type=$1 sock=$2 i
  "$vtrustd" --type "$type" --socket-path "$sock" "${vtrustd_extra[@]}" \
    >"$logdir/vtrustd-$type.log" 2>&1 </dev/null &
  child[vtrustd-$type]=$!
  for ((i = 0; i < 100; i++)); do
    [ -S "$sock" ] && return 0
    if ! kill -0 "${child[vtrustd-$type]}" 2>/dev/null; then
      wait "${child[vtrustd-$type]}" && rc=0 || rc=$?
      unset "child[vtrustd-$type]"
      tail -n 20 "$logdir/vtrustd-$type.log" >&2 || true
      fail_setup "vtrustd --type $type exited ($(describe_status "$rc")) before listening on $sock; log: $logdir/vtrustd-$type.log"
    fi
    sleep 0.1
  done
  fail_setup "vtrustd --type $type did not create $sock within 10 s; log: $logdir/vtrustd-$type.log"
}

# The restart test: one vtrustd for both devices, under the fd-store supervisor.
start_supervised() {
  local i
  mkfifo "$rt/sup.ctl"
  : >"$logdir/supervisor.events"
  python3 "$here/../restart/supervisor.py" --notify-socket "$rt/notify" --control "$rt/sup.ctl" \
    --events "$logdir/supervisor.events" --log "$logdir/vtrustd.log" -- \
    "$vtrustd" --device "rng0:rng,socket=$rt/rng.sock" --device "crypto0:crypto,socket=$rt/crypto.sock" \
    --run-dir "$rt" --control-socket none --quiet "${vtrustd_extra[@]}" </dev/null \
    >>"$logdir/supervisor.log" 2>&1 &
  child[supervisor]=$!
  for ((i = 0; i < 100; i++)); do
    grep -q '^EVENT ready' "$logdir/supervisor.events" && [ -S "$rt/rng.sock" ] && [ -S "$rt/crypto.sock" ] && return 0
    kill -0 "${child[supervisor]}" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$logdir/vtrustd.log" "$logdir/supervisor.log" >&2 || true
  fail_setup "vtrustd under the supervisor did not become ready within 10 s; logs: $logdir"
}

devices=()
if [ -n "$restart" ]; then
  start_supervised
  log "vtrustd (rng0 + crypto0) under the fd-store supervisor: pid ${child[supervisor]}"
  rng_backend=supervised crypto_backend=supervised
  devices+=(
    -chardev "socket,id=rng0,path=$rt/rng.sock" -device vhost-user-rng-pci,chardev=rng0
    -chardev "socket,id=cr0,path=$rt/crypto.sock" -object cryptodev-vhost-user,id=cd0,chardev=cr0
    -device virtio-crypto-pci,cryptodev=cd0,vectors=0
  )
fi
case "$rng_backend" in
  vtrustd)
    start_vtrustd rng "$rt/rng.sock"
    log "vtrustd --type rng: pid ${child[vtrustd-rng]}"
    devices+=(
      -chardev "socket,id=rng0,path=$rt/rng.sock"
      -device vhost-user-rng-pci,chardev=rng0
    ) ;;
  builtin)
    devices+=(
      -object rng-random,id=rng0,filename=/dev/urandom
      -device virtio-rng-pci,rng=rng0
    ) ;;
esac
case "$crypto_backend" in
  vtrustd)
    start_vtrustd crypto "$rt/crypto.sock"
    log "vtrustd --type crypto: pid ${child[vtrustd-crypto]}"
    devices+=(
      -chardev "socket,id=cr0,path=$rt/crypto.sock"
      -object cryptodev-vhost-user,id=cd0,chardev=cr0
      # QEMU 7.2 segfaults with MSI-X on this device under TCG (NULL vector_irqfd): INTx.
      -device virtio-crypto-pci,cryptodev=cd0,vectors=0
    ) ;;
  builtin)
    devices+=(
      -object cryptodev-backend-builtin,id=cd0
      -device virtio-crypto-pci,cryptodev=cd0,vectors=0
    ) ;;
esac

# ---- QEMU ------------------------------------------------------------------------------------
append="console=ttyS0,115200 panic=-1 quiet rdinit=/init vtrust.checks=$checks"
[ -n "$restart" ] && append+=" vtrust.run=/vtrust/restart.sh"
if [ "$interactive" = 1 ]; then
  append+=" vtrust.shell=1 vtrust.pause=skip"
else
  append+=" vtrust.shell=0 vtrust.pause=host"
fi
qemu=(
  "$QEMU" -name vtrust-test -nodefaults -no-user-config
  -machine q35,accel=tcg,memory-backend=mem
  # vhost-user back-ends map guest RAM: it must be a shared memfd.
  -object "memory-backend-memfd,id=mem,size=${mem_mb}M,share=on"
  -m "${mem_mb}M" -smp "$smp"
  -kernel "$boot_kernel" -initrd "$initrd" -append "$append"
  -no-reboot -display none
  "${devices[@]}"
)

if [ "$interactive" = 1 ]; then
  qemu+=(-serial mon:stdio)
  printf '%q ' "${qemu[@]}" >"$logdir/qemu-cmdline.txt"
  echo "vtrust vm-demo: back-ends: $backend_desc. Quit with 'exit' in the guest shell or Ctrl-A x." >&2
  # A background job of a non-interactive shell reads /dev/null unless told otherwise: hand
  # QEMU the terminal explicitly (it stays a tracked child so the trap can end it).
  exec {tty_in}<&0
  "${qemu[@]}" <&"$tty_in" 2> >(tee "$logdir/qemu.log" >&2) &
  child[qemu]=$!
  wait "${child[qemu]}" && rc=0 || rc=$?
  unset "child[qemu]"
  exit "$rc"
fi

mkfifo "$rt/console.in" "$rt/console.out" "$rt/qmp.in" "$rt/qmp.out"
qemu+=(
  -chardev "pipe,id=con,path=$rt/console" -serial chardev:con
  -chardev "pipe,id=qmp,path=$rt/qmp" -mon chardev=qmp,mode=control
)
printf '%q ' "${qemu[@]}" >"$logdir/qemu-cmdline.txt"
echo >>"$logdir/qemu-cmdline.txt"

console=$logdir/console.log
: >"$console"
cat "$rt/console.out" >"$console" &
child[console]=$!
# Our ends of the FIFOs, opened read-write so that opening never blocks on QEMU.
exec {con_w}<>"$rt/console.in"
exec {qmp_w}<>"$rt/qmp.in"
exec {qmp_r}<>"$rt/qmp.out"

"${qemu[@]}" >"$logdir/qemu.log" 2>&1 </dev/null &
child[qemu]=$!
t_qemu=$(now_ms)
log "qemu pid ${child[qemu]} started (TCG, ${mem_mb} MiB memfd, smp $smp)"

# QMP: one JSON object per line. Events are logged and skipped.
qmp() { # json -> QMP_REPLY; status 0 on "return"
  local line
  QMP_REPLY=""
  printf '%s\n' "$1" >&"$qmp_w"
  echo "qmp> $1" >>"$host_log"
  while read -r -t 10 -u "$qmp_r" line; do
    echo "qmp< $line" >>"$host_log"
    case "$line" in
      *'"return"'*) QMP_REPLY=$line; return 0 ;;
      *'"error"'*) QMP_REPLY=$line; return 1 ;;
    esac
  done
  QMP_REPLY="(no reply within 10 s)"
  return 1
}
qmp_ready=0
qmp_handshake() { # greeting within 20 s, unless QEMU dies first
  local line="" i
  for ((i = 0; i < 20; i++)); do
    if read -r -t 1 -u "$qmp_r" line; then break; fi
    kill -0 "${child[qemu]}" 2>/dev/null || break
  done
  if [[ "$line" == *'"QMP"'* ]]; then
    echo "qmp< $line" >>"$host_log"
    qmp '{"execute":"qmp_capabilities"}' && qmp_ready=1
  fi
  [ "$qmp_ready" = 1 ] || log "QMP handshake failed: ${line:-no greeting} ${QMP_REPLY:-}"
}

# Host side of the pause check: stop, confirm paused, ~1 s, cont, confirm running, tell guest.
pause_result=""
do_pause() {
  local t0 t1 why=""
  if [ "$qmp_ready" != 1 ]; then
    why="QMP not available"
  elif ! qmp '{"execute":"stop"}'; then
    why="stop failed: $QMP_REPLY"
  else
    t0=$(now_ms)
    qmp '{"execute":"query-status"}' || true
    [[ "$QMP_REPLY" == *'"status": "paused"'* ]] || why="VM not paused after stop: $QMP_REPLY"
    sleep 1
    if ! qmp '{"execute":"cont"}'; then
      why="${why:+$why; }cont failed: $QMP_REPLY"
    else
      t1=$(now_ms)
      qmp '{"execute":"query-status"}' || true
      [[ "$QMP_REPLY" == *'"status": "running"'* ]] || why="${why:+$why; }VM not running after cont: $QMP_REPLY"
    fi
  fi
  if [ -z "$why" ]; then
    pause_result="paused ${t0:+$((t1 - t0))}ms"
    log "VM stopped and resumed ($pause_result)"
    printf 'VTRUST-RESUMED paused_ms=%d\n' "$((t1 - t0))" >&"$con_w"
  else
    pause_result="FAILED: $why"
    log "pause/resume failed: $why"
    printf 'VTRUST-NOPAUSE %s\n' "${why//[^A-Za-z0-9 _:.=-]/_}" >&"$con_w"
  fi
}

# Host side of the restart test: KILLS SIGKILLs and TERMS graceful restarts at random moments,
# each after the previous process said READY=1, then VTRUST-STOP to the guest.
restart_schedule() {
  local kills=${restart%%:*} terms=${restart##*:} total i w n_ready cmd ev=$logdir/supervisor.events
  total=$((kills + terms))
  for ((i = 0; i < total; i++)); do
    cmd=kill
    # Terms spread over the run: every (total / terms)-th event.
    if [ "$terms" -gt 0 ] && [ $(((i + 1) % (total / terms))) = 0 ] &&
      [ "$(grep -c '^EVENT term' "$ev")" -lt "$terms" ]; then cmd=term; fi
    sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.3 + (r % 120) / 100 }')"
    n_ready=$(grep -c '^EVENT ready' "$ev")
    echo "$cmd" >"$rt/sup.ctl"
    for ((w = 0; w < 100; w++)); do
      [ "$(grep -c '^EVENT ready' "$ev")" -gt "$n_ready" ] && break
      sleep 0.1
    done
  done
  sleep 2
  printf 'VTRUST-STOP\n' >&"$con_w"
}

# ---- watch the console -----------------------------------------------------------------------
deadline=$((timeout * 1000))
booted="" done_seen="" verdict="" qemu_rc=""
lines_seen=0
# Handles the complete console lines that arrived since the last call.
process_console() {
  local total line
  total=$(wc -l <"$console")
  [ "$total" -gt "$lines_seen" ] || return 0
  while IFS= read -r line; do
    line=${line%$'\r'}
    case "$line" in
      VTRUST-BOOTED*)
        booted=$(($(now_ms) - t_qemu))
        log "guest init running $booted ms after QEMU start ($line)" ;;
      VTRUST-CHECK\ *)
        log "${line#VTRUST-CHECK }" ;;
      VTRUST-PAUSE-ME*)
        log "guest asks for a pause"
        do_pause ;;
      VTRUST-LOOPS-RUNNING*)
        log "guest loops running: ${restart%%:*} SIGKILLs and ${restart##*:} graceful restarts of vtrustd"
        qemu_log_before=$(wc -c <"$logdir/qemu.log")
        restart_schedule &
        child[schedule]=$! ;;
      VTRUST-LOG\ *)
        [ -n "$restart" ] && log "${line#VTRUST-LOG }" ;;
      VTRUST-DONE*)
        done_seen=$(($(now_ms) - t_qemu))
        log "guest checks done $done_seen ms after QEMU start (${line#VTRUST-DONE })" ;;
    esac
  done < <(sed -n "$((lines_seen + 1)),${total}p" "$console")
  lines_seen=$total
}
qmp_handshake
while :; do
  process_console
  if ! kill -0 "${child[qemu]}" 2>/dev/null; then
    wait "${child[qemu]}" && qemu_rc=0 || qemu_rc=$?
    unset "child[qemu]"
    break
  fi
  for t in rng crypto; do
    pid=${child[vtrustd-$t]:-}
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" && rc=0 || rc=$?
      unset "child[vtrustd-$t]"
      if [ -n "$done_seen" ] && [ "$rc" = 0 ]; then
        # The guest has finished and is powering off; QEMU closing the socket may end vtrustd.
        log "vtrustd --type $t exited (status 0) after the checks"
      else
        verdict="${verdict:+$verdict; }vtrustd --type $t exited with $(describe_status "$rc") during the run"
        log "$verdict"
      fi
    fi
  done
  if [ -n "$restart" ] && ! kill -0 "${child[supervisor]}" 2>/dev/null; then
    verdict="the fd-store supervisor exited during the run (see supervisor.log)"
  fi
  [ -n "$verdict" ] && break
  if [ "$(now_ms)" -gt "$deadline" ]; then
    verdict="timeout: no guest power-off within ${timeout}s (booted=${booted:-no}, checks done=${done_seen:-no})"
    log "$verdict"
    break
  fi
  sleep 0.1
done
t_end=$(now_ms)

# Let QEMU and the console reader finish on their own when the guest powered off; else stop them.
stop_child qemu
for ((i = 0; i < 30; i++)); do
  kill -0 "${child[console]}" 2>/dev/null || break
  sleep 0.1
done
stop_child console
process_console

# ---- results ---------------------------------------------------------------------------------
clean=$(tr -d '\r' <"$console")
plan=$(grep -a '^VTRUST-PLAN ' <<<"$clean" | tail -n1 || true)
results=$(grep -a '^VTRUST-CHECK ' <<<"$clean" || true)
done_line=$(grep -a '^VTRUST-DONE ' <<<"$clean" | tail -n1 || true)
{
  echo "# vtrust vm test $run_id back-ends: $backend_desc; kernel=$kver"
  echo "$results"
  echo "$done_line"
} >"$logdir/results.txt"

npass=0 nfail=0 missing=()
summary=()
if [ -n "$plan" ]; then
  read -r -a planned <<<"${plan#VTRUST-PLAN n=* }"
  for name in "${planned[@]}"; do
    line=$(grep -a "^VTRUST-CHECK $name " <<<"$results" | tail -n1 || true)
    if [ -z "$line" ]; then
      missing+=("$name")
      nfail=$((nfail + 1))
      summary+=("FAIL $name (no result: guest stopped before it)")
      continue
    fi
    read -r _ _ st detail <<<"$line"
    if [ "$st" = PASS ]; then npass=$((npass + 1)); else nfail=$((nfail + 1)); fi
    summary+=("$st $name $detail")
  done
fi

echo
echo "== vtrust real-guest test (back-ends: $backend_desc; Linux $kver; QEMU TCG) =="
for s in "${summary[@]}"; do echo "  $s"; done
[ -n "$pause_result" ] && echo "  host: VM pause/resume $pause_result"
echo "  boot to guest init: ${booted:-n/a} ms; checks done: ${done_seen:-n/a} ms; whole run: $((t_end / 1000)).$(((t_end % 1000) / 100)) s"
echo "  passed=$npass failed=$nfail${done_line:+ (guest: ${done_line#VTRUST-DONE })}"

problems=()
[ -n "$verdict" ] && problems+=("$verdict")
[ -z "$plan" ] && problems+=("the guest never printed its check plan (boot or init failure)")
[ -n "$plan" ] && [ -z "$done_line" ] && problems+=("the guest never printed VTRUST-DONE")
[ ${#missing[@]} -gt 0 ] && problems+=("no result for: ${missing[*]}")
[ -n "$qemu_rc" ] && [ "$qemu_rc" != 0 ] && problems+=("QEMU exited with status $qemu_rc (see qemu.log)")
[ "$nfail" -gt 0 ] && problems+=("$nfail check(s) failed")
# A back-end offering a config space its QEMU front-end cannot use makes QEMU warn on every start.
grep -aq 'VHOST_USER_PROTOCOL_F_CONFIG' "$logdir/qemu.log" 2>/dev/null &&
  problems+=("QEMU warned about VHOST_USER_PROTOCOL_F_CONFIG (see qemu.log)")
if [ -n "$restart" ]; then
  ev=$logdir/supervisor.events
  n_kill=$(grep -c '^EVENT kill' "$ev" || true)
  n_term=$(grep -c '^EVENT term' "$ev" || true)
  # Time from each kill or term to READY=1 of the next process, in ms.
  stats=$(awk '/^EVENT (kill|term) / { for (i = 3; i <= NF; i++) if ($i ~ /^t=/) t0 = substr($i, 3); what = $2 }
    /^EVENT ready / && t0 != "" { for (i = 3; i <= NF; i++) if ($i ~ /^t=/) t1 = substr($i, 3);
      d = t1 - t0; n[what]++; s[what] += d; if (d > m[what]) m[what] = d; t0 = "" }
    END { printf "kill->ready: n=%d avg=%.0fms max=%.0fms; term->ready: n=%d avg=%.0fms max=%.0fms",
      n["kill"], n["kill"] ? s["kill"] / n["kill"] : 0, m["kill"], n["term"], n["term"] ? s["term"] / n["term"] : 0, m["term"] }' "$ev")
  echo "  host: $n_kill SIGKILLs, $n_term graceful restarts of vtrustd; $stats"
  echo "  host: $(grep -c 'in flight served again' "$logdir/vtrustd.log" || true) queue resumes; chains in flight at a kill, served again: $(grep -o '[0-9]* in flight served again' "$logdir/vtrustd.log" | awk '{ s += $1 } END { print s + 0 }')"
  want_k=${restart%%:*} want_t=${restart##*:}
  [ "$n_kill" -ge "$want_k" ] || problems+=("only $n_kill of $want_k SIGKILLs happened")
  [ "$n_term" -ge "$want_t" ] || problems+=("only $n_term of $want_t graceful restarts happened")
  # QEMU's start-up warnings came before the first kill; from then on it must print nothing.
  qemu_new=$(tail -c +"$((${qemu_log_before:-0} + 1))" "$logdir/qemu.log")
  [ -n "$qemu_new" ] && problems+=("QEMU printed during the restarts (qemu.log): $(head -c 200 <<<"$qemu_new" | tr '\n' ' ')")
  echo "  host: QEMU printed $(wc -c <<<"${qemu_new}" | awk '{ print $1 - 1 }') bytes during the restarts"
fi

if [ ${#problems[@]} -eq 0 ] && [ "$npass" -gt 0 ]; then
  if [ ${#substituted[@]} -gt 0 ]; then
    echo "SKIP: all $npass guest checks passed, but vtrustd has no '${substituted[*]}' device yet: QEMU's own back-end stood in. Logs: $logdir"
    exit 77
  fi
  echo "PASS: all $npass guest checks passed. Logs: $logdir"
  exit 0
fi
joined=$(printf '%s; ' "${problems[@]}")
echo "FAIL: ${joined%; }"
echo "-- last console lines ($console):"
sed '/^VTRUST-DMESG-BEGIN/,/^VTRUST-DMESG-END/d' <<<"$clean" | grep -av '^VTRUST-\(CHECK\|PLAN\) ' |
  tail -n 25 | sed 's/^/   | /' || true
if grep -aq '^VTRUST-DMESG-BEGIN' <<<"$clean"; then
  echo "-- guest dmesg, device-related lines:"
  sed -n '/^VTRUST-DMESG-BEGIN/,/^VTRUST-DMESG-END/p' <<<"$clean" |
    grep -aiE 'virtio|crypto|hwrng|rng|alg|error|fail|warn|bug|hung|timed out|call trace' |
    tail -n 25 | sed 's/^/   | /' || true
fi
for f in qemu.log vtrustd-rng.log vtrustd-crypto.log vtrustd.log supervisor.events; do
  if [ -s "$logdir/$f" ]; then
    echo "-- tail of $logdir/$f:"
    tail -n 15 "$logdir/$f" | sed 's/^/   | /'
  fi
done
exit 1
