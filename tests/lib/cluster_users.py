# SPDX-License-Identifier: GPL-2.0-or-later
"""Users of a cluster (tests/lib/cluster.py) as the cluster tests see
them: a Person records, in order, every presence, message, carbon and
roster push it gets; online() logs one in on a node and waits until the
nodes' session tables know it; wait_for(), exactly_once(), never() and
quiet() judge what each got, each failure saying what the user would have
missed. Shared by test_cluster_delivery, _partition, _damping and _pushes.
"""

import asyncio
import time

import pytest

from . import xmpp as xmpp_mod

TIMEOUT = 15
# How long "exactly once" and "never" wait for a stray copy.
QUIET = 1.5


class Person(xmpp_mod.Client):
    """A client that records every presence, message, carbon and roster
    push it receives, in order, in `got` as (kind, stanza)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.got = []
        self.when = {}          # id(stanza): time.monotonic() it arrived
        self.node = None

    def _rec(self, kind, stanza):
        self.got.append((kind, stanza))
        self.when[id(stanza)] = time.monotonic()

    def _stream(self):
        x = super()._stream()
        x.register_plugin("xep_0092")
        x.register_plugin("xep_0280")
        rec = self._rec
        x.add_event_handler("presence", lambda p: rec("presence", p))
        x.add_event_handler("message", lambda m: rec("message", m))
        x.add_event_handler("carbon_received", lambda m: rec("carbon-received", m))
        x.add_event_handler("carbon_sent", lambda m: rec("carbon-sent", m))
        x.add_event_handler("roster_update", lambda iq: iq["type"] == "set"
                            and rec("roster-push", iq))
        return x

    def __str__(self):
        return "%s on n%s" % (self.full_jid if self.xmpp else self.jid, self.node)


def online(cluster, xmpp, n, jid, pw, resource=None, priority=None, register=False,
           cls=Person, side=None):
    """`jid` logged in on node n (registered first if asked), available with
    `priority`, and known to every node's session table with it (to the
    nodes numbered in `side` only, if given: during a partition the other
    side cannot know it); `cls`: a Person that records more."""
    p = cls(xmpp, jid + ("/" + resource if resource else ""), pw,
            cluster[n].c2s_address, "none", None)
    xmpp.clients.append(p)
    p.node = n
    if register:
        p.register()
    p.login(presence=False)
    if priority is None:
        p.xmpp.send_presence()
    else:
        p.xmpp.send_presence(ppriority=priority)
    xmpp.run(p.xmpp.get_roster(timeout=TIMEOUT), TIMEOUT, "%s: roster" % p)
    known(cluster, p, priority or 0, side)
    return p


def known(cluster, p, priority, side=None):
    """Every node's table (of the nodes in `side`, if given) has p's
    session with `priority`, available."""
    for node in cluster.nodes:
        if side is None or node.number in side:
            node.wait_session(p.full_jid, want=("n%d" % p.node, priority, True))


def set_priority(cluster, xmpp, p, priority):
    p.xmpp.send_presence(ppriority=priority)
    xmpp.run(p.xmpp.get_roster(timeout=TIMEOUT), TIMEOUT, "%s: roster" % p)
    known(cluster, p, priority)


def befriend(cluster, a, b):
    """Mutual presence subscription between bare JIDs a and b, written
    into the shared database (before either logs in)."""
    for owner, contact in ((a, b), (b, a)):
        cluster.db.query('INSERT INTO "roster-items" ("collection-owner", jid, name, '
                         '"to", "from", ask) VALUES (\'%s\', \'%s\', NULL, TRUE, TRUE, 0)'
                         % (owner, contact))


def users(cluster, *names):
    return [cluster.user(n) for n in names]


def register(cluster, xmpp, *accounts):
    for jid, pw in accounts:
        xmpp.client(jid, pw, cluster[1].c2s_address).register()


def matching(p, kind, pred=lambda s: True):
    return [s for k, s in p.got if k == kind and pred(s)]


def wait_for(xmpp, p, kind, pred, what, timeout=TIMEOUT):
    """Wait until p got a `kind` stanza matching `pred`; `what` says, for
    the failure, what the user would have missed."""
    async def go():
        while not matching(p, kind, pred):
            await asyncio.sleep(0.05)
        return matching(p, kind, pred)
    try:
        return xmpp.run(go(), timeout, what)
    except xmpp_mod.XmppError:
        pytest.fail("%s: %s never got it within %.0f s (it got: %s)"
                    % (what, p, timeout, summary(p)), pytrace=False)


def summary(p):
    out = []
    for k, s in p.got[-12:]:
        if k == "presence":
            out.append("presence %s from %s" % (s["type"], s["from"]))
        elif k == "message":
            out.append("message %s from %s %r" % (s["type"], s["from"], s["body"]))
        else:
            out.append(k)
    return "; ".join(out) or "nothing"


def quiet(xmpp, seconds=QUIET):
    """Let the clients receive for `seconds` (strays, duplicates)."""
    xmpp.run(asyncio.sleep(seconds), seconds + 5, "quiet period")


def body_is(body):
    return lambda m: m["body"] == body


def available_from(jid):
    return lambda s: s["from"] == jid and s["type"] not in ("unavailable", "error",
                                                            "subscribe", "subscribed",
                                                            "unsubscribe", "unsubscribed",
                                                            "probe")


def unavailable_from(jid):
    return lambda s: s["from"] == jid and s["type"] == "unavailable"


def exactly_once(xmpp, p, kind, pred, what):
    wait_for(xmpp, p, kind, pred, what)
    quiet(xmpp)
    got = matching(p, kind, pred)
    assert len(got) == 1, "%s: %s got it %d times, expected once" % (what, p, len(got))


def never(p, kind, pred, what):
    got = matching(p, kind, pred)
    assert not got, "%s: %s got it and must not have: %s" % (what, p, got[0])


def closed_with_conflict(xmpp, p, timeout, what):
    """p's stream is closed with a `conflict` stream error within
    `timeout` s (`what` says when, for the failure); its client is then
    dropped."""
    deadline = time.monotonic() + timeout
    while "conflict" not in p.errors and time.monotonic() < deadline:
        quiet(xmpp, 0.1)
    assert "conflict" in p.errors, \
        "%s was not closed with a conflict stream error %s (stream errors: %r)" \
        % (p, what, p.errors)
    p.xmpp.abort()
    p.xmpp = None
