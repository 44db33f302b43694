# SPDX-License-Identifier: GPL-2.0-or-later
"""The replicated session table (cluster-mod/cluster_state.c) and seed
patch 3 (patches/03-sm-notifies-cluster.md) with two whole nodes of ours on
127.0.0.2 and 127.0.0.3: each a router with <cluster> (holding the domain
and handing its routes to the local sm, <cluster><sm>), our sm with
<router_id> and <cluster><notify>, and our c2s. A client logs in on node
1; node 2's status (SIGHUP) lists the session with its priority; a
presence change updates it; node 2 restarted gets it back (snapshot);
logout removes it.
"""

import asyncio
import re
import signal
import time

import pytest

from lib import jabberd
from lib.cluster import Pki, cluster_section

TIMEOUT = 20


def cluster_node(sandbox, pki, number, cports):
    name = "n%d" % number
    node = jabberd.Node(sandbox, number=number, flavor="ours")
    sm_id = "sm-" + name
    path = node.config("sm")
    text = path.read_text()
    path.write_text(text.replace(
        "<id>sm</id>", "<id>sm</id>\n  <router_id>%s</router_id>\n"
        "  <cluster><notify>%s</notify></cluster>" % (sm_id, node.domain), 1))
    peers = [("n%d" % n, "127.0.0.%d" % (n + 1), p)
             for n, p in cports.items() if n != number]
    path = node.config("router")
    path.write_text(path.read_text().replace("</router>", "  %s\n</router>" % cluster_section(
        name, node.ip, cports[number], pki.node(name), pki.ca, peers, node.domain,
        "<sm>%s</sm>" % sm_id)))
    return node


def status(node):
    """SIGHUP the router, then the state lines it logged."""
    router = node.daemons["router"]
    mark = router.mark()
    router.signal(signal.SIGHUP)
    router.wait_log(r"cluster: state: local \d+ sessions", since=mark, timeout=TIMEOUT)
    time.sleep(0.3)
    text = node.log("router").read_text()
    return text[text.rfind("cluster: status: node "):]


def wait_status(node, pattern, absent=False):
    deadline = time.monotonic() + TIMEOUT
    while True:
        st = status(node)
        if bool(re.search(pattern, st)) != absent:
            return st
        if time.monotonic() > deadline:
            pytest.fail("status of %s %s %r:\n%s" % (
                node.ip, "still shows" if absent else "never showed", pattern, st))
        time.sleep(0.5)


def test_session_replicated_updated_resynced_removed(sandbox, xmpp):
    pki = Pki(sandbox)
    cports = {1: sandbox.free_port("127.0.0.2"), 2: sandbox.free_port("127.0.0.3")}
    n1 = cluster_node(sandbox, pki, 1, cports)
    n2 = cluster_node(sandbox, pki, 2, cports)
    n1.start()
    n2.start()
    n1.daemons["router"].wait_log(r"cluster: peer n2 open", timeout=TIMEOUT)
    alice = xmpp.client("alice@localhost", "alice-pw-1", n1.c2s_address)
    alice.register()
    alice.login()
    jid = re.escape(str(alice.full_jid))
    # node 1's sm told its module, which sent the delta to node 2
    st = wait_status(n2, r"session %s on n1, priority 0, available" % jid)
    assert re.search(r"node n1: 1 sessions, incarnation \d+, last seq [1-9]", st), st
    st = status(n1)
    assert re.search(r"local 1 sessions", st), st
    # a presence change: priority 7
    alice.xmpp.send_presence(ppriority=7)
    xmpp.run(asyncio.sleep(1.0), 5, "alice's presence sent")   # drive the client loop
    wait_status(n2, r"session %s on n1, priority 7, available" % jid)
    # node 2 restarts (SIGTERM): it asks again and gets a snapshot
    assert not n2.daemons["router"].stop()
    mark = n1.daemons["router"].mark()
    n2.daemons["router"] = sandbox.start(
        "node2-router-2", [jabberd.our_binary_or_skip("router"), "-c", n2.config("router")],
        logs=[n2.log("router")], ready_port=(n2.ip, n2.router_port))
    n1.daemons["router"].wait_log(r"cluster: peer n2 open", since=mark, timeout=TIMEOUT)
    st = wait_status(n2, r"session %s on n1, priority 7, available" % jid)
    assert "snapshot of 1 sessions" in n2.log("router").read_text()
    # logout removes it
    alice.disconnect()
    wait_status(n2, r"session %s on n1" % jid, absent=True)
    st = status(n2)
    assert re.search(r"node n1: 0 sessions", st), st
