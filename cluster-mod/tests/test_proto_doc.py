#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A second implementation written from docs/cluster-protocol.md alone.

It decodes every seed of the fuzz corpus (cluster-mod/fuzz/corpus/frame/,
written by the C encoder) with the field tables of the document, and
computes placement weights with the document's construction, comparing
them with the weights test_place.c pins. If the C code and the document
disagree on one byte, this fails: the document is what another
implementation would be written from.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "fuzz", "corpus", "frame")
TEST_PLACE = os.path.join(HERE, "test_place.c")
MASK = (1 << 64) - 1


class Reject(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.data, self.off = data, 0

    def take(self, n):
        if len(self.data) - self.off < n:
            raise Reject("truncated")
        b = self.data[self.off:self.off + n]
        self.off += n
        return b

    def u(self, n):
        return int.from_bytes(self.take(n), "big")

    def str_(self, kind):
        b = self.take(self.u(2))
        check_text(b, kind)
        return b

    def array(self, fn, lo, hi):
        n = self.u(2)
        if not lo <= n <= hi:
            raise Reject("count %d" % n)
        return [fn(self) for _ in range(n)]


def check_text(b, kind):
    limits = {"name": (1, 255, True), "jid": (1, 3071, False), "ip": (1, 45, True),
              "sid": (0, 64, True), "text": (0, 255, False)}
    lo, hi, strict = limits[kind]
    if not lo <= len(b) <= hi or 0 in b:
        raise Reject(kind)
    if strict and any(c <= 0x20 or c == 0x7f for c in b):
        raise Reject(kind)


def entry(r):
    op = r.u(1)
    if not 1 <= op <= 5:
        raise Reject("op")
    e = {"op": op, "name": r.str_("jid" if op <= 3 else "name")}
    if op in (1, 2):
        e["priority"] = struct.unpack(">b", r.take(1))[0]
        e["flags"] = r.u(1)
        if e["flags"] & ~1:
            raise Reject("flags")
        e["started_ms"] = r.u(8)
        e["sid"] = r.str_("sid")
    return e


def member(r):
    m = {"name": r.str_("name"), "ip": r.str_("ip"), "port": r.u(2),
         "incarnation": r.u(8), "state": r.u(1)}
    if m["port"] == 0 or not 1 <= m["state"] <= 4:
        raise Reject("member")
    return m


def payload(t, r):
    if t == 1:
        f = {"min": r.u(1), "max": r.u(1), "inc": r.u(8), "node": r.str_("name"),
             "ip": r.str_("ip"), "port": r.u(2),
             "domains": r.array(lambda x: x.str_("name"), 0, 64)}
        if f["min"] == 0 or f["min"] > f["max"] or f["port"] == 0:
            raise Reject("hello")
    elif t == 2:
        f = {"result": r.u(1), "version": r.u(1), "inc": r.u(8), "node": r.str_("name")}
        if f["result"] > 5 or (f["result"] == 0) != (f["version"] != 0):
            raise Reject("hello_ack")
    elif t in (3, 4):
        f = {"seq": r.u(8), "ts": r.u(8)}
    elif t == 5:
        f = {"reason": r.u(1), "text": r.str_("text")}
        if not 1 <= f["reason"] <= 4:
            raise Reject("bye")
    elif t == 6:
        f = {"origin": r.str_("name"), "inc": r.u(8), "first": r.u(8),
             "entries": r.array(entry, 1, 4096)}
        if f["first"] == 0 or f["first"] + len(f["entries"]) - 1 > MASK:
            raise Reject("delta")
    elif t == 7:
        f = {"origin": r.str_("name"), "inc": r.u(8), "mode": r.u(1), "from": r.u(8)}
        if f["mode"] > 1 or (f["mode"] == 1 and f["from"] != 0):
            raise Reject("request")
    elif t == 8:
        f = {"origin": r.str_("name"), "inc": r.u(8), "seq": r.u(8), "flags": r.u(1),
             "entries": r.array(entry, 0, 4096)}
        if f["flags"] & ~3 or any(e["op"] not in (1, 4) for e in f["entries"]):
            raise Reject("snapshot")
    elif t == 9:
        f = {"seq": r.u(8), "route": r.take(r.u(4)),
             "targets": r.array(lambda x: x.str_("jid"), 0, 1024)}
        if f["seq"] == 0 or not f["route"]:
            raise Reject("stanza")
    elif t == 10:
        f = {"seq": r.u(8)}
    elif t == 11:
        f = {"members": r.array(member, 0, 1024)}
    elif t == 12:
        f = {"inc": r.u(8), "peer_inc": r.u(8), "seq": r.u(8)}
        if (f["seq"] == 0) != (f["inc"] == 0) or (f["seq"] == 0) != (f["peer_inc"] == 0):
            raise Reject("taken")
    else:
        raise Reject("type")
    return f


def decode_stream(link_version, data):
    """Frames of a byte stream; raises Reject on the first bad one."""
    frames, off = [], 0
    while off < len(data):
        if len(data) - off < 8:
            raise Reject("partial header")
        if data[off:off + 2] != b"JC":
            raise Reject("magic")
        version, t, length = data[off + 2], data[off + 3], int.from_bytes(data[off + 4:off + 8], "big")
        if 8 + length > 1 << 20 or len(data) - off - 8 < length:
            raise Reject("length")
        ok = version == 0 if t in (1, 2) else (
            version == 0 if t == 5 and version == 0 else link_version != 0 and version == link_version)
        if not ok or (t == 12 and version < 2):
            raise Reject("version")
        r = Reader(data[off + 8:off + 8 + length])
        f = payload(t, r)
        if r.off != length:
            raise Reject("left over")
        frames.append((t, f))
        off += 8 + length
    return frames


def rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & MASK


def siphash13(k0, k1, data):
    v = [0x736F6D6570736575 ^ k0, 0x646F72616E646F6D ^ k1,
         0x6C7967656E657261 ^ k0, 0x7465646279746573 ^ k1]

    def rnd():
        v[0] = (v[0] + v[1]) & MASK; v[1] = rotl(v[1], 13) ^ v[0]; v[0] = rotl(v[0], 32)
        v[2] = (v[2] + v[3]) & MASK; v[3] = rotl(v[3], 16) ^ v[2]
        v[0] = (v[0] + v[3]) & MASK; v[3] = rotl(v[3], 21) ^ v[0]
        v[2] = (v[2] + v[1]) & MASK; v[1] = rotl(v[1], 17) ^ v[2]; v[2] = rotl(v[2], 32)

    tail = len(data) % 8
    for i in range(0, len(data) - tail, 8):
        m = int.from_bytes(data[i:i + 8], "little")
        v[3] ^= m; rnd(); v[0] ^= m
    m = int.from_bytes(data[len(data) - tail:], "little") | ((len(data) & 0xFF) << 56)
    v[3] ^= m; rnd(); v[0] ^= m
    v[2] ^= 0xFF
    for _ in range(3):
        rnd()
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def weight(key, node):
    h = siphash13(0x6A61626265726430, 0x636C757374657231, key)
    return siphash13(0x706C6163656D656E, 0x742D6E6F64652D31, node + h.to_bytes(8, "little"))


def pinned(name):
    for line in open(TEST_PLACE):
        if line.startswith("#define " + name):
            return int(line.split()[2].rstrip("ULL"), 16)
    raise SystemExit("%s not in test_place.c" % name)


def main():
    seeds = sorted(os.listdir(CORPUS))
    types = set()
    for name in seeds:
        data = open(os.path.join(CORPUS, name), "rb").read()
        frames = decode_stream(data[0], data[1:])
        if not frames:
            raise SystemExit("%s: no frame" % name)
        types.update(t for t, _ in frames)
        print("ok %s: %d frame(s)" % (name, len(frames)))
    if types != set(range(1, 13)):
        raise SystemExit("seeds lack types %s" % (set(range(1, 13)) - types))
    # A frame with one byte left over, and one cut short, must be rejected.
    seed = open(os.path.join(CORPUS, "ping"), "rb").read()
    link, ping = seed[0], seed[1:]
    for bad in (ping[:-1], ping[:7] + bytes([ping[7] + 1]) + ping[8:] + b"\0"):
        try:
            decode_stream(link, bad)
        except Reject:
            continue
        raise SystemExit("a bad PING was accepted")
    got = weight(b"room1@conference.example.org", b"n1")
    if got != pinned("PLACE_WEIGHT_ROOM1_N1"):
        raise SystemExit("placement weight %#x differs from the C one" % got)
    if weight(b"", b"n2") != pinned("PLACE_WEIGHT_EMPTY_N2"):
        raise SystemExit("placement weight of the empty key differs")
    print("ok placement weights match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
