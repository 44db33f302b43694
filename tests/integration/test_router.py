# SPDX-License-Identifier: GPL-2.0-or-later
"""Our router over real sockets, driven by test components written here:
the jabberd2 component protocol (stream, SASL DIGEST-MD5 against
router-users.xml, bind/unbind/route) and XEP-0114 (<handshake/>). Covers
auth success and failure, bind conflicts and ACL refusals, unicast,
broadcast and default routing, bounces, unbind on disconnect, XEP-0114
right and wrong secret, filter rules, SIGHUP reload and bad input
(garbage, wrong namespace, oversized routes) with the router still serving
the others afterwards.
"""

import base64
import hashlib
import os
import re
import secrets
import signal
import socket
import time
import xml.etree.ElementTree as ET

import ssl
import subprocess
import threading

import pytest

from lib import certs, jabberd, paths

COMP = "http://jabberd.jabberstudio.org/ns/component/1.0"
STREAMS = "http://etherx.jabber.org/streams"
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
ACCEPT = "jabber:component:accept"
HEADER = ("<?xml version='1.0'?><stream:stream xmlns:stream='%s' "
          "version='1.0'>" % STREAMS)
TIMEOUT = 10.0 * float(os.environ.get("JC_TIMEOUT_SCALE", "1"))


def q(ns, name):
    return "{%s}%s" % (ns, name)


class Closed(Exception):
    pass


class Stream:
    """A client stream: raw bytes out, parsed top-level elements in."""

    def __init__(self, addr):
        self.sock = socket.create_connection(addr, timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.raw = bytearray()  # every byte received, as received
        self.restart()
        self.closed = False

    def restart(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.header = None
        self.queue = []

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _feed(self, data):
        self.parser.feed(data)
        for ev, el in self.parser.read_events():
            if ev == "start":
                self.depth += 1
                if self.depth == 1:
                    self.header = el
            else:
                self.depth -= 1
                if self.depth == 1:
                    self.queue.append(el)
                    self.header.remove(el)
                elif self.depth == 0:
                    self.closed = True

    def _read(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("nothing from the router within %.1f s" % TIMEOUT)
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
            raise Closed("connection closed")
        self.raw += data
        self._feed(data)

    def wait_header(self):
        deadline = time.monotonic() + TIMEOUT
        while self.header is None:
            self._read(deadline)
        return self.header

    def next(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while not self.queue:
            if self.closed:
                raise Closed("stream closed")
            self._read(deadline)
        return self.queue.pop(0)

    def expect(self, tag, skip_presence=True):
        """The next element named `tag`, skipping advertisement presences."""
        for _ in range(200):
            el = self.next()
            if skip_presence and el.tag == q(COMP, "presence") and tag != el.tag:
                continue
            assert el.tag == tag, "expected %s, got %s" % (tag, ET.tostring(el))
            return el
        raise AssertionError("too many presences")

    def nothing(self, wait=0.3):
        """Assert nothing but presences arrives within `wait` seconds."""
        try:
            while True:
                el = self.next(timeout=wait)
                assert el.tag == q(COMP, "presence"), ET.tostring(el)
        except (TimeoutError, socket.timeout):
            pass

    def stream_error(self):
        """The condition of the stream error the router sends; then the
        stream must end."""
        el = self.expect(q(STREAMS, "error"))
        conds = [c.tag.split("}")[1] for c in el
                 if c.tag.startswith("{urn:ietf:params:xml:ns:xmpp-streams}")
                 and not c.tag.endswith("}text")]
        try:
            while True:
                self.next(timeout=2)
        except (Closed, TimeoutError, socket.timeout, ConnectionError):
            pass
        return conds[0]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def digest_response(challenge, user, password, host="localhost"):
    d = {}
    for k, v1, v2 in re.findall(r'([\w-]+)=(?:"([^"]*)"|([^,]*))', challenge):
        d[k] = v1 or v2
    realm, nonce = d["realm"], d["nonce"]
    cnonce = secrets.token_hex(16)
    uri = "jabberd-router/" + host
    a1 = (hashlib.md5(("%s:%s:%s" % (user, realm, password)).encode()).digest()
          + (":%s:%s" % (nonce, cnonce)).encode())
    a2 = "AUTHENTICATE:" + uri
    h = lambda b: hashlib.md5(b).hexdigest()
    resp = h(("%s:%s:00000001:%s:auth:%s" % (h(a1), nonce, cnonce,
                                             h(a2.encode()))).encode())
    return ('username="%s",realm="%s",nonce="%s",cnonce="%s",nc=00000001,'
            'qop=auth,digest-uri="%s",response=%s,charset=utf-8'
            % (user, realm, nonce, cnonce, uri, resp)), d


class Component(Stream):
    """A jabberd2-protocol component."""

    def auth(self, user, password):
        """DIGEST-MD5 as jabberd2's components do it. True on success,
        False on <failure/>."""
        self.send(HEADER)
        hdr = self.wait_header()
        assert len(hdr.get("id", "")) == 40
        feats = self.expect(q(STREAMS, "features"))
        mechs = [m.text for m in feats.iter(q(SASL, "mechanism"))]
        assert mechs == ["DIGEST-MD5"]
        self.send("<auth xmlns='%s' mechanism='DIGEST-MD5'/>" % SASL)
        ch = self.next()
        assert ch.tag == q(SASL, "challenge")
        text = base64.b64decode(ch.text).decode()
        resp, d = digest_response(text, user, password)
        assert d["realm"] == "jabberd-router"
        self.send("<response xmlns='%s'>%s</response>"
                  % (SASL, base64.b64encode(resp.encode()).decode()))
        el = self.next()
        if el.tag == q(SASL, "challenge"):
            self.send("<response xmlns='%s'/>" % SASL)
            el = self.next()
        if el.tag == q(SASL, "failure"):
            return False
        assert el.tag == q(SASL, "success"), ET.tostring(el)
        self.restart()
        self.send(HEADER)
        self.wait_header()
        feats = self.expect(q(STREAMS, "features"))
        assert len(feats) == 0
        return True

    def bind(self, name, extra="", children=""):
        self.send("<bind xmlns='%s' name='%s'%s>%s</bind>"
                  % (COMP, name, extra, children))
        return self.expect(q(COMP, "bind"))

    def route(self, to, frm, payload="", extra=""):
        self.send("<route xmlns='%s' to='%s' from='%s'%s>%s</route>"
                  % (COMP, to, frm, extra, payload))


def msg(frm, to, body="hi"):
    return ("<message xmlns='jabber:client' from='%s' to='%s'><body>%s</body>"
            "</message>" % (frm, to, body))


class Router:
    """Our router in a sandbox with its users, filter and config."""

    def __init__(self, sandbox, users=None, acl_all=("admin",), secret=None,
                 filter_xml=None, extra="", local_extra="", start=True,
                 flavor="ours"):
        self.sb = sandbox
        self.ip = "127.0.0.1"
        self.port = sandbox.free_port(self.ip)
        self.users = users if users is not None else {
            "admin": "admin-pw", "sm": "sm-pw", "c2s": "c2s-pw", "s2s": "s2s-pw"}
        self.secret = secret
        self.users_file = sandbox.write("router-users.xml", "<users>%s</users>" % "".join(
            "<user><name>%s</name><secret>%s</secret></user>" % kv
            for kv in self.users.items()))
        self.filter_file = sandbox.path("router-filter.xml")
        if filter_xml is not None:
            sandbox.write("router-filter.xml", filter_xml)
        self.log = sandbox.path("router.log")
        acl = "".join("<user>%s</user>" % u for u in acl_all)
        self.config = sandbox.write("router.xml", """<router>
  <id>router</id>
  <pidfile>%s</pidfile>
  <log type='file'><file>%s</file></log>
  <local><ip>%s</ip><port>%d</port><users>%s</users>%s%s</local>
  <aci><acl type='all'>%s</acl>
       <acl type='default-route'><user>s2s</user></acl>
       <filter>%s</filter></aci>
  %s
</router>""" % (sandbox.path("router.pid"), self.log, self.ip, self.port,
                self.users_file,
                "<secret>%s</secret>" % secret if secret else "", local_extra, acl,
                self.filter_file, extra))
        if flavor == "stock":
            binary = jabberd.stock_binary_or_skip("router")
        else:
            binary = paths.our_binary("router")
            if binary is None:
                jabberd.missing("our router is not built in %s" % paths.builddir())
        self.binary = binary
        if not start:
            return
        self.daemon = sandbox.start("router", [binary, "-c", self.config],
                                    logs=[self.log],
                                    ready_port=(self.ip, self.port))

    @property
    def addr(self):
        return (self.ip, self.port)

    def component(self, user, password=None, bind=None):
        c = Component(self.addr)
        assert c.auth(user, password or self.users[user])
        if bind:
            el = c.bind(bind)
            assert el.get("error") is None, ET.tostring(el)
        return c


@pytest.fixture(params=["ours", "stock"])
def flavor(request):
    """Protocol tests run against our router and, as the reference,
    Debian's jabberd2 2.7 router: the same script must see the same
    replies from both."""
    return request.param


# ---- authentication ----

def test_auth_success_and_failure(sandbox, flavor):
    r = Router(sandbox, flavor=flavor)
    c = Component(r.addr)
    assert c.auth("sm", "sm-pw")
    bad = Component(r.addr)
    assert not bad.auth("sm", "wrong")
    nobody = Component(r.addr)
    assert not nobody.auth("nobody", "x")
    # The router keeps serving the authenticated one.
    assert c.bind("sm").get("error") is None


def test_pidfile(sandbox):
    r = Router(sandbox)
    assert sandbox.path("router.pid").read_text() == str(r.daemon.pid)


# ---- bind ----

def test_bind_replies_and_acl(sandbox, flavor):
    r = Router(sandbox, flavor=flavor)
    sm = r.component("sm")
    assert sm.bind("sm").attrib == {}
    # Another's name without the bind ACL: 403, name dropped.
    el = sm.bind("c2s")
    assert el.get("error") == "403" and el.get("name") is None
    # Invalid name: 400, name kept.
    el = sm.bind("")
    assert el.get("error") == "400" and el.get("name") == ""
    if flavor == "ours":
        # jabberd2's JID parser takes "a@@b" for node "a", domain "@b"
        # (and refuses sm with 403); ours refuses the domain "@b".
        el = sm.bind("a@@b")
        assert el.get("error") == "400" and el.get("name") == "a@@b"
    # The admin (ACL all) may bind anything, but not a taken name.
    admin = r.component("admin")
    assert admin.bind("conference.localhost").get("error") is None
    el = admin.bind("sm")
    assert el.get("error") == "409"
    # default route and log need their ACLs.
    el = sm.bind("sm", " multi='to'", "<default/>")
    assert el.get("error") == "403"
    el = sm.bind("sm", " multi='to'", "<log/>")
    assert el.get("error") == "403"


def test_advertisements_and_unbind_on_disconnect(sandbox, flavor):
    r = Router(sandbox, flavor=flavor)
    sm = r.component("sm", bind="sm")
    c2s = r.component("c2s")
    c2s.send("<bind xmlns='%s' name='c2s'/>" % COMP)
    got = []
    for _ in range(2):
        el = c2s.next()
        got.append((el.tag, el.get("from")))
    assert (q(COMP, "bind"), None) in got
    assert (q(COMP, "presence"), "sm") in got
    el = sm.next()
    assert el.tag == q(COMP, "presence") and el.get("from") == "c2s"
    c2s.close()
    el = sm.next()
    assert el.tag == q(COMP, "presence")
    assert el.get("from") == "c2s" and el.get("type") == "unavailable"
    # Its name is free again.
    c2s = r.component("c2s")
    assert c2s.bind("c2s").get("error") is None


# ---- routing ----

def test_unicast_bounce_and_checks(sandbox, flavor):
    r = Router(sandbox, flavor=flavor)
    sm = r.component("sm", bind="sm")
    c2s = r.component("c2s", bind="c2s")
    sm.route("c2s", "sm", msg("a@localhost", "b@localhost"))
    el = c2s.expect(q(COMP, "route"))
    assert el.get("to") == "c2s" and el.get("from") == "sm"
    assert el[0].find("{jabber:client}body").text == "hi"
    # Unknown destination: the same route back with error 404.
    sm.route("nowhere.example", "sm", msg("a@localhost", "b@nowhere.example"))
    el = sm.expect(q(COMP, "route"))
    assert el.get("error") == "404"
    assert el.get("to") == "nowhere.example" and el.get("from") == "sm"
    # Without to/from: 400; from a name not bound: 401.
    sm.send("<route xmlns='%s' from='sm'/>" % COMP)
    assert sm.expect(q(COMP, "route")).get("error") == "400"
    sm.send("<route xmlns='%s' to='c2s'/>" % COMP)
    assert sm.expect(q(COMP, "route")).get("error") == "400"
    sm.route("c2s", "c2s", msg("a@localhost", "b@localhost"))
    assert sm.expect(q(COMP, "route")).get("error") == "401"
    c2s.nothing()


def test_routes_forwarded_as_received(sandbox):
    """Ours passes a route it does not change on as the very bytes it
    received, even split across reads (issue 12: the router needs only the
    envelope); routes it changes, or whose bytes use prefixes, are written
    from the parsed tree with the same meaning."""
    r = Router(sandbox)
    sm = r.component("sm", bind="sm")
    c2s = r.component("c2s", bind="c2s")
    s2s = r.component("s2s")
    assert s2s.bind("s2s", children="<default/>").get("error") is None
    route = ("<route  to=\"c2s\" xmlns='%s' from='sm'\n><message xmlns='jabber:client'"
             " to='b@localhost' from='a@localhost' xml:lang='en'><body>&#x263A; &amp; "
             "<![CDATA[<b>]]></body><x xmlns=''/></message ></route>" % COMP)
    for cut in (0, 1, 17, len(route) // 2, len(route) - 1):
        if cut:
            sm.send(route[:cut])
            time.sleep(0.05)
        sm.send(route[cut:])
        el = c2s.expect(q(COMP, "route"))
        assert el[0].find("{jabber:client}body").text == "\u263a & <b>"
        assert route.encode() in c2s.raw, bytes(c2s.raw[-400:])
        c2s.raw.clear()
    # Broadcast copies too.
    bcast = ("<route xmlns='%s' from='sm' type='broadcast'>%s</route>"
             % (COMP, msg("a@localhost", "b@localhost", "all &lt;")))
    sm.send(bcast)
    for c in (c2s, s2s):
        c.expect(q(COMP, "route"))
        assert bcast.encode() in c.raw
    # A bounce is changed (error='401', from a name sm does not hold):
    # serialized, payload intact.
    sm.raw.clear()
    sm.send(route.replace("from='sm'", "from='c2s'"))
    el = sm.expect(q(COMP, "route"))
    assert el.get("error") == "401"
    assert el[0].find("{jabber:client}body").text == "\u263a & <b>"
    assert b"CDATA" not in sm.raw
    # Prefixes declared inside the route (jabberd2's session attributes):
    # the same bytes.
    sess = ("<route xmlns='%s' to='c2s' from='sm'><message xmlns='jabber:client' "
            "xmlns:sc='%s' sc:c2s='7' sc:sm='8'><p:y xmlns:p='urn:p' p:a='1'/>"
            "</message></route>" % (COMP, "http://jabberd.jabberstudio.org/ns/session/1.0"))
    sm.send(sess)
    c2s.expect(q(COMP, "route"))
    assert sess.encode() in c2s.raw
    # A prefix bound on the sender's stream header: written from the tree
    # (so with single quotes), same names.
    pre = ("<route xmlns='%s' to='c2s' from='sm'><message xmlns='jabber:client'>"
           "<stream:y a=\"1\"/></message></route>" % COMP)
    sm.send(pre)
    el = c2s.expect(q(COMP, "route"))
    y = el[0][0]
    assert y.tag == "{%s}y" % STREAMS and y.get("a") == "1"
    assert pre.encode() not in c2s.raw
    sm.nothing()


def test_broadcast_and_default_route(sandbox, flavor):
    r = Router(sandbox, flavor=flavor)
    sm = r.component("sm", bind="sm")
    c2s = r.component("c2s", bind="c2s")
    s2s = r.component("s2s")
    el = s2s.bind("s2s", children="<default/>")
    assert el.get("error") is None
    sm.route("far.example", "sm", msg("a@localhost", "b@far.example"))
    el = s2s.expect(q(COMP, "route"))
    assert el.get("to") == "far.example"
    sm.send("<route xmlns='%s' from='sm' type='broadcast'>%s</route>"
            % (COMP, msg("a@localhost", "b@localhost", "all")))
    for c in (c2s, s2s):
        el = c.expect(q(COMP, "route"))
        assert el.get("type") == "broadcast"
    sm.nothing()


def test_throttle(sandbox, flavor):
    r = Router(sandbox, flavor=flavor)
    sm = r.component("sm", bind="sm")
    c2s = r.component("c2s", bind="c2s")
    c2s.send("<throttle xmlns='%s'/>" % COMP)
    c2s.expect(q(COMP, "throttle"))
    for i in range(3):
        sm.route("c2s", "sm", msg("a@sm", "b@c2s", "queued %d" % i))
    c2s.nothing(wait=0.5)
    c2s.send("<throttle xmlns='%s'/>" % COMP)
    c2s.expect(q(COMP, "throttle"))
    for i in range(3):
        el = c2s.expect(q(COMP, "route"))
        assert el[0].find("{jabber:client}body").text == "queued %d" % i


def test_multi_bind_conflict(sandbox, flavor):
    r = Router(sandbox, flavor=flavor)
    admin = r.component("admin")
    assert admin.bind("localhost", " multi='to'").get("error") is None
    admin2 = r.component("admin")
    assert admin2.bind("localhost").get("error") == "409"
    assert admin2.bind("localhost", " multi='to'").get("error") is None


# ---- XEP-0114 ----

def legacy_open(r, name):
    s = Stream(r.addr)
    s.send("<?xml version='1.0'?><stream:stream xmlns='%s' xmlns:stream='%s' "
           "to='%s'>" % (ACCEPT, STREAMS, name))
    hdr = s.wait_header()
    return s, hdr


def test_xep0114_handshake(sandbox, flavor):
    r = Router(sandbox, secret="s3cret", flavor=flavor)
    sm = r.component("sm", bind="sm")
    s, hdr = legacy_open(r, "muc.localhost")
    assert hdr.get("from") == "muc.localhost"
    h = hashlib.sha1((hdr.get("id") + "s3cret").encode()).hexdigest()
    s.send("<handshake>%s</handshake>" % h)
    el = s.next()
    assert el.tag == q(ACCEPT, "handshake")
    el = sm.next()
    assert el.tag == q(COMP, "presence") and el.get("from") == "muc.localhost"
    # Its stanzas are routed as jabber:client in a route.
    s.send("<message from='room@muc.localhost/x' to='ann@sm'><body>yo</body>"
           "</message>")
    el = sm.expect(q(COMP, "route"))
    assert el.get("from") == "muc.localhost" and el.get("to") == "sm"
    assert el[0].tag == "{jabber:client}message"
    # Routes to it arrive as the bare stanza.
    sm.route("muc.localhost", "sm", msg("ann@sm/desk", "room@muc.localhost"))
    el = s.next()
    assert el.tag == "{jabber:client}message"
    assert el.get("to") == "room@muc.localhost"
    # Its stanza for nowhere comes back as an error stanza, to/from kept.
    s.send("<message from='room@muc.localhost/x' to='ann@nowhere.example'>"
           "<body>lost</body></message>")
    el = s.next()
    assert el.tag == "{jabber:client}message" and el.get("type") == "error"
    assert el.get("to") == "ann@nowhere.example"
    err = el.find("{jabber:client}error")
    assert el[0] is err
    assert err.get("code") == "503"
    assert err.find("{urn:ietf:params:xml:ns:xmpp-stanzas}service-unavailable") \
        is not None


def test_xep0114_wrong_secret(sandbox, flavor):
    r = Router(sandbox, secret="s3cret", flavor=flavor)
    s, hdr = legacy_open(r, "muc.localhost")
    h = hashlib.sha1((hdr.get("id") + "wrong").encode()).hexdigest()
    s.send("<handshake>%s</handshake>" % h)
    assert s.stream_error() == "not-authorized"


def test_xep0114_refused_without_secret(sandbox, flavor):
    r = Router(sandbox, flavor=flavor)
    s, hdr = legacy_open(r, "muc.localhost")
    assert s.stream_error() == "invalid-namespace"


# ---- filter ----

FILTER = """<filter>
  <rule error='forbidden' from='*@spam.example' to='*' what='message' log='yes'/>
  <rule redirect='sm' from='*' to='*@old.example'/>
  <rule from='*' to='*'/>
</filter>"""


def test_filter_rules(sandbox, flavor):
    r = Router(sandbox, filter_xml=FILTER, flavor=flavor)
    sm = r.component("sm", bind="sm")
    s2s = r.component("s2s", bind="s2s")
    s2s.route("sm", "s2s", msg("bot@spam.example/x", "ann@localhost"))
    el = s2s.expect(q(COMP, "route"))
    assert el.get("error") == "403"
    s2s.route("old.example", "s2s", msg("bob@ham.example", "ann@old.example"))
    el = sm.expect(q(COMP, "route"))
    assert el.get("to") == "sm"
    s2s.route("sm", "s2s", msg("bob@ham.example", "ann@localhost"))
    el = sm.expect(q(COMP, "route"))
    assert el.get("error") is None


def test_sighup_reloads_users_and_filter(sandbox):
    r = Router(sandbox)
    assert not Component(r.addr).auth("newcomp", "pw")
    sandbox.write("router-users.xml", "<users><user><name>newcomp</name>"
                  "<secret>pw</secret></user><user><name>sm</name><secret>sm-pw"
                  "</secret></user></users>")
    sandbox.write("router-filter.xml", "<filter><rule error='forbidden' "
                  "from='*' to='*'/></filter>")
    mark = r.daemon.mark()
    r.daemon.signal(signal.SIGHUP)
    r.daemon.wait_log(r"filter rules loaded", timeout=TIMEOUT, since=mark)
    c = r.component("newcomp", "pw", bind="newcomp")
    sm = r.component("sm", bind="sm")
    c.route("sm", "newcomp", msg("a@newcomp", "b@sm"))
    assert c.expect(q(COMP, "route")).get("error") == "403"


# ---- bad input ----

def test_bad_input_keeps_serving(sandbox):
    r = Router(sandbox)
    sm = r.component("sm", bind="sm")
    # Garbage before the header.
    g = Stream(r.addr)
    g.send(b"\x00\x01garbage<<<\n")
    with pytest.raises((Closed, ConnectionError)):
        for _ in range(10):
            g.next(timeout=5)
    # Wrong stream namespace.
    w = Stream(r.addr)
    w.send("<?xml version='1.0'?><stream:stream xmlns:stream='urn:wrong' "
           "version='1.0'>")
    with pytest.raises((Closed, ConnectionError)):
        for _ in range(10):
            w.next(timeout=5)
    # Oversized route: a stream error, the link closes.
    big = r.component("c2s", bind="c2s")
    big.route("sm", "c2s", msg("a@c2s", "b@sm", "x" * 200000))
    assert big.stream_error() == "policy-violation"
    big.close()
    # Unauthenticated routes are ignored.
    u = Stream(r.addr)
    u.send(HEADER)
    u.wait_header()
    u.send("<route xmlns='%s' to='sm' from='x'/>" % COMP)
    # The others are still served.
    c2s = r.component("c2s", bind="c2s")
    c2s.route("sm", "c2s", msg("a@c2s", "b@sm"))
    el = sm.expect(q(COMP, "route"))
    assert el.get("from") == "c2s"


def test_sigterm_closes_streams(sandbox):
    r = Router(sandbox)
    sm = r.component("sm", bind="sm")
    r.daemon.signal(signal.SIGTERM)
    # The stream ends with </stream:stream>, then the socket closes.
    with pytest.raises(Closed):
        for _ in range(10):
            sm.next(timeout=5)
    assert sm.closed
    deadline = time.monotonic() + TIMEOUT
    while r.daemon.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.daemon.returncode == 0
    r.daemon.expect_exit = True
    # The log still names the component whose stream the shutdown ended
    # (its names were unbound before its socket closed).
    assert re.search(r"conn \d+ \(sm\) closed", r.log.read_text())


# ---- TLS, limits, access, keepalive ----

TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"


def test_tls13_suites_on_component_links(sandbox):
    """local.ciphersuites sets the TLS 1.3 suites a component link gets;
    a value OpenSSL does not know stops the router, naming it."""
    cert = certs.self_signed(sandbox.dir, "localhost")
    r = Router(sandbox, local_extra="<pemfile>%s</pemfile><ciphersuites>"
               "TLS_AES_128_GCM_SHA256</ciphersuites>" % cert.pemfile)
    c = Component(r.addr)
    c.send(HEADER)
    c.wait_header()
    c.expect(q(STREAMS, "features"))
    c.send("<starttls xmlns='%s'/>" % TLS_NS)
    assert c.next().tag == q(TLS_NS, "proceed")
    ctx = ssl.create_default_context(cafile=str(cert.certfile))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
    assert c.sock.cipher()[0] == "TLS_AES_128_GCM_SHA256"
    bad = Router(sandbox, local_extra="<pemfile>%s</pemfile><ciphersuites>"
                 "TLS_NO_SUCH_SUITE</ciphersuites>" % cert.pemfile, start=False)
    p = subprocess.run([bad.binary, "-c", bad.config], timeout=20,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert p.returncode != 0
    assert "TLS_NO_SUCH_SUITE" in p.stdout.decode() + bad.log.read_text()


def test_starttls_on_component_links(sandbox, flavor):
    cert = certs.self_signed(sandbox.dir, "localhost")
    r = Router(sandbox, local_extra="<pemfile>%s</pemfile>" % cert.pemfile, flavor=flavor)
    plain = r.component("sm", bind="sm")
    c = Component(r.addr)
    c.send(HEADER)
    c.wait_header()
    feats = c.expect(q(STREAMS, "features"))
    assert feats[0].tag == q(TLS_NS, "starttls")
    assert [m.text for m in feats.iter(q(SASL, "mechanism"))] == ["DIGEST-MD5"]
    c.send("<starttls xmlns='%s'/>" % TLS_NS)
    assert c.next().tag == q(TLS_NS, "proceed")
    ctx = ssl.create_default_context(cafile=str(cert.certfile))
    c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    c.restart()
    assert c.auth("c2s", "c2s-pw")
    assert c.bind("c2s").get("error") is None
    c.route("sm", "c2s", msg("a@c2s", "b@sm", "over tls"))
    el = plain.expect(q(COMP, "route"))
    assert el[0].find("{jabber:client}body").text == "over tls"


def test_flooding_link_is_throttled_others_served(sandbox):
    r = Router(sandbox, extra="<io><limits><bytes seconds='1' throttle='1'>4000"
                              "</bytes></limits></io>")
    sink = r.component("sm", bind="sm")
    flood = r.component("c2s", bind="c2s")
    admin = r.component("admin", bind="admin.localhost")
    one = ("<route xmlns='%s' to='sm' from='c2s'>%s</route>"
           % (COMP, msg("a@c2s", "b@sm", "f" * 150))).encode()
    n = 200  # ~45 KB: about ten seconds at 4000 bytes per second
    flood.send(one * n)
    time.sleep(0.5)
    # Another component is served at once while the flood is held back.
    t0 = time.monotonic()
    admin.route("sm", "admin.localhost", msg("x@admin.localhost", "b@sm", "urgent"))
    got = 0
    while True:
        el = sink.expect(q(COMP, "route"))
        if el.get("from") == "admin.localhost":
            break
        got += 1
    assert time.monotonic() - t0 < 3.0
    assert got < n
    # The flood was throttled, not dropped: more of it keeps arriving.
    sink.expect(q(COMP, "route"))


def test_keepalive_space(sandbox):
    r = Router(sandbox, extra="<check><interval>1</interval><keepalive>1"
                              "</keepalive></check>")
    c = r.component("sm", bind="sm")
    c.sock.settimeout(5)
    deadline = time.monotonic() + 5
    data = b""
    while b" " not in data and time.monotonic() < deadline:
        data += c.sock.recv(100)
    assert data.strip() == b"" and b" " in data


def test_idle_links_trimmed_then_route(sandbox):
    """Component links that stay quiet give back their parser and buffers
    (the router logs the sweep at debug level), and a trimmed link still
    routes both ways."""
    r = Router(sandbox, start=False)
    r.daemon = sandbox.start("router", [r.binary, "-D", "-c", r.config],
                             logs=[r.log], ready_port=r.addr)
    a = r.component("sm", bind="sm")
    b = r.component("c2s", bind="c2s")
    deadline = time.monotonic() + TIMEOUT
    trimmed = re.compile(r"link: ([0-9]+) idle stream\(s\) trimmed")
    while time.monotonic() < deadline:
        with open(r.log) as f:
            counts = [int(m) for m in trimmed.findall(f.read())]
        if counts and max(counts) >= 2:
            break
        time.sleep(0.2)
    else:
        pytest.fail("no sweep trimmed both idle component links")
    a.route("c2s", "sm", msg("a@localhost", "b@localhost", "after trim"))
    el = b.expect(q(COMP, "route"))
    assert el.get("from") == "sm" and "after trim" in ET.tostring(el).decode()
    b.route("sm", "c2s", msg("b@localhost", "a@localhost", "back"))
    el = a.expect(q(COMP, "route"))
    assert el.get("from") == "c2s" and "back" in ET.tostring(el).decode()


def test_access_deny(sandbox):
    r = Router(sandbox, extra="<io><access><order>allow,deny"
                              "</order><deny ip='127.0.0.1'/></access></io>")
    s = socket.create_connection(r.addr, timeout=5)
    assert s.recv(100) == b""       # closed at once, nothing said
    s.close()


def test_connect_rate_limit(sandbox):
    r = Router(sandbox, extra="<io><limits><connects seconds='2' throttle='5'>2"
                              "</connects></limits></io>")
    time.sleep(2.5)     # the harness's readiness probe leaves the window
    a = r.component("sm", bind="sm")
    b = r.component("c2s", bind="c2s")
    s = socket.create_connection(r.addr, timeout=5)
    try:
        assert s.recv(100) == b""       # the third connect is refused
    except ConnectionResetError:
        pass
    s.close()
    a.route("c2s", "sm", msg("a@sm", "b@c2s"))
    b.expect(q(COMP, "route"))


def test_max_fds(sandbox):
    r = Router(sandbox, extra="<io><max_fds>2</max_fds></io>")
    a = r.component("sm", bind="sm")
    b = r.component("c2s", bind="c2s")
    s = socket.create_connection(r.addr, timeout=5)
    try:
        assert s.recv(100) == b""
    except ConnectionResetError:
        pass
    s.close()
    a.route("c2s", "sm", msg("a@sm", "b@c2s"))
    b.expect(q(COMP, "route"))


# ---- aliases, log sinks, message log, module ----

def test_alias_from_config(sandbox, flavor):
    r = Router(sandbox, secret="s3cret",
               extra="<aliases><alias name='conf.localhost' target='muc.localhost'/>"
                     "</aliases>", flavor=flavor)
    sm = r.component("sm", bind="sm")
    s, hdr = legacy_open(r, "muc.localhost")
    s.send("<handshake>%s</handshake>"
           % hashlib.sha1((hdr.get("id") + "s3cret").encode()).hexdigest())
    assert s.next().tag == q(ACCEPT, "handshake")
    sm.route("conf.localhost", "sm", msg("ann@sm", "room@conf.localhost"))
    el = s.next()
    assert el.get("to") == "room@conf.localhost"
    if flavor == "ours":
        # An alias name cannot be taken by a link of its own (spec §4;
        # Debian's 2.7 build accepts such a link).
        t, _ = legacy_open(r, "conf.localhost")
        assert t.stream_error() == "host-unknown"


def test_log_sink_and_message_log(sandbox, flavor):
    log = sandbox.path("messages.log")
    r = Router(sandbox, extra="<message_logging><enabled/><file>%s</file>"
                              "</message_logging>" % log, flavor=flavor)
    sm = r.component("sm", bind="sm")
    c2s = r.component("c2s", bind="c2s")
    admin = r.component("admin")
    assert admin.bind("logger", children="<log/>").get("error") is None
    c2s.route("sm", "c2s", msg("ann@c2s/desk", "bob@sm", "logged"))
    sm.expect(q(COMP, "route"))
    el = admin.expect(q(COMP, "route"))
    assert el.get("type") == "log" and el.get("to") == "sm"
    lines = log.read_text().splitlines()
    assert [l[0] for l in lines[:3]] == ["#"] * 3
    assert lines[3].endswith(" ann@c2s/desk bob@sm logged")
    assert os.stat(log).st_mode & 0o777 == 0o600


def test_module_loaded_by_daemon(sandbox):
    mod = paths.builddir() / "router" / "tests" / "test_module.so"
    if not mod.is_file():
        pytest.skip("router/tests/test_module.so not built (make check builds it)")
    r = Router(sandbox, extra="<module>%s</module>" % mod)
    sm = r.component("sm")
    sm.send("<bind xmlns='%s' name='sm'/>" % COMP)
    seen = set()
    for _ in range(2):
        el = sm.next()
        seen.add((el.tag, el.get("from")))
    assert (q(COMP, "presence"), "remote.example") in seen
    # The module echoes what it is sent; it takes routes to intercept.example.
    sm.route("remote.example", "sm", msg("a@sm", "b@remote.example", "echo"))
    el = sm.expect(q(COMP, "route"))
    assert el.get("to") == "sm" and el.get("from") == "remote.example"
    sm.route("intercept.example", "sm", msg("a@sm", "b@intercept.example"))
    sm.nothing()


def test_module_with_wrong_abi_refused(sandbox):
    mod = paths.builddir() / "router" / "tests" / "test_module_badabi.so"
    if not mod.is_file():
        pytest.skip("router/tests/test_module_badabi.so not built")
    r = Router(sandbox, extra="<module>%s</module>" % mod, start=False)
    p = subprocess.run([r.binary, "-c", r.config], timeout=20,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert p.returncode == 1
    assert "ABI version mismatch" in r.log.read_text()


# ---- command line ----

def test_command_line(sandbox):
    r = Router(sandbox, start=False)
    p = subprocess.run([r.binary, "-h"], timeout=20, stdout=subprocess.PIPE)
    assert p.returncode == 1 and b"usage" in p.stdout
    p = subprocess.run([r.binary, "-c", str(sandbox.path("missing.xml"))],
                       timeout=20, stderr=subprocess.PIPE)
    assert p.returncode == 2 and b"missing.xml" in p.stderr
    sandbox.write("bad-filter.xml", "<filter><rule")
    cfg = sandbox.write("r2.xml", r.config.read_text().replace(
        str(r.filter_file), str(sandbox.path("bad-filter.xml"))))
    p = subprocess.run([r.binary, "-c", str(cfg)], timeout=20)
    assert p.returncode == 1
    # -i sets ${id}: the pid file is named after it.
    cfg = sandbox.write("r3.xml", r.config.read_text().replace(
        str(sandbox.path("router.pid")), str(sandbox.path("${id}.pid"))))
    p = subprocess.Popen([r.binary, "-c", str(cfg), "-i", "other"])
    pidfile = sandbox.path("other.pid")
    deadline = time.monotonic() + TIMEOUT
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    assert pidfile.read_text() == str(p.pid)
    p.terminate()
    assert p.wait(TIMEOUT) == 0


def test_slow_reader_back_pressure(sandbox):
    """A component that does not read makes the router stop reading the
    component that routes to it (instead of queueing without limit);
    others are still served, and nothing is lost once it reads again."""
    r = Router(sandbox)
    slow = r.component("sm", bind="sm")
    tx = r.component("c2s", bind="c2s")
    admin = r.component("admin", bind="admin.localhost")
    s2s = r.component("s2s", bind="s2s")
    one = ("<route xmlns='%s' to='sm' from='c2s'>%s</route>"
           % (COMP, msg("a@c2s", "b@sm", "p" * 300))).encode()
    chunk = one * 1000
    tx.sock.setblocking(False)
    sent, chunks, rest = 0, 0, b""
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and chunks < 2000:
        if not rest:
            rest = chunk
            chunks += 1
        try:
            n = tx.sock.send(rest)
            rest = rest[n:]
            sent += n
        except BlockingIOError:
            time.sleep(0.01)
    # Held back: a few MB at most (socket buffers and the router's 1 MiB
    # mark), not everything a loopback link could carry in 3 s.
    assert sent < 32 * 1024 * 1024, sent
    assert chunks < 2000
    # The router still serves the others meanwhile.
    admin.route("s2s", "admin.localhost", msg("x@admin.localhost", "y@s2s"))
    s2s.expect(q(COMP, "route"))
    # Once the slow one reads, everything arrives.
    tx.sock.setblocking(True)
    tx.sock.settimeout(TIMEOUT)
    done = []

    def finish():
        tx.sock.sendall(rest)
        done.append(True)

    t = threading.Thread(target=finish)
    t.start()
    want, got, tail = chunks * 1000, 0, b""
    slow.sock.settimeout(TIMEOUT)
    data = b""
    while got < want:
        data = slow.sock.recv(1 << 20)
        assert data, "router closed the slow link"
        buf = tail + data
        got += buf.count(b"</route>")
        tail = buf[-7:]
    t.join(TIMEOUT)
    assert done and got == want
