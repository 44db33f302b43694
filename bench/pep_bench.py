#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""PEP notifications per second for an avatar update to 50 contacts
(issue 16), ours, prosody and ejabberd in the same run:

    JC_BUILDDIR=$PWD/build bench/pep_bench.py [--servers ours,prosody,ejabberd]
        [--contacts 50] [--updates 200] [--window 10] [--repeat 3]

Each server (bench/servers.py, its users and rosters written into its
storage: f0..fN all contacts of each other, subscription both) serves
PEP: our sm's mod_pep, prosody's mod_pep, ejabberd's mod_pubsub with
its "pep" plugin and mod_caps. N+1 slixmpp clients log in on loopback (STARTTLS); the N
contacts advertise urn:xmpp:avatar:metadata+notify in their entity
capabilities (XEP-0115, xep_0084), as avatar-aware clients do, so each
server must resolve their caps to notify them. A warm-up update, awaited
at every contact, makes sure every server knows every contact's caps.
Then f0 publishes --updates avatar metadata items (XEP-0084) with at
most --window unanswered at a time; the run ends when every contact
has every notification. Reported per run: notifications delivered per
second (contacts x updates / seconds from the first publish to the last
arrival), the server's CPU seconds per 1,000 notifications (utime+stime
of its processes from /proc), and the generator's (this process's) CPU
over the same interval: the clients are Python, so when the generator's
CPU is near the elapsed time it, not the server, is the limit; the
server CPU per 1,000 is the comparable figure then.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers  # noqa: E402
from lib.sandbox import Sandbox  # noqa: E402  (path set by servers)
from lib.xmpp import ClientLoop  # noqa: E402

AVATAR_META = "urn:xmpp:avatar:metadata"
# The servers of bench/servers.py that serve PEP (Debian's jabberd2 has
# none).
PEP_SERVERS = ("ours", "prosody", "ejabberd")


def cpu_of(pids):
    """utime+stime seconds of pids."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            fields = Path("/proc/%d/stat" % p).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def self_cpu():
    t = os.times()
    return t.user + t.system


def login(cloop, srv, n, timeout):
    """Client f<n>, logged in, with the PEP plugins, its caps computed
    before its initial presence."""
    # ours: its node's certificate; prosody and ejabberd: their own
    # (ejabberd's `node` is its Erlang node name)
    cert = srv.node.cert if isinstance(srv, servers.Jabberd) else srv.cert
    c = cloop.client("f%d@%s/b" % (n, servers.DOMAIN), servers.PASSWORD, srv.address,
                     tls="starttls", cafile=cert.certfile)
    c.login(presence=False, timeout=timeout)
    x = c.xmpp
    for p in ("xep_0004", "xep_0060", "xep_0115", "xep_0163", "xep_0084"):
        x.register_plugin(p)
    c.got = 0
    c.done = None

    def on_meta(_m, c=c):
        c.got += 1
        if c.done is not None and c.got >= c.want and not c.done.done():
            c.done.set_result(None)
    x.add_event_handler("avatar_metadata_publish", on_meta)

    async def go():
        await x["xep_0115"].update_caps(broadcast=False)
        x.send_presence()
        await x.get_roster()
    cloop.run(go(), timeout, "f%d: caps and presence" % n)
    return c


def metadata(i):
    return [{"id": "%040x" % i, "type": "image/png", "bytes": 1000 + i}]


async def wait_all(loop, contacts, want):
    for c in contacts:
        c.want = want
        c.done = loop.create_future()
        if c.got >= want:
            c.done.set_result(None)
    await asyncio.gather(*(c.done for c in contacts))


def one_run(a, kind, rep, number):
    outdir = Path(a.out) / ("%s-%d" % (kind, rep))
    sb = Sandbox(outdir)
    srv = servers.make(kind, sb, number)
    srv.pep = True
    cloop = ClientLoop()
    try:
        srv.prepare(users=0, prefix_users="u", fan_first=0, fan_users=a.contacts + 1,
                    contacts=a.contacts, max_sessions=a.contacts + 10)
        srv.start()
        clients = [login(cloop, srv, n, a.timeout) for n in range(a.contacts + 1)]
        pub, contacts = clients[0], clients[1:]
        av = pub.xmpp["xep_0084"]
        loop = cloop.loop

        # warm-up: every contact's caps resolved, one notification each
        # (the last item on presence may add one more: counts reset below)
        async def warm():
            await av.publish_avatar_metadata(metadata(0))
            await wait_all(loop, contacts, 1)
        cloop.run(warm(), a.timeout, "%s: warm-up notification at every contact" % kind)
        time.sleep(0.5)
        for c in contacts:
            c.got = 0

        async def measured():
            sem = asyncio.Semaphore(a.window)

            async def one(i):
                async with sem:
                    await av.publish_avatar_metadata(metadata(i))
            finished = wait_all(loop, contacts, a.updates)
            await asyncio.gather(*(one(i) for i in range(1, a.updates + 1)))
            await finished
        pids = srv.pids()
        cpu0, me0, t0 = cpu_of(pids), self_cpu(), time.monotonic()
        cloop.run(measured(), a.timeout * 10, "%s: %d updates" % (kind, a.updates))
        elapsed = time.monotonic() - t0
        cpu, me = cpu_of(pids) - cpu0, self_cpu() - me0
        n = a.contacts * a.updates
        extra = sum(c.got for c in contacts) - n
        return {"notifications": n, "seconds": elapsed,
                "notifications_per_s": n / elapsed,
                "server_cpu_s_per_1000": 1000 * cpu / n,
                "generator_cpu_s": me, "extra_notifications": extra}
    finally:
        cloop.close()
        srv.stop()
        for p in sb.finish():
            print("  %s: %s" % (kind, p), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", default="ours,prosody",
                    help="comma-separated, of %s (default ours,prosody)"
                    % ",".join(PEP_SERVERS))
    ap.add_argument("--contacts", type=int, default=50)
    ap.add_argument("--updates", type=int, default=200)
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--out", default="bench-results/pep-%s" %
                    time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    a = ap.parse_args()
    kinds = a.servers.split(",")
    for k in kinds:
        why = ("no PEP" if k not in PEP_SERVERS else servers.available(k))
        if why:
            ap.error("server %s: %s" % (k, why))
    results = {k: [] for k in kinds}
    # The machine may be shared: the load average goes with the figures.
    load = {"before": os.getloadavg()}
    for rep in range(a.repeat):
        for i, kind in enumerate(kinds):       # interleaved: same conditions
            r = one_run(a, kind, rep, 10 + i)
            results[kind].append(r)
            print("%s run %d: %.0f notifications/s, server %.3f CPU s/1000, "
                  "generator %.2f CPU s in %.2f s" %
                  (kind, rep, r["notifications_per_s"], r["server_cpu_s_per_1000"],
                   r["generator_cpu_s"], r["seconds"]), flush=True)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    load["after"] = os.getloadavg()
    (Path(a.out) / "results.json").write_text(
        json.dumps(dict(results, load=load), indent=1))
    print("\nload average (1, 5, 15 min): before %s, after %s" % (
        " ".join("%.2f" % x for x in load["before"]),
        " ".join("%.2f" % x for x in load["after"])))
    print("\n| server | PEP notifications/s (avatar to %d contacts) | server CPU s/1000 "
          "notifications | generator CPU s / elapsed s |" % a.contacts)
    print("|---|---|---|---|")
    for k in kinds:
        rs = results[k]
        med = lambda key: statistics.median(r[key] for r in rs)  # noqa: E731
        print("| %s | %.0f [%.0f–%.0f] | %.3f | %.1f / %.1f |" % (
            k, med("notifications_per_s"), min(r["notifications_per_s"] for r in rs),
            max(r["notifications_per_s"] for r in rs), med("server_cpu_s_per_1000"),
            med("generator_cpu_s"), med("seconds")))


if __name__ == "__main__":
    main()
