# SPDX-License-Identifier: GPL-2.0-or-later
"""Membership and failure detection (cluster-mod/cluster_members.c) with
three of our routers on 127.0.0.2-.4 (no sm): a node configured with only
one seed learns the others and links to them; a node killed with
`kill -9` is declared dead by the others within 3 s (LAN profile) and is
alive again once restarted; a node stopped with SIGTERM is left at once;
a SIGSTOPped node is declared dead after the heartbeat timeout and, woken
with SIGCONT, learns it was declared dead and comes back with a new
incarnation.

Each check reads the members as the node's control socket reports them
(`status json`, the same as `jabberd-cluster json`).
"""

import json
import os
import re
import signal
import time

import test_cluster_link as tcl
import test_cluster_status as tcs
from lib import faultproxy

TIMEOUT = 20


def members(node):
    """{name: member} from the node's `status json`."""
    doc = json.loads(tcs.ask_raw(tcs.sock_path(node), b"status json\n"))
    return {m["name"]: m for m in doc["members"]}


def wait_state(node, name, state, timeout=TIMEOUT, interval=0.05):
    """Poll until `node` shows member `name` in `state`; returns the member
    and the time (monotonic) it was first seen so."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = members(node).get(name)
        if last is not None and last["state"] == state:
            return last, time.monotonic()
        time.sleep(interval)
    raise AssertionError("%s: member %s not %s within %s s (last: %r)"
                         % (node.name, name, state, timeout, last))


def wait_all_alive(nodes, timeout=TIMEOUT):
    for a in nodes.values():
        for b in nodes:
            wait_state(a, b, "alive", timeout)


def test_one_seed_is_enough(sandbox):
    """n3 knows only n1; it learns n2 from n1's MEMBERS and links to it
    (through the same certificate checks as a configured peer)."""
    pki = tcl.Pki(sandbox)
    ips = {"n1": "127.0.0.2", "n2": "127.0.0.3", "n3": "127.0.0.4"}
    cport = {n: sandbox.free_port(ip) for n, ip in ips.items()}
    seeds = {"n1": ["n2"], "n2": ["n1"], "n3": ["n1"]}
    nodes = {}
    for n, ip in ips.items():
        nodes[n] = tcl.Node(sandbox, n, ip, pki.node(n), pki.ca,
                            [(s, ips[s], cport[s]) for s in seeds[n]], cport[n]).start()
    wait_all_alive(nodes)
    n3, n2 = nodes["n3"], nodes["n2"]
    n3.wait(r"cluster: member n2 learned from n1 \(127\.0\.0\.3 port %d\)" % cport["n2"])
    n3.wait(r"cluster: link to n2 up \(")
    n3.wait(r"cluster: peer n2 open: protocol version 2")
    doc = json.loads(tcs.ask_raw(tcs.sock_path(n3), b"status json\n"))
    peers = {p["name"]: p for p in doc["peers"]}
    assert peers["n2"]["open"] is True, peers
    assert peers["n2"]["ip"] == "127.0.0.3", peers
    ms = members(n3)
    assert ms["n2"]["ip"] == "127.0.0.3" and ms["n2"]["port"] == cport["n2"], ms
    assert ms["n3"]["self"] is True and ms["n2"]["self"] is False, ms
    # n2 learned n3 too (it may also simply have been dialled by it).
    assert members(n2)["n3"]["state"] == "alive"


def test_kill9_dead_within_3s_and_back_after_restart(sandbox):
    pki = tcl.Pki(sandbox)
    nodes = tcl.three_nodes(sandbox, pki)
    wait_all_alive(nodes)
    time.sleep(1.5)             # heartbeats and periodic views flow
    n1, n2, n3 = nodes["n1"], nodes["n2"], nodes["n3"]
    old_inc = members(n1)["n2"]["incarnation"]
    marks = {n: nodes[n].daemon.mark() for n in ("n1", "n3")}
    t0 = time.monotonic()
    n2.kill()
    elapsed = {}
    for name in ("n1", "n3"):
        _, seen = wait_state(nodes[name], "n2", "dead", timeout=10)
        elapsed[name] = seen - t0
    print("kill -9 -> declared dead: n1 %.3f s, n3 %.3f s" % (elapsed["n1"], elapsed["n3"]))
    assert max(elapsed.values()) <= 3.0, elapsed
    for name in ("n1", "n3"):
        nodes[name].wait(r"cluster: member n2 \(incarnation \d+\) dead, was suspect",
                         since=marks[name])
    # The metrics and the text status say the same.
    samples = tcs.parse_prometheus(tcs.ask_raw(tcs.sock_path(n1), b"metrics\n"))
    state = {st: samples[("jabberd_cluster_member_state",
                          (("node", "n1"), ("member", "n2"), ("state", st)))]
             for st in ("alive", "suspect", "dead", "left")}
    assert state == {"alive": 0, "suspect": 0, "dead": 1, "left": 0}, state
    since = samples[("jabberd_cluster_member_state_since_seconds",
                     (("node", "n1"), ("member", "n2")))]
    assert abs(since - time.time()) < 10, since
    text = tcs.ask_raw(tcs.sock_path(n1), b"status\n")
    assert re.search(r"^member n2\n  state        dead since \S+Z \(\d+ s\)\n", text,
                     re.M), text
    # The others stay alive to each other.
    assert members(n1)["n3"]["state"] == "alive"
    assert members(n3)["n1"]["state"] == "alive"
    # Restarted, it is a new incarnation, alive to both, and it sees them.
    n2.start()
    for name in ("n1", "n3"):
        m, _ = wait_state(nodes[name], "n2", "alive")
        assert m["incarnation"] > old_inc, m
    wait_state(n2, "n1", "alive")
    wait_state(n2, "n3", "alive")
    time.sleep(2)
    text = n1.text()
    # One line when it was declared dead, one when it rejoined.
    assert len(re.findall(r"member n2 \(incarnation \d+\) dead", text)) == 1, text
    assert len(re.findall(r"member n2 \(incarnation \d+\) alive, was \w+: rejoined$",
                          text, re.M)) == 1, text
    # The status counts it: declared dead once, merged back once.
    ev = json.loads(tcs.ask_raw(tcs.sock_path(n1), b"status json\n"))["membership"]
    assert (ev["declared_dead"], ev["merges"], ev["dead"], ev["held"]) == (1, 1, [], []), ev


def test_sigterm_left_at_once(sandbox):
    pki = tcl.Pki(sandbox)
    nodes = tcl.three_nodes(sandbox, pki)
    wait_all_alive(nodes)
    t0 = time.monotonic()
    nodes["n2"].daemon.stop()
    for name in ("n1", "n3"):
        _, seen = wait_state(nodes[name], "n2", "left", timeout=5)
        assert seen - t0 < 1.5, seen - t0
        nodes[name].wait(r"cluster: member n2 \(incarnation \d+\) left, was alive")
    # Never judged dead afterwards: it left.
    time.sleep(3.5)
    for name in ("n1", "n3"):
        assert members(nodes[name])["n2"]["state"] == "left"
        assert not re.search(r"member n2 \(incarnation \d+\) dead", nodes[name].text())


def test_sigstop_dead_then_new_incarnation(sandbox):
    pki = tcl.Pki(sandbox)
    nodes = tcl.three_nodes(sandbox, pki)
    wait_all_alive(nodes)
    time.sleep(1.5)
    n1, n2, n3 = nodes["n1"], nodes["n2"], nodes["n3"]
    old_inc = members(n1)["n2"]["incarnation"]
    mark2 = n2.daemon.mark()
    t0 = time.monotonic()
    os.kill(n2.daemon.pid, signal.SIGSTOP)
    try:
        elapsed = {}
        for name in ("n1", "n3"):
            _, seen = wait_state(nodes[name], "n2", "dead", timeout=10)
            elapsed[name] = seen - t0
    finally:
        os.kill(n2.daemon.pid, signal.SIGCONT)
    print("SIGSTOP -> declared dead: n1 %.3f s, n3 %.3f s" % (elapsed["n1"], elapsed["n3"]))
    # Silent 2 s: suspect; 1 s more with nobody seeing it: dead.
    assert 2.5 <= min(elapsed.values()) and max(elapsed.values()) <= 4.0, elapsed
    # Woken, it sees it did not run for longer than the suspect silence
    # and comes back as a new incarnation before it takes anything its
    # links hold (the others may have given up on it: rule 7), alive to
    # both.
    n2.wait(r"cluster: this node did not run for \d+ ms: its peers may have declared "
            r"it dead and given up on what they sent it; taking incarnation %d"
            % (old_inc + 1), since=mark2)
    for name in ("n1", "n3"):
        m, _ = wait_state(nodes[name], "n2", "alive")
        assert m["incarnation"] > old_inc, m
    # It did not declare the others dead meanwhile.
    wait_state(n2, "n1", "alive")
    wait_state(n2, "n3", "alive")
    assert not re.search(r"member n[13] \(incarnation \d+\) dead", n2.text())
    # It counts its own pause; n1, which declared it dead, a merge.
    ev = json.loads(tcs.ask_raw(tcs.sock_path(n2), b"status json\n"))["membership"]
    assert ev["pauses"] >= 1, ev
    ev = json.loads(tcs.ask_raw(tcs.sock_path(n1), b"status json\n"))["membership"]
    assert ev["merges"] >= 1, ev


# A TCP forwarder the test can cut (tests/lib/faultproxy.py).
CutProxy = faultproxy.FaultProxy


def test_one_cut_link_is_not_a_dead_node(sandbox):
    """n1 and n2 reach each other only through proxies the test owns (in
    both directions: each dials the other); n3 reaches both directly. The
    proxies cut the n1-n2 link: n1 and n2 suspect each other but n3 still
    sees both, so neither is declared dead; healed, they link again."""
    pki = tcl.Pki(sandbox)
    ips = {"n1": "127.0.0.2", "n2": "127.0.0.3", "n3": "127.0.0.4"}
    cport = {n: sandbox.free_port(ip) for n, ip in ips.items()}
    p12 = ("127.0.0.5", sandbox.free_port("127.0.0.5"))      # n1 -> n2
    p21 = ("127.0.0.6", sandbox.free_port("127.0.0.6"))      # n2 -> n1
    proxies = [CutProxy(p12[0], p12[1], (ips["n2"], cport["n2"])),
               CutProxy(p21[0], p21[1], (ips["n1"], cport["n1"]))]
    try:
        peers = {
            "n1": [("n2",) + p12, ("n3", ips["n3"], cport["n3"])],
            "n2": [("n1",) + p21, ("n3", ips["n3"], cport["n3"])],
            "n3": [("n1", ips["n1"], cport["n1"]), ("n2", ips["n2"], cport["n2"])],
        }
        nodes = {n: tcl.Node(sandbox, n, ip, pki.node(n), pki.ca, peers[n],
                             cport[n]).start() for n, ip in ips.items()}
        wait_all_alive(nodes)
        n1, n2 = nodes["n1"], nodes["n2"]
        time.sleep(1.5)
        # The n1-n2 link goes through a proxy, whichever dial was kept
        # (the proxy's own address is the far end either way).
        doc = json.loads(tcs.ask_raw(tcs.sock_path(n1), b"status json\n"))
        p = [p for p in doc["peers"] if p["name"] == "n2"][0]
        assert p["open"] and p["remote"].split(":")[0] in (p12[0], p21[0]), p
        marks = {n: nodes[n].daemon.mark() for n in nodes}
        for px in proxies:
            px.cut()
        n1.wait(r"cluster: link to n2 down", since=marks["n1"])
        wait_state(n1, "n2", "suspect", timeout=5)
        wait_state(n2, "n1", "suspect", timeout=5)
        # Well past the 3 s bound: still suspect, never dead, anywhere.
        time.sleep(6)
        for a, b in (("n1", "n2"), ("n2", "n1")):
            assert members(nodes[a])[b]["state"] == "suspect", members(nodes[a])
        for n, node in nodes.items():
            assert "declared dead" not in node.text(), (n, node.text())
        assert members(nodes["n3"])["n1"]["state"] == "alive"
        assert members(nodes["n3"])["n2"]["state"] == "alive"
        # Healed: the link comes back (redial with backoff, at most 5 s).
        for px in proxies:
            px.heal()
        wait_state(n1, "n2", "alive", timeout=15)
        wait_state(n2, "n1", "alive", timeout=15)
        assert "says this node is dead" not in n1.text() + n2.text()
    finally:
        for px in proxies:
            px.close()


def test_wan_profile_kill9_dead_after_one_wan_heartbeat(sandbox):
    """<profile>wan</profile>: the same rules on WAN timing (PING every
    5 s): a killed node is suspect at once and dead 5 s later, well
    within the 15 s bound, and not sooner."""
    pki = tcl.Pki(sandbox)
    names = [("n1", "127.0.0.2"), ("n2", "127.0.0.3"), ("n3", "127.0.0.4")]
    cports = {n: sandbox.free_port(ip) for n, ip in names}
    nodes = {}
    for n, ip in names:
        peers = [(m, mip, cports[m]) for m, mip in names if m != n]
        node = tcl.Node(sandbox, n, ip, pki.node(n), pki.ca, peers, cports[n])
        node.config.write_text(node.config.read_text().replace(
            "<profile>lan</profile>", "<profile>wan</profile>"))
        nodes[n] = node.start()
    wait_all_alive(nodes)
    assert json.loads(tcs.ask_raw(tcs.sock_path(nodes["n1"]),
                                  b"status json\n"))["profile"] == "wan"
    t0 = time.monotonic()
    nodes["n2"].kill()
    _, suspect_at = wait_state(nodes["n1"], "n2", "suspect", timeout=5)
    _, dead_at = wait_state(nodes["n1"], "n2", "dead", timeout=20)
    print("wan: kill -9 -> suspect %.3f s, dead %.3f s" % (suspect_at - t0, dead_at - t0))
    assert suspect_at - t0 < 1.0
    assert 4.5 <= dead_at - t0 <= 15.0, dead_at - t0


def test_dead_node_sessions_dropped(sandbox, xmpp):
    """Two whole nodes (router with <cluster>, our sm with <router_id>, our
    c2s): alice logs in on node 1 and node 2's session table holds her
    session; node 1 is killed with kill -9 (all three daemons): node 2
    declares it dead within 3 s and drops its sessions (reason node-dead)
    through the one drop path."""
    import test_cluster_state as tcst
    pki = tcl.Pki(sandbox)
    cports = {1: sandbox.free_port("127.0.0.2"), 2: sandbox.free_port("127.0.0.3")}
    n1 = tcst.cluster_node(sandbox, pki, 1, cports)
    n2 = tcst.cluster_node(sandbox, pki, 2, cports)
    n1.start()
    n2.start()
    n2.daemons["router"].wait_log(r"cluster: peer n1 open", timeout=TIMEOUT)
    alice = xmpp.client("alice@localhost", "alice-pw-1", n1.c2s_address)
    alice.register()
    alice.login()
    jid = re.escape(str(alice.full_jid))
    tcst.wait_status(n2, r"session %s on n1, priority 0, available" % jid)
    mark = n2.daemons["router"].mark()
    # The router first: an sm that goes away while its router lives has
    # its sessions ended by the module (i13-fwd), not dropped as node-dead.
    for d in ("router", "sm", "c2s"):
        daemon = n1.daemons[d]
        if d == "router":
            t0 = time.monotonic()
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.proc.wait(10)
        daemon.stopped = True           # killed on purpose
    m = n2.daemons["router"].wait_log(
        r"cluster: state: dropping the (\d+) sessions of n1 \(node-dead\)", since=mark,
        timeout=10)
    elapsed = time.monotonic() - t0
    assert m.group(1) == "1", m.group(0)
    assert elapsed <= 3.0, elapsed
    st = tcst.status(n2)
    assert not re.search(r"session %s on n1" % jid, st), st
    assert re.search(r"node n1: 0 sessions", st), st
