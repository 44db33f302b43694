# SPDX-License-Identifier: GPL-2.0-or-later
"""Many bad client connections against our c2s (behind the stock router
and sm), one kind after another: a PLAIN attempt before the required
STARTTLS, a stanza before it and one after it but before authentication,
malformed SASL data, a replayed
SCRAM client-final message, a second resource bind, and slowloris streams
that never finish their header. Each connection must get its error and be
closed; c2s's descriptors must all be closed again and its resident
memory stay flat; and, run against the ASan
build, the sandbox fails the test on any leak report when c2s exits.

JC_LEAK_CONNS sets the number of connections (default 500, the CI size;
the issue's run is 10000) and JC_LEAK_SECONDS the time allowed (default
scales with the count). The figures are printed (pytest -s):

    JC_BUILDDIR=build-asan JC_LEAK_CONNS=10000 \\
        /usr/bin/python3 -m pytest -s -q tests/integration/test_c2s_leak.py
"""

import os
import socket
import time

from lib import jabberd, paths
from lib.rawclient import RawClient

C2S_XML = """<c2s>
  <id>c2s</id>
  <router>
    <ip>{ip}</ip><port>{router_port}</port>
    <user>{user}</user><pass>{password}</pass>
  </router>
  <log type='file'><ident>jabberd/c2s</ident><file>{log}</file></log>
  <local>
    <id register-enable='mu' pemfile='{pemfile}' require-starttls='true'>{domain}</id>
    <ip>{ip}</ip><port>{port}</port>
  </local>
  <io>
    <max_fds>1024</max_fds>
    <check><interval>1</interval><auth>2</auth></check>
  </io>
  <authreg>
    <module>sqlite</module>
    <mechanisms><sasl><plain/><scram-sha-256/></sasl></mechanisms>
    <scram><iterations>64</iterations></scram>
    <throttle><delay>0</delay><failures>0</failures></throttle>
    <sqlite><dbname>{db}</dbname></sqlite>
  </authreg>
</c2s>
"""

# Slowloris streams open at once (each holds a descriptor in c2s).
SLOW_POOL = 100
SLOW_HEADER = ("<?xml version='1.0'?><stream:stream to='localhost' "
               "xmlns='jabber:client' xmlns:stream=")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def start_node(sandbox):
    node = jabberd.Node(sandbox, flavor={"c2s": "ours"}, tls=True)
    node.config("c2s").write_text(C2S_XML.format(
        ip=node.ip, router_port=node.router_port, user=node.router_user,
        password=node.router_pass, log=node.log("c2s"), domain=node.domain,
        port=node.c2s_port, pemfile=node.cert.pemfile, db=node.db))
    return node.start()


class Bad:
    """The kinds of bad client, each returning once its connection got the
    expected answer and was closed by the server (or by us, for the ones
    that are refused without the stream ending)."""

    def __init__(self, node, xmpp):
        self.node = node
        self.ca = node.cert.certfile
        xmpp.client("leaky@localhost", "pw-leak", node.c2s_address,
                    tls="starttls", cafile=self.ca).register()
        c = self.tls()
        assert c.scram("leaky", "pw-leak")[0] == "success"
        self.final = c.last_final
        c.close()
        self.slow = []          # (socket, deadline)
        self.slow_done = 0

    def plain(self):
        c = RawClient(self.node.c2s_address)
        return c, c.open()

    def tls(self):
        c, feats = self.plain()
        assert "<required/>" in feats.split("<starttls")[1]
        c.starttls(cafile=self.ca)
        return c

    def plain_before_tls(self):
        c, _ = self.plain()
        c.auth("PLAIN", b"\0leaky\0pw-leak")
        assert c.sasl_outcome() == ("failure", "encryption-required")
        c.close()

    def stanza_before_tls(self):
        c, _ = self.plain()
        c.mark()
        c.send("<message to='leaky@localhost'><body>hi</body></message>")
        assert "<policy-violation" in c.read_until("</stream:stream>")
        assert c.closed()
        c.close()

    def stanza_before_auth(self):
        c = self.tls()
        c.mark()
        c.send("<message to='leaky@localhost'><body>hi</body></message>")
        assert "<not-authorized" in c.read_until("</stream:stream>")
        assert c.closed()
        c.close()

    def wrong_sasl_data(self):
        c = self.tls()
        c.auth("SCRAM-SHA-256", b"not a scram message")
        assert c.sasl_outcome() == ("failure", "malformed-request")
        c.close()

    def replayed_nonce(self):
        c = self.tls()
        assert c.scram_replay("leaky", self.final) == ("failure", "not-authorized")
        c.close()

    def second_bind(self):
        c = self.tls()
        assert c.scram("leaky", "pw-leak")[0] == "success"
        assert c.bind().startswith("leaky@localhost/")
        c.mark()
        c.send("<iq type='set' id='b2'><bind xmlns='urn:ietf:params:xml:ns:"
               "xmpp-bind'><resource>again</resource></bind></iq>")
        assert "<not-allowed" in c.read_until("</iq>")
        c.close()

    def slowloris(self):
        s = socket.create_connection(self.node.c2s_address, timeout=5)
        s.sendall(SLOW_HEADER.encode())
        s.setblocking(False)
        self.slow.append((s, time.monotonic() + paths.scaled(10)))
        self.reap(SLOW_POOL)

    def reap(self, keep):
        """Wait until at most `keep` slowloris streams are open; each must
        be closed by c2s (io.check.auth) before its deadline."""
        while len(self.slow) > keep or (keep == 0 and self.slow):
            still = []
            for s, deadline in self.slow:
                try:
                    data = s.recv(4096)
                    while data:
                        data = s.recv(4096)
                    gone = True
                except BlockingIOError:
                    gone = False
                except ConnectionResetError:
                    gone = True
                if gone:
                    s.close()
                    self.slow_done += 1
                    continue
                assert time.monotonic() < deadline, "a slowloris stream was not cut off"
                still.append((s, deadline))
            self.slow = still
            if len(self.slow) > keep or (keep == 0 and self.slow):
                time.sleep(0.05)

    KINDS = ("plain_before_tls", "stanza_before_tls", "stanza_before_auth",
             "wrong_sasl_data",
             "replayed_nonce", "second_bind", "slowloris")


def test_many_bad_connections_no_leak(sandbox, xmpp, monkeypatch):
    total = int(os.environ.get("JC_LEAK_CONNS", "500"))
    limit = float(os.environ.get("JC_LEAK_SECONDS", str(max(180, total * 0.12))))
    # A small ASan quarantine, so freed memory is reused and RSS means
    # what c2s holds (the default keeps 256 MB of freed blocks).
    monkeypatch.setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:"
                       "halt_on_error=1:quarantine_size_mb=8")
    node = start_node(sandbox)
    pid = node.daemons["c2s"].pid
    bad = Bad(node, xmpp)
    fds_before = open_fds(pid)
    start = time.monotonic()
    warm = max(60, total // 10)
    rss = []
    counts = dict.fromkeys(Bad.KINDS, 0)
    for i in range(total):
        kind = Bad.KINDS[i % len(Bad.KINDS)]
        getattr(bad, kind)()
        counts[kind] += 1
        if i + 1 == warm or (i + 1) % max(1, total // 5) == 0:
            rss.append((i + 1, rss_kb(pid)))
        assert time.monotonic() - start < limit, (
            "only %d of %d connections in %.0f s" % (i + 1, total, limit))
    bad.reap(0)
    elapsed = time.monotonic() - start
    rss.append((total, rss_kb(pid)))
    # Every connection's descriptor is closed again (the last closes may
    # still be on their way through the event loop).
    end = time.monotonic() + paths.scaled(5)
    while open_fds(pid) > fds_before and time.monotonic() < end:
        time.sleep(0.1)
    fds_after = open_fds(pid)
    print("\nc2s leak run: %d bad connections in %.1f s (%s); "
          "slowloris cut off: %d; c2s descriptors %d before, %d after; "
          "c2s RSS (conns: kB): %s"
          % (total, elapsed, ", ".join("%s %d" % kv for kv in counts.items()),
             bad.slow_done, fds_before, fds_after,
             ", ".join("%d: %d" % r for r in rss)))
    assert fds_after <= fds_before
    assert bad.slow_done == counts["slowloris"]
    # Flat: after the warm-up, growth stays under 10% + 2 MB (allocator
    # pools, the sqlite page cache), however many connections follow.
    base = [kb for n, kb in rss if n >= warm][0]
    assert rss[-1][1] <= base * 1.10 + 2048, rss
    # The leak check proper: c2s exits here, and the sandbox fails the
    # test on any sanitizer report in its output.
    sandbox.stop_all()
