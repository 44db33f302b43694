# SPDX-License-Identifier: GPL-2.0-or-later
"""The cluster module's TLS links (cluster-mod/cluster_link.c) between our
routers on 127.0.0.2-.4, each loading cluster-mod/cluster.so through its
<cluster> section: links come up mutually authenticated, one per pair,
leaving from each node's own <ip>; peers with a certificate from another
CA, with a certificate lacking the dialled name, with no certificate, in
plain TCP or with TLS 1.2 are refused and each refusal is logged once; a
node whose own certificate lacks its name refuses to start; a peer that
stops (SIGTERM) or is killed comes back and its link with it.

Every check reads the routers' logs, and the status that SIGHUP logs.
"""

import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from lib import paths
from lib.cluster import Pki, built, cluster_section  # noqa: F401 (built: test_cluster_status)

TIMEOUT = 20


def router_binary():
    binary = paths.our_binary("router")
    if binary is None:
        pytest.skip("our router is not built")
    return binary


class Node:
    """One router with a <cluster> section. `peers` is a list of
    (name, ip, port)."""

    def __init__(self, sandbox, name, ip, pem, cachain, peers=(), cport=None,
                 domain="example.org"):
        self.sb = sandbox
        self.name = name
        self.ip = ip
        self.port = sandbox.free_port(ip)
        self.cport = cport or sandbox.free_port(ip)
        self.log = sandbox.path("router-%s.log" % name)
        users = sandbox.write("router-users-%s.xml" % name,
                              "<users><user><name>sm</name><secret>x</secret>"
                              "</user></users>")
        self.config = sandbox.write("router-%s.xml" % name, """<router>
  <id>router</id>
  <pidfile>%s</pidfile>
  <log type='file'><file>%s</file></log>
  <local><ip>%s</ip><port>%d</port><users>%s</users></local>
  <aci><acl type='all'><user>sm</user></acl></aci>
  %s
</router>
""" % (sandbox.path("router-%s.pid" % name), self.log, ip, self.port, users,
            cluster_section(name, ip, self.cport, pem, cachain, peers, domain)))
        self.daemon = None
        self.starts = 0

    @property
    def peer(self):
        return (self.name, self.ip, self.cport)

    def start(self):
        self.starts += 1
        self.daemon = self.sb.start(
            "router-%s-%d" % (self.name, self.starts),
            [router_binary(), "-c", str(self.config)], logs=[self.log],
            ready_port=(self.ip, self.port))
        self.daemon.wait_log(r"cluster: node %s listening" % self.name)
        return self

    def text(self):
        return self.log.read_text()

    def wait(self, pattern, timeout=TIMEOUT, since=None):
        return self.daemon.wait_log(pattern, timeout=timeout, since=since)

    def status(self):
        """SIGHUP, then the status lines it logged."""
        mark = self.daemon.mark()
        self.daemon.signal(signal.SIGHUP)
        m = self.wait(r"cluster: status: node .*\n((?:.*cluster: status: peer .*\n)*)",
                      since=mark)
        time.sleep(0.2)
        text = self.log.read_text()
        start = text.rfind("cluster: status: node ")
        return text[text.rfind("\n", 0, start) + 1:]

    def kill(self):
        os.kill(self.daemon.pid, signal.SIGKILL)
        self.daemon.proc.wait(10)
        self.daemon.stopped = True     # killed on purpose: not a problem


def link_up(node, peer, since=None):
    return node.wait(r"cluster: link to %s up \(" % peer, since=since)


def count(node, pattern):
    return len(re.findall(pattern, node.text()))


def three_nodes(sandbox, pki):
    names = [("n1", "127.0.0.2"), ("n2", "127.0.0.3"), ("n3", "127.0.0.4")]
    cports = {n: sandbox.free_port(ip) for n, ip in names}
    nodes = {}
    for n, ip in names:
        peers = [(m, mip, cports[m]) for m, mip in names if m != n]
        nodes[n] = Node(sandbox, n, ip, pki.node(n), pki.ca, peers, cports[n])
    for n in nodes.values():
        n.start()
    return nodes


def test_three_nodes_link_up_once_per_pair_from_own_ip(sandbox):
    pki = Pki(sandbox)
    nodes = three_nodes(sandbox, pki)
    for a in nodes:
        for b in nodes:
            if a != b:
                link_up(nodes[a], b)
    # Let simultaneous dials settle, then every node has both peers up.
    time.sleep(1.0)
    # The protocol opened on each link (HELLO/HELLO_ACK) and heartbeats
    # run: a PONG came back on each.
    for a in nodes:
        for b in nodes:
            if a != b:
                nodes[a].wait(r"cluster: peer %s open: protocol version 2, "
                              r"incarnation \d+" % b)
    time.sleep(1.2)
    for n, node in nodes.items():
        st = node.status()
        assert re.search(r"node %s, 2 peers, 2 up" % n, st), st
        assert re.search(r"protocol versions 1-2, incarnation \d+, 2 peers open", st), st
        assert len(re.findall(r"peer n\d open, version 2, incarnation \d+, rtt "
                              r"[\d.]+ ms \([1-9]\d* pongs\)", st)) == 2, st
        assert "TLSv1.3" in node.text()
        assert "mutually authenticated" in node.text()
    # One link per pair: both ends name the same connection, one side the
    # listener's address, the other an ephemeral port on the dialler's
    # own <ip> (bound before connect; the kernel would pick 127.0.0.1).
    via = {}
    for n, node in nodes.items():
        for m in re.finditer(r"peer (n\d) \(([\d.]+):(\d+)\) up via ([\d.]+):(\d+) since",
                             node.status()):
            via[(n, m.group(1))] = (m.group(4), int(m.group(5)))
    assert len(via) == 6, via
    for a, b in (("n1", "n2"), ("n1", "n3"), ("n2", "n3")):
        A, B = nodes[a], nodes[b]
        if via[(a, b)] == (B.ip, B.cport):          # a dialled
            assert via[(b, a)][0] == A.ip and via[(b, a)][1] != A.cport, via
        else:                                       # b dialled
            assert via[(b, a)] == (A.ip, A.cport), via
            assert via[(a, b)][0] == B.ip and via[(a, b)][1] != B.cport, via
    for node in nodes.values():
        assert not re.search(r"accepted from 127\.0\.0\.1:", node.text())
    # Nothing was refused anywhere.
    for node in nodes.values():
        assert "cluster: refused" not in node.text(), node.text()


def test_restart_and_kill_bring_the_link_back(sandbox):
    pki = Pki(sandbox)
    nodes = three_nodes(sandbox, pki)
    n1, n2 = nodes["n1"], nodes["n2"]
    link_up(n1, "n2")
    link_up(n1, "n3")
    # SIGTERM: n2 says BYE, then close_notify, and n1 drops it at once.
    mark = n1.daemon.mark()
    t0 = time.monotonic()
    n2.daemon.signal(signal.SIGTERM)
    n1.wait(r"cluster: peer n2 said BYE: shutting down: node stopping", since=mark)
    n1.wait(r"cluster: link to n2 down: the peer said BYE", since=mark)
    assert time.monotonic() - t0 < 3
    n2.daemon.proc.wait(10)
    assert n2.daemon.proc.returncode == 0
    assert "cluster: link to n1: closing (this node is stopping)" in n2.text()
    assert "cluster: every link closed" in n2.text()
    # Restarted, it is back (n1 redials with backoff, n2 dials at start).
    mark = n1.daemon.mark()
    n2.start()
    link_up(n1, "n2", since=mark)
    # kill -9: n1 sees the connection go and redials until n2 is back.
    mark = n1.daemon.mark()
    n2.kill()
    n1.wait(r"link to n2 down: ", since=mark)
    time.sleep(1.5)      # several redials fail meanwhile (backoff)
    n2.start()
    link_up(n1, "n2", since=mark)
    link_up(nodes["n3"], "n2", since=None)
    # Up at start, after the restart and after the kill (a simultaneous
    # dial on a restart may add one replacement).
    st = n1.status()
    m = re.search(r"peer n2 .* up via .*up (\d+) times", st)
    assert m and 3 <= int(m.group(1)) <= 5, st


def test_silent_peer_times_out_and_comes_back(sandbox):
    """A peer that stops answering (SIGSTOP: its socket stays open) is
    dropped after the LAN heartbeat timeout, 3 s; it is back when it runs
    again."""
    pki = Pki(sandbox)
    ips = {"n1": "127.0.0.2", "n2": "127.0.0.3"}
    cport = {n: sandbox.free_port(ip) for n, ip in ips.items()}
    n1 = Node(sandbox, "n1", ips["n1"], pki.node("n1"), pki.ca,
              [("n2", ips["n2"], cport["n2"])], cport["n1"]).start()
    n2 = Node(sandbox, "n2", ips["n2"], pki.node("n2"), pki.ca,
              [("n1", ips["n1"], cport["n1"])], cport["n2"]).start()
    n1.wait(r"cluster: peer n2 open: protocol version 2")
    time.sleep(1.5)                 # heartbeats flow: no timeout meanwhile
    assert "heartbeat timeout" not in n1.text()
    mark = n1.daemon.mark()
    t0 = time.monotonic()
    os.kill(n2.daemon.pid, signal.SIGSTOP)
    try:
        m = n1.wait(r"cluster: peer n2: heartbeat timeout \(nothing for (\d+) ms\)",
                    since=mark, timeout=10)
        elapsed = time.monotonic() - t0
    finally:
        os.kill(n2.daemon.pid, signal.SIGCONT)
    assert 3000 <= int(m.group(1)) < 3500, m.group(0)
    assert 2.5 <= elapsed < 4.5, elapsed
    n1.wait(r"cluster: link to n2 down: heartbeat timeout", since=mark)
    n1.wait(r"cluster: peer n2 open: protocol version 2", since=mark)


def test_hello_with_other_domains_is_refused(sandbox):
    pki = Pki(sandbox)
    ips = {"n1": "127.0.0.2", "n2": "127.0.0.3"}
    cport = {n: sandbox.free_port(ip) for n, ip in ips.items()}
    n1 = Node(sandbox, "n1", ips["n1"], pki.node("n1"), pki.ca, [],
              cport["n1"]).start()
    n2 = Node(sandbox, "n2", ips["n2"], pki.node("n2"), pki.ca,
              [("n1", ips["n1"], cport["n1"])], cport["n2"],
              domain="other.example").start()
    n1.wait(r"cluster: refused HELLO from n2: clustered domains differ")
    n2.wait(r"cluster: peer n1 refused our HELLO: clustered domains differ")
    time.sleep(1.5)                 # n2 redials (backoff), refused again
    assert count(n1, r"refused HELLO from n2") == 1, n1.text()
    assert count(n2, r"peer n1 refused our HELLO") == 1, n2.text()
    assert count(n1, r"link to n2 up") >= 2, n1.text()
    assert "peer n2 open" not in n1.text() and "peer n1 open" not in n2.text()


def test_refusals_are_logged_once_with_reason(sandbox):
    pki = Pki(sandbox)
    ips = {"n1": "127.0.0.2", "n2": "127.0.0.3", "n3": "127.0.0.4"}
    cport = {n: sandbox.free_port(ip) for n, ip in ips.items()}
    # n1 expects n2 at .3 and n3 at .4. At .3 runs a node whose
    # certificate comes from another CA; at .4 a node of our CA that is
    # really n4 (so its certificate lacks the name n1 dialled).
    n1 = Node(sandbox, "n1", ips["n1"], pki.node("n1"), pki.ca,
              [("n2", ips["n2"], cport["n2"]), ("n3", ips["n3"], cport["n3"])],
              cport["n1"]).start()
    bad_ca = Node(sandbox, "n2", ips["n2"], pki.node("n2", ca=pki.other_ca),
                  pki.other_ca, [("n1", ips["n1"], cport["n1"])], cport["n2"]).start()
    impostor = Node(sandbox, "n4", ips["n3"], pki.node("n4"), pki.ca, [],
                    cport["n3"]).start()
    n1.wait(r"refused outgoing link to n2 at 127\.0\.0\.3:%d: wrong CA: "
            r"certificate CN 'n2'.* does not verify against <cachain>" % cport["n2"])
    n1.wait(r"refused incoming link from 127\.0\.0\.3:\d+: wrong CA")
    bad_ca.wait(r"refused outgoing link to n1 at 127\.0\.0\.2:%d: wrong CA" % cport["n1"])
    n1.wait(r"refused outgoing link to n3 at 127\.0\.0\.4:%d: name mismatch: "
            r"dialled node 'n3', certificate has CN 'n4'" % cport["n3"])
    addr = (ips["n1"], cport["n1"])
    # Plain TCP, twice from the same address.
    for _ in range(2):
        with socket.create_connection(addr, timeout=5) as s:
            s.sendall(b"<stream:stream to='example.org'>")
            s.settimeout(5)
            assert s.recv(100) == b""       # closed, nothing said
    n1.wait(r"refused incoming link from 127\.0\.0\.1:\d+: not TLS: first byte 0x3c")
    # TLS with no client certificate.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(pki.ca.certfile))
    ctx.check_hostname = False
    with socket.create_connection(addr, timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            s.settimeout(5)
            try:
                s.sendall(b"hello")
                assert s.recv(100) == b""
            except (ssl.SSLError, ConnectionError):
                pass
    n1.wait(r"refused incoming link from 127\.0\.0\.1:\d+: no certificate")
    # TLS 1.2 with a good certificate.
    good = pki.node("n5")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(pki.ca.certfile))
    ctx.check_hostname = False
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(good.pemfile))
    with socket.create_connection(addr, timeout=5) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            ctx.wrap_socket(raw)
    n1.wait(r"refused incoming link from 127\.0\.0\.1:\d+: TLS handshake failed: "
            r".*(unsupported protocol|version)")
    # Redials keep being refused (backoff) but each refusal is logged once.
    time.sleep(2.0)
    text = n1.text()
    for pattern in (r"refused outgoing link to n2 .*wrong CA",
                    r"refused incoming link from 127\.0\.0\.3:\d+: wrong CA",
                    r"refused outgoing link to n3 .*name mismatch",
                    r"refused incoming link from 127\.0\.0\.1:\d+: not TLS",
                    r"refused incoming link from 127\.0\.0\.1:\d+: no certificate",
                    r"refused incoming link from .*TLS handshake failed"):
        assert len(re.findall(pattern, text)) == 1, (pattern, text)
    st = n1.status()
    m = re.search(r"refused: not TLS (\d+), TLS handshake failed (\d+), "
                  r"no certificate (\d+), wrong CA (\d+), name mismatch (\d+)", st)
    assert m, st
    not_tls, hs, nocert, wrong_ca, name = (int(x) for x in m.groups())
    assert not_tls == 2 and hs >= 1 and nocert >= 1
    assert wrong_ca >= 3, st        # redials from both sides, all refused
    assert name >= 2, st
    assert re.search(r"node n1, 2 peers, 0 up", st) or \
        re.search(r"node n1, 3 peers, 0 up", st), st
    # The impostor n4 admitted n1 (our CA, the name it presents), but n1
    # never took n4's link as its link to n3.
    assert "link to n3 up" not in text
    assert impostor.daemon.alive()


def test_dialling_a_plain_tcp_server_is_refused(sandbox):
    """n1's peer n2 is a plain TCP server that greets with a banner: each
    redial is refused as not TLS, logged once."""
    pki = Pki(sandbox)
    srv = socket.socket()
    srv.bind(("127.0.0.3", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    port = srv.getsockname()[1]
    accepted = []
    stop = threading.Event()

    def serve():
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn, addr = srv.accept()
            except socket.timeout:
                continue
            accepted.append(addr)
            try:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            except OSError:
                pass
            conn.close()

    t = threading.Thread(target=serve)
    t.start()
    try:
        n1 = Node(sandbox, "n1", "127.0.0.2", pki.node("n1"), pki.ca,
                  [("n2", "127.0.0.3", port)]).start()
        n1.wait(r"cluster: refused outgoing link to n2 at 127\.0\.0\.3:%d: not TLS: "
                r"first byte 0x53 is no TLS record" % port)
        time.sleep(1.5)
    finally:
        stop.set()
        t.join(10)
        srv.close()
    assert len(accepted) >= 3, accepted             # it kept redialling...
    assert all(a[0] == "127.0.0.2" for a in accepted), accepted  # from <ip>
    assert count(n1, r"refused outgoing link to n2") == 1, n1.text()   # ...logged once
    st = n1.status()
    m = re.search(r"refused: not TLS (\d+),", st)
    # Each accepted connection was refused, unless the server's close
    # (with n1's ClientHello unread: a reset) discarded the banner first.
    assert m and 2 <= int(m.group(1)) <= len(accepted), (st, accepted)


def test_trickled_handshake_is_refused_after_10_s(sandbox):
    """A client that starts a TLS record and then trickles a byte every
    4 s is refused when the 10 s handshake limit passes (a limit on the
    whole handshake, not on silence)."""
    pki = Pki(sandbox)
    n1 = Node(sandbox, "n1", "127.0.0.2", pki.node("n1"), pki.ca).start()
    with socket.create_connection((n1.ip, n1.cport), timeout=5) as s:
        s.sendall(b"\x16\x03\x01")
        t0 = time.monotonic()
        for byte in (b"\x00", b"\x04"):
            time.sleep(4)
            s.sendall(byte)
        m = n1.wait(r"refused incoming link from 127\.0\.0\.1:\d+: handshake timeout",
                    timeout=20)
        elapsed = time.monotonic() - t0
        s.settimeout(5)
        assert s.recv(100) == b""
    assert 9.0 <= elapsed < 13.0, elapsed
    assert m


def test_own_certificate_without_own_name_refuses_to_start(sandbox):
    pki = Pki(sandbox)
    node = Node(sandbox, "n1", "127.0.0.2", pki.node("n1", cert_name="n9"), pki.ca)
    p = subprocess.run([str(router_binary()), "-c", str(node.config)], timeout=20,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode() + (node.log.read_text() if node.log.exists() else "")
    assert p.returncode != 0, out
    line = [l for l in out.splitlines() if "does not carry" in l]
    assert line, out
    assert re.search(r"router-n1\.xml:\d+: <cluster><pemfile>: the certificate in "
                     r"\S+ does not carry this node's name 'n1' as its CN or a DNS "
                     r"subjectAltName \(it has CN 'n9', DNS 'n9'\)", line[0]), line[0]
    assert "PRIVATE KEY" not in out


def test_config_error_names_file_and_element(sandbox):
    pki = Pki(sandbox)
    node = Node(sandbox, "n1", "127.0.0.2", pki.node("n1"), pki.ca,
                [("n1", "127.0.0.3", 5348)])
    p = subprocess.run([str(router_binary()), "-c", str(node.config)], timeout=20,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode() + (node.log.read_text() if node.log.exists() else "")
    assert p.returncode != 0, out
    assert re.search(r"router-n1\.xml:\d+: <cluster><peer>: peer 'n1' is this "
                     r"node's own <node>", out), out
