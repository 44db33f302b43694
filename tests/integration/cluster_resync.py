# SPDX-License-Identifier: GPL-2.0-or-later
"""Resynchronising a node's session table over real links: the shared
part of tools/bench-resync (the figures) and test_cluster_resync.py (a
short run in the suite that checks the table, not the time).

Two routers of ours with <cluster> (test_cluster_fwd.FwdNode: the domain
example.org, <sm>sm-nN</sm>, a control socket) on 127.0.0.2 and
127.0.0.3; every cluster link between them goes through a FaultProxy of
ours (tests/lib/faultproxy.py Mesh: n1 dials n2 at 127.1.1.2, n2 dials n1
at 127.1.2.1), so the link can be cut and healed.

n1's sm is scripted here (jabberd2's component protocol, user sm, bound
as sm-n1), not our sm: logging 100,000 users in through c2s would take
minutes. n2's is scripted too (StubSm), or ours (RealSm, Pair(real_sm=
True)). What the scripted sms say is exactly the sm's side of
docs/cluster-protocol.md "The module and its sm":

- n1's sm is the session source: for each session one seed-patch-3
  notification, <route to=D from=sm-n1><session xmlns=NS action='start'
  jid= sm= priority= available='1'/></route>, 1,000 routes to a write;
- n2's sm keeps the remote table the module pushes to it (rule 1: <remote>
  <s action='add|update|remove'/>; rule 2: <sync/> answered with reset,
  adds and synced), parsed with expat as it arrives in a process of its
  own, and notes when it first holds all of them.

Phases of one resynchronisation, each in seconds from `t0` (heal() of
the link, or the start of n2's router for a cold start), all seen from
this process:

  link up           n2's status (control socket, `status json`) shows n1
                    open (HELLO done)
  snapshot sent     the last byte from n1 to n2 that crossed the proxy
                    before the table was complete (TLS records of the
                    snapshot; polled, so within a few ms)
  snapshot applied  n2's status shows n1's sessions at N
  sm told           n2's scripted sm holds N remote sessions (cold start:
                    and has been told `synced`); our sm: its answer to a
                    ping sent once the table is complete (RealSm.ping)
"""

import json
import multiprocessing
import os
import select
import socket
import statistics
import threading
import time
import xml.parsers.expat

from lib import faultproxy, jabberd, paths
from lib.cluster import Pki
from test_cluster_fwd import DOMAIN, NS, FwdNode
from test_router import COMP, STREAMS, Component, q

CLK_TCK = os.sysconf("SC_CLK_TCK")
POLL_S = 0.004          # status polling period while a resync runs
# The scripted sms stop reading after this long, whatever happens.
LIFETIME_S = 3600.0
# cluster-mod/cluster_link.h CLUSTER_LINK_STABLE_MS, and a margin
STABLE_S = 5.5
PHASES = ("link up", "snapshot sent", "snapshot applied", "sm told")


def session_jid(i):
    return "user%06d@%s/res-%08x" % (i, DOMAIN, i)


def session_route(i):
    """n1's sm's notification for session i (priority i % 10)."""
    return ("<route xmlns='%s' to='%s' from='sm-n1'><session xmlns='%s' action='start' "
            "jid='%s' sm='%020d' priority='%d' available='1'/></route>"
            % (COMP, DOMAIN, NS, session_jid(i), i * 7919, i % 10))


class _Table:
    """The remote table as rules 1 and 2 build it (jid -> (node,
    priority, available)), fed by expat; notes when it first holds
    `want` sessions (and, if asked, has been told `synced`)."""

    def __init__(self):
        self.table = {}
        self.stats = {"adds": 0, "removes": 0, "resets": 0, "synced": 0,
                      "removed_why": {}, "error": None}
        self.want = None                # [count, synced wanted, time or None]
        self.synced_at = None
        self.depth = 0
        self.lines = None               # (name, attrs, [text]) of a <set/>/<del/>
        self.exp = xml.parsers.expat.ParserCreate(namespace_separator=" ")
        self.exp.StartElementHandler = self._start
        self.exp.EndElementHandler = self._end
        self.exp.CharacterDataHandler = self._text
        self.exp.Parse(("<stream:stream xmlns:stream='%s' xmlns='%s'>"
                        % (STREAMS, COMP)).encode(), False)

    def _start(self, name, attrs):
        self.depth += 1
        local = name.rpartition(" ")[2]
        st = self.stats
        if local == "remote" and self.depth == 3:
            if attrs.get("reset") == "1":
                self.table.clear()
                st["resets"] += 1
            if attrs.get("synced") == "1":
                st["synced"] += 1
                self.synced_at = time.monotonic()
                self.check()
        elif local == "s" and self.depth == 4:
            if attrs.get("action") == "remove":
                self._remove(attrs.get("jid"), attrs.get("reason"))
            else:
                self._set(attrs.get("jid"), attrs.get("node"), int(attrs.get("priority")),
                          attrs.get("available"))
            self.check()
        elif local in ("set", "del") and self.depth == 4:
            st["line elements"] = st.get("line elements", 0) + 1
            self.lines = (local, attrs, [])
        elif self.depth > 4 and self.lines is not None:
            st["error"] = "an element inside <%s/>" % self.lines[0]

    def _remove(self, jid, why):
        st = self.stats
        st["removes"] += 1
        self.table.pop(jid, None)
        st["removed_why"][why] = st["removed_why"].get(why, 0) + 1

    def _set(self, jid, node, priority, available):
        self.stats["adds"] += 1
        self.table[jid] = (node, priority, available)

    def _text(self, data):
        if self.lines is not None:
            self.lines[2].append(data)

    def _end_lines(self):
        """Rule 1's line form, as strictly as the sm reads it."""
        local, attrs, parts = self.lines
        self.lines = None
        text = "".join(parts)
        if not text.endswith("\n"):
            self.stats["error"] = "<%s/> without a line end: %r" % (local, text[-80:])
            return
        for line in text[:-1].split("\n"):
            if local == "del":
                self._remove(line, attrs.get("reason"))
                continue
            f = line.split(" ", 3)
            if len(f) != 4 or not f[0].lstrip("-").isdigit() or \
                    not -128 <= int(f[0]) <= 127 or f[1] not in ("0", "1") or \
                    not f[2].isdigit() or not f[3]:
                self.stats["error"] = "bad line %r" % line
                return
            self._set(f[3], attrs.get("node"), int(f[0]), f[1])
        self.check()

    def _end(self, name):
        if self.depth == 4 and self.lines is not None:
            self._end_lines()
        self.depth -= 1

    def check(self):
        w = self.want
        if w is not None and w[2] is None and len(self.table) == w[0] and \
                (not w[1] or self.synced_at is not None):
            w[2] = time.monotonic()

    def expect(self, count, synced):
        if synced:
            self.synced_at = None
        self.want = [count, synced, None]
        self.check()


def _stub_sm_child(sock, conn):
    """The scripted sm's process: parse what the router sends, answer the
    parent's commands (expect, send, get, close) on `conn`, and tell it
    ("met", time) when an expectation is met."""
    t = _Table()
    told = True
    sock.setblocking(False)
    end = time.monotonic() + LIFETIME_S
    while time.monotonic() < end:
        ready, _, _ = select.select([sock, conn], [], [], 0.2)
        if conn in ready:
            try:
                cmd, arg = conn.recv()
            except EOFError:
                break
            if cmd == "close":
                break
            if cmd == "expect":
                t.expect(*arg)
                told = False
            elif cmd == "send":
                sock.setblocking(True)
                sock.sendall(arg)
                sock.setblocking(False)
            elif cmd == "get":
                conn.send(("got", (dict(t.table) if arg else len(t.table), dict(t.stats))))
        if sock in ready and t.stats["error"] is None:
            try:
                data = sock.recv(262144)
            except BlockingIOError:
                data = None
            except OSError as e:
                data, t.stats["error"] = None, "read: %s" % e
            if data == b"":
                t.stats["error"] = "the router closed the stream"
            elif data:
                try:
                    t.exp.Parse(data, False)
                except xml.parsers.expat.ExpatError as e:
                    t.stats["error"] = str(e)
        if not told and t.want[2] is not None:
            conn.send(("met", t.want[2]))
            told = True
    sock.close()


class StubSm:
    """A bound scripted sm whose input, from here on, is parsed in a
    process of its own (as the real sm is one; the proxy's threads in this
    process do not wait for it): the remote table as rules 1 and 2 build
    it."""

    def __init__(self, node, lines=False, wait_reset=False):
        comp = node.sm()
        self.comp_id = node.sm_id
        self.lines = lines
        # Everything the ElementTree parser was given is whole elements
        # (the bind answer, presences): expat continues at a boundary.
        assert comp.depth == 1, "scripted sm switched mid-element"
        self.conn, child = multiprocessing.get_context("fork").Pipe()
        self.proc = multiprocessing.get_context("fork").Process(
            target=_stub_sm_child, args=(comp.sock, child), daemon=True)
        self.proc.start()
        child.close()
        comp.sock.close()       # the child holds the connection
        self.met = None
        if lines:
            self.sync()         # as ours does when it binds, asking for lines
        if lines and wait_reset:
            # the answer's reset before anything else happens: a change
            # the module sends before it would be cleared and sent again
            deadline = time.monotonic() + 10
            while self.stats()["resets"] == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert self.stats()["resets"] == 1, "no answer to <sync lines='1'/>"

    def _recv(self, kind, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if not self.conn.poll(max(0.0, deadline - time.monotonic())):
                return None
            k, v = self.conn.recv()
            if k == "met":
                self.met = v
            if k == kind:
                return v

    def expect(self, count, synced=False):
        """From now: note when the table holds `count` sessions (and, with
        synced, `synced` has come); wait_met() gives that time."""
        self.met = None
        self.conn.send(("expect", (count, synced)))

    def wait_met(self, timeout):
        """The time the expectation was met, or None after `timeout` s."""
        if self.met is None:
            self._recv("met", timeout)
        return self.met

    def get(self, table=False):
        """(the table, or its size; the counters)."""
        self.conn.send(("get", table))
        got = self._recv("got", 10.0)
        assert got is not None, "the scripted sm's process does not answer"
        return got

    def size(self):
        return self.get()[0]

    def stats(self):
        return self.get()[1]

    def snapshot(self):
        return self.get(True)[0]

    def sync(self):
        """<sync/>, with lines='1' (rule 1's line form) if this sm takes it."""
        self.conn.send(("send", ("<route xmlns='%s' to='%s' from='%s'><sync xmlns='%s'%s/></route>"
                                 % (COMP, DOMAIN, self.comp_id, NS,
                                    " lines='1'" if self.lines else "")).encode()))

    def close(self):
        try:
            self.conn.send(("close", None))
        except OSError:
            pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()


class DrainSm:
    """n1's scripted sm: sends the notifications; what the module sends it
    is read and thrown away (so its socket never fills)."""

    def __init__(self, node):
        self.comp = node.sm()
        self._stop = False
        self.needles = {}       # bytes -> seen (watch())
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        s = self.comp.sock
        s.settimeout(0.2)
        end = time.monotonic() + LIFETIME_S
        tail = b""
        while not self._stop and time.monotonic() < end:
            try:
                data = s.recv(262144)
                if not data:
                    break
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                if self.needles:
                    seen = tail + data
                    for k in self.needles:
                        if not self.needles[k] and k in seen:
                            self.needles[k] = True
                    tail = data[-256:]

    def watch(self, needles):
        """From now, note which of `needles` (bytes, < 256 each) the module
        sends this sm."""
        with self.lock:
            self.needles = {n: False for n in needles}

    def seen(self):
        with self.lock:
            return {k for k, v in self.needles.items() if v}

    def start_sessions(self, first, count, batch=1000):
        for b in range(first, first + count, batch):
            self.comp.send("".join(session_route(i)
                                   for i in range(b, min(b + batch, first + count))))

    def close(self):
        self._stop = True
        self.comp.close()
        self.thread.join(2)


def cpu_s(pid):
    """utime + stime of process `pid` in seconds (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class RealSm:
    """Our sm as n2's sm (sm/: <router_id>sm-n2, <cluster><notify> the
    domain, SQLite), and a probe: a component bound on n2's router as
    probe.DOMAIN that sends the sm an XMPP ping. The module's stubs and
    the probe reach the sm over one connection, in order, so a ping sent
    once n2's table is complete is answered after the sm has taken every
    stub: the answer's arrival is "sm told" (within the probe's round
    trip)."""

    def __init__(self, sb, node):
        self.sb, self.node = sb, node
        self.starts = 0
        self.log = sb.path("sm-n2.log")
        self.config = sb.path("sm-n2.xml")
        sb.render("jabberd2/sm.xml.in", self.config, SM_ID="sm", IP=node.ip,
                  ROUTER_PORT=node.port, ROUTER_USER="sm", ROUTER_PASS="x", DOMAIN=DOMAIN,
                  LOG=self.log, LIBDIR=paths.builddir(), STORAGE_DRIVER=(
                      "<driver>sqlite</driver><sqlite><dbname>%s</dbname></sqlite>"
                      % sb.path("sm-n2.db")))
        text = self.config.read_text()
        self.config.write_text(text.replace(
            "<id>sm</id>", "<id>sm</id>\n  <router_id>%s</router_id>\n"
            "  <cluster><notify>%s</notify></cluster>" % (node.sm_id, DOMAIN), 1))
        self.daemon = self.probe = None
        self.met = None
        self.serial = 0

    def start(self):
        """Start the sm (a log file per start, so that "ready" is this
        start's) and connect the probe."""
        self.starts += 1
        log = self.sb.path("sm-n2-%d.log" % self.starts)
        config = self.sb.write("sm-n2-%d.xml" % self.starts,
                               self.config.read_text().replace(str(self.log), str(log)))
        self.daemon = self.sb.start("sm-n2-%d" % self.starts,
                                    [jabberd.our_binary_or_skip("sm"), "-c", str(config)],
                                    logs=[log])
        self.probe = Component((self.node.ip, self.node.port))
        assert self.probe.auth("sm", "x")
        el = self.probe.bind("probe." + DOMAIN)
        assert el.get("error") is None
        return self

    @property
    def proc(self):
        return self.daemon

    def ping(self, timeout=60.0):
        """Send the sm a ping; the time its answer arrived. Sent once the
        sm has taken the module's reset (its answer to the sm's <sync/>):
        the module wrote the reset and the table after it in one loop
        turn, so the ping comes behind them."""
        self.daemon.wait_log(r"dropping \d+ remote sessions? \(resync\)", timeout=timeout)
        self.serial += 1
        pid = "p%d" % self.serial
        self.probe.route(DOMAIN, "probe." + DOMAIN,
                         "<iq xmlns='jabber:client' type='get' id='%s' from='probe.%s' to='%s'>"
                         "<ping xmlns='urn:xmpp:ping'/></iq>" % (pid, DOMAIN, DOMAIN))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            el = self.probe.next(timeout=max(0.1, deadline - time.monotonic()))
            iq = el.find(q("jabber:client", "iq"))
            if el.tag == q(COMP, "route") and iq is not None and iq.get("id") == pid:
                assert iq.get("type") == "result", iq.attrib
                return time.monotonic()
        raise AssertionError("the sm did not answer the ping within %.0f s" % timeout)

    def expect(self, count, synced=False):
        self.met = None

    def wait_met(self, timeout):
        return self.met

    def size(self):
        return 0        # not known from outside; the router's view is checked

    def stop(self):
        if self.probe is not None:
            self.probe.close()
            self.probe = None
        if self.daemon is not None:
            assert not self.daemon.stop()
            self.daemon = None

    close = stop


def status_json(node, timeout=5.0):
    """`status json` straight from the node's control socket."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    end = time.monotonic() + timeout
    out = bytearray()
    try:
        s.connect(str(node.control))
        s.sendall(b"status json\n")
        while time.monotonic() < end:
            d = s.recv(65536)
            if not d:
                break
            out += d
    finally:
        s.close()
    return json.loads(out.decode())


def peer_view(node, peer):
    """(open, sessions) of `peer` in `node`'s status; (False, 0) when it
    is not listed or the node does not answer."""
    try:
        st = status_json(node, 1.0)
    except (OSError, ValueError):
        return False, 0
    for p in st["peers"]:
        if p["name"] == peer:
            return bool(p["open"]), int(p["sessions"])
    return False, 0


class Pair:
    """n1 and n2 through a Mesh, with their scripted sms."""

    def __init__(self, sandbox, real_sm=False, lines=True):
        self.sb = sandbox
        self.real_sm = real_sm
        self.lines = lines      # the scripted sm asks for rule 1's line form
        self.pki = Pki(sandbox)
        cports = {1: sandbox.free_port("127.0.0.2"), 2: sandbox.free_port("127.0.0.3")}
        self.mesh = faultproxy.Mesh({n: ("127.0.0.%d" % (n + 1), p) for n, p in cports.items()},
                                    sandbox.free_port)
        self.nodes = {}
        for n in (1, 2):
            node = FwdNode(sandbox, self.pki, n, cports)
            other = 3 - n
            ip, port = self.mesh.address(n, other)
            text = node.config.read_text()
            old = "<peer name='n%d' ip='127.0.0.%d' port='%d'/>" % (other, other + 1,
                                                                    cports[other])
            assert old in text, text
            node.config.write_text(text.replace(old, "<peer name='n%d' ip='%s' port='%d'/>"
                                                % (other, ip, port)))
            self.nodes[n] = node
        self.n1, self.n2 = self.nodes[1], self.nodes[2]
        self.sm1 = self.sm2 = None

    def start(self, timeout=20.0):
        self.n1.start()
        self.n2.start()
        self.wait(lambda: peer_view(self.n2, "n1")[0] and peer_view(self.n1, "n2")[0],
                  timeout, "n1 and n2 linked")
        self.linked_at = time.monotonic()
        self.sm1 = DrainSm(self.n1)
        self.sm2 = self.stub_sm(wait_reset=True)
        return self

    def stub_sm(self, wait_reset=False):
        if self.real_sm:
            if not hasattr(self, "_real"):
                self._real = RealSm(self.sb, self.n2)
            return self._real.start()
        return StubSm(self.n2, lines=self.lines, wait_reset=wait_reset)

    def _sm_told(self):
        """The time n2's sm had every stub, or None (not yet)."""
        if self.real_sm:
            if self.sm2.met is None:
                self.sm2.met = self.sm2.ping()
            return self.sm2.met
        return self.sm2.wait_met(0)

    @staticmethod
    def wait(cond, timeout, what):
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError("%s: not within %.0f s" % (what, timeout))
            time.sleep(0.05)

    def fill(self, n, timeout=120.0):
        """n sessions started on n1 (one incarnation's sequences 1..n);
        returns the seconds until n2's sm held them all."""
        self.sm2.expect(n)
        t0 = time.monotonic()
        self.sm1.start_sessions(0, n)
        if self.real_sm:
            self.wait(lambda: peer_view(self.n2, "n1")[1] == n, timeout,
                      "n2's table holds %d" % n)
            return self.sm2.ping() - t0
        met = self.sm2.wait_met(timeout)
        if met is None:
            raise AssertionError("n2's sm holds %d of %d sessions after %.0f s"
                                 % (self.sm2.size(), n, timeout))
        self.wait(lambda: peer_view(self.n2, "n1")[1] == n, 20, "n2's table holds %d" % n)
        return met - t0

    def n1_to_n2_bytes(self):
        """Bytes from n1 to n2 delivered by the proxies so far (whichever
        of the two connections carries the link)."""
        a, b = self.mesh.proxies[(1, 2)], self.mesh.proxies[(2, 1)]
        with a.lock, b.lock:
            return a.bytes_out["up"] + b.bytes_out["down"]

    def watch(self, t0, n, timeout):
        """Poll n2's status until its table holds n of n1's sessions and
        the sm's `want` is met; the phases in seconds from t0."""
        deadline = t0 + timeout
        cpu0 = self.cpu()
        snaps0 = self.snapshots_applied(n)
        opens0 = self.log_count("cluster: peer n1 open")
        stubs0 = self.stubs_taken()
        link = applied = None
        last_bytes, last_change = self.n1_to_n2_bytes(), None
        while True:
            now = time.monotonic()
            b = self.n1_to_n2_bytes()
            if b != last_bytes and applied is None:
                last_bytes, last_change = b, now
            if applied is None:
                is_open, count = peer_view(self.n2, "n1")
                now = time.monotonic()
                if is_open and link is None:
                    link = now
                if is_open and count == n:
                    applied = now
            if applied is not None and self._sm_told() is not None:
                break
            if now > deadline:
                raise AssertionError(
                    "resync not complete after %.0f s: n2 view %r, sm holds %d"
                    % (timeout, peer_view(self.n2, "n1"), self.sm2.size()))
            time.sleep(POLL_S)
        if link is None:
            link = applied
        self.linked_at = link
        sent = last_change if last_change is not None else link
        cpu1 = self.cpu()
        r = {"link up": link - t0, "snapshot sent": max(sent, link) - t0,
             "snapshot applied": applied - t0, "sm told": self.sm2.met - t0}
        r.update(("cpu " + k, cpu1[k] - cpu0[k]) for k in cpu1)
        # more than one when a link flapped and n1's entries were sent again
        time.sleep(0.2)     # the line is logged in the turn that applied it
        r["snapshots"] = self.snapshots_applied(n) - snaps0
        # a cold start's watch begins after the router's start
        r["link opens"] = self.log_count("cluster: peer n1 open") - opens0
        r["stubs"] = self.stubs_taken() - stubs0
        return r

    def stubs_taken(self):
        """<s/> the scripted sm has taken so far (0 for ours)."""
        if self.real_sm:
            return 0
        st = self.sm2.stats()
        return st["adds"] + st["removes"]

    def log_count(self, text):
        """Lines of n2's router log (all its runs: one file) with `text`."""
        return self.n2.log.read_text(errors="replace").count(text)

    def snapshots_applied(self, n):
        """Snapshots of n of n1's sessions n2 has applied so far."""
        return self.log_count("cluster: state: n1: snapshot of %d sessions" % n)

    def cpu(self):
        """CPU seconds so far of n1's and n2's routers, of n2's scripted
        sm's process and of this one (the proxy, n1's sm, the polling)."""
        t = os.times()
        return {"n1": cpu_s(self.n1.daemon.pid), "n2": cpu_s(self.n2.daemon.pid),
                "sm2": cpu_s(self.sm2.proc.pid), "py": t.user + t.system}

    def reconnect(self, n, timeout=60.0):
        """Cut the n1-n2 link until n2 has declared n1 dead and dropped its
        sessions (so that the heal brings a whole snapshot), heal it, and
        time the resync from heal()."""
        # A link that stayed up CLUSTER_LINK_STABLE_MS (5 s) starts its
        # redial backoff again at 100 ms, as a long-lived link does; runs
        # back to back would otherwise measure the backoff grown by the
        # cuts before.
        time.sleep(max(0.0, self.linked_at + STABLE_S - time.monotonic()))
        self.mesh.cut_link(1, 2)
        self.wait(lambda: peer_view(self.n2, "n1") == (False, 0) and self.sm2.size() == 0,
                  30, "n2 drops n1's sessions after the cut")
        self.sm2.expect(n)
        t0 = time.monotonic()
        self.mesh.heal()
        return self.watch(t0, n, timeout)

    def cold_start(self, n, timeout=60.0, sm_late=False):
        """Stop n2's router (SIGTERM) and its sm, start them again, send
        <sync/> as the sm does when it binds, and time the first sync from
        the router's start. sm_late: the sm binds only once the router's
        table is complete (every stub before that has nobody to go to)."""
        self.sm2.close()
        assert not self.n2.daemon.stop()
        self.wait(lambda: not peer_view(self.n1, "n2")[0], 20, "n1 sees n2 gone")
        opens0 = self.log_count("cluster: peer n1 open")
        t0 = time.monotonic()
        self.n2.start()     # CPU of n2 counted from here, a little late
        if sm_late:
            self.wait(lambda: peer_view(self.n2, "n1") == (True, n), timeout,
                      "n2's table holds %d" % n)
        self.sm2 = self.stub_sm()
        self.sm2.expect(n, synced=True)
        if not self.real_sm and not self.sm2.lines:
            self.sm2.sync()     # ours sends it when it binds (so does StubSm with lines)
        r = self.watch(t0, n, timeout)
        r["link opens"] = self.log_count("cluster: peer n1 open") - opens0
        return r

    def close(self):
        for sm in (self.sm1, self.sm2):
            if sm is not None:
                sm.close()
        self.mesh.close()


def summary(runs):
    """{phase: (median, worst)} over a list of phase dicts."""
    return {p: (statistics.median(r[p] for r in runs), max(r[p] for r in runs))
            for p in PHASES}
