# SPDX-License-Identifier: GPL-2.0-or-later
"""Two independent nodes (router, our sm, c2s each, on 127.0.0.2 and
127.0.0.3, no cluster module) whose sms share one private PostgreSQL, as
the nodes of a cluster do: when the same user logs in on both at the same
moment, each offline message is delivered by exactly one of them
(sm/mod_offline.c takes the queue with storage_take: one DELETE ...
RETURNING).

The two logins overlap only for the few milliseconds a flush lasts, so
the test repeats them (ROUNDS): the former read-then-delete flush
delivered a whole round twice in round 3 of one such run."""

import asyncio
import sqlite3
import time

from lib import jabberd, paths

MESSAGES = 50
ROUNDS = 10


def copy_account(src, dst, user):
    """c2s's authreg stays in each node's SQLite file: give node `dst` the
    account registered on node `src` (the sm's data is shared already)."""
    with sqlite3.connect(str(src.db)) as s:
        cols = [r[1] for r in s.execute("PRAGMA table_info(authreg)")]
        rows = s.execute("SELECT * FROM authreg WHERE username=?", (user,)).fetchall()
    assert rows, "no authreg row for %s on node %d" % (user, src.number)
    with sqlite3.connect(str(dst.db)) as d:
        d.executemany("INSERT INTO authreg (%s) VALUES (%s)"
                      % (", ".join('"%s"' % c for c in cols), ", ".join("?" * len(cols))),
                      rows)


def drain(xmpp, clients, want, settle=1.5):
    """Bodies received by each client until `want` arrived in total (at
    most 20 s, scaled), then `settle` seconds more for any duplicate."""
    got = {c: [] for c in clients}

    async def go():
        deadline = time.monotonic() + paths.scaled(20)
        extra = None
        while time.monotonic() < deadline:
            total = sum(len(v) for v in got.values())
            if total >= want and extra is None:
                extra = time.monotonic() + settle
            if extra is not None and time.monotonic() >= extra:
                return
            for c in clients:
                while not c.messages.empty():
                    m = c.messages.get_nowait()
                    if m["type"] != "error" and m["body"]:
                        got[c].append(m["body"])
            await asyncio.sleep(0.02)
    xmpp.run(go(), 30, "collecting offline messages")
    return got


def test_offline_delivered_once_across_nodes(sandbox, xmpp, pg_server):
    db = pg_server.database()
    try:
        n1 = jabberd.Node(sandbox, number=1, flavor="ours", storage=db).start()
        n2 = jabberd.Node(sandbox, number=2, flavor="ours", storage=db).start()
        bob = xmpp.client("bob@localhost", "pw-b", n1.c2s_address)
        bob.register()
        bob.login()
        ann1 = xmpp.client("ann@localhost", "pw-a", n1.c2s_address)
        ann1.register()
        copy_account(n1, n2, "ann")
        ann2 = xmpp.client("ann@localhost", "pw-a", n2.c2s_address)
        splits = []
        for r in range(ROUNDS):
            bodies = ["r%d m%02d" % (r, i) for i in range(MESSAGES)]
            for b in bodies:
                bob.send_message("ann@localhost", b)
            # Sent while the loop runs; wait until the sm stored them all.
            for _ in range(200):
                xmpp.run(asyncio.sleep(0.05), 5, "sending")
                if n1.sm_count("queue", "ann@localhost") == MESSAGES:
                    break
            assert n1.sm_count("queue", "ann@localhost") == MESSAGES
            # Both sessions bound, not yet available; then the initial
            # presence of both in one go: each sm flushes the queue then.
            ann1.login(presence=False)
            ann2.login(presence=False)
            ann1.xmpp.send_presence()
            ann2.xmpp.send_presence()
            got = drain(xmpp, [ann1, ann2], MESSAGES)
            everything = got[ann1] + got[ann2]
            dups = sorted(b for b in set(everything) if everything.count(b) > 1)
            assert not dups, "delivered twice: %s" % dups
            assert sorted(everything) == bodies
            assert n1.sm_count("queue", "ann@localhost") == 0
            splits.append((len(got[ann1]), len(got[ann2])))
            ann1.disconnect()
            ann2.disconnect()
        print("messages per node in each round:", splits)
    finally:
        db.save_log(sandbox.path("postgresql.log"))
