# SPDX-License-Identifier: GPL-2.0-or-later
"""XMPP over WebSocket (RFC 7395) in our c2s, behind the stock jabberd2
router and sm, with a real WebSocket client library (Debian's
python3-websocket, websocket-client): SCRAM login, bind and a message each
way with a slixmpp client on TCP; wss on the direct-TLS port and the extra
io.websocket port; malformed frames answered with the right close status
and the session ended at the sm; refused upgrades (400/426/403); a plain
XMPP client still served on the same port; and a host that requires TLS
refusing ws:// unless the connection comes from a trusted proxy.

Every message the server sends must parse on its own as one XML element
(RFC 7395 3.3.3); the client here checks that on each one."""

import asyncio
import base64
import hashlib
import hmac
import os
import re
import socket
import ssl
import struct
import time
import xml.etree.ElementTree as ET

import pytest

from lib import jabberd, paths
from test_c2s import C2S_XML, Raw, node_with_our_c2s

websocket = pytest.importorskip(
    "websocket", reason="python3-websocket not installed (tools/install-deps --test)")

FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
BIND = "urn:ietf:params:xml:ns:xmpp-bind"
STREAMS = "http://etherx.jabber.org/streams"
CLIENT = "jabber:client"


class WsXmpp:
    """One XMPP client over a WebSocket: the framing, SCRAM-SHA-1, bind."""

    def __init__(self, address, secure=False, cafile=None, origin=None, timeout=10,
                 source=None, header=None):
        scheme = "wss" if secure else "ws"
        url = "%s://localhost:%d/xmpp-websocket" % (scheme, address[1])
        sslopt = {"ca_certs": cafile} if secure else None
        # Resolve "localhost" to the node's own loopback address.
        self.ws = websocket.create_connection(
            url, subprotocols=["xmpp"], timeout=paths.scaled(timeout),
            sslopt=sslopt, host="localhost", origin=origin, header=header or [],
            socket=self._sock(address, secure, cafile, source))
        assert self.ws.subprotocol == "xmpp"
        self.received = []

    @staticmethod
    def _sock(address, secure, cafile, source):
        s = socket.create_connection(address, timeout=10,
                                     source_address=(source, 0) if source else None)
        if secure:
            ctx = ssl.create_default_context(cafile=cafile)
            s = ctx.wrap_socket(s, server_hostname="localhost")
        return s

    def send(self, xml):
        self.ws.send(xml)

    def recv(self):
        """The next text message, parsed (it must be one whole element)."""
        try:
            msg = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            raise AssertionError("timed out; received so far: %r" % self.received) from None
        assert isinstance(msg, str), msg
        self.received.append(msg)
        return ET.fromstring(msg)

    def recv_until(self, tag, limit=20):
        for _ in range(limit):
            el = self.recv()
            if el.tag == tag:
                return el
        raise AssertionError("no %s in %r" % (tag, self.received))

    def open(self, domain="localhost"):
        self.send("<open xmlns='%s' to='%s' version='1.0'/>" % (FRAMING, domain))
        opened = self.recv()
        assert opened.tag == "{%s}open" % FRAMING, self.received
        assert opened.get("from") == domain and opened.get("id")
        return self.recv_until("{%s}features" % STREAMS)

    def scram_sha1(self, user, password):
        cnonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = "n=%s,r=%s" % (user, cnonce)
        self.send("<auth xmlns='%s' mechanism='SCRAM-SHA-1'>%s</auth>"
                  % (SASL, base64.b64encode(("n,," + first_bare).encode()).decode()))
        ch = self.recv()
        assert ch.tag == "{%s}challenge" % SASL, self.received
        server_first = base64.b64decode(ch.text).decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        assert attrs["r"].startswith(cnonce)
        salted = hashlib.pbkdf2_hmac("sha1", password.encode(),
                                     base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
        stored_key = hashlib.sha1(client_key).digest()
        without_proof = "c=biws,r=" + attrs["r"]
        auth_msg = ",".join((first_bare, server_first, without_proof)).encode()
        sig = hmac.new(stored_key, auth_msg, hashlib.sha1).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        final = without_proof + ",p=" + base64.b64encode(proof).decode()
        self.send("<response xmlns='%s'>%s</response>"
                  % (SASL, base64.b64encode(final.encode()).decode()))
        ok = self.recv()
        assert ok.tag == "{%s}success" % SASL, self.received
        server_key = hmac.new(salted, b"Server Key", hashlib.sha1).digest()
        want = hmac.new(server_key, auth_msg, hashlib.sha1).digest()
        assert base64.b64decode(ok.text).decode() == "v=" + base64.b64encode(want).decode()

    def login(self, user, password, resource="ws", presence=True):
        """SCRAM-SHA-1, the stream restart with a new <open/>, bind,
        initial presence (unless told not to); returns the full JID."""
        feats = self.open()
        mechs = [m.text for m in feats.iter("{%s}mechanism" % SASL)]
        assert "SCRAM-SHA-1" in mechs, self.received
        assert feats.find("{urn:ietf:params:xml:ns:xmpp-tls}starttls") is None
        self.scram_sha1(user, password)
        feats = self.open()
        assert feats.find("{%s}bind" % BIND) is not None, self.received
        self.send("<iq xmlns='%s' type='set' id='b1'><bind xmlns='%s'>"
                  "<resource>%s</resource></bind></iq>" % (CLIENT, BIND, resource))
        res = self.recv_until("{%s}iq" % CLIENT)
        assert res.get("type") == "result", self.received
        jid = res.find("{%s}bind/{%s}jid" % (BIND, BIND)).text
        if not presence:
            return jid
        self.send("<presence xmlns='%s'/>" % CLIENT)
        # The roster answer comes after the sm handled the presence: the
        # session is available from here on.
        self.send("<iq xmlns='%s' type='get' id='r0'><query xmlns='jabber:iq:roster'/></iq>"
                  % CLIENT)
        for _ in range(20):
            el = self.recv()
            if el.tag == "{%s}iq" % CLIENT and el.get("id") == "r0":
                break
        else:
            raise AssertionError("no roster result in %r" % self.received)
        return jid

    def wait_message(self, body, limit=20):
        for _ in range(limit):
            el = self.recv()
            if el.tag == "{%s}message" % CLIENT and el.findtext("{%s}body" % CLIENT) == body:
                return el
        raise AssertionError("no message %r in %r" % (body, self.received))

    def close_frame(self):
        """Read up to the server's close frame; returns its status."""
        for _ in range(20):
            op, frame = self.ws.recv_data_frame(True)
            if op == websocket.ABNF.OPCODE_CLOSE:
                return struct.unpack("!H", frame.data[:2])[0] if len(frame.data) >= 2 else None
            if op == websocket.ABNF.OPCODE_TEXT:
                self.received.append(frame.data.decode())
        raise AssertionError("no close frame; got %r" % self.received)

    def raw(self, data):
        self.ws.sock.sendall(data)

    def server_closed(self, timeout=10):
        end = time.monotonic() + paths.scaled(timeout)
        s = self.ws.sock
        while time.monotonic() < end:
            s.settimeout(max(0.1, end - time.monotonic()))
            try:
                if not s.recv(65536):
                    return True
            except socket.timeout:
                continue
            except (ConnectionResetError, ssl.SSLError):
                return True
        return False

    def close(self):
        self.ws.close()


def ws_frame(opcode, payload, fin=True, mask=True):
    """A client frame built by hand, to break the rules on purpose."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def ws_node(sandbox, websocket_xml="<websocket/>", **kw):
    return node_with_our_c2s(sandbox, extra_io=websocket_xml, **kw)


# ---- tests ----

def test_ws_login_and_message(sandbox, xmpp):
    """SCRAM login and bind over ws://, a message each way with a slixmpp
    client on TCP (same port), then <close/> ends the session at the sm."""
    node = ws_node(sandbox)
    bob = xmpp.client("bob@localhost", "pw-b", node.c2s_address)
    bob.register()
    xmpp.client("alice@localhost", "pw-a", node.c2s_address).register()
    bob.login()
    alice = WsXmpp(node.c2s_address)
    jid = alice.login("alice", "pw-a")
    assert jid == "alice@localhost/ws"
    log = node.log("c2s").read_text()
    assert "authenticated as alice@localhost (SCRAM-SHA-1)" in log
    assert "WebSocket client" in log

    bob.send_message(jid, "to the browser")
    # slixmpp writes only while its loop runs.
    xmpp.run(asyncio.sleep(0.5), 5, "bob sends")
    got = alice.wait_message("to the browser")
    assert got.get("from").startswith("bob@localhost/")
    alice.send("<message xmlns='jabber:client' to='bob@localhost' type='chat'>"
               "<body>from the browser</body></message>")
    msg = bob.wait_message(body="from the browser")
    assert str(msg["from"]) == jid

    sm = node.daemons["sm"]
    mark = sm.mark()
    alice.send("<close xmlns='%s'/>" % FRAMING)
    assert alice.close_frame() == 1000
    assert alice.received[-1] == "<close xmlns='%s'/>" % FRAMING
    assert alice.server_closed()
    sm.wait_log(r"session ended: jid=alice@localhost/ws", since=mark)


def test_ws_session_idle_past_the_trim_keeps_working(sandbox, xmpp):
    """c2s gives back the parser and buffers of a stream quiet for one
    2-second sweep (sx_trim); a WebSocket client that was quiet longer
    than that still sends and receives, several times over."""
    node = ws_node(sandbox)
    bob = xmpp.client("bob@localhost", "pw-b", node.c2s_address)
    bob.register()
    xmpp.client("alice@localhost", "pw-a", node.c2s_address).register()
    bob.login()
    alice = WsXmpp(node.c2s_address)
    jid = alice.login("alice", "pw-a")
    for i in range(2):
        time.sleep(4.5)
        alice.send("<message xmlns='jabber:client' to='bob@localhost' "
                   "type='chat'><body>quiet %d</body></message>" % i)
        assert str(bob.wait_message(body="quiet %d" % i)["from"]) == jid
        time.sleep(4.5)
        bob.send_message(jid, "answer %d" % i)
        xmpp.run(asyncio.sleep(0.5), 5, "bob sends")
        assert alice.wait_message("answer %d" % i) is not None


def test_plain_xmpp_on_the_same_port(sandbox):
    """io.websocket keeps serving ordinary XMPP clients on the port."""
    node = ws_node(sandbox)
    r = Raw(node.c2s_address)
    feats = r.open("localhost")
    assert "<stream:stream" in feats and "SCRAM-SHA-1" in feats
    r.close()


def test_wss_on_ssl_port_and_extra_port(sandbox, xmpp):
    """wss:// on local.ssl-port (PLAIN is offered: the stream is
    encrypted), and ws:// on <websocket><port>."""
    ws_port = sandbox.free_port("127.0.0.2")
    node = ws_node(sandbox, websocket_xml="<websocket><port>%d</port></websocket>" % ws_port,
                   tls=True, require_starttls="no", ssl_port=True)
    xmpp.client("carol@localhost", "pw-c", node.c2s_address).register()
    c = WsXmpp((node.ip, node.ssl_port), secure=True, cafile=node.cert.certfile)
    feats = c.open()
    mechs = [m.text for m in feats.iter("{%s}mechanism" % SASL)]
    assert "PLAIN" in mechs
    c.scram_sha1("carol", "pw-c")
    c.close()
    d = WsXmpp((node.ip, ws_port))
    assert d.login("carol", "pw-c", resource="extra") == "carol@localhost/extra"
    d.close()


BAD_FRAMES = {
    "unmasked": (ws_frame(1, b"<presence xmlns='jabber:client'/>", mask=False), 1002),
    "reserved opcode": (ws_frame(3, b"<presence/>"), 1002),
    "oversized": (ws_frame(1, b"<message xmlns='jabber:client'><body>" + b"x" * 20000
                           + b"</body></message>"), 1009),
    "binary": (ws_frame(2, b"<presence xmlns='jabber:client'/>"), 1003),
}


@pytest.mark.parametrize("case", sorted(BAD_FRAMES))
def test_malformed_frame_closes_and_ends_session(sandbox, xmpp, case):
    """A logged-in WebSocket client sends a frame RFC 6455 forbids (or one
    over io.limits.stanzasize): a close frame with the matching status,
    the TCP connection closed, the session ended at the sm."""
    data, status = BAD_FRAMES[case]
    node = ws_node(sandbox, stanzasize=16384)
    xmpp.client("dan@localhost", "pw-d", node.c2s_address).register()
    c = WsXmpp(node.c2s_address)
    c.login("dan", "pw-d")
    sm = node.daemons["sm"]
    mark = sm.mark()
    c.raw(data)
    assert c.close_frame() == status
    assert c.server_closed()
    sm.wait_log(r"session ended: jid=dan@localhost/ws", since=mark)
    assert "policy-violation" in node.log("c2s").read_text()


def http_request(address, lines):
    s = socket.create_connection(address, timeout=10)
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    end = time.monotonic() + paths.scaled(10)
    while time.monotonic() < end:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode(errors="replace")


UPGRADE = ["GET /xmpp-websocket HTTP/1.1", "Host: localhost", "Upgrade: websocket",
           "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]


@pytest.mark.parametrize("lines,status", [
    (UPGRADE + ["Sec-WebSocket-Version: 13"], "400"),                 # no xmpp
    (UPGRADE + ["Sec-WebSocket-Version: 8", "Sec-WebSocket-Protocol: xmpp"], "426"),
    (UPGRADE[:4] + ["Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: xmpp"], "400"),
    (UPGRADE + ["Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: xmpp",
                "Origin: https://evil.example"], "403"),
    (["GET / HTTP/1.1", "Host: localhost", "X-Pad: " + "a" * 9000], "400"),
    (["GET / HTTP/1.1", "Host localhost"], "400"),
], ids=["no-subprotocol", "version-8", "no-key", "origin", "huge-header", "malformed"])
def test_bad_upgrade_refused(sandbox, lines, status):
    """Each bad upgrade gets its HTTP status and the connection is closed
    (http_request reads until the server closes)."""
    node = ws_node(sandbox, websocket_xml="<websocket><origin>https://chat.example</origin>"
                   "</websocket>")
    out = http_request(node.c2s_address, lines)
    assert out.startswith("HTTP/1.1 %s " % status), out
    assert "<" not in out
    log = node.log("c2s").read_text()
    assert "policy-violation" in log


def test_origin_allowed(sandbox, xmpp):
    node = ws_node(sandbox, websocket_xml="<websocket><origin>https://chat.example</origin>"
                   "</websocket>")
    c = WsXmpp(node.c2s_address, origin="https://chat.example")
    c.open()
    c.close()


def test_required_tls_refuses_plain_ws(sandbox):
    """A host that requires TLS: ws:// gets policy-violation ("use wss")
    in an RFC 7395 <stream:error>, then <close/> and the close frame."""
    node = ws_node(sandbox, tls=True)
    c = WsXmpp(node.c2s_address, source="127.0.0.3")
    c.send("<open xmlns='%s' to='localhost' version='1.0'/>" % FRAMING)
    assert c.recv().tag == "{%s}open" % FRAMING
    err = c.recv()
    assert err.tag == "{%s}error" % STREAMS
    assert err.find("{urn:ietf:params:xml:ns:xmpp-streams}policy-violation") is not None
    assert c.recv().tag == "{%s}close" % FRAMING
    assert c.close_frame() == 1000
    assert c.server_closed()


def test_required_tls_trusted_proxy(sandbox):
    """The same from a trusted proxy is served, without STARTTLS, and the
    client address it forwards is logged."""
    node = ws_node(sandbox, tls=True, websocket_xml="<websocket><trusted-proxy>"
                   "127.0.0.1</trusted-proxy></websocket>")
    d = WsXmpp(node.c2s_address, source="127.0.0.1",
               header=["X-Forwarded-For: 203.0.113.9"])
    feats = d.open()
    assert feats.find("{urn:ietf:params:xml:ns:xmpp-tls}starttls") is None
    assert any(m.text == "SCRAM-SHA-1" for m in feats.iter("{%s}mechanism" % SASL))
    d.close()
    assert "WebSocket client 203.0.113.9 (via proxy)" in node.log("c2s").read_text()


def sasl_condition(c, user, password):
    """SCRAM-SHA-1 on an open stream: None on success, else the condition
    of the <failure/> the server sent."""
    try:
        c.scram_sha1(user, password)
        return None
    except AssertionError:
        m = re.match(r"<failure xmlns='%s'><([a-z-]+)/>" % SASL, c.received[-1])
        assert m, c.received
        return m.group(1)


def test_auth_throttle_per_forwarded_client(sandbox, xmpp):
    """Behind a trusted proxy the per-IP login throttle counts the client
    the proxy forwards, not the proxy: one client's failures do not lock
    out the others. Only what the proxy appended is believed, so a client
    cannot dodge the count by writing another address in front."""
    node = ws_node(sandbox, websocket_xml="<websocket><trusted-proxy>127.0.0.1"
                   "</trusted-proxy></websocket>",
                   extra_authreg="<throttle><delay>0</delay><failures>2</failures>"
                   "<seconds>600</seconds></throttle>")
    for user in ("pia", "quin"):
        xmpp.client("%s@localhost" % user, "pw-" + user, node.c2s_address).register()

    def via_proxy(xff):
        c = WsXmpp(node.c2s_address, source="127.0.0.1",
                   header=["X-Forwarded-For: " + xff])
        c.open()
        return c

    for _ in range(2):
        c = via_proxy("198.51.100.7")
        assert sasl_condition(c, "pia", "wrong") == "not-authorized"
        c.close()
    c = via_proxy("198.51.100.8, 198.51.100.7")
    assert sasl_condition(c, "quin", "pw-quin") == "temporary-auth-failure"
    c.close()
    c = via_proxy("198.51.100.8")
    assert sasl_condition(c, "quin", "pw-quin") is None
    c.close()
    log = node.log("c2s").read_text()
    assert "too many failed logins for quin or from 198.51.100.7" in log


def test_register_limit_per_forwarded_client(sandbox, xmpp):
    """Behind a trusted proxy on loopback, the registration limit counts
    the client the proxy forwards: the default loopback exemption does not
    make every proxied client exempt, while clients that really are on
    loopback stay exempt."""
    node = ws_node(sandbox, websocket_xml="<websocket><trusted-proxy>127.0.0.1"
                   "</trusted-proxy></websocket>",
                   extra_authreg="<register><limit>1</limit><seconds>600</seconds>"
                   "</register>")

    def register_via_proxy(xff, user):
        c = WsXmpp(node.c2s_address, source="127.0.0.1",
                   header=["X-Forwarded-For: " + xff])
        c.open()
        c.send("<iq xmlns='%s' type='set' id='reg'><query xmlns='jabber:iq:register'>"
               "<username>%s</username><password>pw</password></query></iq>"
               % (CLIENT, user))
        res = c.recv_until("{%s}iq" % CLIENT)
        c.close()
        if res.get("type") == "result":
            return None
        cond = res.find("{%s}error" % CLIENT)
        return cond[0].tag.split("}")[1] if cond is not None and len(cond) else "?"

    assert register_via_proxy("203.0.113.9", "una") is None
    assert register_via_proxy("203.0.113.9", "vic") == "resource-constraint"
    assert register_via_proxy("203.0.113.10", "wes") is None
    assert register_via_proxy("127.0.0.1", "xia") is None
    assert register_via_proxy("127.0.0.1", "yul") is None
    for name in ("zed", "zoe"):
        xmpp.client(name + "@localhost", "pw", node.c2s_address).register(timeout=10)
    assert "registration limit reached for 203.0.113.9" in node.log("c2s").read_text()


def test_slow_upgrade_request_times_out(sandbox):
    """A client that never finishes its HTTP request (slowloris) is closed
    by the unauthenticated-stream timeout (io.check.auth)."""
    node = ws_node(sandbox, websocket_xml="<websocket/><check><interval>1</interval>"
                   "<auth>2</auth></check>")
    s = socket.create_connection(node.c2s_address, timeout=10)
    s.sendall(b"GET /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: web")
    start = time.monotonic()
    s.settimeout(paths.scaled(15))
    data = s.recv(65536)
    # Closed without an answer: nothing was ever a WebSocket or a stream.
    assert data == b"", data
    assert time.monotonic() - start < paths.scaled(10)
    s.close()
    assert "not authenticated in time" in node.log("c2s").read_text()


def test_many_bad_connections_leave_nothing_behind(sandbox):
    """Bounded churn of refused upgrades and malformed frames before login
    (300 connections, at most 60 s): each is answered and closed, and the
    daemons' sanitizer check at teardown finds no leak."""
    node = ws_node(sandbox)
    open_frame = ws_frame(1, ("<open xmlns='%s' to='localhost' version='1.0'/>"
                              % FRAMING).encode())
    upgrade = ("\r\n".join(UPGRADE + ["Sec-WebSocket-Version: 13",
                                      "Sec-WebSocket-Protocol: xmpp"]) + "\r\n\r\n").encode()
    bad = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        upgrade + ws_frame(1, b"<presence/>", mask=False),
        upgrade + open_frame,           # then closed by the client
        upgrade + ws_frame(1, b"x" * 70000),
        upgrade + ws_frame(8, b"\x03\xe8"),
    ]
    deadline = time.monotonic() + 60
    for i in range(300):
        assert time.monotonic() < deadline, "only %d connections in 60 s" % i
        kind = i % len(bad)
        s = socket.create_connection(node.c2s_address, timeout=10)
        got = b""
        try:
            s.sendall(bad[kind])
            if kind == 2:
                got = s.recv(4096)
            else:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
        except (ConnectionResetError, BrokenPipeError):
            # The oversized frame is refused from its header: the server
            # may close while the rest is still in flight.
            assert kind == 3
        finally:
            s.close()
        if kind != 3:
            assert got.startswith(b"HTTP/1.1 "), got[:80]
    assert node.log("c2s").read_text().count("policy-violation") >= 120
    r = Raw(node.c2s_address)
    assert "<stream:features" in r.open("localhost")
    r.close()


SESSIONS = int(os.environ.get("JC_BENCH_SESSIONS", "1000"))


@pytest.mark.skipif(os.environ.get("JC_BENCH") != "1", reason="benchmark: set JC_BENCH=1")
def test_bench_memory_per_idle_wss_session(sandbox, xmpp):
    """Benchmark, not a timed test (JC_BENCH=1, pytest -s): c2s resident
    memory per idle authenticated, bound wss session (SCRAM-SHA-1 over
    WebSocket on the direct-TLS port), as test_c2s_bench measures TCP.

        JC_BENCH=1 JC_BENCH_SESSIONS=1000 JC_BUILDDIR=build \\
            /usr/bin/python3 -m pytest -s -q tests/integration/test_c2s_ws.py -k bench
    """
    from test_c2s_bench import rss_kib

    node = jabberd.Node(sandbox, flavor={"c2s": "ours"}, tls=True)
    node.ssl_port = sandbox.free_port(node.ip)
    node.config("c2s").write_text(C2S_XML.format(
        ip=node.ip, router_port=node.router_port, user=node.router_user,
        password=node.router_pass, log=node.log("c2s"),
        attrs="register-enable='mu' pemfile='%s'" % node.cert.pemfile,
        domain=node.domain, port=node.c2s_port, mechs="<plain/>", db=node.db,
        iterations=64, stanzasize=65535,
        extra_local="<ssl-port>%d</ssl-port><pemfile>%s</pemfile>"
        % (node.ssl_port, node.cert.pemfile),
        extra_authreg="", extra_io="<websocket/>").replace(
            "<max_fds>1024</max_fds>", "<max_fds>%d</max_fds>" % (SESSIONS + 100)))
    node.start()
    xmpp.client("idle@localhost", "pw-idle", node.c2s_address, tls="starttls",
                cafile=node.cert.certfile).register()
    pid = node.daemons["c2s"].pid
    addr = (node.ip, node.ssl_port)

    def session(resource):
        c = WsXmpp(addr, secure=True, cafile=node.cert.certfile)
        c.login("idle", "pw-idle", resource=resource, presence=False)
        c.received = []
        return c

    clients = [session("warmup")]
    time.sleep(0.5)
    before = rss_kib(pid)
    for i in range(SESSIONS):
        clients.append(session("r%d" % i))
    time.sleep(1)
    after = rss_kib(pid)
    print("\nBENCH c2s=ours idle_wss_sessions=%d rss_before_kib=%d rss_after_kib=%d "
          "kib_per_session=%.1f" % (SESSIONS, before, after, (after - before) / SESSIONS))
    for c in clients:
        c.close()
