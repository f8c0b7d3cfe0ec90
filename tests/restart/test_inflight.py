#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Requests in flight when vtrustd dies get exactly one correct answer (tests/restart/README.md).

Each case runs vtrustd under supervisor.py (systemd's fd store and socket passing), makes the
first process SIGKILL itself at a chosen point with VTRUST_CRASH_AT (the device has answered a
chain, the used ring does not show it yet), and drives the device with vtrust-probe through
the crash: the probe's connection, memory and eventfds live on in the store, and the
restarted process must finish what was in flight.

  test_inflight.py --build DIR CASE     CASE: rng | crypto-inplace | crypto-session | rpmb
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class Run:
    def __init__(self, build, dev_type, crash_at, extra=()):
        self.build = build
        self.tmp = tempfile.mkdtemp(prefix='vtrust-inflight.')
        self.sock = os.path.join(self.tmp, 'dev.sock')
        self.ctl = os.path.join(self.tmp, 'ctl')
        self.events = os.path.join(self.tmp, 'events')
        self.log = os.path.join(self.tmp, 'vtrustd.log')
        os.mkfifo(self.ctl)
        cmd = [sys.executable, os.path.join(HERE, 'supervisor.py'),
               '--notify-socket', os.path.join(self.tmp, 'notify'), '--control', self.ctl,
               '--events', self.events, '--log', self.log]
        if crash_at:
            cmd += ['--first-env', 'VTRUST_CRASH_AT=' + crash_at]
        extra = [x.replace('{tmp}', self.tmp) for x in extra]
        cmd += ['--', os.path.join(build, 'daemon', 'vtrustd'), '--type', dev_type,
                '--socket-path', self.sock, '--log-level', 'info', *extra]
        self.sup = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.path.exists(self.sock) and 'EVENT ready' in self.read(self.events):
                return
            time.sleep(0.05)
        raise SystemExit(f'FAIL: vtrustd never became ready:\n{self.read(self.log)}')

    @staticmethod
    def read(path):
        try:
            with open(path, errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def probe(self, *args, stdin=None, timeout=30):
        # Generous: a loaded 2-core CI machine may take a while to restart the daemon (the
        # 2 s bound on guest operations is the real-guest test's, tests/vm --restart).
        cmd = [os.path.join(self.build, 'probe', 'vtrust-probe'), '--socket', self.sock,
               '--timeout-ms', '10000', *args]
        return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)

    def close(self):
        self.sup.terminate()
        try:
            self.sup.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.sup.kill()

    def crashed_and_resumed(self):
        # The new process serves before its READY=1 reaches the supervisor: wait for it.
        deadline = time.monotonic() + 5
        while True:
            ev = self.read(self.events)
            if 'how=signal=9' in ev and ev.count('EVENT ready') >= 2:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def served_again(self):
        total = 0
        for line in self.read(self.log).splitlines():
            if 'in flight served again' in line:
                total += int(line.split(', ')[-1].split()[0])
        return total

    def explain(self):
        return f'\n-- events:\n{self.read(self.events)}-- vtrustd.log:\n{self.read(self.log)[-3000:]}'


def case_rng(build):
    # The 30th answer on the request queue is written but not published when the process dies.
    r = Run(build, 'rng', 'push@0#30')
    try:
        want = 400000
        p = r.probe('rng', 'read', str(want))
        ok = p.returncode == 0 and len(p.stdout) == want
        again = r.served_again()
        if not ok or not r.crashed_and_resumed() or again < 1:
            return f'FAIL rng: rc={p.returncode} bytes={len(p.stdout)}/{want} served again={again} ' \
                   f'{p.stderr.decode()[:300]}' + r.explain()
        return f'PASS rng: {want} bytes through a crash mid-request; {again} chain(s) served again'
    finally:
        r.close()


KEY = '000102030405060708090a0b0c0d0e0f'
IV = '0f0e0d0c0b0a09080706050403020100'


def aes_cbc(data):
    return subprocess.run(['openssl', 'enc', '-aes-128-cbc', '-K', KEY, '-iv', IV, '-nopad'],
                          input=data, capture_output=True, check=True).stdout


def crypto_case(build, name, extra, what):
    # The process dies after AES-CBC wrote the first data request's output and before the
    # answer is published. The session (made before the crash) must survive, and the redo
    # must produce the right ciphertext once.
    r = Run(build, 'crypto', 'push@0#1', ['--opt', 'config_space=true'])
    try:
        pt = os.urandom(8192)
        p = r.probe('crypto', 'cipher', '--alg', 'aes-128-cbc', '--key', KEY, '--iv', IV,
                    '--encrypt', *extra, stdin=pt)
        right = p.returncode == 0 and p.stdout == aes_cbc(pt)
        again = r.served_again()
        restored = 'original input restored' in r.read(r.log)
        if not right or not r.crashed_and_resumed() or again < 1 or \
                ('--in-place' in extra and not restored):
            return f'FAIL {name}: rc={p.returncode} ciphertext {"right" if right else "WRONG"} ' \
                   f'served again={again} input restored={restored} ' \
                   f'{p.stderr.decode()[:300]}' + r.explain()
        return f'PASS {name}: {what}'
    finally:
        r.close()


def case_crypto_inplace(build):
    # Linux encrypts in place (dst aliases src): the redo must start from the original
    # plaintext, never from the half-rewritten buffer.
    return crypto_case(build, 'crypto-inplace', ['--in-place'],
                       'in-place AES-CBC redone from the kept input after a crash mid-request: '
                       'ciphertext right; the control-queue session survived')


def case_crypto_session(build):
    # Sessions made with CREATE_CRYPTO_SESSION (QEMU 7.2's path) survive the crash.
    return crypto_case(build, 'crypto-session', ['--vhost-session'],
                       'a CREATE_CRYPTO_SESSION session and its request survived a crash '
                       'mid-request: ciphertext right')


def case_upgrade(build):
    # Graceful restarts (SIGTERM: finish the batch, keep the state, exit 0) and crashes under a
    # reader that never stops: every byte arrives, no request waits out the probe's 2 s.
    r = Run(build, 'rng', None)
    try:
        want = 300_000_000
        cmd = [os.path.join(build, 'probe', 'vtrust-probe'), '--socket', r.sock,
               '--timeout-ms', '10000', 'rng', 'read', str(want)]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        got = 0
        sent = []
        t_next = time.monotonic() + 0.3
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ)
        while True:
            for _ in sel.select(timeout=0.05):
                chunk = os.read(p.stdout.fileno(), 1 << 20)
                if not chunk:
                    break
                got += len(chunk)
            if p.poll() is not None:
                got += len(p.stdout.read() or b'')
                break
            if len(sent) < 5 and time.monotonic() >= t_next:
                cmd_ = 'kill' if len(sent) % 2 else 'term'
                with open(r.ctl, 'w') as f:
                    f.write(cmd_ + '\n')
                sent.append(cmd_)
                t_next = time.monotonic() + 0.4
        err = p.stderr.read().decode()
        ev = r.read(r.events)
        terms, kills = ev.count('EVENT term'), ev.count('EVENT kill')
        if p.returncode != 0 or got != want or terms < 3 or kills < 2:
            return f'FAIL upgrade: rc={p.returncode} bytes={got}/{want} terms={terms} ' \
                   f'kills={kills} {err[:300]}' + r.explain()
        return f'PASS upgrade: {want} bytes through {terms} graceful restarts and {kills} crashes'
    finally:
        r.close()


def case_rpmb(build):
    # The process dies after a DATA_WRITE committed (durably) and before its answer is
    # published. Served again, the write must get its result (OK, counter 1), not a second
    # execution: that would answer COUNT_FAILURE for a write that happened.
    key = '11' * 32
    r = Run(build, 'rpmb', 'push@0#3', ['--opt', 'store={tmp}/a.rpmb', '--opt', 'capacity=1'])
    try:
        p = r.probe('rpmb', 'program-key', '--key', key)  # push 1
        if p.returncode != 0:
            return f'FAIL rpmb: program-key rc={p.returncode} {p.stderr.decode()[:300]}' + \
                r.explain()
        data = os.urandom(256)
        w = r.probe('rpmb', 'write', '--key', key, '--address', '7', stdin=data)  # pushes 2, 3
        c = r.probe('rpmb', 'counter', '--key', key)
        rd = r.probe('rpmb', 'read', '--key', key, '--address', '7', '--blocks', '1')
        counter = c.stdout.decode().strip()
        again = 'result is delivered again' in r.read(r.log)
        if w.returncode != 0 or not r.crashed_and_resumed() or not again or \
                rd.stdout != data or counter != 'counter=1':
            return f'FAIL rpmb: write rc={w.returncode} ({w.stderr.decode().strip()[:200]}) ' \
                   f'counter={counter!r} read back {"right" if rd.stdout == data else "WRONG"} ' \
                   f'result re-delivered={again}' + r.explain()
        return 'PASS rpmb: a write committed before the crash got its result again (OK, ' \
               'counter 1), not COUNT_FAILURE; its block reads back'
    finally:
        r.close()


CASES = {'upgrade': case_upgrade, 'rpmb': case_rpmb, 'rng': case_rng, 'crypto-inplace': case_crypto_inplace,
         'crypto-session': case_crypto_session}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True)
    ap.add_argument('case', choices=sorted(CASES))
    a = ap.parse_args()
    msg = CASES[a.case](os.path.abspath(a.build))
    print(msg)
    return 0 if msg.startswith('PASS') else 1


if __name__ == '__main__':
    sys.exit(main())
