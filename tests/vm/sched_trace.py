# SPDX-License-Identifier: Apache-2.0
"""Where one in-guest request spends its time, from a `perf sched` trace of the host.

bench-vm.py --sched-trace records `perf sched record -a` for a few seconds while the guest's
back-ends take turns op by op. Every op starts when the guest's vCPU thread wakes the thread that
serves it: a vtrustd queue worker (vtrust or floor), or QEMU's main loop (built-in: under TCG the
notification is an emulated ioeventfd, so QEMU's own devices run in its main loop). The op ends
when the next op starts. For each back-end this prints the medians, in microseconds, of:

  op      the whole op, guest work included (start of one op to the start of the next)
  wk_lat  from the wake-up of the back-end's worker to its first instruction (vtrust, floor)
  wk_run  the worker's CPU time in the op
  mn_run  QEMU main loop's CPU time in the op (built-in: this is where its device works)
  vc_lat  from the vCPU thread's wake-up (the interrupt) to its first instruction
  vc_run  the vCPU thread's CPU time in the op (the guest: driver, syscalls, the benchmark)

The difference between op and the sum of the *_run columns is time when the thread that has
to go next is runnable but not yet running, or the machine is idle: the wake-up costs.
"""
import re
import statistics
import subprocess

LINE = re.compile(r"\s*([\d.]+)\s+\[(\d+)\]\s+(.*?\[(\d+)(?:/\d+)?\])\s+"
                  r"(?:awakened:\s+.*?\[(\d+)(?:/\d+)?\]|([\d.]+)\s+([\d.]+)\s+([\d.]+))\s*$")


def parse(text):
    """Switch-outs (tid, end s, sch delay us, run us) and wake-ups (waker tid, wakee tid, s)."""
    outs, wakes = [], []
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        t, tid = float(m.group(1)), m.group(4)
        if m.group(5):
            wakes.append((tid, m.group(5), t))
        else:
            outs.append((tid, t, float(m.group(7)) * 1000.0, float(m.group(8)) * 1000.0))
    return outs, wakes


def breakdown(outs, wakes, vcpu, main, workers):
    """workers: {tid: back-end}. Returns {back-end: {column: median}}."""
    starts = []
    for waker, wakee, t in wakes:
        if waker != vcpu:
            continue
        if wakee in workers:
            starts.append((t, workers[wakee]))
        elif wakee == main:
            starts.append((t, "builtin"))
    starts.sort()
    outs = sorted(outs, key=lambda o: o[1])
    cols = ("op", "wk_lat", "wk_run", "mn_run", "vc_lat", "vc_run")
    per = {}
    j = 0
    for k in range(len(starts) - 1):
        t0, b = starts[k]
        t1 = starts[k + 1][0]
        if starts[k + 1][1] == b and b == "builtin":
            continue  # two main-loop wake-ups in a row: not an op boundary we can trust
        row = dict.fromkeys(cols, 0.0)
        row["op"] = (t1 - t0) * 1e6
        first_wk = True
        while j < len(outs) and outs[j][1] < t0:
            j += 1
        i = j
        while i < len(outs) and outs[i][1] < t1:
            tid, _, delay, run = outs[i]
            if workers.get(tid) == b:
                if first_wk:
                    row["wk_lat"] = delay
                    first_wk = False
                row["wk_run"] += run
            elif tid == main:
                row["mn_run"] += run
            elif tid == vcpu:
                row["vc_lat"] = max(row["vc_lat"], delay)
                row["vc_run"] += run
            i += 1
        per.setdefault(b, []).append(row)
    return {b: dict(n=len(rows), **{c: statistics.median(r[c] for r in rows) for c in cols})
            for b, rows in per.items() if rows}


def report(data_file, vcpu, main, workers):
    """Lines describing the trace in data_file, or one line saying why there are none."""
    try:
        text = subprocess.run(["perf", "sched", "timehist", "-w", "-i", data_file],
                              capture_output=True, text=True, timeout=300).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return [f"sched trace: perf sched timehist failed ({e})"]
    res = breakdown(*parse(text), vcpu, main, workers)
    if not res:
        return ["sched trace: no ops found in the trace (was a cell running while it recorded?)"]
    out = ["sched trace (host threads, median us per op; see tests/vm/sched_trace.py):",
           f"{'back-end':<8} {'ops':>6} {'op':>7} {'wk_lat':>7} {'wk_run':>7} {'mn_run':>7} "
           f"{'vc_lat':>7} {'vc_run':>7}"]
    for b in ("builtin", "vtrust", "floor"):
        if b in res:
            r = res[b]
            out.append(f"{b:<8} {r['n']:>6} {r['op']:>7.1f} {r['wk_lat']:>7.1f} {r['wk_run']:>7.1f} "
                       f"{r['mn_run']:>7.1f} {r['vc_lat']:>7.1f} {r['vc_run']:>7.1f}")
    return out
