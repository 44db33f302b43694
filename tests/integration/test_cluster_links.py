# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 14, links that drop or stall, as users and operators notice it,
on the proxied 3-node cluster (every link through a FaultProxy of the
test's, tests/lib/faultproxy.py), with a small per-peer queue bound
(<queue frames='QUEUE'/>) so that a bounded flood reaches it:

- a peer that stops reading (stall_link): the sender's queue for it
  stays at the bound, its router's memory does not grow past it, what is
  past the bound goes back to the sender's sm (status: undelivered
  `queue-full`) and is stored offline; after the heal every numbered
  message has reached the recipient exactly once, live or at its next
  login;
- a receiver whose sm stops (SIGSTOP): its router stops reading its
  peers instead of buffering for the sm without bound, the sender's
  queue reaches its bound and stores the rest offline; each message
  reaches the user once;
- a link cut, or cut one way, while numbered messages flow: after the
  heal every message arrives once and in the order sent;
- a delayed link (300 ms with jitter): messages arrive once and in order;
  a delay past the heartbeat timeout makes the link drop and come back,
  without loss;
- packet loss on a link (10 % and 30 %, as TCP shows it: late chunks, in
  order): messages arrive once and in order; 10 % does not drop the link.
"""

import asyncio
import os
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from lib import cluster as cluster_mod
from lib import xmpp as xmpp_mod

QUEUE = 200
TIMEOUT = 20


@pytest.fixture(scope="module")
def links_module(request, tmp_path_factory):
    # Under ASan, a small quarantine, so that freed memory is reused and
    # RSS means what the daemons hold (the default keeps 256 MB of freed
    # blocks); the sandbox's other sanitizer options stay.
    old = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = "quarantine_size_mb=8:" + (
        old or "detect_leaks=1:abort_on_error=0:halt_on_error=1")
    try:
        yield from cluster_mod._module_fixture(request, tmp_path_factory, True,
                                               "<queue frames='%d'/>" % QUEUE)
    finally:
        if old is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = old


@pytest.fixture
def c3(links_module):
    yield from cluster_mod._each_test(links_module)


class Counter(xmpp_mod.Client):
    """A client that keeps the bodies of the messages it receives, in
    order, and the error messages."""

    def __init__(self, *args):
        super().__init__(*args)
        self.bodies = []
        self.error_bodies = []

    def _stream(self):
        x = super()._stream()

        def got(m):
            (self.error_bodies if m["type"] == "error" else self.bodies).append(m["body"])
        x.add_event_handler("message", got)
        return x


def online(c, xmpp, n, jid, pw, register=False):
    p = Counter(xmpp, jid, pw, c[n].c2s_address, "none", None)
    xmpp.clients.append(p)
    if register:
        p.register()
    p.login(presence=False)
    p.xmpp.send_presence()
    xmpp.run(p.xmpp.get_roster(timeout=TIMEOUT), TIMEOUT, "%s: roster" % p.jid)
    for node in c.nodes:
        node.wait_session(p.full_jid, want=("n%d" % n, 0, True))
    return p


def pump(xmpp, seconds):
    """Let the client loop run (stanzas go out and come in)."""
    xmpp.run(asyncio.sleep(seconds), seconds + 5, "client loop")


def wait_until(xmpp, cond, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail("%s: not within %.0f s" % (what, timeout), pytrace=False)
        pump(xmpp, 0.2)


def peer(node, name):
    for p in node.status_json()["peers"]:
        if p["name"] == name:
            return p
    raise AssertionError("%s has no peer %s" % (node.name, name))


def status_text(node):
    proc = subprocess.run([str(cluster_mod.built("jabberd-cluster")), "-s", str(node.control),
                           "status"], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def rss_kib(node):
    pid = node.daemons["router"].pid
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))


def numbered(tag, n):
    return ["%s %04d" % (tag, i) for i in range(n)]


def tagged(bodies, tag):
    """The numbers ("TAG NNNN", padding left out) of the `tag` messages."""
    return [" ".join(x.split()[:2]) for x in bodies if x.startswith(tag + " ")]


def at_next_login(c, xmpp, p, pw, tag, stored):
    """p logs out and in again on n3; the `tag` messages it gets then
    (`stored` of them are awaited)."""
    jid = str(p.jid)
    p.disconnect()
    again = online(c, xmpp, 3, jid, pw)
    wait_until(xmpp, lambda: len(tagged(again.bodies, tag)) >= stored,
               "%s's next login (n3) getting the %d stored messages" % (jid, stored),
               timeout=60)
    pump(xmpp, 1.5)
    return tagged(again.bodies, tag)


def assert_each_once(live, offline, sent):
    """Every message sent reached the user once, live or at the next
    login; the live ones in order."""
    everything = live + offline
    assert sorted(everything) == sorted(sent), (
        "live %d + offline %d: missing %s, duplicated %s"
        % (len(live), len(offline), sorted(set(sent) - set(everything))[:5],
           sorted({x for x in everything if everything.count(x) > 1})[:5]))
    assert live == sorted(live), "the live ones came out of order"


def assert_once_in_order(got, sent, who):
    mine = [b for b in got if b in set(sent)]
    missing = sorted(set(sent) - set(mine))
    dup = sorted({b for b in mine if mine.count(b) > 1})
    assert not missing, "%s never got %d of the messages: %s..." % (who, len(missing),
                                                                    missing[:5])
    assert not dup, "%s got these more than once: %s" % (who, dup[:5])
    assert mine == sent, "%s got them out of order: %s" % (
        who, next("%r after %r" % (b, a) for a, b in zip(mine, mine[1:]) if a > b))


def test_a_stalled_peer_keeps_its_neighbours_bounded_and_nothing_is_lost(c3, xmpp):
    (a, apw), (b, bpw) = c3.user("alice"), c3.user("bob")
    alice = online(c3, xmpp, 1, a, apw, register=True)
    bob = online(c3, xmpp, 2, b, bpw, register=True)
    st = peer(c3[1], "n2")
    assert st["queue"]["max_frames"] == QUEUE, st["queue"]
    full_before = st["undelivered"]["queue-full"]
    rss_before = rss_kib(c3[1])
    flood = numbered("stalled", 3 * QUEUE)
    c3.mesh.stall_link(1, 2)            # n2 stops reading what n1 sends
    pump(xmpp, 0.5)
    deepest = 0
    for body in flood:
        alice.send_message(bob.full_jid, body)
    # The queue for n2 fills up to the bound and stays there; the rest goes
    # back to n1's sm as queue-full (stored offline for bob).
    deadline = time.monotonic() + TIMEOUT
    while True:
        pump(xmpp, 0.3)
        st = peer(c3[1], "n2")
        deepest = max(deepest, st["queue"]["frames"])
        assert st["queue"]["frames"] <= QUEUE, st["queue"]
        if st["undelivered"]["queue-full"] - full_before >= len(flood) - QUEUE:
            break
        if time.monotonic() > deadline:
            pytest.fail("n1's queue for the stalled n2: %r, undelivered %r (wanted %d "
                        "queue-full)" % (st["queue"], st["undelivered"],
                                         len(flood) - QUEUE), pytrace=False)
    full = st["undelivered"]["queue-full"] - full_before
    assert deepest == QUEUE, "the queue for n2 never reached its bound (%d)" % deepest
    assert st["queue"]["oldest_ms"] > 0
    # `jabberd-cluster status` says it in text as well.
    text = status_text(c3[1])
    block = text[text.index("peer n2\n"):]
    assert re.search(r"queue        %d unacked, \d+ bytes \(bound %d, " % (QUEUE, QUEUE),
                     block), block
    assert re.search(r"undelivered  node-dead \d+, queue-full %d," % (
        full_before + full), block), block
    grown = rss_kib(c3[1]) - rss_before
    assert grown < 16 * 1024, "n1's router grew by %d KiB for a stalled peer" % grown
    # n1's sm stores them as it takes them back.
    wait_until(xmpp, lambda: c3[1].node.sm_count("queue", b) >= full,
               "the %d messages back as queue-full stored offline for bob" % full)
    pump(xmpp, 0.5)
    stored = c3[1].node.sm_count("queue", b)
    assert stored == full, ("%d messages went back as queue-full but %d are stored "
                            "offline for bob" % (full, stored))
    assert not alice.error_bodies, "alice got errors: %s" % alice.error_bodies[:3]
    # The heal: the queued ones reach bob live, once, in order.
    c3.mesh.heal()
    c3.wait_linked()
    live_want = len(flood) - full
    wait_until(xmpp, lambda: len(tagged(bob.bodies, "stalled")) >= live_want,
               "bob (n2) getting the %d queued messages after the heal" % live_want,
               timeout=30)
    wait_until(xmpp, lambda: peer(c3[1], "n2")["queue"]["frames"] == 0,
               "n1's queue for n2 emptied")
    pump(xmpp, 1.5)
    live = tagged(bob.bodies, "stalled")
    assert len(live) == live_want, "bob got %d live, wanted %d" % (len(live), live_want)
    # The rest at his next login, once.
    assert_each_once(live, at_next_login(c3, xmpp, bob, bpw, "stalled", full), flood)
    print("figures: stall, n1 router RSS growth %d KiB for %d messages, %d queue-full"
          % (grown, len(flood), full))


@pytest.mark.parametrize("fault", ["cut", "one_way", "acks_lost"])
def test_order_and_once_across_a_link_that_drops(c3, xmpp, fault):
    """cut: the link between n1 and n2 is down; one_way: what n1 sends
    vanishes; acks_lost: what n2 sends back vanishes (the messages reach
    bob, n2's ACKs do not reach n1, which sends them again once healed)."""
    (a, apw), (b, bpw) = c3.user("alice"), c3.user("bob")
    alice = online(c3, xmpp, 1, a, apw, register=True)
    bob = online(c3, xmpp, 2, b, bpw, register=True)
    ups = peer(c3[1], "n2")["ups"]
    sent = numbered(fault, 120)
    for body in sent[:40]:
        alice.send_message(bob.full_jid, body)
        pump(xmpp, 0.01)
    if fault == "cut":
        c3.mesh.cut_link(1, 2)
    elif fault == "one_way":
        c3.mesh.one_way(1, 2)
    else:
        c3.mesh.one_way(2, 1)
    for body in sent[40:80]:
        alice.send_message(bob.full_jid, body)
        pump(xmpp, 0.05)
    pump(xmpp, 4)                       # past the heartbeat timeout: the link drops
    for body in sent[80:]:
        alice.send_message(bob.full_jid, body)
        pump(xmpp, 0.01)
    c3.mesh.heal()
    wait_until(xmpp, lambda: len(tagged(bob.bodies, fault)) >= len(sent),
               "bob (n2) getting all %d messages after the %s healed" % (len(sent), fault),
               timeout=30)
    pump(xmpp, 1.5)
    assert_once_in_order(tagged(bob.bodies, sent[0].split()[0]), sent, "bob (n2)")
    assert c3[1].node.sm_count("queue", b) == 0, "some were stored offline"
    c3.wait_linked()
    assert peer(c3[1], "n2")["ups"] > ups, "the link to n2 never dropped"
    assert not alice.error_bodies


def test_delay_with_jitter_keeps_order_and_once(c3, xmpp):
    (a, apw), (b, bpw) = c3.user("alice"), c3.user("bob")
    alice = online(c3, xmpp, 1, a, apw, register=True)
    bob = online(c3, xmpp, 2, b, bpw, register=True)
    sent = numbered("delayed", 100)
    c3.mesh.delay_link(1, 2, 0.3, jitter=0.2)
    for body in sent:
        alice.send_message(bob.full_jid, body)
        pump(xmpp, 0.02)
    wait_until(xmpp, lambda: len(tagged(bob.bodies, "delayed")) >= len(sent),
               "bob (n2) getting all messages over a 300 ms link")
    pump(xmpp, 1.5)
    assert_once_in_order(tagged(bob.bodies, sent[0].split()[0]), sent, "bob (n2)")
    assert peer(c3[1], "n2")["open"], "a 300 ms delay must not drop the link"


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_packet_loss_keeps_order_and_once(c3, xmpp, rate):
    """10 % or 30 % of the chunks on the n1-n2 link lost (each arrives one
    or more retransmission timeouts late, in order: loss as TCP shows
    it): every message reaches bob once, in order, live. At 10 % the link
    stays up; at 30 % a chunk lost 4 times in a row (3 s of silence) may
    drop it, and it is made again without loss."""
    (a, apw), (b, bpw) = c3.user("alice"), c3.user("bob")
    alice = online(c3, xmpp, 1, a, apw, register=True)
    bob = online(c3, xmpp, 2, b, bpw, register=True)
    ups = peer(c3[1], "n2")["ups"]
    sent = numbered("lossy", 100)
    c3.mesh.lossy_link(1, 2, rate)
    for body in sent:
        alice.send_message(bob.full_jid, body)
        pump(xmpp, 0.02)
    wait_until(xmpp, lambda: len(tagged(bob.bodies, "lossy")) >= len(sent),
               "bob (n2) getting all messages over a link losing %d %% of its packets"
               % round(rate * 100),
               timeout=30)
    pump(xmpp, 1.5)
    lost = sum(p.chunks_lost["up"] + p.chunks_lost["down"] for p in
               (c3.mesh.proxies[(1, 2)], c3.mesh.proxies[(2, 1)]))
    c3.mesh.heal()
    assert lost > 0, "the proxies lost nothing: the test tested nothing"
    assert_once_in_order(tagged(bob.bodies, sent[0].split()[0]), sent, "bob (n2)")
    assert c3[1].node.sm_count("queue", b) == 0, "some were stored offline"
    if rate <= 0.1:
        assert peer(c3[1], "n2")["ups"] == ups, "10 % loss must not drop the link"
    assert not alice.error_bodies


def test_delay_past_the_heartbeat_timeout_drops_the_link_without_loss(c3, xmpp):
    (a, apw), (b, bpw) = c3.user("alice"), c3.user("bob")
    alice = online(c3, xmpp, 1, a, apw, register=True)
    bob = online(c3, xmpp, 2, b, bpw, register=True)
    ups = peer(c3[1], "n2")["ups"]
    sent = numbered("slow", 60)
    c3.mesh.delay_link(1, 2, 4.0)       # LAN heartbeat timeout: 3 s
    for body in sent[:30]:
        alice.send_message(bob.full_jid, body)
        pump(xmpp, 0.05)
    pump(xmpp, 5)
    for body in sent[30:]:
        alice.send_message(bob.full_jid, body)
        pump(xmpp, 0.05)
    pump(xmpp, 1)
    c3.mesh.heal()
    c3.wait_linked(timeout=30)
    wait_until(xmpp, lambda: len(tagged(bob.bodies, "slow"))
               >= len(sent) - c3[1].node.sm_count("queue", b),
               "bob (n2) getting the messages after the slow link healed", timeout=30)
    pump(xmpp, 1.5)
    live = tagged(bob.bodies, "slow")
    assert peer(c3[1], "n2")["ups"] > ups, "the link never dropped under a 4 s delay"
    stored = c3[1].node.sm_count("queue", b)
    # Stored offline (if n2 was taken for dead meanwhile): at the next login.
    offline = at_next_login(c3, xmpp, bob, bpw, "slow", stored) if stored else []
    assert_each_once(live, offline, sent)
    assert not alice.error_bodies


def through_the_sm(c, xmpp, p, n):
    """p (on node n) sets a privacy list: messages from other nodes for it
    then pass its sm (no direct delivery, docs/cluster-protocol.md rule
    16), as every message did before direct delivery."""
    iq = p.xmpp.make_iq_set()
    iq.append(ET.fromstring("<query xmlns='jabber:iq:privacy'><list name='x'><item "
                            "type='jid' value='nobody@example.net' action='deny' "
                            "order='1'/></list></query>"))
    xmpp.run(iq.send(timeout=TIMEOUT), TIMEOUT, "%s sets a privacy list" % p.jid)
    wait_until(xmpp, lambda: c[n].status_json()["tables"]["direct_sessions"] == 0,
               "n%d's module told that %s's messages pass its sm" % (n, p.jid))


def test_a_stopped_sm_holds_its_routers_input_and_the_sender_stores_offline(c3, xmpp):
    """n2's sm stops (SIGSTOP) while alice on n1 floods bob on n2: n2's
    router stops reading its peers once the sm's backlog passes the
    router's congestion mark, instead of buffering without bound for it;
    n1's queue for n2 reaches its bound and the rest is stored offline.
    Once the sm runs again, bob gets the queued ones live and the rest at
    his next login: each once. (Bob has a privacy list, so his messages
    pass his sm: with direct delivery they would reach his c2s with the
    sm stopped.)"""
    (a, apw), (b, bpw) = c3.user("alice"), c3.user("bob")
    alice = online(c3, xmpp, 1, a, apw, register=True)
    bob = online(c3, xmpp, 2, b, bpw, register=True)
    through_the_sm(c3, xmpp, bob, 2)
    sm = c3[2].daemons["sm"]
    full_before = peer(c3[1], "n2")["undelivered"]["queue-full"]
    holds_before = c3[2].status_json()["tables"]["input_holds"]
    rss_before = rss_kib(c3[2])
    pad = "x" * 4000
    flood = numbered("sm-stopped", 2000)
    sm.proc.send_signal(signal.SIGSTOP)
    try:
        for i, body in enumerate(flood):
            alice.send_message(bob.full_jid, body + " " + pad)
            if i % 50 == 49:
                pump(xmpp, 0.02)
        deadline = time.monotonic() + TIMEOUT
        while peer(c3[1], "n2")["undelivered"]["queue-full"] == full_before:
            if time.monotonic() > deadline:
                pytest.fail("n1's queue for n2 (whose sm is stopped) never filled: %r; "
                            "n2 held its input %d times" % (
                                peer(c3[1], "n2")["queue"],
                                c3[2].status_json()["tables"]["input_holds"] - holds_before),
                            pytrace=False)
            pump(xmpp, 0.3)
        pump(xmpp, 4)                   # held past the heartbeat timeout (3 s)
        tables = c3[2].status_json()["tables"]
        assert tables["input_holds"] > holds_before and tables["input_held"], tables
        assert peer(c3[1], "n2")["queue"]["frames"] <= QUEUE
        grown = rss_kib(c3[2]) - rss_before
        assert grown < 16 * 1024, "n2's router grew by %d KiB for its stopped sm" % grown
        assert peer(c3[1], "n2")["open"], "n1 took n2's link down while n2 held its input"
        # Holding its input, n2 is still alive to the others, and they to it.
        for n in (1, 2, 3):
            states = {m["name"]: m["state"] for m in c3[n].status_json()["members"]}
            assert set(states.values()) == {"alive"}, (n, states)
    finally:
        sm.proc.send_signal(signal.SIGCONT)
    full = peer(c3[1], "n2")["undelivered"]["queue-full"] - full_before
    wait_until(xmpp, lambda: len(tagged(bob.bodies, "sm-stopped")) >= len(flood) - full,
               "bob (n2) getting the held messages once his sm runs again", timeout=60)
    pump(xmpp, 1.5)
    live = tagged(bob.bodies, "sm-stopped")
    assert not c3[2].status_json()["tables"]["input_held"]
    assert_each_once(live, at_next_login(c3, xmpp, bob, bpw, "sm-stopped", full), flood)
    print("figures: stopped sm, n2 router RSS growth %d KiB for %d messages of 4 KB, "
          "%d queue-full on n1" % (grown, len(flood), full))


def log_since(node, mark):
    with open(node.log("router"), "rb") as f:
        f.seek(mark)
        return f.read().decode(errors="replace")


def wait_log_text(node, mark, pattern, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not re.search(pattern, log_since(node, mark)):
        if time.monotonic() > deadline:
            pytest.fail("%s: not within %.0f s; %s's router log since: %s"
                        % (what, timeout, node.name, log_since(node, mark)), pytrace=False)
        time.sleep(0.05)


def test_both_nodes_dialling_at_once_open_the_link_once(c3):
    """n1 and n2 dial each other at once and n2's dial is up first at
    n1, while n1's own (the one the pair keeps: the smaller name's) is
    still in its handshake, held there by the proxy. The link opens
    once (HELLO, STATE_REQUEST, the state and stanzas it carries), on
    n1's dial, at both ends: n2's waits for it and is closed. Before,
    n2's was opened first and then replaced by n1's, so everything that
    starts on an open link (a snapshot of 100,000 sessions, say) started
    twice."""
    n1, n2 = c3[1], c3[2]
    p12, p21 = c3.mesh.proxies[(1, 2)], c3.mesh.proxies[(2, 1)]
    c3.wait_linked()
    m1 = os.path.getsize(n1.log("router"))
    m2 = os.path.getsize(n2.log("router"))
    accepted = p12.accepted
    p12.cut()                           # both links drop; dials refused
    p21.cut()
    wait_log_text(n1, m1, r"link to n2 down", "n1 seeing its link to n2 drop")
    wait_log_text(n2, m2, r"link to n1 down", "n2 seeing its link to n1 drop")
    p12.heal()
    p12.stall("down")                   # n1's dial: n2's TLS answer held
    deadline = time.monotonic() + TIMEOUT
    while p12.accepted == accepted:
        assert time.monotonic() < deadline, "n1 never dialled n2 again"
        time.sleep(0.02)
    time.sleep(0.2)                     # its ClientHello is at n2
    p21.heal()                          # n2's next dial goes through
    # n2's dial is authenticated at n1 (it waits, or, before, it opens).
    wait_log_text(n1, m1, r"waits for our own dial|peer n2 open",
                  "n2's dial reaching n1")
    p12.heal()                          # n1's dial completes now
    c3.wait_linked()
    time.sleep(1.5)                     # past any wait, any replacement
    c3.wait_linked()
    t1, t2 = log_since(n1, m1), log_since(n2, m2)
    assert len(re.findall(r"cluster: peer n2 open", t1)) == 1, t1
    assert len(re.findall(r"cluster: peer n1 open", t2)) == 1, t2
    # n1 took one link, never replacing it: its own dial (n2 had its own
    # up, unopened, until n1's replaced it there), or, had its dial not
    # been up within the wait's bound (a loaded machine), n2's; both
    # ends kept the same connection.
    assert "replacing" not in t1, t1
    kept1 = re.findall(r"link to n2 up \((\w+)", t1)
    kept2 = re.findall(r"link to n1 up \((\w+)", t2)
    assert len(kept1) == 1, t1
    assert {kept1[0], kept2[-1]} == {"dialled", "accepted"}, (t1, t2)
    assert peer(n1, "n2")["open"] and peer(n2, "n1")["open"]
