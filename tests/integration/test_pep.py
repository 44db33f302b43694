# SPDX-License-Identifier: GPL-2.0-or-later
"""PEP (XEP-0163) in our sm, on the pubsub engine, driven by slixmpp
clients (xep_0163, xep_0084, xep_0048/xep_0223, xep_0060, xep_0115)
behind our router and c2s, on each storage driver (sm_storage): avatars
(XEP-0084) notified to a contact whose caps say +notify and not to one
whose caps do not, the last item on becoming available; bookmarks
(XEP-0402: whitelist, several items, max_items) and the XEP-0048 node a
legacy client reads; an OMEMO device list published with
publish-options and a precondition conflict refused; everything still
there after the sm restarts. pep is listed in in-sess, pkt-user,
in-router and user-delete, as sm/README.md "mod_pep" says.
"""

from slixmpp.plugins.xep_0048.stanza import Bookmarks
from slixmpp.xmlstream import ET

from lib import jabberd
from test_pubsub import iq_error
from test_sm import run, subscribe, wait_event

AVATAR_META = "urn:xmpp:avatar:metadata"
BOOKMARKS2 = "urn:xmpp:bookmarks:1"
OMEMO = "eu.siacs.conversations.axolotl.devicelist"


def pep_node(sandbox, storage):
    """Our sm with pep in the chains that need it."""
    node = jabberd.Node(sandbox, number=1, flavor="ours", storage=storage)
    conf = node.config("sm")
    text = conf.read_text()
    text = text.replace("<module>deliver</module>", "<module>pep</module><module>deliver</module>")
    text = text.replace("<chain id='in-router'>\n      <module>session</module>",
                        "<chain id='in-router'>\n      <module>session</module>"
                        "<module>pep</module>", 1)
    assert text.count("<module>pep</module>") == 3
    conf.write_text(text)
    return node.start()


def restart_sm(sandbox, node):
    """Stop c2s and the sm, start them again (c2s after the sm)."""
    assert not node.daemons["c2s"].stop()
    assert not node.daemons["sm"].stop()
    jabberd.start_our_sm_again(sandbox, node, 2)
    node.daemons["c2s"] = sandbox.start(
        "node1-c2s-2", [jabberd.our_binary_or_skip("c2s"), "-c", node.config("c2s")],
        logs=[node.log("c2s")], ready_port=node.c2s_address)


def user(xmpp, node, name, interests=(), caps=True, register=True, resource="r",
         plugins=()):
    """A logged-in client with the PEP plugins and `plugins` (xep_0084
    adds avatar metadata+notify to its caps, xep_0048 storage:bookmarks)
    whose caps list NS+notify for each of `interests` (no caps at all
    without caps), its initial presence sent once its caps are computed."""
    c = xmpp.client("%s@localhost/%s" % (name, resource), name + "-pw", node.c2s_address)
    if register:
        c.register()
    c.login(presence=False)
    x = c.xmpp
    for p in ("xep_0004", "xep_0060", "xep_0115", "xep_0163", "xep_0223") + tuple(plugins):
        x.register_plugin(p)
    x.auto_authorize = None
    x.auto_subscribe = False
    x["xep_0115"].broadcast = caps
    for ns in interests:
        x["xep_0030"].add_feature(ns + "+notify")

    async def go():
        await x["xep_0115"].update_caps(broadcast=False)
        x.send_presence()
        await x.get_roster()
    run(c, go(), "%s: caps and presence" % name)
    c.ps = x["xep_0060"]
    return c


def both_ways(a, b):
    """b subscribes to a, then a to b: a's sm then gets b's presence
    (and caps) with b already allowed to see a's presence nodes."""
    subscribe(b, a, b.jid.bare, a.jid.bare)
    subscribe(a, b, a.jid.bare, b.jid.bare)


def events(client, node):
    """Notifications of `node` the client receives (items published)."""
    seen = []
    client.xmpp.add_event_handler(
        "pubsub_publish",
        lambda m: seen.append(m) if m["pubsub_event"]["items"]["node"] == node else None)
    return seen


def ping(client):
    run(client, client.xmpp["xep_0199"].send_ping("localhost"), "ping")


def settle(*clients):
    """Let stanzas in flight arrive: a ping round trip on each client,
    twice (a caps query, its answer, a notification)."""
    for _ in range(2):
        for c in clients:
            ping(c)


def publish_options(c, **fields):
    form = c.xmpp["xep_0004"].make_form(ftype="submit")
    form.add_field(var="FORM_TYPE", ftype="hidden",
                   value="http://jabber.org/protocol/pubsub#publish-options")
    for k, v in fields.items():
        form.add_field(var="pubsub#" + k, value=v)
    return form


def elem(ns, tag, text=None, **attrs):
    e = ET.Element("{%s}%s" % (ns, tag), **attrs)
    if text is not None:
        e.text = text
    return e


def test_pep_avatar_by_caps(sandbox, xmpp, sm_storage):
    node = pep_node(sandbox, sm_storage)
    avatars = ("xep_0084",)
    alice = user(xmpp, node, "alice", plugins=avatars)
    bob = user(xmpp, node, "bob", plugins=avatars)              # avatar metadata+notify
    carol = user(xmpp, node, "carol", interests=["urn:xmpp:other"])  # caps, not avatars
    dave = user(xmpp, node, "dave", caps=False, plugins=avatars)  # no caps at all
    # alice publishes her avatar before she sees anyone's presence
    data = b"\x89PNG fake image bytes"
    av = alice.xmpp["xep_0084"]
    run(alice, av.publish_avatar(data), "publish avatar data")
    ident = av.generate_id(data)
    run(alice, av.publish_avatar_metadata([{"id": ident, "type": "image/png",
                                            "bytes": len(data)}]), "publish metadata")
    # subscriptions both ways: alice's sm gets each contact's presence and
    # caps; bob's caps ask for the metadata, so he gets the last item
    got = wait_event(bob, "avatar_metadata_publish")
    seen = {c: events(c, AVATAR_META) for c in (carol, dave)}
    for c in (bob, carol, dave):
        both_ways(alice, c)
    m = run(bob, got, "bob gets the last avatar metadata on becoming available")
    assert m["from"].bare == "alice@localhost"
    assert m["pubsub_event"]["items"]["item"]["id"] == ident
    # a new avatar: bob notified, carol (no +notify) and dave (no caps) not
    seen[bob] = events(bob, AVATAR_META)
    data2 = b"\x89PNG another image"
    ident2 = av.generate_id(data2)
    run(alice, av.publish_avatar(data2), "publish avatar data 2")
    run(alice, av.publish_avatar_metadata([{"id": ident2, "type": "image/png",
                                            "bytes": len(data2)}]), "publish metadata 2")
    settle(alice, bob, carol, dave)
    assert [e["pubsub_event"]["items"]["item"]["id"] for e in seen[bob]] == [ident2]
    assert seen[carol] == [] and seen[dave] == []
    # the data node is read by id, by anyone with a presence subscription
    for c in (bob, dave):
        r = run(c, c.xmpp["xep_0084"].retrieve_avatar("alice@localhost", ident2), "get data")
        assert r["pubsub"]["items"]["item"]["avatar_data"]["value"] == data2
    # a stranger without a subscription is refused
    eve = user(xmpp, node, "eve", plugins=avatars)
    cond, app, _ = iq_error(eve, eve.xmpp["xep_0084"].retrieve_avatar("alice@localhost", ident2),
                            "eve reads alice's avatar")
    assert (cond, app) == ("not-authorized", "presence-subscription-required")


def test_pep_bookmarks_omemo_and_restart(sandbox, xmpp, sm_storage):
    node = pep_node(sandbox, sm_storage)
    alice = user(xmpp, node, "alice", plugins=("xep_0048",))
    bob = user(xmpp, node, "bob", interests=[BOOKMARKS2, OMEMO])
    both_ways(alice, bob)
    # bookmarks 2: one item per room, whitelist, max_items max
    opts = publish_options(alice, persist_items="true", access_model="whitelist",
                           max_items="max", send_last_published_item="never")
    rooms = ["a@conference.localhost", "b@conference.localhost", "c@conference.localhost"]
    for r in rooms:
        conf = elem(BOOKMARKS2, "conference", name=r.split("@")[0], autojoin="true")
        conf.append(elem(BOOKMARKS2, "nick", "Al"))
        run(alice, alice.ps.publish("alice@localhost", BOOKMARKS2, id=r, payload=conf,
                                    options=opts), "bookmark " + r)
    got = run(alice, alice.ps.get_items("alice@localhost", BOOKMARKS2), "bookmarks")
    assert sorted(i["id"] for i in got["pubsub"]["items"]) == rooms
    got = run(alice, alice.ps.get_items("alice@localhost", BOOKMARKS2, max_items=1),
              "newest bookmark")
    assert [i["id"] for i in got["pubsub"]["items"]] == [rooms[-1]]
    # private: bob (a contact, +notify) neither reads nor is notified
    cond, app, _ = iq_error(bob, bob.ps.get_items("alice@localhost", BOOKMARKS2),
                            "bob reads alice's bookmarks")
    assert (cond, app) == ("not-allowed", "closed-node")
    # retract one: gone
    run(alice, alice.ps.retract("alice@localhost", BOOKMARKS2, rooms[0]), "retract")
    got = run(alice, alice.ps.get_items("alice@localhost", BOOKMARKS2), "bookmarks 2")
    assert sorted(i["id"] for i in got["pubsub"]["items"]) == rooms[1:]

    # XEP-0048 through PEP (XEP-0223), as a legacy client does
    legacy = Bookmarks()
    legacy.add_conference("old@conference.localhost", "Al", name="Old", autojoin=True)
    run(alice, alice.xmpp["xep_0048"].set_bookmarks(legacy, method="xep_0223"), "store 0048")
    r = run(alice, alice.xmpp["xep_0048"].get_bookmarks(method="xep_0223"), "read 0048")
    confs = r["pubsub"]["items"]["item"]["bookmarks"]["conferences"]
    assert [str(c["jid"]) for c in confs] == ["old@conference.localhost"]

    # OMEMO device list: open, max_items max, accepted twice; a different
    # precondition refused and nothing published
    omemo_opts = publish_options(alice, access_model="open", max_items="max")
    seen = events(bob, OMEMO)
    for dev in ("1001", "1002"):
        lst = elem("eu.siacs.conversations.axolotl", "list")
        lst.append(elem("eu.siacs.conversations.axolotl", "device", id=dev))
        run(alice, alice.ps.publish("alice@localhost", OMEMO, id="current", payload=lst,
                                    options=omemo_opts), "device list " + dev)
    lst = elem("eu.siacs.conversations.axolotl", "list")
    lst.append(elem("eu.siacs.conversations.axolotl", "device", id="666"))
    cond, app, text = iq_error(
        alice, alice.ps.publish("alice@localhost", OMEMO, id="current", payload=lst,
                                options=publish_options(alice, access_model="presence")),
        "publish with another access model")
    assert (cond, app) == ("conflict", "precondition-not-met")
    assert "pubsub#access_model" in text
    settle(alice, bob)
    assert len(seen) == 2
    stranger = user(xmpp, node, "stranger")      # open: anyone reads it
    got = run(stranger, stranger.ps.get_items("alice@localhost", OMEMO), "device list")
    devs = [d.get("id") for d in got["pubsub"]["items"]["item"].xml.iter(
        "{eu.siacs.conversations.axolotl}device")]
    assert devs == ["1002"]

    # the sm restarts: nodes, items and configuration are still there
    for c in (alice, bob, stranger):
        c.disconnect()
    restart_sm(sandbox, node)
    alice = user(xmpp, node, "alice", register=False, resource="again", plugins=("xep_0048",))
    stranger = user(xmpp, node, "stranger", register=False, resource="again")
    got = run(alice, alice.ps.get_items("alice@localhost", BOOKMARKS2), "bookmarks after")
    assert sorted(i["id"] for i in got["pubsub"]["items"]) == rooms[1:]
    cond, app, _ = iq_error(stranger, stranger.ps.get_items("alice@localhost", BOOKMARKS2),
                            "still private")
    assert app == "closed-node"
    got = run(stranger, stranger.ps.get_items("alice@localhost", OMEMO), "device list after")
    devs = [d.get("id") for d in got["pubsub"]["items"]["item"].xml.iter(
        "{eu.siacs.conversations.axolotl}device")]
    assert devs == ["1002"]
    # the same publish-options still match after the restart
    run(alice, alice.ps.publish("alice@localhost", OMEMO, id="current", payload=lst,
                                options=publish_options(alice, access_model="open",
                                                        max_items="max")), "after restart")
