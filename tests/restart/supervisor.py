#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A small service manager for tests: systemd's notify and socket-passing protocols.

PID 1 on the test machines is not systemd, so the restart tests run vtrustd under this
supervisor. It implements what vtrustd relies on, as systemd documents it
(docs/FILE_DESCRIPTOR_STORE.md, sd_notify(3), sd_listen_fds_with_names(3)):

- NOTIFY_SOCKET: an AF_UNIX datagram socket; messages are newline-separated KEY=VALUE
  assignments, fds come as SCM_RIGHTS, the sender's pid as SCM_CREDENTIALS. Like a unit with
  NotifyAccess=main (the default of Type=notify), only the main process is heard: messages from
  other pids are ignored and their fds closed.
- READY=1; FDSTORE=1 with FDNAME= (default "stored"; at most 255 printable characters, no ':')
  stores the fds, at most FileDescriptorStoreMax (FDSTORE= in the environment, as systemd >= 254
  sets it); a second copy of an open file already stored is dropped (kcmp(KCMP_FILE), as
  systemd's same_fd()); fds in a message without FDSTORE=1 are closed. FDSTOREREMOVE=1 with
  FDNAME= drops every entry of that name. Stored fds are polled and dropped on POLLHUP/POLLERR
  unless stored with FDPOLL=0.
- Start: the stored fds from fd 3 on with LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES (":"-joined,
  in store order), plus NOTIFY_SOCKET and FDSTORE.
- Restart=always with RestartSec=: the store survives the restart; `stop` ends the service
  (SIGTERM, then SIGKILL after a timeout) and releases the store.

Commands arrive as lines on --control (a FIFO): kill (SIGKILL), term (SIGTERM; the service is
restarted when it exits, like `systemctl restart`), stop, status. Events go to --events as
lines "EVENT <what> key=value ..." (times in ms since the supervisor started).
"""
import argparse
import array
import ctypes
import os
import select
import signal
import socket
import struct
import sys
import time

SYS_KCMP = 312  # x86_64
KCMP_FILE = 0
SCM_CREDENTIALS = 2
libc = ctypes.CDLL(None, use_errno=True)

T0 = time.monotonic()


def now_ms():
    return (time.monotonic() - T0) * 1000.0


def fdname_is_valid(name):
    if not name or len(name) > 255:
        return False
    return all(0x20 <= ord(ch) < 0x7f and ch != ':' for ch in name)


def same_file(a, b):
    pid = os.getpid()
    return libc.syscall(SYS_KCMP, pid, pid, KCMP_FILE, a, b) == 0


class Supervisor:
    def __init__(self, args):
        self.a = args
        self.events = open(args.events, 'a', buffering=1) if args.events else sys.stderr
        self.store = []  # [name, fd, poll]
        self.pid = None
        self.ready = False
        self.stopping = False
        self.restart_at = None
        self.pending_term = False
        self.t_exit = None
        self.starts = 0
        self.notify_path = args.notify_socket
        try:
            os.unlink(self.notify_path)
        except FileNotFoundError:
            pass
        self.ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.ns.bind(self.notify_path)
        self.ns.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.ns.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.ctl = None
        if args.control:
            self.ctl = os.open(args.control, os.O_RDWR | os.O_NONBLOCK)
        self.ctl_buf = b''

    def event(self, what, **kv):
        fields = ' '.join(f'{k}={v}' for k, v in kv.items())
        self.events.write(f'EVENT {what} t={now_ms():.1f} {fields}\n')
        self.events.flush()

    # ---- the service ----------------------------------------------------------------
    def start(self):
        names = [e[0] for e in self.store]
        fds = [e[1] for e in self.store]
        env = dict(os.environ)
        env['NOTIFY_SOCKET'] = self.notify_path
        env['FDSTORE'] = str(self.a.store_max)
        if self.starts == 0:
            for kv in self.a.first_env or []:
                k, v = kv.split('=', 1)
                env[k] = v
        for k in ('LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES'):
            env.pop(k, None)
        if fds:
            env['LISTEN_FDS'] = str(len(fds))
            env['LISTEN_FDNAMES'] = ':'.join(names)
        log = os.open(self.a.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if self.a.log else 2
        pid = os.fork()
        if pid == 0:
            try:
                # Move the stored fds out of the way, then into place from 3 on.
                high = [os.dup(fd) for fd in fds]
                base = 3 + len(fds) + 64
                moved = []
                for i, fd in enumerate(high):
                    os.dup2(fd, base + i)
                    moved.append(base + i)
                os.dup2(log, 1)
                os.dup2(log, 2)
                devnull = os.open('/dev/null', os.O_RDONLY)
                os.dup2(devnull, 0)
                for i, fd in enumerate(moved):
                    os.dup2(fd, 3 + i)
                os.closerange(3 + len(fds), 65536)
                if fds:
                    env['LISTEN_PID'] = str(os.getpid())
                os.execve(self.a.command[0], self.a.command, env)
            finally:
                os._exit(127)
        if log != 2:
            os.close(log)
        self.pid = pid
        self.ready = False
        self.starts += 1
        self.event('start', pid=pid, n=self.starts, fds=len(fds),
                   since_exit_ms=f'{now_ms() - self.t_exit:.1f}' if self.t_exit else '-')

    def on_exit(self, status):
        self.t_exit = now_ms()
        if os.WIFSIGNALED(status):
            how = f'signal={os.WTERMSIG(status)}'
        else:
            how = f'status={os.WEXITSTATUS(status)}'
        self.event('exit', pid=self.pid, how=how, store=len(self.store))
        self.pid = None
        if self.stopping:
            return
        self.restart_at = time.monotonic() + self.a.restart_sec

    # ---- notifications --------------------------------------------------------------
    def recv_notify(self):
        fds_size = socket.CMSG_SPACE(768 * 4) + socket.CMSG_SPACE(12)
        try:
            data, anc, flags, _ = self.ns.recvmsg(4096, fds_size, socket.MSG_CMSG_CLOEXEC)
        except BlockingIOError:
            return
        fds, pid = [], None
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                arr = array.array('i')
                arr.frombytes(cdata[:len(cdata) - len(cdata) % arr.itemsize])
                fds.extend(arr)
            elif level == socket.SOL_SOCKET and typ == SCM_CREDENTIALS:
                pid = struct.unpack('iII', cdata[:12])[0]
        if flags & socket.MSG_CTRUNC:
            self.event('warning', what='control data truncated')
        if pid is None or pid != self.pid:
            self.event('ignored', sender=pid, main=self.pid, text=repr(data[:60]))
            for fd in fds:
                os.close(fd)
            return
        kv = {}
        for line in data.decode(errors='replace').split('\n'):
            if '=' in line:
                k, v = line.split('=', 1)
                kv[k] = v
        if kv.get('FDSTORE') == '1':
            name = kv.get('FDNAME', 'stored')
            if not fdname_is_valid(name):
                self.event('warning', what='invalid FDNAME', name=repr(name))
                for fd in fds:
                    os.close(fd)
                fds = []
            poll = kv.get('FDPOLL', '1') != '0'
            for fd in fds:
                if len(self.store) >= self.a.store_max:
                    self.event('warning', what='store full', name=name)
                    os.close(fd)
                    continue
                if any(same_file(fd, e[1]) for e in self.store):
                    os.close(fd)  # a duplicate of an open file already stored
                    continue
                self.store.append([name, fd, poll])
            fds = []
        for fd in fds:
            os.close(fd)  # fds without FDSTORE=1
        if kv.get('FDSTOREREMOVE') == '1' and 'FDNAME' in kv:
            keep = []
            for e in self.store:
                if e[0] == kv['FDNAME']:
                    os.close(e[1])
                else:
                    keep.append(e)
            self.store = keep
        if kv.get('READY') == '1' and not self.ready:
            self.ready = True
            self.event('ready', pid=self.pid, n=self.starts, store=len(self.store),
                       since_exit_ms=f'{now_ms() - self.t_exit:.1f}' if self.t_exit else '-')

    def poll_store(self, p):
        # Stored fds that hang up are dropped (FDPOLL=0 exempts them), as systemd does.
        for e in list(self.store):
            if not e[2]:
                continue
            ev = p.get(e[1])
            if ev is not None and ev & (select.POLLHUP | select.POLLERR):
                self.event('store-drop', name=e[0], why='hangup')
                os.close(e[1])
                self.store.remove(e)

    # ---- control ----------------------------------------------------------------------
    def command(self, cmd):
        if cmd == 'kill' and self.pid:
            self.event('kill', pid=self.pid)
            os.kill(self.pid, signal.SIGKILL)
        elif cmd == 'term' and self.pid:
            self.event('term', pid=self.pid)
            os.kill(self.pid, signal.SIGTERM)
        elif cmd == 'stop':
            self.stop()
        elif cmd == 'status':
            self.event('status', pid=self.pid, ready=int(self.ready), store=len(self.store),
                       names=','.join(e[0] for e in self.store) or '-')

    def stop(self):
        self.stopping = True
        if self.pid:
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + self.a.stop_timeout
            while self.pid and time.monotonic() < deadline:
                r, st = os.waitpid(self.pid, os.WNOHANG)
                if r:
                    self.on_exit(st)
                    break
                time.sleep(0.02)
            if self.pid:
                os.kill(self.pid, signal.SIGKILL)
                _, st = os.waitpid(self.pid, 0)
                self.on_exit(st)
        for e in self.store:
            os.close(e[1])
        self.store = []
        self.event('stopped')

    def run(self):
        # SIGTERM: stop for good, from the loop (never in the middle of handling a message).
        self.term_requested = False
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, 'term_requested', True))
        self.start()
        while not self.stopping:
            if self.term_requested:
                self.stop()
                break
            poller = select.poll()
            poller.register(self.ns.fileno(), select.POLLIN)
            if self.ctl is not None:
                poller.register(self.ctl, select.POLLIN)
            for e in self.store:
                if e[2]:
                    poller.register(e[1], 0)
            try:
                evs = dict(poller.poll(20))
            except InterruptedError:
                continue
            if evs.get(self.ns.fileno()):
                self.recv_notify()
                while True:
                    r, _, _ = select.select([self.ns], [], [], 0)
                    if not r:
                        break
                    self.recv_notify()
            if self.ctl is not None and evs.get(self.ctl):
                try:
                    self.ctl_buf += os.read(self.ctl, 4096)
                except BlockingIOError:
                    pass
                while b'\n' in self.ctl_buf:
                    line, self.ctl_buf = self.ctl_buf.split(b'\n', 1)
                    self.command(line.decode().strip())
            self.poll_store(evs)
            if self.pid:
                r, st = os.waitpid(self.pid, os.WNOHANG)
                if r:
                    # Notifications sent just before the exit still count.
                    while select.select([self.ns], [], [], 0)[0]:
                        self.recv_notify()
                    self.on_exit(st)
            if not self.pid and not self.stopping and self.restart_at is not None \
                    and time.monotonic() >= self.restart_at:
                self.restart_at = None
                self.start()
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--notify-socket', required=True)
    ap.add_argument('--store-max', type=int, default=128, help='FileDescriptorStoreMax=')
    ap.add_argument('--restart-sec', type=float, default=0.1, help='RestartSec= (systemd: 100ms)')
    ap.add_argument('--stop-timeout', type=float, default=10.0)
    ap.add_argument('--control', help='FIFO with commands: kill, term, stop, status')
    ap.add_argument('--events', help='append events here (default stderr)')
    ap.add_argument('--log', help="the service's stdout and stderr (default: ours)")
    ap.add_argument('--first-env', action='append', metavar='KEY=VALUE',
                    help='environment for the first start only (tests: VTRUST_CRASH_AT=...)')
    ap.add_argument('command', nargs='+')
    a = ap.parse_args()
    return Supervisor(a).run()


if __name__ == '__main__':
    sys.exit(main())
