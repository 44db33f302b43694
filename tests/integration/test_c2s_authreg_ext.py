# SPDX-License-Identifier: GPL-2.0-or-later
"""Our c2s (behind Debian's stock router and sm) with the authreg backends
whose accounts live elsewhere: ldap against a private slapd this test
starts on loopback (its own config, mdb database, users added with
ldapadd, stopped by pid), pam with a PAM service file the test writes in a
directory of its own (authreg.pam.confdir; the password is judged by a
pam_exec script reading the test's user list), and anon (ANONYMOUS only).

One case list runs over sqlite, pgsql, pipe, ldap, ldapfull and pam
(account_node):
the right password logs in (a slixmpp client, to a session), a wrong
one, an unknown user and an empty password do not. Over ldap and pam
(check_node): SCRAM and DIGEST-MD5 are not offered (the backend has no
secret for them), in-band registration is refused."""

import pathlib
import shutil
import sqlite3
import time

import pytest

from lib import paths
from lib.xmpp import XmppError
from test_c2s_auth import PIPE_PROGRAM, c2s_node, tls_client

USERS = {"alice": "secret a", "bob": "bob's-pw"}
SUFFIX = "dc=example,dc=test"


def activate(node, user):
    """The stock sm loads a user only with an `active` row: as an operator
    of an LDAP or PAM site sets sm's user.auto-create, the test adds it."""
    con = sqlite3.connect(str(node.db), timeout=5)
    try:
        con.execute('INSERT INTO active ("collection-owner", time) VALUES (?, ?)',
                    ("%s@localhost" % user, int(time.time())))
        con.commit()
    finally:
        con.close()


# ---- a private slapd ----

SLAPD_CONF = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 16777216
suffix "{suffix}"
rootdn "cn=admin,{suffix}"
rootpw adminpw
directory {dir}/db
access to attrs=userPassword by dn.exact="cn=reader,{suffix}" write by anonymous auth by * none
access to * by * read
"""

LDIF = """dn: {suffix}
objectClass: dcObject
objectClass: organization
o: test
dc: example

dn: ou=people,{suffix}
objectClass: organizationalUnit
ou: people

dn: cn=reader,{suffix}
objectClass: person
cn: reader
sn: reader
userPassword: readerpw
"""

PERSON = """
dn: uid={uid},ou=people,{suffix}
objectClass: inetOrgPerson
uid: {uid}
cn: {uid}
sn: {uid}
{extra}"""


def slapd_or_skip():
    for prog in ("/usr/sbin/slapd", "ldapadd"):
        if shutil.which(prog) is None:
            pytest.skip("%s not installed (Debian slapd, ldap-utils; "
                        "tools/install-deps --test)" % prog)


def start_slapd(sandbox, people):
    """A slapd on 127.0.0.1 with `people` ({uid: (userPassword or None,
    employeeType or None)}) under ou=people; cn=reader may read and write
    userPassword. Returns (daemon, port)."""
    import subprocess

    slapd_or_skip()
    d = sandbox.path("slapd")
    (d / "db").mkdir(parents=True)
    conf = sandbox.write("slapd/slapd.conf", SLAPD_CONF.format(dir=d, suffix=SUFFIX))
    port = sandbox.free_port()
    uri = "ldap://127.0.0.1:%d/" % port
    daemon = sandbox.start("slapd", ["/usr/sbin/slapd", "-d", "0", "-h", uri,
                                     "-f", conf], ready_port=("127.0.0.1", port))
    ldif = LDIF.format(suffix=SUFFIX)
    for uid, (pw, etype) in people.items():
        extra = "employeeType: %s\n" % etype if etype else ""
        extra += "userPassword: %s\n" % pw if pw is not None else ""
        ldif += PERSON.format(uid=uid, suffix=SUFFIX, pw=pw, extra=extra)
    subprocess.run(["ldapadd", "-x", "-H", uri, "-D", "cn=admin," + SUFFIX,
                    "-w", "adminpw"], input=ldif.encode(), check=True,
                   stdout=subprocess.DEVNULL, timeout=paths.scaled(20))
    return daemon, port


def ldap_backend(port, extra=""):
    return ("<ldap><host>127.0.0.1</host><port>%d</port><v3/>"
            "<binddn>cn=reader,%s</binddn><bindpw>readerpw</bindpw>"
            "<uidattr>uid</uidattr><basedn>ou=people,%s</basedn>%s"
            "<timeout>5</timeout></ldap>" % (port, SUFFIX, SUFFIX, extra))


# ---- a PAM service of the test's own ----

PAM_CHECK = """#!/bin/sh
# pam_exec expose_authtok: the password on stdin (NUL-terminated).
pw=$(tr -d '\\000')
while IFS= read -r line; do
  [ "$line" = "$PAM_USER:$pw" ] && exit 0
done < '{users}'
exit 1
"""


def pam_backend(sandbox):
    if not any(p.joinpath("pam_exec.so").exists() for p in
               (pathlib.Path("/lib/x86_64-linux-gnu/security"),
                pathlib.Path("/usr/lib/x86_64-linux-gnu/security"),
                pathlib.Path("/lib/security"))):
        pytest.skip("pam_exec.so not found (Debian libpam-modules)")
    users = sandbox.write("pam/users", "".join(
        "%s:%s\n" % kv for kv in USERS.items()))
    check = sandbox.write("pam/check.sh", PAM_CHECK.format(users=users))
    check.chmod(0o700)
    sandbox.write("pam/conf/xmpp-test",
                  # Debian's own pattern: pam_exec reports a script's
                  # "no" as a system error; pam_deny makes it a wrong
                  # password, as pam_unix would say.
                  "auth [success=1 default=ignore] pam_exec.so expose_authtok quiet %s\n"
                  "auth requisite pam_deny.so\n"
                  "auth required pam_permit.so\n"
                  "account required pam_permit.so\n" % check)
    return ("<pam><service>xmpp-test</service><confdir>%s</confdir></pam>"
            % sandbox.path("pam/conf"))


def backend_node(sandbox, xmpp, module, request=None):
    """A node whose c2s keeps (or finds) the accounts of USERS in authreg
    `module`: sqlite, pgsql (the session's private PostgreSQL) and pipe
    (test_c2s_auth's account program), registered in-band as users do;
    ldap and ldapfull (entries in a private slapd; ldapfull with the
    password in clear in userPassword, jabberd2's default), pam (the
    test's service file)."""
    backend = None
    if module == "pipe":
        prog = sandbox.path("authpipe.py")
        prog.write_text(PIPE_PROGRAM.format(log=sandbox.path("authpipe.log")))
        prog.chmod(0o700)
        backend = "<pipe><exec>%s</exec></pipe>" % prog
    elif module == "pgsql":
        from lib import pgsql

        pg_server = request.getfixturevalue("pg_server")
        db = pg_server.database()
        request.addfinalizer(lambda: db.save_log(sandbox.path("postgresql.log")))
        backend = ("<pgsql><host>%s</host><port>%d</port><dbname>%s</dbname>"
                   "<user>%s</user></pgsql>" % (pg_server.socket_dir, pgsql.PORT,
                                               db.name, pgsql.SUPERUSER))
    elif module in ("ldap", "ldapfull"):
        _, port = start_slapd(sandbox, {u: (p, None) for u, p in USERS.items()})
        backend = ldap_backend(port) if module == "ldap" else ldapfull_backend(port)
    elif module == "pam":
        backend = pam_backend(sandbox)
    node = c2s_node(sandbox, mechs="<plain/><digest-md5/><scram-sha-1/><scram-sha-256/>",
                    module=module, backend=backend, scram="<plaintext/>")
    for u, pw in USERS.items():
        if module in ("sqlite", "pgsql", "pipe"):
            xmpp.client("%s@localhost" % u, pw, node.c2s_address, tls="starttls",
                        cafile=node.cert.certfile).register()
        else:
            activate(node, u)
    return node


# One case list over every backend: the accounts' passwords work, and
# nothing else does.
@pytest.fixture(params=["sqlite", "pgsql", "pipe", "ldap", "ldapfull", "pam"])
def account_node(request, sandbox, xmpp):
    return backend_node(sandbox, xmpp, request.param, request)


# The backends that can only judge a password.
@pytest.fixture(params=["ldap", "pam"])
def check_node(request, sandbox, xmpp):
    return backend_node(sandbox, xmpp, request.param)


def plain(node, user, password):
    c, _ = tls_client(node)
    c.auth("PLAIN", b"\0" + user.encode() + b"\0" + password.encode())
    out = c.sasl_outcome()
    c.close()
    return out


def test_right_password_logs_in(account_node, xmpp):
    """A stock client logs in with the account's password (whatever
    mechanism it picks among those offered), to a session, and can talk
    to another user."""
    a = xmpp.client("alice@localhost", USERS["alice"], account_node.c2s_address,
                    tls="starttls", cafile=account_node.cert.certfile)
    a.login()
    b = xmpp.client("bob@localhost", USERS["bob"], account_node.c2s_address,
                    tls="starttls", cafile=account_node.cert.certfile)
    b.login()
    a.send_message("bob@localhost", "hello bob")
    b.wait_message(body="hello bob")


def test_wrong_unknown_empty_refused(account_node):
    assert plain(account_node, "alice", "secret b") == ("failure", "not-authorized")
    assert plain(account_node, "carol", "secret a") == ("failure", "not-authorized")
    assert plain(account_node, "alice", "") == ("failure", "not-authorized")
    assert plain(account_node, "bob", USERS["bob"])[0] == "success"


def test_check_no_scram_no_registration(check_node):
    """Only PLAIN can work: no secret for SCRAM or DIGEST-MD5 (named in
    the config, still not offered); the accounts are not ours to create."""
    c, feats = tls_client(check_node)
    assert "<mechanism>PLAIN</mechanism>" in feats
    assert "SCRAM" not in feats and "DIGEST-MD5" not in feats
    assert "jabber.org/features/iq-register" not in feats
    c.mark()
    c.send("<iq type='set' id='r1'><query xmlns='jabber:iq:register'>"
           "<username>dave</username><password>x</password></query></iq>")
    reply = c.read_until("</iq>", "id='r1'/>", "</stream:stream>")
    # Refused as with register-enable off: the stream ends not-authorized.
    assert "type='result'" not in reply and "not-authorized" in reply, reply
    c.close()


# ---- ldap only ----

def test_ldap_filter_metacharacters_escaped(sandbox):
    """A name holding LDAP filter syntax is a literal name: 'a*' with
    alice's password must not find alice's entry (jabberd2 put the name
    into the filter unescaped)."""
    _, port = start_slapd(sandbox, {"alice": (USERS["alice"], None)})
    node = c2s_node(sandbox, mechs="<plain/>", module="ldap",
                    backend=ldap_backend(port))
    activate(node, "alice")
    assert plain(node, "a*", USERS["alice"]) == ("failure", "not-authorized")
    assert plain(node, "*", USERS["alice"]) == ("failure", "not-authorized")
    assert plain(node, "alice", USERS["alice"])[0] == "success"


def test_ldap_query_restricts_users(sandbox):
    """authreg.ldap.query: only entries that also match it may log in."""
    _, port = start_slapd(sandbox, {"alice": (USERS["alice"], "xmpp"),
                                    "bob": (USERS["bob"], "other")})
    node = c2s_node(sandbox, mechs="<plain/>", module="ldap",
                    backend=ldap_backend(port, "<query>(employeeType=xmpp)</query>"))
    assert plain(node, "alice", USERS["alice"])[0] == "success"
    assert plain(node, "bob", USERS["bob"]) == ("failure", "not-authorized")


def test_ldap_server_restart(sandbox):
    """slapd goes away: logins fail (the client is told, c2s keeps
    running); once it is back, the next login works again (a new
    connection is made)."""
    slapd, port = start_slapd(sandbox, {"alice": (USERS["alice"], None)})
    node = c2s_node(sandbox, mechs="<plain/>", module="ldap",
                    backend=ldap_backend(port))
    assert plain(node, "alice", USERS["alice"])[0] == "success"
    slapd.stop()
    assert plain(node, "alice", USERS["alice"])[0] == "failure"
    conf = sandbox.path("slapd", "slapd.conf")
    sandbox.start("slapd2", ["/usr/sbin/slapd", "-d", "0", "-h",
                             "ldap://127.0.0.1:%d/" % port, "-f", conf],
                  ready_port=("127.0.0.1", port))
    assert plain(node, "alice", USERS["alice"])[0] == "success"
    assert node.daemons["c2s"].alive()


def test_ldap_unreachable_at_start_fails(sandbox):
    """As jabberd2: c2s does not start when the directory cannot be
    reached, and says why."""
    slapd_or_skip()
    port = sandbox.free_port()
    node = c2s_node(sandbox, mechs="<plain/>", module="ldap",
                    backend=ldap_backend(port), prepare_only=True)
    with pytest.raises(Exception):
        node.start(timeout=paths.scaled(10))
    c2s = node.daemons.get("c2s") or sandbox.daemon("node1-c2s")
    c2s.expect_exit = True
    end = time.monotonic() + paths.scaled(10)
    while c2s.alive():
        assert time.monotonic() < end
        time.sleep(0.1)
    assert c2s.returncode != 0
    assert "cannot connect and bind to the directory" in c2s.output()


# ---- anon ----

def test_anon_backend(sandbox, xmpp):
    """authreg anon: ANONYMOUS logs in (a stock client, no name given) to
    a random JID with a bound resource, two such users talk; a password
    login with any name is refused (jabberd2's anon let it through as any
    JID); nothing to register."""
    node = c2s_node(sandbox, mechs="<anonymous/><plain/>", module="anon",
                    backend="<!-- anon has no options -->")
    a = xmpp.client("localhost", "", node.c2s_address, tls="starttls",
                    cafile=node.cert.certfile)
    a.login()
    b = xmpp.client("localhost", "", node.c2s_address, tls="starttls",
                    cafile=node.cert.certfile)
    b.login()
    ja, jb = a.full_jid, b.full_jid
    assert ja.user and jb.user and ja.user != jb.user
    assert ja.resource and ja.domain == "localhost"
    a.send_message(str(jb), "hi anon")
    b.wait_message(body="hi anon")
    assert plain(node, ja.user, "anything") == ("failure", "not-authorized")
    assert plain(node, "admin", "admin") == ("failure", "not-authorized")
    c, feats = tls_client(node)
    assert "SCRAM" not in feats and "jabber.org/features/iq-register" not in feats
    c.close()
    with pytest.raises(XmppError):
        xmpp.client("someone@localhost", "pw", node.c2s_address, tls="starttls",
                    cafile=node.cert.certfile).register()


# ---- ldapfull ----

def ldapfull_backend(port, extra=""):
    return ("<ldapfull><uri>ldap://127.0.0.1:%d/</uri>"
            "<binddn>cn=reader,%s</binddn><bindpw>readerpw</bindpw>"
            "<objectclass>inetOrgPerson</objectclass><uidattr>uid</uidattr>"
            "<pwattr>userPassword</pwattr><basedn>ou=people,%s</basedn>%s"
            "<timeout>5</timeout></ldapfull>" % (port, SUFFIX, SUFFIX, extra))


def slappasswd(scheme, password, extra=()):
    import subprocess

    return subprocess.run(["/usr/sbin/slappasswd", "-h", scheme, "-s", password,
                           *extra], check=True, capture_output=True,
                          timeout=paths.scaled(10)).stdout.decode().strip()


def user_password(port, uid):
    """userPassword of the entry, as the directory holds it."""
    import base64
    import subprocess

    out = subprocess.run(
        ["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-H", "ldap://127.0.0.1:%d/" % port,
         "-D", "cn=reader," + SUFFIX, "-w", "readerpw", "-b",
         "uid=%s,ou=people,%s" % (uid, SUFFIX), "-s", "base", "userPassword"],
        check=True, capture_output=True, timeout=paths.scaled(10)).stdout.decode()
    for line in out.splitlines():
        if line.startswith("userPassword:: "):
            return base64.b64decode(line.split(" ", 1)[1]).decode()
        if line.startswith("userPassword: "):
            return line.split(" ", 1)[1]
    return None


def test_ldapfull_clear_password_read(sandbox, xmpp):
    """ldapfull without pwscheme (jabberd2's default): the attribute holds
    the password in clear, c2s reads it, so SCRAM works as well as PLAIN."""
    _, port = start_slapd(sandbox, {"alice": (USERS["alice"], None)})
    node = c2s_node(sandbox, mechs="<plain/><scram-sha-1/>", module="ldapfull",
                    backend=ldapfull_backend(port))
    activate(node, "alice")
    c, feats = tls_client(node)
    assert "SCRAM-SHA-1" in feats
    assert c.scram("alice", USERS["alice"], "SCRAM-SHA-1")[0] == "success"
    c.close()
    assert plain(node, "alice", "wrong") == ("failure", "not-authorized")
    xmpp.client("alice@localhost", USERS["alice"], node.c2s_address,
                tls="starttls", cafile=node.cert.certfile).login()


@pytest.mark.parametrize("scheme,made", [
    ("ssha", lambda pw: slappasswd("{SSHA}", pw)),
    ("sha", lambda pw: slappasswd("{SHA}", pw)),
    ("crypt", lambda pw: slappasswd("{CRYPT}", pw, ("-c", "$6$%.16s"))),
])
def test_ldapfull_pwscheme(sandbox, xmpp, scheme, made):
    """ldapfull with pwscheme: a password slappasswd hashed (an independent
    implementation) logs in with PLAIN and not with a wrong one; SCRAM is
    not offered. In-band registration gives a password to a directory entry
    that has none, stored in the scheme (never in clear); an entry that has
    one cannot be registered again (jabberd2 let anyone set it), and a name
    with no entry cannot be registered at all."""
    _, port = start_slapd(sandbox, {"alice": (made(USERS["alice"]), None),
                                    "carol": (None, None)})
    node = c2s_node(sandbox, mechs="<plain/><scram-sha-1/>", module="ldapfull",
                    backend=ldapfull_backend(port, "<pwscheme>%s</pwscheme>" % scheme))
    activate(node, "alice")
    assert plain(node, "alice", USERS["alice"])[0] == "success"
    assert plain(node, "alice", "wrong") == ("failure", "not-authorized")
    c, feats = tls_client(node)
    assert "SCRAM" not in feats
    c.close()
    xmpp.client("carol@localhost", "carol pw", node.c2s_address, tls="starttls",
                cafile=node.cert.certfile).register()
    stored = user_password(port, "carol")
    prefix = {"ssha": "{SSHA}", "sha": "{SHA}", "crypt": "$6$"}[scheme]
    assert stored is not None and stored.startswith(prefix), stored
    assert "carol pw" not in stored
    assert plain(node, "carol", "carol pw")[0] == "success"
    with pytest.raises(XmppError, match="conflict"):
        xmpp.client("alice@localhost", "taken", node.c2s_address, tls="starttls",
                    cafile=node.cert.certfile).register()
    assert plain(node, "alice", USERS["alice"])[0] == "success"
    with pytest.raises(XmppError):
        xmpp.client("dave@localhost", "x", node.c2s_address, tls="starttls",
                    cafile=node.cert.certfile).register()
