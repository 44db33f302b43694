# SPDX-License-Identifier: GPL-2.0-or-later
"""The per-test sandbox: a private directory, loopback addresses and free
ports for each node, config files rendered from templates, and the daemons
started in it. When the test ends, finish() stops the daemons (last started,
first stopped) and returns every problem found: daemons that died, needed
SIGKILL or exited badly, and sanitizer reports or alert/critical lines in
any captured output. The `sandbox` fixture (tests/conftest.py) fails the
test on any of them.

Node n (1, 2, ...) lives on 127.0.0.(n+1): on Linux the whole of 127/8 is
loopback, so several nodes can use the same port numbers side by side.
"""

import atexit
import os
import random
import re
import socket
from pathlib import Path

from . import daemon as daemon_mod
from . import logscan, paths

# Ports are drawn below Linux's default ephemeral range (32768-60999), so an
# outgoing connection cannot take a port between our pick and the bind.
# The ports tests pick from; JC_TEST_PORTS=LOW-HIGH narrows them (tools/ci-test
# gives two pytest runs beside each other ranges that do not overlap).
PORT_MIN, PORT_MAX = 20000, 32000
if os.environ.get("JC_TEST_PORTS"):
    PORT_MIN, PORT_MAX = (int(x) for x in os.environ["JC_TEST_PORTS"].split("-"))
    PORT_MAX += 1       # randrange's end is not included
PORT_TRIES = 200

_live_daemons = set()


def _kill_leftovers():
    # Last resort if pytest itself dies: never leave daemons behind.
    for d in list(_live_daemons):
        if d.alive():
            d.proc.kill()


atexit.register(_kill_leftovers)


def node_ip(node):
    """The loopback address of node `node` (1-based)."""
    if not 1 <= node <= 250:
        raise ValueError("node number out of range: %r" % (node,))
    return "127.0.0.%d" % (node + 1)


def _port_free(ip, port):
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class TemplateError(Exception):
    pass


_VAR_RE = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)@")


def render_text(text, variables):
    """Replace every @NAME@ in `text` by variables[NAME]. An unknown name is
    an error, so a template and its caller cannot drift apart silently.
    (@..@ rather than ${..}, which jabberd2 configs use themselves.)"""
    def sub(m):
        if m.group(1) not in variables:
            raise TemplateError("template variable @%s@ not given" % m.group(1))
        return str(variables[m.group(1)])
    return _VAR_RE.sub(sub, text)


class Sandbox:
    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.daemons = []
        self._ports = set()
        self._rng = random.Random()
        self.finished = False

    # Files.
    def path(self, *parts):
        return self.dir.joinpath(*parts)

    def write(self, name, text):
        """Write `text` to `name` in the sandbox; returns its path."""
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def render(self, template, dest, **variables):
        """Render a template file (a path, or a name relative to
        tests/lib/templates/) into `dest` in the sandbox."""
        src = Path(template)
        if not src.is_absolute():
            src = paths.TEMPLATES / src
        text = render_text(src.read_text(encoding="utf-8"), variables)
        return self.write(dest, text)

    # Addresses.
    def free_port(self, ip="127.0.0.1"):
        """A TCP port nobody listens on at `ip` now and this sandbox has not
        handed out before."""
        for _ in range(PORT_TRIES):
            port = self._rng.randrange(PORT_MIN, PORT_MAX)
            if port in self._ports:
                continue
            if _port_free(ip, port):
                self._ports.add(port)
                return port
        raise RuntimeError("no free port found on %s after %d tries"
                           % (ip, PORT_TRIES))

    # Daemons.
    def environment(self, extra=None):
        """The environment daemons get: ours, plus sanitizer options that
        make reports land in the captured stderr and stop the process."""
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS",
                       "detect_leaks=1:abort_on_error=0:halt_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        if extra:
            env.update(extra)
        return env

    def start(self, name, argv, logs=(), env=None, ready_port=None,
              ready_log=None, timeout=20.0):
        """Start `argv` as daemon `name` in the sandbox directory, its
        stdout/stderr in <name>.stdout/.stderr, `logs` the extra files it
        writes. If ready_port=(ip, port), wait until it accepts there; if
        ready_log is a regex, wait until its output matches. Returns the
        Daemon; raises DaemonError if it dies or times out."""
        if any(d.name == name for d in self.daemons):
            raise ValueError("daemon name %r already used in this sandbox" % name)
        d = daemon_mod.Daemon(name, argv, self.dir, self.environment(env), logs)
        self.daemons.append(d)
        _live_daemons.add(d)
        if ready_port is not None:
            d.wait_port(ready_port[0], ready_port[1], timeout)
        if ready_log is not None:
            d.wait_log(ready_log, timeout)
        return d

    def daemon(self, name):
        for d in self.daemons:
            if d.name == name:
                return d
        raise KeyError(name)

    def stop_all(self):
        """Stop every daemon, last started first."""
        for d in reversed(self.daemons):
            d.stop()
            _live_daemons.discard(d)

    def scan(self):
        """Sanitizer reports and alert/critical lines in all output."""
        findings = []
        for d in self.daemons:
            for path in d.files():
                findings.extend(logscan.scan_file(path))
        return findings

    def finish(self):
        """Stop everything; return the list of problems as strings."""
        if self.finished:
            return []
        self.finished = True
        self.stop_all()
        problems = []
        for d in self.daemons:
            problems.extend(d.problems)
        problems.extend(str(f) for f in self.scan())
        return problems
