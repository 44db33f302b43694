# SPDX-License-Identifier: GPL-2.0-or-later
"""A private PostgreSQL server for integration tests (Debian's postgresql
package): initdb into a fresh directory, listening on a unix socket in that
directory only (listen_addresses = '', so no TCP at all), trust
authentication for the one local superuser, stopped (pg_ctl -m fast, then
SIGKILL after a bound) and removed when done.

One server serves a whole pytest session (initdb costs seconds); every test
gets a database of its own from Server.database(), created from jabberd2's
own db-setup.pgsql when Debian ships it, as tests/lib/jabberd.py does for
SQLite, so the sm runs on jabberd2's schema and adds only what it lacks.

The server directory is a short one under /tmp, not the per-test sandbox:
a unix socket path must fit in 107 bytes, pytest's directories are longer,
and as root the server runs as user postgres, who cannot enter pytest's
0700 base directory. The server log is copied into each test's sandbox
(database().attach) so a failed test still shows it.

Tools: initdb, pg_ctl (from $PG_BINDIR or the newest
/usr/lib/postgresql/<version>/bin) and psql (the client, on $PATH or in the
same directory). None missing: the caller skips with the reason.
"""

import atexit
import glob
import gzip
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from . import paths

PORT = 5432          # only names the socket file; no TCP listener exists
SUPERUSER = "jc"
INITDB_TIMEOUT = 120.0
CTL_TIMEOUT = 60
PSQL_TIMEOUT = 30.0
STOCK_PGSQL_SCHEMA = (
    Path("/usr/share/doc/jabberd2/db-setup.pgsql.gz"),
    Path("/usr/share/doc/jabberd2/db-setup.pgsql"),
)


class Unavailable(Exception):
    """No PostgreSQL server installed: the test is skipped with this."""


def _bindir():
    env = os.environ.get("PG_BINDIR")
    candidates = [env] if env else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: float(re.sub(r"[^0-9.]", "", p.split("/")[-2]) or 0),
        reverse=True)
    for d in candidates:
        if all(os.access(os.path.join(d, t), os.X_OK) for t in ("initdb", "pg_ctl")):
            return d
    raise Unavailable("no PostgreSQL server (initdb, pg_ctl) in %s; install "
                      "Debian's postgresql (tools/install-deps --test) or set "
                      "PG_BINDIR" % (env or "/usr/lib/postgresql/*/bin"))


def stock_schema_sql():
    """jabberd2's db-setup.pgsql as text, or None if not installed."""
    for p in STOCK_PGSQL_SCHEMA:
        if p.exists():
            data = p.read_bytes()
            return (gzip.decompress(data) if p.suffix == ".gz" else data).decode()
    return None


class Server:
    def __init__(self):
        self.bindir = _bindir()
        psql = os.path.join(self.bindir, "psql")
        self.psql_bin = psql if os.access(psql, os.X_OK) else shutil.which("psql")
        if self.psql_bin is None:
            raise Unavailable("psql not found (Debian's postgresql-client)")
        self.dir = Path(tempfile.mkdtemp(prefix="jc-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.user = None
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            try:
                self.user = pwd.getpwnam(os.environ.get("PG_TEST_USER", "postgres"))
            except KeyError:
                self.user = pwd.getpwnam("nobody")
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self.started = False
        self.stopped = False
        self.serial = 0

    @property
    def socket_dir(self):
        return str(self.dir)

    def _as_server_user(self):
        if self.user is not None:
            os.setgroups([])
            os.setgid(self.user.pw_gid)
            os.setuid(self.user.pw_uid)

    def _tool(self, argv, timeout):
        proc = subprocess.run([os.path.join(self.bindir, argv[0])] + argv[1:],
                              cwd=str(self.dir), preexec_fn=self._as_server_user,
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=paths.scaled(timeout))
        if proc.returncode != 0:
            raise RuntimeError("%s failed (%d): %s%s" % (
                argv[0], proc.returncode, proc.stdout.decode(errors="replace"),
                proc.stderr.decode(errors="replace")))

    def start(self):
        self._tool(["initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust",
                    "-E", "UTF8", "--locale=C", "--no-sync"], INITDB_TIMEOUT)
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("\n# jabberd-cluster tests: socket only, fast, small\n"
                    "listen_addresses = ''\nunix_socket_directories = '%s'\n"
                    "port = %d\nfsync = off\nsynchronous_commit = off\n"
                    "full_page_writes = off\nmax_connections = 40\n"
                    "shared_buffers = 16MB\n" % (self.dir, PORT))
        with open(self.data / "pg_hba.conf", "w") as f:
            f.write("local all all trust\n")
        self.started = True
        # Last resort if the session's teardown never runs (pytest
        # interrupted): no server left behind.
        atexit.register(self.stop)
        self._tool(["pg_ctl", "start", "-D", str(self.data), "-l", str(self.log),
                    "-w", "-t", str(CTL_TIMEOUT)], CTL_TIMEOUT + 10)
        return self

    def stop(self):
        """Stop the server (fast shutdown, bounded; SIGKILL as a last
        resort) and remove its directory. Stopping twice does nothing."""
        if self.stopped:
            return
        self.stopped = True
        try:
            if self.started:
                try:
                    self._tool(["pg_ctl", "stop", "-D", str(self.data), "-m", "fast",
                                "-w", "-t", "30"], 40)
                except (RuntimeError, subprocess.TimeoutExpired):
                    self._kill()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _kill(self):
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def psql(self, dbname, sql, stdin=None):
        """Run `sql` (or a script on stdin) in `dbname`; stop at the first
        error. Returns the rows as lists of strings (unaligned output)."""
        argv = [self.psql_bin, "-X", "-q", "-A", "-t", "-F", "\x1f",
                "-v", "ON_ERROR_STOP=1", "-h", self.socket_dir, "-p", str(PORT),
                "-U", SUPERUSER, "-d", dbname]
        argv += ["-f", "-"] if sql is None else ["-c", sql]
        proc = subprocess.run(argv, input=(stdin or "").encode(), capture_output=True,
                              timeout=paths.scaled(PSQL_TIMEOUT))
        if proc.returncode != 0:
            raise RuntimeError("psql %s: %s" % (dbname, proc.stderr.decode(errors="replace")))
        out = proc.stdout.decode()
        return [line.split("\x1f") for line in out.splitlines() if line != ""]

    def database(self, stock_schema=True):
        """A new, empty database (with jabberd2's schema if asked and
        installed)."""
        self.serial += 1
        name = "jc%d" % self.serial
        self.psql("postgres", 'CREATE DATABASE "%s"' % name)
        if stock_schema:
            sql = stock_schema_sql()
            if sql is not None:
                self.psql(name, None, stdin=sql)
        return Database(self, name)


class Database:
    """One test's database on the shared server."""

    def __init__(self, server, name):
        self.server = server
        self.name = name

    def query(self, sql):
        return self.server.psql(self.name, sql)

    def sm_storage_xml(self):
        """The <storage> driver part of sm.xml, with jabberd2's element
        names (storage.pgsql.host/port/dbname/user)."""
        return ("<driver>pgsql</driver>\n    <pgsql>\n"
                "      <host>%s</host>\n      <port>%d</port>\n"
                "      <dbname>%s</dbname>\n      <user>%s</user>\n"
                "    </pgsql>" % (self.server.socket_dir, PORT, self.name, SUPERUSER))

    def save_log(self, dest):
        """Copy the server log (shared by the session) to `dest`."""
        try:
            shutil.copyfile(self.server.log, dest)
        except OSError:
            pass
