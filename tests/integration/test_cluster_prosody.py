# SPDX-License-Identifier: GPL-2.0-or-later
"""Federation of a cluster with prosody (issue 13): the 3-node cluster
serving localhost, our s2s on n1 and n2 with the same dialback secret,
and Debian's prosody serving p.test on 127.0.0.5, which knows only n1's
s2s for localhost (as if the SRV record named n1 alone). One prosody and
one pair of s2s serve every test of the module.

- A prosody user writes to users on n1 and n2, to the bare and to the
  full JID: everything enters through n1's s2s and arrives once. They
  answer: n1's s2s and n2's each connect out to prosody, which verifies
  n2's dialback key by asking n1, and both answers arrive.
- Presence subscription both ways between a prosody user and a user on
  n2; when the n2 user logs out, the prosody user sees one unavailable.
- A message from prosody for a user logged in nowhere is stored, and
  delivered when the user logs in on n3.

Skipped, with the reason, only when prosody is not installed.
"""

import asyncio
import secrets
import time

import pytest

from lib import paths, prosody_server
from lib.s2s import NodeS2S, subscribe_and_see
from lib.sandbox import node_ip

TIMEOUT = 20
QUIET = 1.5     # how long "once" waits for a duplicate


class Federation:
    def __init__(self, cluster):
        self.cluster = cluster
        self.s1 = NodeS2S(cluster[1].node)
        self.s2 = NodeS2S(cluster[2].node)
        self.s2.secret = self.s1.secret
        self.c2s, s2s, self.domain = prosody_server.start(cluster.sb, self.s1, ip=node_ip(4))
        for s in (self.s1, self.s2):
            s.host(self.domain, *s2s)
            s.start()
        self.tag = secrets.token_hex(2)
        self.serial = 0

    def user(self, xmpp, name):
        """A fresh prosody user, registered and logged in."""
        self.serial += 1
        c = xmpp.client("%s-%s-%d@%s" % (name, self.tag, self.serial, self.domain),
                        secrets.token_hex(8), self.c2s)
        c.register()
        c.login()
        return c


@pytest.fixture(scope="module")
def fed(cluster3_module):
    f = Federation(cluster3_module)
    yield f
    for s in (f.s1, f.s2):
        assert s.daemon.stop() == []


def collect(client, n):
    """The next n messages and any duplicate within QUIET seconds; none
    may be an error."""
    got = client.collect(n, QUIET, TIMEOUT)
    for m in got:
        assert m["type"] != "error", "%s got an error: %s" % (client.jid, m)
    return got


def bodies(msgs):
    return sorted(m["body"] for m in msgs)


def test_prosody_user_and_users_on_n1_and_n2(cluster3, fed, xmpp):
    alice = cluster3.new_user(xmpp, 1, "alice")
    bob = cluster3.new_user(xmpp, 2, "bob")
    carol = fed.user(xmpp, "carol")
    for user in (alice, bob):
        for to in (user.jid, user.full_jid):
            carol.send_message(to, "to %s" % to)
    for user in (alice, bob):
        got = collect(user, 2)
        assert bodies(got) == sorted("to %s" % to for to in (user.jid, user.full_jid))
        assert all(m["from"] == carol.full_jid for m in got)

    alice.send_message(carol.full_jid, "from n1")
    bob.send_message(carol.full_jid, "from n2")
    got = {m["body"]: m["from"] for m in collect(carol, 2)}
    assert got == {"from n1": alice.full_jid, "from n2": bob.full_jid}

    # prosody knows n1 only: everything came in there; each node's s2s
    # went out on its own, and prosody verified each of their dialback
    # keys by asking n1, which knows n2's keys too (the same secret)
    s1, s2 = fed.s1.log_text(), fed.s2.log_text()
    dom = fed.domain
    assert "incoming %s -> localhost valid (dialback)" % dom in s1
    assert "incoming %s -> localhost" % dom not in s2
    out = "localhost -> %s valid (dialback)" % dom
    assert out in s1 and out in s2
    asked = "dialback key from %s for stream " % dom
    assert s1.count(asked) == s1.count(out) + s2.count(out)
    assert "is not ours" not in s1


def test_presence_subscription_with_prosody_user(cluster3, fed, xmpp):
    dave = cluster3.new_user(xmpp, 2, "dave")
    erin = fed.user(xmpp, "erin")
    # each asks; the other's slixmpp authorizes on its own
    assert subscribe_and_see(xmpp, erin, dave.jid.bare) in ("to", "both")
    assert subscribe_and_see(xmpp, dave, erin.jid.bare) in ("to", "both")

    gone = []
    seen = asyncio.Event()

    def on_unavailable(p):
        if p["from"].bare == dave.jid.bare:
            gone.append(str(p["from"]))
            seen.set()
    erin.xmpp.add_event_handler("presence_unavailable", on_unavailable)
    full = str(dave.full_jid)
    dave.disconnect()
    xmpp.run(seen.wait(), TIMEOUT, "%s: waiting for %s's unavailable" % (erin.jid, full))
    xmpp.pause(QUIET)
    assert gone == [full]


def test_offline_message_from_prosody_delivered_on_n3(cluster3, fed, xmpp):
    frank = cluster3.new_user(xmpp, 3, "frank", login=False)
    gina = fed.user(xmpp, "gina")
    gina.send_message(frank.jid, "while you were out")
    # stored in the cluster's database before frank logs in anywhere
    node = cluster3[1].node
    deadline = time.monotonic() + paths.scaled(TIMEOUT)
    while node.sm_count("queue", frank.jid.bare) == 0:
        assert time.monotonic() < deadline, "the message was never stored offline"
        xmpp.pause(0.2)
    frank.login()
    got = collect(frank, 1)
    assert [(m["body"], m["from"]) for m in got] == [("while you were out", gina.full_jid)]
    assert node.sm_count("queue", frank.jid.bare) == 0
