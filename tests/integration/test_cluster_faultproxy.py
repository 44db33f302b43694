# SPDX-License-Identifier: GPL-2.0-or-later
"""The fault proxies of tests/lib/faultproxy.py, on the proxied 3-node
cluster (cluster3p): every link goes through a proxy of the test's, a
partition made with them is seen by membership on both sides, and once
healed the nodes are linked and alive to each other again. The faults
tests of issue 14 build on this."""

import socket
import threading
import time

import pytest

from lib import faultproxy


def members(node):
    return {m["name"]: m["state"] for m in node.status_json()["members"]}


def wait_members(node, want, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        got = members(node)
        if all(got.get(k) == v for k, v in want.items()):
            return got
        if time.monotonic() > deadline:
            raise AssertionError("%s: members %r, wanted %r" % (node.name, got, want))
        time.sleep(0.1)


def test_links_go_through_the_proxies_and_a_partition_heals(cluster3p):
    c = cluster3p
    for n in c.nodes:
        for p in n.status_json()["peers"]:
            if p["open"]:
                # The far end of every link is a proxy address (127.1.a.b).
                assert p["remote"].startswith("127.1."), (n.name, p)
    c.mesh.partition([1], [2, 3])
    wait_members(c[1], {"n2": "dead", "n3": "dead"})
    wait_members(c[2], {"n1": "dead", "n3": "alive"})
    wait_members(c[3], {"n1": "dead", "n2": "alive"})
    assert c.mesh.faulty
    c.mesh.heal()
    for n in c.nodes:
        wait_members(n, {"n1": "alive", "n2": "alive", "n3": "alive"}, timeout=30)
    assert not c.mesh.faulty


def test_proxy_faults_on_a_plain_tcp_pair():
    """Each fault of one FaultProxy, on a plain TCP echo target."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def echo():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=_echo_conn, args=(c,), daemon=True).start()
    threading.Thread(target=echo, daemon=True).start()
    p = faultproxy.FaultProxy("127.1.9.9", _free("127.1.9.9"), srv.getsockname())
    try:
        s = socket.create_connection(p.address, timeout=10)
        s.sendall(b"one")
        assert s.recv(10) == b"one"
        p.delay(0.5)
        t = time.monotonic()
        s.sendall(b"two")
        assert s.recv(10) == b"two"
        assert time.monotonic() - t >= 0.9            # 0.5 s each way
        p.heal()
        p.blackhole("up")
        s.sendall(b"lost")
        s.settimeout(0.5)
        try:
            got = s.recv(10)
        except socket.timeout:
            got = None
        assert got is None
        p.heal()                                      # broken stream: closed
        s.settimeout(10)
        assert s.recv(10) == b""
        p.cut()
        s2 = socket.create_connection(p.address, timeout=10)
        s2.settimeout(10)
        assert s2.recv(10) == b""                     # refused: closed at once
        p.heal()
        s3 = socket.create_connection(p.address, timeout=10)
        p.stall("up")
        s3.sendall(b"held")
        s3.settimeout(0.5)
        try:
            got = s3.recv(10)
        except socket.timeout:
            got = None
        assert got is None
        p.heal()                                      # a stall resumes
        s3.settimeout(10)
        assert s3.recv(10) == b"held"
        # Loss: every chunk lost at least once, so late (a retransmission
        # timeout or more each way), yet all of it, in order.
        p.lossy(0.999, "up")
        t = time.monotonic()
        for i in range(3):
            s3.sendall(b"%d" % i)
            time.sleep(0.05)
        got = b""
        while len(got) < 3:
            got += s3.recv(10)
        assert got == b"012"
        assert time.monotonic() - t >= faultproxy.LOSS_RTO
        assert p.chunks_lost["up"] >= 3
        with pytest.raises(ValueError):
            p.lossy(1.0)
        p.heal()
        assert not p.faulty
    finally:
        p.close()
        srv.close()


def test_proxy_passes_a_fin_after_the_bytes_before_it():
    """An end that writes and closes at once (a cluster link's BYE,
    close_notify, then FIN): the far end gets every byte, then the FIN,
    and may still answer over the other direction, as over TCP. A proxy
    that dropped what it still held at the FIN lost a node's last frames
    (its MEMBERS saying the other one was dead), which made the
    reincarnation exchange of tools/bench-resync take one link more."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    heard = []

    def speak_and_close():
        c, _ = srv.accept()
        c.sendall(b"last words")
        c.shutdown(socket.SHUT_WR)
        c.settimeout(10)
        heard.append(c.recv(10))
        c.close()
    t = threading.Thread(target=speak_and_close, daemon=True)
    t.start()
    p = faultproxy.FaultProxy("127.1.9.9", _free("127.1.9.9"), srv.getsockname())
    try:
        p.delay(0.3, "down")            # the FIN is read while the bytes wait
        s = socket.create_connection(p.address, timeout=10)
        got = b""
        while True:
            data = s.recv(64)
            if not data:
                break
            got += data
        assert got == b"last words"
        s.sendall(b"answer")            # the other direction is still open
        t.join(10)
        assert heard == [b"answer"]
        s.close()
    finally:
        p.close()
        srv.close()


def _echo_conn(c):
    while True:
        try:
            data = c.recv(4096)
        except OSError:
            return
        if not data:
            return
        c.sendall(data)


def _free(ip):
    s = socket.socket()
    s.bind((ip, 0))
    port = s.getsockname()[1]
    s.close()
    return port
