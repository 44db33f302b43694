# SPDX-License-Identifier: GPL-2.0-or-later
"""The installed server runs as an operator runs it: `make install
prefix=DIR` lays out binaries, configs (paths filled in), state
directories and units as jabberd2 does; the jabberd launcher starts the
node from the installed jabberd.cfg; a client logs in; SIGHUP reaches
every daemon and the client's connection survives it; SIGTERM stops the
node cleanly (exit 0, every pid file gone). Also: one daemon's death
stops the node (jabberd2's rule), and "restart on-failure" starts it
again instead.

Only the addresses, ports and log type of the installed configs are
changed (as tools/dist-config does), so that the test runs beside others
on loopback; every path is the one make install wrote."""

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from lib import certs, jabberd, paths
from lib.s2s import S2S

DAEMONS = ("router", "sm", "c2s", "s2s")
DOMAIN = "localhost.localdomain"


def install(sandbox):
    """make install into a fresh prefix in the sandbox; returns it."""
    build = paths.builddir()
    if not (build / "Makefile").exists():
        pytest.skip("no configured build tree at %s" % build)
    prefix = sandbox.path("inst")
    subprocess.run(["make", "-s", "-C", str(build), "install", "prefix=%s" % prefix],
                   check=True, timeout=paths.scaled(300),
                   stdout=subprocess.DEVNULL)
    return prefix


def adjust(prefix, ip, ports, log_type="file"):
    """Move the installed configs to free loopback ports, logs of
    `log_type` (file: under <localstatedir>/log/jabberd)."""
    etc = prefix / "etc"
    for d in DAEMONS:
        f = etc / (d + ".xml")
        text = f.read_text()
        text = text.replace("<ip>0.0.0.0</ip>", "<ip>%s</ip>" % ip)
        text = text.replace("<ip>127.0.0.1</ip>", "<ip>%s</ip>" % ip)
        text = text.replace("<port>5347</port>", "<port>%d</port>" % ports["router"])
        text = text.replace("<port>5222</port>", "<port>%d</port>" % ports["c2s"])
        text = text.replace("<port>5269</port>", "<port>%d</port>" % ports["s2s"])
        text = text.replace("<log type='syslog'>", "<log type='%s'>" % log_type)
        f.write_text(text)


def pidfiles(prefix):
    return sorted((prefix / "var" / "jabberd" / "pid").glob("*.pid"))


def read_pids(prefix):
    return {p.stem: int(p.read_text()) for p in pidfiles(prefix)}


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(what, cond, timeout):
    deadline = time.monotonic() + paths.scaled(timeout)
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def start_node(sandbox, extra_cfg="", args=(), log_type="file"):
    prefix = install(sandbox)
    ip = "127.0.0.1"
    ports = {d: sandbox.free_port(ip) for d in ("router", "c2s", "s2s")}
    adjust(prefix, ip, ports, log_type)
    cert = certs.self_signed(sandbox.dir, DOMAIN)
    shutil.copy(cert.pemfile, prefix / "etc" / "server.pem")
    if extra_cfg:
        with open(prefix / "etc" / "jabberd.cfg", "a") as f:
            f.write(extra_cfg)
    logs = prefix / "var" / "log" / "jabberd"
    launcher = sandbox.start("jabberd", [prefix / "bin" / "jabberd"] + list(args),
                             logs=[logs / (d + ext) for d in DAEMONS
                                   for ext in (".log", ".log.1")],
                             ready_port=(ip, ports["c2s"]))
    launcher.wait_log(r"c2s: ready for clients", timeout=paths.scaled(20))
    # The sm may reach the router after c2s (it retries a refused
    # connect): until c2s hears the domain is served, a client is sent
    # host-gone.
    launcher.wait_log(r"c2s: %s is available" % re.escape(DOMAIN), timeout=paths.scaled(20))
    wait_for("four pid files", lambda: len(pidfiles(prefix)) == 4, 20)
    return prefix, launcher, cert, (ip, ports["c2s"]), logs


def running_from(prefix):
    """Pids of the live processes running a program installed under
    `prefix`: the launcher (a script: bash's argv[1]) and the daemons it
    started, with or without a pid file yet. The prefix is this test's
    own sandbox, so no one else's process matches."""
    bindir = str(prefix / "bin") + "/"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = f.read().split(b"\0")[:2]
            with open("/proc/%s/stat" % entry) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(a.decode(errors="replace").startswith(bindir)
                                for a in argv):
            found.append(int(entry))
    return found


def kill_leftovers(prefix, timeout=10):
    """What this test started and left running, on the way out of it,
    passed or failed: SIGKILL to every process running from `prefix`
    (a detached launcher too, and a daemon it started again meanwhile),
    until none is left or `timeout` seconds (scaled) have passed."""
    deadline = time.monotonic() + paths.scaled(timeout)
    while True:
        left = running_from(prefix)
        if not left:
            return
        assert time.monotonic() < deadline, "still running after SIGKILL: %s" % left
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def test_install_layout(sandbox):
    prefix = install(sandbox)
    for d in DAEMONS + ("muc", "pubsub", "jabberd", "jabberd-cluster", "jabberd2-fs-to-sqlite"):
        assert os.access(prefix / "bin" / d, os.X_OK), d
    # the router module a <cluster> section loads from <pkglibdir>
    assert (prefix / "lib" / "jabberd-cluster" / "cluster.so").is_file()
    etc = prefix / "etc"
    for f in ("router.xml", "sm.xml", "c2s.xml", "s2s.xml", "muc.xml", "pubsub.xml",
              "router-users.xml", "router-filter.xml", "jabberd.cfg"):
        assert (etc / f).is_file() and (etc / (f + ".dist")).is_file(), f
        text = (etc / f).read_text()
        for var in ("@sysconfdir@", "@localstatedir@", "@pkglibdir@", "@bindir@"):
            assert var not in text, "%s has %s" % (f, var)
    assert oct((etc / "router.xml").stat().st_mode & 0o777) == "0o640"
    sm = (etc / "sm.xml").read_text()
    assert "<pidfile>%s/var/jabberd/pid/${id}.pid</pidfile>" % prefix in sm
    assert "<dbname>%s/var/jabberd/db/sqlite.db</dbname>" % prefix in sm
    muc = (etc / "muc.xml").read_text()
    assert "<pidfile>%s/var/jabberd/pid/${id}.pid</pidfile>" % prefix in muc
    assert "<file>%s/var/log/jabberd/muc.log</file>" % prefix in muc
    pubsub = (etc / "pubsub.xml").read_text()
    assert "<dbname>%s/var/jabberd/db/sqlite.db</dbname>" % prefix in pubsub
    cfg = (etc / "jabberd.cfg").read_text()
    assert "router  %s/etc/router.xml" % prefix in cfg
    for d in ("jabberd/pid", "jabberd/db", "log/jabberd"):
        assert (prefix / "var" / d).is_dir(), d
    # A second install keeps what the operator edited.
    (etc / "c2s.xml").write_text((etc / "c2s.xml").read_text() + "<!-- mine -->\n")
    install(sandbox)
    assert (etc / "c2s.xml").read_text().endswith("<!-- mine -->\n")


def test_units_verify(sandbox):
    prefix = install(sandbox)
    units = prefix / "lib" / "systemd" / "system"
    if not units.is_dir():
        pytest.skip("built without libsystemd: no units")
    names = sorted(p.name for p in units.glob("*.service"))
    assert names == ["jabberd-c2s.service", "jabberd-muc.service",
                     "jabberd-pubsub.service", "jabberd-router.service",
                     "jabberd-s2s.service", "jabberd-sm.service", "jabberd.service"]
    muc = (units / "jabberd-muc.service").read_text()
    assert "ExecStart=%s/bin/muc -c %s/etc/muc.xml" % (prefix, prefix) in muc
    assert "Requires=jabberd-router.service" in muc
    # the node does not pull the group chat service in by itself
    assert "jabberd-muc" not in (units / "jabberd.service").read_text()
    pubsub = (units / "jabberd-pubsub.service").read_text()
    assert "Requires=jabberd-router.service" in pubsub
    assert "jabberd-pubsub" not in (units / "jabberd.service").read_text()
    c2s = (units / "jabberd-c2s.service").read_text()
    assert "Type=notify" in c2s and "WatchdogSec=" in c2s
    assert "ExecStart=%s/bin/c2s -c %s/etc/c2s.xml" % (prefix, prefix) in c2s
    assert "Requires=jabberd-router.service" in c2s
    assert "jabberd-router.service" not in (units / "jabberd-sm.service").read_text()
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze missing (Debian package systemd)")
    r = subprocess.run([tool, "verify"] + [str(units / n) for n in names],
                       capture_output=True, text=True, timeout=paths.scaled(60))
    assert r.returncode == 0, r.stderr


def test_launcher_hup_and_term(sandbox, xmpp):
    prefix, launcher, cert, address, logs = start_node(sandbox)
    try:
        pids = read_pids(prefix)
        assert len(pids) == 4 and all(alive(p) for p in pids.values())
        ann = xmpp.client("ann@" + DOMAIN, "pw-ann-1", address, tls="starttls",
                          cafile=cert.certfile)
        ann.register()
        ann.login()
        ann.send_message(ann.full_jid, "before SIGHUP")
        ann.wait_message(body="before SIGHUP")

        # logrotate's way: move the files away, then SIGHUP; every daemon
        # opens a new file.
        for d in DAEMONS:
            (logs / (d + ".log")).rename(logs / (d + ".log.1"))
        launcher.signal(signal.SIGHUP)
        wait_for("new log files",
                 lambda: all((logs / (d + ".log")).exists() for d in DAEMONS), 10)
        wait_for("c2s to reload", lambda: "c2s: SIGHUP" in (logs / "c2s.log").read_text(), 10)
        wait_for("router to reload",
                 lambda: "router: SIGHUP" in (logs / "router.log").read_text(), 10)
        # Same processes, same stream.
        assert read_pids(prefix) == pids
        ann.send_message(ann.full_jid, "after SIGHUP")
        ann.wait_message(body="after SIGHUP")

        launcher.signal(signal.SIGTERM)
        launcher.proc.wait(paths.scaled(20))
        assert launcher.proc.returncode == 0
        assert pidfiles(prefix) == []
        assert not any(alive(p) for p in pids.values())
        for d in DAEMONS:
            assert re.search(r"%s: (stopped|shutting down)" % d,
                             (logs / (d + ".log")).read_text()), d
    finally:
        kill_leftovers(prefix)


def test_launcher_debug_prefixes_output(sandbox):
    """-D: each daemon runs with -D and its output comes through the
    launcher, each line prefixed with the daemon's tag, as jabberd2's."""
    prefix, launcher, _, _, _ = start_node(sandbox, args=["-D"], log_type="stdout")
    try:
        out = launcher.output()
        for tag, line in (("ROUT: ", "router: listening on"),
                          ("SM  : ", "sm: sm ready for sessions"),
                          ("C2S : ", "c2s: ready for clients"),
                          ("S2S : ", "s2s: listening for servers")):
            launcher.wait_log(re.escape(tag) + r".*" + re.escape(line), timeout=10)
        assert re.search(r"(?m)^C2S : .*\[debug\]", launcher.output()), out[-2000:]
        launcher.signal(signal.SIGTERM)
        launcher.proc.wait(paths.scaled(20))
        assert launcher.proc.returncode == 0
    finally:
        kill_leftovers(prefix)


def test_launcher_stops_all_when_one_dies(sandbox):
    prefix, launcher, _, _, _ = start_node(sandbox)
    try:
        pids = read_pids(prefix)
        launcher.expect_exit = True
        os.kill(pids["c2s"], signal.SIGKILL)
        launcher.proc.wait(paths.scaled(20))
        assert launcher.proc.returncode != 0
        wait_for("the others to stop", lambda: not any(alive(p) for p in pids.values()), 10)
        assert "c2s (pid %d) exited with status" % pids["c2s"] in launcher.output()
    finally:
        kill_leftovers(prefix)


def test_launcher_restarts_on_failure(sandbox):
    prefix, launcher, _, _, logs = start_node(sandbox, "restart on-failure\n")
    try:
        pids = read_pids(prefix)
        os.kill(pids["sm"], signal.SIGKILL)
        wait_for("a new sm", lambda: read_pids(prefix).get("sm") not in (None, pids["sm"]),
                 15)
        assert launcher.alive()
        assert "sm (pid %d) failed" % pids["sm"] in launcher.output()
        def new_sm_ready():
            runs = (logs / "sm.log").read_text().split("sm: starting up")
            return len(runs) >= 3 and "ready for sessions" in runs[-1]
        wait_for("the new sm to bind", new_sm_ready, 15)
        for d in ("router", "c2s", "s2s"):
            assert read_pids(prefix)[d] == pids[d]
    finally:
        launcher.signal(signal.SIGTERM)
        launcher.proc.wait(paths.scaled(20))
        kill_leftovers(prefix)


def test_sigint_is_an_orderly_exit(sandbox):
    """SIGINT (Ctrl-C on a daemon run by hand) ends each daemon as SIGTERM
    does: streams closed, exit status 0."""
    node = jabberd.Node(sandbox, number=1, flavor="ours", domain="a.test").start()
    s2s = S2S(node).start()
    daemons = [s2s.daemon] + [node.daemons[d] for d in ("c2s", "sm", "router")]
    for d in daemons:
        d.signal(signal.SIGINT)
        assert d.stop() == [], d.name
        assert re.search(r"shutting down", d.output()), d.name


def test_launcher_background(sandbox):
    """-b: the launcher detaches (its command returns 0 at once) and keeps
    the node running; SIGTERM to the detached launcher stops it all."""
    prefix = install(sandbox)
    ip = "127.0.0.1"
    ports = {d: sandbox.free_port(ip) for d in ("router", "c2s", "s2s")}
    adjust(prefix, ip, ports)
    cert = certs.self_signed(sandbox.dir, DOMAIN)
    shutil.copy(cert.pemfile, prefix / "etc" / "server.pem")
    try:
        r = subprocess.run([str(prefix / "bin" / "jabberd"), "-b"], timeout=paths.scaled(10),
                           env=sandbox.environment(), stdin=subprocess.DEVNULL,
                           capture_output=True)
        assert r.returncode == 0, r.stderr
        wait_for("four pid files", lambda: len(pidfiles(prefix)) == 4, 20)
        pids = read_pids(prefix)
        with open("/proc/%d/stat" % pids["router"]) as f:
            bg = int(f.read().rsplit(")", 1)[1].split()[1])
        with open("/proc/%d/cmdline" % bg, "rb") as f:
            assert b"jabberd" in f.read()
        assert all(alive(p) for p in pids.values())
        os.kill(bg, signal.SIGTERM)
        wait_for("the node to stop", lambda: not alive(bg) and pidfiles(prefix) == [], 20)
        assert not any(alive(p) for p in pids.values())
    finally:
        # The launcher detached: neither the sandbox nor a pid file knows
        # it if the test failed before the daemons wrote theirs.
        kill_leftovers(prefix)
