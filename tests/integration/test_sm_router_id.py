# SPDX-License-Identifier: GPL-2.0-or-later
"""Seed patch 1 (patches/01-sm-router-id.md): our sm with
<router_id>sm-n1</router_id> binds only that name at the router; a small
router module (sm/tests/relay_module_so.c) binds the domain, as the
cluster module will, and hands the domain's routes to sm-n1. A full login
(registration, bind, session), messages both ways and presence then work
through our c2s, every route the sm sends carries from='sm-n1', and c2s
addresses sm-n1 itself once the session has started.
"""

import re
import signal

import pytest

from lib import jabberd, paths
from test_c2s import Raw, wait_until
from test_sm import run, two_users, wait_event


def router_id_node(sandbox, router_id="sm-n1"):
    """A node of ours whose sm has <router_id>, with the relay module in
    the router holding the domain for it (not started)."""
    mod = paths.builddir() / "sm" / "tests" / "relay_module.so"
    if not mod.is_file():
        pytest.skip("sm/tests/relay_module.so not built")
    node = jabberd.Node(sandbox, flavor="ours")
    path = node.config("sm")
    text = path.read_text()
    assert "<id>sm</id>" in text
    path.write_text(text.replace(
        "<id>sm</id>", "<id>sm</id>\n  <router_id>%s</router_id>" % router_id, 1))
    path = node.config("router")
    path.write_text(path.read_text().replace(
        "</router>", "<module>%s</module><relay><domain>%s</domain><to>%s</to></relay>"
        "</router>" % (mod, node.domain, router_id)))
    return node


def routes_received(c2s_log):
    """(from, text) of every route c2s logged as received (debug on)."""
    out = []
    for line in c2s_log.read_text(errors="replace").splitlines():
        m = re.search(r"from the router: (<route\b[^>]*>)", line)
        if m:
            f = re.search(r"""\bfrom=['"]([^'"]*)['"]""", m.group(1))
            out.append((f.group(1) if f else None, line))
    return out


def test_sm_router_id_login_messages_presence(sandbox, xmpp):
    node = router_id_node(sandbox).start()
    c2s = node.daemons["c2s"]
    c2s.signal(signal.SIGUSR2)      # debug on: c2s logs what it receives
    alice, bob = two_users(xmpp, node)
    alice.login()
    bob.login()
    # Presence: a subscription both ways (slixmpp answers requests
    # itself), then bob sees alice's new presence.
    got = wait_event(bob, "presence_subscribed",
                     lambda p: p["from"].bare == "alice@localhost")
    bob.xmpp.send_presence(pto="alice@localhost", ptype="subscribe")
    run(bob, got, "bob's subscription approved")
    online = wait_event(bob, "presence_chat",
                        lambda p: p["from"].bare == "alice@localhost")
    alice.xmpp.send_presence(pshow="chat")
    run(bob, online, "bob sees alice's presence")
    alice.send_message("bob@localhost", "hello bob")
    bob.wait_message(body="hello bob", sender="alice@localhost")
    bob.send_message(str(alice.full_jid), "hello alice")
    alice.wait_message(body="hello alice", sender="bob@localhost")
    # Every route our c2s received came from sm-n1: the control replies
    # (created, started) and the stanzas for its clients alike.
    routes = routes_received(node.log("c2s"))
    assert len(routes) >= 8, routes
    assert {f for f, _ in routes} == {"sm-n1"}, [l for f, l in routes if f != "sm-n1"]
    # And c2s sent its clients' stanzas to sm-n1 directly: the router saw
    # the sm bind sm-n1 alone, and the domain stayed the module's.
    router_log = node.log("router").read_text()
    assert re.search(r"bound sm-n1", router_log)
    assert not re.search(r"bound localhost", router_log)
    assert "cannot bind" not in node.log("sm").read_text()


def test_sm_router_id_leaving_closes_streams(sandbox, xmpp):
    """The sm with <router_id> stops while the domain stays served (the
    module holds it): c2s closes the streams of its sessions with <reset/>
    all the same, new streams are accepted, and once an sm is back the
    user logs in again."""
    node = router_id_node(sandbox).start()
    alice = xmpp.client("alice@localhost", "alice-pw-1", node.c2s_address)
    alice.register()
    alice.login()
    c2s = node.daemons["c2s"]
    mark = c2s.mark()
    assert not node.daemons["sm"].stop()
    wait_until(xmpp, lambda: alice.xmpp.transport is None, "alice's stream closed")
    assert alice.errors == ["reset"], alice.errors
    c2s.wait_log(r"sm-n1 is gone at the router: 1 session stream closed", since=mark)
    r = Raw(node.c2s_address)
    assert "<host-gone" not in r.open("localhost")
    r.close()
    jabberd.start_our_sm_again(sandbox, node, 2)
    alice = xmpp.client("alice@localhost", "alice-pw-1", node.c2s_address)
    alice.login()
    alice.send_message(str(alice.full_jid), "me again")
    alice.wait_message(body="me again")
