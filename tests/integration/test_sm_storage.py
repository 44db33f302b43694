# SPDX-License-Identifier: GPL-2.0-or-later
"""What our sm keeps in its database, on the sqlite and the pgsql driver
(the sm_storage fixture): the offline quota (XEP-0160; a message over it
bounces, nothing half-stored), last activity from the logout table
(XEP-0012), the message of the day (announce: shown once per user, also
to a user logging in later), the template roster of new users, and a
user's deletion (in-band unregistration, XEP-0077) removing every row
the user owned. Stock jabberd2 router and c2s around our sm.
"""

import time
from xml.etree.ElementTree import Element, SubElement

import pytest

from lib import jabberd
from test_sm import OURS, iq, roster_items, roster_set, run, wait_event

SM_TABLES = ("active", "logout", "roster-items", "roster-groups", "vcard", "queue",
             "private", "motd-times", "privacy-default", "privacy-items",
             "vacation-settings", "status", "roster-version", "roster-state",
             "pep-items", "pep-node", "pep-item")


def node_with(sandbox, storage, extra):
    """A node whose sm.xml gets `extra` (XML) before </sm>."""
    node = jabberd.Node(sandbox, number=1, flavor=OURS, storage=storage)
    conf = node.config("sm")
    conf.write_text(conf.read_text().replace("</sm>", extra + "</sm>"))
    return node.start()


def client(xmpp, node, name, register=True, login=True):
    c = xmpp.client("%s@localhost" % name, "%s-pw" % name, node.c2s_address)
    if register:
        c.register()
    if login:
        c.login()
    return c


@pytest.mark.stock
def test_offline_quota(sandbox, xmpp, sm_storage):
    node = node_with(sandbox, sm_storage, "<offline><userquota>2</userquota></offline>")
    alice = client(xmpp, node, "alice")
    client(xmpp, node, "bob", login=False)
    alice.send_message("bob@localhost", "one")
    alice.send_message("bob@localhost", "two")
    err = wait_event(alice, "message", lambda m: m["type"] == "error")
    alice.send_message("bob@localhost", "three")
    m = run(alice, err, "alice waits for the bounce of the third")
    assert m["error"]["condition"] == "service-unavailable"
    assert m["body"] == "three"
    assert node.sm_count("queue", "bob@localhost") == 2
    bob = client(xmpp, node, "bob", register=False)
    for body in ("one", "two"):
        got = bob.wait_message(body=body)
        assert got.xml.find("{urn:xmpp:delay}delay") is not None
    iq(bob, "localhost", "urn:xmpp:ping")
    assert bob.messages.empty()
    assert node.sm_count("queue", "bob@localhost") == 0


@pytest.mark.stock
def test_last_activity_after_logout(sandbox, xmpp, sm_storage):
    """A contact who sees bob's presence asks when he was last there: 0
    while online; after his logout, the seconds since it (from the
    logout table); a stranger is refused."""
    node = jabberd.Node(sandbox, number=1, flavor=OURS, storage=sm_storage).start()
    alice = client(xmpp, node, "alice")
    bob = client(xmpp, node, "bob")
    carol = client(xmpp, node, "carol")
    for c in (alice, bob):
        c.xmpp.auto_authorize = None
        c.xmpp.auto_subscribe = False
    asked = wait_event(bob, "presence_subscribe")
    alice.xmpp.send_presence(pto="bob@localhost", ptype="subscribe")
    run(bob, asked, "bob waits for alice's request")
    bob.xmpp.send_presence(pto="alice@localhost", ptype="subscribed")
    iq(bob, "localhost", "urn:xmpp:ping")
    q = iq(alice, "bob@localhost", "jabber:iq:last").xml.find("{jabber:iq:last}query")
    assert q.get("seconds") == "0"
    bob.disconnect()
    t0 = time.time()
    # The logout is recorded when the sm hears of the session's end.
    deadline = t0 + 10
    while node.sm_count("logout", "bob@localhost") == 0 and time.time() < deadline:
        time.sleep(0.1)
    assert node.sm_count("logout", "bob@localhost") == 1
    time.sleep(1.2)
    q = iq(alice, "bob@localhost", "jabber:iq:last").xml.find("{jabber:iq:last}query")
    assert 1 <= int(q.get("seconds")) <= int(time.time() - t0) + 2
    from slixmpp.exceptions import IqError
    with pytest.raises(IqError) as e:
        iq(carol, "bob@localhost", "jabber:iq:last")
    assert e.value.iq["error"]["condition"] in ("forbidden", "service-unavailable")


@pytest.mark.stock
def test_motd_shown_once(sandbox, xmpp, sm_storage):
    node = node_with(sandbox, sm_storage,
                     "<aci><acl type='broadcast'><jid>admin@localhost</jid></acl></aci>")
    admin = client(xmpp, node, "admin")
    alice = client(xmpp, node, "alice")
    client(xmpp, node, "bob", login=False)
    admin.xmpp.send_message(mto="localhost/announce/motd", mbody="maintenance at noon",
                            mtype="normal")
    got = alice.wait_message(body="maintenance at noon")
    assert str(got["from"]) == "localhost"
    assert node.sm_count("motd-message", "localhost") == 1
    # A user not online then gets it at login, once.
    bob = client(xmpp, node, "bob", register=False)
    bob.wait_message(body="maintenance at noon")
    bob.disconnect()
    bob = client(xmpp, node, "bob", register=False)
    iq(bob, "localhost", "urn:xmpp:ping")
    assert bob.messages.empty()
    # Not for everyone to set.
    err = wait_event(alice, "message", lambda m: m["type"] == "error")
    alice.xmpp.send_message(mto="localhost/announce/motd", mbody="mine now")
    m = run(alice, err, "alice waits for the refusal")
    assert m["error"]["condition"] == "forbidden"


@pytest.mark.stock
def test_template_roster_for_new_users(sandbox, xmpp, sm_storage):
    template = sandbox.write("template-roster.xml",
                             "<query xmlns='jabber:iq:roster'>"
                             "<item jid='help@localhost' name='Help desk' "
                             "subscription='to'><group>Service</group></item>"
                             "</query>")
    node = jabberd.Node(sandbox, number=1, flavor=OURS, storage=sm_storage)
    conf = node.config("sm")
    text = conf.read_text()
    # The test template's user-create chain is jabberd2's without it.
    chain = "<chain id='user-create'>\n      <module>active</module>\n"
    assert chain in text
    text = text.replace(chain, chain + "      <module>template-roster</module>\n")
    text = text.replace("</sm>", "<user><template><roster>%s</roster></template></user></sm>"
                        % template)
    conf.write_text(text)
    node.start()
    # The contact exists (an unknown one would answer the login's probe
    # with "unsubscribed", RFC 6121 4.3.2, ending the subscription).
    client(xmpp, node, "help", login=False)
    alice = client(xmpp, node, "alice")
    item = roster_items(alice).get("help@localhost")
    assert item is not None, "template item missing"
    assert item["name"] == "Help desk" and item["groups"] == ["Service"]
    assert item["subscription"] == "to"


@pytest.mark.stock
def test_unregistration_deletes_everything(sandbox, xmpp, sm_storage):
    node = jabberd.Node(sandbox, number=1, flavor=OURS, storage=sm_storage).start()
    alice = client(xmpp, node, "alice")
    client(xmpp, node, "bob", login=False)
    roster_set(alice, "carol@example.net", name="Carol", groups=["Friends"])
    vc = Element("{vcard-temp}vCard")
    SubElement(vc, "{vcard-temp}FN").text = "Alice"
    iq(alice, None, None, itype="set", child=vc)
    q = Element("{jabber:iq:private}query")
    SubElement(q, "{urn:example:notes}notes").text = "n"
    iq(alice, None, None, itype="set", child=q)
    alice.xmpp.send_presence(pto="dave@example.net", ptype="subscribed")
    iq(alice, "localhost", "urn:xmpp:ping")
    before = {t: node.sm_count(t, "alice@localhost") for t in SM_TABLES}
    for t in ("active", "roster-items", "roster-groups", "vcard", "private",
              "roster-version", "roster-state"):
        assert before[t] >= 1, "%s has no row for alice before" % t
    gone = wait_event(alice, "disconnected")
    q = Element("{jabber:iq:register}query")
    SubElement(q, "{jabber:iq:register}remove")
    req = alice.xmpp.Iq()
    req["type"] = "set"
    req.append(q)
    req.send()
    run(alice, gone, "alice's stream closes after the removal")
    deadline = time.time() + 10
    while node.sm_count("active", "alice@localhost") and time.time() < deadline:
        time.sleep(0.1)
    left = {t: node.sm_count(t, "alice@localhost") for t in SM_TABLES}
    assert left == {t: 0 for t in SM_TABLES}
    assert node.sm_count("active", "bob@localhost") == 1
