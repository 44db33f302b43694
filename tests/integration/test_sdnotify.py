# SPDX-License-Identifier: GPL-2.0-or-later
"""The daemons speak systemd's notify protocol (util/sdnotify.c): the test
listens on a unix datagram socket named by NOTIFY_SOCKET, as systemd
does, and tells the senders apart by the credentials the kernel attaches
(SO_PASSCRED). Each daemon says READY=1 only once it serves: at that
moment its port already accepts connections (router, c2s, s2s), and the
sm's READY follows the router's. With WATCHDOG_USEC set each pings
WATCHDOG=1 from its loop at half that period; SIGHUP is RELOADING=1 then
READY=1; SIGTERM is STOPPING=1. Without WATCHDOG_USEC, no pings."""

import signal
import socket
import struct
import threading
import time

import pytest

from lib import jabberd, paths
from lib.s2s import S2S


def built_with_systemd():
    h = paths.builddir() / "config.h"
    return h.exists() and "#define HAVE_SYSTEMD 1" in h.read_text()


class NotifySocket:
    """What systemd's end of NOTIFY_SOCKET sees: (time, pid, fields).
    `probes` are (ip, port) pairs tried the moment a READY=1 arrives;
    the results are kept with the message."""

    def __init__(self, path, probes=()):
        self.path = str(path)
        self.probes = list(probes)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.1)
        self.got = []           # (monotonic time, pid, {field: value}, probe results)
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _probe(self):
        open_ = {}
        for addr in self.probes:
            try:
                socket.create_connection(addr, timeout=0.5).close()
                open_[addr] = True
            except OSError:
                open_[addr] = False
        return open_

    def _run(self):
        space = socket.CMSG_SPACE(struct.calcsize("iII"))
        while self.running:
            try:
                data, anc, _, _ = self.sock.recvmsg(4096, space)
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", cdata[:struct.calcsize("iII")])[0]
            fields = dict(line.split("=", 1) for line in data.decode().splitlines()
                          if "=" in line)
            probes = self._probe() if fields.get("READY") == "1" else {}
            with self.lock:
                self.got.append((time.monotonic(), pid, fields, probes))

    def of(self, pid, field=None, value=None):
        with self.lock:
            return [g for g in self.got if g[1] == pid and
                    (field is None or g[2].get(field) == value)]

    def wait(self, pid, field, value, count=1, timeout=10.0):
        deadline = time.monotonic() + paths.scaled(timeout)
        while len(self.of(pid, field, value)) < count:
            assert time.monotonic() < deadline, \
                "pid %s: no %d x %s=%s; got %s" % (pid, count, field, value, self.of(pid))
            time.sleep(0.05)
        return self.of(pid, field, value)

    def close(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def notify(sandbox, monkeypatch):
    if not built_with_systemd():
        pytest.skip("built without libsystemd (configure --with-systemd)")
    ns = NotifySocket(sandbox.path("notify.sock"))
    monkeypatch.setenv("NOTIFY_SOCKET", ns.path)
    yield ns, monkeypatch
    ns.close()


def test_ready_only_when_serving_and_watchdog(sandbox, notify):
    ns, mp = notify
    mp.setenv("WATCHDOG_USEC", "400000")
    node = jabberd.Node(sandbox, number=1, flavor="ours", domain="a.test")
    s2s = S2S(node)
    router_addr = (node.ip, node.router_port)
    c2s_addr = node.c2s_address
    s2s_addr = (s2s.ip, s2s.port)
    ns.probes = [router_addr, c2s_addr, s2s_addr]
    node.start()
    s2s.start()
    pids = {d: node.daemons[d].pid for d in ("router", "sm", "c2s")}
    pids["s2s"] = s2s.daemon.pid
    ready = {d: ns.wait(p, "READY", "1")[0] for d, p in pids.items()}
    # Once per process, and only once the port serves.
    assert all(len(ns.of(p, "READY", "1")) == 1 for p in pids.values())
    assert ready["router"][3][router_addr]
    assert ready["c2s"][3][c2s_addr]
    assert ready["s2s"][3][s2s_addr]
    # The sm is ready once the router took its binds.
    assert ready["sm"][0] > ready["router"][0]
    # Pings from each loop, every 200 ms: several within a second and a half.
    for d, p in pids.items():
        pings = ns.wait(p, "WATCHDOG", "1", count=4, timeout=3)
        assert pings[3][0] - pings[0][0] < 1.5, d

    c2s = node.daemons["c2s"]
    c2s.signal(signal.SIGHUP)
    ns.wait(pids["c2s"], "RELOADING", "1")
    ns.wait(pids["c2s"], "READY", "1", count=2)
    c2s.signal(signal.SIGTERM)
    ns.wait(pids["c2s"], "STOPPING", "1")
    assert c2s.stop() == []


def test_no_watchdog_without_watchdog_usec(sandbox, notify):
    ns, mp = notify
    mp.delenv("WATCHDOG_USEC", raising=False)
    node = jabberd.Node(sandbox, number=1, flavor="ours", domain="a.test")
    ns.probes = [(node.ip, node.router_port)]
    node.start()
    pid = node.daemons["router"].pid
    assert ns.wait(pid, "READY", "1")[0][3][(node.ip, node.router_port)]
    time.sleep(1.0)
    assert ns.of(pid, "WATCHDOG", "1") == []
