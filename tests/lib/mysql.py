# SPDX-License-Identifier: GPL-2.0-or-later
"""A private MariaDB server for integration tests (Debian's mariadb-server
package): mariadb-install-db into a fresh directory under /tmp, mariadbd
with no option file, listening on 127.0.0.1 on a free port and on a unix
socket in that directory, stopped by its pid (SIGTERM, then SIGKILL after
a bound) and removed when done.

One server serves a whole pytest session; every test gets a database of
its own from Server.database(), created from jabberd2's own
db-setup.mysql when Debian ships it, so both jabberd2 and our daemons run
on jabberd2's schema. The daemons connect over TCP as USER with a
password, as a site's would; the harness uses the server's root on the
socket.

Tools: mariadbd, mariadb-install-db, mariadb (the client), from
$MARIADB_BINDIR or Debian's places. Missing: Unavailable, and the caller
skips with the reason.
"""

import atexit
import gzip
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from . import paths

USER = "jd"
PASSWORD = "jd-Secret-7"
START_TIMEOUT = 120.0
CLIENT_TIMEOUT = 30.0
STOCK_MYSQL_SCHEMA = (
    Path("/usr/share/doc/jabberd2/db-setup.mysql.gz"),
    Path("/usr/share/doc/jabberd2/db-setup.mysql"),
)


class Unavailable(Exception):
    """No MariaDB server installed: the test is skipped with this."""


def _tool(name, default_dir):
    d = os.environ.get("MARIADB_BINDIR", default_dir)
    path = os.path.join(d, name)
    if not os.access(path, os.X_OK):
        raise Unavailable("no %s in %s; install Debian's mariadb-server "
                          "(tools/install-deps --test) or set MARIADB_BINDIR" % (name, d))
    return path


def stock_schema_sql():
    """jabberd2's db-setup.mysql as text, without its CREATE DATABASE and
    USE (the test names its own database), or None if not installed."""
    for p in STOCK_MYSQL_SCHEMA:
        if p.exists():
            data = p.read_bytes()
            text = (gzip.decompress(data) if p.suffix == ".gz" else data).decode()
            return re.sub(r"(?m)^(CREATE DATABASE|USE) jabberd2;$", "", text)
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self):
        self.mariadbd = _tool("mariadbd", "/usr/sbin")
        self.install_db = _tool("mariadb-install-db", "/usr/bin")
        self.client = _tool("mariadb", "/usr/bin")
        self.dir = Path(tempfile.mkdtemp(prefix="jc-my-", dir="/tmp"))
        self.socket = self.dir / "sock"
        self.port = _free_port()
        self.proc = None
        self.stopped = False
        self.serial = 0

    def start(self):
        data = self.dir / "data"
        proc = subprocess.run(
            [self.install_db, "--no-defaults", "--datadir=%s" % data, "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            capture_output=True, timeout=paths.scaled(START_TIMEOUT))
        if proc.returncode != 0:
            raise RuntimeError("mariadb-install-db failed: %s"
                               % proc.stderr.decode(errors="replace"))
        atexit.register(self.stop)
        self.proc = subprocess.Popen(
            [self.mariadbd, "--no-defaults", "--datadir=%s" % data,
             "--socket=%s" % self.socket, "--port=%d" % self.port,
             "--bind-address=127.0.0.1", "--user=root", "--skip-name-resolve",
             "--skip-log-bin", "--innodb-buffer-pool-size=16M",
             "--log-error=%s" % (self.dir / "error.log"),
             "--pid-file=%s" % (self.dir / "pid")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + paths.scaled(START_TIMEOUT)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mariadbd exited (%d): %s" % (
                    self.proc.returncode, self.log_text()))
            if self.socket.exists():
                try:
                    self.sql(None, "SELECT 1")
                    break
                except RuntimeError:
                    pass
            time.sleep(0.1)
        else:
            raise RuntimeError("mariadbd did not start: %s" % self.log_text())
        self.sql(None, "CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'" % (USER, PASSWORD))
        self.sql(None, "GRANT ALL ON *.* TO '%s'@'127.0.0.1'" % USER)
        return self

    def log_text(self):
        try:
            return (self.dir / "error.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self):
        """SIGTERM the server by its pid (SIGKILL after a bound) and remove
        its directory. Stopping twice does nothing."""
        if self.stopped:
            return
        self.stopped = True
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(paths.scaled(60))
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def sql(self, dbname, sql, stdin=None):
        """Run `sql` (or a script on stdin) as root in `dbname` (None: no
        database). Returns the rows as lists of strings."""
        argv = [self.client, "--no-defaults", "-S", str(self.socket), "-uroot",
                "-N", "-B"]
        if dbname is not None:
            argv += ["-D", dbname]
        if sql is not None:
            argv += ["-e", sql]
        proc = subprocess.run(argv, input=(stdin or "").encode(), capture_output=True,
                              timeout=paths.scaled(CLIENT_TIMEOUT))
        if proc.returncode != 0:
            raise RuntimeError("mariadb %s: %s" % (dbname, proc.stderr.decode(errors="replace")))
        return [line.split("\t") for line in proc.stdout.decode().splitlines() if line]

    def database(self, stock_schema=True):
        """A new database (with jabberd2's schema if asked and installed)."""
        self.serial += 1
        name = "jc%d" % self.serial
        self.sql(None, "CREATE DATABASE `%s`" % name)
        if stock_schema:
            sql = stock_schema_sql()
            if sql is not None:
                self.sql(name, None, stdin=sql)
        return Database(self, name)


class Database:
    """One test's database on the shared server; jabberd.Node(storage=db)
    puts the sm's data in it."""

    kind = "mysql"

    def __init__(self, server, name):
        self.server = server
        self.name = name

    def query(self, sql):
        """Rows of `sql`, run with ANSI_QUOTES as our daemons run theirs,
        so that the tests' "quoted" identifiers read as in PostgreSQL."""
        return self.server.sql(
            self.name, "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), "
            "'ANSI_QUOTES'); " + sql)

    def sm_storage_xml(self):
        """The <storage> driver part of sm.xml, with jabberd2's element
        names (storage.mysql.host/port/dbname/user/pass)."""
        return ("<driver>mysql</driver>\n    <mysql>\n"
                "      <host>127.0.0.1</host>\n      <port>%d</port>\n"
                "      <dbname>%s</dbname>\n      <user>%s</user>\n"
                "      <pass>%s</pass>\n    </mysql>"
                % (self.server.port, self.name, USER, PASSWORD))

    def save_log(self, dest):
        """Copy the server's error log (shared by the session) to `dest`."""
        try:
            shutil.copyfile(self.server.dir / "error.log", dest)
        except OSError:
            pass

    def rewrite_mysql_section(self, text):
        """jabberd2's <mysql> sections (sm.xml storage, c2s.xml authreg)
        pointed at this database: host, port, dbname, user and pass
        replaced, everything else in them kept."""
        def fix(m):
            block = m.group(0)
            for tag, value in (("host", "127.0.0.1"), ("port", str(self.server.port)),
                               ("dbname", self.name), ("user", USER),
                               ("pass", PASSWORD)):
                block = re.sub(r"<%s>[^<]*</%s>" % (tag, tag),
                               "<%s>%s</%s>" % (tag, value, tag), block, count=1)
            return block
        return re.sub(r"<mysql>.*?</mysql>", fix, text, flags=re.S)
