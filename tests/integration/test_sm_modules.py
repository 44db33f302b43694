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
