# SPDX-License-Identifier: GPL-2.0-or-later
"""Federation through our s2s: two domains, a.test on 127.0.0.2 and b.test
on 127.0.0.3, each a stock jabberd2 router + sm + c2s node with OUR s2s
bound as the default route. Every test also runs with nodes made
entirely of this tree's daemons (router, sm, c2s and s2s): two of our
servers federated. The s2s
daemons find each other through static <lookup><host> entries and
authenticate with dialback (each domain its own secret), or with SASL
EXTERNAL when both have certificates the other trusts. slixmpp clients on
each side check what users see: messages both ways, presence subscription,
an iq round trip, and the error a sender gets when the other domain is
down or never answers.
"""

import asyncio
import socket
import time

import pytest

from lib import certs, jabberd
from lib.s2s import S2S, recv_until, users

# The node flavor around our s2s: Debian's router, sm and c2s, or ours.
NODE_FLAVORS = pytest.mark.parametrize("flavor", [
    pytest.param("stock", marks=pytest.mark.stock, id="stock-node"),
    pytest.param("ours", marks=pytest.mark.ours, id="all-ours"),
])


def two_domains(sandbox, tls=False, a_cert_name="a.test", flavor="stock"):
    a = jabberd.Node(sandbox, number=1, flavor=flavor, domain="a.test").start()
    b = jabberd.Node(sandbox, number=2, flavor=flavor, domain="b.test").start()
    kw_a, kw_b = {}, {}
    if tls:
        ca = certs.self_signed(a.dir, a_cert_name)
        cb = certs.self_signed(b.dir, "b.test")
        # Each side trusts both self-signed certificates.
        chain = sandbox.path("s2s-cachain.pem")
        chain.write_bytes(ca.certfile.read_bytes() + cb.certfile.read_bytes())
        kw_a = dict(tls=ca, cachain=str(chain), require_tls=True)
        kw_b = dict(tls=cb, cachain=str(chain), require_tls=True)
    sa, sb = S2S(a, **kw_a), S2S(b, **kw_b)
    sa.peer(sb)
    sb.peer(sa)
    sa.start()
    sb.start()
    return a, b, sa, sb


def wait_error(client, timeout=20.0):
    """The next error message the client gets (slixmpp Message)."""
    async def go():
        while True:
            m = await client.messages.get()
            if m["type"] == "error":
                return m
    return client.cloop.run(go(), timeout, "%s: waiting for an error" % client.jid)


@NODE_FLAVORS
def test_messages_both_ways_over_dialback(sandbox, xmpp, flavor):
    a, b, sa, sb = two_domains(sandbox, flavor=flavor)
    alice, bob = users(xmpp, a, b)

    alice.send_message(bob.full_jid, "hello from a.test")
    got = bob.wait_message(body="hello from a.test")
    assert got["from"] == alice.full_jid

    bob.send_message(alice.full_jid, "hello from b.test")
    got = alice.wait_message(body="hello from b.test")
    assert got["from"] == bob.full_jid

    # Both directions authenticated by dialback, one stream each way.
    assert "a.test -> b.test valid (dialback)" in sa.log_text()
    assert "b.test -> a.test valid (dialback)" in sb.log_text()


@NODE_FLAVORS
def test_presence_subscription_and_iq(sandbox, xmpp, flavor):
    a, b, sa, sb = two_domains(sandbox, flavor=flavor)
    alice, bob = users(xmpp, a, b)
    x = alice.xmpp

    async def subscribe():
        fut = xmpp.loop.create_future()

        def on_presence(p):
            if p["from"].bare == "bob@b.test" and p["type"] in ("available", "") \
                    and not fut.done():
                fut.set_result(p)
        x.add_event_handler("presence_available", on_presence)
        # slixmpp auto-authorizes: bob answers subscribed and then sends
        # his presence, which crosses back over federation.
        x.send_presence(pto="bob@b.test", ptype="subscribe")
        return await fut
    p = xmpp.run(subscribe(), 30, "alice: bob's presence after subscribing")
    assert p["from"] == bob.full_jid

    # bob's directed presence may overtake his 'subscribed': poll the
    # roster (bounded) until alice's sm has applied it.
    async def roster_item():
        for _ in range(20):
            await x.get_roster()
            sub = x.client_roster["bob@b.test"]["subscription"]
            if sub in ("to", "both"):
                return sub
            await asyncio.sleep(0.25)
        return sub
    assert xmpp.run(roster_item(), 20, "alice: roster") in ("to", "both")

    # An iq round trip to bob's full JID (XEP-0199, answered by slixmpp).
    async def ping():
        return await x["xep_0199"].ping(jid=bob.full_jid, timeout=15)
    rtt = xmpp.run(ping(), 20, "alice: ping bob")
    assert rtt is not None and rtt >= 0


@pytest.mark.parametrize("tls", [False, True], ids=["dialback", "tls"])
def test_idle_streams_trimmed_and_used_again(sandbox, xmpp, tls):
    """A stream that read nothing for a while gives back its parser and
    TLS buffers at the next check (our s2s logs it in debug); the next
    stanza each way goes through as before, and the streams are trimmed
    again once quiet."""
    a, b, sa, sb = two_domains(sandbox, tls=tls, flavor="ours")
    alice, bob = users(xmpp, a, b)
    for i in range(2):
        alice.send_message(bob.full_jid, "a to b %d" % i)
        bob.wait_message(body="a to b %d" % i)
        bob.send_message(alice.full_jid, "b to a %d" % i)
        alice.wait_message(body="b to a %d" % i)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            trims = [log.count("idle: trimmed") for log in (sa.log_text(), sb.log_text())]
            if min(trims) >= i + 1:
                break
            time.sleep(0.5)
        # The checks (every second here) trim after 5 s without input.
        assert min(trims) >= i + 1, trims


@NODE_FLAVORS
def test_starttls_and_sasl_external(sandbox, xmpp, flavor):
    a, b, sa, sb = two_domains(sandbox, tls=True, flavor=flavor)
    alice, bob = users(xmpp, a, b)
    alice.send_message(bob.full_jid, "signed and sealed")
    bob.wait_message(body="signed and sealed")
    bob.send_message(alice.full_jid, "likewise")
    alice.wait_message(body="likewise")
    assert "a.test -> b.test valid (SASL EXTERNAL)" in sa.log_text()
    assert "incoming a.test -> b.test valid (SASL EXTERNAL)" in sb.log_text()
    assert "(dialback)" not in sa.log_text() + sb.log_text()


@NODE_FLAVORS
def test_other_domain_down_bounces(sandbox, xmpp, flavor):
    a = jabberd.Node(sandbox, number=1, flavor=flavor, domain="a.test").start()
    # check.retry is on (its default, 300 s), but a refused connection is a
    # definite answer: no retry, remote-server-not-found at once, as
    # jabberd2 and prosody answer (test_s2s_limits.py has the retry, for
    # failures where retrying can help).
    sa = S2S(a)
    # b.test's address is known, but nothing listens there.
    sa.host("b.test", "127.0.0.3", sandbox.free_port("127.0.0.3"))
    sa.start()
    alice = xmpp.client("alice@a.test", "alice-pw", a.c2s_address)
    alice.register()
    alice.login()
    start = time.monotonic()
    alice.send_message("bob@b.test", "anyone there?")
    err = wait_error(alice)
    took = time.monotonic() - start
    assert err["from"].bare == "bob@b.test"
    assert err["error"]["condition"] == "remote-server-not-found"
    assert took < 5, "answered after %.1f s" % took
    assert "connecting again" not in sa.log_text()


@NODE_FLAVORS
def test_peer_never_answers_times_out(sandbox, xmpp, flavor):
    a = jabberd.Node(sandbox, number=1, flavor=flavor, domain="a.test").start()
    # A listener that accepts and never says a word.
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    port = sandbox.free_port("127.0.0.3")
    silent.bind(("127.0.0.3", port))
    silent.listen(8)
    try:
        sa = S2S(a, check_queue=3, check_interval=1)
        sa.host("b.test", "127.0.0.3", port)
        sa.start()
        alice = xmpp.client("alice@a.test", "alice-pw", a.c2s_address)
        alice.register()
        alice.login()
        start = time.monotonic()
        alice.send_message("bob@b.test", "hello?")
        err = wait_error(alice, timeout=30)
        waited = time.monotonic() - start
        assert err["error"]["condition"] == "remote-server-timeout"
        # Not refused at once: it waited for check.queue (3 s, checked
        # every second on whole-second clocks).
        assert waited >= 1.5
        assert sa.log_text().count("a.test -> b.test: not validated within 3 s") == 1
    finally:
        silent.close()


@NODE_FLAVORS
def test_unknown_domain_is_not_found(sandbox, xmpp, flavor):
    a = jabberd.Node(sandbox, number=1, flavor=flavor, domain="a.test").start()
    sa = S2S(a)
    sa.start()
    alice = xmpp.client("alice@a.test", "alice-pw", a.c2s_address)
    alice.register()
    alice.login()
    # .invalid never resolves (RFC 6761).
    alice.send_message("bob@nowhere.invalid", "hello?")
    err = wait_error(alice)
    assert err["error"]["condition"] == "remote-server-not-found"
    assert sa.log_text().count("cannot resolve nowhere.invalid") == 1


@NODE_FLAVORS
def test_connection_flood_is_limited(sandbox, xmpp, flavor):
    """A peer address opening connection after connection is cut off after
    io.limits.connects (logged once), while federation from elsewhere goes
    on."""
    a = jabberd.Node(sandbox, number=1, flavor=flavor, domain="a.test").start()
    b = jabberd.Node(sandbox, number=2, flavor=flavor, domain="b.test").start()
    limits = "<limits><connects seconds='30' throttle='30'>5</connects></limits>"
    sa, sb = S2S(a), S2S(b, io=limits)
    sa.peer(sb)
    sb.peer(sa)
    sa.start()
    sb.start()
    socks, refused = [], 0
    try:
        for _ in range(20):
            s = socket.create_connection((b.ip, sb.port), timeout=5)
            socks.append(s)
        for s in socks:
            s.settimeout(0.5)
            try:
                if s.recv(1) == b"":
                    refused += 1
            except socket.timeout:
                pass            # accepted, waiting for our header
            except ConnectionResetError:
                refused += 1
    finally:
        for s in socks:
            s.close()
    # 5 connects per 30 s from one address; the harness's readiness probe
    # (also from 127.0.0.1) may have used one of them.
    assert 15 <= refused <= 16
    text = sb.log_text()
    assert text.count("is being rate limited") == 1
    # Our flood came from 127.0.0.1; a.test's s2s connects from 127.0.0.2.
    alice, bob = users(xmpp, a, b)
    alice.send_message(bob.full_jid, "still federating")
    bob.wait_message(body="still federating")


@NODE_FLAVORS
def test_certificate_for_wrong_name_falls_back_to_dialback(sandbox, xmpp, flavor):
    """a.test presents a certificate (trusted) for another name: SASL
    EXTERNAL is refused, logged once, and dialback authenticates."""
    a, b, sa, sb = two_domains(sandbox, tls=True, a_cert_name="wrong.test",
                                 flavor=flavor)
    alice, bob = users(xmpp, a, b)
    alice.send_message(bob.full_jid, "via dialback")
    bob.wait_message(body="via dialback")
    text = sb.log_text()
    assert text.count("SASL EXTERNAL refused: certificate does not name a.test") == 1
    assert "a.test -> b.test valid (dialback)" in sa.log_text()


@NODE_FLAVORS
def test_forged_dialback_and_unverified_stanza(sandbox, xmpp, flavor):
    """A peer on 127.0.0.1 claims to be a.test with a made-up key: b.test
    asks a.test's s2s (the authoritative server), which says the key is
    not its own, so b.test answers invalid; a stanza from a.test on that
    stream then ends it with invalid-from. Nothing reaches bob."""
    a, b, sa, sb = two_domains(sandbox, flavor=flavor)
    alice, bob = users(xmpp, a, b)
    s = socket.create_connection((b.ip, sb.port), timeout=5)
    try:
        s.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
                  b"xmlns:stream='http://etherx.jabber.org/streams' "
                  b"xmlns:db='jabber:server:dialback' version='1.0' "
                  b"to='b.test' from='a.test'>")
        assert b"urn:xmpp:features:dialback" in recv_until(s, b"</stream:features>")
        s.sendall(b"<db:result from='a.test' to='b.test'>"
                  + b"0" * 40 + b"</db:result>")
        got = recv_until(s, b"type='invalid'")
        assert b"type='invalid'" in got
        s.sendall(b"<message from='mallory@a.test' to='bob@b.test' type='chat'>"
                  b"<body>forged</body></message>")
        got = recv_until(s, b"</stream:stream>")
        assert b"<invalid-from xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" in got
    finally:
        s.close()
    # The real a.test still gets through, and bob never saw the forgery.
    alice.send_message(bob.full_jid, "the real alice")

    async def bodies():
        seen = []
        while "the real alice" not in seen:
            seen.append((await bob.messages.get())["body"])
        return seen
    seen = xmpp.run(bodies(), 20, "bob: messages")
    assert "forged" not in seen
    assert sa.log_text().count("not ours") == 1
    assert sb.log_text().count("incoming a.test -> b.test refused (dialback invalid)") == 1
    assert sb.log_text().count("stanza from unverified a.test to b.test") == 1
