# SPDX-License-Identifier: GPL-2.0-or-later
"""The pubsub daemon (XEP-0060) behind our router, sm and c2s, driven by
slixmpp clients with its xep_0060 plugin: node creation with a
configuration, publishing with and without item ids, what subscribers are
notified of (with and without payload, retractions, deletion), item
retrieval with max_items, the errors users get (forbidden, conflict,
precondition-not-met, payload-too-big, the limits named), the access
models presence, roster and whitelist read from the rosters the sm
keeps, and nodes, items and subscriptions surviving a restart of the
pubsub, on both storage drivers. Skipped when a daemon is not built
(failed under JC_REQUIRE_DAEMONS=1).
"""

import time

import pytest
from slixmpp import JID
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET

import test_status_command as tsc
from test_sm import wait_event as event
from test_status_command import sockdir  # noqa: F401 (a fixture used here)
from lib import component, jabberd, paths
from lib.component import run

SERVICE = "pubsub.localhost"
NS = "urn:example:test"


def start_pubsub(sandbox, node, storage=None, n=1, nodes_per_user=10, payload_size=2048,
                 status_socket=None):
    """Start our pubsub on `node`'s router serving SERVICE, its storage the
    sm's database (sqlite file, or `storage` for pgsql), so that the
    presence and roster access models read the sm's rosters."""
    edit = None
    if status_socket is not None:
        def edit(conf):
            tsc.with_socket(conf, status_socket)
    return component.start(sandbox, node, "pubsub", SERVICE, storage, node.db,
                           r"ready for nodes", n, edit, NODES_PER_USER=nodes_per_user,
                           PAYLOAD_SIZE=payload_size)


def pubsub_node(sandbox, storage=None, flavor="ours", **kw):
    node = jabberd.Node(sandbox, number=1, flavor=flavor, storage=storage).start()
    start_pubsub(sandbox, node, storage, **kw)
    return node


def user(xmpp, node, name):
    c = component.user(xmpp, node, name, ("xep_0004", "xep_0030", "xep_0060"))
    c.ps = c.xmpp["xep_0060"]
    return c


def entry(text):
    e = ET.Element("{%s}entry" % NS)
    e.text = text
    return e


def config_form(c, **fields):
    """A submitted pubsub#node_config form with `fields` (names without
    the pubsub# prefix)."""
    form = c.xmpp["xep_0004"].make_form(ftype="submit")
    form.add_field(var="FORM_TYPE", ftype="hidden",
                   value="http://jabber.org/protocol/pubsub#node_config")
    for k, v in fields.items():
        form.add_field(var="pubsub#" + k, value=v)
    return form


def iq_error(client, coro, what):
    """Run a request expected to fail: (condition, pubsub#errors
    condition or None, text)."""
    with pytest.raises(IqError) as e:
        run(client, coro, what)
    err = e.value.iq["error"]
    app = None
    for child in err.xml:
        if child.tag.startswith("{http://jabber.org/protocol/pubsub#errors}"):
            app = child.tag.split("}")[1]
    return err["condition"], app, err["text"]


def published(client, node):
    return event(client, "pubsub_publish",
                 lambda m: m["pubsub_event"]["items"]["node"] == node)


def test_pubsub_publish_subscribe_notify(sandbox, xmpp):
    node = pubsub_node(sandbox, payload_size=512)
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    run(alice, alice.ps.create_node(SERVICE, "news",
                                    config=config_form(alice, max_items="3",
                                                       title="News")), "create")
    # the node is listed, titled
    items = run(bob, bob.xmpp["xep_0030"].get_items(jid=SERVICE), "disco items")
    assert ("pubsub.localhost", "news", "News") in items["disco_items"]["items"]
    sub = run(bob, bob.ps.subscribe(SERVICE, "news"), "subscribe")
    assert sub["pubsub"]["subscription"]["subscription"] == "subscribed"

    # a publish reaches the subscriber with its payload
    got = published(bob, "news")
    res = run(alice, alice.ps.publish(SERVICE, "news", id="first",
                                      payload=entry("hello")), "publish")
    assert res["pubsub"]["publish"]["item"]["id"] == "first"
    m = run(bob, got, "bob notified")
    item = m["pubsub_event"]["items"]["item"]
    assert item["id"] == "first"
    assert item["payload"].text == "hello"

    # without an id: the service makes one, and the subscriber sees it
    got = published(bob, "news")
    res = run(alice, alice.ps.publish(SERVICE, "news", payload=entry("two")), "publish 2")
    new_id = res["pubsub"]["publish"]["item"]["id"]
    assert new_id
    assert run(bob, got, "bob notified 2")["pubsub_event"]["items"]["item"]["id"] == new_id

    # bob may not publish; alice may not create the node twice
    cond, _, _ = iq_error(bob, bob.ps.publish(SERVICE, "news", payload=entry("x")),
                          "bob publishes")
    assert cond == "forbidden"
    cond, _, _ = iq_error(alice, alice.ps.create_node(SERVICE, "news"), "again")
    assert cond == "conflict"

    # a payload over the limit is refused, the limit named
    cond, app, text = iq_error(alice, alice.ps.publish(SERVICE, "news",
                                                       payload=entry("x" * 600)),
                               "too big")
    assert (cond, app) == ("not-acceptable", "payload-too-big")
    assert "payload-size" in text

    # publish-options that do not match: conflict, precondition-not-met
    opts = alice.xmpp["xep_0004"].make_form(ftype="submit")
    opts.add_field(var="FORM_TYPE", ftype="hidden",
                   value="http://jabber.org/protocol/pubsub#publish-options")
    opts.add_field(var="pubsub#access_model", value="whitelist")
    cond, app, _ = iq_error(alice, alice.ps.publish(SERVICE, "news", payload=entry("x"),
                                                    options=opts), "preconditions")
    assert (cond, app) == ("conflict", "precondition-not-met")

    # items with max_items: the newest
    for i in range(3, 6):
        run(alice, alice.ps.publish(SERVICE, "news", id="i%d" % i,
                                    payload=entry(str(i))), "publish %d" % i)
    res = run(bob, bob.ps.get_items(SERVICE, "news", max_items=2), "items")
    assert [i["id"] for i in res["pubsub"]["items"]] == ["i4", "i5"]
    # max_items 3 kept three
    res = run(bob, bob.ps.get_items(SERVICE, "news"), "all items")
    assert [i["id"] for i in res["pubsub"]["items"]] == ["i3", "i4", "i5"]

    # deliver_payloads off: notified without payload
    run(alice, alice.ps.set_node_config(SERVICE, "news",
                                        config_form(alice, deliver_payloads="0")),
        "configure")
    got = published(bob, "news")
    run(alice, alice.ps.publish(SERVICE, "news", id="bare", payload=entry("secret")),
        "publish bare")
    m = run(bob, got, "bob notified bare")
    assert m["pubsub_event"]["items"]["item"]["id"] == "bare"
    assert m["pubsub_event"]["items"]["item"].xml.find("{%s}entry" % NS) is None

    # retract: notified
    gone = event(bob, "pubsub_retract", lambda m: True)
    run(alice, alice.ps.retract(SERVICE, "news", "bare"), "retract")
    m = run(bob, gone, "bob sees the retraction")
    assert m["pubsub_event"]["items"]["retract"]["id"] == "bare"

    # delete: notified; the node is gone
    deleted = event(bob, "pubsub_delete", lambda m: True)
    cond, _, _ = iq_error(bob, bob.ps.delete_node(SERVICE, "news"), "bob deletes")
    assert cond == "forbidden"
    run(alice, alice.ps.delete_node(SERVICE, "news"), "delete")
    assert run(bob, deleted, "bob sees the deletion")["pubsub_event"]["delete"]["node"] \
        == "news"
    cond, _, _ = iq_error(bob, bob.ps.get_items(SERVICE, "news"), "items of deleted")
    assert cond == "item-not-found"


def test_pubsub_limits_and_unsubscribe(sandbox, xmpp):
    node = pubsub_node(sandbox, nodes_per_user=1)
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    run(alice, alice.ps.create_node(SERVICE, "one"), "create")
    cond, app, text = iq_error(alice, alice.ps.create_node(SERVICE, "two"), "second")
    assert (cond, app) == ("not-allowed", "max-nodes-exceeded")
    assert "nodes-per-user" in text
    run(bob, bob.ps.subscribe(SERVICE, "one"), "subscribe")
    run(bob, bob.ps.unsubscribe(SERVICE, "one"), "unsubscribe")
    cond, app, _ = iq_error(bob, bob.ps.unsubscribe(SERVICE, "one"), "again")
    assert (cond, app) == ("unexpected-request", "not-subscribed")
    # nothing reaches bob any more
    run(alice, alice.ps.publish(SERVICE, "one", id="x", payload=entry("x")), "publish")
    with pytest.raises(Exception):
        run(bob, published(bob, "one"), "no notification", timeout=1.5)


def wait_roster(node, owner, contact, timeout=10.0):
    """Until the sm has stored owner's roster item for contact with a
    'from' subscription (bounded)."""
    deadline = time.monotonic() + paths.scaled(timeout)
    while time.monotonic() < deadline:
        rows = node.sm_query('SELECT "from" FROM "roster-items" WHERE '
                             '"collection-owner" = ? AND "jid" = ?', (owner, contact))
        if rows and rows[0][0] in (1, True, "1", "t"):
            return
        time.sleep(0.1)
    raise AssertionError("no roster item of %s for %s" % (owner, contact))


@pytest.fixture(params=["sqlite", "pgsql"])
def storage(request, sandbox):
    """The sm's (and the pubsub's) database: None for SQLite, or a
    PostgreSQL database (the pubsub store has no MySQL driver)."""
    if request.param == "sqlite":
        yield None
        return
    db = request.getfixturevalue("pg_server").database()
    yield db
    db.save_log(sandbox.path("postgresql.log"))


def test_pubsub_access_models(sandbox, xmpp, storage):
    node = pubsub_node(sandbox, storage)
    alice, bob, carol, dave = (user(xmpp, node, n) for n in ("alice", "bob", "carol", "dave"))
    run(alice, alice.ps.create_node(SERVICE, "pres",
                                    config=config_form(alice, access_model="presence")),
        "presence node")
    roster_form = config_form(alice, access_model="roster")
    roster_form.add_field(var="pubsub#roster_groups_allowed", ftype="list-multi",
                          value=["Friends"])
    run(alice, alice.ps.create_node(SERVICE, "rost", config=roster_form), "roster node")
    run(alice, alice.ps.create_node(SERVICE, "white",
                                    config=config_form(alice, access_model="whitelist")),
        "whitelist node")

    # before bob has alice's presence: refused, as XEP-0060 6.1.3.2 says
    cond, app, _ = iq_error(bob, bob.ps.subscribe(SERVICE, "pres"), "bob too early")
    assert (cond, app) == ("not-authorized", "presence-subscription-required")
    cond, app, _ = iq_error(bob, bob.ps.get_items(SERVICE, "pres"), "bob items too early")
    assert (cond, app) == ("not-authorized", "presence-subscription-required")
    # bob asks for alice's presence; alice approves
    asked = event(alice, "presence_subscribe", lambda p: p["from"].bare == "bob@localhost")
    bob.xmpp.send_presence(pto="alice@localhost", ptype="subscribe")
    run(alice, asked, "alice asked")
    alice.xmpp.send_presence(pto="bob@localhost", ptype="subscribed")
    wait_roster(node, "alice@localhost", "bob@localhost")
    run(bob, bob.ps.subscribe(SERVICE, "pres"), "bob subscribes")
    got = published(bob, "pres")
    run(alice, alice.ps.publish(SERVICE, "pres", id="mood", payload=entry("happy")),
        "publish")
    assert run(bob, got, "bob notified")["pubsub_event"]["items"]["item"]["id"] == "mood"

    # roster: carol in the group Friends of alice's roster gets in; bob,
    # in no group, does not
    run(alice, alice.xmpp.update_roster("carol@localhost", groups=["Friends"]),
        "carol in Friends")
    deadline = time.monotonic() + paths.scaled(10)
    while not node.sm_query('SELECT 1 FROM "roster-groups" WHERE "collection-owner" = ? '
                            'AND "jid" = ? AND "group" = ?',
                            ("alice@localhost", "carol@localhost", "Friends")):
        assert time.monotonic() < deadline, "carol never stored in Friends"
        time.sleep(0.1)
    run(carol, carol.ps.subscribe(SERVICE, "rost"), "carol subscribes")
    cond, app, _ = iq_error(bob, bob.ps.subscribe(SERVICE, "rost"), "bob not in group")
    assert (cond, app) == ("not-authorized", "not-in-roster-group")

    # whitelist: closed, until the owner makes dave a member
    cond, app, _ = iq_error(dave, dave.ps.subscribe(SERVICE, "white"), "dave closed")
    assert (cond, app) == ("not-allowed", "closed-node")
    run(alice, alice.ps.modify_affiliations(SERVICE, "white",
                                            [("dave@localhost", "member")]), "member")
    run(dave, dave.ps.subscribe(SERVICE, "white"), "dave subscribes")
    affs = run(alice, alice.ps.get_node_affiliations(SERVICE, "white"), "affiliations")
    got = {str(a["jid"]): a["affiliation"] for a in affs["pubsub_owner"]["affiliations"]}
    assert got == {"alice@localhost": "owner", "dave@localhost": "member"}


def test_pubsub_survives_restart(sandbox, xmpp, storage):
    node = pubsub_node(sandbox, storage)
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    run(alice, alice.ps.create_node(SERVICE, "kept",
                                    config=config_form(alice, max_items="2")), "create")
    for i in range(1, 4):
        run(alice, alice.ps.publish(SERVICE, "kept", id="k%d" % i,
                                    payload=entry("v%d" % i)), "publish")
    run(bob, bob.ps.subscribe(SERVICE, "kept"), "subscribe")
    sandbox.daemon("node1-pubsub-1").stop()
    start_pubsub(sandbox, node, storage, n=2)
    assert "1 nodes and 1 subscriptions loaded" in node.log("pubsub-2").read_text()
    # the items (the newest two), the configuration, the subscription
    res = run(bob, bob.ps.get_items(SERVICE, "kept"), "items after")
    assert [(i["id"], i["payload"].text) for i in res["pubsub"]["items"]] == \
        [("k2", "v2"), ("k3", "v3")]
    cfg = run(alice, alice.ps.get_node_config(SERVICE, "kept"), "config after")
    assert cfg["pubsub_owner"]["configure"]["form"]["values"]["pubsub#max_items"] == "2"
    got = published(bob, "kept")
    run(alice, alice.ps.publish(SERVICE, "kept", id="k4", payload=entry("v4")), "publish")
    assert run(bob, got, "bob notified after")["pubsub_event"]["items"]["item"]["id"] == "k4"
    res = run(bob, bob.ps.get_items(SERVICE, "kept"), "items after publish")
    assert [i["id"] for i in res["pubsub"]["items"]] == ["k3", "k4"]


def test_pubsub_authorize(sandbox, xmpp):
    node = pubsub_node(sandbox)
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    run(alice, alice.ps.create_node(SERVICE, "club",
                                    config=config_form(alice, access_model="authorize")),
        "create")
    asked = event(alice, "message_xform", lambda m: True)
    sub = run(bob, bob.ps.subscribe(SERVICE, "club"), "subscribe")
    assert sub["pubsub"]["subscription"]["subscription"] == "pending"
    # alice gets the authorization form (XEP-0060 8.6.1)
    m = run(alice, asked, "alice asked")
    form = m["form"]
    assert form["values"]["pubsub#subscriber_jid"] == "bob@localhost"
    assert form["values"]["pubsub#node"] == "club"
    # until then bob sees nothing
    cond, app, _ = iq_error(bob, bob.ps.get_items(SERVICE, "club"), "items pending")
    assert (cond, app) == ("not-authorized", "not-subscribed")
    cond, app, _ = iq_error(bob, bob.ps.subscribe(SERVICE, "club"), "again")
    assert (cond, app) == ("not-authorized", "pending-subscription")
    # alice allows: bob is told, then gets the items
    told = event(bob, "pubsub_subscription", lambda m: True)
    answer = alice.xmpp["xep_0004"].make_form(ftype="submit")
    for var in ("FORM_TYPE", "pubsub#subid", "pubsub#node", "pubsub#subscriber_jid"):
        answer.add_field(var=var, value=form["values"][var])
    answer.add_field(var="pubsub#allow", value="1")
    reply = alice.xmpp.make_message(mto=SERVICE)
    reply.append(answer)
    reply.send()
    m = run(bob, told, "bob told")
    assert m["pubsub_event"]["subscription"]["subscription"] == "subscribed"
    got = published(bob, "club")
    run(alice, alice.ps.publish(SERVICE, "club", id="news", payload=entry("in")), "publish")
    assert run(bob, got, "bob notified")["pubsub_event"]["items"]["item"]["id"] == "news"
    res = run(bob, bob.ps.get_items(SERVICE, "club"), "items")
    assert [i["id"] for i in res["pubsub"]["items"]] == ["news"]


@pytest.mark.stock
def test_pubsub_with_stock_jabberd2(sandbox, xmpp):
    """Our pubsub as a component of Debian's jabberd2 2.7 (router, sm, c2s):
    the same create, subscribe, publish and notification."""
    node = pubsub_node(sandbox, flavor="stock")
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    run(alice, alice.ps.create_node(SERVICE, "stock"), "create")
    run(bob, bob.ps.subscribe(SERVICE, "stock"), "subscribe")
    got = published(bob, "stock")
    run(alice, alice.ps.publish(SERVICE, "stock", id="s1", payload=entry("via 2.7")),
        "publish")
    m = run(bob, got, "bob notified")
    assert m["pubsub_event"]["items"]["item"]["payload"].text == "via 2.7"


def test_pubsub_status_counters(sandbox, xmpp, sockdir):
    """jabberd-status asks the pubsub for its counters, as every daemon."""
    node = jabberd.Node(sandbox, number=1, flavor="ours").start()
    start_pubsub(sandbox, node, status_socket=sockdir / "pubsub.sock")
    conf = node.dir / "pubsub-1.xml"
    doc, before = tsc.counters(conf)
    assert doc["daemon"] == "pubsub"
    assert before[("jabberd_pubsub_nodes", ())] == 0
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    run(alice, alice.ps.create_node(SERVICE, "n"), "create")
    run(bob, bob.ps.subscribe(SERVICE, "n"), "subscribe")
    got = published(bob, "n")
    run(alice, alice.ps.publish(SERVICE, "n", id="a", payload=entry("a")), "publish")
    run(bob, got, "bob notified")
    _, after = tsc.counters(conf)
    assert after[("jabberd_pubsub_nodes", ())] == 1
    assert after[("jabberd_pubsub_items", ())] == 1
    assert after[("jabberd_pubsub_subscriptions", ())] == 1
    assert after[("jabberd_pubsub_published_total", ())] == 1
    assert after[("jabberd_pubsub_notifications_total", ())] == 1
    assert after[("jabberd_pubsub_router_link_up", ())] == 1
