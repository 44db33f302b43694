# SPDX-License-Identifier: GPL-2.0-or-later
"""Our s2s and certificates beyond one pemfile, between a.test
(127.0.0.2) and b.test (127.0.0.3), nodes of stock jabberd2 router + sm +
c2s or of this tree's daemons, each with our s2s:

- direct TLS (XEP-0368): b.test's s2s also listens with TLS at once
  (<local><ssl-port>); a.test's s2s asks a DNS responder on loopback for
  _xmpps-server and _xmpp-server records of b.test, mixes them by
  priority, connects with direct TLS to the preferred one and
  authenticates with SASL EXTERNAL;
- a certificate per local domain (<local><id pemfile=...>): the default
  local.pemfile names another domain, yet each s2s presents its
  domain's own certificate, chosen by SNI on incoming streams and by the
  originating domain on outgoing ones, so SASL EXTERNAL succeeds both
  ways.
"""

import subprocess

import pytest

from lib import certs, jabberd
from lib.dns import Responder, Zone
from lib.s2s import S2S, users

NODE_FLAVORS = pytest.mark.parametrize("flavor", [
    pytest.param("stock", marks=pytest.mark.stock, id="stock-node"),
    pytest.param("ours", marks=pytest.mark.ours, id="all-ours"),
])


def chain_of(sandbox, *cs):
    """A CA file trusting each (self-signed) certificate."""
    chain = sandbox.path("s2s-cachain.pem")
    chain.write_bytes(b"".join(c.certfile.read_bytes() for c in cs))
    return str(chain)


@NODE_FLAVORS
def test_xmpps_srv_direct_tls(sandbox, xmpp, flavor):
    a = jabberd.Node(sandbox, number=1, flavor=flavor, domain="a.test").start()
    b = jabberd.Node(sandbox, number=2, flavor=flavor, domain="b.test").start()
    ca, cb = certs.self_signed(a.dir, "a.test"), certs.self_signed(b.dir, "b.test")
    chain = chain_of(sandbox, ca, cb)
    ssl_port = sandbox.free_port(b.ip)
    sb = S2S(b, tls=cb, cachain=chain, require_tls=True,
             local="<ssl-port>%d</ssl-port>" % ssl_port)
    sa = S2S(a, tls=ca, cachain=chain, require_tls=True,
             lookup="<srv>xmpps-server</srv><srv>xmpp-server</srv>")
    zone = Zone()
    # Direct TLS first by priority; STARTTLS on the usual port after it.
    zone.srv("_xmpps-server._tcp.b.test", 5, 0, ssl_port, "tls.b.test")
    zone.srv("_xmpp-server._tcp.b.test", 10, 0, sb.port, "plain.b.test")
    zone.a("tls.b.test", b.ip)
    zone.a("plain.b.test", b.ip)
    ns = Responder(zone, a.ip).start()
    try:
        sa.nameserver = (ns.ip, ns.port)
        sb.peer(sa)
        sa.start()
        sb.start()
        alice, bob = users(xmpp, a, b)
        alice.send_message(bob.full_jid, "straight into TLS")
        bob.wait_message(body="straight into TLS")
    finally:
        ns.stop()
    assert ("_xmpps-server._tcp.b.test", 33) in ns.questions
    assert ("_xmpp-server._tcp.b.test", 33) in ns.questions
    assert "connected to b.test (%s port %d)" % (b.ip, ssl_port) in sa.log_text()
    assert "a.test -> b.test valid (SASL EXTERNAL)" in sa.log_text()
    text = sb.log_text()
    assert "listening for servers with direct TLS on %s port %d" % (b.ip, ssl_port) in text
    assert text.count("incoming direct TLS connection from") == 1
    assert "incoming a.test -> b.test valid (SASL EXTERNAL)" in text


@NODE_FLAVORS
def test_certificate_per_local_domain(sandbox, xmpp, flavor):
    a = jabberd.Node(sandbox, number=1, flavor=flavor, domain="a.test").start()
    b = jabberd.Node(sandbox, number=2, flavor=flavor, domain="b.test").start()
    # Each default certificate names a domain neither side hosts; the
    # right ones are given per domain.
    da = certs.self_signed(a.dir, "default-a.test")
    db = certs.self_signed(b.dir, "default-b.test")
    ca, cb = certs.self_signed(a.dir, "a.test"), certs.self_signed(b.dir, "b.test")
    chain = chain_of(sandbox, da, db, ca, cb)
    sa = S2S(a, tls=da, cachain=chain, require_tls=True,
             local="<id pemfile='%s'>a.test</id>" % ca.pemfile)
    sb = S2S(b, tls=db, cachain=chain, require_tls=True,
             local="<id pemfile='%s'>b.test</id>" % cb.pemfile)
    sa.peer(sb)
    sb.peer(sa)
    sa.start()
    sb.start()
    alice, bob = users(xmpp, a, b)
    alice.send_message(bob.full_jid, "my own certificate")
    bob.wait_message(body="my own certificate")
    bob.send_message(alice.full_jid, "mine too")
    alice.wait_message(body="mine too")
    ta, tb = sa.log_text(), sb.log_text()
    # Outgoing: the originating domain's certificate, accepted for SASL
    # EXTERNAL by the other side.
    assert "incoming a.test -> b.test valid (SASL EXTERNAL)" in tb
    assert "incoming b.test -> a.test valid (SASL EXTERNAL)" in ta
    assert "(dialback)" not in ta + tb
    # Incoming: SNI picked the certificate naming the domain asked for,
    # which the connecting side verified against that name.
    assert "stream to b.test ready (TLS) (certificate verified)" in ta
    assert "stream to a.test ready (TLS) (certificate verified)" in tb


def test_tls13_suites_bad_value(sandbox):
    """local.ciphersuites goes to OpenSSL: a suite it does not know stops
    s2s at start, naming it."""
    node = jabberd.Node(sandbox, 1, domain="a.test")
    cert = certs.self_signed(sandbox.dir, "a.test")
    s = S2S(node, tls=cert, local="<ciphersuites>TLS_NO_SUCH_SUITE</ciphersuites>")
    s._render()
    p = subprocess.run([jabberd.our_binary_or_skip("s2s"), "-c", str(s.config)],
                       timeout=20, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert p.returncode != 0
    text = p.stdout.decode() + (s.log.read_text() if s.log.exists() else "")
    assert "TLS_NO_SUCH_SUITE" in text, text
