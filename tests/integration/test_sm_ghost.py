# SPDX-License-Identifier: GPL-2.0-or-later
"""No ghost sessions: our router, sm and c2s, restarted under a connected
client, with a contact on another domain (a component of the test bound as
other.test, standing in for a server behind s2s) that keeps its link and
counts what it gets.

- Router restart: c2s drops its clients; the sm ends their sessions too
  (it used to keep them, so a message sent to the user then vanished into
  the old session and the user looked available to contacts). The
  contact gets alice's unavailable presence exactly once, after the
  router is back; a probe is answered unavailable; messages sent then are
  stored offline and delivered, in order, when alice logs in again.
- sm restart: the sm ends its sessions before leaving (the contact gets
  the unavailable presence exactly once), c2s closes alice's stream with
  <reset/>; messages sent while the sm is away come back to their sender
  as errors, those sent after it is back are stored and delivered, in
  order, at the next login. Every message is delivered or returned, none
  lost.
"""

import re
import socket
import threading
import time
import xml.etree.ElementTree as ET

from lib import jabberd, paths
from test_c2s_sm import SM, Raw, attr, client, login, register, send, sm_node, wait_c2s
from test_c2s import wait_until
from test_router import COMP, Closed, Component, q
from test_sm import run, wait_event

CLIENT = "jabber:client"
CAROL = "carol@other.test"
N = 5               # messages sent in each phase


class Contact:
    """carol@other.test: a jabberd2-protocol component bound as other.test
    that keeps every stanza routed to it (read by a thread of its own, so
    the clients' loop runs while the test waits)."""

    def __init__(self, node, xmpp):
        self.node, self.xmpp = node, xmpp
        self.got = []           # (route element, payload)
        self.reader = None
        self.connect()

    def connect(self, timeout=10.0):
        if self.reader is not None:
            self.reader.join(5)
        deadline = time.monotonic() + paths.scaled(timeout)
        while True:
            try:
                c = Component((self.node.ip, self.node.router_port))
                assert c.auth(self.node.router_user, self.node.router_pass)
                el = c.bind("other.test")
                assert el.get("error") is None, ET.tostring(el)
                break
            except (OSError, Closed):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.c = c
        self.reader = threading.Thread(target=self._read, args=(c,), daemon=True)
        self.reader.start()

    def _read(self, c):
        while True:
            try:
                el = c.next(timeout=0.2)
            except (TimeoutError, socket.timeout):
                continue
            except (Closed, OSError):
                return
            if el.tag == q(COMP, "route") and len(el):
                self.got.append((el, el[0]))

    def send(self, stanza):
        self.c.route("localhost", "other.test", stanza)

    def pump(self, wait):
        """Let `wait` seconds pass, the clients' loop running."""
        end = time.monotonic() + wait
        wait_until(self.xmpp, lambda: time.monotonic() >= end, "a pause", timeout=wait + 5)

    def wait_for(self, pred, what, timeout=10.0):
        try:
            wait_until(self.xmpp, lambda: any(pred(r, p) for r, p in list(self.got)),
                       what, timeout=timeout)
        except Exception:
            raise AssertionError("contact: no %s; got %s" % (
                what, [ET.tostring(r) for r, _ in self.got])) from None

    def presences(self, sender_bare, ptype=None):
        return [p for r, p in list(self.got) if p.tag == q(CLIENT, "presence")
                and r.get("error") is None
                and (p.get("from") or "").split("/")[0] == sender_bare
                and p.get("type") == ptype]

    def close(self):
        self.c.close()


def unavailable_from(contact, bare):
    return lambda r, p: (p.tag == q(CLIENT, "presence") and p.get("type") == "unavailable"
                         and (p.get("from") or "").startswith(bare + "/"))


def setup_alice_and_carol(xmpp, node):
    """alice@localhost online, subscribed both ways with carol, whose
    contact saw her available."""
    carol = Contact(node, xmpp)
    alice = xmpp.client("alice@localhost", "alice-pw-1", node.c2s_address)
    alice.register()
    alice.login()
    asked = wait_event(alice, "presence_subscribe", lambda p: p["from"].bare == CAROL)
    alice.xmpp.send_presence(pto=CAROL, ptype="subscribe")
    carol.wait_for(lambda r, p: p.get("type") == "subscribe", "subscribe from alice")
    carol.send("<presence xmlns='jabber:client' type='subscribed' from='%s' "
               "to='alice@localhost'/>" % CAROL)
    carol.send("<presence xmlns='jabber:client' type='subscribe' from='%s' "
               "to='alice@localhost'/>" % CAROL)
    run(alice, asked, "alice asked by carol")      # slixmpp approves it
    carol.wait_for(lambda r, p: p.get("type") == "subscribed", "alice's approval")
    alice.xmpp.send_presence(pstatus="here")
    carol.wait_for(lambda r, p: p.tag == q(CLIENT, "presence") and p.get("type") is None
                   and (p.get("from") or "").startswith("alice@localhost/"),
                   "alice's available presence")
    return alice, carol


def send_message(carol, body):
    carol.send("<message xmlns='jabber:client' type='chat' from='%s/x' "
               "to='alice@localhost'><body>%s</body></message>" % (CAROL, body))


def stored(node, owner, n, timeout=10.0):
    end = time.monotonic() + paths.scaled(timeout)
    while node.sm_count("queue", owner) != n:
        if time.monotonic() > end:
            raise AssertionError("%s has %d offline messages, not %d"
                                 % (owner, node.sm_count("queue", owner), n))
        time.sleep(0.05)


def messages_kept_for_next_login(xmpp, node, carol):
    """alice is offline: N messages from carol are stored, and her next
    login receives them all, in order."""
    for i in range(N):
        send_message(carol, "while you were away %d" % i)
    stored(node, "alice@localhost", N)
    alice = xmpp.client("alice@localhost", "alice-pw-1", node.c2s_address)
    alice.login()
    for i in range(N):
        got = alice.wait_message(sender=CAROL)
        assert got["body"] == "while you were away %d" % i
    stored(node, "alice@localhost", 0)
    carol.close()


def test_router_restart_ends_sessions(sandbox, xmpp):
    node = jabberd.Node(sandbox, flavor="ours")
    # Room for a slow restart (sanitizers): 20 attempts a second apart.
    for daemon in ("sm", "c2s"):
        path = node.config(daemon)
        text = path.read_text()
        assert "<lost>3</lost>" in text
        path.write_text(text.replace("<lost>3</lost>", "<lost>20</lost>"))
    node.start()
    alice, carol = setup_alice_and_carol(xmpp, node)
    sm, c2s = node.daemons["sm"], node.daemons["c2s"]
    sm_mark, c2s_mark = sm.mark(), c2s.mark()
    carol.close()       # the router waits for a link that does not close
    assert not node.daemons["router"].stop()
    node.daemons["router"] = sandbox.start(
        "node1-router-2", [jabberd.our_binary_or_skip("router"), "-c", node.config("router")],
        logs=[node.log("router")], ready_port=(node.ip, node.router_port))
    carol.connect()
    carol.got = []
    # c2s lost the router: alice's stream is closed with a stream error.
    wait_until(xmpp, lambda: alice.xmpp.transport is None, "alice's stream closed")
    assert alice.errors, "no stream error"
    sm.wait_log(r"ready for sessions", since=sm_mark)
    c2s.wait_log(r"bound 'c2s'", since=c2s_mark)
    # The sm ended alice's session: carol hears it once, after the
    # router is back.
    carol.wait_for(unavailable_from(carol, "alice@localhost"), "alice unavailable")
    carol.pump(1.0)
    assert len(carol.presences("alice@localhost", "unavailable")) == 1, carol.got
    # No ghost: a probe gets unavailable, a message is stored offline.
    carol.got = []
    carol.send("<presence xmlns='jabber:client' type='probe' from='%s' "
               "to='alice@localhost'/>" % CAROL)
    carol.wait_for(lambda r, p: p.tag == q(CLIENT, "presence")
                   and p.get("from", "").startswith("alice@localhost"), "probe answer")
    assert carol.presences("alice@localhost", None) == [], "alice still looks available"
    messages_kept_for_next_login(xmpp, node, carol)


def test_sm_restart_ends_sessions_and_closes_streams(sandbox, xmpp):
    node = jabberd.Node(sandbox, flavor="ours").start()
    alice, carol = setup_alice_and_carol(xmpp, node)
    carol.got = []
    c2s = node.daemons["c2s"]
    c2s_mark = c2s.mark()
    assert not node.daemons["sm"].stop()
    # c2s closes alice's stream with <reset/>: she must log in again.
    wait_until(xmpp, lambda: alice.xmpp.transport is None, "alice's stream closed")
    assert "reset" in alice.errors, alice.errors
    # The sm told carol alice is gone, once, before it left.
    carol.wait_for(unavailable_from(carol, "alice@localhost"), "alice unavailable")
    # A message while the sm is away comes back to its sender.
    for i in range(N):
        send_message(carol, "lost? %d" % i)
    carol.wait_for(lambda r, p: r.get("error") is not None and p.findtext(
        q(CLIENT, "body")) == "lost? %d" % (N - 1), "the messages returned")
    returned = [p.findtext(q(CLIENT, "body")) for r, p in list(carol.got)
                if r.get("error") is not None and p.tag == q(CLIENT, "message")]
    assert returned == ["lost? %d" % i for i in range(N)], returned
    carol.pump(0.5)
    assert len(carol.presences("alice@localhost", "unavailable")) == 1, carol.got
    jabberd.start_our_sm_again(sandbox, node, 2)
    c2s.wait_log(r"localhost is available", since=c2s_mark)
    messages_kept_for_next_login(xmpp, node, carol)


def parked_with_unacked(xmpp, node):
    """dora's stream, with resumption, cut while a message to her is not
    acknowledged: her session is parked at c2s. Returns (jid, resumption
    id, c2s log mark)."""
    register(xmpp, node, "dora", "eve")
    eve = client(xmpp, node, "eve")
    eve.login()
    r, jid = login(node, "dora", "phone")
    smid = attr(r.enable(), "id")
    send(xmpp, eve, jid, "unacked")
    r.read_until("unacked")
    mark = node.daemons["c2s"].mark()
    r.cut()
    wait_c2s(node, r"kept 300 s for resumption \(1 unacknowledged\)", mark)
    eve.disconnect()
    return jid, smid, mark


def parked_is_over(xmpp, node, jid, smid, mark):
    """Once an sm serves the domain again, c2s ends the parked session and
    hands its unacknowledged message back: it is stored, <resume/> gets
    item-not-found, and the next login receives it."""
    wait_c2s(node, r"session %s \(conn \S+\) not resumed: its sm went away; "
             r"1 message back to the sm" % re.escape(jid), mark)
    stored(node, "dora@localhost", 1)
    r2 = Raw(node)
    r2.auth("dora", "pw")
    r2.send("<resume xmlns='%s' previd='%s' h='0'/>" % (SM, smid))
    failed = r2.read_until(r"<failed[^>]*>.*?</failed>|<failed[^>]*/>").group(0)
    assert "item-not-found" in failed, failed
    r2.close()
    dora = client(xmpp, node, "dora")
    dora.login()
    dora.wait_message(body="unacked")


def test_parked_session_ends_with_its_sm(sandbox, xmpp):
    """XEP-0198: a session parked at c2s for resumption (its connection
    cut) is over when its sm goes away, since the sm ended it: it cannot
    be resumed, and its unacknowledged message is stored once the sm is
    back."""
    node = sm_node(sandbox)
    jid, smid, mark = parked_with_unacked(xmpp, node)
    assert not node.daemons["sm"].stop()
    # The router announces the sm's name and its domain, in either order.
    wait_c2s(node, r"(sm|localhost) is gone at the router: 0 session streams closed, "
             r"1 parked session over", mark)
    jabberd.start_our_sm_again(sandbox, node, 2)
    parked_is_over(xmpp, node, jid, smid, mark)


def test_parked_session_after_router_restart(sandbox, xmpp):
    """The same when the router restarts: the sm ended every session."""
    node = sm_node(sandbox)
    jid, smid, mark = parked_with_unacked(xmpp, node)
    assert not node.daemons["router"].stop()
    node.daemons["router"] = sandbox.start(
        "node1-router-2", [jabberd.our_binary_or_skip("router"), "-c", node.config("router")],
        logs=[node.log("router")], ready_port=(node.ip, node.router_port))
    parked_is_over(xmpp, node, jid, smid, mark)
