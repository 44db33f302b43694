# SPDX-License-Identifier: GPL-2.0-or-later
"""Direct delivery (docs/cluster-protocol.md, "Direct delivery"): a message
from another node for a session whose sm said it needs nothing of it
(direct='1': no privacy rule of its user's) goes from the receiving
node's cluster module straight to the session's c2s, without a second pass
through an sm. What a user would notice if it went wrong:

- messages across nodes arrive once each and in the order sent, and the
  receiving node counts them as delivered directly (the path is taken);
- a session-level privacy list (XEP-0016 active list, which only the
  session's own node knows) still refuses a message from another node the
  moment it is in force, and once lifted the messages flow again;
- a directed presence and a message sent right after it from another node
  arrive in that order, although the presence passes the sm and the
  message does not (the sm's <done/> for jc:mark holds the message back);
- the receiving node's sm really is out of the path: stopped (SIGSTOP),
  its users still get messages from other nodes.

Slixmpp clients on `cluster3` (tests/lib/cluster.py).
"""

import asyncio
import signal
import xml.etree.ElementTree as ET

from lib.cluster_users import (
    TIMEOUT, body_is, exactly_once, matching, never, online, quiet, register, users,
    wait_for)

PRIVACY = "jabber:iq:privacy"


def direct_count(node):
    return node.status_json()["tables"]["direct"]


def iq_set(xmpp, p, payload, what):
    iq = p.xmpp.make_iq_set()
    iq.append(ET.fromstring(payload))
    return xmpp.run(iq.send(timeout=TIMEOUT), TIMEOUT, what)


def test_messages_across_nodes_go_to_the_c2s_directly_once_and_in_order(cluster3, xmpp):
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    register(cluster3, xmpp, (a, apw), (b, bpw))
    alice = online(cluster3, xmpp, 1, a, apw)
    bob = online(cluster3, xmpp, 2, b, bpw)
    before_n2, before_n1 = direct_count(cluster3[2]), direct_count(cluster3[1])
    n = 40
    for i in range(n):
        alice.send_message(bob.full_jid, "to full %d" % i)
    for i in range(n):
        alice.send_message(b, "to bare %d" % i)
    wait_for(xmpp, bob, "message", body_is("to bare %d" % (n - 1)),
             "bob (n2) gets the last of alice's (n1) messages")
    quiet(xmpp)
    got = [m["body"] for m in matching(bob, "message")]
    want = ["to full %d" % i for i in range(n)] + ["to bare %d" % i for i in range(n)]
    assert got == want, ("bob (n2) must get alice's (n1) %d messages once each, in the "
                         "order sent; got %s" % (2 * n, got))
    assert all(m["from"] == alice.full_jid for m in matching(bob, "message")), \
        "every message bob got says it is from alice's full JID"
    direct = direct_count(cluster3[2]) - before_n2
    assert direct >= 2 * n, ("n2 handed %d of alice's %d messages to bob's c2s directly; "
                             "every one should have been" % (direct, 2 * n))
    # and back: bob's replies reach alice on n1 the same way
    bob.send_message(alice.full_jid, "reply")
    exactly_once(xmpp, alice, "message", body_is("reply"), "alice (n1) gets bob's (n2) reply")
    assert direct_count(cluster3[1]) - before_n1 >= 1, "n1 delivered bob's reply directly"


def test_an_active_privacy_list_refuses_messages_from_another_node_at_once(cluster3, xmpp):
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    register(cluster3, xmpp, (a, apw), (b, bpw))
    alice = online(cluster3, xmpp, 1, a, apw)
    bob = online(cluster3, xmpp, 2, b, bpw, resource="phone")
    alice.send_message(bob.full_jid, "before the list")
    exactly_once(xmpp, bob, "message", body_is("before the list"),
                 "bob/phone (n2) gets alice's (n1) message while he has no list")
    # A list active for this session only: n1's sm cannot know it.
    iq_set(xmpp, bob, "<query xmlns='%s'><list name='quiet'><item type='jid' value='%s' "
           "action='deny' order='1'><message/></item></list></query>" % (PRIVACY, a),
           "bob sets the privacy list 'quiet'")
    iq_set(xmpp, bob, "<query xmlns='%s'><active name='quiet'/></query>" % PRIVACY,
           "bob makes 'quiet' his active list")
    before = direct_count(cluster3[2])
    for i in range(5):
        alice.send_message(bob.full_jid, "refused %d" % i)
    alice.send_message(b, "refused to bare")
    quiet(xmpp, 2)
    never(bob, "message", lambda m: m["body"].startswith("refused"),
          "a message from alice (n1) while bob/phone's (n2) active list denies her")
    assert direct_count(cluster3[2]) == before, \
        "n2 must not hand a message to a session with a list in force directly"
    # The list lifted and removed: the messages flow, directly again.
    iq_set(xmpp, bob, "<query xmlns='%s'><active/></query>" % PRIVACY,
           "bob declines an active list")
    iq_set(xmpp, bob, "<query xmlns='%s'><list name='quiet'/></query>" % PRIVACY,
           "bob removes the list 'quiet'")
    alice.send_message(bob.full_jid, "after the list")
    exactly_once(xmpp, bob, "message", body_is("after the list"),
                 "bob/phone (n2) gets alice's (n1) message once his list is gone")
    assert direct_count(cluster3[2]) > before, \
        "with the list gone, n2 delivers alice's messages directly again"


def test_directed_presence_then_message_from_another_node_keep_their_order(cluster3, xmpp):
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    register(cluster3, xmpp, (a, apw), (b, bpw))
    alice = online(cluster3, xmpp, 1, a, apw)
    bob = online(cluster3, xmpp, 2, b, bpw)
    n = 30
    for i in range(n):
        alice.xmpp.send_presence(pto=bob.full_jid, pstatus="p%d" % i)
        alice.send_message(bob.full_jid, "m%d" % i)
    wait_for(xmpp, bob, "message", body_is("m%d" % (n - 1)), "bob (n2) gets alice's last message")

    async def settle():
        await asyncio.sleep(1)
    xmpp.run(settle(), 5, "settle")
    seen = []
    for kind, s in bob.got:
        if kind == "presence" and s["from"] == alice.full_jid and s["status"].startswith("p"):
            seen.append(s["status"])
        elif kind == "message" and s["from"] == alice.full_jid:
            seen.append(s["body"])
    want = [x for i in range(n) for x in ("p%d" % i, "m%d" % i)]
    assert seen == want, ("alice (n1) sent bob (n2) presence p<i> then message m<i>; bob "
                          "must see them in that order, once each; got %s" % seen)


def test_messages_from_another_node_arrive_while_the_recipients_sm_is_stopped(cluster3, xmpp):
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    register(cluster3, xmpp, (a, apw), (b, bpw))
    alice = online(cluster3, xmpp, 1, a, apw)
    bob = online(cluster3, xmpp, 2, b, bpw)
    sm = cluster3[2].daemons["sm"]
    sm.proc.send_signal(signal.SIGSTOP)
    try:
        for i in range(10):
            alice.send_message(bob.full_jid, "sm stopped %d" % i)
        wait_for(xmpp, bob, "message", body_is("sm stopped 9"),
                 "bob (n2) gets alice's (n1) messages with his node's sm stopped")
    finally:
        sm.proc.send_signal(signal.SIGCONT)
    got = [m["body"] for m in matching(bob, "message")]
    assert got == ["sm stopped %d" % i for i in range(10)], got
