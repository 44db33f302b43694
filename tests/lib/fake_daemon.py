# SPDX-License-Identifier: GPL-2.0-or-later
"""A stand-in daemon for the harness's own tests
(tests/integration/test_harness_self.py): it behaves well or badly on
request, so those tests can check that the sandbox notices each kind of
misbehaviour. Not used against real daemons.

  fake_daemon.py [--listen IP:PORT] [--delay S] [--say TEXT]
                 [--log FILE --log-line TEXT] [--ignore-term]
                 [--exit N] [--term-status N] [--segv] [--lifetime S]

It prints --say to stderr and --log-line to --log, waits --delay seconds,
listens on --listen, then runs until SIGTERM (exit 0 or --term-status N,
or nothing with --ignore-term), or exits with --exit N, or crashes with
--segv. It never
runs longer than --lifetime seconds (default 60).
"""

import argparse
import os
import signal
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--say")
    ap.add_argument("--log")
    ap.add_argument("--log-line")
    ap.add_argument("--ignore-term", action="store_true")
    ap.add_argument("--exit", type=int)
    ap.add_argument("--term-status", type=int, default=0)
    ap.add_argument("--segv", action="store_true")
    ap.add_argument("--lifetime", type=float, default=60.0)
    args = ap.parse_args()

    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(args.term_status))
    if args.say:
        print(args.say, file=sys.stderr, flush=True)
    if args.log:
        with open(args.log, "a") as f:
            f.write((args.log_line or "[notice] started") + "\n")
    time.sleep(args.delay)
    if args.exit is not None:
        sys.exit(args.exit)
    if args.segv:
        os.kill(os.getpid(), signal.SIGSEGV)
    sock = None
    if args.listen:
        ip, port = args.listen.rsplit(":", 1)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip, int(port)))
        sock.listen(8)
        sock.settimeout(0.2)
    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline:
        if sock is None:
            time.sleep(0.2)
            continue
        try:
            conn, _ = sock.accept()
            conn.close()
        except socket.timeout:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
