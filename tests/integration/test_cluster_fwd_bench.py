# SPDX-License-Identifier: GPL-2.0-or-later
"""Forwarding rate between two nodes (cluster-mod/cluster_fwd.c): n1's
scripted sm sends N routes with jc:node='n2' (a 1-target chat message of
about 200 bytes each) as fast as its socket takes them; n2's scripted sm
reads them. The figure is N / (time from the first send to the last
arrival), and the queue is empty at the end. A benchmark, not a timed
test: it runs only with JC_BENCH=1 and prints its figures (pytest -s).

    JC_BENCH=1 JC_BENCH_STANZAS=20000 JC_BUILDDIR=build \\
        /usr/bin/python3 -m pytest -s -q tests/integration/test_cluster_fwd_bench.py
"""

import os
import threading
import time

import pytest

from test_cluster_fwd import CLIENT, DOMAIN, NS, two_nodes
from test_router import COMP

pytestmark = pytest.mark.skipif(os.environ.get("JC_BENCH") != "1",
                                reason="benchmark: set JC_BENCH=1")

STANZAS = int(os.environ.get("JC_BENCH_STANZAS", "20000"))


def test_forwarding_rate(sandbox):
    n1, n2 = two_nodes(sandbox)
    sm1, sm2 = n1.sm(), n2.sm()
    bob = "bob@%s/phone" % DOMAIN
    route = ("<route xmlns='%s' xmlns:jc='%s' to='%s' from='sm-n1' jc:node='n2' "
             "jc:targets='%s'><message xmlns='%s' from='alice@%s/desk' to='%s' "
             "type='chat'><body>%%06d</body></message></route>"
             % (COMP, NS, DOMAIN, bob, CLIENT, DOMAIN, bob))

    def sender():
        batch = []
        for i in range(STANZAS):
            batch.append(route % i)
            if len(batch) == 100:
                sm1.send("".join(batch))
                batch = []
        if batch:
            sm1.send("".join(batch))

    start = time.monotonic()
    t = threading.Thread(target=sender)
    t.start()
    got = 0
    last = -1
    while got < STANZAS:
        el = sm2.next(timeout=60)
        if el.tag != "{%s}route" % COMP:
            continue
        n = int(el.find("{%s}message/{%s}body" % (CLIENT, CLIENT)).text)
        assert n == last + 1, (n, last)         # in order, none twice
        last = n
        got += 1
    elapsed = time.monotonic() - start
    t.join(10)
    time.sleep(0.5)
    peer = [p for p in n1.json()["peers"] if p["name"] == "n2"][0]
    assert peer["queue"]["frames"] == 0, peer
    print("\nforwarding: %d stanzas n1 -> n2 in %.2f s: %.0f stanzas/s "
          "(scripted sms, one process each side, loopback)"
          % (STANZAS, elapsed, STANZAS / elapsed))
