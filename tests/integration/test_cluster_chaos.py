# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 14's short chaos run: tools/cluster-chaos (about 2.5 minutes in
all) on its own proxied 3-node cluster (127.0.0.2-.4, one private
PostgreSQL), a fault every 10-20 s for 1.5 minutes (kill -9 and a start,
SIGSTOP/SIGCONT, a cut link, a one-way cut, a partition, delay and
jitter, a stalled link, a restart; each kind at most once, in a random
order), 9 users exchanging 5 numbered messages a second.

What a user would notice, asserted from the tool's JSON report: no
message lost (every one delivered once, stored offline and delivered at
the next login, or answered with an error; those in flight on a
connection whose node was killed with kill -9 are counted apart, with the
evidence), none duplicated, every user seeing each contact's presence as
it is within 15 s after every heal, no daemon crash, sanitizer report or
alert line. The seed is printed; `tools/cluster-chaos --seed N` repeats
the same faults."""

import json
import os
import subprocess
import sys

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
    assert m["lost"] == 0, "%d messages lost: %s\n%s" % (m["lost"], doc["evidence"]["lost"],
                                                         out)
    assert m["duplicated"] == 0, "%d duplicated: %s\n%s" % (
        m["duplicated"], doc["evidence"]["duplicated"], out)
    assert not doc["problems"], "daemon problems:\n%s" % "\n".join(doc["problems"])
    assert doc["links_not_reopened"] == 0, out
    assert doc["presence"]["not_converged"] == 0 and doc["presence"]["final_s"] is not None, \
        "presence did not converge after a heal:\n%s" % out
    # Everything is accounted for: no message is in two columns or none.
    assert (m["delivered"] + m["stored"] + m["bounced"] + m["in_flight_killed"]
            + m["lost"]) == m["sent"], m
    assert proc.returncode == 0, "cluster-chaos exit %d:\n%s" % (proc.returncode, out)
