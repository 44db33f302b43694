# SPDX-License-Identifier: GPL-2.0-or-later
"""Smoke test of the load generator (bench/xmpp-bench): each scenario, with
small counts, against our own server logs in over STARTTLS and reports
sane figures; against a server that misbehaves it fails cleanly with a
reason instead of crashing or hanging. The real benchmark is bench/run."""

import json
import socket
import subprocess
import sys
import threading

import pytest

from lib import paths

sys.path.insert(0, str(paths.SRCDIR / "bench"))
import servers  # noqa: E402


def xmpp_bench():
    prog = paths.builddir() / "bench" / "xmpp-bench" / "xmpp-bench"
    if not prog.exists():
        if paths.require_daemons():
            pytest.fail("xmpp-bench not built in %s" % paths.builddir())
        pytest.skip("xmpp-bench not built in %s" % paths.builddir())
    return str(prog)


@pytest.fixture
def server(sandbox):
    srv = servers.make("ours", sandbox, 1)
    srv.prepare(users=20, prefix_users="u", fan_first=0, fan_users=6,
                contacts=2, max_sessions=20)
    return srv.start()


def no_sanitizer_report(output):
    """Under the ASan build, the generator's own errors show up here."""
    for word in (b"Sanitizer", b"runtime error:"):
        assert word not in output, output.decode(errors="replace")


def run(srv, *args, timeout=60):
    argv = [xmpp_bench(), *args, "--server", "%s:%d" % srv.address,
            "--pids", ",".join(map(str, srv.pids())), "--json", "-",
            "--duration", "30", "--no-progress", "--settle", "0.2",
            "--src", "127.0.9.1/3"]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    out = p.stdout.decode()
    assert p.returncode == 0, out + p.stderr.decode()
    no_sanitizer_report(p.stderr)
    doc = json.loads(out.strip().splitlines()[-1])
    assert doc["complete"] and doc["error"] is None
    return doc["results"]


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-1"])
def test_login_storm(server, mech):
    r = run(server, "login", "--mech", mech, "-n", "30", "-c", "5",
            "--users", "20")
    assert r["logins"] == 30 and r["failed_streams"] == 0
    assert r["logins_per_s"] > 0 and r["login_p50_ms"] > 0
    assert r["server_cpu_s"] > 0  # TLS and SASL cost the server something


def test_idle_sessions_memory(server):
    r = run(server, "idle", "--mech", "PLAIN", "-n", "20", "-c", "5",
            "--users", "20")
    assert r["sessions"] == 20
    assert r["rss_after_kib"] > 0 and r["rss_before_kib"] > 0
    assert r["generator_rss_kib"] > 0


def test_message_pairs(server):
    r = run(server, "messages", "--mech", "PLAIN", "--pairs", "4",
            "--window", "2", "-n", "400", "--users", "20")
    assert r["msgs"] == 400
    assert r["msgs_per_s"] > 0
    assert 0 < r["latency_p50_ms"] <= r["latency_p99_ms"] <= \
        r["latency_max_ms"]
    assert r["server_cpu_s_per_1000_msgs"] > 0
    assert "generator_cpu_s_per_1000_msgs" in r


def test_presence_fanout(server):
    # 6 users in 2 groups of 3: each update reaches 2 contacts.
    r = run(server, "fanout", "--mech", "PLAIN", "--user-prefix", "f",
            "--contacts", "2", "-n", "6", "--rounds", "3")
    assert r["presences"] == r["presences_expected"] == 6 * 2 * 3
    assert r["presences_per_s"] > 0


def test_wrong_password_fails_cleanly(server):
    p = subprocess.run([xmpp_bench(), "login", "-n", "3", "-c", "1",
                        "--server", "%s:%d" % server.address,
                        "--password", "wrong", "--duration", "20",
                        "--no-progress"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    assert p.returncode == 1
    no_sanitizer_report(p.stdout)
    assert b"SASL failure" in p.stdout and b"INCOMPLETE" in p.stdout


@pytest.mark.parametrize("reply", [
    b"this is not xml at all <<<",
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
    b"<stream:features/>",  # no STARTTLS
    b"",  # closes at once
    None,  # accepts and says nothing: only the time bound ends it
])
def test_misbehaving_server(reply):
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(16)
    lst.settimeout(30)
    port = lst.getsockname()[1]
    held = []

    def serve():
        try:
            while True:
                c, _ = lst.accept()
                c.settimeout(5)
                try:
                    c.recv(4096)
                except OSError:
                    pass
                if reply is None:
                    held.append(c)
                    continue
                if reply:
                    c.sendall(reply)
                c.close()
        except OSError:
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        p = subprocess.run([xmpp_bench(), "login", "-n", "4", "-c", "2",
                            "--server", "127.0.0.1:%d" % port,
                            "--duration", "2", "--no-progress"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30)
    finally:
        lst.close()
        for c in held:
            c.close()
    assert p.returncode == 1, p.stdout
    no_sanitizer_report(p.stdout)
    assert b"INCOMPLETE" in p.stdout and b"first error:" in p.stdout


@pytest.fixture
def muc_server(sandbox):
    """Ours with this tree's muc serving servers.MUC_SERVICE."""
    if paths.our_binary("muc") is None:
        if paths.require_daemons():
            pytest.fail("muc not built in %s" % paths.builddir())
        pytest.skip("muc not built in %s" % paths.builddir())
    srv = servers.make("ours", sandbox, 1)
    srv.muc = True
    srv.prepare(users=20, prefix_users="u", fan_first=0, fan_users=0,
                contacts=2, max_sessions=20)
    return srv.start()


def test_muc_room(muc_server):
    # 7 occupants, 3 of them talking: every message reaches all 7 (the
    # sender's own reflected copy included), in order per sender.
    r = run(muc_server, "muc", "--mech", "PLAIN", "--occupants", "7",
            "--senders", "3", "--window", "2", "-n", "300", "-c", "3",
            "--room", "xbtest@" + servers.MUC_SERVICE)
    assert r["msgs"] == 300 and r["deliveries"] == 300 * 7
    assert r["deliveries_per_s"] > 0 and r["join_seconds"] > 0
    assert 0 < r["latency_p50_ms"] <= r["latency_p99_ms"] <= \
        r["latency_max_ms"]
    # The muc daemon (last of the pids) is counted (its few ms may round
    # to 0 in /proc's ticks).
    muc_pid = muc_server.pids()[-1]
    assert "server_cpu_s_per_1000_deliveries_pid%d" % muc_pid in r
    assert r["server_cpu_s_per_1000_deliveries"] > 0


def test_muc_join_refused_fails_cleanly(muc_server):
    # No service answers for this domain: the first join bounces, and the
    # run ends at once with the reason rather than at its time bound.
    p = subprocess.run([xmpp_bench(), "muc", "--mech", "PLAIN",
                        "--occupants", "3", "--senders", "1", "-n", "5",
                        "--room", "xbtest@nowhere.localhost",
                        "--server", "%s:%d" % muc_server.address,
                        "--duration", "30", "--no-progress",
                        "--src", "127.0.9.1/3"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    assert p.returncode == 1, p.stdout
    no_sanitizer_report(p.stdout)
    assert b"the room refused a join" in p.stdout, p.stdout
    assert b"INCOMPLETE" in p.stdout
