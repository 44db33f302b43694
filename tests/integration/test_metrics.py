# SPDX-License-Identifier: GPL-2.0-or-later
"""The metrics port (<metrics><ip>/<port>, off by default) of each of our
daemons, router, sm, c2s and s2s: GET /metrics answers Prometheus text
format 0.0.4 (checked line by line with the cluster status test's checker)
with the counts an operator graphs, and the HTTP reader's bounds hold:
wrong path, method, version and oversized or silent requests get their
status, too many clients at once are cut at accept, and the daemon keeps
serving meanwhile."""

import socket
import time

import pytest

from lib import jabberd, paths
from lib.s2s import S2S
from test_cluster_status import parse_prometheus
from test_s2s import wait_error


def with_metrics(path, ip, port):
    """Add <metrics> to a config file, just inside its root element."""
    text = path.read_text()
    i = text.rstrip().rfind("</")
    path.write_text(text[:i] + "  <metrics><ip>%s</ip><port>%d</port></metrics>\n"
                    % (ip, port) + text[i:])


def http(address, request, timeout=10.0):
    """Send raw bytes, read until the server closes; (status, headers,
    body)."""
    s = socket.create_connection(address, timeout=paths.scaled(timeout))
    try:
        s.sendall(request)
        data = b""
        end = time.monotonic() + paths.scaled(timeout)
        while time.monotonic() < end:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.lower(): v.strip() for k, _, v in
               (line.partition(":") for line in lines[1:])}
    return status, headers, body.decode()


def scrape(address):
    status, headers, body = http(address, b"GET /metrics HTTP/1.1\r\n"
                                 b"Host: x\r\nAccept: text/plain\r\n\r\n")
    assert status == 200, body
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert int(headers["content-length"]) == len(body.encode())
    return parse_prometheus(body)


@pytest.fixture
def node(sandbox):
    """Our router, sm and c2s, each with a metrics port."""
    n = jabberd.Node(sandbox, flavor="ours")
    n.metrics = {}
    for d in jabberd.DAEMONS:
        n.metrics[d] = (n.ip, sandbox.free_port(n.ip))
        with_metrics(n.config(d), *n.metrics[d])
    return n.start()


def test_each_daemon_scraped(sandbox, xmpp, node):
    """Every daemon answers with valid text; the counts follow what a user
    does: a registration, a login (a session at c2s and at the sm, routes
    through the router), a failed login."""
    s2s = S2S(node)
    s2s_port = sandbox.free_port(node.ip)
    render = s2s._render

    def render_with_metrics():
        render()
        with_metrics(s2s.config, node.ip, s2s_port)
    s2s._render = render_with_metrics
    # nowhere.test's address is known, but nothing listens there.
    s2s.host("nowhere.test", node.ip, sandbox.free_port(node.ip))
    s2s.start()

    before = scrape(node.metrics["c2s"])
    assert before[("jabberd_c2s_sessions", ())] == 0
    a = xmpp.client("ann@localhost", "pw-ann", node.c2s_address)
    a.register()
    a.login()
    from lib.xmpp import XmppError
    with pytest.raises(XmppError):
        xmpp.client("ann@localhost", "wrong", node.c2s_address).login()

    c = scrape(node.metrics["c2s"])
    assert c[("jabberd_c2s_sessions", ())] == 1
    assert c[("jabberd_c2s_registrations_total", ())] == 1
    assert c[("jabberd_c2s_logins_total", ())] >= 1
    assert c[("jabberd_c2s_login_failures_total", ())] >= 1
    assert c[("jabberd_c2s_accepted_streams_total", ())] >= 3
    assert c[("jabberd_c2s_authreg_calls_total", ())] >= 2
    assert c[("jabberd_c2s_authreg_seconds_total", ())] > 0
    assert c[("jabberd_c2s_metrics_scrapes_total", ())] == 2   # this one counted

    sm = scrape(node.metrics["sm"])
    assert sm[("jabberd_sm_sessions", ())] == 1
    assert sm[("jabberd_sm_router_link_up", ())] == 1
    assert sm[("jabberd_sm_storage_calls_total", ())] > 0    # the user's roster...
    assert sm[("jabberd_sm_storage_errors_total", ())] == 0
    assert sm[("jabberd_sm_storage_seconds_total", ())] > 0

    r = scrape(node.metrics["router"])
    assert r[("jabberd_router_components", ())] >= 3     # sm, c2s, s2s
    assert r[("jabberd_router_routed_total", ())] > 0
    assert ("jabberd_router_bounced_total", (("code", "404"),)) in r
    assert ("jabberd_router_dropped_total", (("cause", "throttle-queue-full"),)) in r

    s = scrape((node.ip, s2s_port))
    assert s[("jabberd_s2s_router_link_up", ())] == 1
    assert s[("jabberd_s2s_streams", (("direction", "in"),))] == 0
    assert s[("jabberd_s2s_queued_stanzas", ())] == 0

    nf = ("jabberd_s2s_bounced_total", (("condition", "remote-server-not-found"),))
    assert s[nf] == 0
    # A domain whose server refuses the connection: the message comes
    # back with remote-server-not-found, and the count says so.
    a.send_message("someone@nowhere.test", "lost")
    assert wait_error(a)["error"]["condition"] == "remote-server-not-found"
    s = scrape((node.ip, s2s_port))
    assert s[nf] == 1
    assert sum(v for (name, _), v in s.items() if name == "jabberd_s2s_bounced_total") == 1

    a.disconnect()
    end = time.monotonic() + paths.scaled(10)
    while scrape(node.metrics["sm"])[("jabberd_sm_sessions", ())] != 0:
        assert time.monotonic() < end, "session still counted after logout"
        time.sleep(0.2)


def test_http_statuses(node):
    addr = node.metrics["c2s"]
    assert http(addr, b"GET / HTTP/1.1\r\n\r\n")[0] == 404
    st, headers, _ = http(addr, b"POST /metrics HTTP/1.1\r\nContent-Length: 1\r\n\r\nx")
    assert st == 405 and headers["allow"] == "GET, HEAD"
    assert http(addr, b"GET /metrics HTTP/2.0\r\n\r\n")[0] == 505
    assert http(addr, b"hello\r\n\r\n")[0] == 400
    assert http(addr, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 5000 + b"\r\n\r\n")[0] == 431
    # HTTP/1.0 with bare LFs, and a query, as curl and others send.
    assert http(addr, b"GET /metrics?x=1 HTTP/1.0\n\n")[0] == 200
    st, headers, body = http(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n")
    assert st == 200 and body == "" and int(headers["content-length"]) > 0


def test_slow_and_many_clients(node):
    """A client that never finishes its request gets 408 after 5 s; more
    than 16 at once are closed at accept; meanwhile scrapes work and the
    daemon serves XMPP."""
    addr = node.metrics["router"]
    silent = []
    for _ in range(16):
        s = socket.create_connection(addr, timeout=paths.scaled(10))
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
        silent.append(s)
    extra = socket.create_connection(addr, timeout=paths.scaled(10))
    assert extra.recv(100) == b""      # cut at accept
    extra.close()
    t0 = time.monotonic()
    data = silent[0].recv(1000)
    assert data.startswith(b"HTTP/1.1 408 "), data
    assert 3 < time.monotonic() - t0 < paths.scaled(9)
    for s in silent:
        s.close()
    end = time.monotonic() + paths.scaled(5)
    while True:
        try:
            r = scrape(addr)
            break
        except (AssertionError, OSError, IndexError, ValueError):
            assert time.monotonic() < end
            time.sleep(0.2)
    assert r[("jabberd_router_metrics_refused_total", ())] >= 1
    assert r[("jabberd_router_components", ())] >= 2


def test_off_by_default(sandbox):
    n = jabberd.Node(sandbox, flavor="ours").start()
    for d in jabberd.DAEMONS:
        assert "metrics: serving" not in n.daemons[d].output()
