# SPDX-License-Identifier: GPL-2.0-or-later
"""The 3-node cluster fixture (tests/lib/cluster.py) does what the
cluster's other tests rely on: three whole nodes of ours on 127.0.0.2-.4
share one PostgreSQL (an account registered through one node logs in on
the others with its password, and only with it; a roster item added
through one node is there on another), a session on one node shows in the
other nodes' session tables, and a node killed with kill -9 and started
again rejoins: linked again, its new sessions replicated, its old ones
gone; a router stopped with SIGTERM says goodbye and its peers drop its
sessions at once.
"""

from lib import xmpp as xmpp_mod
import time

import pytest

TIMEOUT = 15


def test_accounts_and_rosters_are_shared_by_every_node(cluster3, xmpp):
    jid, pw = cluster3.user("alice")
    friend, _ = cluster3.user("bob")
    a1 = cluster3.client(xmpp, 1, jid, pw)
    a1.register()
    a1.login()
    xmpp.run(a1.xmpp.update_roster(friend, name="Bob of n1", groups=["Friends"]),
             TIMEOUT, "roster set through n1")
    a1.disconnect()
    for n in (2, 3):
        c = cluster3.client(xmpp, n, jid, pw)
        c.login()
        roster = c.xmpp.client_roster
        assert roster.has_jid(friend), \
            "the roster item added through n1 is missing on n%d: %r" % (n, roster)
        assert roster[friend]["name"] == "Bob of n1"
        assert roster[friend]["groups"] == ["Friends"]
        c.disconnect()
    # the password is checked against the shared table, not waved through
    wrong = cluster3.client(xmpp, 3, jid, pw + "x")
    with pytest.raises(xmpp_mod.XmppError, match="authentication failed"):
        wrong.login()
    # and a user nobody registered is unknown everywhere
    nobody, npw = cluster3.user("nobody")
    with pytest.raises(xmpp_mod.XmppError, match="authentication failed"):
        cluster3.client(xmpp, 2, nobody, npw).login()


def test_session_on_one_node_is_in_the_other_nodes_tables(cluster3, xmpp):
    jid, pw = cluster3.user("carol")
    c = cluster3.client(xmpp, 2, jid, pw)
    c.register()
    c.login()
    full = str(c.full_jid)
    for n in (1, 2, 3):
        table = cluster3[n].wait_session(full)
        assert table[full] == ("n2", 0, True), table
    c.disconnect()
    for n in (1, 2, 3):
        cluster3[n].wait_session(full, present=False)


def test_node_killed_and_restarted_rejoins(cluster3, xmpp):
    jid, pw = cluster3.user("dave")
    old = cluster3.client(xmpp, 3, jid, pw)
    old.register()
    old.login()
    old_full = str(old.full_jid)
    cluster3[1].wait_session(old_full)
    incarnation = cluster3[3].status_json()["incarnation"]
    cluster3[3].kill()
    old.xmpp.abort()         # its node is gone; no reconnection attempts
    old.xmpp = None
    cluster3[3].start()
    st = cluster3.wait_linked()
    assert st["n3"]["incarnation"] > incarnation
    for n in ("n1", "n2"):
        peer = [p for p in st[n]["peers"] if p["name"] == "n3"][0]
        assert peer["peer_incarnation"] == st["n3"]["incarnation"], st[n]
    new = cluster3.client(xmpp, 3, jid, pw)
    new.login()
    new_full = str(new.full_jid)
    for n in (1, 2):
        table = cluster3[n].wait_session(new_full)
        assert table[new_full][0] == "n3"
        # the killed run's session went with it
        if old_full != new_full:
            cluster3[n].wait_session(old_full, present=False)


def test_router_stopped_with_sigterm_is_dropped_by_its_peers_at_once(cluster3, xmpp):
    jid, pw = cluster3.user("erin")
    c = cluster3.client(xmpp, 3, jid, pw)
    c.register()
    c.login()
    full = str(c.full_jid)
    for n in (1, 2):
        cluster3[n].wait_session(full)
    # only the router: its sm keeps the session, so what removes it on the
    # peers is the router's goodbye, not a session end
    t0 = time.monotonic()
    assert not cluster3[3].daemons["router"].stop(), "n3's router did not exit 0 on SIGTERM"
    for n in (1, 2):
        cluster3[n].wait_session(full, present=False, timeout=5)
    took = time.monotonic() - t0
    # well inside the LAN profile's 3 s of silence: the goodbye did it
    assert took < 2.5, "n1 and n2 dropped n3's sessions %.1f s after its SIGTERM" % took
    c.xmpp.abort()
    c.xmpp = None
    cluster3[3].kill()          # its sm and c2s, left without a router
    cluster3[3].start()
    cluster3.wait_linked()
