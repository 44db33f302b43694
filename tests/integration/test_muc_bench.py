# SPDX-License-Identifier: GPL-2.0-or-later
"""Group chat throughput, side by side in one run: bench/bench.py's
muc-N scenario (xmpp-bench muc: N occupants in one room, 10 of them
talking, each message in flight until all N have it) against ours (this
tree's router, sm, c2s and muc) and Debian's prosody and ejabberd, each
with its mod_muc (those installed). A
benchmark, not a timed test: it runs only with JC_BENCH=1 and prints the
table (pytest -s). The full run is bench/bench.py --scenarios
muc-100,muc-1000 (bench/README.md).

    JC_BENCH=1 JC_BENCH_MUC_OCCUPANTS=100 JC_BUILDDIR=build \\
        /usr/bin/python3 -m pytest -s -q tests/integration/test_muc_bench.py
"""

import json
import os
import subprocess

import pytest

from lib import paths

pytestmark = pytest.mark.skipif(os.environ.get("JC_BENCH") != "1",
                                reason="benchmark: set JC_BENCH=1")

OCCUPANTS = int(os.environ.get("JC_BENCH_MUC_OCCUPANTS", "100"))
DELIVERIES = int(os.environ.get("JC_BENCH_MUC_DELIVERIES", "20000"))


def test_muc_room_side_by_side(tmp_path):
    xb = paths.builddir() / "bench" / "xmpp-bench" / "xmpp-bench"
    for need in (xb, paths.builddir() / "muc" / "muc"):
        if not need.exists():
            pytest.skip("%s not built" % need)
    kinds = ",".join(["ours"] +
                     (["prosody"] if os.path.exists("/usr/bin/prosody") else []) +
                     (["ejabberd"] if os.path.exists("/usr/sbin/ejabberdctl") else []))
    scen = "muc-%d" % OCCUPANTS
    p = subprocess.run(
        ["/usr/bin/python3", str(paths.SRCDIR / "bench" / "bench.py"),
         "--xb", str(xb), "--servers", kinds, "--scenarios", scen,
         "--repeat", "1", "--sessions", str(max(OCCUPANTS, 10)),
         "--fan-users", "0", "--muc-deliveries", str(DELIVERIES),
         "--duration", "240", "--pause", "1", "--out", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1200)
    print(p.stdout.decode(errors="replace"))
    assert p.returncode == 0
    doc = json.loads((tmp_path / "results.json").read_text())
    for kind in kinds.split(","):
        r = doc["results"][kind][0][scen]
        assert r["complete"], r
        res = r["results"]
        assert res["deliveries"] == res["msgs"] * OCCUPANTS
        print("BENCH muc server=%s occupants=%d deliveries/s=%.0f "
              "p50=%.1fms p99=%.1fms server_cpu_s/1000=%.3f"
              % (kind, OCCUPANTS, res["deliveries_per_s"],
                 res["latency_p50_ms"], res["latency_p99_ms"],
                 res["server_cpu_s_per_1000_deliveries"]))
