# SPDX-License-Identifier: GPL-2.0-or-later
"""Our c2s behind Debian's stock jabberd2 router and sm (the interop
criterion of issue 4): registration, SCRAM-SHA-1, SCRAM-SHA-256 and PLAIN
over TLS logins, wrong passwords, a plaintext auth attempt before required
TLS, a jabberd2 plaintext authreg row that logs in and is upgraded to
SCRAM hashes, roster get and a message between two users."""

import base64
import re
import socket
import sqlite3
import ssl
import subprocess
import time

import pytest

from lib import jabberd, paths
from lib.xmpp import XmppError

C2S_XML = """<c2s>
  <id>c2s</id>
  <router>
    <ip>{ip}</ip><port>{router_port}</port>
    <user>{user}</user><pass>{password}</pass>
    <retry><init>3</init><lost>3</lost><sleep>1</sleep></retry>
  </router>
  <log type='file'><ident>jabberd/c2s</ident><file>{log}</file></log>
  <local>
    <id {attrs}>{domain}</id>
    <ip>{ip}</ip>
    <port>{port}</port>
    {extra_local}
  </local>
  <io>
    <max_fds>1024</max_fds>
    <limits><stanzasize>{stanzasize}</stanzasize></limits>
    {extra_io}
  </io>
  <authreg>
    <module>sqlite</module>
    <mechanisms><traditional><plain/></traditional><sasl>{mechs}</sasl></mechanisms>
    <scram><iterations>{iterations}</iterations></scram>
    {extra_authreg}
    <sqlite><dbname>{db}</dbname><password_type><plaintext/></password_type></sqlite>
  </authreg>
</c2s>
"""


def node_with_our_c2s(sandbox, tls=False, mechs="<plain/><digest-md5/>",
                      register=True, require_starttls=None, stanzasize=65535,
                      extra_local="", extra_authreg="", extra_io="",
                      ssl_port=False):
    """A stock router and sm with our c2s, configured by hand."""
    node = jabberd.Node(sandbox, flavor={"c2s": "ours"}, tls=tls)
    node.ssl_port = None
    if ssl_port:
        node.ssl_port = sandbox.free_port(node.ip)
        extra_local += "<ssl-port>%d</ssl-port><pemfile>%s</pemfile>" % (
            node.ssl_port, node.cert.pemfile)
    attrs = []
    if register:
        attrs.append("register-enable='mu'")
    if tls:
        attrs.append("pemfile='%s'" % node.cert.pemfile)
    if require_starttls is not None:
        attrs.append("require-starttls='%s'" % require_starttls)
    node.config("c2s").write_text(C2S_XML.format(
        ip=node.ip, router_port=node.router_port, user=node.router_user,
        password=node.router_pass, log=node.log("c2s"), attrs=" ".join(attrs),
        domain=node.domain, port=node.c2s_port, mechs=mechs, db=node.db,
        iterations=64, stanzasize=stanzasize, extra_local=extra_local,
        extra_authreg=extra_authreg, extra_io=extra_io))
    return node.start()


def authreg_row(node, user):
    con = sqlite3.connect(str(node.db))
    try:
        row = con.execute("SELECT password FROM authreg WHERE username=?",
                          (user,)).fetchone()
    finally:
        con.close()
    return row[0] if row else None


# ---- a small raw client for what slixmpp will not do on purpose ----

class Raw:
    def __init__(self, address, timeout=10, cafile=None):
        self.sock = socket.create_connection(address, timeout=timeout)
        if cafile is not None:
            ctx = ssl.create_default_context(cafile=cafile)
            self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""

    def send(self, text):
        self.sock.sendall(text.encode())

    def read_until(self, *needles, timeout=10):
        end = time.monotonic() + paths.scaled(timeout)
        while not any(n.encode() in self.buf for n in needles):
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for %r; got %r"
                                     % (needles, self.buf))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                break
            self.buf += data
        return self.buf.decode(errors="replace")

    def open(self, domain):
        self.send("<?xml version='1.0'?><stream:stream to='%s' "
                  "xmlns='jabber:client' "
                  "xmlns:stream='http://etherx.jabber.org/streams' "
                  "version='1.0'>" % domain)
        return self.read_until("</stream:features>", "</stream:stream>")

    def closed(self, timeout=10):
        """True once the server has closed the TCP connection."""
        end = time.monotonic() + paths.scaled(timeout)
        while time.monotonic() < end:
            self.sock.settimeout(max(0.1, end - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return True
            if not data:
                return True
            self.buf += data
        return False

    def close(self):
        self.sock.close()


# ---- tests ----

def test_register_login_roster_message(sandbox, xmpp):
    """SCRAM (the best slixmpp finds) on an unencrypted test stream,
    registration, roster and a message between two users."""
    node = node_with_our_c2s(sandbox)
    alice = xmpp.client("alice@localhost", "pw-a", node.c2s_address)
    bob = xmpp.client("bob@localhost", "pw-b", node.c2s_address)
    alice.register()
    bob.register()
    stored = authreg_row(node, "alice")
    assert stored.startswith("$scram$64$")
    assert "pw-a" not in stored
    alice.login()
    bob.login()
    alice.send_message("bob@localhost", "hello from alice")
    msg = bob.wait_message(body="hello from alice")
    assert msg["from"].bare == "alice@localhost"
    assert str(msg["from"]) == str(alice.full_jid)


def use_mech(client, mech):
    """Make a harness client offer only `mech` (slixmpp's use_mech)."""
    make = client._stream

    def stream():
        x = make()
        x["feature_mechanisms"].use_mech = mech
        return x
    client._stream = stream
    return client


def mech_logged_in(node, user, mech):
    log = node.log("c2s").read_text()
    return ("authenticated as %s@localhost (%s)" % (user, mech)) in log


@pytest.mark.parametrize("mech", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_scram_login(sandbox, xmpp, mech):
    node = node_with_our_c2s(sandbox)
    c = use_mech(xmpp.client("carol@localhost", "pw-c", node.c2s_address), mech)
    c.register()
    c.login()
    assert mech_logged_in(node, "carol", mech)


def test_jabberd2_mechanisms_over_tls_log_in_with_scram(sandbox, xmpp):
    """A c2s.xml from jabberd2 names no SCRAM mechanism. Over TLS the server
    then offers SCRAM-SHA-1 and SCRAM-SHA-256 but no -PLUS variant: a
    client that knows only tls-unique (slixmpp sends SCRAM's "y" flag on
    TLS 1.3) logs in with SCRAM of its own choosing, as it did with
    jabberd2. Naming a -plus mechanism offers channel binding."""
    node = node_with_our_c2s(sandbox, tls=True)
    c = xmpp.client("ivy@localhost", "pw-i", node.c2s_address,
                    tls="starttls", cafile=node.cert.certfile)
    c.register()
    c.login()
    log = node.log("c2s").read_text()
    assert re.search(r"authenticated as ivy@localhost \(SCRAM-SHA-(1|256)\)", log), log
    assert "SASL failure" not in log


def test_plain_over_tls_and_required_starttls(sandbox, xmpp):
    """With a pemfile TLS is required by default; PLAIN works under it and
    the stored password is a SCRAM hash."""
    node = node_with_our_c2s(sandbox, tls=True)
    c = use_mech(xmpp.client("dave@localhost", "pw-d", node.c2s_address,
                             tls="starttls", cafile=node.cert.certfile), "PLAIN")
    c.register()
    c.login()
    assert mech_logged_in(node, "dave", "PLAIN")
    assert authreg_row(node, "dave").startswith("$scram$")
    # Without TLS nothing is offered: no registration, no mechanisms.
    r = Raw(node.c2s_address)
    feats = r.open("localhost")
    assert "<required/>" in feats
    assert "mechanisms" not in feats and "iq-register" not in feats
    r.close()


def test_wrong_password_refused(sandbox, xmpp):
    node = node_with_our_c2s(sandbox)
    c = xmpp.client("erin@localhost", "right", node.c2s_address)
    c.register()
    bad = xmpp.client("erin@localhost", "wrong", node.c2s_address)
    with pytest.raises(XmppError, match="authentication failed"):
        bad.login(timeout=10)
    c.login()
    assert "SASL failure (not-authorized) for erin" in node.log("c2s").read_text()


def test_plain_auth_before_required_tls(sandbox):
    """PLAIN before STARTTLS gets encryption-required; a stanza then gets
    the policy-violation stream error and the connection is closed."""
    node = node_with_our_c2s(sandbox, tls=True)
    r = Raw(node.c2s_address)
    r.open("localhost")
    creds = base64.b64encode(b"\0frank\0secret").decode()
    r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
           "mechanism='PLAIN'>%s</auth>" % creds)
    assert "<encryption-required/>" in r.read_until("</failure>")
    r.send("<message to='x@localhost'><body>hi</body></message>")
    out = r.read_until("</stream:stream>")
    assert "<policy-violation" in out
    assert r.closed()


def test_stanza_before_auth(sandbox):
    node = node_with_our_c2s(sandbox)
    r = Raw(node.c2s_address)
    r.open("localhost")
    r.send("<message to='x@localhost'><body>hi</body></message>")
    assert "<not-authorized" in r.read_until("</stream:stream>")
    assert r.closed()


def test_unknown_host_and_no_to(sandbox):
    node = node_with_our_c2s(sandbox)
    r = Raw(node.c2s_address)
    assert "<host-unknown" in r.open("elsewhere.example")
    r.close()
    r = Raw(node.c2s_address)
    r.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
           "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
    assert "<host-unknown" in r.read_until("</stream:stream>")
    r.close()


def test_register_disabled(sandbox, xmpp):
    node = node_with_our_c2s(sandbox, register=False)
    c = xmpp.client("gina@localhost", "pw", node.c2s_address)
    with pytest.raises(XmppError, match="no in-band registration"):
        c.register(timeout=10)
    assert authreg_row(node, "gina") is None


def test_jabberd2_plaintext_row_upgraded(sandbox, xmpp):
    """A password as jabberd2 stores it (plaintext) logs in with SCRAM and
    is rewritten as SCRAM hashes; the next login uses those."""
    node = node_with_our_c2s(sandbox)
    c = xmpp.client("hank@localhost", "legacy-pw", node.c2s_address)
    c.register()
    con = sqlite3.connect(str(node.db))
    con.execute("UPDATE authreg SET password='legacy-pw' WHERE username='hank'")
    con.commit()
    con.close()
    c.login()
    stored = authreg_row(node, "hank")
    assert stored.startswith("$scram$") and "legacy-pw" not in stored
    assert "password of hank@localhost upgraded" in node.log("c2s").read_text()
    again = xmpp.client("hank@localhost", "legacy-pw", node.c2s_address)
    again.login()


def test_oversized_stanza_ends_session(sandbox, xmpp):
    """A stanza over io.limits.stanzasize: policy-violation, and the sm
    ends the session (jabberd2 2.7 leaves it dangling)."""
    node = node_with_our_c2s(sandbox, stanzasize=16384)
    c = xmpp.client("ivan@localhost", "pw", node.c2s_address)
    c.register()
    c.login()
    sm = node.daemons["sm"]
    mark = sm.mark()
    c.xmpp.send_raw("<message to='nobody@localhost'><body>%s</body></message>"
                    % ("x" * 20000))
    sm.wait_log(r"session ended: jid=ivan@localhost/", since=mark)
    assert "policy-violation" in node.log("c2s").read_text()


def with_plugin(client, name):
    """Register a slixmpp plugin on the client's login stream too."""
    make = client._stream

    def stream():
        x = make()
        x.register_plugin(name)
        return x
    client._stream = stream
    return client


def run_on(xmpp, coro_fn, what, timeout=15):
    async def go():
        return await coro_fn()
    return xmpp.run(go(), timeout, what)


def wait_until(xmpp, cond, what, timeout=15):
    """Let the client loop run until cond() holds (bounded)."""
    import asyncio

    async def go():
        while not cond():
            await asyncio.sleep(0.05)
    xmpp.run(go(), timeout, what)


def test_auth_throttle_per_account(sandbox, xmpp):
    """After authreg.throttle.failures failures an account is refused with
    temporary-auth-failure, even with the right password, from any
    connection."""
    node = node_with_our_c2s(sandbox, extra_authreg=(
        "<throttle><delay>0</delay><failures>2</failures>"
        "<seconds>600</seconds></throttle>"))
    c = xmpp.client("kim@localhost", "right", node.c2s_address)
    c.register()
    for _ in range(2):
        with pytest.raises(XmppError, match="authentication failed"):
            xmpp.client("kim@localhost", "wrong", node.c2s_address).login(timeout=10)
    with pytest.raises(XmppError, match="authentication failed"):
        c.login(timeout=10)
    log = node.log("c2s").read_text()
    assert "too many failed logins for kim" in log
    assert "SASL failure (temporary-auth-failure) for kim" in log


def test_register_rate_limit_per_ip(sandbox, xmpp):
    """With the exempt list emptied (<exempt/>), loopback is limited like
    any address."""
    node = node_with_our_c2s(sandbox, extra_authreg=(
        "<register><limit>1</limit><seconds>600</seconds><exempt/></register>"))
    xmpp.client("lea@localhost", "pw", node.c2s_address).register()
    with pytest.raises(XmppError, match="registration refused: resource-constraint"):
        xmpp.client("max@localhost", "pw", node.c2s_address).register(timeout=10)
    assert authreg_row(node, "max") is None


def test_register_loopback_exempt_by_default(sandbox, xmpp):
    """jabberd2's c2s.xml sets no registration limit: with no <register>
    section at all, ten registrations in a row from loopback succeed (the
    default limit, 5 an hour, would refuse the sixth)."""
    node = node_with_our_c2s(sandbox)
    for i in range(10):
        xmpp.client("reg%d@localhost" % i, "pw", node.c2s_address).register(timeout=10)
    for i in range(10):
        assert authreg_row(node, "reg%d" % i) is not None
    assert "registration limit reached" not in node.log("c2s").read_text()


def test_register_limit_default_without_exempt(sandbox, xmpp):
    """The default limit still holds for an address that is not exempt:
    with the exempt list emptied, the sixth registration in an hour from
    one address is refused."""
    node = node_with_our_c2s(sandbox, extra_authreg="<register><exempt/></register>")
    for i in range(5):
        xmpp.client("lim%d@localhost" % i, "pw", node.c2s_address).register(timeout=10)
    with pytest.raises(XmppError, match="registration refused: resource-constraint"):
        xmpp.client("lim5@localhost", "pw", node.c2s_address).register(timeout=10)
    assert authreg_row(node, "lim5") is None
    assert "registration limit reached for 127." in node.log("c2s").read_text()


@pytest.mark.parametrize("exempt,refused", [
    ("<exempt>10.0.0.0/8</exempt><exempt>::1</exempt>", True),
    ("<exempt>\n  127.0.0.0/8\n</exempt>", False),
])
def test_register_custom_exempt(sandbox, xmpp, exempt, refused):
    """A configured exempt list replaces the default: a list without the
    client's block (10/8 and ::1) leaves it limited; a list with it
    (127/8) exempts it."""
    node = node_with_our_c2s(sandbox, extra_authreg=(
        "<register><limit>1</limit><seconds>600</seconds>%s</register>" % exempt))
    xmpp.client("ora@localhost", "pw", node.c2s_address).register(timeout=10)
    if refused:
        with pytest.raises(XmppError, match="registration refused: resource-constraint"):
            xmpp.client("pia@localhost", "pw", node.c2s_address).register(timeout=10)
        assert authreg_row(node, "pia") is None
    else:
        for name in ("pia", "quin", "rex"):
            xmpp.client(name + "@localhost", "pw", node.c2s_address).register(timeout=10)
            assert authreg_row(node, name) is not None


def test_register_bad_exempt_refused(sandbox):
    """An exempt entry that does not parse stops c2s at start, naming the
    file, the element and the value."""
    node = jabberd.Node(sandbox, flavor={"c2s": "ours"})
    node.config("c2s").write_text(C2S_XML.format(
        ip=node.ip, router_port=node.router_port, user=node.router_user,
        password=node.router_pass, log=node.log("c2s"), attrs="",
        domain=node.domain, port=node.c2s_port, mechs="<plain/>", db=node.db,
        iterations=64, stanzasize=65535, extra_local="", extra_io="",
        extra_authreg="<register><exempt>127.0.0.0/40</exempt></register>"))
    proc = subprocess.run([str(paths.our_binary("c2s")), "-t", "-c", str(node.config("c2s"))],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    err = proc.stdout + proc.stderr
    assert "c2s.xml" in err and "<exempt>" in err and "127.0.0.0/40" in err, err


def test_password_change_and_cancel(sandbox, xmpp):
    node = node_with_our_c2s(sandbox)
    c = with_plugin(xmpp.client("ned@localhost", "old", node.c2s_address), "xep_0077")
    c.register()
    c.login()
    before = authreg_row(node, "ned")
    run_on(xmpp, lambda: c.xmpp["xep_0077"].change_password("new", timeout=10),
           "change password")
    after = authreg_row(node, "ned")
    assert after != before and after.startswith("$scram$")
    with pytest.raises(XmppError, match="authentication failed"):
        xmpp.client("ned@localhost", "old", node.c2s_address).login(timeout=10)
    d = with_plugin(xmpp.client("ned@localhost", "new", node.c2s_address), "xep_0077")
    d.login()
    sm = node.daemons["sm"]
    mark = sm.mark()
    run_on(xmpp, lambda: d.xmpp["xep_0077"].cancel_registration(timeout=10),
           "cancel registration")
    sm.wait_log(r"deleted user|user deleted|delet", since=mark)
    assert authreg_row(node, "ned") is None
    with pytest.raises(XmppError, match="authentication failed"):
        xmpp.client("ned@localhost", "new", node.c2s_address).login(timeout=10)


def test_same_resource_replaces_older_session(sandbox, xmpp):
    """The sm replaces a session when the same full JID starts again; our
    c2s closes the older stream with conflict."""
    node = node_with_our_c2s(sandbox)
    a = xmpp.client("olga@localhost/desk", "pw", node.c2s_address)
    a.register()
    a.login()
    b = xmpp.client("olga@localhost/desk", "pw", node.c2s_address)
    b.login()
    wait_until(xmpp, lambda: "conflict" in a.errors, "conflict on the older stream")
    assert str(b.full_jid) == "olga@localhost/desk"


def test_domain_gone_when_sm_leaves(sandbox, xmpp):
    """When the sm stops, its sessions end (the stock sm says "ended" first,
    then the router says the domain went away): our c2s closes those
    streams and refuses new ones with host-gone."""
    node = node_with_our_c2s(sandbox)
    c = xmpp.client("pia@localhost", "pw", node.c2s_address)
    c.register()
    c.login()
    c2s = node.daemons["c2s"]
    mark = c2s.mark()
    node.daemons["sm"].stop()
    c2s.wait_log(r"localhost is gone at the router", since=mark)
    wait_until(xmpp, lambda: c.xmpp.transport is None, "the stream closed")
    r = Raw(node.c2s_address)
    assert "<host-gone" in r.open("localhost")
    r.close()


def test_direct_tls_port(sandbox, xmpp):
    """local.ssl-port: TLS from the first byte; the features then offer
    PLAIN and the SCRAM mechanisms the config names, channel binding
    included (a named -plus variant is offered, an unnamed one is not),
    and PLAIN logs in."""
    node = node_with_our_c2s(sandbox, tls=True, ssl_port=True,
                             mechs="<plain/><scram-sha-1/><scram-sha-256-plus/>")
    xmpp.client("quin@localhost", "pw-q", node.c2s_address, tls="starttls",
                cafile=node.cert.certfile).register()
    r = Raw((node.ip, node.ssl_port), cafile=node.cert.certfile)
    feats = r.open("localhost")
    assert "starttls" not in feats
    for mech in ("PLAIN", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1"):
        assert "<mechanism>%s</mechanism>" % mech in feats
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1-PLUS"):
        assert "<mechanism>%s</mechanism>" % mech not in feats
    creds = base64.b64encode(b"\0quin\0pw-q").decode()
    r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
           "mechanism='PLAIN'>%s</auth>" % creds)
    assert "<success" in r.read_until("<success", "</failure>")
    r.close()


def test_second_bind_and_forged_from(sandbox, xmpp):
    """One resource per stream: a second bind gets not-allowed. A stanza
    whose from names someone else ends the stream with invalid-from."""
    from slixmpp.exceptions import IqError
    from slixmpp.xmlstream import ET

    node = node_with_our_c2s(sandbox)
    c = xmpp.client("ruth@localhost", "pw", node.c2s_address)
    c.register()
    c.login()

    async def bind_again():
        iq = c.xmpp.Iq()
        iq["type"] = "set"
        iq.append(ET.fromstring("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                                "<resource>second</resource></bind>"))
        try:
            await iq.send(timeout=10)
        except IqError as e:
            return e.iq["error"]["condition"]
        return "accepted"
    assert xmpp.run(bind_again(), 15, "second bind") == "not-allowed"

    async def legacy_session():
        # RFC 3921 session establishment: an empty result.
        iq = c.xmpp.Iq()
        iq["type"] = "set"
        iq.append(ET.fromstring(
            "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>"))
        reply = await iq.send(timeout=10)
        return reply["type"]
    assert xmpp.run(legacy_session(), 15, "session iq") == "result"
    c.xmpp.send_raw("<message from='mallory@localhost/x' to='ruth@localhost'>"
                    "<body>forged</body></message>")
    wait_until(xmpp, lambda: "invalid-from" in c.errors, "invalid-from")


def test_unauthenticated_stream_times_out(sandbox):
    """A client that opens a stream and never authenticates (a slowloris)
    is cut off with connection-timeout after io.check.auth seconds."""
    node = node_with_our_c2s(sandbox, extra_io=(
        "<check><interval>1</interval><auth>2</auth></check>"))
    r = Raw(node.c2s_address)
    r.open("localhost")
    start = time.monotonic()
    out = r.read_until("</stream:stream>", timeout=10)
    assert "<connection-timeout" in out
    assert time.monotonic() - start < paths.scaled(8)
    assert r.closed()


def test_many_bad_connections(sandbox):
    """Bad input of several kinds, 300 times over: each gets its error and
    is closed; under the ASan build the harness fails on any leak report
    when c2s exits."""
    node = node_with_our_c2s(sandbox)
    bad = [
        ("<message to='x@localhost'/>", "<not-authorized"),
        ("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
         "AGEAYg==</auth><iq type='set'/>", "<not-authorized"),
        ("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
         "mechanism='SCRAM-SHA-1'>###</auth><x/>", "<unsupported-stanza-type"),
        ("<a><b></a>", "<not-well-formed"),
    ]
    for i in range(300):
        text, want = bad[i % len(bad)]
        r = Raw(node.c2s_address)
        r.open("localhost")
        r.send(text)
        assert want in r.read_until("</stream:stream>")
        r.close()


def test_iq_auth_over_tls(sandbox, xmpp):
    """XEP-0078 (jabberd2's "traditional" plain, offered by its dist
    config) on an encrypted stream: a wrong password is refused, the right
    one starts the session with the resource asked for, and stanzas flow."""
    node = node_with_our_c2s(sandbox, tls=True, ssl_port=True)
    xmpp.client("sam@localhost", "pw-s", node.c2s_address, tls="starttls",
                cafile=node.cert.certfile).register()
    r = Raw((node.ip, node.ssl_port), cafile=node.cert.certfile)
    assert "<auth xmlns='http://jabber.org/features/iq-auth'/>" in r.open("localhost")
    r.send("<iq type='get' id='a1'><query xmlns='jabber:iq:auth'>"
           "<username>sam</username></query></iq>")
    assert "<password/>" in r.read_until("</iq>")
    r.send("<iq type='set' id='a2'><query xmlns='jabber:iq:auth'><username>sam"
           "</username><password>nope</password><resource>old</resource>"
           "</query></iq>")
    assert "<not-authorized" in r.read_until("id='a2'")
    sm = node.daemons["sm"]
    mark = sm.mark()
    r.send("<iq type='set' id='a3'><query xmlns='jabber:iq:auth'><username>sam"
           "</username><password>pw-s</password><resource>old</resource>"
           "</query></iq>")
    out = r.read_until("id='a3'/>", "id='a3'>", timeout=15)
    assert "type='result'" in out.split("id='a2'")[-1]
    sm.wait_log(r"session started: jid=sam@localhost/old", since=mark)
    r.send("<message to='sam@localhost/old' id='m1'><body>to myself</body></message>")
    out = r.read_until("to myself")
    assert "from='sam@localhost/old'" in out.split("id='a3'")[-1]
    r.close()


def test_stanza_rate_limit_pauses_not_drops(sandbox, xmpp):
    """io.limits.stanzas: a client over the rate is paused (its stanzas
    wait), none is lost."""
    node = node_with_our_c2s(sandbox, extra_io=(
        "<limits><stanzas seconds='10' throttle='2'>6</stanzas></limits>"))
    a = xmpp.client("tom@localhost", "pw", node.c2s_address)
    b = xmpp.client("uma@localhost", "pw", node.c2s_address)
    a.register()
    b.register()
    b.login()
    a.login()
    for i in range(8):
        a.send_message("uma@localhost", "burst %d" % i)
    for i in range(8):
        b.wait_message(body="burst %d" % i)
    assert "reading paused" in node.log("c2s").read_text()


def test_stream_redirect_reloaded_on_hup(sandbox):
    """stream_redirect (read again on SIGHUP) sends clients of a domain to
    another host with see-other-host."""
    import signal

    node = node_with_our_c2s(sandbox)
    r = Raw(node.c2s_address)
    assert "<mechanisms" in r.open("localhost")
    r.close()
    cfg = node.config("c2s")
    cfg.write_text(cfg.read_text().replace("</c2s>", (
        "<stream_redirect><redirect requested_domain='localhost' "
        "to_address='other.example' to_port='5222'/></stream_redirect></c2s>")))
    c2s = node.daemons["c2s"]
    mark = c2s.mark()
    c2s.signal(signal.SIGHUP)
    c2s.wait_log(r"SIGHUP: log reopened, 1 stream redirects", since=mark)
    r = Raw(node.c2s_address)
    out = r.open("localhost")
    assert ("<see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>"
            "other.example:5222</see-other-host>") in out
    assert r.closed()


def test_sigterm_with_clients_connected(sandbox, xmpp):
    """SIGTERM with a logged-in client and a raw client that never closes
    its side: system-shutdown to both, the session ended at the sm, exit
    status 0 within the drain time."""
    node = node_with_our_c2s(sandbox)
    c = xmpp.client("vic@localhost", "pw", node.c2s_address)
    c.register()
    c.login()
    r = Raw(node.c2s_address)
    r.open("localhost")
    sm = node.daemons["sm"]
    mark = sm.mark()
    problems = node.daemons["c2s"].stop()
    assert problems == []
    assert node.daemons["c2s"].returncode == 0
    assert "<system-shutdown" in r.read_until("</stream:stream>")
    sm.wait_log(r"session ended: jid=vic@localhost/", since=mark)
    wait_until(xmpp, lambda: "system-shutdown" in c.errors, "system-shutdown")
    r.close()


def test_idle_tls_sessions_keep_working(sandbox, xmpp):
    """An idle stream gives back its parser, TLS buffers and BIO after a
    whole quiet sweep interval (c2s sweeps every second); clients that were
    quiet longer than that must notice nothing: messages still flow both
    ways, several times."""
    node = node_with_our_c2s(sandbox, tls=True)
    alice = xmpp.client("alice@localhost", "pw-a", node.c2s_address,
                        tls="starttls", cafile=node.cert.certfile)
    bob = xmpp.client("bob@localhost", "pw-b", node.c2s_address,
                      tls="starttls", cafile=node.cert.certfile)
    alice.register()
    bob.register()
    alice.login()
    bob.login()
    for i in range(3):
        time.sleep(2.5)     # two sweeps with no traffic: both trimmed
        alice.send_message("bob@localhost", "after quiet %d" % i)
        assert bob.wait_message(body="after quiet %d" % i)["from"].bare == \
            "alice@localhost"
        time.sleep(2.5)
        bob.send_message("alice@localhost", "reply %d" % i)
        assert alice.wait_message(body="reply %d" % i)["from"].bare == \
            "bob@localhost"
