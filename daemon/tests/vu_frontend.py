# SPDX-License-Identifier: Apache-2.0
"""A minimal vhost-user front-end for vtrustd's integration tests.

It plays QEMU and the guest driver for one split virtqueue: shared memfd guest
memory, the vhost-user set-up sequence (features, memory table, ring
addresses, call/kick eventfds, enable), then requests of one readable and one
writable descriptor, completed by the back-end through the used ring. Enough
to drive the `null` device (which copies readable bytes to writable ones) and
to keep queue worker threads alive for the sandbox tests.
"""
import mmap
import os
import select
import socket
import struct
import time

GET_FEATURES, SET_FEATURES, SET_OWNER = 1, 2, 3
SET_MEM_TABLE = 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL = 12, 13
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES = 15, 16
SET_VRING_ENABLE = 18

F_VERSION_1 = 1 << 32
F_PROTOCOL_FEATURES = 1 << 30
PF_MQ = 1 << 0
PF_REPLY_ACK = 1 << 3
VERSION = 0x1
REPLY = 0x4
NEED_REPLY = 0x8

MEM_SIZE = 4 << 20
UVA_BASE = 0x7F0000000000  # the "front-end address" of guest physical 0
DESC, AVAIL, USED = 0x1000, 0x3000, 0x5000
BUF_IN, BUF_OUT = 0x10000, 0x80000
VRING_DESC_F_NEXT, VRING_DESC_F_WRITE = 1, 2


class FrontEnd:
    def __init__(self, path=None, sock=None, num=64, timeout=10.0):
        self.num = num
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
        self.sock = sock
        self.sock.settimeout(timeout)
        self.memfd = os.memfd_create("vt-guest")
        os.ftruncate(self.memfd, MEM_SIZE)
        self.mem = mmap.mmap(self.memfd, MEM_SIZE)
        self.avail_idx = 0
        self.used_seen = 0
        self.kick = os.eventfd(0, os.EFD_NONBLOCK)
        self.call = os.eventfd(0, os.EFD_NONBLOCK)

    # ---- vhost-user messages ----
    def send(self, req, payload=b"", fds=(), flags=VERSION):
        hdr = struct.pack("<III", req, flags, len(payload))
        if fds:
            socket.send_fds(self.sock, [hdr + payload], list(fds))
        else:
            self.sock.sendall(hdr + payload)

    def recv_reply(self, req):
        hdr = self._recv_exact(12)
        r, flags, size = struct.unpack("<III", hdr)
        payload = self._recv_exact(size) if size else b""
        if r != req or not flags & REPLY:
            raise RuntimeError(f"bad reply {r} flags {flags:#x} to request {req}")
        return payload

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("back-end closed the connection")
            buf += chunk
        return buf

    def u64(self, req, value=None, fds=()):
        if value is None:
            self.send(req)
            return struct.unpack("<Q", self.recv_reply(req))[0]
        self.send(req, struct.pack("<Q", value), fds)
        return None

    def setup(self, queue=0):
        features = self.u64(GET_FEATURES)
        self.u64(SET_FEATURES, features & (F_VERSION_1 | F_PROTOCOL_FEATURES))
        proto = self.u64(GET_PROTOCOL_FEATURES)
        self.u64(SET_PROTOCOL_FEATURES, proto & (PF_MQ | PF_REPLY_ACK))
        self.send(SET_OWNER)
        region = struct.pack("<QQQQ", 0, MEM_SIZE, UVA_BASE, 0)
        self.send(SET_MEM_TABLE, struct.pack("<II", 1, 0) + region, [self.memfd])
        self.send(SET_VRING_NUM, struct.pack("<II", queue, self.num))
        self.send(SET_VRING_ADDR, struct.pack("<IIQQQQ", queue, 0, UVA_BASE + DESC,
                                              UVA_BASE + USED, UVA_BASE + AVAIL, 0))
        self.send(SET_VRING_BASE, struct.pack("<II", queue, 0))
        self.u64(SET_VRING_CALL, queue, [self.call])
        self.u64(SET_VRING_KICK, queue, [self.kick])
        self.send(SET_VRING_ENABLE, struct.pack("<II", queue, 1))
        # A round trip proves every message above was taken.
        self.u64(GET_FEATURES)
        return self

    def stop_ring(self, queue=0):
        self.send(GET_VRING_BASE, struct.pack("<II", queue, 0))
        return struct.unpack("<II", self.recv_reply(GET_VRING_BASE))[1]

    # ---- the driver side of the ring ----
    def post(self, data, out_len):
        """Makes one request available (readable data, out_len writable bytes); no kick."""
        slot = self.avail_idx % self.num
        head = (2 * slot) % self.num
        inb = BUF_IN + slot * 4096
        outb = BUF_OUT + slot * 4096
        self.mem[inb:inb + len(data)] = data
        struct.pack_into("<QIHH", self.mem, DESC + 16 * head, inb, len(data), VRING_DESC_F_NEXT,
                         head + 1)
        struct.pack_into("<QIHH", self.mem, DESC + 16 * (head + 1), outb, out_len,
                         VRING_DESC_F_WRITE, 0)
        struct.pack_into("<H", self.mem, AVAIL + 4 + 2 * slot, head)
        self.avail_idx = (self.avail_idx + 1) & 0xFFFF
        struct.pack_into("<H", self.mem, AVAIL + 2, self.avail_idx)
        return outb

    def kick_ring(self):
        os.eventfd_write(self.kick, 1)

    def used_idx(self):
        return struct.unpack_from("<H", self.mem, USED + 2)[0]

    def wait_used(self, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        while ((self.used_idx() - self.used_seen) & 0xFFFF) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{count} completions expected, "
                                   f"{(self.used_idx() - self.used_seen) & 0xFFFF} seen")
            select.select([self.call], [], [], min(left, 0.05))
            try:
                os.eventfd_read(self.call)
            except BlockingIOError:
                pass
        out = []
        for _ in range(count):
            slot = self.used_seen % self.num
            _id, length = struct.unpack_from("<II", self.mem, USED + 4 + 8 * slot)
            out.append(length)
            self.used_seen = (self.used_seen + 1) & 0xFFFF
        return out

    def request(self, data, out_len=None):
        """One null-device round trip; returns the bytes written back."""
        out_len = len(data) if out_len is None else out_len
        outb = self.post(data, out_len)
        self.kick_ring()
        (length,) = self.wait_used(1)
        return bytes(self.mem[outb:outb + length])

    def close(self):
        try:
            self.sock.close()
        finally:
            for fd in (self.kick, self.call, self.memfd):
                os.close(fd)
            self.mem.close()
