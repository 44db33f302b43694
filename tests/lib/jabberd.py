# SPDX-License-Identifier: GPL-2.0-or-later
"""A jabberd2-style node in a sandbox: router, sm and c2s with private
configs rendered from tests/lib/templates/jabberd2/, SQLite storage and
authreg in the sandbox (or the sm's storage in a PostgreSQL database of
tests/lib/pgsql.py: storage=<pgsql.Database>), on the node's own loopback
address and free ports.

flavor="stock" runs Debian's jabberd2 binaries (/usr/sbin/jabberd2-*);
flavor="ours" runs this tree's daemons from $JC_BUILDDIR. Both read the same
config files: that is what drop-in replacement means. A missing binary skips
the test (or fails it under JC_REQUIRE_DAEMONS=1, as in tools/ci-test).
"""

import gzip
import secrets
import sqlite3

import pytest

from . import certs, paths
from .sandbox import node_ip

# What each daemon logs once it is usable, per flavor. The router is ready
# when its port accepts, c2s when its client port does; the sm when it has
# bound to the router (without that, c2s answers host-unknown).
READY_LOG = {
    "stock": {"sm": r"ready for sessions"},
    "ours": {"sm": r"ready for sessions"},
}


def missing(msg):
    """Skip the test for want of a daemon, or fail it if daemons are
    required (JC_REQUIRE_DAEMONS=1)."""
    if paths.require_daemons():
        pytest.fail(msg + " [JC_REQUIRE_DAEMONS=1]", pytrace=False)
    pytest.skip(msg)


def stock_binary_or_skip(name):
    path = paths.stock_binary(name)
    if path is None:
        missing("Debian's jabberd2 is not installed (no %s%s in %s); "
                "run tools/install-deps --test"
                % (paths.STOCK_PREFIX, name, paths.STOCK_BINDIR))
    return path


def our_binary_or_skip(name):
    path = paths.our_binary(name)
    if path is None:
        missing("daemon %r not built in %s (set JC_BUILDDIR to a build tree)"
                % (name, paths.builddir()))
    return path


def create_stock_schema(db):
    """Create the SQLite database `db` with jabberd2's own schema script."""
    script = paths.stock_schema()
    if script is None:
        raise RuntimeError(
            "jabberd2's db-setup.sqlite not found (looked in %s); is "
            "/usr/share/doc excluded by dpkg on this machine?"
            % ", ".join(str(p) for p in paths.STOCK_SCHEMA_CANDIDATES))
    if script.suffix == ".gz":
        sql = gzip.decompress(script.read_bytes()).decode("utf-8")
    else:
        sql = script.read_text(encoding="utf-8")
    con = sqlite3.connect(str(db))
    try:
        con.executescript(sql)
        con.commit()
    finally:
        con.close()


DAEMONS = ("router", "sm", "c2s")


class Node:
    """One node: configs written at construction, daemons on start().

    `flavor` is "stock" or "ours" for the whole node, or a dict giving one
    per daemon for interop, e.g. {"router": "ours", "sm": "stock",
    "c2s": "stock"} (daemons left out are stock)."""

    def __init__(self, sandbox, number=1, flavor="stock", domain="localhost",
                 tls=False, require_starttls=False, storage=None):
        if isinstance(flavor, str):
            flavor = {d: flavor for d in DAEMONS}
        self.flavors = {d: flavor.get(d, "stock") for d in DAEMONS}
        for f in self.flavors.values():
            if f not in READY_LOG:
                raise ValueError("unknown flavor %r" % f)
        self.sb = sandbox
        self.number = number
        self.domain = domain
        self.ip = node_ip(number)
        self.router_port = sandbox.free_port(self.ip)
        self.c2s_port = sandbox.free_port(self.ip)
        self.router_user = "jabberd"
        # Generated per test: nothing about a node is guessable or shared.
        self.router_pass = secrets.token_hex(12)
        self.dir = sandbox.path("node%d" % number)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db = self.dir / "sqlite.db"
        # None: the sm stores in self.db; else a pgsql.Database.
        self.pg = storage
        self.cert = certs.self_signed(self.dir, domain) if tls else None
        self.require_starttls = require_starttls
        self.daemons = {}
        self._write_configs()

    def _name(self, daemon):
        return "node%d-%s" % (self.number, daemon)

    def _binary(self, daemon):
        if self.flavors[daemon] == "stock":
            return stock_binary_or_skip(daemon)
        return our_binary_or_skip(daemon)

    def _libdir(self, daemon):
        """Where the daemon's plug-ins are (stock sm and c2s load storage,
        authreg and module shared objects; ours has them built in)."""
        if self.flavors[daemon] == "stock":
            libdir = paths.stock_libdir()
            if libdir is None:
                missing("jabberd2 plug-in directory not found (looked in %s)"
                        % ", ".join(map(str, paths.STOCK_LIBDIR_CANDIDATES)))
            return libdir
        return paths.builddir()

    def config(self, daemon):
        return self.dir / (daemon + ".xml")

    def log(self, daemon):
        return self.dir / (daemon + ".log")

    def _write_configs(self):
        attrs = ""
        if self.cert is not None:
            attrs += "pemfile='%s'" % self.cert.pemfile
        if self.require_starttls:
            attrs += " require-starttls='true'"
        common = dict(IP=self.ip, ROUTER_PORT=self.router_port,
                      ROUTER_USER=self.router_user, ROUTER_PASS=self.router_pass,
                      DOMAIN=self.domain, DB=self.db)
        t = "jabberd2/"
        self.sb.render(t + "router-users.xml.in", self.dir / "router-users.xml",
                       **common)
        self.sb.render(t + "router.xml.in", self.config("router"),
                       ROUTER_ID="router", LOG=self.log("router"),
                       USERS_FILE=self.dir / "router-users.xml",
                       FILTER_FILE=self.dir / "router-filter.xml", **common)
        if self.pg is None:
            driver = ("<driver>sqlite</driver>\n    <sqlite>\n"
                      "      <dbname>%s</dbname>\n"
                      "      <busy-timeout>2000</busy-timeout>\n"
                      "    </sqlite>" % self.db)
        else:
            driver = self.pg.sm_storage_xml()
        self.sb.render(t + "sm.xml.in", self.config("sm"), SM_ID="sm",
                       LOG=self.log("sm"), LIBDIR=self._libdir("sm"),
                       STORAGE_DRIVER=driver, **common)
        self.sb.render(t + "c2s.xml.in", self.config("c2s"), C2S_ID="c2s",
                       LOG=self.log("c2s"), C2S_PORT=self.c2s_port,
                       DOMAIN_ATTRS=attrs, LIBDIR=self._libdir("c2s"),
                       **common)

    def start(self, timeout=20.0):
        """Create the database, then start router, sm and c2s in order, each
        awaited until usable. Returns self."""
        binaries = {d: self._binary(d) for d in DAEMONS}
        if "stock" in self.flavors.values() or paths.stock_schema() is not None:
            create_stock_schema(self.db)
        for d in DAEMONS:
            port = {"router": self.router_port, "c2s": self.c2s_port}.get(d)
            self.daemons[d] = self.sb.start(
                self._name(d), [binaries[d], "-c", self.config(d)],
                logs=[self.log(d)],
                ready_port=(self.ip, port) if port else None,
                ready_log=READY_LOG[self.flavors[d]].get(d), timeout=timeout)
        return self

    @property
    def storage(self):
        return "sqlite" if self.pg is None else getattr(self.pg, "kind", "pgsql")

    def sm_query(self, sql, params=()):
        """Rows of `sql` run on the sm's database, whichever driver; `?`
        placeholders take `params` (strings or ints)."""
        if self.pg is None:
            con = sqlite3.connect(str(self.db))
            try:
                return [list(r) for r in con.execute(sql, params).fetchall()]
            finally:
                con.close()
        parts = sql.split("?")
        if len(parts) != len(params) + 1:
            raise ValueError("placeholders and parameters differ: %r" % sql)
        text = parts[0]
        for p, rest in zip(params, parts[1:]):
            lit = str(p) if isinstance(p, int) else "'%s'" % str(p).replace("'", "''")
            text += lit + rest
        rows = self.pg.query(text)
        return [[int(v) if v.lstrip("-").isdigit() else v for v in r] for r in rows]

    def sm_count(self, table, owner):
        """Rows of `table` owned by `owner` in the sm's database."""
        return self.sm_query('SELECT COUNT(*) FROM "%s" WHERE "collection-owner"=?'
                             % table, (owner,))[0][0]

    @property
    def c2s_address(self):
        return (self.ip, self.c2s_port)


def start_our_sm_again(sandbox, node, n):
    """Start our sm once more, after it stopped (a new log file, so the
    readiness line awaited is the new one's)."""
    log = node.log("sm-%d" % n)
    conf = node.config("sm").read_text().replace(str(node.log("sm")), str(log))
    path = node.dir / ("sm-%d.xml" % n)
    path.write_text(conf)
    node.daemons["sm"] = sandbox.start(
        "node1-sm-%d" % n, [our_binary_or_skip("sm"), "-c", path],
        logs=[log], ready_log=r"ready for sessions")
