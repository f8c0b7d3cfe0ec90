#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_rng_chain (run once; output is committed)."""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "chain")
os.makedirs(out, exist_ok=True)

W, N, I = 2, 1, 4  # VRING_DESC_F_WRITE, NEXT, INDIRECT
SCRATCH = 0x1000  # first guest buffer after the rings of the largest ring used here


def desc(addr, length, flags, nxt):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def ring(sel, num, descs, heads, buf_at=0x10000):
    """sel: byte 0; descs: up to num descriptors; heads: avail entries."""
    table = b"".join(descs).ljust(16 * num, b"\0")
    avail = struct.pack("<HH", 0, len(heads)) + b"".join(struct.pack("<H", h) for h in heads)
    avail = avail.ljust(4 + 2 * num + 2, b"\0")
    return bytes([sel]) + table + avail


def sel(queue, log2num, event):
    return queue | (log2num << 1) | (0x10 if event else 0)


B = 0x20000  # a guest address well inside region 0
seeds = {
    # requestq: one 64-byte writable buffer (the Linux driver).
    "req_linux": ring(sel(0, 2, 0), 4, [desc(B, 64, W, 0)], [0]),
    # requestq: readable then writable, writable then readable, no writable, huge.
    "req_mixed": ring(sel(0, 3, 0), 8, [
        desc(B, 16, N, 1), desc(B + 64, 64, W, 0),
        desc(B, 16, W | N, 3), desc(B + 64, 16, 0, 0),
        desc(B, 16, 0, 0),
        desc(B, 0x7fffffff, W, 0),
    ], [0, 2, 4, 5]),
    # leakq1 + event: fill, copy, unequal, wrong order.
    "leak_event": ring(sel(1, 3, 1), 8, [
        desc(B, 64, W, 0),
        desc(B + 0x100, 32, N, 2), desc(B + 0x200, 32, W, 0),
        desc(B + 0x100, 16, N, 4), desc(B + 0x200, 32, W, 0),
        desc(B, 16, W | N, 6), desc(B + 0x100, 16, 0, 0),
    ], [0, 1, 3, 5]),
    # leakq1 without an event: buffers wait.
    "leak_parked": ring(sel(1, 2, 0), 4, [desc(B, 64, W, 0)], [0]),
    # an indirect copy buffer on leakq1.
    "leak_indirect": ring(sel(1, 2, 1), 4, [desc(B + 0x400, 32, I, 0)], [0]),
    # a DEVICE_STATE blob.
    "state_blob": b"VTRNGLK1" + struct.pack("<IIIIQ", 1, 1, 2, 0, 7),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
