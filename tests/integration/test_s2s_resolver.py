# SPDX-License-Identifier: GPL-2.0-or-later
"""s2s takes its resolver from the environment as jabberd2's s2s does:
NSCACHEIP names the DNS server and RES_OPTIONS's "port:N" the port it is
asked on. c-ares ignores port:N by itself; an installation that pointed
jabberd2 at a resolver on another port must resolve after the switch."""

import pytest

from lib import jabberd
from lib.dns import Responder, Zone
from lib.s2s import S2S, users

NODE_FLAVORS = pytest.mark.parametrize("flavor", [
    pytest.param("stock", marks=pytest.mark.stock, id="stock-node"),
    pytest.param("ours", marks=pytest.mark.ours, id="all-ours"),
])


@NODE_FLAVORS
def test_res_options_port_names_the_resolver_port(sandbox, xmpp, flavor):
    """b.test is found only through SRV records served on a non-53 port
    that only RES_OPTIONS names; alice's message reaches bob."""
    a = jabberd.Node(sandbox, number=1, flavor=flavor, domain="a.test").start()
    b = jabberd.Node(sandbox, number=2, flavor=flavor, domain="b.test").start()
    sb = S2S(b)
    sa = S2S(a, lookup="<srv>xmpp-server</srv>")
    zone = Zone()
    zone.srv("_xmpp-server._tcp.b.test", 0, 0, sb.port, "xmpp.b.test")
    zone.a("xmpp.b.test", b.ip)
    ns = Responder(zone, a.ip).start()
    assert ns.port != 53
    try:
        sa.nameserver = None
        sa.env = {"NSCACHEIP": ns.ip, "RES_OPTIONS": "attempts:2 port:%d" % ns.port}
        sb.peer(sa)
        sa.start()
        sb.start()
        alice, bob = users(xmpp, a, b)
        alice.send_message(bob.full_jid, "found through RES_OPTIONS")
        got = bob.wait_message(body="found through RES_OPTIONS", timeout=20)
        assert got["from"] == alice.full_jid
    finally:
        ns.stop()
    assert ("_xmpp-server._tcp.b.test", 33) in ns.questions
    assert "DNS server %s port %d" % (ns.ip, ns.port) in sa.log_text()
    assert "connected to b.test (%s port %d)" % (b.ip, sb.port) in sa.log_text()
