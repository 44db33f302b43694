# SPDX-License-Identifier: GPL-2.0-or-later
"""pytest fixtures for the integration tests (the harness is tests/lib/).

  sandbox  a Sandbox in the test's temp dir. When the test ends it stops
           every daemon and FAILS the test (as a teardown error) on any
           sanitizer report, alert/critical log line, crash, or daemon that
           needed SIGKILL.
  xmpp     a ClientLoop for slixmpp clients; closed (all clients
           disconnected) before the sandbox stops the daemons.
  pg_server  one private PostgreSQL server for the session
           (tests/lib/pgsql.py), started on first use, stopped at the end;
           skips its users if Debian's postgresql is not installed.
  cluster3  the test module's 3-node cluster (tests/lib/cluster.py), every
           node up and linked when the test starts; fresh users per test
           (cluster3.user()).
  cluster3p  the same with every link through a FaultProxy of the test's
           (tests/lib/faultproxy.py): cluster3p.mesh breaks links; every
           test starts with them healed.
  my_server  one private MariaDB server for the session
           (tests/lib/mysql.py), started on first use, stopped at the end;
           skips its users if Debian's mariadb-server is not installed.
  sm_storage  parametrized "sqlite" / "pgsql" / "mysql": None (the
           node's SQLite file) or a fresh pgsql.Database or mysql.Database,
           for jabberd.Node(storage=...).

When a test fails, the tail of every daemon's output is added to the
report, and the sandbox directory (kept by pytest for the last runs) is
named so the full logs can be read.
"""

import sys

import pytest

from lib import sandbox as sandbox_mod
# cluster3: a 3-node cluster on one PostgreSQL, one per test module.
from lib.cluster import cluster3, cluster3_module  # noqa: F401 (fixtures)
from lib.cluster import cluster3p, cluster3p_module  # noqa: F401 (fixtures)


def pytest_configure(config):
    try:
        import slixmpp  # noqa: F401
    except ImportError as e:
        raise pytest.UsageError(
            "slixmpp is not importable by %s (%s). Debian's python3-slixmpp "
            "is installed for /usr/bin/python3: run "
            "'/usr/bin/python3 -m pytest tests/integration' "
            "(tools/install-deps --test installs it)." % (sys.executable, e))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    args = item.funcargs if hasattr(item, "funcargs") else {}
    # A test's own sandbox, and a shared cluster's (tests/lib/cluster.py).
    boxes = [args.get("sandbox"), getattr(args.get("cluster3"), "sb", None),
             getattr(args.get("cluster3p"), "sb", None)]
    text = []
    for sb in boxes:
        if sb is None or not sb.daemons:
            continue
        text.append("sandbox: %s" % sb.dir)
        for d in sb.daemons:
            text.append("== %s (%s) ==\n%s" % (d.name, " ".join(d.argv), d.tail()))
    if text:
        rep.sections.append(("daemon output", "\n".join(text)))


@pytest.fixture
def sandbox(tmp_path):
    sb = sandbox_mod.Sandbox(tmp_path)
    yield sb
    problems = sb.finish()
    if problems:
        pytest.fail("daemon problems (sandbox %s):\n\n%s"
                    % (sb.dir, "\n\n".join(problems)), pytrace=False)


@pytest.fixture
def xmpp(sandbox):
    # Depends on sandbox so that it is torn down first: clients log out
    # while the daemons are still up.
    from lib import xmpp as xmpp_mod
    loop = xmpp_mod.ClientLoop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def pg_server():
    from lib import jabberd, pgsql
    try:
        server = pgsql.Server()
    except pgsql.Unavailable as e:
        jabberd.missing(str(e))
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture(scope="session")
def my_server():
    from lib import jabberd, mysql
    try:
        server = mysql.Server()
    except mysql.Unavailable as e:
        jabberd.missing(str(e))
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "pgsql", "mysql"])
def sm_storage(request, sandbox):
    if request.param == "sqlite":
        yield None
        return
    server = "pg_server" if request.param == "pgsql" else "my_server"
    db = request.getfixturevalue(server).database()
    yield db
    db.save_log(sandbox.path("postgresql.log" if request.param == "pgsql" else "mariadb.log"))
