# SPDX-License-Identifier: GPL-2.0-or-later
"""The muc daemon (XEP-0045) behind our router, sm and c2s, driven by
slixmpp clients with its xep_0045 plugin: what each occupant sees when
others join, leave, talk, change nick, are kicked, banned or given voice;
members-only and password-protected rooms; history on join; the limits;
invitations, discovery and destruction; and persistent rooms surviving a
restart of the muc with their history (on the three storage drivers); our
muc under Debian's stock jabberd2, a prosody user joining a room of
ours over s2s and ours joining prosody's. Skipped when a daemon (or prosody) is not installed or
built (failed under JC_REQUIRE_DAEMONS=1).
"""


import datetime
import time

import pytest
from slixmpp import JID
from slixmpp.exceptions import IqError, PresenceError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from test_sm import wait_event as event
from lib import component, jabberd, prosody_server
from lib.component import run
from lib.s2s import S2S
from lib.xmpp import XmppError

SERVICE = "conference.localhost"
ROOM = "lounge@" + SERVICE


def start_muc(sandbox, node, storage=None, n=1, occupants=50, rooms_per_user=10,
              archive=0, edit=None):
    """Start our muc on `node`'s router, serving SERVICE, its rooms in
    node's sqlite database file muc.db or in `storage` (pgsql or mysql);
    history on join 20 messages, the archive `archive` (0: as many)."""
    return start_muc_for(sandbox, node, SERVICE, storage, n, occupants, rooms_per_user,
                         archive, edit)


def start_muc_for(sandbox, node, service, storage=None, n=1, occupants=50,
                  rooms_per_user=10, archive=0, edit=None):
    return component.start(sandbox, node, "muc", service, storage, node.dir / "muc.db",
                           r"ready for rooms", n, edit, OCCUPANTS=occupants,
                           ROOMS_PER_USER=rooms_per_user, ARCHIVE=archive)


def muc_node(sandbox, storage=None, flavor="ours", **kw):
    node = jabberd.Node(sandbox, number=1, flavor=flavor, storage=storage).start()
    start_muc(sandbox, node, storage, **kw)
    return node


def user(xmpp, node, name):
    c = component.user(xmpp, node, name, ("xep_0004", "xep_0045", "xep_0082"))
    c.muc = c.xmpp["xep_0045"]
    return c


def join(c, nick, room=ROOM, **kw):
    """Join; returns (own presence, subject, occupants, history)."""
    return run(c, c.muc.join_muc_wait(JID(room), nick, timeout=10, **kw),
               "%s joins %s" % (c.jid, room))


def join_error(c, nick, room=ROOM, **kw):
    """Join expecting a refusal; returns the error condition and text."""
    with pytest.raises(PresenceError) as e:
        join(c, nick, room, **kw)
    return e.value.presence["error"]["condition"], e.value.presence["error"]["text"]


def create(c, nick, room=ROOM, **fields):
    """Create a room (locked until configured: XEP-0045 10.1) and submit
    its configuration with `fields` (muc#roomconfig_ names without the
    prefix)."""
    pres = join(c, nick, room)[0]
    assert 201 in pres["muc"]["status_codes"]
    form = run(c, c.muc.get_room_config(JID(room)), "config form")
    for k, v in fields.items():
        name = k if k.startswith("muc#") else "muc#roomconfig_" + k
        form.field[name]["value"] = v
    run(c, c.muc.set_room_config(JID(room), form), "config submit")


def presence_of(client, nick, unavailable=False, room=ROOM):
    """A coroutine: the next MUC presence of `nick` seen by client."""
    def pred(p):
        return (p["from"] == JID("%s/%s" % (room, nick)) and
                (p["type"] == "unavailable") == unavailable)
    return event(client, "muc::%s::presence" % room, pred)


def groupchat(client, body, room=ROOM):
    return event(client, "muc::%s::message" % room, lambda m: m["body"] == body)


def say(client, body, room=ROOM):
    client.xmpp.send_message(mto=JID(room), mbody=body, mtype="groupchat")


def test_muc_join_talk_leave(sandbox, xmpp):
    node = muc_node(sandbox)
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    create(alice, "Alice")
    seen = presence_of(alice, "Bob")
    pres, subject, occupants, history = join(bob, "Bob")
    assert 110 in pres["muc"]["status_codes"]
    # slixmpp counts bob himself among those it saw come online
    others = [p for p in occupants if p["from"] != JID(ROOM + "/Bob")]
    assert [str(p["from"]) for p in others] == [ROOM + "/Alice"]
    assert subject["subject"] == ""
    p = run(alice, seen, "alice sees bob join")
    # alice is a moderator: she sees bob's real JID; bob does not see hers
    assert p["muc"]["jid"] == bob.full_jid
    assert others[0]["muc"]["jid"] == JID("")

    # messages reach every occupant, from the sender's room JID
    got_a, got_b = groupchat(alice, "hello all"), groupchat(bob, "hello all")
    say(bob, "hello all")
    m = run(alice, got_a, "alice gets the message")
    assert m["from"] == JID(ROOM + "/Bob")
    run(bob, got_b, "bob gets his own message")

    # the subject
    subj = event(bob, "muc::%s::groupchat_subject" % ROOM)
    alice.muc.set_subject(JID(ROOM), "Today: tests")
    assert run(bob, subj, "subject")["subject"] == "Today: tests"

    # a private message, addressed to the nick, arrives from bob's room JID
    bob.xmpp.send_message(mto=JID(ROOM + "/Alice"), mbody="psst", mtype="chat")
    m = alice.wait_message(body="psst")
    assert m["from"] == JID(ROOM + "/Bob")

    # bob leaves: alice sees him go
    gone = presence_of(alice, "Bob", unavailable=True)
    bob.muc.leave_muc(JID(ROOM), "Bob", "bye")
    assert run(alice, gone, "bob leaves")["status"] == "bye"


def test_muc_nick_change_and_conflict(sandbox, xmpp):
    node = muc_node(sandbox)
    alice, bob, carol = (user(xmpp, node, n) for n in ("alice", "bob", "carol"))
    create(alice, "Alice")
    join(bob, "Bob")
    cond, _ = join_error(carol, "Bob")
    assert cond == "conflict"
    # bob becomes Robert: alice sees Bob leave with 303, then Robert
    old = presence_of(alice, "Bob", unavailable=True)
    new = presence_of(alice, "Robert")
    bob.xmpp.send_presence(pto=JID(ROOM + "/Robert"))
    p = run(alice, old, "303")
    assert 303 in p["muc"]["status_codes"]
    assert p["muc"].get_item_attr("nick", "") == "Robert"
    run(alice, new, "new nick")
    # and now Bob is free for carol
    join(carol, "Bob")


def test_muc_kick_ban_voice(sandbox, xmpp):
    node = muc_node(sandbox)
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    create(alice, "Alice", moderatedroom=True)
    pres = join(bob, "Bob")[0]
    assert pres["muc"]["role"] == "visitor"
    # a visitor has no voice in a moderated room
    err = event(bob, "muc::%s::message_error" % ROOM)
    say(bob, "can I talk?")
    assert run(bob, err, "visitor refused")["error"]["condition"] == "forbidden"
    # bob asks for voice: the moderator gets the request form
    asked = event(alice, "message_xform", lambda m: m["from"] == JID(ROOM) and
                  m.xml.find("{jabber:x:data}x") is not None)
    bob.muc.request_voice(JID(ROOM), "participant")
    form = run(alice, asked, "voice request").xml.find("{jabber:x:data}x")
    fields = {f.get("var"): f.findtext("{jabber:x:data}value")
              for f in form.findall("{jabber:x:data}field")}
    assert fields["muc#roomnick"] == "Bob"
    # voice
    voiced = presence_of(bob, "Bob")
    run(alice, alice.muc.set_role(JID(ROOM), "Bob", "participant"), "voice")
    assert run(bob, voiced, "voiced")["muc"]["role"] == "participant"
    got = groupchat(alice, "thanks")
    say(bob, "thanks")
    run(alice, got, "bob speaks")
    # kick
    kicked = presence_of(bob, "Bob", unavailable=True)
    run(alice, alice.muc.set_role(JID(ROOM), "Bob", "none", reason="calm down"), "kick")
    p = run(bob, kicked, "kicked")
    assert 307 in p["muc"]["status_codes"]
    # ban
    join(bob, "Bob")
    banned = presence_of(bob, "Bob", unavailable=True)
    run(alice, alice.muc.set_affiliation(JID(ROOM), "outcast", jid=JID("bob@localhost")),
        "ban")
    assert 301 in run(bob, banned, "banned")["muc"]["status_codes"]
    cond, _ = join_error(bob, "Bob")
    assert cond == "forbidden"
    outcasts = run(alice, alice.muc.get_affiliation_list(JID(ROOM), "outcast"), "list")
    assert outcasts == [JID("bob@localhost")]
    # bob may not kick or ban
    with pytest.raises(IqError) as e:
        run(bob, bob.muc.set_role(JID(ROOM), "Alice", "none"), "bob kicks")
    assert e.value.iq["error"]["condition"] == "item-not-found" or \
        e.value.iq["error"]["condition"] == "forbidden"


def test_muc_members_only_and_password(sandbox, xmpp):
    node = muc_node(sandbox)
    alice, bob, carol = (user(xmpp, node, n) for n in ("alice", "bob", "carol"))
    create(alice, "Alice", membersonly=True)
    cond, text = join_error(bob, "Bob")
    assert cond == "registration-required"
    assert "members-only" in text
    run(alice, alice.muc.set_affiliation(JID(ROOM), "member", jid=JID("bob@localhost")),
        "member")
    join(bob, "Bob")

    room2 = "secret@" + SERVICE
    create(alice, "Alice", room2, passwordprotectedroom=True, roomsecret="s3cret")
    cond, _ = join_error(carol, "Carol", room2)
    assert cond == "not-authorized"
    cond, _ = join_error(carol, "Carol", room2, password="wrong")
    assert cond == "not-authorized"
    join(carol, "Carol", room2, password="s3cret")


def test_muc_history_on_join(sandbox, xmpp):
    node = muc_node(sandbox)
    alice, bob, carol = (user(xmpp, node, n) for n in ("alice", "bob", "carol"))
    create(alice, "Alice")
    last = groupchat(alice, "m4")
    for i in range(5):
        say(alice, "m%d" % i)
    run(alice, last, "messages sent")
    history = join(bob, "Bob", maxstanzas=2)[3]
    assert [m["body"] for m in history] == ["m3", "m4"]
    assert all(m["delay"]["from"] == JID(ROOM) for m in history)
    history = join(carol, "Carol", maxchars=0)[3]
    assert history == []
    dave, erin = user(xmpp, node, "dave"), user(xmpp, node, "erin")
    history = join(dave, "Dave", seconds=3600)[3]
    assert [m["body"] for m in history] == ["m%d" % i for i in range(5)]
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    assert join(erin, "Erin", since=future)[3] == []


def test_muc_limits(sandbox, xmpp):
    node = muc_node(sandbox, rooms_per_user=1, occupants=2)
    alice, bob, carol = (user(xmpp, node, n) for n in ("alice", "bob", "carol"))
    create(alice, "Alice")
    cond, text = join_error(alice, "Alice", "second@" + SERVICE)
    assert cond == "not-allowed"
    assert "rooms-per-user" in text
    join(bob, "Bob")
    cond, text = join_error(carol, "Carol")
    assert cond == "service-unavailable"
    assert "occupants" in text


def test_muc_invite_disco_destroy(sandbox, xmpp):
    node = muc_node(sandbox)
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    create(alice, "Alice", roomname="The Lounge", whois="anyone")
    # a mediated invitation arrives from the room, naming alice
    inv = event(bob, "groupchat_invite")
    alice.muc.invite(JID(ROOM), JID("bob@localhost"), reason="come")
    m = run(bob, inv, "invitation")
    assert m["from"] == JID(ROOM)
    assert m["muc"]["invite"]["from"] == alice.full_jid
    # disco: the service lists the room, the room tells its features
    items = run(bob, bob.xmpp["xep_0030"].get_items(jid=SERVICE), "items")
    assert (ROOM, None, "The Lounge") in items["disco_items"]["items"]
    info = run(bob, bob.xmpp["xep_0030"].get_info(jid=ROOM), "info")
    features = info["disco_info"]["features"]
    assert "http://jabber.org/protocol/muc" in features
    assert {"muc_public", "muc_temporary", "muc_open", "muc_nonanonymous"} <= set(features)
    # non-anonymous: bob gets 100 and sees alice's JID
    pres, _, occ, _ = join(bob, "Bob")
    assert 100 in pres["muc"]["status_codes"]
    assert [p["muc"]["jid"] for p in occ if p["from"] == JID(ROOM + "/Alice")] \
        == [alice.full_jid]
    # destroy with an alternate venue
    gone = presence_of(bob, "Bob", unavailable=True)
    run(alice, alice.muc.destroy(JID(ROOM), reason="moving",
                                 altroom=JID("new@" + SERVICE)), "destroy")
    p = run(bob, gone, "destroyed")
    assert p["muc"]["destroy"]["jid"] == JID("new@" + SERVICE)
    with pytest.raises(IqError) as e:
        run(bob, bob.xmpp["xep_0030"].get_info(jid=ROOM), "info after")
    assert e.value.iq["error"]["condition"] == "item-not-found"


def test_muc_persistent_room_survives_restart(sandbox, xmpp, sm_storage):
    node = muc_node(sandbox, sm_storage)
    alice, bob, carol = (user(xmpp, node, n) for n in ("alice", "bob", "carol"))
    create(alice, "Alice", persistentroom=True, membersonly=True, roomname="Kept")
    run(alice, alice.muc.set_affiliation(JID(ROOM), "member", jid=JID("bob@localhost")),
        "member")
    alice.muc.set_subject(JID(ROOM), "Kept subject")
    join(bob, "Bob")
    said = groupchat(bob, "said before the restart")
    say(alice, "said before the restart")
    run(bob, said, "message before the restart")
    sandbox.daemon("node1-muc-1").stop()
    start_muc(sandbox, node, sm_storage, n=2)
    log = node.log("muc-2").read_text()
    assert "1 persistent rooms loaded" in log
    # the room, its configuration, subject and affiliations are back
    info = run(carol, carol.xmpp["xep_0030"].get_info(jid=ROOM), "info")
    assert {"muc_persistent", "muc_membersonly"} <= set(info["disco_info"]["features"])
    cond, _ = join_error(carol, "Carol")
    assert cond == "registration-required"
    _, subject, _, history = join(bob, "Bob2")
    assert subject["subject"] == "Kept subject"
    # the history came back from storage: a rejoining user catches up
    assert [m["body"] for m in history] == ["said before the restart"]
    # ... and so does the room's archive (XEP-0313), ids kept
    bob.xmpp.register_plugin("xep_0313")
    fin = run(bob, bob.xmpp["xep_0313"].retrieve(jid=JID(ROOM)), "MAM query")
    found = [r["mam_result"]["forwarded"]["stanza"] for r in fin["mam"]["results"]]
    assert [m["body"] for m in found] == ["said before the restart"]
    sid = history[0].xml.find("{urn:xmpp:sid:0}stanza-id")
    assert fin["mam"]["results"][0]["mam_result"]["id"] == sid.get("id")
    assert run(alice, alice.muc.get_affiliation_list(JID(ROOM), "owner"),
               "owners") == [JID("alice@localhost")]


def history_rows(node, sm_storage):
    """Rows in "muc-history" (node's muc.db, or the sm_storage server)."""
    sql = 'SELECT COUNT(*) FROM "muc-history"'
    if sm_storage is None:
        import sqlite3
        with sqlite3.connect(node.dir / "muc.db") as db:
            return db.execute(sql).fetchone()[0]
    return int(sm_storage.query(sql)[0][0])


def test_muc_persistent_history_trimmed(sandbox, xmpp, sm_storage):
    """Storage keeps only the newest <limits><history> (20) messages of a
    persistent room: after 23 and a restart, a joining user gets the last
    20, in order (the trim's SQL differs on MySQL)."""
    node = muc_node(sandbox, sm_storage)
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    create(alice, "Alice", persistentroom=True)
    last = groupchat(alice, "m22")
    for i in range(23):
        say(alice, "m%d" % i)
    run(alice, last, "the last message back")
    sandbox.daemon("node1-muc-1").stop()
    assert history_rows(node, sm_storage) == 20
    start_muc(sandbox, node, sm_storage, n=2)
    _, _, _, history = join(bob, "Bob")
    assert [m["body"] for m in history] == ["m%d" % i for i in range(3, 23)]


def mam_page(client, after=None, max_=10):
    """One forward MAM page of ROOM: (bodies, ids, complete, last id)."""
    rsm = {"max": max_}
    if after is not None:
        rsm["after"] = after
    fin = run(client, client.xmpp["xep_0313"].retrieve(jid=JID(ROOM), rsm=rsm),
              "MAM page")
    results = fin["mam"]["results"]
    f = fin.xml.find("{urn:xmpp:mam:2}fin")
    last = f.find("{http://jabber.org/protocol/rsm}set/"
                  "{http://jabber.org/protocol/rsm}last")
    return ([r["mam_result"]["forwarded"]["stanza"]["body"] for r in results],
            [r["mam_result"]["id"] for r in results],
            f.get("complete") == "true", last.text if last is not None else None)


def test_muc_archive_beyond_history(sandbox, xmpp, sm_storage):
    """<limits><archive> 30 with <history> 20: storage keeps the newest 30
    messages of a persistent room, a join after a restart is sent 20, and
    MAM pages forward through all 30 with the ids the messages had when
    they were broadcast, the last page marked complete."""
    node = jabberd.Node(sandbox, number=1, storage=sm_storage).start()
    start_muc(sandbox, node, sm_storage, archive=30)
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    create(alice, "Alice", persistentroom=True)
    live = {}
    alice.xmpp.add_event_handler(
        "groupchat_message",
        lambda m: live.__setitem__(m["body"], m.xml.find(
            "{urn:xmpp:sid:0}stanza-id").get("id")))
    last = groupchat(alice, "m34")
    for i in range(35):
        say(alice, "m%d" % i)
    run(alice, last, "the last message back")
    sandbox.daemon("node1-muc-1").stop()
    assert history_rows(node, sm_storage) == 30
    start_muc(sandbox, node, sm_storage, n=2, archive=30)
    _, _, _, history = join(bob, "Bob")
    assert [m["body"] for m in history] == ["m%d" % i for i in range(15, 35)]
    bob.xmpp.register_plugin("xep_0313")
    seen, after = [], None
    for page in range(3):
        bodies, ids, complete, after = mam_page(bob, after)
        assert bodies == ["m%d" % i for i in range(5 + 10 * page, 15 + 10 * page)]
        assert ids == [live[b] for b in bodies]     # stable across the restart
        assert complete == (page == 2)
        seen += bodies
    assert len(set(seen)) == 30


def mam_raw(client, fields=(), rsm=None, flip=False):
    """A MAM query of ROOM built by hand, for what slixmpp's retrieve()
    cannot send (the urn:xmpp:mam:2#extended fields, several ids,
    flip-page): `fields` is [(var, [values])]. Returns (bodies in the
    order the archive sent them, their archive ids, the <fin/>); raises
    IqError on a refusal."""
    import xml.etree.ElementTree as ET
    iq = client.xmpp.make_iq_set(ito=JID(ROOM))
    qid = iq["id"]
    q = ET.SubElement(iq.xml, "{urn:xmpp:mam:2}query", queryid=qid)
    x = ET.SubElement(q, "{jabber:x:data}x", type="submit")
    for var, values in [("FORM_TYPE", ["urn:xmpp:mam:2"])] + list(fields):
        f = ET.SubElement(x, "{jabber:x:data}field", var=var)
        for v in values:
            ET.SubElement(f, "{jabber:x:data}value").text = v
    if flip:
        ET.SubElement(q, "{urn:xmpp:mam:2}flip-page")
    if rsm:
        st = ET.SubElement(q, "{http://jabber.org/protocol/rsm}set")
        for k, v in rsm.items():
            ET.SubElement(st, "{http://jabber.org/protocol/rsm}" + k).text = str(v)
    got = []

    def collect(m):
        r = m.xml.find("{urn:xmpp:mam:2}result")
        if r is not None and r.get("queryid") == qid:
            body = r.find("{urn:xmpp:forward:0}forwarded/{jabber:client}message/"
                          "{jabber:client}body")
            got.append((body.text, r.get("id")))
    # (slixmpp's "message" event is only for messages with a body)
    client.xmpp.register_handler(Callback(
        "mam-" + qid, MatchXPath("{jabber:client}message/{urn:xmpp:mam:2}result"), collect))
    try:
        res = run(client, iq.send(timeout=10), "MAM query")
    finally:
        client.xmpp.remove_handler("mam-" + qid)
    return ([b for b, _ in got], [i for _, i in got],
            res.xml.find("{urn:xmpp:mam:2}fin"))


def test_muc_archive_queries(sandbox, xmpp, sm_storage):
    """XEP-0313 on a persistent room's archive after a restart of the muc
    (so from storage): `with` an occupant JID, start, RSM paging, the
    #extended after-id / before-id / ids, flip-page, the query form and
    the refusals a client gets (unknown id, max over 100)."""
    node = muc_node(sandbox, sm_storage)
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    create(alice, "Alice", persistentroom=True)
    join(bob, "Bob")
    live = {}
    alice.xmpp.add_event_handler(
        "groupchat_message",
        lambda m: live.__setitem__(m["body"], m.xml.find(
            "{urn:xmpp:sid:0}stanza-id").get("id")))
    for i, (c, body) in enumerate([(alice, "a0"), (bob, "b1"), (alice, "a2"),
                                   (bob, "b3"), (alice, "a4")]):
        if i == 3:
            time.sleep(1.1)     # b3 and a4 in a later second than the rest
        back = groupchat(alice, body)
        say(c, body)
        run(alice, back, body)
    sandbox.daemon("node1-muc-1").stop()
    start_muc(sandbox, node, sm_storage, n=2)
    carol = user(xmpp, node, "carol")
    carol.xmpp.register_plugin("xep_0313")
    mam = carol.xmpp["xep_0313"]
    info = run(carol, carol.xmpp["xep_0030"].get_info(jid=ROOM), "info")
    assert "urn:xmpp:mam:2#extended" in info["disco_info"]["features"]
    form = run(carol, mam.get_fields(jid=JID(ROOM)), "query form")
    assert {"with", "start", "end", "after-id", "before-id", "ids"} <= set(form.get_fields())

    def bodies(fin):
        return [r["mam_result"]["forwarded"]["stanza"]["body"] for r in fin["mam"]["results"]]
    # with: what Bob said, with the ids the messages had when broadcast
    fin = run(carol, mam.retrieve(jid=JID(ROOM), with_jid=JID(ROOM + "/Bob")), "with")
    assert bodies(fin) == ["b1", "b3"]
    assert [r["mam_result"]["id"] for r in fin["mam"]["results"]] == [live["b1"], live["b3"]]
    # start: from b3's second on
    fin = run(carol, mam.retrieve(jid=JID(ROOM), with_jid=JID(ROOM + "/Bob")), "b3 stamp")
    stamp = fin["mam"]["results"][1]["mam_result"]["forwarded"]["delay"]["stamp"]
    fin = run(carol, mam.retrieve(jid=JID(ROOM), start=stamp), "start")
    assert bodies(fin) == ["b3", "a4"]
    # after-id / before-id bound the query; RSM pages within it
    got, _, f = mam_raw(carol, [("after-id", [live["a0"]]), ("before-id", [live["a4"]])],
                        rsm={"max": 2})
    assert got == ["b1", "a2"] and f.get("complete") != "true"
    got, _, f = mam_raw(carol, [("after-id", [live["a0"]]), ("before-id", [live["a4"]])],
                        rsm={"max": 2, "after": live["a2"]})
    assert got == ["b3"] and f.get("complete") == "true"
    # ids: exactly those messages
    got, ids, _ = mam_raw(carol, [("ids", [live["a4"], live["b1"]])])
    assert got == ["b1", "a4"] and ids == [live["b1"], live["a4"]]
    # flip-page: the last page, newest first
    got, _, f = mam_raw(carol, rsm={"max": 3, "before": ""}, flip=True)
    assert got == ["a4", "b3", "a2"]
    # refusals
    for fields, rsm, want in [([("ids", [live["a0"], "no-such-id"])], None, "item-not-found"),
                              ([("after-id", ["no-such-id"])], None, "item-not-found"),
                              ([], {"max": 1000}, "policy-violation")]:
        with pytest.raises(IqError) as e:
            mam_raw(carol, fields, rsm)
        # (slixmpp does not know policy-violation: read the XML)
        err = e.value.iq.xml.find("{jabber:client}error")
        assert err.find("{urn:ietf:params:xml:ns:xmpp-stanzas}" + want) is not None


def register_nick(client, nick=None, remove=False):
    """jabber:iq:register with ROOM (XEP-0045 7.10): without a nick, the
    form (the result's <query/>); with one, submit it. Raises IqError on
    a refusal."""
    import xml.etree.ElementTree as ET
    if nick is None and not remove:
        iq = client.xmpp.make_iq_get(ito=JID(ROOM))
    else:
        iq = client.xmpp.make_iq_set(ito=JID(ROOM))
    q = ET.SubElement(iq.xml, "{jabber:iq:register}query")
    if remove:
        ET.SubElement(q, "{jabber:iq:register}remove")
    elif nick is not None:
        x = ET.SubElement(q, "{jabber:x:data}x", type="submit")
        for var, v in [("FORM_TYPE", "http://jabber.org/protocol/muc#register"),
                       ("muc#register_roomnick", nick)]:
            f = ET.SubElement(x, "{jabber:x:data}field", var=var)
            ET.SubElement(f, "{jabber:x:data}value").text = v
    res = run(client, iq.send(timeout=10), "register with the room")
    return res.xml.find("{jabber:iq:register}query")


def reserved_nick(client):
    """The nick the room says `client` registered (disco#info node
    x-roomuser-item, XEP-0045 7.12), or None."""
    info = run(client, client.xmpp["xep_0030"].get_info(jid=ROOM, node="x-roomuser-item"),
               "x-roomuser-item")
    ids = list(info["disco_info"]["identities"])    # (category, type, lang, name)
    return ids[0][3] if ids else None


def test_muc_registered_nick(sandbox, xmpp, sm_storage):
    """A user registers a nick with a persistent room: the room names it
    (x-roomuser-item), keeps it across a restart (each driver), refuses
    it to others on join (conflict) and lets its owner in with it as a
    member; a members-only room refuses registration until its owner
    opens it (x-muc#roomconfig_registration); a removed registration
    frees the nick."""
    node = muc_node(sandbox, sm_storage)
    alice, bob, carol, dave = (user(xmpp, node, n) for n in ("alice", "bob", "carol", "dave"))
    create(alice, "Alice", persistentroom=True)
    q = register_nick(carol)
    assert q.find("{jabber:x:data}x/{jabber:x:data}field[@var='muc#register_roomnick']") \
        is not None
    assert reserved_nick(carol) is None
    register_nick(carol, "Caro")
    assert reserved_nick(carol) == "Caro"
    assert register_nick(carol).find("{jabber:iq:register}registered") is not None
    sandbox.daemon("node1-muc-1").stop()
    start_muc(sandbox, node, sm_storage, n=2)
    assert reserved_nick(carol) == "Caro"
    cond, text = join_error(bob, "Caro")
    assert cond == "conflict" and "registered" in text
    with pytest.raises(IqError) as e:
        register_nick(bob, "Caro")
    assert e.value.iq["error"]["condition"] == "conflict"
    pres = join(carol, "Caro")[0]
    assert pres["muc"]["affiliation"] == "member"
    assert JID("carol@localhost") in run(
        alice, alice.muc.get_affiliation_list(JID(ROOM), "member"), "members")
    # members-only: closed to registration, then opened by the owner
    form = run(alice, alice.muc.get_room_config(JID(ROOM)), "config form")
    form.field["muc#roomconfig_membersonly"]["value"] = True
    run(alice, alice.muc.set_room_config(JID(ROOM), form), "members-only")
    with pytest.raises(IqError) as e:
        register_nick(dave, "Dave")
    assert e.value.iq["error"]["condition"] == "not-allowed"
    form = run(alice, alice.muc.get_room_config(JID(ROOM)), "config form")
    assert "x-muc#roomconfig_registration" in form.field
    form.field["x-muc#roomconfig_registration"]["value"] = True
    run(alice, alice.muc.set_room_config(JID(ROOM), form), "registration open")
    register_nick(dave, "Dave")
    assert join(dave, "Dave")[0]["muc"]["affiliation"] == "member"
    # carol leaves and drops her registration: bob may take the nick
    # (bob is not a member: alice opened registration, bob registers)
    carol.muc.leave_muc(JID(ROOM), "Caro")
    register_nick(carol, remove=True)
    assert reserved_nick(carol) is None
    register_nick(bob, "Caro")
    assert join(bob, "Caro")[0]["muc"]["affiliation"] == "member"


def test_muc_session_end_leaves_and_direct_invite(sandbox, xmpp):
    node = muc_node(sandbox)
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    create(alice, "Alice")
    # a direct invitation (XEP-0249) goes from user to user, naming the room
    bob.xmpp.register_plugin("xep_0249")
    inv = event(bob, "groupchat_direct_invite")
    alice.xmpp.register_plugin("xep_0249")
    alice.xmpp["xep_0249"].send_invitation(bob.full_jid, JID(ROOM), reason="come")
    assert run(bob, inv, "direct invitation")["groupchat_invite"]["jid"] == JID(ROOM)
    join(bob, "Bob")
    # bob's session ends without leaving: his sm tells the room, alice
    # sees him go
    gone = presence_of(alice, "Bob", unavailable=True)
    bob.disconnect()
    run(alice, gone, "bob's session ended")
    # the nick is free again
    carol = user(xmpp, node, "carol")
    join(carol, "Bob")


@pytest.mark.stock
def test_muc_with_stock_jabberd2(sandbox, xmpp):
    """Our muc as a component of Debian's stock jabberd2 2.7 (router, sm
    and c2s): rooms work the same."""
    node = muc_node(sandbox, flavor="stock")
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    create(alice, "Alice")
    seen = presence_of(alice, "Bob")
    join(bob, "Bob")
    run(alice, seen, "alice sees bob join")
    got = groupchat(alice, "over stock jabberd2")
    say(bob, "over stock jabberd2")
    assert run(alice, got, "message")["from"] == JID(ROOM + "/Bob")
    gone = presence_of(alice, "Bob", unavailable=True)
    bob.disconnect()
    run(alice, gone, "bob's session ended")


def test_muc_two_devices_one_nick(sandbox, xmpp):
    node = muc_node(sandbox)
    alice, bob = user(xmpp, node, "alice"), user(xmpp, node, "bob")
    phone = xmpp.client("alice@localhost", "alice-pw", node.c2s_address)
    phone.login()
    phone.xmpp.register_plugin("xep_0045")
    phone.muc = phone.xmpp["xep_0045"]
    create(alice, "Alice")
    join(bob, "Bob")
    # alice's second device joins with her nick: no conflict, and bob
    # sees no one new
    quiet = presence_of(bob, "Alice")
    pres = join(phone, "Alice")[0]
    assert 110 in pres["muc"]["status_codes"]
    with pytest.raises(XmppError, match="timed out"):
        run(bob, quiet, "no new presence for bob", timeout=1.5)
    # both devices get the room's messages
    got1, got2 = groupchat(alice, "to both"), groupchat(phone, "to both")
    say(bob, "to both")
    run(alice, got1, "desk")
    run(phone, got2, "phone")


def federate_with_prosody(sandbox, xmpp, service):
    """a.test: stock jabberd2 with our s2s and our muc serving `service`;
    p.test: prosody with a muc component rooms.p.test. Each finds the
    other's domains at its s2s listener (prosody through the test-only
    static resolver, given our room domain as its config is rendered).
    Returns our s2s and a logged-in user on each side."""
    # Skip before anything starts: prosody stopped right after its start
    # dies on SIGTERM, which the sandbox reports.
    jabberd.our_binary_or_skip("s2s")
    jabberd.our_binary_or_skip("muc")
    a = jabberd.Node(sandbox, number=1, flavor="stock", domain="a.test").start()
    sa = S2S(a)
    render = sandbox.render

    def render_with_service(template, dest, **variables):
        path = render(template, dest, **variables)
        if str(template).startswith("prosody/"):
            text = path.read_text().replace(
                'jc_static_s2s = { ["a.test"]',
                'jc_static_s2s = { ["%s"] = { "%s", %d }, ["a.test"]'
                % (service, a.ip, sa.port))
            path.write_text(text + '\nComponent "rooms.p.test" "muc"\n')
        return path
    sandbox.render = render_with_service
    try:
        p_c2s, p_s2s, pdom = prosody_server.start(sandbox, sa)
    finally:
        sandbox.render = render
    assert service in (sandbox.path("prosody") / "prosody.cfg.lua").read_text()
    sa.host(pdom, p_s2s[0], p_s2s[1])
    sa.host("rooms.p.test", p_s2s[0], p_s2s[1])
    sa.start()
    start_muc_for(sandbox, a, service)
    alice = xmpp.client("alice@a.test", "alice-pw", a.c2s_address)
    carol = xmpp.client("carol@p.test", "carol-pw", p_c2s)
    for c in (alice, carol):
        c.register()
        c.login()
        c.xmpp.register_plugin("xep_0004")
        c.xmpp.register_plugin("xep_0045")
        c.xmpp.register_plugin("xep_0082")
        c.muc = c.xmpp["xep_0045"]
    return sa, alice, carol


def talk_across(owner, owner_nick, guest, guest_nick, room):
    """owner creates `room` (locked until configured, on both servers),
    guest joins it from the other server; each sees the other and gets
    the other's message."""
    create(owner, owner_nick, room)
    seen = presence_of(owner, guest_nick, room=room)
    pres = run(guest, guest.muc.join_muc_wait(JID(room), guest_nick, timeout=30),
               "%s joins %s" % (guest.jid, room), timeout=40)[0]
    assert 110 in pres["muc"]["status_codes"]
    run(owner, seen, "the owner sees the guest")
    got = groupchat(owner, "hello from the guest", room)
    say(guest, "hello from the guest", room)
    assert run(owner, got, "guest's message")["from"] == JID("%s/%s" % (room, guest_nick))
    got = groupchat(guest, "hello from the owner", room)
    say(owner, "hello from the owner", room)
    run(guest, got, "owner's message", timeout=30)


@pytest.mark.stock
def test_muc_prosody_user_joins_over_s2s(sandbox, xmpp):
    """Interop: a user of Debian's prosody (p.test) joins a room of ours
    (conference.a.test, behind a stock jabberd2 node with our s2s) and
    talks with a local user."""
    service = "conference.a.test"
    room = "lounge@" + service
    sa, alice, carol = federate_with_prosody(sandbox, xmpp, service)
    talk_across(alice, "Alice", carol, "Carol", room)
    # both directions went through federation, the room's domain
    # authenticated by dialback
    log = sa.log_text()
    assert "incoming p.test -> conference.a.test valid (dialback)" in log
    assert "conference.a.test -> p.test valid (dialback)" in log


@pytest.mark.stock
def test_muc_our_user_joins_prosody_room(sandbox, xmpp):
    """Interop the other way: our user joins a room of prosody's muc
    component and talks with its user."""
    sa, alice, carol = federate_with_prosody(sandbox, xmpp, "conference.a.test")
    room = "hall@rooms.p.test"
    talk_across(carol, "Carol", alice, "Alice", room)
