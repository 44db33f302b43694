# SPDX-License-Identifier: GPL-2.0-or-later
"""A component bound on one node of a cluster, reachable from every node
(issue 13 "Federation and components from a cluster";
cluster-mod/cluster_names.c): our muc serving conference.localhost runs
behind n1's router only. n1's module announces the name; n2 and n3 bind it
for n1 and carry its routes there. A user on n2 joins a room and talks
with a user on n1 (both see each other's presence and messages); a user
on n3 asks the service's disco#info and gets the muc's answer. When the
muc stops, the other nodes let the name go: a disco#info from n3 gets an
error, not silence.

An XEP-0114 gateway (a slixmpp ComponentXMPP written here) binds
gw.localhost at n2's router with the jabber:component:accept handshake:
users on n1 and n3 get its disco#info and their messages answered; it
writes to a user on n1 (full and bare JID). Once it disconnects, a user
on n1 writing to it gets an error back, and so does an iq; when it
connects again at n3 instead, n1's users reach it there. And while the
news that it left is still on its way (n2 -> n1 slowed down), a message
n1 carries to n2 for it comes back as an error too (n2's sm answers).
"""

import signal
import time

import slixmpp
from slixmpp import JID
from slixmpp.exceptions import IqError, IqTimeout

import test_muc as tm

SERVICE = tm.SERVICE
ROOM = "fed-lounge@" + SERVICE
TIMEOUT = 15


def held(cluster, n, name=SERVICE, on="n1"):
    """Wait until node n's module has bound `name` for node `on`."""
    cluster[n].daemons["router"].wait_log(
        r"cluster: %s is on %s: bound here" % (name.replace(".", r"\."), on),
        timeout=TIMEOUT)


def muc_user(cluster, xmpp, n, name):
    """A fresh user logged in on node n, with test_muc's plugins (disco
    comes with xep_0045)."""
    return tm.user(xmpp, cluster[n], cluster.user(name)[0].split("@")[0])


def test_muc_on_one_node_serves_users_of_every_node(cluster3, xmpp):
    c = cluster3
    muc = tm.start_muc_for(c.sb, c[1].node, SERVICE)
    held(c, 2)
    held(c, 3)
    alice = muc_user(c, xmpp, 1, "alice")
    bob = muc_user(c, xmpp, 2, "bob")
    carol = muc_user(c, xmpp, 3, "carol")

    # carol, on n3, discovers the service running on n1
    info = tm.run(carol, carol.xmpp["xep_0030"].get_info(jid=SERVICE, timeout=10),
                  "carol's disco#info to %s from n3" % SERVICE)
    ids = info["disco_info"]["identities"]
    assert any(cat == "conference" for cat, _type, _lang, _name in ids), ids
    assert "http://jabber.org/protocol/muc" in info["disco_info"]["features"]

    # alice (n1) makes a room, bob (n2) joins: each sees the other
    tm.create(alice, "Alice", ROOM)
    seen = tm.presence_of(alice, "Bob", room=ROOM)
    pres, _subject, occupants, _history = tm.join(bob, "Bob", ROOM)
    assert 110 in pres["muc"]["status_codes"]
    assert [str(p["from"]) for p in occupants if p["from"] != JID(ROOM + "/Bob")] == \
        [ROOM + "/Alice"]
    p = tm.run(alice, seen, "alice (n1) sees bob (n2) join")
    assert p["muc"]["jid"] == bob.full_jid

    # they talk both ways
    got_a, got_b = tm.groupchat(alice, "from n2", ROOM), tm.groupchat(bob, "from n2", ROOM)
    tm.say(bob, "from n2", ROOM)
    assert tm.run(alice, got_a, "alice gets bob's message")["from"] == JID(ROOM + "/Bob")
    tm.run(bob, got_b, "bob gets his own message back through n1")
    got_a, got_b = tm.groupchat(alice, "from n1", ROOM), tm.groupchat(bob, "from n1", ROOM)
    tm.say(alice, "from n1", ROOM)
    assert tm.run(bob, got_b, "bob (n2) gets alice's message")["from"] == \
        JID(ROOM + "/Alice")
    tm.run(alice, got_a, "alice gets her own message")

    # what the operators see (jabberd-cluster status json)
    t1, t2 = c[1].status_json()["tables"], c[2].status_json()["tables"]
    assert (t1["names_announced"], t1["names_held"]) == (1, 0), t1
    assert (t2["names_announced"], t2["names_held"]) == (0, 1), t2
    # bob's join and message at least; n1 also got carol's disco#info from n3
    assert t2["component_out"] >= 2, t2
    assert t1["component_in"] >= t2["component_out"] + 1, (t1, t2)
    assert t2["component_bounced"] == 0

    # the muc stops: n3 lets the name go and carol gets an error, not silence
    assert muc.stop() == []
    c[3].daemons["router"].wait_log(
        r"cluster: %s: no peer announces it any more" % SERVICE.replace(".", r"\."),
        timeout=TIMEOUT)
    try:
        tm.run(carol, carol.xmpp["xep_0030"].get_info(jid=SERVICE, timeout=10),
               "carol's disco#info after the muc stopped")
        raise AssertionError("disco#info answered with no muc running")
    except IqError:
        pass
    except IqTimeout:
        raise AssertionError("disco#info after the muc stopped: no answer at all")


def test_component_node_killed_name_goes_and_comes_back(cluster3, xmpp):
    """The muc's node freezes (SIGSTOP of its router): a disco#info sent
    to the service meanwhile comes back as an error once the node is
    declared dead (the cluster hands it back), not silence. The node is
    then killed (kill -9): the other nodes have dropped its names with its
    sessions and unbound the service; a user gets an error for it. Once
    the node and a muc are back, the service answers again."""
    c = cluster3
    muc = tm.start_muc_for(c.sb, c[3].node, SERVICE)
    router = c[1].daemons["router"]
    router.wait_log(r"cluster: %s is on n3: bound here" % SERVICE.replace(".", r"\."),
                    timeout=TIMEOUT)
    dave = muc_user(c, xmpp, 1, "dave")
    disco = dave.xmpp["xep_0030"]
    tm.run(dave, disco.get_info(jid=SERVICE, timeout=10), "disco#info via n3")

    c[3].daemons["router"].proc.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    try:
        tm.run(dave, disco.get_info(jid=SERVICE, timeout=12), "disco#info, n3 frozen",
               timeout=15)
        raise AssertionError("disco#info answered with the muc's node frozen")
    except IqError as e:
        assert e.iq["error"]["type"] == "cancel"
    except IqTimeout:
        raise AssertionError("disco#info sent while the muc's node froze: no answer at all")
    assert time.monotonic() - t0 < 10

    c[3].kill()
    muc.proc.send_signal(signal.SIGKILL)     # it would retry its router
    muc.proc.wait(10)
    muc.stopped = True
    router.wait_log(r"cluster: %s: no peer announces it any more" % SERVICE.replace(".", r"\."),
                    timeout=TIMEOUT)
    try:
        tm.run(dave, disco.get_info(jid=SERVICE, timeout=10), "disco#info, n3 dead")
        raise AssertionError("disco#info answered with the muc's node dead")
    except IqError:
        pass
    except IqTimeout:
        raise AssertionError("disco#info with the muc's node dead: no answer at all")

    c[3].start()
    c.wait_linked()
    tm.start_muc_for(c.sb, c[3].node, SERVICE, n=2)
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            info = tm.run(dave, disco.get_info(jid=SERVICE, timeout=5), "disco#info again")
            break
        except (IqError, IqTimeout):
            assert time.monotonic() < deadline, "the service never came back"
            time.sleep(0.3)
    assert "http://jabber.org/protocol/muc" in info["disco_info"]["features"]


GW = "gw.localhost"


class Gateway:
    """An XEP-0114 component serving GW at node n's router: disco#info
    (identity gateway/smtp) and ping answered by slixmpp, each message
    answered with "gw got: BODY" and kept in `got`."""

    def __init__(self, cluster, xmpp, n):
        self.cloop = xmpp
        node = cluster[n].node
        # use_jc_ns: the router hands stanzas to XEP-0114 components in
        # jabber:client, as jabberd2's does; slixmpp ignores them otherwise
        x = slixmpp.ComponentXMPP(GW, cluster.component_secret, node.ip, node.router_port,
                                  use_jc_ns=True)
        x.register_plugin("xep_0030")
        x.register_plugin("xep_0199")
        x["xep_0030"].add_identity(category="gateway", itype="smtp", name="test gateway")
        self.got = []
        x.add_event_handler("message", self._message)
        fut = xmpp.loop.create_future()

        def done(result):
            if not fut.done():
                fut.set_result(result)
        x.add_event_handler("session_start", lambda _e: done(None))
        x.add_event_handler("stream_error", lambda e: done("stream error %s" % e["condition"]))
        x.add_event_handler("connection_failed", lambda e: done("connection failed: %s" % e))
        x.add_event_handler("disconnected", lambda e: done("disconnected: %s" % e))
        self.x = x
        x.connect()
        err = xmpp.run(fut, TIMEOUT, "%s: XEP-0114 handshake at n%d" % (GW, n))
        if err is not None:
            x.cancel_connection_attempt()
            raise AssertionError("%s at n%d: %s" % (GW, n, err))

    def _message(self, m):
        if m["type"] == "error":
            return
        self.got.append(m)
        self.x.send_message(mto=m["from"], mfrom=GW, mbody="gw got: " + m["body"],
                            mtype="chat")

    def send(self, to, body):
        self.x.send_message(mto=str(to), mfrom=GW, mbody=body, mtype="chat")

    def close(self):
        if self.x is not None:
            x, self.x = self.x, None
            self.cloop.run(x.disconnect(wait=2), TIMEOUT, "%s: disconnect" % GW)


def ask(client, what):
    """disco#info and ping of GW from `client`: (identities, ping) or the
    IqError / IqTimeout raised."""
    async def go():
        info = await client.xmpp["xep_0030"].get_info(jid=GW, timeout=10)
        await client.xmpp["xep_0199"].ping(jid=GW, timeout=10)
        return info["disco_info"]["identities"]
    return tm.run(client, go(), "%s: %s" % (client.jid, what))


def answered(client, body):
    client.send_message(GW, body)
    got = client.collect(1, 0.5, TIMEOUT)
    assert [(m["type"], m["from"], m["body"]) for m in got] == \
        [("chat", JID(GW), "gw got: " + body)]


def refused(client, what):
    """An iq and a message to GW both come back as errors: the
    conditions."""
    try:
        ask(client, what)
        raise AssertionError("%s: GW answered" % what)
    except IqTimeout:
        raise AssertionError("%s: no answer at all to an iq" % what)
    except IqError as e:
        iq_condition = e.iq["error"]["condition"]
    client.send_message(GW, what)
    got = client.collect(1, 0.5, TIMEOUT)
    assert [(m["type"], m["from"], m["body"]) for m in got] == [("error", JID(GW), what)]
    return iq_condition, got[0]["error"]["condition"]


def test_xep0114_gateway_on_one_node_serves_every_node(cluster3, xmpp):
    c = cluster3
    gw = Gateway(c, xmpp, 2)
    try:
        held(c, 1, GW, "n2")
        held(c, 3, GW, "n2")
        alice = c.new_user(xmpp, 1, "alice")
        carol = c.new_user(xmpp, 3, "carol")
        for u in (alice, carol):
            ids = ask(u, "disco#info and ping to the gateway on n2")
            assert ("gateway", "smtp", None, "test gateway") in ids, ids
            answered(u, "hello from %s" % u.jid)
        assert sorted(m["body"] for m in gw.got) == \
            sorted("hello from %s" % u.jid for u in (alice, carol))

        # the gateway writes to alice (n1): her full JID, then her bare JID
        gw.send(alice.full_jid, "to your full JID")
        gw.send(alice.jid, "to your bare JID")
        got = alice.collect(2, 1.0, TIMEOUT)
        assert sorted((m["from"], m["body"]) for m in got) == \
            [(JID(GW), "to your bare JID"), (JID(GW), "to your full JID")]
    finally:
        gw.close()

    # gone: an error back, never silence (right away, before every node
    # knows, and once they all do)
    conditions = {refused(alice, "right after the gateway left")}
    for n in (1, 3):
        c[n].daemons["router"].wait_log(
            r"cluster: %s: no peer announces it any more" % GW.replace(".", r"\."),
            timeout=TIMEOUT)
    conditions.add(refused(alice, "once the name is gone"))
    # the router has no route and no default route (no s2s here): 404,
    # which the sm turns into item-not-found, as jabberd2 2.7 does
    assert conditions == {("item-not-found", "item-not-found")}, conditions

    # back, at n3 this time: n1's users reach it there
    gw = Gateway(c, xmpp, 3)
    try:
        held(c, 1, GW, "n3")
        ids = ask(alice, "disco#info and ping to the gateway on n3")
        assert ("gateway", "smtp", None, "test gateway") in ids, ids
        answered(alice, "found you on n3")
        assert [m["body"] for m in gw.got] == ["found you on n3"]
    finally:
        gw.close()


def test_gateway_gone_while_its_withdrawal_travels(cluster3p, xmpp):
    """n2's news reach n1 a second late: the gateway has left n2, n1
    still holds its name and carries alice's message to n2, where no
    component has it. n2's sm answers alice with an error (it reaches
    her on n1 as any stanza does), not silence."""
    c = cluster3p
    gw = Gateway(c, xmpp, 2)
    try:
        held(c, 1, GW, "n2")
        alice = c.new_user(xmpp, 1, "alice")
        answered(alice, "before")
        c.mesh.delay_one_way(2, 1, 1.0)
        xmpp.pause(0.3)     # bytes already under way are not slowed
        n1 = c[1].daemons["router"]
        mark = n1.mark()
    finally:
        gw.close()
    alice.send_message(GW, "too late")
    got = alice.collect(1, 0.5, TIMEOUT)
    assert [(m["type"], m["from"], m["body"], m["error"]["condition"]) for m in got] == \
        [("error", JID(GW), "too late", "service-unavailable")]
    # it was n2 that answered: n1 still held the name when alice wrote
    c[2].daemons["router"].wait_log(
        r"cluster: route from n1 for %s: no local component has it any more: "
        r"bounced to sm-n2" % GW.replace(".", r"\."), timeout=1)
    n1.wait_log(r"cluster: %s: no peer announces it any more" % GW.replace(".", r"\."),
                since=mark, timeout=TIMEOUT)
