#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The in-guest benchmark: what a guest user sees, vtrust against QEMU's built-in back-ends.

One boot of the test guest (Linux 6.1, QEMU 7.2, TCG) with three virtio-rng and three
virtio-crypto devices: QEMU's built-in back-ends (rng-random on /dev/urandom,
cryptodev-backend-builtin), vtrustd, and vtrustd --bench-no-work (the floor: a vhost-user
back-end that answers every request without doing its work). The guest's vtbench
(tests/vm/guest/vtbench.c) runs each workload against each back-end in rotating order for
--rounds rounds; before every cell it asks the host to sample vtrustd's CPU time and context
switches from /proc (schedstat and status of every thread).

Prints, per workload: the vtrust / built-in throughput ratio (median of the paired rounds,
with min-max), floor / built-in, vtrust / floor, and vtrustd's CPU time and context switches
per device request. Ends with `ratio=<median vtrust/built-in over the workloads>`.

usage: bench-vm.py --build DIR --vtrustd PATH --vtbench PATH [--rounds N] [--cell-ms MS]
                   [--timeout S] [--vtrustd-arg ARG]... [--json FILE] [--workloads W...]
                   [--placement free|one-cpu] [--sched-trace SECONDS]

--placement one-cpu runs QEMU and every vtrustd on one host CPU (default: where the scheduler
puts them): it shows how much of a result is the cost of waking a thread on another CPU.
--sched-trace S records `perf sched` for S seconds after the first round and prints where one
op's time goes per back-end (sched_trace.py: wake-up latencies and CPU time of the worker, QEMU's
main loop and the vCPU thread).
Exit status: 0 when every cell ran, 1 otherwise, 77 when QEMU or the guest kernel is missing.
"""
import argparse
import datetime
import glob
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import sched_trace

HERE = os.path.dirname(os.path.abspath(__file__))
BACKENDS = ("builtin", "vtrust", "floor")
WORKLOADS = ("rng4k", "cbc64", "cbc4k", "cbc64k", "setkey")
# PCI slots, as tests/vm/guest/vtbench.c expects them.
RNG_SLOT = {"builtin": 0x10, "vtrust": 0x11, "floor": 0x12}
CRYPTO_SLOT = {"builtin": 0x13, "vtrust": 0x14, "floor": 0x15}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def find_kernel(path):
    if path:
        return path
    for k in sorted(glob.glob("/boot/vmlinuz-*"), reverse=True):
        if os.path.isdir("/lib/modules/" + os.path.basename(k)[len("vmlinuz-"):]):
            return k
    return None


def proc_sample(pid):
    """(cpu ns, context switches, minor faults) summed over the live threads of pid."""
    cpu = cs = flt = 0
    for t in glob.glob(f"/proc/{pid}/task/*"):
        try:
            with open(t + "/schedstat") as f:
                cpu += int(f.read().split()[0])
            with open(t + "/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        cs += int(line.split()[1])
            with open(t + "/stat") as f:
                flt += int(f.read().rsplit(")", 1)[1].split()[7])  # minflt
        except (OSError, ValueError, IndexError):
            pass  # a thread that just exited
    return cpu, cs, flt


class Run:
    def __init__(self, a):
        self.a = a
        self.children = {}  # name -> Popen
        self.rt = tempfile.mkdtemp(prefix="vtrust-bench.")
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.logdir = os.path.join(a.build, "tests", "vm", "bench-logs", f"{stamp}-{os.getpid()}")
        os.makedirs(self.logdir, exist_ok=True)
        latest = os.path.join(a.build, "tests", "vm", "bench-logs", "latest")
        try:
            if os.path.islink(latest):
                os.unlink(latest)
            os.symlink(os.path.basename(self.logdir), latest)
        except OSError:
            pass

    def start_vtrustd(self, name, typ, extra):
        sock = os.path.join(self.rt, name + ".sock")
        argv = [self.a.vtrustd, "--type", typ, "--socket-path", sock, "--name", name,
                "--control-socket", "none", "--quiet"] + extra
        logf = open(os.path.join(self.logdir, f"vtrustd-{name}.log"), "w")
        p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             preexec_fn=self.place)
        self.children[name] = p
        for _ in range(100):
            if os.path.exists(sock):
                return sock
            if p.poll() is not None:
                raise SystemExit(f"bench-vm: {' '.join(argv)} exited with {p.returncode} before "
                                 f"listening; log: {logf.name}")
            time.sleep(0.1)
        raise SystemExit(f"bench-vm: vtrustd {name} did not listen within 10 s; log: {logf.name}")

    def place(self):
        """In the child before exec: --placement one-cpu pins it to the first allowed CPU."""
        if self.a.placement == "one-cpu":
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    def threads(self, pid, match):
        """Thread ids of pid whose name satisfies match."""
        tids = []
        for t in glob.glob(f"/proc/{pid}/task/*"):
            try:
                with open(t + "/comm") as f:
                    if match(f.read().strip()):
                        tids.append(os.path.basename(t))
            except OSError:
                pass
        return tids

    def start_sched_trace(self):
        """Starts `perf sched record` for --sched-trace seconds; returns (Popen, output file)."""
        out = os.path.join(self.logdir, "sched.data")
        try:
            p = subprocess.Popen(["perf", "sched", "record", "-a", "-o", out, "--", "sleep",
                                  str(self.a.sched_trace)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        except OSError as e:
            log(f"sched trace: cannot run perf ({e}); install linux-perf")
            return None
        log(f"sched trace: recording {self.a.sched_trace} s into {out}")
        return p, out

    def sched_report(self, trace, procs):
        if not trace:
            return ["sched trace: not recorded (perf missing, or the run ended before round 2)"]
        p, out = trace
        try:
            p.wait(timeout=self.a.sched_trace + 30)
        except subprocess.TimeoutExpired:
            p.kill()
            return ["sched trace: perf did not finish"]
        if p.returncode != 0:
            return [f"sched trace: perf sched record exited with {p.returncode} (needs root or "
                    "kernel.perf_event_paranoid <= 0)"]
        qemu = self.children["qemu"].pid
        vcpu = self.thread_ids.get("vcpu")
        if not vcpu:
            return ["sched trace: QEMU's vCPU thread was not found"]
        return sched_trace.report(out, vcpu, str(qemu), self.thread_ids["workers"])

    def cleanup(self):
        for name in ["qemu"] + [n for n in self.children if n != "qemu"]:
            p = self.children.get(name)
            if not p or p.poll() is not None:
                continue
            p.terminate()
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.rt, ignore_errors=True)

    def main(self):
        a = self.a
        qemu_bin = os.environ.get("QEMU", "qemu-system-x86_64")
        kernel = find_kernel(a.kernel)
        if not shutil.which(qemu_bin) or not kernel or not os.access(kernel, os.R_OK):
            print(f"SKIP: no {qemu_bin} or no readable guest kernel (scripts/install-deps.sh)")
            return 77
        kver = os.path.basename(kernel)[len("vmlinuz-"):]
        vmdir = os.path.join(a.build, "tests", "vm")
        initrd = subprocess.run(
            ["bash", os.path.join(HERE, "mkinitramfs.sh"), "--kver", kver, "--out-dir",
             os.path.join(vmdir, "initramfs-bench"), "--extra-bin", a.vtbench],
            check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
        boot = subprocess.run(
            ["bash", os.path.join(HERE, "prepare-kernel.sh"), "--kernel", kernel, "--out-dir",
             os.path.join(vmdir, "kernel")], check=True, stdout=subprocess.PIPE,
            text=True).stdout.strip()

        extra = list(a.vtrustd_arg or [])
        procs = {}  # label -> vtrustd name, for /proc sampling
        socks = {}
        for b, flags in (("vtrust", []), ("floor", ["--bench-no-work"])):
            for typ in ("rng", "crypto"):
                name = f"{typ}-{b}"
                socks[name] = self.start_vtrustd(name, typ, flags + extra)
                procs[name] = self.children[name].pid
        dev = []
        for b in BACKENDS:
            if b == "builtin":
                dev += ["-object", "rng-random,id=rng-builtin,filename=/dev/urandom",
                        "-device", f"virtio-rng-pci,rng=rng-builtin,addr={RNG_SLOT[b]:#x}"]
            else:
                dev += ["-chardev", f"socket,id=rng-{b},path={socks['rng-' + b]}",
                        "-device", f"vhost-user-rng-pci,chardev=rng-{b},addr={RNG_SLOT[b]:#x}"]
        for b in BACKENDS:
            if b == "builtin":
                dev += ["-object", "cryptodev-backend-builtin,id=cd-builtin"]
            else:
                dev += ["-chardev", f"socket,id=cr-{b},path={socks['crypto-' + b]}",
                        "-object", f"cryptodev-vhost-user,id=cd-{b},chardev=cr-{b}"]
            # vectors=0 for all three: QEMU 7.2 crashes on MSI-X for vhost-user crypto under
            # TCG, and the built-in one gets the same interrupt path so only back-ends differ.
            dev += ["-device", f"virtio-crypto-pci,cryptodev=cd-{b},vectors=0,addr={CRYPTO_SLOT[b]:#x}"]

        for f in ("console", "qmp"):
            os.mkfifo(os.path.join(self.rt, f + ".in"))
            os.mkfifo(os.path.join(self.rt, f + ".out"))
        append = (f"console=ttyS0,115200 panic=-1 quiet rdinit=/init vtrust.checks=0 "
                  f"vtrust.shell=0 vtrust.pause=skip vtrust.bench={a.rounds},{a.cell_ms}"
                  + (f",{'+'.join(a.workloads)}" if a.workloads else ""))
        qemu = [qemu_bin, "-name", "vtrust-bench,debug-threads=on", "-nodefaults", "-no-user-config",
                "-machine", "q35,accel=tcg,memory-backend=mem",
                "-object", "memory-backend-memfd,id=mem,size=512M,share=on", "-m", "512M",
                "-smp", "1", "-kernel", boot, "-initrd", initrd, "-append", append,
                "-no-reboot", "-display", "none"] + dev + [
                "-chardev", f"pipe,id=con,path={self.rt}/console", "-serial", "chardev:con",
                "-chardev", f"pipe,id=qmp,path={self.rt}/qmp", "-mon", "chardev=qmp,mode=control"]
        with open(os.path.join(self.logdir, "qemu-cmdline.txt"), "w") as f:
            f.write(" ".join(qemu) + "\n")
        # Our FIFO ends, opened read-write so that opening never blocks.
        con_r = os.open(os.path.join(self.rt, "console.out"), os.O_RDWR | os.O_NONBLOCK)
        con_w = os.open(os.path.join(self.rt, "console.in"), os.O_RDWR)
        qmp_fds = [os.open(os.path.join(self.rt, "qmp." + s), os.O_RDWR) for s in ("in", "out")]
        qlog = open(os.path.join(self.logdir, "qemu.log"), "w")
        self.children["qemu"] = subprocess.Popen(qemu, stdout=qlog, stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL, preexec_fn=self.place)
        log(f"qemu pid {self.children['qemu'].pid}; vtrustd pids {procs}; logs {self.logdir}")

        console = open(os.path.join(self.logdir, "console.log"), "w")
        samples = {}   # cell n -> {name: (cpu, cs)}
        cells = []     # the BENCH lines (one per back-end and cell n)
        errors, pins, devs = [], [], []
        done = None
        trace = None
        first_round_cells = len(a.workloads or WORKLOADS) * len(BACKENDS)
        buf = b""
        deadline = time.monotonic() + a.timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([con_r], [], [], 1.0)
            if r:
                try:
                    chunk = os.read(con_r, 65536)
                except BlockingIOError:
                    chunk = b""
                buf += chunk
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.decode("utf-8", "replace").rstrip("\r")
                    console.write(line + "\n")
                    if line.startswith("VTRUST-SAMPLE "):
                        n = int(line.split()[1])
                        samples[n] = {name: proc_sample(pid) for name, pid in procs.items()}
                        if a.sched_trace and trace is None and n >= first_round_cells:
                            self.thread_ids = {
                                "vcpu": next(iter(self.threads(self.children["qemu"].pid,
                                                               lambda c: "/TCG" in c)), None),
                                "workers": {t: name.split("-")[1] for name, pid in procs.items()
                                            for t in self.threads(pid, lambda c: c.startswith("vt-q"))}}
                            trace = self.start_sched_trace() or False
                        os.write(con_w, f"VTRUST-SAMPLED {n}\n".encode())
                    elif line.startswith("VTRUST-BENCH "):
                        cells.append(dict(x.split("=", 1) for x in line.split()[1:]))
                    elif line.startswith("VTRUST-BENCHERR"):
                        errors.append(line[len("VTRUST-BENCHERR "):])
                        log(line)
                    elif line.startswith("VTRUST-PIN"):
                        pins.append(line[len("VTRUST-PIN "):])
                    elif line.startswith("VTRUST-BENCHDEV"):
                        devs.append(line[len("VTRUST-BENCHDEV "):])
                    elif line.startswith("VTRUST-BENCHDONE"):
                        done = line
                        log(line)
            if self.children["qemu"].poll() is not None:
                break
            dead = [n for n in procs if self.children[n].poll() is not None]
            if dead:
                errors.append(f"vtrustd {dead} exited during the run (see its log)")
                break
        else:
            errors.append(f"timeout: no guest power-off within {a.timeout} s")
        console.close()
        for fd in [con_r, con_w] + qmp_fds:
            os.close(fd)
        extra = self.sched_report(trace, procs) if a.sched_trace else []
        return self.report(cells, samples, errors, pins, devs, done, extra)

    def report(self, cells, samples, errors, pins, devs, done, extra):
        a = self.a
        # Per cell: throughput and the CPU / context switches of the vtrustd serving it.
        rows = {}  # (work, backend) -> list of (round, ops/s, cpu ns/req, cs/req, other_cpu)
        for c in cells:
            n = int(c["n"])
            ops, ns, reqs = int(c["ops"]), int(c["ns"]), int(c["reqs"])
            rate = ops * 1e9 / ns if ns else 0.0
            cpu = cs = flt = None
            s0, s1 = samples.get(n), samples.get(n + 1)
            if c["backend"] != "builtin" and s0 and s1:
                typ = "rng" if c["work"] == "rng4k" else "crypto"
                name = f"{typ}-{c['backend']}"
                cpu = (s1[name][0] - s0[name][0]) / reqs / 1000.0
                cs = (s1[name][1] - s0[name][1]) / reqs
                flt = (s1[name][2] - s0[name][2]) / reqs
            rows.setdefault((c["work"], c["backend"]), []).append(
                (int(c["round"]), rate, cpu, cs, flt))

        def by_round(w, b):
            return {r[0]: r for r in rows.get((w, b), [])}

        def med(xs):
            return statistics.median(xs) if xs else float("nan")

        def quartiles(xs):
            q = statistics.quantiles(xs, n=4) if len(xs) >= 2 else [xs[0], xs[0], xs[0]]
            return q[0], q[2]

        def fmt_ratio(xs):
            if not xs:
                return "n/a"
            lo, hi = quartiles(xs)
            return f"{med(xs):.3f} [{lo:.2f}-{hi:.2f}]"

        out = []
        out.append(f"in-guest benchmark: Linux 6.1 guest, QEMU TCG, {a.rounds} rounds x "
                   f"{a.cell_ms} ms cells, back-ends in rotating order, placement {a.placement}")
        out.append("back-ends take turns op by op inside each cell; ratios are throughput ratios per round: "
                   "median [interquartile range]; "
                   "cpu/req, cs/req, flt/req: vtrustd's CPU, context switches and minor faults per "
                   "device request (median; floor_cpu: the floor's)")
        hdr = (f"{'workload':<8} {'builtin/s':>10} {'vtrust/s':>10} {'floor/s':>10} "
               f"{'vtrust/builtin':>20} {'floor/builtin':>20} {'vtrust/floor':>20} "
               f"{'cpu_us/req':>10} {'cs/req':>7} {'flt/req':>7} {'floor_cpu':>9}")
        out.append(hdr)
        summary = {}
        headline = []
        for w in WORKLOADS:
            rb, rv, rf = by_round(w, "builtin"), by_round(w, "vtrust"), by_round(w, "floor")
            vb = [rv[r][1] / rb[r][1] for r in rv if r in rb and rb[r][1] > 0]
            fb = [rf[r][1] / rb[r][1] for r in rf if r in rb and rb[r][1] > 0]
            vf = [rv[r][1] / rf[r][1] for r in rv if r in rf and rf[r][1] > 0]
            cpu = [x[2] for x in rv.values() if x[2] is not None]
            cs = [x[3] for x in rv.values() if x[3] is not None]
            fcpu = [x[2] for x in rf.values() if x[2] is not None]
            flt = [x[4] for x in rv.values() if x[4] is not None]
            rate = {b: med([x[1] for x in d.values()]) for b, d in
                    (("builtin", rb), ("vtrust", rv), ("floor", rf))}
            if not (rb or rv or rf):
                continue
            out.append(f"{w:<8} {rate['builtin']:>10.1f} {rate['vtrust']:>10.1f} {rate['floor']:>10.1f} "
                       f"{fmt_ratio(vb):>20} {fmt_ratio(fb):>20} {fmt_ratio(vf):>20} "
                       f"{med(cpu):>10.2f} {med(cs):>7.2f} {med(flt):>7.2f} {med(fcpu):>9.2f}")
            summary[w] = {"rate": rate, "vtrust_over_builtin": vb, "floor_over_builtin": fb,
                          "vtrust_over_floor": vf, "cpu_us_per_req": cpu, "cs_per_req": cs,
                          "floor_cpu_us_per_req": fcpu, "minor_faults_per_req": flt}
            if vb:
                headline.append(med(vb))
        out.append("vtrust/builtin min-max per workload: " + ", ".join(
            f"{w} {min(v['vtrust_over_builtin']):.2f}-{max(v['vtrust_over_builtin']):.2f}"
            for w, v in summary.items() if v["vtrust_over_builtin"]))
        out.append("device pinning (interrupt lines that moved for one request): " +
                   "; ".join(pins))
        out.extend(extra)
        for line in out:
            print(line)
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"rounds": a.rounds, "cell_ms": a.cell_ms, "workloads": summary,
                           "devices": devs, "pins": pins, "errors": errors}, f, indent=1)
        with open(os.path.join(self.logdir, "summary.txt"), "w") as f:
            f.write("\n".join(out) + "\n")
        expected = len(a.workloads or WORKLOADS) * len(BACKENDS) * a.rounds
        if len(cells) < expected:
            errors.append(f"{len(cells)} of {expected} cells ran")
        if not done:
            errors.append("the guest never printed VTRUST-BENCHDONE")
        if errors:
            print("FAIL: " + "; ".join(errors) + f". Logs: {self.logdir}")
            return 1
        print(f"logs: {self.logdir}")
        print(f"ratio={med(headline):.3f}")
        return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default="build")
    p.add_argument("--vtrustd", required=True)
    p.add_argument("--vtbench", required=True, help="the static guest program (vtbench)")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--cell-ms", type=int, default=150)
    p.add_argument("--timeout", type=int, default=900)
    p.add_argument("--kernel")
    p.add_argument("--workloads", nargs="+", choices=WORKLOADS, help="only these (default: all)")
    p.add_argument("--vtrustd-arg", action="append", help="extra argument for every vtrustd")
    p.add_argument("--json", help="also write the results as JSON here")
    p.add_argument("--placement", choices=("free", "one-cpu"), default="free",
                   help="one-cpu: QEMU and every vtrustd on one host CPU")
    p.add_argument("--sched-trace", type=float, default=0, metavar="SECONDS",
                   help="record perf sched for this long after round 1 and print where an op's time goes")
    a = p.parse_args()
    if not 1 <= a.rounds <= 100 or not 1 <= a.cell_ms <= 10000:
        p.error("--rounds 1..100, --cell-ms 1..10000")
    run = Run(a)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return run.main()
    finally:
        run.cleanup()


if __name__ == "__main__":
    sys.exit(main())
