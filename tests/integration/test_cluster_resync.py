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
import time

from cluster_resync import Pair, peer_view, session_jid, status_json

SESSIONS = int(os.environ.get("JC_RESYNC_SESSIONS", "10000"))


def expected():
    return {session_jid(i): ("n1", i % 10, "1") for i in range(SESSIONS)}


def test_table_complete_and_identical_after_reconnect_and_restart(sandbox):
    pair = Pair(sandbox).start()
    try:
        pair.fill(SESSIONS)
        want = expected()
        assert pair.sm2.snapshot() == want
        assert pair.sm2.stats()["removes"] == 0

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
