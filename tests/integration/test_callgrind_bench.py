# SPDX-License-Identifier: GPL-2.0-or-later
"""tools/bench-callgrind, small: instructions per local message on one node
under callgrind, without a cluster and with cluster.so loaded, redirects on
and a peer node linked. Both modes must deliver every message and give
figures, and in the cluster mode the module must have bound the domain.
A benchmark, not a test of the suite: set JC_BENCH=1."""

import os
import re
import shutil
import subprocess

import pytest

from lib import paths

pytestmark = [
    pytest.mark.skipif(os.environ.get("JC_BENCH") != "1",
                       reason="benchmark: set JC_BENCH=1"),
    pytest.mark.skipif(shutil.which("callgrind_control") is None,
                       reason="valgrind is not installed"),
]


def test_instructions_per_local_message_with_and_without_cluster(tmp_path):
    out = tmp_path / "cg.json"
    p = subprocess.run([str(paths.SRCDIR / "tools" / "bench-callgrind"), "--pairs", "4",
                        "-n", "1000", "--warmup", "200", "--duration", "300",
                        "--json", str(out)],
                       capture_output=True, text=True, timeout=900)
    text = p.stdout + p.stderr
    assert p.returncode == 0, text
    for mode in ("plain", "cluster"):
        m = re.search(r"^\s+%s\s+Ir/msg: router (\d+), sm (\d+), c2s (\d+), total (\d+)"
                      % mode, p.stdout, re.M)
        assert m, "no figures for %s:\n%s" % (mode, text)
        assert all(int(v) > 0 for v in m.groups()), text
    # the cluster was really in the path: the module bound the domain and
    # got the session requests addressed to it; the router routed every
    # message twice (c2s -> sm -> c2s)
    m = re.search(r"router: routed (\d+), redirect hits \d+, misses \d+; module: routes "
                  r"handed to the sm (\d+)", p.stdout)
    assert m, text
    assert int(m.group(1)) >= 2 * (1000 + 2 * 200) and int(m.group(2)) > 0, text
    assert re.search(r"cluster/plain Ir per message, router\+sm\+c2s: [\d.]+x",
                     p.stdout), text
