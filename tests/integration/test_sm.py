# SPDX-License-Identifier: GPL-2.0-or-later
"""Our sm between Debian's stock jabberd2 2.7 router and c2s (issue 5's
interop criterion), driven by slixmpp clients: registration and login
(the session protocol), messages, the roster, presence subscriptions both
ways with presence flowing afterwards, an offline message delivered with a
delay stamp at the next login, and the server's own iq modules. Each
test of our sm runs twice, on the sqlite and on the pgsql storage driver
(the sm_storage fixture, tests/conftest.py; pgsql on a private server of
tests/lib/pgsql.py). Skipped when jabberd2, our sm or PostgreSQL is
missing (failed under JC_REQUIRE_DAEMONS=1).
"""

from xml.etree.ElementTree import Element, SubElement

import pytest
from slixmpp.exceptions import IqError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from lib import jabberd

OURS = {"sm": "ours"}


def node_with_our_sm(sandbox, storage=None):
    return jabberd.Node(sandbox, number=1, flavor=OURS, storage=storage).start()


def two_users(xmpp, node):
    alice = xmpp.client("alice@localhost", "alice-pw-1", node.c2s_address)
    bob = xmpp.client("bob@localhost", "bob-pw-2", node.c2s_address)
    alice.register()
    bob.register()
    return alice, bob


def run(client, coro, what, timeout=15.0):
    return client.cloop.run(coro, timeout, what)


def wait_event(client, event, pred=lambda e: True, timeout=15.0):
    """Wait for a slixmpp event on a logged-in client matching pred."""
    x = client.xmpp
    fut = client.cloop.loop.create_future()

    def handler(e):
        if not fut.done() and pred(e):
            fut.set_result(e)
    x.add_event_handler(event, handler)

    async def go():
        try:
            return await fut
        finally:
            x.del_event_handler(event, handler)
    return go()


@pytest.mark.stock
def test_sm_login_and_messages(sandbox, xmpp, sm_storage):
    node = node_with_our_sm(sandbox, sm_storage)
    alice, bob = two_users(xmpp, node)
    alice.login()
    bob.login()
    alice.send_message("bob@localhost", "hello bob")
    got = bob.wait_message(body="hello bob")
    assert got["from"] == alice.full_jid
    bob.send_message(alice.full_jid, "hello alice")
    got = alice.wait_message(body="hello alice")
    assert got["from"] == bob.full_jid
    log = node.log("sm").read_text()
    assert "session started: alice@localhost/" in log


def iq(client, ito, ns, itype="get", child=None, timeout=10.0):
    """Send an iq with a <query xmlns=ns/> (or `child`, an Element) and
    return the reply; IqError propagates."""
    x = client.xmpp
    req = x.Iq()
    req["type"] = itype
    if ito is not None:
        req["to"] = ito
    if child is None:
        child = Element("{%s}query" % ns)
    req.append(child)
    return run(client, req.send(timeout=timeout), "iq %s to %s" % (ns, ito))


def iq_error(client, ito, ns):
    """The condition of the error an iq gets back."""
    try:
        iq(client, ito, ns)
    except IqError as e:
        return e.iq["error"]["condition"]
    raise AssertionError("iq %s to %s did not fail" % (ns, ito))


def roster_items(client):
    """{bare jid: item dict} from a fresh roster get."""
    resp = iq(client, None, "jabber:iq:roster")
    return {str(j): dict(v) for j, v in resp["roster"]["items"].items()}


def roster_set(client, jid, name=None, groups=(), subscription=None):
    q = Element("{jabber:iq:roster}query")
    item = SubElement(q, "{jabber:iq:roster}item", jid=jid)
    if name is not None:
        item.set("name", name)
    if subscription is not None:
        item.set("subscription", subscription)
    for g in groups:
        SubElement(item, "{jabber:iq:roster}group").text = g
    return iq(client, None, "jabber:iq:roster", itype="set", child=q)


def manual_subscriptions(client):
    """Let the test answer subscription requests itself."""
    client.xmpp.auto_authorize = None
    client.xmpp.auto_subscribe = False


@pytest.mark.stock
def test_sm_roster_set_get_remove(sandbox, xmpp, sm_storage):
    node = node_with_our_sm(sandbox, sm_storage)
    alice = xmpp.client("alice@localhost", "alice-pw-1", node.c2s_address)
    alice.register()
    alice.login()
    roster_set(alice, "carol@example.net", name="Carol", groups=["Friends", "Work"])
    items = roster_items(alice)
    assert set(items) == {"carol@example.net"}
    assert items["carol@example.net"]["name"] == "Carol"
    assert sorted(items["carol@example.net"]["groups"]) == ["Friends", "Work"]
    assert items["carol@example.net"]["subscription"] == "none"
    # Stored, not just in memory: a second resource logging in sees it.
    again = xmpp.client("alice@localhost", "alice-pw-1", node.c2s_address)
    again.login()
    assert "carol@example.net" in roster_items(again)
    # Renaming replaces name and groups.
    roster_set(alice, "carol@example.net", name="C.", groups=["Work"])
    items = roster_items(again)
    assert items["carol@example.net"]["name"] == "C."
    assert items["carol@example.net"]["groups"] == ["Work"]
    roster_set(alice, "carol@example.net", subscription="remove")
    assert roster_items(alice) == {}
    # An item without a JID is refused.
    q = Element("{jabber:iq:roster}query")
    SubElement(q, "{jabber:iq:roster}item")
    with pytest.raises(IqError) as e:
        iq(alice, None, "jabber:iq:roster", itype="set", child=q)
    assert e.value.iq["error"]["condition"] == "bad-request"


def subscribe(xmpp_a, xmpp_b, a_jid, b_jid):
    """a asks b for a subscription, b grants it; a then sees b online."""
    got_req = wait_event(xmpp_b, "presence_subscribe",
                         lambda p: p["from"].bare == a_jid)
    got_pres = wait_event(xmpp_a, "presence_available",
                          lambda p: p["from"].bare == b_jid)
    xmpp_a.xmpp.send_presence(pto=b_jid, ptype="subscribe")
    run(xmpp_b, got_req, "%s waits for the request" % b_jid)
    xmpp_b.xmpp.send_presence(pto=a_jid, ptype="subscribed")
    p = run(xmpp_a, got_pres, "%s waits for %s's presence" % (a_jid, b_jid))
    assert p["from"] == xmpp_b.full_jid


@pytest.mark.stock
def test_sm_subscriptions_both_ways_and_presence(sandbox, xmpp, sm_storage):
    node = node_with_our_sm(sandbox, sm_storage)
    alice, bob = two_users(xmpp, node)
    alice.login()
    bob.login()
    manual_subscriptions(alice)
    manual_subscriptions(bob)
    subscribe(alice, bob, "alice@localhost", "bob@localhost")
    assert roster_items(alice)["bob@localhost"]["subscription"] == "to"
    assert roster_items(bob)["alice@localhost"]["subscription"] == "from"
    subscribe(bob, alice, "bob@localhost", "alice@localhost")
    assert roster_items(alice)["bob@localhost"]["subscription"] == "both"
    assert roster_items(bob)["alice@localhost"]["subscription"] == "both"
    # Presence changes reach the contact.
    away = wait_event(alice, "presence_away",
                      lambda p: p["from"].bare == "bob@localhost")
    bob.xmpp.send_presence(pshow="away", pstatus="lunch")
    p = run(alice, away, "alice waits for bob's away")
    assert p["status"] == "lunch"
    # A session that ends (here: the client just disconnects) is
    # announced unavailable.
    gone = wait_event(alice, "presence_unavailable",
                      lambda p: p["from"].bare == "bob@localhost")
    bob.disconnect()
    run(alice, gone, "alice waits for bob to go offline")
    # Removing the item cancels both subscriptions on both sides.
    roster_set(alice, "bob@localhost", subscription="remove")
    bob2 = xmpp.client("bob@localhost", "bob-pw-2", node.c2s_address)
    bob2.login()
    assert "bob@localhost" not in roster_items(alice)
    item = roster_items(bob2).get("alice@localhost")
    assert item is None or item["subscription"] == "none"


@pytest.mark.stock
def test_sm_offline_message_at_next_login(sandbox, xmpp, sm_storage):
    node = node_with_our_sm(sandbox, sm_storage)
    alice, bob = two_users(xmpp, node)
    alice.login()
    alice.send_message("bob@localhost", "while you were out")
    # The sm handles one session's stanzas in order: once a ping sent
    # after the message is answered, the message has been stored.
    iq(alice, "localhost", "urn:xmpp:ping")
    assert node.sm_count("queue", "bob@localhost") == 1
    bob.login()
    got = bob.wait_message(body="while you were out")
    assert got["from"].bare == "alice@localhost"
    delay = got.xml.find("{urn:xmpp:delay}delay")
    assert delay is not None and delay.get("stamp", "").endswith("Z")
    assert node.sm_query("SELECT COUNT(*) FROM queue") == [[0]]


@pytest.mark.stock
def test_sm_server_iqs_and_errors(sandbox, xmpp, sm_storage):
    node = node_with_our_sm(sandbox, sm_storage)
    alice = xmpp.client("alice@localhost", "alice-pw-1", node.c2s_address)
    alice.register()
    alice.login()
    assert iq(alice, "localhost", "urn:xmpp:ping")["type"] == "result"
    v = iq(alice, "localhost", "jabber:iq:version")
    assert v.xml.find("{jabber:iq:version}query/{jabber:iq:version}name").text \
        == "jabberd-cluster"
    t = iq(alice, "localhost", None, child=Element("{urn:xmpp:time}time"))
    assert t.xml.find("{urn:xmpp:time}time/{urn:xmpp:time}utc").text.endswith("Z")
    last = iq(alice, "localhost", "jabber:iq:last")
    assert int(last.xml.find("{jabber:iq:last}query").get("seconds")) >= 0
    info = iq(alice, "localhost", "http://jabber.org/protocol/disco#info")
    q = info.xml.find("{http://jabber.org/protocol/disco#info}query")
    ident = q.find("{http://jabber.org/protocol/disco#info}identity")
    assert (ident.get("category"), ident.get("type")) == ("server", "im")
    features = {f.get("var") for f in q.findall("{http://jabber.org/protocol/disco#info}feature")}
    assert {"jabber:iq:roster", "msgoffline", "urn:xmpp:ping", "jabber:iq:version",
            "jabber:iq:last", "urn:xmpp:time"} <= features
    assert iq_error(alice, "localhost", "urn:example:nothing") == "feature-not-implemented"
    assert iq_error(alice, "nobody@localhost", "jabber:iq:version") == "service-unavailable"
    # A message to a user who does not exist bounces.
    fut = wait_event(alice, "message", lambda m: m["type"] == "error")
    alice.send_message("nobody@localhost", "anyone?")
    m = run(alice, fut, "alice waits for the bounce")
    assert m["error"]["condition"] == "service-unavailable"


@pytest.mark.stock
@pytest.mark.parametrize("flavor", [{"sm": "ours"}, {"sm": "ours", "router": "ours"}],
                         ids=["stock-router", "our-router"])
def test_sm_interop_routers(sandbox, xmpp, flavor, sm_storage):
    """Stock c2s with our sm, behind the stock router and behind ours:
    login, a subscription both ways and messages between two users."""
    node = jabberd.Node(sandbox, number=1, flavor=flavor, storage=sm_storage).start()
    alice, bob = two_users(xmpp, node)
    alice.login()
    bob.login()
    manual_subscriptions(alice)
    manual_subscriptions(bob)
    subscribe(alice, bob, "alice@localhost", "bob@localhost")
    subscribe(bob, alice, "bob@localhost", "alice@localhost")
    alice.send_message("bob@localhost", "ping")
    assert bob.wait_message(body="ping")["from"] == alice.full_jid
    bob.send_message("alice@localhost", "pong")
    assert alice.wait_message(body="pong")["from"] == bob.full_jid


@pytest.mark.stock
def test_sm_opens_stock_data(sandbox, xmpp, sm_storage):
    """Drop-in data: what Debian's jabberd2 sm stored (a roster item with
    groups, an offline message, a vCard, a privacy list as the default)
    is there and in force when our sm takes over the same database and
    configuration."""
    node = jabberd.Node(sandbox, number=1, flavor="stock", storage=sm_storage).start()
    alice, bob = two_users(xmpp, node)
    alice.login()
    roster_set(alice, "carol@example.net", name="Carol", groups=["Friends", "Work"])
    vc = Element("{vcard-temp}vCard")
    SubElement(vc, "{vcard-temp}FN").text = "Alice of jabberd2"
    iq(alice, None, None, itype="set", child=vc)
    q = Element("{jabber:iq:privacy}query")
    lst = SubElement(q, "{jabber:iq:privacy}list", name="no-dave")
    item = SubElement(lst, "{jabber:iq:privacy}item", type="jid",
                      value="dave@localhost", action="deny", order="1")
    SubElement(item, "{jabber:iq:privacy}message")
    SubElement(lst, "{jabber:iq:privacy}item", action="allow", order="2")
    iq(alice, None, None, itype="set", child=q)
    q = Element("{jabber:iq:privacy}query")
    SubElement(q, "{jabber:iq:privacy}default", name="no-dave")
    iq(alice, None, None, itype="set", child=q)
    dave = xmpp.client("dave@localhost", "dave-pw-3", node.c2s_address)
    dave.register()
    alice.send_message("bob@localhost", "stored by jabberd2")
    iq(alice, "localhost", "urn:xmpp:ping")
    alice.disconnect()
    # Stock c2s 2.7 does not take a domain back once its sm left, so it
    # is restarted too (after our sm, as at a node's start).
    assert not node.daemons["c2s"].stop()
    assert not node.daemons["sm"].stop()
    # Our sm, same sm.xml but its own log file (so the readiness line
    # awaited is its own).
    conf = node.config("sm").read_text().replace(
        str(node.log("sm")), str(node.log("sm-ours")))
    ours = node.dir / "sm-ours.xml"
    ours.write_text(conf)
    sandbox.start("node1-sm-ours", [jabberd.our_binary_or_skip("sm"), "-c", ours],
                  logs=[node.log("sm-ours")], ready_log=r"ready for sessions")
    sandbox.start("node1-c2s-again", [jabberd.stock_binary_or_skip("c2s"), "-c",
                                      node.config("c2s")],
                  logs=[node.log("c2s")], ready_port=node.c2s_address)
    bob.login()
    got = bob.wait_message(body="stored by jabberd2")
    assert got["from"].bare == "alice@localhost"
    alice2 = xmpp.client("alice@localhost", "alice-pw-1", node.c2s_address)
    alice2.login()
    item = roster_items(alice2)["carol@example.net"]
    assert item["name"] == "Carol"
    assert sorted(item["groups"]) == ["Friends", "Work"]
    got = iq(bob, "alice@localhost", None, child=Element("{vcard-temp}vCard"))
    assert got.xml.find("{vcard-temp}vCard/{vcard-temp}FN").text == "Alice of jabberd2"
    q = Element("{jabber:iq:privacy}query")
    SubElement(q, "{jabber:iq:privacy}list", name="no-dave")
    got = iq(alice2, None, None, child=q)
    items = got.xml.findall("{jabber:iq:privacy}query/{jabber:iq:privacy}list/"
                            "{jabber:iq:privacy}item")
    assert [(i.get("value"), i.get("action"), i.get("order")) for i in items] == \
        [("dave@localhost", "deny", "1"), (None, "allow", "2")]
    # The default list is in force: dave's message bounces.
    dave.login()
    err = wait_event(dave, "message", lambda m: m["type"] == "error")
    dave.send_message("alice@localhost", "let me in")
    m = run(dave, err, "dave waits for the bounce")
    assert m["error"]["condition"] == "service-unavailable"


@pytest.mark.stock
def test_sm_vcard_private_blocking(sandbox, xmpp, sm_storage):
    node = node_with_our_sm(sandbox)
    alice, bob = two_users(xmpp, node)
    alice.login()
    bob.login()
    # vCard: set by the owner, read by another user.
    vc = Element("{vcard-temp}vCard")
    SubElement(vc, "{vcard-temp}FN").text = "Alice Example"
    SubElement(SubElement(vc, "{vcard-temp}EMAIL"), "{vcard-temp}USERID").text = "a@ex"
    iq(alice, None, None, itype="set", child=vc)
    got = iq(bob, "alice@localhost", None, child=Element("{vcard-temp}vCard"))
    assert got.xml.find("{vcard-temp}vCard/{vcard-temp}FN").text == "Alice Example"
    # Private XML: bookmarks kept for the owner only.
    q = Element("{jabber:iq:private}query")
    st = SubElement(q, "{storage:bookmarks}storage")
    SubElement(st, "{storage:bookmarks}conference", jid="room@conf.localhost")
    iq(alice, None, None, itype="set", child=q)
    q = Element("{jabber:iq:private}query")
    SubElement(q, "{storage:bookmarks}storage")
    got = iq(alice, None, None, child=q)
    conf = got.xml.find("{jabber:iq:private}query/{storage:bookmarks}storage/"
                        "{storage:bookmarks}conference")
    assert conf is not None and conf.get("jid") == "room@conf.localhost"
    # Blocking: bob's messages no longer reach alice; he gets an error.
    b = Element("{urn:xmpp:blocking}block")
    SubElement(b, "{urn:xmpp:blocking}item", jid="bob@localhost")
    iq(alice, None, None, itype="set", child=b)
    err = wait_event(bob, "message", lambda m: m["type"] == "error")
    bob.send_message("alice@localhost", "blocked?")
    m = run(bob, err, "bob waits for the bounce")
    assert m["error"]["condition"] == "service-unavailable"
    iq(alice, None, None, itype="set", child=Element("{urn:xmpp:blocking}unblock"))
    bob.send_message("alice@localhost", "unblocked")
    assert alice.wait_message(body="unblocked")["from"] == bob.full_jid


@pytest.mark.stock
def test_sm_bind_refused_exits_1(sandbox, xmpp):
    """A second sm with the same id: the router refuses the bind (409),
    and the sm says so and exits 1, as jabberd2's does."""
    node = node_with_our_sm(sandbox)
    conf = node.config("sm").read_text().replace(
        str(node.log("sm")), str(node.log("sm-twin")))
    twin_conf = node.dir / "sm-twin.xml"
    twin_conf.write_text(conf)
    twin = sandbox.start("node1-sm-twin", [jabberd.our_binary_or_skip("sm"), "-c", twin_conf],
                         logs=[node.log("sm-twin")])
    twin.expect_exit = True
    twin.wait_log(r"cannot bind 'sm' at the router \(error 409\)")
    twin.proc.wait(timeout=10)
    assert twin.proc.returncode == 1


def test_sm_storage_open_failure_is_explained(tmp_path):
    """An sm whose database cannot be opened exits 1 and logs why, naming
    the file (the reason must survive the cleanup that follows it)."""
    import subprocess
    conf = tmp_path / "sm.xml"
    conf.write_text(
        "<sm><id>sm</id><log type='stdout'/><local><id>localhost</id></local>"
        "<storage><driver>sqlite</driver><sqlite>"
        f"<dbname>{tmp_path}/missing-dir/sqlite.db</dbname>"
        "</sqlite></storage></sm>")
    proc = subprocess.run([jabberd.our_binary_or_skip("sm"), "-c", str(conf)],
                          capture_output=True, timeout=20)
    out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 1
    assert f"cannot open '{tmp_path}/missing-dir/sqlite.db'" in out, out


@pytest.mark.stock
def test_sm_bad_input_refused_nothing_stored(sandbox, xmpp, sm_storage):
    """Issue 5's bad input: a roster item with an invalid JID gets
    jid-malformed, a subscription to oneself not-allowed, a vCard over
    user.vcard.max-size not-acceptable (the stored one stays), a presence
    of an unknown type bad-request, an iq result without an id
    bad-request; the database is unchanged by each. (Offline quota:
    test_sm_storage.py.)"""
    node = jabberd.Node(sandbox, number=1, flavor=OURS, storage=sm_storage)
    conf = node.config("sm")
    conf.write_text(conf.read_text().replace(
        "</sm>", "<user><vcard><max-size>4096</max-size></vcard></user></sm>"))
    node.start()
    alice, bob = two_users(xmpp, node)
    alice.login()
    manual_subscriptions(alice)
    # Roster item with an invalid JID.
    with pytest.raises(IqError) as e:
        roster_set(alice, "a@b@c", name="broken")
    assert e.value.iq["error"]["condition"] == "jid-malformed"
    assert roster_items(alice) == {}
    assert node.sm_count("roster-items", "alice@localhost") == 0
    # Subscription request to one's own bare JID.
    err = wait_event(alice, "presence_error")
    alice.xmpp.send_presence(pto="alice@localhost", ptype="subscribe")
    p = run(alice, err, "alice waits for the refused self-subscription")
    assert p["error"]["condition"] == "not-allowed"
    assert roster_items(alice) == {}
    assert node.sm_count("roster-items", "alice@localhost") == 0
    # vCard over the configured 4096 bytes: refused whole.
    vc = Element("{vcard-temp}vCard")
    SubElement(vc, "{vcard-temp}FN").text = "Alice Small"
    iq(alice, None, None, itype="set", child=vc)
    vc = Element("{vcard-temp}vCard")
    SubElement(vc, "{vcard-temp}FN").text = "Alice Big"
    SubElement(vc, "{vcard-temp}DESC").text = "x" * 20000
    with pytest.raises(IqError) as e:
        iq(alice, None, None, itype="set", child=vc)
    assert e.value.iq["error"]["condition"] == "not-acceptable"
    got = iq(alice, None, None, child=Element("{vcard-temp}vCard"))
    assert got.xml.find("{vcard-temp}vCard/{vcard-temp}FN").text == "Alice Small"
    assert got.xml.find("{vcard-temp}vCard/{vcard-temp}DESC") is None
    # A presence type RFC 6121 does not define, to offline bob.
    err = wait_event(alice, "presence_error")
    alice.xmpp.send_raw("<presence xmlns='jabber:client' to='bob@localhost' "
                        "type='online'/>")
    p = run(alice, err, "alice waits for the refused presence")
    assert p["error"]["condition"] == "bad-request"
    iq(alice, "localhost", "urn:xmpp:ping")
    assert node.sm_count("queue", "bob@localhost") == 0
    # An iq result without an id (RFC 6120 8.2.3): bad-request, and bob
    # (offline, so it would be stored if anything were) gets nothing.
    errors = []
    alice.xmpp.register_handler(Callback(
        "iq errors", MatchXPath("{jabber:client}iq/{jabber:client}error"), errors.append))
    alice.xmpp.send_raw("<iq xmlns='jabber:client' type='result' to='bob@localhost'/>")
    iq(alice, "localhost", "urn:xmpp:ping")
    assert [e["error"]["condition"] for e in errors] == ["bad-request"]
    assert node.sm_count("queue", "bob@localhost") == 0
