# SPDX-License-Identifier: GPL-2.0-or-later
"""Delivery and presence rules of our sm seen by real clients (RFC 6121
sections 4 and 8): priorities and negative priority, headlines, directed
presence and the unavailable presence that follows an abnormal end, and
PEP notifications (XEP-0163) and carbons of sent messages (XEP-0280)
with those modules in the chains. Stock jabberd2 router and c2s around
our sm; these keep nothing in storage, so one driver is enough.
"""

from xml.etree.ElementTree import Element, SubElement

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from lib import jabberd
from test_sm import OURS, iq, manual_subscriptions, run, subscribe, wait_event


def collect(client, xpath):
    """A list that collects the stanzas matching `xpath` the client gets
    (slixmpp's "message" event needs a top-level body)."""
    seen = []
    client.xmpp.register_handler(Callback("collect " + xpath, MatchXPath(xpath),
                                          seen.append))
    return seen


def ping(client):
    iq(client, "localhost", "urn:xmpp:ping")


def account(xmpp, node, jid, password, register=True):
    c = xmpp.client(jid, password, node.c2s_address)
    if register:
        c.register()
    c.login()
    return c


@pytest.mark.stock
def test_priorities(sandbox, xmpp):
    node = jabberd.Node(sandbox, number=1, flavor=OURS).start()
    alice = account(xmpp, node, "alice@localhost", "pw-a")
    bob1 = account(xmpp, node, "bob@localhost/one", "pw-b")
    bob2 = account(xmpp, node, "bob@localhost/two", "pw-b", register=False)
    bob1.xmpp.send_presence(ppriority=5)
    bob2.xmpp.send_presence(ppriority=1)
    ping(bob1)
    ping(bob2)
    # Chat to the bare JID: the highest priority only.
    alice.send_message("bob@localhost", "top")
    bob1.wait_message(body="top")
    # A headline: every session of non-negative priority.
    alice.send_message("bob@localhost", "news", mtype="headline")
    bob1.wait_message(body="news")
    bob2.wait_message(body="news")
    ping(bob2)
    assert bob2.messages.empty()
    # To a full JID: that session, whatever its priority.
    bob2.xmpp.send_presence(ppriority=-1)
    ping(bob2)
    alice.send_message("bob@localhost/two", "direct")
    bob2.wait_message(body="direct")
    # Only a negative priority left: bare messages wait offline.
    bob1.disconnect()
    ping(bob2)
    alice.send_message("bob@localhost", "stored")
    ping(alice)
    ping(bob2)
    assert bob2.messages.empty()
    assert node.sm_count("queue", "bob@localhost") == 1
    # They go to the next session whose initial presence has a
    # non-negative priority.
    bob3 = account(xmpp, node, "bob@localhost/three", "pw-b", register=False)
    bob3.wait_message(body="stored")


@pytest.mark.stock
def test_directed_presence_and_abnormal_end(sandbox, xmpp):
    """carol is no contact of alice: she gets alice's directed presence,
    and its unavailable when alice's connection just drops. bob, a
    contact, gets the unavailable too."""
    node = jabberd.Node(sandbox, number=1, flavor=OURS).start()
    alice = account(xmpp, node, "alice@localhost", "pw-a")
    bob = account(xmpp, node, "bob@localhost", "pw-b")
    carol = account(xmpp, node, "carol@localhost", "pw-c")
    for c in (alice, bob):
        manual_subscriptions(c)
    subscribe(bob, alice, "bob@localhost", "alice@localhost")
    here = wait_event(carol, "presence_available",
                      lambda p: p["from"].bare == "alice@localhost")
    alice.xmpp.send_presence(pto=carol.full_jid, pstatus="hi carol")
    p = run(carol, here, "carol waits for alice's directed presence")
    assert p["status"] == "hi carol"
    gone_c = wait_event(carol, "presence_unavailable",
                        lambda p: p["from"].bare == "alice@localhost")
    gone_b = wait_event(bob, "presence_unavailable",
                        lambda p: p["from"].bare == "alice@localhost")
    # No </stream:stream>, no unavailable presence: the TCP connection
    # just ends.
    alice.xmpp.transport.abort()
    run(carol, gone_c, "carol waits for alice's unavailable")
    run(bob, gone_b, "bob waits for alice's unavailable")


def with_modules(node, *names):
    """Put modules before deliver in the in-sess and pkt-user chains."""
    conf = node.config("sm")
    mods = "".join("<module>%s</module>" % n for n in names)
    conf.write_text(conf.read_text().replace("<module>deliver</module>",
                                             mods + "<module>deliver</module>"))


@pytest.mark.stock
def test_pep_and_sent_carbons(sandbox, xmpp):
    node = jabberd.Node(sandbox, number=1, flavor=OURS)
    with_modules(node, "pep", "carbons")
    node.start()
    alice1 = account(xmpp, node, "alice@localhost/one", "pw-a")
    alice2 = account(xmpp, node, "alice@localhost/two", "pw-a", register=False)
    bob = account(xmpp, node, "bob@localhost", "pw-b")
    carol = account(xmpp, node, "carol@localhost", "pw-c")
    for c in (alice1, bob):
        manual_subscriptions(c)
    subscribe(bob, alice1, "bob@localhost", "alice@localhost")
    ev = "{jabber:client}message/{http://jabber.org/protocol/pubsub#event}event"
    events = {c: collect(c, ev) for c in (alice2, bob, carol)}
    q = Element("{http://jabber.org/protocol/pubsub}pubsub")
    pub = SubElement(q, "{http://jabber.org/protocol/pubsub}publish",
                     node="http://jabber.org/protocol/nick")
    item = SubElement(pub, "{http://jabber.org/protocol/pubsub}item")
    SubElement(item, "{http://jabber.org/protocol/nick}nick").text = "Ally"
    iq(alice1, None, None, itype="set", child=q)
    for c in (bob, alice2):
        ping(c)
    ping(carol)
    nick = ".//{http://jabber.org/protocol/nick}nick"
    assert [e.xml.find(nick).text for e in events[bob]] == ["Ally"]
    assert [e.xml.find(nick).text for e in events[alice2]] == ["Ally"]
    assert events[carol] == []          # no subscription, no notification
    # Carbons: a chat alice sends from one session is copied to the other.
    sent = collect(alice2, "{jabber:client}message/{urn:xmpp:carbons:2}sent")
    for a in (alice1, alice2):
        iq(a, None, None, itype="set", child=Element("{urn:xmpp:carbons:2}enable"))
    alice1.send_message("bob@localhost", "copied")
    bob.wait_message(body="copied")
    ping(alice2)
    assert len(sent) == 1
    fwd = sent[0].xml.find(".//{urn:xmpp:forward:0}forwarded/{jabber:client}message")
    assert fwd.findtext("{jabber:client}body") == "copied"
    # <private/> keeps it out of carbons.
    m = alice1.xmpp.Message()
    m["to"] = "bob@localhost"
    m["type"] = "chat"
    m["body"] = "private"
    m.append(Element("{urn:xmpp:carbons:2}private"))
    m.send()
    bob.wait_message(body="private")
    ping(alice2)
    assert len(sent) == 1
