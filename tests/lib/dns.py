# SPDX-License-Identifier: GPL-2.0-or-later
"""A tiny authoritative DNS responder on a loopback UDP port, so a daemon
whose resolver is pointed at it (s2s's <lookup><nameserver>) finds SRV and
A records the test chose. Answers A and SRV questions from a table, with
NXDOMAIN for names it does not know; it runs in a thread that stops with
stop() (bounded by a short select timeout), and counts the questions.

    zone = Zone()
    zone.srv("_xmpps-server._tcp.b.test", 0, 0, 5270, "tls.b.test")
    zone.a("tls.b.test", "127.0.0.3")
    ns = Responder(zone, "127.0.0.1").start()   # ns.port
    ...
    ns.stop()
"""

import select
import socket
import struct
import threading

A, SRV = 1, 33


def _name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


class Zone:
    def __init__(self):
        self.records = {}           # (lowercase name, type) -> [rdata]

    def _add(self, name, rtype, rdata):
        self.records.setdefault((name.lower().rstrip("."), rtype), []).append(rdata)

    def a(self, name, ip):
        self._add(name, A, socket.inet_aton(ip))

    def srv(self, name, priority, weight, port, target):
        target = b"\0" if target == "." else _name(target)
        self._add(name, SRV, struct.pack("!HHH", priority, weight, port) + target)

    def knows(self, name):
        return any(n == name for n, _ in self.records)


class Responder:
    def __init__(self, zone, ip="127.0.0.1"):
        self.zone = zone
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.ip, self.port = self.sock.getsockname()
        self.questions = []         # (name, type) in arrival order
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop = True
        self._thread.join(5)
        self.sock.close()

    def _serve(self):
        while not self._stop:
            ready, _, _ = select.select([self.sock], [], [], 0.1)
            if not ready:
                continue
            try:
                query, peer = self.sock.recvfrom(1500)
                reply = self._answer(query)
            except (OSError, ValueError, IndexError, struct.error):
                continue            # a malformed question gets no answer
            if reply is not None:
                self.sock.sendto(reply, peer)

    def _answer(self, q):
        if len(q) < 17:
            return None
        qid, flags = struct.unpack("!HH", q[:4])
        pos, labels = 12, []
        while q[pos] != 0:
            n = q[pos]
            labels.append(q[pos + 1:pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n
        pos += 1
        qtype, _qclass = struct.unpack("!HH", q[pos:pos + 4])
        question = q[12:pos + 4]
        name = ".".join(labels).lower()
        self.questions.append((name, qtype))
        answers = self.zone.records.get((name, qtype), [])
        rcode = 0 if self.zone.knows(name) else 3
        out = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | 0x80 | rcode,
                          1, len(answers), 0, 0) + question
        for rdata in answers:
            out += struct.pack("!HHHIH", 0xC00C, qtype, 1, 60, len(rdata)) + rdata
        return out
