# SPDX-License-Identifier: GPL-2.0-or-later
"""Forwarding between nodes (cluster-mod/cluster_fwd.c) and the module's
side of the module <-> sm protocol (/work/prompts/iface13.md, stated in
docs/cluster-protocol.md "The module and its sm"), with two routers of
ours on 127.0.0.2 and 127.0.0.3, each with <cluster><sm>sm-nN</sm>, and
each node's "sm" a component scripted here (jabberd2's component protocol,
as user sm, binding sm-nN), so every route the module sends its sm is
checked as it arrives:

- rule 1: a session notified on n1 reaches n2's sm as <s action='add'>,
  its end as <s action='remove' reason='end'>;
- rule 2: <sync/> is answered by reset, the table as adds, then synced;
- rules 7 and 3: a route with jc:node/jc:targets from n2's sm reaches n1's
  sm with jc:from-node and jc:targets, the stanza unchanged;
- rules 8 and 6: jc:node='*' reaches the other sm with jc:from-node and no
  targets;
- rule 4: a route for an unknown node comes back jc:undelivered;
- rule 5: the same full JID started later on n2 makes n1's sm end its own;
- kill -9 of the receiving router while stanzas are unacknowledged: each
  comes back to the sender's sm as undelivered (node-dead), once, when
  membership declares the node dead (lan: about 1 s after the kill);
- a receiver stopped past the heartbeat timeout: declared dead, its
  stanzas back once each; resumed, it is a new incarnation and
  forwarding to it starts anew;
- a node that takes a new incarnation (it learnt it was declared dead)
  closes its links: the peer sees the new incarnation in the HELLO of
  the link that opens next, and what was sent before and after arrives
  once each, both ways;
- rule 9: jc:hops='2' from the sm travels to the other sm; past the
  limit (or not a number) the route comes back jc:undelivered='hop-limit';
- rule 10: STANZAs for a node whose sm is not connected are held (and
  acknowledged) and handed to the sm when it binds again; those it does
  not come back for within 30 s go back to their sender's sm as
  jc:undelivered='sm-gone'; the status counts both;
- a configured node never reached: stanzas for it come back 2 x the
  heartbeat timeout after start, and `synced` waits until then.
"""

import json
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from test_cluster_link import Node, Pki, built
from test_router import COMP, Closed, Component, q

NS = "urn:jabberd-cluster:session"
CLIENT = "jabber:client"
TIMEOUT = 20
DOMAIN = "example.org"


def jc(name):
    return "{%s}%s" % (NS, name)


class FwdNode(Node):
    """test_cluster_link's router with <cluster>, holding example.org and
    handing it to sm-nN (<sm>), with a control socket."""

    def __init__(self, sandbox, pki, number, cports):
        name = "n%d" % number
        peers = [("n%d" % n, "127.0.0.%d" % (n + 1), p)
                 for n, p in cports.items() if n != number]
        super().__init__(sandbox, name, "127.0.0.%d" % (number + 1), pki.node(name),
                         pki.ca, peers, cports[number], domain=DOMAIN)
        self.sm_id = "sm-" + name
        self.control = sandbox.path("control-%s.sock" % name)
        self.config.write_text(self.config.read_text().replace(
            "</cluster>", "  <control>%s</control>\n    <sm>%s</sm>\n  </cluster>"
            % (self.control, self.sm_id), 1))

    def sm(self):
        """The scripted sm: authenticated as sm, bound as sm-nN."""
        c = Component((self.ip, self.port))
        assert c.auth("sm", "x")
        el = c.bind(self.sm_id)
        assert el.get("error") is None, ET.tostring(el)
        return c

    def json(self):
        out = subprocess.run([str(built("jabberd-cluster")), "-s", str(self.control),
                              "json"], capture_output=True, text=True, timeout=15)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


def routes(sm, wait=TIMEOUT):
    """Routes from the module, skipping advertisement presences."""
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no route within %.1f s" % wait)
        el = sm.next(timeout=left)
        if el.tag == q(COMP, "route"):
            yield el


def next_route(sm, wait=TIMEOUT):
    return next(routes(sm, wait))


def no_route(sm, wait=1.0):
    """Nothing but presences within `wait` seconds."""
    try:
        el = next_route(sm, wait)
    except (TimeoutError, Closed):
        return
    pytest.fail("unexpected route: %s" % ET.tostring(el).decode())


def notify(sm, node, action, jid, sid="s1", priority=0):
    sm.send("<route xmlns='%s' to='%s' from='sm-%s'><session xmlns='%s' action='%s' "
            "jid='%s' sm='%s' priority='%d' available='1'/></route>"
            % (COMP, DOMAIN, node, NS, action, jid, sid, priority))


def forward(sm, node, to_node, targets, payload):
    sm.send("<route xmlns='%s' xmlns:jc='%s' to='%s' from='sm-%s' jc:node='%s' "
            "jc:targets='%s'>%s</route>" % (COMP, NS, DOMAIN, node, to_node,
                                           " ".join(targets), payload))


def message(frm, to, body):
    return ("<message xmlns='%s' from='%s' to='%s' type='chat'><body>%s</body></message>"
            % (CLIENT, frm, to, body))


def two_nodes(sandbox):
    pki = Pki(sandbox)
    cports = {1: sandbox.free_port("127.0.0.2"), 2: sandbox.free_port("127.0.0.3")}
    n1 = FwdNode(sandbox, pki, 1, cports).start()
    n2 = FwdNode(sandbox, pki, 2, cports).start()
    n1.wait(r"cluster: peer n2 open")
    n2.wait(r"cluster: peer n1 open")
    return n1, n2


def stubs(route):
    remote = route.find(jc("remote"))
    assert remote is not None, ET.tostring(route)
    return remote, [dict(s.attrib) for s in remote.findall(jc("s"))]


def test_stubs_sync_forward_broadcast_undelivered_conflict(sandbox):
    n1, n2 = two_nodes(sandbox)
    sm1, sm2 = n1.sm(), n2.sm()
    alice = "alice@%s/desk" % DOMAIN

    # rule 1: n1's session reaches n2's sm as a stub
    notify(sm1, "n1", "start", alice, sid="a1", priority=5)
    r = next_route(sm2)
    assert r.get("to") == "sm-n2" and r.get("from") == DOMAIN
    _, ss = stubs(r)
    assert len(ss) == 1
    s = ss[0]
    assert (s["action"], s["jid"], s["node"], s["priority"], s["available"]) == \
        ("add", alice, "n1", "5", "1"), s
    assert abs(int(s["started"]) - time.time() * 1000) < 60000, s
    assert "reason" not in s

    # rule 2: sync -> reset, the table, synced
    sm2.send("<route xmlns='%s' to='%s' from='sm-n2'><sync xmlns='%s'/></route>"
             % (COMP, DOMAIN, NS))
    remote, ss = stubs(next_route(sm2))
    assert remote.get("reset") == "1" and ss == []
    remote, ss = stubs(next_route(sm2))
    assert [(s["action"], s["jid"], s["node"]) for s in ss] == [("add", alice, "n1")]
    remote, ss = stubs(next_route(sm2))
    assert remote.get("synced") == "1" and ss == []

    # rules 7 and 3: n2's sm forwards a message to alice's session on n1
    body = "hello & <welcome> from n2"
    forward(sm2, "n2", "n1", [alice], message("bob@%s/x" % DOMAIN, "alice@" + DOMAIN,
                                             "hello &amp; &lt;welcome&gt; from n2"))
    r = next_route(sm1)
    assert r.get("to") == "sm-n1" and r.get("from") == DOMAIN
    assert r.get(jc("from-node")) == "n2"
    assert r.get(jc("targets")) == alice
    assert r.get(jc("node")) is None
    m = r.find("{%s}message" % CLIENT)
    assert m is not None, ET.tostring(r)
    assert m.get("to") == "alice@" + DOMAIN and m.get("from") == "bob@%s/x" % DOMAIN
    assert m.find("{%s}body" % CLIENT).text == body

    # two targets in one stanza (a presence fan-out)
    forward(sm2, "n2", "n1", [alice, "carol@%s/r" % DOMAIN],
            "<presence xmlns='%s' from='bob@%s/x'/>" % (CLIENT, DOMAIN))
    r = next_route(sm1)
    assert r.get(jc("targets")) == "%s carol@%s/r" % (alice, DOMAIN)
    assert r.find("{%s}presence" % CLIENT) is not None

    # rules 8 and 6: a broadcast
    sm2.send("<route xmlns='%s' xmlns:jc='%s' to='%s' from='sm-n2' jc:node='*'>"
             "<user xmlns='%s' action='changed' jid='alice@%s' what='roster'/></route>"
             % (COMP, NS, DOMAIN, NS, DOMAIN))
    r = next_route(sm1)
    assert r.get(jc("from-node")) == "n2" and r.get(jc("targets")) is None
    u = r.find(jc("user"))
    assert u is not None and u.get("what") == "roster" and u.get("jid") == "alice@" + DOMAIN

    # rule 4: a node nobody knows
    forward(sm2, "n2", "n9", [alice], message("bob@%s/x" % DOMAIN, alice, "lost?"))
    r = next_route(sm2)
    assert r.get("to") == "sm-n2" and r.get("from") == DOMAIN
    assert r.get(jc("undelivered")) == "no-such-node"
    assert r.get(jc("node")) == "n9" and r.get(jc("targets")) == alice
    assert r.find("{%s}message/{%s}body" % (CLIENT, CLIENT)).text == "lost?"

    # rule 5: the same full JID starts on n2 later: n1's sm ends its own
    time.sleep(0.01)
    notify(sm2, "n2", "start", alice, sid="a2")
    # first the stub of n2's session, then the conflict
    _, ss = stubs(next_route(sm1))
    assert [(s["action"], s["jid"], s["node"]) for s in ss] == [("add", alice, "n2")]
    c = next_route(sm1).find(jc("conflict"))
    assert c is not None
    assert c.get("jid") == alice and c.get("sm") == "a1"
    # n2's session is the newer: its sm is told nothing
    no_route(sm2, wait=1.0)
    # n1's sm ends its session: n2's sm sees it removed (reason end)
    notify(sm1, "n1", "end", alice)
    for r in routes(sm2):
        _, ss = stubs(r)
        if any(s["action"] == "remove" for s in ss):
            break
    assert ss[-1]["action"] == "remove" and ss[-1]["reason"] == "end" \
        and ss[-1]["node"] == "n1", ss
    assert "priority" not in ss[-1]

    # nothing was lost on the way and the queues are empty
    time.sleep(0.5)
    st = n2.json()
    assert st["tables"]["forwarded_out"] == 3, st["tables"]
    assert st["tables"]["undelivered"] == 1, st["tables"]
    peer = [p for p in st["peers"] if p["name"] == "n1"][0]
    assert (peer["queue"]["frames"], peer["queue"]["bytes"], peer["queue"]["oldest_ms"]) \
        == (0, 0, 0), peer
    st = n1.json()
    assert st["tables"]["forwarded_in"] == 3, st["tables"]
    assert st["tables"]["local_sessions"] == 0
    assert st["tables"]["remote_sessions"] == 1        # alice/desk on n2


def test_session_change_reaches_the_peer_before_the_stanza_after_it(sandbox):
    """The sm tells its module that a session became available, then
    forwards a probe from it (one write, one turn of the router): the
    other node's sm hears of the change first, so that it answers the
    probe to a session it knows is available."""
    n1, n2 = two_nodes(sandbox)
    sm1, sm2 = n1.sm(), n2.sm()
    alice, bob = "alice@%s/desk" % DOMAIN, "bob@%s/x" % DOMAIN
    sm1.send("<route xmlns='%s' to='%s' from='sm-n1'><session xmlns='%s' action='start' "
             "jid='%s' sm='a1' priority='0' available='0'/></route>" % (COMP, DOMAIN, NS, alice))
    _, ss = stubs(next_route(sm2))
    assert [(s["action"], s["available"]) for s in ss] == [("add", "0")], ss
    sm1.send("<route xmlns='%s' to='%s' from='sm-n1'><session xmlns='%s' action='update' "
             "jid='%s' sm='a1' priority='0' available='1'/></route>" % (COMP, DOMAIN, NS, alice)
             + "<route xmlns='%s' xmlns:jc='%s' to='%s' from='sm-n1' jc:node='n2' "
             "jc:targets='%s'><presence xmlns='%s' type='probe' from='alice@%s' "
             "to='bob@%s'/></route>" % (COMP, NS, DOMAIN, bob, CLIENT, DOMAIN, DOMAIN))
    first = next_route(sm2)
    assert first.find(jc("remote")) is not None, \
        "the probe reached n2's sm before the session's update: %s" % ET.tostring(first)
    _, ss = stubs(first)
    assert [(s["action"], s["available"]) for s in ss] == [("update", "1")], ss
    r = next_route(sm2)
    assert r.get(jc("from-node")) == "n1" and r.get(jc("targets")) == bob
    assert r.find("{%s}presence" % CLIENT).get("type") == "probe"


def test_kill_receiver_unacked_come_back_once(sandbox):
    n1, n2 = two_nodes(sandbox)
    sm1, sm2 = n1.sm(), n2.sm()
    bob = "bob@%s/phone" % DOMAIN
    notify(sm2, "n2", "start", bob, sid="b1")
    r = next_route(sm1)
    assert stubs(r)[1][0]["jid"] == bob
    # n2's router stops reading: nothing it receives is acknowledged
    n2.daemon.signal(signal.SIGSTOP)
    for i in range(5):
        forward(sm1, "n1", "n2", [bob], message("alice@%s/desk" % DOMAIN, bob, "m%d" % i))
    deadline = time.monotonic() + TIMEOUT
    while True:
        peer = [p for p in n1.json()["peers"] if p["name"] == "n2"][0]
        if peer["queue"]["frames"] == 5:
            break
        assert time.monotonic() < deadline, peer
        time.sleep(0.2)
    assert peer["queue"]["bytes"] > 5 * len(bob)
    killed = time.monotonic()
    n2.kill()
    # Each of the 5 comes back once, in order, when membership declares n2
    # dead; n2's session goes as node-dead.
    got, removed = [], []
    deadline = time.monotonic() + 3 * TIMEOUT
    for r in routes(sm1, wait=3 * TIMEOUT):
        if r.get(jc("undelivered")) is not None:
            assert r.get(jc("undelivered")) == "node-dead"
            assert r.get(jc("node")) == "n2" and r.get(jc("targets")) == bob
            got.append(r.find("{%s}message/{%s}body" % (CLIENT, CLIENT)).text)
        elif r.find(jc("remote")) is not None:
            removed += [s for s in stubs(r)[1] if s["action"] == "remove"]
        if len(got) == 5 and removed:
            break
        assert time.monotonic() < deadline
    waited = time.monotonic() - killed
    assert got == ["m0", "m1", "m2", "m3", "m4"]
    assert [(s["jid"], s["node"], s["reason"]) for s in removed] == [(bob, "n2", "node-dead")]
    assert waited < 10, waited
    print("\nkill -9 -> 5 unacknowledged stanzas back to the sender's sm: %.2f s" % waited)
    assert re.search(r"cluster: member n2 \(incarnation \d+\) dead", n1.log.read_text())
    no_route(sm1, wait=2.0)            # exactly once
    st = n1.json()
    assert st["tables"]["undelivered"] == 5
    assert [p for p in st["peers"] if p["name"] == "n2"][0]["queue"]["frames"] == 0


def test_stopped_receiver_declared_dead_then_back(sandbox):
    """n2 stopped (SIGSTOP) for 4 s with 20 stanzas unacknowledged:
    membership declares it dead and each stanza comes back to n1's sm once
    (node-dead). n2 resumes, learns it was declared dead and takes a new
    incarnation (over the link that stayed open, or a new one); forwarding
    to it starts anew and works. What n2 had in
    its socket buffer it may still hand its sm, at most once each."""
    n1, n2 = two_nodes(sandbox)
    sm1, sm2 = n1.sm(), n2.sm()
    bob = "bob@%s/phone" % DOMAIN
    n2.daemon.signal(signal.SIGSTOP)
    for i in range(20):
        forward(sm1, "n1", "n2", [bob], message("alice@%s/desk" % DOMAIN, bob, "m%d" % i))
    back = []
    for r in routes(sm1):
        if r.get(jc("undelivered")) is not None:
            assert r.get(jc("undelivered")) == "node-dead", ET.tostring(r)
            back.append(r.find("{%s}message/{%s}body" % (CLIENT, CLIENT)).text)
        if len(back) == 20:
            break
    assert back == ["m%d" % i for i in range(20)]
    mark = n1.daemon.mark()
    n2.daemon.signal(signal.SIGCONT)
    n1.wait(r"cluster: member n2 \(incarnation \d+\) alive, was dead", since=mark)
    forward(sm1, "n1", "n2", [bob], message("alice@%s/desk" % DOMAIN, bob, "after"))
    got = []
    for r in routes(sm2):
        m = r.find("{%s}message/{%s}body" % (CLIENT, CLIENT))
        if m is not None:
            got.append(m.text)
        if "after" in got:
            break
    assert len(got) == len(set(got)), got
    # i14-part: n1 had declared n2 dead and n2 is back by a new
    # incarnation: n1's sm is told of the merge, once
    # (docs/cluster-protocol.md "Partitions and merges")
    r = next_route(sm1, wait=10)
    merged = r.find("{%s}merged" % NS)
    assert merged is not None and merged.get("nodes") == "n2", ET.tostring(r)
    no_route(sm1, wait=1.0)            # nothing more comes back
    assert n1.json()["tables"]["undelivered"] == 20


def bodies(sm, want, wait=TIMEOUT):
    """Message bodies of the routes reaching `sm` until every one in `want`
    has come (anything else, or a second copy, is returned too)."""
    got = []
    for r in routes(sm, wait):
        m = r.find("{%s}message/{%s}body" % (CLIENT, CLIENT))
        if m is not None:
            got.append(m.text)
        if set(want) <= set(got):
            return got + bodies_within(sm, 1.0)
    return got


def bodies_within(sm, wait):
    got = []
    try:
        for r in routes(sm, wait):
            m = r.find("{%s}message/{%s}body" % (CLIENT, CLIENT))
            if m is not None:
                got.append(m.text)
    except (TimeoutError, Closed):
        pass
    return got


def test_new_incarnation_closes_links(sandbox):
    """n2 stopped past the dead time and resumed: it learns it was declared
    dead and takes a new incarnation, and closes its links (rule 6 and
    "How STANZA and ACK are used"): n1 sees the new incarnation in the
    HELLO of the next link, not only in MEMBERS over the old one. Stanzas
    sent both ways before the stop and after the new link opened arrive
    once each."""
    n1, n2 = two_nodes(sandbox)
    sm1, sm2 = n1.sm(), n2.sm()
    alice, bob = "alice@%s/desk" % DOMAIN, "bob@%s/phone" % DOMAIN
    before = ["b%d" % i for i in range(5)]
    for b in before:
        forward(sm1, "n1", "n2", [bob], message(alice, bob, b + "-to-n2"))
        forward(sm2, "n2", "n1", [alice], message(bob, alice, b + "-to-n1"))
    assert bodies(sm2, [b + "-to-n2" for b in before]) == [b + "-to-n2" for b in before]
    assert bodies(sm1, [b + "-to-n1" for b in before]) == [b + "-to-n1" for b in before]
    mark1, mark2 = n1.daemon.mark(), n2.daemon.mark()
    n2.daemon.signal(signal.SIGSTOP)
    try:
        n1.wait(r"cluster: member n2 \(incarnation \d+\) dead", since=mark1)
    finally:
        n2.daemon.signal(signal.SIGCONT)
    inc = n2.wait(r"taking incarnation (\d+)", since=mark2).group(1)
    # The peer learns the new incarnation from a HELLO: the link was made again.
    n1.wait(r"cluster: peer n2 open: protocol version \d+, incarnation %s" % inc, since=mark1)
    n2.wait(r"cluster: incarnation %s: closing \d+ links?" % inc, since=mark2)
    n2.wait(r"cluster: peer n1 open: protocol version", since=mark2)
    n1.wait(r"cluster: member n2 \(incarnation %s\) alive" % inc, since=mark1)
    after = ["a%d" % i for i in range(5)]
    for a in after:
        forward(sm1, "n1", "n2", [bob], message(alice, bob, a + "-to-n2"))
        forward(sm2, "n2", "n1", [alice], message(bob, alice, a + "-to-n1"))
    got2 = bodies(sm2, [a + "-to-n2" for a in after])
    got1 = [b for b in bodies(sm1, [a + "-to-n1" for a in after])]
    assert got2 == [a + "-to-n2" for a in after], got2
    assert got1 == [a + "-to-n1" for a in after], got1
    assert n1.json()["tables"]["undelivered"] == 0
    assert n2.json()["tables"]["undelivered"] == 0


def test_hop_limit(sandbox):
    """Rule 9: jc:hops reaches the other sm as it was set; a route past the
    limit is not sent but handed back, hop-limit, without jc:hops."""
    n1, n2 = two_nodes(sandbox)
    sm1, sm2 = n1.sm(), n2.sm()
    alice, bob = "alice@%s/desk" % DOMAIN, "bob@%s/phone" % DOMAIN

    def hop(h, body):
        sm1.send("<route xmlns='%s' xmlns:jc='%s' to='%s' from='sm-n1' jc:node='n2' "
                 "jc:hops='%s' jc:targets='%s'>%s</route>"
                 % (COMP, NS, DOMAIN, h, bob, message(alice, bob, body)))

    hop("2", "second")
    r = next_route(sm2)
    assert r.get(jc("from-node")) == "n1" and r.get(jc("hops")) == "2", ET.tostring(r)
    assert r.find("{%s}message/{%s}body" % (CLIENT, CLIENT)).text == "second"
    for h, body in (("3", "third"), ("x", "bad")):
        hop(h, body)
        r = next_route(sm1)
        assert r.get(jc("undelivered")) == "hop-limit", ET.tostring(r)
        assert r.get(jc("node")) == "n2" and r.get(jc("targets")) == bob
        assert r.get(jc("hops")) is None
        assert r.find("{%s}message/{%s}body" % (CLIENT, CLIENT)).text == body
    no_route(sm2, wait=1.0)
    assert n1.json()["tables"]["undelivered"] == 2


def test_sm_away_held_then_handed_or_given_back(sandbox):
    """Rule 10. n2's sm disconnects; n1's sm (whose stub still says n2)
    forwards to it: n2's module holds the stanzas (n1 has them
    acknowledged) and hands them to n2's sm when it binds again, in order.
    Away again past 30 s: they go back to n1's sm as undelivered sm-gone,
    once each, and n2's status counts them."""
    n1, n2 = two_nodes(sandbox)
    sm1, sm2 = n1.sm(), n2.sm()
    alice, bob = "alice@%s/desk" % DOMAIN, "bob@%s/phone" % DOMAIN
    mark = n2.daemon.mark()
    sm2.sock.close()
    n2.wait(r"cluster: sm-n2 went away", since=mark)
    for i in range(3):
        forward(sm1, "n1", "n2", [bob], message(alice, bob, "h%d" % i))
    deadline = time.monotonic() + TIMEOUT
    while True:
        t = n2.json()["tables"]
        q1 = [p for p in n1.json()["peers"] if p["name"] == "n2"][0]["queue"]
        if t["sm_held_now"] == 3 and q1["frames"] == 0:
            break
        assert time.monotonic() < deadline, (t, q1)
        time.sleep(0.2)
    assert t["sm_held"] == 3 and t["sm_dropped"] == 0
    sm2 = n2.sm()
    got = []
    for r in routes(sm2):
        m = r.find("{%s}message/{%s}body" % (CLIENT, CLIENT))
        if m is not None:
            assert r.get(jc("from-node")) == "n1" and r.get(jc("targets")) == bob
            got.append(m.text)
        if len(got) == 3:
            break
    assert got == ["h0", "h1", "h2"]
    assert n2.json()["tables"]["sm_held_now"] == 0
    # Away again, and not back in time: each goes back to n1's sm once.
    mark = n2.daemon.mark()
    sm2.sock.close()
    n2.wait(r"cluster: sm-n2 went away", since=mark)
    for i in range(2):
        forward(sm1, "n1", "n2", [bob], message(alice, bob, "r%d" % i))
    back = []
    for r in routes(sm1, wait=60):
        if r.get(jc("undelivered")) is not None:
            assert r.get(jc("undelivered")) == "sm-gone", ET.tostring(r)
            assert r.get(jc("node")) == "n2" and r.get(jc("targets")) == bob
            assert r.get(jc("from-node")) is None
            back.append(r.find("{%s}message/{%s}body" % (CLIENT, CLIENT)).text)
        if len(back) == 2:
            break
    assert back == ["r0", "r1"]
    no_route(sm1, wait=1.0)
    t = n2.json()["tables"]
    assert (t["sm_held_now"], t["sm_held"], t["sm_returned"], t["sm_dropped"]) == (0, 5, 2, 0)
    assert n1.json()["tables"]["undelivered"] == 2


def test_sync_waits_for_peers_and_unreachable_node(sandbox):
    """n3 is configured but never runs: a <sync/> is answered with reset
    at once and `synced` only once 2 x the heartbeat timeout (6 s) has
    passed since start; a stanza for n3 then comes straight back as
    node-dead."""
    pki = Pki(sandbox)
    cports = {n: sandbox.free_port("127.0.0.%d" % (n + 1)) for n in (1, 2, 3)}
    started = time.monotonic()
    n1 = FwdNode(sandbox, pki, 1, cports).start()
    n2 = FwdNode(sandbox, pki, 2, cports).start()
    n1.wait(r"cluster: peer n2 open")
    sm1 = n1.sm()
    sm1.send("<route xmlns='%s' to='%s' from='sm-n1'><sync xmlns='%s'/></route>"
             % (COMP, DOMAIN, NS))
    remote, ss = stubs(next_route(sm1))
    assert remote.get("reset") == "1"
    remote, ss = stubs(next_route(sm1))
    assert remote.get("synced") == "1" and ss == []
    assert time.monotonic() - started >= 6.0
    bob = "bob@%s/x" % DOMAIN
    forward(sm1, "n1", "n3", [bob], message("alice@%s/a" % DOMAIN, bob, "to-n3"))
    r = next_route(sm1, wait=5)
    assert r.get(jc("undelivered")) == "node-dead" and r.get(jc("node")) == "n3"
    # n2 is open: what goes there is delivered
    sm2 = n2.sm()
    forward(sm1, "n1", "n2", [bob], message("alice@%s/a" % DOMAIN, bob, "to-n2"))
    r = next_route(sm2)
    assert r.find("{%s}message/{%s}body" % (CLIENT, CLIENT)).text == "to-n2"


def test_sm_gone_ends_its_sessions(sandbox):
    """n2's sm disconnects: c2s closes the sessions it held (patch 1), so
    n2's module ends them in the table and n1's sm sees them removed."""
    n1, n2 = two_nodes(sandbox)
    sm1, sm2 = n1.sm(), n2.sm()
    bob = "bob@%s/phone" % DOMAIN
    notify(sm2, "n2", "start", bob, sid="b1")
    assert [s["action"] for s in stubs(next_route(sm1))[1]] == ["add"]
    sm2.sock.close()
    _, ss = stubs(next_route(sm1))
    assert [(s["action"], s["jid"], s["reason"]) for s in ss] == [("remove", bob, "end")]
    st = n2.json()
    assert st["tables"]["local_sessions"] == 0 and st["tables"]["redirect_entries"] == 0
    assert st["router"]["redirect_entries"] == 0
