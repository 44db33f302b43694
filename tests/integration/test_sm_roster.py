# SPDX-License-Identifier: GPL-2.0-or-later
"""Our sm's roster and privacy state that must survive the sm: the
roster version (XEP-0237) after a removal and a restart, presence
pre-approval (RFC 6121 3.4) kept across a restart, and XEP-0016 active
lists applied to stanzas for the bare JID. Stock jabberd2 router and c2s
around our sm, on sqlite and on pgsql (the sm_storage fixture).
"""

from xml.etree.ElementTree import Element, SubElement

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from lib import jabberd
from test_sm import (OURS, iq, manual_subscriptions, roster_items, roster_set, run,
                     two_users, wait_event)

NS_ROSTER = "jabber:iq:roster"
NS_PRIVACY = "jabber:iq:privacy"


def restart_sm(sandbox, node, n):
    """Stop c2s and our sm, start them again (a new sm log, so the
    readiness line awaited is the new one's). Stock c2s 2.7 does not take
    a domain back once its sm left, so it restarts too, after the sm."""
    assert not node.daemons["c2s"].stop()
    assert not node.daemons["sm"].stop()
    jabberd.start_our_sm_again(sandbox, node, n)
    node.daemons["c2s"] = sandbox.start(
        "node1-c2s-%d" % n, [jabberd.stock_binary_or_skip("c2s"), "-c", node.config("c2s")],
        logs=[node.log("c2s")], ready_port=node.c2s_address)


def roster_get_ver(client, ver):
    """A versioned roster get: (version, {jid: subscription}) or None when
    the server says `ver` is current (an empty result)."""
    q = Element("{%s}query" % NS_ROSTER, ver=ver)
    got = iq(client, None, None, child=q).xml.find("{%s}query" % NS_ROSTER)
    if got is None:
        return None
    return got.get("ver"), {i.get("jid"): i.get("subscription")
                            for i in got.findall("{%s}item" % NS_ROSTER)}


@pytest.mark.stock
def test_roster_version_survives_removal_and_restart(sandbox, xmpp, sm_storage):
    node = jabberd.Node(sandbox, number=1, flavor=OURS, storage=sm_storage).start()
    alice = xmpp.client("alice@localhost", "alice-pw-1", node.c2s_address)
    alice.register()
    alice.login()
    roster_set(alice, "a@example.net")
    roster_set(alice, "b@example.net")
    # A client that cached the roster now, with both items.
    cached_ver, items = roster_get_ver(alice, "")
    assert set(items) == {"a@example.net", "b@example.net"}
    roster_set(alice, "b@example.net", subscription="remove")
    ver_after_removal, items = roster_get_ver(alice, "")
    assert set(items) == {"a@example.net"} and ver_after_removal != cached_ver
    alice.disconnect()
    restart_sm(sandbox, node, 2)
    alice = xmpp.client("alice@localhost", "alice-pw-1", node.c2s_address)
    alice.login()
    # Nothing changed: the version from before the restart is current.
    assert roster_get_ver(alice, ver_after_removal) is None
    # A new item after the restart: the client holding the version from
    # before the removal must get the whole roster, without b.
    roster_set(alice, "c@example.net")
    got = roster_get_ver(alice, cached_ver)
    assert got is not None, "stale version %s taken as current" % cached_ver
    assert set(got[1]) == {"a@example.net", "c@example.net"}
    assert got[0] not in (cached_ver, ver_after_removal)


def presence_count(client, ptype, sender):
    """A list that collects presences of `ptype` from `sender` (bare)."""
    seen = []
    client.xmpp.add_event_handler(
        "presence_" + ptype,
        lambda p: seen.append(p) if p["from"].bare == sender else None)
    return seen


def ping(client):
    iq(client, "localhost", "urn:xmpp:ping")


@pytest.mark.stock
def test_presence_preapproval(sandbox, xmpp, sm_storage):
    """alice pre-approves bob; the pre-approval shows in her roster, is
    not sent to bob, survives an sm restart, and grants bob's later
    request at once: bob gets "subscribed" and alice's presence, alice
    never sees the request. Withdrawing a pre-approval works too."""
    node = jabberd.Node(sandbox, number=1, flavor=OURS, storage=sm_storage).start()
    alice, bob = two_users(xmpp, node)
    carol = xmpp.client("carol@localhost", "carol-pw-3", node.c2s_address)
    carol.register()
    alice.login()
    manual_subscriptions(alice)
    info = iq(alice, "localhost", "http://jabber.org/protocol/disco#info")
    feats = {f.get("var") for f in info.xml.iter("{http://jabber.org/protocol/disco#info}feature")}
    assert "urn:xmpp:features:pre-approval" in feats
    alice.xmpp.send_presence(pto="bob@localhost", ptype="subscribed")
    alice.xmpp.send_presence(pto="carol@localhost", ptype="subscribed")
    ping(alice)
    q = iq(alice, None, NS_ROSTER).xml.find("{%s}query" % NS_ROSTER)
    items = {i.get("jid"): i for i in q.findall("{%s}item" % NS_ROSTER)}
    assert set(items) == {"bob@localhost", "carol@localhost"}
    for jid in items:
        assert items[jid].get("subscription") == "none"
        assert items[jid].get("approved") == "true"
    # Withdrawn for carol: the item stays, the approval goes.
    alice.xmpp.send_presence(pto="carol@localhost", ptype="unsubscribed")
    ping(alice)
    q = iq(alice, None, NS_ROSTER).xml.find("{%s}query" % NS_ROSTER)
    items = {i.get("jid"): i for i in q.findall("{%s}item" % NS_ROSTER)}
    assert items["carol@localhost"].get("approved") is None
    assert items["bob@localhost"].get("approved") == "true"
    alice.disconnect()
    restart_sm(sandbox, node, 2)
    alice = xmpp.client("alice@localhost", "alice-pw-1", node.c2s_address)
    bob = xmpp.client("bob@localhost", "bob-pw-2", node.c2s_address)
    carol = xmpp.client("carol@localhost", "carol-pw-3", node.c2s_address)
    alice.login()
    manual_subscriptions(alice)
    asked = presence_count(alice, "subscribe", "bob@localhost")
    asked_carol = wait_event(alice, "presence_subscribe",
                             lambda p: p["from"].bare == "carol@localhost")
    bob.login()
    carol.login()
    manual_subscriptions(bob)
    manual_subscriptions(carol)
    granted = wait_event(bob, "presence_subscribed",
                         lambda p: p["from"].bare == "alice@localhost")
    online = wait_event(bob, "presence_available",
                        lambda p: p["from"].bare == "alice@localhost")
    bob.xmpp.send_presence(pto="alice@localhost", ptype="subscribe")
    run(bob, granted, "bob waits for the pre-approved grant")
    p = run(bob, online, "bob waits for alice's presence")
    assert p["from"] == alice.full_jid
    assert roster_items(bob)["alice@localhost"]["subscription"] == "to"
    q = iq(alice, None, NS_ROSTER).xml.find("{%s}query" % NS_ROSTER)
    items = {i.get("jid"): i for i in q.findall("{%s}item" % NS_ROSTER)}
    assert items["bob@localhost"].get("subscription") == "from"
    assert items["bob@localhost"].get("approved") is None
    # carol's approval was withdrawn: her request reaches alice.
    carol.xmpp.send_presence(pto="alice@localhost", ptype="subscribe")
    run(alice, asked_carol, "alice waits for carol's request")
    ping(alice)
    assert asked == []


def login_counting_requests(client, sender, expect):
    """Log in, then count the subscription requests from `sender` that
    reach the session once its initial presence has gone out; with
    `expect`, wait for the first."""
    client.login(presence=False)
    manual_subscriptions(client)
    asked = presence_count(client, "subscribe", sender)
    first = None
    if expect:
        first = wait_event(client, "presence_subscribe",
                           lambda p: p["from"].bare == sender)
    client.xmpp.send_presence()
    if first is not None:
        run(client, first, "%s waits for the request" % client.jid)
    ping(client)
    ping(client)
    return asked


@pytest.mark.stock
def test_waiting_request_offered_at_each_login(sandbox, xmpp, sm_storage):
    """RFC 6121 3.1.3: alice asks bob while he is offline; bob gets the
    request once at his next login (not twice: it is not also kept in
    offline storage), again at the login after that since he did not
    answer, and no more once he has approved it."""
    node = jabberd.Node(sandbox, number=1, flavor=OURS, storage=sm_storage).start()
    alice, bob = two_users(xmpp, node)
    alice.login()
    manual_subscriptions(alice)
    alice.xmpp.send_presence(pto="bob@localhost", ptype="subscribe")
    ping(alice)
    for _ in range(2):
        bob = xmpp.client("bob@localhost", "bob-pw-2", node.c2s_address)
        asked = login_counting_requests(bob, "alice@localhost", True)
        assert len(asked) == 1
        bob.disconnect()
    bob = xmpp.client("bob@localhost", "bob-pw-2", node.c2s_address)
    assert len(login_counting_requests(bob, "alice@localhost", True)) == 1
    granted = wait_event(alice, "presence_subscribed",
                         lambda p: p["from"].bare == "bob@localhost")
    bob.xmpp.send_presence(pto="alice@localhost", ptype="subscribed")
    run(alice, granted, "alice waits for bob's approval")
    bob.disconnect()
    bob = xmpp.client("bob@localhost", "bob-pw-2", node.c2s_address)
    assert login_counting_requests(bob, "alice@localhost", False) == []
    assert node.sm_count("queue", "bob@localhost") == 0


def received_carbons(client):
    """A list that collects the XEP-0280 <received/> carbons the client
    gets (slixmpp's "message" event only fires for a top-level body)."""
    seen = []
    client.xmpp.register_handler(Callback(
        "carbons", MatchXPath("{jabber:client}message/{urn:xmpp:carbons:2}received"),
        seen.append))
    return seen


def set_privacy_list(client, name, items):
    """items: (type, value, action, order, [kinds])."""
    q = Element("{%s}query" % NS_PRIVACY)
    lst = SubElement(q, "{%s}list" % NS_PRIVACY, name=name)
    for t, value, action, order, kinds in items:
        attrs = {"action": action, "order": str(order)}
        if t is not None:
            attrs.update(type=t, value=value)
        it = SubElement(lst, "{%s}item" % NS_PRIVACY, **attrs)
        for k in kinds:
            SubElement(it, "{%s}%s" % (NS_PRIVACY, k))
    iq(client, None, None, itype="set", child=q)


def set_choice(client, which, name):
    q = Element("{%s}query" % NS_PRIVACY)
    SubElement(q, "{%s}%s" % (NS_PRIVACY, which), name=name)
    iq(client, None, None, itype="set", child=q)


@pytest.mark.stock
def test_active_list_applies_to_bare_jid(sandbox, xmpp, sm_storage):
    """Two sessions of alice at the same priority; the first makes a
    list refusing dave's messages and presence its active list. dave's
    messages to the bare JID reach only the second session; with both
    sessions on that list they bounce; dave's presence reaches only the
    session without the list. An active list allowing what the default
    list refuses lets it in for its session. Message carbons (XEP-0280,
    on in both sessions) do not carry a message to a session whose list
    refuses it."""
    node = jabberd.Node(sandbox, number=1, flavor=OURS, storage=sm_storage)
    # jabberd2's chains have no carbons: before deliver in in-sess and
    # pkt-user, as etc/sm.xml.dist.in has it.
    conf = node.config("sm")
    conf.write_text(conf.read_text().replace(
        "<module>deliver</module>", "<module>carbons</module><module>deliver</module>"))
    node.start()
    alice1 = xmpp.client("alice@localhost/one", "alice-pw-1", node.c2s_address)
    alice1.register()
    alice2 = xmpp.client("alice@localhost/two", "alice-pw-1", node.c2s_address)
    dave = xmpp.client("dave@localhost", "dave-pw-4", node.c2s_address)
    dave.register()
    alice1.login()
    alice2.login()
    dave.login()
    set_privacy_list(alice1, "no-dave", [("jid", "dave@localhost", "deny", 1,
                                          ["message", "presence-in"]),
                                         (None, None, "allow", 2, [])])
    set_privacy_list(alice1, "open", [(None, None, "allow", 1, [])])
    carbons = {a: received_carbons(a) for a in (alice1, alice2)}
    for a in (alice1, alice2):
        iq(a, None, None, itype="set", child=Element("{urn:xmpp:carbons:2}enable"))
    set_choice(alice1, "active", "no-dave")
    dave.send_message("alice@localhost", "to the bare jid")
    got = alice2.wait_message(body="to the bare jid")
    assert got["from"] == dave.full_jid
    # Directed presence from dave to the bare JID.
    pres2 = wait_event(alice2, "presence_available",
                       lambda p: p["from"].bare == "dave@localhost")
    seen1 = presence_count(alice1, "available", "dave@localhost")
    dave.xmpp.send_presence(pto="alice@localhost")
    run(alice2, pres2, "alice/two waits for dave's presence")
    ping(alice1)
    ping(alice2)
    dave.send_message("alice@localhost/two", "marker")
    alice2.wait_message(body="marker")
    ping(alice1)
    # Session one saw neither the message nor the presence.
    assert seen1 == []
    assert alice1.messages.empty()
    # Session one now has the higher priority, but its list refuses dave:
    # his message goes to session two alone, and as the message itself,
    # not also as a carbon of one delivered elsewhere.
    alice1.xmpp.send_presence(ppriority=5)
    ping(alice1)
    dave.send_message("alice@localhost", "priority five")
    got = alice2.wait_message(body="priority five")
    assert got["from"] == dave.full_jid
    ping(alice1)
    ping(alice2)
    assert alice1.messages.empty()
    assert carbons[alice1] == [] and carbons[alice2] == []
    # Both sessions on the list: dave's message bounces, nothing stored.
    set_choice(alice2, "active", "no-dave")
    err = wait_event(dave, "message", lambda m: m["type"] == "error")
    dave.send_message("alice@localhost", "refused by both")
    m = run(dave, err, "dave waits for the bounce")
    assert m["error"]["condition"] == "service-unavailable"
    ping(alice1)
    assert node.sm_count("queue", "alice@localhost") == 0
    # The default list refuses dave; session one's active list lets him
    # in, for that session only.
    set_choice(alice1, "default", "no-dave")
    set_choice(alice1, "active", "open")
    dave.send_message("alice@localhost", "through the open list")
    assert alice1.wait_message(body="through the open list")["from"] == dave.full_jid
    ping(alice2)
    assert alice2.messages.empty()
    assert carbons[alice2] == []
    # A carbon still reaches a session whose list lets the sender in.
    alice2.xmpp.send_presence(ppriority=9)
    set_choice(alice2, "active", "open")
    dave.send_message("alice@localhost", "carbon please")
    alice2.wait_message(body="carbon please")
    ping(alice1)
    assert len(carbons[alice1]) == 1
