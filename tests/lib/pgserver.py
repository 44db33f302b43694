# SPDX-License-Identifier: GPL-2.0-or-later
"""A private PostgreSQL server for one test, like the C tests' harness
(storage/tests/pg_harness.c): Debian's server binaries on a fresh data
directory, a unix socket only (no TCP), trust for the superuser "test",
and, as root, run as the user postgres (or nobody), since PostgreSQL
refuses root. The directory is under /tmp (the server's user must reach
it) and is removed on stop(). Skips the test without the binaries.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

from . import paths

SUPERUSER = "test"
PORT = "54330"


def _bindir():
    env = os.environ.get("PG_BINDIR")
    if env:
        return env
    best = None
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        if not (os.access(os.path.join(d, "initdb"), os.X_OK)
                and os.access(os.path.join(d, "pg_ctl"), os.X_OK)):
            continue
        v = float(d.split("/")[4]) if d.split("/")[4].replace(".", "").isdigit() else 0
        if best is None or v > best[0]:
            best = (v, d)
    return best[1] if best else None


class PgServer:
    def __init__(self):
        self.bindir = _bindir()
        if self.bindir is None:
            pytest.skip("PostgreSQL server binaries not found (Debian postgresql)")
        self.dir = tempfile.mkdtemp(prefix="jc-pg-", dir="/tmp")
        self.data = os.path.join(self.dir, "data")
        self.uid = self.gid = None
        if os.geteuid() == 0:
            for name in (os.environ.get("PG_TEST_USER"), "postgres", "nobody"):
                if not name:
                    continue
                try:
                    pw = pwd.getpwnam(name)
                except KeyError:
                    continue
                self.uid, self.gid = pw.pw_uid, pw.pw_gid
                break
            os.chown(self.dir, self.uid, self.gid)
        self.started = False

    def _run(self, *argv, timeout=120):
        def drop():
            if self.uid is not None:
                os.setgroups([])
                os.setgid(self.gid)
                os.setuid(self.uid)
        return subprocess.run(
            [os.path.join(self.bindir, argv[0])] + list(argv[1:]),
            cwd=self.dir, preexec_fn=drop, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=paths.scaled(timeout))

    def start(self):
        r = self._run("initdb", "-D", self.data, "-U", SUPERUSER, "-A", "trust",
                      "-E", "UTF8", "--locale=C", "--no-sync")
        assert r.returncode == 0, r.stdout.decode(errors="replace")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\nlisten_addresses = ''\nunix_socket_directories = '%s'\n"
                    "port = %s\nfsync = off\nsynchronous_commit = off\n"
                    "full_page_writes = off\nmax_connections = 20\n"
                    "shared_buffers = 16MB\n" % (self.dir, PORT))
        r = self._run("pg_ctl", "start", "-D", self.data, "-l",
                      os.path.join(self.dir, "server.log"), "-w", "-t", "60")
        assert r.returncode == 0, r.stdout.decode(errors="replace")
        self.started = True
        return self

    @property
    def host(self):
        return self.dir

    @property
    def port(self):
        return PORT

    def psql(self, sql, db="postgres"):
        """Run SQL as the superuser; the output rows, '|'-separated."""
        r = subprocess.run(
            [os.path.join(self.bindir, "psql") if os.path.exists(
                os.path.join(self.bindir, "psql")) else "psql",
             "-h", self.dir, "-p", PORT, "-U", SUPERUSER, "-d", db, "-X",
             "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=paths.scaled(30))
        assert r.returncode == 0, r.stdout.decode(errors="replace")
        return r.stdout.decode()

    def stop(self):
        if self.started:
            self._run("pg_ctl", "stop", "-D", self.data, "-m", "immediate",
                      "-w", "-t", "30", timeout=60)
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)
