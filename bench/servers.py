# SPDX-License-Identifier: GPL-2.0-or-later
"""The servers bench/bench.py measures, each started in a private directory
on its own loopback address and free ports, with its users (and for the
fan-out, their rosters) written straight into its storage before it starts:
registering 10,000 users through the protocol would take longer than the
benchmark.

  Jabberd("ours")   this tree's router, sm and c2s from $JC_BUILDDIR
  Jabberd("stock")  Debian's jabberd2 2.7 with the same configs
  Jabberd("ours", builddir=D)  server "base": ours from another build
                    tree D (bench.py --base-builddir), e.g. a baseline
  Prosody()         Debian's prosody, internal_hashed accounts (files)
  Ejabberd()        Debian's ejabberd on SQLite (its lite.sql schema)

With `muc = True` set before start(), each also serves group chat on
MUC_SERVICE: ours runs this tree's muc daemon (rooms on SQLite), prosody
loads its mod_muc as a component, ejabberd its mod_muc (EJABBERD_MUC).
With `pep = True` set before prepare(), each serves PEP (XEP-0163): our
sm's mod_pep, prosody's mod_pep, ejabberd's mod_pubsub with its "pep"
plugin and mod_caps (EJABBERD_PEP).

Every user is <prefix><n>@localhost with password "pw". Our c2s gets rows
in its "$scram$" form (docs/authreg.md), jabberd2 plaintext rows as it
writes them itself, prosody SCRAM-SHA-1 keys as its internal_hashed module
writes them. One salt serves every user: the rows are computed once, which
is what makes creating 10,000 users take a second.

The process-wide sandbox and daemon handling is the test harness's
(tests/lib), so a benchmark server dies, logs and stops like a test one.
"""

import base64
import contextlib
import hashlib
import hmac
import os
import pwd
import sqlite3
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SRC / "tests"))

from lib import certs, jabberd, paths  # noqa: E402

DOMAIN = "localhost"
MUC_SERVICE = "conference." + DOMAIN
# Room occupants our muc and ejabberd's accept: above the 1,000 of the
# largest benchmark room.
MUC_OCCUPANTS = 2000
PASSWORD = "pw"
ITERATIONS = 4096
SALT = b"xmpp-bench-salt!"  # 16 bytes, as our c2s makes them


def scram_keys(h, password, salt, iterations):
    salted = hashlib.pbkdf2_hmac(h, password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", h).digest()
    stored = hashlib.new(h, client_key).digest()
    server = hmac.new(salted, b"Server Key", h).digest()
    return stored, server


def our_scram_row(password):
    """The authreg password column as our c2s writes it."""
    b = lambda x: base64.b64encode(x).decode()  # noqa: E731
    s1, k1 = scram_keys("sha1", password, SALT, ITERATIONS)
    s256, k256 = scram_keys("sha256", password, SALT, ITERATIONS)
    return "$scram$%d$%s$%s$%s$%s$%s$" % (ITERATIONS, b(SALT), b(s1), b(k1),
                                          b(s256), b(k256))


def roster_groups(first, count, contacts):
    """Users first..first+count-1 in groups of contacts+1: yields (owner,
    contact) numbers, every member of a group holding all the others."""
    size = contacts + 1
    for g in range(first, first + count, size):
        members = range(g, g + size)
        for u in members:
            for v in members:
                if u != v:
                    yield u, v


class Server:
    """What bench.py needs: start(), stop(), address, pids()."""
    name = "?"
    muc = False  # serve MUC_SERVICE too (set before start())
    pep = False  # serve PEP (XEP-0163) too (set before prepare())

    def __init__(self, sandbox, number):
        self.sb = sandbox
        self.ip = "127.0.0.%d" % (number + 1)
        self.dir = sandbox.path(self.name)
        self.dir.mkdir(parents=True, exist_ok=True)

    def pids(self):
        return [d.pid for d in self.sb.daemons if d.alive()]

    def stop(self):
        for d in reversed(self.sb.daemons):
            d.stop()


# Our c2s's TLS 1.3 suites (bench.py --our-ciphersuites); None: its default.
OUR_CIPHERSUITES = None
# bench.py --base-builddir: the build tree of server "base".
BASE_BUILDDIR = None

C2S_XML = """<c2s>
  <id>c2s</id>
  <router><ip>{ip}</ip><port>{router_port}</port>
    <user>{user}</user><pass>{password}</pass>
    <retry><init>3</init><lost>3</lost><sleep>1</sleep></retry></router>
  <log type='file'><ident>jabberd/c2s</ident><file>{log}</file></log>
  <local>
    <id pemfile='{pem}'{id_attrs}>{domain}</id>
    <ip>{ip}</ip><port>{port}</port>
  </local>
  <io>
    <max_fds>{max_fds}</max_fds>
    <limits><stanzasize>65535</stanzasize></limits>
    <access><order>allow,deny</order></access>
  </io>
  <authreg>
    <path>{libdir}</path>
    <module>sqlite</module>
    <mechanisms><sasl><plain/><scram-sha-1/></sasl></mechanisms>
    <ssl-mechanisms><sasl><plain/><scram-sha-1/></sasl></ssl-mechanisms>
    <sqlite><dbname>{db}</dbname><busy-timeout>2000</busy-timeout>
      <password_type><plaintext/></password_type></sqlite>
  </authreg>
</c2s>
"""


class Jabberd(Server):
    """Ours or Debian's jabberd2: router, sm and c2s from the test
    harness's node templates, with a c2s.xml for many TLS clients."""

    def __init__(self, sandbox, number, flavor, builddir=None):
        self.name = flavor if flavor == "ours" else "jabberd2"
        self.flavor = flavor
        # Another build tree of ours (server "base"), or None for
        # $JC_BUILDDIR.
        self.builddir = builddir
        if builddir is not None:
            self.name = "base"
        super().__init__(sandbox, number)
        self.node = jabberd.Node(sandbox, number=number, flavor=flavor,
                                 tls=True)

    @contextlib.contextmanager
    def _tree(self):
        """Our binaries and plug-ins come from self.builddir here."""
        old = os.environ.get("JC_BUILDDIR")
        if self.builddir is not None:
            os.environ["JC_BUILDDIR"] = str(self.builddir)
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("JC_BUILDDIR", None)
            else:
                os.environ["JC_BUILDDIR"] = old

    def prepare(self, users, prefix_users, fan_first, fan_users, contacts,
                max_sessions):
        with self._tree():
            self._prepare(users, prefix_users, fan_first, fan_users,
                          contacts, max_sessions)

    def _prepare(self, users, prefix_users, fan_first, fan_users, contacts,
                 max_sessions):
        n = self.node
        n.config("c2s").write_text(C2S_XML.format(
            ip=n.ip, router_port=n.router_port, user=n.router_user,
            password=n.router_pass, log=n.log("c2s"), pem=n.cert.pemfile,
            domain=DOMAIN, port=n.c2s_port, max_fds=max_sessions + 200,
            id_attrs=(" ciphersuites='%s'" % OUR_CIPHERSUITES
                      if OUR_CIPHERSUITES and self.flavor == "ours" else ""),
            libdir=n._libdir("c2s"), db=n.db))
        jabberd.create_stock_schema(n.db)
        row = our_scram_row(PASSWORD) if self.flavor == "ours" else PASSWORD
        now = int(time.time())
        con = sqlite3.connect(str(n.db))
        with con:
            names = ["%s%d" % (prefix_users, i) for i in range(users)]
            names += ["f%d" % i for i in range(fan_first, fan_first + fan_users)]
            con.executemany('INSERT INTO authreg (username, realm, password) '
                            'VALUES (?, ?, ?)',
                            [(u, DOMAIN, row) for u in names])
            con.executemany('INSERT INTO active ("collection-owner", time) '
                            'VALUES (?, ?)',
                            [("%s@%s" % (u, DOMAIN), now) for u in names])
            con.executemany(
                'INSERT INTO "roster-items" ("collection-owner", jid, name, '
                '"to", "from", ask) VALUES (?, ?, NULL, 1, 1, 0)',
                [("f%d@%s" % (u, DOMAIN), "f%d@%s" % (v, DOMAIN))
                 for u, v in roster_groups(fan_first, fan_users, contacts)])
        con.close()
        if self.pep:
            # mod_pep where sm/README.md "mod_pep" says: in-sess and
            # pkt-user before deliver, in-router for +notify by caps.
            conf = n.config("sm")
            text = conf.read_text().replace(
                "<module>deliver</module>", "<module>pep</module><module>deliver</module>")
            text = text.replace("<chain id='in-router'>\n      <module>session</module>",
                                "<chain id='in-router'>\n      <module>session</module>"
                                "<module>pep</module>", 1)
            if text.count("<module>pep</module>") != 3:
                raise RuntimeError("sm.xml: cannot place pep in its chains")
            conf.write_text(text)

    def start(self):
        n = self.node
        for d in jabberd.DAEMONS:
            port = {"router": n.router_port, "c2s": n.c2s_port}.get(d)
            with self._tree():
                binary = n._binary(d)
            n.daemons[d] = self.sb.start(
                "%s-%s" % (self.name, d), [binary, "-c", n.config(d)],
                logs=[n.log(d)], ready_port=(n.ip, port) if port else None,
                ready_log=jabberd.READY_LOG[self.flavor].get(d), timeout=30)
        if self.muc:
            self._start_muc()
        self.address = (n.ip, n.c2s_port)
        return self

    def _start_muc(self):
        """This tree's muc daemon (also beside Debian's jabberd2, which
        has no group chat of its own), rooms in an SQLite file."""
        n = self.node
        conf = n.dir / "muc.xml"
        log = n.log("muc")
        driver = ("<driver>sqlite</driver><sqlite><dbname>%s</dbname>"
                  "<busy-timeout>2000</busy-timeout></sqlite>"
                  % (n.dir / "muc.db"))
        self.sb.render("jabberd2/muc.xml.in", conf, SERVICE=MUC_SERVICE,
                       IP=n.ip, ROUTER_PORT=n.router_port,
                       ROUTER_USER=n.router_user, ROUTER_PASS=n.router_pass,
                       LOG=log, STORAGE_DRIVER=driver,
                       OCCUPANTS=MUC_OCCUPANTS, ROOMS_PER_USER=10,
                       ARCHIVE=0)
        with self._tree():
            binary = paths.our_binary("muc")
        if binary is None:
            raise RuntimeError("muc is not built in %s" % paths.builddir())
        n.daemons["muc"] = self.sb.start(
            "%s-muc" % self.name, [binary, "-c", conf], logs=[log],
            ready_log=r"ready for rooms", timeout=30)

    def pids(self):
        """router, sm, c2s (in that order: bench.py picks the router and
        c2s by place), then the muc when it runs."""
        return [self.node.daemons[d].pid for d in list(jabberd.DAEMONS) +
                (["muc"] if self.muc else [])]


PROSODY_CFG = """-- written by bench/servers.py
daemonize = false
run_as_root = true
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
interfaces = {{ "{ip}" }}
local_interfaces = {{ "{ip}" }}
c2s_ports = {{ {port} }}
s2s_ports = {{ }}
c2s_direct_tls_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
network_backend = "epoll"
modules_enabled = {{ "roster", "saslauth", "tls", "disco", "ping"{extra_modules} }}
authentication = "internal_hashed"
storage = "internal"
c2s_require_encryption = false
certificate = nil
log = {{ {{ levels = {{ min = "warn" }}, to = "file", filename = "{dir}/prosody.log" }} }}
limits = {{ c2s = {{ rate = "100mb/s" }} }}

VirtualHost "{domain}"
  ssl = {{ certificate = "{crt}", key = "{key}" }}
"""


# mod_muc as a component; rooms stay in memory (no MAM), history 20
# messages as our bench muc.xml keeps; prosody 0.12's mod_muc has no
# occupant limit.
PROSODY_MUC = """
Component "{service}" "muc"
  max_history_messages = 20
"""


def lua_str(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


class Prosody(Server):
    name = "prosody"
    binary = "/usr/bin/prosody"

    def prepare(self, users, prefix_users, fan_first, fan_users, contacts,
                max_sessions):
        if not os.path.exists(self.binary):
            raise RuntimeError("prosody is not installed (tools/install-deps "
                               "--test)")
        self.port = self.sb.free_port(self.ip)
        self.cert = certs.self_signed(self.dir, DOMAIN)
        self.cfg = self.dir / "prosody.cfg.lua"
        self.cfg.write_text(PROSODY_CFG.format(
            dir=self.dir, ip=self.ip, port=self.port, domain=DOMAIN,
            crt=self.cert.certfile, key=self.cert.keyfile,
            extra_modules=', "pep"' if self.pep else "") +
            (PROSODY_MUC.format(service=MUC_SERVICE) if self.muc else ""))
        # internal_hashed: SCRAM-SHA-1 keys, hex, as prosody stores them.
        stored, server = scram_keys("sha1", PASSWORD, SALT, ITERATIONS)
        acct = ('return {["iteration_count"] = %d; ["salt"] = %s; '
                '["stored_key"] = "%s"; ["server_key"] = "%s"; };\n'
                % (ITERATIONS, lua_str(SALT.decode()), stored.hex(),
                   server.hex()))
        host = self.dir / "data" / DOMAIN  # "localhost" needs no escaping
        (host / "accounts").mkdir(parents=True, exist_ok=True)
        (host / "roster").mkdir(parents=True, exist_ok=True)
        names = ["%s%d" % (prefix_users, i) for i in range(users)]
        names += ["f%d" % i for i in range(fan_first, fan_first + fan_users)]
        for u in names:
            (host / "accounts" / (u + ".dat")).write_text(acct)
        rosters = {}
        for u, v in roster_groups(fan_first, fan_users, contacts):
            rosters.setdefault(u, []).append(v)
        for u, vs in rosters.items():
            items = "".join('["f%d@%s"] = {["subscription"] = "both"; '
                            '["groups"] = {}; };\n' % (v, DOMAIN) for v in vs)
            (host / "roster" / ("f%d.dat" % u)).write_text(
                'return {[false] = {["version"] = 1; ["pending"] = {}; };\n'
                + items + "};\n")

    def start(self):
        self.sb.start("prosody", [self.binary, "-F", "--config", self.cfg],
                      logs=[self.dir / "prosody.log"],
                      ready_port=(self.ip, self.port), timeout=30)
        self.address = (self.ip, self.port)
        return self


def make(kind, sandbox, number):
    if kind in ("ours", "stock"):
        return Jabberd(sandbox, number, kind)
    if kind == "base":
        return Jabberd(sandbox, number, "ours", builddir=BASE_BUILDDIR)
    if kind == "prosody":
        return Prosody(sandbox, number)
    if kind == "ejabberd":
        return Ejabberd(sandbox, number)
    raise ValueError("unknown server %r (ours, stock, prosody, ejabberd)"
                     % kind)


def available(kind):
    """None if the server can run here, else why not."""
    if kind == "base":
        if BASE_BUILDDIR is None:
            return "no --base-builddir given"
        missing = [d for d in jabberd.DAEMONS
                   if not os.access(Path(BASE_BUILDDIR) / d / d, os.X_OK)]
        return ("not built in %s: %s" % (BASE_BUILDDIR, " ".join(missing))
                if missing else None)
    if kind == "ours":
        missing = [d for d in jabberd.DAEMONS if paths.our_binary(d) is None]
        return ("not built in %s: %s" % (paths.builddir(), " ".join(missing))
                if missing else None)
    if kind == "stock":
        if paths.stock_binary("c2s") is None:
            return "Debian's jabberd2 is not installed"
        if paths.stock_schema() is None:
            return "jabberd2's db-setup.sqlite is missing"
        return None
    if kind == "prosody":
        return None if os.path.exists(Prosody.binary) else \
            "prosody is not installed"
    if kind == "ejabberd":
        if not os.path.exists(Ejabberd.ctl):
            return "ejabberd is not installed (tools/install-deps --bench)"
        if not Ejabberd.schema.exists():
            return "ejabberd's SQLite schema %s is missing" % Ejabberd.schema
        return None
    return "unknown server"




EJABBERD_YML = """# written by bench/servers.py
hosts: ["{domain}"]
loglevel: warning
log_rotate_count: 0
certfiles: ["{pem}"]
listen:
  - port: {port}
    ip: "{ip}"
    module: ejabberd_c2s
    starttls: true
    backlog: 1024
    max_stanza_size: 262144
    shaper: none
    access: all
sql_type: sqlite
sql_database: "{db}"
default_db: sql
auth_method: sql
auth_password_format: plain
new_sql_schema: false
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
shaper_rules:
  max_user_sessions: 100
modules:
  mod_roster: {{}}
  mod_disco: {{}}
  mod_ping: {{}}
"""

# mod_muc for MUC_SERVICE (appended under `modules:`): anyone may create
# and join rooms, up to MUC_OCCUPANTS each (the service's bound and a new
# room's, whose default is 200) with every presence broadcast
# (max_users_presence), history 20 messages as our bench muc.xml keeps,
# no anti-flood intervals, rooms in memory (ram) unless made persistent.
EJABBERD_MUC = """  mod_muc:
    host: "{service}"
    access: all
    access_create: all
    access_persistent: all
    max_users: {occupants}
    max_users_presence: {occupants}
    max_user_conferences: 10
    history_size: 20
    min_message_interval: 0
    min_presence_interval: 0
    ram_db_type: mnesia
    default_room_options:
      max_users: {occupants}
"""


# PEP (XEP-0163) when `pep` is set (appended under `modules:`), as
# Debian's own ejabberd.yml enables it: mod_pubsub with the "flat" and
# "pep" node plugins (PEP needs "pep" in its list) and mod_caps, which
# resolves each contact's entity capabilities by disco#info and so lets
# mod_pubsub notify only the resources with the node's "+notify" feature.
# Nodes, items and caps are in the SQLite file (default_db: sql), like
# the users; anyone may create nodes (access_createnode: all).
EJABBERD_PEP = """  mod_caps: {{}}
  mod_pubsub:
    access_createnode: all
    plugins:
      - flat
      - pep
"""


class Ejabberd(Server):
    """Debian's ejabberd on SQLite (users and rosters inserted with SQL),
    run by ejabberdctl in the foreground as the ejabberd user, which owns
    the server's directory."""
    name = "ejabberd"
    ctl = "/usr/sbin/ejabberdctl"
    schema = Path("/usr/share/ejabberd/sql/lite.sql")

    def prepare(self, users, prefix_users, fan_first, fan_users, contacts,
                max_sessions):
        self.port = self.sb.free_port(self.ip)
        self.cert = certs.self_signed(self.dir, DOMAIN)
        self.db = self.dir / "ejabberd.db"
        self.node = "xbench%d@localhost" % os.getpid()
        con = sqlite3.connect(str(self.db))
        with con:
            con.executescript(self.schema.read_text())
            names = ["%s%d" % (prefix_users, i) for i in range(users)]
            names += ["f%d" % i for i in range(fan_first, fan_first + fan_users)]
            con.executemany("INSERT INTO users (username, password) "
                            "VALUES (?, ?)", [(u, PASSWORD) for u in names])
            con.executemany(
                "INSERT INTO rosterusers (username, jid, nick, subscription, "
                "ask, askmessage, server, subscribe, type) VALUES "
                "(?, ?, '', 'B', 'N', '', 'N', '', 'item')",
                [("f%d" % u, "f%d@%s" % (v, DOMAIN))
                 for u, v in roster_groups(fan_first, fan_users, contacts)])
        con.close()
        self.cfg = self.dir / "ejabberd.yml"
        self.cfg.write_text(EJABBERD_YML.format(
            domain=DOMAIN, pem=self.cert.pemfile, port=self.port, ip=self.ip,
            db=self.db) +
            (EJABBERD_MUC.format(service=MUC_SERVICE, occupants=MUC_OCCUPANTS)
             if self.muc else "") +
            (EJABBERD_PEP.format() if self.pep else ""))
        # Our own ejabberdctl.cfg: Debian's sets the config path itself.
        self.ctlcfg = self.dir / "ejabberdctl.cfg"
        self.ctlcfg.write_text(
            'ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"\n'
            'ERL_EPMD_ADDRESS=127.0.0.1\nINET_DIST_INTERFACE=127.0.0.1\n'
            'ERL_MAX_PORTS=65536\n'
            'EJABBERD_PID_PATH=%s/ejabberd.pid\n' % self.dir)
        for d in ("logs", "spool"):
            (self.dir / d).mkdir(exist_ok=True)
        pw = pwd.getpwnam("ejabberd")
        for root, dirs, files in os.walk(self.dir):
            for n in [root] + [os.path.join(root, f) for f in dirs + files]:
                os.chown(n, pw.pw_uid, pw.pw_gid)
        os.chmod(self.sb.dir, 0o755)

    def start(self):
        self.epmd_before = self._pids_named("epmd")
        # setpriv rather than ejabberdctl's own su: su goes through PAM,
        # which puts the open-files limit back to the default 1024.
        self.daemon = self.sb.start("ejabberd", [
            "setpriv", "--reuid=ejabberd", "--regid=ejabberd",
            "--init-groups", "--",
            self.ctl, "--ctl-config", self.ctlcfg, "--config", self.cfg,
            "--logs", self.dir / "logs",
            "--spool", self.dir / "spool", "--node", self.node, "foreground"],
            env={"ERL_EPMD_ADDRESS": "127.0.0.1",
                 "HOME": pwd.getpwnam("ejabberd").pw_dir},
            logs=[self.dir / "logs" / "ejabberd.log"],
            ready_port=(self.ip, self.port), timeout=60)
        self.address = (self.ip, self.port)
        return self

    @staticmethod
    def _pids_named(comm, needle=None):
        found = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/comm" % p) as f:
                    if f.read().strip() != comm:
                        continue
                with open("/proc/%s/cmdline" % p, "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if needle is None or needle.encode() in cmd:
                found.append(int(p))
        return found

    def pids(self):
        """The Erlang VM running our node (not the shell scripts above
        it)."""
        return self._pids_named("beam.smp", self.node)

    def stop(self):
        beams = self.pids()
        # ejabberdctl foreground ends with the VM, status 0: that is the
        # stop asked for, not an exit by itself.
        if getattr(self, "daemon", None) is not None:
            self.daemon.expect_exit = True
        for pid in beams:
            os.kill(pid, 15)
        # The VM takes a few seconds to stop; the next server must not
        # share the machine with it.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and \
                any(os.path.exists("/proc/%d" % p) for p in beams):
            time.sleep(0.2)
        for pid in beams:
            if os.path.exists("/proc/%d" % pid):
                os.kill(pid, 9)
        super().stop()
        # The Erlang port mapper that this start brought up, if any.
        for pid in self._pids_named("epmd"):
            if pid not in self.epmd_before:
                os.kill(pid, 15)
