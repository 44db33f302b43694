# SPDX-License-Identifier: GPL-2.0-or-later
"""jabberd2's small sm modules in our sm, with jabberd2's behaviour:
echo (<domain>/echo sends messages back) and help (mail to the domain
goes to the administrators of the "all" and "messages" ACLs; XEP-0157
contact addresses in disco#info). Stock router and c2s around our sm.
"""

import pytest

from lib import jabberd
from test_sm import OURS, iq, run, wait_event

NS_INFO = "http://jabber.org/protocol/disco#info"
NS_XDATA = "jabber:x:data"

EXTRA = """<aci>
    <acl type='all'><jid>root@localhost</jid></acl>
    <acl type='messages'><jid>helpdesk@localhost</jid><jid>root@localhost</jid></acl>
  </aci>
  <discovery>
    <identity><category>server</category><type>im</type><name>t</name></identity>
    <serverinfo>
      <admin-addresses>
        <value>mailto:root@example.net</value>
        <value>xmpp:root@localhost</value>
      </admin-addresses>
      <abuse-addresses><value>mailto:abuse@example.net</value></abuse-addresses>
    </serverinfo>
  </discovery>
</sm>"""


def node_with_acls(sandbox):
    node = jabberd.Node(sandbox, number=1, flavor=OURS)
    conf = node.config("sm")
    text = conf.read_text()
    # Our <discovery> replaces the template's.
    start = text.index("  <discovery>")
    conf.write_text(text[:start] + "  " + EXTRA)
    return node.start()


def users(xmpp, node, *names):
    out = []
    for n in names:
        c = xmpp.client("%s@localhost" % n, "%s-pw" % n, node.c2s_address)
        c.register()
        c.login()
        out.append(c)
    return out


@pytest.mark.stock
def test_echo_and_presence(sandbox, xmpp):
    node = jabberd.Node(sandbox, number=1, flavor=OURS).start()
    (alice,) = users(xmpp, node, "alice")
    alice.xmpp.send_message(mto="localhost/echo", mbody="hello echo", msubject="s",
                            mtype="chat")
    got = alice.wait_message(body="hello echo")
    assert str(got["from"]) == "localhost/echo"
    assert got["to"] == alice.full_jid
    assert got["type"] == "chat" and got["subject"] == "s"
    # A subscription request to the domain is answered with presence from
    # the /echo and /help resources (both modules are in pkt-sm).
    echo = wait_event(alice, "presence_available",
                      lambda p: str(p["from"]) == "localhost/echo")
    help_ = wait_event(alice, "presence_available",
                       lambda p: str(p["from"]) == "localhost/help")
    alice.xmpp.auto_authorize = None
    alice.xmpp.auto_subscribe = False
    alice.xmpp.send_presence(pto="localhost", ptype="subscribe")
    run(alice, echo, "alice waits for presence from localhost/echo")
    run(alice, help_, "alice waits for presence from localhost/help")


@pytest.mark.stock
def test_help_forwards_to_admins(sandbox, xmpp):
    node = node_with_acls(sandbox)
    root, helpdesk, alice = users(xmpp, node, "root", "helpdesk", "alice")
    alice.xmpp.send_message(mto="localhost", mbody="the printer is on fire",
                            msubject="printer", mtype="chat")
    for admin in (root, helpdesk):
        got = admin.wait_message(body="the printer is on fire")
        assert str(got["from"]) == "localhost"
        assert got["subject"] == "Fwd[%s]: printer" % alice.full_jid
        assert got["type"] == "normal"
    # root is in both ACLs but gets one copy; /help works the same, and a
    # message without a subject says so.
    alice.xmpp.send_message(mto="localhost/help", mbody="second")
    got = root.wait_message(body="second")
    assert got["subject"] == "Fwd[%s]: (none)" % alice.full_jid
    helpdesk.wait_message(body="second")
    iq(root, "localhost", "urn:xmpp:ping")
    bodies = []
    while not root.messages.empty():
        bodies.append(root.messages.get_nowait()["body"])
    assert bodies == [], "root got extra copies: %r" % bodies
    # An administrator writing to the server does not get it back; the
    # other administrators do.
    root.xmpp.send_message(mto="localhost", mbody="from root")
    helpdesk.wait_message(body="from root")
    iq(root, "localhost", "urn:xmpp:ping")
    assert root.messages.empty()
    # XEP-0157 addresses in the server's disco#info.
    info = iq(alice, "localhost", NS_INFO)
    forms = info.xml.findall("{%s}query/{%s}x" % (NS_INFO, NS_XDATA))
    fields = {}
    for x in forms:
        values = {f.get("var"): [v.text for v in f.findall("{%s}value" % NS_XDATA)]
                  for f in x.findall("{%s}field" % NS_XDATA)}
        if values.get("FORM_TYPE") == ["http://jabber.org/network/serverinfo"]:
            fields = values
    assert fields.get("admin-addresses") == ["mailto:root@example.net",
                                             "xmpp:root@localhost"]
    assert fields.get("abuse-addresses") == ["mailto:abuse@example.net"]
    assert "sales-addresses" not in fields


@pytest.mark.stock
def test_help_without_acl_drops(sandbox, xmpp):
    """No ACL: the message goes nowhere, and nothing comes back."""
    node = jabberd.Node(sandbox, number=1, flavor=OURS).start()
    (alice,) = users(xmpp, node, "alice")
    alice.xmpp.send_message(mto="localhost", mbody="anyone?")
    iq(alice, "localhost", "urn:xmpp:ping")
    assert alice.messages.empty()


NS_VAC = "http://jabber.org/protocol/vacation"


def vacation_set(client, start, end, message):
    from xml.etree.ElementTree import Element, SubElement
    q = Element("{%s}query" % NS_VAC)
    if message is not None:
        SubElement(q, "{%s}start" % NS_VAC).text = start
        SubElement(q, "{%s}end" % NS_VAC).text = end
        SubElement(q, "{%s}message" % NS_VAC).text = message
    return iq(client, None, None, itype="set", child=q)


def vacation_get(client):
    q = iq(client, None, NS_VAC).xml.find("{%s}query" % NS_VAC)
    if q is None:
        return None
    return tuple(q.findtext("{%s}%s" % (NS_VAC, n)) or "" for n in ("start", "end", "message"))


@pytest.mark.stock
def test_vacation(sandbox, xmpp, sm_storage):
    """jabberd2's vacation: settings kept in vacation-settings; while the
    user is offline, a sender gets one "Automated reply" from the domain
    (ours: once per sender, not per message) and the message is still
    stored offline; no reply before the start or while online."""
    from slixmpp.exceptions import IqError
    node = jabberd.Node(sandbox, number=1, flavor=OURS, storage=sm_storage).start()
    alice, bob = users(xmpp, node, "alice", "bob")
    feats = {f.get("var") for f in iq(alice, "localhost", NS_INFO).xml.iter(
        "{%s}feature" % NS_INFO)}
    assert NS_VAC in feats
    assert vacation_get(alice) is None
    vacation_set(alice, "", "", "Away until Monday")
    assert vacation_get(alice) == ("", "", "Away until Monday")
    assert node.sm_count("vacation-settings", "alice@localhost") == 1
    with pytest.raises(IqError) as e:
        vacation_set(alice, "next tuesday", "", "x")
    assert e.value.iq["error"]["condition"] == "bad-request"
    assert vacation_get(alice) == ("", "", "Away until Monday")
    alice.disconnect()
    bob.send_message("alice@localhost", "are you there?")
    got = bob.wait_message(body="Away until Monday")
    assert str(got["from"]) == "localhost"
    assert got["subject"] == "Automated reply"
    bob.send_message("alice@localhost", "hello?")
    iq(bob, "localhost", "urn:xmpp:ping")
    assert node.sm_count("queue", "alice@localhost") == 2
    assert bob.messages.empty(), "a second automated reply"
    # Back online: both messages are there, and no replies while online.
    alice = xmpp.client("alice@localhost", "alice-pw", node.c2s_address)
    alice.login()
    alice.wait_message(body="are you there?")
    alice.wait_message(body="hello?")
    bob.send_message("alice@localhost", "welcome back")
    alice.wait_message(body="welcome back")
    # Not started yet: no reply (a new setting, so bob could get one).
    # (jabberd2's pgsql schema keeps times in 32-bit integers.)
    with pytest.raises(IqError) as e:
        vacation_set(alice, "2999-01-01T00:00:00Z", "", "Later")
    assert e.value.iq["error"]["condition"] == "not-acceptable"
    vacation_set(alice, "2037-12-31T23:00:00+01:00", "", "Later")
    assert vacation_get(alice) == ("2037-12-31T22:00:00Z", "", "Later")
    alice.disconnect()
    bob.send_message("alice@localhost", "too early")
    iq(bob, "localhost", "urn:xmpp:ping")
    assert node.sm_count("queue", "alice@localhost") == 1
    assert bob.messages.empty()
    # A set without the three elements clears the settings.
    alice = xmpp.client("alice@localhost", "alice-pw", node.c2s_address)
    alice.login()
    vacation_set(alice, None, None, None)
    assert vacation_get(alice) is None
    assert node.sm_count("vacation-settings", "alice@localhost") == 0
