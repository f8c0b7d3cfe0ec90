#!/usr/bin/env python3
"""Writes the seed corpora of the crypto fuzz harnesses (format: fuzz_common.h):
well-formed requests for every service and layout against the fixed sessions,
plus a few broken ones. Run from this directory; the output is committed."""
import os, struct

def frame(features, rsplit, wlen, wsplit, body):
    return bytes([features, rsplit]) + struct.pack("<H", wlen) + bytes([wsplit]) + body

def sid(slot):
    return (1 << 16) | slot

LEGACY, REV1, STATELESS = 0, 1, 3

def hdr(opcode, session, flag, flf, flf_len):
    flf = flf + bytes(max(0, flf_len - len(flf)))
    return struct.pack("<IIQII", opcode, 0, session, flag, 0) + flf[:flf_len]

def op(svc, o): return (svc << 8) | o

def data_seeds():
    s = {}
    iv = bytes(range(16)); src = bytes(range(64))
    for feat, name in ((LEGACY, "legacy"), (REV1, "rev1"), (STATELESS, "mux")):
        cl = 48 if feat == LEGACY else (76 if feat == STATELESS else 48)
        # cipher on slot 0 (CBC) and 1 (XTS)
        # session-mode sym flf (op_type at 40); in the mux layout it starts the 76-byte flf
        flf = struct.pack("<IIII", 16, 64, 64, 0) + bytes(24) + struct.pack("<II", 1, 0)
        s[f"cipher-cbc-{name}"] = frame(feat, 0, 65, 0, hdr(op(0, 0), sid(0), 1, flf, cl) + iv + src)
        s[f"cipher-xts-{name}"] = frame(feat, 7, 65, 5, hdr(op(0, 1), sid(1), 1, flf, cl) + iv + src)
        hl = 48 if feat == LEGACY else (16 if feat == STATELESS else 8)
        s[f"hash-{name}"] = frame(feat, 0, 33, 0, hdr(op(1, 0), sid(2), 1, struct.pack("<II", 64, 32), hl) + src)
        s[f"mac-{name}"] = frame(feat, 3, 33, 4, hdr(op(2, 0), sid(3), 1, struct.pack("<II", 64, 32), hl) + src)
        al = 48 if feat == LEGACY else (32 if feat == STATELESS else 24)
        aflf = struct.pack("<IIIIII", 12, 13, 64, 80, 16 if feat else 0, 0)
        s[f"gcm-enc-{name}"] = frame(feat, 0, 81, 0, hdr(op(3, 0), sid(4), 1, aflf, al) + iv[:12] + src + bytes(13))
        dflf = struct.pack("<IIIIII", 12, 13, 80, 64, 16 if feat else 0, 0)
        s[f"gcm-dec-{name}"] = frame(feat, 9, 65, 8, hdr(op(3, 1), sid(5), 1, dflf, al) + iv[:12] + src + bytes(16) + bytes(13))
        cflf = struct.pack("<IIIIII", 12, 13, 72, 64, 8 if feat else 0, 0)
        s[f"ccm-dec-{name}"] = frame(feat, 0, 65, 0, hdr(op(3, 1), sid(6), 1, cflf, al) + iv[:12] + src + bytes(8) + bytes(13))
        s[f"chacha-{name}"] = frame(feat, 0, 81, 0, hdr(op(3, 0), sid(7), 1, aflf, al) + iv[:12] + src + bytes(13))
        chflf = struct.pack("<IIIIIIIIII", 16, 64, 64, 16, 48, 0, 64, 8, 20, 0) + struct.pack("<II", 2, 0)
        s[f"chain-{name}"] = frame(feat, 0, 85, 0, hdr(op(0, 0), sid(8), 1, chflf, cl) + iv + src + bytes(8))
        s[f"chain2-{name}"] = frame(feat, 11, 97, 0, hdr(op(0, 1), sid(9), 1, chflf.replace(struct.pack("<I", 20), struct.pack("<I", 32), 1), cl) + iv + src + bytes(8))
        kl = 48 if feat == LEGACY else (28 if feat == STATELESS else 8)
        s[f"rsa-sign-{name}"] = frame(feat, 0, 129, 0, hdr(op(4, 2), sid(10), 1, struct.pack("<II", 32, 128), kl) + bytes(range(32)))
        s[f"rsa-verify-{name}"] = frame(feat, 0, 1, 0, hdr(op(4, 3), sid(10), 1, struct.pack("<II", 128, 32), kl) + bytes(160))
        s[f"rsa-raw-{name}"] = frame(feat, 0, 129, 0, hdr(op(4, 0), sid(11), 1, struct.pack("<II", 100, 128), kl) + bytes(100))
    # stateless requests (flag 0): cipher, hash, mac, aead, chain
    key = bytes(range(1, 33))
    c = struct.pack("<IIIIII", 3, 16, 1, 16, 32, 32) + bytes(48) + struct.pack("<I", 1)
    s["sl-cipher"] = frame(STATELESS, 0, 33, 0, hdr(op(0, 0), 0, 0, c, 76) + key[:16] + iv + src[:32])
    s["sl-hash"] = frame(STATELESS, 0, 33, 0, hdr(op(1, 0), 0, 0, struct.pack("<IIII", 4, 32, 32, 0), 16) + src[:32])
    s["sl-mac"] = frame(STATELESS, 0, 33, 0, hdr(op(2, 0), 0, 0, struct.pack("<IIII", 4, 20, 32, 32), 16) + key[:20] + src[:32])
    s["sl-gcm"] = frame(STATELESS, 0, 49, 0, hdr(op(3, 0), 0, 0, struct.pack("<IIIIIIII", 1, 16, 1, 12, 16, 4, 32, 48), 32) + key[:16] + iv[:12] + src[:32] + bytes(4))
    ch = struct.pack("<" + "I" * 18, 2, 0, 3, 16, 1, 4, 32, 2, 16, 32, 32, 0, 32, 0, 32, 0, 32, 0) + struct.pack("<I", 2)
    s["sl-chain"] = frame(STATELESS, 0, 65, 0, hdr(op(0, 0), 0, 0, ch, 76) + key[:16] + key[:32] + iv + src[:32])
    # GCM IVs of other lengths (1 and 128 bytes: the IV itself; 16: a J0) on the GCM session
    for ivl in (1, 16, 128):
        gf = struct.pack("<IIIIII", ivl, 13, 64, 80, 16, 0)
        s[f"gcm-iv{ivl}-rev1"] = frame(REV1, 0, 81, 0, hdr(op(3, 0), sid(4), 1, gf, 24) + bytes(range(ivl)) + src + bytes(13))
    # stateless akcipher: sess_para {algo, key_type, key_len, para[8]}, src, dst; key, src
    akf = struct.pack("<IIIIIII", 1, 2, len(RSA), 1, 6, 32, 128)
    s["sl-rsa-sign"] = frame(STATELESS, 0, 129, 0, hdr(op(4, 2), 0, 0, akf, 28) + RSA + bytes(range(32)))
    akv = struct.pack("<IIIIIII", 1, 2, len(RSA), 0, 0, 100, 128)
    s["sl-rsa-raw"] = frame(STATELESS, 9, 129, 7, hdr(op(4, 0), 0, 0, akv, 28) + RSA + bytes(100))
    ecp = bytes([4]) + bytes(range(64))  # not on the curve: creation fails, parsing runs
    ake = struct.pack("<IIIIIII", 2, 1, len(ecp), 0, 0, 8, 32)
    s["sl-ecdsa-verify"] = frame(STATELESS, 0, 1, 0, hdr(op(4, 3), 0, 0, ake, 28) + ecp + bytes(40))
    # broken
    s["short"] = frame(LEGACY, 0, 1, 0, b"\x00\x00")
    s["unknown-opcode"] = frame(REV1, 0, 1, 0, hdr(0x0777, 0, 1, b"", 8))
    s["huge-lengths"] = frame(LEGACY, 0, 17, 0, hdr(op(0, 0), sid(0), 1, struct.pack("<IIII", 0xffffffff, 0xfffffff0, 0xfffffff0, 0) + bytes(24) + struct.pack("<II", 1, 0), 48) + iv)
    return s

def ctrl(feat, opcode, flf, flf_len, keys=b""):
    flf = flf + bytes(max(0, flf_len - len(flf)))
    return frame(feat, 0, 16, 0, struct.pack("<IIII", opcode, 0, 0, 0) + flf[:flf_len] + keys)

def ctrl_seeds():
    s = {}
    k = bytes(range(1, 65))
    for feat, name in ((LEGACY, "legacy"), (REV1, "rev1")):
        L = lambda n: 56 if feat == LEGACY else n
        sym = struct.pack("<IIII", 3, 16, 1, 0) + bytes(32) + struct.pack("<II", 1, 0)
        s[f"cipher-{name}"] = ctrl(feat, op(0, 2), sym, 56, k[:16])
        chain = struct.pack("<II", 2, 2) + struct.pack("<IIII", 3, 16, 1, 0) + struct.pack("<IIII", 4, 32, 20, 0) + struct.pack("<II", 0, 0) + struct.pack("<II", 2, 0)
        s[f"chain-{name}"] = ctrl(feat, op(0, 2), chain, 56, k[:16] + k[:20])
        s[f"hash-{name}"] = ctrl(feat, op(1, 2), struct.pack("<II", 8, 0), L(8))
        s[f"mac-{name}"] = ctrl(feat, op(2, 2), struct.pack("<IIII", 26, 16, 16, 0), L(16), k[:16])
        s[f"aead-{name}"] = ctrl(feat, op(3, 2), struct.pack("<IIIIII", 2, 16, 8, 0, 2, 0), L(24), k[:16])
        rsa = struct.pack("<III", 1, 2, len(RSA)) + struct.pack("<II", 1, 6)
        s[f"rsa-{name}"] = ctrl(feat, op(4, 4), rsa, 56, RSA)
        ec = bytes([0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20]) + bytes(range(1, 33))
        s[f"ecdsa-{name}"] = ctrl(feat, op(4, 4), struct.pack("<IIII", 2, 2, len(ec), 3), 56, ec)
        s[f"destroy-{name}"] = frame(feat, 0, 1, 0, struct.pack("<IIII", op(0, 3), 0, 0, 0) + (struct.pack("<Q", sid(0)) + bytes(48))[:L(8)])
    s["short"] = frame(LEGACY, 0, 16, 0, b"\x02\x00")
    return s

def vhost_seeds():
    s = {}
    info = struct.pack("<IIIIIIBBBBIQQ", 3, 16, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0x7f00deadbeef, 0)
    s["qemu72-cbc"] = b"\x00" + struct.pack("<q", 0) + info + bytes(range(16)) + bytes(48) + bytes(512)
    cinfo = struct.pack("<IIIIIIBBBBIQQ", 3, 16, 4, 32, 20, 0, 2, 1, 2, 2, 0, 0, 0)
    s["qemu72-chain"] = b"\x00" + struct.pack("<q", 0) + cinfo + bytes(range(16)) + bytes(48) + bytes([0x0b]) * 20 + bytes(492)
    new = struct.pack("<Q", 2) + info + bytes(range(16)) + bytes(48) + bytes(512)
    s["new-cbc"] = b"\x00" + new + bytes(1072 - len(new))
    ai = struct.pack("<IIIIQII", 1, 2, len(RSA), 0, 0, 1, 6)
    newa = struct.pack("<Q", op(4, 4)) + ai + RSA
    s["new-rsa"] = b"\x00" + newa + bytes(1072 - len(newa))
    s["close"] = b"\x01" + struct.pack("<Q", sid(0))
    s["odd-size"] = b"\x00" + bytes(100)
    return s

# fuzz_persist: flags, then edits [le16 offset][u8 len][bytes] over the resume area
# (persist.c: 8-byte header, then one record per slot: u64 gen, u32 live, 19 u32 parameters,
# key[1024], auth_key[512]). The area as written: sessions in slots 0..7, slot 2 destroyed.
REC, AHDR = 8 + 4 + 19 * 4 + 1024 + 512, 8

def edits(*e):
    return b"".join(struct.pack("<HB", off % 65536, len(b)) + b for off, b in e)

def param(slot, i):
    return AHDR + slot * REC + 12 + 4 * i

def persist_seeds():
    return {
        "as-written": bytes([1]),
        "zeros": bytes([0]),
        "zeros-header": bytes([2]),
        "gen-max": bytes([1]) + edits((AHDR + 3 * REC, b"\xff" * 7 + b"\x7f")),
        "gen-retired-live": bytes([1]) + edits((AHDR, struct.pack("<Q", (1 << 47) - 1))),
        "key-len-huge": bytes([1]) + edits((param(1, 4), struct.pack("<I", 5000))),
        "service-changed": bytes([1]) + edits((param(0, 0), struct.pack("<I", 4))),
        "live-garbage": bytes([3]) + edits((AHDR + 9 * REC + 8, b"\x01\x00\x00\x00" + bytes(range(40)))),
        "rsa-key-truncated": bytes([1]) + edits((param(6, 4), struct.pack("<I", 100))),
        # Found by the fuzzer: a live session at generation 0 was rebuilt at id 0, unreachable.
        "live-gen-0": bytes([3]) + edits((AHDR, b"\x00")),
    }

def load_rsa():
    h = open("fuzz_keys.h").read()
    body = h[h.index("{") + 1 : h.index("};")]
    return bytes(int(x, 16) for x in body.replace("\n", " ").split(",") if x.strip())

RSA = load_rsa()
for d, seeds in (("dataq", data_seeds()), ("ctrlq", ctrl_seeds()), ("vhost_session", vhost_seeds()),
                 ("persist", persist_seeds())):
    os.makedirs(os.path.join("corpus", d), exist_ok=True)
    for name, blob in seeds.items():
        with open(os.path.join("corpus", d, name), "wb") as f:
            f.write(blob)
    print(d, len(seeds))
