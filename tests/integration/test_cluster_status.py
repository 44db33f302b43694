# SPDX-License-Identifier: GPL-2.0-or-later
"""The cluster module's control socket (cluster-mod/cluster_control.c) and
the `jabberd-cluster` command that reads it, against our routers on
127.0.0.2-.4 loading cluster-mod/cluster.so: `status` shows the peers up
with their round-trip time, and a stopped peer down with the reason;
`json` parses; `metrics` is Prometheus text format line by line;
refusals are counted by reason and shown as the peer's last error; the
socket is 0600; a request over the size bound, a silent client, and more
clients than the bound do not stall the router; a socket that cannot be
made stops the start with an error naming <control>; a router that is
not running is a clear error and exit status 1.
"""

import json
import os
import re
import socket
import stat
import subprocess
import time

import pytest

from lib import paths

import test_cluster_link as tcl

TIMEOUT = 20


def command():
    return tcl.built("jabberd-cluster")


def run(*args, timeout=15):
    p = subprocess.run([str(command())] + [str(a) for a in args], timeout=timeout,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def sock_path(node):
    # The default: beside the router's pid file, named after it.
    return node.sb.path("router-%s-cluster.sock" % node.name)


def ask_raw(path, data, timeout=5.0):
    """Send `data` on a new connection and read until the node closes."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(str(path))
    s.sendall(data)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out.decode()


def wait_open(nodes):
    for a in nodes:
        for b in nodes:
            if a != b:
                nodes[a].wait(r"cluster: peer %s open: protocol version 2" % b)


def peer_block(text, name):
    m = re.search(r"^peer %s\n((?:  .*\n)*)" % re.escape(name), text, re.M)
    assert m, text
    return m.group(1)


def test_status_shows_peers_up_with_rtt_then_a_stopped_peer_down(sandbox):
    pki = tcl.Pki(sandbox)
    nodes = tcl.three_nodes(sandbox, pki)
    wait_open(nodes)
    time.sleep(1.5)     # a PING/PONG each way (lan profile: every second)
    n1 = nodes["n1"]
    rc, out, err = run("-c", n1.config, "status")
    assert rc == 0, err
    assert out.startswith("node n1\n"), out
    assert re.search(r"^  incarnation  \d+$", out, re.M), out
    assert re.search(r"^  protocol     versions 1-2$", out, re.M), out
    assert "  peers        2 known, 2 up\n" in out, out
    for name in ("n2", "n3"):
        block = peer_block(out, name)
        assert re.search(r"link         up since \S+Z \(\d+ s\), (dialled to|accepted "
                         r"from) 127\.0\.0\.\d:\d+", block), block
        rtt = re.search(r"rtt          ([\d.]+) ms", block)
        assert rtt and 0 < float(rtt.group(1)) < 1000, block
        assert re.search(r"bytes        in [1-9]\d*, out [1-9]\d*", block), block
    assert re.search(r"^  redirects    \d+ entries, \d+ hits, \d+ misses$", out, re.M), out
    assert "wrong CA" in out and "-----BEGIN" not in out

    # The same as JSON, through -s.
    rc, out, err = run("-s", sock_path(n1), "json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["node"] == "n1"
    peers = {p["name"]: p for p in doc["peers"]}
    assert set(peers) == {"n2", "n3"}
    for p in peers.values():
        assert p["state"] == "up" and p["open"] is True and p["rtt_us"] > 0, p
    assert set(doc["router"]) == {"routed", "bounced", "redirect_hits",
                                  "redirect_misses", "redirect_entries"}

    # n2 stops: n1 shows it down, with why.
    mark = n1.daemon.mark()
    nodes["n2"].daemon.stop()
    n1.wait(r"cluster: link to n2 down: ", since=mark)
    rc, out, err = run("-c", n1.config, "status")
    assert rc == 0, err
    assert "  peers        2 known, 1 up\n" in out, out
    block = peer_block(out, "n2")
    assert re.search(r"link         (down|connecting)", block), block
    assert "rtt" not in block, block
    m = re.search(r"last error   (.*)", block)
    assert m and re.search(r"BYE|connect: ", m.group(1)), block
    assert re.search(r"link         up since", peer_block(out, "n3")), out
    doc = json.loads(run("-c", n1.config, "json")[1])
    p2 = [p for p in doc["peers"] if p["name"] == "n2"][0]
    assert p2["open"] is False and p2["rtt_us"] is None and p2["last_error"], p2


METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                         r'(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})?'
                         r' (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$')


def parse_prometheus(text):
    """Check the text format line by line; returns {(name, labels): value}."""
    assert text.endswith("\n")
    helped, typed, samples = set(), {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, doc = line[7:].partition(" ")
            assert re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", name) and doc, line
            helped.add(name)
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert kind in ("counter", "gauge"), line
            assert name in helped and name not in typed, line
            typed[name] = kind
        else:
            m = METRIC_LINE.match(line)
            assert m, "not a sample line: %r" % line
            assert m.group(1) in typed, "no # TYPE before %r" % line
            if typed[m.group(1)] == "counter":
                assert m.group(1).endswith("_total"), line
            labels = tuple(re.findall(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"',
                                      m.group(2) or ""))
            key = (m.group(1), labels)
            assert key not in samples, "duplicate sample %r" % line
            samples[key] = float(m.group(3))
    return samples


def test_metrics_is_prometheus_text(sandbox):
    pki = tcl.Pki(sandbox)
    nodes = tcl.three_nodes(sandbox, pki)
    wait_open(nodes)
    time.sleep(1.5)
    rc, out, err = run("-c", nodes["n2"].config, "metrics")
    assert rc == 0, err
    s = parse_prometheus(out)
    for peer in ("n1", "n3"):
        lab = (("node", "n2"), ("peer", peer))
        assert s[("jabberd_cluster_peer_up", lab)] == 1
        assert 0 < s[("jabberd_cluster_peer_rtt_seconds", lab)] < 1
        assert s[("jabberd_cluster_peer_received_bytes_total", lab)] > 0
        assert s[("jabberd_cluster_peer_sent_bytes_total", lab)] > 0
    assert s[("jabberd_cluster_refusals_total",
              (("node", "n2"), ("reason", "wrong CA")))] == 0
    for name in ("routed_total", "bounced_total", "redirect_hits_total",
                 "redirect_misses_total", "redirect_entries"):
        assert ("jabberd_router_" + name, (("node", "n2"),)) in s, name
    # The checker itself rejects what is not the format.
    for bad in ("x 1\n", "# TYPE x counter\n", "# HELP x y\n# TYPE x counter\nx{a=b} 1\n"):
        with pytest.raises(AssertionError):
            parse_prometheus(bad)


def test_bounds_do_not_stall_the_router(sandbox):
    pki = tcl.Pki(sandbox)
    n1 = tcl.Node(sandbox, "n1", "127.0.0.2", pki.node("n1"), pki.ca).start()
    path = sock_path(n1)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_ISSOCK(os.stat(path).st_mode)

    # One silent client: others are answered at once meanwhile.
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(str(path))
    t0 = time.monotonic()
    rc, out, err = run("-s", path, "status")
    assert rc == 0 and out.startswith("node n1\n"), err
    assert time.monotonic() - t0 < paths.scaled(1.5)
    # A request over 256 bytes: an error, the connection closed.
    assert ask_raw(path, b"s" * 5000).startswith("error: request line longer than 256")
    assert ask_raw(path, b"bogus\n").startswith("error: unknown request")
    assert ask_raw(path, b"status json\r\n").startswith('{"node":"n1"')
    # The silent client is closed after the request timeout (2 s).
    silent.settimeout(paths.scaled(6))
    assert silent.recv(100) == b""
    assert time.monotonic() - t0 < paths.scaled(5)
    silent.close()

    # More clients than the bound (16): the next one is told "busy", and
    # once the silent ones time out, requests are answered again.
    t0 = time.monotonic()
    hogs = []
    for _ in range(16):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(path))
        hogs.append(s)
    time.sleep(0.3)
    assert ask_raw(path, b"status\n").startswith("error: busy")
    rc, out, err = run("-s", path, "status")
    assert rc == 1 and "busy" in err, (out, err)
    deadline = time.monotonic() + paths.scaled(10)
    while ask_raw(path, b"status\n").startswith("error: busy"):
        assert time.monotonic() < deadline, "still busy"
        time.sleep(0.2)
    assert time.monotonic() - t0 > 2.0     # not before the 2 s timeout
    assert ask_raw(path, b"status\n").startswith("node n1\n")
    for s in hogs:
        s.close()
    # The router is still alive and serving.
    assert n1.daemon.alive()


def test_unreachable_socket_and_usage(sandbox):
    rc, out, err = run("-s", sandbox.path("nobody.sock"), "status")
    assert rc == 1
    assert "cannot reach the cluster module at" in err and "nobody.sock" in err, err
    assert run("status", "extra")[0] == 2
    assert run("-s", "/x", "frobnicate")[0] == 2
    rc, out, err = run()
    assert rc == 2 and "usage: jabberd-cluster" in err


def test_control_socket_that_cannot_be_made_stops_the_start(sandbox):
    pki = tcl.Pki(sandbox)
    n1 = tcl.Node(sandbox, "n1", "127.0.0.2", pki.node("n1"), pki.ca)
    text = n1.config.read_text().replace(
        "</cluster>", "  <control>%s</control>\n  </cluster>"
        % sandbox.path("no-such-dir", "c.sock"))
    n1.config.write_text(text)
    p = subprocess.run([str(tcl.router_binary()), "-c", str(n1.config)], timeout=20,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode() + (n1.log.read_text() if n1.log.exists() else "")
    assert p.returncode != 0, out
    line = [l for l in out.splitlines() if "control socket" in l]
    assert line and "<control>" in line[0] and "no-such-dir" in line[0], out


def test_refusals_by_reason_in_status_and_metrics(sandbox):
    """n1 expects n2 at .3, where a node with a certificate from another
    CA runs: the refusals are counted by reason, the peer shows the
    refusal as its last error, and no key material appears."""
    pki = tcl.Pki(sandbox)
    cport = {"n1": sandbox.free_port("127.0.0.2"), "n2": sandbox.free_port("127.0.0.3")}
    n1 = tcl.Node(sandbox, "n1", "127.0.0.2", pki.node("n1"), pki.ca,
                  [("n2", "127.0.0.3", cport["n2"])], cport["n1"]).start()
    tcl.Node(sandbox, "n2", "127.0.0.3", pki.node("n2", ca=pki.other_ca), pki.other_ca,
             [("n1", "127.0.0.2", cport["n1"])], cport["n2"]).start()
    n1.wait(r"refused outgoing link to n2 at 127\.0\.0\.3:%d: wrong CA" % cport["n2"])
    n1.wait(r"refused incoming link from 127\.0\.0\.3:\d+: wrong CA")
    rc, out, err = run("-c", n1.config, "metrics")
    assert rc == 0, err
    s = parse_prometheus(out)
    assert s[("jabberd_cluster_refusals_total", (("node", "n1"), ("reason", "wrong CA")))] >= 2
    assert s[("jabberd_cluster_refusals_total", (("node", "n1"), ("reason", "not TLS")))] == 0
    assert s[("jabberd_cluster_peer_up", (("node", "n1"), ("peer", "n2")))] == 0
    rc, out, err = run("-c", n1.config, "status")
    assert rc == 0, err
    m = re.search(r"^  wrong CA +(\d+)$", out, re.M)
    assert m and int(m.group(1)) >= 2, out
    block = peer_block(out, "n2")
    assert re.search(r"last error   refused: wrong CA", block), block
    assert "  peers        1 known, 0 up\n" in out, out
    assert "PRIVATE KEY" not in out and "BEGIN" not in out
