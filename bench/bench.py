#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/bench.py: runs xmpp-bench's scenarios against several XMPP servers,
interleaved (every server once, then every server again, ...) and repeated,
and prints each figure as the median with the range over the repetitions.
bench/run builds the tree and calls this; see bench/README.md.

Each repetition of each server is a fresh start in a directory of its own
under --out, on its own loopback address, with its users and rosters
written into its storage first (bench/servers.py). The scenarios run in
this order, a pause between them so the previous one's sessions are gone:
logins with PLAIN, logins with SCRAM-SHA-1, message pairs, presence
fan-out, and the idle sessions last (the heaviest to tear down).

Every xmpp-bench run is bounded by its own --duration; a scenario that
fails or is cut short is shown as "failed" in the table, never as a number.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers  # noqa: E402
from lib.sandbox import Sandbox  # noqa: E402  (path set by servers)

# (column title, scenario, result key, format)
COLUMNS = [
    ("logins/s PLAIN", "login-plain", "logins_per_s", "%.0f"),
    ("logins/s SCRAM-SHA-1", "login-scram", "logins_per_s", "%.0f"),
    ("KB/idle TLS session (all procs)", "idle", "kib_per_session", "%.1f"),
    ("KB/idle TLS session (c2s)", "idle", "c2s_kib_per_session", "%.1f"),
    ("msgs/s", "messages", "msgs_per_s", "%.0f"),
    ("msg p50 ms", "messages", "latency_p50_ms", "%.2f"),
    ("msg p99 ms", "messages", "latency_p99_ms", "%.2f"),
    ("server CPU s/1000 msgs", "messages", "server_cpu_s_per_1000_msgs",
     "%.3f"),
    ("router CPU s/1000 msgs", "messages", "router_cpu_s_per_1000_msgs",
     "%.3f"),
    ("generator CPU s/1000 msgs", "messages",
     "generator_cpu_s_per_1000_msgs", "%.3f"),
    ("presences/s fan-out", "fanout", "presences_per_s", "%.0f"),
    ("server CPU s/1000 presences", "fanout",
     "server_cpu_s_per_1000_presences", "%.3f"),
    ("generator CPU s/1000 presences", "fanout",
     "generator_cpu_s_per_1000_presences", "%.3f"),
]
# One room of N occupants (bench/README.md, "muc"); columns per size.
for _n in (100, 1000):
    COLUMNS += [
        ("MUC %d deliveries/s" % _n, "muc-%d" % _n, "deliveries_per_s",
         "%.0f"),
        ("MUC %d p50 ms" % _n, "muc-%d" % _n, "latency_p50_ms", "%.1f"),
        ("MUC %d p99 ms" % _n, "muc-%d" % _n, "latency_p99_ms", "%.1f"),
        ("MUC %d server CPU s/1000 deliveries" % _n, "muc-%d" % _n,
         "server_cpu_s_per_1000_deliveries", "%.3f"),
        ("MUC %d generator CPU s/1000 deliveries" % _n, "muc-%d" % _n,
         "generator_cpu_s_per_1000_deliveries", "%.3f"),
    ]

SCENARIOS = ["login-plain", "login-scram", "messages", "fanout", "idle",
             "muc-100", "muc-1000"]
# Not in the default run: bench.py --scenarios muc-100,muc-1000.
DEFAULT_SCENARIOS = SCENARIOS[:5]


def scenario_args(name, a):
    if name == "login-plain":
        return ["login", "--mech", "PLAIN", "-n", str(a.logins), "-c", "50",
                "--users", str(min(a.sessions, 1000))]
    if name == "login-scram":
        return ["login", "--mech", "SCRAM-SHA-1", "-n", str(a.logins),
                "-c", "50", "--users", str(min(a.sessions, 1000))]
    if name == "idle":
        # Idle means quiet for a while: 6 s, longer than the 2 s sweep
        # after which our c2s trims a quiet stream (sx_trim); the same
        # wait for every server.
        return ["idle", "--mech", "PLAIN", "-n", str(a.sessions), "-c", "100",
                "--users", str(a.sessions), "--settle", "6"]
    if name == "messages":
        return ["messages", "--mech", "PLAIN", "--pairs", str(a.pairs),
                "--window", str(a.window), "-n", str(a.messages),
                "--settle", "2"]
    if name == "fanout":
        return ["fanout", "--mech", "PLAIN", "--user-prefix", "f",
                "--contacts", str(a.contacts), "-n", str(a.fan_users),
                "--rounds", str(a.rounds), "--settle", "3"]
    if name.startswith("muc-"):
        # The same number of deliveries whatever the room's size.
        n = int(name[4:])
        msgs = max(a.muc_senders, a.muc_deliveries // n)
        return ["muc", "--mech", "PLAIN", "--occupants", str(n),
                "--senders", str(min(a.muc_senders, n)),
                "--window", str(a.muc_window), "-n", str(msgs),
                "-c", "50", "--room", "bench%d@%s" % (n, servers.MUC_SERVICE),
                "--settle", "3"]
    raise ValueError(name)


def run_scenario(a, srv, name, outdir):
    """One xmpp-bench run; returns its JSON object (with "complete")."""
    js = outdir / ("%s.json" % name)
    argv = [a.xb] + scenario_args(name, a) + [
        "--server", "%s:%d" % srv.address, "--domain", servers.DOMAIN,
        "--password", servers.PASSWORD, "--duration", str(a.duration),
        "--pids", ",".join(str(p) for p in srv.pids()),
        "--label", srv.name, "--json", str(js), "--no-progress"]
    t0 = time.monotonic()
    with open(outdir / ("%s.txt" % name), "wb") as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        if a.perf and name == "messages":
            profile(a, srv, outdir)
        p.wait(timeout=a.duration + 60)
    if not js.exists():
        text = (outdir / ("%s.txt" % name)).read_text(errors="replace")
        return {"complete": False, "error": text[-300:], "results": {}}
    res = json.loads(js.read_text())
    # Memory of c2s alone, for issue 4's "under 16 KB in c2s".
    if name == "idle" and isinstance(srv, servers.Jabberd):
        key = "kib_per_session_pid%d" % srv.pids()[2]
        if key in res["results"]:
            res["results"]["c2s_kib_per_session"] = res["results"][key]
    # The router's own CPU (the hop a cluster adds to every stanza).
    if name == "messages" and isinstance(srv, servers.Jabberd):
        key = "server_cpu_s_per_1000_msgs_pid%d" % srv.pids()[0]
        if key in res["results"]:
            res["results"]["router_cpu_s_per_1000_msgs"] = res["results"][key]
    print("  %-8s %-12s %s %.1fs" % (srv.name, name,
                                      "ok" if res["complete"] else
                                      "FAILED: %s" % res.get("error"),
                                      time.monotonic() - t0), flush=True)
    return res


def profile(a, srv, outdir):
    """perf record of the server's processes in the middle of the message
    run (after the logins), summarised per process and library and per
    symbol next to the data."""
    time.sleep(a.perf_delay)
    data = outdir / "perf-messages.data"
    subprocess.run(["perf", "record", "-q", "-g", "-o", str(data), "-p",
                    ",".join(map(str, srv.pids())), "--", "sleep",
                    str(a.perf)], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=a.perf + 30)
    for sort, name in (("comm,dso", "perf-messages-dso.txt"),
                       ("comm,sym", "perf-messages-sym.txt")):
        rep = subprocess.run(["perf", "report", "-i", str(data),
                              "--no-children", "--sort", sort, "--stdio",
                              "-g", "none"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=120)
        lines = [ln for ln in rep.stdout.decode().splitlines()
                 if "%" in ln and not ln.startswith("#")]
        (outdir / name).write_text("\n".join(lines[:60]) + "\n")


def one_server(a, kind, rep, number):
    outdir = Path(a.out) / ("%s-%d" % (kind, rep))
    sb = Sandbox(outdir)
    srv = servers.make(kind, sb, number)
    srv.muc = any(n.startswith("muc-") for n in a.scenarios)
    results = {}
    try:
        srv.prepare(users=a.sessions, prefix_users="u", fan_first=0,
                    fan_users=a.fan_users, contacts=a.contacts,
                    max_sessions=a.sessions)
        srv.start()
        for name in a.scenarios:
            if name == "idle" and rep >= a.idle_repeat:
                continue
            results[name] = run_scenario(a, srv, name, outdir)
            time.sleep(a.pause)
    finally:
        srv.stop()
        problems = sb.finish()
        for p in problems:
            print("  %s: %s" % (kind, p), flush=True)
    return results


def fmt(values, f):
    if not values:
        return "failed"
    med = statistics.median(values)
    if len(values) == 1:
        return f % med
    return "%s [%s–%s]" % (f % med, f % min(values), f % max(values))


def table(all_results, kinds, scenarios=SCENARIOS):
    """Markdown: a row per server, a column per figure of the scenarios
    run."""
    columns = [c for c in COLUMNS if c[1] in scenarios]
    heads = ["server"] + [c[0] for c in columns]
    lines = ["| " + " | ".join(heads) + " |",
             "|" + "---|" * len(heads)]
    for kind in kinds:
        cells = [servers_label(kind)]
        for _, scen, key, f in columns:
            vals = [r[scen]["results"][key] for r in all_results[kind]
                    if scen in r and r[scen].get("complete")
                    and key in r[scen]["results"]]
            runs = [r[scen] for r in all_results[kind] if scen in r]
            if not runs:
                cells.append("not run")
            elif not vals and all(r.get("complete") for r in runs):
                cells.append("n/a")  # e.g. no c2s process of its own
            else:
                cells.append(fmt(vals, f))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def servers_label(kind):
    if kind == "base":
        return "ours (--base-builddir)"
    return {"ours": "ours", "stock": "jabberd2 2.7",
            "prosody": "prosody 0.12", "ejabberd": "ejabberd 23.01"}.get(
                kind, kind)


def raise_fd_limit(n):
    """Each process (the generator, the server's c2s) holds n sockets: the
    limit is per process, so n plus room for files is what each needs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 1000
    if hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return
        except (ValueError, OSError):
            sys.exit("bench: need %d open files per process for %d sessions "
                     "(hard limit %d; run as root or raise ulimit -Hn)"
                     % (want, n, hard))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--xb", required=True, help="the xmpp-bench program")
    ap.add_argument("--servers", default="ours,stock,prosody,ejabberd")
    ap.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                    help="of %s" % ",".join(SCENARIOS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--idle-repeat", type=int, default=1,
                    help="repetitions that include the idle sessions "
                    "(10,000 logins take minutes per server)")
    ap.add_argument("--logins", type=int, default=500)
    ap.add_argument("--sessions", type=int, default=10000)
    ap.add_argument("--pairs", type=int, default=50)
    ap.add_argument("--window", type=int, default=4)
    ap.add_argument("--messages", type=int, default=30000)
    ap.add_argument("--contacts", type=int, default=50)
    ap.add_argument("--fan-users", type=int, default=510)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--muc-deliveries", type=int, default=200000,
                    help="muc-N: groupchat deliveries per run (messages "
                    "= this / N)")
    ap.add_argument("--muc-senders", type=int, default=10)
    ap.add_argument("--muc-window", type=int, default=2)
    ap.add_argument("--duration", type=float, default=300)
    ap.add_argument("--pause", type=float, default=3)
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--base-builddir", metavar="DIR",
                    help="server 'base': our daemons from this other build "
                    "tree (a baseline commit), run interleaved with 'ours'")
    ap.add_argument("--perf", type=float, default=0, metavar="SECONDS",
                    help="perf record the server for this long during the "
                    "message run (give --messages enough to last)")
    ap.add_argument("--perf-delay", type=float, default=4)
    ap.add_argument("--our-ciphersuites", metavar="SUITES",
                    help="TLS 1.3 suites for our c2s (its ciphersuites "
                    "attribute), e.g. TLS_AES_256_GCM_SHA384 to compare "
                    "with its ChaCha20 default")
    a = ap.parse_args()
    a.scenarios = [s for s in a.scenarios.split(",") if s]
    servers.OUR_CIPHERSUITES = a.our_ciphersuites
    servers.BASE_BUILDDIR = (str(Path(a.base_builddir).resolve())
                             if a.base_builddir else None)
    for s in a.scenarios:
        if s not in SCENARIOS:
            sys.exit("bench: unknown scenario %r" % s)
    kinds = []
    for k in [k for k in a.servers.split(",") if k]:
        why = servers.available(k)
        if why:
            print("bench: skipping %s: %s" % (k, why), flush=True)
        else:
            kinds.append(k)
    if not kinds:
        sys.exit("bench: no server to measure")
    raise_fd_limit(a.sessions)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    all_results = {k: [] for k in kinds}
    load = {"before": os.getloadavg(), "started": time.strftime(
        "%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    for rep in range(a.repeat):
        for i, kind in enumerate(kinds):
            print("bench: repetition %d/%d, %s" % (rep + 1, a.repeat, kind),
                  flush=True)
            all_results[kind].append(one_server(a, kind, rep, 200 + i))
    load["after"] = os.getloadavg()
    load["ended"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    text = table(all_results, kinds, a.scenarios)
    (Path(a.out) / "results.json").write_text(json.dumps(
        {"load": load, "args": vars(a), "results": all_results}, indent=1))
    (Path(a.out) / "table.md").write_text(text + "\n")
    print("\nmedian [min–max] over %d repetitions (idle sessions: %d); "
          "load average %s before, %s after\n"
          % (a.repeat, min(a.repeat, a.idle_repeat),
             "%.2f %.2f %.2f" % load["before"],
             "%.2f %.2f %.2f" % load["after"]))
    print(text)
    failed = any(not r[s].get("complete") for k in kinds
                 for r in all_results[k] for s in r)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
