# SPDX-License-Identifier: GPL-2.0-or-later
"""XEP-0198 stream management in our c2s, behind our router and sm: acks
counted in both directions (slixmpp's xep_0198 plugin, and a raw client
for exact counts), resumption after the TCP connection is cut (the message
sent meanwhile arrives), resumption after the timeout (item-not-found,
the message is stored offline and delivered at the next login), another
user's resumption id refused, the queue bound, and unacknowledged
messages handed back to the sm when a session without resumption ends."""

import asyncio
import base64
import re
import socket
import ssl
import time

import pytest

from lib import jabberd, paths

SM = "urn:xmpp:sm:3"


def sm_node(sandbox, resume=300, queue=None, enable=True, flavor="ours", io=""):
    """Our c2s with stream-management options, behind our router and sm
    (flavor "ours") or Debian's jabberd2 ones ("stock")."""
    node = jabberd.Node(sandbox, flavor={"router": flavor, "sm": flavor, "c2s": "ours"},
                        tls=True)
    opts = "<resume>%d</resume>" % resume
    if queue is not None:
        opts += "<queue>%d</queue>" % queue
    if not enable:
        opts += "<enable>false</enable>"
    path = node.config("c2s")
    text = path.read_text()
    text = text.replace("</io>", io + "</io>")
    path.write_text(text.replace(
        "</c2s>", "<stream-management>%s</stream-management></c2s>" % opts))
    return node.start()


class Raw:
    """A client written by hand: the test decides every byte of XEP-0198
    and can cut the TCP connection with no stream close."""

    def __init__(self, node):
        self.sock = socket.create_connection(node.c2s_address, timeout=10)
        self.cafile = node.cert.certfile
        self.buf = ""
        self.pos = 0            # what read_until already returned

    def send(self, text):
        self.sock.sendall(text.encode())

    def read_until(self, pattern, timeout=10):
        """Read until `pattern` (a regex) matches what arrived after the
        last match; returns the match."""
        end = time.monotonic() + paths.scaled(timeout)
        rx = re.compile(pattern, re.S)
        while True:
            m = rx.search(self.buf, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for %r; got %r"
                                     % (pattern, self.buf[self.pos:]))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise AssertionError("connection closed waiting for %r; got %r"
                                     % (pattern, self.buf[self.pos:]))
            self.buf += data.decode(errors="replace")

    def open(self):
        self.send("<?xml version='1.0'?><stream:stream to='localhost' "
                  "xmlns='jabber:client' "
                  "xmlns:stream='http://etherx.jabber.org/streams' "
                  "version='1.0'>")
        return self.read_until(r"<stream:features>.*?</stream:features>").group(0)

    def starttls(self):
        self.open()
        self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        self.read_until(r"<proceed[^>]*/>")
        ctx = ssl.create_default_context(cafile=self.cafile)
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = ""
        self.pos = 0

    def auth(self, user, password):
        """STARTTLS, PLAIN, then the restarted stream's features."""
        self.starttls()
        self.open()
        creds = base64.b64encode(("\0%s\0%s" % (user, password)).encode())
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                  "mechanism='PLAIN'>%s</auth>" % creds.decode())
        self.read_until(r"<success")
        return self.open()

    def bind(self, resource):
        self.send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:"
                  "ns:xmpp-bind'><resource>%s</resource></bind></iq>" % resource)
        return self.read_until(r"<jid>([^<]*)</jid>").group(1)

    def enable(self, resume=True):
        self.send("<enable xmlns='%s'%s/>" % (SM, " resume='true'" if resume else ""))
        return self.read_until(r"<enabled[^>]*>").group(0)

    def cut(self):
        """Drop the connection abruptly: no </stream:stream>."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.sock.close()

    def close(self):
        self.sock.close()


def attr(text, name):
    m = re.search(r"""\b%s=['"]([^'"]*)['"]""" % name, text)
    return m.group(1) if m else None


def login(node, user, resource, presence=False):
    r = Raw(node)
    feats = r.auth(user, "pw")
    assert "<sm xmlns='%s'/>" % SM in feats
    jid = r.bind(resource)
    if presence:
        r.send("<presence/>")
    return r, jid


def register(xmpp, node, *users):
    for u in users:
        client(xmpp, node, u).register()


def client(xmpp, node, user):
    return xmpp.client("%s@localhost" % user, "pw", node.c2s_address,
                       tls="starttls", cafile=node.cert.certfile)


def send(xmpp, who, to, body):
    """Send a message from a slixmpp client and let its loop write it."""
    who.send_message(to, body)
    xmpp.run(asyncio.sleep(0.2), 5, "send %r" % body)


def wait_c2s(node, pattern, mark, timeout=15):
    node.daemons["c2s"].wait_log(pattern, timeout=paths.scaled(timeout), since=mark)


def with_sm(c, window=None):
    """Make a test client's streams use slixmpp's XEP-0198 plugin."""
    orig = c._stream

    def stream():
        x = orig()
        x.register_plugin("xep_0198")
        if window is not None:
            x["xep_0198"].window = window
        return x
    c._stream = stream
    return c


def test_acks_counted_with_slixmpp(sandbox, xmpp):
    """slixmpp's XEP-0198 plugin: its stanzas are all acknowledged (our
    h matches its count), and the stanzas it received are acknowledged by
    it without a stream error (our count of what we sent matches its)."""
    node = sm_node(sandbox)
    register(xmpp, node, "alice", "bob")
    # window 1: slixmpp asks for an ack after every stanza.
    a = with_sm(client(xmpp, node, "alice"), window=1)
    b = client(xmpp, node, "bob")
    a.login()
    b.login()
    sm = a.xmpp["xep_0198"]
    assert sm.enabled_in and sm.sm_id, "stream management not enabled"
    for i in range(5):
        a.send_message("bob@localhost", "to bob %d" % i)
    for i in range(5):
        b.wait_message(body="to bob %d" % i)
    for i in range(4):
        b.send_message(a.full_jid, "to alice %d" % i)
    for i in range(4):
        a.wait_message(body="to alice %d" % i)
    sm.request_ack()

    async def acked():
        end = time.monotonic() + paths.scaled(10)
        while time.monotonic() < end:
            if sm.last_ack == sm.seq and not sm.unacked_queue:
                return True
            await asyncio.sleep(0.1)
        return False
    assert xmpp.run(acked(), 15, "all acknowledged"), \
        "server acked %d of %d" % (sm.last_ack, sm.seq)
    assert sm.seq >= 7          # presence, roster get, 5 messages
    assert sm.handled >= 5      # roster result, 4 messages
    assert not a.errors


def test_resume_with_slixmpp(sandbox, xmpp):
    """slixmpp's own resumption: its connection is aborted, it reconnects,
    authenticates and resumes (no new bind); the message sent while it was
    away arrives, and the session is the same."""
    node = sm_node(sandbox)
    register(xmpp, node, "val", "wes")
    v = with_sm(client(xmpp, node, "val"))
    w = client(xmpp, node, "wes")
    v.login()
    w.login()
    x = v.xmpp
    smid = x["xep_0198"].sm_id
    jid = str(v.full_jid)
    assert smid
    send(xmpp, w, jid, "before")
    v.wait_message(body="before")
    mark = node.daemons["c2s"].mark()
    x.transport.abort()
    xmpp.run(asyncio.sleep(0.2), 5, "abort")   # the loop closes the socket
    wait_c2s(node, r"session of %s kept 300 s" % re.escape(jid), mark)
    send(xmpp, w, jid, "while away")
    resumed = xmpp.loop.create_future()
    x.add_event_handler("session_resumed",
                        lambda e: resumed.done() or resumed.set_result(e))

    async def reconnect():
        v._connect(x)
        await resumed
    xmpp.run(reconnect(), 20, "slixmpp resumption")
    v.wait_message(body="while away")
    wait_c2s(node, r"session of %s resumed" % re.escape(jid), mark)
    assert x["xep_0198"].sm_id == smid and str(x.boundjid) == jid
    send(xmpp, w, jid, "after")
    v.wait_message(body="after")


def test_acks_counted_exactly(sandbox, xmpp):
    """Exact counts: h covers each stanza we sent; the server asks with
    <r/> for what it sent and refuses an h beyond it."""
    node = sm_node(sandbox)
    register(xmpp, node, "carl")
    r, jid = login(node, "carl", "raw")
    r.enable(resume=False)
    r.send("<r xmlns='%s'/>" % SM)
    assert attr(r.read_until(r"<a [^>]*/>").group(0), "h") == "0"
    for i in range(3):
        r.send("<message to='%s' id='m%d'><body>self %d</body></message>" % (jid, i, i))
    r.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
    r.send("<r xmlns='%s'/>" % SM)
    start = r.pos
    assert attr(r.read_until(r"<a [^>]*/>").group(0), "h") == "4"
    # The three messages and the ping result came to us (before or after
    # that <a/>): 4 sent, and the server asked for an ack.
    r.pos = start
    r.read_until(r"id='p1'")
    r.pos = start
    for i in range(3):
        r.read_until("self %d" % i)
    assert "<r xmlns='%s'/>" % SM in r.buf
    r.send("<a xmlns='%s' h='4'/>" % SM)
    r.send("<r xmlns='%s'/>" % SM)
    assert attr(r.read_until(r"<a [^>]*/>").group(0), "h") == "4"
    r.send("<a xmlns='%s' h='5'/>" % SM)
    r.read_until(r"<undefined-condition")
    r.close()


@pytest.mark.parametrize("flavor", ["ours", "stock"])
def test_resume_after_cut(sandbox, xmpp, flavor):
    """Behind our sm or jabberd2's: The connection dies; a message sent meanwhile is kept; a new stream
    of the same user resumes with <resume/> and receives the unacked and
    the new stanza, under the same full JID, without a new bind."""
    node = sm_node(sandbox, flavor=flavor)
    register(xmpp, node, "dora", "eve")
    eve = client(xmpp, node, "eve")
    eve.login()
    r, jid = login(node, "dora", "phone")
    enabled = r.enable()
    smid = attr(enabled, "id")
    assert attr(enabled, "resume") == "true" and attr(enabled, "max") == "300"
    assert smid and len(smid) == 40
    send(xmpp, eve, jid, "before the cut")
    r.read_until("before the cut")
    r.send("<a xmlns='%s' h='1'/>" % SM)
    send(xmpp, eve, jid, "unacked")
    r.read_until("unacked")
    mark = node.daemons["c2s"].mark()
    r.cut()
    wait_c2s(node, r"kept 300 s for resumption \(1 unacknowledged\)", mark)
    send(xmpp, eve, jid, "while away")
    time.sleep(paths.scaled(0.5))
    r2 = Raw(node)
    r2.auth("dora", "pw")
    # h=1: "unacked" did not count as handled, so it comes again.
    r2.send("<resume xmlns='%s' previd='%s' h='1'/>" % (SM, smid))
    resumed = r2.read_until(r"<resumed[^>]*/>").group(0)
    assert attr(resumed, "previd") == smid
    assert attr(resumed, "h") == "0"            # dora sent nothing
    r2.read_until("unacked.*while away")
    assert "before the cut" not in r2.buf
    # The session goes on: a message to itself comes back.
    r2.send("<message to='%s'><body>resumed ok</body></message>" % jid)
    r2.read_until("resumed ok")
    r2.send("<r xmlns='%s'/>" % SM)
    assert attr(r2.read_until(r"<a [^>]*/>").group(0), "h") == "1"
    r2.close()


@pytest.mark.parametrize("flavor", ["ours", "stock"])
def test_resume_after_expiry_goes_offline(sandbox, xmpp, flavor):
    """Behind our sm or jabberd2's: After the resumption timeout the session ends: <resume/> gets
    item-not-found, and the unacknowledged message and the one sent while
    away are stored offline and delivered at the next login. An iq sent to
    the session meanwhile gets an error instead of no answer."""
    node = sm_node(sandbox, resume=2, flavor=flavor)
    register(xmpp, node, "fay", "gus")
    gus = client(xmpp, node, "gus")
    gus.login()
    r, jid = login(node, "fay", "laptop")
    smid = attr(r.enable(), "id")
    send(xmpp, gus, jid, "unacked one")
    r.read_until("unacked one")
    mark = node.daemons["c2s"].mark()
    r.cut()
    wait_c2s(node, r"kept 2 s for resumption", mark)
    send(xmpp, gus, jid, "sent while away")

    async def ping():
        from slixmpp.exceptions import IqError
        try:
            await gus.xmpp.plugin["xep_0199"].send_ping(jid, timeout=paths.scaled(10))
        except IqError as e:
            return e.iq["error"]["condition"]
        return "answered"
    assert xmpp.run(ping(), 20, "ping to a parked session") == "service-unavailable"
    wait_c2s(node, r"not resumed: resumption timed out; 2 messages back", mark)
    r2 = Raw(node)
    r2.auth("fay", "pw")
    r2.send("<resume xmlns='%s' previd='%s' h='0'/>" % (SM, smid))
    r2.read_until(r"<failed[^>]*>\s*<item-not-found")
    r2.close()
    r3, _ = login(node, "fay", "desktop", presence=True)
    r3.read_until("unacked one")
    r3.read_until("sent while away")
    r3.close()


def test_resume_with_another_users_id(sandbox, xmpp):
    """A resumption id is bound to its user: another account's <resume/>
    with it fails like an unknown id, and the owner can still resume."""
    node = sm_node(sandbox)
    register(xmpp, node, "hal", "ida")
    r, jid = login(node, "hal", "one")
    smid = attr(r.enable(), "id")
    mark = node.daemons["c2s"].mark()
    r.cut()
    wait_c2s(node, r"kept 300 s", mark)
    thief = Raw(node)
    thief.auth("ida", "pw")
    thief.send("<resume xmlns='%s' previd='%s' h='0'/>" % (SM, smid))
    thief.read_until(r"<failed[^>]*>\s*<item-not-found")
    # An unknown id of the right form too.
    thief.send("<resume xmlns='%s' previd='%s' h='0'/>" % (SM, "x" * 40))
    thief.read_until(r"<failed[^>]*>\s*<item-not-found")
    thief.close()
    r2 = Raw(node)
    r2.auth("hal", "pw")
    r2.send("<resume xmlns='%s' previd='%s' h='0'/>" % (SM, smid))
    r2.read_until(r"<resumed")
    r2.close()


def test_enable_before_bind_and_unauthenticated(sandbox, xmpp):
    """<enable/> before a resource is bound, or twice: failed
    unexpected-request. The client's max lowers the resumption time.
    <r/> without enable ends the stream, and so does <resume/> before
    authentication (not-authorized)."""
    node = sm_node(sandbox)
    register(xmpp, node, "jon")
    r = Raw(node)
    r.auth("jon", "pw")
    r.send("<enable xmlns='%s'/>" % SM)
    r.read_until(r"<failed[^>]*>\s*<unexpected-request")
    r.bind("x")
    r.send("<r xmlns='%s'/>" % SM)
    r.read_until(r"<unsupported-stanza-type")
    r.close()
    # A client's max below the configured time is honoured, above is not.
    for want, got in (("5", "5"), ("100000", "300")):
        r = Raw(node)
        r.auth("jon", "pw")
        r.bind("m" + want)
        r.send("<enable xmlns='%s' resume='true' max='%s'/>" % (SM, want))
        assert attr(r.read_until(r"<enabled[^>]*>").group(0), "max") == got
        r.send("<enable xmlns='%s'/>" % SM)
        r.read_until(r"<failed[^>]*>\s*<unexpected-request")
        r.send("</stream:stream>")
        r.close()
    r = Raw(node)
    r.open()
    r.send("<resume xmlns='%s' previd='%s' h='0'/>" % (SM, "a" * 40))
    r.read_until(r"<not-authorized")
    r.close()


def test_queue_bound_while_away(sandbox, xmpp):
    """stream-management.queue: a parked session that collects more
    stanzas than that ends at once; nothing is lost, all messages are
    offline at the next login."""
    node = sm_node(sandbox, queue=5)
    register(xmpp, node, "kim", "lou")
    lou = client(xmpp, node, "lou")
    lou.login()
    r, jid = login(node, "kim", "tab")
    smid = attr(r.enable(), "id")
    mark = node.daemons["c2s"].mark()
    r.cut()
    wait_c2s(node, r"kept 300 s", mark)
    for i in range(9):
        send(xmpp, lou, jid, "queued %d" % i)
    wait_c2s(node, r"not resumed: too many stanzas waiting; 6 messages back", mark)
    r2 = Raw(node)
    r2.auth("kim", "pw")
    r2.send("<resume xmlns='%s' previd='%s' h='0'/>" % (SM, smid))
    r2.read_until(r"<item-not-found")
    r2.close()
    r3, _ = login(node, "kim", "tab2", presence=True)
    for i in range(9):
        r3.read_until("queued %d" % i)
    r3.close()


def test_queue_bound_while_connected(sandbox, xmpp):
    """A client that never acknowledges is closed with resource-constraint
    once the queue is full, and the unacknowledged messages go offline."""
    node = sm_node(sandbox, queue=3)
    register(xmpp, node, "mia", "ned")
    ned = client(xmpp, node, "ned")
    ned.login()
    r, jid = login(node, "mia", "w")
    r.enable(resume=False)
    for i in range(4):
        send(xmpp, ned, jid, "flood %d" % i)
    r.read_until(r"<resource-constraint")
    r.close()
    r2, _ = login(node, "mia", "w2", presence=True)
    for i in range(4):
        r2.read_until("flood %d" % i)
    r2.close()


@pytest.mark.parametrize("how,flavor", [("cut", "ours"), ("close", "ours"),
                                        ("cut", "stock")])
def test_unacked_back_to_sm_without_resumption(sandbox, xmpp, how, flavor):
    """Stream management without resumption: when the stream ends (cut,
    or closed by the client) the unacknowledged message goes back to the
    sm at once and is offline at the next login; an acknowledged one is
    not delivered twice."""
    node = sm_node(sandbox, flavor=flavor)
    register(xmpp, node, "ole", "pam")
    pam = client(xmpp, node, "pam")
    pam.login()
    r, jid = login(node, "ole", "a")
    enabled = r.enable(resume=False)
    assert attr(enabled, "id") is None and attr(enabled, "resume") is None
    send(xmpp, pam, jid, "acked one")
    r.read_until("acked one")
    r.send("<a xmlns='%s' h='1'/>" % SM)
    send(xmpp, pam, jid, "not acked")
    r.read_until("not acked")
    mark = node.daemons["c2s"].mark()
    if how == "cut":
        r.cut()
    else:
        r.send("</stream:stream>")
        r.read_until("</stream:stream>")
        r.close()
    wait_c2s(node, r"1 unacknowledged message back to the sm", mark)
    r2, _ = login(node, "ole", "b", presence=True)
    r2.read_until("not acked")
    time.sleep(paths.scaled(0.5))
    assert "acked one" not in r2.buf
    r2.close()


def test_replaced_session_hands_unacked_to_new_one(sandbox, xmpp):
    """A login with the same resource replaces the session (conflict):
    the old stream's unacknowledged message reaches the new session."""
    node = sm_node(sandbox)
    register(xmpp, node, "vic", "wen")
    wen = client(xmpp, node, "wen")
    wen.login()
    r, jid = login(node, "vic", "same")
    r.enable()
    send(xmpp, wen, jid, "never acked")
    r.read_until("never acked")
    r2, jid2 = login(node, "vic", "same")
    assert jid2 == jid
    r.read_until(r"<conflict")
    r.close()
    r2.read_until("never acked")
    r2.close()


def test_stream_management_off(sandbox, xmpp):
    """stream-management.enable false: no <sm/> feature, and <enable/>
    ends the stream."""
    node = sm_node(sandbox, enable=False)
    register(xmpp, node, "quin")
    r = Raw(node)
    feats = r.auth("quin", "pw")
    assert SM not in feats
    r.bind("x")
    r.send("<enable xmlns='%s'/>" % SM)
    r.read_until(r"<unsupported-stanza-type")
    r.close()


def test_idle_timeout_keeps_session_for_resumption(sandbox, xmpp):
    """io.check.idle closing a silent client (connection-timeout) is a
    broken connection, not an end: the session waits and resumes."""
    node = sm_node(sandbox, io="<check><interval>1</interval><idle>2</idle></check>")
    register(xmpp, node, "tia", "uli")
    r, jid = login(node, "tia", "idle")
    smid = attr(r.enable(), "id")
    mark = node.daemons["c2s"].mark()
    r.read_until(r"<connection-timeout", timeout=10)
    r.close()
    wait_c2s(node, r"session of %s kept 300 s" % re.escape(jid), mark)
    # (uli logs in only now: it would be idle too.)
    uli = client(xmpp, node, "uli")
    uli.login()
    send(xmpp, uli, jid, "after the timeout")
    r2 = Raw(node)
    r2.auth("tia", "pw")
    r2.send("<resume xmlns='%s' previd='%s' h='0'/>" % (SM, smid))
    r2.read_until(r"<resumed")
    r2.read_until("after the timeout")
    r2.close()


def test_resume_takes_over_a_live_stream(sandbox, xmpp):
    """The old stream may still look alive (a client that changed network
    sends no FIN): a resume from the same user closes it with conflict
    and takes the session over, with its unacknowledged stanza."""
    node = sm_node(sandbox)
    register(xmpp, node, "rex", "sue")
    sue = client(xmpp, node, "sue")
    sue.login()
    r, jid = login(node, "rex", "car")
    smid = attr(r.enable(), "id")
    send(xmpp, sue, jid, "on the old stream")
    r.read_until("on the old stream")
    r2 = Raw(node)
    r2.auth("rex", "pw")
    r2.send("<resume xmlns='%s' previd='%s' h='0'/>" % (SM, smid))
    r2.read_until(r"<resumed")
    r2.read_until("on the old stream")
    r.read_until(r"<conflict")
    r.close()
    send(xmpp, sue, jid, "on the new stream")
    r2.read_until("on the new stream")
    r2.send("</stream:stream>")
    r2.read_until("</stream:stream>")
    r2.close()
