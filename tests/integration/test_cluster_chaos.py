# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 14's short chaos run: tools/cluster-chaos (about 2.5 minutes in
all) on its own proxied 3-node cluster (127.0.0.2-.4, one private
PostgreSQL), a fault every 10-20 s for 1.5 minutes (kill -9 and a start,
SIGSTOP/SIGCONT, a cut link, a one-way cut, a partition, delay and
jitter, packet loss, a stalled link, a restart; each kind at most once, in a random
order), 9 users exchanging 5 numbered messages a second.

What a user would notice, asserted from the tool's JSON report: no
message lost (every one delivered once, stored offline and delivered at
the next login, or answered with an error; those in flight on a
connection whose node was killed with kill -9 are counted apart, with the
evidence), none duplicated, every user seeing each contact's presence as
it is within 15 s after every heal, no daemon crash, sanitizer report or
alert line. The seed is printed; `tools/cluster-chaos --seed N` repeats
the same faults.

Then what the chaos runs found, each on its own on the proxied cluster
(cluster3p): messages between the two nodes that stayed together lost
when a one-node partition heals (and the same made certain: stanzas
in flight to a node taking a new incarnation); contacts that log in at the same moment
on two nodes not seeing each other; messages to a user of a node woken
from SIGSTOP arriving once; messages in flight when a node takes a new
incarnation arriving once."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

from lib import cluster as cluster_mod
from lib import jabberd, paths, pgsql

TOOL = paths.SRCDIR / "tools" / "cluster-chaos"
BOUND = 165         # seconds; then SIGTERM, and the tool cleans up


def test_short_chaos_run_loses_and_duplicates_nothing(tmp_path):
    for d in jabberd.DAEMONS:
        jabberd.our_binary_or_skip(d)
    cluster_mod.built("cluster.so")
    try:
        pgsql._bindir()
    except pgsql.Unavailable as e:
        jabberd.missing(str(e))
    report = tmp_path / "chaos.json"
    env = dict(os.environ, JC_BUILDDIR=str(paths.builddir()))
    proc = subprocess.Popen([sys.executable, str(TOOL), "--minutes", "1.5", "--interval",
                             "10-20", "--hold", "3-6", "--users", "9", "--rate", "5",
                             "--converge", "15", "--settle", "3", "--report", str(report)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    try:
        output, _ = proc.communicate(timeout=paths.scaled(BOUND))
    except subprocess.TimeoutExpired:
        # SIGTERM: the tool stops its cluster and PostgreSQL on the way out
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        raise AssertionError("cluster-chaos did not end within %.0f s:\n%s"
                             % (paths.scaled(BOUND), output[-8000:])) from None
    out = output[-8000:]
    assert report.exists(), "cluster-chaos wrote no report (exit %d):\n%s" % (
        proc.returncode, out)
    doc = json.loads(report.read_text())
    m = doc["messages"]
    assert len(doc["faults"]) >= 4, "only %d faults injected:\n%s" % (len(doc["faults"]), out)
    assert m["sent"] >= 300, "only %d messages sent:\n%s" % (m["sent"], out)
    assert m["lost"] == 0, "%d messages lost: %s\n%s" % (
        m["lost"], doc["evidence"]["lost"][:20], out)
    assert not doc["problems"], "daemon problems:\n%s" % "\n".join(doc["problems"])
    assert doc["links_not_reopened"] == 0, out
    assert doc["presence"]["not_converged"] == 0 and doc["presence"]["final_s"] is not None, \
        "presence did not converge after a heal:\n%s" % out
    # Everything is accounted for: no message is in two columns or none.
    assert (m["delivered"] + m["stored"] + m["bounced"] + m["in_flight_killed"]
            + m["lost"]) == m["sent"], m
    # A STANZA a peer had taken, its ACK lost with the links a new
    # incarnation closes, came a second time (handed back and stored, or
    # sent again); rule 15 (TAKEN) tells the sender which were taken.
    assert m["duplicated"] == 0, "%d duplicated: %s\n%s" % (
        m["duplicated"], doc["evidence"]["duplicated"][:5], out)
    assert proc.returncode == 0, "cluster-chaos exit %d:\n%s" % (proc.returncode, out)


class Pair:
    """A writer on node `w` and a reader on node `r`, fresh accounts."""

    def __init__(self, c, xmpp, w, r):
        (a, apw), (b, bpw) = c.user("writer"), c.user("reader")
        for jid, pw in ((a, apw), (b, bpw)):
            xmpp.client(jid, pw, c[1].c2s_address).register()
        self.c, self.xmpp, self.b, self.bpw = c, xmpp, b, bpw
        self.reader = c.client(xmpp, r, b, bpw)
        self.reader.login()
        self.writer = c.client(xmpp, w, a, apw)
        self.writer.login()
        c[w].wait_session(self.reader.full_jid)
        self.bodies = []
        self.got = []

    def write(self, seconds):
        """Ten numbered messages a second to the reader's bare JID."""
        for _ in range(int(seconds * 10)):
            self.bodies.append("m%d" % len(self.bodies))
            self.writer.send_message(self.b, self.bodies[-1])
            self.xmpp.run(asyncio.sleep(0.1), 5, "pause")

    def collect(self, client):
        """What `client` receives until 3 s pass without a message."""
        async def go():
            while True:
                try:
                    m = await asyncio.wait_for(client.messages.get(), 3)
                except asyncio.TimeoutError:
                    return
                self.got.append(m["body"] if m["type"] != "error" else "error:" + m["body"])
        self.xmpp.run(go(), 60, "collecting %s's messages" % client.jid)

    def missing(self):
        return [x for x in self.bodies if x not in self.got]

    def twice(self):
        return [x for x in self.bodies if self.got.count(x) > 1]

    def problem(self, what):
        """None if every message written arrived (or came back as an
        error) and none twice; else what went wrong with the messages
        `what` describes."""
        missing, twice = self.missing(), self.twice()
        if not missing and not twice:
            return None
        return ("of the %d messages %s: %d never arrived nor came back as errors (%s), "
                "%d arrived more than once (%s)"
                % (len(self.bodies), what, len(missing), " ".join(missing), len(twice),
                   " ".join(twice)))

    def assert_each_once(self, what):
        problem = self.problem(what)
        assert problem is None, problem


def test_messages_between_the_majority_survive_the_heal_of_a_one_node_partition(
        cluster3p, xmpp):
    """The chaos run's first finding, on its own: n1 is cut off from n2 and
    n3 (which stay linked) and healed while a user on n3 writes to one on
    n2 ten times a second. n1 has declared n2 and n3 dead, so each of them
    takes a new incarnation when its link to n1 opens again, at its own
    moment; every message n3's user sends meanwhile and after must reach
    n2's user, once."""
    from test_cluster_faultproxy import wait_members

    c = cluster3p
    p = Pair(c, xmpp, 3, 2)
    p.write(2)
    c.mesh.partition([1], [2, 3])
    wait_members(c[1], {"n2": "dead", "n3": "dead"})
    p.write(1)
    c.mesh.heal()
    p.write(6)              # the heal, both reincarnations, and after
    for n in c.nodes:
        wait_members(n, {"n1": "alive", "n2": "alive", "n3": "alive"}, timeout=30)
    p.write(2)
    p.collect(p.reader)
    p.assert_each_once("n3's user sent to n2's user during and after the heal of n1's "
                       "partition")


def test_stanzas_in_flight_to_a_node_taking_a_new_incarnation_reach_its_user(
        cluster3p, xmpp):
    """The same loss made certain: n3's link to n2 is stalled (n2 reads
    nothing from it) while n3's user writes to n2's user, so those
    messages wait unacknowledged at n3 when the heal of n1's partition
    makes n2 take a new incarnation; n3's sm is stopped meanwhile, so
    that whatever n3's module hands it is handled only after n2 has
    delivered the offline messages of its users. Each message must still
    reach n2's user, once: n3 sends them again to n2's new incarnation
    rather than have its sm store them offline for a user online on n2."""
    from test_cluster_faultproxy import wait_members

    c = cluster3p
    p = Pair(c, xmpp, 3, 2)
    p.write(1)
    c.mesh.partition([1], [2, 3])
    wait_members(c[1], {"n2": "dead", "n3": "dead"})
    inc2 = c[2].status_json()["incarnation"]
    c.mesh.stall_link(3, 2)
    p.write(1)                  # these wait at n3, unacknowledged
    sm3 = c[3].daemons["sm"].proc
    sm3.send_signal(signal.SIGSTOP)
    try:
        for (a, b), proxy in c.mesh.proxies.items():
            if 1 in (a, b):
                proxy.heal()    # the partition heals; n3 -> n2 stays stalled
        deadline = time.monotonic() + paths.scaled(20)
        while c[2].status_json()["incarnation"] == inc2:
            assert time.monotonic() < deadline, "n2 took no new incarnation at the heal"
            time.sleep(0.1)
        c.mesh.heal()           # n2 and n3 link again: n3 sees n2's new incarnation
        wait_members(c[3], {"n1": "alive", "n2": "alive"}, timeout=30)
        wait_members(c[2], {"n1": "alive", "n3": "alive"}, timeout=30)
        time.sleep(2)           # n2's sm has delivered its users' offline messages
    finally:
        sm3.send_signal(signal.SIGCONT)
    for n in c.nodes:
        wait_members(n, {"n1": "alive", "n2": "alive", "n3": "alive"}, timeout=30)
    p.write(1)
    p.collect(p.reader)
    p.assert_each_once("n3's user sent to n2's user while n2 took a new incarnation")


def test_messages_to_a_node_stopped_until_declared_dead_arrive_once(cluster3p, xmpp):
    """Every daemon of n3 is stopped (SIGSTOP) while n1's user writes to
    n3's user ten times a second, until n1 and n2 declare n3 dead, and
    woken (SIGCONT). What n1 had sent before it gave n3 up waits, unread,
    on the link into n3; n1 hands it back meanwhile and its sm stores it
    offline, for n3's sm to deliver when n3 comes back. n3 must not also
    take it from the link when it runs again: each message once, none
    lost (the chaos run's duplicates after SIGSTOP)."""
    from test_cluster_faultproxy import wait_members

    c = cluster3p
    p = Pair(c, xmpp, 1, 3)
    p.write(1)
    procs = [d.proc for d in c[3].daemons.values()]
    for pr in procs:
        pr.send_signal(signal.SIGSTOP)
    try:
        p.write(2)              # sent to n3 before it is given up
        wait_members(c[1], {"n3": "dead"})
        wait_members(c[2], {"n3": "dead"})
        p.write(1)              # sent after: handed back at once
    finally:
        for pr in procs:
            pr.send_signal(signal.SIGCONT)
    for n in c.nodes:
        wait_members(n, {"n1": "alive", "n2": "alive", "n3": "alive"}, timeout=30)
    p.write(1)
    p.collect(p.reader)
    p.assert_each_once("n1's user sent to n3's user, stopped until declared dead")


def test_contacts_logging_in_at_the_same_moment_on_two_nodes_see_each_other(
        cluster3p, xmpp):
    """The chaos run's second finding, on its own: when a node dies its
    users log in again elsewhere within the same second. Two contacts
    that log in at the same moment, one on n1 and one on n2, must each
    see the other available, once (five pairs, each logging in together)."""
    c = cluster3p
    blind, twice = [], []
    for i in range(5):
        (a, apw), (b, bpw) = c.user("left%d" % i), c.user("right%d" % i)
        for jid, pw in ((a, apw), (b, bpw)):
            xmpp.client(jid, pw, c[1].c2s_address).register()
        for owner, contact in ((a, b), (b, a)):
            c.db.query('INSERT INTO "roster-items" ("collection-owner", jid, name, "to", '
                       '"from", ask) VALUES (\'%s\', \'%s\', NULL, TRUE, TRUE, 0)'
                       % (owner, contact))
        left = c.client(xmpp, 1, a + "/r", apw)
        right = c.client(xmpp, 2, b + "/r", bpw)
        seen = {a: [], b: []}
        xs = [left._stream(), right._stream()]
        for x, me in zip(xs, (a, b)):
            x.add_event_handler("presence", lambda p, me=me: p["type"] == "available"
                                and seen[me].append(str(p["from"])))

        async def both():
            futs = []
            for cl, x in zip((left, right), xs):
                fut, _ = cl._outcome(x)
                cl._connect(x)
                futs.append(fut)
            for f in futs:
                err = await f
                assert err is None, err
            for x in xs:
                x.send_presence()
            await asyncio.gather(*(x.get_roster(timeout=10) for x in xs))
            await asyncio.sleep(3)
            for x in xs:
                await x.disconnect(wait=2.0)
        xmpp.run(both(), 40, "two logins at once")
        twice += ["%s saw %s available %d times" % (me, other, seen[me].count(other + "/r"))
                  for me, other in ((a, b), (b, a)) if seen[me].count(other + "/r") > 1]
        if b + "/r" not in seen[a] or a + "/r" not in seen[b]:
            blind.append("%s (n1) saw %s, %s (n2) saw %s" % (
                a, sorted(seen[a]) or "nothing", b, sorted(seen[b]) or "nothing"))
    assert not blind, ("contacts that logged in at the same moment on two nodes did not "
                       "see each other online, though both stayed online 3 s:\n  "
                       + "\n  ".join(blind))
    assert not twice, ("contacts that logged in at the same moment saw each other's "
                       "presence more than once:\n  " + "\n  ".join(twice))


def test_messages_to_a_node_woken_from_sigstop_arrive_once(cluster3p, xmpp):
    """The chaos run's third finding, on its own: n2's router, sm and c2s
    are stopped (SIGSTOP) for 9 s, long enough to be declared dead, then
    woken, while a user on n1 writes to a user on n2 ten times a second.
    Every message must reach the reader once: live, or from offline
    storage when it logs in again afterwards."""
    c = cluster3p
    p = Pair(c, xmpp, 1, 2)
    p.write(1)
    daemons = list(c[2].daemons.values())
    for d in daemons:
        d.proc.send_signal(signal.SIGSTOP)
    try:
        p.write(9)
    finally:
        for d in daemons:
            d.proc.send_signal(signal.SIGCONT)
    p.write(3)
    c.wait_linked()
    p.collect(p.reader)
    p.reader.disconnect()
    again = c.client(xmpp, 3, p.b, p.bpw)      # offline storage, on another node
    again.login()
    p.collect(again)
    p.assert_each_once("written to a user of a node stopped for 9 s")


def test_messages_in_flight_when_a_node_takes_a_new_incarnation_arrive_once(
        cluster3p, xmpp):
    """The short run's duplicates, on their own: n1 is cut off from n2
    and n3, which stay linked through a link that delays every byte by
    0.3 s, so that at any moment about three STANZAs of each direction
    and their ACKs are on their way between them. n1 declares both dead;
    when n1's links come back each of n2 and n3 learns it was declared
    dead, takes a new incarnation and closes its links, at its own
    moment: the other had taken STANZAs whose ACKs the closed link lost.
    A user on n3 writes to a user on n2 and one on n2 to one on n3, ten
    messages a second each, throughout; every message must arrive once
    (live, or from offline storage at the next login), none lost."""
    from test_cluster_faultproxy import wait_members

    c = cluster3p
    pairs = [Pair(c, xmpp, 3, 2), Pair(c, xmpp, 2, 3)]

    def write(seconds):
        for _ in range(int(seconds * 10)):
            for p in pairs:
                p.bodies.append("m%d" % len(p.bodies))
                p.writer.send_message(p.b, p.bodies[-1])
            xmpp.run(asyncio.sleep(0.1), 5, "pause")

    c.mesh.delay_link(2, 3, 0.3)
    write(1)
    c.mesh.partition([1], [2, 3])
    wait_members(c[1], {"n2": "dead", "n3": "dead"})
    write(1)
    for (a, b), proxy in c.mesh.proxies.items():
        if 1 in (a, b):
            proxy.heal()        # n2<->n3 stays delayed through both reincarnations
    write(6)
    for n in c.nodes:
        wait_members(n, {"n1": "alive", "n2": "alive", "n3": "alive"}, timeout=30)
    write(1)
    c.mesh.heal()
    write(1)
    problems = []
    for p, node in zip(pairs, (3, 2)):
        p.collect(p.reader)
        p.reader.disconnect()
        again = c.client(xmpp, node, p.b, p.bpw)   # what was stored offline
        again.login()
        p.collect(again)
        again.disconnect()
        problem = p.problem("written to %s" % p.b)
        if problem is not None:
            problems.append(problem)
    assert not problems, "\n".join(problems)
    # And the situation did happen: stanzas in flight at a new incarnation
    # that the peer had taken (rule 15 kept them from going back).
    taken = sum(p["queue"]["doubt_taken"] for n in (c[2], c[3])
                for p in n.status_json()["peers"] if p["name"] in ("n2", "n3"))
    assert taken > 0, "no stanza was in flight between n2 and n3 at their reincarnations"
