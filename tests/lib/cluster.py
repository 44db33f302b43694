# SPDX-License-Identifier: GPL-2.0-or-later
"""A whole cluster for integration tests: N nodes (3 by default) of ours on
127.0.0.2, .3, .4, ... serving one domain, with one private PostgreSQL
database that every node's sm storage and c2s authreg share.

Each node is a router with <cluster> (its name nN, its <ip>, a cluster
port, a certificate of the cluster's CA carrying nN, the other nodes as
peers, the domain, <sm>sm-nN</sm>, a control socket), our sm (<router_id>
sm-nN, <cluster><notify> the domain, carbons in its chains, pgsql) and our
c2s on the node's address (authreg pgsql). Configs are jabberd.Node's
templates with those parts added, so they stay what a single node runs.

Starting the cluster once costs a few seconds; the `cluster3` fixture
below starts one per test module and hands it to each test, after making
sure every node is up and linked (a test that killed a node and failed
before restarting it does not poison the next one). Tests use fresh users
(Cluster.user()), so they do not see each other's state.

Helpers: ClusterNode.start/stop/kill/restart (router, sm and c2s by pid),
Cluster.wait_linked(), Cluster.client(xmpp, node, jid, password),
Cluster.new_user(xmpp, node, name) (registered and logged in there),
ClusterNode.status_json() (`jabberd-cluster -s SOCKET json`) and
ClusterNode.sessions() (the replicated session table, from the lines the
router logs on SIGHUP).
"""

import itertools
import json
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from . import certs, faultproxy, jabberd, paths
from . import sandbox as sandbox_mod

TIMEOUT = 20.0
# Every sm gets this in its in-sess and pkt-user chains (before deliver):
# XEP-0280 is part of what the cluster must carry across nodes.
CARBONS = "<module>carbons</module>\n      <module>deliver</module>"


def built(name):
    """cluster-mod/NAME in the build tree, or skip (fail under
    JC_REQUIRE_DAEMONS=1) the test."""
    path = paths.builddir() / "cluster-mod" / name
    if not path.is_file():
        jabberd.missing("cluster-mod/%s not built in %s" % (name, paths.builddir()))
    return path


class Pki:
    """The cluster's CA and node certificates (CN and DNS SAN = the node
    name), plus another CA to sign impostors with."""

    def __init__(self, sandbox):
        self.dir = sandbox.path("pki")
        self.dir.mkdir()
        self.ca = certs.make_ca(self.dir, "Cluster CA")
        other = sandbox.path("pki-other")
        other.mkdir()
        self.other_dir = other
        self.other_ca = certs.make_ca(other, "Other CA")

    def node(self, name, ca=None, cert_name=None):
        """A pemfile for node `name` signed by `ca` (default: the cluster's),
        carrying `cert_name` (default: `name`)."""
        ca = ca or self.ca
        d = self.dir if ca is self.ca else self.other_dir
        sub = d / ("%s-%s" % (name, cert_name or name))
        sub.mkdir(exist_ok=True)
        cn = cert_name or name
        return certs.issue(sub, ca, cn, dns_names=[cn])


def cluster_section(name, ip, port, pem, ca, peers, domain, extra=""):
    """router.xml's <cluster> for node `name` listening on ip:port with
    certificate `pem` (a certs.Cert) of CA `ca`, `peers` a list of (name,
    ip, port), LAN profile, and `extra` XML inside."""
    peer_xml = "".join("\n    <peer name='%s' ip='%s' port='%d'/>" % p for p in peers)
    return """<cluster>
    <module>%s</module>
    <node>%s</node>
    <ip>%s</ip> <port>%d</port>
    <pemfile>%s</pemfile>
    <cachain>%s</cachain>%s
    <domain>%s</domain>
    <profile>lan</profile>%s
  </cluster>""" % (built("cluster.so"), name, ip, port, pem.pemfile, ca.certfile, peer_xml,
                   domain, "\n    " + extra if extra else "")


def _since(path):
    """A wait_log(since=...) mark for `path` as it is now."""
    try:
        return {path: path.stat().st_size}
    except FileNotFoundError:
        return {path: 0}


SESSION_RE = re.compile(r"cluster: state: session (\S+) on (\S+), priority (-?\d+), "
                        r"(available|unavailable)")


class ClusterNode:
    """Node nN of a Cluster: its jabberd.Node configs, with <cluster> added,
    and the daemons of its current run."""

    def __init__(self, cluster, number, cports):
        self.cluster = cluster
        self.sb = cluster.sb
        self.number = number
        self.name = "n%d" % number
        self.sm_id = "sm-" + self.name
        self.cport = cports[number]
        self.control = cluster.ctrl_dir / (self.name + ".sock")
        self.node = jabberd.Node(self.sb, number=number, flavor="ours",
                                 domain=cluster.domain, storage=cluster.db)
        self.ip = self.node.ip
        self.runs = 0
        self.daemons = {}
        self._configure(cports)

    def _configure(self, cports):
        node, c, db = self.node, self.cluster, self.cluster.db
        path = node.config("sm")
        text = path.read_text()
        text = text.replace("<id>sm</id>", "<id>sm</id>\n  <router_id>%s</router_id>\n"
                            "  <cluster><notify>%s</notify></cluster>"
                            % (self.sm_id, c.domain), 1)
        # in-sess and pkt-user both end their delivery with deliver
        text = text.replace("<module>deliver</module>", CARBONS)
        # PEP (mod_pep) in in-sess and pkt-user (after iq-vcard in both)
        text = text.replace("<module>iq-vcard</module>",
                            "<module>iq-vcard</module>\n      <module>pep</module>", 2)
        # announcer@domain may send announcements (mod_announce)
        text = text.replace("</sm>", "  <aci><acl type='broadcast'><jid>announcer@%s</jid>"
                            "</acl></aci>\n</sm>" % c.domain, 1)
        path.write_text(text)
        path = node.config("c2s")
        text = path.read_text()
        text, n = re.subn(r"<module>sqlite</module>", "<module>pgsql</module>", text)
        text, m = re.subn(r"<sqlite>.*?</sqlite>", db.sm_storage_xml().split("\n", 1)[1],
                          text, flags=re.S)
        if n != 1 or m != 1:
            raise RuntimeError("c2s template changed: cannot switch authreg to pgsql")
        path.write_text(text)
        mesh = c.mesh
        peers = [("n%d" % n,) + (mesh.address(self.number, n) if mesh
                                 else (sandbox_mod.node_ip(n), p))
                 for n, p in sorted(cports.items()) if n != self.number]
        section = cluster_section(self.name, self.ip, self.cport, c.pki.node(self.name),
                                  c.pki.ca, peers, c.domain,
                                  "<sm>%s</sm>\n    <control>%s</control>%s"
                                  % (self.sm_id, self.control,
                                     "\n    " + c.cluster_xml if c.cluster_xml else ""))
        path = node.config("router")
        text = path.read_text().replace("</router>", "  %s\n</router>" % section)
        # XEP-0114 components (a gateway) authenticate with this secret
        text = text.replace("</local>", "  <secret>%s</secret>\n  </local>"
                            % c.component_secret, 1)
        path.write_text(text)

    # The daemons.
    @property
    def c2s_address(self):
        return self.node.c2s_address

    def log(self, daemon):
        return self.node.log(daemon)

    def running(self):
        return bool(self.daemons) and all(d.alive() for d in self.daemons.values())

    def start(self, timeout=TIMEOUT):
        """Start router, sm and c2s, each awaited until usable: the router
        until its cluster listener is up, the sm until it is ready for
        sessions, c2s until its port accepts. Returns self."""
        if any(d.alive() for d in self.daemons.values()):
            raise RuntimeError("%s: start while running" % self.name)
        self.runs += 1
        binaries = {d: jabberd.our_binary_or_skip(d) for d in jabberd.DAEMONS}
        self.daemons = {}
        for d in jabberd.DAEMONS:
            mark = _since(self.log(d))
            self.daemons[d] = self.sb.start(
                "%s-%s-%d" % (self.name, d, self.runs),
                [binaries[d], "-c", self.node.config(d)], logs=[self.log(d)],
                ready_port={"router": (self.ip, self.node.router_port),
                            "c2s": self.c2s_address}.get(d), timeout=timeout)
            ready = {"router": r"cluster: node %s listening" % self.name,
                     "sm": r"ready for sessions"}.get(d)
            if ready:
                self.daemons[d].wait_log(ready, timeout=timeout, since=mark)
        return self

    def stop(self):
        """SIGTERM c2s, sm, then router (the router says BYE to its peers);
        each must exit 0 (the sandbox reports it otherwise)."""
        problems = []
        for d in reversed(jabberd.DAEMONS):
            if d in self.daemons:
                problems += self.daemons[d].stop()
        return problems

    def kill(self):
        """kill -9 router, sm and c2s at once (by pid), and reap them. The
        sandbox does not count these deaths as problems."""
        for d in self.daemons.values():
            if d.alive():
                d.proc.send_signal(signal.SIGKILL)
        for d in self.daemons.values():
            d.proc.wait(10)
            d.stopped = True

    def restart(self, timeout=TIMEOUT):
        self.stop()
        return self.start(timeout)

    # What the node says.
    def status_json(self, timeout=10.0):
        """The node's `jabberd-cluster status json`, parsed."""
        proc = subprocess.run([str(built("jabberd-cluster")), "-s", str(self.control),
                               "json"], capture_output=True, text=True,
                              timeout=paths.scaled(timeout))
        if proc.returncode != 0:
            raise AssertionError("jabberd-cluster status json on %s: exit %d: %s"
                                 % (self.name, proc.returncode, proc.stderr.strip()))
        return json.loads(proc.stdout)

    def hup_status(self, timeout=TIMEOUT):
        """SIGHUP the router; the status it logged (from the node line on)."""
        router = self.daemons["router"]
        mark = router.mark()
        router.signal(signal.SIGHUP)
        router.wait_log(r"cluster: state: local \d+ sessions", since=mark, timeout=timeout)
        time.sleep(0.2)     # the rest of the block
        text = self.log("router").read_text(errors="replace")
        return text[text.rfind("cluster: status: node "):]

    def sessions(self):
        """The node's session table (its own sessions and its peers'; the
        router logs the first 32), as {full JID: (node, priority,
        available)}."""
        return {m.group(1): (m.group(2), int(m.group(3)), m.group(4) == "available")
                for m in SESSION_RE.finditer(self.hup_status())}

    def wait_session(self, jid, present=True, want=None, timeout=TIMEOUT):
        """Wait until `jid` is (or is no longer) in the table, and if `want`
        is given, until its entry is that (node, priority, available);
        returns the table."""
        deadline = time.monotonic() + paths.scaled(timeout)
        while True:
            table = self.sessions()
            entry = table.get(str(jid))
            if (entry is not None) == present and (want is None or entry == want):
                return table
            if time.monotonic() > deadline:
                raise AssertionError("node %s %s session %s%s; its table: %r" % (
                    self.name, "never showed" if present else "still shows", jid,
                    " as %r" % (want,) if want else "", table))
            time.sleep(0.3)


class Cluster:
    """`size` nodes on one PostgreSQL database `db` (a pgsql.Database)."""

    def __init__(self, sandbox, db, size=3, domain="localhost", proxied=False,
                 cluster_xml=""):
        self.sb = sandbox
        # More of <cluster> for every node (e.g. "<queue frames='200'/>").
        self.cluster_xml = cluster_xml
        self.db = db
        self.domain = domain
        # The control sockets' paths must fit in 107 bytes; the sandbox's
        # do not always.
        self.ctrl_dir = Path(tempfile.mkdtemp(prefix="jc-cl-", dir="/tmp"))
        # Every router's <local><secret>, for XEP-0114 components.
        self.component_secret = secrets.token_hex(8)
        self.pki = Pki(sandbox)
        cports = {n: sandbox.free_port(sandbox_mod.node_ip(n)) for n in range(1, size + 1)}
        # proxied: every node reaches every other through a FaultProxy of
        # the test's (tests/lib/faultproxy.py), so links can be broken.
        self.mesh = (faultproxy.Mesh({n: (sandbox_mod.node_ip(n), p) for n, p in cports.items()},
                                     sandbox.free_port) if proxied else None)
        self.nodes = [ClusterNode(self, n, cports) for n in range(1, size + 1)]
        self._serial = itertools.count(1)
        self._tag = secrets.token_hex(2)

    def __getitem__(self, number):
        """Node nN by its number (1-based)."""
        return self.nodes[number - 1]

    def start(self):
        for n in self.nodes:
            n.start()
        self.wait_linked()
        return self

    def wait_linked(self, timeout=TIMEOUT):
        """Wait until every running node has every other running node open
        (HELLO done: sessions flow); returns the nodes' status JSONs."""
        deadline = time.monotonic() + paths.scaled(timeout)
        while True:
            up = [n for n in self.nodes if n.running()]
            want = {n.name for n in up}
            st = {n.name: n.status_json() for n in up}
            missing = {name: sorted(want - {name} - {p["name"] for p in s["peers"]
                                                       if p["open"]})
                       for name, s in st.items()}
            if not any(missing.values()):
                return st
            if time.monotonic() > deadline:
                raise AssertionError("cluster not linked after %.0f s; peers not open: %r"
                                     % (paths.scaled(timeout), missing))
            time.sleep(0.2)

    def ensure_up(self):
        """Heal every link the test broke, start every node that is not
        running (after a test that stopped or killed one), then wait until
        all are linked."""
        if self.mesh is not None:
            self.mesh.heal()
        for n in self.nodes:
            if not n.running():
                n.kill()
                n.start()
        self.wait_linked()
        self.wait_released()

    # Flap damping (docs/cluster-protocol.md): a return adds 1000 to a
    # member's penalty and 2000 holds it down.
    CALM_PENALTY = 1000

    def wait_released(self, timeout=60):
        """Wait until no node holds a member down (flap damping, after a
        test that made a node come back several times), and until no
        member's penalty is so high that one more return would hold it:
        a hold, or a penalty, outlives the test that caused it (at most 45
        s on lan) and would hide presence in the next one."""
        deadline = time.monotonic() + paths.scaled(timeout)
        while True:
            held = {n.name: ["%s (penalty %d)" % (m["name"], m.get("penalty") or 0)
                             for m in n.status_json()["members"]
                             if m.get("held") or (m.get("penalty") or 0) >= self.CALM_PENALTY]
                    for n in self.nodes if n.running()}
            if not any(held.values()):
                return
            if time.monotonic() > deadline:
                raise AssertionError("members still held down, or about to be, after "
                                     "%.0f s: %r"
                                     % (paths.scaled(timeout), held))
            time.sleep(0.5)

    def user(self, name="u"):
        """A fresh (bare JID, password) nobody has used in this cluster."""
        return ("%s-%s-%d@%s" % (name, self._tag, next(self._serial), self.domain),
                secrets.token_hex(8))

    def client(self, xmpp, number, jid, password):
        """A client of `xmpp` (a ClientLoop) for `jid` connecting to node
        nN's c2s."""
        return xmpp.client(jid, password, self[number].c2s_address)

    def new_user(self, xmpp, number, name="u", login=True):
        """A fresh user (Cluster.user()) registered at node nN's c2s, and
        logged in there unless `login` is false: its Client."""
        jid, password = self.user(name)
        c = self.client(xmpp, number, jid, password)
        c.register()
        if login:
            c.login()
        return c

    def close(self):
        """Stop everything; the problems found (as Sandbox.finish())."""
        try:
            return self.sb.finish()
        finally:
            if self.mesh is not None:
                self.mesh.close()
            shutil.rmtree(self.ctrl_dir, ignore_errors=True)

    def problems(self):
        """Daemons that died unexpectedly, and sanitizer reports or
        alert/critical lines so far."""
        out = ["%s exited (status %s) during the test" % (d.name, d.returncode)
               for d in self.sb.daemons if not d.stopped and not d.alive()]
        return out + [str(f) for f in self.sb.scan()]


def _module_cluster(request, tmp_path_factory, size, proxied=False, cluster_xml=""):
    pg = request.getfixturevalue("pg_server")
    sb = sandbox_mod.Sandbox(tmp_path_factory.mktemp("cluster"))
    db = pg.database()
    c = Cluster(sb, db, size=size, proxied=proxied, cluster_xml=cluster_xml)
    try:
        c.start()
    except BaseException:
        c.close()
        db.save_log(sb.path("postgresql.log"))
        raise
    return c, db


def _module_fixture(request, tmp_path_factory, proxied, cluster_xml=""):
    c, db = _module_cluster(request, tmp_path_factory, 3, proxied, cluster_xml)
    yield c
    problems = c.close()
    db.save_log(c.sb.path("postgresql.log"))
    if problems:
        pytest.fail("cluster daemon problems (sandbox %s):\n\n%s"
                    % (c.sb.dir, "\n\n".join(problems)), pytrace=False)


@pytest.fixture(scope="module")
def cluster3_module(request, tmp_path_factory):
    yield from _module_fixture(request, tmp_path_factory, False)


@pytest.fixture(scope="module")
def cluster3p_module(request, tmp_path_factory):
    yield from _module_fixture(request, tmp_path_factory, True)


def _each_test(c):
    before = len(c.problems())
    c.ensure_up()
    yield c
    problems = c.problems()
    if len(problems) > before:
        pytest.fail("cluster daemon problems (sandbox %s):\n\n%s"
                    % (c.sb.dir, "\n\n".join(problems[before:])), pytrace=False)


@pytest.fixture
def cluster3(cluster3_module):
    """The module's 3-node cluster, all nodes up and linked. A daemon that
    died or logged a sanitizer report or critical line during the test
    fails it."""
    yield from _each_test(cluster3_module)


@pytest.fixture
def cluster3p(cluster3p_module):
    """As cluster3, but every node reaches every other through a
    FaultProxy of the test's: `cluster3p.mesh` breaks links (partition,
    cut_link, one_way, stall_link, delay_link) and each test starts with
    them healed."""
    yield from _each_test(cluster3p_module)
