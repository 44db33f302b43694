# SPDX-License-Identifier: GPL-2.0-or-later
"""Our c2s (behind Debian's stock router and sm) with the SASL mechanisms
a stock client library will not drive: SCRAM-*-PLUS with tls-exporter on
TLS 1.3 and tls-unique on TLS 1.2, a client sending the wrong
channel-binding data, EXTERNAL with a client certificate issued by a test
CA (its id-on-xmppAddr names the account), and ANONYMOUS. The client is
tests/lib/rawclient.py."""

import socket
import sqlite3
import subprocess
import time

import pytest

from lib import certs, jabberd, paths
from lib.rawclient import RawClient

pytest.importorskip("OpenSSL", reason="pyOpenSSL (Debian python3-openssl) "
                    "is needed for tls-exporter")

C2S_XML = """<c2s>
  <id>c2s</id>
  <router>
    <ip>{ip}</ip><port>{router_port}</port>
    <user>{user}</user><pass>{password}</pass>
    <retry><init>3</init><lost>3</lost><sleep>1</sleep></retry>
  </router>
  <log type='file'><ident>jabberd/c2s</ident><file>{log}</file></log>
  <local>
    <id register-enable='mu' pemfile='{pemfile}' {tls_attrs}>{domain}</id>
    <ip>{ip}</ip>
    <port>{port}</port>
  </local>
  <io><max_fds>1024</max_fds></io>
  <authreg>
    <module>{module}</module>
    <mechanisms><traditional>{traditional}</traditional><sasl>{mechs}</sasl></mechanisms>
    <ssl-mechanisms><sasl>{ssl_mechs}</sasl></ssl-mechanisms>
    <scram><iterations>64</iterations>{scram}</scram>
    {backend}
  </authreg>
</c2s>
"""

PLUS = "<scram-sha-1/><scram-sha-1-plus/><scram-sha-256/><scram-sha-256-plus/>"


def c2s_node(sandbox, mechs=PLUS, ssl_mechs="", ca=None, module="sqlite",
             backend=None, traditional="", scram="", tls_attrs="",
             prepare_only=False):
    """A stock router and sm with our c2s; TLS with the node's certificate,
    client certificates asked for and checked against `ca` if given;
    authreg `module` with its section `backend` (default: sqlite on the
    node's database)."""
    node = jabberd.Node(sandbox, flavor={"c2s": "ours"}, tls=True)
    if ca is not None:
        tls_attrs += " cachain='%s' verify-mode='1'" % ca.certfile
    node.config("c2s").write_text(C2S_XML.format(
        ip=node.ip, router_port=node.router_port, user=node.router_user,
        password=node.router_pass, log=node.log("c2s"), domain=node.domain,
        port=node.c2s_port, pemfile=node.cert.pemfile, tls_attrs=tls_attrs,
        mechs=mechs, ssl_mechs=ssl_mechs, module=module,
        traditional=traditional, scram=scram,
        backend=backend or "<sqlite><dbname>%s</dbname></sqlite>" % node.db))
    return node if prepare_only else node.start()


def register(xmpp, node, user, password):
    xmpp.client("%s@localhost" % user, password, node.c2s_address,
                tls="starttls", cafile=node.cert.certfile).register()


def tls_client(node, version=None, cert=None):
    c = RawClient(node.c2s_address)
    feats = c.open()
    assert "<starttls" in feats
    feats = c.starttls(tls_version=version, cert=cert,
                       cafile=node.cert.certfile)
    return c, feats


@pytest.mark.parametrize("attrs,suite", [
    ("", "TLS_CHACHA20_POLY1305_SHA256"),
    ("ciphersuites='TLS_AES_128_GCM_SHA256'", "TLS_AES_128_GCM_SHA256")])
def test_tls13_suites(sandbox, xmpp, attrs, suite):
    """TLS 1.3 suites: by default c2s picks ChaCha20-Poly1305 when the
    client offers it (the smallest per-session state); an id's
    `ciphersuites` attribute replaces the list. The session works either
    way, including after it went quiet and was trimmed."""
    node = c2s_node(sandbox, tls_attrs=attrs)
    register(xmpp, node, "suite", "pw-suite")
    c, feats = tls_client(node, version="1.3")
    assert c.tls.get_cipher_name() == suite
    assert c.scram("suite", "pw-suite", "SCRAM-SHA-256")[0] == "success"
    assert c.bind("s").startswith("suite@localhost/s")
    time.sleep(2.5)     # two quiet trim sweeps
    c.mark()
    c.send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>")
    assert "id='r1'" in c.read_until("</iq>", "</stream:stream>").replace('"', "'")
    c.close()


def test_tls13_suites_bad_value(sandbox):
    """A ciphersuites value OpenSSL does not know stops c2s at start, with
    the value in its error."""
    node = c2s_node(sandbox, tls_attrs="ciphersuites='TLS_NO_SUCH_SUITE'",
                    prepare_only=True)
    p = subprocess.run([jabberd.our_binary_or_skip("c2s"), "-c",
                        str(node.config("c2s"))], timeout=20,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert p.returncode != 0
    log = node.log("c2s")
    text = p.stdout.decode() + (log.read_text() if log.exists() else "")
    assert "TLS_NO_SUCH_SUITE" in text, text


@pytest.mark.parametrize("version,cb_type", [("1.3", "tls-exporter"),
                                             ("1.2", "tls-unique")])
@pytest.mark.parametrize("mech", ["SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"])
def test_scram_plus_channel_binding(sandbox, xmpp, version, cb_type, mech):
    """SCRAM-*-PLUS binds to the TLS channel: tls-exporter on TLS 1.3,
    tls-unique on TLS 1.2. The right binding data logs in (the server's
    signature verifies, a resource is bound); the data of another channel
    gets not-authorized, and the stream stays usable for a retry."""
    node = c2s_node(sandbox)
    register(xmpp, node, "cb", "pw-cb")
    c, feats = tls_client(node, version=version)
    assert c.tls_protocol() == "TLSv" + version
    assert "<mechanism>%s</mechanism>" % mech in feats
    # Binding data from some other TLS connection (a man in the middle
    # would have exactly that): right length, wrong bytes.
    other = bytes(b ^ 0x5A for b in c.channel_binding(cb_type))
    assert c.scram("cb", "pw-cb", mech, cb_type=cb_type,
                   cb_data=other) == ("failure", "not-authorized")
    outcome = c.scram("cb", "pw-cb", mech, cb_type=cb_type)
    assert outcome[0] == "success", outcome
    assert c.bind("plus").startswith("cb@localhost/plus")
    c.close()


def test_channel_binding_type_must_match_tls_version(sandbox, xmpp):
    """On TLS 1.3 the server binds to tls-exporter: a client asking for
    tls-unique (which TLS 1.3 does not define) is refused, and so is a
    SCRAM client that says "y" (it thinks the server cannot bind) while
    -PLUS is offered (RFC 5802 section 6: a downgrade)."""
    node = c2s_node(sandbox)
    register(xmpp, node, "cbt", "pw-cbt")
    c, _ = tls_client(node, version="1.3")
    assert c.scram("cbt", "pw-cbt", "SCRAM-SHA-256-PLUS", cb_type="tls-unique",
                   cb_data=b"\0" * 12) == ("failure", "not-authorized")
    c.close()
    c, _ = tls_client(node, version="1.3")
    assert c.scram("cbt", "pw-cbt", "SCRAM-SHA-256",
                   y_flag=True) == ("failure", "not-authorized")
    # Plain SCRAM ("n") still works beside -PLUS.
    assert c.scram("cbt", "pw-cbt", "SCRAM-SHA-256")[0] == "success"
    c.close()


def test_external_with_client_certificate(sandbox, xmpp):
    """EXTERNAL (allowed by authreg.ssl-mechanisms) with a certificate from
    the configured CA: its id-on-xmppAddr names the account, which logs in
    and binds. The holder of that certificate cannot name another user as
    authzid; a certificate for an account that does not exist, one from
    another CA, and a stream without a certificate do not get in (the last
    two are not even offered EXTERNAL)."""
    ca = certs.make_ca(sandbox.path())
    node = c2s_node(sandbox, ssl_mechs="<external/>", ca=ca)
    register(xmpp, node, "xena", "pw-x")
    register(xmpp, node, "yuri", "pw-y")
    xena = certs.issue(sandbox.path(), ca, "xena", ["xena@localhost"])
    ghost = certs.issue(sandbox.path(), ca, "ghost", ["ghost@localhost"])
    elsewhere = certs.issue(sandbox.path(), ca, "xena-other",
                            ["xena@example.net"])

    c, feats = tls_client(node, cert=xena)
    assert "<mechanism>EXTERNAL</mechanism>" in feats
    c.auth("EXTERNAL", b"")
    assert c.sasl_outcome()[0] == "success"
    assert c.bind("cert").startswith("xena@localhost/cert")
    c.close()

    # The same, naming itself as authzid.
    c, _ = tls_client(node, cert=xena)
    c.auth("EXTERNAL", b"xena@localhost")
    assert c.sasl_outcome()[0] == "success"
    c.close()

    # xena's certificate, asking to be yuri.
    c, _ = tls_client(node, cert=xena)
    c.auth("EXTERNAL", b"yuri@localhost")
    assert c.sasl_outcome() == ("failure", "invalid-authzid")
    c.close()

    # A certificate for a user with no account, and one for another domain.
    for cert in (ghost, elsewhere):
        c, _ = tls_client(node, cert=cert)
        c.auth("EXTERNAL", b"")
        assert c.sasl_outcome() == ("failure", "not-authorized")
        c.close()

    # A self-signed certificate (not from the CA) and no certificate.
    other_ca = certs.make_ca(sandbox.path(), name="Other CA")
    stranger = certs.issue(sandbox.path(), other_ca, "xena-forged",
                           ["xena@localhost"])
    for cert in (stranger, None):
        c, feats = tls_client(node, cert=cert)
        assert "<mechanism>EXTERNAL</mechanism>" not in feats
        c.auth("EXTERNAL", b"")
        assert c.sasl_outcome() == ("failure", "invalid-mechanism")
        c.close()


def sm_has_user(node, bare):
    con = sqlite3.connect(str(node.db), timeout=5)
    try:
        return con.execute('SELECT count(*) FROM active WHERE '
                           '"collection-owner"=?', (bare,)).fetchone()[0] > 0
    finally:
        con.close()


def authreg_has(node, user):
    con = sqlite3.connect(str(node.db), timeout=5)
    try:
        return con.execute("SELECT count(*) FROM authreg WHERE username=?",
                           (user,)).fetchone()[0] > 0
    finally:
        con.close()


def test_anonymous_login(sandbox, xmpp):
    """ANONYMOUS where configured (XEP-0175): each login gets a fresh random
    node, binds and exchanges a message with a registered user. The stock
    sm (no auto-create) knows the user only while the session lasts: c2s
    creates it before the start and deletes it at the end. Meanwhile the
    name cannot be registered by someone else (who could then speak as the
    anonymous user), and it is free again afterwards."""
    from lib.xmpp import XmppError

    node = c2s_node(sandbox, mechs="<anonymous/><scram-sha-256/>")
    register(xmpp, node, "host", "pw-h")
    host = xmpp.client("host@localhost", "pw-h", node.c2s_address,
                       tls="starttls", cafile=node.cert.certfile)
    host.login()
    jids = []
    # With a trace, and as XEP-0175 shows it: no initial response at all.
    for trace in (b"guest", None):
        c, feats = tls_client(node)
        assert "<mechanism>ANONYMOUS</mechanism>" in feats
        c.auth("ANONYMOUS", trace)
        assert c.sasl_outcome()[0] == "success"
        jid = c.bind()
        assert jid.endswith("@localhost/" + jid.split("/", 1)[1]), jid
        jids.append(jid)
        c.mark()
        c.send("<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:"
               "ns:xmpp-session'/></iq>")
        c.read_until("id='s1'")
        c.send("<message to='host@localhost' type='chat'><body>from %s"
               "</body></message>" % jid)
        host.wait_message(body="from %s" % jid)
        bare = jid.split("/")[0]
        assert sm_has_user(node, bare)
        with pytest.raises(XmppError, match="conflict"):
            register(xmpp, node, bare.split("@")[0], "taken")
        c.close()
        end = time.monotonic() + paths.scaled(10)
        while sm_has_user(node, bare) or authreg_has(node, bare.split("@")[0]):
            assert time.monotonic() < end, "anonymous user not deleted"
            time.sleep(0.1)
    assert jids[0].split("@")[0] != jids[1].split("@")[0]


def test_anonymous_session_not_kept_for_resumption(sandbox, xmpp):
    """An ANONYMOUS user cannot resume (a new login is a new user): XEP-0198
    is enabled without resumption, and a cut connection deletes the user
    at once instead of keeping the session."""
    node = c2s_node(sandbox, mechs="<anonymous/><scram-sha-256/>")
    c, _ = tls_client(node)
    c.auth("ANONYMOUS", b"")
    assert c.sasl_outcome()[0] == "success"
    bare = c.bind().split("/")[0]
    c.mark()
    c.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
    enabled = c.read_until("<enabled", "<failed")
    assert "<enabled" in enabled and "resume=" not in enabled, enabled
    assert sm_has_user(node, bare)
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
    end = time.monotonic() + paths.scaled(10)
    while sm_has_user(node, bare) or authreg_has(node, bare.split("@")[0]):
        assert time.monotonic() < end, "anonymous user kept after a cut"
        time.sleep(0.1)


def test_anonymous_not_offered_unless_configured(sandbox, xmpp):
    node = c2s_node(sandbox, mechs="<scram-sha-256/>")
    c, feats = tls_client(node)
    assert "ANONYMOUS" not in feats
    c.auth("ANONYMOUS", b"")
    assert c.sasl_outcome() == ("failure", "invalid-mechanism")
    c.close()


# ---- authreg backends other than sqlite ----

def test_pgsql_authreg(sandbox, xmpp, pg_server):
    """authreg pgsql on jabberd2's own schema (db-setup.pgsql, when Debian
    ships it) in the session's private PostgreSQL: in-band registration
    stores a "$scram$" row, that user logs in with SCRAM; a row jabberd2
    wrote in plaintext logs in with PLAIN and is upgraded; a wrong password
    is refused."""
    from lib import pgsql

    db = pg_server.database()
    try:
        if pgsql.stock_schema_sql() is None:
            db.query('CREATE TABLE "authreg" ("username" varchar(1023) NOT NULL, '
                     '"realm" varchar(1023) NOT NULL, "password" varchar(256), '
                     'PRIMARY KEY ("username", "realm"))')
        db.query("INSERT INTO authreg VALUES ('old', 'localhost', 'old-pw')")
        node = c2s_node(sandbox, mechs="<plain/><scram-sha-256/>", module="pgsql",
                        backend="<pgsql><host>%s</host><port>%d</port>"
                                "<dbname>%s</dbname><user>%s</user></pgsql>"
                                % (pg_server.socket_dir, pgsql.PORT, db.name,
                                   pgsql.SUPERUSER))
        register(xmpp, node, "pam", "pw-pam")
        row = db.query("SELECT password FROM authreg WHERE username='pam'")[0][0]
        assert row.startswith("$scram$") and "pw-pam" not in row
        c, _ = tls_client(node)
        assert c.scram("pam", "wrong", "SCRAM-SHA-256") == ("failure", "not-authorized")
        assert c.scram("pam", "pw-pam", "SCRAM-SHA-256")[0] == "success"
        assert c.bind("pg").startswith("pam@localhost/pg")
        c.close()
        c, _ = tls_client(node)
        c.auth("PLAIN", b"\0old\0old-pw")
        assert c.sasl_outcome()[0] == "success"
        c.close()
        row = db.query("SELECT password FROM authreg WHERE username='old'")[0][0]
        assert row.startswith("$scram$")
    finally:
        db.save_log(sandbox.path("postgresql.log"))


PIPE_PROGRAM = """#!/usr/bin/python3 -u
# A site's account program for authreg pipe (jabberd2's protocol), keeping
# accounts in memory; every command is logged to {log}.
import sys
users = {{}}
log = open("{log}", "a")
print("OK USER-EXISTS GET-PASSWORD CHECK-PASSWORD SET-PASSWORD CREATE-USER "
      "DELETE-USER FREE", flush=True)
for line in sys.stdin:
    w = line.rstrip("\\n").split(" ")
    log.write(line)
    log.flush()
    cmd, args = w[0], w[1:]
    if cmd == "USER-EXISTS":
        ok = (args[0], args[1]) in users
    elif cmd == "GET-PASSWORD":
        pw = users.get((args[0], args[1]))
        print("OK " + pw if pw else "NO", flush=True)
        continue
    elif cmd == "CHECK-PASSWORD":
        ok = users.get((args[0], args[2])) == args[1]
    elif cmd == "SET-PASSWORD":
        ok = (args[0], args[2]) in users
        if ok:
            users[(args[0], args[2])] = args[1]
    elif cmd == "CREATE-USER":
        ok = (args[0], args[1]) not in users
        users[(args[0], args[1])] = ""
    elif cmd == "DELETE-USER":
        ok = users.pop((args[0], args[1]), None) is not None
    elif cmd == "FREE":
        break
    else:
        ok = False
    print("OK" if ok else "NO", flush=True)
"""


def test_pipe_authreg(sandbox, xmpp):
    """authreg pipe with a small program of the site's own: in-band
    registration creates the account there and hands over the password
    (base64 on the line, never "$scram$"); SCRAM-SHA-1 logs in through
    GET-PASSWORD, PLAIN through CHECK-PASSWORD, a wrong password does not,
    and the program gets FREE when c2s stops. The program keeps passwords
    in clear, so XEP-0078's digest method is offered and works too."""
    import hashlib
    import re

    prog = sandbox.path("authpipe.py")
    log = sandbox.path("authpipe.log")
    prog.write_text(PIPE_PROGRAM.format(log=log))
    prog.chmod(0o700)
    node = c2s_node(sandbox, mechs="<plain/><scram-sha-1/>", module="pipe",
                    backend="<pipe><exec>%s</exec></pipe>" % prog,
                    traditional="<digest/>")
    register(xmpp, node, "pip", "pw pip")
    c, _ = tls_client(node)
    assert c.scram("pip", "pw pip", "SCRAM-SHA-1")[0] == "success"
    c.close()
    c, _ = tls_client(node)
    c.auth("PLAIN", b"\0pip\0nope")
    assert c.sasl_outcome() == ("failure", "not-authorized")
    c.auth("PLAIN", b"\0pip\0pw pip")
    assert c.sasl_outcome()[0] == "success"
    c.close()
    c, feats = tls_client(node)
    sid = re.search(r"<stream:stream[^>]* id='([^']+)'", feats).group(1)
    digest = hashlib.sha1((sid + "pw pip").encode()).hexdigest()
    assert "type='result'" in iq_auth(c, "pip", "old", "a1", digest=digest)
    c.close()
    sandbox.stop_all()
    text = log.read_text()
    assert "SET-PASSWORD pip cHcgcGlw localhost" in text
    assert "CHECK-PASSWORD pip bm9wZQ== localhost" in text
    assert "pw pip" not in text and "$scram$" not in text
    assert text.rstrip().endswith("FREE")


# ---- DIGEST-MD5 ----

def test_digest_md5(sandbox, xmpp):
    """DIGEST-MD5 where configured and passwords are stored in clear
    (authreg.scram.plaintext): the right password logs in (the server's
    rspauth verifies) and binds, a wrong one gets not-authorized. With
    hashed storage (the default) it is not offered at all."""
    node = c2s_node(sandbox, mechs="<digest-md5/><scram-sha-256/>",
                    scram="<plaintext/>")
    register(xmpp, node, "dmd", "pw-dmd")
    c, feats = tls_client(node)
    assert "<mechanism>DIGEST-MD5</mechanism>" in feats
    assert c.digest_md5("dmd", "nope") == ("failure", "not-authorized")
    assert c.digest_md5("dmd", "pw-dmd")[0] == "success"
    assert c.bind("md5").startswith("dmd@localhost/md5")
    c.close()
    sandbox.stop_all()


def test_digest_md5_not_offered_with_hashed_passwords(sandbox, xmpp):
    node = c2s_node(sandbox, mechs="<digest-md5/><scram-sha-256/>")
    c, feats = tls_client(node)
    assert "DIGEST-MD5" not in feats
    c.auth("DIGEST-MD5")
    assert c.sasl_outcome() == ("failure", "invalid-mechanism")
    c.close()


# ---- XEP-0078 digest ----

def iq_auth(c, user, resource, iq_id, password=None, digest=None):
    c.mark()
    body = "<username>%s</username><resource>%s</resource>" % (user, resource)
    if password is not None:
        body += "<password>%s</password>" % password
    if digest is not None:
        body += "<digest>%s</digest>" % digest
    c.send("<iq type='set' id='%s'><query xmlns='jabber:iq:auth'>%s</query></iq>"
           % (iq_id, body))
    return c.read_until("</iq>", "id='%s'/>" % iq_id, "</stream:stream>", timeout=15)


def test_iq_auth_digest(sandbox, xmpp):
    """XEP-0078's digest method, offered as jabberd2 offers it
    (traditional.digest) when passwords are stored in clear: the form
    names <digest/>; hex SHA-1 of this stream's id and the password logs
    in and starts the session (upper-case hex too), a digest over another
    stream id does not."""
    import hashlib
    import re

    node = c2s_node(sandbox, mechs="<scram-sha-256/>",
                    traditional="<plain/><digest/>", scram="<plaintext/>")
    register(xmpp, node, "dig", "pw-dig")
    c, feats = tls_client(node)
    assert "<auth xmlns='http://jabber.org/features/iq-auth'/>" in feats
    sid = re.search(r"<stream:stream[^>]* id='([^']+)'", feats).group(1)
    c.mark()
    c.send("<iq type='get' id='g1'><query xmlns='jabber:iq:auth'>"
           "<username>dig</username></query></iq>")
    form = c.read_until("</iq>")
    assert "<digest/>" in form and "<password/>" in form
    stale = hashlib.sha1(("x" + sid + "pw-dig").encode()).hexdigest()
    assert "<not-authorized" in iq_auth(c, "dig", "d", "a1", digest=stale)
    good = hashlib.sha1((sid + "pw-dig").encode()).hexdigest().upper()
    out = iq_auth(c, "dig", "d", "a2", digest=good)
    assert "type='result'" in out, out
    c.mark()
    c.send("<message to='dig@localhost/d'><body>digest ok</body></message>")
    assert "from='dig@localhost/d'" in c.read_until("digest ok")
    c.close()


def test_iq_auth_digest_needs_plaintext_storage(sandbox, xmpp):
    """With SCRAM-hashed storage (the default) the digest method cannot
    work: the form does not offer it and a digest is refused with
    not-allowed, while the plaintext method still works."""
    import hashlib
    import re

    node = c2s_node(sandbox, mechs="<scram-sha-256/>",
                    traditional="<plain/><digest/>")
    register(xmpp, node, "hsh", "pw-h")
    c, feats = tls_client(node)
    sid = re.search(r"<stream:stream[^>]* id='([^']+)'", feats).group(1)
    c.mark()
    c.send("<iq type='get' id='g1'><query xmlns='jabber:iq:auth'/></iq>")
    assert "<digest/>" not in c.read_until("</iq>")
    digest = hashlib.sha1((sid + "pw-h").encode()).hexdigest()
    assert "<not-allowed" in iq_auth(c, "hsh", "d", "a1", digest=digest)
    assert "type='result'" in iq_auth(c, "hsh", "d", "a2", password="pw-h")
    c.close()
