# SPDX-License-Identifier: GPL-2.0-or-later
"""Our s2s beside a jabberd.Node: renders s2s.xml for the node (its router,
a free federation port on the node's address, static addresses for the
peer domains) and starts this tree's s2s daemon, which binds at the node's
router as the default route.

    a = jabberd.Node(sandbox, 1, domain="a.test").start()
    b = jabberd.Node(sandbox, 2, domain="b.test").start()
    sa, sb = S2S(a), S2S(b)
    sa.peer(sb); sb.peer(sa)
    sa.start(); sb.start()
"""

import asyncio
import secrets
import socket
import time

from . import jabberd


def users(xmpp, a, b):
    """alice@a.test and bob@b.test, registered and logged in at their
    nodes' c2s."""
    alice = xmpp.client("alice@a.test", "alice-pw", a.c2s_address)
    bob = xmpp.client("bob@b.test", "bob-pw", b.c2s_address)
    alice.register()
    bob.register()
    alice.login()
    bob.login()
    return alice, bob


def recv_until(sock, needle, limit=10.0):
    """Read from a raw socket until `needle` (bytes) shows up or the peer
    closes, at most `limit` seconds. Returns everything read."""
    data = b""
    end = time.monotonic() + limit
    while needle not in data and time.monotonic() < end:
        sock.settimeout(max(0.05, end - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


class S2S:
    def __init__(self, node, check_queue=10, check_interval=1, tls=None,
                 cachain=None, require_tls=False, io="", check_retry=300,
                 ip=None, local="", lookup=""):
        self.node = node
        self.sb = node.sb
        self.ip = ip or node.ip      # the federation listener's address
        self.port = self.sb.free_port(self.ip)
        self.secret = secrets.token_hex(16)
        self.check_queue = check_queue
        self.check_interval = check_interval
        self.tls = tls               # a certs.Cert for local.pemfile, or None
        self.cachain = cachain       # CA file to verify peers, or None
        self.require_tls = require_tls
        self.io = io                 # XML inside <io> (limits)
        self.check_retry = check_retry
        self.local = local           # more XML inside <local> (<id>s)
        self.lookup = lookup         # more XML inside <lookup> (<srv>s)
        self.hosts = []              # (domain, ip, port, direct TLS)
        # Never the system's DNS: a loopback port where nothing answers,
        # so lookups of names without a static host fail fast. None: no
        # <nameserver>, the environment (NSCACHEIP, RES_OPTIONS) decides.
        self.nameserver = (node.ip, self.sb.free_port(node.ip))
        self.env = None              # extra environment for the daemon
        self.daemon = None

    @property
    def name(self):
        return "node%d-s2s" % self.node.number

    @property
    def config(self):
        return self.node.dir / "s2s.xml"

    @property
    def log(self):
        return self.node.dir / "s2s.log"

    def peer(self, other):
        """Reach `other`'s domain at its s2s listener."""
        self.hosts.append((other.node.domain, other.ip, other.port, False))

    def host(self, domain, ip, port, tls=False):
        self.hosts.append((domain, ip, port, tls))

    def _render(self):
        tls = ""
        if self.tls is not None:
            tls = "<pemfile>%s</pemfile>" % self.tls.pemfile
            if self.cachain is not None:
                tls += "<cachain>%s</cachain>" % self.cachain
        hosts = "\n    ".join(
            "<host name='%s' ip='%s' port='%d'%s/>"
            % (d, ip, port, " tls='1'" if tls else "")
            for d, ip, port, tls in self.hosts)
        if self.nameserver is not None:
            hosts += "\n    <nameserver ip='%s' port='%d'/>" % self.nameserver
        n = self.node
        self.sb.render("s2s/s2s.xml.in", self.config, IP=n.ip,
                       LISTEN_IP=self.ip, CHECK_RETRY=self.check_retry,
                       LOCAL=self.local, LOOKUP=self.lookup,
                       ROUTER_PORT=n.router_port, ROUTER_USER=n.router_user,
                       ROUTER_PASS=n.router_pass, LOG=self.log,
                       S2S_PORT=self.port, SECRET=self.secret, TLS=tls,
                       CHECK_INTERVAL=self.check_interval,
                       CHECK_QUEUE=self.check_queue, HOSTS=hosts, IO=self.io,
                       SECURITY="<require_tls/>" if self.require_tls else "")

    def start(self, timeout=20.0):
        """Start s2s and wait until it listens (after the router accepted
        its bind)."""
        binary = jabberd.our_binary_or_skip("s2s")
        self._render()
        self.daemon = self.sb.start(self.name, [binary, "-D", "-c", self.config],
                                    logs=[self.log], env=self.env,
                                    ready_port=(self.ip, self.port),
                                    timeout=timeout)
        return self

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class NodeS2S(S2S):
    """Our s2s for a node of a tests/lib/cluster.py cluster: the cluster's
    sandbox outlives one test, so each run has its own daemon name,
    config and log."""
    runs = 0

    def __init__(self, node, **kw):
        super().__init__(node, **kw)
        NodeS2S.runs += 1
        self.run = NodeS2S.runs

    @property
    def name(self):
        return "node%d-s2s-%d" % (self.node.number, self.run)

    @property
    def config(self):
        return self.node.dir / ("s2s-%d.xml" % self.run)

    @property
    def log(self):
        return self.node.dir / ("s2s-%d.log" % self.run)


def subscribe_and_see(xmpp, who, other_bare):
    """`who` (an xmpp.Client) asks for `other_bare`'s presence and waits
    for it (the other side's slixmpp authorizes on its own); returns the
    subscription state of `who`'s roster item then ("to" or "both" when
    it worked)."""
    x = who.xmpp

    async def go():
        fut = xmpp.loop.create_future()

        def on_presence(p):
            if p["from"].bare == other_bare and not fut.done():
                fut.set_result(p)
        x.add_event_handler("presence_available", on_presence)
        x.send_presence(pto=other_bare, ptype="subscribe")
        await fut
        for _ in range(20):
            await x.get_roster()
            sub = x.client_roster[other_bare]["subscription"]
            if sub in ("to", "both"):
                return sub
            await asyncio.sleep(0.25)
        return sub
    return xmpp.run(go(), 40, "%s: subscribe to %s" % (who.jid, other_bare))
