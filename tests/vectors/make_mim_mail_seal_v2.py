#!/usr/bin/env python3
"""Writes tests/vectors/mim_mail_seal_v2.json: the known-answer vector of the mim-mail-v2 sealed
letter (shared/mim_seal_v2.c, docs/PROTOCOL.md 14.13), computed apart from libsodium so that
unit/test_seal checks mim's code against an independent computation: X25519 and Ed25519 from
python3-cryptography, BLAKE2b from hashlib, HSalsa20, XSalsa20 and Poly1305 written out here
from their specifications (the NaCl crypto_box / crypto_secretbox construction).

    python3 tests/vectors/make_mim_mail_seal_v2.py > tests/vectors/mim_mail_seal_v2.json

The letter is the v1 vector's (tests/vectors/mim_mail_seal_v1.json); the nonce is fixed (a real
sender draws 24 random bytes per letter). Not run by the tests: its output is committed."""
import hashlib
import json
import os
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

P = 2**255 - 19
MASK = 0xFFFFFFFF


def rotl(v, n):
    return ((v << n) | (v >> (32 - n))) & MASK


def salsa_rounds(x):
    """20 Salsa20 rounds (10 double rounds) over 16 words, in place."""
    def qr(a, b, c, d):
        x[b] ^= rotl((x[a] + x[d]) & MASK, 7)
        x[c] ^= rotl((x[b] + x[a]) & MASK, 9)
        x[d] ^= rotl((x[c] + x[b]) & MASK, 13)
        x[a] ^= rotl((x[d] + x[c]) & MASK, 18)
    for _ in range(10):
        qr(0, 4, 8, 12), qr(5, 9, 13, 1), qr(10, 14, 2, 6), qr(15, 3, 7, 11)
        qr(0, 1, 2, 3), qr(5, 6, 7, 4), qr(10, 11, 8, 9), qr(15, 12, 13, 14)


SIGMA = struct.unpack("<4I", b"expand 32-byte k")


def salsa_state(key, inp16):
    k = struct.unpack("<8I", key)
    i = struct.unpack("<4I", inp16)
    return [SIGMA[0], k[0], k[1], k[2], k[3], SIGMA[1], i[0], i[1],
            i[2], i[3], SIGMA[2], k[4], k[5], k[6], k[7], SIGMA[3]]


def hsalsa20(key, nonce16):
    x = salsa_state(key, nonce16)
    salsa_rounds(x)
    return struct.pack("<8I", x[0], x[5], x[10], x[15], x[6], x[7], x[8], x[9])


def salsa20_stream(key, nonce8, n):
    out = b""
    counter = 0
    while len(out) < n:
        x0 = salsa_state(key, nonce8 + struct.pack("<Q", counter))
        x = list(x0)
        salsa_rounds(x)
        out += struct.pack("<16I", *[(a + b) & MASK for a, b in zip(x, x0)])
        counter += 1
    return out[:n]


def poly1305(key, msg):
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:], "little")
    acc = 0
    for i in range(0, len(msg), 16):
        block = msg[i:i + 16] + b"\x01"
        acc = (acc + int.from_bytes(block, "little")) * r % (2**130 - 5)
    return ((acc + s) % 2**128).to_bytes(16, "little")


def secretbox(key, nonce24, msg):
    """crypto_secretbox_easy (= crypto_box_easy_afternm): MAC || ciphertext."""
    sub = hsalsa20(key, nonce24[:16])
    stream = salsa20_stream(sub, nonce24[16:], 32 + len(msg))
    ct = bytes(a ^ b for a, b in zip(msg, stream[32:]))
    return poly1305(stream[:32], ct) + ct


def ed_pk_to_x25519(pk):
    y = int.from_bytes(pk, "little") & (2**255 - 1)
    return ((1 + y) * pow(1 - y, P - 2, P) % P).to_bytes(32, "little")


def identity(seed_byte):
    seed = bytes([seed_byte]) * 32
    pk = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)
    x_sk = hashlib.sha512(seed).digest()[:32]  # clamped by X25519 itself
    return pk, x_sk


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    v1 = json.load(open(os.path.join(here, "mim_mail_seal_v1.json")))
    letter = bytes.fromhex(v1["letter"])
    alice_pk, alice_x = identity(0x01)
    bob_pk, bob_x = identity(0x02)
    assert alice_pk.hex() == v1["sender_pk"] and bob_pk.hex() == v1["recipient_pk"]
    dh = X25519PrivateKey.from_private_bytes(alice_x).exchange(
        X25519PublicKey.from_public_bytes(ed_pk_to_x25519(bob_pk)))
    assert dh == X25519PrivateKey.from_private_bytes(bob_x).exchange(
        X25519PublicKey.from_public_bytes(ed_pk_to_x25519(alice_pk)))
    shared = hsalsa20(dh, bytes(16))  # crypto_box_beforenm
    key = hashlib.blake2b(b"mim-mail-v2", key=shared, digest_size=32).digest()
    bucket = 512
    padded = letter + b"\x80" + bytes(bucket - 40 - len(letter) - 1)
    nonce = bytes(range(0x40, 0x40 + 24))
    blob = nonce + secretbox(key, nonce, padded)
    assert len(blob) == bucket
    out = {
        "construction": "mim-mail-v2 (shared/mim_seal_v2.c, docs/SECURITY.md): key = "
                        "BLAKE2b-256(key = crypto_box_beforenm(X25519 form of the peer's "
                        "identity key, our identity key's X25519 form), \"mim-mail-v2\"); blob = "
                        "nonce || crypto_box_easy_afternm(sodium_pad(letter, bucket - 40), nonce, "
                        "key). Made by tests/vectors/make_mim_mail_seal_v2.py, apart from libsodium.",
        "sender_name": "alice",
        "sender_ed25519_seed": "01" * 32,
        "recipient_name": "bob",
        "recipient_ed25519_seed": "02" * 32,
        "sender_pk": alice_pk.hex(),
        "recipient_pk": bob_pk.hex(),
        "pair_key": key.hex(),
        "letter": letter.hex(),
        "padded": padded.hex(),
        "nonce": nonce.hex(),
        "blob": blob.hex(),
    }
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
