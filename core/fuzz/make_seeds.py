#!/usr/bin/env python3
"""Writes the seed corpora of the core fuzz harnesses (run once; output is committed)."""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def msg(req, payload=b"", nfds=0, flags=1, kind=0, shrink=False):
    """kind: what the fds are (fuzz_vu_msg.c, bits 8-11); shrink: memfds truncated after."""
    flags |= (nfds << 4) | (kind << 8) | (int(shrink) << 12)
    return struct.pack("<III", req, flags, len(payload)) + payload


def u64(v):
    return struct.pack("<Q", v)


def state(i, n):
    return struct.pack("<II", i, n)


start = b"".join([
    msg(1), msg(15), msg(16, u64(0x1008b)), msg(17), msg(3), msg(1),
    msg(13, u64(0), 1), msg(14, u64(0), 1),
    msg(2, u64(0x170000000)),
    msg(5, struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, 0x10000, 0x10000000, 0), 1, 0x9),
    msg(8, state(0, 8)),
    msg(9, struct.pack("<IIQQQQ", 0, 0, 0x10000000, 0x10000200, 0x10000100, 0)),
    msg(10, state(0, 0)),
    msg(12, u64(0), 1),
    msg(18, state(0, 1)),
    msg(24, struct.pack("<III", 0, 8, 0) + bytes(8)),
    msg(18, state(0, 0)),
    msg(11, state(0, 0)),
    msg(42, struct.pack("<II", 0, 0), 1),
    msg(43),
    msg(26, bytes(632)),
    msg(27, u64(5)),
])
bad = b"".join([
    msg(8, state(7, 8)), msg(8, state(0, 3)), msg(5, struct.pack("<II", 9, 0)),
    msg(12, u64(0)), msg(99), msg(2, b"\x01"), msg(37, bytes(40), 1),
    msg(38, bytes(40)), msg(36),
])
# Issue 17: guest memory that shrinks under a started ring, then kicks and a restart.
mem = struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, 0x10000, 0x10000000, 0)
ring0 = [msg(8, state(0, 8)),
         msg(9, struct.pack("<IIQQQQ", 0, 0, 0x10000000, 0x10000200, 0x10000100, 0)),
         msg(10, state(0, 0)), msg(13, u64(0), 1), msg(12, u64(0), 1), msg(18, state(0, 1))]
shrink = b"".join([msg(1), msg(15), msg(16, u64(0x1008b)), msg(3), msg(2, u64(0x170000000)),
                   msg(5, mem, 1, 0x9, shrink=True)] + ring0 +
                  [msg(11, state(0, 0)), msg(12, u64(0), 1), msg(5, mem, 1, 0x9)] + ring0)
# Issue 17: fds of the wrong kind for kick, call, err and device state.
wrong = b"".join([msg(1), msg(15), msg(16, u64(0x1008b)), msg(3), msg(2, u64(0x170000000)),
                  msg(5, mem, 1, 0x9), msg(8, state(0, 8)),
                  msg(9, struct.pack("<IIQQQQ", 0, 0, 0x10000000, 0x10000200, 0x10000100, 0)),
                  msg(13, u64(0), 1, 0x9, kind=5), msg(14, u64(0), 1, 0x9, kind=2),
                  msg(12, u64(0), 1, 0x9, kind=4), msg(12, u64(0), 1, 0x9, kind=7),
                  msg(12, u64(0), 1, 0x9, kind=8), msg(13, u64(0), 1, 0x9, kind=6),
                  msg(11, state(0, 0)),
                  msg(42, struct.pack("<II", 1, 0), 1, kind=9),
                  msg(42, struct.pack("<II", 0, 0), 1, kind=2),
                  msg(42, struct.pack("<II", 1, 0), 1, kind=3),
                  msg(42, struct.pack("<II", 1, 0), 1, kind=4), msg(43),
                  msg(5, mem, 1, 0x9, kind=6), msg(5, mem, 1, 0x9, kind=10)])
os.makedirs(os.path.join(here, "corpus", "vu_msg"), exist_ok=True)
open(os.path.join(here, "corpus", "vu_msg", "qemu72-start-stop"), "wb").write(start)
open(os.path.join(here, "corpus", "vu_msg", "bad-messages"), "wb").write(bad)
open(os.path.join(here, "corpus", "vu_msg", "memory-shrinks"), "wb").write(shrink)
open(os.path.join(here, "corpus", "vu_msg", "wrong-fd-kinds"), "wb").write(wrong)

# virtq: byte 0 = log2(num); then descriptor table (16*num) and avail ring.
def ring(num_log2, descs, avail):
    num = 1 << num_log2
    d = b"".join(struct.pack("<QIHH", *x) for x in descs)
    d += bytes(16 * num - len(d))
    a = struct.pack("<HH", 0, len(avail)) + b"".join(struct.pack("<H", h) for h in avail)
    a += bytes(6 + 2 * num - len(a))
    return bytes([num_log2]) + d + a

os.makedirs(os.path.join(here, "corpus", "virtq"), exist_ok=True)
# buffers at the scratch area (mock guest allocates rings from 0x1000)
open(os.path.join(here, "corpus", "virtq", "direct"), "wb").write(
    ring(3, [(0x3000, 64, 1, 1), (0x3100, 64, 2, 0)], [0]))
open(os.path.join(here, "corpus", "virtq", "indirect"), "wb").write(
    ring(2, [(0x3000, 32, 4, 0)], [0]) + bytes(0x40) +
    struct.pack("<QIHH", 0x3200, 16, 1, 1) + struct.pack("<QIHH", 0x3300, 16, 2, 0))
open(os.path.join(here, "corpus", "virtq", "loop"), "wb").write(
    ring(3, [(0x3000, 8, 3, 1), (0x3000, 8, 3, 0)], [0]))
