# SPDX-License-Identifier: GPL-2.0-or-later
"""A TCP proxy the test owns, to break the links between cluster nodes on
purpose.

A FaultProxy listens on a loopback address and forwards every connection
to a target, byte for byte, in both directions. Directions are named from
the dialler's side: "up" is dialler -> target, "down" is target ->
dialler. Faults, each until heal():

  cut()             close every connection through it and refuse new ones
                    (accept and close at once): a link that is down.
  blackhole(dir)    read the bytes of one direction and throw them away,
                    the connection staying open: a one-way cut (the
                    stream is broken for good: a TLS link must be made
                    again once healed).
  stall(dir)        stop reading one direction: the sender's socket
                    buffers fill and its writes block, as with a peer that
                    stops reading.
  delay(s, dir)     deliver each chunk of one or both directions `s`
                    seconds late (plus up to `jitter` more), in order.
  loss(rate, dir)   packet loss as the two ends of a TCP connection see
                    it: each chunk is lost with probability `rate` and
                    arrives one retransmission timeout late (0.2 s,
                    doubled for each further loss of the same chunk, at
                    most 5 times), and what follows it waits behind it
                    (TCP delivers in order). Nothing goes missing: the
                    stream stays whole, as TCP keeps it.

A Mesh puts one FaultProxy on every ordered pair of nodes (a dials b
through proxy (a, b)), so that any link, or any set of links, can be
broken: partition(), cut_link(), one_way(), stall_link(), delay_link(),
lossy_link().

Every thread is a daemon thread bounded by close(); nothing here is ever
started outside loopback.
"""

import collections
import random
import socket
import threading
import time

DIRECTIONS = ("up", "down")
LOSS_RTO = 0.2          # s: Linux's minimum retransmission timeout
LOSS_RETRIES = 5        # a chunk lost more often than that gets through


class _Pipe:
    """One direction of one connection: a reader thread and a writer
    thread with a queue of (due, bytes) between them."""

    def __init__(self, proxy, direction, src, dst):
        self.proxy = proxy
        self.direction = direction
        self.src = src
        self.dst = dst
        self.queue = collections.deque()
        self.cond = threading.Condition()
        self.done = False
        self.eof = False        # src sent FIN: write what is queued, then FIN
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._write, daemon=True).start()

    def _read(self):
        p = self.proxy
        self.src.settimeout(0.1)
        while not self.done and not p.stopping:
            if p.stalled[self.direction]:
                time.sleep(0.02)
                continue
            try:
                data = self.src.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                # The end's FIN, as TCP carries it: after every byte sent
                # before it, and for this direction only (the other one
                # goes on until its own FIN), not a drop of what waits.
                with self.cond:
                    self.eof = True
                    self.cond.notify()
                return
            # Stalled while recv() waited: what it read waits as well.
            while p.stalled[self.direction] and not self.done and not p.stopping:
                time.sleep(0.02)
            with p.lock:
                p.bytes_in[self.direction] += len(data)
                dropped = p.holed[self.direction]
                lag = p.lag[self.direction]
                jitter = p.jitter[self.direction]
                loss = p.loss[self.direction]
            if loss:
                rto = LOSS_RTO
                for _ in range(LOSS_RETRIES):
                    if random.random() >= loss:
                        break
                    lag += rto
                    rto *= 2
                    with p.lock:
                        p.chunks_lost[self.direction] += 1
            if dropped:
                with p.lock:
                    p.bytes_dropped[self.direction] += len(data)
                continue
            due = time.monotonic() + lag + (random.uniform(0, jitter) if jitter else 0)
            with self.cond:
                # In order: a chunk is never due before the one ahead of it.
                if self.queue and self.queue[-1][0] > due:
                    due = self.queue[-1][0]
                self.queue.append((due, data))
                self.cond.notify()
        self.close()

    def _write(self):
        while True:
            with self.cond:
                while not self.queue and not self.done and not self.eof:
                    self.cond.wait(0.2)
                if not self.queue:
                    if not self.done:       # eof: all of it written
                        self.done = True
                        try:
                            self.dst.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                    return
                due, data = self.queue[0]
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, 0.2))
                continue
            with self.cond:
                self.queue.popleft()
            try:
                self.dst.sendall(data)
            except OSError:
                self.close()
                return
            with self.proxy.lock:
                self.proxy.bytes_out[self.direction] += len(data)

    def close(self):
        with self.cond:
            if self.done:
                return
            self.done = True
            self.queue.clear()
            self.cond.notify_all()
        for s in (self.src, self.dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class FaultProxy:
    """Forward (ip, port) to `target` (ip, port). The outgoing connection
    is made from `ip`, so the far end sees the proxy's address."""

    def __init__(self, ip, port, target, name=""):
        self.ip, self.port, self.target = ip, port, target
        self.name = name or "%s:%d->%s:%d" % (ip, port, target[0], target[1])
        self.lock = threading.Lock()
        self.stopping = False
        self.refusing = False
        self.stalled = dict.fromkeys(DIRECTIONS, False)
        self.holed = dict.fromkeys(DIRECTIONS, False)
        self.lag = dict.fromkeys(DIRECTIONS, 0.0)
        self.jitter = dict.fromkeys(DIRECTIONS, 0.0)
        self.loss = dict.fromkeys(DIRECTIONS, 0.0)
        self.chunks_lost = dict.fromkeys(DIRECTIONS, 0)
        self.bytes_in = dict.fromkeys(DIRECTIONS, 0)
        self.bytes_out = dict.fromkeys(DIRECTIONS, 0)
        self.bytes_dropped = dict.fromkeys(DIRECTIONS, 0)
        self.accepted = 0
        self.refused = 0
        self.pipes = []
        self.sockets = []
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((ip, port))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return (self.ip, self.port)

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                continue
            if self.refusing or self.stopping:
                self.refused += 1
                c.close()
                continue
            try:
                u = socket.create_connection(self.target, timeout=2,
                                             source_address=(self.ip, 0))
            except OSError:
                self.refused += 1
                c.close()
                continue
            u.settimeout(None)
            with self.lock:
                self.accepted += 1
                self.sockets += [c, u]
                self.pipes += [_Pipe(self, "up", c, u), _Pipe(self, "down", u, c)]

    def _directions(self, direction):
        if direction in (None, "both"):
            return DIRECTIONS
        if direction not in DIRECTIONS:
            raise ValueError("direction %r: up, down or both" % (direction,))
        return (direction,)

    def drop_connections(self):
        """Close every connection through the proxy now (the listener
        stays open)."""
        with self.lock:
            pipes, self.pipes = self.pipes, []
            socks, self.sockets = self.sockets, []
        for p in pipes:
            p.close()
        for s in socks:
            try:
                s.close()
            except OSError:
                pass

    def cut(self):
        self.refusing = True
        self.drop_connections()

    def blackhole(self, direction="up"):
        with self.lock:
            for d in self._directions(direction):
                self.holed[d] = True

    def stall(self, direction="up"):
        with self.lock:
            for d in self._directions(direction):
                self.stalled[d] = True

    def delay(self, seconds, direction="both", jitter=0.0):
        with self.lock:
            for d in self._directions(direction):
                self.lag[d] = float(seconds)
                self.jitter[d] = float(jitter)

    def lossy(self, rate, direction="both"):
        if not 0.0 <= rate < 1.0:
            raise ValueError("loss rate %r: from 0 up to 1 (excluded)" % rate)
        with self.lock:
            for d in self._directions(direction):
                self.loss[d] = float(rate)

    def heal(self):
        """Every fault off. A connection whose bytes were thrown away is
        closed (its stream is broken); a stalled one resumes."""
        with self.lock:
            broken = any(self.holed.values())
            for d in DIRECTIONS:
                self.stalled[d] = self.holed[d] = False
                self.lag[d] = self.jitter[d] = self.loss[d] = 0.0
        self.refusing = False
        if broken:
            self.drop_connections()

    @property
    def faulty(self):
        with self.lock:
            return (self.refusing or any(self.holed.values()) or any(self.stalled.values())
                    or any(self.lag.values()) or any(self.loss.values()))

    def close(self):
        self.stopping = True
        self.drop_connections()
        try:
            self.lsock.close()
        except OSError:
            pass
        self.thread.join(2)


def proxy_ip(a, b):
    """The loopback address of the proxy node `a` dials to reach node `b`
    (both 1-based numbers): 127.1.a.b, apart from the nodes' 127.0.0.x."""
    return "127.1.%d.%d" % (a, b)


class Mesh:
    """A FaultProxy for every ordered pair of `nodes` ({number: (ip,
    port)} of their cluster listeners): node a reaches node b at
    address(a, b)."""

    def __init__(self, nodes, free_port):
        self.nodes = dict(nodes)
        self.proxies = {}
        for a in self.nodes:
            for b, target in self.nodes.items():
                if a == b:
                    continue
                ip = proxy_ip(a, b)
                self.proxies[(a, b)] = FaultProxy(ip, free_port(ip), target,
                                                  name="n%d->n%d" % (a, b))

    def address(self, a, b):
        return self.proxies[(a, b)].address

    def _both(self, a, b):
        """The two proxies between a and b, each with the direction that
        carries a's bytes to b."""
        return [(self.proxies[(a, b)], "up"), (self.proxies[(b, a)], "down")]

    def cut_link(self, a, b):
        for p, _ in self._both(a, b):
            p.cut()

    def partition(self, *groups):
        """Cut every link between nodes of different groups (each a list
        of node numbers); links inside a group stay."""
        side = {n: i for i, g in enumerate(groups) for n in g}
        for (a, b), p in self.proxies.items():
            if side.get(a) != side.get(b):
                p.cut()

    def one_way(self, a, b):
        """Bytes from a to b vanish; b to a still flow."""
        for p, d in self._both(a, b):
            p.blackhole(d)

    def stall_link(self, a, b):
        """b stops reading what a sends it."""
        for p, d in self._both(a, b):
            p.stall(d)

    def delay_link(self, a, b, seconds, jitter=0.0):
        for p, _ in self._both(a, b):
            p.delay(seconds, "both", jitter)

    def delay_one_way(self, a, b, seconds):
        """What a sends b arrives `seconds` late; b to a as before."""
        for p, d in self._both(a, b):
            p.delay(seconds, d)

    def lossy_link(self, a, b, rate):
        for p, _ in self._both(a, b):
            p.lossy(rate, "both")

    def heal(self):
        for p in self.proxies.values():
            p.heal()

    @property
    def faulty(self):
        return any(p.faulty for p in self.proxies.values())

    def close(self):
        for p in self.proxies.values():
            p.close()
