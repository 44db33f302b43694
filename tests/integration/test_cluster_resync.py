# SPDX-License-Identifier: GPL-2.0-or-later
"""A whole table resynchronised over a real link (issue 13: a node that
reconnects gets the deltas since the last sequence it saw, or a snapshot),
the short version of tools/bench-resync: two routers of ours, the link
between them through a FaultProxy, scripted sms (cluster_resync.py).

n1's sm starts 10,000 sessions; n2's table and n2's sm get all of them.
The link is cut until n2 declares n1 dead (every session goes from n2's
sm as `remove reason='node-dead'`), then healed: n2's table holds the
10,000 again and its sm has exactly the same sessions (JID, node,
priority, availability) as before the cut. Both nodes took a new
incarnation at the relink (each had declared the other dead): one more
session on n1 reaches n2 as a delta, not as a second snapshot of all.
Then n2's router is stopped and started again, its sm binding only once
the table is complete: its <sync/> gets the same 10,001 and `synced`, and the module's log says once
(not once per route of 256) that it had nobody to give the stubs to. What
an operator would notice is the table, so that is what is asserted, not
the time (tools/bench-resync measures it).
"""

import os
import sqlite3
import time

import pytest

from cluster_resync import Pair, peer_view, session_jid, status_json

SESSIONS = int(os.environ.get("JC_RESYNC_SESSIONS", "10000"))


def expected():
    return {session_jid(i): ("n1", i % 10, "1") for i in range(SESSIONS)}


@pytest.mark.parametrize("lines", [True, False], ids=["line-form", "attribute-form"])
def test_table_complete_and_identical_after_reconnect_and_restart(sandbox, lines):
    """`lines`: n2's scripted sm asks for rule 1's line form (<sync
    lines='1'/>, as our sm does) or is an older sm (plain <sync/>, the
    attribute form); the table must come out the same."""
    pair = Pair(sandbox, lines=lines).start()
    try:
        pair.fill(SESSIONS)
        want = expected()
        assert pair.sm2.snapshot() == want
        assert pair.sm2.stats()["removes"] == 0
        assert (pair.sm2.stats().get("line elements", 0) > 0) == lines

        pair.reconnect(SESSIONS)
        assert peer_view(pair.n2, "n1") == (True, SESSIONS)
        stats = pair.sm2.stats()
        assert stats["removed_why"] == {"node-dead": SESSIONS}, stats
        assert pair.sm2.snapshot() == want
        assert "snapshot of %d sessions" % SESSIONS in pair.n2.text()
        assert stats["error"] is None, stats
        # Both nodes took a new incarnation at the relink (each had
        # declared the other dead); n1's next session reaches n2 as a delta,
        # not as a second snapshot of every session.
        assert "taking incarnation" in pair.n1.text()
        snapshots = pair.snapshots_applied(SESSIONS + 1)
        pair.sm2.expect(SESSIONS + 1)
        pair.sm1.start_sessions(SESSIONS, 1)
        assert pair.sm2.wait_met(20) is not None
        time.sleep(1.0)
        assert pair.snapshots_applied(SESSIONS + 1) == snapshots
        stats = pair.sm2.stats()
        assert stats["removes"] == SESSIONS and stats["adds"] == 2 * SESSIONS + 1, stats
        want[session_jid(SESSIONS)] = ("n1", SESSIONS % 10, "1")
        assert pair.sm2.snapshot() == want

        # the sm binds after the snapshot: the module's stubs before that
        # reach nobody, which its log says once, not once per 256
        mark = pair.n2.daemon.mark()
        pair.cold_start(len(want), sm_late=True)
        pair.n2.wait(r"cluster: routes reach sm-n2 again \(\d+ not handed", since=mark)
        text = pair.n2.text()[mark[pair.n2.log]:]
        assert text.count("not handed to sm-n2") == 1, text
        assert peer_view(pair.n2, "n1") == (True, len(want))
        stats = pair.sm2.stats()
        assert stats["resets"] == 1 and stats["synced"] == 1, stats
        assert pair.sm2.snapshot() == want
        assert stats["error"] is None, stats
        # n1's table still holds every session as its own
        st = status_json(pair.n1)
        assert st["tables"]["local_sessions"] == len(want), st["tables"]
    finally:
        pair.close()


def test_our_sm_delivers_to_every_resynced_session(sandbox):
    """Our sm as n2's (line form): after n1 was declared dead (every
    session of n1 removed at n2's sm) and the link healed, a message sent
    to n2's sm for any of n1's sessions right after the resync is
    forwarded to n1 (rule 7), not stored offline or bounced: the sm holds
    every stub again. Sent behind the resync on one connection (once n2's
    table is complete and the sm answered a ping), so no waiting decides
    it; what is asserted is where each message went."""
    n = min(SESSIONS, 3000)
    pair = Pair(sandbox, real_sm=True).start()
    try:
        pair.fill(n)
        pair.reconnect(n)
        assert peer_view(pair.n2, "n1") == (True, n)
        picks = sorted({0, 1, n // 3, n // 2, n - 2, n - 1} | set(range(7, n, max(1, n // 20))))
        # their accounts (one PostgreSQL in a real cluster; n2's SQLite here)
        db = sqlite3.connect(str(sandbox.path("sm-n2.db")), timeout=10)
        with db:
            db.executemany('INSERT INTO "active" ("collection-owner", "time") VALUES (?, 0)',
                           [(session_jid(i).partition("/")[0],) for i in picks])
        db.close()
        ids = {i: ("resync-%d-x" % i).encode() for i in picks}
        pair.sm1.watch(ids.values())
        probe = pair.sm2.probe
        for i in picks:
            probe.route("example.org", "probe.example.org",
                        "<message xmlns='jabber:client' from='probe.example.org' to='%s' "
                        "id='resync-%d-x'><body>after the resync</body></message>"
                        % (session_jid(i), i))
        # the ping goes behind the messages on the same connection: once it
        # is answered, the sm has handled (forwarded) every one of them
        pair.sm2.met = None
        pair.sm2.ping()
        deadline = time.monotonic() + 20
        while pair.sm1.seen() != set(ids.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pair.sm1.seen() == set(ids.values()), \
            sorted(set(ids.values()) - pair.sm1.seen())
        log = pair.sm2.daemon.output()
        assert "remote sessions from" not in log, log[-3000:]     # none refused
    finally:
        pair.close()
