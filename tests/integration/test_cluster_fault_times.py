# SPDX-License-Identifier: GPL-2.0-or-later
"""tools/cluster-fault-times, small: 2 runs of each fault (kill -9 and
SIGSTOP of a node of three routers); the command must give a median and a
worst for each, within the lan profile's bounds (dead within 3 s of a
kill -9, and after the 3 s heartbeat timeout, plus the tick and the poll,
for SIGSTOP). A benchmark, not a test of the suite: set JC_BENCH=1."""

import os
import re
import subprocess

import pytest

from lib import paths

pytestmark = pytest.mark.skipif(os.environ.get("JC_BENCH") != "1",
                                reason="benchmark: set JC_BENCH=1")


def test_fault_times_two_runs():
    p = subprocess.run([str(paths.SRCDIR / "tools" / "cluster-fault-times"), "-n", "2"],
                       capture_output=True, text=True, timeout=300)
    text = p.stdout + p.stderr
    assert p.returncode == 0, text
    got = {}
    for label, key in (("kill -9", "kill"), ("SIGSTOP", "stop")):
        m = re.search(r"^%s\s+median ([\d.]+) s\s+worst ([\d.]+) s\s+best ([\d.]+) s\s+"
                      r"\(4 samples\)$" % re.escape(label), p.stdout, re.M)
        assert m, "no figures for %s:\n%s" % (label, text)
        got[key] = [float(x) for x in m.groups()]
    assert got["kill"][1] <= 3.0, got
    assert 2.0 <= got["stop"][2] and got["stop"][1] <= 4.5, got
