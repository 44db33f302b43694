# SPDX-License-Identifier: GPL-2.0-or-later
"""Interop: our s2s federating with Debian's prosody. a.test is a stock
jabberd2 router + sm + c2s node on 127.0.0.2 with OUR s2s as the default
route; p.test is prosody on 127.0.0.3. Each finds the other at a static
address (ours through <lookup><host>, prosody through the test-only
tests/lib/prosody/mod_jc_static_s2s.lua, so prosody never queries DNS).
Without certificates both directions authenticate with dialback, prosody
in every role against ours: messages both ways, presence subscription
from each side. With certificates each trusts, TLS is required and both
directions authenticate with SASL EXTERNAL.

Skipped, with the reason, only when prosody is not installed.
"""

import asyncio
import shutil

import pytest

from lib import certs, jabberd, paths
from lib.s2s import S2S

pytestmark = pytest.mark.stock

PROSODY = shutil.which("prosody")


def start_prosody(sandbox, a_s2s, ip="127.0.0.3", domain="p.test", cert=None,
                  cachain=None):
    if PROSODY is None:
        pytest.skip("prosody is not installed (tools/install-deps --test)")
    d = sandbox.path("prosody")
    (d / "data").mkdir(parents=True, exist_ok=True)
    c2s_port = sandbox.free_port(ip)
    s2s_port = sandbox.free_port(ip)
    cfg = d / "prosody.cfg.lua"
    ssl = ""
    if cert is not None:
        ssl = 'ssl = { certificate = "%s"; key = "%s"; cafile = "%s" }' % (
            cert.certfile, cert.keyfile, cachain)
    sandbox.render("prosody/prosody.cfg.lua.in", cfg, DIR=d,
                   PLUGINS=paths.TEMPLATES.parent / "prosody", IP=ip,
                   C2S_PORT=c2s_port, S2S_PORT=s2s_port, DOMAIN=domain,
                   PEER=a_s2s.node.domain, PEER_IP=a_s2s.node.ip,
                   PEER_PORT=a_s2s.port, SSL=ssl,
                   EXTRA_MODULES=', "tls"' if cert else "",
                   S2S_REQUIRE_ENCRYPTION="true" if cert else "false")
    sandbox.start("prosody", [PROSODY, "-F", "--config", str(cfg)],
                  logs=[d / "prosody.log"], ready_port=(ip, c2s_port))
    return (ip, c2s_port), (ip, s2s_port), domain


def federate(sandbox, xmpp, tls=False):
    a = jabberd.Node(sandbox, number=1, flavor="stock", domain="a.test").start()
    pcert = chain = None
    kw = {}
    if tls:
        acert = certs.self_signed(a.dir, "a.test")
        pcert = certs.self_signed(sandbox.dir, "p.test")
        chain = sandbox.path("s2s-cachain.pem")
        chain.write_bytes(acert.certfile.read_bytes() + pcert.certfile.read_bytes())
        kw = dict(tls=acert, cachain=str(chain), require_tls=True)
    # Our s2s port is chosen now; prosody starts first with it, then
    # ours with prosody's.
    sa = S2S(a, **kw)
    p_c2s, p_s2s, pdom = start_prosody(sandbox, sa, cert=pcert, cachain=chain)
    sa.host(pdom, p_s2s[0], p_s2s[1])
    sa.start()
    alice = xmpp.client("alice@a.test", "alice-pw", a.c2s_address)
    carol = xmpp.client("carol@p.test", "carol-pw", p_c2s)
    alice.register()
    carol.register()
    alice.login()
    carol.login()
    return sa, alice, carol


def test_messages_both_ways_with_prosody(sandbox, xmpp):
    sa, alice, carol = federate(sandbox, xmpp)
    alice.send_message(carol.full_jid, "hi prosody user")
    got = carol.wait_message(body="hi prosody user", timeout=30)
    assert got["from"] == alice.full_jid
    carol.send_message(alice.full_jid, "hi jabberd user")
    got = alice.wait_message(body="hi jabberd user", timeout=30)
    assert got["from"] == carol.full_jid
    log = sa.log_text()
    assert "a.test -> p.test valid (dialback)" in log
    assert "incoming p.test -> a.test valid (dialback)" in log


def subscribe_and_see(xmpp, who, other_bare):
    x = who.xmpp

    async def go():
        fut = xmpp.loop.create_future()

        def on_presence(p):
            if p["from"].bare == other_bare and not fut.done():
                fut.set_result(p)
        x.add_event_handler("presence_available", on_presence)
        x.send_presence(pto=other_bare, ptype="subscribe")
        await fut
        for _ in range(20):
            await x.get_roster()
            sub = x.client_roster[other_bare]["subscription"]
            if sub in ("to", "both"):
                return sub
            await asyncio.sleep(0.25)
        return sub
    return xmpp.run(go(), 40, "%s: subscribe to %s" % (who.jid, other_bare))


def test_presence_subscription_with_prosody(sandbox, xmpp):
    sa, alice, carol = federate(sandbox, xmpp)
    # Each side asks; the other's slixmpp authorizes automatically.
    assert subscribe_and_see(xmpp, alice, "carol@p.test") in ("to", "both")
    assert subscribe_and_see(xmpp, carol, "alice@a.test") in ("to", "both")


def test_tls_and_certificates_with_prosody(sandbox, xmpp):
    """Both sides require TLS and trust each other's certificate: both
    links authenticate with SASL EXTERNAL (XEP-0178)."""
    sa, alice, carol = federate(sandbox, xmpp, tls=True)
    alice.send_message(carol.full_jid, "over tls")
    carol.wait_message(body="over tls", timeout=30)
    carol.send_message(alice.full_jid, "over tls too")
    alice.wait_message(body="over tls too", timeout=30)
    log = sa.log_text()
    assert "a.test -> p.test valid (SASL EXTERNAL)" in log
    assert "incoming p.test -> a.test valid (SASL EXTERNAL)" in log
