# SPDX-License-Identifier: GPL-2.0-or-later
"""The cluster module's counters in the router's own report: with
<cluster> loaded, `jabberd-status` on the router's status socket (the one
`jabberd status` asks) shows the peers (open or not), the members by
state, the tables and the refusals next to the router's counters, as one
report; the Prometheus text holds each family once (the router's
jabberd_router_* are not repeated by the module). Two of our routers
linked on 127.0.0.2 and 127.0.0.3 (test_cluster_link.Node)."""

import json
import subprocess

from lib import paths
from test_cluster_status import parse_prometheus
from test_status_command import status_binary
import test_cluster_link as tcl


def ask(node, mode):
    # The default socket: beside the pid file, named after it.
    sock = node.sb.path("router-%s-status.sock" % node.name)
    r = subprocess.run([str(status_binary()), "-s", str(sock), mode], capture_output=True,
                       text=True, timeout=paths.scaled(20))
    assert r.returncode == 0, r.stderr
    return r.stdout


def samples(node):
    """The router's JSON report as {(family, labels): value}."""
    doc = json.loads(ask(node, "json"))
    assert doc["daemon"] == "router"
    out = {}
    for name, fam in doc["metrics"].items():
        for s in fam["samples"]:
            out[(name, tuple(sorted(s["labels"].items())))] = s["value"]
    return out


def two_nodes(sandbox):
    pki = tcl.Pki(sandbox)
    names = [("n1", "127.0.0.2"), ("n2", "127.0.0.3")]
    cports = {n: sandbox.free_port(ip) for n, ip in names}
    nodes = {}
    for n, ip in names:
        peers = [(m, mip, cports[m]) for m, mip in names if m != n]
        nodes[n] = tcl.Node(sandbox, n, ip, pki.node(n), pki.ca, peers, cports[n])
    for n in nodes.values():
        n.start()
    for a, b in (("n1", "n2"), ("n2", "n1")):
        nodes[a].wait(r"cluster: peer %s open: protocol version 2" % b)
    return nodes


def test_router_status_shows_the_cluster(sandbox):
    nodes = two_nodes(sandbox)
    n1 = nodes["n1"]
    s = samples(n1)
    peer = (("node", "n1"), ("peer", "n2"))
    assert s[("jabberd_cluster_peer_up", peer)] == 1, s
    assert s[("jabberd_cluster_peer_link_ups_total", peer)] >= 1, s
    assert s[("jabberd_cluster_peer_queue_frames", peer)] == 0, s
    alive = (("member", "n2"), ("node", "n1"), ("state", "alive"))
    assert s[("jabberd_cluster_member_state", alive)] == 1, s
    assert ("jabberd_cluster_remote_sessions", (("node", "n1"),)) in s, s
    assert any(k[0] == "jabberd_cluster_refusals_total" for k in s), s
    # The router's own counters are there, once, without the module's
    # node label: one report, not two glued together.
    assert ("jabberd_router_routed_total", ()) in s, s
    assert not any(k[0].startswith("jabberd_router_") and dict(k[1]).get("node")
                   for k in s), s
    # The Prometheus text is valid: every family once, every sample once.
    prom = parse_prometheus(ask(n1, "metrics"))
    assert prom[("jabberd_cluster_peer_up", (("node", "n1"), ("peer", "n2")))] == 1
    # The text report for people names the peer too.
    assert 'jabberd_cluster_peer_up{node="n1",peer="n2"}' in ask(n1, "status")

    # n2 stops: n1's report shows its link down.
    mark = n1.daemon.mark()
    nodes["n2"].daemon.stop()
    n1.wait(r"cluster: link to n2 down: ", since=mark)
    s = samples(n1)
    assert s[("jabberd_cluster_peer_up", peer)] == 0, s
