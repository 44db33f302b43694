# SPDX-License-Identifier: GPL-2.0-or-later
"""Per-JID redirects (seed patch 4) with the real c2s -> sm and sm -> c2s
routes: our router with router/tests/test_module_tls.so in <cluster>
standing in for the cluster module (it binds the domain and forwards what
reaches it to the sm), our sm bound under <router_id>sm-n1</router_id>
(seed patch 1, branch i12-sess), our c2s, slixmpp clients. A redirect of
alice@localhost -> sm-n1 must (a) take c2s's routes to the domain for
alice straight to the sm, not through the module; (b) never touch the
sm's deliveries to alice's c2s (they used to be sent back into the sm);
(c) never loop: each message arrives once.
"""

import time

import pytest

from lib import certs, jabberd, paths
from test_router_module import Peer, built_module


def stats(peer):
    el = peer.ask("<stats/>")
    assert el.tag == "stats"
    return {k: int(v) for k, v in el.attrib.items()}


def new_user(xmpp, node, peer, jid, password):
    """Register and log in; the module's stats afterwards."""
    c = xmpp.client(jid, password, node.c2s_address)
    c.register()
    c.login()
    return c, stats(peer)


def sm_has_router_id():
    """Seed patch 1 lives on another branch until it is merged; without
    it the sm binds the domain itself and this set-up cannot exist."""
    sm = paths.our_binary("sm")
    return sm is not None and b"router_id" in sm.read_bytes()


def test_redirect_with_real_c2s_and_sm(sandbox, xmpp):
    mod = built_module("test_module_tls.so")
    if not sm_has_router_id():
        pytest.skip("our sm has no <router_id> yet (branch i12-sess)")
    node = jabberd.Node(sandbox, flavor="ours")
    cert = certs.self_signed(sandbox.dir, "localhost")
    mport = sandbox.free_port(node.ip)
    cfg = node.config("router")
    cfg.write_text(cfg.read_text().replace(
        "</router>", "<cluster><module>%s</module><listen ip='%s' port='%d'/>"
        "<pemfile>%s</pemfile><forward>sm-n1</forward></cluster></router>"
        % (mod, node.ip, mport, cert.pemfile)))
    cfg = node.config("sm")
    text = cfg.read_text()
    assert "<id>sm</id>" in text
    cfg.write_text(text.replace("<id>sm</id>", "<id>sm</id><router_id>sm-n1</router_id>", 1))
    binaries = {d: paths.our_binary(d) for d in jabberd.DAEMONS}
    if paths.stock_schema() is not None:
        jabberd.create_stock_schema(node.db)
    node.daemons["router"] = sandbox.start(
        "router", [binaries["router"], "-c", node.config("router")],
        logs=[node.log("router")], ready_port=(node.ip, node.router_port))
    deadline = time.monotonic() + 20
    while "test module: listening" not in node.log("router").read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # The module holds the domain before the sm comes.
    peer = Peer((node.ip, mport), cert.certfile)
    assert peer.ask("<bind name='localhost'/>").tag == "ok"
    node.daemons["sm"] = sandbox.start(
        "sm", [binaries["sm"], "-c", node.config("sm")], logs=[node.log("sm")],
        ready_log=jabberd.READY_LOG["ours"]["sm"])
    node.daemons["c2s"] = sandbox.start(
        "c2s", [binaries["c2s"], "-c", node.config("c2s")], logs=[node.log("c2s")],
        ready_port=node.c2s_address)
    assert peer.ask("<redirect jid='alice@localhost' name='sm-n1'/>").tag == "ok"

    # (a) alice's session is set up with no route through the module.
    s0 = stats(peer)
    alice, s1 = new_user(xmpp, node, peer, "alice@localhost", "pw-a")
    assert s1["hits"] > s0["hits"], (s0, s1)
    assert s1["delivered"] == s0["delivered"], (s0, s1)
    # bob has no redirect: his go through the module (and on to sm-n1).
    bob, s2 = new_user(xmpp, node, peer, "bob@localhost", "pw-b")
    assert s2["delivered"] > s1["delivered"], (s1, s2)
    assert s2["hits"] == s1["hits"], (s1, s2)

    # (b) the sm's delivery to alice's c2s is addressed to c2s: it
    # reaches alice, and no redirect looked at it.
    bob.send_message("alice@localhost", "to-alice")
    alice.wait_message(body="to-alice")
    alice.send_message("bob@localhost", "to-bob")
    bob.wait_message(body="to-bob")
    # (c) once each: nothing loops or repeats.
    time.sleep(1.0)
    assert alice.messages.empty() and bob.messages.empty()
    s3 = stats(peer)
    assert s3["routed"] - s2["routed"] < 20, (s2, s3)
    assert s3["hits"] - s2["hits"] <= 1, (s2, s3)
