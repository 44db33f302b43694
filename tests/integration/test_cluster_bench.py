# SPDX-License-Identifier: GPL-2.0-or-later
"""tools/bench-cluster, small: chat messages between users on two nodes of a
3-node cluster beside the same load on one node, in one run. Both modes
must complete (every message delivered) and give figures; the command
reports a mode whose messages do not arrive as FAILED and exits 1. A
benchmark, not a test of the suite: set JC_BENCH=1."""

import os
import re
import subprocess

import pytest

from lib import paths

pytestmark = pytest.mark.skipif(os.environ.get("JC_BENCH") != "1",
                                reason="benchmark: set JC_BENCH=1")


def test_cross_node_messages_beside_local(tmp_path):
    out = tmp_path / "runs.json"
    p = subprocess.run([str(paths.SRCDIR / "tools" / "bench-cluster"), "--pairs", "5",
                        "-n", "2000", "--repeat", "1", "--duration", "30",
                        "--json", str(out)],
                       capture_output=True, text=True, timeout=300)
    text = p.stdout + p.stderr
    assert p.returncode == 0, text
    for mode in ("local n1->n1", "cross-node n1->n2"):
        m = re.search(r"^%s\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)" % re.escape(mode),
                      p.stdout, re.M)
        assert m, "no figures for %s:\n%s" % (mode, text)
        assert float(m.group(1)) > 0 and float(m.group(4)) > 0, text
    assert re.search(r"cross-node / local CPU per message: [\d.]+x", p.stdout), text
