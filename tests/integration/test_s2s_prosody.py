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

import pytest

from lib import certs, jabberd, prosody_server
from lib.s2s import S2S, subscribe_and_see

pytestmark = pytest.mark.stock


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
    p_c2s, p_s2s, pdom = prosody_server.start(sandbox, sa, cert=pcert, cachain=chain)
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
