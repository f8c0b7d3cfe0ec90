#!/usr/bin/env python3
"""Writes the seed corpora (run from this directory)."""
import os, struct

def frame(req, bc=1, addr=0, counter=0, nonce=b"", data=b"", key_mac=b""):
    f = bytearray(512)
    f[196:196 + len(key_mac)] = key_mac
    f[228:228 + len(data)] = data
    f[484:484 + len(nonce)] = nonce
    struct.pack_into(">IHHHH", f, 500, counter, addr, bc, 0, req)
    return bytes(f)

def put(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as fh:
        fh.write(data)

R = "corpus/req"
put(R, "program-key", bytes([0, 1]) + frame(1, key_mac=b"k" * 32) + frame(5))
put(R, "counter", bytes([2, 1]) + frame(2, nonce=b"n" * 16))
put(R, "write-1", bytes([6, 1]) + frame(3, addr=5, data=b"d" * 256) + frame(5))
put(R, "write-3", bytes([6, 1]) + b"".join(frame(3, bc=3, addr=9, data=bytes([i]) * 256) for i in range(3)) + frame(5))
put(R, "read-4", bytes([2, 4]) + frame(4, bc=4, addr=1, nonce=b"x" * 16))
put(R, "result-read", bytes([2, 1]) + frame(5))
put(R, "partial", bytes([0, 1]) + frame(2)[:300])
put(R, "bad-type", bytes([2, 1]) + frame(0x300))
B = "corpus/blob"
put(B, "garbage", b"\x00VTRPMBX1" + b"\x00" * 200)
put(B, "overlay-header", bytes([1]) + struct.pack("<I", 20) + b"\x01" + struct.pack("<I", 40) + b"\x80")
put(B, "overlay-tag", bytes([1]) + struct.pack("<I", 0xfffff0) + b"\x01")
T = "corpus/ticket"
put(T, "valid", b"vtrpmb1-" + bytes(range(16)).hex().encode() + b"-" + bytes(range(16, 32)).hex().encode())
put(T, "upper", b"vtrpmb1-000102030405060708090A0b0c0d0e0f-101112131415161718191a1b1c1d1e1f")
put(T, "short", b"vtrpmb1-00")
put(T, "receipt", b"vtrpmbv1-" + bytes(range(32)).hex().encode())
put(T, "receipt-upper", b"vtrpmbv1-" + bytes(range(31)).hex().encode() + b"1F")
# The same harness parses its input as a key file's text too.
put(T, "key-raw", bytes(range(200, 232)))
put(T, "key-hex", bytes(range(32)).hex().encode() + b"\n")
put(T, "key-hex-crlf-upper", bytes(range(32)).hex().upper().encode() + b"\r\n")
put(T, "key-hex-trailing", bytes(range(32)).hex().encode() + b"\n" * 16 + b"and more")

# fuzz_rpmb_store: flags, then edits [le32 offset][u8 len][bytes] over a store image
# (capacity 1, max_wr 3: 4 KiB copies, slot i at 4096 + 8192 i; records 0..37, the newest
# in slot 5). Copy B's header starts at the slot's middle, copy A's ends there (version 3).
S = "corpus/store"
def edits(*e):
    return b"".join(struct.pack("<IB", off, len(b)) + b for off, b in e)
SLOT = lambda i: 4096 + 8192 * i
put(S, "v3-as-is", bytes([0]))
put(S, "v2-as-is", bytes([1]))
put(S, "newest-copy-b-flipped", bytes([0]) + edits((SLOT(5) + 4096 + 20, b"\xff")))
put(S, "newest-both-flipped", bytes([0]) + edits((SLOT(5) + 4096 + 20, b"\xff"), (SLOT(5) + 4096 - 256 + 20, b"\xff")))
put(S, "older-both-flipped", bytes([0]) + edits((SLOT(2) + 4096 + 20, b"\xff"), (SLOT(2) + 4096 - 256 + 20, b"\xff")))
put(S, "counter-back-fixed", bytes([4]) + edits((SLOT(5) + 4096 + 16, b"\x00\x00\x00\x00"), (SLOT(5) + 4096 - 256 + 16, b"\x00\x00\x00\x00")))
put(S, "flags-exported-fixed", bytes([4]) + edits((SLOT(5) + 4096 + 20, b"\x03"), (SLOT(5) + 4096 - 256 + 20, b"\x03")))
put(S, "anchored-fixed", bytes([4]) + edits((SLOT(5) + 4096 + 20, b"\x11"), (SLOT(5) + 4096 - 256 + 20, b"\x11")))
put(S, "nblk-addr-fixed", bytes([4]) + edits((SLOT(5) + 4096 + 96, b"\xfe\x01\x03\x00")))
put(S, "seq-huge-fixed", bytes([4]) + edits((SLOT(5) + 4096 + 8, b"\xe5\xff\xff\xff\xff\xff\xff\xff"), (SLOT(5) + 4096 - 256 + 8, b"\xe5\xff\xff\xff\xff\xff\xff\xff")))
put(S, "sb-capacity-fixed", bytes([2]) + edits((12, b"\x02")))
put(S, "sb-version-1-fixed", bytes([3]) + edits((8, b"\x01\x00\x00\x00")))
put(S, "sb-garbage", bytes([0]) + edits((0, b"VTRPMBS1" + b"\x00" * 100)))
put(S, "journal-edit", bytes([8 | 4]) + edits((8192 * 3 + 4096 + 16, b"\x07\x00")))
