# SPDX-License-Identifier: GPL-2.0-or-later
"""The cluster module's redirects (patch 4, patches/04-router-redirects.md):
one node of ours (router with <cluster> and <sm>, our sm with <router_id>
and <cluster><notify>, our c2s). For every local session the module
installs full JID -> sm and bare JID -> sm. Two local users exchange 200
messages: each arrives once, the router routes them (c2s -> sm -> c2s)
and the module's count of routes it handed to the sm barely moves; a
second session of alice, whose start request c2s sends to the domain,
goes by the bare redirect (hits grow, the module's hand-offs do not); the
entries go when the sessions end (bare at the last one).
"""

import json
import subprocess
import time

from test_cluster_link import Pki, built
from test_cluster_state import cluster_node


def status(node):
    out = subprocess.run([str(built("jabberd-cluster")), "-s", str(node.control), "json"],
                         capture_output=True, text=True, timeout=15)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def wait_for(node, pred, what, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        st = status(node)
        if pred(st):
            return st
        assert time.monotonic() < deadline, "%s: %s" % (what, st)
        time.sleep(0.2)


def test_local_conversation_goes_by_redirects(sandbox, xmpp):
    pki = Pki(sandbox)
    n1 = cluster_node(sandbox, pki, 1, {1: sandbox.free_port("127.0.0.2")})
    n1.control = sandbox.path("control-n1.sock")
    path = n1.config("router")
    path.write_text(path.read_text().replace(
        "<sm>", "<control>%s</control>\n    <sm>" % n1.control, 1))
    n1.start()
    alice = xmpp.client("alice@localhost", "alice-pw-1", n1.c2s_address)
    alice.register()
    alice.login()
    bob = xmpp.client("bob@localhost", "bob-pw-1", n1.c2s_address)
    bob.register()
    bob.login()
    # two sessions: 2 full + 2 bare JIDs
    st = wait_for(n1, lambda s: s["tables"]["local_sessions"] == 2 and
                  s["tables"]["redirect_entries"] == 4, "two sessions, four redirects")
    assert st["router"]["redirect_entries"] == 4, st["router"]
    before = st
    for i in range(100):
        alice.send_message("bob@localhost", "a%d" % i)
        bob.send_message("alice@localhost", "b%d" % i)
    for i in range(100):
        bob.wait_message(body="a%d" % i)
        alice.wait_message(body="b%d" % i)
    time.sleep(1.0)
    # once each: nothing loops or repeats
    assert alice.messages.empty() and bob.messages.empty()
    after = status(n1)
    # The 200 messages crossed the router twice each (c2s -> sm-n1, sm-n1
    # -> c2s: c2s addresses a session's stanzas to the sm that started
    # it, patch 1), and the module handled none of them.
    routed = after["router"]["routed"] - before["router"]["routed"]
    handed = after["tables"]["handed"] - before["tables"]["handed"]
    assert routed >= 400, (before["router"], after["router"])
    assert handed < 10, (before["tables"], after["tables"])
    # What c2s sends to the domain for a user with a local session (a
    # second session's start request, by its target) goes by alice's bare
    # redirect straight to the sm, past the module.
    alice2 = xmpp.client("alice@localhost/second", "alice-pw-1", n1.c2s_address)
    alice2.login()
    st = wait_for(n1, lambda s: s["tables"]["local_sessions"] == 3,
                  "alice's second session")
    assert st["router"]["redirect_hits"] - after["router"]["redirect_hits"] >= 1, st["router"]
    assert st["tables"]["handed"] == after["tables"]["handed"], st["tables"]
    assert st["tables"]["redirect_entries"] == 5       # 3 full, 2 bare
    alice2.disconnect()
    wait_for(n1, lambda s: s["tables"]["redirect_entries"] == 4, "alice/second's gone")
    # the sessions end: the module clears its entries (bare at the last one)
    bob.disconnect()
    wait_for(n1, lambda s: s["tables"]["redirect_entries"] == 2 and
             s["router"]["redirect_entries"] == 2, "bob's two redirects gone")
    alice.disconnect()
    wait_for(n1, lambda s: s["tables"]["redirect_entries"] == 0 and
             s["router"]["redirect_entries"] == 0, "every redirect gone")
