#!/usr/bin/env python3
"""vtrust clone test: a running guest is snapshotted and restored twice; libvtrust-fortuna with
the vtrust_vmgenid module must not repeat a single output across the copies.

Boots Debian's Linux (the initramfs of tests/vm/mkinitramfs.sh plus an overlay with the module,
a static fortuna-ticker and tests/vm/clone/guest.sh) under QEMU TCG with -device vmgenid,guid=G.
The guest loads the module and runs two tickers printing one 32-byte output every 50 ms:
`mod` (the library as fortuna/README.md sets it up, which maps /dev/vtrust-vmgenid) and `nomod`
(VTF_OPT_NO_VMGENID: the library without the module). Then, over QMP: `stop`, `migrate` to
`exec:cat > FILE`, `cont` of the original, and four restores (`-incoming`) into new QEMU
processes: A and B with new IDs (guid=auto), C and D with the original's ID G.

Passes when:
  - `mod`: 0 outputs shared between A, B and the original after the restore;
  - control 1, `nomod` in A and B (the library without the module): they share outputs;
  - control 2, `mod` in C and D (two clones restored with the same ID): they share outputs.
It reports the time from `cont` to the first output of each new clone (and to the library's
follow-up reseed after the guest kernel's own VM-fork reseed).

Which lines are compared: each ticker drains every line to the serial port before it makes
the next output, so when the VM stops at most one line (seq S+1, S = the last seq the host has
seen) can have been made before the snapshot and still be unseen. Lines with seq >= S+2, or
whose library generation count moved, were made after the restore.

Usage: run-clone.py --build DIR --module vtrust_vmgenid.ko --ticker fortuna-ticker
                    [--kernel /boot/vmlinuz-KVER] [--collect SECONDS] [--timeout SECONDS]
                    [--cpu MODEL]   (e.g. max: TCG then offers RDRAND to the guest)
Exit status 0 pass, 1 fail, 77 skip (missing prerequisites), 2 usage.
Logs: DIR/tests/vm/logs-clone/<run>/ (host.log, one console and QEMU log per copy).
"""
import argparse
import glob
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_RE = re.compile(r'^VTF-OUT (\S+) (\d+) ([0-9a-f]{64}) gen=(\d+) idc=(\d+) kr=(\d+) fr=(\d+) st=0x([0-9a-f]+) in=0x([0-9a-f]+) t=(\d+)$')
T0 = time.monotonic()
host_log = None


def log(msg):
    line = '[%6.1fs] %s' % (time.monotonic() - T0, msg)
    print(line, file=sys.stderr, flush=True)
    if host_log:
        host_log.write(line + '\n')
        host_log.flush()


def skip(msg):
    print('SKIP: ' + msg)
    sys.exit(77)


class Vm:
    """One QEMU process: console and QMP on unix sockets, lines timestamped on arrival."""

    def __init__(self, name, qemu_cmd, rt, logdir, guid, incoming=None):
        self.name = name
        self.lines = []  # (monotonic time, line)
        self.buf = b''
        self.qbuf = b''
        con = os.path.join(rt, name + '-con.sock')
        qmp = os.path.join(rt, name + '-qmp.sock')
        cmd = qemu_cmd + [
            '-name', 'vtrust-clone-' + name,
            '-device', 'vmgenid,guid=' + guid,
            '-chardev', 'socket,id=con,path=%s,server=on,wait=off' % con, '-serial', 'chardev:con',
            '-chardev', 'socket,id=qmp,path=%s,server=on,wait=off' % qmp, '-mon', 'chardev=qmp,mode=control',
        ]
        if incoming:
            cmd += ['-incoming', incoming]
        with open(os.path.join(logdir, name + '-cmdline.txt'), 'w') as f:
            f.write(' '.join(cmd) + '\n')
        self.qemu_log = open(os.path.join(logdir, name + '-qemu.log'), 'wb')
        self.console_log = open(os.path.join(logdir, name + '-console.log'), 'wb')
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.qemu_log,
                                     stderr=subprocess.STDOUT)
        self.con = self._connect(con)
        self.qmp_sock = self._connect(qmp)
        self._qmp_read(lambda m: 'QMP' in m, 10)
        self.qmp('qmp_capabilities')
        log('%s: qemu pid %d, guid %s%s' % (name, self.proc.pid, guid,
                                             ', incoming ' + incoming if incoming else ''))

    def _connect(self, path):
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError('%s: QEMU exited with status %d before %s existed (see %s-qemu.log)'
                                   % (self.name, self.proc.returncode, os.path.basename(path), self.name))
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                return s
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise RuntimeError('%s: QEMU did not create %s within 15 s' % (self.name, path))
                time.sleep(0.05)

    def _pump_console(self):
        data = self.con.recv(65536)
        if not data:
            return False
        now = time.monotonic()
        self.console_log.write(data)
        self.buf += data
        while b'\n' in self.buf:
            raw, self.buf = self.buf.split(b'\n', 1)
            self.lines.append((now, raw.decode('ascii', 'replace').rstrip('\r')))
        return True

    def pump(self, seconds):
        """Reads console (and QMP events) for up to seconds."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.con, self.qmp_sock], [], [], left)
            if self.con in r and not self._pump_console():
                return
            if self.qmp_sock in r:
                self._qmp_read(lambda m: False, 0)

    def _qmp_read(self, want, timeout):
        deadline = time.monotonic() + timeout
        while True:
            while b'\n' in self.qbuf:
                raw, self.qbuf = self.qbuf.split(b'\n', 1)
                if not raw.strip():
                    continue
                host_log.write('%s qmp< %s\n' % (self.name, raw.decode(errors='replace')))
                msg = json.loads(raw)
                if want(msg):
                    return msg
            left = deadline - time.monotonic()
            if left <= 0 and timeout > 0:
                raise RuntimeError('%s: no QMP reply within %d s' % (self.name, timeout))
            r, _, _ = select.select([self.con, self.qmp_sock], [], [], max(left, 0))
            if self.con in r:
                self._pump_console()
            if self.qmp_sock not in r:
                if timeout == 0:
                    return None
                continue
            data = self.qmp_sock.recv(65536)
            if not data:
                raise RuntimeError('%s: QMP connection closed (QEMU exited?)' % self.name)
            self.qbuf += data

    def qmp(self, cmd, args=None, timeout=30):
        msg = {'execute': cmd}
        if args:
            msg['arguments'] = args
        host_log.write('%s qmp> %s\n' % (self.name, json.dumps(msg)))
        self.qmp_sock.sendall(json.dumps(msg).encode() + b'\n')
        reply = self._qmp_read(lambda m: 'return' in m or 'error' in m, timeout)
        if 'error' in reply:
            raise RuntimeError('%s: QMP %s failed: %s' % (self.name, cmd, reply['error'].get('desc')))
        return reply['return']

    def wait_line(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            for t, line in self.lines:
                if pred(line):
                    return t, line
            if self.proc.poll() is not None:
                raise RuntimeError('%s: QEMU exited (status %d) while waiting for %s'
                                   % (self.name, self.proc.returncode, what))
            if time.monotonic() > deadline:
                raise RuntimeError('%s: no %s within %d s (see %s-console.log)'
                                   % (self.name, what, timeout, self.name))
            self.pump(0.1)

    def outputs(self):
        """Parsed VTF-OUT lines: list of (time, prog, seq, hex, gen, idc, kr, guest us, inputs)."""
        res = []
        for t, line in self.lines:
            m = OUT_RE.match(line)
            if m:
                res.append((t, m.group(1), int(m.group(2)), m.group(3), int(m.group(4)),
                            int(m.group(5)), int(m.group(6)), int(m.group(10)), int(m.group(9), 16)))
        return res

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.qmp('quit', timeout=5)
            except Exception:  # noqa: BLE001 - fall through to terminate
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(3)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        for f in (self.con, self.qmp_sock):
            f.close()
        self.qemu_log.close()
        self.console_log.close()


def newest_kernel():
    for k in sorted(glob.glob('/boot/vmlinuz-*'), reverse=True,
                    key=lambda p: [int(x) if x.isdigit() else x for x in re.split(r'(\d+)', p)]):
        if os.path.isdir('/lib/modules/' + k[len('/boot/vmlinuz-'):]):
            return k
    return None


def build_initrd(kver, kernel, vmdir, rt, module, ticker):
    base = subprocess.run(['bash', os.path.join(HERE, 'mkinitramfs.sh'), '--kver', kver,
                           '--out-dir', os.path.join(vmdir, 'initramfs')],
                          check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    boot = subprocess.run(['bash', os.path.join(HERE, 'prepare-kernel.sh'), '--kernel', kernel,
                           '--out-dir', os.path.join(vmdir, 'kernel')],
                          check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    # Overlay: a second newc archive appended to the cached one (the kernel unpacks both).
    stage = os.path.join(rt, 'overlay')
    d = os.path.join(stage, 'vtrust', 'clone')
    os.makedirs(d)
    shutil.copy(module, os.path.join(d, 'vtrust_vmgenid.ko'))
    if subprocess.run(['strip', '-o', os.path.join(d, 'fortuna-ticker'), ticker]).returncode != 0:
        shutil.copy(ticker, os.path.join(d, 'fortuna-ticker'))
    shutil.copy(os.path.join(HERE, 'clone', 'guest.sh'), os.path.join(d, 'guest.sh'))
    for p in ('fortuna-ticker', 'guest.sh'):
        os.chmod(os.path.join(d, p), 0o755)
    names = subprocess.run('cd %s && find . -mindepth 1 | LC_ALL=C sort' % stage, shell=True,
                           check=True, stdout=subprocess.PIPE).stdout
    overlay = subprocess.run(['cpio', '--quiet', '-o', '-H', 'newc', '-R', '0:0'], cwd=stage,
                             input=names, check=True, stdout=subprocess.PIPE).stdout
    initrd = os.path.join(rt, 'initrd.cpio')
    with open(initrd, 'wb') as out, open(base, 'rb') as b:
        shutil.copyfileobj(b, out)
        out.write(overlay)
    return boot, initrd


def shared(a, b):
    return len(set(a) & set(b))


def main():
    global host_log
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', default='build')
    ap.add_argument('--module', required=True)
    ap.add_argument('--ticker', required=True)
    ap.add_argument('--kernel')
    ap.add_argument('--collect', type=float, default=2.5, help='seconds of output per copy after cont')
    ap.add_argument('--timeout', type=int, default=240)
    ap.add_argument('--keep-snapshot', action='store_true')
    ap.add_argument('--cpu', help='QEMU -cpu model (default: QEMU\'s, no RDRAND under TCG)')
    a = ap.parse_args()

    qemu_bin = os.environ.get('QEMU', 'qemu-system-x86_64')
    if not shutil.which(qemu_bin):
        skip('%s not found: install qemu-system-x86 (scripts/install-deps.sh)' % qemu_bin)
    kernel = a.kernel or newest_kernel()
    if not kernel or not os.access(kernel, os.R_OK):
        skip('no readable /boot/vmlinuz-* with /lib/modules: install linux-image-amd64')
    kver = os.path.basename(kernel)[len('vmlinuz-'):]
    for p in (a.module, a.ticker):
        if not os.path.isfile(p):
            skip('%s not built' % p)

    vmdir = os.path.abspath(os.path.join(a.build, 'tests', 'vm'))
    run_id = time.strftime('%Y%m%d-%H%M%S') + '-%d' % os.getpid()
    logroot = os.path.join(vmdir, 'logs-clone')
    logdir = os.path.join(logroot, run_id)
    os.makedirs(logdir)
    for old in sorted(glob.glob(os.path.join(logroot, '2*-*')))[:-10]:
        shutil.rmtree(old, ignore_errors=True)
    host_log = open(os.path.join(logdir, 'host.log'), 'w')
    rt = tempfile.mkdtemp(prefix='vtrust-clone.')
    vms = []
    deadline = T0 + a.timeout
    try:
        boot, initrd = build_initrd(kver, kernel, vmdir, rt, a.module, a.ticker)
        log('run %s: kernel %s, logs %s' % (run_id, boot, logdir))
        qemu_cmd = [qemu_bin, '-nodefaults', '-no-user-config', '-machine', 'q35,accel=tcg',
                    '-m', '256M', '-smp', '1', '-kernel', boot, '-initrd', initrd, '-append',
                    'console=ttyS0,115200 panic=-1 quiet rdinit=/init vtrust.run=/vtrust/clone/guest.sh',
                    '-no-reboot', '-display', 'none'] + (['-cpu', a.cpu] if a.cpu else [])
        guid = str(uuid.uuid4())
        snap = os.path.join(rt, 'snapshot')

        # ---- the original: boot, tick, snapshot ----
        orig = Vm('orig', qemu_cmd, rt, logdir, guid)
        vms.append(orig)
        t_boot = time.monotonic()
        _, modline = orig.wait_line(lambda l: l.startswith('VTRUST-CLONE-MODULE'), 120, 'module load line')
        log('orig: ' + modline)
        if 'loaded' not in modline:
            raise RuntimeError('the module did not load in the guest: ' + modline)
        starts = {}
        for prog in ('mod', 'nomod'):
            _, l = orig.wait_line(lambda l, p=prog: l.startswith('VTF-START %s ' % p), 60, prog + ' start')
            starts[prog] = int(re.search(r'signals=0x([0-9a-f]+)', l).group(1), 16)
            if prog == 'mod':
                start_inputs = int(re.search(r'inputs=0x([0-9a-f]+)', l).group(1), 16)
            log('orig: ' + l)
        if starts['mod'] & 3 != 3:
            raise RuntimeError('the mod ticker reports signals 0x%x: the VM generation ID and the '
                               'VM-fork counter should both be live' % starts['mod'])
        if starts['nomod'] & 3:
            raise RuntimeError('the nomod ticker reports signals 0x%x: the control must run without '
                               'the module' % starts['nomod'])
        _, devline = orig.wait_line(lambda l: l.startswith('VTF-DEV '), 60, 'the --watch line')
        log('orig: ' + devline)
        if 'wmap=EPERM' not in devline or 'mprotect=EACCES' not in devline:
            raise RuntimeError('/dev/vtrust-vmgenid must refuse writable mappings (EPERM) and '
                               'mprotect to writable (EACCES): ' + devline)
        orig_id = re.search(r'id=([0-9a-f]{32})', devline).group(1)
        for prog in ('mod', 'nomod'):
            orig.wait_line(lambda l, p=prog: (OUT_RE.match(l) or [None, None])[1] == p
                           and int(OUT_RE.match(l).group(2)) >= 10, 60, prog + ' output 10')
        log('orig: both tickers running, %.1f s after QEMU start' % (time.monotonic() - t_boot))
        # The guest kernel's RNG becomes ready only after the tickers started (guest.sh): the
        # library must take getrandom up by itself (lazy re-probe) before the snapshot.
        def getrandom_in(l):
            m = OUT_RE.match(l)
            return bool(m) and m.group(1) == 'mod' and int(m.group(9), 16) & 4 != 0
        _, grline = orig.wait_line(getrandom_in, 120, 'getrandom in the mod ticker\'s inputs '
                                   '(the kernel RNG never became ready, or the library never re-probed it)')
        gr_seq = int(OUT_RE.match(grline).group(2))
        log('orig: getrandom usable from mod output #%d (%s at start: inputs 0x%x), %.1f s after QEMU start'
            % (gr_seq, 'already' if start_inputs & 4 else 'not', start_inputs, time.monotonic() - t_boot))

        orig.qmp('stop')
        t_stop = time.monotonic()
        orig.pump(0.3)  # anything still in QEMU's chardev path
        last = {}
        for t, prog, seq, hx, gen, idc, kr, gt, inputs in orig.outputs():
            last[prog] = (seq, gen, idc, kr)
        log('orig: stopped; last seen seq/gen/idc/kr: %s' % last)
        orig.qmp('migrate', {'uri': 'exec:cat > ' + snap})
        while True:
            st = orig.qmp('query-migrate')
            if st.get('status') == 'completed':
                break
            if st.get('status') in ('failed', 'cancelled'):
                raise RuntimeError('migration to file %s: %s' % (st.get('status'), st.get('error-desc', '')))
            if time.monotonic() > deadline:
                raise RuntimeError('migration to file did not complete before the timeout')
            orig.pump(0.1)
        snap_mb = os.path.getsize(snap) / 1e6
        log('orig: snapshot %.0f MB written in %.1f s' % (snap_mb, time.monotonic() - t_stop))

        copies = {}  # name -> (vm, t_cont)
        orig.qmp('cont')
        t = time.monotonic()
        orig.pump(a.collect)
        copies['orig'] = (orig, t)
        orig.stop()

        # ---- the clones ----
        for name, g in (('A', 'auto'), ('B', 'auto'), ('C', guid), ('D', guid)):
            if time.monotonic() > deadline:
                raise RuntimeError('timeout (%d s) before restoring %s' % (a.timeout, name))
            vm = Vm(name, qemu_cmd, rt, logdir, g, incoming='exec:cat ' + snap)
            vms.append(vm)
            t_start = time.monotonic()
            while True:
                status = vm.qmp('query-status')['status']
                if status == 'paused':
                    break
                if status not in ('inmigrate', 'prelaunch') or time.monotonic() > deadline:
                    raise RuntimeError('%s: restore ended in state %s' % (name, status))
                vm.pump(0.05)
            log('%s: restored (paused) in %.1f s' % (name, time.monotonic() - t_start))
            vm.qmp('cont')
            t = time.monotonic()
            vm.pump(a.collect)
            copies[name] = (vm, t)
            vm.stop()
    except (RuntimeError, subprocess.CalledProcessError, OSError) as e:
        log('error: %s' % e)
        print('FAIL: %s. Logs: %s' % (e, logdir))
        return 1
    finally:
        for vm in vms:
            vm.stop() if vm.proc.poll() is None else None
        if a.keep_snapshot and os.path.exists(os.path.join(rt, 'snapshot')):
            shutil.move(os.path.join(rt, 'snapshot'), os.path.join(logdir, 'snapshot'))
        shutil.rmtree(rt, ignore_errors=True)

    # ---- analysis ----
    post = {}   # (copy, prog) -> [hex]
    gfirst = {}  # (copy, prog) -> guest us of the first post-restore output
    first = {}  # (copy, prog) -> ms from cont to the first post-restore output
    kern = {}   # (copy, prog) -> ms from cont to the first output after the kernel follow-up
    errors = []
    for name, (vm, t_cont) in copies.items():
        for line_t, line in vm.lines:
            if line.startswith('VTF-ERR'):
                errors.append('%s: %s' % (name, line))
        for t, prog, seq, hx, gen, idc, kr, gt, inputs in vm.outputs():
            if prog == 'mod' and inputs & 4 and (name, 'getrandom') not in first:
                first[(name, 'getrandom')] = seq
            if prog not in last:
                continue
            s0, g0, i0, k0 = last[prog]
            if seq >= s0 + 2 or gen > g0:
                post.setdefault((name, prog), []).append(hx)
                first.setdefault((name, prog), (t - t_cont) * 1000)
                gfirst.setdefault((name, prog), gt)
                if kr > k0:
                    kern.setdefault((name, prog), (t - t_cont) * 1000)
    vmfork = {}  # copy -> (ms from cont to the poll() wake-up, new id)
    for name, (vm, t_cont) in copies.items():
        for t, line in vm.lines:
            m = re.match(r'^VTF-VMFORK count=(\d+) id=([0-9a-f]{32}) t=(\d+)$', line)
            if m and name not in vmfork:
                vmfork[name] = ((t - t_cont) * 1000, m.group(2), int(m.group(3)))
    # In guest time: from the first output after the restore (made from the new ID) to the
    # kernel's VM-fork notifier: the window in which getrandom is not yet mixed in.
    gwin = {c: (vmfork[c][2] - gfirst[(c, 'mod')]) / 1000 for c in ('A', 'B')
            if c in vmfork and (c, 'mod') in gfirst}
    n = {k: len(v) for k, v in post.items()}
    g = lambda c, p: post.get((c, p), [])  # noqa: E731
    res = {
        'mod A-B': shared(g('A', 'mod'), g('B', 'mod')),
        'mod A-orig': shared(g('A', 'mod'), g('orig', 'mod')),
        'mod B-orig': shared(g('B', 'mod'), g('orig', 'mod')),
        'nomod A-B': shared(g('A', 'nomod'), g('B', 'nomod')),
        'mod C-D': shared(g('C', 'mod'), g('D', 'mod')),
    }
    problems = []
    for c in copies:
        for p in ('mod', 'nomod'):
            if n.get((c, p), 0) < 10:
                problems.append('%s printed only %d %s outputs after the restore (need 10)' % (c, n.get((c, p), 0), p))
    for k in ('mod A-B', 'mod A-orig', 'mod B-orig'):
        if res[k]:
            problems.append('%s: %d outputs shared (must be 0)' % (k, res[k]))
    for c in ('A', 'B'):
        if c not in vmfork:
            problems.append('%s: poll() on /dev/vtrust-vmgenid never woke (no VM-fork event after a new ID)' % c)
        elif vmfork[c][1] == orig_id:
            problems.append('%s: the mapped ID did not change' % c)
    for c in ('orig', 'C', 'D'):
        if c in vmfork:
            problems.append('%s: a VM-fork event without a new ID' % c)
    if res['nomod A-B'] == 0:
        problems.append('control without the module shares nothing between A and B: the test cannot tell')
    if res['mod C-D'] == 0:
        problems.append('control with the same ID shares nothing between C and D: the test cannot tell')

    def ms(d, k):
        return '%.0f ms' % d[k] if k in d else 'n/a'
    print()
    print('== vtrust clone test (Linux %s, QEMU TCG, snapshot %.0f MB) ==' % (kver, snap_mb))
    print('  outputs after the restore (mod/nomod): ' + ', '.join(
        '%s %d/%d' % (c, n.get((c, 'mod'), 0), n.get((c, 'nomod'), 0)) for c in copies))
    print('  with module, new IDs: shared A-B %d, A-orig %d, B-orig %d (must be 0)'
          % (res['mod A-B'], res['mod A-orig'], res['mod B-orig']))
    print('  control, library without module (A, B new IDs): shared A-B %d (must be > 0)' % res['nomod A-B'])
    print('  control, same ID (C, D restored with the original\'s ID): shared C-D %d (must be > 0)' % res['mod C-D'])
    print('  cont -> first fresh output: A %s, B %s; cont -> first output after the kernel VM-fork '
          'reseed (getrandom mixed in): A %s, B %s'
          % (ms(first, ('A', 'mod')), ms(first, ('B', 'mod')), ms(kern, ('A', 'mod')), ms(kern, ('B', 'mod'))))
    print('  cont -> kernel VM-fork notifier seen by poll() on /dev/vtrust-vmgenid: A %s, B %s (none in orig, C, D: %s)'
          % (ms({k: v[0] for k, v in vmfork.items()}, 'A'), ms({k: v[0] for k, v in vmfork.items()}, 'B'),
             'yes' if not any(c in vmfork for c in ('orig', 'C', 'D')) else 'NO'))
    print('  getrandom usable (lazily re-probed) from mod output: ' + ', '.join(
        '%s #%s' % (c, first.get((c, 'getrandom'), 'never')) for c in copies))
    print('  guest time from the first output after the restore to the kernel VM-fork event: A %s, B %s'
          % (ms(gwin, 'A'), ms(gwin, 'B')))
    if errors:
        print('  generate errors: ' + '; '.join(errors[:5]))
    print('  whole run: %.1f s' % (time.monotonic() - T0))
    summary = ('RESULT shared_mod_AB=%d shared_mod_A_orig=%d shared_mod_B_orig=%d control_nomod_AB=%d '
               'control_sameid_CD=%d first_fresh_ms_A=%s first_fresh_ms_B=%s kernel_ms_A=%s kernel_ms_B=%s '
               'vmfork_poll_ms_A=%s vmfork_poll_ms_B=%s guest_window_ms_A=%s guest_window_ms_B=%s'
               % (res['mod A-B'], res['mod A-orig'], res['mod B-orig'], res['nomod A-B'], res['mod C-D'],
                  '%.0f' % first.get(('A', 'mod'), -1), '%.0f' % first.get(('B', 'mod'), -1),
                  '%.0f' % kern.get(('A', 'mod'), -1), '%.0f' % kern.get(('B', 'mod'), -1),
                  '%.0f' % vmfork.get('A', (-1,))[0], '%.0f' % vmfork.get('B', (-1,))[0],
                  '%.0f' % gwin.get('A', -1), '%.0f' % gwin.get('B', -1)))
    print(summary)
    log(summary)
    if problems:
        print('FAIL: ' + '; '.join(problems) + '. Logs: ' + logdir)
        return 1
    print('PASS. Logs: ' + logdir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
