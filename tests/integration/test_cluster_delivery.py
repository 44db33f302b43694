# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13's "done when", as users notice it: slixmpp clients on the three
nodes of one cluster (tests/lib/cluster.py: 127.0.0.2-.4, one private
PostgreSQL) subscribe to each other and see each other's presence exactly
once; exchange messages to full and bare JIDs, the bare ones following
priorities across nodes (the highest wins, ties each get a copy, negative
never); ping and ask the software version of a full JID on another node;
get what was sent while they were offline everywhere at their next login,
on any node, exactly once (also when two nodes log them in at the same
moment); get roster pushes and carbons on resources on
two nodes; lose an older session to a newer one with the same full JID on
another node (stream error `conflict`); see the users of a node killed
with kill -9 go unavailable, once, within seconds, their bare-JID messages
going to their surviving resources; and all of it again once the node is
back. A node stopped with SIGTERM: its users' contacts see them go at
once, not after a heartbeat timeout.

How a stanza crosses the cluster is /work/prompts/iface13.md's (the module
forwards what the sm chose, the sm delivers). Each failure says what the
user would have missed.
"""

import asyncio
import time

import pytest

from lib.cluster_users import (
    QUIET, TIMEOUT, Person, available_from, befriend, body_is, closed_with_conflict,
    exactly_once, matching, never, online, quiet, register, set_priority, unavailable_from,
    users, wait_for)
from lib.xmpp import IqError, IqTimeout, XmppError

# kill -9 to the contacts' unavailable presence: the LAN profile declares
# a node dead within 3 s; the sms then send it.
DEATH = 8


def test_subscribe_across_nodes_and_see_presence_exactly_once(cluster3, xmpp):
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    alice = online(cluster3, xmpp, 1, a, apw, register=True)
    bob = online(cluster3, xmpp, 2, b, bpw, register=True)
    # alice asks; bob's client approves and asks back (slixmpp's
    # auto_authorize/auto_subscribe), alice's approves
    alice.xmpp.send_presence_subscription(pto=b)
    wait_for(xmpp, bob, "presence", lambda s: s["type"] == "subscribe" and
             s["from"].bare == a, "bob (n2) asked by alice (n1) for a subscription")
    for p, other in ((alice, b), (bob, a)):
        async def both(p=p, other=other):
            while p.xmpp.client_roster[other]["subscription"] != "both":
                await asyncio.sleep(0.05)
        xmpp.run(both(), TIMEOUT, "%s: the mutual subscription with %s is not 'both' "
                 "in the roster" % (p, other))
    wait_for(xmpp, alice, "presence", available_from(bob.full_jid),
             "alice (n1) sees bob (n2) online once subscribed")
    wait_for(xmpp, bob, "presence", available_from(alice.full_jid),
             "bob (n2) sees alice (n1) online once subscribed")
    # a status change reaches the contact on the other node exactly once
    alice.xmpp.send_presence(pshow="away", pstatus="lunch on n1")
    exactly_once(xmpp, bob, "presence",
                 lambda s: s["from"] == alice.full_jid and s["status"] == "lunch on n1",
                 "bob (n2) sees alice's (n1) new status")
    bob.xmpp.send_presence(pshow="dnd", pstatus="busy on n2")
    exactly_once(xmpp, alice, "presence",
                 lambda s: s["from"] == bob.full_jid and s["status"] == "busy on n2",
                 "alice (n1) sees bob's (n2) new status")
    # logging out: the contact sees unavailable once
    full = alice.full_jid
    alice.disconnect()
    exactly_once(xmpp, bob, "presence", unavailable_from(full),
                 "bob (n2) sees alice (n1) go offline")


def test_presence_of_contacts_on_other_nodes_at_login(cluster3, xmpp):
    (a, apw), (b, bpw), (c, cpw) = users(cluster3, "alice", "bob", "carol")
    register(cluster3, xmpp, (a, apw), (b, bpw), (c, cpw))
    befriend(cluster3, a, b)
    befriend(cluster3, a, c)
    bob = online(cluster3, xmpp, 2, b, bpw)
    carol = online(cluster3, xmpp, 3, c, cpw)
    alice = online(cluster3, xmpp, 1, a, apw)
    # alice's login: her probes are answered by the contacts' nodes, and
    # her presence reaches each contact once
    for p in (bob, carol):
        exactly_once(xmpp, alice, "presence", available_from(p.full_jid),
                     "alice logging in on n1 learns that %s is online" % p)
        exactly_once(xmpp, p, "presence", available_from(alice.full_jid),
                     "%s sees alice (n1) come online" % p)


def test_messages_to_full_and_bare_jids_follow_priorities_across_nodes(cluster3, xmpp):
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    register(cluster3, xmpp, (a, apw), (b, bpw))
    alice = online(cluster3, xmpp, 1, a, apw)
    two = online(cluster3, xmpp, 2, b, bpw, resource="two", priority=5)
    three = online(cluster3, xmpp, 3, b, bpw, resource="three", priority=1)
    # full JIDs: that resource, whatever its priority
    alice.send_message(three.full_jid, "full to three")
    exactly_once(xmpp, three, "message", body_is("full to three"),
                 "bob/three (n3) gets alice's (n1) message to his full JID")
    never(two, "message", body_is("full to three"), "a full-JID message to bob/three")
    alice.send_message(two.full_jid, "full to two")
    exactly_once(xmpp, two, "message", body_is("full to two"),
                 "bob/two (n2) gets alice's (n1) message to his full JID")
    # and back: a reply from another node reaches alice's full JID
    three.send_message(alice.full_jid, "reply from three")
    exactly_once(xmpp, alice, "message", body_is("reply from three"),
                 "alice (n1) gets bob/three's (n3) reply")
    # bare JID: the highest priority wins, wherever it is
    alice.send_message(b, "bare: five wins")
    exactly_once(xmpp, two, "message", body_is("bare: five wins"),
                 "bob/two (n2, priority 5) gets a message to bob's bare JID")
    never(three, "message", body_is("bare: five wins"),
          "a bare-JID message (bob/three has priority 1 against 5 on n2)")
    # a tie across nodes: each gets a copy
    set_priority(cluster3, xmpp, three, 5)
    alice.send_message(b, "bare: tie")
    exactly_once(xmpp, two, "message", body_is("bare: tie"),
                 "bob/two (n2, priority 5) gets a bare-JID message on a tie")
    exactly_once(xmpp, three, "message", body_is("bare: tie"),
                 "bob/three (n3, priority 5) gets a bare-JID message on a tie")
    # a negative priority never gets bare-JID messages, even as the highest
    set_priority(cluster3, xmpp, two, -1)
    set_priority(cluster3, xmpp, three, 0)
    alice.send_message(b, "bare: not to negative")
    exactly_once(xmpp, three, "message", body_is("bare: not to negative"),
                 "bob/three (n3, priority 0) gets the bare-JID message")
    never(two, "message", body_is("bare: not to negative"),
          "a bare-JID message (bob/two on n2 has a negative priority)")
    set_priority(cluster3, xmpp, three, -3)
    alice.send_message(b, "bare: both negative")
    quiet(xmpp)
    for p in (two, three):
        never(p, "message", body_is("bare: both negative"),
              "a bare-JID message while every resource is negative")
    # ... but a full-JID message still reaches a negative resource
    alice.send_message(two.full_jid, "full to negative two")
    exactly_once(xmpp, two, "message", body_is("full to negative two"),
                 "bob/two (n2, priority -1) gets a message to his full JID")


def test_iq_round_trips_to_full_jids_across_nodes(cluster3, xmpp):
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    register(cluster3, xmpp, (a, apw), (b, bpw))
    alice = online(cluster3, xmpp, 1, a, apw)
    bob = online(cluster3, xmpp, 3, b, bpw)

    async def ping(p, to):
        await p.xmpp["xep_0199"].send_ping(to, timeout=TIMEOUT)

    async def version(p, to):
        return await p.xmpp["xep_0092"].get_version(to, timeout=TIMEOUT)
    for src, dst in ((alice, bob), (bob, alice)):
        try:
            xmpp.run(ping(src, dst.full_jid), TIMEOUT + 2, "ping")
        except (IqError, IqTimeout, XmppError) as e:
            pytest.fail("%s pinging %s: no pong (%s)" % (src, dst, e), pytrace=False)
        try:
            iq = xmpp.run(version(src, dst.full_jid), TIMEOUT + 2, "version")
        except (IqError, IqTimeout, XmppError) as e:
            pytest.fail("%s asking %s for its software version: no answer (%s)"
                        % (src, dst, e), pytrace=False)
        assert iq["from"] == dst.full_jid
        assert iq["software_version"]["name"], \
            "%s's software version answer to %s has no name: %s" % (dst, src, iq)


def last_activity(xmpp, asker, of):
    """The seconds of a XEP-0012 answer to `asker` about bare JID `of`."""
    iq = asker.xmpp.make_iq_get(queryxmlns="jabber:iq:last", ito=of)
    try:
        got = xmpp.run(iq.send(timeout=TIMEOUT), TIMEOUT + 2, "last activity")
    except (IqError, IqTimeout, XmppError) as e:
        pytest.fail("%s asking for %s's last activity: no answer (%s)" % (asker, of, e),
                    pytrace=False)
    q = got.xml.find("{jabber:iq:last}query")
    assert q is not None and q.get("seconds", "").isdigit(), \
        "%s's last-activity answer about %s has no seconds: %s" % (asker, of, got)
    return int(q.get("seconds"))


def test_last_activity_of_a_contact_online_on_another_node(cluster3, xmpp):
    """XEP-0012 at a contact's bare JID is answered by the asker's node:
    0 (online) while the contact is online on another node only, and the
    time since the logout on that node once it ended."""
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    register(cluster3, xmpp, (a, apw), (b, bpw))
    befriend(cluster3, a, b)
    alice = online(cluster3, xmpp, 1, a, apw)
    bob = online(cluster3, xmpp, 2, b, bpw)
    assert last_activity(xmpp, alice, b) == 0, \
        "alice (n1) is told bob was away while he is online on n2"
    gone = str(bob.full_jid)
    bob.disconnect()
    for node in cluster3.nodes:
        node.wait_session(gone, present=False)
    quiet(xmpp, 2.5)
    seconds = last_activity(xmpp, alice, b)
    assert 2 <= seconds <= 2 + TIMEOUT * 2, \
        "alice (n1) is told bob (logged out of n2 about 2.5 s ago) was last active " \
        "%d s ago" % seconds


def test_offline_storage_when_offline_everywhere_and_delivery_once(cluster3, xmpp):
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    register(cluster3, xmpp, (a, apw), (b, bpw))
    alice = online(cluster3, xmpp, 1, a, apw)
    alice.send_message(b, "while you were away (bare)")
    alice.send_message(b + "/gone", "while you were away (full)")
    # stored: in the shared database, once
    deadline = time.monotonic() + TIMEOUT
    while cluster3[1].node.sm_count("queue", b) < 2 and time.monotonic() < deadline:
        quiet(xmpp, 0.2)        # the client loop runs: alice's stanzas go out
    assert cluster3[1].node.sm_count("queue", b) == 2, \
        "the messages alice (n1) sent to bob, offline everywhere, were not stored"
    bob = online(cluster3, xmpp, 3, b, bpw, resource="three")
    for body in ("while you were away (bare)", "while you were away (full)"):
        exactly_once(xmpp, bob, "message", body_is(body),
                     "bob logging in on n3 gets what alice (n1) sent while he was offline")
    # a second resource on another node does not get them again
    other = online(cluster3, xmpp, 2, b, bpw, resource="two")
    quiet(xmpp)
    for body in ("while you were away (bare)", "while you were away (full)"):
        never(other, "message", body_is(body), "an offline message already delivered")
        assert len(matching(bob, "message", body_is(body))) == 1
    assert cluster3[1].node.sm_count("queue", b) == 0
    # while bob is online on n2 and n3, a message to him is not stored
    alice.send_message(b, "you are online somewhere")
    wait_for(xmpp, bob, "message", body_is("you are online somewhere"),
             "bob (n2 and n3, priority 0 both) gets alice's message")
    quiet(xmpp)
    assert cluster3[1].node.sm_count("queue", b) == 0, \
        "a message for bob went to offline storage although he is online"


def test_roster_pushes_reach_resources_on_two_nodes(cluster3, xmpp):
    (a, apw), (c, _) = users(cluster3, "alice", "carol")
    register(cluster3, xmpp, (a, apw))
    desk = online(cluster3, xmpp, 1, a, apw, resource="desk")
    phone = online(cluster3, xmpp, 2, a, apw, resource="phone")
    # a roster change through n1 is pushed to alice's resource on n2
    xmpp.run(desk.xmpp.update_roster(c, name="Carol", groups=["Work"]), TIMEOUT,
             "roster set")
    wait_for(xmpp, phone, "roster-push",
             lambda iq: c in iq["roster"]["items"],
             "alice/phone (n2) gets the push of the roster item alice/desk (n1) added")
    assert phone.xmpp.client_roster[c]["name"] == "Carol"


def test_carbons_reach_resources_on_two_nodes(cluster3, xmpp):
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    register(cluster3, xmpp, (a, apw), (b, bpw))
    desk = online(cluster3, xmpp, 1, a, apw, resource="desk")
    phone = online(cluster3, xmpp, 2, a, apw, resource="phone")
    bob = online(cluster3, xmpp, 3, b, bpw)
    # carbons on for both resources
    for p in (desk, phone):
        try:
            xmpp.run(p.xmpp["xep_0280"].enable(timeout=TIMEOUT), TIMEOUT + 2,
                     "%s: enabling carbons" % p)
        except (IqError, IqTimeout) as e:
            pytest.fail("%s cannot turn message carbons on (XEP-0280 <enable/>): %s"
                        % (p, e.iq["error"]["condition"] if isinstance(e, IqError)
                           else "no answer"), pytrace=False)
    bob.send_message(desk.full_jid, "to the desk")
    exactly_once(xmpp, desk, "message", body_is("to the desk"),
                 "alice/desk (n1) gets bob's (n3) message")
    exactly_once(xmpp, phone, "carbon-received",
                 lambda m: m["carbon_received"]["body"] == "to the desk",
                 "alice/phone (n2) gets the carbon of bob's message to alice/desk (n1)")
    desk.send_message(b, "from the desk")
    exactly_once(xmpp, bob, "message", body_is("from the desk"),
                 "bob (n3) gets alice/desk's (n1) message")
    exactly_once(xmpp, phone, "carbon-sent",
                 lambda m: m["carbon_sent"]["body"] == "from the desk",
                 "alice/phone (n2) gets the carbon of what alice/desk (n1) sent")


def test_same_full_jid_on_two_nodes_the_older_is_closed_with_conflict(cluster3, xmpp):
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    register(cluster3, xmpp, (a, apw), (b, bpw))
    old = online(cluster3, xmpp, 1, a, apw, resource="desk")
    new = online(cluster3, xmpp, 2, a, apw, resource="desk")
    closed_with_conflict(xmpp, old, TIMEOUT, "(the older) when alice/desk logged in on n2")
    for node in cluster3.nodes:
        node.wait_session(new.full_jid, want=("n2", 0, True))
    bob = online(cluster3, xmpp, 3, b, bpw)
    bob.send_message(a + "/desk", "to the newer desk")
    exactly_once(xmpp, new, "message", body_is("to the newer desk"),
                 "the newer alice/desk (n2) gets messages to alice/desk")


def test_node_killed_contacts_see_unavailable_once_then_node_back(cluster3, xmpp):
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    register(cluster3, xmpp, (a, apw), (b, bpw))
    befriend(cluster3, a, b)
    bob = online(cluster3, xmpp, 2, b, bpw, resource="two")
    bob1 = online(cluster3, xmpp, 1, b, bpw, resource="one")
    survivor = online(cluster3, xmpp, 1, a, apw, resource="one", priority=1)
    doomed = online(cluster3, xmpp, 3, a, apw, resource="three", priority=5)
    for watcher in (bob, bob1):
        for p in (survivor, doomed):
            wait_for(xmpp, watcher, "presence", available_from(p.full_jid),
                     "%s sees %s online" % (watcher, p))
    doomed_jid = doomed.full_jid
    cluster3[3].kill()
    killed = time.monotonic()
    doomed.xmpp.abort()
    doomed.xmpp = None
    took = {}
    for watcher in (bob, bob1):
        wait_for(xmpp, watcher, "presence", unavailable_from(doomed_jid),
                 "%s sees alice/three go offline when her node n3 is killed" % watcher,
                 timeout=DEATH - (time.monotonic() - killed))
        took[str(watcher)] = time.monotonic() - killed
    quiet(xmpp)
    for watcher in (bob, bob1):
        assert len(matching(watcher, "presence", unavailable_from(doomed_jid))) == 1, \
            "%s saw alice/three's (n3, killed) unavailable more than once" % watcher
        never(watcher, "presence", unavailable_from(survivor.full_jid),
              "alice/one (n1) is still online")
    for node in (cluster3[1], cluster3[2]):
        node.wait_session(doomed_jid, present=False)
    # bare-JID messages now go to the surviving resource
    bob.send_message(a, "after the crash")
    exactly_once(xmpp, survivor, "message", body_is("after the crash"),
                 "alice/one (n1) gets bob's bare-JID message once alice/three's node died")
    assert cluster3[1].node.sm_count("queue", a) == 0
    # node n3 back: everything again
    cluster3[3].start()
    cluster3.wait_linked()
    back = online(cluster3, xmpp, 3, a, apw, resource="back", priority=5)
    exactly_once(xmpp, bob, "presence", available_from(back.full_jid),
                 "bob (n2) sees alice online again on the restarted n3")
    bob.send_message(a, "node three is back")
    exactly_once(xmpp, back, "message", body_is("node three is back"),
                 "alice/back (restarted n3, priority 5) gets bob's bare-JID message")
    never(survivor, "message", body_is("node three is back"),
          "a bare-JID message (alice/one has priority 1 against 5 on n3)")
    back.send_message(bob.full_jid, "hello from the new n3")
    exactly_once(xmpp, bob, "message", body_is("hello from the new n3"),
                 "bob (n2) gets a message from alice on the restarted n3")
    print("kill -9 to the contacts seeing alice/three unavailable: %r" % took)


def test_node_stopped_with_sigterm_its_users_contacts_see_them_go_at_once(cluster3, xmpp):
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    register(cluster3, xmpp, (a, apw), (b, bpw))
    befriend(cluster3, a, b)
    bob = online(cluster3, xmpp, 1, b, bpw)
    alice = online(cluster3, xmpp, 3, a, apw)
    wait_for(xmpp, bob, "presence", available_from(alice.full_jid),
             "bob (n1) sees alice (n3) online")
    full = alice.full_jid
    problems = cluster3[3].stop()
    stopped = time.monotonic()          # c2s, sm and router have exited
    assert not problems, problems
    alice.xmpp.abort()
    alice.xmpp = None
    exactly_once(xmpp, bob, "presence", unavailable_from(full),
                 "bob (n1) sees alice go offline when her node n3 is stopped")
    late = bob.when[id(matching(bob, "presence", unavailable_from(full))[0])] - stopped
    # the node said goodbye: nobody waits for 3 s of silence
    assert late < 2.0, "bob saw alice (n3, stopped) go only %.1f s after n3 exited" % late


def test_offline_message_delivered_once_when_two_nodes_log_in_together(cluster3, xmpp):
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    register(cluster3, xmpp, (a, apw), (b, bpw))
    alice = online(cluster3, xmpp, 1, a, apw)
    alice.send_message(b, "exactly one of you")
    deadline = time.monotonic() + TIMEOUT
    while cluster3[1].node.sm_count("queue", b) < 1 and time.monotonic() < deadline:
        quiet(xmpp, 0.2)
    assert cluster3[1].node.sm_count("queue", b) == 1, "alice's message was not stored"
    two, three = (Person(xmpp, b + "/" + r, bpw, cluster3[n].c2s_address, "none", None)
                  for r, n in (("two", 2), ("three", 3)))
    two.node, three.node = 2, 3
    xmpp.clients.extend((two, three))

    async def log_in(p):
        # Client.login(), with both streams started at the same moment
        x = p._stream()
        p.messages = asyncio.Queue()
        x.add_event_handler("message", p.messages.put_nowait)
        fut, _ = p._outcome(x)
        p.xmpp = x
        await p._run_stream(x, fut, "login")
        x.send_presence()
        await x.get_roster(timeout=TIMEOUT)

    async def both():
        await asyncio.gather(log_in(two), log_in(three))
    xmpp.run(both(), TIMEOUT, "bob logging in on n2 and n3 at once")
    quiet(xmpp, QUIET + 1)
    got = {str(p): len(matching(p, "message", body_is("exactly one of you")))
           for p in (two, three)}
    assert sum(got.values()) == 1, \
        "bob logging in on n2 and n3 at the same moment got the offline message " \
        "%d times (per resource: %r), expected once" % (sum(got.values()), got)
