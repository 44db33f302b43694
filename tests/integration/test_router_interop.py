# SPDX-License-Identifier: GPL-2.0-or-later
"""Interoperability: Debian's stock jabberd2 2.7 sm and c2s against OUR
router (the same config files a stock node uses), and slixmpp clients that
register, log in and exchange messages through it. Then the same node
shape with the stock router, as the reference. Skipped when jabberd2 or
our router is missing (failed under JC_REQUIRE_DAEMONS=1).
"""

import pytest

from lib import jabberd


class OurRouterNode(jabberd.Node):
    """A stock node whose router is ours."""

    def _binary(self, daemon):
        if daemon == "router":
            return jabberd.our_binary_or_skip("router")
        return jabberd.stock_binary_or_skip(daemon)


def exchange(xmpp, node):
    alice = xmpp.client("alice@localhost", "alice-pw-1", node.c2s_address)
    bob = xmpp.client("bob@localhost", "bob-pw-2", node.c2s_address)
    alice.register()
    bob.register()
    alice.login()
    bob.login()
    alice.send_message("bob@localhost", "hello bob")
    got = bob.wait_message(body="hello bob")
    assert got["from"] == alice.full_jid
    bob.send_message(alice.full_jid, "hello alice")
    got = alice.wait_message(body="hello alice")
    assert got["from"] == bob.full_jid


@pytest.mark.stock
def test_stock_sm_c2s_with_our_router(sandbox, xmpp):
    node = OurRouterNode(sandbox, number=1, flavor="stock").start()
    exchange(xmpp, node)
    log = node.log("router").read_text()
    # Both stock components authenticated and bound through our router.
    assert "bound sm" in log
    assert "bound localhost (multi)" in log
    assert "bound c2s" in log
