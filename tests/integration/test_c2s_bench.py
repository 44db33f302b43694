# SPDX-License-Identifier: GPL-2.0-or-later
"""Login throughput of our c2s and of Debian's jabberd2 c2s, each behind
the stock router and sm, measured the same way in one run. A benchmark,
not a timed test: it runs only with JC_BENCH=1 and prints its figures
(pytest -s). Each login is a fresh slixmpp stream: connect, (STARTTLS,)
SASL, bind, then disconnect; sequential, so the figure is 1 / latency
including the client's own cost.

    JC_BENCH=1 JC_BENCH_LOGINS=50 JC_BUILDDIR=build \\
        /usr/bin/python3 -m pytest -s -q tests/integration/test_c2s_bench.py
"""

import os
import time

import pytest

from lib import jabberd

from test_c2s import C2S_XML, use_mech

pytestmark = pytest.mark.skipif(os.environ.get("JC_BENCH") != "1",
                                reason="benchmark: set JC_BENCH=1")

LOGINS = int(os.environ.get("JC_BENCH_LOGINS", "50"))


def bench_node(sandbox, flavor, mechs):
    node = jabberd.Node(sandbox, flavor={"c2s": flavor}, tls=True)
    node.config("c2s").write_text(C2S_XML.format(
        ip=node.ip, router_port=node.router_port, user=node.router_user,
        password=node.router_pass, log=node.log("c2s"),
        attrs="register-enable='mu' require-starttls='mu' pemfile='%s'"
        % node.cert.pemfile,
        domain=node.domain, port=node.c2s_port, mechs=mechs, db=node.db,
        iterations=4096, stanzasize=65535, extra_local="", extra_authreg="",
        extra_io=""))
    return node.start()


@pytest.mark.parametrize("flavor", ["ours", "stock"])
@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-1"])
def test_logins_per_second(sandbox, xmpp, flavor, mech):
    node = bench_node(sandbox, flavor, "<plain/><scram-sha-1/>")
    reg = xmpp.client("bench@localhost", "pw-bench", node.c2s_address,
                      tls="starttls", cafile=node.cert.certfile)
    reg.register()
    start = time.monotonic()
    for i in range(LOGINS):
        c = use_mech(xmpp.client("bench@localhost/r%d" % i, "pw-bench",
                                 node.c2s_address, tls="starttls",
                                 cafile=node.cert.certfile), mech)
        c.login(presence=False)
        c.disconnect()
    took = time.monotonic() - start
    print("\nBENCH c2s=%s mech=%s logins=%d seconds=%.2f logins/s=%.1f"
          % (flavor, mech, LOGINS, took, LOGINS / took))


SESSIONS = int(os.environ.get("JC_BENCH_SESSIONS", "1000"))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for %d" % pid)


def tls_session(address, cafile, user, password, resource):
    """An authenticated, bound session on the direct TLS port, left idle."""
    import base64

    from test_c2s import Raw

    r = Raw(address, cafile=cafile)
    r.open("localhost")
    r.buf = b""
    creds = base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()
    r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
           "%s</auth>" % creds)
    assert "<success" in r.read_until("<success", "</failure>")
    r.buf = b""
    r.open("localhost")
    r.buf = b""
    r.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
           "<resource>%s</resource></bind></iq>" % resource)
    assert "<jid>" in r.read_until("</iq>", "</stream:stream>")
    return r


@pytest.mark.parametrize("flavor", ["ours", "stock"])
def test_memory_per_idle_tls_session(sandbox, xmpp, flavor):
    node = jabberd.Node(sandbox, flavor={"c2s": flavor}, tls=True)
    ssl_port = sandbox.free_port(node.ip)
    node.config("c2s").write_text(C2S_XML.format(
        ip=node.ip, router_port=node.router_port, user=node.router_user,
        password=node.router_pass, log=node.log("c2s"),
        attrs="register-enable='mu' pemfile='%s'" % node.cert.pemfile,
        domain=node.domain, port=node.c2s_port, mechs="<plain/>", db=node.db,
        iterations=4096, stanzasize=65535,
        extra_local="<ssl-port>%d</ssl-port><pemfile>%s</pemfile>"
        % (ssl_port, node.cert.pemfile),
        extra_authreg="", extra_io="").replace(
            "<max_fds>1024</max_fds>", "<max_fds>%d</max_fds>" % (SESSIONS + 100)))
    node.start()
    xmpp.client("idle@localhost", "pw-idle", node.c2s_address, tls="starttls",
                cafile=node.cert.certfile).register()
    pid = node.daemons["c2s"].pid
    socks = [tls_session((node.ip, ssl_port), node.cert.certfile, "idle",
                         "pw-idle", "warmup")]
    time.sleep(0.5)
    before = rss_kib(pid)
    for i in range(SESSIONS):
        socks.append(tls_session((node.ip, ssl_port), node.cert.certfile,
                                 "idle", "pw-idle", "r%d" % i))
    # Idle means quiet for a while: our c2s trims a stream's parser and
    # TLS buffers after one quiet sweep (C2S_TRIM_MS, 2 s).
    time.sleep(5)
    after = rss_kib(pid)
    print("\nBENCH c2s=%s idle_tls_sessions=%d rss_before_kib=%d rss_after_kib=%d "
          "kib_per_session=%.1f" % (flavor, SESSIONS, before, after,
                                    (after - before) / SESSIONS))
    for s in socks:
        s.close()
