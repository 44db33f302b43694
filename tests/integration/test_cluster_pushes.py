# SPDX-License-Identifier: GPL-2.0-or-later
"""Pushes that must reach sessions on other nodes (issue 13, the rules
piece, item 4), with slixmpp clients on the three nodes of `cluster3`:

- a privacy list changed through one node is pushed (XEP-0016 2.6, "list
  changed") to the user's resources on the other nodes as well;
- a block (XEP-0191) made through one node is pushed to the user's
  resources on other nodes that fetched the block list, and only those;
- a PEP publish reaches the publisher's own resources and its contacts'
  sessions on other nodes;
- an announcement to <domain>/announce/online (jabberd2's announce
  module) reaches the online users of every node, not only those of the
  node that took it.

Each failure says what the user would have missed.
"""

import xml.etree.ElementTree as ET

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from lib.cluster_users import (Person, TIMEOUT, befriend, exactly_once, never, online,
                               register, users)

PRIVACY = "jabber:iq:privacy"
BLOCKING = "urn:xmpp:blocking"
PUBSUB = "http://jabber.org/protocol/pubsub"
EVENT = "http://jabber.org/protocol/pubsub#event"
TUNE = "http://jabber.org/protocol/tune"
ANNOUNCER = "announcer"       # tests/lib/cluster.py's broadcast ACL


class Pushed(Person):
    """A Person that also records privacy-list pushes ("privacy-push") and
    PEP notifications ("pep": slixmpp's message event wants a body)."""

    def _stream(self):
        x = super()._stream()
        x.register_handler(Callback(
            "privacy push", MatchXPath("{jabber:client}iq/{%s}query" % PRIVACY),
            lambda iq: iq["type"] == "set" and self._rec("privacy-push", iq)))
        x.register_handler(Callback(
            "block push", MatchXPath("{jabber:client}iq/{%s}block" % BLOCKING),
            lambda iq: iq["type"] == "set" and self._rec("block-push", iq)))
        x.register_handler(Callback(
            "pep event", MatchXPath("{jabber:client}message/{%s}event" % EVENT),
            lambda m: self._rec("pep", m)))
        return x


def iq_set(xmpp, p, payload, what):
    iq = p.xmpp.make_iq_set()
    iq.append(ET.fromstring(payload))
    return xmpp.run(iq.send(timeout=TIMEOUT), TIMEOUT, what)


def list_named(name):
    return lambda iq: iq.xml.find("{%s}query/{%s}list" % (PRIVACY, PRIVACY)) is not None and \
        iq.xml.find("{%s}query/{%s}list" % (PRIVACY, PRIVACY)).get("name") == name


def test_privacy_list_push_reaches_resources_on_other_nodes(cluster3, xmpp):
    (a, apw), = users(cluster3, "alice")
    register(cluster3, xmpp, (a, apw))
    desk = online(cluster3, xmpp, 1, a, apw, resource="desk", cls=Pushed)
    phone = online(cluster3, xmpp, 2, a, apw, resource="phone", cls=Pushed)
    tab = online(cluster3, xmpp, 3, a, apw, resource="tab", cls=Pushed)
    iq_set(xmpp, desk, "<query xmlns='%s'><list name='work'><item type='jid' "
           "value='spam@example.net' action='deny' order='1'/></list></query>" % PRIVACY,
           "privacy list set")
    for p in (desk, phone, tab):
        exactly_once(xmpp, p, "privacy-push", list_named("work"),
                     "%s gets the 'list changed' push for the list alice/desk (n1) "
                     "set" % p)


def blocks(jid):
    return lambda iq: [i.get("jid") for i in iq.xml.iter("{%s}item" % BLOCKING)] == [jid]


def test_block_push_reaches_resources_that_fetched_the_list_on_other_nodes(cluster3, xmpp):
    (a, apw), = users(cluster3, "alice")
    register(cluster3, xmpp, (a, apw))
    desk = online(cluster3, xmpp, 1, a, apw, resource="desk", cls=Pushed)
    phone = online(cluster3, xmpp, 2, a, apw, resource="phone", cls=Pushed)
    tab = online(cluster3, xmpp, 3, a, apw, resource="tab", cls=Pushed)
    for p in (desk, phone):
        iq = p.xmpp.make_iq_get()
        iq.append(ET.fromstring("<blocklist xmlns='%s'/>" % BLOCKING))
        xmpp.run(iq.send(timeout=TIMEOUT), TIMEOUT, "%s: block list" % p)
    iq_set(xmpp, desk, "<block xmlns='%s'><item jid='spam@example.net'/></block>" % BLOCKING,
           "block")
    for p in (desk, phone):
        exactly_once(xmpp, p, "block-push", blocks("spam@example.net"),
                     "%s, which fetched the block list, gets the push of the block "
                     "alice/desk (n1) made" % p)
    never(tab, "block-push", lambda iq: True,
          "alice/tab (n3) never fetched the block list: no push (XEP-0191 3.3)")


def tune_from(jid, artist):
    def pred(m):
        t = m.xml.find("{%s}event/{%s}items/{%s}item/{%s}tune/{%s}artist"
                       % (EVENT, EVENT, EVENT, TUNE, TUNE))
        return m["from"].bare == jid and t is not None and t.text == artist
    return pred


def test_pep_notifications_reach_own_resources_and_contacts_on_other_nodes(cluster3, xmpp):
    (a, apw), (b, bpw) = users(cluster3, "alice", "bob")
    register(cluster3, xmpp, (a, apw), (b, bpw))
    befriend(cluster3, a, b)
    desk = online(cluster3, xmpp, 1, a, apw, resource="desk", cls=Pushed)
    phone = online(cluster3, xmpp, 2, a, apw, resource="phone", cls=Pushed)
    bob = online(cluster3, xmpp, 3, b, bpw, resource="home", cls=Pushed)
    iq_set(xmpp, desk, "<pubsub xmlns='%s'><publish node='%s'><item id='current'>"
           "<tune xmlns='%s'><artist>Nodes</artist></tune></item></publish></pubsub>"
           % (PUBSUB, TUNE, TUNE), "PEP publish")
    exactly_once(xmpp, desk, "pep", tune_from(a, "Nodes"),
                 "alice/desk (n1) gets the notification of its own publish")
    exactly_once(xmpp, phone, "pep", tune_from(a, "Nodes"),
                 "alice/phone (n2) gets the notification of alice/desk's (n1) publish")
    exactly_once(xmpp, bob, "pep", tune_from(a, "Nodes"),
                 "bob (n3), alice's contact, gets the notification of her publish (n1)")


def test_announce_online_reaches_users_on_every_node(cluster3, xmpp):
    domain = cluster3.domain
    admin = "%s@%s" % (ANNOUNCER, domain)
    try:
        register(cluster3, xmpp, (admin, "announce-pw"))
    except Exception:          # registered by an earlier test of this module
        pass
    (a, apw), (b, bpw), (c, cpw) = users(cluster3, "alice", "bob", "carol")
    register(cluster3, xmpp, (a, apw), (b, bpw), (c, cpw))
    on = [online(cluster3, xmpp, n, j, pw, resource="r")
          for n, (j, pw) in ((1, (a, apw)), (2, (b, bpw)), (3, (c, cpw)))]
    sender = online(cluster3, xmpp, 1, admin, "announce-pw", resource="console")
    sender.xmpp.send_message(mto="%s/announce/online" % domain, mbody="maintenance at 5")
    for p in on:
        exactly_once(xmpp, p, "message",
                     lambda m: m["body"] == "maintenance at 5" and m["from"] == domain,
                     "%s gets the announcement sent through n1" % p)
