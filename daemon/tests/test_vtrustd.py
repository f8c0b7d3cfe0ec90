#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration tests of vtrustd and vtrustctl.

Each case starts its own daemons in a fresh temporary directory and ends only
the processes it started. Run one case:

    test_vtrustd.py --build BUILDDIR --source SRCDIR CASE

Prints PASS/FAIL per check; exits 1 on any failure, 77 when the case cannot
run on this machine (meson: SKIP).
"""
import argparse
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vu_frontend import FrontEnd  # noqa: E402

FAILURES = 0
ARGS = None


def check(cond, name, detail=""):
    global FAILURES
    if cond:
        print(f"PASS {name}")
    else:
        FAILURES += 1
        print(f"FAIL {name}{': ' + str(detail) if detail else ''}")
    return cond


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def wait_for(pred, timeout=10.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Daemon:
    """One vtrustd we started (and only ever signal by its own pid)."""

    count = 0

    def __init__(self, tmp, args, name=None, env=None, wait=True, pass_fds=(), argv0=None,
                 exe=None):
        Daemon.count += 1
        name = name or f"vtrustd-{Daemon.count}"
        self.tmp = tmp
        self.log_path = os.path.join(tmp, f"{name}.log")
        self.out_path = os.path.join(tmp, f"{name}.out")
        self.control = None
        for i, a in enumerate(args):
            if a == "--control-socket":
                self.control = args[i + 1]
        if self.control is None and "--type" not in args and "--run-dir" in args:
            self.control = os.path.join(args[args.index("--run-dir") + 1], "control.sock")
        e = dict(os.environ)
        e.update(env or {})
        exe = exe or ARGS.vtrustd
        argv = [argv0 or exe] + list(args)
        self.proc = subprocess.Popen(argv, executable=exe, cwd=tmp, env=e,
                                     stdout=open(self.out_path, "w"),
                                     stderr=open(self.log_path, "w"), stdin=subprocess.DEVNULL,
                                     pass_fds=pass_fds)
        self.pid = self.proc.pid
        if wait and self.control:
            self.wait_socket(self.control)

    def wait_socket(self, path, timeout=10.0):
        p = path if os.path.isabs(path) else os.path.join(self.tmp, path)
        # Only the control socket takes a probing connection: a device socket serves one
        # front-end at a time, and the probe would hold that slot for a moment.
        probe = path == self.control
        def is_sock():
            # A restart replaces a stale socket (unlink, bind): it may vanish between two looks.
            try:
                return stat.S_ISSOCK(os.stat(p).st_mode)
            except FileNotFoundError:
                return False
        ok = wait_for(lambda: (is_sock() and (not probe or self.ready_probe(p)))
                      or self.proc.poll() is not None, timeout)
        if self.proc.poll() is not None:
            raise RuntimeError(f"vtrustd exited with {self.proc.returncode}: {self.log()[-2000:]}")
        return ok

    @staticmethod
    def ready_probe(p):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(p)
            s.close()
            return True
        except OSError:
            return False

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def out(self, wait_for_text=None, timeout=10.0):
        """stdout so far; with wait_for_text, once it appears (the attach lines are printed just
        after the control socket starts listening)."""
        def read():
            with open(self.out_path, errors="replace") as f:
                return f.read()
        if wait_for_text:
            wait_for(lambda: wait_for_text in read(), timeout)
        return read()

    def request(self, obj_or_line, path=None):
        line = obj_or_line if isinstance(obj_or_line, (str, bytes)) else json.dumps(obj_or_line)
        if isinstance(line, str):
            line = line.encode()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        p = path or self.control
        s.connect(p if os.path.isabs(p) else os.path.join(self.tmp, p))
        s.sendall(line + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
        s.close()
        return json.loads(buf)

    def ctl(self, *args):
        sock = self.control if os.path.isabs(self.control) else os.path.join(self.tmp, self.control)
        return subprocess.run([ARGS.vtrustctl, "--socket", sock] + list(args), capture_output=True,
                              text=True, timeout=30, cwd=self.tmp)

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def stop(self, timeout=10.0):
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait()
            return "timeout"

    def threads(self):
        """{tid: (comm, status dict)} of the daemon's threads."""
        out = {}
        base = f"/proc/{self.pid}/task"
        for tid in os.listdir(base):
            try:
                with open(f"{base}/{tid}/comm") as f:
                    comm = f.read().strip()
                with open(f"{base}/{tid}/status") as f:
                    st = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
                out[int(tid)] = (comm, st)
            except FileNotFoundError:
                pass
        return out


DAEMONS = []


def start(tmp, args, **kw):
    d = Daemon(tmp, args, **kw)
    DAEMONS.append(d)
    return d


def cleanup():
    for d in DAEMONS:
        if d.proc.poll() is None:
            d.signal(signal.SIGKILL)
            d.proc.wait()


def null_args(tmp, *extra, devices=("n0",)):
    a = ["--run-dir", os.path.join(tmp, "run"), "--state-dir", os.path.join(tmp, "var")]
    for n in devices:
        a += ["--device", f"{n}:null"]
    return a + list(extra)


# ---------------------------------------------------------------------------------------------
def case_config(tmp):
    conf = os.path.join(tmp, "vtrustd.conf")
    with open(conf, "w") as f:
        f.write("; comment\n[daemon]\nrun_dir = run\nstate_dir = var\nlog_level = debug\n"
                "busy_poll_us = 0\n\n[device a]\ntype = null\nsocket_mode = 0660\n\n"
                "[device b]\ntype = null\nsocket = run/bee.sock\n")
    r = subprocess.run([ARGS.vtrustd, "--config", conf, "--check-config"], cwd=tmp,
                       capture_output=True, text=True)
    check(r.returncode == 0 and "a: null on run/a.sock" in r.stdout
          and "b: null on run/bee.sock" in r.stdout, "config file parsed by libinih", r)
    # The command line overrides and adds to the file.
    r = subprocess.run([ARGS.vtrustd, "--config", conf, "--run-dir", "other", "--device",
                        "c:null,socket_mode=0600", "--device", "b:null,socket=x.sock",
                        "--check-config"], cwd=tmp, capture_output=True, text=True)
    check(r.returncode == 0 and "a: null on other/a.sock" in r.stdout
          and "b: null on x.sock" in r.stdout and "c: null on other/c.sock" in r.stdout,
          "command line overrides the file", r.stdout)
    bad = {
        "[daemon]\nno_such_key = 1\n": "unknown daemon option",
        "[daemon]\nseccomp = sometimes\n": "invalid value",
        "[device x]\ntype = toaster\n": "unknown device type",
        "[device x]\ntype = null\nsocket_mode = 777\n": "invalid value",
        "[device bad/name]\ntype = null\n": "invalid device name",
        "[weird]\nk = v\n": "unknown section",
        "[device x]\ntype = null\nfrobnicate = 3\n": "unknown option 'frobnicate'",
        "[device x]\nsocket = /tmp/x.sock\n": "no device type",
        "[daemon]\nthis line has no equals sign\n": "not a KEY = VALUE line",
    }
    for text, want in bad.items():
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run([ARGS.vtrustd, "--config", conf, "--run-dir", "run", "--state-dir",
                            "var"] + (["--check-config"] if "frobnicate" not in text else
                                      ["--seccomp", "off", "--control-socket", "none"]),
                           cwd=tmp, capture_output=True, text=True, timeout=20)
        check(r.returncode != 0 and want in r.stderr,
              f"bad config rejected: {text.splitlines()[-1]!r}", r.stderr[-300:])
    # --check-config checks every option of every device; each error is one line
    # "FILE:LINE: [SECTION] KEY = VALUE: REASON (valid: ...)"; every error is reported.
    types = types_of_build()
    cases = [("[daemon]\nseccomp = sometimes\n", 2, "[daemon] seccomp = sometimes: invalid value (valid: "),
             ("[daemon]\nlog_level = info\nlog_level = debug\n", 3,
              "duplicate key 'log_level' (first set at line 2)"),
             ("[device x]\ntype = null\nsocket_mode = 0660\nsocket-mode = 0600\n", 4,
              "duplicate key 'socket-mode' (first set at line 3)"),
             ("[device x]\ntype = toaster\n", 2, "unknown device type (valid: ")]
    if "crypto" in types:
        cases += [("[device c]\ntype = crypto\nmax_sessions = 0\n", 3,
                   "[device c] max_sessions = 0: invalid value (valid: 1..65536)"),
                  ("[device c]\ntype = crypto\nalgorithms = aes-cbc,rot13\n", 3,
                   "unknown algorithm 'rot13' (valid: aes-ecb, "),
                  ("[device c]\ntype = crypto\nmax_sessions = 4\nmax-sessions = 5\n", 4,
                   "duplicate key 'max-sessions' (first set at line 3)")]
    if "rng" in types:
        cases += [("[device r]\ntype = rng\n\nleak = maybe\n", 4,
                   "[device r] leak = maybe: invalid value (valid: true, false"),
                  ("[device r]\ntype = rng\nfrobnicate = 1\n", 3,
                   "unknown option 'frobnicate' for a rng device (valid: max_request_bytes, ")]
    if "rpmb" in types:
        cases += [("[device p]\ntype = rpmb\ncapacity = 999\n", 3,
                   "[device p] capacity = 999: invalid value (valid: 1..")]
    # What libinih would misread silently is refused, one line each (the fuzz harness
    # daemon/fuzz/fuzz_config.c found these; its corpus has each input).
    cases += [("[device x]\ntype = null\n; " + "c" * 197 + "socket=/tmp/evil.sock\n", 3,
               "line longer than 198 bytes: shorten it"),
              ("[device x]\ntype = null\x00; hidden\n", 2, "control byte 0x00 in the line"),
              ("[daemon]\rseccomp = off\r[device x]\rtype = null\r", 1,
               "a carriage return inside the line: save the file with LF"),
              ("[device x] type = null\n", 1, "text after the [section] header"),
              ("[device" + " " * 31 + "n" * 20 + "x" * 10 + "]\ntype = null\n", 1,
               "section name longer than 49 bytes"),
              ("[device x]\ntype = null\nsocket_mode = 0x1b6\n", 3,
               "socket_mode = 0x1b6: invalid value (valid: an octal mode"),
              ("[daemon]\nrun_dir =\n", 2, "run_dir = : invalid value (valid: a directory)"),
              ("[device x]\ntype = null\n[device  x]\ntype = null\n", 4,
               "duplicate key 'type' (first set at line 2)")]
    for text, line, want in cases:
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run([ARGS.vtrustd, "--config", conf, "--run-dir", "run", "--state-dir", "var",
                            "--check-config"], cwd=tmp, capture_output=True, text=True, timeout=20)
        errs = [x for x in r.stderr.splitlines() if " err: " in x]
        check(r.returncode == 2 and len(errs) == 1 and f" err: {conf}:{line}: " in errs[0]
              and want in errs[0], f"--check-config: {want[:50]!r}", r.stderr[-600:])
    with open(conf, "w") as f:
        f.write("[daemon]\nseccomp = sometimes\n[device n]\ntype = null\nfrobnicate = 1\n"
                "[device m]\ntype = null\nbogus = 2\n")
    r = subprocess.run([ARGS.vtrustd, "--config", conf, "--check-config"], cwd=tmp, capture_output=True,
                       text=True, timeout=20)
    errs = [x for x in r.stderr.splitlines() if " err: " in x]
    check(r.returncode == 2 and [e.split(" err: ")[1].split(":")[1] for e in errs] == ["2", "5", "8"],
          "every error is reported, each on its own line", r.stderr)
    with open(conf, "w") as f:
        f.write("[daemon]\nnot a key\n[device n]\ntype = null\nneither\n")
    r = subprocess.run([ARGS.vtrustd, "--config", conf, "--check-config"], cwd=tmp, capture_output=True,
                       text=True, timeout=20)
    errs = [x for x in r.stderr.splitlines() if " err: " in x]
    check(r.returncode == 2 and [e.split(" err: ")[1].split(":")[1] for e in errs] == ["2", "5"],
          "every line libinih cannot read is reported", r.stderr)
    # Indented lines are lines like any other (libinih alone would glue them to the key before).
    with open(conf, "w") as f:
        f.write("[daemon]\n  run_dir = ind\n  state_dir = var\n[device d]\n\ttype = null\n  socket_mode = 0660\n")
    r = subprocess.run([ARGS.vtrustd, "--config", conf, "--check-config"], cwd=tmp, capture_output=True,
                       text=True, timeout=20)
    check(r.returncode == 0 and "d: null on ind/d.sock" in r.stdout, "indented keys", r.stdout + r.stderr)
    # log_target takes effect after the configuration is read: --check-config reports on
    # stderr and creates no log file.
    logf = os.path.join(tmp, "never.log")
    with open(conf, "w") as f:
        f.write(f"[daemon]\nlog_target = file:{logf}\nseccomp = sometimes\n")
    r = subprocess.run([ARGS.vtrustd, "--config", conf, "--check-config"], cwd=tmp, capture_output=True,
                       text=True, timeout=20)
    check(r.returncode == 2 and f"{conf}:3: [daemon] seccomp = sometimes" in r.stderr
          and not os.path.exists(logf), "log_target: errors of --check-config on stderr, no file", r.stderr)
    with open(conf, "w") as f:
        f.write("[daemon]\nrun-dir = dashes\nstate_dir = underscores\n[device d]\ntype = null\n"
                "socket-mode = 0660\n")
    r = subprocess.run([ARGS.vtrustd, "--config", conf, "--check-config"], cwd=tmp, capture_output=True,
                       text=True, timeout=20)
    check(r.returncode == 0 and "d: null on dashes/d.sock" in r.stdout,
          "keys spelled with '-' or '_' are the same key", r.stdout + r.stderr)
    r = subprocess.run([ARGS.vtrustd, "--config", os.path.join(tmp, "missing.conf")], cwd=tmp,
                       capture_output=True, text=True)
    check(r.returncode == 2 and "No such file or directory" in r.stderr, "missing config file reported with its reason")
    # A device that cannot start says why in one line (the generic "cannot create the rpmb
    # device: Operation not permitted" followed the device's own line).
    if "rpmb" in types_of_build():
        kf = os.path.join(tmp, "wide.key")
        with open(kf, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(kf, 0o644)
        short = os.path.join(tmp, "short.rpmb")
        with open(short, "w") as f:
            f.write("hi")
        os.chmod(short, 0o600)
        for opts, want in ((f"migration_key={kf}", "chmod 600"),
                           (f"store={short}", "not even a superblock")):
            r = subprocess.run([ARGS.vtrustd, "--run-dir", "run", "--state-dir", "var", "--seccomp",
                                "off", "--control-socket", "none", "--device", f"r9:rpmb,{opts}"],
                               cwd=tmp, capture_output=True, text=True, timeout=20)
            errs = [x for x in r.stderr.splitlines() if " err: " in x]
            check(r.returncode != 0 and len(errs) == 1 and want in errs[0],
                  f"rpmb {opts.split('=')[0]}: one error line with the cause", r.stderr)
    # No configuration at all: one device of every real type.
    r = subprocess.run([ARGS.vtrustd, "--run-dir", "run", "--state-dir", "var",
                        "--check-config"], cwd=tmp, capture_output=True, text=True)
    types = [t for t in types_of_build() if t != "null"]
    check(r.returncode == 0 and all(f"{t}0: {t} on run/{t}0.sock" in r.stdout for t in types),
          f"defaults serve one of each type ({', '.join(types)})", r.stdout)


def types_of_build():
    h = subprocess.run([ARGS.vtrustd, "--help"], capture_output=True, text=True).stdout
    line = [x for x in h.splitlines() if x.startswith("types:")][0]
    return line.split()[1:]


def printed_fragment(out):
    """The QEMU command line vtrustd printed, as one string."""
    lines = out.splitlines()
    i = next(i for i, x in enumerate(lines) if x.strip().startswith("qemu-system-x86_64"))
    frag = []
    for x in lines[i:]:
        frag.append(x.strip().rstrip("\\").strip())
        if not x.endswith("\\"):
            break
    return " ".join(frag)


def pasteable(out, tool):
    """The printed lines that run `tool` (indented commands), split like a shell would."""
    import shlex
    return [shlex.split(x) for x in out.splitlines()
            if x.startswith("  ") and tool in x.split()[0]]


def case_default_run(tmp):
    """What `make run` does: defaults, attach fragments on stdout, status and metrics work."""
    d = start(tmp, ["--run-dir", "./run", "--state-dir", "./var"], env={"VTRUSTD_ACCEL": "tcg"})
    out = d.out("metrics\n")
    types = [t for t in types_of_build() if t != "null"]
    for t in types:
        check(os.path.exists(os.path.join(tmp, "run", f"{t}0.sock")), f"{t}0 socket under ./run")
    if "rng" in types:
        check("-device vhost-user-rng-pci,chardev=rng0" in out, "rng attach fragment printed", out)
    if "crypto" in types:
        check("cryptodev-vhost-user" in out and "virtio-crypto-pci,cryptodev=crypto0-cd,vectors=0"
              in out, "crypto attach fragment printed (TCG: vectors=0)", out)
    check("memory-backend-memfd" in out and "share=on" in out, "shared memfd memory printed")
    # Every printed command can be pasted: absolute paths to the tools, no "a | b" alternatives.
    ctl = pasteable(out, "vtrustctl")
    check(len(ctl) == 2 and all(c[0] == ARGS.vtrustctl for c in ctl)
          and [c[-1] for c in ctl] == ["status", "metrics"] and "|" not in out,
          "two pasteable vtrustctl lines with the binary's real path", out)
    for c in ctl:
        r = subprocess.run(c, capture_output=True, text=True, timeout=30, cwd="/")
        check(r.returncode == 0 and r.stdout, f"printed line runs as is: {' '.join(c[-3:])}",
              r.stdout[-300:] + r.stderr)
    if "rpmb" in types:
        pr = [x.strip() for x in out.splitlines() if x.startswith("  ") and "vtrust-probe --socket" in x]
        exe = pr[0].split(" && ")[-1].split()[0] if pr else ""
        check(len(pr) == 1 and os.path.isabs(exe) and exe.endswith("/vtrust-probe")
              and (" && " in pr[0] or os.access(exe, os.X_OK)),
              "printed vtrust-probe line names the real binary", out)
        if pr:
            r = subprocess.run(["bash", "-c", pr[0]], capture_output=True, text=True, timeout=120,
                               cwd="/")
            check(r.returncode == 0, "printed vtrust-probe line runs as is", r.stdout + r.stderr)
    r = d.ctl("status")
    check(r.returncode == 0 and all(f"{t}0" in r.stdout for t in types), "vtrustctl status",
          r.stdout + r.stderr)
    r = d.ctl("metrics")
    check(r.returncode == 0 and "vtrust_device_up" in r.stdout, "vtrustctl metrics")
    check(d.stop() == 0, "SIGTERM: exit 0")


def case_fragments(tmp):
    """One set of QEMU fragments: printed (KVM and TCG), README, man page, libvirt example."""
    types = types_of_build()
    if "rng" not in types or "crypto" not in types:
        skip("needs the rng and crypto device types")
    frags = {}
    for accel in ("kvm", "tcg"):
        run = os.path.join(tmp, "run-" + accel)
        d = start(tmp, ["--run-dir", run, "--state-dir", os.path.join(tmp, "var-" + accel),
                        "--device", "rng0:rng", "--device", "crypto0:crypto"],
                  env={"VTRUSTD_ACCEL": accel})
        frags[accel] = printed_fragment(d.out("metrics\n")).replace(run, "RUN")
        check(d.stop() == 0, f"{accel}: SIGTERM: exit 0")
    kvm, tcg = frags["kvm"], frags["tcg"]
    check("-accel kvm" in kvm and "vectors" not in kvm, "KVM: -accel kvm, MSI-X left alone", kvm)
    check("-accel tcg" in tcg and tcg.endswith("virtio-crypto-pci,cryptodev=crypto0-cd,vectors=0"),
          "TCG: -accel tcg and vectors=0 on virtio-crypto-pci only", tcg)
    check(kvm.replace("-accel kvm", "-accel tcg") + ",vectors=0" == tcg,
          "the two differ only in the accelerator and vectors=0")

    def block_after(text, marker, fence):
        i = text.index(marker)
        a = text.index(fence, i) + len(fence)
        b = text.index("```", a)
        return " ".join(x.strip().rstrip("\\").strip() for x in text[a:b].strip().splitlines())

    readme = open(os.path.join(ARGS.source, "README.md")).read()
    rf = block_after(readme, "### QEMU 7.2", "```sh\n").replace("$PWD/run", "RUN")
    check(rf == kvm, "README's QEMU fragment is the printed KVM one", (rf, kvm))
    man = open(os.path.join(ARGS.source, "docs", "man", "vtrustd.8.scd")).read()
    mf = block_after(man, "# ATTACHING TO QEMU", "```\n").replace("/run/vtrust", "RUN")
    mf = mf.replace("\\\\", "").replace("  ", " ")
    check(mf == kvm, "the man page's QEMU fragment is the printed KVM one", (mf, kvm))
    for name, text in (("README.md", readme), ("vtrustd.8", man)):
        check("accel=kvm" not in text, f"{name}: no hard-coded accel=kvm")
        near = [text[max(0, m.start() - 300):m.end() + 300] for m in re.finditer("vectors=0", text)]
        check(near and all("TCG" in x for x in near),
              f"{name}: vectors=0 appears only as the TCG workaround", len(near))
    import xml.dom.minidom
    dom = xml.dom.minidom.parse(os.path.join(ARGS.source, "data", "libvirt", "vtrust-domain.xml"))
    args = [a.getAttribute("value") for a in dom.getElementsByTagName("qemu:arg")]
    dev = [a for a in args if a.startswith("virtio-crypto-pci")]
    check(dom.documentElement.getAttribute("type") == "kvm" and dev and "vectors" not in dev[0],
          "libvirt example: a KVM domain, virtio-crypto-pci without vectors=0", args)
    check("apparmor" in readme.lower() and "/etc/apparmor.d/local/abstractions/libvirt-qemu" in readme
          and "/etc/apparmor.d/local/abstractions/libvirt-qemu" in man,
          "README and man page give the AppArmor rule libvirt's QEMU needs")


def case_make_run(tmp):
    """`make run` builds only what it runs and installs only the runtime packages."""
    src = ARGS.source
    r = subprocess.run(["make", "-n", "-C", src, "run", f"BUILD={ARGS.build}"], capture_output=True,
                       text=True, timeout=60)
    cmds = r.stdout
    ninja = [x for x in cmds.splitlines() if x.startswith("ninja")]
    check(r.returncode == 0 and "install-deps.sh --runtime" in cmds,
          "make run installs only the runtime package set", cmds)
    check(len(ninja) == 1 and len(ninja[0].split()) > 3, "make run names its ninja targets", ninja)
    if not ninja:
        return
    targets = ninja[0].split()[3:]
    want = subprocess.run(["ninja", "-C", ARGS.build, "-t", "commands"] + targets,
                          capture_output=True, text=True, timeout=60)
    every = subprocess.run(["ninja", "-C", ARGS.build, "-t", "commands"], capture_output=True,
                           text=True, timeout=60)
    mine = want.stdout.splitlines()
    outs = [m.group(1) for m in (re.search(r" -o (\S+)", c) for c in mine) if m]
    # What it links: exactly the programs it runs (their libraries may live anywhere, e.g. the
    # probe's crypto benchmark command links the raw-OpenSSL baseline from devices/crypto/bench).
    exes = sorted(o for o in outs if not o.endswith((".o", ".a", ".so")) and ".so." not in o)
    bad = [o for o in exes if o not in targets] + [t for t in targets if t not in exes]
    print(f"make run: {len(mine)} build commands of {len(every.stdout.splitlines())}")
    check(want.returncode == 0 and mine and not bad,
          "make run links only its programs: no test, fuzzer, benchmark or example", (bad[:5], exes))
    check(any(c.endswith(" daemon/vtrustd") or "-o daemon/vtrustd " in c for c in mine),
          "make run builds vtrustd", mine[-3:])
    check(len(mine) * 2 < len(every.stdout.splitlines()), "under half of the whole build")
    lst = subprocess.run(["bash", os.path.join(src, "scripts", "install-deps.sh"), "--list", "--runtime"],
                         capture_output=True, text=True).stdout.split()
    full = subprocess.run(["bash", os.path.join(src, "scripts", "install-deps.sh"), "--list"],
                          capture_output=True, text=True).stdout.split()
    test_only = {"qemu-system-x86", "linux-image-amd64", "prometheus", "clang", "busybox-static"}
    check(lst and not test_only & set(lst), "runtime set: no QEMU, guest kernel, Prometheus, clang", lst)
    check(test_only <= set(full) and set(lst) <= set(full), "make check's set has everything", full)
    r = subprocess.run(["make", "-n", "-C", src, "check"], capture_output=True, text=True, timeout=60)
    check("install-deps.sh\n" in r.stdout or re.search(r"install-deps\.sh\s*$", r.stdout, re.M),
          "make check still installs everything", r.stdout[:300])


# docs/interop/vhost-user.json (QEMU): VHostUserBackendType, and the members each
# VHostUserBackendCapabilities branch allows besides "type" (rng and crypto have none).
SCHEMA_TYPES = {"9p", "balloon", "block", "caif", "console", "crypto", "gpu", "input", "net", "rng",
                "rpmsg", "rproc-serial", "scsi", "vsock", "fs"}
SCHEMA_MEMBERS = {"input": {"features"}, "gpu": {"features"}, "block": {"features"}}


def case_capabilities(tmp):
    types = types_of_build()
    for t in [x for x in ("rng", "crypto") if x in types]:
        r = subprocess.run([ARGS.vtrustd, "--type", t, "--print-capabilities", "--bogus-option", "x"],
                           capture_output=True, text=True)
        caps = json.loads(r.stdout) if r.returncode == 0 else {}
        extra = set(caps) - {"type"} - SCHEMA_MEMBERS.get(caps.get("type"), set())
        check(r.returncode == 0 and caps.get("type") == t and caps["type"] in SCHEMA_TYPES and not extra,
              f"--type {t} --print-capabilities: schema-clean JSON, other options ignored", r.stdout)
    r = subprocess.run([ARGS.vtrustd, "--print-capabilities"], capture_output=True, text=True)
    check(r.returncode == 2 and not r.stdout and "--type" in r.stderr and len(r.stderr.splitlines()) == 1,
          "no type: no made-up capabilities, one line naming --type", r.stdout + r.stderr)
    r = subprocess.run([ARGS.vtrustd, "--type", "null", "--print-capabilities"], capture_output=True,
                       text=True)
    check(r.returncode == 1 and not r.stdout and "VHostUserBackendType" in r.stderr,
          "a type outside the schema: refused, nothing printed", r.stdout + r.stderr)
    if "rng" in types:
        link = os.path.join(tmp, "vtrust-vhost-user-rng")
        os.symlink(ARGS.vtrustd, link)
        r = subprocess.run([link, "--print-capabilities"], capture_output=True, text=True)
        check(r.returncode == 0 and json.loads(r.stdout) == {"type": "rng"},
              "the vtrust-vhost-user-TYPE name selects the type", r.stdout + r.stderr)
    # The descriptors libvirt reads (docs/interop/vhost-user.json: VhostUserBackend).
    ddir = os.path.join(ARGS.build, "data")
    files = sorted(x for x in os.listdir(ddir) if re.match(r"^\d\d-.*\.json$", x))
    check(len(files) >= 2, "descriptor files shipped", files)
    for fn in files:
        with open(os.path.join(ddir, fn)) as f:
            desc = json.load(f)
        ok = (re.match(r"^\d\d-", fn) and set(desc) <= {"description", "type", "binary", "tags"}
              and desc["type"] in ("rng", "crypto") and desc["binary"].startswith("/")
              and desc["binary"].endswith("vtrust-vhost-user-" + desc["type"]))
        check(ok, f"descriptor {fn} follows the schema", desc)
    # Backend conventions: fail early with a status != 0.
    r = subprocess.run([ARGS.vtrustd, "--type", "null"], capture_output=True, text=True)
    check(r.returncode == 2 and "--socket-path" in r.stderr, "--type without a socket: status 2")
    r = subprocess.run([ARGS.vtrustd, "--type", "null", "--socket-path", "a", "--fd", "3"],
                       capture_output=True, text=True)
    check(r.returncode == 2, "--socket-path and --fd exclude each other")


def case_single(tmp):
    sock = os.path.join(tmp, "n.sock")
    d = start(tmp, ["--type", "null", "--socket-path", sock], wait=False)
    d.wait_socket(sock)
    fe = connect_fe(sock)
    check(fe.request(b"hello world") == b"hello world", "--socket-path: a request round trip")
    fe.close()
    check(d.stop() == 0 and not os.path.exists(sock), "SIGTERM: exit 0, socket removed")

    # --socket-group/--socket-mode: what QEMU's user needs to connect (virtiofsd has them too).
    gname = "nogroup" if "nogroup" in [g.gr_name for g in grp.getgrall()] else grp.getgrgid(os.getgid()).gr_name
    d = start(tmp, ["--type", "null", "--socket-path", sock, "--socket-group", gname,
                    "--socket-mode", "0660"], wait=False)
    d.wait_socket(sock)
    st = os.stat(sock)
    check(stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == grp.getgrnam(gname).gr_gid,
          f"--socket-group {gname} --socket-mode 0660", (oct(st.st_mode), st.st_gid))
    check(d.stop() == 0, "SIGTERM: exit 0")
    r = subprocess.run([ARGS.vtrustd, "--type", "null", "--socket-path", sock, "--socket-mode", "660"],
                       capture_output=True, text=True, timeout=20)
    check(r.returncode == 2 and "socket_mode" in r.stderr, "--socket-mode without a leading 0: refused",
          r.stderr)
    if "rpmb" in types_of_build():
        env = {k: v for k, v in os.environ.items() if k != "STATE_DIRECTORY"}
        rs = os.path.join(tmp, "r.sock")
        r = subprocess.run([ARGS.vtrustd, "--type", "rpmb", "--socket-path", rs], capture_output=True,
                           text=True, timeout=20, env=env, cwd=tmp)
        err = [x for x in r.stderr.splitlines() if "error" in x or "err:" in x]
        check(r.returncode != 0 and "--opt store=" in r.stderr and "--state-dir" in r.stderr
              and len(err) == 1, "--type rpmb without a store: one line naming both fixes", r.stderr)
        sd = os.path.join(tmp, "state")
        d = start(tmp, ["--type", "rpmb", "--socket-path", rs, "--state-dir", sd], wait=False, env=env)
        d.wait_socket(rs)
        check(os.path.exists(os.path.join(sd, "rpmb0.rpmb")), "--state-dir DIR: the store is DIR/rpmb0.rpmb")
        check(d.stop() == 0, "SIGTERM: exit 0")
        sd2 = os.path.join(tmp, "systemd-state")
        os.makedirs(sd2)
        d = start(tmp, ["--type", "rpmb", "--socket-path", rs], wait=False,
                  env={"STATE_DIRECTORY": sd2})
        d.wait_socket(rs)
        check(os.path.exists(os.path.join(sd2, "rpmb0.rpmb")),
              "under systemd (StateDirectory=): the store is $STATE_DIRECTORY/rpmb0.rpmb")
        check(d.stop() == 0, "SIGTERM: exit 0")

    # --fd with a listening socket (a manager bound it).
    lsock = os.path.join(tmp, "l.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(lsock)
    ls.listen(1)
    d = start(tmp, ["--type", "null", "--fd", str(ls.fileno())], wait=False, pass_fds=[ls.fileno()])
    ls.close()
    fe = FrontEnd(lsock)
    fe.setup()
    check(fe.request(b"via fd") == b"via fd", "--fd (listening socket): a request round trip")
    fe.close()
    check(d.stop() == 0, "--fd: SIGTERM exit 0")

    # --fd with a connected socket (libvirt style socketpair): ends when the front-end leaves.
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    d = start(tmp, ["--type", "null", "--fd", str(b.fileno())], wait=False, pass_fds=[b.fileno()])
    b.close()
    fe = FrontEnd(sock=a).setup()
    check(fe.request(b"pair") == b"pair", "--fd (connected socket): a request round trip")
    fe.close()
    try:
        rc = d.proc.wait(10)
    except subprocess.TimeoutExpired:
        rc = "still running"
    check(rc == 0, "--fd (connected): exits 0 when the front-end disconnects", rc)


def case_socket_activation(tmp):
    sa = shutil.which("systemd-socket-activate")
    if not sa:
        skip("systemd-socket-activate not installed")
    dev = os.path.join(tmp, "act.sock")
    ctl = os.path.join(tmp, "ctl.sock")
    d = start(tmp, ["-l", dev, "-l", ctl, "--fdname=n0:control", ARGS.vtrustd,
                    "--run-dir", os.path.join(tmp, "run"), "--state-dir", os.path.join(tmp, "var"),
                    "--device", "n0:null", "--control-socket", os.path.join(tmp, "unused.sock")],
              wait=False, exe=sa, argv0=sa)
    wait_for(lambda: os.path.exists(dev) and os.path.exists(ctl))
    # systemd-socket-activate accepts lazily: the first connection starts vtrustd.
    fe = connect_fe(dev)
    check(fe.request(b"activated") == b"activated", "socket-activated device socket serves")
    fe.close()
    r = d.request({"cmd": "devices"}, path=ctl)
    check(r["ok"] and r["devices"][0]["socket"] == dev and r["devices"][0].get("inherited") is True,
          "socket-activated control socket answers; the device shows its real socket path", r)
    check(not os.path.exists(os.path.join(tmp, "unused.sock")),
          "the inherited control socket replaces the configured one")
    check(d.stop() == 0, "SIGTERM: exit 0")
    if "rng" in types_of_build():
        # The printed fragment names the inherited socket's real path, not the working directory.
        rdev = os.path.join(tmp, "act-rng.sock")
        ctl2 = os.path.join(tmp, "ctl2.sock")
        d = start(tmp, ["-l", rdev, "-l", ctl2, "--fdname=rng0:control", ARGS.vtrustd,
                        "--run-dir", os.path.join(tmp, "run2"), "--state-dir", os.path.join(tmp, "var2"),
                        "--device", "rng0:rng"], wait=False, exe=sa, argv0=sa)
        wait_for(lambda: os.path.exists(ctl2))
        check(d.request({"cmd": "devices"}, path=ctl2)["ok"], "activated by the control socket")
        out = d.out("metrics\n")
        check(f"path={rdev} " in out and f"path={tmp}/ " not in out,
              "the printed fragment has the inherited socket's real path", out)
        check(d.stop() == 0, "SIGTERM: exit 0")


def case_control(tmp):
    d = start(tmp, null_args(tmp, "--debug-commands"))
    st = os.stat(d.control)
    check(stat.S_IMODE(st.st_mode) == 0o600, "control socket mode 0600", oct(st.st_mode))
    r = d.ctl("status")
    check(r.returncode == 0 and "n0" in r.stdout and "null" in r.stdout, "vtrustctl status", r)
    r = d.ctl("devices")
    check(r.returncode == 0 and r.stdout.split()[:3] == ["n0", "null", "running"],
          "vtrustctl devices", r.stdout)
    r = d.ctl("--json", "status")
    j = json.loads(r.stdout)
    check(j["ok"] and j["devices"][0]["name"] == "n0" and j["pid"] == d.pid, "vtrustctl --json")
    r = d.ctl("leak", "n0")
    check(r.returncode == 1 and "no command 'leak'" in r.stderr, "device without the command: error")
    # Status says what is attached now.
    fe = connect_fe(os.path.join(tmp, "run", "n0.sock"))
    j = json.loads(d.ctl("--json", "status").stdout)["devices"][0]
    r = d.ctl("status")
    check(j["connected"] is True and j["connections_total"] >= 1 and " connected " in r.stdout,
          "status: a front-end is connected now", (j, r.stdout))
    fe.close()
    wait_for(lambda: json.loads(d.ctl("--json", "status").stdout)["devices"][0]["connected"] is False)
    r = d.ctl("status")
    j = json.loads(d.ctl("--json", "status").stdout)["devices"][0]
    check(j["connected"] is False and " none " in r.stdout, "status: nothing connected after it left",
          (j, r.stdout))
    r = d.ctl("leak", "nosuch")
    check(r.returncode == 1 and "no device named" in r.stderr, "unknown device: error")
    r = d.ctl("rpmb", "info")
    check(r.returncode == 2, "usage error: status 2")
    r = subprocess.run([ARGS.vtrustctl, "--socket", os.path.join(tmp, "nope.sock"), "status"],
                       capture_output=True, text=True)
    check(r.returncode == 3 and "cannot connect" in r.stderr, "no daemon: status 3")
    # A socket that answers with no line end (not a vtrustd, or a broken one): exit 3 with one
    # line that says so (it was exit 3 and nothing at all, or "the daemon closed the
    # connection without a reply" although it had sent bytes).
    for what, flood in (("an endless reply", 65 << 20), ("a reply without a line end", 100)):
        fake = os.path.join(tmp, "fake.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(fake)
        srv.listen(1)

        def serve(srv=srv, flood=flood):
            c, _ = srv.accept()
            try:
                got = b""
                while not got.endswith(b"\n"):  # the whole request: no reset on close
                    part = c.recv(4096)
                    if not part:
                        break
                    got += part
                chunk = b"x" * (1 << 20)
                for off in range(0, flood, len(chunk)):
                    c.sendall(chunk[:min(len(chunk), flood - off)])
            except OSError:
                pass
            c.close()

        th = threading.Thread(target=serve)
        th.start()
        t0 = time.monotonic()
        r = subprocess.run([ARGS.vtrustctl, "--socket", fake, "--timeout", "5", "status"],
                           capture_output=True, text=True)
        took = time.monotonic() - t0
        th.join()
        srv.close()
        os.unlink(fake)
        lines = r.stderr.splitlines()
        check(r.returncode == 3 and len(lines) == 1 and "vtrustd" in lines[0],
              f"{what}: status 3 and one line naming the cause", (r.returncode, r.stderr[:300]))
        check(took < 20, f"{what}: refused in {took:.1f} s", took)

    malformed = [
        b"", b"   ", b"garbage", b"{", b"[]", b"42", b'"status"', b"null", b'{"cmd":1}',
        b'{"cmd":null}', b'{"cmd":"status"} trailing', b'{"cmd":"nosuch"}',
        b'{"cmd":"leak","device":5}', b'{"cmd":"leak","device":"n0","args":[1]}',
        b'{"cmd":"x\x00y"}', b"\xff\xfe\xfd", b'{"cmd":"status","cmd":[]}',
        b"[" * 100000 + b"]" * 100000, b'{"a":' * 50 + b"1" + b"}" * 50,
        b'{"cmd":"' + b"A" * 5000 + b'"}', b'{"cmd":"\\ud800"}',
    ]
    for m in malformed:
        r = d.request(m)
        check(r.get("ok") is False and isinstance(r.get("error"), str) and "\n" not in r["error"],
              f"malformed request {m[:30]!r}: error reply", r)
    r = d.request({"cmd": "status", "id": {"x": [1, 2]}})
    check(r["ok"] and r["id"] == {"x": [1, 2]}, "id echoed")
    # Several requests on one connection, one reply line each, in order.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.control)
    s.sendall(b'{"cmd":"devices","id":1}\n{"cmd":"bogus","id":2}\n{"cmd":"status","id":3}')
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    lines = [json.loads(x) for x in data.decode().splitlines()]
    check([x.get("id") for x in lines] == [1, 2, 3] and [x["ok"] for x in lines] == [True, False, True],
          "pipelined requests (last one without a newline)", lines)
    # An over-long request is refused and the connection closed.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.control)
    try:
        s.sendall(b"x" * (3 << 20))
    except OSError:
        pass
    s.settimeout(5)
    data = b""
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
    except OSError:
        pass
    check(b"longer than" in data, "request over control_max_request refused", data[:200])
    # Bounded clients: the 17th is told and closed; the daemon still answers.
    held = []
    for _ in range(16):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(d.control)
        held.append(c)
    time.sleep(0.2)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect(d.control)
    check(b"too many clients" in c.recv(4096), "client limit enforced")
    c.close()
    for c in held:
        c.close()
    time.sleep(0.2)
    check(d.request({"cmd": "devices"})["ok"], "daemon answers after the flood")
    check(d.proc.poll() is None, "daemon survived every malformed request")
    check(d.stop() == 0, "SIGTERM: exit 0")

    # A configured group: 0660 and that group.
    gname = grp.getgrgid(os.getgid() if os.getgid() else 0).gr_name
    try:
        gname = grp.getgrnam("nogroup").gr_name
    except KeyError:
        pass
    d = start(tmp, null_args(tmp, "--control-group", gname, devices=("g0",)))
    st = os.stat(d.control)
    check(stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == grp.getgrnam(gname).gr_gid,
          f"control_group={gname}: mode 0660, group set", (oct(st.st_mode), st.st_gid))
    check(d.stop() == 0, "SIGTERM: exit 0")


def case_device_status(tmp):
    """Names instead of bitmasks; a leak event that reached no driver says so."""
    types = types_of_build()
    if "rng" not in types or "crypto" not in types:
        skip("needs the rng and crypto device types")
    d = start(tmp, ["--run-dir", "run", "--state-dir", "var", "--device", "rng0:rng",
                    "--device", "crypto0:crypto"])
    st = json.loads(d.ctl("--json", "status").stdout)
    cr = [x for x in st["devices"] if x["name"] == "crypto0"][0]["device"]
    check(cr.get("services") and set(cr["services"]) <= {"cipher", "hash", "mac", "aead", "akcipher"}
          and "aes-cbc" in cr.get("algorithms", []) and "sha256" in cr["algorithms"]
          and not any(isinstance(v, int) and k.endswith(("services", "features")) for k, v in cr.items()),
          "crypto status: services and algorithms by name, no bitmasks", cr)
    r = d.ctl("status")
    check("0x" not in r.stdout and "aes-cbc" in r.stdout, "vtrustctl status: no hex masks", r.stdout)
    r = d.ctl("leak", "rng0")
    check(r.returncode == 0 and "warning: no front-end is connected" in r.stderr,
          "leak with no front-end: done, and a warning that no driver saw it", r.stdout + r.stderr)
    fe = connect_fe(os.path.join(tmp, "run", "rng0.sock"))  # acks VERSION_1 only: no leak queues
    r = d.ctl("--json", "leak", "rng0")
    j = json.loads(r.stdout)
    check(j["ok"] and j["delivered"] is False and "did not negotiate" in j["warning"],
          "leak with a driver that did not negotiate the leak queues: delivered false", j)
    r = d.ctl("leak", "rng0")
    check(r.returncode == 0 and "VIRTIO_RNG_F_LEAK" in r.stderr, "vtrustctl prints that warning", r.stderr)
    fe.close()
    check(d.stop() == 0, "SIGTERM: exit 0")


def connect_fe(path, timeout=5.0):
    """A front-end; retried while the daemon still holds the previous one (it drops it on EOF)."""
    deadline = time.monotonic() + timeout
    while True:
        fe = FrontEnd(path)
        try:
            return fe.setup()
        except (ConnectionError, OSError):
            fe.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def traffic(path, n=10, size=100):
    fe = connect_fe(path)
    for i in range(n):
        payload = bytes([i % 256]) * size
        if fe.request(payload) != payload:
            fe.close()
            return False
    fe.close()
    return True


def promtool(text):
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def case_metrics(tmp):
    if not shutil.which("promtool"):
        skip("promtool not installed (Debian package prometheus)")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    d = start(tmp, null_args(tmp, "--metrics-http", f"127.0.0.1:{port}", devices=("n0", "n1")))
    check(traffic(os.path.join(tmp, "run", "n0.sock"), n=10, size=100), "traffic on n0")
    r = d.ctl("metrics")
    text = r.stdout
    rc, msg = promtool(text)
    check(r.returncode == 0 and rc == 0, "vtrustctl metrics passes promtool check metrics", msg)
    check('vtrust_requests_total{device="n0",device_type="null",queue="0"} 10' in text,
          "requests counted", text)
    check('vtrust_bytes_total{device="n0",device_type="null",queue="0"} 1000' in text,
          "bytes counted")
    check('vtrust_requests_total{device="n1",device_type="null",queue="0"} 0' in text,
          "per-device series")
    check(text.count("# TYPE vtrust_requests_total counter") == 1, "one TYPE line per family")
    check('vtrust_vhost_connections_total{device="n0",device_type="null"} 1' in text,
          "connections counted")
    # The loopback HTTP endpoint.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        body = resp.read().decode()
        ctype = resp.headers["Content-Type"]
    rc, msg = promtool(body)
    check(rc == 0 and "vtrust_requests_total" in body and ctype.startswith("text/plain; version=0.0.4"),
          "HTTP /metrics passes promtool", msg)
    for path, code in (("/", 404), ("/metricsx", 404)):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
            got = 200
        except urllib.error.HTTPError as e:
            got = e.code
        check(got == code, f"HTTP {path}: {code}", got)
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", data=b"x", method="POST")
    try:
        urllib.request.urlopen(req, timeout=10)
        got = 200
    except urllib.error.HTTPError as e:
        got = e.code
    check(got == 405, "HTTP POST: 405", got)
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"\x00\x01garbage that is not http\r\n\r\n")
    check(c.recv(100).startswith(b"HTTP/1.1 400"), "HTTP garbage: 400")
    c.close()
    # A request with no header lines at all (HTTP/1.0 style) is still a valid request.
    for raw in (b"GET /metrics HTTP/1.0\r\n\r\n", b"GET /metrics HTTP/1.0\n\n"):
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.sendall(raw)
        check(c.recv(100).startswith(b"HTTP/1.1 200"), f"HTTP request without headers: 200 ({raw!r})")
    c.close()
    check(d.stop() == 0, "SIGTERM: exit 0")
    r = subprocess.run([ARGS.vtrustd] + null_args(tmp, "--metrics-http", "0.0.0.0:9464"),
                       capture_output=True, text=True, timeout=20, cwd=tmp)
    check(r.returncode != 0 and "loopback" in r.stderr, "non-loopback HTTP address refused")

    # The default device set (whatever device types exist): every family, core and device, is
    # lint-clean.
    d = start(tmp, ["--run-dir", "run2", "--state-dir", "var2"])
    text = d.ctl("metrics").stdout
    rc, msg = promtool(text)
    check(rc == 0, "default devices: metrics parse and are lint-clean (promtool)", msg)
    check(re.search(r'^vtrust_build_info\{version="[^"]+"\} 1$', text, re.M)
          and "# TYPE vtrust_build_info gauge" in text, "vtrust_build_info{version=...} 1", text[:300])
    values = re.findall(r'="([^"]*)"', "\n".join(x for x in text.splitlines() if not x.startswith("#")))
    upper = sorted({v for v in values if v != v.lower() and v != "+Inf"})
    check(not upper, "label values in one case (lower)", upper)
    check(not re.search(r"_p\d\d_", text), "no quantile gauges (histograms instead)")
    if "rpmb" in types_of_build():
        check("# TYPE vtrust_rpmb_write_latency_seconds histogram" in text
              and 'vtrust_rpmb_write_latency_seconds_bucket{device="rpmb0",device_type="rpmb",le="+Inf"} 0'
              in text and 'vtrust_rpmb_write_latency_seconds_count{device="rpmb0",device_type="rpmb"} 0'
              in text, "RPMB write latency is a Prometheus histogram", text)
    check(d.stop() == 0, "SIGTERM: exit 0")
    # Connected now, not connected ever.
    d = start(tmp, null_args(tmp, devices=("c0",), ))
    fe = connect_fe(os.path.join(tmp, "run", "c0.sock"))
    text = d.ctl("metrics").stdout
    check('vtrust_vhost_connected{device="c0",device_type="null"} 1' in text, "a front-end: connected 1")
    fe.close()
    wait_for(lambda: 'vtrust_vhost_connected{device="c0",device_type="null"} 0' in d.ctl("metrics").stdout)
    text = d.ctl("metrics").stdout
    check('vtrust_vhost_connected{device="c0",device_type="null"} 0' in text
          and 'vtrust_vhost_connections_total{device="c0",device_type="null"} 1' in text,
          "after it left: connected 0, connections_total 1", text)
    check(d.stop() == 0, "SIGTERM: exit 0")


def case_logging(tmp):
    logf = os.path.join(tmp, "vtrustd.log")
    d = start(tmp, null_args(tmp, "--log-target", f"file:{logf}", "--log-level", "debug"))
    check(traffic(os.path.join(tmp, "run", "n0.sock"), n=2), "traffic")
    wait_for(lambda: "front-end disconnected" in open(logf).read())
    text = open(logf).read()
    lines = text.splitlines()
    pat = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z vtrustd\[\d+\] "
                     r"(err|warning|notice|info|debug): \S")
    check(lines and all(pat.match(x) for x in lines), "one line per event with time, pid, level",
          [x for x in lines if not pat.match(x)][:3])
    check("front-end connected" in text and "debug" in text, "debug events logged")
    os.rename(logf, logf + ".1")
    d.signal(signal.SIGHUP)
    wait_for(lambda: os.path.exists(logf) and "log reopened" in open(logf).read())
    check(os.path.exists(logf) and "log reopened" in open(logf).read(), "SIGHUP reopens the log")
    check(d.proc.poll() is None, "SIGHUP does not stop the daemon")
    check(d.stop() == 0 and "stopped" in open(logf).read(), "SIGTERM logged, exit 0")
    # Levels filter.
    d = start(tmp, null_args(tmp, "--log-level", "warning", devices=("q0",)))
    check(traffic(os.path.join(tmp, "run", "q0.sock"), n=1), "traffic")
    d.stop()
    check("info:" not in d.log() and "front-end connected" not in d.log(),
          "log_level=warning hides info", d.log()[-500:])
    r = subprocess.run([ARGS.vtrustd, "--log-level", "chatty"], capture_output=True, text=True)
    check(r.returncode == 2, "bad log level refused")
    # --log-target journal where no journald listens: said once, then every line on stderr.
    if not os.path.exists("/run/systemd/journal/socket"):
        d = start(tmp, null_args(tmp, "--log-target", "journal", devices=("j0",)))
        check(traffic(os.path.join(tmp, "run", "j0.sock"), n=1), "traffic")
        d.stop()
        log = d.log()
        check("no journald here" in log and "front-end connected" in log and "stopped" in log,
              "log_target=journal without journald: a warning, then the lines on stderr", log[-600:])


def case_lifecycle(tmp):
    run = os.path.join(tmp, "run")
    d = start(tmp, null_args(tmp, "--busy-poll-us", "0"))
    sock = os.path.join(run, "n0.sock")
    # Reconnect: the device works again for a new front-end.
    check(traffic(sock, n=3), "first front-end")
    check(traffic(sock, n=3), "reconnected front-end gets a working device")
    # A live socket is refused by a second daemon.
    r = subprocess.run([ARGS.vtrustd] + null_args(tmp, "--control-socket", "none"), capture_output=True,
                       text=True, timeout=20, cwd=tmp)
    check(r.returncode == 1 and "served by another process" in r.stderr, "live socket refused", r.stderr)
    check(d.request({"cmd": "devices"})["ok"], "first daemon unaffected")
    # SIGTERM with requests in flight: they complete, exit 0.
    fe = connect_fe(sock)
    outs = [fe.post(bytes([i]) * 64, 64) for i in range(32)]
    fe.kick_ring()
    d.signal(signal.SIGTERM)
    try:
        done = fe.wait_used(32, timeout=10)
    except (TimeoutError, OSError) as e:
        done = e
    check(isinstance(done, list) and all(x == 64 for x in done), "in-flight requests completed", done)
    check(bytes(fe.mem[outs[5]:outs[5] + 64]) == bytes([5]) * 64, "their data is right")
    fe.close()
    check(d.proc.wait(10) == 0, "SIGTERM: exit 0")
    # Crash-only: SIGKILL leaves sockets behind; a restart replaces the stale ones.
    d = start(tmp, null_args(tmp))
    d.signal(signal.SIGKILL)
    d.proc.wait()
    check(os.path.exists(sock) and os.path.exists(d.control), "SIGKILL leaves the sockets")
    d = start(tmp, null_args(tmp))
    check(traffic(sock, n=2) and "replacing stale socket" in d.log()
          and "replacing stale control socket" in d.log(), "restart replaces stale sockets", d.log())
    check(d.stop() == 0, "SIGTERM: exit 0")
    # A path that is not a socket is never removed.
    os.makedirs(run, exist_ok=True)
    with open(os.path.join(run, "n0.sock"), "w") as f:
        f.write("precious")
    r = subprocess.run([ARGS.vtrustd] + null_args(tmp), capture_output=True, text=True, timeout=20,
                       cwd=tmp)
    check(r.returncode == 1 and open(os.path.join(run, "n0.sock")).read() == "precious",
          "a non-socket file in the way is kept, start refused")
    os.unlink(os.path.join(run, "n0.sock"))
    # State survives SIGKILL (rpmb store and its identity), when the rpmb type is built in.
    if "rpmb" in types_of_build():
        args = ["--run-dir", "run3", "--state-dir", "var3", "--device", "r0:rpmb"]
        d = start(tmp, args)
        before = d.request({"cmd": "rpmb-info", "device": "r0"})
        d.signal(signal.SIGKILL)
        d.proc.wait()
        d = start(tmp, args)
        after = d.request({"cmd": "rpmb-info", "device": "r0"})
        check(before["ok"] and after["ok"] and before["device_id"] == after["device_id"]
              and before["write_counter"] == after["write_counter"],
              "rpmb store identity and counter survive SIGKILL", (before, after))
        check(d.stop() == 0, "SIGTERM: exit 0")


def seccomp_counts(d):
    return {comm: (st.get("Seccomp"), int(st.get("Seccomp_filters", "0")))
            for comm, st in d.threads().values()}


def case_sandbox(tmp):
    with open("/proc/self/status") as f:
        if "Seccomp_filters" not in f.read():
            skip("kernel does not report Seccomp_filters")
    # LeakSanitizer (ASan builds) stops the world with ptrace and /proc walks, which the enforcing
    # sandbox modes refuse by design: leak checking stays on for the daemons in log mode.
    nolsan = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"}
    d = start(tmp, null_args(tmp, "--debug-commands", "--seccomp", "errno"), env=nolsan)
    fe = connect_fe(os.path.join(tmp, "run", "n0.sock"))
    check(fe.request(b"x") == b"x", "traffic under seccomp=errno")
    # Threads load their own filter as they start: wait (bounded) until all have.
    want = {"vtrustd": 2, "vt-control": 2, "vtp-n0": 2, "vt-q0": 3}
    deadline = time.monotonic() + 10
    while True:
        counts = seccomp_counts(d)
        if all(counts.get(k, (0, 0))[1] >= v for k, v in want.items()) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    print("threads:", counts)
    check(all(v[0] == "2" for v in counts.values()), "every thread is in seccomp filter mode (2)")
    check(counts.get("vtrustd", (0, 0))[1] >= 2 and counts.get("vt-control", (0, 0))[1] >= 2
          and counts.get("vtp-n0", (0, 0))[1] >= 2, "main, control, protocol: base + own filter")
    check(counts.get("vt-q0", (0, 0))[1] >= 3, "queue worker: base + protocol + worker filters")
    r = d.request({"cmd": "debug-seccomp"})
    check(r["ok"] and r["blocked"] is True, "errno: a forbidden syscall fails with EPERM", r)
    fe.close()
    with open(f"/proc/{d.pid}/status") as f:
        status = f.read()
    check(re.search(r"NoNewPrivs:\s+1", status), "PR_SET_NO_NEW_PRIVS set")
    with open(f"/proc/{d.pid}/limits") as f:
        check(re.search(r"Max core file size\s+0\s+0", f.read()), "RLIMIT_CORE 0")
    check(d.stop() == 0, "SIGTERM: exit 0")

    d = start(tmp, null_args(tmp, "--debug-commands", "--seccomp", "log", devices=("l0",)))
    r = d.request({"cmd": "debug-seccomp"})
    check(r["ok"] and r["blocked"] is False, "log (an explicit choice): the syscall runs, kernel logs it")
    d.stop()
    # The default enforces: trap (sanitizer builds: log, for LeakSanitizer's exit-time scan).
    opts = json.load(open(os.path.join(ARGS.build, "meson-info", "intro-buildoptions.json")))
    sanitized = any(o["name"] == "b_sanitize" and o["value"] != "none" for o in opts)
    d = start(tmp, null_args(tmp, "--debug-commands", devices=("df0",)), env=nolsan)
    st = d.request({"cmd": "status"})
    r = d.request({"cmd": "debug-seccomp"})
    if sanitized:
        check(st["seccomp"] == "log", "sanitizer build: the default stays log", st["seccomp"])
    else:
        check(st["seccomp"] == "trap" and r["blocked"] is True and "seccomp: blocked syscall" in d.log(),
              "default: enforced (trap): a forbidden syscall fails and is logged", (st["seccomp"], r))
    check(d.stop() == 0, "SIGTERM: exit 0")
    d = start(tmp, null_args(tmp, "--debug-commands", "--seccomp", "trap", devices=("t0", "t1", "t2", "t3")),
              env=nolsan)
    m = d.ctl("metrics")
    check(m.returncode == 0 and "seccomp: blocked syscall" not in d.log(),
          "trap: metrics need no blocked syscall (glibc's qsort reads sysinfo)", d.log()[-300:])
    r = d.request({"cmd": "debug-seccomp"})
    check(r["ok"] and r["blocked"] is True and "seccomp: blocked syscall" in d.log(),
          "trap: the daemon reports the syscall, which fails", d.log()[-300:])
    check(d.stop() == 0, "SIGTERM: exit 0")
    r = subprocess.run([ARGS.vtrustd] + null_args(tmp, "--seccomp", "log", devices=("x0",))
                       + ["--control-socket", "none", "--check-config"], capture_output=True)
    check(r.returncode == 0, "check-config")

    # kill: a full session (ring start creates a worker after set-up) runs under the
    # allow-lists; a forbidden syscall kills the process.
    env = nolsan
    d = start(tmp, null_args(tmp, "--debug-commands", "--seccomp", "kill", devices=("k0",)), env=env)
    ok = traffic(os.path.join(tmp, "run", "k0.sock"), n=5) and traffic(
        os.path.join(tmp, "run", "k0.sock"), n=5)
    check(ok and d.proc.poll() is None, "kill: two full front-end sessions survive the allow-lists",
          d.log()[-500:])
    check(d.request({"cmd": "status"})["ok"], "kill: control commands survive")
    d.signal(signal.SIGHUP)
    time.sleep(0.2)
    check(d.proc.poll() is None, "kill: SIGHUP survives")
    try:
        d.request({"cmd": "debug-seccomp"})
    except (OSError, ValueError):
        pass
    rc = d.proc.wait(10)
    check(rc == -signal.SIGSYS, "kill: a forbidden syscall kills the daemon with SIGSYS", rc)
    d = start(tmp, null_args(tmp, "--seccomp", "kill", devices=("k1",)), env=env)
    check(traffic(os.path.join(tmp, "run", "k1.sock"), n=3), "kill: traffic")
    check(d.stop() == 0, "kill: SIGTERM teardown stays inside the allow-lists (exit 0)", d.log()[-300:])

    # Dropping to a user (needs root to start).
    if os.geteuid() != 0:
        return
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        return
    d = start(tmp, null_args(tmp, "--user", "nobody", devices=("u0",)), env=nolsan)

    def uids_now():
        with open(f"/proc/{d.pid}/status") as f:
            return re.search(r"Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", f.read()).groups()
    # The control socket listens before the drop (it is bound while privileged): wait for it.
    wait_for(lambda: all(int(u) == nobody.pw_uid for u in uids_now()), timeout=10)
    uids = uids_now()
    check(all(int(u) == nobody.pw_uid for u in uids), "user=nobody: every uid dropped", uids)
    check(os.stat(f"/proc/{d.pid}/status").st_uid == 0,
          "not dumpable after the drop (/proc entries stay root's)")
    check(traffic(os.path.join(tmp, "run", "u0.sock"), n=2), "traffic after the drop")
    check(d.stop() == 0, "SIGTERM: exit 0")


def case_units(tmp):
    unit = os.path.join(ARGS.source, "data", "systemd", "vtrustd.service.in")
    text = open(unit).read()
    for key in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "ProtectHome=yes",
                "MemoryDenyWriteExecute=yes", "SystemCallFilter=", "RestrictAddressFamilies=",
                "CapabilityBoundingSet=", "LimitCORE=0", "Type=notify", "KillSignal=SIGTERM",
                "ExecReload=/bin/kill -HUP $MAINPID"):
        check(key in text, f"service unit has {key}")
    sock = open(os.path.join(ARGS.source, "data", "systemd", "vtrustd.socket")).read()
    check("FileDescriptorName=control" in sock and "SocketMode=0600" in sock,
          "socket unit names the control socket")
    if shutil.which("systemd-analyze"):
        sysd = os.path.join(tmp, "units")
        os.makedirs(sysd)
        for fn in ("vtrustd.service", "vtrustd.socket", "vtrustd-device@.socket"):
            src = os.path.join(ARGS.source, "data", "systemd", fn)
            t = open(src + ".in" if os.path.exists(src + ".in") else src).read()
            t = t.replace("@SBINDIR@", os.path.dirname(ARGS.vtrustd)).replace("@SYSCONFDIR@", "/etc")
            open(os.path.join(sysd, fn), "w").write(t)
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", os.path.join(sysd, "vtrustd.service")],
                           capture_output=True, text=True, timeout=60)
        serious = [x for x in r.stderr.splitlines() if "vtrustd" in x and "Unknown" in x]
        check(not serious, "systemd-analyze verify: no unknown keys", r.stderr[-800:])
    # The service starts with no configuration file: the defaults, sockets QEMU can reach.
    m = re.search(r"^ExecStart=(.*)$", text, re.M)
    argv = m.group(1).replace("@SBINDIR@/vtrustd", ARGS.vtrustd).replace("@SYSCONFDIR@",
                                                                          os.path.join(tmp, "etc")).split()
    argv[argv.index("--log-target") + 1] = "stderr"
    try:
        grp.getgrnam("kvm")
        group = "kvm"
    except KeyError:
        group = grp.getgrgid(os.getgid()).gr_name
        argv[argv.index("--socket-group") + 1] = group
    rt, st = os.path.join(tmp, "svc-run"), os.path.join(tmp, "svc-state")
    os.makedirs(rt)
    os.makedirs(st)
    check("--config-if-exists" in argv and not os.path.exists(os.path.join(tmp, "etc")),
          "ExecStart reads the configuration only if it exists")
    d = start(tmp, argv[1:], env={"RUNTIME_DIRECTORY": rt, "STATE_DIRECTORY": st}, wait=False)
    d.control = os.path.join(rt, "control.sock")
    d.wait_socket(d.control)
    r = d.request({"cmd": "devices"})
    names = [x["name"] for x in r.get("devices", [])]
    types = [t for t in types_of_build() if t != "null"]
    check(r.get("ok") and names == [f"{t}0" for t in types_of_build() if t != "null"],
          "the service's ExecStart with no vtrustd.conf: the default devices", r)
    for t in types:
        sst = os.stat(os.path.join(rt, f"{t}0.sock"))
        check(stat.S_IMODE(sst.st_mode) == 0o660 and sst.st_gid == grp.getgrnam(group).gr_gid,
              f"{t}0.sock: 0660, group {group} (QEMU's group can connect)", oct(sst.st_mode))
    check(d.stop() == 0, "SIGTERM: exit 0")
    r = subprocess.run([ARGS.vtrustd, "--config", os.path.join(tmp, "nope.conf")], capture_output=True,
                       text=True)
    check(r.returncode == 2 and "No such file or directory" in r.stderr,
          "--config with a missing file: the reason is given", r.stderr)
    # Installed where QEMU, libvirt and systemd look.
    inst = json.loads(subprocess.run(["meson", "introspect", "--installed", ARGS.build],
                                     capture_output=True, text=True).stdout or "{}")
    dests = list(inst.values())
    desc = [x for x in dests if re.search(r"/50-vtrust-\w+\.json$", x)]
    check(desc and all(os.path.dirname(x) in ("/usr/share/qemu/vhost-user", "/etc/qemu/vhost-user")
                       for x in desc), "descriptors go where vhost-user.json says to search", desc)
    units = [x for x in dests if x.endswith("/vtrustd.service")]
    if shutil.which("systemd-analyze"):
        paths = subprocess.run(["systemd-analyze", "unit-paths"], capture_output=True, text=True).stdout
        check(units and os.path.dirname(units[0]) in paths.split(), "the unit goes where systemd looks",
              units)
    import xml.dom.minidom
    dom = xml.dom.minidom.parse(os.path.join(ARGS.source, "data", "libvirt", "vtrust-domain.xml"))
    args = [a.getAttribute("value") for a in dom.getElementsByTagName("qemu:arg")]
    check("vhost-user-rng-pci,chardev=vtrng0" in args and any("virtio-crypto-pci" in a for a in args)
          and dom.getElementsByTagName("access")[0].getAttribute("mode") == "shared",
          "libvirt snippet: well-formed, shared memory, rng and crypto devices")
    # The example configuration, less the sections of device types this build lacks.
    built = types_of_build()
    text, keep = [], True
    for line in open(os.path.join(ARGS.source, "data", "vtrustd.conf.example")):
        if line.startswith("["):
            keep = True
        m = re.match(r"type\s*=\s*(\w+)", line)
        if m and m.group(1) not in built:
            keep = False
            while text and not text[-1].startswith("["):
                text.pop()
            text.pop()
        if keep:
            text.append(line)
    conf = os.path.join(tmp, "example.conf")
    open(conf, "w").write("".join(text).replace("socket_group = kvm", "socket_group = root"))
    r = subprocess.run([ARGS.vtrustd, "--config", conf, "--check-config"], capture_output=True, text=True)
    check(r.returncode == 0, "the example configuration is valid", r.stderr[-500:])


def probe_rpmb(sock, *args, stdin=None):
    exe = os.path.join(os.path.abspath(ARGS.build), "probe", "vtrust-probe")
    return subprocess.run([exe, "--socket", sock, "--device", "rpmb", "rpmb"] + list(args),
                          input=stdin, capture_output=True, timeout=60)


def case_keys(tmp):
    """A full run with keys: RPMB key programming, authenticated writes and reads, a migration
    key, export and import through vtrustctl, crypto session keys (control queue and
    CREATE_CRYPTO_SESSION); then no key byte may appear in any log."""
    probe = os.path.join(os.path.abspath(ARGS.build), "probe", "vtrust-probe")
    if "rpmb" not in types_of_build() or not os.path.exists(probe):
        skip("needs the rpmb device type and vtrust-probe")
    auth_key = bytes.fromhex("a55a" * 4 + "3cc3" * 4 + "0ff0" * 4 + "e11e" * 4)
    mig_key = os.urandom(32)
    kf = os.path.join(tmp, "mig.key")
    with open(kf, "w") as f:
        f.write(mig_key.hex())
    os.chmod(kf, 0o600)
    logs = []
    daemons = []
    for side in ("a", "b"):
        log = os.path.join(tmp, f"{side}.log")
        logs.append(log)
        args = ["--run-dir", f"run-{side}", "--state-dir", f"var-{side}", "--log-level", "debug",
                "--log-target", f"file:{log}", "--device", f"r{side}:rpmb,migration-key={kf}"]
        if "rng" in types_of_build():
            args += ["--device", f"g{side}:rng"]
        if "crypto" in types_of_build():
            args += ["--device", f"c{side}:crypto,config_space=true"]
        daemons.append(start(tmp, args))
    a, b = daemons
    sa = os.path.join(tmp, "run-a", "ra.sock")
    sb = os.path.join(tmp, "run-b", "rb.sock")
    key = auth_key.hex()
    data = os.urandom(512)
    r = probe_rpmb(sa, "program-key", "--key", key)
    check(r.returncode == 0, "probe: program the RPMB key", r.stderr)
    r = probe_rpmb(sa, "write", "--key", key, "--address", "7", stdin=data)
    check(r.returncode == 0, "probe: authenticated write", r.stderr)
    r = probe_rpmb(sa, "read", "--key", key, "--address", "7", "--blocks", "2")
    check(r.returncode == 0 and r.stdout == data, "probe: authenticated read back", r.stderr)
    if "rng" in types_of_build():
        r = a.ctl("leak", "ga")
        check(r.returncode == 0, "vtrustctl leak", r.stdout + r.stderr)
    r = a.ctl("rpmb", "info", "ra")
    check(r.returncode == 0 and "write_counter: 1" in r.stdout and "key_programmed: true" in r.stdout,
          "vtrustctl rpmb info", r.stdout)
    blob = os.path.join(tmp, "ra.export")
    r = b.ctl("rpmb", "ticket", "rb")
    check(r.returncode == 0 and r.stdout.strip(), "vtrustctl rpmb ticket (destination)", r.stdout + r.stderr)
    ticket = r.stdout.strip()
    r = a.ctl("rpmb", "export", "ra", os.path.basename(blob), ticket)
    check(r.returncode == 0 and os.path.getsize(blob) > 0, "vtrustctl rpmb export (relative path)",
          r.stdout + r.stderr)
    check(auth_key not in open(blob, "rb").read(), "the export does not carry the key in clear")
    r = a.ctl("rpmb", "export", "ra", blob + "2", ticket)
    check(r.returncode == 1, "a second export is refused", r.stderr)
    r = b.ctl("rpmb", "import", "rb", blob)
    check(r.returncode == 0, "vtrustctl rpmb import", r.stdout + r.stderr)
    r = probe_rpmb(sb, "read", "--key", key, "--address", "7", "--blocks", "2")
    check(r.returncode == 0 and r.stdout == data, "imported data readable with the same key", r.stderr)
    r = b.ctl("rpmb", "info", "rb")
    check("write_counter: 1" in r.stdout, "imported counter", r.stdout)
    r = b.ctl("rpmb", "import", "rb", os.path.join(tmp, "missing"))
    check(r.returncode == 1 and "rb" in r.stderr, "import of a missing file: error reply", r.stderr)
    # Crypto session keys, through the control queue and through CREATE_CRYPTO_SESSION.
    crypto_key = bytes.fromhex("c3" * 4 + "5aa5" * 2 + "3c" * 4 + "e7" * 4)
    if "crypto" in types_of_build():
        pt = os.urandom(64)
        for extra in ([], ["--vhost-session"]):
            r = subprocess.run([probe, "--socket", os.path.join(tmp, "run-a", "ca.sock"), "crypto",
                                "cipher", "--alg", "aes-128-cbc", "--key", crypto_key.hex(),
                                "--iv", "00" * 16, "--encrypt"] + extra,
                               input=pt, capture_output=True, timeout=60)
            check(r.returncode == 0 and len(r.stdout) == len(pt),
                  f"probe: AES-CBC with a session key {' '.join(extra)}", r.stderr)
    for d in daemons:
        check(d.stop() == 0, "SIGTERM: exit 0")
    text = b"".join(open(p, "rb").read() for p in logs)
    text += b"".join(open(d.log_path, "rb").read() + open(d.out_path, "rb").read() for d in daemons)
    check(len(text) > 2000, "the run logged (debug level)", len(text))
    import base64
    for name, k in (("RPMB key", auth_key), ("migration key", mig_key),
                    ("crypto session key", crypto_key)):
        forms = [k, k.hex().encode(), k.hex().upper().encode(), base64.b64encode(k),
                 k[:8].hex().encode(), k[8:16].hex().encode()]
        found = [f for f in forms if f in text]
        check(not found, f"no byte of the {name} in the logs", found)


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--build", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("case", choices=sorted(CASES))
    ARGS = p.parse_args()
    ARGS.vtrustd = os.path.join(os.path.abspath(ARGS.build), "daemon", "vtrustd")
    ARGS.vtrustctl = os.path.join(os.path.abspath(ARGS.build), "ctl", "vtrustctl")
    tmp = tempfile.mkdtemp(prefix="vtd-", dir=os.environ.get("TMPDIR", "/tmp"))
    try:
        CASES[ARGS.case](tmp)
    except Exception as e:  # noqa: BLE001 - any escape is a failure of this case
        import traceback
        traceback.print_exc()
        check(False, f"{ARGS.case} ran to completion", e)
    finally:
        cleanup()
        if FAILURES:
            for d in DAEMONS:
                print(f"-- {d.log_path} (tail)\n{d.log()[-1500:]}")
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{ARGS.case}: {'FAIL' if FAILURES else 'PASS'}")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
