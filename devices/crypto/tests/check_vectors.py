#!/usr/bin/env python3
"""Cross-checks vectors.json (transcribed from the standards) against the
Python `cryptography` package (OpenSSL underneath): a transcription error
fails here before it can fail a device test. Exit 77 (skip) without it."""
import hashlib, hmac, json, os, sys
try:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESCCM, ChaCha20Poly1305
    from cryptography.hazmat.primitives import cmac
except ImportError:
    sys.exit(77)
v = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.json")))
bad = 0
def check(name, got, want):
    global bad
    if got != bytes.fromhex(want):
        print("MISMATCH", name, got.hex(), want); bad += 1
for c in v["cipher"]:
    k, iv, pt = (bytes.fromhex(c[x]) for x in ("key", "iv", "pt"))
    mode = c["alg"].split("-")[2]
    m = {"ecb": lambda: modes.ECB(), "cbc": lambda: modes.CBC(iv), "ctr": lambda: modes.CTR(iv),
         "xts": lambda: modes.XTS(iv)}[mode]()
    e = Cipher(algorithms.AES(k), m).encryptor()
    check(c["name"], e.update(pt) + e.finalize(), c["ct"])
for h in v["hash"]:
    check(h["name"], hashlib.new(h["alg"].replace("sha3-", "sha3_"), bytes.fromhex(h["msg"])).digest(), h["md"])
for m in v["mac"]:
    k, msg = bytes.fromhex(m["key"]), bytes.fromhex(m["msg"])
    if m["alg"] == "cmac-aes":
        c = cmac.CMAC(algorithms.AES(k)); c.update(msg); out = c.finalize()
    else:
        out = hmac.new(k, msg, m["alg"][5:]).digest()[: len(m["mac"]) // 2]
    check(m["name"], out, m["mac"])
for a in v["aead"]:
    k, iv, aad, pt = (bytes.fromhex(a[x]) for x in ("key", "iv", "aad", "pt"))
    tl = len(a["tag"]) // 2
    if "gcm" in a["alg"]: out = AESGCM(k).encrypt(iv, pt, aad or None)
    elif "ccm" in a["alg"]: out = AESCCM(k, tag_length=tl).encrypt(iv, pt, aad or None)
    else: out = ChaCha20Poly1305(k).encrypt(iv, pt, aad or None)
    check(a["name"], out, a["ct"] + a["tag"])
n = sum(len(x) for x in v.values())
print(f"{n} vectors, {bad} mismatches")
sys.exit(1 if bad else 0)
