# SPDX-License-Identifier: GPL-2.0-or-later
"""Federation through our s2s when things go wrong or get heavy, between
a.test (127.0.0.2) and b.test (127.0.0.3), each a node of stock jabberd2
router + sm + c2s or of this tree's daemons, with our s2s (see
test_s2s.py for the happy paths):

- dialback errors (XEP-0220 2.4): a peer claiming a domain whose
  authoritative server cannot be found or reached, or addressing a domain
  we do not host, gets type='error' with the condition, and the stream
  stays up;
- check.retry: a message sent while the other domain's s2s drops every
  stream (restarting) is delivered once it is up, within check.queue (a
  refused connection is not retried: test_s2s.py);
- io.limits.stanzas: a peer sending faster than the stanza rate is
  slowed down, not cut off, and nothing is lost;
- federation over IPv6 loopback (::1).

Some tests play a remote server by hand on a raw socket; to pass
dialback as a.test they compute a.test's dialback key from its secret,
as a second s2s of a.test sharing that secret would.
"""

import asyncio
import hashlib
import re
import socket
import threading
import time

import pytest

from lib import jabberd
from lib.s2s import S2S, recv_until, users

NODE_FLAVORS = pytest.mark.parametrize("flavor", [
    pytest.param("stock", marks=pytest.mark.stock, id="stock-node"),
    pytest.param("ours", marks=pytest.mark.ours, id="all-ours"),
])

HEADER = ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
          "xmlns:stream='http://etherx.jabber.org/streams' "
          "xmlns:db='jabber:server:dialback' version='1.0' "
          "to='%s' from='%s'>")


def open_stream(s2s, to, frm):
    """A raw stream to `s2s`'s listener; returns (socket, stream id)."""
    s = socket.create_connection((s2s.ip, s2s.port), timeout=5)
    s.sendall((HEADER % (to, frm)).encode())
    got = recv_until(s, b"</stream:features>")
    assert b"urn:xmpp:features:dialback" in got, got
    m = re.search(rb"<stream:stream[^>]* id=['\"]([^'\"]+)['\"]", got)
    assert m, got
    return s, m.group(1).decode()


def db_key(secret, receiving, stream_id):
    """The XEP-0220 key as jabberd2 (and our s2s) derive it."""
    def h(text):
        return hashlib.sha1(text.encode()).hexdigest()
    return h(h(h(secret) + receiving) + stream_id)


def nodes(sandbox, flavor, a_kw=None, b_kw=None, start_b=True):
    a = jabberd.Node(sandbox, number=1, flavor=flavor, domain="a.test").start()
    b = jabberd.Node(sandbox, number=2, flavor=flavor, domain="b.test").start()
    sa, sb = S2S(a, **(a_kw or {})), S2S(b, **(b_kw or {}))
    sa.peer(sb)
    sb.peer(sa)
    sa.start()
    if start_b:
        sb.start()
    return a, b, sa, sb


@NODE_FLAVORS
def test_dialback_errors_carry_a_condition(sandbox, flavor):
    """b.test cannot find c.test's server (no address) nor reach d.test's
    (nothing listens), and does not host nothere.test: each claim (and a
    verify question for nothere.test) is answered with a dialback error
    naming why, logged once, on a stream that stays open."""
    b = jabberd.Node(sandbox, number=2, flavor=flavor, domain="b.test").start()
    sb = S2S(b)
    sb.host("d.test", "127.0.0.4", sandbox.free_port("127.0.0.4"))
    sb.start()
    s, _ = open_stream(sb, "b.test", "c.test")
    try:
        s.sendall(b"<db:result from='c.test' to='b.test'>" + b"0" * 40
                  + b"</db:result>")
        got = recv_until(s, b"</db:result>")
        assert (b"<db:result from='b.test' to='c.test' type='error'>"
                b"<error type='cancel'><remote-server-not-found "
                b"xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
                b"</db:result>") in got, got
        s.sendall(b"<db:result from='d.test' to='b.test'>" + b"0" * 40
                  + b"</db:result>")
        got = recv_until(s, b"</db:result>")
        assert b"type='error'" in got, got
        assert (b"<remote-connection-failed "
                b"xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>") in got, got
        # Dialback for a domain b.test's router does not have.
        s.sendall(b"<db:result from='c.test' to='nothere.test'>" + b"0" * 40
                  + b"</db:result>")
        got = recv_until(s, b"</db:result>")
        assert (b"<db:result from='nothere.test' to='c.test' type='error'>"
                b"<error type='cancel'><item-not-found "
                b"xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>") in got, got
        s.sendall(b"<db:verify from='c.test' to='nothere.test' id='x1'>"
                  + b"0" * 40 + b"</db:verify>")
        got = recv_until(s, b"</db:verify>")
        assert (b"<db:verify from='nothere.test' to='c.test' id='x1' "
                b"type='error'><error type='cancel'><item-not-found ") in got, got
        assert b"</stream:stream>" not in got
    finally:
        s.close()
    text = sb.log_text()
    assert text.count("to nothere.test, which is not ours") == 1
    assert text.count("a key of nothere.test, which is not ours") == 1
    assert text.count("incoming c.test -> b.test refused "
                      "(dialback remote-server-not-found)") == 1
    assert text.count("incoming d.test -> b.test refused "
                      "(dialback remote-connection-failed)") == 1


class Dropper:
    """A listener that accepts and at once closes every connection: a peer
    whose streams are lost after they were up (a server restarting), the
    case check.retry is for."""

    def __init__(self, ip, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.close()

    def stop(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()


@NODE_FLAVORS
def test_retry_delivers_once_the_peer_is_up(sandbox, xmpp, flavor):
    """b.test's s2s drops every stream when alice writes: a's s2s keeps
    the message (check.retry) and connects again with backoff; once b's
    s2s is up, bob gets it and alice gets no error."""
    a, b, sa, sb = nodes(sandbox, flavor, a_kw=dict(check_queue=30),
                         start_b=False)
    alice, bob = users(xmpp, a, b)
    dropper = Dropper(sb.ip, sb.port)
    try:
        alice.send_message(bob.full_jid, "sent while b was down")
        # Run the client loop (it sends) until a's s2s has given up once.
        deadline = time.monotonic() + 15
        while "connecting again in" not in sa.log_text():
            assert time.monotonic() < deadline, "no retry scheduled"
            xmpp.run(asyncio.sleep(0.2), 5, "sending")
    finally:
        dropper.stop()
    sb.start()
    got = bob.wait_message(body="sent while b was down", timeout=30)
    assert got["from"] == alice.full_jid
    assert alice.messages.empty()
    assert "undeliverable" not in sa.log_text()


@NODE_FLAVORS
def test_stanza_rate_slows_a_fast_peer(sandbox, xmpp, flavor):
    """A peer (authenticated as a.test by dialback) sends 30 messages in
    about 0.6 s to a b.test allowing 10 stanzas a second: reading pauses
    (2 s), logged once, and bob still gets all 30 in order."""
    limits = "<limits><stanzas seconds='1' throttle='2'>10</stanzas></limits>"
    a, b, sa, sb = nodes(sandbox, flavor, b_kw=dict(io=limits))
    alice, bob = users(xmpp, a, b)
    s, sid = open_stream(sb, "b.test", "a.test")
    try:
        s.sendall(("<db:result from='a.test' to='b.test'>%s</db:result>"
                   % db_key(sa.secret, "b.test", sid)).encode())
        got = recv_until(s, b"type='valid'")
        assert b"type='valid'" in got, got
        start = time.monotonic()
        for i in range(30):
            s.sendall(("<message from='alice@a.test/x' to='%s' type='chat'>"
                       "<body>m%02d</body></message>"
                       % (bob.full_jid, i)).encode())
            time.sleep(0.02)

        async def bodies():
            seen = []
            while len(seen) < 30:
                seen.append((await bob.messages.get())["body"])
            return seen
        seen = xmpp.run(bodies(), 30, "bob: 30 messages")
        took = time.monotonic() - start
    finally:
        s.close()
    assert seen == ["m%02d" % i for i in range(30)]
    assert took >= 1.5, "not slowed down (%.2f s)" % took
    assert sb.log_text().count("a.test sends more than 10 stanzas in 1 s") == 1


@NODE_FLAVORS
def test_federation_over_ipv6(sandbox, xmpp, flavor):
    """Both s2s listen on ::1 and find each other there (static hosts):
    messages both ways, each stream on IPv6."""
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM).bind(("::1", 0))
    except OSError as e:
        pytest.skip("no IPv6 loopback here: %s" % e)
    a, b, sa, sb = nodes(sandbox, flavor, a_kw=dict(ip="::1"),
                         b_kw=dict(ip="::1"))
    alice, bob = users(xmpp, a, b)
    alice.send_message(bob.full_jid, "over v6")
    bob.wait_message(body="over v6")
    bob.send_message(alice.full_jid, "back over v6")
    alice.wait_message(body="back over v6")
    assert "connected to b.test (::1 port %d)" % sb.port in sa.log_text()
    assert "connected to a.test (::1 port %d)" % sa.port in sb.log_text()
    assert "a.test -> b.test valid (dialback)" in sa.log_text()
