# SPDX-License-Identifier: GPL-2.0-or-later
"""XEP-0079 Advanced Message Processing (mod_amp) in our sm between the
stock router and c2s, on both storage drivers: each condition and
action, the errors for unsupported and invalid rules, what sm.xml's
<amp> switches off, and that an expired message is neither delivered nor
stored offline.
"""

import asyncio
import time
from xml.etree.ElementTree import Element, SubElement

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from lib import jabberd
from test_sm import OURS, iq

NS_AMP = "http://jabber.org/protocol/amp"
NS_AMP_ERR = "http://jabber.org/protocol/amp#errors"
NS_INFO = "http://jabber.org/protocol/disco#info"
PAST = "2001-01-01T00:00:00Z"
FUTURE = "2999-01-01T00:00:00Z"


def login(client):
    """Log in; messages carrying <amp/> (slixmpp's "message" event wants a
    <body>, which reports lack) are also queued on client.amp."""
    client.login()
    client.amp = asyncio.Queue()
    client.xmpp.register_handler(Callback(
        "amp", MatchXPath("{jabber:client}message/{%s}amp" % NS_AMP),
        client.amp.put_nowait))


def users(xmpp, node, *names):
    out = []
    for n in names:
        c = xmpp.client("%s@localhost" % n, "%s-pw" % n, node.c2s_address)
        c.register()
        login(c)
        out.append(c)
    return out


def send_amp(client, to, body, *rules):
    """A chat message with <amp><rule condition action value/>...</amp>."""
    msg = client.xmpp.make_message(mto=to, mbody=body, mtype="chat")
    amp = Element("{%s}amp" % NS_AMP)
    for cond, action, value in rules:
        r = SubElement(amp, "{%s}rule" % NS_AMP)
        for k, v in (("condition", cond), ("action", action), ("value", value)):
            if v is not None:
                r.set(k, v)
    msg.xml.append(amp)
    msg.send()


def next_message(client, timeout=10.0):
    """The next message with a body the client gets, errors included."""
    async def go():
        return await client.messages.get()
    return client.cloop.run(go(), timeout, "%s: next message" % client.jid)


def next_amp(client, timeout=10.0):
    """The next message carrying <amp/> the client gets (reports, errors)."""
    async def go():
        return await client.amp.get()
    return client.cloop.run(go(), timeout, "%s: next amp message" % client.jid)


def sync(client):
    """A round trip through the sm: what it sent before has arrived."""
    iq(client, "localhost", "urn:xmpp:ping")


def amp_of(msg):
    return msg.xml.find("{%s}amp" % NS_AMP)


def amp_features(client):
    q = iq(client, "localhost", None, child=Element(
        "{%s}query" % NS_INFO, node=NS_AMP)).xml.find("{%s}query" % NS_INFO)
    return {f.get("var") for f in q.iter("{%s}feature" % NS_INFO)}


def error_of(msg):
    """(stanza condition, the amp-specific child's tag) of an error message."""
    err = msg.xml.find("{jabber:client}error")
    assert err is not None, msg
    tags = [c.tag for c in err]
    cond = [t.split("}")[1] for t in tags if t.startswith("{urn:ietf:params:xml:ns:xmpp-stanzas}")]
    extra = [t for t in tags if not t.startswith("{urn:ietf:params:xml:ns:xmpp-stanzas}")]
    return cond[0], extra


@pytest.mark.stock
def test_amp_offline_user(sandbox, xmpp, sm_storage):
    """bob is offline: deliver stored/none, expire-at, each action."""
    node = jabberd.Node(sandbox, number=1, flavor=OURS, storage=sm_storage).start()
    alice, bob = users(xmpp, node, "alice", "bob")
    bob.disconnect()
    feats = amp_features(alice)
    for v in ("action=drop", "action=error", "action=alert", "action=notify",
              "condition=deliver", "condition=expire-at", "condition=match-resource"):
        assert NS_AMP + "?" + v in feats
    # expired: neither delivered nor stored, and no word to the sender
    send_amp(alice, "bob@localhost", "old news", ("expire-at", "drop", PAST))
    sync(alice)
    assert node.sm_count("queue", "bob@localhost") == 0
    # not expired: stored as usual
    send_amp(alice, "bob@localhost", "fresh", ("expire-at", "drop", FUTURE))
    sync(alice)
    assert node.sm_count("queue", "bob@localhost") == 1
    # alert: the sender hears it would be stored; it is not
    send_amp(alice, "bob@localhost", "alerted", ("deliver", "alert", "stored"))
    got = next_amp(alice)
    assert str(got["from"]) == "localhost" and got["type"] != "error"
    a = amp_of(got)
    assert a.get("status") == "alert" and a.get("to") == "bob@localhost"
    assert a.find("{%s}rule" % NS_AMP).get("value") == "stored"
    assert node.sm_count("queue", "bob@localhost") == 1
    # match-resource exact, to a bare JID: met by offline storage
    send_amp(alice, "bob@localhost", "exact", ("match-resource", "alert", "exact"))
    assert amp_of(next_amp(alice)).find("{%s}rule" % NS_AMP).get("value") == "exact"
    assert node.sm_count("queue", "bob@localhost") == 1
    # none would be met only without offline storage
    send_amp(alice, "bob@localhost", "kept", ("deliver", "drop", "none"))
    sync(alice)
    assert node.sm_count("queue", "bob@localhost") == 2
    # error: bounced with failed-rules
    send_amp(alice, "bob@localhost", "bounced", ("expire-at", "error", PAST))
    got = next_amp(alice)
    assert got["type"] == "error"
    cond, extra = error_of(got)
    assert cond == "undefined-condition" and extra == ["{%s}failed-rules" % NS_AMP_ERR]
    a = amp_of(got)
    assert a.get("status") == "error" and a.get("to") == "bob@localhost"
    assert a.get("from") == str(alice.full_jid)
    assert got["body"] == "", "the bounce carries the body"
    # notify (second rule; the first is not met): told, and stored
    send_amp(alice, "bob@localhost", "notified", ("deliver", "notify", "direct"),
             ("deliver", "notify", "stored"))
    got = next_amp(alice)
    assert amp_of(got).get("status") == "notify"
    assert amp_of(got).find("{%s}rule" % NS_AMP).get("value") == "stored"
    sync(alice)
    assert node.sm_count("queue", "bob@localhost") == 3
    # stored while fresh, expired by the time bob is back: not delivered
    soon = time.time() + 2
    send_amp(alice, "bob@localhost", "short-lived", ("expire-at", "drop", time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(soon + 1))))
    sync(alice)
    assert node.sm_count("queue", "bob@localhost") == 4
    time.sleep(max(0.0, soon + 2.5 - time.time()))
    # bob gets exactly the three others, in order
    bob = xmpp.client("bob@localhost", "bob-pw", node.c2s_address)
    login(bob)
    assert [next_message(bob)["body"] for _ in range(3)] == ["fresh", "kept", "notified"]
    alice.send_message("bob@localhost", "after")
    assert next_message(bob)["body"] == "after"
    assert node.sm_count("queue", "bob@localhost") == 0


@pytest.mark.stock
def test_amp_online_user_and_bad_rules(sandbox, xmpp, sm_storage):
    """bob is online as bob@localhost/<res>: match-resource and deliver
    direct; rules we cannot honour bounce with XEP-0079's errors."""
    node = jabberd.Node(sandbox, number=1, flavor=OURS, storage=sm_storage).start()
    alice, bob = users(xmpp, node, "alice", "bob")
    full = str(bob.full_jid)
    # other, to bob's own resource: not met, delivered
    send_amp(alice, full, "one", ("match-resource", "drop", "other"))
    assert next_message(bob)["body"] == "one"
    # other, to a resource bob does not have: dropped
    send_amp(alice, "bob@localhost/elsewhere", "two", ("match-resource", "drop", "other"))
    # exact, to bob's resource: dropped
    send_amp(alice, full, "three", ("match-resource", "drop", "exact"))
    # exact, to another resource: delivered (to bob's only session)
    send_amp(alice, "bob@localhost/elsewhere", "four", ("match-resource", "drop", "exact"))
    assert next_message(bob)["body"] == "four"
    # any: met whenever a session takes it; alert tells alice
    send_amp(alice, "bob@localhost", "five", ("match-resource", "alert", "any"))
    got = next_amp(alice)
    assert amp_of(got).get("status") == "alert"
    # deliver direct + notify: told, and delivered
    send_amp(alice, "bob@localhost", "six", ("deliver", "notify", "direct"))
    assert amp_of(next_amp(alice)).get("status") == "notify"
    assert next_message(bob)["body"] == "six"
    # errors; nothing reaches bob
    send_amp(alice, "bob@localhost", "x", ("deliver", "explode", "direct"))
    cond, extra = error_of(next_amp(alice))
    assert (cond, extra) == ("bad-request", ["{%s}unsupported-actions" % NS_AMP])
    send_amp(alice, "bob@localhost", "x", ("weather", "drop", "rain"))
    cond, extra = error_of(next_amp(alice))
    assert (cond, extra) == ("bad-request", ["{%s}unsupported-conditions" % NS_AMP])
    send_amp(alice, "bob@localhost", "x", ("expire-at", "drop", "soon"))
    cond, extra = error_of(next_amp(alice))
    assert (cond, extra) == ("not-acceptable", ["{%s}invalid-rules" % NS_AMP])
    send_amp(alice, "bob@localhost", "x", ("deliver", "drop", "forward"))
    cond, extra = error_of(next_amp(alice))
    assert (cond, extra) == ("not-acceptable", ["{%s}invalid-rules" % NS_AMP])
    # without <amp/> nothing changes; and bob got nothing in between
    alice.send_message("bob@localhost", "plain")
    assert next_message(bob)["body"] == "plain"
    assert alice.amp.empty() and bob.messages.empty()


@pytest.mark.stock
def test_amp_switched_off(sandbox, xmpp):
    """<amp><disableactions><drop/>, <disableconditions><expireat/>,
    <offlinestoragedisabled/>: those are refused and left out of disco,
    and deliver none is what happens to an offline user's message."""
    node = jabberd.Node(sandbox, number=1, flavor=OURS)
    conf = node.config("sm")
    text = conf.read_text()
    conf.write_text(text.replace("</sm>", "<amp><disableactions><drop/></disableactions>"
                                 "<disableconditions><expireat/></disableconditions>"
                                 "<offlinestoragedisabled/></amp></sm>"))
    node.start()
    alice, bob = users(xmpp, node, "alice", "bob")
    bob.disconnect()
    feats = amp_features(alice)
    assert NS_AMP + "?action=drop" not in feats
    assert NS_AMP + "?condition=expire-at" not in feats
    assert NS_AMP + "?action=alert" in feats
    send_amp(alice, "bob@localhost", "x", ("deliver", "drop", "stored"))
    cond, extra = error_of(next_amp(alice))
    assert (cond, extra) == ("bad-request", ["{%s}unsupported-actions" % NS_AMP])
    send_amp(alice, "bob@localhost", "x", ("expire-at", "alert", PAST))
    cond, extra = error_of(next_amp(alice))
    assert (cond, extra) == ("bad-request", ["{%s}unsupported-conditions" % NS_AMP])
    send_amp(alice, "bob@localhost", "x", ("deliver", "alert", "none"))
    got = next_amp(alice)
    assert amp_of(got).get("status") == "alert"
    assert amp_of(got).find("{%s}rule" % NS_AMP).get("value") == "none"
    assert node.sm_count("queue", "bob@localhost") == 0
