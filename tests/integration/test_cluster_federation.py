# SPDX-License-Identifier: GPL-2.0-or-later
"""Federation from a cluster (issue 13; cluster-mod/README.md "Components
and federation"): nodes n1 and n2 of the 3-node cluster serving
localhost each run our s2s, with the same dialback secret; another of our
servers, remote.test on 127.0.0.5, knows only n1's s2s for localhost
(as if the SRV record named n1 alone, or it happened to pick n1).

- A user of remote.test writes to a user logged in on n2: the stanza
  enters through n1's s2s and reaches n2's user.
- The n2 user answers: n2's own s2s connects out to remote.test, which
  verifies n2's dialback key by asking n1 (the only address it knows for
  localhost); n1 says valid only because it shares n2's secret, and the
  answer arrives. With different secrets on n1 and n2 the same answer is
  refused by remote.test (the second test).
"""

from lib import jabberd
from lib.s2s import S2S, NodeS2S
from test_s2s import wait_error

REMOTE = "remote.test"
TIMEOUT = 15


def federate(cluster, sandbox, xmpp, secret_n2=None):
    remote = jabberd.Node(sandbox, number=4, flavor="ours", domain=REMOTE).start()
    s1, s2, sr = NodeS2S(cluster[1].node), NodeS2S(cluster[2].node), S2S(remote)
    s2.secret = secret_n2 or s1.secret
    s1.peer(sr)
    s2.peer(sr)
    sr.peer(s1)                 # localhost -> n1 only
    for s in (s1, s2, sr):
        s.start()
    jid, pw = cluster.user("bob")
    bob = xmpp.client(jid, pw, cluster[2].c2s_address)
    bob.register()
    bob.login()
    rachel = xmpp.client("rachel@" + REMOTE, "rachel-pw", remote.c2s_address)
    rachel.register()
    rachel.login()
    return bob, rachel, (s1, s2, sr)


def stop(daemons):
    for s in daemons:
        assert s.daemon.stop() == []


def test_remote_server_reaches_user_on_n2_through_n1(cluster3, sandbox, xmpp):
    bob, rachel, daemons = federate(cluster3, sandbox, xmpp)
    s1, s2, sr = daemons
    try:
        rachel.send_message(bob.full_jid, "hello from remote.test")
        got = bob.wait_message(body="hello from remote.test", timeout=TIMEOUT)
        assert got["from"] == rachel.full_jid
        # it came in through n1's s2s; n2's accepted nothing
        assert "incoming remote.test -> localhost valid (dialback)" in s1.log_text()
        assert "incoming remote.test -> localhost" not in s2.log_text()

        bob.send_message(rachel.full_jid, "hello from n2")
        got = rachel.wait_message(body="hello from n2", timeout=TIMEOUT)
        assert got["from"] == bob.full_jid
        # n2's stream out, verified by remote.test through n1 (the only
        # address it has for localhost)
        assert "s2s: localhost -> remote.test valid (dialback)" in s2.log_text()
        assert "incoming localhost -> remote.test valid (dialback)" in sr.log_text()
    finally:
        stop(daemons)


def test_different_secrets_fail_dialback(cluster3, sandbox, xmpp):
    bob, rachel, daemons = federate(cluster3, sandbox, xmpp, secret_n2="not-the-same")
    s1, s2, sr = daemons
    try:
        bob.send_message(rachel.full_jid, "never verified")
        # what bob sees: his message comes back as service-unavailable
        err = wait_error(bob, TIMEOUT)
        assert err["error"]["condition"] == "service-unavailable"
        assert err["body"] == "never verified"
        # remote.test asked n1, which does not know n2's key
        assert "is not ours" in s1.log_text()
        assert "refused dialback for localhost (invalid)" in s2.log_text()
        assert rachel.messages.empty()
    finally:
        stop(daemons)
