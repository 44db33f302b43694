# SPDX-License-Identifier: GPL-2.0-or-later
"""The router module interface (router/router_module.h, ABI 2) in the
daemon, with router/tests/test_module_tls.so loaded by router.xml's
<cluster> section: the module runs a TLS listener on the router's loop, a
TLS peer makes it bind a name and install a redirect, real component
streams see the effect, and on SIGTERM the module says goodbye to its peer
while the components are still connected, before the router closes them,
frees the module and exits 0. Also: the <cluster> section's errors name
router.xml, the element and the reason.
"""

import re
import signal
import socket
import ssl
import subprocess
import time

import pytest

from lib import certs, paths
from test_router import (COMP, STREAMS, TIMEOUT, Closed, Router, Stream, msg,
                         q)


def built_module(name):
    mod = paths.builddir() / "router" / "tests" / name
    if not mod.is_file():
        pytest.skip("router/tests/%s not built (make check builds it)" % name)
    return mod


class Peer(Stream):
    """A peer of the test module: direct TLS, then an XML stream."""

    def __init__(self, addr, cafile):
        sock = socket.create_connection(addr, timeout=TIMEOUT)
        ctx = ssl.create_default_context(cafile=str(cafile))
        self.sock = ctx.wrap_socket(sock, server_hostname="localhost")
        self.raw = bytearray()
        self.restart()
        self.closed = False
        self.send("<?xml version='1.0'?><stream:stream xmlns:stream='%s' "
                  "version='1.0' to='router'>" % STREAMS)
        self.wait_header()

    def ask(self, xml):
        self.send(xml)
        return self.next()


def module_router(sandbox, mod, cert, extra=""):
    port = sandbox.free_port("127.0.0.1")
    r = Router(sandbox, extra="<cluster><module>%s</module>"
               "<listen ip='127.0.0.1' port='%d'/><pemfile>%s</pemfile>%s"
               "</cluster>" % (mod, port, cert.pemfile, extra))
    deadline = time.monotonic() + TIMEOUT
    while "test module: listening" not in r.log.read_text():
        assert time.monotonic() < deadline, "the module did not listen"
        time.sleep(0.05)
    return r, ("127.0.0.1", port)


def test_tls_module_binds_redirects_and_says_goodbye(sandbox):
    mod = built_module("test_module_tls.so")
    cert = certs.self_signed(sandbox.dir, "localhost")
    r, addr = module_router(sandbox, mod, cert)
    sm = r.component("sm", bind="sm")
    c2s = r.component("c2s", bind="c2s")
    peer = Peer(addr, cert.certfile)
    # The module binds a name for its peer: components are told.
    assert peer.ask("<bind name='dom.example'/>").tag == "ok"
    pres = sm.expect(q(COMP, "presence"), skip_presence=False)
    while pres.get("from") != "dom.example":
        pres = sm.expect(q(COMP, "presence"), skip_presence=False)
    # A redirect to an unbound name is refused, to sm accepted.
    el = peer.ask("<redirect jid='alice@dom.example' name='nobody'/>")
    assert el.tag == "error" and "not a bound name" in el.get("reason")
    assert peer.ask("<redirect jid='alice@dom.example' name='sm'/>").tag == "ok"
    # A route to the domain about alice goes straight to sm...
    c2s.route("dom.example", "c2s", msg("x@remote.example/r", "alice@dom.example", "one"))
    el = sm.expect(q(COMP, "route"))
    assert el.get("to") == "dom.example" and el[0].get("to") == "alice@dom.example"
    # ... one about bob reaches the module (which has no <forward>).
    c2s.route("dom.example", "c2s", msg("x@remote.example/r", "bob@dom.example", "two"))
    sm.nothing()
    st = peer.ask("<stats/>")
    assert st.tag == "stats"
    assert (st.get("hits"), st.get("misses"), st.get("delivered"),
            st.get("redirects")) == ("1", "1", "1", "1")
    # SIGHUP reaches the module.
    r.daemon.signal(signal.SIGHUP)
    deadline = time.monotonic() + TIMEOUT
    while "test module: SIGHUP" not in r.log.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # SIGTERM: the module goes first and tells its peer, while the
    # components are still connected (and still routed).
    r.daemon.signal(signal.SIGTERM)
    assert peer.next().tag == "goodbye"
    sm.nothing(wait=0.3)
    assert not sm.closed
    c2s.route("sm", "c2s", msg("a@c2s", "b@sm", "still"))
    assert sm.expect(q(COMP, "route"))[0].findtext("{jabber:client}body") == "still"
    # The peer's stream ends; once it is gone the router closes the
    # components and exits 0, having freed the module.
    with pytest.raises(Closed):
        for _ in range(10):
            peer.next(timeout=5)
    peer.close()
    for comp in (sm, c2s):
        with pytest.raises(Closed):
            for _ in range(10):
                comp.next(timeout=5)
        comp.close()
    deadline = time.monotonic() + TIMEOUT
    while r.daemon.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.daemon.returncode == 0
    r.daemon.expect_exit = True
    log = r.log.read_text()
    # Module told first; components closed after its peer; the module
    # freed after the loop stopped (but before it is freed: no stream is
    # left for the loop's teardown to close).
    sm_closed = re.search(r"conn \d+ \(sm\) closed", log)
    assert sm_closed, log
    order = [log.index("test module: told the peers goodbye"),
             log.index("test module: peer gone"),
             sm_closed.start(),
             log.index("router: stopped"),
             log.index("test module: freed")]
    assert order == sorted(order), log
    assert "shutting down\n" not in log[order[3]:], log


def test_module_drain_is_bounded(sandbox):
    """A module that never finishes stopping holds the router 5 s, not
    more: then the components are closed and the router exits 0."""
    mod = built_module("test_module_tls.so")
    cert = certs.self_signed(sandbox.dir, "localhost")
    r, addr = module_router(sandbox, mod, cert, extra="<hang/>")
    sm = r.component("sm", bind="sm")
    start = time.monotonic()
    r.daemon.signal(signal.SIGTERM)
    sm.nothing(wait=1.0)
    assert not sm.closed
    with pytest.raises(Closed):
        for _ in range(10):
            sm.next(timeout=10)
    sm.close()
    while r.daemon.alive() and time.monotonic() < start + 15:
        time.sleep(0.05)
    assert r.daemon.returncode == 0
    r.daemon.expect_exit = True
    assert 4.5 < time.monotonic() - start < 12
    assert "the module did not finish stopping in 5000 ms" in r.log.read_text()


def run_router(r):
    p = subprocess.run([r.binary, "-c", r.config], timeout=20,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return p.returncode, p.stdout.decode() + (r.log.read_text() if r.log.exists() else "")


def test_cluster_section_errors(sandbox):
    tls = built_module("test_module_tls.so")
    badabi = built_module("test_module_badabi.so")
    cases = [
        # (the <cluster> section, element named, reason)
        ("<cluster><module>%s</module></cluster>" % sandbox.path("nope.so"),
         "<cluster><module>", "nope.so"),
        ("<cluster><module>%s</module></cluster>" % badabi,
         "<cluster><module>", "ABI version mismatch"),
        ("<cluster><module>%s</module></cluster>" % tls,
         "<cluster><module>", "test module: no <listen port=...>"),
        ("<cluster/>", "<cluster>", "cluster.so"),
        ("<module>%s</module><cluster/>" % tls, "<module>", "remove <module>"),
    ]
    for section, element, reason in cases:
        r = Router(sandbox, extra=section, start=False)
        if r.log.exists():
            r.log.unlink()
        rc, out = run_router(r)
        assert rc == 1, out
        line = [l for l in out.splitlines() if "router.xml" in l]
        assert line, out
        assert element in line[0] and reason in line[0], line[0]
